/*
 * gh_accounts_signin: signing in and out (docs/accounts-api.md): the
 * password with its throttle, the emailed step a guarded account asks for,
 * passwordless sign-in by emailed code, and sign-out. Every sign-in is
 * decided by gh_signin_decide and ends in gh_mfa_first_factor (gh_mfa.h).
 *
 * Sign-in spends the same time and says the same words for an unknown
 * address and a wrong password, and answers every address alike when it is
 * asked to email a code.
 */
#include <sodium.h>
#include <string.h>

#include "gh_accounts.h"
#include "gh_api.h"
#include "gh_clock.h"
#include "gh_factors.h"
#include "gh_handlers.h"
#include "gh_logout.h"
#include "gh_mail.h"
#include "gh_mfa.h"
#include "gh_password.h"
#include "gh_pwpolicy.h"
#include "gh_risk.h"
#include "gh_risk_journeys.h"
#include "gh_session.h"
#include "gh_store_users.h"
#include "gh_store_flows.h"
#include "gh_store_sessions.h"
#include "gh_store_throttle.h"
#include "gh_store_mfa.h"
#include "gh_throttle.h"
#include "gh_url.h"

#define WRONG_CREDENTIALS "The email or password is incorrect."

/* ---- POST /api/v1/signin ---- */

/* The keys a sign-in attempt is judged and counted on (gh_throttle.h). A
 * device the account signed in on before has one key of its own; any
 * other attempt has the account + address, address and account keys. */
struct throttle_keys {
    int n;
    const char *key[3];
    gh_throttle_kind kind[3];
    const char *account; /* the account-wide key, when it applies */
};

static void throttle_keys(gh_req *r, gh_dbconn *c, const char *email, const char *user_id,
                          struct throttle_keys *t)
{
    const char *e = email ? email : "";
    const char *device = gh_device_hash(r);
    bool known = false;
    if (device && user_id)
        gh_store_device_known(c, r->arena, r->tenant, user_id, device, &known);
    memset(t, 0, sizeof(*t));
    if (known) {
        t->n = 1;
        t->key[0] = gh_arena_printf(r->arena, "acctdev:%s|%s", e, device);
        t->kind[0] = GH_TH_ACCOUNT_IP;
        return;
    }
    t->n = 2;
    t->key[0] = gh_arena_printf(r->arena, "acctip:%s|%s", e, r->ip);
    t->kind[0] = GH_TH_ACCOUNT_IP;
    t->key[1] = gh_arena_printf(r->arena, "ip:%s", r->ip);
    t->kind[1] = GH_TH_IP;
    t->account = gh_arena_printf(r->arena, "acct:%s", e);
}

/* Seconds until the key may be tried again (0: now). */
static long long key_wait(gh_req *r, gh_dbconn *c, const char *key)
{
    long long now = gh_now_ms(), until = 0;
    if (gh_store_throttle_get(c, r->arena, r->tenant, key, &until) != GH_DB_OK || until <= now)
        return 0;
    return (until - now + 999) / 1000;
}

/* Seconds until sign-in may be tried again under the attacker's own keys
 * (0: now). The account-wide key never refuses (throttle_guarded). */
static long long throttle_wait(gh_req *r, gh_dbconn *c, const struct throttle_keys *t)
{
    long long wait = 0;
    for (int i = 0; i < t->n; i++) {
        long long w = key_wait(r, c, t->key[i]);
        wait = w > wait ? w : wait;
    }
    return wait;
}

/* Whether a right password from this unknown device must also prove the
 * mailbox: the account is under a distributed attack. */
static bool throttle_guarded(gh_req *r, gh_dbconn *c, const struct throttle_keys *t)
{
    return t->account && key_wait(r, c, t->account) > 0;
}

