/*
 * gh_accounts: the accounts JSON API under /api/v1 (docs/accounts-api.md):
 * the session, sign-up, email verification and resending codes, and the
 * emailed-code flows every journey shares (gh_accounts.h). Sign-in and
 * sign-out are gh_accounts_signin.c, the list of sessions
 * gh_accounts_sessions.c. The hosted pages call it; so may a customer's own
 * UI on the same origin.
 *
 * Journeys never reveal whether an email has an account: sign-up answers the
 * same for a new and a taken address, and sign-in spends the same time and
 * says the same words for an unknown address and a wrong password.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_accounts.h"
#include "gh_api.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_deletion.h"
#include "gh_factors.h"
#include "gh_handlers.h"
#include "gh_mail.h"
#include "gh_mfa.h"
#include "gh_mkey.h"
#include "gh_password.h"
#include "gh_pwpolicy.h"
#include "gh_recover.h"
#include "gh_risk.h"
#include "gh_consent.h"
#include "gh_session.h"
#include "gh_store_users.h"
#include "gh_store_flows.h"
#include "gh_store_mfa.h"
#include "gh_store_sessions.h"
#include "gh_store_throttle.h"
#include "gh_i18n.h"
#include "gh_i18n_pages.h"
#include "gh_risk_journeys.h"

enum {
    MAX_NAME = 256,
    MAX_FLOW_ATTEMPTS = 5,
};

#define WRONG_CODE     "That code is wrong or has expired."
#define CODE_USED      "This code or link was already used."
#define TOO_MANY_TRIES "Too many wrong codes. Use the link in the email, or start again."
#define CODE_LIMIT                                                                                 \
    "Too many codes were tried for this address today. Use the link in the email instead."
#define CODE_EXPIRED "That code has expired. Ask for a new code."

typedef char hash_hex[2 * GH_SHA256_BYTES + 1];

/* The stored form of a flow's 6-digit code: keyed (gh_mkey_mac), since a
 * million codes are quickly tried against a plain hash, and bound to its
 * flow, so the same digits in another flow differ. */
static void code_hash_of(gh_req *r, const char *flow_id, const char *code, hash_hex out)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s:%s", flow_id, code ? code : "");
    gh_mkey_mac(r->app->cfg->master_key, "gh-code", buf, out);
    sodium_memzero(buf, sizeof(buf));
}

/* ---- email verification flows ---- */

static void new_codes(gh_req *r, const char *flow_id, gh_accounts_codes *k, gh_email_flow *f)
{
    hash_hex code_hash, link_hash;
    snprintf(k->code, sizeof(k->code), "%06u", (unsigned)randombytes_uniform(1000000));
    k->link_token = gh_token(r->arena);
    code_hash_of(r, flow_id, k->code, code_hash);
    gh_secret_hash(k->link_token, link_hash);
    f->code_hash = gh_arena_strdup(r->arena, code_hash);
    f->link_hash = gh_arena_strdup(r->arena, link_hash);
}

gh_dbrc gh_accounts_flow_create(gh_req *r, gh_dbconn *c, const char *kind, const char *user_id,
                                const char *email, const char *return_to, const char *signup,
                                gh_email_flow *f, gh_accounts_codes *k)
{
    long long now = gh_now_ms();
    const char *id = gh_token(r->arena);
    *f = (gh_email_flow){.tenant_id = r->tenant,
                         .id = id,
                         .kind = kind,
                         .user_id = user_id,
                         .email = email,
                         .binding_hash = gh_presession_hash(r, false),
                         .return_to = return_to,
                         .attempts = 0,
                         .sends = 1,
                         .created_at = now,
                         .last_sent_at = now,
                         .expires_at = now + (long long)r->app->cfg->code_ttl * 1000,
                         .signup = signup};
    new_codes(r, id, k, f);
    return gh_store_flow_insert(c, r->arena, f);
}

/* A verification flow (user_id NULL: a decoy) in the caller's
 * transaction. */
static gh_dbrc verify_flow_create(gh_req *r, gh_dbconn *c, const char *user_id, const char *email,
                                  const char *return_to, gh_email_flow *f, gh_accounts_codes *k)
{
    return gh_accounts_flow_create(r, c, GH_FLOW_VERIFY, user_id, email, return_to, NULL, f, k);
}

gh_dbrc gh_accounts_mail_code(gh_req *r, gh_dbconn *c, const gh_email_flow *f,
                              const gh_accounts_codes *k)
{
    bool recover = strcmp(f->kind, GH_FLOW_RECOVER) == 0;
    const char *link = gh_arena_printf(r->arena, "%s/%s?flow=%s&token=%s", r->issuer,
                                       recover ? "recover" : "verify", f->id, k->link_token);
    /* In the language of the page that asked, where the code is entered
     * (docs/i18n.md). */
    json_t *params = json_pack("{s:s, s:s, s:i, s:s}", "code", k->code, "link", link, "minutes",
                               (int)((r->app->cfg->code_ttl + 59) / 60), "_locale",
                               gh_i18n_tags()[gh_req_language(r, f->return_to)]);
    const char *tmpl = recover                                ? "recovery_code"
                       : strcmp(f->kind, GH_FLOW_VERIFY) == 0 ? "verify_email"
                       : strcmp(f->kind, GH_FLOW_EMAIL) == 0  ? "email_change_code"
                                                              : "signin_code";
    gh_dbrc rc = gh_mail_enqueue(c, r->arena, r->app->cfg, r->tenant, f->email, tmpl, params);
    json_decref(params);
    return rc;
}

