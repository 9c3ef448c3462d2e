/*
 * gh_ratelimit_sync: the reconciliation thread (gh_ratelimit_sync.h).
 */
#include "gh_ratelimit_sync.h"

#include <stdio.h>

#include "gh_clock.h"
#include "gh_log.h"
#include "gh_ratelimit.h"
#include "gh_store_ratelimit.h"
#include "gh_ticker.h"

/* Counts are kept per minute; rows of windows older than KEEP_MS go. */
enum { WINDOW_MS = 60 * 1000, KEEP_MS = 5 * 60 * 1000, PRUNE_EVERY_MS = 60 * 1000 };
/* Hot keys sent in one turn; more wait for the next. */
enum { MAX_HOT = 4096 };

static struct {
    gh_ticker *ticker; /* NULL: no thread */
    unsigned interval_ms;
    int64_t pruned_at;
    gh_rl_hot hot[MAX_HOT];
} S;

/* Sends n hot keys on c: one upsert each, the answer applied at once. The
 * tokens of a key whose upsert failed are lost to the others (they count
 * here only): sharing errs toward letting requests through. */
static gh_dbrc send_hot(gh_dbconn *c, gh_arena *a, const gh_rl_hot *hot, size_t n, int64_t window)
{
    gh_dbrc rc = GH_DB_OK;
    for (size_t i = 0; i < n && rc == GH_DB_OK; i++) {
        char key[17];
        long long total = 0;
        snprintf(key, sizeof(key), "%016llx", (unsigned long long)hot[i].id);
        rc = gh_store_ratelimit_add(c, a, key, window, hot[i].delta, &total);
        if (rc == GH_DB_OK)
            gh_ratelimit_apply(hot[i].id, window, hot[i].delta, total);
    }
    return rc;
}

size_t gh_ratelimit_sync_once(gh_db *db)
{
    size_t n = gh_ratelimit_collect(S.hot, MAX_HOT);
    int64_t now = gh_now_ms();
    bool prune = now - S.pruned_at >= PRUNE_EVERY_MS;
    if (n == 0 && !prune)
        return 0;
    gh_arena *a = gh_arena_new(0);
    gh_dbconn *c = a ? gh_db_acquire(db) : NULL;
    gh_dbrc rc = c ? send_hot(c, a, S.hot, n, now / WINDOW_MS * WINDOW_MS) : GH_DB_BUSY;
    if (c && rc == GH_DB_OK && prune) {
        rc = gh_store_ratelimit_prune(c, a, now - KEEP_MS);
        S.pruned_at = now;
    }
    gh_db_release(c);
    gh_arena_free(a);
    if (rc != GH_DB_OK)
        gh_log(GH_LOG_WARN, "rate limit sync", "%s; the limits stay local until the next turn",
               gh_dbrc_str(rc));
    return n;
}

/* One turn of the thread, every interval. */
static unsigned turn(void *db, bool woken)
{
    (void)woken;
    gh_ratelimit_sync_once(db);
    return S.interval_ms;
}

int gh_ratelimit_sync_start(gh_db *db, const gh_config *cfg)
{
    if (!cfg->database_is_postgres || !cfg->rate_limits || cfg->rl_sync_ms == 0 || S.ticker)
        return 0;
    S.interval_ms = cfg->rl_sync_ms;
    S.ticker = gh_ticker_start("rate-limit sync", turn, db, S.interval_ms, 0);
    return S.ticker ? 0 : -1;
}

void gh_ratelimit_sync_stop(void)
{
    gh_ticker_stop(S.ticker);
    S.ticker = NULL;
}
