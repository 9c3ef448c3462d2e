/*
 * gh_scim: pieces shared by the SCIM 2.0 handlers (RFC 7643/7644).
 */
#ifndef GH_SCIM_H
#define GH_SCIM_H

#include <stdbool.h>

#include "gh_http.h"

#define GH_SCIM_TYPE        "application/scim+json"
#define GH_SCIM_USER_URN    "urn:ietf:params:scim:schemas:core:2.0:User"
#define GH_SCIM_GH_URN      "urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User"
#define GH_SCIM_LIST_URN    "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define GH_SCIM_PATCH_URN   "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define GH_SCIM_MAX_RESULTS 200

/* Checks the admin bearer token in constant time; on failure sets a 401 and
 * returns false. */
bool gh_scim_authorised(gh_req *r);

/* Parses the JSON body into an object; on failure sets a 400 and returns NULL.
 * The caller owns the reference. */
json_t *gh_scim_body(gh_req *r);

#endif
