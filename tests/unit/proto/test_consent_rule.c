/* gh_consent_rule: what a customer must still be asked about each purpose
 * (issue 20; docs/privacy.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gh_consent_rule.h"

static void a_required_document_never_accepted_must_be_accepted(void **state)
{
    (void)state;
    gh_consent_fact f = {.required = true, .current = "2"};
    assert_int_equal(gh_consent_rule_ask(&f), GH_CONSENT_MUST_ACCEPT);
    assert_true(gh_consent_rule_pending(&f, 1));
}

static void accepting_the_version_in_effect_settles_it(void **state)
{
    (void)state;
    gh_consent_fact f = {
        .required = true, .current = "2", .last = GH_CONSENT_GRANTED, .last_version = "2"};
    assert_int_equal(gh_consent_rule_ask(&f), GH_CONSENT_SETTLED);
    assert_false(gh_consent_rule_pending(&f, 1));
}

/* The re-ask at sign-in: a grant of an older version does not count. */
static void a_newer_version_asks_again(void **state)
{
    (void)state;
    gh_consent_fact f = {
        .required = true, .current = "2", .last = GH_CONSENT_GRANTED, .last_version = "1"};
    assert_int_equal(gh_consent_rule_ask(&f), GH_CONSENT_MUST_ACCEPT);
    f.last_version = NULL;
    assert_int_equal(gh_consent_rule_ask(&f), GH_CONSENT_MUST_ACCEPT);
}

static void a_declined_required_document_still_blocks(void **state)
{
    (void)state;
    gh_consent_fact f = {
        .required = true, .current = "2", .last = GH_CONSENT_DECLINED, .last_version = "2"};
    assert_int_equal(gh_consent_rule_ask(&f), GH_CONSENT_MUST_ACCEPT);
}

static void a_required_purpose_without_a_document_asks_nothing(void **state)
{
    (void)state;
    gh_consent_fact f = {.required = true};
    assert_int_equal(gh_consent_rule_ask(&f), GH_CONSENT_SETTLED);
}

/* Optional purposes never block a sign-in, whatever was decided. */
static void optional_purposes_never_block(void **state)
{
    (void)state;
    gh_consent_fact f[] = {
        {.current = "1"},
        {.current = "2", .last = GH_CONSENT_WITHDRAWN, .last_version = "1"},
        {.last = GH_CONSENT_DECLINED},
        {.last = GH_CONSENT_GRANTED},
    };
    assert_int_equal(gh_consent_rule_ask(&f[0]), GH_CONSENT_UNDECIDED);
    for (size_t i = 1; i < 4; i++)
        assert_int_equal(gh_consent_rule_ask(&f[i]), GH_CONSENT_SETTLED);
    assert_false(gh_consent_rule_pending(f, 4));
}

static void one_required_purpose_pending_among_many_is_pending(void **state)
{
    (void)state;
    gh_consent_fact f[] = {
        {.required = true, .current = "1", .last = GH_CONSENT_GRANTED, .last_version = "1"},
        {.current = "1"},
        {.required = true, .current = "3", .last = GH_CONSENT_GRANTED, .last_version = "2"},
    };
    assert_true(gh_consent_rule_pending(f, 3));
    assert_false(gh_consent_rule_pending(f, 2));
    assert_false(gh_consent_rule_pending(f, 0));
}

/* A version published ahead of its effective date is not in effect yet;
 * among those in effect, the latest effective, then the latest published. */
static void the_document_in_effect(void **state)
{
    (void)state;
    gh_consent_doc d[] = {
        {.effective_at = 1000, .seq = 1},
        {.effective_at = 5000, .seq = 2},
        {.effective_at = 3000, .seq = 3},
        {.effective_at = 5000, .seq = 4},
    };
    assert_int_equal(gh_consent_rule_current(d, 4, 999), -1);
    assert_int_equal(gh_consent_rule_current(d, 4, 1000), 0);
    assert_int_equal(gh_consent_rule_current(d, 4, 4000), 2);
    assert_int_equal(gh_consent_rule_current(d, 4, 5000), 3);
    assert_int_equal(gh_consent_rule_current(d, 0, 5000), -1);
}

static void decision_names_round_trip(void **state)
{
    (void)state;
    for (int i = GH_CONSENT_GRANTED; i <= GH_CONSENT_DECLINED; i++)
        assert_int_equal(gh_consent_decision_parse(gh_consent_decision_name(i)), i);
    assert_int_equal(gh_consent_decision_parse("none"), GH_CONSENT_NONE);
    assert_int_equal(gh_consent_decision_parse("GRANTED"), GH_CONSENT_NONE);
    assert_int_equal(gh_consent_decision_parse(NULL), GH_CONSENT_NONE);
}

static void keys_and_channels(void **state)
{
    (void)state;
    assert_true(gh_consent_key_valid("terms"));
    assert_true(gh_consent_key_valid("marketing_email2"));
    assert_false(gh_consent_key_valid(""));
    assert_false(gh_consent_key_valid(NULL));
    assert_false(gh_consent_key_valid("2terms"));
    assert_false(gh_consent_key_valid("Terms"));
    assert_false(gh_consent_key_valid("a-b"));
    assert_false(gh_consent_key_valid("a/../b"));
    char long_key[66];
    for (size_t i = 0; i < 65; i++)
        long_key[i] = 'a';
    long_key[65] = 0;
    assert_false(gh_consent_key_valid(long_key));
    long_key[64] = 0;
    assert_true(gh_consent_key_valid(long_key));
    assert_true(gh_consent_channel_valid("page"));
    assert_true(gh_consent_channel_valid("admin"));
    assert_false(gh_consent_channel_valid("mail"));
    assert_false(gh_consent_channel_valid(NULL));
}

static void effective_dates(void **state)
{
    (void)state;
    assert_true(gh_consent_date_parse("1970-01-01") == 0);
    assert_true(gh_consent_date_parse("2026-12-06") == 1796515200000LL);
    assert_true(gh_consent_date_parse("2026-12-06T10:00:00Z") == 1796515200000LL + 36000000LL);
    assert_true(gh_consent_date_parse("2026-02-30") == -1);
    assert_true(gh_consent_date_parse("2026-13-01") == -1);
    assert_true(gh_consent_date_parse("2026-12-6") == -1);
    assert_true(gh_consent_date_parse("2026-12-06T10:00:00") == -1);
    assert_true(gh_consent_date_parse("") == -1);
    assert_true(gh_consent_date_parse(NULL) == -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_required_document_never_accepted_must_be_accepted),
        cmocka_unit_test(accepting_the_version_in_effect_settles_it),
        cmocka_unit_test(a_newer_version_asks_again),
        cmocka_unit_test(a_declined_required_document_still_blocks),
        cmocka_unit_test(a_required_purpose_without_a_document_asks_nothing),
        cmocka_unit_test(optional_purposes_never_block),
        cmocka_unit_test(one_required_purpose_pending_among_many_is_pending),
        cmocka_unit_test(the_document_in_effect),
        cmocka_unit_test(decision_names_round_trip),
        cmocka_unit_test(keys_and_channels),
        cmocka_unit_test(effective_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