static void throttle_failure(gh_req *r, gh_dbconn *c, const struct throttle_keys *t)
{
    long long now = gh_now_ms();
    for (int i = 0; i <= t->n; i++) {
        long long n = 0;
        const char *key = i < t->n ? t->key[i] : t->account;
        if (!key || gh_store_throttle_fail(c, r->arena, r->tenant, key, now,
                                           now - GH_THROTTLE_DECAY_MS, &n) != GH_DB_OK)
            continue;
        long long delay = i < t->n ? gh_throttle_delay(t->kind[i], n)
                                   : gh_throttle_guard(n, r->app->cfg->signin_account_limit);
        if (delay > 0)
            gh_store_throttle_block(c, r->arena, r->tenant, key, now + delay * 1000);
    }
}

static void signin_failed(gh_req *r, gh_dbconn *c, const struct throttle_keys *t,
                          const char *subject, const char *reason)
{
    throttle_failure(r, c, t);
    gh_dbrc rc = gh_api_audit(r, c, "signin.failed", subject, "failure", reason, NULL);
    if (rc != GH_DB_OK)
        gh_resp_db_error(r, rc);
    else
        gh_resp_error(r, 401, "invalid_credentials", WRONG_CREDENTIALS);
}

/* A new hash of the password when the stored one was made with older
 * parameters (argon2id costs may rise over time), else NULL. Computed before
 * the sign-in's transaction, so the write lock is not held for a hash. */
static const char *rehash_of(gh_req *r, const char *phc, const char *pw, size_t n)
{
    char fresh[GH_PWHASH_MAX];
    if (!gh_password_needs_rehash(phc) || gh_password_hash(pw, n, fresh) != 0)
        return NULL;
    return gh_arena_strdup(r->arena, fresh);
}

/* Where a sign-in goes once its factors are done: the journey's target, or
 * first the page that asks for a longer password (upgrade) and then leads
 * there. Accounts whose password is shorter than new ones must be are not
 * locked out (NIST SP 800-63B-4 asks the length of new passwords). */
static const char *signin_target(gh_req *r, const char *return_to, bool upgrade)
{
    if (!upgrade)
        return return_to;
    return gh_arena_printf(r->arena, "%s?return_to=%s", gh_req_page(r, GH_PASSWORD_UPGRADE_PAGE),
                           gh_url_encode(r->arena, return_to));
}

/* fresh: a new password hash to store in the same transaction (or NULL).
 * upgrade: the password is shorter than the account's minimum now.
 * why: the risk engine's reason code for a second step (or NULL). */
static void signin_succeeded(gh_req *r, gh_dbconn *c, const gh_user *u, const char *asked,
                             const char *fresh, const gh_signin_decision *d, bool upgrade,
                             const char *why)
{
    const char *return_to = gh_api_return_target(r, asked);
    gh_email_flow f;
    gh_accounts_codes k;
    gh_mfa_outcome m = {0};
    bool verify = d->verdict == GH_SIGNIN_MORE && d->need == GH_NEED_EMAIL_VERIFICATION;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK && fresh) /* one upsert: never a moment without a password */
        rc = gh_store_password_set(c, r->arena, r->tenant, u->id, fresh);
    if (rc == GH_DB_OK && verify) {
        /* past the address's mail limit (send_budget), a decoy and no mail */
        bool mail = gh_accounts_send_budget(r, c, u->email, u->id) == GH_ACCOUNTS_SEND_MAIL;
        rc = gh_accounts_flow_create(r, c, GH_FLOW_VERIFY, mail ? u->id : NULL, u->email, return_to,
                                     NULL, &f, &k);
        if (rc == GH_DB_OK && mail)
            rc = gh_accounts_mail_code(r, c, &f, &k);
        if (rc == GH_DB_OK)
            gh_api_audit(r, c, "signin.verification_required", u->id, "success",
                         "email not verified", NULL);
    } else if (rc == GH_DB_OK) {
        rc = gh_mfa_first_factor(r, c, u->id, GH_METHOD_PASSWORD, d,
                                 signin_target(r, return_to, upgrade), &m);
        m.password_upgrade = upgrade;
        m.why = why;
        if (rc == GH_DB_OK && m.token)
            gh_api_audit(r, c, "signin.succeeded", u->id, "success", NULL,
                         upgrade ? json_pack("{s:b}", "password_upgrade", 1) : NULL);
    }
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        r->nhdrs = 0;
        json_decref(m.methods);
        gh_resp_db_error(r, rc);
        return;
    }
    if (verify) {
        gh_mail_kick();
        gh_accounts_respond_verification(r, f.id, u->email);
        return;
    }
    gh_mfa_respond(r, &m);
}

