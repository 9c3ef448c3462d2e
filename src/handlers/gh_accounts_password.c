/*
 * POST /api/v1/password: the signed-in customer changes their password
 * (issue 18 item 2; docs/accounts-api.md; SECURITY.md #30, #33).
 *
 * The change needs proof that the person at the keyboard is the owner, not
 * whoever found an open session: the current password, or a sign-in within
 * GATEHOUSE_REAUTH_WINDOW (at AAL2 when the account has a second factor).
 * Wrong current passwords are limited per account (5 in 15 minutes), so a
 * stolen session is no password-guessing oracle. "Sign out everywhere
 * else" (on unless the body says false) ends every other session with its
 * tokens; the account's address gets a notice either way.
 *
 * Also here: the length rule a page shows before the customer types
 * (GET /api/v1/password/policy), and "Not now" on the page that asks an
 * account whose password is shorter than that rule for a longer one
 * (POST /api/v1/password/upgrade/skip; the sign-in leads there).
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
#include "gh_notices.h"
#include "gh_oidc.h"
#include "gh_password.h"
#include "gh_pwpolicy.h"
#include "gh_session.h"
#include "gh_sessions.h"
#include "gh_store_throttle.h"
#include "gh_store_users.h"
#include "gh_journey_level.h"

enum { WRONG_MAX = 5, WRONG_WINDOW_MS = 15 * 60 * 1000 };

/* Checks the typed current password, counting a wrong one; false with the
 * answer set. */
static bool current_ok(gh_req *r, gh_dbconn *c, const gh_user *u, json_t *v)
{
    const char *key = gh_arena_printf(r->arena, "reauth:%s", u->id);
    long long now = gh_now_ms(), until = 0, n = 0;
    if (gh_store_throttle_get(c, r->arena, r->tenant, key, &until) == GH_DB_OK && until > now) {
        gh_resp_header(r, "Retry-After",
                       gh_arena_printf(r->arena, "%lld", (until - now + 999) / 1000));
        gh_resp_error(r, 429, "too_many_requests",
                      "Too many wrong passwords. Wait a few minutes, then try again.");
        return false;
    }
    size_t len = 0;
    const char *pw =
        gh_pwpolicy_normalise(r->arena, json_string_value(v), json_string_length(v), &len);
    const char *phc = NULL;
    bool ok = pw && gh_store_password_get(c, r->arena, r->tenant, u->id, &phc) == GH_DB_OK &&
              gh_password_verify(phc, pw, len);
    if (pw)
        sodium_memzero((char *)pw, len);
    if (ok)
        return true;
    gh_store_throttle_fail(c, r->arena, r->tenant, key, now, now - WRONG_WINDOW_MS, &n);
    if (n >= WRONG_MAX)
        gh_store_throttle_block(c, r->arena, r->tenant, key, now + WRONG_WINDOW_MS);
    gh_api_audit(r, c, "reauth.failed", u->id, "failure", "wrong current password", NULL);
    gh_resp_error(r, 400, "wrong_password", "Your current password is not right.");
    return false;
}

bool gh_accounts_reauthorised(gh_req *r, gh_dbconn *c, const gh_session *s, const gh_user *u,
                              json_t *body)
{
    json_t *current = json_object_get(body, "current_password");
    if (current && (!json_is_string(current) ||
                    json_string_length(current) > GH_ACCOUNTS_MAX_PASSWORD_BYTES)) {
        gh_resp_error(r, 400, "invalid_request", "current_password must be text.");
        return false;
    }
    if (current)
        return current_ok(r, c, u, current);
    gh_ctx x = gh_req_ctx(r);
    gh_factors_enrolled e;
    if (gh_factors_enrolled_get(&x, c, u->id, &e) != GH_DB_OK) {
        gh_resp_db_error(r, GH_DB_BUSY);
        return false;
    }
    if (gh_factors_reauth_needed(&x, s, &e)) {
        gh_resp_error(r, 403, "reauthentication_required",
                      "Enter your current password, or sign in again to make this change.");
        return false;
    }
    return true;
}

