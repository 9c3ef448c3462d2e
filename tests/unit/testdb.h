/*
 * testdb: a fresh, throwaway database for unit tests that touch the store.
 *
 * By default a SQLite file in a new temporary directory. With
 * GATEHOUSE_TEST_DATABASE_URL set (a PostgreSQL URL, as scripts/pg.sh
 * prints), a new database on that cluster instead, so the same tests run on
 * both backends.
 */
#ifndef TESTDB_H
#define TESTDB_H

#include <stdbool.h>

#include "gh_app.h"
#include "gh_config.h"
#include "gh_db.h"

typedef struct test_db {
    char dir[64];
    char path[128];  /* the SQLite file (also set on PostgreSQL, unused there) */
    char pgname[48]; /* the PostgreSQL database; "" on SQLite */
    char url[1024];
} test_db;

/* true when the tests run on PostgreSQL. */
bool test_db_pg(void);
/* Makes the database; returns what to give gh_db_open, or NULL (reason on
 * stderr). prefix names the temporary directory, e.g. "gh-store". */
const char *test_db_create(test_db *t, const char *prefix);
/* Runs one statement on the PostgreSQL cluster's admin database; 0 on
 * success. */
int test_db_admin(const char *sql);
/* Makes the database, opens it with a pool of pool connections and applies
 * every migration; NULL (reason on stderr) on failure. */
struct gh_db *test_db_open(test_db *t, const char *prefix, unsigned pool);
/* Drops the database and removes its files. Safe on a zeroed struct. */
void test_db_drop(test_db *t);
/* An active user of the default tenant with this address (also its
 * username); its id in a, or NULL when the insert failed. */
const char *test_db_user(gh_dbconn *c, gh_arena *a, const char *email);

/* What most store and service tests hold: a fresh database, one connection
 * taken from it and an arena. */
typedef struct test_store {
    test_db t;
    gh_db *db;
    gh_dbconn *c;
    gh_arena *a;
} test_store;
/* Fills s (test_db_open with pool connections); false, with the reason on
 * stderr, when any of it cannot be had (what was got is given back). */
bool test_store_open(test_store *s, const char *prefix, unsigned pool);
/* Gives back whatever test_store_open got; safe on a zeroed struct. */
void test_store_close(test_store *s);

/* The key service over db as the key tests use it: cfg gets a random
 * master key and fixed refresh and token lifetimes, app points at cfg and
 * db, gh_keys_init runs, and the call waits (up to 5 s) until the default
 * tenant publishes both its keys: start-up makes the ES256 key, the
 * refresh thread the RS256 one right after. cfg and app must outlive the
 * keys (gh_keys_shutdown). 0, or -1 with the reason in err. */
int test_db_keys_ready(gh_config *cfg, gh_app *app, gh_db *db, char *err, size_t errlen);

/* The value of one series as /metrics shows it (gh_metrics_render_all),
 * series written with its labels as there, e.g.
 * `gatehouse_audit_sealed_total{result="refused"}`; -1 when it is not
 * shown. The text is rendered in a. */
long long test_metric(gh_arena *a, const char *series);

#endif