void gh_accounts_respond_verification(gh_req *r, const char *flow_id, const char *email)
{
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:s}", "status", "verification_required", "flow_id", flow_id,
                           "email", email),
                 NULL);
}

/* ---- limits on code mails and code guesses (issue 15; SECURITY.md #12, #13) ---- */

#define HOUR_MS (3600LL * 1000)
#define DAY_MS  (24 * HOUR_MS)

/* Counts one event under key and returns the new count (it starts again
 * from 1 after window_ms without one); -1 when it cannot be counted. */
static long long count_event(gh_req *r, gh_dbconn *c, const char *key, long long window_ms)
{
    long long now = gh_now_ms(), n = 0;
    if (!key ||
        gh_store_throttle_fail(c, r->arena, r->tenant, key, now, now - window_ms, &n) != GH_DB_OK)
        return -1;
    return n;
}

/* May this request mail a code or notice to email (and open a flow that
 * can succeed)? Counted for every request, whether the address has an
 * account or not, so the answers stay alike (SECURITY.md #14):
 *  - per client address, GATEHOUSE_MAIL_IP_HOURLY_LIMIT in an hour: past
 *    it GH_ACCOUNTS_SEND_REFUSED, a 429 that slows that client only;
 *  - per email address, GATEHOUSE_MAIL_DAILY_LIMIT in 24 hours: past it
 *    GH_ACCOUNTS_SEND_QUIET, the usual answer with a decoy flow and no mail, so nobody
 *    can flood a mailbox. The address's owner (owner_id) asking from a
 *    client address one of their sessions came from still gets mail, so
 *    the requests of others cannot keep the owner's codes away. */
gh_accounts_send gh_accounts_send_budget(gh_req *r, gh_dbconn *c, const char *email,
                                         const char *owner_id)
{
    const gh_config *cfg = r->app->cfg;
    bool seen = false;
    long long by_ip = count_event(r, c, gh_arena_printf(r->arena, "mailip:%s", r->ip), HOUR_MS);
    if (by_ip > (long long)cfg->mail_ip_hourly_limit)
        return GH_ACCOUNTS_SEND_REFUSED;
    long long by_addr =
        count_event(r, c, gh_arena_printf(r->arena, "mailaddr:%s", email ? email : ""), DAY_MS);
    if (by_addr <= (long long)cfg->mail_daily_limit)
        return GH_ACCOUNTS_SEND_MAIL;
    if (owner_id &&
        gh_store_session_seen_from(c, r->arena, r->tenant, owner_id, r->ip, &seen) == GH_DB_OK &&
        seen)
        return GH_ACCOUNTS_SEND_MAIL;
    return GH_ACCOUNTS_SEND_QUIET;
}

void gh_accounts_sends_refused(gh_req *r)
{
    gh_resp_header(r, "Retry-After", "3600");
    gh_resp_error(r, 429, "too_many_requests",
                  "Too many codes were asked for from your network. Try again later.");
}

gh_dbrc gh_accounts_count_send(gh_req *r, gh_dbconn *c, const char *key, long long now)
{
    long long n = 0;
    gh_dbrc rc = gh_store_throttle_fail(c, r->arena, r->tenant, key, now, now - 15 * 60 * 1000, &n);
    if (rc == GH_DB_OK && n >= GH_ACCOUNTS_MAX_FLOW_SENDS)
        rc = gh_store_throttle_block(c, r->arena, r->tenant, key, now + 15 * 60 * 1000);
    return rc;
}

bool gh_accounts_send_wait(gh_req *r, gh_dbconn *c, const char *key)
{
    long long now = gh_now_ms(), until = 0;
    if (gh_store_throttle_get(c, r->arena, r->tenant, key, &until) != GH_DB_OK || until <= now)
        return false;
    gh_resp_header(r, "Retry-After", gh_arena_printf(r->arena, "%lld", (until - now + 999) / 1000));
    gh_resp_error(r, 429, "too_many_requests",
                  "A code was sent moments ago. Wait a little before asking again.");
    return true;
}

/* Counts one emailed code typed for this flow, under its address and its
 * account (a decoy has none) across all flows and resends; false when
 * either is past GATEHOUSE_CODE_DAILY_LIMIT in 24 hours. Counted before the
 * comparison, right or wrong, so parallel guesses cannot overshoot. Links
 * are not counted: they cannot be guessed, so the owner's link works
 * whatever others typed. */
static bool code_budget(gh_req *r, gh_dbconn *c, const gh_email_flow *f)
{
    long long limit = r->app->cfg->code_daily_limit;
    long long by_addr =
        count_event(r, c, gh_arena_printf(r->arena, "codes:email:%s", f->email), DAY_MS);
    long long by_user =
        f->user_id
            ? count_event(r, c, gh_arena_printf(r->arena, "codes:user:%s", f->user_id), DAY_MS)
            : 0;
    return by_addr >= 0 && by_user >= 0 && by_addr <= limit && by_user <= limit;
}

/* ---- GET /api/v1/session ---- */

