/*
 * gh_federation_link: the proof an existing account gives before an
 * upstream identity joins it (the link page's API, /api/v1/federation/link:
 * password, passkey or an emailed code, throttled per pending link and per
 * account), and the account's linked identities (list, remove; not the
 * last way in). docs/federation.md "Safe linking".
 */
#include <sodium.h>
#include <string.h>

#include "gh_accounts.h"
#include "gh_api.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_factors.h"
#include "gh_federation.h"
#include "gh_fedorgs.h"
#include "gh_federation_handlers.h"
#include "gh_handlers.h"
#include "gh_i18n.h"
#include "gh_i18n_pages.h"
#include "gh_json.h"
#include "gh_mail.h"
#include "gh_mkey.h"
#include "gh_passkeys.h"
#include "gh_mfa.h"
#include "gh_password.h"
#include "gh_pwpolicy.h"
#include "gh_session.h"
#include "gh_store_mfa.h"
#include "gh_store_throttle.h"
#include "gh_store_users.h"

enum {
    LINK_MAX_ATTEMPTS = 5, /* wrong passwords or codes per pending link */
    LINK_MAX_CODES = 3,    /* codes mailed per pending link */
    /* wrong proofs per account over all its pending links, in
     * LINK_WINDOW_MS, before linking waits LINK_WINDOW_MS: starting new
     * pending links gives no more guesses at the password */
    LINK_MAX_WRONG = 10,
    LINK_WINDOW_MS = 15 * 60 * 1000,
};

/* ---- the link page's API: /api/v1/federation/link ---- */

struct pending_link {
    gh_challenge ch;
    json_t *data; /* owned */
    gh_user u;
};

static bool pending_link(gh_req *r, gh_dbconn *c, struct pending_link *pl)
{
    memset(pl, 0, sizeof(*pl));
    const char *binding = gh_presession_hash(r, false);
    if (!binding ||
        gh_store_challenge_find(c, r->arena, r->tenant, GH_CH_FEDERATION_LINK, binding, gh_now_ms(),
                                &pl->ch) != GH_DB_OK ||
        !pl->ch.user_id ||
        gh_store_user_get(c, r->arena, r->tenant, pl->ch.user_id, &pl->u) != GH_DB_OK) {
        gh_resp_error(r, 404, "not_found",
                      "There is no account to connect. Start again from the sign-in page.");
        return false;
    }
    (void)gh_json_parse(pl->ch.data, pl->ch.data ? strlen(pl->ch.data) : 0, GH_FED_FLAT_DEPTH,
                        &pl->data, NULL, 0);
    return true;
}

void gh_federation_link_info(gh_req *r)
{
    gh_dbconn *c = gh_req_db(r);
    struct pending_link pl;
    if (!c || !pending_link(r, c, &pl))
        return;
    const char *phc = NULL;
    bool has_password = gh_store_password_get(c, r->arena, r->tenant, pl.u.id, &phc) == GH_DB_OK;
    json_t *methods = json_array();
    if (has_password)
        json_array_append_new(methods, json_string("password"));
    /* the account's address is verified (gh_fedproto_decide asks it) */
    json_array_append_new(methods, json_string("email"));
    gh_factors_enrolled e;
    gh_ctx x = gh_req_ctx(r);
    if (gh_factors_enrolled_get(&x, c, pl.u.id, &e) == GH_DB_OK && e.passkey)
        json_array_append_new(methods, json_string("passkey"));
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:o, s:s}", "provider",
                           json_string_value(json_object_get(pl.data, "provider_name")), "email",
                           pl.u.email, "methods", methods, "csrf_token", gh_csrf_token(r)),
                 NULL);
    json_decref(pl.data);
}

