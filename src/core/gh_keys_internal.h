/*
 * gh_keys_internal: what the files of gh_keys share, and nothing else
 * includes. gh_keys.c holds the key store, the in-memory snapshots of the
 * keys, signing, verification and rotation; gh_keys_cache.c the tokens that
 * verified (so a token presented again skips its signature check);
 * gh_keys_jwks.c the published JWK Set of each tenant.
 */
#ifndef GH_KEYS_INTERNAL_H
#define GH_KEYS_INTERNAL_H

#include <cjose/cjose.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gh_crypto.h"
#include "gh_tenant_meta.h"

enum { GH_KEYS_KID_MAX = 64 };

/* One key of a snapshot. Immutable once the snapshot is published. */
typedef struct gh_key {
    char tenant[GH_TENANT_ID_MAX + 1];
    char kid[GH_KEYS_KID_MAX];
    char alg[8];
    cjose_jwk_t *jwk; /* with its private part */
    char *pub;        /* the published JWK as JSON text (malloc) */
    /* JWS headers made once: {alg, kid} and {alg, kid, typ: at+jwt}; shared
     * read-only by every signer (cjose only reads them) */
    json_t *hdr_plain, *hdr_at;
    int64_t created_at, retired_at, expires_at;
} gh_key;

/* The keys one reload saw. Readers hold a reference while they use it. */
typedef struct gh_keyset {
    atomic_int refs;
    size_t n;
    gh_key *keys;    /* sorted by tenant, then newest first */
    gh_key **by_kid; /* the same keys sorted by kid */
    /* the default tenant's JWKS document, made on first use (guarded by the
     * lock of gh_keys_jwks.c), and the time the next of its keys leaves it
     * (0: none does) */
    char *jwks;
    int64_t jwks_until;
} gh_keyset;

/* The current snapshot with a reference taken (NULL before gh_keys_init);
 * give it back with gh_keys_release. */
gh_keyset *gh_keys_acquire(void);
void gh_keys_release(gh_keyset *ks);
/* The first key of tenant in ks->keys (sorted by tenant), or ks->n. */
size_t gh_keys_tenant_first(const gh_keyset *ks, const char *tenant);
/* The key named kid, when it is tenant's. */
const gh_key *gh_keys_find_kid(const gh_keyset *ks, const char *tenant, const char *kid);

/* -- gh_keys_cache.c: the tokens that verified -- */

/* A copy of the remembered payload of the token whose SHA-256 is hash
 * (checked for typ), or NULL. Its key must still be usable in ks, the
 * caller's current snapshot. */
json_t *gh_keys_verified_find(const uint8_t hash[GH_SHA256_BYTES], const char *tenant,
                              const char *typ, const gh_keyset *ks);
/* Remembers a token that verified (by hash) until its exp. */
void gh_keys_verified_put(const uint8_t hash[GH_SHA256_BYTES], const char *typ, const char *kid,
                          const char *alg, const json_t *payload);
/* Forgets every remembered token (gh_keys_shutdown, tests). */
void gh_keys_verified_clear(void);

#endif
