#include "gh_store_notices.h"

#define COLUMNS                                                                                    \
    "tenant_id, id, user_id, kind, token_hash, old_email, created_at, expires_at, used_at"

gh_dbrc gh_store_notice_link_insert(gh_dbconn *c, gh_arena *a, const gh_notice_link *l)
{
    static const char sql[] =
        "INSERT INTO notice_links (" COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)";
    gh_dbparam p[] = {GH_TEXT(l->tenant_id), GH_TEXT(l->id),         GH_TEXT(l->user_id),
                      GH_TEXT(l->kind),      GH_TEXT(l->token_hash), GH_TEXT(l->old_email),
                      GH_INT(l->created_at), GH_INT(l->expires_at)};
    return gh_db_exec(c, a, sql, p, 8, NULL);
}

gh_dbrc gh_store_notice_link_find(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *token_hash, gh_notice_link *out)
{
    static const char sql[] =
        "SELECT " COLUMNS " FROM notice_links WHERE tenant_id = $1 AND token_hash = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(token_hash)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    *out = (gh_notice_link){.tenant_id = gh_dbres_get(&r, 0, 0),
                            .id = gh_dbres_get(&r, 0, 1),
                            .user_id = gh_dbres_get(&r, 0, 2),
                            .kind = gh_dbres_get(&r, 0, 3),
                            .token_hash = gh_dbres_get(&r, 0, 4),
                            .old_email = gh_dbres_get(&r, 0, 5),
                            .created_at = gh_dbres_int(&r, 0, 6),
                            .expires_at = gh_dbres_int(&r, 0, 7),
                            .used_at = gh_dbres_int(&r, 0, 8)};
    return GH_DB_OK;
}

gh_dbrc gh_store_notice_link_use(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                 long long now)
{
    static const char sql[] = "UPDATE notice_links SET used_at = $3 WHERE tenant_id = $1 AND "
                              "id = $2 AND used_at IS NULL AND expires_at > $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_user_set_locked(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                                 long long at)
{
    static const char lock[] = "UPDATE users SET locked_at = $3 WHERE tenant_id = $1 AND id = $2";
    static const char unlock[] =
        "UPDATE users SET locked_at = NULL WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_INT(at)};
    return gh_db_exec_change(c, a, at > 0 ? lock : unlock, p, at > 0 ? 3 : 2, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_user_locked_at(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                                long long *at)
{
    static const char sql[] =
        "SELECT COALESCE(locked_at, 0) FROM users WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK)
        *at = gh_dbres_int(&r, 0, 0);
    return rc;
}
