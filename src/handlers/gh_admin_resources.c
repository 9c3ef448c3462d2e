/*
 * The admin API for protected resources, /admin/v1/resources
 * (docs/resources.md): GATEHOUSE_ADMIN_TOKEN as bearer, as for SCIM. Thin:
 * the body is validated and stored by the resources service (gh_resources).
 */
#include "gh_handlers.h"
#include "gh_resources.h"
#include "gh_scim.h"

static void admin_error(gh_req *r, gh_dbrc rc, const char *why)
{
    if (rc == GH_DB_NOTFOUND)
        gh_resp_error(r, 404, "not_found", "no such resource");
    else if (rc == GH_DB_CONFLICT)
        gh_resp_error(r, 409, "conflict", gh_arena_strdup(r->arena, why));
    else if (!r->status)
        gh_resp_db_error(r, rc);
}

static json_t *admin_body(gh_req *r, const char *issuer, char *why, size_t whylen)
{
    json_t *in = gh_scim_body(r);
    if (!in)
        return NULL;
    json_t *doc = gh_resource_validate(in, issuer, why, whylen);
    json_decref(in);
    if (!doc)
        gh_resp_error(r, 400, "invalid_request", gh_arena_strdup(r->arena, why));
    return doc;
}

void gh_admin_resources_list(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc;
    json_t *all = gh_resources_list(&x, &rc);
    if (!all)
        return admin_error(r, rc, "");
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, json_pack("{s:o}", "resources", all), NULL);
}

void gh_admin_resources_get(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = GH_DB_NOTFOUND;
    json_t *one = r->nparams > 0 ? gh_resources_get(&x, r->params[0], &rc) : NULL;
    if (!one)
        return admin_error(r, rc, "");
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, one, NULL);
}

static void admin_save(gh_req *r, const char *id)
{
    char why[256] = "";
    if (!gh_admin_authorised(r))
        return;
    json_t *doc = admin_body(r, r->issuer, why, sizeof(why));
    if (!doc)
        return;
    gh_ctx x = gh_req_ctx(r);
    json_t *out = NULL;
    gh_dbrc rc = gh_resources_save(&x, "admin", id, doc, &out, why, sizeof(why));
    json_decref(doc);
    if (rc != GH_DB_OK)
        return admin_error(r, rc, why);
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, id ? 200 : 201, out, NULL);
}

void gh_admin_resources_create(gh_req *r)
{
    admin_save(r, NULL);
}

void gh_admin_resources_update(gh_req *r)
{
    if (r->nparams < 1)
        return admin_error(r, GH_DB_NOTFOUND, "");
    admin_save(r, r->params[0]);
}

void gh_admin_resources_delete(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = r->nparams > 0 ? gh_resources_delete(&x, "admin", r->params[0]) : GH_DB_NOTFOUND;
    if (rc != GH_DB_OK)
        return admin_error(r, rc, "");
    gh_resp_empty(r, 204);
}