/* The proof was given: the identity joins the account, which signs in. */
static void link_proved(gh_req *r, gh_dbconn *c, struct pending_link *pl, const char *proof)
{
    gh_ctx x = gh_req_ctx(r);
    const char *provider = json_string_value(json_object_get(pl->data, "provider"));
    const char *subject = json_string_value(json_object_get(pl->data, "subject"));
    const char *asked = json_string_value(json_object_get(pl->data, "return_to"));
    gh_fed_identity_row link = {.tenant_id = r->tenant,
                                .provider_id = provider,
                                .subject = subject,
                                .user_id = pl->u.id,
                                .email = pl->u.email,
                                .linked_at = x.now,
                                .upstream_tid =
                                    json_string_value(json_object_get(pl->data, "tid"))};
    gh_signin_facts facts;
    gh_mfa_outcome m = {0};
    gh_dbrc rc = gh_factors_signin_facts(&x, c, pl->u.id, GH_METHOD_FED, false, &facts);
    gh_signin_decision d = gh_signin_decide(&facts);
    if (rc == GH_DB_OK && d.verdict != GH_SIGNIN_ALLOW &&
        !(d.verdict == GH_SIGNIN_MORE && d.need == GH_NEED_SECOND_FACTOR)) {
        gh_resp_error(r, 403, "signin_refused", "This account cannot be signed in to right now.");
        return;
    }
    if (rc == GH_DB_OK)
        rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_challenge_consume(c, r->arena, r->tenant, pl->ch.id, x.now);
    if (rc == GH_DB_OK)
        rc = gh_store_fed_identity_insert(c, r->arena, &link);
    if (rc == GH_DB_OK)
        rc = gh_api_audit(r, c, "federation.linked", pl->u.id, "success", NULL,
                          json_pack("{s:s, s:s}", "provider", provider, "proof", proof));
    /* proved through an organisation's provider: a member, as in fed_signin */
    const char *org = json_string_value(json_object_get(pl->data, "org_id"));
    if (rc == GH_DB_OK && org)
        rc = gh_fedorgs_join(&x, c, org, pl->u.id, provider);
    if (rc == GH_DB_OK)
        rc = gh_mfa_first_factor(r, c, pl->u.id, GH_METHOD_FED, &d, gh_api_return_target(r, asked),
                                 &m);
    if (rc == GH_DB_OK && m.token)
        gh_api_audit(r, c, "signin.succeeded", pl->u.id, "success", NULL,
                     json_pack("{s:s, s:s}", "method", GH_METHOD_FED, "provider", provider));
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        r->nhdrs = 0;
        json_decref(m.methods);
        if (rc == GH_DB_CONFLICT)
            gh_resp_error(r, 409, "conflict",
                          "This sign-in is already connected. Start again from the sign-in page.");
        else
            gh_resp_db_error(r, rc);
        return;
    }
    gh_mfa_respond(r, &m);
}

/* The MAC of an emailed code, bound to its pending link. */
static void code_mac(gh_req *r, const char *link_id, const char *code, char out[65])
{
    gh_mkey_mac(r->app->cfg->master_key, "gh-code",
                gh_arena_printf(r->arena, "fedlink:%s:%s", link_id, code), out);
}

static const char *link_key(gh_req *r, const struct pending_link *pl)
{
    return gh_arena_printf(r->arena, "fedlink:%s", pl->u.id);
}

/* true, with 429 and Retry-After answered, while the account's proofs wait. */
static bool link_throttled(gh_req *r, gh_dbconn *c, const struct pending_link *pl)
{
    long long now = gh_now_ms(), until = 0;
    if (gh_store_throttle_get(c, r->arena, r->tenant, link_key(r, pl), &until) != GH_DB_OK ||
        until <= now)
        return false;
    gh_resp_header(r, "Retry-After", gh_arena_printf(r->arena, "%lld", (until - now + 999) / 1000));
    gh_resp_error(r, 429, "too_many_requests", "Too many attempts. Wait a moment, then try again.");
    return true;
}

