/*
 * gh_scim: SCIM authentication, body parsing and the discovery documents
 * (ServiceProviderConfig, Schemas, ResourceTypes).
 */
#include "gh_scim.h"

#include <string.h>

#include "gh_crypto.h"
#include "gh_handlers.h"
#include "gh_json.h"
#include "gh_tenants.h"

enum { SCIM_JSON_DEPTH = 16 };

/* The bearer token of the request, or NULL. */
static const char *bearer(gh_req *r)
{
    const char *auth = gh_req_header(r, "Authorization");
    return auth && strncasecmp(auth, "Bearer ", 7) == 0 ? auth + 7 : NULL;
}

static bool is_admin_token(gh_req *r, const char *token)
{
    const char *want = r->app->cfg->admin_token;
    return want[0] && token && gh_secret_equal(token, want);
}

bool gh_admin_authorised(gh_req *r)
{
    if (is_admin_token(r, bearer(r)))
        return true;
    gh_resp_header(r, "WWW-Authenticate", "Bearer realm=\"gatehouse-admin\"");
    gh_resp_error(r, 401, NULL, "a valid admin bearer token is required");
    return false;
}

bool gh_scim_authorised(gh_req *r)
{
    const char *token = bearer(r);
    if (is_admin_token(r, token))
        return true;
    gh_ctx x = gh_req_ctx(r);
    if (token && gh_tenants_scim_token_ok(&x, token))
        return true;
    if (gh_req_db_failed(r)) {
        gh_resp_db_error(r, GH_DB_BUSY);
        return false;
    }
    gh_resp_header(r, "WWW-Authenticate", "Bearer realm=\"gatehouse-scim\"");
    gh_resp_error(r, 401, NULL, "a valid admin or SCIM bearer token is required");
    return false;
}

json_t *gh_scim_body(gh_req *r)
{
    char why[160];
    json_t *doc = NULL;
    if (!r->body) {
        gh_resp_error(r, 400, "invalidSyntax", "a JSON body is required");
        return NULL;
    }
    const char *type = gh_req_header(r, "Content-Type");
    size_t tl = type ? strcspn(type, "; ") : 0;
    if (!type || !((tl == 16 && strncasecmp(type, "application/json", tl) == 0) ||
                   (tl == 21 && strncasecmp(type, GH_SCIM_TYPE, tl) == 0))) {
        gh_resp_error(r, 415, NULL, "the body must be application/scim+json or application/json");
        return NULL;
    }
    if (gh_json_parse(r->body, r->body_len, SCIM_JSON_DEPTH, &doc, why, sizeof(why)) !=
        GH_JSON_OK) {
        gh_resp_error(r, 400, "invalidSyntax", gh_arena_strdup(r->arena, why));
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        gh_resp_error(r, 400, "invalidSyntax", "the body must be a JSON object");
        return NULL;
    }
    return doc;
}

static json_t *meta(gh_req *r, const char *type, const char *path)
{
    return json_pack("{s:s, s:s}", "resourceType", type, "location",
                     gh_arena_printf(r->arena, "%s/scim/v2/%s", r->issuer, path));
}

void gh_scim_service_provider_config(gh_req *r)
{
    if (!gh_scim_authorised(r))
        return;
    json_t *o = json_pack(
        "{s:[s], s:s, s:{s:b}, s:{s:b, s:i}, s:{s:b, s:i}, s:{s:b}, s:{s:b}, s:{s:b}, "
        "s:[{s:s, s:s, s:s, s:b}], s:o}",
        "schemas", "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
        "documentationUri", "https://gatehouse.invalid/docs/scim", "patch", "supported", 1, "bulk",
        "supported", 0, "maxOperations", 0, "filter", "supported", 1, "maxResults",
        GH_SCIM_MAX_RESULTS, "changePassword", "supported", 1, "sort", "supported", 0, "etag",
        "supported", 1, "authenticationSchemes", "type", "oauthbearertoken", "name", "Bearer token",
        "description", "The GATEHOUSE_ADMIN_TOKEN as a bearer token", "primary", 1, "meta",
        meta(r, "ServiceProviderConfig", "ServiceProviderConfig"));
    /* bulk.maxPayloadSize is required alongside bulk.supported */
    json_object_set_new(json_object_get(o, "bulk"), "maxPayloadSize",
                        json_integer((json_int_t)r->app->cfg->max_body));
    gh_resp_json(r, 200, o, GH_SCIM_TYPE);
}

