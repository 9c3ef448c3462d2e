/* gh_assurance: acr values and levels round-trip; unknown values are level 0
 * (so an RP asking for an acr we do not issue never counts as satisfied). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "gh_assurance.h"

static void levels_round_trip(void **state)
{
    (void)state;
    for (int aal = 1; aal <= 3; aal++)
        assert_int_equal(gh_assurance_level(gh_assurance_acr(aal)), aal);
}

static void out_of_range_levels_clamp(void **state)
{
    (void)state;
    assert_string_equal(gh_assurance_acr(0), GH_ACR_AAL1);
    assert_string_equal(gh_assurance_acr(-1), GH_ACR_AAL1);
    assert_string_equal(gh_assurance_acr(7), GH_ACR_AAL3);
}

static void unknown_values_are_level_zero(void **state)
{
    (void)state;
    assert_int_equal(gh_assurance_level(NULL), 0);
    assert_int_equal(gh_assurance_level(""), 0);
    assert_int_equal(gh_assurance_level("urn:gatehouse:aal4"), 0);
    assert_int_equal(gh_assurance_level("urn:gatehouse:aal2 "), 0);
    assert_int_equal(gh_assurance_level("URN:GATEHOUSE:AAL2"), 0);
    assert_int_equal(gh_assurance_level("urn:mace:incommon:iap:silver"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(levels_round_trip),
        cmocka_unit_test(out_of_range_levels_clamp),
        cmocka_unit_test(unknown_values_are_level_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
