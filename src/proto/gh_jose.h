/*
 * gh_jose: the JOSE pieces that need no key store (cjose on OpenSSL): the
 * strict parse of a compact JWS (RFC 7515), checking its signature with a
 * given key, which keys fit which alg, verification against a JWK Set a
 * client registered (RFC 7517; private_key_jwt, RFC 7523) and JWK
 * thumbprints (RFC 7638). No database, no state: our own signing keys, their
 * snapshot and the JWKS we publish are gh_keys (core).
 */
#ifndef GH_JOSE_H
#define GH_JOSE_H

#include <cjose/cjose.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gh_arena.h"

enum {
    GH_JOSE_MAX_JWS = 64 * 1024, /* longest compact JWS we look at */
    GH_JOSE_MAX_SIG = 1024,      /* 8192-bit RSA */
    GH_JOSE_RSA_MIN_BITS = 2048, /* the smallest RSA key we accept */
    GH_JOSE_RSA_MAX_BITS = 8192, /* the largest (verification cost) */
};

/* The typ a JWS without a typ header counts as (gh_jose_typ_matches). */
#define GH_JOSE_TYP_JWT "JWT"

/* A compact JWS as gh_jose_parse found it. alg, kid and typ point into hdr
 * (kid and typ may be NULL); s is the caller's token, not copied. */
typedef struct gh_jose_jws {
    const char *s;
    size_t len;
    json_t *hdr; /* owned: gh_jose_jws_free */
    const char *alg, *kid, *typ;
    size_t siglen; /* bytes of the decoded signature */
} gh_jose_jws;

/* Splits and checks a compact JWS and decodes its header: three segments of
 * strict base64url, at most GH_JOSE_MAX_JWS bytes, a header that is a JSON
 * object without duplicate names, with an alg other than none, no crit,
 * string kid and typ when present, and a signature (alg none has none) of at
 * most GH_JOSE_MAX_SIG bytes. Says nothing about alg being one we accept.
 * Returns 0, or -1 with *why (optional) set and nothing to free. */
int gh_jose_parse(const char *jws, gh_jose_jws *p, const char **why);
/* Frees what gh_jose_parse left in p; safe to call twice. */
void gh_jose_jws_free(gh_jose_jws *p);

/* Checks p's signature with jwk (which must fit p->alg: gh_jose_key_fits)
 * and returns the payload, a JSON object (new reference); NULL with *why
 * set (a bad signature, a payload that is no JSON object). */
json_t *gh_jose_check_signature(const gh_jose_jws *p, const cjose_jwk_t *jwk, const char **why);

/* NULL when jwk can verify (or make) a signature of alg with siglen bytes
 * (0: not checked): ES256 with an EC P-256 key, RS256 or PS256 with an RSA
 * key of GH_JOSE_RSA_MIN_BITS to _MAX_BITS; else why not. */
const char *gh_jose_key_fits(const cjose_jwk_t *jwk, const char *alg, size_t siglen);

/* Whether a header typ (got, NULL when absent) is want: compared
 * case-insensitively, also as "application/"+want; no typ matches only
 * GH_JOSE_TYP_JWT. */
bool gh_jose_typ_matches(const char *got, const char *want);

/* Whether a JWK (JSON, as a client registered it) may verify alg: kty and
 * curve decide, then its own use, alg and key_ops when present. */
bool gh_jose_jwk_suitable(const json_t *jwk, const char *alg);

/* Verifies a JWS against a JWK Set given as JSON (a client's registered jwks,
 * for private_key_jwt, RFC 7523): the key chosen by kid (or the only suitable
 * key when there is no kid); alg must be ES256, RS256 or PS256 and match the
 * key (EC P-256, RSA of 2048 bits or more; the key's own "alg" and "use", when
 * present, must agree); alg none refused. Only the key's public members reach
 * cjose. Returns the payload or NULL; *why (optional) gets a short reason. */
json_t *gh_jose_verify_with_jwks(const char *jws, const json_t *jwks, const char **why);

/* The public members of a cjose key as a new JSON object: {kty, crv, x, y}
 * or {kty, n, e}; NULL for another key type. */
json_t *gh_jose_public_members(const cjose_jwk_t *jwk);

/* The RFC 7638 thumbprint (SHA-256, base64url) of a public EC or RSA JWK;
 * NULL for another key type or missing members. In the arena. */
char *gh_jose_thumbprint(gh_arena *a, const json_t *jwk);

/* Frees a string cjose allocated (cjose_jwk_to_json), wiped first when it
 * may hold a secret. */
void gh_jose_free_text(char *s, bool secret);

#endif
