/* Unit tests for the store over a real SQLite file: migrations, users,
 * uniqueness, optimistic locking, SCIM filters as SQL, the audit log.
 * With GATEHOUSE_TEST_DATABASE_URL set (a PostgreSQL URL, as scripts/pg.sh
 * prints), the same tests run on PostgreSQL instead: each test gets a fresh
 * database on that cluster. */
#include <setjmp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gh_audit.h"
#include "gh_crypto.h"
#include "gh_db.h"
#include "gh_log.h"
#include "gh_scim_filter.h"
#include "gh_store_users.h"

#include "testdb.h"

struct fixture {
    test_db t; /* the fresh database (testdb.h) */
    gh_db *db;
    gh_dbconn *c;
    gh_arena *a;
};

static int teardown(void **state);

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    f->db = test_db_open(&f->t, "gh-store", 2);
    if (!f->db)
        goto fail;
    f->c = gh_db_acquire(f->db);
    f->a = gh_arena_new(0);
    return 0;
fail:
    /* cmocka skips the teardown of a test whose setup failed. */
    teardown(state);
    *state = NULL;
    return -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0; /* setup failed and cleaned up already */
    gh_db_release(f->c);
    gh_db_close(f->db);
    gh_arena_free(f->a);
    test_db_drop(&f->t);
    free(f);
    return 0;
}

static gh_user make_user(gh_arena *a, const char *username, long long t)
{
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    return (gh_user){.tenant_id = GH_DEFAULT_TENANT,
                     .id = gh_arena_strdup(a, id),
                     .username = gh_store_normalise_id(a, username),
                     .email = gh_store_normalise_id(a, username),
                     .active = true,
                     .version = 1,
                     .created_at = t,
                     .updated_at = t};
}

static void migrations_are_idempotent(void **state)
{
    struct fixture *f = *state;
    char err[256];
    int v = gh_db_schema_version(f->db);
    assert_true(v >= 1);
    assert_int_equal(gh_db_migrate(f->db, err, sizeof(err)), 0);
    assert_int_equal(gh_db_schema_version(f->db), v);
}

static void insert_get_conflict(void **state)
{
    struct fixture *f = *state;
    gh_user u = make_user(f->a, "  Alice@Example.COM ", 1000), got;
    assert_string_equal(u.username, "alice@example.com");
    assert_int_equal(gh_store_user_insert(f->c, f->a, &u), GH_DB_OK);
    assert_int_equal(gh_store_user_get(f->c, f->a, GH_DEFAULT_TENANT, u.id, &got), GH_DB_OK);
    assert_string_equal(got.username, "alice@example.com");
    assert_true(got.active);
    assert_int_equal(got.version, 1);
    gh_user dup = make_user(f->a, "ALICE@example.com", 1001);
    assert_int_equal(gh_store_user_insert(f->c, f->a, &dup), GH_DB_CONFLICT);
    assert_int_equal(gh_store_user_get(f->c, f->a, GH_DEFAULT_TENANT, "nope", &got),
                     GH_DB_NOTFOUND);
    assert_int_equal(
        gh_store_user_by_email(f->c, f->a, GH_DEFAULT_TENANT, "alice@example.com", &got), GH_DB_OK);
    assert_string_equal(got.id, u.id);
}

static void update_versions_and_preconditions(void **state)
{
    struct fixture *f = *state;
    gh_user u = make_user(f->a, "bob@example.com", 2000);
    assert_int_equal(gh_store_user_insert(f->c, f->a, &u), GH_DB_OK);
    u.given_name = "Bob";
    assert_int_equal(gh_store_user_update(f->c, f->a, &u, 1), GH_DB_OK);
    assert_int_equal(u.version, 2);
    assert_true(u.updated_at > 2000);
    u.given_name = "Robert";
    assert_int_equal(gh_store_user_update(f->c, f->a, &u, 1), GH_DB_PRECONDITION);
    gh_user got;
    gh_store_user_get(f->c, f->a, GH_DEFAULT_TENANT, u.id, &got);
    assert_string_equal(got.given_name, "Bob"); /* nothing changed */
    gh_user ghost = make_user(f->a, "ghost@example.com", 1);
    assert_int_equal(gh_store_user_update(f->c, f->a, &ghost, -1), GH_DB_NOTFOUND);
    assert_int_equal(gh_store_user_delete(f->c, f->a, GH_DEFAULT_TENANT, u.id, 1),
                     GH_DB_PRECONDITION);
    assert_int_equal(gh_store_user_delete(f->c, f->a, GH_DEFAULT_TENANT, u.id, 2), GH_DB_OK);
    assert_int_equal(gh_store_user_delete(f->c, f->a, GH_DEFAULT_TENANT, u.id, -1), GH_DB_NOTFOUND);
}