/* A right password from an unknown device while the account is guarded
 * (a distributed attack on it): instead of a refusal, an emailed code to
 * the account's address, entered in this browser, finishes the sign-in
 * (docs/accounts-api.md). Mails are limited per address like
 * /signin/email's. */
static void signin_unlock(gh_req *r, gh_dbconn *c, const gh_user *u, const char *asked,
                          const char *why)
{
    gh_email_flow f;
    gh_accounts_codes k;
    long long now = gh_now_ms();
    const char *key = gh_arena_printf(r->arena, "emailcode:%s", u->email);
    if (gh_accounts_send_wait(r, c, key))
        return;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_accounts_count_send(r, c, key, now);
    if (rc == GH_DB_OK)
        rc = gh_accounts_flow_create(r, c, GH_FLOW_UNLOCK, u->id, u->email,
                                     gh_api_return_target(r, asked), NULL, &f, &k);
    if (rc == GH_DB_OK)
        rc = gh_accounts_mail_code(r, c, &f, &k);
    if (rc == GH_DB_OK)
        gh_api_audit(r, c, "signin.email_code_required", u->id, "success",
                     "account under attack, unknown device", NULL);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    gh_mail_kick();
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:s, s:s?}", "status", "email_code_required", "flow_id",
                           f.id, "email", u->email, "reason", why),
                 NULL);
}

