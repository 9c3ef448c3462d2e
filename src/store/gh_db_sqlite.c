/*
 * gh_db_sqlite: the embedded SQLite driver for gh_db.
 *
 * Each connection runs in WAL mode with foreign keys on and a busy timeout,
 * and keeps its prepared statements in a small cache keyed by the address of
 * the SQL text (every statement is a string constant in a store module).
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gh_db_driver.h"
#include "gh_log.h"
#include "gh_migrations.h"

enum { STMT_CACHE = 128, MAX_PARAMS = 64 };

struct cached_stmt {
    const char *sql; /* key: the string constant's address */
    sqlite3_stmt *stmt;
};

struct sqlite_conn {
    sqlite3 *db;
    struct cached_stmt cache[STMT_CACHE];
    long long busy_since_us; /* when the current wait for a lock began */
    long long busy_limit_us; /* how long a wait may last: BUSY_LIMIT_US but in sq_upkeep */
    int restarted_at;        /* sq_upkeep: the WAL's length in frames at its last RESTART */
    int restart_pause;       /* sq_upkeep: rounds to skip after a RESTART gave up */
    int restart_failures;    /* sq_upkeep: RESTARTs in a row that gave up (at most 5) */
};

enum {
    BUSY_LIMIT_US = 5000000,
    /* The WAL length past which sq_upkeep makes the WAL start over, in
     * frames (pages): 128 MiB at the default 4 KiB. */
    WAL_RESTART_FRAMES = 32768,
    /* How long the restarting checkpoint waits for the write lock and for
     * readers; writers wait behind it meanwhile. */
    RESTART_WAIT_US = 20000,
    /* A RESTART that gave up is tried again at the next round, then after
     * 1, 3, 7 ... rounds (50 ms each), at most RESTART_PAUSE_MAX apart: a
     * busy moment costs little time, and a long reader (gatehouse export)
     * costs writers at most 20 ms a second. */
    RESTART_PAUSE_MAX = 20,
};

static long long mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Called while another connection holds the write lock. SQLite's own
 * handler (sqlite3_busy_timeout) sleeps 1, 2, 5, 10 ... 100 ms between
 * tries, which turned two request threads refreshing tokens at once into
 * waits of tens of milliseconds for a lock held for well under one. Retry
 * soon instead, backing off to 1 ms, for up to BUSY_LIMIT_US in all. */
static int sq_busy(void *arg, int count)
{
    struct sqlite_conn *c = arg;
    long long now = mono_us();
    if (count == 0)
        c->busy_since_us = now;
    if (now - c->busy_since_us >= c->busy_limit_us)
        return 0;
    struct timespec pause = {0, count < 20 ? 50000 : count < 200 ? 200000 : 1000000};
    nanosleep(&pause, NULL);
    return 1;
}

/* A checkpoint copies committed pages from the WAL into the database file
 * and syncs both: 15-50 ms on the benchmark machine. Left to SQLite, it runs
 * inside the commit that crosses the threshold, and that request waits (the
 * p99 of the refresh grant). The server runs it here, on its own connection,
 * every 50 ms (gh_db.c UPKEEP_EVERY_MS); PASSIVE never waits for readers
 * or writers. Writers still feel each sync, and the longer the sync the
 * longer they stall: at 1,700 refreshes/s, the half-peak p99 of the refresh
 * grant was 3.8-5.8 ms in 6 runs with 50 ms, 6.1-17.4 ms with 200 ms, and
 * 16-61 ms with 1 s (bench/oidc.sh, BENCH_ONLY=refresh). */
static void sq_upkeep(void *p);

static gh_dbrc map_error(sqlite3 *db, int rc, const char *sql)
{
    int ext = sqlite3_extended_errcode(db);
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY ||
            ext == SQLITE_CONSTRAINT_FOREIGNKEY)
            return GH_DB_CONFLICT;
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return GH_DB_BUSY;
    default:
        break;
    }
    gh_log_event(GH_LOG_ERROR, "sqlite error",
                 json_pack("{s:i, s:s, s:s}", "code", ext, "error", sqlite3_errmsg(db), "sql",
                           sql ? sql : ""));
    return GH_DB_FAIL;
}

/* Memory statistics would put every SQLite allocation, on every
 * connection, behind one process-wide mutex; nothing here reads them. Must
 * run before SQLite initialises (the first open). */