/* A wrong password or code: counted; the pending link ends at the limit. */
static void link_wrong(gh_req *r, gh_dbconn *c, struct pending_link *pl, const char *what)
{
    long long n = 0, now = gh_now_ms(), wrong = 0;
    if (gh_store_throttle_fail(c, r->arena, r->tenant, link_key(r, pl), now, now - LINK_WINDOW_MS,
                               &wrong) == GH_DB_OK &&
        wrong >= LINK_MAX_WRONG)
        gh_store_throttle_block(c, r->arena, r->tenant, link_key(r, pl), now + LINK_WINDOW_MS);
    bool code = strcmp(what, "code") == 0;
    gh_dbrc rc =
        gh_store_challenge_attempt(c, r->arena, r->tenant, pl->ch.id, LINK_MAX_ATTEMPTS, &n);
    if (rc == GH_DB_OK && n >= LINK_MAX_ATTEMPTS)
        gh_store_challenge_consume(c, r->arena, r->tenant, pl->ch.id, gh_now_ms());
    gh_api_audit(
        r, c, "federation.link_failed", pl->u.id, "failure", code ? "wrong code" : "wrong password",
        json_pack("{s:s?}", "provider", json_string_value(json_object_get(pl->data, "provider"))));
    if (r->status)
        return;
    if (code)
        gh_resp_error(r, 400, "wrong_code", "That code is wrong or has expired.");
    else if (strcmp(what, "passkey") == 0)
        gh_resp_error(r, 400, "passkey_failed", "That passkey could not be checked. Try again.");
    else
        gh_resp_error(r, 400, "wrong_password", "That password is not right.");
}