static void rollback_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    gh_user u = make_user(f->a, "carol@example.com", 3000), got;
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(gh_store_user_insert(f->c, f->a, &u), GH_DB_OK);
    assert_int_equal(gh_store_password_set(f->c, f->a, GH_DEFAULT_TENANT, u.id, "$argon2id$x"),
                     GH_DB_OK);
    gh_db_rollback(f->c);
    assert_int_equal(gh_store_user_get(f->c, f->a, GH_DEFAULT_TENANT, u.id, &got), GH_DB_NOTFOUND);
}

/* gh_db_after_commit's record: which calls ran, in order, and how. */
static char after_log[160];
static void after_note(void *arg, bool committed)
{
    size_t n = strlen(after_log);
    if (n + 3 <= sizeof(after_log)) {
        after_log[n] = *(const char *)arg;
        after_log[n + 1] = committed ? '+' : '-';
        after_log[n + 2] = 0;
    }
}

/* After-commit work runs after the commit, in order; at a rollback (or a
 * failed commit, or a release with the transaction open) it is told the
 * writes did not land; outside a transaction it runs at once. A long list
 * (the janitor's batches) waits for the end like a short one. */
static void after_commit_runs_when_final(void **state)
{
    struct fixture *f = *state;
    after_log[0] = 0;
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    gh_db_after_commit(f->c, after_note, "a");
    gh_db_after_commit(f->c, after_note, "b");
    assert_string_equal(after_log, "");
    assert_int_equal(gh_db_commit(f->c), GH_DB_OK);
    assert_string_equal(after_log, "a+b+");

    after_log[0] = 0;
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    gh_db_after_commit(f->c, after_note, "c");
    gh_db_rollback(f->c);
    gh_db_after_commit(f->c, after_note, "d"); /* no transaction: at once */
    assert_string_equal(after_log, "c-d+");

    after_log[0] = 0;
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    gh_db_after_commit(f->c, after_note, "e");
    gh_db_fail(f->c, GH_DB_FAIL);
    assert_int_not_equal(gh_db_commit(f->c), GH_DB_OK);
    assert_string_equal(after_log, "e-");

    after_log[0] = 0;
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    for (int i = 0; i < 70; i++) /* past the first buffer, twice */
        gh_db_after_commit(f->c, after_note, i == 69 ? "g" : "f");
    assert_string_equal(after_log, "");
    gh_db_release(f->c); /* an open transaction rolled back */
    assert_int_equal(strlen(after_log), 2 * 70);
    for (int i = 0; i < 70; i++)
        assert_int_equal(after_log[2 * i + 1], '-');
    assert_int_equal(after_log[2 * 69], 'g');
    f->c = gh_db_acquire(f->db);
    assert_non_null(f->c);

    after_log[0] = 0; /* the buffer kept from the last list still works */
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    gh_db_after_commit(f->c, after_note, "h");
    assert_int_equal(gh_db_commit(f->c), GH_DB_OK);
    assert_string_equal(after_log, "h+");
}

static void passwords_replace_and_cascade(void **state)
{
    struct fixture *f = *state;
    gh_user u = make_user(f->a, "dave@example.com", 4000);
    const char *phc = NULL;
    assert_int_equal(gh_store_user_insert(f->c, f->a, &u), GH_DB_OK);
    assert_int_equal(gh_store_password_get(f->c, f->a, GH_DEFAULT_TENANT, u.id, &phc),
                     GH_DB_NOTFOUND);
    gh_store_password_set(f->c, f->a, GH_DEFAULT_TENANT, u.id, "$argon2id$one");
    gh_store_password_set(f->c, f->a, GH_DEFAULT_TENANT, u.id, "$argon2id$two");
    assert_int_equal(gh_store_password_get(f->c, f->a, GH_DEFAULT_TENANT, u.id, &phc), GH_DB_OK);
    assert_string_equal(phc, "$argon2id$two");
    gh_dbres r;
    gh_dbparam p[] = {GH_TEXT(u.id)};
    gh_db_exec(f->c, f->a, "SELECT COUNT(*) FROM credentials WHERE user_id = $1", p, 1, &r);
    assert_int_equal(gh_dbres_int(&r, 0, 0), 1);
    gh_store_user_delete(f->c, f->a, GH_DEFAULT_TENANT, u.id, -1);
    gh_db_exec(f->c, f->a, "SELECT COUNT(*) FROM credentials WHERE user_id = $1", p, 1, &r);
    assert_int_equal(gh_dbres_int(&r, 0, 0), 0); /* ON DELETE CASCADE */
}

