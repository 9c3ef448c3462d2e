/* gh_signin: the one sign-in decision (issue 16 item 10). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gh_signin.h"

static gh_signin_facts base(const char *method)
{
    return (gh_signin_facts){
        .active = true, .email_verified = true, .method = method, .require_verified_email = true};
}

static void plain_password_is_allowed(void **state)
{
    (void)state;
    gh_signin_facts f = base("pwd");
    gh_signin_decision d = gh_signin_decide(&f);
    assert_int_equal(d.verdict, GH_SIGNIN_ALLOW);
    assert_null(d.reason);
}

static void a_disabled_account_is_refused_whatever_was_proven(void **state)
{
    (void)state;
    const char *methods[] = {"pwd", "email", "passkey"};
    for (size_t i = 0; i < 3; i++) {
        gh_signin_facts f = base(methods[i]);
        f.active = false;
        f.multi_factor = true;
        gh_signin_decision d = gh_signin_decide(&f);
        assert_int_equal(d.verdict, GH_SIGNIN_REFUSE);
        assert_string_equal(d.reason, "account disabled");
    }
}

static void a_locked_account_is_refused_whatever_was_proven(void **state)
{
    (void)state;
    const char *methods[] = {"pwd", "email", "passkey"};
    for (size_t i = 0; i < 3; i++) {
        gh_signin_facts f = base(methods[i]);
        f.locked = true;
        f.multi_factor = true;
        f.email_proven = true;
        gh_signin_decision d = gh_signin_decide(&f);
        assert_int_equal(d.verdict, GH_SIGNIN_REFUSE);
        assert_string_equal(d.reason, "account locked by its owner");
    }
}

static void a_guarded_account_asks_a_password_for_the_mailbox(void **state)
{
    (void)state;
    gh_signin_facts f = base("pwd");
    f.account_guarded = true;
    f.email_verified = false; /* the guard comes first */
    gh_signin_decision d = gh_signin_decide(&f);
    assert_int_equal(d.verdict, GH_SIGNIN_MORE);
    assert_int_equal(d.need, GH_NEED_EMAIL_CODE);
    /* the emailed code itself then completes it */
    f.email_proven = true;
    f.email_verified = true;
    assert_int_equal(gh_signin_decide(&f).verdict, GH_SIGNIN_ALLOW);
    /* a passkey is never held up by the guard */
    gh_signin_facts p = base("passkey");
    p.account_guarded = true;
    p.multi_factor = true;
    assert_int_equal(gh_signin_decide(&p).verdict, GH_SIGNIN_ALLOW);
}

static void an_unverified_address_is_verified_first(void **state)
{
    (void)state;
    gh_signin_facts f = base("pwd");
    f.email_verified = false;
    gh_signin_decision d = gh_signin_decide(&f);
    assert_int_equal(d.verdict, GH_SIGNIN_MORE);
    assert_int_equal(d.need, GH_NEED_EMAIL_VERIFICATION);
    f.require_verified_email = false;
    assert_int_equal(gh_signin_decide(&f).verdict, GH_SIGNIN_ALLOW);
}

static void a_second_factor_is_asked_unless_the_proof_is_multi_factor(void **state)
{
    (void)state;
    const char *methods[] = {"pwd", "email"};
    for (size_t i = 0; i < 2; i++) {
        gh_signin_facts f = base(methods[i]);
        f.has_second_factor = true;
        gh_signin_decision d = gh_signin_decide(&f);
        assert_int_equal(d.verdict, GH_SIGNIN_MORE);
        assert_int_equal(d.need, GH_NEED_SECOND_FACTOR);
    }
    gh_signin_facts p = base("passkey");
    p.has_second_factor = true;
    p.multi_factor = true;
    assert_int_equal(gh_signin_decide(&p).verdict, GH_SIGNIN_ALLOW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_password_is_allowed),
        cmocka_unit_test(a_disabled_account_is_refused_whatever_was_proven),
        cmocka_unit_test(a_locked_account_is_refused_whatever_was_proven),
        cmocka_unit_test(a_guarded_account_asks_a_password_for_the_mailbox),
        cmocka_unit_test(an_unverified_address_is_verified_first),
        cmocka_unit_test(a_second_factor_is_asked_unless_the_proof_is_multi_factor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
