/*
 * A tenant's own email templates (docs/tenants.md, "Email templates"):
 *   GET/PUT/DELETE /admin/v1/email-templates/{name}[?locale=xx]   admin token
 * at the tenant's issuer. Thin: core/gh_mail_overrides validates, stores
 * and audits.
 */
#include "gh_handlers.h"
#include "gh_mail_overrides.h"
#include "gh_scim.h"

/* The request's template name and locale ("" without ?locale). */
static void target(gh_req *r, const char **name, const char **locale)
{
    const gh_form *q = gh_req_query(r);
    const char *l = q ? gh_form_get(q, "locale") : NULL;
    *name = r->nparams > 0 ? r->params[0] : "";
    *locale = l ? l : "";
}

static void not_found(gh_req *r)
{
    gh_resp_error(r, 404, "not_found",
                  "This tenant has no template of that name and locale (a built-in one applies).");
}

void gh_admin_mail_template_get(gh_req *r)
{
    const char *name, *locale;
    if (!gh_admin_authorised(r))
        return;
    target(r, &name, &locale);
    gh_ctx x = gh_req_ctx(r);
    json_t *doc = NULL;
    gh_dbrc rc = gh_mail_overrides_get(&x, name, locale, &doc);
    if (rc == GH_DB_NOTFOUND)
        return not_found(r);
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    gh_resp_json(r, 200, doc, NULL);
}

void gh_admin_mail_template_put(gh_req *r)
{
    const char *name, *locale;
    char why[256] = "";
    if (!gh_admin_authorised(r))
        return;
    json_t *in = gh_scim_body(r);
    if (!in)
        return;
    target(r, &name, &locale);
    gh_ctx x = gh_req_ctx(r);
    json_t *out = NULL;
    gh_dbrc rc = gh_mail_overrides_put(&x, "admin", name, locale, in, &out, why, sizeof(why));
    json_decref(in);
    if (rc == GH_DB_INVALID)
        return gh_resp_error(r, 400, "invalid_request", why);
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    gh_resp_json(r, 200, out, NULL);
}

void gh_admin_mail_template_delete(gh_req *r)
{
    const char *name, *locale;
    if (!gh_admin_authorised(r))
        return;
    target(r, &name, &locale);
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = gh_mail_overrides_delete(&x, "admin", name, locale);
    if (rc == GH_DB_NOTFOUND)
        return not_found(r);
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    gh_resp_empty(r, 204);
}
