/*
 * The admin API for tenants, /admin/v1/tenants (docs/tenants.md), and for a
 * tenant's SCIM tokens, {tenant issuer}/admin/v1/scim-tokens: the admin token
 * as bearer. Thin: the tenants service (gh_tenants) checks and stores.
 * Tenants are managed from the default tenant's address only: an id in the
 * path names the tenant.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gh_handlers.h"
#include "gh_risk.h"
#include "gh_scim.h"
#include "gh_store_users.h"
#include "gh_tenants.h"
#include "gh_utf8.h"

static void answer(gh_req *r, gh_tenant_rc rc, const char *why)
{
    switch (rc) {
    case GH_TENANT_INVALID:
        gh_resp_error(r, 400, "invalid_request", gh_arena_strdup(r->arena, why));
        break;
    case GH_TENANT_EXISTS:
        gh_resp_error(r, 409, "conflict",
                      why && why[0] ? gh_arena_strdup(r->arena, why)
                                    : "the id or the host is taken");
        break;
    case GH_TENANT_NOTFOUND:
        gh_resp_error(r, 404, "not_found", "no such tenant");
        break;
    case GH_TENANT_DEFAULT:
        gh_resp_error(r, 409, "conflict", "the default tenant cannot be disabled or deleted");
        break;
    case GH_TENANT_BUSY:
        if (!r->status)
            gh_resp_db_error(r, GH_DB_BUSY);
        break;
    default:
        gh_resp_error(r, 500, "server_error", "the tenant could not be changed");
    }
}

/* Tenants are an operator's concern of the whole server: only at the
 * default tenant's address. */
static bool at_root(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return false;
    if (strcmp(r->tenant, GH_DEFAULT_TENANT) == 0)
        return true;
    gh_resp_error(r, 404, "not_found", "tenants are managed at the server's own address");
    return false;
}

static void send_view(gh_req *r, unsigned status, const char *id)
{
    gh_ctx x = gh_req_ctx(r);
    json_t *v = gh_tenants_view(&x, id);
    if (!v)
        return answer(r, gh_req_db_failed(r) ? GH_TENANT_BUSY : GH_TENANT_NOTFOUND, NULL);
    gh_resp_header(r, "Cache-Control", "no-store");
    if (status == 201)
        gh_resp_header(r, "Location",
                       gh_arena_printf(r->arena, "%s/admin/v1/tenants/%s", r->issuer, id));
    gh_resp_json(r, status, v, NULL);
}

