#include "gh_db.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gh_clock.h"
#include "gh_db_driver.h"
#include "gh_fs.h"
#include "gh_log.h"
#include "gh_metrics_series.h"

typedef struct after_work {
    gh_db_after_fn fn;
    void *arg;
} after_work;

struct gh_dbconn {
    gh_db *db;
    void *drv; /* the driver's connection */
    bool in_tx;
    /* The first failure inside the open transaction (GH_DB_OK while none):
     * a failed statement, or gh_db_fail. Later statements are refused and
     * gh_db_commit rolls back and answers it, so a transaction commits all
     * of its writes or none, on SQLite as PostgreSQL does by itself. */
    gh_dbrc tx_rc;
    /* gh_db_after_commit's work for the open transaction: nafter of cap,
     * grown as needed and kept for the next transaction; owned by the
     * connection and freed with the pool (gh_db_close). */
    after_work *after;
    size_t nafter, cap;
};

struct gh_db {
    const gh_db_driver *driver;
    gh_dbconn *conns; /* size of them */
    gh_dbconn **free; /* stack of idle connections */
    unsigned size, nfree;
    pthread_mutex_t lock;
    pthread_cond_t available;
    /* Waits for a free connection: how many took over SLOW_WAIT_MS since
     * the last warning, and when that warning was (both under lock). */
    unsigned slow_waits;
    long long warned_ms;
    /* gh_db_start_upkeep's thread and its connection; upkeep_stop under lock */
    pthread_t upkeep_thread;
    bool upkeep_running, upkeep_stop;
    void *upkeep_conn;
    pthread_cond_t upkeep_wake;
};

enum { UPKEEP_EVERY_MS = 50 };

/* A wait this long for a pooled connection means the pool is too small for
 * the load (GATEHOUSE_DB_POOL); warnings about it come at most every
 * WARN_GAP_MS, with the count since the last one. */
enum { SLOW_WAIT_MS = 250, WARN_GAP_MS = 10000 };

const char *gh_dbres_get(const gh_dbres *r, size_t row, size_t col)
{
    if (!r || row >= r->nrows || col >= r->ncols)
        return NULL;
    return r->cells[row * r->ncols + col];
}

long long gh_dbres_int(const gh_dbres *r, size_t row, size_t col)
{
    const char *s = gh_dbres_get(r, row, col);
    return s ? strtoll(s, NULL, 10) : 0;
}

const char *gh_dbrc_str(gh_dbrc rc)
{
    switch (rc) {
    case GH_DB_OK:
        return "ok";
    case GH_DB_NOTFOUND:
        return "not found";
    case GH_DB_CONFLICT:
        return "conflict";
    case GH_DB_BUSY:
        return "busy";
    case GH_DB_INVALID:
        return "invalid";
    case GH_DB_PRECONDITION:
        return "precondition failed";
    case GH_DB_FAIL:
        return "failure";
    }
    return "unknown";
}

static const gh_db_driver *pick_driver(const char *url, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
        return &gh_db_pg_driver;
    return &gh_db_sqlite_driver;
}

gh_db *gh_db_open(const char *url, unsigned size, char *err, size_t errlen)
{
    const gh_db_driver *drv = pick_driver(url, err, errlen);
    if (!drv)
        return NULL;
    if (size == 0)
        size = 1;
    gh_db *db = calloc(1, sizeof(*db));
    if (!db)
        return NULL;
    db->driver = drv;
    db->conns = calloc(size, sizeof(*db->conns));
    db->free = calloc(size, sizeof(*db->free));
    pthread_mutex_init(&db->lock, NULL);
    pthread_cond_init(&db->available, NULL);
    pthread_cond_init(&db->upkeep_wake, NULL);
    if (!db->conns || !db->free)
        goto fail;
    for (unsigned i = 0; i < size; i++) {
        db->conns[i].db = db;
        db->conns[i].drv = drv->connect(url, err, errlen);
        if (!db->conns[i].drv)
            goto fail;
        db->size++;
        db->free[db->nfree++] = &db->conns[i];
    }
    return db;
fail:
    gh_db_close(db);
    return NULL;
}

static void *upkeep_main(void *arg)
{
    gh_db *db = arg;
    pthread_mutex_lock(&db->lock);
    while (!db->upkeep_stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long long ns = until.tv_nsec + (long long)UPKEEP_EVERY_MS * 1000000;
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&db->upkeep_wake, &db->lock, &until);
        if (db->upkeep_stop)
            break;
        pthread_mutex_unlock(&db->lock);
        db->driver->upkeep(db->upkeep_conn);
        pthread_mutex_lock(&db->lock);
    }
    pthread_mutex_unlock(&db->lock);
    return NULL;
}

