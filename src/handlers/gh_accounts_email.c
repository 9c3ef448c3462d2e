/*
 * POST /api/v1/email: the signed-in customer changes their email address
 * (issue 18 item 3; docs/accounts-api.md).
 *
 * The new address replaces the old only once a code mailed to it comes
 * back through POST /api/v1/verify, in this browser and this account's
 * session: nobody attaches a mailbox they cannot read, and a code read
 * elsewhere is useless. Asking needs re-authentication like a password
 * change (gh_accounts_reauthorised). The answer is the same whether or not
 * another account holds the address (its owner gets the code and learns it
 * at confirmation, 409 email_taken; nobody else learns anything), and
 * the mails per account are limited like every code mail. Once changed,
 * the old address is told, with a link that undoes it (core
 * gh_email_change, gh_notices).
 */
#include <string.h>

#include "gh_accounts.h"
#include "gh_api.h"
#include "gh_crypto.h"
#include "gh_email_change.h"
#include "gh_handlers.h"
#include "gh_mail.h"
#include "gh_session.h"
#include "gh_store_flows.h"
#include "gh_store_users.h"
#include "gh_risk_journeys.h"
#include "gh_journey_level.h"

/* The email change's risk decision (docs/risk.md "Journeys"), in the
 * caller's transaction: deny is audited as an email.change_started that
 * failed and answered as an accepted request (a decoy flow, no mail);
 * step_up without the current password in the request asks for it. */
static gh_dbrc email_change_risk(gh_req *r, gh_dbconn *c, const gh_user *u, const char *email,
                                 bool with_password, gh_risk_outcome *outcome)
{
    gh_risk_verdict v;
    gh_risk_check k = {.journey = GH_RJ_EMAIL_CHANGE,
                       .user_id = u->id,
                       .email = email,
                       .record_as = u->id,
                       .record_refused_as = u->id};
    gh_dbrc rc = gh_risk_journey_check(r, c, &k, &v);
    *outcome = rc == GH_DB_OK ? v.outcome : GH_RO_ALLOW;
    if (*outcome == GH_RO_STEP_UP && with_password)
        *outcome = GH_RO_ALLOW; /* the password was just proven */
    if (*outcome == GH_RO_DENY)
        rc = gh_api_audit(r, c, "email.change_started", u->id, "failure",
                          "refused by the risk policy", json_pack("{s:s}", "decision_id", v.id));
    return rc;
}

void gh_accounts_email_change(gh_req *r)
{
    bool bad = false;
    gh_user u;
    gh_email_flow f;
    gh_accounts_codes k;
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
    const char *email = gh_accounts_email_field(r, body, &bad);
    gh_dbconn *c = bad ? NULL : gh_req_db(r);
    gh_dbrc rc = c ? gh_store_user_get(c, r->arena, r->tenant, s->user_id, &u) : GH_DB_BUSY;
    if (c && rc != GH_DB_OK)
        gh_resp_db_error(r, rc);
    bool go = c && rc == GH_DB_OK && gh_accounts_reauthorised(r, c, s, &u, body);
    bool with_password = json_object_get(body, "current_password") != NULL;
    json_decref(body);
    if (!go)
        return;
    if (u.email && strcmp(u.email, email) == 0) {
        gh_resp_error(r, 400, "same_email", "This is already your email address.");
        return;
    }
    if (!gh_presession(r, true)) {
        gh_resp_error(r, 500, "server_error", "No browser binding.");
        return;
    }
    const char *key = gh_arena_printf(r->arena, "email_change:%s", u.id);
    if (gh_accounts_send_wait(r, c, key))
        return;
    gh_risk_outcome risk = GH_RO_ALLOW;
    rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_accounts_count_send(r, c, key, gh_req_ctx(r).now);
    if (rc == GH_DB_OK)
        rc = email_change_risk(r, c, &u, email, with_password, &risk);
    bool go_on = risk != GH_RO_DENY && risk != GH_RO_STEP_UP;
    if (rc == GH_DB_OK && go_on)
        rc = gh_accounts_flow_create(r, c, GH_FLOW_EMAIL, u.id, email, NULL, NULL, &f, &k);
    if (rc == GH_DB_OK && go_on)
        rc = gh_accounts_mail_code(r, c, &f, &k);
    if (rc == GH_DB_OK && go_on)
        rc = gh_api_audit(r, c, "email.change_started", u.id, "success", NULL, NULL);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    if (risk == GH_RO_STEP_UP) {
        gh_resp_error(r, 403, "reauthentication_required",
                      "Enter your current password to make this change.");
        return;
    }
    if (risk == GH_RO_DENY) { /* as an accepted request: a decoy flow, no mail */
        gh_accounts_respond_verification(r, gh_token(r->arena), email);
        return;
    }
    gh_mail_kick();
    gh_accounts_respond_verification(r, f.id, email);
}

void gh_accounts_email_proved(gh_req *r, gh_dbconn *c, const gh_email_flow *f)
{
    const char *here = gh_presession_hash(r, false);
    const gh_session *s = gh_session_current(r);
    const char *old = NULL;
    if (!here || !f->binding_hash || !gh_secret_equal(here, f->binding_hash) || !s ||
        strcmp(s->user_id, f->user_id) != 0) {
        /* a code read in another browser, or another account's session */
        gh_resp_error(r, 400, "other_browser",
                      "Enter the code on the account page where you asked for it.");
        return;
    }
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_flow_consume(c, r->arena, f->tenant_id, f->id, x.now);
    if (rc == GH_DB_OK)
        rc = gh_email_change_apply(&x, c, f->user_id, f->email, &old);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc == GH_DB_CONFLICT) {
        gh_resp_error(r, 409, "email_taken",
                      "Another account uses this address. Sign in to that one instead, or choose "
                      "another address.");
        return;
    }
    if (rc == GH_DB_NOTFOUND) {
        gh_resp_error(r, 400, "invalid_code", "That code is wrong or has expired.");
        return;
    }
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    gh_mail_kick();
    gh_resp_json(r, 200, json_pack("{s:s, s:s}", "status", "email_changed", "email", f->email),
                 NULL);
}