/* Issue 15 item 11: the re-hash at sign-in is one upsert, and the schema
 * holds one password row per user, so concurrent re-hashes cannot leave two
 * rows (or, between a DELETE and an INSERT, none). */
static void password_is_one_row_by_constraint(void **state)
{
    struct fixture *f = *state;
    gh_user u = make_user(f->a, "erin@example.com", 5000);
    const char *phc = NULL;
    assert_int_equal(gh_store_user_insert(f->c, f->a, &u), GH_DB_OK);
    assert_int_equal(gh_store_password_set(f->c, f->a, GH_DEFAULT_TENANT, u.id, "$argon2id$one"),
                     GH_DB_OK);
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(gh_store_password_set(f->c, f->a, GH_DEFAULT_TENANT, u.id, "$argon2id$two"),
                     GH_DB_OK);
    assert_int_equal(gh_db_commit(f->c), GH_DB_OK);
    assert_int_equal(gh_store_password_get(f->c, f->a, GH_DEFAULT_TENANT, u.id, &phc), GH_DB_OK);
    assert_string_equal(phc, "$argon2id$two");
    gh_dbres r;
    gh_dbparam p[] = {GH_TEXT(u.id)};
    gh_db_exec(f->c, f->a, "SELECT COUNT(*) FROM credentials WHERE user_id = $1", p, 1, &r);
    assert_int_equal(gh_dbres_int(&r, 0, 0), 1);
    /* a second row of the same type is refused by the schema itself */
    gh_dbparam q[] = {GH_TEXT(GH_DEFAULT_TENANT), GH_TEXT(u.id)};
    assert_int_equal(gh_db_exec(f->c, f->a,
                                "INSERT INTO credentials (tenant_id, id, user_id, type, data, "
                                "created_at) VALUES ($1, 'dup', $2, 'password', 'x', 1)",
                                q, 2, NULL),
                     GH_DB_CONFLICT);
}

/* Runs a filter and returns how many users match (or -1 when refused). */
static long long count_matching(struct fixture *f, const char *text)
{
    gh_sf_node *n = NULL;
    char err[200];
    if (gh_scim_filter_parse(f->a, text, strlen(text), &n, err, sizeof(err)) != GH_SF_OK)
        return -2;
    gh_user_page page;
    gh_dbrc rc =
        gh_store_user_list(f->c, f->a, GH_DEFAULT_TENANT, n, 1, 100, &page, err, sizeof(err));
    return rc == GH_DB_OK ? page.total : -1;
}

static void filters(void **state)
{
    struct fixture *f = *state;
    const char *names[] = {"ann@example.com", "andy@example.org", "zed@example.com",
                           "100%_real@example.com"};
    for (int i = 0; i < 4; i++) {
        gh_user u = make_user(f->a, names[i], 10000 + i);
        u.active = i != 2;
        u.given_name = i == 0 ? "Ann" : NULL;
        assert_int_equal(gh_store_user_insert(f->c, f->a, &u), GH_DB_OK);
    }
    assert_int_equal(count_matching(f, "userName eq \"ANN@example.com\""), 1);
    assert_int_equal(count_matching(f, "emails.value eq \"zed@example.com\""), 1);
    assert_int_equal(count_matching(f, "emails[value eq \"zed@example.com\"]"), 1);
    assert_int_equal(count_matching(f, "userName sw \"an\""), 2);
    assert_int_equal(count_matching(f, "userName ew \".org\""), 1);
    assert_int_equal(count_matching(f, "userName co \"%_\""), 1); /* wildcards are literal */
    assert_int_equal(count_matching(f, "userName co \"_\""), 1);
    assert_int_equal(count_matching(f, "active eq false"), 1);
    assert_int_equal(count_matching(f, "active eq false or userName sw \"ann\""), 2);
    assert_int_equal(count_matching(f, "not (active eq false) and userName sw \"a\""), 2);
    assert_int_equal(count_matching(f, "name.givenName eq \"ann\""), 1); /* caseExact false */
    assert_int_equal(count_matching(f, "name.givenName pr"), 1);
    assert_int_equal(count_matching(f, "meta.created gt \"1970-01-01T00:00:10.001Z\""), 2);
    assert_int_equal(count_matching(f, "urn:ietf:params:scim:schemas:core:2.0:User:userName eq "
                                       "\"zed@example.com\""),
                     1);
    /* injection attempts are plain values */
    assert_int_equal(count_matching(f, "userName eq \"x' OR '1'='1\""), 0);
    /* unsupported attributes and comparisons are refused, not ignored */
    assert_int_equal(count_matching(f, "title eq \"x\""), -1);
    assert_int_equal(count_matching(f, "active eq \"yes\""), -1);
    assert_int_equal(count_matching(f, "meta.created gt \"yesterday\""), -1);
}

