/*
 * gh_keys_jwks: the JWK Set at {issuer}/jwks (part of gh_keys,
 * gh_keys_internal.h): the public keys of one tenant that have not expired,
 * from the current snapshot of the keys. The default tenant's document is
 * made once per snapshot and kept in it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gh_clock.h"
#include "gh_keys.h"
#include "gh_keys_internal.h"
#include "gh_store_users.h"

#define TENANT GH_DEFAULT_TENANT

/* Guards the JWKS text kept in a snapshot (gh_keyset.jwks, jwks_until). */
static pthread_mutex_t jwks_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- the JWK Set ---- */

/* The key set as a JSON document, with the time the first of its keys
 * expires out of it (0: never). */
static json_t *jwks_of(const gh_keyset *ks, const char *tenant, int64_t now, int64_t *until)
{
    json_t *arr = json_array();
    *until = 0;
    for (size_t i = gh_keys_tenant_first(ks, tenant); arr && ks && i < ks->n; i++) {
        const gh_key *k = &ks->keys[i];
        if (strcmp(k->tenant, tenant) != 0)
            break;
        if (k->expires_at && now >= k->expires_at)
            continue;
        if (k->expires_at && (!*until || k->expires_at < *until))
            *until = k->expires_at;
        json_t *o = json_loads(k->pub, 0, NULL);
        if (o)
            json_array_append_new(arr, o);
    }
    return arr ? json_pack("{s:o}", "keys", arr) : NULL;
}

json_t *gh_keys_jwks_for(const char *tenant)
{
    int64_t until;
    gh_keyset *ks = gh_keys_acquire();
    json_t *set = jwks_of(ks, tenant, gh_now_ms(), &until);
    gh_keys_release(ks);
    return set;
}

json_t *gh_keys_jwks(void)
{
    return gh_keys_jwks_for(TENANT);
}

/* The default tenant's JWKS text, made once per key set (and again when a
 * key expires out of it), copied into the request arena; another tenant's
 * is made at each call (clients cache a JWKS; the default tenant's is the
 * one a benchmark hammers). */
const char *gh_keys_jwks_text_for(gh_arena *a, const char *tenant)
{
    int64_t now = gh_now_ms(), until = 0;
    const char *out = NULL;
    if (strcmp(tenant, TENANT) != 0) {
        json_t *set = gh_keys_jwks_for(tenant);
        char *text = set ? json_dumps(set, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(set);
        out = text ? gh_arena_strdup(a, text) : NULL;
        free(text);
        return out;
    }
    gh_keyset *ks = gh_keys_acquire();
    pthread_mutex_lock(&jwks_mu);
    if (ks && (!ks->jwks || (ks->jwks_until && now >= ks->jwks_until))) {
        json_t *set = jwks_of(ks, TENANT, now, &until);
        char *text = set ? json_dumps(set, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(set);
        if (text) {
            free(ks->jwks);
            ks->jwks = text;
            ks->jwks_until = until;
        }
    }
    if (ks && ks->jwks)
        out = gh_arena_strdup(a, ks->jwks);
    pthread_mutex_unlock(&jwks_mu);
    gh_keys_release(ks);
    return out;
}

const char *gh_keys_jwks_text(gh_arena *a)
{
    return gh_keys_jwks_text_for(a, TENANT);
}
