/*
 * The admin API for the profile schema, /admin/v1/profile/attributes
 * (issue 20 item 6; docs/privacy.md "Progressive profiling"):
 * GATEHOUSE_ADMIN_TOKEN as bearer, as for SCIM and resources. Thin: the
 * profiling service (core/gh_profiling) validates, stores and audits.
 */
#include <string.h>

#include "gh_handlers.h"
#include "gh_profiling.h"
#include "gh_scim.h"

static void admin_error(gh_req *r, gh_dbrc rc, const char *why)
{
    if (rc == GH_DB_NOTFOUND)
        gh_resp_error(r, 404, "not_found", "no such attribute");
    else if (rc == GH_DB_CONFLICT)
        gh_resp_error(r, 409, "conflict", gh_arena_strdup(r->arena, why));
    else if (rc == GH_DB_INVALID)
        gh_resp_error(r, 400, "invalid_request", gh_arena_strdup(r->arena, why));
    else if (!r->status)
        gh_resp_db_error(r, rc);
}

/* The tenant's schema for an authorised admin request (new reference), or
 * NULL with the answer set. */
static json_t *admin_schema(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return NULL;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc;
    json_t *all = gh_profiling_attrs(&x, &rc);
    if (!all)
        admin_error(r, rc, "");
    else
        gh_resp_header(r, "Cache-Control", "no-store");
    return all;
}

void gh_admin_profile_attrs_list(gh_req *r)
{
    json_t *all = admin_schema(r);
    if (all)
        gh_resp_json(r, 200, json_pack("{s:o}", "attributes", all), NULL);
}

void gh_admin_profile_attrs_get(gh_req *r)
{
    json_t *all = admin_schema(r);
    if (!all)
        return;
    const json_t *one = r->nparams > 0 ? gh_profiling_find(all, r->params[0]) : NULL;
    if (one)
        gh_resp_json(r, 200, json_deep_copy(one), NULL);
    else
        admin_error(r, GH_DB_NOTFOUND, "");
    json_decref(all);
}

/* POST creates (409 when the name is taken); PUT on /{name} replaces or
 * creates, and the body's name, when given, must be the path's. */
static void admin_save(gh_req *r, const char *name)
{
    char why[300] = "";
    if (!gh_admin_authorised(r))
        return;
    json_t *in = gh_scim_body(r);
    if (!in)
        return;
    if (name && json_is_object(in) && !json_object_get(in, "name"))
        json_object_set_new(in, "name", json_string(name));
    const char *sent = json_string_value(json_object_get(in, "name"));
    if (name && (!sent || strcmp(sent, name) != 0)) {
        json_decref(in);
        return gh_resp_error(r, 400, "invalid_request", "name: the path's name");
    }
    gh_ctx x = gh_req_ctx(r);
    json_t *out = NULL;
    gh_dbrc rc = gh_profiling_attr_save(&x, "admin", in, name != NULL, &out, why, sizeof(why));
    json_decref(in);
    if (rc != GH_DB_OK)
        return admin_error(r, rc, why);
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, name ? 200 : 201, out, NULL);
}

void gh_admin_profile_attrs_create(gh_req *r)
{
    admin_save(r, NULL);
}

void gh_admin_profile_attrs_put(gh_req *r)
{
    if (r->nparams < 1)
        return admin_error(r, GH_DB_NOTFOUND, "");
    admin_save(r, r->params[0]);
}

void gh_admin_profile_attrs_delete(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc =
        r->nparams > 0 ? gh_profiling_attr_delete(&x, "admin", r->params[0]) : GH_DB_NOTFOUND;
    if (rc != GH_DB_OK)
        return admin_error(r, rc, "");
    gh_resp_empty(r, 204);
}
