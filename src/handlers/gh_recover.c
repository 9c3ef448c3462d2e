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
 *   "I can't use any of these": POST /api/v1/recovery/wait starts a
 *     waiting period instead (the account's address is told at once and
 *     before the end; any sign-in, the mail's cancel link through POST
 *     /api/v1/recovery/wait/cancel, or an operator through
 *     /admin/v1/users/{id}/recovery cancels it); after the end, a new
 *     "Forgot password?" leads to the new password without a factor, and
 *     the reset removes the factors.
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
#include "gh_notices.h"
#include "gh_oidc.h"
#include "gh_password.h"
#include "gh_recovery.h"
#include "gh_session.h"
#include "gh_scim.h"
#include "gh_store_mfa.h"
#include "gh_store_recovery.h"
#include "gh_store_throttle.h"
#include "gh_store_users.h"
#include "gh_risk_journeys.h"

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

/* The recovery flow of user_id (NULL: a decoy, no mail) for email, with
 * its code mailed and recovery.started audited (why: its reason, or NULL),
 * in the caller's transaction. */
static gh_dbrc open_recovery(gh_req *r, gh_dbconn *c, const char *user_id, const char *email,
                             const char *return_to, gh_email_flow *f, const char *why)
{
    gh_accounts_codes k;
    gh_dbrc rc =
        gh_accounts_flow_create(r, c, GH_FLOW_RECOVER, user_id, email, return_to, NULL, f, &k);
    if (rc == GH_DB_OK && user_id)
        rc = gh_accounts_mail_code(r, c, f, &k);
    if (rc == GH_DB_OK && user_id)
        rc = gh_api_audit(r, c, "recovery.started", user_id, "success", why, NULL);
    return rc;
}

/* The recovery's risk decision (docs/risk.md "Journeys") about the
 * account, in the caller's transaction; *refused: the policy refuses it,
 * audited as a recovery.started that failed, and answered as an unknown
 * address is (a decoy flow, no mail). */
static gh_dbrc recovery_risk(gh_req *r, gh_dbconn *c, const char *user_id, bool *refused)
{
    gh_risk_verdict v;
    gh_dbrc rc = gh_risk_journey_about(r, c, GH_RJ_RECOVERY, user_id, &v);
    *refused = rc == GH_DB_OK && v.outcome == GH_RO_DENY;
    if (*refused)
        rc = gh_api_audit(r, c, "recovery.started", user_id, "failure",
                          "refused by the risk policy", json_pack("{s:s}", "decision_id", v.id));
    return rc;
}

void gh_recover_start(gh_req *r)
{
    bool bad = false;
    gh_email_flow f;
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
    bool mail = user_id && send == GH_ACCOUNTS_SEND_MAIL, refused = false;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_accounts_count_send(r, c, key, now);
    if (rc == GH_DB_OK && user_id)
        rc = recovery_risk(r, c, user_id, &refused);
    if (rc == GH_DB_OK)
        rc = open_recovery(r, c, mail && !refused ? user_id : NULL, email,
                           gh_api_return_target(r, asked), &f, NULL);
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

static void respond_waiting(gh_req *r, const gh_recovery_wait *w)
{
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:I, s:s}", "status", "recovery_waiting", "ends_at",
                           (json_int_t)w->ends_at, "ends", gh_notices_time(r->arena, w->ends_at)),
                 NULL);
}

static void respond_next(gh_req *r, bool need_factor, json_t *methods)
{
    if (need_factor) {
        gh_resp_json(r, 200,
                     json_pack("{s:s, s:o, s:s}", "status", "recovery_factor_required", "methods",
                               methods, "next", gh_req_page(r, "/signin/mfa")),
                     NULL);
        return;
    }
    json_decref(methods);
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s}", "status", "recovery_password", "next",
                           gh_req_page(r, "/recover/password")),
                 NULL);
}

