/*
 * gh_scim: pieces shared by the SCIM 2.0 handlers (RFC 7643/7644).
 */
#ifndef GH_SCIM_H
#define GH_SCIM_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_http.h"

#define GH_SCIM_TYPE        "application/scim+json"
#define GH_SCIM_USER_URN    "urn:ietf:params:scim:schemas:core:2.0:User"
#define GH_SCIM_GH_URN      "urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User"
#define GH_SCIM_LIST_URN    "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define GH_SCIM_PATCH_URN   "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define GH_SCIM_MAX_RESULTS 200

/* The admin routes (/admin/v1, /metrics): GATEHOUSE_ADMIN_TOKEN as bearer
 * (compared in constant time), for every tenant; on failure sets a 401 and
 * returns false. */
bool gh_admin_authorised(gh_req *r);
/* The SCIM routes: the admin token, or a live SCIM token of the request's
 * tenant (docs/tenants.md); a 401 (503 when the database is busy) and false
 * otherwise. */
bool gh_scim_authorised(gh_req *r);

/* Parses the JSON body into an object; on failure sets a 400 and returns NULL.
 * The caller owns the reference. */
json_t *gh_scim_body(gh_req *r);

/* Progressive profiling (gh_scim_profile.c): the tenant's profile
 * attributes as a User schema extension. */
#define GH_SCIM_PROFILE_URN "urn:ietf:params:scim:schemas:extension:gatehouse:profile:2.0:User"
/* The extension's Schema resource, from the tenant's schema. */
json_t *gh_scim_profile_schema(gh_req *r);
/* A user's values ({name: value}, new reference), NULL when none. */
json_t *gh_scim_profile_values(const char *profile);
/* Applies path (the URN: the whole object; URN:name: one value) with v
 * (NULL or null removes) to *profile (users.profile JSON text, replaced in
 * r's arena); replace: the whole object replaces every value. false with
 * *why (the field named) when the schema refuses a value. */
bool gh_scim_profile_set(gh_req *r, const char **profile, const char *path, json_t *v, bool replace,
                         const char **why);

#endif