void gh_accounts_signin(gh_req *r)
{
    bool bad = false;
    struct throttle_keys t;
    if (!gh_csrf_check(r) || !gh_api_method_allowed(r, GH_TM_PASSWORD))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *raw_email = gh_api_text(r, body, "email", 320, &bad);
    const char *asked = bad ? NULL : gh_api_text(r, body, "return_to", 2048, &bad);
    json_t *pwv = json_object_get(body, "password");
    if (bad || !json_is_string(pwv) || json_string_length(pwv) > GH_ACCOUNTS_MAX_PASSWORD_BYTES) {
        if (!bad)
            gh_resp_error(r, 400, "invalid_request", "Enter your email and password.");
        json_decref(body);
        return;
    }
    size_t pwlen = 0;
    const char *pw =
        gh_pwpolicy_normalise(r->arena, json_string_value(pwv), json_string_length(pwv), &pwlen);
    json_decref(body);
    const char *email = gh_store_normalise_id(r->arena, raw_email);
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    gh_user u;
    bool known = email && gh_store_user_by_email(c, r->arena, r->tenant, email, &u) == GH_DB_OK;
    throttle_keys(r, c, email, known ? u.id : NULL, &t);
    long long wait = throttle_wait(r, c, &t);
    if (wait > 0) {
        /* Refused without checking the password, and audited like every
         * other failure, so the account's owner sees the attempts. */
        gh_dbrc rc =
            gh_api_audit(r, c, "signin.failed", known ? u.id : NULL, "failure", "throttled", NULL);
        gh_resp_header(r, "Retry-After", gh_arena_printf(r->arena, "%lld", wait));
        if (rc != GH_DB_OK)
            gh_resp_db_error(r, rc);
        else
            gh_resp_error(r, 429, "too_many_requests",
                          "Too many attempts. Wait a moment, then try again.");
        goto done;
    }
    const char *phc = NULL;
    bool found = known && gh_store_password_get(c, r->arena, r->tenant, u.id, &phc) == GH_DB_OK;
    bool ok = found && pw ? gh_password_verify(phc, pw, pwlen)
                          : gh_password_verify_dummy(pw ? pw : "", pw ? pwlen : 0);
    if (!ok) {
        signin_failed(r, c, &t, found ? u.id : NULL, !found ? "unknown account" : "wrong password");
        goto done;
    }
    /* Only a right password learns that the account is being deleted: a
     * wrong one was answered above exactly as for an unknown address. */
    long long delete_at = 0;
    if (!u.active &&
        gh_store_user_deletion_get(c, r->arena, r->tenant, u.id, &delete_at) == GH_DB_OK &&
        delete_at > 0) {
        gh_accounts_deletion_pending(r, c, &u, GH_FLOW_RESTORE, asked, delete_at, NULL);
        goto done;
    }
    gh_signin_facts facts;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc frc = gh_factors_signin_facts(&x, c, u.id, GH_METHOD_PASSWORD, false, &facts);
    if (frc != GH_DB_OK) {
        gh_resp_db_error(r, frc);
        goto done;
    }
    gh_risk_verdict risk;
    gh_risk_facts rf = {.user_id = u.id,
                        .device_hash = gh_device_hash(r),
                        .account_guarded = throttle_guarded(r, c, &t),
                        .has_second_factor = facts.has_second_factor,
                        .password = pw,
                        .pwlen = pwlen};
    frc = gh_risk_signin(&x, c, &rf, &facts, &risk);
    if (frc != GH_DB_OK) {
        gh_resp_db_error(r, frc);
        goto done;
    }
    gh_signin_decision d = gh_signin_decide(&facts);
    if (d.verdict == GH_SIGNIN_REFUSE) {
        signin_failed(r, c, &t, u.id, d.reason);
    } else if (d.verdict == GH_SIGNIN_MORE && d.need == GH_NEED_EMAIL_CODE) {
        /* the account key stays: the attack it counts may go on */
        gh_store_throttle_clear(c, r->arena, r->tenant, t.key[0]);
        signin_unlock(r, c, &u, asked, risk.reason);
    } else {
        /* the address key keeps counting */
        gh_store_throttle_clear(c, r->arena, r->tenant, t.key[0]);
        if (t.account)
            gh_store_throttle_clear(c, r->arena, r->tenant, t.account);
        bool upgrade =
            gh_pwpolicy_below_minimum(gh_api_pwpolicy(r), facts.has_second_factor, pw, pwlen);
        signin_succeeded(r, c, &u, asked, rehash_of(r, phc, pw, pwlen), &d, upgrade, risk.reason);
    }
done:
    if (pw)
        sodium_memzero((char *)pw, pwlen);
}

/* ---- POST /api/v1/signin/email ---- */

/* The request's risk decision (journey email_code_request, docs/risk.md
 * "Requests for emailed codes"), stored in a transaction of its own before
 * the request's so a refusal stays on record. user_id: the account that
 * would get the mail, or NULL. *refused: the policy refuses it; the caller
 * answers as for an address without an account (a decoy flow, no mail). */
static gh_dbrc email_code_risk(gh_req *r, gh_dbconn *c, const char *user_id, bool *refused,
                               const char **decision)
{
    gh_risk_verdict v;
    gh_dbrc rc = gh_risk_journey_about(r, c, GH_RJ_EMAIL_CODE_REQUEST, user_id, &v);
    *refused = rc == GH_DB_OK && v.outcome == GH_RO_DENY;
    *decision = rc == GH_DB_OK ? v.id : NULL;
    return rc;
}

/* Every request leaves one audit event (the journey's attempts are
 * counted from them): the code sent, refused by the policy, or not sent
 * (no account with emailed sign-in, the daily limit). */
