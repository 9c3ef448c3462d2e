/*
 * gh_fedapple: what Sign in with Apple asks beyond OpenID Connect
 * (docs/federation.md "Apple"). Its client secret is not a shared secret
 * but a JWT the client makes itself: ES256, signed with the developer's
 * private key (a PKCS#8 P-256 key in PEM, Apple's .p8 file), with the team
 * id as iss, the client id as sub, aud https://appleid.apple.com and a
 * short life; and on the first sign-in only, Apple posts the person's name
 * in a "user" form field next to the code. No I/O, no state.
 */
#ifndef GH_FEDAPPLE_H
#define GH_FEDAPPLE_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_arena.h"

#define GH_FEDAPPLE_AUD "https://appleid.apple.com"

enum {
    GH_FEDAPPLE_SECRET_TTL_S = 300, /* a client secret is made per token request */
    GH_FEDAPPLE_PEM_MAX = 4096,     /* a P-256 key in PEM is a few hundred bytes */
    /* the "user" field, {"name": {"firstName", "lastName"}, "email"}: two
     * levels; one more as slack. Names of 100 characters fit escaped. */
    GH_FEDAPPLE_USER_DEPTH = 3,
    GH_FEDAPPLE_USER_MAX = 4096,
};

/* Whether s can be an Apple team id or key id: 10 of A-Z and 0-9, as
 * Apple issues them. */
bool gh_fedapple_id_ok(const char *s);

/* NULL when pem is an EC P-256 private key (PKCS#8 or SEC 1 PEM), else
 * why not. */
const char *gh_fedapple_key_check(const char *pem);

/* A fresh client secret: the compact JWS (ES256, kid key_id) of {iss:
 * team_id, iat: now, exp: now + GH_FEDAPPLE_SECRET_TTL_S, aud:
 * GH_FEDAPPLE_AUD, sub: client_id}, in the arena; NULL when the key does
 * not sign. now in seconds. */
char *gh_fedapple_client_secret(gh_arena *a, const char *team_id, const char *key_id,
                                const char *client_id, const char *pem, long long now);

/* Adds the name of Apple's "user" form field ({"name": {"firstName",
 * "lastName"}, ...}, JSON) to claims as given_name, family_name and name,
 * each only when claims has none: it is not signed, so it never replaces
 * what the ID token says, and its email is not read. Ignores anything
 * malformed, not an object, longer than GH_FEDAPPLE_USER_MAX bytes or
 * nested deeper than GH_FEDAPPLE_USER_DEPTH. */
void gh_fedapple_user_names(const char *user_field, json_t *claims);

#endif