void gh_recover_email_proved(gh_req *r, gh_dbconn *c, const gh_email_flow *f)
{
    gh_ctx x = gh_req_ctx(r);
    const char *here = gh_presession_hash(r, false);
    gh_recovery_rule rule = {0};
    gh_recovery_next next = GH_RECOVERY_NEXT_PASSWORD;
    gh_recovery_wait wait;
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
        rc = gh_recovery_email_proved(&x, c, f->user_id, here, factors, f->return_to, &rule, &next,
                                      &wait);
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
    if (next == GH_RECOVERY_NEXT_WAITING)
        return respond_waiting(r, &wait);
    json_t *methods = json_array();
    if (rule.factors & GH_RECOVERY_BY_TOTP)
        json_array_append_new(methods, json_string(GH_METHOD_TOTP));
    if (rule.factors & GH_RECOVERY_BY_PASSKEY)
        json_array_append_new(methods, json_string(GH_METHOD_PASSKEY));
    if (rule.factors & GH_RECOVERY_BY_CODE)
        json_array_append_new(methods, json_string(GH_METHOD_RECOVERY));
    respond_next(r, next == GH_RECOVERY_NEXT_FACTOR, methods);
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
static gh_dbrc notify_reset(gh_req *r, gh_dbconn *c, const gh_user *u, bool removed)
{
    json_t *p = json_pack("{s:s, s:s}", "account_link", gh_oidc_url(r, "/account"), "factors",
                          removed ? "Your authenticator apps, passkeys and recovery codes were "
                                    "removed, since you could not use them: set up new ones."
                                  : "Your other sign-in methods are unchanged.");
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = p ? gh_notices_add_lock_link(&x, c, u->id, p) : GH_DB_FAIL;
    if (rc == GH_DB_OK)
        rc = gh_mail_enqueue(c, r->arena, r->app->cfg, r->tenant, u->email, "password_reset", p);
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
    bool removed = false;
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
    /* A reset that rests on a waiting period may remove the second factors
     * it could not prove (gh_recovery_complete): that account is held to the
     * only-factor minimum. */
    bool second = !t.wait_id && gh_accounts_has_second_factor(r, c, u.id);
    bool ok = gh_accounts_new_password(r, body, u.email, second, &pw, &pwlen);
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
        rc = gh_recovery_complete(&x, c, &t, phc, &aal, &amr, &removed);
    r->quiet_signin = true; /* the reset's notice says it all */
    if (rc == GH_DB_OK)
        rc = gh_session_start(r, c, u.id, amr, aal, t.factors, &token);
    if (rc == GH_DB_OK)
        rc = notify_reset(r, c, &u, removed);
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
    /* after a wait the factors are gone: straight to setting up new ones */
    const char *next =
        removed ? gh_req_page(r, "/account?enrol=1") : gh_api_return_target(r, t.return_to);
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:s, s:s, s:b}", "status", "signed_in", "return_to", next,
                           "csrf_token", gh_csrf_token_for(r, token), "acr", gh_assurance_acr(aal),
                           "factors_removed", removed),
                 NULL);
}

/* ---- POST /api/v1/recovery/wait ---- */

/* This browser's recovery factor step, or NOTFOUND. */
static gh_dbrc factor_step(gh_req *r, gh_dbconn *c, gh_challenge *step)
{
    const char *here = gh_presession_hash(r, false);
    gh_dbrc rc =
        here ? gh_store_challenge_find(c, r->arena, r->tenant, GH_CH_MFA, here, gh_now_ms(), step)
             : GH_DB_NOTFOUND;
    if (rc == GH_DB_OK && !strstr(step->data, "\"purpose\":\"" GH_RECOVERY_PURPOSE "\""))
        rc = GH_DB_NOTFOUND;
    return rc;
}

