/* Unit tests for gh_html: the escaping of text put into server-made pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gh_html.h"

static void escapes_the_five(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    assert_string_equal(gh_html_escape(a, "<a href=\"x\" title='y'>&</a>"),
                        "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
    assert_string_equal(gh_html_escape(a, "plain text \xc3\xa9"), "plain text \xc3\xa9");
    assert_string_equal(gh_html_escape(a, "&amp;"), "&amp;amp;"); /* no double-decoding */
    gh_arena_free(a);
}

static void empty_and_null(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    assert_string_equal(gh_html_escape(a, ""), "");
    assert_string_equal(gh_html_escape(a, NULL), "");
    gh_arena_free(a);
}

static void worst_case_fits(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    char in[1001];
    memset(in, '"', sizeof(in) - 1);
    in[sizeof(in) - 1] = '\0';
    const char *out = gh_html_escape(a, in);
    assert_non_null(out);
    assert_int_equal(strlen(out), 6 * (sizeof(in) - 1));
    gh_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escapes_the_five),
        cmocka_unit_test(empty_and_null),
        cmocka_unit_test(worst_case_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
