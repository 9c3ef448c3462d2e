#include "gh_store_resources.h"

#include <string.h>

#include "gh_json.h"

enum { BODY_DEPTH = 8 }; /* the stored JSON is flat; anything deeper is damage */

#define COLUMNS                                                                                    \
    "id, identifier, name, scopes, access_token_ttl, access_token_format, introspection_clients, " \
    "created_at, updated_at"

static json_t *parse_text(const char *s)
{
    json_t *doc = NULL;
    char why[64];
    if (!s || gh_json_parse(s, strlen(s), BODY_DEPTH, &doc, why, sizeof(why)) != GH_JSON_OK)
        return NULL;
    return doc;
}

json_t *gh_store_resources_all(gh_dbconn *c, gh_arena *a, const char *tenant, gh_dbrc *rc_out)
{
    static const char sql[] =
        "SELECT " COLUMNS " FROM resources WHERE tenant_id = $1 ORDER BY identifier";
    gh_dbparam p[] = {GH_TEXT(tenant)};
    gh_dbres res;
    gh_dbrc rc = c ? gh_db_exec(c, a, sql, p, 1, &res) : GH_DB_BUSY;
    if (rc_out)
        *rc_out = rc;
    if (rc != GH_DB_OK)
        return NULL;
    json_t *all = json_array();
    for (size_t i = 0; i < res.nrows; i++) {
        json_t *scopes = parse_text(gh_dbres_get(&res, i, 3));
        json_t *ic = parse_text(gh_dbres_get(&res, i, 6));
        long long ttl = gh_dbres_int(&res, i, 4);
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:o, s:I, s:s, s:o, s:I, s:I}", "id", gh_dbres_get(&res, i, 0),
            "identifier", gh_dbres_get(&res, i, 1), "name", gh_dbres_get(&res, i, 2), "scopes",
            scopes ? scopes : json_object(), "access_token_ttl", (json_int_t)ttl,
            "access_token_format", gh_dbres_get(&res, i, 5), "introspection_clients",
            ic ? ic : json_array(), "created_at", (json_int_t)gh_dbres_int(&res, i, 7),
            "updated_at", (json_int_t)gh_dbres_int(&res, i, 8));
        if (o)
            json_array_append_new(all, o);
    }
    return all;
}

gh_dbrc gh_store_resource_insert(gh_dbconn *c, gh_arena *a, const gh_resource_row *r)
{
    static const char sql[] = "INSERT INTO resources (tenant_id, " COLUMNS
                              ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    gh_dbparam p[] = {GH_TEXT(r->tenant_id),  GH_TEXT(r->id),
                      GH_TEXT(r->identifier), GH_TEXT(r->name),
                      GH_TEXT(r->scopes),     GH_INT(r->access_token_ttl),
                      GH_TEXT("jwt"),         GH_TEXT(r->introspection_clients),
                      GH_INT(r->now),         GH_INT(r->now)};
    return gh_db_exec(c, a, sql, p, 10, NULL);
}

gh_dbrc gh_store_resource_update(gh_dbconn *c, gh_arena *a, const gh_resource_row *r)
{
    static const char sql[] =
        "UPDATE resources SET identifier = $3, name = $4, scopes = $5, access_token_ttl = $6, "
        "introspection_clients = $7, updated_at = $8 WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(r->tenant_id),
                      GH_TEXT(r->id),
                      GH_TEXT(r->identifier),
                      GH_TEXT(r->name),
                      GH_TEXT(r->scopes),
                      GH_INT(r->access_token_ttl),
                      GH_TEXT(r->introspection_clients),
                      GH_INT(r->now)};
    return gh_db_exec_change(c, a, sql, p, 8, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_resource_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                 const char **identifier)
{
    static const char sql[] =
        "DELETE FROM resources WHERE tenant_id = $1 AND id = $2 RETURNING identifier";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id)};
    gh_dbres res;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &res);
    if (rc == GH_DB_OK)
        *identifier = gh_dbres_get(&res, 0, 0);
    return rc;
}
