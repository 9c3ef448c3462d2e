/*
 * gh_store_keys: the SQL of the signing keys (table signing_keys, migration
 * 3). Written once for SQLite and PostgreSQL.
 */
#include <string.h>

#include "gh_store_keys.h"

#define KEY_COLS "tenant_id, kid, alg, private_jwk, public_jwk, created_at, retired_at, expires_at"

gh_dbrc gh_store_keys_insert(gh_dbconn *c, gh_arena *a, const gh_keyrow *k)
{
    static const char sql[] = "INSERT INTO signing_keys (" KEY_COLS ") VALUES "
                              "($1, $2, $3, $4, $5, $6, $7, $8)";
    gh_dbparam p[] = {
        GH_TEXT(k->tenant_id),
        GH_TEXT(k->kid),
        GH_TEXT(k->alg),
        GH_TEXT(k->private_jwk),
        GH_TEXT(k->public_jwk),
        GH_INT(k->created_at),
        k->retired_at ? GH_INT(k->retired_at) : GH_NULLP,
        k->expires_at ? GH_INT(k->expires_at) : GH_NULLP,
    };
    return gh_db_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL);
}

gh_dbrc gh_store_keys_list(gh_dbconn *c, gh_arena *a, const char *tenant, int live, long long now,
                           gh_keyrow **rows, size_t *n)
{
    /* CAST: PostgreSQL cannot infer the type of a parameter compared only
     * with another parameter. */
    static const char sql[] = "SELECT " KEY_COLS " FROM signing_keys WHERE tenant_id = $1 AND "
                              "(CAST($2 AS BIGINT) = 0 OR expires_at IS NULL OR expires_at > $3) "
                              "ORDER BY created_at DESC, kid";
    static const char all[] = "SELECT " KEY_COLS " FROM signing_keys WHERE "
                              "(CAST($1 AS BIGINT) = 0 OR expires_at IS NULL OR expires_at > $2) "
                              "ORDER BY tenant_id, created_at DESC, kid";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_INT(live ? 1 : 0), GH_INT(now)};
    gh_dbres r;
    *rows = NULL;
    *n = 0;
    gh_dbrc rc = tenant ? gh_db_exec(c, a, sql, p, 3, &r) : gh_db_exec(c, a, all, p + 1, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    if (r.nrows == 0)
        return GH_DB_OK;
    gh_keyrow *out = gh_arena_alloc(a, r.nrows * sizeof(*out));
    if (!out)
        return GH_DB_FAIL;
    for (size_t i = 0; i < r.nrows; i++) {
        out[i].tenant_id = gh_dbres_get(&r, i, 0);
        out[i].kid = gh_dbres_get(&r, i, 1);
        out[i].alg = gh_dbres_get(&r, i, 2);
        out[i].private_jwk = gh_dbres_get(&r, i, 3);
        out[i].public_jwk = gh_dbres_get(&r, i, 4);
        out[i].created_at = gh_dbres_int(&r, i, 5);
        out[i].retired_at = gh_dbres_int(&r, i, 6);
        out[i].expires_at = gh_dbres_int(&r, i, 7);
    }
    *rows = out;
    *n = r.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_store_keys_count_active(gh_dbconn *c, gh_arena *a, const char *tenant, const char *alg,
                                   long long *n)
{
    static const char sql[] = "SELECT COUNT(*) FROM signing_keys WHERE tenant_id = $1 AND "
                              "alg = $2 AND retired_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(alg)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    *n = r.nrows ? gh_dbres_int(&r, 0, 0) : 0;
    return GH_DB_OK;
}

gh_dbrc gh_store_keys_retire(gh_dbconn *c, gh_arena *a, const char *tenant, long long now,
                             long long expires_at)
{
    static const char sql[] = "UPDATE signing_keys SET retired_at = $2, expires_at = $3 WHERE "
                              "tenant_id = $1 AND retired_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_INT(now), GH_INT(expires_at)};
    return gh_db_exec(c, a, sql, p, 3, NULL);
}

gh_dbrc gh_store_keys_delete_expired(gh_dbconn *c, gh_arena *a, const char *tenant, long long now,
                                     long long *deleted)
{
    static const char sql[] = "DELETE FROM signing_keys WHERE tenant_id = $1 AND "
                              "expires_at IS NOT NULL AND expires_at <= $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_INT(now)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK && deleted)
        *deleted = r.changes;
    return rc;
}
