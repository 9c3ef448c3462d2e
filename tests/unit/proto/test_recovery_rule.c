/* gh_recovery_rule: what account recovery requires (issue 18; SECURITY.md #32:
 * recovery is never weaker than the account's strongest factor). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gh_recovery_rule.h"

static void email_alone_recovers_an_account_without_a_stronger_factor(void **state)
{
    (void)state;
    gh_recovery_enrolled e = {0};
    gh_recovery_rule r = gh_recovery_required(&e);
    assert_true(r.allowed);
    assert_true(r.email);
    assert_int_equal(r.factors, 0);
    assert_false(r.waiting_period);
    assert_true(gh_recovery_satisfied(&r, true, 0, false));
    assert_false(gh_recovery_satisfied(&r, false, 0, false)); /* the email is always proven */
    assert_false(gh_recovery_satisfied(&r, false, GH_RECOVERY_BY_TOTP, true));
}

/* CVE-2026-18963's shape: the emailed code alone on an account with a
 * passkey. Refused; the passkey (or waiting) is what opens it. */
static void email_alone_never_recovers_an_account_with_a_passkey(void **state)
{
    (void)state;
    gh_recovery_enrolled e = {.passkey = true};
    gh_recovery_rule r = gh_recovery_required(&e);
    assert_int_equal(r.factors, GH_RECOVERY_BY_PASSKEY);
    assert_true(r.waiting_period);
    assert_false(gh_recovery_satisfied(&r, true, 0, false));
    assert_true(gh_recovery_satisfied(&r, true, GH_RECOVERY_BY_PASSKEY, false));
    assert_false(gh_recovery_satisfied(&r, false, GH_RECOVERY_BY_PASSKEY, false));
}

static void each_strong_factor_raises_the_bar(void **state)
{
    (void)state;
    struct {
        gh_recovery_enrolled e;
        unsigned want;
    } cases[] = {
        {{.totp = true}, GH_RECOVERY_BY_TOTP},
        {{.recovery = 3}, GH_RECOVERY_BY_CODE},
        {{.recovery = 0, .totp = true}, GH_RECOVERY_BY_TOTP},
        {{.totp = true, .passkey = true, .recovery = 10},
         GH_RECOVERY_BY_TOTP | GH_RECOVERY_BY_PASSKEY | GH_RECOVERY_BY_CODE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gh_recovery_rule r = gh_recovery_required(&cases[i].e);
        assert_int_equal(r.factors, cases[i].want);
        assert_false(gh_recovery_satisfied(&r, true, 0, false));
        assert_true(gh_recovery_satisfied(&r, true, 0, true)); /* the waiting period ran out */
    }
}

/* A factor the account does not have proves nothing about it: a TOTP code
 * from an app set up elsewhere cannot stand in for this account's passkey. */
static void only_a_factor_the_account_has_counts(void **state)
{
    (void)state;
    gh_recovery_enrolled e = {.passkey = true};
    gh_recovery_rule r = gh_recovery_required(&e);
    assert_false(gh_recovery_satisfied(&r, true, GH_RECOVERY_BY_TOTP, false));
    assert_false(gh_recovery_satisfied(&r, true, GH_RECOVERY_BY_CODE, false));
    e = (gh_recovery_enrolled){.totp = true, .recovery = 2};
    r = gh_recovery_required(&e);
    assert_true(gh_recovery_satisfied(&r, true, GH_RECOVERY_BY_CODE, false));
    assert_false(gh_recovery_satisfied(&r, true, GH_RECOVERY_BY_PASSKEY, false));
}

static void a_disabled_account_is_not_recovered_by_its_customer(void **state)
{
    (void)state;
    gh_recovery_enrolled e = {.disabled = true};
    gh_recovery_rule r = gh_recovery_required(&e);
    assert_false(r.allowed);
    assert_false(gh_recovery_satisfied(&r, true, 0, false));
    e.totp = true;
    r = gh_recovery_required(&e);
    assert_false(gh_recovery_satisfied(&r, true, GH_RECOVERY_BY_TOTP, true));
}

static void method_names_map_to_bits(void **state)
{
    (void)state;
    assert_int_equal(gh_recovery_factor_bit("totp"), GH_RECOVERY_BY_TOTP);
    assert_int_equal(gh_recovery_factor_bit("passkey"), GH_RECOVERY_BY_PASSKEY);
    assert_int_equal(gh_recovery_factor_bit("recovery_code"), GH_RECOVERY_BY_CODE);
    assert_int_equal(gh_recovery_factor_bit("email"), 0);
    assert_int_equal(gh_recovery_factor_bit("pwd"), 0);
    assert_int_equal(gh_recovery_factor_bit(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(email_alone_recovers_an_account_without_a_stronger_factor),
        cmocka_unit_test(email_alone_never_recovers_an_account_with_a_passkey),
        cmocka_unit_test(each_strong_factor_raises_the_bar),
        cmocka_unit_test(only_a_factor_the_account_has_counts),
        cmocka_unit_test(a_disabled_account_is_not_recovered_by_its_customer),
        cmocka_unit_test(method_names_map_to_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
