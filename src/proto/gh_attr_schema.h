/*
 * gh_attr_schema: the operator's profile schema (issue 20 item 6,
 * docs/privacy.md "Progressive profiling"): what an attribute definition
 * may say, whether a customer's value fits it, and when its claim may leave
 * in a token. Pure; unit-tested (tests/unit/proto/test_attr_schema.c).
 *
 * A definition is a JSON object (the admin API's view):
 *   {"name": claim name, "display_name": label shown to the customer,
 *    "type": "string" | "boolean" | "date" | "number" | "enum" | "phone",
 *    "required": bool, "sensitivity": "normal" | "sensitive",
 *    "scopes": [scopes that release and need it], "clients": [client ids
 *    that need it], "min_length", "max_length", "pattern" (string),
 *    "min", "max" (number; for a date "YYYY-MM-DD"), "values" (enum),
 *    "claim": "standard" | "custom" (set from the name)}
 */
#ifndef GH_ATTR_SCHEMA_H
#define GH_ATTR_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum {
    GH_ATTR_NAME_MAX = 40,
    GH_ATTR_TEXT_MAX = 1024, /* the longest string value, in characters */
    GH_ATTR_PATTERN_MAX = 200,
    GH_ATTR_VALUES_MAX = 64,
    GH_ATTR_SCOPES_MAX = 8,
    GH_ATTR_CLIENTS_MAX = 16,
    GH_ATTR_PER_TENANT_MAX = 64,
};

/* true when name is an OpenID Connect standard claim (OIDC Core 5.1) that
 * the schema may define (the ones Gatehouse fills itself are not). */
bool gh_attr_standard_claim(const char *name);

/* Checks an attribute definition; returns the normalised definition (new
 * reference: defaults filled in, "claim" set, unknown members refused) or
 * NULL with a reason in why. Whether its scopes exist is the caller's
 * question (the resources). */
json_t *gh_attr_def_validate(const json_t *in, char *why, size_t whylen);

/* Checks a customer's value against def; returns the value as stored (new
 * reference; a phone number loses its spaces and dashes) or NULL with a
 * reason in why that names the attribute by its display name. */
json_t *gh_attr_value_validate(const json_t *def, const json_t *v, char *why, size_t whylen);

/* true when an authorization of scope (normalised) by client_id needs the
 * attribute: one of its scopes is asked, or the client is one of its
 * clients. */
bool gh_attr_needed(const json_t *def, const char *scope, const char *client_id);

/* true when the attribute's claim may go into a token of scope for
 * client_id: one of its scopes was granted; or, for a normal (not
 * sensitive) attribute that names client_id, when "openid" was. */
bool gh_attr_released(const json_t *def, const char *scope, const char *client_id);

/* The claim for a stored value (new reference): "address" becomes the
 * OIDC address object {"formatted": value}; anything else is the value. */
json_t *gh_attr_claim_value(const json_t *def, const json_t *v);

/* true when def is marked sensitive. */
bool gh_attr_sensitive(const json_t *def);

#endif
