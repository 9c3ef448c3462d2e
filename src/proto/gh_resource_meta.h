/*
 * gh_resource_meta: what a protected resource (an API, RFC 8707) may look
 * like when an operator registers or replaces it, through the admin API or
 * `gatehouse resource create`. Pure: unit-tested alone
 * (tests/unit/proto/test_resource_meta.c). The service is core/gh_resources.
 */
#ifndef GH_RESOURCE_META_H
#define GH_RESOURCE_META_H

#include <jansson.h>
#include <stddef.h>

/* The longest access_token_ttl a resource may have (seconds). */
enum { GH_RESOURCE_TTL_MAX_S = 86400 };

/* Validates a resource document (create or replace); returns the stored
 * form (new reference) or NULL with why set. */
json_t *gh_resource_validate(const json_t *in, const char *issuer, char *why, size_t whylen);

#endif
