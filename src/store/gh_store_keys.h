/*
 * gh_store_keys: SQL for the signing keys (private JWKs sealed under the master key by gh_keys).
 */
#ifndef GH_STORE_KEYS_H
#define GH_STORE_KEYS_H

#include <stdint.h>

#include "gh_arena.h"
#include "gh_db.h"

typedef struct gh_keyrow {
    const char *tenant_id;
    const char *kid;
    const char *alg;
    const char *private_jwk; /* sealed */
    const char *public_jwk;
    long long created_at;
    long long retired_at; /* 0: active */
    long long expires_at; /* 0: none */
} gh_keyrow;

gh_dbrc gh_store_keys_insert(gh_dbconn *c, gh_arena *a, const gh_keyrow *k);
/* The tenant's keys (every tenant's with tenant NULL, by tenant), newest first; with live set, only
 * those whose expires_at is unset or after now. */
gh_dbrc gh_store_keys_list(gh_dbconn *c, gh_arena *a, const char *tenant, int live, long long now,
                           gh_keyrow **rows, size_t *n);
/* Active keys of alg (retired_at NULL). */
gh_dbrc gh_store_keys_count_active(gh_dbconn *c, gh_arena *a, const char *tenant, const char *alg,
                                   long long *n);
/* Retires every active key of the tenant. */
gh_dbrc gh_store_keys_retire(gh_dbconn *c, gh_arena *a, const char *tenant, long long now,
                             long long expires_at);
gh_dbrc gh_store_keys_delete_expired(gh_dbconn *c, gh_arena *a, const char *tenant, long long now,
                                     long long *deleted);

#endif
