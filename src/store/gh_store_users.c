#include "gh_store_users.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gh_clock.h"
#include "gh_crypto.h"

#define USER_COLS                                                                                  \
    "tenant_id, id, username, email, email_verified, status, external_id, given_name, "            \
    "family_name, display_name, profile, version, created_at, updated_at"
/* what a read returns: the written columns and the deletion date */
#define USER_READ USER_COLS ", delete_at"

char *gh_store_normalise_id(gh_arena *a, const char *s)
{
    if (!s)
        return NULL;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0)
        return NULL;
    char *out = gh_arena_strndup(a, s, n);
    if (!out)
        return NULL;
    for (char *p = out; *p; p++) /* ASCII only: other bytes are kept as they are */
        *p = (char)tolower((unsigned char)*p);
    return out;
}

bool gh_store_email_valid(const char *s)
{
    const char *at = s ? strchr(s, '@') : NULL;
    if (!at || at == s || !at[1] || strchr(at + 1, '@') || strlen(s) > 254)
        return false;
    for (const char *p = s; *p; p++)
        if (isspace((unsigned char)*p) || *p == '<' || *p == '>' || *p == ',' ||
            (unsigned char)*p < 0x20)
            return false;
    return true;
}

static void user_from_row(const gh_dbres *r, size_t row, gh_user *u)
{
    u->tenant_id = gh_dbres_get(r, row, 0);
    u->id = gh_dbres_get(r, row, 1);
    u->username = gh_dbres_get(r, row, 2);
    u->email = gh_dbres_get(r, row, 3);
    u->email_verified = gh_dbres_int(r, row, 4) != 0;
    const char *status = gh_dbres_get(r, row, 5);
    u->active = status && strcmp(status, "active") == 0;
    u->external_id = gh_dbres_get(r, row, 6);
    u->given_name = gh_dbres_get(r, row, 7);
    u->family_name = gh_dbres_get(r, row, 8);
    u->display_name = gh_dbres_get(r, row, 9);
    u->profile = gh_dbres_get(r, row, 10);
    u->version = gh_dbres_int(r, row, 11);
    u->created_at = gh_dbres_int(r, row, 12);
    u->updated_at = gh_dbres_int(r, row, 13);
    u->delete_at = status && strcmp(status, "deleting") == 0 ? gh_dbres_int(r, row, 14) : 0;
}

gh_dbrc gh_store_user_insert(gh_dbconn *c, gh_arena *a, const gh_user *u)
{
    static const char sql[] = "INSERT INTO users (" USER_COLS ") VALUES "
                              "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
    gh_dbparam p[] = {
        GH_TEXT(u->tenant_id),
        GH_TEXT(u->id),
        GH_TEXT(u->username),
        GH_TEXT(u->email),
        GH_INT(u->email_verified),
        GH_TEXT(u->active ? "active" : "disabled"),
        GH_TEXT(u->external_id),
        GH_TEXT(u->given_name),
        GH_TEXT(u->family_name),
        GH_TEXT(u->display_name),
        GH_TEXT(u->profile ? u->profile : "{}"),
        GH_INT(u->version),
        GH_INT(u->created_at),
        GH_INT(u->updated_at),
    };
    return gh_db_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL);
}

static gh_dbrc user_one(gh_dbconn *c, gh_arena *a, const char *sql, const char *tenant,
                        const char *key, gh_user *out)
{
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(key)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK)
        user_from_row(&r, 0, out);
    return rc;
}

gh_dbrc gh_store_user_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                          gh_user *out)
{
    static const char sql[] = "SELECT " USER_READ " FROM users WHERE tenant_id = $1 AND id = $2";
    return user_one(c, a, sql, tenant, id, out);
}

gh_dbrc gh_store_user_by_email(gh_dbconn *c, gh_arena *a, const char *tenant, const char *email,
                               gh_user *out)
{
    static const char sql[] = "SELECT " USER_READ " FROM users WHERE tenant_id = $1 AND email = $2";
    return user_one(c, a, sql, tenant, email, out);
}

/* After an UPDATE or DELETE that touched no row: was the row missing, or
 * had its version moved on? */
static gh_dbrc missing_or_moved(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id)
{
    static const char sql[] = "SELECT version FROM users WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    return rc == GH_DB_OK ? GH_DB_PRECONDITION : rc;
}

