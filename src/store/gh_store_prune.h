/*
 * gh_store_prune: the janitor. Deletes rows that can no longer matter —
 * expired codes, tokens, flows, ceremonies, ended sessions, decayed
 * throttles, old finished mail and back-channel logout rows — so those tables do not grow without
 * bound.
 *
 * Users (except self-service sign-ups never verified, after
 * GATEHOUSE_UNVERIFIED_ACCOUNT_TTL: gh_store_unverified_due, used by
 * gh_deletion_prune_unverified), credentials,
 * second factors, recovery codes, clients, consents,
 * signing keys (gh_keys retires its own) and the audit log are never
 * touched. Every DELETE runs in autocommit, so no lock outlives its
 * statement; on SQLite, where a write locks the whole database, each
 * statement covers a window of at most a few thousand rows.
 */
#ifndef GH_STORE_PRUNE_H
#define GH_STORE_PRUNE_H

#include "gh_config.h"
#include "gh_db.h"

/* Rows deleted per table by one gh_store_prune. */
typedef struct gh_prune_counts {
    long long sessions;
    long long auth_codes;
    long long refresh_tokens;
    long long revoked_tokens;
    long long used_jtis;
    long long email_flows;
    long long auth_challenges;
    long long throttles;
    long long mail_attempts;
    long long mail_outbox;
    long long logout_attempts;
    long long logout_queue;
    long long devices;
    long long notice_links;
    /* comm_unsubscribe_links a day past their expiry */
    long long unsubscribe_links;
} gh_prune_counts;

/* Deletes what is dead at now (ms), one table per statement; out (zeroed
 * first) counts each table. Stops at the first statement that fails and
 * returns its code; out then holds what was deleted before it. */
gh_dbrc gh_store_prune(gh_dbconn *c, gh_arena *a, long long now, gh_prune_counts *out);
/* The sum of all counts. */
long long gh_prune_total(const gh_prune_counts *n);

/* Work of a higher layer that runs after each gh_store_prune, on the same
 * thread (the purge of deleted accounts, gh_deletion_purge_due). Set before
 * gh_prune_start; NULL: none. */
typedef void (*gh_prune_hook)(gh_db *db, const gh_config *cfg);
void gh_prune_set_hook(gh_prune_hook hook);

/* Starts the thread that runs gh_store_prune every
 * cfg->prune_interval seconds (the first run a little after start-up);
 * nothing when the interval is 0. -1 when the thread cannot start. */
int gh_prune_start(gh_db *db, const gh_config *cfg);
/* Wakes the thread and waits for it (a run in progress finishes first);
 * a no-op when it is not running. */
void gh_prune_stop(void);

#endif
