/*
 * gh_store_ratelimit: the SQL of the rate-limit counts instances share
 * (ratelimit_counts; docs/rate-limits.md). Keys arrive already hashed.
 */
#ifndef GH_STORE_RATELIMIT_H
#define GH_STORE_RATELIMIT_H

#include "gh_db.h"

/* Adds delta (may be negative: tokens given back) to the count of key in
 * the window starting at window_start (ms), one statement; *total is the
 * count after, every instance's tokens included. */
gh_dbrc gh_store_ratelimit_add(gh_dbconn *c, gh_arena *a, const char *key, long long window_start,
                               long long delta, long long *total);
/* Deletes the counts of windows that started before before (ms). */
gh_dbrc gh_store_ratelimit_prune(gh_dbconn *c, gh_arena *a, long long before);

#endif