int gh_db_start_upkeep(gh_db *db, const char *url, char *err, size_t errlen)
{
    if (!db->driver->upkeep || db->upkeep_running)
        return 0;
    db->upkeep_conn = db->driver->connect(url, err, errlen);
    if (!db->upkeep_conn)
        return -1;
    if (pthread_create(&db->upkeep_thread, NULL, upkeep_main, db) != 0) {
        db->driver->disconnect(db->upkeep_conn);
        db->upkeep_conn = NULL;
        snprintf(err, errlen, "cannot start the database upkeep thread");
        return -1;
    }
    db->upkeep_running = true;
    for (unsigned i = 0; i < db->size && db->driver->upkeep_started; i++)
        db->driver->upkeep_started(db->conns[i].drv);
    return 0;
}

void gh_db_close(gh_db *db)
{
    if (!db)
        return;
    if (db->upkeep_running) {
        pthread_mutex_lock(&db->lock);
        db->upkeep_stop = true;
        pthread_cond_signal(&db->upkeep_wake);
        pthread_mutex_unlock(&db->lock);
        pthread_join(db->upkeep_thread, NULL);
        db->driver->disconnect(db->upkeep_conn);
    }
    for (unsigned i = 0; i < db->size; i++) {
        db->driver->disconnect(db->conns[i].drv);
        free(db->conns[i].after);
    }
    pthread_mutex_destroy(&db->lock);
    pthread_cond_destroy(&db->available);
    pthread_cond_destroy(&db->upkeep_wake);
    free(db->conns);
    free(db->free);
    free(db);
}

gh_dbconn *gh_db_acquire(gh_db *db)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    gh_dbconn *c = NULL;
    long long waited = 0, start = 0;
    unsigned slow = 0;
    pthread_mutex_lock(&db->lock);
    if (db->nfree == 0)
        start = gh_mono_ms();
    while (db->nfree == 0)
        if (pthread_cond_timedwait(&db->available, &db->lock, &until) == ETIMEDOUT)
            break;
    if (db->nfree > 0)
        c = db->free[--db->nfree];
    if (start && (waited = gh_mono_ms() - start) >= SLOW_WAIT_MS) {
        db->slow_waits++;
        if (gh_mono_ms() - db->warned_ms >= WARN_GAP_MS) {
            slow = db->slow_waits;
            db->slow_waits = 0;
            db->warned_ms = gh_mono_ms();
        }
    }
    pthread_mutex_unlock(&db->lock);
    gh_metrics_db_pool_wait(start ? (double)(gh_mono_ms() - start) / 1000.0 : 0);
    if (!c)
        gh_log(GH_LOG_WARN, "database pool exhausted", "no connection free after 5 s");
    else if (slow)
        gh_log(GH_LOG_WARN, "database pool wait",
               "%u wait(s) of %d ms or more for a free connection (this one %lld ms); "
               "GATEHOUSE_DB_POOL may be too small",
               slow, (int)SLOW_WAIT_MS, waited);
    return c;
}

gh_dbconn *gh_db_try_acquire(gh_db *db)
{
    gh_dbconn *c = NULL;
    pthread_mutex_lock(&db->lock);
    if (db->nfree > 0)
        c = db->free[--db->nfree];
    pthread_mutex_unlock(&db->lock);
    return c;
}

void gh_db_release(gh_dbconn *c)
{
    if (!c)
        return;
    if (c->in_tx)
        gh_db_rollback(c);
    gh_db *db = c->db;
    pthread_mutex_lock(&db->lock);
    db->free[db->nfree++] = c;
    pthread_cond_signal(&db->available);
    pthread_mutex_unlock(&db->lock);
}

/* Runs a statement unless the open transaction already failed; a failure
 * marks it (see tx_rc). */
static gh_dbrc exec_in_tx(gh_dbconn *c, gh_arena *a, const char *sql, const gh_dbparam *p,
                          size_t np, gh_dbres *out, bool constant_sql)
{
    if (out)
        memset(out, 0, sizeof(*out));
    if (c->in_tx && c->tx_rc != GH_DB_OK)
        return GH_DB_FAIL; /* as PostgreSQL answers in an aborted transaction */
    gh_dbrc rc = c->db->driver->exec(c->drv, a, sql, p, np, out, constant_sql);
    if (rc != GH_DB_OK)
        gh_db_fail(c, rc);
    return rc;
}

