/* Unit tests for gh_buf: appends stop at the maximum and leave the buffer intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gh_buf.h"

static void append_until_max(void **state)
{
    (void)state;
    gh_buf b;
    gh_buf_init(&b, 10);
    assert_int_equal(gh_buf_append(&b, "hello", 5), GH_BUF_OK);
    assert_int_equal(gh_buf_append(&b, "world", 5), GH_BUF_OK);
    assert_string_equal(b.data, "helloworld");
    assert_int_equal(gh_buf_append(&b, "!", 1), GH_BUF_E_TOOBIG);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "helloworld");
    gh_buf_free(&b);
    assert_null(b.data);
}

static void huge_append_refused_without_overflow(void **state)
{
    (void)state;
    gh_buf b;
    gh_buf_init(&b, 64);
    assert_int_equal(gh_buf_append(&b, "a", 1), GH_BUF_OK);
    assert_int_equal(gh_buf_append(&b, "a", SIZE_MAX), GH_BUF_E_TOOBIG);
    assert_int_equal(b.len, 1);
    gh_buf_free(&b);
}

static void binary_content(void **state)
{
    (void)state;
    gh_buf b;
    gh_buf_init(&b, 1 << 20);
    char chunk[1000];
    memset(chunk, 0, sizeof(chunk));
    for (int i = 0; i < 100; i++)
        assert_int_equal(gh_buf_append(&b, chunk, sizeof(chunk)), GH_BUF_OK);
    assert_int_equal(b.len, 100000);
    assert_int_equal(b.data[b.len], '\0');
    gh_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(append_until_max),
        cmocka_unit_test(huge_append_refused_without_overflow),
        cmocka_unit_test(binary_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
