/* Unit tests for gh_fedorgs_domain: the domain home-realm discovery and the
 * organisation's-own-domain rule compare (docs/federation.md
 * "Organisations' own providers"): after the last '@', lower-cased, a
 * trailing dot dropped, NULL when there is none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gh_fedorgs.h"

static void test_domain(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    assert_string_equal(gh_fedorgs_domain(a, "Ann@ACME.Test"), "acme.test");
    assert_string_equal(gh_fedorgs_domain(a, "ann@acme.test."), "acme.test");
    /* the last '@' decides: a quoted local part may hold one */
    assert_string_equal(gh_fedorgs_domain(a, "\"a@globex.test\"@acme.test"), "acme.test");
    assert_null(gh_fedorgs_domain(a, "no-at-sign"));
    assert_null(gh_fedorgs_domain(a, "ann@"));
    assert_null(gh_fedorgs_domain(a, "ann@."));
    assert_null(gh_fedorgs_domain(a, NULL));
    char long_domain[300];
    memset(long_domain, 'a', sizeof(long_domain) - 1);
    long_domain[0] = '@';
    long_domain[sizeof(long_domain) - 1] = '\0';
    assert_null(gh_fedorgs_domain(a, long_domain));
    gh_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_domain)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
