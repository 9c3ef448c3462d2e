/*
 * gh_store_throttle: the SQL for throttle counters: failures (or sends) per
 * key and the time a key is blocked until, shared by every instance. The
 * keys are the callers' (sign-in, second-factor codes, mail budgets); the
 * delay curves are proto/gh_throttle.
 */
#ifndef GH_STORE_THROTTLE_H
#define GH_STORE_THROTTLE_H

#include "gh_db.h"

/* Counts a failure for key and returns the new count
 * (failures older than decay_before start again from 1). */
gh_dbrc gh_store_throttle_fail(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key,
                               long long now, long long decay_before, long long *failures);
gh_dbrc gh_store_throttle_block(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key,
                                long long until);
/* blocked_until for key (0 when none). */
gh_dbrc gh_store_throttle_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key,
                              long long *blocked_until);
gh_dbrc gh_store_throttle_clear(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key);

#endif
