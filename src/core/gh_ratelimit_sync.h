/*
 * gh_ratelimit_sync: rate limits shared by instances on one PostgreSQL
 * database without a write per request (docs/rate-limits.md).
 *
 * Each instance keeps its buckets in memory (gh_ratelimit). A thread wakes
 * every GATEHOUSE_RATE_LIMIT_SYNC_MS and, for each key with tokens taken
 * here since its last turn (a hot key), adds them to that key's row of the
 * current minute in ratelimit_counts with one upsert that returns the sum
 * of every instance's tokens; what the others took since the last turn is
 * then taken from the local bucket. A request never waits for the
 * database; an attacker spreading over N instances gets at most one
 * interval's worth of extra tokens per instance before the debt arrives.
 */
#ifndef GH_RATELIMIT_SYNC_H
#define GH_RATELIMIT_SYNC_H

#include "gh_config.h"
#include "gh_db.h"

/* Starts the thread (when the store is PostgreSQL, the limits are on and
 * the interval is not 0). Returns 0 or -1. */
int gh_ratelimit_sync_start(gh_db *db, const gh_config *cfg);
/* One turn now (tests); returns the hot keys sent. */
size_t gh_ratelimit_sync_once(gh_db *db);
void gh_ratelimit_sync_stop(void);

#endif