gh_dbrc gh_store_user_update(gh_dbconn *c, gh_arena *a, gh_user *u, long long expected_version)
{
    /* CAST: PostgreSQL would infer a 4-byte integer from `$13 < 0` and
     * refuse an expected version beyond its range instead of not matching. */
    static const char sql[] =
        /* an account being deleted stays so when an update only says it is
         * not active; made active, it is no longer being deleted */
        "UPDATE users SET username = $3, email = $4, email_verified = $5, "
        "status = CASE WHEN status = 'deleting' AND $6 = 'disabled' THEN status ELSE $6 END, "
        "delete_at = CASE WHEN $6 = 'active' THEN NULL ELSE delete_at END, "
        "external_id = $7, given_name = $8, family_name = $9, display_name = $10, profile = $11, "
        "version = version + 1, updated_at = $12 "
        "WHERE tenant_id = $1 AND id = $2 "
        "AND (CAST($13 AS BIGINT) < 0 OR version = CAST($13 AS BIGINT)) "
        "RETURNING version";
    long long now = gh_now_ms();
    if (now <= u->updated_at) /* lastModified never goes backwards */
        now = u->updated_at + 1;
    gh_dbparam p[] = {
        GH_TEXT(u->tenant_id),
        GH_TEXT(u->id),
        GH_TEXT(u->username),
        GH_TEXT(u->email),
        GH_INT(u->email_verified),
        GH_TEXT(u->active ? "active" : "disabled"),
        GH_TEXT(u->external_id),
        GH_TEXT(u->given_name),
        GH_TEXT(u->family_name),
        GH_TEXT(u->display_name),
        GH_TEXT(u->profile ? u->profile : "{}"),
        GH_INT(now),
        GH_INT(expected_version),
    };
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), &r);
    if (rc != GH_DB_OK)
        return rc;
    if (r.nrows == 0)
        return missing_or_moved(c, a, u->tenant_id, u->id);
    u->version = gh_dbres_int(&r, 0, 0);
    u->updated_at = now;
    if (u->active) /* made active: no longer being deleted (the SQL above) */
        u->delete_at = 0;
    return GH_DB_OK;
}

gh_dbrc gh_store_user_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                             long long expected_version)
{
    /* CAST: as in gh_store_user_update, for a client's If-Match of any size. */
    static const char sql[] = "DELETE FROM users WHERE tenant_id = $1 AND id = $2 "
                              "AND (CAST($3 AS BIGINT) < 0 OR version = CAST($3 AS BIGINT))";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(expected_version)};
    gh_dbrc rc = gh_db_exec_change(c, a, sql, p, 3, GH_DB_NOTFOUND);
    return rc == GH_DB_NOTFOUND ? missing_or_moved(c, a, tenant, id) : rc;
}

gh_dbrc gh_store_user_set_verified(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *user_id, long long now)
{
    static const char sql[] =
        "UPDATE users SET email_verified = 1, version = version + 1, updated_at = $3 "
        "WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_user_mark_signup(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *user_id)
{
    static const char sql[] = "UPDATE users SET self_signup = 1 WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    return gh_db_exec_change(c, a, sql, p, 2, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_user_pending_signup(gh_dbconn *c, gh_arena *a, const char *tenant,
                                     const char *user_id, bool *pending)
{
    static const char sql[] = "SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 AND "
                              "self_signup = 1 AND email_verified = 0";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK)
        *pending = r.nrows > 0;
    return rc;
}

gh_dbrc gh_store_user_purge(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id)
{
    /* Tables without ON DELETE CASCADE first; credentials, sessions, second
     * factors and recovery codes go with the user row. */
    static const char *const sql[] = {
        "DELETE FROM email_flows WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM auth_codes WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM consents WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM auth_challenges WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM users WHERE tenant_id = $1 AND id = $2",
    };
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    gh_dbrc rc = GH_DB_OK;
    for (size_t i = 0; rc == GH_DB_OK && i < sizeof(sql) / sizeof(sql[0]); i++)
        rc = gh_db_exec(c, a, sql[i], p, 2, NULL);
    return rc;
}

gh_dbrc gh_store_user_deletion_set(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *user_id, long long delete_at, long long now)
{
    static const char sql[] =
        "UPDATE users SET status = 'deleting', delete_at = $3, version = version + 1, "
        "updated_at = $4 WHERE tenant_id = $1 AND id = $2 AND status = 'active'";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_INT(delete_at), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 4, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_user_deletion_get(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *user_id, long long *delete_at)
{
    static const char sql[] = "SELECT delete_at FROM users WHERE tenant_id = $1 AND id = $2 "
                              "AND status = 'deleting' AND delete_at IS NOT NULL";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    gh_dbres r;
    *delete_at = 0;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK && r.nrows > 0)
        *delete_at = gh_dbres_int(&r, 0, 0);
    return rc;
}

