/* gh_riskpolicy: the risk policy's parser and evaluation (issue 22 item 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gh_riskpolicy.h"

static gh_risk_policy policy;

static int parse(const char *text, char *err, size_t n)
{
    return gh_riskpolicy_parse(text, strlen(text), &policy, err, n);
}

static const char guard[] =
    "version t-1\n"
    "# the issue 15 guard\n"
    "rule guarded on signin if account_guarded and new_device weight 50 then step_up email "
    "reason account_under_attack\n"
    "rule new_device on signin,step_up if new_device weight 10 reason new_device\n"
    "rule stuffing on signin if ip_accounts >= 10 weight 30 reason credential_stuffing\n"
    "threshold signin notify 30\n"
    "threshold signin deny 90\n";

static void a_policy_parses_with_its_version(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(parse(guard, err, sizeof err), 0);
    assert_string_equal(policy.version, "t-1");
    assert_int_equal(policy.nrules, 3);
    assert_int_equal(policy.rules[0].line, 3);
    assert_true(policy.threshold[GH_RJ_SIGNIN][GH_RO_NOTIFY].set);
}

static void nothing_fires_for_a_known_device(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(parse(guard, err, sizeof err), 0);
    gh_risk_signals s = {0};
    gh_risk_result r = gh_riskpolicy_eval(&policy, GH_RJ_SIGNIN, &s);
    assert_int_equal(r.outcome, GH_RO_ALLOW);
    assert_int_equal(r.nfired, 0);
    assert_null(r.reason);
}

static void the_guard_rule_asks_for_the_emailed_code(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(parse(guard, err, sizeof err), 0);
    gh_risk_signals s = {0};
    s.v[GH_RS_NEW_DEVICE] = 1;
    s.v[GH_RS_ACCOUNT_GUARDED] = 1;
    gh_risk_result r = gh_riskpolicy_eval(&policy, GH_RJ_SIGNIN, &s);
    assert_int_equal(r.outcome, GH_RO_STEP_UP);
    assert_string_equal(r.acr, "email");
    assert_int_equal(r.score, 60);
    assert_int_equal(r.nfired, 2);
    assert_string_equal(r.reason, "account_under_attack");
}

static void thresholds_sum_the_weights(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(parse(guard, err, sizeof err), 0);
    gh_risk_signals s = {0};
    s.v[GH_RS_IP_ACCOUNTS] = 12;
    s.v[GH_RS_NEW_DEVICE] = 1;
    gh_risk_result r = gh_riskpolicy_eval(&policy, GH_RJ_SIGNIN, &s);
    assert_int_equal(r.score, 40);
    assert_int_equal(r.outcome, GH_RO_NOTIFY);
    assert_string_equal(r.reason, "credential_stuffing");
    /* another journey: only the rules written for it */
    r = gh_riskpolicy_eval(&policy, GH_RJ_STEP_UP, &s);
    assert_int_equal(r.score, 10);
    assert_int_equal(r.outcome, GH_RO_ALLOW);
}

static void the_reason_is_the_rule_that_asked_for_the_outcome(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(parse("version v\n"
                           "rule heavy on signin if new_device weight 90 reason heavy\n"
                           "rule light on signin if new_device weight 5 then deny reason light\n",
                           err, sizeof err),
                     0);
    gh_risk_signals s = {0};
    s.v[GH_RS_NEW_DEVICE] = 1;
    gh_risk_result r = gh_riskpolicy_eval(&policy, GH_RJ_SIGNIN, &s);
    assert_int_equal(r.outcome, GH_RO_DENY);
    assert_string_equal(r.reason, "light");
}

