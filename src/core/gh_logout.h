/*
 * gh_logout: back-channel logout delivery (OpenID Connect Back-Channel
 * Logout 1.0) through a database queue.
 *
 * Requests never talk to relying parties. Whatever ends a session
 * (sign-out, /logout, ending other sessions, a new sign-in replacing the
 * browser's session, the per-account session cap) revokes it with
 * gh_store_session_revoke, which in the same statement batch queues one
 * logout_queue row per client that got tokens in that session; the caller
 * commits and calls gh_logout_kick. Sender threads (GH_LOGOUT_SENDERS per
 * process, any instance may deliver any row) claim due rows with a
 * conditional UPDATE, look the client's backchannel_logout_uri up, sign a
 * fresh logout token and POST it through gh_outbound (address policy, no
 * redirects, time and size caps) without holding a database connection.
 * Every attempt is a logout_attempts row and a log line (never the token).
 * A timeout, a failed connection or a 5xx is retried GH_LOGOUT_MAX_ATTEMPTS
 * times in all, waits of 1, 4, 16 and 64 s; a 4xx, a 3xx (redirects are not
 * followed) or an address the policy refuses fails at once.
 *
 * The queue holds no token: a row is what is needed to sign one (session,
 * client, user), and the token is signed at each attempt with a fresh iat,
 * exp and jti. So a database reader finds nothing to replay, a retry a
 * minute later still carries a token within its two-minute lifetime, and a
 * key rotation in between is harmless.
 */
#ifndef GH_LOGOUT_H
#define GH_LOGOUT_H

#include <stdint.h>

#include "gh_app.h"
#include "gh_arena.h"
#include "gh_db.h"

enum {
    GH_LOGOUT_SENDERS = 2,      /* threads: one black-hole RP never holds up every other */
    GH_LOGOUT_MAX_ATTEMPTS = 5, /* attempts per (session, client) */
    GH_LOGOUT_BACKOFF_BASE_MS = 1000,
    GH_LOGOUT_CLAIM_MS = 30 * 1000, /* a claim outlives the longest attempt */
    GH_LOGOUT_CONNECT_TIMEOUT_MS = 2000,
    GH_LOGOUT_TIMEOUT_MS = 3000, /* per attempt, the whole POST */
    GH_LOGOUT_MAX_RESPONSE = 4096,
    GH_LOGOUT_TOKEN_TTL_S = 120
};

/* Starts the sender threads (after the store is open and gh_outbound_init);
 * stops them (each finishes the POST in hand, bounded by its timeout). */
int gh_logout_start(gh_app *app);
void gh_logout_stop(void);
/* Wakes a sender now (after a commit that queued rows) instead of at its
 * next poll (every second). Safe from any thread, and when none runs. */
void gh_logout_kick(void);

/* The wait in ms after failed attempt number attempt (1-based). */
int64_t gh_logout_backoff_ms(int attempt);

/* ---- the queue (gh_store_logout.c) ---- */

typedef struct gh_logout_row {
    const char *tenant_id;
    const char *session_id;
    const char *client_id;
    const char *user_id;
    const char *status; /* pending, sending, sent, failed, skipped */
    long long attempts; /* including the one just claimed */
} gh_logout_row;

/* Queues a row per client that got a code or refresh token in the session,
 * within the caller's transaction (gh_store_session_revoke calls it). A
 * session already queued for a client is not queued twice. */
gh_dbrc gh_store_logout_enqueue(gh_dbconn *c, gh_arena *a, const char *tenant,
                                const char *session_id, long long now);
/* The most overdue claimable row (tenant, session and client set).
 * NOTFOUND: none. */
gh_dbrc gh_store_logout_next_due(gh_dbconn *c, gh_arena *a, int64_t now, gh_logout_row *out);
/* Claims the row if still claimable, counting the attempt. NOTFOUND: taken
 * by another sender, or not due. */
gh_dbrc gh_store_logout_claim(gh_dbconn *c, gh_arena *a, const gh_logout_row *key, int64_t now,
                              gh_logout_row *out);
/* Records attempt number m->attempts: a logout_attempts row and the queue
 * row's new state, in one transaction. outcome: "sent", "retry"
 * (next_attempt_at applies), "failed" or "skipped" (no URI any more). */
gh_dbrc gh_store_logout_record(gh_dbconn *c, gh_arena *a, const gh_logout_row *m,
                               const char *outcome, const char *error, int64_t now,
                               int64_t next_attempt_at);

#endif