gh_dbrc gh_store_user_deletion_clear(gh_dbconn *c, gh_arena *a, const char *tenant,
                                     const char *user_id, long long now)
{
    static const char sql[] =
        "UPDATE users SET status = 'active', delete_at = NULL, version = version + 1, "
        "updated_at = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'deleting'";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_NOTFOUND);
}

/* The (tenant_id, id) rows of sql (parameters p) as two arrays in a. */
static gh_dbrc tenant_id_pairs(gh_dbconn *c, gh_arena *a, const char *sql, const gh_dbparam *p,
                               size_t np, const char ***tenants, const char ***ids, size_t *n)
{
    gh_dbres r;
    *n = 0;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, np, &r);
    if (rc != GH_DB_OK)
        return rc;
    *tenants = gh_arena_alloc(a, (r.nrows + 1) * sizeof(char *));
    *ids = gh_arena_alloc(a, (r.nrows + 1) * sizeof(char *));
    if (!*tenants || !*ids)
        return GH_DB_FAIL;
    for (size_t i = 0; i < r.nrows; i++) {
        (*tenants)[i] = gh_dbres_get(&r, i, 0);
        (*ids)[i] = gh_dbres_get(&r, i, 1);
    }
    *n = r.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_store_user_deletion_due(gh_dbconn *c, gh_arena *a, long long now, size_t max,
                                   const char ***tenants, const char ***ids, size_t *n)
{
    static const char sql[] = "SELECT tenant_id, id FROM users WHERE delete_at IS NOT NULL "
                              "AND delete_at <= $1 AND status = 'deleting' "
                              "ORDER BY delete_at LIMIT $2";
    gh_dbparam p[] = {GH_INT(now), GH_INT((long long)max)};
    return tenant_id_pairs(c, a, sql, p, 2, tenants, ids, n);
}

gh_dbrc gh_store_users_of_deleted_tenants(gh_dbconn *c, gh_arena *a, size_t max,
                                          const char ***tenants, const char ***ids, size_t *n)
{
    static const char sql[] = "SELECT u.tenant_id, u.id FROM users u JOIN tenants t ON "
                              "t.id = u.tenant_id WHERE t.status = 'deleted' LIMIT $1";
    gh_dbparam p[] = {GH_INT((long long)max)};
    return tenant_id_pairs(c, a, sql, p, 1, tenants, ids, n);
}

gh_dbrc gh_store_unverified_due(gh_dbconn *c, gh_arena *a, long long created_before, size_t max,
                                const char ***tenants, const char ***ids, size_t *n)
{
    static const char sql[] = "SELECT tenant_id, id FROM users WHERE self_signup = 1 AND "
                              "email_verified = 0 AND created_at < $1 ORDER BY created_at LIMIT $2";
    gh_dbparam p[] = {GH_INT(created_before), GH_INT((long long)max)};
    return tenant_id_pairs(c, a, sql, p, 2, tenants, ids, n);
}

gh_dbrc gh_store_unverified_claim(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *user_id, long long created_before)
{
    /* A no-op write: it takes the row's lock (PostgreSQL) or the database's
     * (SQLite), so a verification racing the janitor either lands first
     * (no row matches: NOTFOUND) or waits and then finds no account. */
    static const char sql[] =
        "UPDATE users SET version = version + 1 WHERE tenant_id = $1 AND id = $2 AND "
        "self_signup = 1 AND email_verified = 0 AND created_at < $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_INT(created_before)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_NOTFOUND);
}

/* s with LIKE's wildcards (and the escape itself) escaped by a backslash. */
static char *like_escaped(gh_arena *a, const char *s)
{
    size_t n = strlen(s);
    char *out = gh_arena_alloc(a, 2 * n + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = s; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            *o++ = '\\';
        *o++ = *p;
    }
    *o = 0;
    return out;
}

