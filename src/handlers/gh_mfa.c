/*
 * gh_mfa: the second step of a sign-in and step-up (docs/mfa.md): where a
 * first factor leads (gh_mfa_first_factor), the pending step's page
 * (GET /api/v1/signin/mfa), checking a TOTP code, a recovery code or a
 * passkey (POST /api/v1/signin/mfa), and username-less passkey sign-in.
 * What factors are worth is gh_assurance's; the checks are gh_factors' and
 * gh_passkeys'; this file reads the cookies a step is bound to, starts or
 * steps up the session and answers. Managing sign-in methods is
 * gh_mfa_manage.c.
 */
#include "gh_mfa.h"

#include <string.h>

#include "gh_api.h"
#include "gh_clock.h"
#include "gh_factors.h"
#include "gh_handlers.h"
#include "gh_log.h"
#include "gh_mail.h"
#include "gh_oidc.h"
#include "gh_passkeys.h"
#include "gh_recover.h"
#include "gh_recovery.h"
#include "gh_risk.h"
#include "gh_session.h"
#include "gh_store_users.h"
#include "gh_store_mfa.h"
#include "gh_store_throttle.h"
#include "gh_throttle.h"
#include "gh_url.h"
#include "gh_risk_journeys.h"

enum { MAX_ATTEMPTS = 5 }; /* wrong second factors per pending step */

#define WRONG_CODE "That code is wrong or has expired."
#define MFA_LOCKED "Too many wrong codes. Sign in again to try another."

/* ---- the first factor's end ---- */

gh_dbrc gh_mfa_first_factor(gh_req *r, gh_dbconn *c, const char *user_id, const char *method,
                            const gh_signin_decision *d, const char *return_to, gh_mfa_outcome *out)
{
    gh_ctx x = gh_req_ctx(r);
    gh_factors_first f;
    memset(out, 0, sizeof(*out));
    out->return_to = return_to;
    gh_dbrc rc = gh_factors_first_factor(&x, c, user_id, method, d, &f);
    if (rc != GH_DB_OK)
        return rc;
    if (!f.pending) {
        out->aal = f.aal;
        return gh_session_start(r, c, user_id, f.amr, f.aal, f.factors, &out->token);
    }
    const char *binding = gh_presession_hash(r, true);
    rc = binding ? gh_factors_pending_put(&x, c, user_id, method, f.factors, binding, return_to)
                 : GH_DB_FAIL;
    if (rc != GH_DB_OK) {
        json_decref(f.methods);
        return rc;
    }
    out->pending = true;
    out->methods = f.methods;
    return GH_DB_OK;
}

void gh_mfa_respond(gh_req *r, gh_mfa_outcome *o)
{
    json_t *j;
    if (o->pending) {
        const char *next =
            gh_arena_printf(r->arena, "%s?return_to=%s%s%s", gh_req_page(r, "/signin/mfa"),
                            gh_url_encode(r->arena, o->return_to), o->why ? "&why=" : "",
                            o->why ? gh_url_encode(r->arena, o->why) : "");
        j = json_pack("{s:s, s:o, s:s}", "status", "mfa_required", "methods", o->methods, "next",
                      next);
        o->methods = NULL;
        if (j && o->why)
            json_object_set_new(j, "reason", json_string(o->why));
    } else {
        json_decref(o->methods);
        o->methods = NULL;
        j = json_pack("{s:s, s:s, s:s, s:s}", "status", "signed_in", "return_to", o->return_to,
                      "csrf_token", gh_csrf_token_for(r, o->token), "acr",
                      gh_assurance_acr(o->aal));
        /* the upgrade page is the next step: return_to already leads there */
        if (j && o->password_upgrade)
            json_object_set_new(j, "next", json_string(o->return_to));
    }
    if (j && o->password_upgrade)
        json_object_set_new(j, "password_upgrade", json_true());
    gh_resp_json(r, 200, j, NULL);
}

/* ---- GET /api/v1/signin/mfa ---- */

struct mfa_context {
    bool have;
    bool pending;  /* a sign-in's second step (else step-up of a session) */
    bool recovery; /* pending: a recovery's factor step, which never signs in */
    gh_challenge ch;
    const gh_session *s;
    const char *user_id;
    const char *binding;
    long long attempts; /* pending: tries so far, this one included */
    const char *key;    /* the wrong-code count this try is on (NULL: a passkey) */
};

