/*
 * gh_store_ratelimit: shared rate-limit counts (gh_store_ratelimit.h).
 */
#include "gh_store_ratelimit.h"

gh_dbrc gh_store_ratelimit_add(gh_dbconn *c, gh_arena *a, const char *key, long long window_start,
                               long long delta, long long *total)
{
    static const char sql[] =
        "INSERT INTO ratelimit_counts (key, window_start, count) VALUES ($1, $2, $3) "
        "ON CONFLICT (key, window_start) DO UPDATE SET count = ratelimit_counts.count + $3 "
        "RETURNING count";
    gh_dbparam p[] = {GH_TEXT(key), GH_INT(window_start), GH_INT(delta)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 3, &r);
    if (rc != GH_DB_OK)
        return rc;
    *total = r.nrows ? gh_dbres_int(&r, 0, 0) : delta;
    return GH_DB_OK;
}

gh_dbrc gh_store_ratelimit_prune(gh_dbconn *c, gh_arena *a, long long before)
{
    static const char sql[] = "DELETE FROM ratelimit_counts WHERE window_start < $1";
    gh_dbparam p[] = {GH_INT(before)};
    return gh_db_exec(c, a, sql, p, 1, NULL);
}
