/*
 * gh_resources: protected resources (APIs) an access token can be for
 * (RFC 8707), their scopes and the words consent shows for them; the service
 * behind `/admin/v1/resources` (handlers/gh_admin_resources.c) and
 * `gatehouse resource` (cmd/gh_cmd_resource.c). Validation is
 * proto/gh_resource_meta, the SQL store/gh_store_resources.
 *
 * A resource is a JSON object (the admin API's view):
 *   {"id", "identifier" (absolute URI: the access token's aud), "name",
 *    "scopes": {"scope": "description shown at consent", ...},
 *    "access_token_ttl" (seconds), "access_token_format" ("jwt", RFC 9068),
 *    "introspection_clients": [client ids that may introspect its tokens],
 *    "created_at", "updated_at"}
 * A scope belongs to one resource at most and is never a standard OIDC
 * scope, so the resource of a token follows from its scope.
 *
 * The server keeps a snapshot of all resources per process for at most a
 * second (a change in this process drops it at once), so the token
 * endpoint reads no table for them.
 */
#ifndef GH_RESOURCES_H
#define GH_RESOURCES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "gh_config.h"
#include "gh_ctx.h"
#include "gh_db.h"
#include "gh_resource_meta.h"

/* true when every token of scope (normalised) is a standard OIDC scope or
 * a scope of a registered resource. false also when the store fails. */
bool gh_resources_scope_known(const gh_ctx *x, const char *scope);

/* The same from the store, for the command line (no snapshot). */
bool gh_resources_scope_known_db(gh_dbconn *c, gh_arena *a, const char *scope);

/*
 * The resource a request is for: the one that owns the non-standard scopes
 * of scope, checked against the `resource` parameter (may be NULL).
 * Returns 0 and sets *out (new reference, NULL for "the issuer": only OIDC
 * scopes and no resource asked), or an OAuth error code — "invalid_target"
 * (unknown resource, or the scope is not of it) or "invalid_scope" (scopes
 * of two resources, or unknown) — with *why a description.
 */
const char *gh_resources_target(const gh_ctx *x, const char *scope, const char *resource,
                                json_t **out, const char **why);

/* The operator's description of a resource scope (in r's arena), NULL if
 * no resource has it. */
const char *gh_resources_scope_description(const gh_ctx *x, const char *scope);

/* true when client_id is listed as a resource server allowed to
 * introspect tokens whose aud is identifier. */
bool gh_resources_may_introspect(const gh_ctx *x, const char *identifier, const char *client_id);

/* Every resource of the tenant (a JSON array, new reference), or NULL with
 * *rc the store's failure. */
json_t *gh_resources_list(const gh_ctx *x, gh_dbrc *rc);
/* One resource by id (new reference), or NULL with *rc (NOTFOUND when
 * there is no such resource). */
json_t *gh_resources_get(const gh_ctx *x, const char *id, gh_dbrc *rc);
/* Creates (id NULL) or replaces a resource from a document that
 * gh_resource_validate returned, with its audit event in the same
 * transaction (actor: "admin", "cli"). On success *out is the stored view
 * (new reference). CONFLICT (why set) when the identifier or a scope is
 * another resource's; NOTFOUND when id is unknown; BUSY without a
 * connection. */
gh_dbrc gh_resources_save(const gh_ctx *x, const char *actor, const char *id, const json_t *doc,
                          json_t **out, char *why, size_t whylen);
/* Deletes a resource, audited in the same transaction. NOTFOUND: unknown. */
gh_dbrc gh_resources_delete(const gh_ctx *x, const char *actor, const char *id);

#endif
