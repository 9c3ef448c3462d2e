/* Unit tests for the token bucket behind the rate limits (SECURITY.md #12;
 * docs/rate-limits.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gh_bucket.h"

static const gh_bucket_rate ten_a_minute = {.burst = 10, .window_ms = 60000};

/* A full bucket gives its burst at once, then refuses with the time until
 * the next token (6 s at 10 a minute). */
static void burst_then_refusal(void **state)
{
    (void)state;
    gh_bucket b;
    gh_bucket_init(&b, &ten_a_minute, 1000);
    for (int i = 0; i < 10; i++)
        assert_int_equal(gh_bucket_take(&b, &ten_a_minute, 1000), 0);
    assert_int_equal(gh_bucket_take(&b, &ten_a_minute, 1000), 6000);
    assert_int_equal(gh_bucket_take(&b, &ten_a_minute, 1000), 6000); /* a refusal takes nothing */
}

/* Tokens come back continuously: one per 6 s, and part of one counts. */
static void refill(void **state)
{
    (void)state;
    gh_bucket b;
    gh_bucket_init(&b, &ten_a_minute, 0);
    for (int i = 0; i < 10; i++)
        gh_bucket_take(&b, &ten_a_minute, 0);
    assert_int_equal(gh_bucket_take(&b, &ten_a_minute, 3000), 3000);
    assert_int_equal(gh_bucket_take(&b, &ten_a_minute, 6000), 0);
    assert_int_equal(gh_bucket_take(&b, &ten_a_minute, 6000), 6000);
    /* a long pause fills the bucket, never above the burst */
    int ok = 0;
    while (gh_bucket_take(&b, &ten_a_minute, 10 * 60000) == 0)
        ok++;
    assert_int_equal(ok, 10);
}

/* A slow rate (30 an hour) still earns thousandths on every call. */
static void slow_rate(void **state)
{
    (void)state;
    const gh_bucket_rate hourly = {.burst = 30, .window_ms = 3600000};
    gh_bucket b;
    gh_bucket_init(&b, &hourly, 0);
    for (int i = 0; i < 30; i++)
        assert_int_equal(gh_bucket_take(&b, &hourly, 0), 0);
    int64_t t = 0;
    for (int i = 0; i < 119; i++) { /* 119 calls 1 s apart: not yet one token */
        t += 1000;
        assert_true(gh_bucket_take(&b, &hourly, t) > 0);
    }
    assert_int_equal(gh_bucket_take(&b, &hourly, 120100), 0); /* 120 s earn exactly one */
    assert_true(gh_bucket_take(&b, &hourly, 120100) > 0);
}

/* A clock stepped back earns nothing and costs nothing: the bucket goes on
 * from the new time. */
static void time_backwards(void **state)
{
    (void)state;
    gh_bucket b;
    gh_bucket_init(&b, &ten_a_minute, 100000);
    for (int i = 0; i < 10; i++)
        gh_bucket_take(&b, &ten_a_minute, 100000);
    assert_int_equal(gh_bucket_take(&b, &ten_a_minute, 50000), 6000);
    assert_int_equal(gh_bucket_take(&b, &ten_a_minute, 56000), 0); /* 6 s after the step */
}

/* Extreme times and rates neither overflow nor go negative. */
static void overflow(void **state)
{
    (void)state;
    const gh_bucket_rate big = {.burst = GH_BUCKET_MAX_BURST, .window_ms = UINT32_MAX};
    gh_bucket b;
    gh_bucket_init(&b, &big, INT64_MIN / 2);
    assert_int_equal(gh_bucket_take(&b, &big, INT64_MAX / 2), 0);
    assert_int_equal(b.milli, (int64_t)GH_BUCKET_MAX_BURST * 1000 - 1000);
    const gh_bucket_rate one = {.burst = 1, .window_ms = UINT32_MAX};
    gh_bucket_init(&b, &one, 0);
    assert_int_equal(gh_bucket_take(&b, &one, 0), 0);
    int64_t wait = gh_bucket_take(&b, &one, UINT32_MAX - 1);
    assert_true(wait >= 1 && wait <= UINT32_MAX / 1000 + 1); /* the last thousandth */
    gh_bucket_refund(&b, &one);
    gh_bucket_refund(&b, &one);
    assert_int_equal(b.milli, 1000); /* a refund never overfills */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_then_refusal), cmocka_unit_test(refill),
        cmocka_unit_test(slow_rate),          cmocka_unit_test(time_backwards),
        cmocka_unit_test(overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