static pthread_once_t sq_once = PTHREAD_ONCE_INIT;
static void sq_configure(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static void *sq_connect(const char *url, char *err, size_t errlen)
{
    pthread_once(&sq_once, sq_configure);
    struct sqlite_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(url, &c->db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "GATEHOUSE_DATABASE: cannot open %.200s: %s", url,
                 c->db ? sqlite3_errmsg(c->db) : "out of memory");
        goto fail;
    }
    c->busy_limit_us = BUSY_LIMIT_US;
    sqlite3_busy_handler(c->db, sq_busy, c);
    /* WAL lets readers run beside the one writer; NORMAL sync in WAL keeps
     * every committed transaction across a process crash. */
    const char *pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                          "PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF;"
                          /* LIKE is case-sensitive, as on PostgreSQL: SCIM's
                           * caseExact attributes depend on it */
                          "PRAGMA case_sensitive_like=ON;"
                          /* the commands' checkpoints, at the commit that
                           * passes 8,000 pages; the server turns them off
                           * and checkpoints in the background
                           * (sq_upkeep_started) */
                          "PRAGMA wal_autocheckpoint=8000;"
                          /* a WAL file that grew past 256 MiB (behind a
                           * long reader) is cut back to that when the WAL
                           * starts over; a smaller one is kept and
                           * written over (see sq_upkeep) */
                          "PRAGMA journal_size_limit=268435456;";
    char *msg = NULL;
    if (sqlite3_exec(c->db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "GATEHOUSE_DATABASE: %.200s: %s", url, msg ? msg : "pragma failed");
        sqlite3_free(msg);
        goto fail;
    }
    return c;
fail:
    sqlite3_close(c->db);
    free(c);
    return NULL;
}

static void sq_disconnect(void *p)
{
    struct sqlite_conn *c = p;
    if (!c)
        return;
    for (int i = 0; i < STMT_CACHE; i++)
        sqlite3_finalize(c->cache[i].stmt);
    sqlite3_close(c->db);
    free(c);
}

/* Finds or prepares the statement for sql, which must be a string constant:
 * SQL built at run time (a SCIM filter) could reuse a freed address. */
static sqlite3_stmt *stmt_get(struct sqlite_conn *c, const char *sql, int *rc)
{
    size_t h = ((uintptr_t)sql >> 3) % STMT_CACHE;
    for (size_t i = 0; i < STMT_CACHE; i++) {
        struct cached_stmt *e = &c->cache[(h + i) % STMT_CACHE];
        if (e->sql == sql)
            return e->stmt;
        if (!e->sql) {
            *rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->stmt, NULL);
            if (*rc != SQLITE_OK)
                return NULL;
            e->sql = sql;
            return e->stmt;
        }
    }
    return NULL; /* cache full: prepared each time */
}

static int bind_params(sqlite3_stmt *st, const gh_dbparam *p, size_t np)
{
    for (size_t i = 0; i < np; i++) {
        char name[8];
        snprintf(name, sizeof(name), "$%zu", i + 1);
        int idx = sqlite3_bind_parameter_index(st, name);
        if (idx == 0)
            continue; /* not used by this statement */
        int rc;
        switch (p[i].type) {
        case GH_DBP_TEXT:
            rc = sqlite3_bind_text(st, idx, p[i].s, -1, SQLITE_STATIC);
            break;
        case GH_DBP_INT:
            rc = sqlite3_bind_int64(st, idx, p[i].i);
            break;
        default:
            rc = sqlite3_bind_null(st, idx);
            break;
        }
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

/* Column names, and which columns are declared with an integer type (the
 * affinity rule: the declared type contains "INT"). */
static int column_info(sqlite3_stmt *st, gh_arena *a, gh_dbres *out)
{
    const char **names = gh_arena_alloc(a, out->ncols * sizeof(*names));
    bool *ints = gh_arena_alloc(a, out->ncols * sizeof(*ints));
    if (!names || !ints)
        return -1;
    for (size_t j = 0; j < out->ncols; j++) {
        const char *n = sqlite3_column_name(st, (int)j);
        const char *t = sqlite3_column_decltype(st, (int)j);
        names[j] = gh_arena_strdup(a, n ? n : "");
        ints[j] = t && sqlite3_strlike("%INT%", t, 0) == 0;
        if (!names[j])
            return -1;
    }
    out->names = names;
    out->int_cols = ints;
    return 0;
}

/* Steps through all rows, copying cells into the arena. */
static gh_dbrc collect_rows(struct sqlite_conn *c, sqlite3_stmt *st, gh_arena *a, gh_dbres *out,
                            const char *sql)
{
    size_t ncols = (size_t)sqlite3_column_count(st), cap = 0;
    const char **cells = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!out)
            continue;
        if (out->nrows == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            const char **n = gh_arena_alloc(a, ncap * ncols * sizeof(*n) + 1);
            if (!n)
                return GH_DB_FAIL;
            if (cells)
                memcpy(n, cells, cap * ncols * sizeof(*n));
            cells = n;
            cap = ncap;
        }
        for (size_t j = 0; j < ncols; j++) {
            const unsigned char *t = sqlite3_column_text(st, (int)j);
            const char *v = NULL;
            if (t) {
                v = gh_arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(st, (int)j));
                if (!v)
                    return GH_DB_FAIL;
            }
            cells[out->nrows * ncols + j] = v;
        }
        out->nrows++;
    }
    if (rc != SQLITE_DONE)
        return map_error(c->db, rc, sql);
    if (out) {
        out->ncols = ncols;
        out->cells = cells;
        out->changes = sqlite3_changes64(c->db);
        if (ncols > 0 && column_info(st, a, out) != 0)
            return GH_DB_FAIL;
    }
    return GH_DB_OK;
}

