#include "gh_store_throttle.h"

gh_dbrc gh_store_throttle_fail(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key,
                               long long now, long long decay_before, long long *failures)
{
    static const char sql[] =
        "INSERT INTO throttles (tenant_id, key, failures, last_failure_at, blocked_until) "
        "VALUES ($1, $2, 1, $3, 0) ON CONFLICT (tenant_id, key) DO UPDATE SET "
        "failures = CASE WHEN throttles.last_failure_at < $4 THEN 1 "
        "ELSE throttles.failures + 1 END, last_failure_at = $3 RETURNING failures";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(key), GH_INT(now), GH_INT(decay_before)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 4, &r);
    if (rc != GH_DB_OK)
        return rc;
    *failures = gh_dbres_int(&r, 0, 0);
    return GH_DB_OK;
}

gh_dbrc gh_store_throttle_block(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key,
                                long long until)
{
    static const char sql[] =
        "UPDATE throttles SET blocked_until = $3 WHERE tenant_id = $1 AND key = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(key), GH_INT(until)};
    return gh_db_exec(c, a, sql, p, 3, NULL);
}

gh_dbrc gh_store_throttle_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key,
                              long long *blocked_until)
{
    static const char sql[] =
        "SELECT blocked_until FROM throttles WHERE tenant_id = $1 AND key = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(key)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    *blocked_until = r.nrows ? gh_dbres_int(&r, 0, 0) : 0;
    return GH_DB_OK;
}

gh_dbrc gh_store_throttle_clear(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key)
{
    static const char sql[] = "DELETE FROM throttles WHERE tenant_id = $1 AND key = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(key)};
    return gh_db_exec(c, a, sql, p, 2, NULL);
}