static void paging(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof(name), "p%d@example.com", i);
        gh_user u = make_user(f->a, name, 20000 + i);
        gh_store_user_insert(f->c, f->a, &u);
    }
    gh_user_page page;
    char err[100];
    assert_int_equal(
        gh_store_user_list(f->c, f->a, GH_DEFAULT_TENANT, NULL, 2, 2, &page, err, sizeof(err)),
        GH_DB_OK);
    assert_int_equal(page.total, 5);
    assert_int_equal(page.n, 2);
    assert_string_equal(page.users[0].username, "p1@example.com");
    assert_string_equal(page.users[1].username, "p2@example.com");
    assert_int_equal(
        gh_store_user_list(f->c, f->a, GH_DEFAULT_TENANT, NULL, 1, 0, &page, err, sizeof(err)),
        GH_DB_OK);
    assert_int_equal(page.n, 0);
    assert_int_equal(page.total, 5);
}

static void audit_is_append_only(void **state)
{
    struct fixture *f = *state;
    gh_audit_event ev = {.tenant_id = GH_DEFAULT_TENANT,
                         .type = "test.event",
                         .subject = "u1",
                         .actor = "admin",
                         .outcome = "success"};
    assert_int_equal(gh_audit_append(f->c, f->a, &ev), GH_DB_OK);
    gh_dbres r;
    assert_int_equal(gh_db_exec(f->c, f->a, "SELECT type, details FROM audit_events", NULL, 0, &r),
                     GH_DB_OK);
    assert_int_equal(r.nrows, 1);
    assert_string_equal(gh_dbres_get(&r, 0, 1), "{}");
    gh_log_set_level(GH_LOG_ERROR + 1); /* the refused statements log errors */
    assert_int_not_equal(
        gh_db_exec(f->c, f->a, "UPDATE audit_events SET type = 'x'", NULL, 0, NULL), GH_DB_OK);
    assert_int_not_equal(gh_db_exec(f->c, f->a, "DELETE FROM audit_events", NULL, 0, NULL),
                         GH_DB_OK);
    gh_log_set_level(GH_LOG_INFO);
}

/* Where SQLite and PostgreSQL could differ, the store answers the same. */
static void backends_agree(void **state)
{
    struct fixture *f = *state;
    gh_user u = make_user(f->a, "emile@example.com", 5000);
    u.given_name = "\xc3\x89mile"; /* É: lower() folds ASCII only, as the store does */
    assert_int_equal(gh_store_user_insert(f->c, f->a, &u), GH_DB_OK);
    assert_int_equal(count_matching(f, "name.givenName eq \"\xc3\x89MILE\""), 1);
    assert_int_equal(count_matching(f, "name.givenName eq \"\xc3\xa9mile\""), 0);
    assert_int_equal(count_matching(f, "name.givenName sw \"\xc3\x89m\""), 1);
    /* An If-Match version beyond 32 bits is a mismatch, not an error. */
    assert_int_equal(gh_store_user_update(f->c, f->a, &u, 99999999999LL), GH_DB_PRECONDITION);
    assert_int_equal(gh_store_user_delete(f->c, f->a, GH_DEFAULT_TENANT, u.id, 99999999999LL),
                     GH_DB_PRECONDITION);
    /* Ordering is byte-wise (upper case before lower case), not by locale. */
    gh_user lower = make_user(f->a, "lower@example.com", 6000);
    gh_user upper = make_user(f->a, "upper@example.com", 6000);
    lower.id = "a-lower";
    upper.id = "B-upper";
    assert_int_equal(gh_store_user_insert(f->c, f->a, &lower), GH_DB_OK);
    assert_int_equal(gh_store_user_insert(f->c, f->a, &upper), GH_DB_OK);
    gh_user_page page;
    char err[100];
    assert_int_equal(
        gh_store_user_list(f->c, f->a, GH_DEFAULT_TENANT, NULL, 2, 10, &page, err, sizeof(err)),
        GH_DB_OK);
    assert_int_equal(page.n, 2);
    assert_string_equal(page.users[0].id, "B-upper");
    assert_string_equal(page.users[1].id, "a-lower");
}

