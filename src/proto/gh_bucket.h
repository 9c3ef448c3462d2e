/*
 * gh_bucket: a token bucket (docs/rate-limits.md). Pure: the caller passes
 * the time and owns the storage; gh_ratelimit keeps many of them.
 *
 * A bucket holds at most rate->burst tokens and gains burst tokens every
 * rate->window_ms, continuously. Tokens are counted in thousandths so a
 * slow refill (30 an hour) still advances on every call without floats.
 * Time that runs backwards (a clock step) adds nothing and is not held
 * against the bucket; a long pause fills it and no more.
 */
#ifndef GH_BUCKET_H
#define GH_BUCKET_H

#include <stdint.h>

enum { GH_BUCKET_MAX_BURST = 1000000 };

typedef struct gh_bucket_rate {
    uint32_t burst;     /* tokens a full bucket holds (1 .. GH_BUCKET_MAX_BURST) */
    uint32_t window_ms; /* the time a refill of burst tokens takes (>= 1) */
} gh_bucket_rate;

typedef struct gh_bucket {
    int64_t milli; /* tokens x 1000; below 0 is a debt (tokens other instances took) */
    int64_t stamp; /* ms of the last refill */
} gh_bucket;

/* A full bucket at now. */
void gh_bucket_init(gh_bucket *b, const gh_bucket_rate *rate, int64_t now);
/* Takes one token at now: 0 when there was one, else the ms until there
 * will be (nothing taken then). */
int64_t gh_bucket_take(gh_bucket *b, const gh_bucket_rate *rate, int64_t now);
/* Gives one token back (a request that turned out not to count), never
 * above a full bucket. */
void gh_bucket_refund(gh_bucket *b, const gh_bucket_rate *rate);

#endif
