/*
 * gh_bucket: token bucket arithmetic (gh_bucket.h).
 */
#include "gh_bucket.h"

static int64_t full(const gh_bucket_rate *rate)
{
    return (int64_t)rate->burst * 1000;
}

/* Adds what the time since the stamp earned. The stamp moves on only by
 * the time turned into whole thousandths (rounded up), so frequent calls on
 * a slow rate lose nothing and gain nothing. Elapsed time is capped at one
 * window, which fills any bucket, so the products cannot overflow (burst <=
 * 1e6, window < 2^32 ms). */
static void refill(gh_bucket *b, const gh_bucket_rate *rate, int64_t now)
{
    int64_t elapsed = now - b->stamp;
    if (elapsed <= 0) {
        b->stamp = now; /* the clock went back: no credit, no debt */
        return;
    }
    if (elapsed >= (int64_t)rate->window_ms || b->milli >= full(rate)) {
        b->milli = full(rate);
        b->stamp = now;
        return;
    }
    int64_t added = elapsed * full(rate) / rate->window_ms;
    b->stamp += (added * rate->window_ms + full(rate) - 1) / full(rate);
    b->milli += added;
    if (b->milli > full(rate))
        b->milli = full(rate);
}

void gh_bucket_init(gh_bucket *b, const gh_bucket_rate *rate, int64_t now)
{
    b->milli = full(rate);
    b->stamp = now;
}

int64_t gh_bucket_take(gh_bucket *b, const gh_bucket_rate *rate, int64_t now)
{
    refill(b, rate, now);
    if (b->milli >= 1000) {
        b->milli -= 1000;
        return 0;
    }
    /* ms until the missing thousandths have been earned, rounded up */
    int64_t missing = 1000 - b->milli;
    int64_t per = full(rate);
    return (missing * rate->window_ms + per - 1) / per;
}

void gh_bucket_refund(gh_bucket *b, const gh_bucket_rate *rate)
{
    b->milli += 1000;
    if (b->milli > full(rate))
        b->milli = full(rate);
}
