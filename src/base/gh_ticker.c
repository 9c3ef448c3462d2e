/*
 * gh_ticker: a background thread taking turns (gh_ticker.h).
 */
#include "gh_ticker.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gh_log.h"

struct gh_ticker {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* on CLOCK_MONOTONIC: a wall-clock step moves no wait */
    bool stop, woken;    /* under mu */
    atomic_bool pending; /* a wake since the thread last began a turn */
    pthread_t thread;
    gh_ticker_fn fn;
    void *arg;
    unsigned first_ms, min_gap_ms;
};

/* The monotonic time ms from now. */
static void deadline(struct timespec *t, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    t->tv_sec += ms / 1000 + t->tv_nsec / 1000000000L;
    t->tv_nsec %= 1000000000L;
}

/* Waits until ms have passed or the ticker is stopped; with wakeable, a
 * wake ends the wait too. Under t->mu. */
static void wait_ms(gh_ticker *t, unsigned ms, bool wakeable)
{
    struct timespec until;
    deadline(&until, ms);
    while (!t->stop && !(wakeable && t->woken))
        if (pthread_cond_timedwait(&t->cond, &t->mu, &until) == ETIMEDOUT)
            break;
}

static void *run(void *arg)
{
    gh_ticker *t = arg;
    unsigned next = t->first_ms;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        /* the gap first, deaf to wakes; then the rest, which a wake ends */
        unsigned gap = next < t->min_gap_ms ? next : t->min_gap_ms;
        wait_ms(t, gap, false);
        if (next > gap)
            wait_ms(t, next - gap, true);
        if (t->stop)
            break;
        bool woken = t->woken;
        t->woken = false;
        pthread_mutex_unlock(&t->mu);
        atomic_store(&t->pending, false); /* wakes from now on signal again */
        next = t->fn(t->arg, woken);
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

gh_ticker *gh_ticker_start(const char *name, gh_ticker_fn fn, void *arg, unsigned first_ms,
                           unsigned min_gap_ms)
{
    gh_ticker *t = calloc(1, sizeof(*t));
    if (!t) {
        gh_log(GH_LOG_ERROR, "start failed", "cannot start the %s thread: out of memory", name);
        return NULL;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cond, &attr);
    pthread_condattr_destroy(&attr);
    t->fn = fn;
    t->arg = arg;
    t->first_ms = first_ms;
    t->min_gap_ms = min_gap_ms;
    atomic_init(&t->pending, false);
    int err = pthread_create(&t->thread, NULL, run, t);
    if (err != 0) {
        gh_log(GH_LOG_ERROR, "start failed", "cannot start the %s thread: %s", name, strerror(err));
        pthread_cond_destroy(&t->cond);
        pthread_mutex_destroy(&t->mu);
        free(t);
        return NULL;
    }
    return t;
}

void gh_ticker_wake(gh_ticker *t)
{
    if (!t || atomic_exchange(&t->pending, true))
        return;
    pthread_mutex_lock(&t->mu);
    t->woken = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

void gh_ticker_stop(gh_ticker *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
