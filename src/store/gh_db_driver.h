/*
 * gh_db_driver: what a database backend provides to gh_db. Private to the
 * gh_db*.c files.
 */
#ifndef GH_DB_DRIVER_H
#define GH_DB_DRIVER_H

#include "gh_db.h"

typedef struct gh_db_driver {
    const char *name;
    /* Opens one connection; returns NULL with a reason in err. */
    void *(*connect)(const char *url, char *err, size_t errlen);
    void (*disconnect)(void *conn);
    /* constant_sql: sql is a string constant, so its prepared form may be cached. */
    gh_dbrc (*exec)(void *conn, gh_arena *a, const char *sql, const gh_dbparam *p, size_t np,
                    gh_dbres *out, bool constant_sql);
    /* Runs several statements without parameters (migrations). */
    gh_dbrc (*script)(void *conn, const char *sql);
    /* Starts a write transaction that serialises with other writers. */
    const char *begin_sql;
    /* Starts a read-only transaction on one snapshot. */
    const char *begin_read_sql;
    /* Serialises migrations between processes for the life of a transaction. */
    const char *migration_lock_sql;
    const char *const *migrations; /* migrations[i] brings the schema to version i+1 */
    /* Background upkeep on a connection of its own, run every 50 ms
     * by gh_db_start_upkeep (SQLite: a WAL checkpoint); NULL when none. */
    void (*upkeep)(void *conn);
    /* Called on each pooled connection when the upkeep starts, so that it
     * leaves the upkeep's work to it (SQLite: no checkpoints at commits);
     * NULL when nothing changes. */
    void (*upkeep_started)(void *conn);
    size_t nmigrations;
    /* A write statement holds the only write lock of the whole database
     * until it ends (SQLite), so a long one stalls every other writer. */
    bool one_writer;
} gh_db_driver;

extern const gh_db_driver gh_db_sqlite_driver;
extern const gh_db_driver gh_db_pg_driver;

#endif