void gh_admin_tenants_list(gh_req *r)
{
    if (!at_root(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    json_t *all = gh_tenants_list(&x);
    if (!all)
        return answer(r, GH_TENANT_BUSY, NULL);
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, json_pack("{s:o}", "tenants", all), NULL);
}

void gh_admin_tenants_create(gh_req *r)
{
    char why[256] = "";
    if (!at_root(r))
        return;
    json_t *doc = gh_scim_body(r);
    if (!doc)
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_tenant_rc rc = gh_tenants_create(&x, doc, "admin", why, sizeof(why));
    const char *id = json_string_value(json_object_get(doc, "id"));
    id = id ? gh_arena_strdup(r->arena, id) : NULL;
    json_decref(doc);
    if (rc != GH_TENANT_OK)
        return answer(r, rc, why);
    send_view(r, 201, id);
}

void gh_admin_tenants_get(gh_req *r)
{
    if (at_root(r))
        send_view(r, 200, r->params[0]);
}

void gh_admin_tenants_update(gh_req *r)
{
    char why[256] = "";
    if (!at_root(r))
        return;
    json_t *doc = gh_scim_body(r);
    if (!doc)
        return;
    gh_ctx x = gh_req_ctx(r);
    /* "status" is its own step: enabling and disabling are audited apart */
    json_t *status = json_incref(json_object_get(doc, "status"));
    json_object_del(doc, "status");
    gh_tenant_rc rc = GH_TENANT_OK;
    if (status && !json_is_string(status)) {
        rc = GH_TENANT_INVALID;
        snprintf(why, sizeof(why), "status must be \"active\" or \"disabled\"");
    }
    if (rc == GH_TENANT_OK && json_object_size(doc))
        rc = gh_tenants_update(&x, r->params[0], doc, "admin", why, sizeof(why));
    if (rc == GH_TENANT_OK && status) {
        rc = gh_tenants_set_status(&x, r->params[0], json_string_value(status), "admin");
        if (rc == GH_TENANT_INVALID)
            snprintf(why, sizeof(why), "status must be \"active\" or \"disabled\"");
    }
    json_decref(status);
    json_decref(doc);
    if (rc != GH_TENANT_OK)
        return answer(r, rc, why);
    send_view(r, 200, r->params[0]);
}

void gh_admin_tenants_delete(gh_req *r)
{
    if (!at_root(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_tenant_rc rc = gh_tenants_delete(&x, r->params[0], "admin");
    if (rc != GH_TENANT_OK)
        return answer(r, rc, NULL);
    gh_resp_empty(r, 204);
}

/* ---- a tenant's own risk policy ---- */

void gh_admin_tenants_risk_policy_get(gh_req *r)
{
    if (!at_root(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    json_t *v = gh_tenants_risk_policy_view(&x, r->params[0], gh_risk_policy_version());
    if (!v)
        return answer(r, gh_req_db_failed(r) ? GH_TENANT_BUSY : GH_TENANT_NOTFOUND, NULL);
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, v, NULL);
}

/* The body is the policy file's text (docs/risk.md's format), as
 * text/plain: the same file an operator checks with `gatehouse risk
 * check-policy`. */
void gh_admin_tenants_risk_policy_put(gh_req *r)
{
    char why[256] = "";
    if (!at_root(r))
        return;
    const char *type = gh_req_header(r, "Content-Type");
    if (!type || strncasecmp(type, "text/plain", 10) != 0 || (type[10] && type[10] != ';'))
        return gh_resp_error(r, 415, "invalid_request", "the body must be text/plain");
    if (!r->body || !r->body_len || memchr(r->body, '\0', r->body_len) ||
        !gh_utf8_valid(r->body, r->body_len))
        return gh_resp_error(r, 400, "invalid_request", "the body must be the policy's UTF-8 text");
    gh_ctx x = gh_req_ctx(r);
    gh_tenant_rc rc = gh_tenants_set_risk_policy(&x, r->params[0], r->body, r->body_len, "admin",
                                                 why, sizeof(why));
    if (rc != GH_TENANT_OK)
        return answer(r, rc, why);
    gh_admin_tenants_risk_policy_get(r);
}

void gh_admin_tenants_risk_policy_delete(gh_req *r)
{
    char why[256] = "";
    if (!at_root(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_tenant_rc rc =
        gh_tenants_set_risk_policy(&x, r->params[0], NULL, 0, "admin", why, sizeof(why));
    if (rc != GH_TENANT_OK)
        return answer(r, rc, why);
    gh_resp_empty(r, 204);
}

/* ---- SCIM tokens of the request's tenant ---- */

void gh_admin_scim_tokens_list(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    json_t *all = gh_tenants_scim_token_list(&x);
    if (!all)
        return answer(r, GH_TENANT_BUSY, NULL);
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, json_pack("{s:o}", "tokens", all), NULL);
}

void gh_admin_scim_tokens_create(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    json_t *doc = gh_scim_body(r);
    if (!doc)
        return;
    gh_ctx x = gh_req_ctx(r);
    const char *id = NULL, *token = NULL;
    const char *name = json_string_value(json_object_get(doc, "name"));
    gh_tenant_rc rc = gh_tenants_scim_token_new(&x, name ? name : "", &id, &token);
    json_decref(doc);
    if (rc != GH_TENANT_OK)
        return answer(r, rc, "name must be 1 to 100 bytes of text");
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 201,
                 json_pack("{s:s, s:s, s:s}", "id", id, "token", token, "tenant", r->tenant), NULL);
}

void gh_admin_scim_tokens_revoke(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_tenant_rc rc = gh_tenants_scim_token_revoke(&x, r->params[0]);
    if (rc != GH_TENANT_OK)
        return rc == GH_TENANT_NOTFOUND ? gh_resp_error(r, 404, "not_found", "no such live token")
                                        : answer(r, rc, NULL);
    gh_resp_empty(r, 204);
}