/* A pending step set by a recovery (gh_recovery_email_proved). */
static bool is_recovery_step(const gh_challenge *ch)
{
    json_t *d = json_loads(ch->data, 0, NULL);
    const char *p = json_string_value(json_object_get(d, "purpose"));
    bool yes = p && strcmp(p, GH_RECOVERY_PURPOSE) == 0;
    json_decref(d);
    return yes;
}

static bool find_context(gh_req *r, gh_dbconn *c, struct mfa_context *m)
{
    memset(m, 0, sizeof(*m));
    const char *pre = gh_presession_hash(r, false);
    if (pre && gh_store_challenge_find(c, r->arena, r->tenant, GH_CH_MFA, pre, gh_now_ms(),
                                       &m->ch) == GH_DB_OK) {
        m->have = m->pending = true;
        m->recovery = is_recovery_step(&m->ch);
        m->user_id = m->ch.user_id;
        m->binding = pre;
        return true;
    }
    m->s = gh_session_current(r);
    if (!m->s)
        return false;
    m->have = true;
    m->user_id = m->s->user_id;
    m->binding = m->s->token_hash;
    return true;
}

void gh_mfa_pending_info(gh_req *r)
{
    struct mfa_context m;
    gh_factors_enrolled e;
    gh_ctx x = gh_req_ctx(r);
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    if (!find_context(r, c, &m)) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    if (gh_factors_enrolled_get(&x, c, m.user_id, &e) != GH_DB_OK) {
        gh_resp_error(r, 503, "unavailable", "Try again in a moment.");
        return;
    }
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:o, s:I, s:s}", "context",
                           m.recovery  ? "recovery"
                           : m.pending ? "signin"
                                       : "stepup",
                           "methods", gh_factors_methods(&e), "recovery_codes_remaining",
                           (json_int_t)e.recovery_left, "acr",
                           gh_assurance_acr(m.s ? m.s->aal : 1)),
                 NULL);
}

/* ---- POST /api/v1/signin/mfa ---- */

/* Ends a pending step in its own statement: the next try needs the first
 * factor again. */
static void drop_pending(gh_req *r, gh_dbconn *c, const struct mfa_context *m)
{
    if (m->pending)
        gh_store_challenge_consume(c, r->arena, r->tenant, m->ch.id, gh_now_ms());
}

static const char *failure_event(const struct mfa_context *m)
{
    return m->recovery  ? "recovery.factor_failed"
           : m->pending ? "signin.second_factor_failed"
                        : "stepup.failed";
}

static void mfa_failed(gh_req *r, gh_dbconn *c, const struct mfa_context *m, long long n,
                       const char *reason)
{
    long long cap = r->app->cfg->mfa_max_failures;
    gh_dbrc arc = gh_api_audit(r, c, failure_event(m), m->user_id, "failure", reason,
                               json_pack("{s:I}", "failures", (json_int_t)n));
    if (arc != GH_DB_OK) {
        gh_resp_db_error(r, arc); /* the attempt was not audited */
        return;
    }
    if (n >= cap) {
        /* the cap: the first factor again for every further try, and a
         * notice to the owner once, when it is reached */
        drop_pending(r, c, m);
        if (n == cap) {
            json_t *p = json_pack("{s:I, s:s}", "count", (json_int_t)n, "account_link",
                                  gh_oidc_url(r, "/account"));
            gh_user u;
            gh_dbrc rc = gh_db_begin(c);
            if (rc == GH_DB_OK)
                rc = gh_store_user_get(c, r->arena, r->tenant, m->user_id, &u);
            if (rc == GH_DB_OK && u.email)
                rc = gh_mail_enqueue(c, r->arena, r->app->cfg, r->tenant, u.email, "mfa_locked", p);
            if (rc == GH_DB_OK)
                rc = gh_api_audit(r, c, "mfa.locked", m->user_id, "success", "too many wrong codes",
                                  NULL);
            rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
            json_decref(p);
            if (rc == GH_DB_OK)
                gh_mail_kick();
            else
                gh_log(GH_LOG_WARN, "mfa lock notice not queued", "user %s", m->user_id);
        }
        gh_resp_error(r, 400, "flow_expired", MFA_LOCKED);
        return;
    }
    if (m->pending && m->attempts >= MAX_ATTEMPTS) {
        gh_resp_error(r, 400, "flow_expired", "Too many attempts. Sign in again.");
        return;
    }
    gh_resp_error(r, 401, "invalid_code", WRONG_CODE);
}

