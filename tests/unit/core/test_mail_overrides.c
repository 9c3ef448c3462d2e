/* Unit tests for core/gh_mail_overrides' check of a tenant's email
 * template (docs/tenants.md "Email templates"): what it accepts, and each
 * refusal naming what is wrong. No database: the check is pure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "gh_mail_overrides.h"

static const char TEXT[] = "Code {{code}}\n{{link}}\n{{minutes}} minutes\n";

static void accepted(void **state)
{
    (void)state;
    char why[256] = "";
    if (gh_mail_override_check("verify_email", "Acme", TEXT, why, sizeof(why)) != 0)
        fail_msg("refused: %s", why);
    assert_int_equal(
        gh_mail_override_check("verify_email", "Code {{code}}", TEXT, why, sizeof(why)), 0);
    assert_int_equal(gh_mail_override_check("verify_email", "Caf\xc3\xa9",
                                            "\t{{code}} {{link}} {{minutes}}", why, sizeof(why)),
                     0);
    /* each template has its own values */
    assert_int_equal(
        gh_mail_override_check(
            "password_changed", "Changed",
            "Changed. {{others}}\n{{account_link}}\nLock: {{lock_link}} ({{days}} days)\n", why,
            sizeof(why)),
        0);
}

static void refused(void **state)
{
    (void)state;
    char big[GH_MAIL_OVERRIDE_TEXT_MAX + 64];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, TEXT, strlen(TEXT));
    static const char *const nul_subject = NULL;
    const struct {
        const char *name, *subject, *text, *names;
    } cases[] = {
        {"no_such", "S", TEXT, "name"},
        {"test", "S", TEXT, "name"},
        {GH_MAIL_TOPIC_TEMPLATE, "S", TEXT, "name"},
        {NULL, "S", TEXT, "name"},
        {"verify_email", nul_subject, TEXT, "subject"},
        {"verify_email", "", TEXT, "subject"},
        {"verify_email", "a\r\nBcc: x@example.com", TEXT, "subject"},
        {"verify_email", "tab\there", TEXT, "subject"},
        {"verify_email", "bad \xc3", TEXT, "subject"},
        {"verify_email", "S", "", "text"},
        {"verify_email", "S", big, "text"},
        {"verify_email", "S", "{{code}} {{link}} {{minutes}} \x1b[0m", "text"},
        {"verify_email", "S", "{{code}} {{link}}", "{{minutes}}"},
        {"verify_email", "S", "{{code}} {{link}} {{minutes}} {{token}}", "{{token}}"},
        {"verify_email", "{{email}}", TEXT, "{{email}}"},
        {"verify_email", "S", "{{code}} {{link}} {{minutes}} {{Code}}", "placeholder"},
        {"verify_email", "S", "{{code}} {{link}} {{minutes}} {{", "placeholder"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char why[256] = "";
        if (gh_mail_override_check(cases[i].name, cases[i].subject, cases[i].text, why,
                                   sizeof(why)) == 0)
            fail_msg("case %zu accepted", i);
        if (!strstr(why, cases[i].names))
            fail_msg("case %zu: \"%s\" does not name %s", i, why, cases[i].names);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepted),
        cmocka_unit_test(refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