static gh_dbrc email_code_audit(gh_req *r, gh_dbconn *c, const char *user_id, bool mail,
                                bool refused, const char *decision)
{
    if (refused)
        return gh_api_audit(r, c, "signin.email_code_refused", user_id, "failure",
                            "refused by the risk policy",
                            json_pack("{s:s}", "decision_id", decision));
    if (mail)
        return gh_api_audit(r, c, "signin.email_code_sent", user_id, "success", NULL, NULL);
    return gh_api_audit(r, c, "signin.email_code_not_sent", user_id, "failure", "no mail", NULL);
}

/* Emails a sign-in code to an account that chose passwordless email. Every
 * address gets the same answer and a flow id; the others get a decoy flow
 * that can never succeed, and no mail. */
void gh_accounts_signin_email(gh_req *r)
{
    bool bad = false;
    gh_email_flow f;
    gh_accounts_codes k;
    gh_user u;
    if (!gh_csrf_check(r) || !gh_api_method_allowed(r, GH_TM_EMAIL_CODE))
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
    /* A quick succession of requests for one address from one client
     * address waits; others' requests never make the owner wait (issue 15):
     * the daily limit per address (send_budget) withholds mail, not the
     * answer, and not from the owner's known client addresses. */
    const char *key = gh_arena_printf(r->arena, "emailcode:%s|%s", email, r->ip);
    long long now = gh_now_ms();
    if (gh_accounts_send_wait(r, c, key))
        return;
    bool chosen = false;
    long long delete_at = 0;
    /* an account being deleted gets its code too: using it offers the
     * restore, as a right password does */
    if (gh_store_user_by_email(c, r->arena, r->tenant, email, &u) == GH_DB_OK &&
        (u.active ||
         (gh_store_user_deletion_get(c, r->arena, r->tenant, u.id, &delete_at) == GH_DB_OK &&
          delete_at > 0))) {
        gh_factor *list = NULL;
        size_t nf = 0;
        if (gh_store_factor_list(c, r->arena, r->tenant, u.id, &list, &nf) == GH_DB_OK)
            for (size_t i = 0; i < nf; i++)
                chosen |= strcmp(list[i].kind, GH_FACTOR_EMAIL) == 0;
    }
    const char *return_to = gh_api_return_target(r, asked);
    gh_accounts_send send = gh_accounts_send_budget(r, c, email, chosen ? u.id : NULL);
    if (send == GH_ACCOUNTS_SEND_REFUSED) {
        gh_accounts_sends_refused(r);
        return;
    }
    bool refused = false;
    const char *decision = NULL;
    gh_dbrc rc = email_code_risk(r, c, chosen ? u.id : NULL, &refused, &decision);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    bool mail = chosen && send == GH_ACCOUNTS_SEND_MAIL && !refused;
    rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_accounts_count_send(r, c, key, now);
    if (rc == GH_DB_OK)
        rc = gh_accounts_flow_create(r, c, GH_FLOW_SIGNIN, mail ? u.id : NULL, email, return_to,
                                     NULL, &f, &k);
    if (rc == GH_DB_OK && mail)
        rc = gh_accounts_mail_code(r, c, &f, &k);
    if (rc == GH_DB_OK)
        rc = email_code_audit(r, c, chosen ? u.id : NULL, mail, refused, decision);
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

/* ---- POST /api/v1/signout ---- */

void gh_accounts_signout(gh_req *r)
{
    if (!gh_csrf_check(r))
        return;
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    const gh_session *s = gh_session_current(r);
    const char *user = s ? s->user_id : NULL;
    const char *sid = s ? s->id : NULL;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_session_end(r, c);
    if (rc == GH_DB_OK && user)
        gh_api_audit(r, c, "signout", user, "success", NULL, NULL);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    if (sid)
        gh_logout_kick(); /* revoking queued the back-channel logout */
    const char *pre = gh_presession(r, true);
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s?}", "status", "signed_out", "csrf_token",
                           pre ? gh_csrf_token_for(r, pre) : NULL),
                 NULL);
}