gh_dbrc gh_store_user_purge_traces(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *user_id, const char *email)
{
    /* Throttle keys are "kind:identifier" or "kind:identifier|client
     * address" (gh_accounts_signin, gh_accounts): the address's and the id's
     * counters go, nobody else's. */
    static const char *const sql[] = {
        "DELETE FROM mail_attempts WHERE outbox_id IN "
        "(SELECT id FROM mail_outbox WHERE tenant_id = $1 AND to_addr = $2)",
        "DELETE FROM mail_outbox WHERE tenant_id = $1 AND to_addr = $2",
        "DELETE FROM email_flows WHERE tenant_id = $1 AND email = $2",
        "DELETE FROM throttles WHERE tenant_id = $1 AND "
        "(key LIKE $3 ESCAPE '\\' OR key LIKE $4 ESCAPE '\\' OR key LIKE $5 ESCAPE '\\')",
    };
    const char *ue = like_escaped(a, user_id);
    const char *ee = email ? like_escaped(a, email) : NULL;
    if (!ue || (email && !ee))
        return GH_DB_FAIL;
    gh_dbparam p[] = {
        GH_TEXT(tenant),
        GH_TEXT(email ? email : ""),
        GH_TEXT(gh_arena_printf(a, "%%:%s", ue)),
        GH_TEXT(email ? gh_arena_printf(a, "%%:%s", ee) : ""),
        GH_TEXT(email ? gh_arena_printf(a, "%%:%s|%%", ee) : ""),
    };
    gh_dbrc rc = GH_DB_OK;
    for (size_t i = 0; rc == GH_DB_OK && i < sizeof(sql) / sizeof(sql[0]); i++)
        rc = gh_db_exec(c, a, sql[i], p, i < 3 ? 2 : 5, NULL);
    return rc;
}

gh_dbrc gh_store_password_set(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              const char *phc)
{
    /* One statement, so no moment without a password; UNIQUE (tenant_id,
     * user_id, type) keeps concurrent writers to one row. */
    static const char sql[] =
        "INSERT INTO credentials (tenant_id, id, user_id, type, data, created_at) "
        "VALUES ($1, $3, $2, 'password', $4, $5) ON CONFLICT (tenant_id, user_id, type) "
        "DO UPDATE SET data = excluded.data, created_at = excluded.created_at";
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(id), GH_TEXT(phc),
                      GH_INT(gh_now_ms())};
    return gh_db_exec(c, a, sql, p, 5, NULL);
}

gh_dbrc gh_store_password_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              const char **phc)
{
    static const char sql[] = "SELECT data FROM credentials WHERE tenant_id = $1 AND "
                              "user_id = $2 AND type = 'password'";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK)
        *phc = gh_dbres_get(&r, 0, 0);
    return rc;
}

/* ---- SCIM filters as SQL ----
 *
 * A filter tree becomes a WHERE clause over known columns; every value is a
 * bound parameter, never text in the SQL. */

enum { ATTR_STRING_CI, ATTR_STRING_EXACT, ATTR_STRING_LOWERED, ATTR_BOOL_ACTIVE, ATTR_TIME };

struct attr_map {
    const char *scim; /* attribute path, compared case-insensitively */
    const char *column;
    int kind;
};

static const struct attr_map user_attrs[] = {
    {"id", "id", ATTR_STRING_EXACT},
    {"userName", "username", ATTR_STRING_LOWERED},
    {"emails", "email", ATTR_STRING_LOWERED},
    {"emails.value", "email", ATTR_STRING_LOWERED},
    {"externalId", "external_id", ATTR_STRING_EXACT},
    {"active", "status", ATTR_BOOL_ACTIVE},
    {"name.givenName", "given_name", ATTR_STRING_CI},
    {"name.familyName", "family_name", ATTR_STRING_CI},
    {"displayName", "display_name", ATTR_STRING_CI},
    {"meta.created", "created_at", ATTR_TIME},
    {"meta.lastModified", "updated_at", ATTR_TIME},
};

struct where {
    gh_arena *a;
    char sql[2048];
    size_t len;
    gh_dbparam params[48];
    size_t np;
    char *err;
    size_t errlen;
    bool failed;
};

static void w_add(struct where *w, const char *s)
{
    size_t n = strlen(s);
    if (w->failed || n >= sizeof(w->sql) - w->len) {
        if (!w->failed)
            snprintf(w->err, w->errlen, "filter is too complex");
        w->failed = true;
        return;
    }
    memcpy(w->sql + w->len, s, n + 1);
    w->len += n;
}

