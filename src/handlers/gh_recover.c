/*
 * gh_recover: forgot password (docs/recovery.md).
 *
 *   POST /api/v1/recovery {email, return_to}: a code and a link to the
 *     address, when it has an account that may be recovered; the same
 *     answer, status and work for every other address, which gets a decoy
 *     flow and no mail (SECURITY.md #14).
 *   The code goes to POST /api/v1/verify like every emailed code (5 wrong
 *   codes end the flow; daily limits); a match there comes back here
 *   (gh_recover_email_proved), in the browser that asked only.
 *   When the account has an authenticator app, a passkey or recovery codes,
 *   one of them is checked next by POST /api/v1/signin/mfa (and its passkey
 *   options), whose step is marked as a recovery's and never signs in
 *   (gh_recover_factor_passed).
 *   GET /api/v1/recovery: where this browser's recovery stands.
 *   POST /api/v1/recovery/password {password}: the reset (core
 *     gh_recovery_complete), then a session at the level proven and a
 *     notice to the address.
 */
#include "gh_recover.h"

#include <sodium.h>
#include <string.h>

#include "gh_accounts.h"
#include "gh_api.h"
#include "gh_assurance.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_handlers.h"
#include "gh_logout.h"
#include "gh_mail.h"
#include "gh_oidc.h"
#include "gh_password.h"
#include "gh_recovery.h"
#include "gh_session.h"
#include "gh_store_mfa.h"
#include "gh_store_throttle.h"
#include "gh_store_users.h"

#define NOT_STARTED "Start again from \"Forgot password?\": this step has expired."

/* ---- POST /api/v1/recovery ---- */

/* Whether email has an account whose customer may recover it here. */
static const char *recoverable(gh_req *r, gh_dbconn *c, const char *email)
{
    gh_user u;
    if (gh_store_user_by_email(c, r->arena, r->tenant, email, &u) != GH_DB_OK || !u.active)
        return NULL;
    return u.id;
}

void gh_recover_start(gh_req *r)
{
    bool bad = false;
    gh_email_flow f;
    gh_accounts_codes k;
    if (!gh_csrf_check(r))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *email = gh_accounts_email_field(r, body, &bad);
    const char *asked = bad ? NULL : gh_api_text(r, body, "return_to", 2048, &bad);
    json_decref(body);
    gh_dbconn *c = bad ? NULL : gh_req_db(r);
    if (!c)
        return;
    /* the flow is bound to this browser: make sure it has its cookie */
    if (!gh_presession(r, true)) {
        gh_resp_error(r, 500, "server_error", "No browser binding.");
        return;
    }
    const char *key = gh_arena_printf(r->arena, "recover:%s|%s", email, r->ip);
    long long now = gh_now_ms();
    if (gh_accounts_send_wait(r, c, key))
        return;
    const char *user_id = recoverable(r, c, email);
    gh_accounts_send send = gh_accounts_send_budget(r, c, email, user_id);
    if (send == GH_ACCOUNTS_SEND_REFUSED) {
        gh_accounts_sends_refused(r);
        return;
    }
    bool mail = user_id && send == GH_ACCOUNTS_SEND_MAIL;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_accounts_count_send(r, c, key, now);
    if (rc == GH_DB_OK)
        rc = gh_accounts_flow_create(r, c, GH_FLOW_RECOVER, mail ? user_id : NULL, email,
                                     gh_api_return_target(r, asked), NULL, &f, &k);
    if (rc == GH_DB_OK && mail)
        rc = gh_accounts_mail_code(r, c, &f, &k);
    if (rc == GH_DB_OK && mail)
        rc = gh_api_audit(r, c, "recovery.started", user_id, "success", NULL, NULL);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    gh_mail_kick();
    gh_resp_json(
        r, 200,
        json_pack("{s:s, s:s, s:s}", "status", "code_sent", "flow_id", f.id, "email", email), NULL);
}

/* ---- the email proven (from POST /api/v1/verify) ---- */

