#include "gh_store_orgs.h"

#include <stdlib.h>
#include <string.h>

gh_dbrc gh_store_org_insert(gh_dbconn *c, gh_arena *a, const char *tenant, const gh_org_row *o)
{
    static const char sql[] =
        "INSERT INTO organizations (tenant_id, id, display_name, "
        "mfa_required, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)";
    gh_dbparam p[] = {GH_TEXT(tenant),          GH_TEXT(o->id),
                      GH_TEXT(o->display_name), GH_INT(o->mfa_required ? 1 : 0),
                      GH_INT(o->created_at),    GH_INT(o->updated_at)};
    return gh_db_exec(c, a, sql, p, 6, NULL);
}

gh_dbrc gh_store_org_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                         gh_org_row *out)
{
    static const char sql[] = "SELECT id, display_name, mfa_required, created_at, updated_at "
                              "FROM organizations WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    *out = (gh_org_row){.id = r.cells[0],
                        .display_name = r.cells[1],
                        .mfa_required = gh_dbres_int(&r, 0, 2) != 0,
                        .created_at = gh_dbres_int(&r, 0, 3),
                        .updated_at = gh_dbres_int(&r, 0, 4)};
    return GH_DB_OK;
}

gh_dbrc gh_store_org_list(gh_dbconn *c, gh_arena *a, const char *tenant, gh_dbres *out)
{
    static const char sql[] = "SELECT id, display_name, mfa_required, created_at, updated_at "
                              "FROM organizations WHERE tenant_id = $1 ORDER BY id";
    gh_dbparam p[] = {GH_TEXT(tenant)};
    return gh_db_exec(c, a, sql, p, 1, out);
}

gh_dbrc gh_store_org_update(gh_dbconn *c, gh_arena *a, const char *tenant, const gh_org_row *o)
{
    static const char sql[] = "UPDATE organizations SET display_name = $3, mfa_required = $4, "
                              "updated_at = $5 WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(o->id), GH_TEXT(o->display_name),
                      GH_INT(o->mfa_required ? 1 : 0), GH_INT(o->updated_at)};
    return gh_db_exec_change(c, a, sql, p, 5, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_org_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id)
{
    /* children first: SQLite enforces the cascade only with foreign keys
     * on, and saying it costs nothing */
    static const char *const sql[] = {
        "DELETE FROM org_members WHERE tenant_id = $1 AND org_id = $2",
        "DELETE FROM org_domains WHERE tenant_id = $1 AND org_id = $2",
    };
    static const char last[] = "DELETE FROM organizations WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id)};
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
        gh_dbrc rc = gh_db_exec(c, a, sql[i], p, 2, NULL);
        if (rc != GH_DB_OK)
            return rc;
    }
    return gh_db_exec_change(c, a, last, p, 2, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_org_domains_set(gh_dbconn *c, gh_arena *a, const char *tenant, const char *org,
                                 const json_t *domains, long long now)
{
    static const char del[] = "DELETE FROM org_domains WHERE tenant_id = $1 AND org_id = $2";
    static const char ins[] = "INSERT INTO org_domains (tenant_id, domain, org_id, created_at) "
                              "VALUES ($1, $2, $3, $4)";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(org)};
    gh_dbrc rc = gh_db_exec(c, a, del, p, 2, NULL);
    size_t i;
    json_t *d;
    json_array_foreach(domains, i, d)
    {
        if (rc != GH_DB_OK)
            break;
        gh_dbparam q[] = {GH_TEXT(tenant), GH_TEXT(json_string_value(d)), GH_TEXT(org),
                          GH_INT(now)};
        rc = gh_db_exec(c, a, ins, q, 4, NULL);
    }
    return rc;
}

json_t *gh_store_org_domains(gh_dbconn *c, gh_arena *a, const char *tenant, const char *org)
{
    static const char sql[] =
        "SELECT domain FROM org_domains WHERE tenant_id = $1 AND org_id = $2 ORDER BY domain";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(org)};
    gh_dbres r;
    if (gh_db_exec(c, a, sql, p, 2, &r) != GH_DB_OK)
        return NULL;
    json_t *out = json_array();
    for (size_t i = 0; out && i < r.nrows; i++)
        json_array_append_new(out, json_string(gh_dbres_get(&r, i, 0)));
    return out;
}

gh_dbrc gh_store_org_by_domain(gh_dbconn *c, gh_arena *a, const char *tenant, const char *domain,
                               const char **org_id)
{
    static const char sql[] = "SELECT org_id FROM org_domains WHERE tenant_id = $1 AND domain = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(domain)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK)
        *org_id = r.cells[0];
    return rc;
}

gh_dbrc gh_store_org_member_put(gh_dbconn *c, gh_arena *a, const char *tenant, const char *org,
                                const char *user_id, const char *roles, long long now, bool *added)
{
    static const char upd[] = "UPDATE org_members SET roles = $4, updated_at = $5 WHERE "
                              "tenant_id = $1 AND org_id = $2 AND user_id = $3";
    static const char ins[] = "INSERT INTO org_members (tenant_id, org_id, user_id, roles, "
                              "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(org), GH_TEXT(user_id), GH_TEXT(roles), GH_INT(now)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, upd, p, 5, &r);
    *added = false;
    if (rc != GH_DB_OK || r.changes > 0)
        return rc;
    *added = true;
    return gh_db_exec(c, a, ins, p, 5, NULL);
}

gh_dbrc gh_store_org_member_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *org,
                                   const char *user_id)
{
    static const char sql[] =
        "DELETE FROM org_members WHERE tenant_id = $1 AND org_id = $2 AND user_id = $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(org), GH_TEXT(user_id)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_org_member_roles(gh_dbconn *c, gh_arena *a, const char *tenant, const char *org,
                                  const char *user_id, const char **roles)
{
    static const char sql[] =
        "SELECT roles FROM org_members WHERE tenant_id = $1 AND org_id = $2 AND user_id = $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(org), GH_TEXT(user_id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 3, &r);
    if (rc == GH_DB_OK)
        *roles = r.cells[0];
    return rc;
}

gh_dbrc gh_store_org_members(gh_dbconn *c, gh_arena *a, const char *tenant, const char *org,
                             gh_dbres *out)
{
    static const char sql[] =
        "SELECT m.user_id, u.email, m.roles, m.created_at FROM org_members m JOIN users u ON "
        "u.tenant_id = m.tenant_id AND u.id = m.user_id WHERE m.tenant_id = $1 AND "
        "m.org_id = $2 ORDER BY u.email, m.user_id";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(org)};
    return gh_db_exec(c, a, sql, p, 2, out);
}

gh_dbrc gh_store_user_orgs(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                           gh_dbres *out)
{
    static const char sql[] =
        "SELECT o.id, o.display_name, m.roles FROM org_members m JOIN organizations o ON "
        "o.tenant_id = m.tenant_id AND o.id = m.org_id WHERE m.tenant_id = $1 AND "
        "m.user_id = $2 ORDER BY o.id";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    return gh_db_exec(c, a, sql, p, 2, out);
}
