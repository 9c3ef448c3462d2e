/*
 * gh_mfa_manage: managing sign-in methods on /account (docs/mfa.md): the
 * list, authenticator-app set-up and confirmation, passkey registration,
 * new recovery codes, renaming and removing a method, and the choice of
 * emailed sign-in codes. Every change needs a recent sign-in (at AAL2 when
 * the account has a second factor), is audited in its transaction, and
 * mails the owner a notice. The factor services are gh_factors and
 * gh_passkeys; this file reads the request and answers.
 */
#include <sodium.h>
#include <string.h>

#include "gh_api.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_factors.h"
#include "gh_handlers.h"
#include "gh_log.h"
#include "gh_mail.h"
#include "gh_mfa.h"
#include "gh_oidc.h"
#include "gh_passkeys.h"
#include "gh_qr.h"
#include "gh_session.h"
#include "gh_store_users.h"
#include "gh_store_mfa.h"
#include "gh_tenants.h"
#include "gh_totp.h"

enum {
    TOTP_SETUP_TTL_MS = 15 * 60 * 1000, /* an unconfirmed authenticator-app set-up */
    MAX_NAME = 64,
};

#define WRONG_CODE  "That code is wrong or has expired."
#define REAUTH_TEXT "Sign in again to make this change."

/* A notice to the account's owner of a change to its sign-in methods. */
static void notify(gh_req *r, gh_dbconn *c, const char *user_id, const char *what)
{
    gh_user u;
    if (gh_store_user_get(c, r->arena, r->tenant, user_id, &u) != GH_DB_OK || !u.email)
        return;
    json_t *p = json_pack("{s:s, s:s}", "what", what, "account_link", gh_oidc_url(r, "/account"));
    if (gh_mail_enqueue(c, r->arena, r->app->cfg, r->tenant, u.email, "security_notice", p) !=
        GH_DB_OK)
        gh_log(GH_LOG_WARN, "security notice not queued", "user %s", user_id);
    json_decref(p);
}

static const char *iso_time(gh_req *r, long long ms)
{
    char t[32];
    if (ms <= 0)
        return NULL;
    gh_rfc3339(ms, t);
    return gh_arena_strdup(r->arena, t);
}

/* The signed-in session when it may change sign-in methods: recent enough,
 * and at AAL2 when the account has a second factor (*e: its factors). Else
 * an error is set. */
static const gh_session *recent_session(gh_req *r, const gh_ctx *x, gh_dbconn *c,
                                        gh_factors_enrolled *e)
{
    const gh_session *s = gh_session_current(r);
    if (!s) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return NULL;
    }
    if (gh_factors_enrolled_get(x, c, s->user_id, e) != GH_DB_OK) {
        gh_resp_error(r, 503, "unavailable", "Try again in a moment.");
        return NULL;
    }
    if (gh_factors_reauth_needed(x, s, e)) {
        gh_resp_error(r, 403, "reauthentication_required", REAUTH_TEXT);
        return NULL;
    }
    return s;
}

/* The start of every change to sign-in methods: the CSRF check, the JSON
 * body when body is not NULL (then the caller owns *body), a database
 * connection and a recent enough session. NULL when an answer is set. */
static const gh_session *change_begin(gh_req *r, const gh_ctx *x, json_t **body, gh_dbconn **c,
                                      gh_factors_enrolled *e)
{
    if (body)
        *body = NULL;
    if (!gh_csrf_check(r) || (body && !(*body = gh_api_body(r))))
        return NULL;
    *c = gh_req_db(r);
    const gh_session *s = *c ? recent_session(r, x, *c, e) : NULL;
    if (!s && body) {
        json_decref(*body);
        *body = NULL;
    }
    return s;
}

const gh_session *gh_mfa_recent_session(gh_req *r)
{
    gh_factors_enrolled e;
    gh_ctx x = gh_req_ctx(r);
    gh_dbconn *c = gh_req_db(r);
    return c ? recent_session(r, &x, c, &e) : NULL;
}