static json_t *user_summary(gh_req *r, const char *user_id)
{
    gh_user u;
    gh_dbconn *c = gh_req_db(r);
    if (!c || gh_store_user_get(c, r->arena, r->tenant, user_id, &u) != GH_DB_OK)
        return NULL;
    return json_pack("{s:s, s:s?, s:b, s:s?, s:s?}", "id", u.id, "email", u.email, "email_verified",
                     u.email_verified, "given_name", u.given_name, "family_name", u.family_name);
}

void gh_accounts_session(gh_req *r)
{
    const gh_session *s = gh_session_current(r);
    const char *csrf = gh_csrf_token(r);
    if (r->status) /* the database was busy */
        return;
    json_t *user = s ? user_summary(r, s->user_id) : NULL;
    if (!s || !user) {
        gh_resp_json(r, 200, json_pack("{s:b, s:s}", "authenticated", 0, "csrf_token", csrf), NULL);
        return;
    }
    char created[32], expires[32], auth[32];
    gh_rfc3339(s->created_at, created);
    gh_rfc3339(s->expires_at < s->idle_expires_at ? s->expires_at : s->idle_expires_at, expires);
    gh_rfc3339(s->auth_time, auth);
    json_t *amr = json_loads(s->amr ? s->amr : "[]", 0, NULL);
    json_t *factors = json_loads(s->factors ? s->factors : "[]", 0, NULL);
    json_t *j =
        json_pack("{s:b, s:s, s:o, s:{s:s, s:s, s:s, s:s, s:s, s:o, s:o}}", "authenticated", 1,
                  "csrf_token", csrf, "user", user, "session", "id", s->id, "created_at", created,
                  "expires_at", expires, "auth_time", auth, "acr", gh_assurance_acr(s->aal), "amr",
                  amr ? amr : json_array(), "factors", factors ? factors : json_array());
    /* a risk step-up waits for the person to prove again (docs/risk.md) */
    if (j && s->fresh_required)
        json_object_set_new(j, "reauthentication_required", json_true());
    /* a required document waits for acceptance: the pages go to the re-ask */
    if (j && gh_session_consent_pending(r))
        json_object_set_new(j, "consent_required", json_true());
    gh_resp_json(r, 200, j, NULL);
}

/* ---- POST /api/v1/signup ---- */

bool gh_accounts_has_second_factor(gh_req *r, gh_dbconn *c, const char *user_id)
{
    gh_ctx x = gh_req_ctx(r);
    gh_factors_enrolled e;
    if (!c || !user_id || gh_factors_enrolled_get(&x, c, user_id, &e) != GH_DB_OK)
        return false;
    return e.totp || e.passkey;
}

bool gh_accounts_new_password(gh_req *r, json_t *body, const char *email, bool has_second_factor,
                              const char **out, size_t *outlen)
{
    json_t *v = json_object_get(body, "password");
    const char *why = NULL;
    if (!json_is_string(v) || json_string_length(v) > GH_ACCOUNTS_MAX_PASSWORD_BYTES) {
        gh_resp_error(r, 400, "weak_password",
                      json_is_string(v) ? "Use at most 256 characters." : "Enter a password.");
        return false;
    }
    *out = gh_pwpolicy_normalise(r->arena, json_string_value(v), json_string_length(v), outlen);
    if (!*out) {
        gh_resp_error(r, 400, "weak_password", "The password has characters we cannot accept.");
        return false;
    }
    if (gh_pwpolicy_check_for(gh_api_pwpolicy(r), has_second_factor, *out, *outlen, email, &why) !=
        GH_PW_OK) {
        gh_resp_error(r, 400, "weak_password", why);
        return false;
    }
    return true;
}

const char *gh_accounts_email_field(gh_req *r, json_t *body, bool *bad)
{
    const char *raw = gh_api_text(r, body, "email", 320, bad);
    const char *email = gh_store_normalise_id(r->arena, raw);
    if (*bad)
        return NULL;
    if (!email || !gh_store_email_valid(email)) {
        *bad = true;
        gh_resp_error(r, 400, "invalid_email", "Enter a valid email address.");
        return NULL;
    }
    return email;
}

/* A passwordless sign-up's one way in: signing in with an emailed code
 * (the factor PUT /api/v1/mfa/email turns on), in the caller's
 * transaction. */
static gh_dbrc email_signin_add(gh_req *r, gh_dbconn *c, const char *tenant, const char *user_id)
{
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    gh_factor f = {.tenant_id = tenant,
                   .id = id,
                   .user_id = user_id,
                   .kind = GH_FACTOR_EMAIL,
                   .name = "Emailed sign-in code",
                   .confirmed = true,
                   .created_at = gh_now_ms()};
    return gh_store_factor_insert(c, r->arena, &f);
}

/* The address is taken: its owner gets a notice, the caller a decoy flow. */
static gh_dbrc signup_existing(gh_req *r, gh_dbconn *c, const gh_user *owner, const char *return_to,
                               bool mail, gh_email_flow *f)
{
    gh_accounts_codes k;
    gh_dbrc rc = verify_flow_create(r, c, NULL, owner->email, return_to, f, &k);
    if (rc != GH_DB_OK || !mail)
        return rc;
    json_t *params = json_pack("{s:s, s:s, s:s}", "signin_link",
                               gh_arena_printf(r->arena, "%s/signin", r->issuer), "reset_link",
                               gh_arena_printf(r->arena, "%s/signin", r->issuer), "_locale",
                               gh_i18n_tags()[gh_req_language(r, return_to)]);
    rc = gh_mail_enqueue(c, r->arena, r->app->cfg, r->tenant, owner->email, "signup_existing",
                         params);
    json_decref(params);
    if (rc == GH_DB_OK)
        gh_api_audit(r, c, "signup.existing_email", owner->id, "failure",
                     "email already registered", NULL);
    return rc;
}