/* The mails of a new wait: the notice now, the reminder before the end. */
static gh_dbrc mail_wait(gh_req *r, gh_dbconn *c, const gh_user *u, const gh_recovery_wait *w,
                         const char *cancel_token)
{
    gh_ctx x = gh_req_ctx(r);
    const char *link = gh_arena_printf(r->arena, "%s/recover/cancel?wait=%s&token=%s", r->issuer,
                                       w->id, cancel_token);
    json_t *p =
        json_pack("{s:s, s:s}", "ends", gh_notices_time(r->arena, w->ends_at), "cancel_link", link);
    const char *mail_id = NULL;
    gh_dbrc rc =
        gh_mail_enqueue(c, r->arena, r->app->cfg, r->tenant, u->email, "recovery_waiting", p);
    /* the reminder: a day before the end, or halfway through a shorter wait */
    long long span = w->ends_at - w->started_at;
    long long before = span / 2 < 86400000LL ? span / 2 : 86400000LL;
    if (rc == GH_DB_OK)
        rc = gh_mail_enqueue_at(c, r->arena, r->app->cfg, r->tenant, u->email, "recovery_reminder",
                                p, w->ends_at - before, &mail_id);
    if (rc == GH_DB_OK)
        rc = gh_recovery_wait_reminder(&x, c, w->id, mail_id);
    json_decref(p);
    return rc;
}

void gh_recover_wait(gh_req *r)
{
    gh_ctx x = gh_req_ctx(r);
    gh_challenge step;
    gh_recovery_wait w;
    gh_user u;
    const char *token = NULL;
    if (!gh_csrf_check(r))
        return;
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    gh_dbrc rc = factor_step(r, c, &step);
    if (rc == GH_DB_OK)
        rc = gh_store_user_get(c, r->arena, r->tenant, step.user_id, &u);
    if (rc == GH_DB_NOTFOUND)
        return gh_resp_error(r, 400, "flow_expired", NOT_STARTED);
    if (rc == GH_DB_OK)
        rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_challenge_consume(c, r->arena, r->tenant, step.id, x.now);
    if (rc == GH_DB_OK)
        rc = gh_recovery_wait_start(&x, c, u.id, &w, &token);
    if (rc == GH_DB_OK && token)
        rc = mail_wait(r, c, &u, &w, token);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc == GH_DB_CONFLICT)
        return gh_resp_error(r, 400, "flow_expired", NOT_STARTED);
    if (rc == GH_DB_INVALID) /* the tenant's recovery level (docs/tenants.md) */
        return gh_resp_error(r, 403, "recovery_unavailable",
                             "This account cannot be recovered here. Contact support.");
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    gh_mail_kick();
    respond_waiting(r, &w);
}

/* ---- cancelling a wait: the mail's link, an operator ---- */

void gh_recover_wait_cancel(gh_req *r)
{
    bool bad = false;
    gh_ctx x = gh_req_ctx(r);
    gh_recovery_wait w;
    if (!gh_csrf_check(r))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *id = gh_api_text(r, body, "wait_id", 64, &bad);
    const char *token = bad ? NULL : gh_api_text(r, body, "token", 64, &bad);
    json_decref(body);
    if (bad)
        return;
    if (!id || !token)
        return gh_resp_error(r, 400, "invalid_request", "Send wait_id and token.");
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_recovery_wait_cancel(&x, c, id, token, "owner", "cancelled from the mail's link",
                                     "You cancelled it with the link in our email.", &w);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc == GH_DB_NOTFOUND)
        return gh_resp_error(r, 400, "invalid_link",
                             "This link is not valid, or the reset already ended.");
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    gh_mail_kick();
    gh_resp_json(r, 200, json_pack("{s:s}", "status", "cancelled"), NULL);
}

/* ---- /admin/v1/users/{id}/recovery ---- */

static json_t *wait_json(const gh_recovery_wait *w)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I}", "id", w->id, "user_id", w->user_id, "state",
                     w->state, "started_at", (json_int_t)w->started_at, "ends_at",
                     (json_int_t)w->ends_at);
}

void gh_recover_admin_get(gh_req *r)
{
    gh_recovery_wait w;
    if (!gh_admin_authorised(r))
        return;
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    gh_dbrc rc = gh_store_wait_current(c, r->arena, r->tenant, r->params[0], &w);
    if (rc == GH_DB_NOTFOUND)
        return gh_resp_error(r, 404, "not_found", "no waiting recovery for this user");
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, wait_json(&w), NULL);
}

/* POST {"action": "cancel"} or {"action": "shorten", "ends_in": seconds},
 * and an optional "reason". */