/* The proof by an emailed code (POST /api/v1/federation/link {"code"}). */
static void link_prove_code(gh_req *r, const char *code)
{
    gh_dbconn *c = gh_req_db(r);
    struct pending_link pl;
    if (!c || !pending_link(r, c, &pl))
        return;
    if (link_throttled(r, c, &pl)) {
        json_decref(pl.data);
        return;
    }
    const char *want = json_string_value(json_object_get(pl.data, "code_mac"));
    char got[65] = "", digits[8] = "";
    size_t n = 0;
    for (const char *p = code; *p && n < sizeof(digits) - 1; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    code_mac(r, pl.ch.id, digits, got);
    if (!want || n != 6 || !gh_secret_equal(want, got))
        link_wrong(r, c, &pl, "code");
    else
        link_proved(r, c, &pl, "email");
    json_decref(pl.data);
}

/* The proof by one of the account's passkeys (POST /api/v1/federation/link
 * {"credential"}, after /api/v1/federation/link/passkey/options). */
static void link_prove_passkey(gh_req *r, json_t *cred)
{
    gh_dbconn *c = gh_req_db(r);
    struct pending_link pl;
    gh_factors_verified v;
    const char *user_id = NULL, *why = NULL;
    if (!c || !pending_link(r, c, &pl))
        return;
    if (link_throttled(r, c, &pl)) {
        json_decref(pl.data);
        return;
    }
    gh_ctx x = gh_req_ctx(r);
    if (gh_passkeys_assert(&x, c, cred, gh_presession_hash(r, false), pl.u.id, false, &v, &user_id,
                           &why))
        link_proved(r, c, &pl, "passkey");
    else
        link_wrong(r, c, &pl, "passkey");
    json_decref(pl.data);
}

/* POST /api/v1/federation/link/passkey/options: an assertion for the
 * pending link's account, bound to this browser. */
void gh_federation_link_passkey_options(gh_req *r)
{
    if (!gh_csrf_check(r))
        return;
    gh_dbconn *c = gh_req_db(r);
    struct pending_link pl;
    if (!c || !pending_link(r, c, &pl))
        return;
    json_decref(pl.data);
    gh_ctx x = gh_req_ctx(r);
    gh_factors_enrolled e;
    const char *rp_id, *origin;
    json_t *pk = NULL;
    if (gh_factors_enrolled_get(&x, c, pl.u.id, &e) != GH_DB_OK || !e.passkey) {
        gh_resp_error(r, 400, "no_passkey", "This account has no passkey.");
        return;
    }
    gh_dbrc rc = gh_passkeys_rp(&x, &rp_id, &origin)
                     ? gh_passkeys_request_options(&x, c, rp_id, gh_presession_hash(r, false),
                                                   pl.u.id, &e, "preferred", &pk)
                     : GH_DB_FAIL;
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    gh_resp_json(r, 200, json_pack("{s:o}", "publicKey", pk), NULL);
}

void gh_federation_link_prove(gh_req *r)
{
    bool bad = false;
    if (!gh_csrf_check(r))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *code = gh_api_text(r, body, "code", 32, &bad);
    if (bad || code || json_is_object(json_object_get(body, "credential"))) {
        if (code)
            link_prove_code(r, code);
        else if (!bad)
            link_prove_passkey(r, json_object_get(body, "credential"));
        json_decref(body);
        return;
    }
    json_t *pwv = json_object_get(body, "password");

    if (!json_is_string(pwv) || json_string_length(pwv) > GH_ACCOUNTS_MAX_PASSWORD_BYTES) {
        json_decref(body);
        gh_resp_error(r, 400, "invalid_request", "Enter the password of your account.");
        return;
    }
    size_t pwlen = 0;
    const char *pw =
        gh_pwpolicy_normalise(r->arena, json_string_value(pwv), json_string_length(pwv), &pwlen);
    json_decref(body);
    gh_dbconn *c = gh_req_db(r);
    struct pending_link pl;
    if (!c || !pending_link(r, c, &pl) || link_throttled(r, c, &pl))
        goto done;
    const char *phc = NULL;
    bool found = gh_store_password_get(c, r->arena, r->tenant, pl.u.id, &phc) == GH_DB_OK;
    bool ok = found && pw ? gh_password_verify(phc, pw, pwlen)
                          : gh_password_verify_dummy(pw ? pw : "", pw ? pwlen : 0);
    if (!ok) {
        link_wrong(r, c, &pl, "password");
        goto done;
    }
    link_proved(r, c, &pl, "password");
done:
    if (c && pl.data)
        json_decref(pl.data);
    if (pw)
        sodium_memzero((char *)pw, pwlen);
}

/* POST /api/v1/federation/link/email: a code to the account's own address
 * (verified: gh_fedproto_decide asked it), entered on the link page. At
 * most LINK_MAX_CODES per pending link; each new code replaces the last,
 * and wrong codes keep counting against the same pending link. */
void gh_federation_link_email(gh_req *r)
{
    if (!gh_csrf_check(r))
        return;
    gh_dbconn *c = gh_req_db(r);
    struct pending_link pl;
    if (!c || !pending_link(r, c, &pl))
        return;
    json_t *sends = json_object_get(pl.data, "code_sends");
    long long sent = json_is_integer(sends) ? json_integer_value(sends) : 0;
    if (sent >= LINK_MAX_CODES) {
        json_decref(pl.data);
        gh_resp_error(r, 429, "too_many_requests",
                      "We sent the most codes we can for this sign-in. Start again from the "
                      "sign-in page.");
        return;
    }
    char code[7], mac[65];
    snprintf(code, sizeof(code), "%06u", (unsigned)randombytes_uniform(1000000));
    code_mac(r, pl.ch.id, code, mac);
    json_object_set_new(pl.data, "code_mac", json_string(mac));
    json_object_set_new(pl.data, "code_sends", json_integer(sent + 1));
    char *text = json_dumps(pl.data, JSON_COMPACT);
    gh_challenge ch = pl.ch; /* the same ceremony (id, expiry, attempts), with the code */
    ch.data = text;
    const char *link = gh_arena_printf(r->arena, "%s" GH_FED_LINK_PAGE, r->issuer);
    json_t *params = json_pack("{s:s, s:s, s:i, s:s}", "code", code, "link", link, "minutes",
                               (int)((ch.expires_at - gh_now_ms() + 59999) / 60000), "_locale",
                               gh_i18n_tags()[gh_req_language(r, NULL)]);
    gh_dbrc rc = text && params ? gh_db_begin(c) : GH_DB_FAIL;
    if (rc == GH_DB_OK) {
        rc = gh_store_challenge_put(c, r->arena, &ch);
        if (rc == GH_DB_OK)
            rc = gh_mail_enqueue(c, r->arena, r->app->cfg, r->tenant, pl.u.email, "signin_code",
                                 params);
        if (rc == GH_DB_OK)
            rc = gh_api_audit(r, c, "federation.link_code_sent", pl.u.id, "success", NULL,
                              json_pack("{s:s?}", "provider",
                                        json_string_value(json_object_get(pl.data, "provider"))));
        rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    }
    sodium_memzero(code, sizeof(code));
    json_decref(params);
    free(text);
    json_decref(pl.data);
    if (rc != GH_DB_OK) {
        if (!r->status)
            gh_resp_db_error(r, rc);
        return;
    }
    gh_mail_kick();
    gh_resp_json(r, 200, json_pack("{s:s, s:s}", "status", "code_sent", "email", pl.u.email), NULL);
}

/* ---- the account's linked identities ---- */

void gh_federation_identities(gh_req *r)
{
    gh_user u;
    if (!gh_accounts_signed_in_user(r, &u))
        return;
    gh_dbconn *c = gh_req_db(r);
    gh_fed_identity_row *links = NULL;
    gh_fed_provider_row *provs = NULL;
    size_t n = 0, np = 0;
    gh_dbrc rc =
        c ? gh_store_fed_identities_of(c, r->arena, r->tenant, u.id, &links, &n) : GH_DB_BUSY;
    if (rc == GH_DB_OK)
        rc = gh_store_fed_providers(c, r->arena, r->tenant, &provs, &np);
    if (rc != GH_DB_OK) {
        if (!r->status)
            gh_resp_db_error(r, rc);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *name = links[i].provider_id;
        for (size_t k = 0; k < np; k++)
            if (strcmp(provs[k].id, links[i].provider_id) == 0)
                name = provs[k].display_name;
        json_t *o =
            json_pack("{s:s, s:s, s:s?, s:I}", "provider", links[i].provider_id, "display_name",
                      name, "email", links[i].email, "linked_at", (json_int_t)links[i].linked_at);
        if (o && links[i].last_used_at)
            json_object_set_new(o, "last_used_at", json_integer(links[i].last_used_at));
        if (o)
            json_array_append_new(list, o);
    }
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, json_pack("{s:o}", "identities", list), NULL);
}

