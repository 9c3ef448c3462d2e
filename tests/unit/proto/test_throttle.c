/* Unit tests for the sign-in throttle curves (SECURITY.md #11, #12). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gh_throttle.h"

static void account_and_address(void **state)
{
    (void)state;
    for (int n = 0; n < 5; n++)
        assert_int_equal(gh_throttle_delay(GH_TH_ACCOUNT_IP, n), 0);
    assert_int_equal(gh_throttle_delay(GH_TH_ACCOUNT_IP, 5), 1);
    assert_int_equal(gh_throttle_delay(GH_TH_ACCOUNT_IP, 6), 2);
    assert_int_equal(gh_throttle_delay(GH_TH_ACCOUNT_IP, 9), 16);
    assert_int_equal(gh_throttle_delay(GH_TH_ACCOUNT_IP, 20), 900);
    assert_int_equal(gh_throttle_delay(GH_TH_ACCOUNT_IP, 1000000), 900); /* no overflow */
}

static void address(void **state)
{
    (void)state;
    assert_int_equal(gh_throttle_delay(GH_TH_IP, 19), 0);
    assert_int_equal(gh_throttle_delay(GH_TH_IP, 20), 1);
    assert_int_equal(gh_throttle_delay(GH_TH_IP, 60), 900);
}

/* NIST SP 800-63B 5.2.2: at most 100 consecutive failures before throttling
 * the account, and never a permanent lock. */
static void account_never_locked(void **state)
{
    (void)state;
    assert_int_equal(gh_throttle_delay(GH_TH_ACCOUNT, 99), 0);
    assert_int_equal(gh_throttle_delay(GH_TH_ACCOUNT, 100), 30);
    assert_int_equal(gh_throttle_delay(GH_TH_ACCOUNT, 100000), 30);
}

/* Issue 15 item 2: the account-wide count never refuses; it guards the
 * account (an emailed code on unknown devices) from the limit on, which
 * is at most 100 (SECURITY.md #11). */
static void account_guard(void **state)
{
    (void)state;
    assert_int_equal(gh_throttle_guard(99, 100), 0);
    assert_int_equal(gh_throttle_guard(100, 100), 900);
    assert_int_equal(gh_throttle_guard(100000, 100), 900);
    assert_int_equal(gh_throttle_guard(9, 10), 0);
    assert_int_equal(gh_throttle_guard(10, 10), 900);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(account_and_address),
        cmocka_unit_test(address),
        cmocka_unit_test(account_never_locked),
        cmocka_unit_test(account_guard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