static gh_dbrc sq_exec(void *p, gh_arena *a, const char *sql, const gh_dbparam *params, size_t np,
                       gh_dbres *out, bool constant_sql)
{
    struct sqlite_conn *c = p;
    int rc = SQLITE_OK;
    bool cached = constant_sql;
    sqlite3_stmt *st = constant_sql ? stmt_get(c, sql, &rc) : NULL;
    if (!st && rc == SQLITE_OK) {
        cached = false;
        rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    }
    if (!st)
        return map_error(c->db, rc, sql);
    gh_dbrc result;
    if (np > MAX_PARAMS || (rc = bind_params(st, params, np)) != SQLITE_OK)
        result = map_error(c->db, rc, sql);
    else
        result = collect_rows(c, st, a, out, sql);
    if (cached) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    } else {
        sqlite3_finalize(st);
    }
    return result;
}

static gh_dbrc sq_script(void *p, const char *sql)
{
    struct sqlite_conn *c = p;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? GH_DB_OK : map_error(c->db, rc, sql);
}

/* A PASSIVE checkpoint copies only what was committed when it began. Under
 * a steady stream of commits from several connections no checkpoint (this
 * one, or SQLite's own at a commit past wal_autocheckpoint) ever catches up
 * with the last commit, so the WAL never starts over from its beginning and
 * grows without bound: 380 MB in a 60 s refresh benchmark. Once it is
 * WAL_RESTART_FRAMES long, a RESTART checkpoint follows the passive one: it
 * takes the write lock, copies the frames committed since, and waits for
 * readers to leave the WAL, so that the next commit writes the WAL from its
 * start again. Writers wait behind it for one small sync, every few
 * seconds at 2,000 refreshes/s; if the lock or the readers take longer
 * than RESTART_WAIT_US it gives up, and tries again later
 * (RESTART_PAUSE_MAX). With a restart at 64 MiB the refresh grant's
 * half-peak p99 was 9.0-13.9 ms in 3 runs, at 128 MiB 4.0-8.6 ms in 4
 * (bench/oidc.sh, BENCH_ONLY=refresh).
 *
 * The file is written over, not emptied (TRUNCATE): on the benchmark
 * machine's ext4, a commit that grows the file waits for block allocation
 * behind the checkpoint's sync of the same file, and emptying it waited
 * for discards; both showed up in the refresh grant's p99. */
static _Atomic int wal_restart_frames = WAL_RESTART_FRAMES;

void gh_db_sqlite_set_wal_restart(int frames)
{
    wal_restart_frames = frames > 0 ? frames : WAL_RESTART_FRAMES;
}

static void sq_upkeep(void *p)
{
    struct sqlite_conn *c = p;
    int frames = -1;
    int rc = sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE, &frames, NULL);
    if (c->restart_pause > 0) {
        c->restart_pause--;
    } else if (rc == SQLITE_OK && frames >= wal_restart_frames && frames != c->restarted_at) {
        /* (restarted_at: until a commit starts the WAL over, it still
         * reports its old length) */
        c->busy_limit_us = RESTART_WAIT_US;
        rc = sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_RESTART, NULL, NULL);
        c->busy_limit_us = BUSY_LIMIT_US;
        if (rc == SQLITE_OK) {
            c->restarted_at = frames;
            c->restart_failures = 0;
        } else if (rc == SQLITE_BUSY) {
            int pause = (1 << c->restart_failures) - 1;
            c->restart_pause = pause < RESTART_PAUSE_MAX ? pause : RESTART_PAUSE_MAX;
            if (c->restart_failures < 5) /* 31 rounds is past RESTART_PAUSE_MAX */
                c->restart_failures++;
        }
    }
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        gh_log(GH_LOG_WARN, "sqlite checkpoint failed", "%s", sqlite3_errmsg(c->db));
}

/* Once a PASSIVE checkpoint at a commit no longer catches up (steady
 * writes, above), SQLite tries one at every commit: each commit then pays
 * for copying pages, and those checkpoints hold the checkpoint lock that
 * sq_upkeep's RESTART needs. With the upkeep running, commits only commit. */
static void sq_upkeep_started(void *p)
{
    struct sqlite_conn *c = p;
    sqlite3_wal_autocheckpoint(c->db, 0);
}

const gh_db_driver gh_db_sqlite_driver = {
    .name = "sqlite",
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .exec = sq_exec,
    .script = sq_script,
    .begin_sql = "BEGIN IMMEDIATE",
    /* In WAL mode the first read fixes the snapshot for the transaction. */
    .begin_read_sql = "BEGIN DEFERRED",
    .migration_lock_sql = NULL, /* BEGIN IMMEDIATE already holds the write lock */
    .upkeep = sq_upkeep,
    .upkeep_started = sq_upkeep_started,
    .migrations = gh_sqlite_migrations,
    .nmigrations = GH_MIGRATIONS,
    .one_writer = true,
};