/* PostgreSQL: a connection the server drops fails the transaction that was
 * open on it (busy, never a write outside it), and the next statement runs
 * on a new connection. */
static void survives_lost_connection(void **state)
{
    struct fixture *f = *state;
    if (!f->t.pgname[0])
        skip(); /* SQLite has no connection to lose */
    char kill[256];
    snprintf(kill, sizeof(kill),
             "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
             "WHERE datname = '%s' AND application_name = 'gatehouse'",
             f->t.pgname);
    gh_user u = make_user(f->a, "lost@example.com", 7000), got;
    gh_log_set_level(GH_LOG_ERROR + 1); /* the lost connection is logged */
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(gh_store_user_insert(f->c, f->a, &u), GH_DB_OK);
    assert_int_equal(test_db_admin(kill), 0);
    assert_int_equal(gh_store_password_set(f->c, f->a, GH_DEFAULT_TENANT, u.id, "$argon2id$x"),
                     GH_DB_BUSY);
    assert_int_equal(gh_db_commit(f->c), GH_DB_BUSY);
    assert_int_equal(gh_store_user_get(f->c, f->a, GH_DEFAULT_TENANT, u.id, &got), GH_DB_NOTFOUND);
    /* Outside a transaction the dropped connection is noticed before use. */
    assert_int_equal(test_db_admin(kill), 0);
    assert_int_equal(gh_store_user_insert(f->c, f->a, &u), GH_DB_OK);
    assert_int_equal(gh_store_user_get(f->c, f->a, GH_DEFAULT_TENANT, u.id, &got), GH_DB_OK);
    gh_log_set_level(GH_LOG_WARN);
}

/* SQLite: under a steady stream of commits from several connections the
 * checkpoints (the upkeep's, and SQLite's own at 8,000 pages) never catch up
 * with the last commit, so the WAL would never start over and its file would
 * grow with every write (380 MB in a 60 s refresh benchmark). The upkeep
 * makes it start over past a length, lowered here to 32 MiB: two
 * connections commit 200 MiB of pages through the WAL without a pause, and
 * the WAL starts over. */
struct wal_writer {
    gh_dbconn *c;
    const char *wal; /* the WAL file's path */
    off_t largest;   /* the largest WAL file this writer saw */
    uint32_t seq;    /* the WAL header's checkpoint sequence, last seen */
    int starts;      /* how often this writer saw it change */
    int failed;      /* inserts that did not succeed */
};

/* Watches the WAL file: its size, and the checkpoint sequence number in its
 * header (bytes 12-15), which SQLite counts up each time the WAL starts
 * over from its beginning. */
static void wal_look(struct wal_writer *w)
{
    struct stat st;
    if (stat(w->wal, &st) == 0 && st.st_size > w->largest)
        w->largest = st.st_size;
    FILE *f = fopen(w->wal, "rb");
    unsigned char h[16];
    if (f && fread(h, 1, sizeof(h), f) == sizeof(h)) {
        uint32_t seq = (uint32_t)h[12] << 24 | (uint32_t)h[13] << 16 | (uint32_t)h[14] << 8 | h[15];
        if (w->seq && seq != w->seq)
            w->starts++;
        w->seq = seq;
    }
    if (f)
        fclose(f);
}

static void *wal_write(void *arg)
{
    struct wal_writer *w = arg;
    gh_arena *a = gh_arena_new(0);
    /* Each row fills a 4 KiB page of its own: every commit adds two pages
     * (the row's, and its parent's) to the WAL. */
    for (int i = 0; i < 12500 && a; i++) {
        if (gh_db_exec(w->c, a, "INSERT INTO wal_fill (pad) VALUES (randomblob(3000))", NULL, 0,
                       NULL) != GH_DB_OK)
            w->failed++;
        if (i % 50 == 0)
            wal_look(w);
    }
    if (!a)
        w->failed = -1;
    gh_arena_free(a);
    return NULL;
}

