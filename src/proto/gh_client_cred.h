/*
 * gh_client_cred: reading the credentials a client presents (RFC 6749 2.3,
 * RFC 7523), pure so they are unit-tested and fuzzed alone. The decision
 * (which method, the secret, the signature, the single-use jti) is
 * gh_client_authenticate's, in handlers/gh_client_auth.
 */
#ifndef GH_CLIENT_CRED_H
#define GH_CLIENT_CRED_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_arena.h"

enum {
    GH_CLIENT_ASSERTION_MAX_S = 3600, /* how far ahead an assertion's exp may be */
    GH_CLIENT_ASSERTION_SKEW_S = 60,  /* clock skew allowed for nbf and iat */
};

#define GH_CLIENT_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/*
 * Decodes an Authorization header of the Basic scheme (RFC 7617) carrying
 * client credentials: base64("id:secret") where id and secret are each
 * application/x-www-form-urlencoded (RFC 6749 2.3.1). Returns 1 and sets
 * *id and *secret (arena copies, valid UTF-8 without control characters,
 * id non-empty) on success; 0 when the header is not of the Basic scheme;
 * -1 when it is Basic but malformed.
 */
int gh_client_basic_decode(gh_arena *a, const char *header, const char **id, const char **secret);

/* Checks the claims of a verified client assertion (RFC 7523 3) at time
 * now (seconds): iss = sub = client_id; aud contains audience, the issuer
 * or the issuer's /token URL; exp in the future and at most
 * GH_CLIENT_ASSERTION_MAX_S ahead; nbf and iat (if present) not in the
 * future beyond GH_CLIENT_ASSERTION_SKEW_S; a jti. On success returns true
 * and *jti (borrowed from claims), *exp are set. On failure returns false
 * and *why a reason (static text). */
bool gh_client_assertion_claims_ok(const json_t *claims, const char *client_id,
                                   const char *audience, const char *issuer, long long now,
                                   const char **jti, long long *exp, const char **why);

/* Reads the payload of a compact JWS without verifying it: only to learn
 * which client it claims to be from (its "sub", else "iss"). NULL when it
 * cannot be read. The string lives in a. */
const char *gh_client_assertion_subject(gh_arena *a, const char *jws);

#endif
