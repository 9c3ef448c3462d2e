/*
 * gh_audit_sealer: the sealing thread (gh_audit_sealer.h).
 */
#include "gh_audit_sealer.h"

#include <pthread.h>

#include "gh_audit_log.h"
#include "gh_log.h"
#include "gh_ticker.h"

/* Turns are FOLLOW_MS apart at the closest; an idle thread still turns
 * every IDLE_MS (events written by `gatehouse` commands or another
 * instance). */
enum { FOLLOW_MS = 20, IDLE_MS = 1000 };

static struct {
    pthread_mutex_t mu; /* guards ticker: an append that fetched wake
                           before the stop may still call it */
    gh_ticker *ticker;  /* NULL: no thread */
    gh_db *db;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* gh_audit_log's wake: the ticker signals once per burst of appends. */
static void wake(void)
{
    pthread_mutex_lock(&S.mu);
    gh_ticker_wake(S.ticker);
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

/* One turn. Turns are at least FOLLOW_MS apart, however often appends
 * wake the thread: under load a turn chains a batch, not one event, and the
 * sealer's transactions stay few (on SQLite each holds the one write lock).
 * While events arrive it looks again FOLLOW_MS later (the transaction that
 * woke it may not have committed yet); once a follow-up turn finds nothing
 * it idles. */
static unsigned turn(void *arg, bool woken)
{
    long long n = gh_audit_sealer_once(arg);
    return woken || n > 0 ? FOLLOW_MS : IDLE_MS;
}

int gh_audit_sealer_start(gh_db *db)
{
    if (S.ticker)
        return 0;
    S.db = db;
    gh_ticker *t = gh_ticker_start("audit sealer", turn, db, IDLE_MS, FOLLOW_MS);
    if (!t)
        return -1;
    pthread_mutex_lock(&S.mu);
    S.ticker = t;
    pthread_mutex_unlock(&S.mu);
    gh_audit_log_set_sealer(wake);
    return 0;
}

void gh_audit_sealer_stop(void)
{
    if (!S.ticker)
        return;
    gh_audit_log_set_sealer(NULL);
    pthread_mutex_lock(&S.mu);
    gh_ticker *t = S.ticker;
    S.ticker = NULL;
    pthread_mutex_unlock(&S.mu);
    gh_ticker_stop(t);
    gh_audit_sealer_once(S.db);
}
