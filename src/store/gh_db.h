/*
 * gh_db: the database connection layer under the store.
 *
 * A gh_db is a pool of connections to one database through a driver (SQLite
 * now; PostgreSQL drops in as a second driver). SQL is written once, in a
 * dialect both accept: `$1`-style parameters, integer milliseconds for times,
 * TEXT for ids and JSON. Only store modules (gh_store*.c, gh_audit.c) write
 * SQL; nothing above them sees a driver type.
 *
 * Results are copied into the caller's arena as text cells, so a result lives
 * as long as the request that asked for it and needs no freeing.
 */
#ifndef GH_DB_H
#define GH_DB_H

#include <stdbool.h>
#include <stddef.h>

#include "gh_arena.h"

typedef enum {
    GH_DB_OK = 0,
    GH_DB_NOTFOUND,     /* no row where one was expected */
    GH_DB_CONFLICT,     /* a unique or foreign-key constraint refused the write */
    GH_DB_BUSY,         /* the database is locked or unreachable for now: retry later (503) */
    GH_DB_INVALID,      /* the caller asked for something the store cannot express */
    GH_DB_PRECONDITION, /* an expected version did not match (optimistic locking) */
    GH_DB_FAIL,         /* anything else; logged where it happened */
} gh_dbrc;

typedef enum { GH_DBP_NULL, GH_DBP_TEXT, GH_DBP_INT } gh_dbptype;

typedef struct gh_dbparam {
    gh_dbptype type;
    const char *s;
    long long i;
} gh_dbparam;

/* Parameter constructors; GH_TEXT(NULL) binds SQL NULL. */
static inline gh_dbparam gh_dbp_text(const char *s)
{
    return (gh_dbparam){s ? GH_DBP_TEXT : GH_DBP_NULL, s, 0};
}
#define GH_TEXT(x) gh_dbp_text(x)
#define GH_INT(x)  ((gh_dbparam){GH_DBP_INT, NULL, (long long)(x)})
#define GH_NULLP   ((gh_dbparam){GH_DBP_NULL, NULL, 0})

typedef struct gh_dbres {
    size_t nrows;
    size_t ncols;
    const char **cells; /* nrows * ncols, row-major; NULL for SQL NULL */
    long long changes;  /* rows changed by an INSERT/UPDATE/DELETE */
    /* ncols column names as the database reports them, and whether each
     * column is declared with an integer type (false when unknown); both
     * NULL for a statement that returns no columns. */
    const char **names;
    const bool *int_cols;
} gh_dbres;

const char *gh_dbres_get(const gh_dbres *r, size_t row, size_t col);
long long gh_dbres_int(const gh_dbres *r, size_t row, size_t col);

typedef struct gh_db gh_db;
typedef struct gh_dbconn gh_dbconn;

/* Opens a pool of `size` connections to url (a file path or postgresql://)
 * and applies migrations. Returns NULL with a reason in err. */
gh_db *gh_db_open(const char *url, unsigned size, char *err, size_t errlen);
void gh_db_close(gh_db *db);
/* Starts the driver's background upkeep (SQLite: WAL checkpoints off the
 * request threads) on a connection of its own, until gh_db_close. For the
 * server, before the pool is in use; a no-op for drivers without upkeep.
 * -1 with a reason in err. */
int gh_db_start_upkeep(gh_db *db, const char *url, char *err, size_t errlen);
/* SQLite: the WAL length, in pages, past which the upkeep makes the WAL
 * start over (default 32,768, 128 MiB); 0 restores the default. For tests,
 * which cannot write that much quickly. */
void gh_db_sqlite_set_wal_restart(int frames);

/* Opens the store a command works on: creates the directory of a SQLite
 * file (0700) when missing, opens a pool of pool connections and applies
 * pending migrations. NULL with a one-line reason in err. */
gh_db *gh_db_open_store(const char *url, bool is_postgres, unsigned pool, char *err, size_t errlen);
/* The same for a command run by hand: first says on stderr which database
 * it opens ("gatehouse: database ...", without a URL's password). */
gh_db *gh_db_open_for_command(const char *url, bool is_postgres, unsigned pool, char *err,
                              size_t errlen);
