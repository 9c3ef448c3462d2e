/* Unit tests for gh_buf: appends stop at the maximum and leave the buffer intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gh_buf.h"
#include "gh_crypto.h"

/* What gh_free_wiped saw: each block as it was about to be freed. */
static struct {
    unsigned calls, dirty;
    size_t sizes[8];
} seen;

static void record_free(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            seen.dirty++;
    if (seen.calls < 8)
        seen.sizes[seen.calls] = n;
    seen.calls++;
}

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

/* Issue 15 item 14: a body holding a password leaves no copy in freed
 * blocks, neither the one outgrown (no realloc) nor the last one. */
static void old_blocks_are_wiped(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof(seen));
    gh_free_wiped_hook = record_free;
    char secret[200];
    memset(secret, 'S', sizeof(secret));
    gh_buf b;
    gh_buf_init(&b, 4096);
    assert_int_equal(gh_buf_append(&b, secret, sizeof(secret)), GH_BUF_OK); /* 256-byte block */
    assert_int_equal(seen.calls, 0);
    assert_int_equal(gh_buf_append(&b, secret, sizeof(secret)), GH_BUF_OK); /* grows to 512 */
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.sizes[0], 256);
    assert_int_equal(b.len, 400);
    for (size_t i = 0; i < b.len; i++)
        assert_int_equal(b.data[i], 'S'); /* the content moved intact */
    gh_buf_free(&b);
    assert_int_equal(seen.calls, 2);
    assert_int_equal(seen.sizes[1], 512);
    assert_int_equal(seen.dirty, 0);
    assert_null(b.data);
    gh_free_wiped_hook = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(append_until_max),
        cmocka_unit_test(huge_append_refused_without_overflow),
        cmocka_unit_test(binary_content),
        cmocka_unit_test(old_blocks_are_wiped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