/* The address is held by an unverified self-service sign-up that nobody
 * proved (issue 15): this sign-up gets a real verification flow that
 * carries its password hash and names, and replaces that account when the
 * code or link comes back (replace_unverified). Past the address's mail
 * limit, a decoy. The caller answers as for every sign-up. */
static gh_dbrc signup_replace(gh_req *r, gh_dbconn *c, const gh_user *holder, const gh_user *u,
                              const char *phc, const char *return_to, bool mail, gh_email_flow *f)
{
    gh_accounts_codes k;
    json_t *j = json_pack("{s:s?, s:b, s:s?, s:s?}", "phc", phc, "passwordless", phc == NULL,
                          "given_name", u->given_name, "family_name", u->family_name);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    const char *signup = text ? gh_arena_strdup(r->arena, text) : NULL;
    free(text);
    if (!signup)
        return GH_DB_FAIL;
    gh_dbrc rc = gh_accounts_flow_create(r, c, GH_FLOW_VERIFY, mail ? holder->id : NULL,
                                         holder->email, return_to, signup, f, &k);
    if (rc == GH_DB_OK && mail)
        rc = gh_accounts_mail_code(r, c, f, &k);
    if (rc == GH_DB_OK)
        gh_api_audit(r, c, "signup.unverified_email", holder->id, "success",
                     "address held by an unverified sign-up", NULL);
    return rc;
}

static gh_dbrc signup_new(gh_req *r, gh_dbconn *c, gh_user *u, const char *phc,
                          const char *return_to, gh_email_flow *f)
{
    gh_accounts_codes k;
    gh_dbrc rc = gh_store_user_insert(c, r->arena, u);
    if (rc == GH_DB_OK)
        rc = gh_store_user_mark_signup(c, r->arena, u->tenant_id, u->id);
    if (rc == GH_DB_OK) /* phc NULL: a passwordless account, which signs in by emailed code */
        rc = phc ? gh_store_password_set(c, r->arena, u->tenant_id, u->id, phc)
                 : email_signin_add(r, c, u->tenant_id, u->id);
    if (rc == GH_DB_OK)
        rc = verify_flow_create(r, c, u->id, u->email, return_to, f, &k);
    if (rc == GH_DB_OK)
        rc = gh_accounts_mail_code(r, c, f, &k);
    if (rc == GH_DB_OK)
        gh_api_audit(r, c, "signup.created", u->id, "success", NULL,
                     json_pack("{s:b}", "passwordless", phc == NULL));
    return rc;
}

/* The sign-up's risk decision (docs/risk.md "Journeys"), in its
 * transaction, about the account the address has (owner_id) or is about
 * to get (new_id); found: the address lookup's result, returned unless the
 * check fails. *refused: the policy refuses it, audited signup.refused and
 * answered as a taken address is. */
static gh_dbrc signup_risk(gh_req *r, gh_dbconn *c, const char *email, const char *owner_id,
                           const char *new_id, gh_dbrc found, bool *refused)
{
    gh_risk_verdict v;
    *refused = false;
    if (found != GH_DB_OK && found != GH_DB_NOTFOUND)
        return found;
    gh_risk_check k = {.journey = GH_RJ_SIGNUP,
                       .email = email,
                       .record_as = owner_id ? owner_id : new_id,
                       .record_refused_as = owner_id};
    gh_dbrc rc = gh_risk_journey_check(r, c, &k, &v);
    if (rc != GH_DB_OK)
        return rc;
    if (v.outcome != GH_RO_DENY)
        return found;
    *refused = true;
    return gh_api_audit(r, c, "signup.refused", owner_id, "failure", "refused by the risk policy",
                        json_pack("{s:s}", "decision_id", v.id));
}

/* The sign-up's "consents" against the purposes in effect; false with a
 * 400 answered (or 503). */
static bool signup_consents_ok(gh_req *r, json_t *consents)
{
    char why[256] = "";
    gh_ctx x = gh_req_ctx(r);
    gh_dbconn *c = gh_req_db(r);
    gh_dbrc rc = c ? gh_consent_signup_check(&x, c, consents, why, sizeof(why)) : GH_DB_BUSY;
    if (rc == GH_DB_INVALID)
        gh_resp_error(r, 400, "consent_required", gh_arena_strdup(r->arena, why));
    else if (rc != GH_DB_OK && !r->status)
        gh_resp_db_error(r, rc);
    return rc == GH_DB_OK;
}

/* A new account's decisions, in the sign-up's transaction. */
static gh_dbrc signup_consents_record(gh_req *r, gh_dbconn *c, const char *user_id,
                                      json_t *consents)
{
    gh_ctx x = gh_req_ctx(r);
    return gh_consent_signup_record(&x, c, user_id, consents, "page");
}

/* The body's "passwordless": true asks for an account without a password
 * (it signs in with emailed codes); it and "password" exclude each other.
 * false with a 400 answered when the body is not one or the other. */