static void wal_starts_over_under_steady_writes(void **state)
{
    struct fixture *f = *state;
    if (f->t.pgname[0])
        skip(); /* PostgreSQL keeps its own write-ahead log */
    char err[256] = "", wal[sizeof(f->t.path) + 8];
    gh_db_sqlite_set_wal_restart(8192); /* 32 MiB */
    assert_int_equal(gh_db_start_upkeep(f->db, f->t.path, err, sizeof(err)), 0);
    snprintf(wal, sizeof(wal), "%s-wal", f->t.path);
    assert_int_equal(gh_db_exec(f->c, f->a,
                                "CREATE TABLE wal_fill (id INTEGER PRIMARY KEY, pad BLOB)", NULL, 0,
                                NULL),
                     GH_DB_OK);
    struct wal_writer w[2] = {{.c = f->c, .wal = wal}, {.c = gh_db_acquire(f->db), .wal = wal}};
    assert_non_null(w[1].c);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wal_write, &w[1]), 0);
    wal_write(&w[0]);
    pthread_join(t, NULL);
    gh_db_release(w[1].c);

    assert_int_equal(w[0].failed, 0);
    assert_int_equal(w[1].failed, 0);
    gh_dbres res = {0};
    assert_int_equal(gh_db_exec(f->c, f->a, "SELECT count(*) FROM wal_fill", NULL, 0, &res),
                     GH_DB_OK);
    assert_int_equal(gh_dbres_int(&res, 0, 0), 25000);
    /* Without the upkeep's restarts the WAL never starts over, and its file
     * holds every page written: at least 195 MiB here (236 to 300 MiB on
     * the development machine). With them it started over 3-5 times and the
     * file stayed under 70 MiB when the test ran alone; with four copies of
     * it and another test running beside it, 1-6 times and 37-170 MiB. How
     * large the file gets depends on how busy the machine is, so only the
     * restarts are held to. */
    off_t largest = w[0].largest > w[1].largest ? w[0].largest : w[1].largest;
    int starts = w[0].starts > w[1].starts ? w[0].starts : w[1].starts;
    printf("largest WAL file: %.1f MiB; the WAL started over %d times\n",
           (double)largest / (1 << 20), starts);
    gh_db_sqlite_set_wal_restart(0);
    assert_true(starts >= 1);
}

/* Makes INSERTs of audit events of type "test.refused" fail, as a full
 * disk or a broken audit table would: a trigger in the test database. */
static void refuse_test_events(struct fixture *f)
{
    if (f->t.pgname[0]) {
        assert_int_equal(
            gh_db_exec_built(f->c, f->a,
                             "CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS "
                             "$$ BEGIN IF NEW.type = 'test.refused' THEN RAISE EXCEPTION "
                             "'refused'; END IF; RETURN NEW; END $$",
                             NULL, 0, NULL),
            GH_DB_OK);
        assert_int_equal(gh_db_exec_built(f->c, f->a,
                                          "CREATE TRIGGER refuse_event BEFORE INSERT ON "
                                          "audit_events FOR EACH ROW EXECUTE FUNCTION "
                                          "refuse_event()",
                                          NULL, 0, NULL),
                         GH_DB_OK);
    } else {
        assert_int_equal(gh_db_exec_built(f->c, f->a,
                                          "CREATE TRIGGER refuse_event BEFORE INSERT ON "
                                          "audit_events WHEN NEW.type = 'test.refused' "
                                          "BEGIN SELECT RAISE(ABORT, 'refused'); END",
                                          NULL, 0, NULL),
                         GH_DB_OK);
    }
}

static long long count_rows(struct fixture *f, const char *sql, const char *param)
{
    gh_dbres r;
    gh_dbparam p[] = {GH_TEXT(param)};
    assert_int_equal(gh_db_exec_built(f->c, f->a, sql, p, 1, &r), GH_DB_OK);
    return gh_dbres_int(&r, 0, 0);
}

/* Issue 15 item 12, SECURITY.md #47 (ASVS 16.3): an audit event that
 * cannot be written fails the change it records, alike on SQLite and
 * PostgreSQL: the commit answers the failure and neither lands. */
