#include "gh_store_profile_attrs.h"

#include <string.h>

#include "gh_json.h"

enum { DOC_DEPTH = 4 }; /* a definition is an object of arrays of strings */

json_t *gh_store_profile_attrs_all(gh_dbconn *c, gh_arena *a, const char *tenant, gh_dbrc *rc_out)
{
    static const char sql[] = "SELECT doc, created_at, updated_at FROM profile_attributes "
                              "WHERE tenant_id = $1 ORDER BY name";
    gh_dbparam p[] = {GH_TEXT(tenant)};
    gh_dbres res;
    gh_dbrc rc = c ? gh_db_exec(c, a, sql, p, 1, &res) : GH_DB_BUSY;
    if (rc_out)
        *rc_out = rc;
    if (rc != GH_DB_OK)
        return NULL;
    json_t *all = json_array();
    for (size_t i = 0; i < res.nrows; i++) {
        const char *text = gh_dbres_get(&res, i, 0);
        json_t *doc = NULL;
        char why[64];
        if (!text ||
            gh_json_parse(text, strlen(text), DOC_DEPTH, &doc, why, sizeof(why)) != GH_JSON_OK ||
            !json_is_object(doc)) {
            json_decref(doc);
            continue; /* damage: an attribute nobody can read is no attribute */
        }
        json_object_set_new(doc, "created_at", json_integer(gh_dbres_int(&res, i, 1)));
        json_object_set_new(doc, "updated_at", json_integer(gh_dbres_int(&res, i, 2)));
        json_array_append_new(all, doc);
    }
    return all;
}

gh_dbrc gh_store_profile_attr_put(gh_dbconn *c, gh_arena *a, const char *tenant, const char *name,
                                  const char *doc, long long now, bool replace)
{
    static const char insert[] = "INSERT INTO profile_attributes "
                                 "(tenant_id, name, doc, created_at, updated_at) "
                                 "VALUES ($1, $2, $3, $4, $4)";
    static const char update[] = "UPDATE profile_attributes SET doc = $3, updated_at = $4 "
                                 "WHERE tenant_id = $1 AND name = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(name), GH_TEXT(doc), GH_INT(now)};
    if (!replace)
        return gh_db_exec(c, a, insert, p, 4, NULL);
    gh_dbrc rc = gh_db_exec_change(c, a, update, p, 4, GH_DB_NOTFOUND);
    return rc == GH_DB_NOTFOUND ? gh_db_exec(c, a, insert, p, 4, NULL) : rc;
}

gh_dbrc gh_store_profile_attr_delete(gh_dbconn *c, gh_arena *a, const char *tenant,
                                     const char *name)
{
    static const char sql[] = "DELETE FROM profile_attributes WHERE tenant_id = $1 AND name = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(name)};
    return gh_db_exec_change(c, a, sql, p, 2, GH_DB_NOTFOUND);
}
