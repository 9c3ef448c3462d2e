/*
 * POST /api/v1/account/delete and POST /api/v1/account/restore: a customer
 * deletes their account, and restores it while its grace period runs
 * (issue 18 item 6; docs/accounts-api.md "Delete my account"; SECURITY.md
 * #31, #33). The service is gh_deletion.
 *
 * Deleting needs the same proof as changing the password
 * (gh_accounts_reauthorised). During the grace period a sign-in with the
 * right credentials does not sign in but answers deletion_pending with a
 * restore flow: a short-lived, single-use flow bound to this browser's
 * pre-session cookie (like a pending second factor), so the flow id alone,
 * seen elsewhere, restores nothing. Restoring then finishes the sign-in
 * that was proven, second factor included.
 */
#include <string.h>

#include "gh_accounts.h"
#include "gh_api.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_deletion.h"
#include "gh_factors.h"
#include "gh_handlers.h"
#include "gh_logout.h"
#include "gh_mail.h"
#include "gh_mfa.h"
#include "gh_oidc.h"
#include "gh_session.h"

static const char RESTORE_EXPIRED[] =
    "This restore request has expired or was used. Sign in again to restore your account.";

static const char *rfc3339(gh_req *r, long long ms)
{
    char t[32];
    gh_rfc3339(ms, t);
    return gh_arena_strdup(r->arena, t);
}

void gh_accounts_delete(gh_req *r)
{
    gh_user u;
    long long delete_at = 0;
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
    gh_dbconn *c = gh_req_db(r);
    gh_dbrc rc = c ? gh_store_user_get(c, r->arena, r->tenant, s->user_id, &u) : GH_DB_BUSY;
    if (rc != GH_DB_OK && c)
        gh_resp_db_error(r, rc);
    bool go = rc == GH_DB_OK && gh_accounts_reauthorised(r, c, s, &u, body);
    json_decref(body);
    if (!go)
        return;
    gh_ctx x = gh_req_ctx(r);
    rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_session_end(r, c); /* this browser's cookie goes too */
    if (rc == GH_DB_OK)
        rc = gh_deletion_request(&x, c, &u, gh_oidc_url(r, "/signin"), &delete_at);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        r->nhdrs = 0;
        return gh_resp_db_error(r, rc);
    }
    gh_mail_kick();
    gh_logout_kick();
    const char *pre = gh_presession(r, true);
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:I, s:s?}", "status", "deletion_pending", "deletes_at",
                           rfc3339(r, delete_at), "deletes_at_ms", (json_int_t)delete_at,
                           "csrf_token", pre ? gh_csrf_token_for(r, pre) : NULL),
                 NULL);
}

void gh_accounts_deletion_pending(gh_req *r, gh_dbconn *c, const gh_user *u, const char *kind,
                                  const char *return_to, long long delete_at, const char *used)
{
    gh_email_flow f;
    gh_accounts_codes k;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK && used)
        rc = gh_store_flow_consume(c, r->arena, r->tenant, used, gh_now_ms());
    /* the flow's code and link are never mailed: only this browser, with
     * the flow id, can use it */
    if (rc == GH_DB_OK)
        rc = gh_accounts_flow_create(r, c, kind, u->id, u->email, return_to, NULL, &f, &k);
    if (rc == GH_DB_OK)
        rc = gh_api_audit(r, c, "signin.deletion_pending", u->id, "success",
                          "account being deleted; restore offered", NULL);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc == GH_DB_CONFLICT) /* the emailed code was used meanwhile */
        return gh_resp_error(r, 400, "code_used", "This code or link was already used.");
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:s, s:I, s:{s:s, s:s}}", "status", "deletion_pending",
                           "deletes_at", rfc3339(r, delete_at), "deletes_at_ms",
                           (json_int_t)delete_at, "restore", "flow_id", f.id, "endpoint",
                           "/api/v1/account/restore"),
                 NULL);
}

/* The restore flow of this browser, or NULL with a 400 answered. */
static bool restore_flow(gh_req *r, gh_dbconn *c, const char *flow_id, gh_email_flow *f)
{
    gh_dbrc rc = gh_store_flow_get(c, r->arena, r->tenant, flow_id, f);
    if (rc != GH_DB_OK && rc != GH_DB_NOTFOUND) {
        gh_resp_db_error(r, rc);
        return false;
    }
    const char *here = gh_presession_hash(r, false);
    bool ok =
        rc == GH_DB_OK && f->user_id &&
        (strcmp(f->kind, GH_FLOW_RESTORE) == 0 || strcmp(f->kind, GH_FLOW_RESTORE_EMAIL) == 0) &&
        !f->consumed_at && f->expires_at > gh_now_ms() && here && f->binding_hash &&
        gh_secret_equal(here, f->binding_hash);
    if (!ok)
        gh_resp_error(r, 400, "restore_expired", RESTORE_EXPIRED);
    return ok;
}

void gh_accounts_restore(gh_req *r)
{
    bool bad = false;
    gh_email_flow f;
    gh_mfa_outcome m = {0};
    if (!gh_csrf_check(r))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *flow_id = gh_api_text(r, body, "flow_id", 64, &bad);
    json_decref(body);
    if (bad)
        return;
    if (!flow_id)
        return gh_resp_error(r, 400, "invalid_request", "Send the flow_id of the sign-in.");
    gh_dbconn *c = gh_req_db(r);
    if (!c || !restore_flow(r, c, flow_id, &f))
        return;
    gh_ctx x = gh_req_ctx(r);
    bool email = strcmp(f.kind, GH_FLOW_RESTORE_EMAIL) == 0;
    const char *method = email ? GH_METHOD_EMAIL : GH_METHOD_PASSWORD;
    gh_signin_facts facts;
    gh_signin_decision d = {.verdict = GH_SIGNIN_REFUSE};
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_flow_consume(c, r->arena, f.tenant_id, f.id, x.now);
    if (rc == GH_DB_OK)
        rc = gh_deletion_restore(&x, c, f.user_id);
    /* then the sign-in that was proven, decided as every sign-in is */
    if (rc == GH_DB_OK)
        rc = gh_factors_signin_facts(&x, c, f.user_id, method, false, &facts);
    if (rc == GH_DB_OK) {
        facts.email_proven = facts.email_proven || email;
        d = gh_signin_decide(&facts);
        if (d.verdict == GH_SIGNIN_REFUSE)
            rc = GH_DB_NOTFOUND;
    }
    if (rc == GH_DB_OK)
        rc = gh_mfa_first_factor(r, c, f.user_id, method, &d, gh_api_return_target(r, f.return_to),
                                 &m);
    if (rc == GH_DB_OK && m.token)
        rc = gh_api_audit(r, c, "signin.succeeded", f.user_id, "success", "account restored", NULL);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        r->nhdrs = 0; /* no cookie from a transaction that did not land */
        json_decref(m.methods);
        if (rc == GH_DB_NOTFOUND || rc == GH_DB_CONFLICT)
            return gh_resp_error(r, 400, "restore_expired", RESTORE_EXPIRED);
        return gh_resp_db_error(r, rc);
    }
    gh_mfa_respond(r, &m);
}
