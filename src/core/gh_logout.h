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
#include "gh_store_logout.h"

enum {
    GH_LOGOUT_SENDERS = 2,      /* threads: one black-hole RP never holds up every other */
    GH_LOGOUT_MAX_ATTEMPTS = 5, /* attempts per (session, client) */
    GH_LOGOUT_BACKOFF_BASE_MS = 1000,
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

#endif
