/* Unit tests for gh_clock: the RFC 3339 text, and clocks that move the way
 * callers assume. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>

#include "gh_clock.h"

static void rfc3339(void **state)
{
    (void)state;
    char s[32];
    gh_rfc3339(0, s);
    assert_string_equal(s, "1970-01-01T00:00:00.000Z");
    gh_rfc3339(1700000000123LL, s);
    assert_string_equal(s, "2023-11-14T22:13:20.123Z");
    gh_rfc3339(253402300799999LL, s); /* the last millisecond of year 9999 */
    assert_string_equal(s, "9999-12-31T23:59:59.999Z");
    assert_int_equal(strlen(s), 24);
}

static void wall_clock_is_the_epoch_in_ms(void **state)
{
    (void)state;
    int64_t before = (int64_t)time(NULL) * 1000;
    int64_t now = gh_now_ms();
    int64_t after = (int64_t)time(NULL) * 1000 + 1000;
    assert_true(now >= before && now <= after);
}

static void monotonic_never_goes_back(void **state)
{
    (void)state;
    int64_t prev = gh_mono_ms();
    struct timespec nap = {0, 2 * 1000 * 1000};
    for (int i = 0; i < 5; i++) {
        nanosleep(&nap, NULL);
        int64_t t = gh_mono_ms();
        assert_true(t >= prev + 1);
        prev = t;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc3339),
        cmocka_unit_test(wall_clock_is_the_epoch_in_ms),
        cmocka_unit_test(monotonic_never_goes_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