/* Appends a parameter placeholder for p. */
static void w_param(struct where *w, gh_dbparam p)
{
    char ph[16];
    if (w->np >= sizeof(w->params) / sizeof(w->params[0])) {
        if (!w->failed)
            snprintf(w->err, w->errlen, "filter has too many values");
        w->failed = true;
        return;
    }
    w->params[w->np++] = p;
    snprintf(ph, sizeof(ph), "$%zu", w->np + 3); /* $1..$3 are tenant, limit, offset */
    w_add(w, ph);
}

static void w_fail(struct where *w, const char *fmt, const char *arg)
{
    if (!w->failed)
        snprintf(w->err, w->errlen, fmt, arg);
    w->failed = true;
}

static const struct attr_map *find_attr(const char *path)
{
    static const char urn[] = "urn:ietf:params:scim:schemas:core:2.0:User:";
    if (strncasecmp(path, urn, sizeof(urn) - 1) == 0)
        path += sizeof(urn) - 1;
    for (size_t i = 0; i < sizeof(user_attrs) / sizeof(user_attrs[0]); i++)
        if (strcasecmp(user_attrs[i].scim, path) == 0)
            return &user_attrs[i];
    return NULL;
}

/* Escapes LIKE wildcards in v and wraps it for co/sw/ew. */
static char *like_pattern(gh_arena *a, const char *v, gh_sf_op op)
{
    size_t n = strlen(v);
    char *out = gh_arena_alloc(a, 2 * n + 3), *o = out;
    if (!out)
        return NULL;
    if (op == GH_SF_CO || op == GH_SF_EW)
        *o++ = '%';
    for (const char *p = v; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            *o++ = '\\';
        *o++ = *p;
    }
    if (op == GH_SF_CO || op == GH_SF_SW)
        *o++ = '%';
    *o = '\0';
    return out;
}

static void w_compare(struct where *w, const struct attr_map *m, const gh_sf_node *n)
{
    static const char *const ops[] = {
        [GH_SF_EQ] = " = ",  [GH_SF_NE] = " <> ", [GH_SF_GT] = " > ",
        [GH_SF_GE] = " >= ", [GH_SF_LT] = " < ",  [GH_SF_LE] = " <= "};
    if (m->kind == ATTR_BOOL_ACTIVE) {
        if ((n->op != GH_SF_EQ && n->op != GH_SF_NE) ||
            (n->vtype != GH_SF_VTRUE && n->vtype != GH_SF_VFALSE))
            return w_fail(w, "%s compares only with eq or ne and true or false", n->attr);
        bool want = (n->vtype == GH_SF_VTRUE) == (n->op == GH_SF_EQ);
        return w_add(w, want ? "(status = 'active')" : "(status <> 'active')");
    }
    if (m->kind == ATTR_TIME) {
        long long t = n->vtype == GH_SF_VSTRING ? gh_store_parse_time(n->value) : -1;
        if (t < 0 || n->op == GH_SF_CO || n->op == GH_SF_SW || n->op == GH_SF_EW)
            return w_fail(w, "%s compares with eq, ne, gt, ge, lt or le and a date-time", n->attr);
        w_add(w, "(");
        w_add(w, m->column);
        w_add(w, ops[n->op]);
        w_param(w, GH_INT(t));
        return w_add(w, ")");
    }
    if (n->vtype == GH_SF_VNULL && (n->op == GH_SF_EQ || n->op == GH_SF_NE)) {
        w_add(w, "(");
        w_add(w, m->column);
        return w_add(w, n->op == GH_SF_EQ ? " IS NULL)" : " IS NOT NULL)");
    }
    if (n->vtype != GH_SF_VSTRING)
        return w_fail(w, "%s compares only with a string", n->attr);
    const char *v = n->value;
    bool fold = m->kind != ATTR_STRING_EXACT;
    if (fold && !(v = gh_store_normalise_id(w->a, v)))
        v = "";
    char col[64];
    snprintf(col, sizeof(col), m->kind == ATTR_STRING_CI ? "lower(%s)" : "%s", m->column);
    w_add(w, "(");
    w_add(w, col);
    if (n->op == GH_SF_CO || n->op == GH_SF_SW || n->op == GH_SF_EW) {
        w_add(w, " LIKE ");
        w_param(w, GH_TEXT(like_pattern(w->a, v, n->op)));
        w_add(w, " ESCAPE '\\'");
    } else {
        w_add(w, ops[n->op]);
        w_param(w, GH_TEXT(v));
    }
    return w_add(w, ")");
}