static bool signup_kind(gh_req *r, json_t *body, bool *passwordless)
{
    json_t *v = json_object_get(body, "passwordless");
    if (v && !json_is_boolean(v)) {
        gh_resp_error(r, 400, "invalid_request", "passwordless must be true or false.");
        return false;
    }
    *passwordless = json_is_true(v);
    if (*passwordless && json_object_get(body, "password")) {
        gh_resp_error(r, 400, "invalid_request",
                      "Send a password, or passwordless: true, not both.");
        return false;
    }
    return true;
}

void gh_accounts_signup(gh_req *r)
{
    char phc[GH_PWHASH_MAX], id[GH_UUID_STRLEN + 1];
    bool bad = false, passwordless = false;
    const char *pw = NULL;
    size_t pwlen = 0;
    if (!gh_csrf_check(r))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *email = gh_accounts_email_field(r, body, &bad);
    const char *given = bad ? NULL : gh_api_text(r, body, "given_name", MAX_NAME, &bad);
    const char *family = bad ? NULL : gh_api_text(r, body, "family_name", MAX_NAME, &bad);
    const char *asked = bad ? NULL : gh_api_text(r, body, "return_to", 2048, &bad);
    /* A new account has no second factor yet: the only-factor minimum. */
    if (bad || !signup_kind(r, body, &passwordless) ||
        (!passwordless && !gh_accounts_new_password(r, body, email, false, &pw, &pwlen))) {
        json_decref(body);
        return;
    }
    /* the purposes' decisions: refused before any work when a required
     * document is not accepted (docs/privacy.md) */
    json_t *consents = json_incref(json_object_get(body, "consents"));
    json_decref(body);
    if (!signup_consents_ok(r, consents)) {
        if (pw)
            sodium_memzero((char *)pw, pwlen);
        json_decref(consents);
        return;
    }
    /* Hash first, whatever happens next, so a taken address costs the same
     * time (a passwordless sign-up hashes nothing either way). */
    int hrc = passwordless ? 0 : gh_password_hash(pw, pwlen, phc);
    if (pw)
        sodium_memzero((char *)pw, pwlen);
    if (hrc != 0) {
        json_decref(consents);
        gh_resp_error(r, 500, "server_error", "Something went wrong; try again.");
        return;
    }
    const char *hash = passwordless ? NULL : phc;
    const char *return_to = gh_api_return_target(r, asked);
    gh_dbconn *c = gh_req_db(r);
    if (!c) {
        json_decref(consents);
        return;
    }
    long long now = gh_now_ms();
    gh_uuid(id);
    gh_user u = {.tenant_id = r->tenant,
                 .id = gh_arena_strdup(r->arena, id),
                 .username = email,
                 .email = email,
                 .active = true,
                 .given_name = given,
                 .family_name = family,
                 .version = 1,
                 .created_at = now,
                 .updated_at = now};
    gh_user owner;
    gh_email_flow f;
    bool pending = false;
    gh_accounts_send send = gh_accounts_send_budget(r, c, email, NULL);
    if (send == GH_ACCOUNTS_SEND_REFUSED) {
        sodium_memzero(phc, sizeof(phc));
        json_decref(consents);
        gh_accounts_sends_refused(r);
        return;
    }
    bool refused = false;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK) {
        rc = gh_store_user_by_email(c, r->arena, r->tenant, email, &owner);
        rc = signup_risk(r, c, email, rc == GH_DB_OK ? owner.id : NULL, u.id, rc, &refused);
        if (rc == GH_DB_OK && !refused)
            rc = gh_store_user_pending_signup(c, r->arena, r->tenant, owner.id, &pending);
        if (refused)
            ; /* nothing more: answered below as a taken address */
        else if (rc == GH_DB_OK && pending)
            rc = signup_replace(r, c, &owner, &u, hash, return_to, send == GH_ACCOUNTS_SEND_MAIL,
                                &f);
        else if (rc == GH_DB_OK)
            rc = signup_existing(r, c, &owner, return_to, send == GH_ACCOUNTS_SEND_MAIL, &f);
        else if (rc == GH_DB_NOTFOUND) {
            rc = signup_new(r, c, &u, hash, return_to, &f);
            if (rc == GH_DB_OK) /* the new account's decisions, with it */
                rc = signup_consents_record(r, c, u.id, consents);
        }
    }
    json_decref(consents);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc == GH_DB_CONFLICT || (rc == GH_DB_OK && refused)) {
        /* Another sign-up took the address between our read and write: answer
         * as for a taken address. */
        gh_accounts_respond_verification(r, gh_token(r->arena), email);
        return;
    }
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    gh_mail_kick();
    gh_accounts_respond_verification(r, f.id, email);
}

/* ---- POST /api/v1/verify ---- */

/* A refused code or link is audited like a failed sign-in: for a
 * passwordless sign-in flow it is one (a recovery's is its own event). A decoy flow (no account)
 * has no subject. False, with an error answered, when the event was not written. */
static bool verify_refused(gh_req *r, gh_dbconn *c, const gh_email_flow *f, const char *reason)
{
    const char *type = strcmp(f->kind, GH_FLOW_VERIFY) == 0    ? "email.verify_failed"
                       : strcmp(f->kind, GH_FLOW_RECOVER) == 0 ? "recovery.code_failed"
                       : strcmp(f->kind, GH_FLOW_EMAIL) == 0   ? "email.change_code_failed"
                                                               : "signin.failed";
    gh_dbrc rc = gh_api_audit(r, c, type, f->user_id, "failure", reason, NULL);
    if (rc != GH_DB_OK)
        gh_resp_db_error(r, rc);
    return rc == GH_DB_OK;
}