void gh_accounts_password_change(gh_req *r)
{
    gh_user u;
    char phc[GH_PWHASH_MAX];
    const char *pw = NULL;
    size_t pwlen = 0, ended = 0;
    if (!gh_csrf_check(r))
        return;
    const gh_session *s = gh_session_current(r);
    if (!s) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    if (!gh_journey_level_ok(r, s, GH_JOURNEY_PROFILE_CHANGE))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    json_t *others = json_object_get(body, "sign_out_others");
    bool bad = false; /* return_to: where the upgrade page goes on to, echoed checked */
    const char *asked = gh_api_text(r, body, "return_to", 2048, &bad);
    if (bad) {
        json_decref(body);
        return;
    }
    gh_dbconn *c = gh_req_db(r);
    gh_dbrc rc = c ? gh_store_user_get(c, r->arena, r->tenant, s->user_id, &u) : GH_DB_BUSY;
    bool go = rc == GH_DB_OK && (!others || json_is_boolean(others));
    if (rc == GH_DB_OK && !go)
        gh_resp_error(r, 400, "invalid_request", "sign_out_others must be true or false.");
    else if (rc != GH_DB_OK && c)
        gh_resp_db_error(r, rc);
    /* the length rule follows the account: 8 with a second factor, else 15 (defaults) */
    go = go && gh_accounts_reauthorised(r, c, s, &u, body) &&
         gh_accounts_new_password(r, body, u.email, gh_accounts_has_second_factor(r, c, u.id), &pw,
                                  &pwlen);
    bool sign_out = !others || json_is_true(others);
    json_decref(body);
    if (!go)
        return;
    int hrc = gh_password_hash(pw, pwlen, phc);
    sodium_memzero((char *)pw, pwlen);
    if (hrc != 0)
        return gh_resp_error(r, 500, "server_error", "Something went wrong; try again.");
    gh_ctx x = gh_req_ctx(r);
    json_t *p = json_pack("{s:s, s:s}", "account_link", gh_oidc_url(r, "/account"), "others",
                          sign_out ? "Every other device signed in to your account was signed out."
                                   : "Your other devices stay signed in.");
    rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_password_set(c, r->arena, r->tenant, u.id, phc);
    if (rc == GH_DB_OK && sign_out)
        rc = gh_sessions_end_others(&x, c, u.id, s->id, NULL, "the password was changed", &ended);
    if (rc == GH_DB_OK)
        rc = gh_api_audit(
            r, c, "password.changed", u.id, "success", NULL,
            json_pack("{s:b, s:I}", "signed_out_others", sign_out, "ended", (json_int_t)ended));
    if (rc == GH_DB_OK && u.email)
        rc = p ? gh_notices_add_lock_link(&x, c, u.id, p) : GH_DB_FAIL;
    if (rc == GH_DB_OK && u.email)
        rc = gh_mail_enqueue(c, r->arena, r->app->cfg, r->tenant, u.email, "password_changed", p);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    json_decref(p);
    sodium_memzero(phc, sizeof(phc));
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    gh_mail_kick();
    if (ended)
        gh_logout_kick();
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:I, s:s?}", "status", "changed", "ended", (json_int_t)ended,
                           "return_to", asked ? gh_api_return_target(r, asked) : NULL),
                 NULL);
}

/* ---- GET /api/v1/password/policy ---- */

void gh_accounts_password_policy(gh_req *r)
{
    const gh_pwpolicy *p = gh_api_pwpolicy(r);
    unsigned max = p->max_length ? p->max_length : GH_PWPOLICY_MAX_LENGTH;
    gh_resp_json(r, 200,
                 json_pack("{s:I, s:I, s:I}", "min_length",
                           (json_int_t)gh_pwpolicy_min_for(p, false),
                           "min_length_with_second_factor",
                           (json_int_t)gh_pwpolicy_min_for(p, true), "max_length", (json_int_t)max),
                 NULL);
}

/* ---- POST /api/v1/password/upgrade/skip ---- */

/* "Not now": the customer keeps the short password for now. Counted (the
 * audit event password.upgrade_skipped) so an operator sees how many put it
 * off; the answer names where the journey goes on (the body's return_to,
 * checked like every return target). */
void gh_accounts_password_upgrade_skip(gh_req *r)
{
    bool bad = false;
    if (!gh_csrf_check(r))
        return;
    const gh_session *s = gh_session_current(r);
    if (!s) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *asked = gh_api_text(r, body, "return_to", 2048, &bad);
    json_decref(body);
    if (bad)
        return;
    const char *return_to = gh_api_return_target(r, asked);
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_api_audit(r, c, "password.upgrade_skipped", s->user_id, "success", NULL, NULL);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    gh_resp_json(r, 200, json_pack("{s:s, s:s}", "status", "skipped", "return_to", return_to),
                 NULL);
}
