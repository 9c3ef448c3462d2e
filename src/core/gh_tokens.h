/*
 * gh_tokens: reading back the tokens we issued, for UserInfo, introspection
 * (RFC 7662) and revocation (RFC 7009). Issuing stays with the token
 * endpoint (handlers/gh_token.c), which owns the grants.
 *
 * Access tokens are JWTs (RFC 9068, typ at+jwt): checking one needs our
 * keys and, for revocation, the revoked_tokens list. Refresh tokens are
 * opaque and looked up by their hash.
 */
#ifndef GH_TOKENS_H
#define GH_TOKENS_H

#include <jansson.h>

#include "gh_ctx.h"
#include "gh_store_oidc.h"

/* The claims of one of our access tokens (new reference), or NULL when its
 * signature, typ, issuer or expiry is wrong or it has been revoked. *rc is
 * GH_DB_BUSY when the revocation list could not be read, else GH_DB_OK. */
json_t *gh_tokens_access_check(const gh_ctx *x, const char *token, gh_dbrc *rc);

/* The refresh token `token` when it is client_id's and still usable (not
 * revoked, not rotated, neither it nor its family expired): GH_DB_OK with
 * *out filled, GH_DB_NOTFOUND otherwise, GH_DB_BUSY without a connection. */
gh_dbrc gh_tokens_refresh_active(const gh_ctx *x, const char *token, const char *client_id,
                                 gh_refresh *out);

/* Revokes `token` when client_id owns it: an access token by its jti until
 * it expires, a refresh token with its whole family (and the access tokens
 * issued with it). A token that is unknown, malformed or another client's
 * is left alone and answers GH_DB_OK (RFC 7009 2.2). */
gh_dbrc gh_tokens_revoke(const gh_ctx *x, const char *token, const char *client_id);

#endif
