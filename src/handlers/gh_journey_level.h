/*
 * gh_journey_level: the gate a handler puts before a journey the tenant's
 * policy may require a higher level for (docs/tenants.md, "Assurance per
 * journey"); the decision is core/gh_tenants_assurance's.
 */
#ifndef GH_JOURNEY_LEVEL_H
#define GH_JOURNEY_LEVEL_H

#include <stdbool.h>

#include "gh_http.h"
#include "gh_store_sessions.h"
#include "gh_tenant_meta.h"

/* True when session s has reached the level journey j needs in the
 * request's tenant; else answers 403 {"error": "step_up_required",
 * "error_description", "required_acr", "required_level"} and returns false. */
bool gh_journey_level_ok(gh_req *r, const gh_session *s, gh_journey j);

#endif
