/*
 * gh_audit_chain: the hash chain of the audit log (docs/audit.md), as pure
 * computation: the canonical form of an event, its digest of personal
 * fields, and the check of one link. The SQL (heads, checkpoints, the
 * walk) is store/gh_audit_log.c; appending is gh_audit_append.
 *
 * Each event of a tenant has a position n (1, 2, ...), the hash of the
 * event before it (prev_hash; GH_AUDIT_GENESIS for the first) and its own
 * hash, SHA-256 over the canonical form: a list of fields, each written as
 * a 4-byte big-endian length and its bytes (SQL NULL as the length
 * 0xFFFFFFFF and no bytes), in this order:
 *   "gatehouse.audit.v1", tenant_id, n (decimal), prev_hash, id,
 *   time (decimal milliseconds), type, outcome, reason, pii_digest.
 * The personal fields are not in it themselves but through pii_digest,
 * HMAC-SHA-256 under a key derived from the master key over the fields
 *   "gatehouse.audit.pii.v1", tenant_id, id, subject, actor, ip,
 *   user_agent, details
 * in the same length-prefixed form. So erasing a deleted customer's
 * personal fields (gh_audit_pseudonymise) leaves every hash valid, and the
 * digest cannot be tested against guessed addresses without the key.
 * Hashes and digests are stored as lower-case hex.
 *
 * An event is written unsealed (no position, no hashes yet) with its
 * pii_digest and a seal MAC, HMAC-SHA-256 under a second key derived from
 * the master key over
 *   "gatehouse.audit.seal.v1", tenant_id, id, time (decimal), type,
 *   outcome, reason, pii_digest,
 * and the sealer (store/gh_audit_log) gives it its place in the chain
 * after its transaction commits. The MAC is what lets the sealer, and
 * verification, tell an event the server wrote from a row inserted or
 * edited by hand before it was sealed.
 */
#ifndef GH_AUDIT_CHAIN_H
#define GH_AUDIT_CHAIN_H

#include <stdbool.h>
#include <stdint.h>

enum {
    GH_AUDIT_KEY_BYTES = 32,
    GH_AUDIT_HEX = 64, /* characters of a hash or digest in hex */
};

/* prev_hash of a tenant's first event */
#define GH_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* One stored event, as the chain sees it; text fields may be NULL. */
typedef struct gh_audit_row {
    long long seq; /* only to name the event in reports */
    const char *tenant_id;
    long long n; /* position in the tenant's chain; 0: not chained */
    const char *prev_hash;
    const char *id;
    long long time;
    const char *type;
    const char *subject;
    const char *actor;
    const char *ip;
    const char *user_agent;
    const char *outcome;
    const char *reason;
    const char *details;
    const char *pii_digest;
    const char *hash;
    const char *seal_mac; /* NULL: written before the sealer (legacy) */
} gh_audit_row;

/* pii_digest of r's personal fields under key, hex into out. */
void gh_audit_pii_digest(const uint8_t key[GH_AUDIT_KEY_BYTES], const gh_audit_row *r,
                         char out[GH_AUDIT_HEX + 1]);
/* seal_mac of r (its pii_digest as stored) under key, hex into out. */
void gh_audit_seal_mac(const uint8_t key[GH_AUDIT_KEY_BYTES], const gh_audit_row *r,
                       char out[GH_AUDIT_HEX + 1]);
/* True when r's stored seal_mac is the one key gives it. */
bool gh_audit_seal_ok(const uint8_t key[GH_AUDIT_KEY_BYTES], const gh_audit_row *r);
/* The hash of r from its canonical form (r->n, r->prev_hash and
 * r->pii_digest as stored), hex into out. */
void gh_audit_row_hash(const gh_audit_row *r, char out[GH_AUDIT_HEX + 1]);
/* True when r looks erased by gh_audit_pseudonymise: no ip, no user agent,
 * and a pseudonymous subject or actor or "[erased]" in its details. */
bool gh_audit_row_erased(const gh_audit_row *r);

typedef enum {
    GH_AUDIT_OK,          /* the link holds and the personal fields match */
    GH_AUDIT_OK_ERASED,   /* the link holds; personal fields erased since */
    GH_AUDIT_UNCHAINED,   /* no hash: written before the chain and not backfilled */
    GH_AUDIT_ALTERED,     /* the fields do not give the stored hash */
    GH_AUDIT_GAP,         /* the position is not the next one: events missing */
    GH_AUDIT_BAD_LINK,    /* prev_hash is not the hash of the event before */
    GH_AUDIT_PII_ALTERED, /* personal fields changed other than by an erasure */
    GH_AUDIT_BAD_SEAL     /* unsealed, and its seal MAC does not match: altered or forged */
} gh_audit_check;

/* What a check answer means, in a few words. */
const char *gh_audit_check_str(gh_audit_check c);

/* A walk along one tenant's chain: the position and hash of the last event
 * accepted, and how many were accepted as erased. */
typedef struct gh_audit_walk {
    long long n;
    char hash[GH_AUDIT_HEX + 1];
    long long erased;
} gh_audit_walk;

void gh_audit_walk_start(gh_audit_walk *w);
/* Checks r as the next event of the walk and, when it holds (OK or
 * OK_ERASED), moves the walk onto it; otherwise the walk stays. */
gh_audit_check gh_audit_walk_step(gh_audit_walk *w, const uint8_t key[GH_AUDIT_KEY_BYTES],
                                  const gh_audit_row *r);

#endif