static json_t *attr(const char *name, const char *type, bool multi, bool required,
                    const char *mutability, const char *returned, const char *uniqueness)
{
    return json_pack("{s:s, s:s, s:b, s:b, s:b, s:s, s:s, s:s}", "name", name, "type", type,
                     "multiValued", multi, "required", required, "caseExact", 0, "mutability",
                     mutability, "returned", returned, "uniqueness", uniqueness);
}

static json_t *user_schema(gh_req *r)
{
    json_t *name = attr("name", "complex", false, false, "readWrite", "default", "none");
    json_object_set_new(
        name, "subAttributes",
        json_pack("[o, o, o]",
                  attr("givenName", "string", false, false, "readWrite", "default", "none"),
                  attr("familyName", "string", false, false, "readWrite", "default", "none"),
                  attr("formatted", "string", false, false, "readOnly", "default", "none")));
    json_t *emails = attr("emails", "complex", true, false, "readWrite", "default", "none");
    json_object_set_new(
        emails, "subAttributes",
        json_pack("[o, o, o]",
                  attr("value", "string", false, false, "readWrite", "default", "server"),
                  attr("type", "string", false, false, "readWrite", "default", "none"),
                  attr("primary", "boolean", false, false, "readWrite", "default", "none")));
    json_t *attrs =
        json_pack("[o, o, o, o, o, o, o]",
                  attr("userName", "string", false, true, "readWrite", "default", "server"), name,
                  attr("displayName", "string", false, false, "readWrite", "default", "none"),
                  emails, attr("active", "boolean", false, false, "readWrite", "default", "none"),
                  attr("password", "string", false, false, "writeOnly", "never", "none"),
                  attr("externalId", "string", false, false, "readWrite", "default", "none"));
    return json_pack("{s:[s], s:s, s:s, s:s, s:o, s:o}", "schemas",
                     "urn:ietf:params:scim:schemas:core:2.0:Schema", "id", GH_SCIM_USER_URN, "name",
                     "User", "description", "User Account", "attributes", attrs, "meta",
                     meta(r, "Schema", "Schemas/" GH_SCIM_USER_URN));
}

static json_t *gatehouse_schema(gh_req *r)
{
    json_t *attrs = json_pack(
        "[o, o]", attr("emailVerified", "boolean", false, false, "readWrite", "default", "none"),
        /* set while a customer's deletion waits out its grace period */
        attr("deletionScheduled", "dateTime", false, false, "readOnly", "default", "none"));
    return json_pack("{s:[s], s:s, s:s, s:s, s:o, s:o}", "schemas",
                     "urn:ietf:params:scim:schemas:core:2.0:Schema", "id", GH_SCIM_GH_URN, "name",
                     "GatehouseUser", "description", "Gatehouse account state", "attributes", attrs,
                     "meta", meta(r, "Schema", "Schemas/" GH_SCIM_GH_URN));
}

static void list_response(gh_req *r, json_t *resources)
{
    size_t n = json_array_size(resources);
    gh_resp_json(r, 200,
                 json_pack("{s:[s], s:i, s:i, s:i, s:o}", "schemas", GH_SCIM_LIST_URN,
                           "totalResults", (int)n, "startIndex", 1, "itemsPerPage", (int)n,
                           "Resources", resources),
                 GH_SCIM_TYPE);
}

void gh_scim_schemas(gh_req *r)
{
    if (!gh_scim_authorised(r))
        return;
    list_response(
        r, json_pack("[o, o, o]", user_schema(r), gatehouse_schema(r), gh_scim_profile_schema(r)));
}

void gh_scim_resource_types(gh_req *r)
{
    if (!gh_scim_authorised(r))
        return;
    json_t *user = json_pack("{s:[s], s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:b}, {s:s, s:b}], s:o}",
                             "schemas", "urn:ietf:params:scim:schemas:core:2.0:ResourceType", "id",
                             "User", "name", "User", "endpoint", "/Users", "description",
                             "User Account", "schema", GH_SCIM_USER_URN, "schemaExtensions",
                             "schema", GH_SCIM_GH_URN, "required", 0, "schema", GH_SCIM_PROFILE_URN,
                             "required", 0, "meta", meta(r, "ResourceType", "ResourceTypes/User"));
    list_response(r, json_pack("[o]", user));
}
