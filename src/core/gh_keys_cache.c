/*
 * gh_keys_cache: the ID and access tokens that verified (part of gh_keys,
 * gh_keys_internal.h). A resource server presents the same token on every
 * call; remembering it by the hash of its text saves the signature check,
 * never the checks of its key, exp, iss or revocation.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "gh_clock.h"
#include "gh_keys_internal.h"
#include "gh_metrics_series.h"

/* A resource server introspects (or calls UserInfo with) the same access
 * token on every API call, and one ES256 verification costs more than the
 * rest of such a request. A token that verified is remembered by the
 * SHA-256 of its exact text, with its kid, the typ it was checked for and
 * its payload, until its exp. A later call with the same bytes skips the
 * signature but still needs the key: present in the current keyset, same
 * alg, not expired, so a key that leaves the JWKS takes its tokens with it.
 * Everything the callers check (exp, iss, revocation) they still check on
 * every call. Tokens without a numeric exp are not remembered. */
enum { VERIFIED_SLOTS = 512, VERIFIED_LOCKS = 16, TYP_MAX = 16 };

typedef struct verified {
    uint8_t hash[GH_SHA256_BYTES];
    char kid[GH_KEYS_KID_MAX];
    char alg[8];
    char typ[TYP_MAX]; /* "" when checked with typ NULL */
    json_t *payload;   /* NULL: an empty slot */
    int64_t exp_ms;
} verified;

static verified verified_slot[VERIFIED_SLOTS];
static pthread_mutex_t verified_mu[VERIFIED_LOCKS] = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER};

static size_t verified_index(const uint8_t hash[GH_SHA256_BYTES])
{
    return ((size_t)hash[0] | (size_t)hash[1] << 8) % VERIFIED_SLOTS;
}

/* A copy of the remembered payload of jws (checked for typ), or NULL. The
 * key must still be usable; ks is the caller's current keyset. */
json_t *gh_keys_verified_find(const uint8_t hash[GH_SHA256_BYTES], const char *tenant,
                              const char *typ, const gh_keyset *ks)
{
    size_t i = verified_index(hash);
    pthread_mutex_t *mu = &verified_mu[i % VERIFIED_LOCKS];
    verified *v = &verified_slot[i];
    json_t *out = NULL;
    int64_t now = gh_now_ms();
    pthread_mutex_lock(mu);
    if (v->payload && sodium_memcmp(v->hash, hash, GH_SHA256_BYTES) == 0 &&
        strcmp(v->typ, typ ? typ : "") == 0) {
        const gh_key *k = gh_keys_find_kid(ks, tenant, v->kid);
        if (now < v->exp_ms && k && strcmp(k->alg, v->alg) == 0 &&
            !(k->expires_at && now >= k->expires_at))
            out = json_deep_copy(v->payload); /* callers may change theirs */
    }
    pthread_mutex_unlock(mu);
    gh_metrics_keys_cache(out != NULL); /* hit rate at /metrics (docs/metrics.md) */
    return out;
}

void gh_keys_verified_put(const uint8_t hash[GH_SHA256_BYTES], const char *typ, const char *kid,
                          const char *alg, const json_t *payload)
{
    json_t *expv = json_object_get(payload, "exp");
    if (!json_is_integer(expv) || (typ && strlen(typ) >= TYP_MAX) ||
        strlen(kid) >= GH_KEYS_KID_MAX || strlen(alg) >= sizeof(((verified *)0)->alg))
        return;
    json_t *copy = json_deep_copy(payload);
    if (!copy)
        return;
    size_t i = verified_index(hash);
    pthread_mutex_t *mu = &verified_mu[i % VERIFIED_LOCKS];
    verified *v = &verified_slot[i];
    pthread_mutex_lock(mu);
    json_t *old = v->payload;
    memcpy(v->hash, hash, GH_SHA256_BYTES);
    snprintf(v->kid, sizeof(v->kid), "%s", kid);
    snprintf(v->alg, sizeof(v->alg), "%s", alg);
    snprintf(v->typ, sizeof(v->typ), "%s", typ ? typ : "");
    v->exp_ms = (int64_t)json_integer_value(expv) * 1000;
    v->payload = copy;
    pthread_mutex_unlock(mu);
    json_decref(old);
}

/* Forgets every remembered token (gh_keys_shutdown, tests). */
void gh_keys_verified_clear(void)
{
    for (size_t i = 0; i < VERIFIED_SLOTS; i++) {
        pthread_mutex_t *mu = &verified_mu[i % VERIFIED_LOCKS];
        pthread_mutex_lock(mu);
        json_decref(verified_slot[i].payload);
        memset(&verified_slot[i], 0, sizeof(verified_slot[i]));
        pthread_mutex_unlock(mu);
    }
}