/* Applies pending migrations; safe to run from several processes at once. */
int gh_db_migrate(gh_db *db, char *err, size_t errlen);
/* Newest migration version applied (0 for none). */
int gh_db_schema_version(gh_db *db);

/* Takes a connection for this thread; waits up to 5 s, then NULL (busy). */
gh_dbconn *gh_db_acquire(gh_db *db);
/* A free connection at once, or NULL without waiting: for work that may
 * be skipped when the pool is busy (a polling thread must not wait). */
gh_dbconn *gh_db_try_acquire(gh_db *db);
/* Gives it back; a transaction still open is rolled back. */
void gh_db_release(gh_dbconn *c);

/* Runs one statement whose text is a string constant (its prepared form is
 * cached per connection). out (may be NULL) receives the rows in the arena. */
gh_dbrc gh_db_exec(gh_dbconn *c, gh_arena *a, const char *sql, const gh_dbparam *p, size_t np,
                   gh_dbres *out);
/* True when a write statement locks the whole database until it ends
 * (SQLite): work over many rows must then be cut into short statements. */
bool gh_db_one_writer(const gh_dbconn *c);
/* The same for SQL text built at run time; it is prepared each time. */
gh_dbrc gh_db_exec_built(gh_dbconn *c, gh_arena *a, const char *sql, const gh_dbparam *p, size_t np,
                         gh_dbres *out);
/* gh_db_exec for a write that must change a row: `none` (NOTFOUND or
 * CONFLICT, the caller's contract) when it changed none. */
gh_dbrc gh_db_exec_change(gh_dbconn *c, gh_arena *a, const char *sql, const gh_dbparam *p,
                          size_t np, gh_dbrc none);
/* gh_db_exec for a statement expected to give a row: NOTFOUND when it gave
 * none, else the caller reads row 0 of out (required). */
gh_dbrc gh_db_exec_row(gh_dbconn *c, gh_arena *a, const char *sql, const gh_dbparam *p, size_t np,
                       gh_dbres *out);

/* Explicit write transactions. A transaction lands all of its writes or
 * none, alike on every driver: once a statement in it fails (or gh_db_fail
 * marks it), later statements answer GH_DB_FAIL without running, and
 * gh_db_commit rolls back and answers the first failure. A write expected
 * to conflict inside a transaction must therefore say so in its SQL
 * (ON CONFLICT ... DO NOTHING / DO UPDATE), never by failing. */
gh_dbrc gh_db_begin(gh_dbconn *c);
/* A read-only transaction that sees one consistent snapshot until it ends
 * (gatehouse export); ended with gh_db_commit or gh_db_rollback. */
gh_dbrc gh_db_begin_read(gh_dbconn *c);
gh_dbrc gh_db_commit(gh_dbconn *c);
void gh_db_rollback(gh_dbconn *c);
/* Marks the open transaction failed with rc (not GH_DB_OK), for a failure
 * of the work around the statements (e.g. an audit event that could not be
 * serialised); nothing outside a transaction, or when one failed already. */
void gh_db_fail(gh_dbconn *c, gh_dbrc rc);
/* True while c has a transaction open (gh_db_begin or gh_db_begin_read). */
bool gh_db_in_tx(const gh_dbconn *c);

/* Work for when the open transaction's writes are final: fn(arg, true) runs
 * after its commit, fn(arg, false) at its rollback (or a failed commit),
 * in the order given. Outside a transaction fn(arg, true) runs at once.
 * fn owns arg: it frees it either way. Any number per transaction; only
 * when the list cannot grow (out of memory) does fn(arg, true) run at
 * once. For counters that must not count what never landed (the journey
 * metrics) and wakes that must find the rows (the audit sealer). */
typedef void (*gh_db_after_fn)(void *arg, bool committed);
void gh_db_after_commit(gh_dbconn *c, gh_db_after_fn fn, void *arg);

const char *gh_dbrc_str(gh_dbrc rc);

/* The database named in database (a SQLite path or a postgresql:// URL) as
 * a command may show it: a URL's password left out. Returns out. */
const char *gh_db_display(const char *database, char *out, size_t n);

#endif