void gh_recover_admin_act(gh_req *r)
{
    gh_ctx x = gh_req_ctx(r);
    gh_recovery_wait w;
    if (!gh_admin_authorised(r))
        return;
    json_t *body = gh_scim_body(r);
    if (!body)
        return;
    const char *action = json_string_value(json_object_get(body, "action"));
    const char *why = json_string_value(json_object_get(body, "reason"));
    json_t *in = json_object_get(body, "ends_in");
    bool cancel = action && strcmp(action, "cancel") == 0;
    bool shorten = action && strcmp(action, "shorten") == 0 && json_is_integer(in) &&
                   json_integer_value(in) >= 0;
    long long ends_at = shorten ? x.now + (long long)json_integer_value(in) * 1000 : 0;
    const char *reason = gh_arena_strdup(r->arena, why ? why : "an operator acted");
    json_decref(body);
    if (!cancel && !shorten)
        return gh_resp_error(r, 400, "invalid_request",
                             "Send {\"action\": \"cancel\"} or {\"action\": \"shorten\", "
                             "\"ends_in\": seconds}.");
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    gh_dbrc rc = gh_store_wait_current(c, r->arena, r->tenant, r->params[0], &w);
    if (rc == GH_DB_NOTFOUND)
        return gh_resp_error(r, 404, "not_found", "no waiting recovery for this user");
    if (rc == GH_DB_OK)
        rc = gh_db_begin(c);
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    if (cancel)
        rc = gh_recovery_wait_cancel(&x, c, w.id, NULL, "admin", reason,
                                     "Our support team cancelled it.", &w);
    if (rc == GH_DB_OK && shorten && ends_at < w.ends_at) {
        rc = gh_store_wait_set_end(c, r->arena, r->tenant, w.id, ends_at, x.now);
        w.ends_at = ends_at;
        if (rc == GH_DB_OK)
            rc = gh_api_audit(
                r, c, "recovery.shortened", w.user_id, "success", reason,
                json_pack("{s:s, s:I}", "wait_id", w.id, "ends_at", (json_int_t)ends_at));
    }
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc == GH_DB_NOTFOUND)
        return gh_resp_error(r, 404, "not_found", "no waiting recovery for this user");
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    gh_mail_kick();
    if (cancel)
        w.state = GH_WAIT_CANCELLED;
    gh_resp_json(r, 200, wait_json(&w), NULL);
}

/* ---- POST /api/v1/recovery/lock ---- */

/* "This wasn't me" (docs/recovery.md): the link of a notice locks the
 * account (an email change's restores the old address first), ends every
 * session and token, and opens a recovery in this browser, whose code goes
 * to the account's address: the lock lifts only when it completes. */
void gh_recover_lock(gh_req *r)
{
    bool bad = false;
    gh_email_flow f;
    gh_notice_used used;
    if (!gh_csrf_check(r))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *token = gh_api_text(r, body, "token", 64, &bad);
    json_decref(body);
    if (bad)
        return;
    if (!token || strlen(token) != 43 || !gh_b64url_valid(token, 43)) {
        gh_resp_error(r, 400, "invalid_request", "token must be the link's 43-character secret.");
        return;
    }
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    if (!gh_presession(r, true)) {
        gh_resp_error(r, 500, "server_error", "No browser binding.");
        return;
    }
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_notices_use(&x, c, token, &used);
    if (rc == GH_DB_OK && used.email)
        rc = open_recovery(r, c, used.user_id, used.email, NULL, &f,
                           "the owner locked the account from a notice");
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc == GH_DB_NOTFOUND) {
        gh_resp_error(r, 400, "link_expired",
                      "This link was already used or has expired. If someone else uses your "
                      "account, reset your password with \"Forgot password?\".");
        return;
    }
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    gh_mail_kick();
    gh_logout_kick(); /* the sessions ended queued their back-channel logouts */
    json_t *out =
        json_pack("{s:s, s:b}", "status", "locked", "email_restored", used.email_restored);
    if (used.email) {
        json_object_set_new(out, "flow_id", json_string(f.id));
        json_object_set_new(out, "email", json_string(used.email));
    }
    gh_resp_json(r, 200, out, NULL);
}