static void respond_next(gh_req *r, bool need_factor, json_t *methods)
{
    if (need_factor) {
        gh_resp_json(r, 200,
                     json_pack("{s:s, s:o, s:s}", "status", "recovery_factor_required", "methods",
                               methods, "next", "/signin/mfa"),
                     NULL);
        return;
    }
    json_decref(methods);
    gh_resp_json(
        r, 200, json_pack("{s:s, s:s}", "status", "recovery_password", "next", "/recover/password"),
        NULL);
}

void gh_recover_email_proved(gh_req *r, gh_dbconn *c, const gh_email_flow *f)
{
    gh_ctx x = gh_req_ctx(r);
    const char *here = gh_presession_hash(r, false);
    gh_recovery_rule rule = {0};
    if (!here || !f->binding_hash || !gh_secret_equal(here, f->binding_hash)) {
        /* whoever reads the mail elsewhere cannot carry the reset there */
        gh_resp_error(r, 400, "other_browser",
                      "Open the link in the browser where you asked to reset your password.");
        return;
    }
    const char *factors =
        gh_assurance_factors_add(r->arena, "[]", GH_METHOD_EMAIL, NULL, false, false, x.now);
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_flow_consume(c, r->arena, f->tenant_id, f->id, x.now);
    if (rc == GH_DB_OK)
        rc = gh_store_user_set_verified(c, r->arena, f->tenant_id, f->user_id, x.now);
    if (rc == GH_DB_OK)
        rc = gh_recovery_email_proved(&x, c, f->user_id, here, factors, f->return_to, &rule);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc == GH_DB_INVALID) {
        gh_resp_error(r, 403, "recovery_unavailable",
                      "This account cannot be recovered here. Contact support.");
        return;
    }
    if (rc == GH_DB_CONFLICT || rc == GH_DB_NOTFOUND) {
        gh_resp_error(r, 400, "invalid_code", "That code is wrong or has expired.");
        return;
    }
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    json_t *methods = json_array();
    if (rule.factors & GH_RECOVERY_BY_TOTP)
        json_array_append_new(methods, json_string(GH_METHOD_TOTP));
    if (rule.factors & GH_RECOVERY_BY_PASSKEY)
        json_array_append_new(methods, json_string(GH_METHOD_PASSKEY));
    if (rule.factors & GH_RECOVERY_BY_CODE)
        json_array_append_new(methods, json_string(GH_METHOD_RECOVERY));
    respond_next(r, rule.factors != 0, methods);
}

/* ---- the factor step passed (from POST /api/v1/signin/mfa) ---- */

void gh_recover_factor_passed(gh_req *r, gh_dbconn *c, const char *step_id, const char *user_id,
                              const char *data, const gh_factors_verified *v)
{
    gh_ctx x = gh_req_ctx(r);
    json_t *d = json_loads(data, 0, NULL);
    const char *base = json_string_value(json_object_get(d, "factors"));
    const char *rt = json_string_value(json_object_get(d, "return_to"));
    const char *factors =
        gh_assurance_factors_add(r->arena, base, v->method, v->factor_id, v->bound, v->uv, x.now);
    const char *return_to = rt ? gh_arena_strdup(r->arena, rt) : NULL;
    json_decref(d);
    const char *here = gh_presession_hash(r, false);
    gh_dbrc rc = factors && here ? gh_db_begin(c) : GH_DB_FAIL;
    if (rc == GH_DB_OK)
        rc = gh_store_challenge_consume(c, r->arena, r->tenant, step_id, x.now);
    if (rc == GH_DB_OK)
        rc = gh_recovery_ticket_put(&x, c, user_id, here, factors, return_to);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc == GH_DB_CONFLICT) {
        gh_resp_error(r, 401, "invalid_code", "That code is wrong or has expired.");
        return;
    }
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    respond_next(r, false, NULL);
}

/* ---- GET /api/v1/recovery ---- */