gh_dbrc gh_db_exec(gh_dbconn *c, gh_arena *a, const char *sql, const gh_dbparam *p, size_t np,
                   gh_dbres *out)
{
    return exec_in_tx(c, a, sql, p, np, out, true);
}

void gh_db_fail(gh_dbconn *c, gh_dbrc rc)
{
    if (c->in_tx && c->tx_rc == GH_DB_OK && rc != GH_DB_OK)
        c->tx_rc = rc;
}

bool gh_db_one_writer(const gh_dbconn *c)
{
    return c->db->driver->one_writer;
}

gh_dbrc gh_db_exec_built(gh_dbconn *c, gh_arena *a, const char *sql, const gh_dbparam *p, size_t np,
                         gh_dbres *out)
{
    return exec_in_tx(c, a, sql, p, np, out, false);
}

gh_dbrc gh_db_exec_change(gh_dbconn *c, gh_arena *a, const char *sql, const gh_dbparam *p,
                          size_t np, gh_dbrc none)
{
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, np, &r);
    if (rc == GH_DB_OK && r.changes < 1)
        rc = none;
    return rc;
}

gh_dbrc gh_db_exec_row(gh_dbconn *c, gh_arena *a, const char *sql, const gh_dbparam *p, size_t np,
                       gh_dbres *out)
{
    gh_dbrc rc = gh_db_exec(c, a, sql, p, np, out);
    if (rc == GH_DB_OK && out->nrows == 0)
        rc = GH_DB_NOTFOUND;
    return rc;
}

gh_dbrc gh_db_begin(gh_dbconn *c)
{
    gh_dbrc rc = c->db->driver->script(c->drv, c->db->driver->begin_sql);
    if (rc == GH_DB_OK) {
        c->in_tx = true;
        c->tx_rc = GH_DB_OK;
    }
    return rc;
}

gh_dbrc gh_db_begin_read(gh_dbconn *c)
{
    gh_dbrc rc = c->db->driver->script(c->drv, c->db->driver->begin_read_sql);
    if (rc == GH_DB_OK) {
        c->in_tx = true;
        c->tx_rc = GH_DB_OK;
    }
    return rc;
}

/* Runs and forgets the transaction's after-commit work. The list is taken
 * off c first: a fn may begin a transaction of its own on c, with work of
 * its own. The buffer goes back to c unless that left c one of its own. */
static void run_after(gh_dbconn *c, bool committed)
{
    after_work *todo = c->after;
    size_t n = c->nafter, cap = c->cap;
    c->after = NULL;
    c->nafter = c->cap = 0;
    for (size_t i = 0; i < n; i++)
        todo[i].fn(todo[i].arg, committed);
    if (c->after) {
        free(todo);
    } else {
        c->after = todo;
        c->cap = cap;
    }
}

void gh_db_after_commit(gh_dbconn *c, gh_db_after_fn fn, void *arg)
{
    if (!c->in_tx) {
        fn(arg, true);
        return;
    }
    if (c->nafter == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        after_work *grown =
            cap < SIZE_MAX / sizeof(*grown) ? realloc(c->after, cap * sizeof(*grown)) : NULL;
        if (!grown) { /* out of memory: at once, as if it lands */
            fn(arg, true);
            return;
        }
        c->after = grown;
        c->cap = cap;
    }
    c->after[c->nafter].fn = fn;
    c->after[c->nafter].arg = arg;
    c->nafter++;
}

gh_dbrc gh_db_commit(gh_dbconn *c)
{
    gh_dbrc rc = c->tx_rc;
    if (rc == GH_DB_OK && (rc = c->db->driver->script(c->drv, "COMMIT")) == GH_DB_OK) {
        c->in_tx = false;
        run_after(c, true);
        return GH_DB_OK;
    }
    /* A transaction in which something failed lands none of its writes. */
    gh_db_rollback(c);
    return rc;
}

bool gh_db_in_tx(const gh_dbconn *c)
{
    return c->in_tx;
}

void gh_db_rollback(gh_dbconn *c)
{
    c->db->driver->script(c->drv, "ROLLBACK");
    c->in_tx = false;
    c->tx_rc = GH_DB_OK;
    run_after(c, false);
}

static const char create_migrations_table[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)";