static json_t *factor_json(gh_req *r, const gh_factor *f)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", f->id, "kind", f->kind, "name",
                          f->name ? f->name : "", "created_at", iso_time(r, f->created_at));
    const char *used = iso_time(r, f->last_used_at);
    if (used)
        json_object_set_new(o, "last_used_at", json_string(used));
    if (strcmp(f->kind, GH_FACTOR_PASSKEY) == 0) {
        json_object_set_new(o, "backup_eligible", json_boolean(f->flags & GH_WA_FLAG_BE));
        json_object_set_new(o, "cloned", json_boolean(f->cloned_at != 0));
    }
    return o;
}

/* GET /api/v1/mfa */
void gh_mfa_list(gh_req *r)
{
    gh_factors_enrolled e;
    gh_ctx x = gh_req_ctx(r);
    const gh_session *s = gh_session_current(r);
    gh_dbconn *c = s ? gh_req_db(r) : NULL;
    if (!s || !c) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    if (gh_factors_enrolled_get(&x, c, s->user_id, &e) != GH_DB_OK) {
        gh_resp_error(r, 503, "unavailable", "Try again in a moment.");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < e.n; i++)
        if (strcmp(e.list[i].kind, GH_FACTOR_TOTP) != 0 || e.list[i].confirmed)
            json_array_append_new(arr, factor_json(r, &e.list[i]));
    int reach = gh_factors_has_second(&e) ? 2 : 1;
    gh_resp_json(r, 200,
                 json_pack("{s:o, s:{s:I}, s:b, s:s, s:s, s:b}", "factors", arr, "recovery_codes",
                           "remaining", (json_int_t)e.recovery_left, "passwordless_email", e.email,
                           "acr", gh_assurance_acr(s->aal), "reachable_acr",
                           gh_assurance_acr(reach), "reauth_required",
                           gh_factors_reauth_needed(&x, s, &e)),
                 NULL);
}

/* Ends a change: commit, kick the mailer, answer body (owned). */
static void finish_change(gh_req *r, gh_dbconn *c, gh_dbrc rc, json_t *body)
{
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        json_decref(body);
        if (rc == GH_DB_NOTFOUND)
            gh_resp_error(r, 404, "not_found", "No such sign-in method.");
        else if (rc == GH_DB_CONFLICT)
            gh_resp_error(r, 409, "conflict", "That sign-in method is already registered.");
        else
            gh_resp_db_error(r, rc);
        return;
    }
    gh_mail_kick();
    gh_resp_json(r, 200, body, NULL);
}

static const char *factor_name(gh_req *r, json_t *body, const char *fallback, bool *bad)
{
    const char *n = gh_api_text(r, body, "name", MAX_NAME, bad);
    return n && *n ? n : fallback;
}

/* POST /api/v1/mfa/totp */
void gh_mfa_totp_setup(gh_req *r)
{
    gh_factors_enrolled e;
    char b32[GH_TOTP_B32_MAX];
    gh_user u;
    gh_factor f;
    const char *rp_id, *origin, *uri = NULL;
    gh_dbconn *c = NULL;
    gh_ctx x = gh_req_ctx(r);
    const gh_session *s = change_begin(r, &x, NULL, &c, &e);
    if (!s)
        return;
    if (gh_store_user_get(c, r->arena, r->tenant, s->user_id, &u) != GH_DB_OK) {
        gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    if (!gh_passkeys_rp(&x, &rp_id, &origin) ||
        !gh_factors_totp_new(&x, &u, rp_id, &f, b32, &uri)) {
        gh_resp_error(r, 500, "server_error", "The set-up could not be made.");
        return;
    }
    const char *svg = uri ? gh_qr_svg(r->arena, uri) : NULL;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK) /* one set-up at a time: older unconfirmed ones go */
        rc = gh_store_factor_prune_unconfirmed(c, r->arena, r->tenant, u.id, f.created_at + 1);
    if (rc == GH_DB_OK)
        rc = gh_store_factor_insert(c, r->arena, &f);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK || !svg) {
        sodium_memzero(b32, sizeof(b32));
        if (rc != GH_DB_OK)
            gh_resp_db_error(r, rc);
        else
            gh_resp_error(r, 500, "server_error", "The QR code could not be drawn.");
        return;
    }
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:s, s:s}", "id", f.id, "secret", b32, "otpauth_uri", uri,
                           "qr_svg", svg),
                 NULL);
    sodium_memzero(b32, sizeof(b32));
}