void gh_recover_state(gh_req *r)
{
    gh_ctx x = gh_req_ctx(r);
    gh_recovery_ticket t;
    gh_challenge step;
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    const char *here = gh_presession_hash(r, false);
    gh_dbrc rc = gh_recovery_ticket_find(&x, c, here, &t);
    if (rc == GH_DB_OK) {
        gh_resp_json(r, 200, json_pack("{s:s}", "status", "recovery_password"), NULL);
        return;
    }
    if (rc == GH_DB_NOTFOUND && here &&
        gh_store_challenge_find(c, r->arena, r->tenant, GH_CH_MFA, here, x.now, &step) ==
            GH_DB_OK &&
        strstr(step.data, "\"purpose\":\"" GH_RECOVERY_PURPOSE "\"")) {
        gh_resp_json(r, 200, json_pack("{s:s}", "status", "recovery_factor_required"), NULL);
        return;
    }
    if (rc != GH_DB_OK && rc != GH_DB_NOTFOUND) {
        gh_resp_db_error(r, rc);
        return;
    }
    gh_resp_json(r, 200, json_pack("{s:s}", "status", "none"), NULL);
}

/* ---- POST /api/v1/recovery/password ---- */

/* The notice that the password was reset, to the account's address. */
static gh_dbrc notify_reset(gh_req *r, gh_dbconn *c, const gh_user *u)
{
    json_t *p = json_pack("{s:s}", "account_link", gh_oidc_url(r, "/account"));
    gh_dbrc rc = gh_mail_enqueue(c, r->arena, r->app, r->tenant, u->email, "password_reset", p);
    json_decref(p);
    return rc;
}

void gh_recover_password(gh_req *r)
{
    gh_ctx x = gh_req_ctx(r);
    gh_recovery_ticket t;
    gh_user u;
    char phc[GH_PWHASH_MAX];
    const char *pw = NULL, *token = NULL, *amr = NULL;
    size_t pwlen = 0;
    int aal = 1;
    if (!gh_csrf_check(r))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    gh_dbconn *c = gh_req_db(r);
    gh_dbrc rc = c ? gh_recovery_ticket_find(&x, c, gh_presession_hash(r, false), &t) : GH_DB_BUSY;
    if (rc == GH_DB_OK)
        rc = gh_store_user_get(c, r->arena, r->tenant, t.ch.user_id, &u);
    if (rc == GH_DB_NOTFOUND) {
        json_decref(body);
        gh_resp_error(r, 400, "flow_expired", NOT_STARTED);
        return;
    }
    if (rc != GH_DB_OK) {
        json_decref(body);
        if (c)
            gh_resp_db_error(r, rc);
        return;
    }
    bool ok = gh_accounts_new_password(r, body, u.email, &pw, &pwlen);
    json_decref(body);
    if (!ok)
        return;
    int hrc = gh_password_hash(pw, pwlen, phc);
    sodium_memzero((char *)pw, pwlen);
    if (hrc != 0) {
        gh_resp_error(r, 500, "server_error", "Something went wrong; try again.");
        return;
    }
    rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_recovery_complete(&x, c, &t, phc, &aal, &amr);
    if (rc == GH_DB_OK)
        rc = gh_session_start(r, c, u.id, amr, aal, t.factors, &token);
    if (rc == GH_DB_OK)
        rc = notify_reset(r, c, &u);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    sodium_memzero(phc, sizeof(phc));
    if (rc != GH_DB_OK) {
        r->nhdrs = 0; /* no cookie from a transaction that did not land */
        if (rc == GH_DB_INVALID) {
            gh_api_audit(r, c, "recovery.refused", u.id, "failure",
                         "the proof does not meet the account's recovery rule", NULL);
            gh_resp_error(r, 403, "recovery_factor_required",
                          "This account needs one of its sign-in methods to be reset.");
        } else if (rc == GH_DB_CONFLICT) {
            gh_resp_error(r, 400, "flow_expired", NOT_STARTED);
        } else {
            gh_resp_db_error(r, rc);
        }
        return;
    }
    gh_mail_kick();
    gh_logout_kick(); /* ending the sessions queued their back-channel logouts */
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:s, s:s}", "status", "signed_in", "return_to",
                           gh_api_return_target(r, t.return_to), "csrf_token",
                           gh_csrf_token_for(r, token), "acr", gh_assurance_acr(aal)),
                 NULL);
}
