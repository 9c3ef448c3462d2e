/*
 * gh_mfa: where a first factor leads, and the session checks the account
 * pages share (docs/mfa.md). The handlers are declared in gh_handlers.h;
 * this header is what the other handlers use.
 *
 * Every sign-in is decided by gh_signin_decide, from the facts
 * gh_factors_signin_facts gathers. A first factor (password, emailed code)
 * then ends in gh_mfa_first_factor: an allowed sign-in gets its session
 * there; one that needs a second factor gets a pending step bound to the
 * browser's pre-session cookie, finished by POST /api/v1/signin/mfa.
 */
#ifndef GH_MFA_H
#define GH_MFA_H

#include <stdbool.h>

#include "gh_assurance.h"
#include "gh_db.h"
#include "gh_http.h"
#include "gh_signin.h"
#include "gh_store_sessions.h"

typedef struct gh_mfa_outcome {
    bool pending;          /* a second factor is needed: no session yet */
    const char *token;     /* signed in: the new session cookie value */
    const char *return_to; /* where the journey goes next (same-origin) */
    int aal;
    json_t *methods; /* pending: the second factors on offer (owned) */
    /* the password just used is shorter than new ones must be: return_to
     * is the upgrade page (GH_PASSWORD_UPGRADE_PAGE), which leads on to the
     * journey's own target; the answer says "password_upgrade": true */
    bool password_upgrade;
    /* pending: the risk engine's reason code (docs/risk.md), which the
     * second step's page turns into words ("because this is a new
     * device"); NULL for none */
    const char *why;
} gh_mfa_outcome;

/* The hosted page that asks for a longer password or a second factor. */
#define GH_PASSWORD_UPGRADE_PAGE "/account/password-upgrade"

/* Acts on a first factor's decision (allow, or a second factor) inside the
 * caller's transaction: starts the session (setting its cookie), or stores
 * the pending second-factor step (setting the pre-session cookie it is
 * bound to). The decision's arithmetic is gh_factors_first_factor's. Any
 * other decision is the caller's to act on (GH_DB_INVALID). */
gh_dbrc gh_mfa_first_factor(gh_req *r, gh_dbconn *c, const char *user_id, const char *method,
                            const gh_signin_decision *d, const char *return_to,
                            gh_mfa_outcome *out);
/* The JSON answer for an outcome, after the caller committed; frees its
 * methods. */
void gh_mfa_respond(gh_req *r, gh_mfa_outcome *o);

/* The signed-in session when it may make a sensitive change (sign-in
 * methods, ending other sessions): authenticated within
 * GATEHOUSE_REAUTH_WINDOW, and at AAL2 when the account has a second
 * factor (gh_factors_reauth_needed). Otherwise NULL with 401 or 403
 * reauthentication_required set. In gh_mfa_manage.c. */
const gh_session *gh_mfa_recent_session(gh_req *r);

#endif
