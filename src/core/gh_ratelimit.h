/*
 * gh_ratelimit: the rate limits' buckets, in memory (docs/rate-limits.md).
 *
 * One bounded table per process: a fixed number of slots, set-associative
 * (GH_RATELIMIT_WAYS slots per set), each holding a gh_bucket under a
 * 64-bit keyed BLAKE2b hash of its key (the hash key drawn at start). A key not in its set
 * takes the set's least recently used slot, so an attacker cycling
 * addresses or identifiers evicts old buckets (which come back full) but
 * never grows memory. Keys are never stored: an email in a key is reduced
 * to its hash before anything keeps it.
 *
 * The classes and kinds of key are fixed here; the HTTP side
 * (gh_ratelimit_http) maps requests onto them and answers refusals.
 */
#ifndef GH_RATELIMIT_H
#define GH_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gh_bucket.h"

typedef enum {
    GH_RL_SIGNIN,       /* password, passkey and emailed-code sign-in */
    GH_RL_SIGNUP,       /* self-service sign-up */
    GH_RL_CODE,         /* emailed codes, second factors, recovery */
    GH_RL_TOKEN,        /* /token, /introspect, /revoke */
    GH_RL_REGISTRATION, /* dynamic client registration */
    GH_RL_ADMIN,        /* SCIM and the admin API */
    GH_RL_OTHER,        /* everything else */
    GH_RL_NCLASSES
} gh_rl_class;

typedef enum {
    GH_RLK_ADDRESS,    /* the client address (IPv6: its /64) */
    GH_RLK_NETWORK,    /* its IPv4 /24 or IPv6 /48 */
    GH_RLK_IDENTIFIER, /* the email a request names */
    GH_RLK_CLIENT,     /* the OAuth client */
    GH_RLK_NKINDS
} gh_rl_kind;

enum { GH_RATELIMIT_WAYS = 8 };

/* Sets the table up with at least slots slots (rounded up to whole sets);
 * 0 or -1 when out of memory. Called once at start, before any request. */
int gh_ratelimit_init(size_t slots);
/* Frees the table (tests, shutdown). */
void gh_ratelimit_free(void);

/* The name of a class or kind ("signin", "address"), for logs and docs. */
const char *gh_ratelimit_class_name(gh_rl_class c);
const char *gh_ratelimit_kind_name(gh_rl_kind k);

typedef struct gh_rl_result {
    int64_t wait_ms; /* 0: allowed (one token taken); else ms until a token */
    bool log;        /* a refusal, the first of this key in its window */
    uint64_t id;     /* the key's hash, for a log line that names no secret */
} gh_rl_result;

/* Takes a token from the bucket of (class, kind, key) at now (ms). A
 * refusal also says whether to log it: once per key per window. */
gh_rl_result gh_ratelimit_take(gh_rl_class c, gh_rl_kind k, const char *key,
                               const gh_bucket_rate *rate, int64_t now);
/* Gives back a token taken for (class, kind, key): the request turned out
 * not to count (a successful sign-in, a refused client). Nothing when the
 * bucket has been evicted meanwhile. */
void gh_ratelimit_refund(gh_rl_class c, gh_rl_kind k, const char *key, const gh_bucket_rate *rate);
/* Sets the key the table hashes keys under: instances sharing counts
 * (gh_ratelimit_sync) must use the same one, derived from the master key.
 * Before any request. */
void gh_ratelimit_set_hash_key(const uint8_t key[32]);

/* Sharing between instances (gh_ratelimit_sync): a key with tokens taken
 * here since the last collection, and how many (refunds subtract). */
typedef struct gh_rl_hot {
    uint64_t id;
    int64_t delta;
} gh_rl_hot;
/* Collects up to max hot keys and zeroes their counts; returns how many. */
size_t gh_ratelimit_collect(gh_rl_hot *out, size_t max);
/* Tells the bucket of id what the shared count of its window (starting at
 * window, ms) is after this instance's delta was added: the tokens other
 * instances took since the last time are taken from the local bucket. */
void gh_ratelimit_apply(uint64_t id, int64_t window, int64_t delta, int64_t total);

/* Slots in use and in all (tests, docs). */
size_t gh_ratelimit_used(void);
size_t gh_ratelimit_capacity(void);

#endif