/* A passkey that did not verify: audited, but no code is being guessed. */
static void passkey_failed(gh_req *r, gh_dbconn *c, const struct mfa_context *m, const char *why)
{
    gh_dbrc rc = gh_api_audit(r, c, failure_event(m), m->user_id, "failure", why, NULL);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc); /* the attempt was not audited */
        return;
    }
    if (m->pending && m->attempts >= MAX_ATTEMPTS) {
        gh_resp_error(r, 400, "flow_expired", "Too many attempts. Sign in again.");
        return;
    }
    gh_resp_error(r, 401, "invalid_code", WRONG_CODE);
}

/* A step-up's risk decision (docs/risk.md "Journeys"), in a transaction of
 * its own, once the factor verified: true when the request was answered,
 * refused by the policy as a wrong code is (audited stepup.failed) or
 * 503 when the decision could not be stored. */
static bool stepup_refused(gh_req *r, gh_dbconn *c, const struct mfa_context *m)
{
    gh_risk_verdict v;
    gh_risk_check k = {.journey = GH_RJ_STEP_UP,
                       .user_id = m->user_id,
                       .record_as = m->user_id,
                       .record_refused_as = m->user_id};
    bool refused = false;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_risk_journey_check(r, c, &k, &v);
    refused = rc == GH_DB_OK && v.outcome == GH_RO_DENY;
    if (refused)
        rc = gh_api_audit(r, c, "stepup.failed", m->user_id, "failure",
                          "refused by the risk policy", json_pack("{s:s}", "decision_id", v.id));
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return true;
    }
    if (refused)
        gh_resp_error(r, 401, "invalid_code", WRONG_CODE);
    return refused;
}

/* Signs in (pending step) or steps the session up with the verified factor. */
static void mfa_succeeded(gh_req *r, gh_dbconn *c, const struct mfa_context *m,
                          const gh_factors_verified *v, const char *asked)
{
    const char *token = NULL;
    const char *base = m->pending ? NULL : m->s->factors;
    const char *return_to = asked;
    if (m->recovery) {
        /* the factor step of a recovery leads to the new password, not in */
        gh_recover_factor_passed(r, c, m->ch.id, m->user_id, m->ch.data, v);
        if (m->key && r->status == 200)
            gh_store_throttle_clear(c, r->arena, r->tenant, m->key);
        return;
    }
    if (!m->pending && stepup_refused(r, c, m))
        return;
    if (m->pending) {
        json_t *data = json_loads(m->ch.data, 0, NULL);
        base = gh_arena_strdup(r->arena, json_string_value(json_object_get(data, "factors")));
        return_to =
            gh_arena_strdup(r->arena, json_string_value(json_object_get(data, "return_to")));
        json_decref(data);
    }
    return_to = gh_api_return_target(r, return_to);
    /* sessions from before factors were recorded know only their methods */
    if (!m->pending && (!base || strcmp(base, "[]") == 0) && m->s->amr &&
        strstr(m->s->amr, "\"pwd\""))
        base = gh_assurance_factors_add(r->arena, "[]", GH_METHOD_PASSWORD, NULL, false, false,
                                        gh_now_ms());
    const char *factors = gh_assurance_factors_add(r->arena, base, v->method, v->factor_id,
                                                   v->bound, v->uv, gh_now_ms());
    gh_assurance_proof p = gh_assurance_proof_of(factors);
    int aal = gh_assurance_proof_level(&p);
    if (!m->pending && aal < m->s->aal)
        aal = m->s->aal;
    const char *amr = gh_assurance_amr(r->arena, &p);
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK && m->pending)
        rc = gh_store_challenge_consume(c, r->arena, r->tenant, m->ch.id, gh_now_ms());
    if (rc == GH_DB_OK)
        rc = m->pending ? gh_session_start(r, c, m->user_id, amr, aal, factors, &token)
                        : gh_session_elevate(r, c, amr, aal, factors, &token);
    if (rc == GH_DB_OK)
        gh_api_audit(r, c, m->pending ? "signin.succeeded" : "stepup.succeeded", m->user_id,
                     "success", NULL,
                     json_pack("{s:s, s:s, s:s?}", "method", v->method, "acr",
                               gh_assurance_acr(aal), "factor_id", v->factor_id));
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        r->nhdrs = 0;
        if (rc == GH_DB_CONFLICT)
            gh_resp_error(r, 401, "invalid_code", WRONG_CODE);
        else
            gh_resp_db_error(r, rc);
        return;
    }
    if (m->key)
        gh_store_throttle_clear(c, r->arena, r->tenant, m->key);
    long long left = 0;
    gh_store_recovery_remaining(c, r->arena, r->tenant, m->user_id, &left);
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:s, s:s, s:I}", "status", "signed_in", "return_to",
                           return_to, "csrf_token", gh_csrf_token_for(r, token), "acr",
                           gh_assurance_acr(aal), "recovery_codes_remaining", (json_int_t)left),
                 NULL);
}