static void w_node(struct where *w, const gh_sf_node *n, const char *prefix)
{
    char path[256];
    const struct attr_map *m = NULL;
    if (w->failed)
        return;
    if (n->kind == GH_SF_CMP || n->kind == GH_SF_PRESENT) {
        snprintf(path, sizeof(path), "%s%s%s", prefix ? prefix : "", prefix ? "." : "", n->attr);
        m = find_attr(path);
        if (!m)
            return w_fail(w, "filtering on %s is not supported", path);
    }
    switch (n->kind) {
    case GH_SF_CMP:
        return w_compare(w, m, n);
    case GH_SF_PRESENT:
        w_add(w, "(");
        w_add(w, m->column);
        w_add(w, " IS NOT NULL AND ");
        w_add(w, m->column);
        return w_add(w, m->kind == ATTR_TIME || m->kind == ATTR_BOOL_ACTIVE ? " IS NOT NULL)"
                                                                            : " <> '')");
    case GH_SF_AND:
    case GH_SF_OR:
        w_add(w, "(");
        w_node(w, n->left, prefix);
        w_add(w, n->kind == GH_SF_AND ? " AND " : " OR ");
        w_node(w, n->right, prefix);
        return w_add(w, ")");
    case GH_SF_NOT:
        w_add(w, "(NOT ");
        w_node(w, n->left, prefix);
        return w_add(w, ")");
    case GH_SF_VALUEPATH:
        if (n->subattr)
            return w_fail(w, "filtering on %s[...] with a sub-attribute is not supported", n->attr);
        return w_node(w, n->left, n->attr);
    }
}

gh_dbrc gh_store_user_list(gh_dbconn *c, gh_arena *a, const char *tenant, const gh_sf_node *filter,
                           long long start, long long count, gh_user_page *out, char *err,
                           size_t errlen)
{
    struct where *w = gh_arena_alloc(a, sizeof(*w));
    if (!w)
        return GH_DB_FAIL;
    w->a = a;
    w->err = err;
    w->errlen = errlen;
    w_add(w, "WHERE tenant_id = $1");
    if (filter) {
        w_add(w, " AND ");
        w_node(w, filter, NULL);
    }
    if (w->failed)
        return GH_DB_INVALID;

    gh_dbparam *p = gh_arena_alloc(a, (w->np + 3) * sizeof(*p));
    if (!p)
        return GH_DB_FAIL;
    p[0] = GH_TEXT(tenant);
    p[1] = GH_INT(count);
    p[2] = GH_INT(start > 0 ? start - 1 : 0);
    memcpy(p + 3, w->params, w->np * sizeof(*p));

    char *count_sql = gh_arena_printf(a, "SELECT COUNT(*) FROM users %s", w->sql);
    char *page_sql = gh_arena_printf(a,
                                     "SELECT " USER_READ " FROM users %s "
                                     "ORDER BY created_at, id LIMIT $2 OFFSET $3",
                                     w->sql);
    if (!count_sql || !page_sql)
        return GH_DB_FAIL;
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_built(c, a, count_sql, p, w->np + 3, &r);
    if (rc != GH_DB_OK)
        return rc;
    out->total = gh_dbres_int(&r, 0, 0);
    out->n = 0;
    out->users = NULL;
    if (count <= 0)
        return GH_DB_OK;
    rc = gh_db_exec_built(c, a, page_sql, p, w->np + 3, &r);
    if (rc != GH_DB_OK)
        return rc;
    out->users = gh_arena_alloc(a, (r.nrows + 1) * sizeof(gh_user));
    if (!out->users)
        return GH_DB_FAIL;
    for (size_t i = 0; i < r.nrows; i++)
        user_from_row(&r, i, &out->users[i]);
    out->n = r.nrows;
    return GH_DB_OK;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

long long gh_store_parse_time(const char *s)
{
    int Y, M, D, h, m, sec, ms = 0;
    if (!s || strlen(s) < 20 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) ||
        s[7] != '-' || digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &m) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        int scale = 100;
        for (p++; isdigit((unsigned char)*p); p++) {
            ms += (*p - '0') * scale;
            scale /= 10;
        }
    }
    long long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
            return -1;
        offset = (oh * 60LL + om) * 60000LL * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return -1;
    struct tm tm = {.tm_year = Y - 1900,
                    .tm_mon = M - 1,
                    .tm_mday = D,
                    .tm_hour = h,
                    .tm_min = m,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    return (long long)t * 1000 + ms - offset;
}
