#include "gh_store_branding.h"

#include <string.h>

gh_dbrc gh_store_branding_get(gh_dbconn *c, gh_arena *a, const char *tenant, gh_branding_row *out)
{
    static const char sql[] =
        "SELECT product_name, logo_uri, colors, dark_colors, stylesheet, updated_at "
        "FROM tenant_branding WHERE tenant_id = $1";
    gh_dbparam p[] = {GH_TEXT(tenant)};
    gh_dbres res;
    memset(out, 0, sizeof(*out));
    gh_dbrc rc = c ? gh_db_exec(c, a, sql, p, 1, &res) : GH_DB_BUSY;
    if (rc != GH_DB_OK)
        return rc;
    if (res.nrows == 0)
        return GH_DB_NOTFOUND;
    const char **cols[] = {&out->product_name, &out->logo_uri, &out->colors, &out->dark_colors,
                           &out->stylesheet};
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        const char *v = gh_dbres_get(&res, 0, i);
        *cols[i] = v ? v : "";
    }
    out->updated_at = gh_dbres_int(&res, 0, 5);
    return GH_DB_OK;
}

gh_dbrc gh_store_branding_put(gh_dbconn *c, gh_arena *a, const char *tenant,
                              const gh_branding_row *row)
{
    static const char sql[] =
        "INSERT INTO tenant_branding "
        "(tenant_id, product_name, logo_uri, colors, dark_colors, stylesheet, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id) DO UPDATE SET "
        "product_name = excluded.product_name, logo_uri = excluded.logo_uri, "
        "colors = excluded.colors, dark_colors = excluded.dark_colors, "
        "stylesheet = excluded.stylesheet, updated_at = excluded.updated_at";
    gh_dbparam p[] = {GH_TEXT(tenant),        GH_TEXT(row->product_name), GH_TEXT(row->logo_uri),
                      GH_TEXT(row->colors),   GH_TEXT(row->dark_colors),  GH_TEXT(row->stylesheet),
                      GH_INT(row->updated_at)};
    return gh_db_exec(c, a, sql, p, 7, NULL);
}

gh_dbrc gh_store_branding_delete(gh_dbconn *c, gh_arena *a, const char *tenant)
{
    static const char sql[] = "DELETE FROM tenant_branding WHERE tenant_id = $1";
    gh_dbparam p[] = {GH_TEXT(tenant)};
    return gh_db_exec_change(c, a, sql, p, 1, GH_DB_NOTFOUND);
}