static void failed_event_fails_its_change(void **state)
{
    struct fixture *f = *state;
    refuse_test_events(f);
    gh_log_set_level(GH_LOG_ERROR + 1); /* the refused INSERT logs an error */
    gh_user u = make_user(f->a, "frank@example.com", 7000), got;
    gh_audit_event ev = {
        .tenant_id = GH_DEFAULT_TENANT, .type = "test.refused", .subject = u.id, .actor = "admin"};
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(gh_store_user_insert(f->c, f->a, &u), GH_DB_OK);
    assert_int_not_equal(gh_audit_append(f->c, f->a, &ev), GH_DB_OK);
    /* later statements do not run, as in PostgreSQL's aborted transaction */
    assert_int_equal(gh_store_password_set(f->c, f->a, GH_DEFAULT_TENANT, u.id, "$argon2id$x"),
                     GH_DB_FAIL);
    assert_int_not_equal(gh_db_commit(f->c), GH_DB_OK);
    gh_log_set_level(GH_LOG_INFO);
    assert_int_equal(gh_store_user_get(f->c, f->a, GH_DEFAULT_TENANT, u.id, &got), GH_DB_NOTFOUND);
    assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM audit_events WHERE subject = $1", u.id),
                     0);

    /* the connection is clean again: the same change with a writable event lands with it */
    ev.type = "test.accepted";
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(gh_store_user_insert(f->c, f->a, &u), GH_DB_OK);
    assert_int_equal(gh_audit_append(f->c, f->a, &ev), GH_DB_OK);
    assert_int_equal(gh_db_commit(f->c), GH_DB_OK);
    assert_int_equal(gh_store_user_get(f->c, f->a, GH_DEFAULT_TENANT, u.id, &got), GH_DB_OK);
    assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM audit_events WHERE subject = $1", u.id),
                     1);

    /* outside a transaction a failure is the caller's to handle and
     * leaves the connection usable */
    ev.type = "test.refused";
    gh_log_set_level(GH_LOG_ERROR + 1);
    assert_int_not_equal(gh_audit_append(f->c, f->a, &ev), GH_DB_OK);
    gh_log_set_level(GH_LOG_INFO);
    assert_int_equal(gh_store_user_get(f->c, f->a, GH_DEFAULT_TENANT, u.id, &got), GH_DB_OK);
}

/* Any failed statement fails its transaction on both drivers: a conflict
 * inside one rolls back the writes before it (SQLite would commit them). */
static void conflict_fails_its_transaction(void **state)
{
    struct fixture *f = *state;
    gh_user a = make_user(f->a, "gina@example.com", 8000), got;
    gh_user b = make_user(f->a, "hank@example.com", 8000);
    gh_user dup = make_user(f->a, "gina@example.com", 8001);
    assert_int_equal(gh_store_user_insert(f->c, f->a, &a), GH_DB_OK);
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(gh_store_user_insert(f->c, f->a, &b), GH_DB_OK);
    assert_int_equal(gh_store_user_insert(f->c, f->a, &dup), GH_DB_CONFLICT);
    assert_int_equal(gh_db_commit(f->c), GH_DB_CONFLICT);
    assert_int_equal(gh_store_user_get(f->c, f->a, GH_DEFAULT_TENANT, b.id, &got), GH_DB_NOTFOUND);
    /* a NOTFOUND is an answer, not a failure: the transaction goes on */
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(gh_store_user_get(f->c, f->a, GH_DEFAULT_TENANT, "nope", &got),
                     GH_DB_NOTFOUND);
    assert_int_equal(gh_store_user_insert(f->c, f->a, &b), GH_DB_OK);
    assert_int_equal(gh_db_commit(f->c), GH_DB_OK);
    assert_int_equal(gh_store_user_get(f->c, f->a, GH_DEFAULT_TENANT, b.id, &got), GH_DB_OK);
}

/* Event details are stored in one canonical text (keys sorted, compact),
 * whatever order they were built in: the input of a later hash chain. */
static void event_details_are_canonical(void **state)
{
    struct fixture *f = *state;
    json_t *d = json_pack("{s:s, s:i, s:{s:b, s:n}, s:[s, s]}", "zeta", "a/b \"q\"\n\xc3\xa9",
                          "alpha", 1, "mid", "y", 1, "x", "list", "2", "1");
    gh_audit_event ev = {
        .tenant_id = GH_DEFAULT_TENANT, .type = "test.details", .subject = "canon", .details = d};
    assert_int_equal(gh_audit_append(f->c, f->a, &ev), GH_DB_OK);
    json_decref(d);
    gh_dbres r;
    assert_int_equal(gh_db_exec(f->c, f->a,
                                "SELECT details FROM audit_events WHERE type = 'test.details'",
                                NULL, 0, &r),
                     GH_DB_OK);
    assert_string_equal(gh_dbres_get(&r, 0, 0),
                        "{\"alpha\":1,\"list\":[\"2\",\"1\"],\"mid\":{\"x\":null,\"y\":true},"
                        "\"zeta\":\"a/b \\\"q\\\"\\n\xc3\xa9\"}");
}

