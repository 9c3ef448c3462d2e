#include "testdb.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gh_audit_log.h"
#include "gh_crypto.h"
#include "gh_db.h"
#include "gh_keys.h"
#include "gh_metrics_series.h"
#include "gh_store_users.h"

static const char *admin_url(void)
{
    const char *u = getenv("GATEHOUSE_TEST_DATABASE_URL");
    return u && *u ? u : NULL;
}

bool test_db_pg(void)
{
    return admin_url() != NULL;
}

/* Runs one statement on the admin database (CREATE/DROP DATABASE cannot run
 * through gh_db: they refuse to run inside a transaction block). */
int test_db_admin(const char *sql)
{
    PGconn *c = PQconnectdb(admin_url());
    int rc = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        ExecStatusType st = PQresultStatus(r);
        rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
        PQclear(r);
    }
    if (rc != 0)
        fprintf(stderr, "testdb: %s: %s", sql, PQerrorMessage(c));
    PQfinish(c);
    return rc;
}

/* The admin URL with its database name replaced by name. */
static int url_for(const char *base, const char *name, char *out, size_t len)
{
    const char *auth = strstr(base, "://");
    if (!auth)
        return -1;
    auth += 3;
    size_t end = strcspn(auth, "/?"); /* the host part ends at the path or the query */
    const char *query = strchr(auth + end, '?');
    int n =
        snprintf(out, len, "%.*s/%s%s", (int)(auth + end - base), base, name, query ? query : "");
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

const char *test_db_create(test_db *t, const char *prefix)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/%s-XXXXXX", prefix);
    if (!mkdtemp(t->dir)) {
        t->dir[0] = '\0';
        return NULL;
    }
    snprintf(t->path, sizeof(t->path), "%s/t.db", t->dir);
    if (!test_db_pg())
        return t->path;
    char id[GH_UUID_STRLEN + 1], sql[96];
    gh_uuid(id);
    snprintf(t->pgname, sizeof(t->pgname), "gh_unit_%.8s_%.4s", id, id + 9);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", t->pgname);
    if (url_for(admin_url(), t->pgname, t->url, sizeof(t->url)) != 0 || test_db_admin(sql) != 0) {
        t->pgname[0] = '\0';
        return NULL;
    }
    return t->url;
}

void test_db_drop(test_db *t)
{
    if (t->pgname[0]) {
        char sql[96];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", t->pgname);
        test_db_admin(sql);
        t->pgname[0] = '\0';
    }
    if (t->path[0]) {
        const char *suffix[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            char p[160];
            snprintf(p, sizeof(p), "%s%s", t->path, suffix[i]);
            unlink(p);
        }
    }
    if (t->dir[0])
        rmdir(t->dir);
    memset(t, 0, sizeof(*t));
}

struct gh_db *test_db_open(test_db *t, const char *prefix, unsigned pool)
{
    char err[256] = "";
    const char *where = test_db_create(t, prefix);
    if (!where)
        return NULL;
    /* audit events need the chain's key; a fixed one for tests */
    static const uint8_t test_master[GH_MASTER_KEY_BYTES] = {1};
    gh_audit_log_set_key(test_master);
    gh_db *db = gh_db_open(where, pool, err, sizeof(err));
    if (db && gh_db_migrate(db, err, sizeof(err)) == 0)
        return db;
    fprintf(stderr, "%s: %s\n", prefix, err[0] ? err : "cannot open the database");
    gh_db_close(db);
    return NULL;
}

const char *test_db_user(gh_dbconn *c, gh_arena *a, const char *email)
{
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    gh_user u = {.tenant_id = GH_DEFAULT_TENANT,
                 .id = gh_arena_strdup(a, id),
                 .username = email,
                 .email = email,
                 .active = true,
                 .version = 1,
                 .created_at = 1000,
                 .updated_at = 1000};
    return u.id && gh_store_user_insert(c, a, &u) == GH_DB_OK ? u.id : NULL;
}

bool test_store_open(test_store *s, const char *prefix, unsigned pool)
{
    memset(s, 0, sizeof(*s));
    s->db = test_db_open(&s->t, prefix, pool);
    s->c = s->db ? gh_db_acquire(s->db) : NULL;
    s->a = gh_arena_new(0);
    if (s->c && s->a)
        return true;
    fprintf(stderr, "%s: no connection or arena\n", prefix);
    test_store_close(s);
    return false;
}

void test_store_close(test_store *s)
{
    if (s->c)
        gh_db_release(s->c);
    gh_db_close(s->db);
    gh_arena_free(s->a);
    test_db_drop(&s->t);
    memset(s, 0, sizeof(*s));
}

/* The number of keys the default tenant publishes. */
static size_t default_keys(void)
{
    json_t *set = gh_keys_jwks_for(GH_DEFAULT_TENANT);
    size_t n = json_array_size(json_object_get(set, "keys"));
    json_decref(set);
    return n;
}

int test_db_keys_ready(gh_config *cfg, gh_app *app, gh_db *db, char *err, size_t errlen)
{
    gh_random(cfg->master_key, sizeof(cfg->master_key));
    cfg->master_key_set = true;
    cfg->keys_refresh = 30;
    cfg->access_token_ttl = 600;
    cfg->id_token_ttl = 3600;
    app->cfg = cfg;
    app->db = db;
    if (gh_keys_init(app, err, errlen) != 0)
        return -1;
    for (int i = 0; i < 500 && default_keys() < 2; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

long long test_metric(gh_arena *a, const char *series)
{
    gh_strbuf out = {.a = a};
    gh_metrics_render_all(NULL, &out);
    size_t n = strlen(series);
    for (const char *at = out.failed ? NULL : out.buf; at && (at = strstr(at, series)); at += n)
        if ((at == out.buf || at[-1] == '\n') && at[n] == ' ')
            return atoll(at + n + 1);
    return -1;
}
