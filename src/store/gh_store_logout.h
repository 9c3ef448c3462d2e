/*
 * gh_store_logout: SQL for the back-channel logout queue (gh_logout delivers what is queued here).
 */
#ifndef GH_STORE_LOGOUT_H
#define GH_STORE_LOGOUT_H

#include <stdint.h>

#include "gh_arena.h"
#include "gh_db.h"

enum {
    GH_LOGOUT_CLAIM_MS = 30 * 1000 /* a claim outlives the longest attempt */
};

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