static int current_version(gh_dbconn *c, gh_arena *a)
{
    gh_dbres r;
    if (gh_db_exec(c, a, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL, 0, &r) !=
        GH_DB_OK)
        return -1;
    return (int)gh_dbres_int(&r, 0, 0);
}

int gh_db_migrate(gh_db *db, char *err, size_t errlen)
{
    const gh_db_driver *drv = db->driver;
    gh_dbconn *c = gh_db_acquire(db);
    gh_arena *a = gh_arena_new(0);
    int rc = -1;
    if (!c || !a)
        goto out;
    /* One transaction per migration; the lock (or BEGIN IMMEDIATE) makes a
     * second process wait and then see the version the first one reached. */
    for (;;) {
        if (gh_db_begin(c) != GH_DB_OK ||
            (drv->migration_lock_sql && drv->script(c->drv, drv->migration_lock_sql) != GH_DB_OK)) {
            snprintf(err, errlen, "GATEHOUSE_DATABASE: cannot lock the schema for migration");
            goto out;
        }
        /* Created under the lock: on PostgreSQL, instances starting together
         * could otherwise all find it missing, and all but one then fail. */
        if (drv->script(c->drv, create_migrations_table) != GH_DB_OK) {
            snprintf(err, errlen, "GATEHOUSE_DATABASE: cannot create the migrations table");
            goto out;
        }
        int v = current_version(c, a);
        if (v < 0 || (size_t)v > drv->nmigrations) {
            snprintf(err, errlen, "GATEHOUSE_DATABASE: schema version %d is newer than this binary",
                     v);
            goto out;
        }
        if ((size_t)v == drv->nmigrations) {
            gh_db_rollback(c);
            break;
        }
        gh_dbparam p[] = {GH_INT(v + 1), GH_INT(gh_now_ms())};
        int64_t t0 = gh_mono_ms();
        if (drv->script(c->drv, drv->migrations[v]) != GH_DB_OK ||
            gh_db_exec(c, a, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                       p, 2, NULL) != GH_DB_OK ||
            gh_db_commit(c) != GH_DB_OK) {
            snprintf(err, errlen, "GATEHOUSE_DATABASE: migration %d failed", v + 1);
            goto out;
        }
        /* one line per migration, with its time: the progress of a long
         * migration of a large database, on a terminal and in the log */
        gh_log_event(GH_LOG_INFO, "migration applied",
                     json_pack("{s:i, s:i, s:I}", "version", v + 1, "of", (int)drv->nmigrations,
                               "ms", (json_int_t)(gh_mono_ms() - t0)));
    }
    rc = 0;
out:
    gh_db_release(c);
    gh_arena_free(a);
    return rc;
}

int gh_db_schema_version(gh_db *db)
{
    gh_dbconn *c = gh_db_acquire(db);
    gh_arena *a = gh_arena_new(0);
    int v = (c && a) ? current_version(c, a) : -1;
    gh_db_release(c);
    gh_arena_free(a);
    return v;
}

gh_db *gh_db_open_store(const char *url, bool is_postgres, unsigned pool, char *err, size_t errlen)
{
    if (!is_postgres && gh_fs_mkdirs_for(url) != 0) {
        snprintf(err, errlen, "cannot create the directory of %s: %s", url, strerror(errno));
        return NULL;
    }
    gh_db *db = gh_db_open(url, pool, err, errlen);
    if (db && gh_db_migrate(db, err, errlen) != 0) {
        gh_db_close(db);
        db = NULL;
    }
    if (!db && !err[0])
        snprintf(err, errlen, "cannot open the database %s", is_postgres ? "(PostgreSQL)" : url);
    return db;
}

const char *gh_db_display(const char *database, char *out, size_t n)
{
    /* postgresql://user:secret@host/db → postgresql://user@host/db: the
     * password never reaches a terminal or a log */
    const char *scheme = strstr(database, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
    const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
    if (at && (!slash || at < slash) && colon && colon < at)
        snprintf(out, n, "%.*s%s", (int)(colon - database), database, at);
    else
        snprintf(out, n, "%s", database);
    return out;
}

gh_db *gh_db_open_for_command(const char *url, bool is_postgres, unsigned pool, char *err,
                              size_t errlen)
{
    char shown[1024];
    fprintf(stderr, "gatehouse: database %s\n", gh_db_display(url, shown, sizeof(shown)));
    return gh_db_open_store(url, is_postgres, pool, err, errlen);
}
