/*
 * gh_profiling: progressive profiling (issue 20 item 6, docs/privacy.md
 * "Progressive profiling"): the tenant's profile schema (the service behind
 * /admin/v1/profile/attributes and `gatehouse profile attribute`), which
 * attributes an authorization still needs from the customer, their values
 * (written with an audit event that names attributes, never values), and
 * the claims they become. Definitions: proto/gh_attr_schema; SQL:
 * store/gh_store_profile_attrs.
 *
 * Values live in users.profile (JSON) under "attributes" {name: value};
 * "attributes_skipped" lists the optional ones the customer said "not now"
 * to, so they are not asked again (ARCHITECTURE.md says why).
 */
#ifndef GH_PROFILING_H
#define GH_PROFILING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gh_ctx.h"
#include "gh_db.h"

/* The tenant's schema (JSON array of definitions, new reference), or NULL
 * with *rc the store's failure. */
json_t *gh_profiling_attrs(const gh_ctx *x, gh_dbrc *rc);

/* Creates (replace false: CONFLICT when the name is taken) or replaces the
 * attribute `in` defines, audited in the same transaction (actor "admin",
 * "cli"). INVALID with why when the definition is refused or a scope it
 * names is unknown here; on success *out is the stored view (new ref). */
gh_dbrc gh_profiling_attr_save(const gh_ctx *x, const char *actor, const json_t *in, bool replace,
                               json_t **out, char *why, size_t whylen);
/* Deletes an attribute from the schema (the customers' values stay in
 * their profiles, as data they gave; no token carries them any more). */
gh_dbrc gh_profiling_attr_delete(const gh_ctx *x, const char *actor, const char *name);

/* The attribute named name in schema (borrowed), or NULL. */
const json_t *gh_profiling_find(const json_t *schema, const char *name);

/* The attributes an authorization of scope by client_id needs that the
 * profile (users.profile JSON text) has no value for, less the optional
 * ones skipped before (JSON array of borrowed-then-copied definitions, new
 * reference; empty when nothing is missing). */
json_t *gh_profiling_missing(const json_t *schema, const char *profile, const char *scope,
                             const char *client_id);

/* Adds to claims the attributes whose value the profile holds and that
 * scope releases to client_id (gh_attr_released). */
void gh_profiling_claims(const json_t *schema, const char *profile, const char *scope,
                         const char *client_id, json_t *claims);

/* The values the profile holds ({name: value}, new reference). */
json_t *gh_profiling_values(const char *profile);

/*
 * Writes a customer's attribute values: values {name: value or null
 * (removes it)}, skip [names of optional attributes not given now] (may be
 * NULL). Each value is checked against the schema; INVALID with why (which
 * names the field, never echoes the value) when one fails, an attribute is
 * unknown, or a required one is skipped. The user's update and the audit
 * event "profile.attributes_updated" (details: the names) commit together.
 * PRECONDITION when the account changed meanwhile.
 */
gh_dbrc gh_profiling_save_values(const gh_ctx *x, const char *actor, const char *user_id,
                                 const json_t *values, const json_t *skip, char *why,
                                 size_t whylen);

#endif
