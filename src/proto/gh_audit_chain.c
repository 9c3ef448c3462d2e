#include "gh_audit_chain.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "gh_crypto.h"

/* NULL's length: no field is 4 GiB long, so it cannot be confused. */
#define NULL_LEN 0xFFFFFFFFu

/* Writes one field (length, then bytes) to whichever state is given. */
typedef struct lp_sink {
    crypto_hash_sha256_state *sha;
    crypto_auth_hmacsha256_state *mac;
} lp_sink;

static void sink_bytes(lp_sink *s, const void *p, size_t n)
{
    if (s->sha)
        crypto_hash_sha256_update(s->sha, p, n);
    else
        crypto_auth_hmacsha256_update(s->mac, p, n);
}

static void lp_field(lp_sink *s, const char *v)
{
    uint32_t n = v ? (uint32_t)strlen(v) : NULL_LEN;
    uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    sink_bytes(s, len, sizeof(len));
    if (v)
        sink_bytes(s, v, strlen(v));
}

static void lp_int(lp_sink *s, long long v)
{
    char t[24];
    snprintf(t, sizeof(t), "%lld", v);
    lp_field(s, t);
}

void gh_audit_pii_digest(const uint8_t key[GH_AUDIT_KEY_BYTES], const gh_audit_row *r,
                         char out[GH_AUDIT_HEX + 1])
{
    crypto_auth_hmacsha256_state st;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    lp_sink s = {NULL, &st};
    crypto_auth_hmacsha256_init(&st, key, GH_AUDIT_KEY_BYTES);
    lp_field(&s, "gatehouse.audit.pii.v1");
    lp_field(&s, r->tenant_id);
    lp_field(&s, r->id);
    lp_field(&s, r->subject);
    lp_field(&s, r->actor);
    lp_field(&s, r->ip);
    lp_field(&s, r->user_agent);
    lp_field(&s, r->details);
    crypto_auth_hmacsha256_final(&st, mac);
    gh_hex(mac, sizeof(mac), out);
    sodium_memzero(&st, sizeof(st)); /* the state holds the padded key */
}

void gh_audit_seal_mac(const uint8_t key[GH_AUDIT_KEY_BYTES], const gh_audit_row *r,
                       char out[GH_AUDIT_HEX + 1])
{
    crypto_auth_hmacsha256_state st;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    lp_sink s = {NULL, &st};
    crypto_auth_hmacsha256_init(&st, key, GH_AUDIT_KEY_BYTES);
    lp_field(&s, "gatehouse.audit.seal.v1");
    lp_field(&s, r->tenant_id);
    lp_field(&s, r->id);
    lp_int(&s, r->time);
    lp_field(&s, r->type);
    lp_field(&s, r->outcome);
    lp_field(&s, r->reason);
    lp_field(&s, r->pii_digest);
    crypto_auth_hmacsha256_final(&st, mac);
    gh_hex(mac, sizeof(mac), out);
    sodium_memzero(&st, sizeof(st));
}

bool gh_audit_seal_ok(const uint8_t key[GH_AUDIT_KEY_BYTES], const gh_audit_row *r)
{
    char m[GH_AUDIT_HEX + 1];
    if (!r->seal_mac || strlen(r->seal_mac) != GH_AUDIT_HEX)
        return false;
    gh_audit_seal_mac(key, r, m);
    return sodium_memcmp(r->seal_mac, m, GH_AUDIT_HEX) == 0;
}

void gh_audit_row_hash(const gh_audit_row *r, char out[GH_AUDIT_HEX + 1])
{
    crypto_hash_sha256_state st;
    uint8_t h[crypto_hash_sha256_BYTES];
    lp_sink s = {&st, NULL};
    crypto_hash_sha256_init(&st);
    lp_field(&s, "gatehouse.audit.v1");
    lp_field(&s, r->tenant_id);
    lp_int(&s, r->n);
    lp_field(&s, r->prev_hash);
    lp_field(&s, r->id);
    lp_int(&s, r->time);
    lp_field(&s, r->type);
    lp_field(&s, r->outcome);
    lp_field(&s, r->reason);
    lp_field(&s, r->pii_digest);
    crypto_hash_sha256_final(&st, h);
    gh_hex(h, sizeof(h), out);
}

static bool pseudonymous(const char *v)
{
    return v && strncmp(v, "pseud:", 6) == 0;
}

bool gh_audit_row_erased(const gh_audit_row *r)
{
    if (r->ip || r->user_agent)
        return false;
    return pseudonymous(r->subject) || pseudonymous(r->actor) ||
           (r->details && strstr(r->details, "[erased]"));
}

const char *gh_audit_check_str(gh_audit_check c)
{
    switch (c) {
    case GH_AUDIT_OK:
        return "intact";
    case GH_AUDIT_OK_ERASED:
        return "intact, personal fields erased";
    case GH_AUDIT_UNCHAINED:
        return "the event has no hash (never chained)";
    case GH_AUDIT_ALTERED:
        return "the event's fields do not give its stored hash (altered)";
    case GH_AUDIT_GAP:
        return "the event is not the next in the chain (events before it are missing)";
    case GH_AUDIT_BAD_LINK:
        return "prev_hash is not the hash of the event before it (altered or reordered)";
    case GH_AUDIT_PII_ALTERED:
        return "subject, actor, ip, user_agent or details do not match pii_digest (altered)";
    case GH_AUDIT_BAD_SEAL:
        return "the event is not sealed yet and its fields do not match its seal MAC (altered, "
               "or inserted by hand)";
    }
    return "unknown";
}

void gh_audit_walk_start(gh_audit_walk *w)
{
    w->n = 0;
    memcpy(w->hash, GH_AUDIT_GENESIS, sizeof(w->hash));
    w->erased = 0;
}

/* Equal hex texts; stored hashes are public, so no constant time needed. */
static bool same(const char *stored, const char *computed)
{
    return stored && strcmp(stored, computed) == 0;
}

gh_audit_check gh_audit_walk_step(gh_audit_walk *w, const uint8_t key[GH_AUDIT_KEY_BYTES],
                                  const gh_audit_row *r)
{
    char h[GH_AUDIT_HEX + 1];
    if (!r->hash || r->n <= 0)
        return GH_AUDIT_UNCHAINED;
    gh_audit_row_hash(r, h);
    if (!same(r->hash, h))
        return GH_AUDIT_ALTERED;
    if (r->n != w->n + 1)
        return GH_AUDIT_GAP;
    if (!same(r->prev_hash, w->hash))
        return GH_AUDIT_BAD_LINK;
    gh_audit_pii_digest(key, r, h);
    gh_audit_check rc = GH_AUDIT_OK;
    if (!r->pii_digest || strlen(r->pii_digest) != GH_AUDIT_HEX ||
        sodium_memcmp(r->pii_digest, h, GH_AUDIT_HEX) != 0) {
        if (!gh_audit_row_erased(r))
            return GH_AUDIT_PII_ALTERED;
        rc = GH_AUDIT_OK_ERASED;
        w->erased++;
    }
    w->n = r->n;
    memcpy(w->hash, r->hash, GH_AUDIT_HEX + 1);
    return rc;
}