/* Recovery codes for an account that just got its first second factor. */
static gh_dbrc first_factor_codes(const gh_ctx *x, gh_dbconn *c, const gh_factors_enrolled *before,
                                  const char *user_id, json_t *answer)
{
    json_t *codes = NULL;
    if (gh_factors_has_second(before) || before->recovery_left > 0)
        return GH_DB_OK;
    gh_dbrc rc = gh_factors_recovery_new(x, c, user_id, &codes);
    if (rc == GH_DB_OK)
        json_object_set_new(answer, "recovery_codes", codes);
    return rc;
}

/* POST /api/v1/mfa/totp/{id}/confirm {code, name?} */
void gh_mfa_totp_confirm(gh_req *r)
{
    gh_factors_enrolled e;
    gh_factor f;
    bool bad = false;
    json_t *body = NULL;
    gh_dbconn *c = NULL;
    gh_ctx x = gh_req_ctx(r);
    const gh_session *s = change_begin(r, &x, &body, &c, &e);
    const char *code = s ? gh_api_text(r, body, "code", 32, &bad) : NULL;
    const char *name = s && !bad ? factor_name(r, body, "Authenticator app", &bad) : NULL;
    json_decref(body);
    if (!s || bad)
        return;
    const char *id = r->nparams ? r->params[0] : "";
    long long now = x.now;
    if (!code) {
        gh_resp_error(r, 400, "invalid_request", "Enter the code from your app.");
        return;
    }
    long long wait = gh_factors_setup_wait(&x, c, s->user_id);
    if (wait > 0) {
        gh_resp_header(r, "Retry-After", gh_arena_printf(r->arena, "%lld", wait));
        gh_resp_error(r, 429, "too_many_requests",
                      "Too many attempts. Wait a moment, then try again.");
        return;
    }
    if (gh_store_factor_get(c, r->arena, r->tenant, s->user_id, id, &f) != GH_DB_OK ||
        strcmp(f.kind, GH_FACTOR_TOTP) != 0 || f.confirmed ||
        now - f.created_at > TOTP_SETUP_TTL_MS) {
        gh_resp_error(r, 404, "not_found", "Start the set-up again.");
        return;
    }
    /* the set-up is checked like a sign-in, on a list holding only it */
    gh_factors_enrolled one = {.list = &f, .n = 1, .totp = true};
    f.confirmed = true;
    gh_factors_verified v;
    if (!gh_factors_totp_check(&x, c, s->user_id, &one, code, &v)) {
        if (gh_factors_setup_failed(&x, c, s->user_id) != GH_DB_OK)
            gh_resp_db_error(r, GH_DB_FAIL);
        else
            gh_resp_error(r, 400, "invalid_code", WRONG_CODE);
        return;
    }
    json_t *answer = json_pack("{s:s, s:s}", "status", "confirmed", "id", f.id);
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_factor_confirm(c, r->arena, r->tenant, f.id, v.step, now);
    if (rc == GH_DB_OK)
        rc = gh_store_factor_rename(c, r->arena, r->tenant, s->user_id, f.id, name);
    if (rc == GH_DB_OK)
        rc = first_factor_codes(&x, c, &e, s->user_id, answer);
    if (rc == GH_DB_OK) {
        gh_api_audit(r, c, "mfa.totp_added", s->user_id, "success", NULL,
                     json_pack("{s:s}", "factor_id", f.id));
        notify(r, c, s->user_id, "An authenticator app was added to your account.");
    }
    finish_change(r, c, rc, answer);
}

