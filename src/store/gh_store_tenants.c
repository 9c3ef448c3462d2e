#include "gh_store_tenants.h"

#include <string.h>

#define COLUMNS "id, name, status, host, policy, created_at, updated_at, risk_policy"

static void read_row(const gh_dbres *r, size_t i, gh_tenant_row *t)
{
    t->id = gh_dbres_get(r, i, 0);
    t->name = gh_dbres_get(r, i, 1);
    t->status = gh_dbres_get(r, i, 2);
    t->host = gh_dbres_get(r, i, 3);
    t->policy = gh_dbres_get(r, i, 4);
    t->created_at = gh_dbres_int(r, i, 5);
    t->updated_at = gh_dbres_int(r, i, 6);
    t->risk_policy = gh_dbres_get(r, i, 7);
}

gh_dbrc gh_store_tenants_all(gh_dbconn *c, gh_arena *a, gh_tenant_row **rows, size_t *n)
{
    static const char sql[] = "SELECT " COLUMNS " FROM tenants ORDER BY id";
    gh_dbres r;
    *rows = NULL;
    *n = 0;
    gh_dbrc rc = gh_db_exec(c, a, sql, NULL, 0, &r);
    if (rc != GH_DB_OK || r.nrows == 0)
        return rc;
    gh_tenant_row *out = gh_arena_alloc(a, r.nrows * sizeof(*out));
    if (!out)
        return GH_DB_FAIL;
    for (size_t i = 0; i < r.nrows; i++)
        read_row(&r, i, &out[i]);
    *rows = out;
    *n = r.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_store_tenants_stamp(gh_dbconn *c, gh_arena *a, long long *count, long long *latest)
{
    static const char sql[] = "SELECT COUNT(*), COALESCE(MAX(updated_at), 0) FROM tenants";
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, NULL, 0, &r);
    if (rc != GH_DB_OK)
        return rc;
    *count = r.nrows ? gh_dbres_int(&r, 0, 0) : 0;
    *latest = r.nrows ? gh_dbres_int(&r, 0, 1) : 0;
    return GH_DB_OK;
}

gh_dbrc gh_store_tenant_get(gh_dbconn *c, gh_arena *a, const char *id, gh_tenant_row *out)
{
    static const char sql[] = "SELECT " COLUMNS " FROM tenants WHERE id = $1";
    gh_dbparam p[] = {GH_TEXT(id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 1, &r);
    if (rc != GH_DB_OK)
        return rc;
    if (r.nrows == 0)
        return GH_DB_NOTFOUND;
    read_row(&r, 0, out);
    return GH_DB_OK;
}

gh_dbrc gh_store_tenant_insert(gh_dbconn *c, gh_arena *a, const gh_tenant_row *t)
{
    static const char sql[] =
        "INSERT INTO tenants (" COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    gh_dbparam p[] = {GH_TEXT(t->id),        GH_TEXT(t->name),       GH_TEXT(t->status),
                      GH_TEXT(t->host),      GH_TEXT(t->policy),     GH_INT(t->created_at),
                      GH_INT(t->updated_at), GH_TEXT(t->risk_policy)};
    return gh_db_exec(c, a, sql, p, 8, NULL);
}

gh_dbrc gh_store_tenant_update(gh_dbconn *c, gh_arena *a, const gh_tenant_row *t)
{
    static const char sql[] = "UPDATE tenants SET name = $2, status = $3, host = $4, policy = $5, "
                              "updated_at = $6, risk_policy = $7 WHERE id = $1";
    gh_dbparam p[] = {GH_TEXT(t->id),         GH_TEXT(t->name),   GH_TEXT(t->status),
                      GH_TEXT(t->host),       GH_TEXT(t->policy), GH_INT(t->updated_at),
                      GH_TEXT(t->risk_policy)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 7, &r);
    if (rc == GH_DB_OK && r.changes == 0)
        return GH_DB_NOTFOUND;
    return rc;
}

gh_dbrc gh_store_tenant_wipe_secrets(gh_dbconn *c, gh_arena *a, const char *id)
{
    /* children first: codes and tokens name clients and sessions */
    static const char *const sql[] = {
        "DELETE FROM auth_codes WHERE tenant_id = $1",
        "DELETE FROM refresh_tokens WHERE tenant_id = $1",
        "DELETE FROM logout_attempts WHERE tenant_id = $1",
        "DELETE FROM logout_queue WHERE tenant_id = $1",
        "DELETE FROM consents WHERE tenant_id = $1",
        "DELETE FROM used_jtis WHERE tenant_id = $1",
        "DELETE FROM sessions WHERE tenant_id = $1",
        "DELETE FROM auth_challenges WHERE tenant_id = $1",
        "DELETE FROM clients WHERE tenant_id = $1",
        "DELETE FROM signing_keys WHERE tenant_id = $1",
        "DELETE FROM scim_tokens WHERE tenant_id = $1",
        "DELETE FROM tenant_branding WHERE tenant_id = $1",
        "DELETE FROM tenant_mail_templates WHERE tenant_id = $1",
    };
    gh_dbparam p[] = {GH_TEXT(id)};
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
        gh_dbrc rc = gh_db_exec(c, a, sql[i], p, 1, NULL);
        if (rc != GH_DB_OK)
            return rc;
    }
    return GH_DB_OK;
}

gh_dbrc gh_store_scim_token_insert(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                   const char *hash_hex, const char *name, long long now)
{
    static const char sql[] = "INSERT INTO scim_tokens (tenant_id, id, token_hash, name, "
                              "created_at) VALUES ($1, $2, $3, $4, $5)";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_TEXT(hash_hex), GH_TEXT(name), GH_INT(now)};
    return gh_db_exec(c, a, sql, p, 5, NULL);
}

gh_dbrc gh_store_scim_token_check(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *hash_hex)
{
    static const char sql[] = "SELECT id FROM scim_tokens WHERE tenant_id = $1 AND token_hash = "
                              "$2 AND revoked_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(hash_hex)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    return r.nrows ? GH_DB_OK : GH_DB_NOTFOUND;
}

gh_dbrc gh_store_scim_token_revoke(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                   long long now)
{
    static const char sql[] = "UPDATE scim_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND "
                              "id = $2 AND revoked_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(now)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 3, &r);
    if (rc == GH_DB_OK && r.changes == 0)
        return GH_DB_NOTFOUND;
    return rc;
}

gh_dbrc gh_store_scim_token_list(gh_dbconn *c, gh_arena *a, const char *tenant, gh_dbres *out)
{
    static const char sql[] = "SELECT id, name, created_at, revoked_at FROM scim_tokens WHERE "
                              "tenant_id = $1 ORDER BY created_at, id";
    gh_dbparam p[] = {GH_TEXT(tenant)};
    return gh_db_exec(c, a, sql, p, 1, out);
}