/* Back-channel logout (SECURITY.md #29) looks a session's clients up by
 * session_id in auth_codes and refresh_tokens: both lookups use an index
 * instead of scanning the tables (issue 15, item 16). */
static bool has_index(struct fixture *f, const char *table, const char *name)
{
    gh_dbres r;
    gh_dbparam p[] = {GH_TEXT(table), GH_TEXT(name)};
    const char *sql = f->t.pgname[0]
                          ? "SELECT 1 FROM pg_indexes WHERE tablename = $1 AND indexname = $2"
                          : "SELECT 1 FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 "
                            "AND name = $2";
    return gh_db_exec_built(f->c, f->a, sql, p, 2, &r) == GH_DB_OK && r.nrows == 1;
}

static void logout_lookups_use_an_index(void **state)
{
    struct fixture *f = *state;
    assert_true(has_index(f, "auth_codes", "auth_codes_session"));
    assert_true(has_index(f, "refresh_tokens", "refresh_tokens_session"));
    if (f->t.pgname[0])
        return; /* the planner scans tables this small whatever the indexes */
    /* The statement of gh_store_session_clients, as SQLite plans it. */
    static const char plan[] =
        "EXPLAIN QUERY PLAN "
        "SELECT client_id FROM auth_codes WHERE tenant_id = $1 AND session_id = $2 "
        "UNION SELECT client_id FROM refresh_tokens WHERE tenant_id = $1 AND session_id = $2";
    gh_dbparam p[] = {GH_TEXT(GH_DEFAULT_TENANT), GH_TEXT("s1")};
    gh_dbres r;
    assert_int_equal(gh_db_exec_built(f->c, f->a, plan, p, 2, &r), GH_DB_OK);
    bool codes = false, tokens = false;
    for (size_t i = 0; i < r.nrows; i++) {
        const char *d = gh_dbres_get(&r, i, r.ncols - 1);
        codes = codes || strstr(d, "INDEX auth_codes_session (tenant_id=? AND session_id=?)");
        tokens = tokens || strstr(d, "INDEX refresh_tokens_session (tenant_id=? AND session_id=?)");
    }
    assert_true(codes);
    assert_true(tokens);
}

static void parse_time(void **state)
{
    (void)state;
    assert_int_equal(gh_store_parse_time("1970-01-01T00:00:01Z"), 1000);
    assert_int_equal(gh_store_parse_time("1970-01-01T00:00:01.5Z"), 1500);
    assert_int_equal(gh_store_parse_time("1970-01-01T01:00:00+01:00"), 0);
    assert_int_equal(gh_store_parse_time("2011-05-13T04:42:34Z"), 1305261754000LL);
    assert_int_equal(gh_store_parse_time("2011-05-13"), -1);
    assert_int_equal(gh_store_parse_time("2011-13-13T04:42:34Z"), -1);
    assert_int_equal(gh_store_parse_time("2011-05-13T04:42:34"), -1);
    assert_int_equal(gh_store_parse_time(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(migrations_are_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(insert_get_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(update_versions_and_preconditions, setup, teardown),
        cmocka_unit_test_setup_teardown(rollback_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(after_commit_runs_when_final, setup, teardown),
        cmocka_unit_test_setup_teardown(passwords_replace_and_cascade, setup, teardown),
        cmocka_unit_test_setup_teardown(password_is_one_row_by_constraint, setup, teardown),
        cmocka_unit_test_setup_teardown(filters, setup, teardown),
        cmocka_unit_test_setup_teardown(paging, setup, teardown),
        cmocka_unit_test_setup_teardown(audit_is_append_only, setup, teardown),
        cmocka_unit_test_setup_teardown(backends_agree, setup, teardown),
        cmocka_unit_test_setup_teardown(survives_lost_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(wal_starts_over_under_steady_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(logout_lookups_use_an_index, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_event_fails_its_change, setup, teardown),
        cmocka_unit_test_setup_teardown(conflict_fails_its_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(event_details_are_canonical, setup, teardown),
        cmocka_unit_test(parse_time),
    };
    gh_crypto_init();
    gh_log_set_level(GH_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