static void expect_error(const char *text, const char *want)
{
    char err[256] = "";
    assert_int_equal(parse(text, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void errors_name_the_line(void **state)
{
    (void)state;
    expect_error("version v\n\nrule a on signin if new_devise weight 1 reason x\n",
                 "line 3: unknown signal 'new_devise'");
    expect_error("version v\nrule a on signon if new_device weight 1 reason x\n",
                 "line 2: unknown journey 'signon'");
    expect_error("version v\nrule a on signin if new_device weight heavy reason x\n",
                 "line 2: 'heavy' is not a whole number");
    expect_error("version v\nrule a on signin if new_device weight 1 then block reason x\n",
                 "line 2: unknown outcome 'block'");
    expect_error("version v\nrule a on signin if new_device weight 1 then step_up\n",
                 "line 2: step_up needs the level");
    expect_error("version v\nrule a on signin if new_device weight 1\n",
                 "line 2: expected 'reason CODE'");
    expect_error("version v\nrule a on signin if new_device weight 1 reason x\n"
                 "rule a on signin if new_device weight 1 reason y\n",
                 "line 3: rule 'a' is already defined on line 2");
    expect_error("rule a on signin if new_device weight 1 reason x\n", "has no 'version' line");
    expect_error("version v\nthreshold signin notify\n", "line 2:");
    expect_error("version v\nallow everything\n", "line 2: unknown statement 'allow'");
    expect_error("version v\nrule a on signin if not ip_accounts >= 3 weight 1 reason x\n",
                 "line 2: 'not ip_accounts' takes no comparison");
}

static void not_and_comparisons(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(parse("version v\n"
                           "rule a on session if not ua_changed and network_changed weight 5 "
                           "then deny reason moved\n",
                           err, sizeof err),
                     0);
    gh_risk_signals s = {0};
    s.v[GH_RS_NETWORK_CHANGED] = 1;
    gh_risk_result r = gh_riskpolicy_eval(&policy, GH_RJ_SESSION, &s);
    assert_int_equal(r.outcome, GH_RO_DENY);
    s.v[GH_RS_UA_CHANGED] = 1;
    r = gh_riskpolicy_eval(&policy, GH_RJ_SESSION, &s);
    assert_int_equal(r.outcome, GH_RO_ALLOW);
}

/* The sign-ins without a password are journeys of their own: a rule
 * written for them fires on them only, and their signals have names. */
static void passwordless_journeys_and_signals(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(parse("version v\n"
                           "rule guess on email_signin if code_failures >= 5 and new_device "
                           "weight 60 then deny reason email_code_guessing\n"
                           "rule pk on passkey_signin,token if not phishing_resistant and "
                           "not user_verified and not code_grant and not public_client weight 7 "
                           "reason weak\n"
                           "threshold passkey_signin notify 7\n",
                           err, sizeof err),
                     0);
    gh_risk_signals s = {0};
    s.v[GH_RS_CODE_FAILURES] = 5;
    s.v[GH_RS_NEW_DEVICE] = 1;
    assert_int_equal(gh_riskpolicy_eval(&policy, GH_RJ_EMAIL_SIGNIN, &s).outcome, GH_RO_DENY);
    assert_int_equal(gh_riskpolicy_eval(&policy, GH_RJ_SIGNIN, &s).outcome, GH_RO_ALLOW);
    assert_int_equal(gh_riskpolicy_eval(&policy, GH_RJ_PASSKEY_SIGNIN, &s).outcome, GH_RO_NOTIFY);
    s.v[GH_RS_PHISHING_RESISTANT] = 1;
    assert_int_equal(gh_riskpolicy_eval(&policy, GH_RJ_PASSKEY_SIGNIN, &s).nfired, 0);
    assert_string_equal(gh_riskpolicy_journey_name(GH_RJ_PASSKEY_SIGNIN), "passkey_signin");
    assert_string_equal(gh_riskpolicy_journey_name(GH_RJ_EMAIL_SIGNIN), "email_signin");
    assert_string_equal(gh_riskpolicy_signal_name(GH_RS_PUBLIC_CLIENT), "public_client");
    expect_error("version v\nrule a on passkey if new_device weight 1 reason x\n",
                 "line 2: unknown journey 'passkey'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_policy_parses_with_its_version),
        cmocka_unit_test(nothing_fires_for_a_known_device),
        cmocka_unit_test(the_guard_rule_asks_for_the_emailed_code),
        cmocka_unit_test(thresholds_sum_the_weights),
        cmocka_unit_test(errors_name_the_line),
        cmocka_unit_test(not_and_comparisons),
        cmocka_unit_test(the_reason_is_the_rule_that_asked_for_the_outcome),
        cmocka_unit_test(passwordless_journeys_and_signals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
