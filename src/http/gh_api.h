/*
 * gh_api: request and audit helpers shared by the JSON APIs under /api/v1
 * (the accounts and second-factor handlers).
 */
#ifndef GH_API_H
#define GH_API_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_db.h"
#include "gh_http.h"
#include "gh_pwpolicy.h"
#include "gh_tenant_meta.h"

/* The JSON object body of an API call; on failure a 4xx is set. The caller
 * owns the result (json_decref). */
json_t *gh_api_body(gh_req *r);
/* A string field of at most max bytes, copied into the request arena, or
 * NULL when absent; *bad is set (and a 400 answered) when it is present but
 * not acceptable text. */
const char *gh_api_text(gh_req *r, json_t *body, const char *name, size_t max, bool *bad);
/* asked when it is a same-origin target, else "/account". */
const char *gh_api_return_target(gh_req *r, const char *asked);
/* Appends an audit event for subject (also the actor) with the request's
 * tenant, address and user agent (gh_audit_ctx_outcome over gh_req_ctx);
 * takes ownership of details (may be NULL). A failure is logged and fails
 * the open transaction (its commit rolls back): an event written outside
 * a transaction must be checked by the caller. */
gh_dbrc gh_api_audit(gh_req *r, gh_dbconn *c, const char *type, const char *subject,
                     const char *outcome, const char *reason, json_t *details);

/* Whether the tenant's policy (docs/tenants.md) offers the sign-in method
 * (a GH_TM_* bit); answers 403 method_not_allowed when it does not. */
bool gh_api_method_allowed(gh_req *r, unsigned method);
/* The password rules of the request's tenant: the server's
 * (GATEHOUSE_PASSWORD_MIN_LENGTH and the lists) with the tenant's minimum
 * length when its policy sets one (in the arena). */
const gh_pwpolicy *gh_api_pwpolicy(gh_req *r);

#endif