static bool code_matches(gh_req *r, const gh_email_flow *f, const char *code, const char *token)
{
    hash_hex h;
    if (code) {
        code_hash_of(r, f->id, code, h);
        return gh_secret_equal(h, f->code_hash);
    }
    gh_secret_hash(token, h);
    (void)r;
    return gh_secret_equal(h, f->link_hash);
}

/* Completes a sign-up to an address held by an unverified self-service
 * sign-up (signup_replace; ASVS 6.4, SECURITY.md #14): whoever proved the
 * mailbox owns the address. The old account goes with everything of its
 * own (password, names, sessions, flows, tokens, consents, factors), and a
 * new account, with a new id so that no relying party takes it for the
 * old one, gets the sign-up's password. In the caller's transaction;
 * CONFLICT when the old account was verified or is gone by now. *user_id:
 * the new account. */
static gh_dbrc replace_unverified(gh_req *r, gh_dbconn *c, const gh_email_flow *f,
                                  const char **user_id)
{
    char id[GH_UUID_STRLEN + 1];
    bool pending = false;
    long long now = gh_now_ms();
    json_t *j = json_loads(f->signup, 0, NULL);
    const char *phc = json_string_value(json_object_get(j, "phc"));
    bool passwordless = json_is_true(json_object_get(j, "passwordless"));
    const char *given = json_string_value(json_object_get(j, "given_name"));
    const char *family = json_string_value(json_object_get(j, "family_name"));
    gh_uuid(id);
    gh_user u = {.tenant_id = f->tenant_id,
                 .id = gh_arena_strdup(r->arena, id),
                 .username = f->email,
                 .email = f->email,
                 .active = true,
                 .given_name = given ? gh_arena_strdup(r->arena, given) : NULL,
                 .family_name = family ? gh_arena_strdup(r->arena, family) : NULL,
                 .version = 1,
                 .created_at = now,
                 .updated_at = now};
    gh_dbrc rc = phc || passwordless
                     ? gh_store_user_pending_signup(c, r->arena, f->tenant_id, f->user_id, &pending)
                     : GH_DB_FAIL;
    if (rc == GH_DB_OK && !pending)
        rc = GH_DB_CONFLICT;
    if (rc == GH_DB_OK)
        rc = gh_store_user_purge(c, r->arena, f->tenant_id, f->user_id);
    /* what the old account leaves as evidence keeps only its pseudonym, as
     * for any removed account; the address is the new owner's, so their
     * events keep it */
    char pseud[GH_DELETION_PSEUDONYM_LEN + 1];
    gh_ctx x = gh_req_ctx(r);
    gh_deletion_counts n;
    gh_deletion_pseudonym(x.cfg, f->tenant_id, f->user_id, pseud);
    if (rc == GH_DB_OK)
        rc = gh_deletion_pseudonymise(&x, c, f->user_id, NULL, pseud, &n);
    if (rc == GH_DB_OK)
        rc = gh_store_user_insert(c, r->arena, &u);
    if (rc == GH_DB_OK)
        rc = gh_store_user_mark_signup(c, r->arena, u.tenant_id, u.id);
    if (rc == GH_DB_OK)
        rc = phc ? gh_store_password_set(c, r->arena, u.tenant_id, u.id, phc)
                 : email_signin_add(r, c, u.tenant_id, u.id);
    if (rc == GH_DB_OK)
        gh_api_audit(r, c, "account.unverified_replaced", pseud, "success",
                     "a verified sign-up took the address",
                     json_pack("{s:s, s:I, s:I}", "new_user_id", u.id, "events_pseudonymised",
                               (json_int_t)n.events, "consents_pseudonymised",
                               (json_int_t)n.consents));
    json_decref(j);
    *user_id = u.id;
    return rc;
}

/* A passwordless sign-in's code or link matched: its risk decision
 * (journey email_signin, docs/risk.md), in a transaction of its own before
 * the sign-in's, so a refusal stays recorded. A refusal is answered as a
 * wrong code and audited as a failed sign-in. False when answered. */
static bool email_signin_scored(gh_req *r, gh_dbconn *c, const gh_email_flow *f,
                                gh_signin_facts *facts)
{
    gh_ctx x = gh_req_ctx(r);
    gh_risk_verdict risk;
    gh_dbrc rc = gh_factors_signin_facts(&x, c, f->user_id, GH_METHOD_EMAIL, false, facts);
    gh_risk_facts rf = {.journey = GH_RJ_EMAIL_SIGNIN,
                        .user_id = f->user_id,
                        .device_hash = gh_device_hash(r),
                        .has_second_factor = rc == GH_DB_OK && facts->has_second_factor};
    if (rc == GH_DB_OK)
        rc = gh_risk_signin(&x, c, &rf, facts, &risk);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return false;
    }
    if (!facts->risk_deny)
        return true;
    if (verify_refused(r, c, f, "refused by the risk policy"))
        gh_resp_error(r, 400, "invalid_code", WRONG_CODE);
    return false;
}

/* Completes a flow whose code matched. Email verification signs in only
 * the browser that started it; a passwordless sign-in code or link signs in
 * wherever it is used, since only the mailbox's owner has it. Either way an
 * account with a second factor is asked for it next (gh_mfa). */
