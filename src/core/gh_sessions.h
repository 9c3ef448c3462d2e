/*
 * gh_sessions: the browser session service (docs/accounts-api.md), without
 * cookies. A session is found by its token (what the cookie carries; the
 * database keeps only its SHA-256), ends GATEHOUSE_SESSION_IDLE seconds
 * after its last use or GATEHOUSE_SESSION_ABSOLUTE seconds after sign-in,
 * whichever is first, and gets a new token at every sign-in and change of
 * level (ASVS 7.2.4). http/gh_session.c reads and sets the cookies and
 * calls these; the command line and tests can call them with any gh_ctx.
 *
 * Tokens and device cookie values are 43-character base64url strings (256
 * random bits). Results live in x->arena.
 */
#ifndef GH_SESSIONS_H
#define GH_SESSIONS_H

#include "gh_ctx.h"
#include "gh_store_sessions.h"

enum { GH_SESSION_TOKEN_LEN = 43 };

/* The live session a token names: OK with *out filled, NOTFOUND when the
 * token is unknown, revoked or expired. Records use, at most once per tenth
 * of the idle window (and at least once a minute), so the idle timer moves
 * without a write on every request. */
gh_dbrc gh_sessions_find(const gh_ctx *x, gh_dbconn *c, const char *token, gh_session *out);

/* What a new session hands back for the cookies. */
typedef struct gh_session_started {
    const char *token;  /* the session cookie's value */
    const char *device; /* the device cookie's value: the browser's own, or a new one */
    long long max_age;  /* seconds the session cookie may live */
    bool new_device;    /* the account has not used this browser before (but others) */
} gh_session_started;

/*
 * Starts a session for user_id inside the caller's transaction. replaced:
 * the browser's current session (NULL when none), which ends (a new sign-in
 * never keeps the old identifier). Sessions past GATEHOUSE_MAX_SESSIONS_PER_
 * ACCOUNT end, oldest first, each with its audit event and back-channel
 * logout. device: the browser's device cookie value (NULL or malformed: a
 * new one is made); its hash is recorded as a browser the user signed in
 * on. amr and factors are JSON array text (gh_assurance.h).
 */
gh_dbrc gh_sessions_start(const gh_ctx *x, gh_dbconn *c, const gh_session *replaced,
                          const char *user_id, const char *amr, int aal, const char *factors,
                          const char *device, gh_session_started *out);

/* Step-up of cur inside the caller's transaction: the same session id (so
 * tokens' sid stays valid) with a new token, level, methods and factors, and
 * auth_time now. On success *out is the updated session and *token its new
 * cookie value; NOTFOUND when the session ended meanwhile. */
gh_dbrc gh_sessions_elevate(const gh_ctx *x, gh_dbconn *c, const gh_session *cur, const char *amr,
                            int aal, const char *factors, gh_session **out, const char **token);

/* Ends the user's live sessions other than keep_id (only_id not NULL: that
 * one alone), in the caller's transaction, each audited (session.ended with
 * reason) with its tokens and back-channel logouts; *ended: how many. */
gh_dbrc gh_sessions_end_others(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                               const char *keep_id, const char *only_id, const char *reason,
                               size_t *ended);

/* Ends session s (its tokens and back-channel logouts go with it). */
gh_dbrc gh_sessions_end(const gh_ctx *x, gh_dbconn *c, const gh_session *s);

#endif
