/*
 * gh_session: the cookies of browser sessions (the service is core/gh_sessions.h),
 * the pre-session cookie and CSRF tokens.
 *
 * A session is a 256-bit random token in an HttpOnly cookie; the database
 * keeps only its SHA-256. It ends after GATEHOUSE_SESSION_IDLE seconds unused
 * or GATEHOUSE_SESSION_ABSOLUTE seconds after sign-in, whichever is first,
 * and is rotated at every sign-in.
 *
 * CSRF: the token a page sends in X-CSRF-Token is an HMAC (key derived from
 * the master key) of the cookie that binds it: the session cookie when
 * signed in, else the pre-session cookie. A cross-site page can read
 * neither cookie nor our responses, so it cannot make the token.
 */
#ifndef GH_SESSION_H
#define GH_SESSION_H

#include <stdbool.h>

#include "gh_http.h"
#include "gh_store_sessions.h"

/* The signed-in session of this request, or NULL. Checks expiry and records
 * use (at most once every few seconds). Resolved once per request. */
const gh_session *gh_session_current(gh_req *r);
/* Whether the request's session belongs to a customer who must accept a
 * required document (gh_consent_pending) before going on. While true,
 * gh_session_current answers NULL on every path but those that deal with
 * it (the re-ask, signing out, /api/v1/session, /authorize and sign-in),
 * so no account page or API works as if all were fine; a database failure
 * counts as pending. docs/privacy.md. */
bool gh_session_consent_pending(gh_req *r);

/* Starts a session for user_id inside the caller's transaction, ends the
 * request's current one (rotation), and sets the cookie. amr and factors
 * are JSON array text (gh_assurance.h). On success *token is the new cookie value
 * (for a CSRF token bound to it). */
gh_dbrc gh_session_start(gh_req *r, gh_dbconn *c, const char *user_id, const char *amr, int aal,
                         const char *factors, const char **token);
/* Step-up of the current session inside the caller's transaction: the same
 * session id with a new token (and cookie), level, methods and factors, and
 * auth_time now. */
gh_dbrc gh_session_elevate(gh_req *r, gh_dbconn *c, const char *amr, int aal, const char *factors,
                           const char **token);
/* The device cookie (gh_device, __Host-gh_device under https): 256 random
 * bits set at every sign-in and kept across sign-outs, so sign-in
 * throttling can tell a browser the account signed in on before
 * (docs/accounts-api.md). gh_session_start records it for the user. */
enum { GH_DEVICE_COOKIE_AGE = GH_DEVICE_KEEP_DAYS * 86400 };

/* The SHA-256 (hex) of the request's device cookie, or NULL. */
const char *gh_device_hash(gh_req *r);

/* Revokes the current session (if any) and clears the cookie. */
gh_dbrc gh_session_end(gh_req *r, gh_dbconn *c);

/* The pre-session cookie's value; when absent and create is true, a new one
 * is made and set on the response. */
const char *gh_presession(gh_req *r, bool create);
/* The SHA-256 (hex) of the pre-session cookie, what a pending sign-in step,
 * an emailed code's flow or a passkey ceremony before sign-in is bound to;
 * NULL when there is none (create as for gh_presession). */
const char *gh_presession_hash(gh_req *r, bool create);

/* The CSRF token bound to a cookie value. */
const char *gh_csrf_token_for(gh_req *r, const char *binding);
/* The CSRF token for this request's current binding (creating the
 * pre-session cookie when needed). */
const char *gh_csrf_token(gh_req *r);
/* Checks Origin / Sec-Fetch-Site and the X-CSRF-Token header; on failure
 * sets a 403 and returns false. */
bool gh_csrf_check(gh_req *r);
/* The same with a token sent otherwise (a hosted form's hidden field). */
bool gh_csrf_check_value(gh_req *r, const char *sent);

#endif
