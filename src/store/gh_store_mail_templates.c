#include "gh_store_mail_templates.h"

#include <string.h>

gh_dbrc gh_store_mail_template_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *name,
                                   const char *locale, gh_mail_template_row *out)
{
    static const char sql[] = "SELECT subject, body_text, updated_at FROM tenant_mail_templates "
                              "WHERE tenant_id = $1 AND name = $2 AND locale = $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(name), GH_TEXT(locale)};
    gh_dbres res;
    memset(out, 0, sizeof(*out));
    gh_dbrc rc = c ? gh_db_exec(c, a, sql, p, 3, &res) : GH_DB_BUSY;
    if (rc != GH_DB_OK)
        return rc;
    if (res.nrows == 0)
        return GH_DB_NOTFOUND;
    out->name = gh_arena_strdup(a, name);
    out->locale = gh_arena_strdup(a, locale);
    out->subject = gh_dbres_get(&res, 0, 0);
    out->body_text = gh_dbres_get(&res, 0, 1);
    out->updated_at = gh_dbres_int(&res, 0, 2);
    return out->subject && out->body_text ? GH_DB_OK : GH_DB_FAIL;
}

gh_dbrc gh_store_mail_template_put(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const gh_mail_template_row *row)
{
    static const char sql[] =
        "INSERT INTO tenant_mail_templates "
        "(tenant_id, name, locale, subject, body_text, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, name, locale) DO UPDATE SET "
        "subject = excluded.subject, body_text = excluded.body_text, "
        "updated_at = excluded.updated_at";
    gh_dbparam p[] = {GH_TEXT(tenant),       GH_TEXT(row->name),      GH_TEXT(row->locale),
                      GH_TEXT(row->subject), GH_TEXT(row->body_text), GH_INT(row->updated_at)};
    return gh_db_exec(c, a, sql, p, 6, NULL);
}

gh_dbrc gh_store_mail_template_delete(gh_dbconn *c, gh_arena *a, const char *tenant,
                                      const char *name, const char *locale)
{
    static const char sql[] = "DELETE FROM tenant_mail_templates "
                              "WHERE tenant_id = $1 AND name = $2 AND locale = $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(name), GH_TEXT(locale)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_NOTFOUND);
}
