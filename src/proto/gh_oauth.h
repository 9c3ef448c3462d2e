/*
 * gh_oauth: pure pieces of OAuth 2.0 / OpenID Connect request handling —
 * scope sets and PKCE — kept apart from HTTP so they are unit-tested and
 * fuzzed on their own.
 */
#ifndef GH_OAUTH_H
#define GH_OAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "gh_arena.h"

enum { GH_MAX_SCOPES = 32, GH_MAX_SCOPE_LEN = 128 };

/* Normalises a space-separated scope string: tokens sorted and deduplicated,
 * one space between. NULL when a token has characters RFC 6749 3.3 forbids
 * (outside %x21 / %x23-5B / %x5D-7E) or there are too many. "" stays "". */
char *gh_scope_normalise(gh_arena *a, const char *scope);
/* true when every token of want is in have (both normalised). */
bool gh_scope_subset(const char *want, const char *have);
/* true when scope (normalised) contains token. */
bool gh_scope_has(const char *scope, const char *token);
/* The union of two normalised scopes. */
char *gh_scope_union(gh_arena *a, const char *x, const char *y);
/* The tokens of want (normalised) that are not in have, normalised; "" when
 * none, NULL when out of memory. */
char *gh_scope_minus(gh_arena *a, const char *want, const char *have);

/* The OpenID Connect scopes this server acts on (normalised): what a client
 * may ask for when it registered no `scope`, and the only scopes an access
 * token for the issuer itself (userinfo) carries. */
#define GH_SCOPES_STANDARD "consents email offline_access openid org_admin org_roles profile"

/* RFC 7636: a verifier is 43 to 128 characters of [A-Za-z0-9-._~]. */
bool gh_pkce_verifier_valid(const char *verifier);
/* A challenge made with S256 is 43 base64url characters. */
bool gh_pkce_challenge_valid(const char *challenge);
/* true when BASE64URL(SHA256(verifier)) equals challenge (constant time). */
bool gh_pkce_s256_matches(const char *verifier, const char *challenge);

#endif
