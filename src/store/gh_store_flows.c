#include "gh_store_flows.h"

#define FLOW_COLS                                                                                  \
    "tenant_id, id, kind, user_id, email, code_hash, link_hash, binding_hash, return_to, "         \
    "attempts, sends, created_at, last_sent_at, expires_at, consumed_at, signup"

gh_dbrc gh_store_flow_insert(gh_dbconn *c, gh_arena *a, const gh_email_flow *f)
{
    static const char sql[] =
        "INSERT INTO email_flows (" FLOW_COLS ") VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, $15)";
    gh_dbparam p[] = {
        GH_TEXT(f->tenant_id),   GH_TEXT(f->id),           GH_TEXT(f->kind),
        GH_TEXT(f->user_id),     GH_TEXT(f->email),        GH_TEXT(f->code_hash),
        GH_TEXT(f->link_hash),   GH_TEXT(f->binding_hash), GH_TEXT(f->return_to),
        GH_INT(f->attempts),     GH_INT(f->sends),         GH_INT(f->created_at),
        GH_INT(f->last_sent_at), GH_INT(f->expires_at),    GH_TEXT(f->signup),
    };
    return gh_db_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL);
}

gh_dbrc gh_store_flow_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                          gh_email_flow *f)
{
    static const char sql[] =
        "SELECT " FLOW_COLS " FROM email_flows WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    f->tenant_id = gh_dbres_get(&r, 0, 0);
    f->id = gh_dbres_get(&r, 0, 1);
    f->kind = gh_dbres_get(&r, 0, 2);
    f->user_id = gh_dbres_get(&r, 0, 3);
    f->email = gh_dbres_get(&r, 0, 4);
    f->code_hash = gh_dbres_get(&r, 0, 5);
    f->link_hash = gh_dbres_get(&r, 0, 6);
    f->binding_hash = gh_dbres_get(&r, 0, 7);
    f->return_to = gh_dbres_get(&r, 0, 8);
    f->attempts = gh_dbres_int(&r, 0, 9);
    f->sends = gh_dbres_int(&r, 0, 10);
    f->created_at = gh_dbres_int(&r, 0, 11);
    f->last_sent_at = gh_dbres_int(&r, 0, 12);
    f->expires_at = gh_dbres_int(&r, 0, 13);
    f->consumed_at = gh_dbres_int(&r, 0, 14);
    f->signup = gh_dbres_get(&r, 0, 15);
    return GH_DB_OK;
}

gh_dbrc gh_store_flow_attempt(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                              long long max, long long *attempts)
{
    static const char sql[] =
        "UPDATE email_flows SET attempts = attempts + 1 WHERE tenant_id = $1 AND id = $2 AND "
        "attempts < $3 AND consumed_at IS NULL RETURNING attempts";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(max)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 3, &r);
    if (rc == GH_DB_OK)
        *attempts = gh_dbres_int(&r, 0, 0);
    return rc;
}

gh_dbrc gh_store_flow_consume(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                              long long now)
{
    static const char sql[] = "UPDATE email_flows SET consumed_at = $3 WHERE tenant_id = $1 AND "
                              "id = $2 AND consumed_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_CONFLICT);
}

gh_dbrc gh_store_flow_renew(gh_dbconn *c, gh_arena *a, const gh_email_flow *f)
{
    static const char sql[] =
        "UPDATE email_flows SET code_hash = $3, link_hash = $4, sends = sends + 1, "
        "last_sent_at = $5, expires_at = $6 WHERE tenant_id = $1 AND id = $2 AND "
        "consumed_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(f->tenant_id), GH_TEXT(f->id),          GH_TEXT(f->code_hash),
                      GH_TEXT(f->link_hash), GH_INT(f->last_sent_at), GH_INT(f->expires_at)};
    return gh_db_exec_change(c, a, sql, p, 6, GH_DB_NOTFOUND);
}
