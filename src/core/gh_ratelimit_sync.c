/*
 * gh_ratelimit_sync: the reconciliation thread (gh_ratelimit_sync.h).
 */
#include "gh_ratelimit_sync.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gh_clock.h"
#include "gh_log.h"
#include "gh_ratelimit.h"
#include "gh_store_ratelimit.h"

/* Counts are kept per minute; rows of windows older than KEEP_MS go. */
enum { WINDOW_MS = 60 * 1000, KEEP_MS = 5 * 60 * 1000, PRUNE_EVERY_MS = 60 * 1000 };
/* Hot keys sent in one turn; more wait for the next. */
enum { MAX_HOT = 4096 };

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop, running;
    pthread_t thread;
    gh_db *db;
    unsigned interval_ms;
    int64_t pruned_at;
    gh_rl_hot hot[MAX_HOT];
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

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

static void *syncer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&S.mu);
    while (!S.stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)(S.interval_ms % 1000) * 1000000L;
        until.tv_sec += S.interval_ms / 1000 + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        while (!S.stop)
            if (pthread_cond_timedwait(&S.cond, &S.mu, &until) == ETIMEDOUT)
                break;
        if (S.stop)
            break;
        pthread_mutex_unlock(&S.mu);
        gh_ratelimit_sync_once(S.db);
        pthread_mutex_lock(&S.mu);
    }
    pthread_mutex_unlock(&S.mu);
    return NULL;
}

int gh_ratelimit_sync_start(gh_db *db, const gh_config *cfg)
{
    if (!cfg->database_is_postgres || !cfg->rate_limits || cfg->rl_sync_ms == 0 || S.running)
        return 0;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&S.cond, &attr);
    pthread_condattr_destroy(&attr);
    S.db = db;
    S.interval_ms = cfg->rl_sync_ms;
    S.stop = false;
    int err = pthread_create(&S.thread, NULL, syncer, NULL);
    if (err != 0) {
        gh_log(GH_LOG_ERROR, "start failed", "cannot start the rate-limit sync thread: %s",
               strerror(err));
        return -1;
    }
    S.running = true;
    return 0;
}

void gh_ratelimit_sync_stop(void)
{
    if (!S.running)
        return;
    pthread_mutex_lock(&S.mu);
    S.stop = true;
    pthread_cond_signal(&S.cond);
    pthread_mutex_unlock(&S.mu);
    pthread_join(S.thread, NULL);
    S.running = false;
}