static void verify_complete(gh_req *r, gh_dbconn *c, const gh_email_flow *f)
{
    gh_ctx x = gh_req_ctx(r);
    long long now = x.now;
    const char *here = gh_presession_hash(r, false);
    bool signin = strcmp(f->kind, GH_FLOW_SIGNIN) == 0;
    bool unlock = strcmp(f->kind, GH_FLOW_UNLOCK) == 0;
    bool same_browser = here && f->binding_hash && gh_secret_equal(here, f->binding_hash);
    gh_mfa_outcome m = {0};
    bool start = signin || same_browser;
    if (unlock && !same_browser) {
        /* the password was typed in another browser: only that one goes on */
        gh_resp_error(r, 400, "other_browser",
                      "Enter the code in the browser where you entered your password.");
        return;
    }
    if (strcmp(f->kind, GH_FLOW_RECOVER) == 0) {
        gh_recover_email_proved(r, c, f); /* a reset, never a sign-in */
        return;
    }
    if (strcmp(f->kind, GH_FLOW_EMAIL) == 0) {
        gh_accounts_email_proved(r, c, f); /* a new address, never a sign-in */
        return;
    }
    long long delete_at = 0;
    gh_user u;
    if (signin &&
        gh_store_user_deletion_get(c, r->arena, f->tenant_id, f->user_id, &delete_at) == GH_DB_OK &&
        delete_at > 0 && gh_store_user_get(c, r->arena, f->tenant_id, f->user_id, &u) == GH_DB_OK) {
        /* the mailbox is proven: the account being deleted may be restored
         * in this browser (gh_accounts_delete.c) */
        gh_accounts_deletion_pending(r, c, &u, GH_FLOW_RESTORE_EMAIL, f->return_to, delete_at,
                                     f->id);
        return;
    }
    const char *user_id = f->user_id;
    gh_signin_facts facts;
    gh_risk_verdict risk;
    if (signin && !email_signin_scored(r, c, f, &facts))
        return;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_flow_consume(c, r->arena, f->tenant_id, f->id, now);
    if (rc == GH_DB_OK && f->signup && !signin)
        rc = replace_unverified(r, c, f, &user_id);
    if (rc == GH_DB_OK)
        rc = gh_store_user_set_verified(c, r->arena, f->tenant_id, user_id, now);
    if (rc == GH_DB_OK && !signin && !unlock)
        gh_api_audit(r, c, "email.verified", user_id, "success", NULL,
                     json_pack("{s:s}", "via", same_browser ? "same_browser" : "other_browser"));
    /* the same decision as every sign-in: the mailbox is proven here; a
     * passwordless sign-up proved nothing else (no password to count) */
    const char *method = signin ? GH_METHOD_EMAIL : GH_METHOD_PASSWORD;
    const char *phc = NULL;
    if (rc == GH_DB_OK && !signin && !unlock && start &&
        gh_store_password_get(c, r->arena, f->tenant_id, user_id, &phc) == GH_DB_NOTFOUND)
        method = GH_METHOD_EMAIL;
    gh_signin_decision d = {.verdict = GH_SIGNIN_ALLOW};
    if (rc == GH_DB_OK && start && !signin)
        rc = gh_factors_signin_facts(&x, c, user_id, method, false, &facts);
    /* scored like every sign-in (docs/risk.md), in this transaction; the
     * mailbox is proven here, so only a deny changes the outcome (a
     * passwordless sign-in was scored above, on its own journey) */
    gh_risk_facts rf = {.user_id = user_id,
                        .device_hash = gh_device_hash(r),
                        .has_second_factor = rc == GH_DB_OK && start && facts.has_second_factor};
    if (rc == GH_DB_OK && start && !signin)
        rc = gh_risk_signin(&x, c, &rf, &facts, &risk);
    if (rc == GH_DB_OK && start) {
        facts.email_proven = true;
        d = gh_signin_decide(&facts);
        if (d.verdict == GH_SIGNIN_REFUSE)
            rc = GH_DB_NOTFOUND; /* answered like a wrong code, below */
    }
    if (rc == GH_DB_OK && start)
        rc = gh_mfa_first_factor(r, c, user_id, method, &d, gh_api_return_target(r, f->return_to),
                                 &m);
    if (rc == GH_DB_OK && m.token)
        gh_api_audit(r, c, "signin.succeeded", user_id, "success",
                     signin   ? "emailed code"
                     : unlock ? "password and emailed code"
                              : "email verified",
                     NULL);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc == GH_DB_CONFLICT || rc == GH_DB_NOTFOUND) {
        r->nhdrs = 0; /* no cookie from a transaction that did not land */
        json_decref(m.methods);
        gh_resp_error(r, 400, "invalid_code", WRONG_CODE);
        return;
    }
    if (rc != GH_DB_OK) {
        r->nhdrs = 0;
        json_decref(m.methods);
        gh_resp_db_error(r, rc);
        return;
    }
    if (!start) {
        gh_resp_json(r, 200, json_pack("{s:s}", "status", "verified"), NULL);
        return;
    }
    gh_mfa_respond(r, &m);
}

