/* gh_catalog: a language's data file is read and checked, with errors that
 * name the file and the member (issue 20 item 7; docs/i18n.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gh_catalog.h"

static int parse(const char *text, gh_catalog *c, char *err, size_t errlen)
{
    return gh_catalog_parse(text, strlen(text), "xx.json", c, err, errlen);
}

static void a_good_catalog_is_read(void **state)
{
    (void)state;
    gh_catalog c;
    char err[256];
    assert_int_equal(parse("{\"language\":\"de-CH\",\"name\":\"Deutsch (Schweiz)\",\"strings\":"
                           "{\"Sign in\":\"Anmelden\"},\"mail\":{\"test\":{\"subject\":\"S\","
                           "\"text\":\"T\",\"html\":\"<p>H</p>\"}}}",
                           &c, err, sizeof(err)),
                     0);
    assert_string_equal(c.tag, "de-CH");
    assert_string_equal(c.name, "Deutsch (Schweiz)");
    assert_string_equal(gh_catalog_text(&c, "Sign in"), "Anmelden");
    assert_null(gh_catalog_text(&c, "Sign out"));
    assert_string_equal(gh_catalog_mail(&c, "test", "html"), "<p>H</p>");
    assert_null(gh_catalog_mail(&c, "verify_email", "text"));
    gh_catalog_free(&c);
    assert_null(c.root);
}

static void expect_error(const char *text, const char *words)
{
    gh_catalog c;
    char err[256] = "";
    assert_int_equal(parse(text, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "xx.json"));
    if (!strstr(err, words))
        fail_msg("error \"%s\" lacks \"%s\"", err, words);
    assert_null(c.root);
}

static void malformed_catalogs_are_refused_with_a_reason(void **state)
{
    (void)state;
    expect_error("{\"language\":\"de\",", "not JSON at line 1");
    expect_error("[]", "JSON object");
    expect_error("{\"language\":\"de_DE\",\"name\":\"D\",\"strings\":{}}", "\"language\"");
    expect_error("{\"language\":\"de\",\"strings\":{}}", "\"name\"");
    expect_error("{\"language\":\"de\",\"name\":\"D\"}", "\"strings\"");
    expect_error("{\"language\":\"de\",\"name\":\"D\",\"strings\":{\"Sign in\":1}}",
                 "\"Sign in\" must be a string");
    expect_error("{\"language\":\"de\",\"name\":\"D\",\"strings\":{\"a\":\"b\",\"a\":\"c\"}}",
                 "duplicate");
    expect_error("{\"language\":\"de\",\"name\":\"D\",\"strings\":{},\"mail\":[]}", "\"mail\"");
    expect_error("{\"language\":\"de\",\"name\":\"D\",\"strings\":{},\"mail\":{\"test\":"
                 "{\"subject\":\"S\",\"text\":\"T\"}}}",
                 "needs a string \"html\"");
    expect_error("{\"language\":\"de\",\"name\":\"D\",\"strings\":{},\"mail\":{\"test\":"
                 "{\"subject\":\"S\\nBcc: x\",\"text\":\"T\",\"html\":\"H\"}}}",
                 "one line");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_good_catalog_is_read),
        cmocka_unit_test(malformed_catalogs_are_refused_with_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
