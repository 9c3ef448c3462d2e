/*
 * gh_mfa: second factors (authenticator apps, passkeys, recovery codes),
 * username-less passkey sign-in, step-up, and what a session's factors are
 * worth (docs/mfa.md). The handlers are declared in gh_handlers.h; this
 * header is what the rest of the server uses.
 *
 * Every sign-in is decided by gh_signin_decide, from the facts
 * gh_mfa_signin_facts gathers. A first factor (password, emailed code) then
 * ends in gh_mfa_first_factor: an allowed sign-in gets its session there;
 * one that needs a second factor gets a pending step bound to the browser's
 * pre-session cookie, finished by POST /api/v1/signin/mfa.
 */
#ifndef GH_MFA_H
#define GH_MFA_H

#include <stdbool.h>

#include "gh_assurance.h"
#include "gh_db.h"
#include "gh_http.h"
#include "gh_signin.h"
#include "gh_store_auth.h"

typedef struct gh_mfa_outcome {
    bool pending;          /* a second factor is needed: no session yet */
    const char *token;     /* signed in: the new session cookie value */
    const char *return_to; /* where the journey goes next (same-origin) */
    int aal;
    json_t *methods; /* pending: the second factors on offer (owned) */
} gh_mfa_outcome;

/* The account's facts for gh_signin_decide (active, email verified, second
 * factors enrolled) and what was proven (method, multi_factor); the caller
 * adds the context (account_guarded, email_proven). GH_DB_NOTFOUND for an
 * unknown user. */
gh_dbrc gh_mfa_signin_facts(gh_req *r, gh_dbconn *c, const char *user_id, const char *method,
                            bool multi_factor, gh_signin_facts *out);
/* Acts on a first factor's decision (allow, or a second factor) inside the
 * caller's transaction: starts the session, or stores the pending
 * second-factor step. Any other decision is the caller's to act on
 * (GH_DB_INVALID). */
gh_dbrc gh_mfa_first_factor(gh_req *r, gh_dbconn *c, const char *user_id, const char *method,
                            const gh_signin_decision *d, const char *return_to,
                            gh_mfa_outcome *out);
/* The JSON answer for an outcome, after the caller committed; frees its
 * methods. */
void gh_mfa_respond(gh_req *r, gh_mfa_outcome *o);

/* The signed-in session when it may make a sensitive change (sign-in
 * methods, ending other sessions): authenticated within
 * GATEHOUSE_REAUTH_WINDOW, and at AAL2 when the account has a second
 * factor. Otherwise NULL with 401 or 403 reauthentication_required set. */
const gh_session *gh_mfa_recent_session(gh_req *r);
/* The highest level (1 to 3) the user's enrolled factors can reach. */
int gh_mfa_reachable(gh_dbconn *c, gh_arena *a, const char *user_id);

#endif