/* Whether the account keeps a way to sign in without the provider's links:
 * a password, a passkey, emailed codes, or another provider. */
static bool keeps_a_way_in(gh_req *r, gh_dbconn *c, const char *user_id, const char *provider)
{
    const char *phc = NULL;
    gh_factors_enrolled e;
    gh_ctx x = gh_req_ctx(r);
    if (gh_store_password_get(c, r->arena, r->tenant, user_id, &phc) == GH_DB_OK)
        return true;
    if (gh_factors_enrolled_get(&x, c, user_id, &e) == GH_DB_OK && (e.passkey || e.email))
        return true;
    gh_fed_identity_row *links = NULL;
    size_t n = 0;
    if (gh_store_fed_identities_of(c, r->arena, r->tenant, user_id, &links, &n) != GH_DB_OK)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(links[i].provider_id, provider) != 0)
            return true;
    return false;
}

void gh_federation_identity_remove(gh_req *r)
{
    if (!gh_csrf_check(r))
        return;
    const gh_session *s = gh_mfa_recent_session(r);
    if (!s)
        return;
    gh_dbconn *c = gh_req_db(r);
    const char *provider = r->nparams ? r->params[0] : "";
    gh_fed_identity_row *links = NULL;
    size_t n = 0, mine = 0;
    gh_dbrc rc = gh_store_fed_identities_of(c, r->arena, r->tenant, s->user_id, &links, &n);
    for (size_t i = 0; rc == GH_DB_OK && i < n; i++)
        mine += strcmp(links[i].provider_id, provider) == 0;
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    if (mine == 0) {
        gh_resp_error(r, 404, "not_found", "This sign-in provider is not connected.");
        return;
    }
    if (!keeps_a_way_in(r, c, s->user_id, provider)) {
        gh_resp_error(r, 409, "signin_method_required",
                      "This is your only way to sign in. Set a password or add a passkey first.");
        return;
    }
    rc = gh_db_begin(c);
    for (size_t i = 0; rc == GH_DB_OK && i < n; i++)
        if (strcmp(links[i].provider_id, provider) == 0)
            rc = gh_store_fed_identity_delete(c, r->arena, r->tenant, s->user_id, provider,
                                              links[i].subject);
    if (rc == GH_DB_OK)
        rc = gh_api_audit(r, c, "federation.unlinked", s->user_id, "success", NULL,
                          json_pack("{s:s}", "provider", provider));
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        if (!r->status)
            gh_resp_db_error(r, rc);
        return;
    }
    gh_resp_empty(r, 204);
}