/* POST /api/v1/mfa/passkeys/options */
void gh_mfa_passkey_register_options(gh_req *r)
{
    gh_factors_enrolled e;
    gh_user u;
    const char *rp_id, *origin;
    json_t *pk = NULL;
    gh_dbconn *c = NULL;
    gh_ctx x = gh_req_ctx(r);
    const gh_session *s = change_begin(r, &x, NULL, &c, &e);
    if (!s)
        return;
    if (gh_store_user_get(c, r->arena, r->tenant, s->user_id, &u) != GH_DB_OK ||
        !gh_passkeys_rp(&x, &rp_id, &origin)) {
        gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    gh_dbrc rc = gh_passkeys_creation_options(&x, c, &u, rp_id, s->token_hash, &e, &pk);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    gh_resp_json(r, 200, json_pack("{s:o}", "publicKey", pk), NULL);
}

/* POST /api/v1/mfa/passkeys {credential, name?} */
void gh_mfa_passkey_register(gh_req *r)
{
    gh_factors_enrolled e;
    gh_factor f;
    gh_wa_credential wc;
    gh_wa_status st = GH_WA_OK;
    bool bad = false;
    json_t *body = NULL;
    gh_dbconn *c = NULL;
    gh_ctx x = gh_req_ctx(r);
    const gh_session *s = change_begin(r, &x, &body, &c, &e);
    const char *name = s ? factor_name(r, body, "Passkey", &bad) : NULL;
    if (!s || bad)
        goto out;
    switch (gh_passkeys_register(&x, c, json_object_get(body, "credential"), s->token_hash,
                                 s->user_id, name, &f, &wc, &st)) {
    case GH_PASSKEYS_REG_OK:
        break;
    case GH_PASSKEYS_REG_UNREADABLE:
        gh_resp_error(r, 400, "invalid_credential", "The passkey's answer could not be read.");
        goto out;
    case GH_PASSKEYS_REG_EXPIRED:
        gh_resp_error(r, 400, "invalid_credential", "The passkey request expired. Try again.");
        goto out;
    case GH_PASSKEYS_REG_REFUSED:
        if (gh_api_audit(r, c, "mfa.passkey_refused", s->user_id, "failure", gh_wa_status_str(st),
                         NULL) != GH_DB_OK)
            gh_resp_db_error(r, GH_DB_FAIL);
        else
            gh_resp_error(r, 400, "invalid_credential",
                          gh_arena_printf(r->arena, "The passkey was not accepted (%s).",
                                          gh_wa_status_str(st)));
        goto out;
    }
    json_t *answer = json_pack("{s:s, s:s}", "status", "added", "id", f.id);
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_factor_insert(c, r->arena, &f);
    if (rc == GH_DB_OK)
        rc = first_factor_codes(&x, c, &e, s->user_id, answer);
    if (rc == GH_DB_OK) {
        gh_api_audit(r, c, "mfa.passkey_added", s->user_id, "success", NULL,
                     json_pack("{s:s, s:s, s:b, s:b}", "factor_id", f.id, "attestation", wc.fmt,
                               "attested", wc.attested, "backup_eligible",
                               (wc.flags & GH_WA_FLAG_BE) != 0));
        notify(r, c, s->user_id, "A passkey was added to your account.");
    }
    finish_change(r, c, rc, answer);
out:
    json_decref(body);
}

/* POST /api/v1/mfa/recovery-codes */
void gh_mfa_recovery_regenerate(gh_req *r)
{
    gh_factors_enrolled e;
    json_t *codes = NULL;
    gh_dbconn *c = NULL;
    gh_ctx x = gh_req_ctx(r);
    const gh_session *s = change_begin(r, &x, NULL, &c, &e);
    if (!s)
        return;
    if (!gh_factors_has_second(&e)) {
        gh_resp_error(r, 409, "no_second_factor",
                      "Set up an authenticator app or a passkey first.");
        return;
    }
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_factors_recovery_new(&x, c, s->user_id, &codes);
    if (rc == GH_DB_OK) {
        gh_api_audit(r, c, "mfa.recovery_codes_generated", s->user_id, "success", NULL, NULL);
        notify(r, c, s->user_id, "New recovery codes were made; the old ones no longer work.");
    }
    finish_change(r, c, rc, rc == GH_DB_OK ? json_pack("{s:o}", "recovery_codes", codes) : NULL);
}

/* PATCH /api/v1/mfa/factors/{id} {name} */
void gh_mfa_factor_rename(gh_req *r)
{
    gh_factors_enrolled e;
    bool bad = false;
    json_t *body = NULL;
    gh_dbconn *c = NULL;
    gh_ctx x = gh_req_ctx(r);
    const gh_session *s = change_begin(r, &x, &body, &c, &e);
    const char *name = s ? gh_api_text(r, body, "name", MAX_NAME, &bad) : NULL;
    json_decref(body);
    if (!s || bad)
        return;
    if (!name || !*name) {
        gh_resp_error(r, 400, "invalid_request", "Give the sign-in method a name.");
        return;
    }
    const char *id = r->nparams ? r->params[0] : "";
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_factor_rename(c, r->arena, r->tenant, s->user_id, id, name);
    if (rc == GH_DB_OK) {
        gh_api_audit(r, c, "mfa.factor_renamed", s->user_id, "success", NULL,
                     json_pack("{s:s}", "factor_id", id));
        notify(r, c, s->user_id,
               gh_arena_printf(r->arena, "A sign-in method was renamed to \"%s\".", name));
    }
    finish_change(r, c, rc, json_pack("{s:s}", "status", "renamed"));
}

/* Whether the account can still sign in on its own once the factor gone_id
 * (or NULL) is removed and, when email_off, signing in by emailed code is
 * turned off: a password, the emailed code, or a passkey is left. A
 * passwordless account must never end up with no way in. A password that
 * cannot be read counts as none (the change is refused, not risked). */
static bool keeps_a_way_in(gh_req *r, gh_dbconn *c, const char *user_id,
                           const gh_factors_enrolled *e, const char *gone_id, bool email_off)
{
    const char *phc = NULL;
    if (gh_store_password_get(c, r->arena, r->tenant, user_id, &phc) == GH_DB_OK)
        return true;
    for (size_t i = 0; i < e->n; i++) {
        const gh_factor *f = &e->list[i];
        if (gone_id && strcmp(f->id, gone_id) == 0)
            continue;
        if (strcmp(f->kind, GH_FACTOR_PASSKEY) == 0 ||
            (strcmp(f->kind, GH_FACTOR_EMAIL) == 0 && !email_off))
            return true;
    }
    return false;
}

#define NO_WAY_IN "This is your only way to sign in. Set a password or add a passkey first."

/* DELETE /api/v1/mfa/factors/{id} */
void gh_mfa_factor_remove(gh_req *r)
{
    gh_factors_enrolled e;
    gh_factor f;
    gh_dbconn *c = NULL;
    gh_ctx x = gh_req_ctx(r);
    const gh_session *s = change_begin(r, &x, NULL, &c, &e);
    if (!s)
        return;
    const char *id = r->nparams ? r->params[0] : "";
    gh_dbrc rc = gh_store_factor_get(c, r->arena, r->tenant, s->user_id, id, &f);
    if (rc != GH_DB_OK) {
        if (rc == GH_DB_NOTFOUND)
            gh_resp_error(r, 404, "not_found", "No such sign-in method.");
        else
            gh_resp_db_error(r, rc);
        return;
    }
    size_t seconds = 0;
    for (size_t i = 0; i < e.n; i++)
        if ((strcmp(e.list[i].kind, GH_FACTOR_TOTP) == 0 && e.list[i].confirmed) ||
            strcmp(e.list[i].kind, GH_FACTOR_PASSKEY) == 0)
            seconds++;
    bool is_second = strcmp(f.kind, GH_FACTOR_EMAIL) != 0 && f.confirmed;
    gh_tenant_policy pol;
    gh_ctx px = gh_req_ctx(r);
    gh_tenants_policy(&px, &pol);
    if (is_second && seconds == 1 && (r->app->cfg->mfa_required || pol.mfa_required)) {
        gh_resp_error(r, 409, "factor_required",
                      "This account must keep a second factor. Add another one first.");
        return;
    }
    if (!keeps_a_way_in(r, c, s->user_id, &e, f.id, false)) {
        gh_resp_error(r, 409, "signin_method_required", NO_WAY_IN);
        return;
    }
    rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_factor_delete(c, r->arena, r->tenant, s->user_id, id);
    if (rc == GH_DB_OK && is_second && seconds == 1) /* no second factor left */
        rc = gh_store_recovery_clear(c, r->arena, r->tenant, s->user_id);
    if (rc == GH_DB_OK) {
        gh_api_audit(r, c, "mfa.factor_removed", s->user_id, "success", NULL,
                     json_pack("{s:s, s:s}", "factor_id", id, "kind", f.kind));
        notify(r, c, s->user_id,
               gh_arena_printf(r->arena, "The sign-in method \"%s\" was removed.",
                               f.name ? f.name : f.kind));
    }
    finish_change(r, c, rc, json_pack("{s:s}", "status", "removed"));
}

/* PUT /api/v1/mfa/email {enabled} */
void gh_mfa_email_choice(gh_req *r)
{
    gh_factors_enrolled e;
    json_t *body = NULL;
    gh_dbconn *c = NULL;
    gh_ctx x = gh_req_ctx(r);
    const gh_session *s = change_begin(r, &x, &body, &c, &e);
    if (!s)
        return;
    json_t *en = json_object_get(body, "enabled");
    bool want = json_is_true(en);
    bool valid = json_is_boolean(en);
    json_decref(body);
    if (!valid) {
        gh_resp_error(r, 400, "invalid_request", "Send enabled as true or false.");
        return;
    }
    if (want == e.email) {
        gh_resp_json(r, 200, json_pack("{s:b}", "passwordless_email", want), NULL);
        return;
    }
    if (!want && !keeps_a_way_in(r, c, s->user_id, &e, NULL, true)) {
        gh_resp_error(r, 409, "signin_method_required", NO_WAY_IN);
        return;
    }
    gh_dbrc rc = gh_db_begin(c);
    for (size_t i = 0; rc == GH_DB_OK && !want && i < e.n; i++)
        if (strcmp(e.list[i].kind, GH_FACTOR_EMAIL) == 0)
            rc = gh_store_factor_delete(c, r->arena, r->tenant, s->user_id, e.list[i].id);
    if (rc == GH_DB_OK && want) {
        char id[GH_UUID_STRLEN + 1];
        gh_uuid(id);
        gh_factor f = {.tenant_id = r->tenant,
                       .id = id,
                       .user_id = s->user_id,
                       .kind = GH_FACTOR_EMAIL,
                       .name = "Emailed sign-in code",
                       .confirmed = true,
                       .created_at = x.now};
        rc = gh_store_factor_insert(c, r->arena, &f);
    }
    if (rc == GH_DB_OK) {
        gh_api_audit(r, c, want ? "mfa.email_signin_on" : "mfa.email_signin_off", s->user_id,
                     "success", NULL, NULL);
        notify(r, c, s->user_id,
               want ? "Signing in with an emailed code was turned on."
                    : "Signing in with an emailed code was turned off.");
    }
    finish_change(r, c, rc, json_pack("{s:b}", "passwordless_email", want));
}