void gh_accounts_verify(gh_req *r)
{
    bool bad = false;
    gh_email_flow f;
    long long attempts = 0;
    if (!gh_csrf_check(r))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *flow_id = gh_api_text(r, body, "flow_id", 64, &bad);
    const char *code = bad ? NULL : gh_api_text(r, body, "code", 16, &bad);
    const char *token = bad ? NULL : gh_api_text(r, body, "token", 64, &bad);
    json_decref(body);
    if (bad)
        return;
    if (!flow_id || (!code) == (!token)) {
        gh_resp_error(r, 400, "invalid_request", "Send flow_id and either code or token.");
        return;
    }
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    gh_dbrc rc = gh_store_flow_get(c, r->arena, r->tenant, flow_id, &f);
    if (rc == GH_DB_NOTFOUND) {
        gh_resp_error(r, 400, "invalid_code", WRONG_CODE);
        return;
    }
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    /* Only the holder of the flow id (random, from the sign-up answer or the
     * link) learns that it was used. */
    if (f.consumed_at) {
        if (verify_refused(r, c, &f, "code used"))
            gh_resp_error(r, 400, "code_used", CODE_USED);
        return;
    }
    /* Every code counts, right or wrong, before the comparison: in its flow
     * (MAX_FLOW_ATTEMPTS, never reset by a resend) and for its account and
     * address across flows (code_budget). A link counts nowhere and works
     * until it expires, whatever was typed: it cannot be guessed. */
    if (code && !code_budget(r, c, &f)) {
        if (!verify_refused(r, c, &f, "daily code limit"))
            return;
        gh_resp_header(r, "Retry-After", "86400");
        gh_resp_error(r, 429, "too_many_requests", CODE_LIMIT);
        return;
    }
    if (code)
        rc = gh_store_flow_attempt(c, r->arena, f.tenant_id, f.id, MAX_FLOW_ATTEMPTS, &attempts);
    if (rc == GH_DB_NOTFOUND || (rc == GH_DB_OK && gh_now_ms() >= f.expires_at)) {
        bool spent = rc == GH_DB_NOTFOUND;
        if (verify_refused(r, c, &f, spent ? "too many wrong codes" : "code expired"))
            gh_resp_error(r, 400, "flow_expired", spent ? TOO_MANY_TRIES : CODE_EXPIRED);
        return;
    }
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    if (!f.user_id || !code_matches(r, &f, code, token)) {
        if (!verify_refused(r, c, &f, code ? "wrong code" : "wrong link"))
            return;
        if (code && attempts >= MAX_FLOW_ATTEMPTS)
            gh_resp_error(r, 400, "flow_expired", TOO_MANY_TRIES);
        else
            gh_resp_error(r, 400, "invalid_code", WRONG_CODE);
        return;
    }
    verify_complete(r, c, &f);
}

/* ---- POST /api/v1/verify/resend ---- */

void gh_accounts_resend(gh_req *r)
{
    bool bad = false;
    gh_email_flow f;
    gh_accounts_codes k;
    if (!gh_csrf_check(r))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *flow_id = gh_api_text(r, body, "flow_id", 64, &bad);
    json_decref(body);
    if (bad)
        return;
    gh_dbconn *c = flow_id ? gh_req_db(r) : NULL;
    if (!c) {
        if (!r->status)
            gh_resp_error(r, 400, "invalid_request", "Send flow_id.");
        return;
    }
    gh_dbrc rc = gh_store_flow_get(c, r->arena, r->tenant, flow_id, &f);
    if (rc == GH_DB_NOTFOUND || (rc == GH_DB_OK && f.consumed_at)) {
        gh_resp_json(r, 200, json_pack("{s:s}", "status", "sent"), NULL);
        return;
    }
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    long long now = gh_now_ms();
    long long wait_ms = f.last_sent_at + (long long)r->app->cfg->resend_cooldown * 1000 - now;
    if (f.sends >= GH_ACCOUNTS_MAX_FLOW_SENDS) {
        /* this flow sends no more: a new sign-in starts a new one */
        gh_resp_header(r, "Retry-After", "3600");
        gh_resp_error(
            r, 429, "too_many_requests",
            "No more codes can be sent for this request. Sign in again to get a new one.");
        return;
    }
    if (wait_ms > 0) {
        gh_resp_header(r, "Retry-After", gh_arena_printf(r->arena, "%lld", (wait_ms + 999) / 1000));
        gh_resp_error(r, 429, "too_many_requests",
                      "A code was sent moments ago. Wait a little before asking again.");
        return;
    }
    /* Past the address's mail limit nothing is renewed or sent, so the last
     * mail's code and link stay good; the answer is the same. */
    gh_accounts_send send = gh_accounts_send_budget(r, c, f.email, f.user_id);
    if (send == GH_ACCOUNTS_SEND_REFUSED) {
        gh_accounts_sends_refused(r);
        return;
    }
    if (send == GH_ACCOUNTS_SEND_QUIET) {
        gh_resp_json(r, 200, json_pack("{s:s}", "status", "sent"), NULL);
        return;
    }
    new_codes(r, f.id, &k, &f);
    f.last_sent_at = now;
    f.expires_at = now + (long long)r->app->cfg->code_ttl * 1000;
    rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_flow_renew(c, r->arena, &f);
    if (rc == GH_DB_OK && f.user_id) /* decoys renew too, so they answer alike, but mail nothing */
        rc = gh_accounts_mail_code(r, c, &f, &k);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK && rc != GH_DB_NOTFOUND) {
        gh_resp_db_error(r, rc);
        return;
    }
    gh_mail_kick();
    gh_resp_json(r, 200, json_pack("{s:s}", "status", "sent"), NULL);
}
