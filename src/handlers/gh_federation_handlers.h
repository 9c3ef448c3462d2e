/*
 * gh_federation_handlers: what the federation handlers share
 * (gh_federation_admin.c, gh_federation_signin.c, gh_federation_link.c;
 * docs/federation.md). Internal to src/handlers.
 */
#ifndef GH_FEDERATION_HANDLERS_H
#define GH_FEDERATION_HANDLERS_H

/* The page where a person proves an existing account before an upstream
 * identity joins it (after r->base_path or r->issuer). */
#define GH_FED_LINK_PAGE "/federation/link"

#include <stdbool.h>

#include "gh_http.h"

/* Whether the tenant's policy offers upstream providers (docs/tenants.md). */
bool gh_fedh_offered(gh_req *r);

/* The binding of a form_post flow (gh_federation_flowcookie.c): create
 * sets a new SameSite=None flow cookie and returns its hash; otherwise
 * the hash of the request's flow cookie (NULL when none), which is then
 * deleted. */
const char *gh_fedh_flow_binding(gh_req *r, bool create);

#endif