void gh_mfa_verify(gh_req *r)
{
    bool bad = false;
    struct mfa_context m;
    gh_factors_enrolled e;
    gh_factors_verified v = {0};
    const char *why = NULL;
    gh_ctx x = gh_req_ctx(r);
    if (!gh_csrf_check(r))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *code = gh_api_text(r, body, "code", 32, &bad);
    const char *rcode = bad ? NULL : gh_api_text(r, body, "recovery_code", 64, &bad);
    const char *asked = bad ? NULL : gh_api_text(r, body, "return_to", 2048, &bad);
    json_t *pk = json_object_get(body, "passkey");
    if (bad)
        goto out;
    if ((code != NULL) + (rcode != NULL) + json_is_object(pk) != 1) {
        gh_resp_error(r, 400, "invalid_request", "Send one of code, recovery_code or passkey.");
        goto out;
    }
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        goto out;
    if (!find_context(r, c, &m)) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        goto out;
    }
    /* Every code try counts before the comparison, so parallel guesses
     * cannot outrun the limits; a success clears the count. */
    long long n = 0, cap = r->app->cfg->mfa_max_failures, now = gh_now_ms();
    if (!json_is_object(pk)) {
        m.key = gh_factors_throttle_key(&x, c, m.user_id, gh_device_hash(r));
        if (gh_store_throttle_fail(c, r->arena, r->tenant, m.key, now, now - GH_THROTTLE_DECAY_MS,
                                   &n) != GH_DB_OK) {
            gh_resp_error(r, 503, "unavailable", "Try again in a moment.");
            goto out;
        }
    }
    /* Past the cap a session's step-up takes no codes, and a pending step
     * (a fresh first factor) one. */
    if (n > cap && !m.pending) {
        gh_api_audit(r, c, "stepup.failed", m.user_id, "failure", "too many wrong codes", NULL);
        gh_resp_error(r, 400, "flow_expired", MFA_LOCKED);
        goto out;
    }
    if (m.pending &&
        gh_store_challenge_attempt(c, r->arena, r->tenant, m.ch.id, n > cap ? 1 : MAX_ATTEMPTS,
                                   &m.attempts) != GH_DB_OK) {
        gh_resp_error(r, 400, "flow_expired",
                      n > cap ? MFA_LOCKED : "Too many attempts. Sign in again.");
        goto out;
    }
    if (gh_factors_enrolled_get(&x, c, m.user_id, &e) != GH_DB_OK) {
        gh_resp_error(r, 503, "unavailable", "Try again in a moment.");
        goto out;
    }
    bool ok = false;
    if (code) {
        ok = gh_factors_totp_check(&x, c, m.user_id, &e, code, &v);
        why = "wrong or reused code";
    } else if (rcode) {
        ok = gh_factors_recovery_check(&x, c, m.user_id, rcode, &v);
        why = "wrong or used recovery code";
    } else {
        const char *who = NULL;
        ok = gh_passkeys_assert(&x, c, pk, m.binding, m.user_id, false, &v, &who, &why);
    }
    if (!ok && m.key)
        mfa_failed(r, c, &m, n, why);
    else if (!ok)
        passkey_failed(r, c, &m, why);
    else
        mfa_succeeded(r, c, &m, &v, asked);
out:
    json_decref(body);
}

/* ---- passkey assertion options ---- */

static void assertion_options(gh_req *r, const gh_ctx *x, gh_dbconn *c, const char *binding,
                              const char *user_id, const gh_factors_enrolled *e, const char *uv)
{
    const char *rp_id, *origin;
    json_t *pk = NULL;
    if (!gh_passkeys_rp(x, &rp_id, &origin)) {
        gh_resp_error(r, 500, "server_error", "The issuer is not a URL.");
        return;
    }
    gh_dbrc rc = gh_passkeys_request_options(x, c, rp_id, binding, user_id, e, uv, &pk);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    gh_resp_json(r, 200, json_pack("{s:o}", "publicKey", pk), NULL);
}

/* POST /api/v1/signin/passkey/options: username-less sign-in. */
void gh_mfa_passkey_signin_options(gh_req *r)
{
    if (!gh_csrf_check(r) || !gh_api_method_allowed(r, GH_TM_PASSKEY))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_dbconn *c = gh_req_db(r);
    const char *binding = gh_presession_hash(r, true);
    if (!c || !binding) {
        if (!r->status)
            gh_resp_error(r, 500, "server_error", "No browser binding.");
        return;
    }
    assertion_options(r, &x, c, binding, NULL, NULL, "required");
}

