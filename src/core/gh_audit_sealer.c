/*
 * gh_audit_sealer: the sealing thread (gh_audit_sealer.h).
 */
#include "gh_audit_sealer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "gh_audit_log.h"
#include "gh_log.h"

/* Turns are FOLLOW_MS apart at the closest; a woken turn looks again
 * FOLLOW_MS later (the transaction that woke it may not have committed
 * yet); an idle thread still turns every IDLE_MS (events written by
 * `gatehouse` commands or another instance). */
enum { FOLLOW_MS = 20, IDLE_MS = 1000 };

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop, running, woken;
    atomic_bool pending; /* an append since the thread last looked */
    pthread_t thread;
    gh_db *db;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* gh_audit_log's wake: one signal per burst of appends, not per append. */
static void wake(void)
{
    if (atomic_exchange(&S.pending, true))
        return;
    pthread_mutex_lock(&S.mu);
    S.woken = true;
    pthread_cond_signal(&S.cond);
    pthread_mutex_unlock(&S.mu);
}

long long gh_audit_sealer_once(gh_db *db)
{
    long long sealed = 0, refused = 0;
    gh_arena *a = gh_arena_new(0);
    gh_dbconn *c = a ? gh_db_acquire(db) : NULL;
    gh_dbrc rc = c ? gh_audit_log_seal(c, a, &sealed, &refused) : GH_DB_BUSY;
    gh_db_release(c);
    gh_arena_free(a);
    if (rc != GH_DB_OK) {
        gh_log(GH_LOG_WARN, "audit sealer", "%s; the events wait for the next turn",
               gh_dbrc_str(rc));
        return -1;
    }
    return sealed;
}

static void deadline(struct timespec *t, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    t->tv_sec += ms / 1000 + t->tv_nsec / 1000000000L;
    t->tv_nsec %= 1000000000L;
}

/* Waits until ms have passed or the thread is told to stop; with
 * wakeable, a wake ends the wait too. Under S.mu. */
static void wait_ms(unsigned ms, bool wakeable)
{
    struct timespec until;
    deadline(&until, ms);
    while (!S.stop && !(wakeable && S.woken))
        if (pthread_cond_timedwait(&S.cond, &S.mu, &until) == ETIMEDOUT)
            break;
}

static void *sealer(void *arg)
{
    (void)arg;
    bool follow = false;
    pthread_mutex_lock(&S.mu);
    while (!S.stop) {
        /* Turns are at least FOLLOW_MS apart, however often appends wake
         * the thread: under load a turn chains a batch, not one event, and
         * the sealer's transactions stay few (on SQLite each holds the one
         * write lock). */
        if (!follow && !S.woken)
            wait_ms(IDLE_MS, true);
        if (S.stop)
            break;
        bool woken = S.woken;
        S.woken = false;
        pthread_mutex_unlock(&S.mu);
        atomic_store(&S.pending, false); /* appends from now on wake again */
        long long n = gh_audit_sealer_once(S.db);
        pthread_mutex_lock(&S.mu);
        /* Look again soon while events arrive; back to idle once a
         * follow-up turn finds nothing. */
        follow = woken || n > 0;
        wait_ms(FOLLOW_MS, false);
    }
    pthread_mutex_unlock(&S.mu);
    return NULL;
}

int gh_audit_sealer_start(gh_db *db)
{
    if (S.running)
        return 0;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&S.cond, &attr);
    pthread_condattr_destroy(&attr);
    S.db = db;
    S.stop = false;
    S.woken = false;
    atomic_store(&S.pending, false);
    int err = pthread_create(&S.thread, NULL, sealer, NULL);
    if (err != 0) {
        gh_log(GH_LOG_ERROR, "start failed", "cannot start the audit sealer thread: %s",
               strerror(err));
        return -1;
    }
    S.running = true;
    gh_audit_log_set_sealer(wake);
    return 0;
}

void gh_audit_sealer_stop(void)
{
    if (!S.running)
        return;
    gh_audit_log_set_sealer(NULL);
    pthread_mutex_lock(&S.mu);
    S.stop = true;
    pthread_cond_signal(&S.cond);
    pthread_mutex_unlock(&S.mu);
    pthread_join(S.thread, NULL);
    S.running = false;
    gh_audit_sealer_once(S.db);
}