/* POST /api/v1/signin/mfa/passkey/options: the pending or signed-in user's
 * own passkeys. */
void gh_mfa_passkey_factor_options(gh_req *r)
{
    struct mfa_context m;
    gh_factors_enrolled e;
    gh_ctx x = gh_req_ctx(r);
    if (!gh_csrf_check(r))
        return;
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    if (!find_context(r, c, &m)) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    if (gh_factors_enrolled_get(&x, c, m.user_id, &e) != GH_DB_OK || !e.passkey) {
        gh_resp_error(r, 400, "no_passkey", "This account has no passkey.");
        return;
    }
    assertion_options(r, &x, c, m.binding, m.user_id, &e, "preferred");
}

/* POST /api/v1/signin/passkey {credential, return_to} */
void gh_mfa_passkey_signin(gh_req *r)
{
    bool bad = false;
    gh_factors_verified v;
    const char *user_id = NULL, *why = NULL, *token = NULL;
    gh_ctx x = gh_req_ctx(r);
    if (!gh_csrf_check(r) || !gh_api_method_allowed(r, GH_TM_PASSKEY))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *asked = gh_api_text(r, body, "return_to", 2048, &bad);
    json_t *cred = json_object_get(body, "credential");
    gh_dbconn *c = bad ? NULL : gh_req_db(r);
    if (!c)
        goto out;
    if (!json_is_object(cred)) {
        gh_resp_error(r, 400, "invalid_request", "Send the passkey's credential.");
        goto out;
    }
    bool ok = gh_passkeys_assert(&x, c, cred, gh_presession_hash(r, false), NULL, true, &v,
                                 &user_id, &why);
    const char *factors = ok ? gh_assurance_factors_add(r->arena, "[]", GH_METHOD_PASSKEY,
                                                        v.factor_id, v.bound, v.uv, x.now)
                             : NULL;
    gh_assurance_proof p = gh_assurance_proof_of(factors);
    int aal = gh_assurance_proof_level(&p);
    gh_signin_facts facts;
    if (ok) {
        gh_dbrc frc = gh_factors_signin_facts(&x, c, user_id, GH_METHOD_PASSKEY, aal >= 2, &facts);
        /* scored on its own journey (docs/risk.md "Passkey and emailed-code
         * sign-ins"); a passkey is never held by the account's failure guard */
        gh_risk_verdict risk;
        gh_risk_facts rf = {.journey = GH_RJ_PASSKEY_SIGNIN,
                            .user_id = user_id,
                            .device_hash = gh_device_hash(r),
                            .has_second_factor = frc == GH_DB_OK && facts.has_second_factor,
                            .user_verified = v.uv,
                            .phishing_resistant = true};
        if (frc == GH_DB_OK)
            frc = gh_risk_signin(&x, c, &rf, &facts, &risk);
        if (frc != GH_DB_OK && frc != GH_DB_NOTFOUND) {
            gh_resp_db_error(r, frc);
            goto out;
        }
        gh_signin_decision d = gh_signin_decide(&facts);
        if (frc == GH_DB_NOTFOUND || d.verdict != GH_SIGNIN_ALLOW) {
            ok = false;
            why = frc == GH_DB_NOTFOUND ? "unknown account"
                  : d.reason            ? d.reason
                                        : "more proof needed";
        }
    }
    if (!ok) {
        if (gh_api_audit(r, c, "signin.failed", user_id, "failure", why,
                         json_pack("{s:s}", "method", "passkey")) != GH_DB_OK)
            gh_resp_db_error(r, GH_DB_FAIL);
        else
            gh_resp_error(r, 401, "invalid_credentials", "That passkey was not accepted.");
        goto out;
    }
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_session_start(r, c, user_id, gh_assurance_amr(r->arena, &p), aal, factors, &token);
    if (rc == GH_DB_OK)
        gh_api_audit(r, c, "signin.succeeded", user_id, "success", NULL,
                     json_pack("{s:s, s:s, s:s}", "method", "passkey", "acr", gh_assurance_acr(aal),
                               "factor_id", v.factor_id));
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        r->nhdrs = 0;
        gh_resp_db_error(r, rc);
        goto out;
    }
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:s, s:s}", "status", "signed_in", "return_to",
                           gh_api_return_target(r, asked), "csrf_token",
                           gh_csrf_token_for(r, token), "acr", gh_assurance_acr(aal)),
                 NULL);
out:
    json_decref(body);
}
