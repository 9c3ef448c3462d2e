/* Unit tests for gh_arena (request memory) and gh_buf (bounded buffers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gh_arena.h"
#include "gh_crypto.h"

static unsigned wiped_calls, wiped_dirty;
static size_t wiped_bytes;

static void record_free(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            wiped_dirty++;
    wiped_calls++;
    wiped_bytes += n;
}

static void alloc_is_zeroed_and_aligned(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    for (int i = 1; i < 200; i++) {
        unsigned char *p = gh_arena_alloc(a, (size_t)i * 7);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        for (int j = 0; j < i * 7; j++)
            assert_int_equal(p[j], 0);
        memset(p, 0xab, (size_t)i * 7);
    }
    gh_arena_free(a);
}

static void cap_refuses_growth(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(64 * 1024);
    assert_non_null(gh_arena_alloc(a, 32 * 1024));
    assert_null(gh_arena_alloc(a, 40 * 1024)); /* would pass the cap */
    assert_non_null(gh_arena_alloc(a, 100));   /* small ones still fit */
    assert_null(gh_arena_alloc(a, SIZE_MAX));  /* overflow is refused, not wrapped */
    gh_arena_free(a);
}

static void big_blocks_keep_head_filling(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    char *s1 = gh_arena_strdup(a, "first");
    assert_non_null(gh_arena_alloc(a, 100000));
    char *s2 = gh_arena_strdup(a, "second");
    assert_string_equal(s1, "first");
    assert_string_equal(s2, "second");
    assert_true(gh_arena_used(a) >= 100000 + 13);
    gh_arena_free(a);
}

static void printf_and_strndup(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    assert_string_equal(gh_arena_printf(a, "%s-%d", "x", 42), "x-42");
    assert_string_equal(gh_arena_strndup(a, "abcdef", 3), "abc");
    assert_null(gh_arena_strdup(a, NULL));
    gh_arena_free(NULL); /* no-op */
    gh_arena_free(a);
}

static void strbuf_grows_and_stays_terminated(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    gh_strbuf b = {.a = a};
    gh_strbuf_put(&b, "", 0);
    assert_non_null(b.buf);
    assert_string_equal(b.buf, "");
    for (int i = 0; i < 1000; i++) /* past the first 64 bytes many times */
        gh_strbuf_put(&b, "abc", 3);
    assert_false(b.failed);
    assert_int_equal(b.len, 3000);
    assert_int_equal(strlen(b.buf), 3000);
    assert_memory_equal(b.buf + 2997, "abc", 4);

    /* reserve, then write in place */
    assert_true(gh_strbuf_reserve(&b, 5));
    memcpy(b.buf + b.len, "12345", 5);
    b.len += 5;
    b.buf[b.len] = '\0';
    assert_string_equal(b.buf + 3000, "12345");
    gh_arena_free(a);
}

static void strbuf_fails_at_the_cap_and_stays_failed(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(16 * 1024);
    gh_strbuf b = {.a = a};
    gh_strbuf_put(&b, "kept", 4);
    char big[8192];
    memset(big, 'x', sizeof(big));
    for (int i = 0; i < 4 && !b.failed; i++)
        gh_strbuf_put(&b, big, sizeof(big));
    assert_true(b.failed);
    gh_strbuf_put(&b, "y", 1); /* small puts after a failure do nothing */
    assert_false(gh_strbuf_reserve(&b, 1));
    assert_memory_equal(b.buf, "kept", 4);

    gh_strbuf huge = {.a = a};
    assert_false(gh_strbuf_reserve(&huge, SIZE_MAX - 1)); /* no wrap-around */
    assert_true(huge.failed);
    gh_arena_free(a);
}

/* Issue 15 item 14: the request arena holds the body copy and everything
 * parsed from it (passwords): every chunk is wiped before it is freed. */
static void chunks_are_wiped_on_free(void **state)
{
    (void)state;
    wiped_calls = wiped_dirty = 0;
    wiped_bytes = 0;
    gh_free_wiped_hook = record_free;
    gh_arena *a = gh_arena_new(0);
    size_t handed = 0;
    for (int i = 0; i < 300; i++) { /* three 8 KiB chunks */
        char *s = gh_arena_strdup(a, "password=Correct-Horse-Battery-Staple-1234567890");
        assert_non_null(s);
        handed += strlen(s) + 1;
    }
    char *big = gh_arena_alloc(a, 20000); /* a one-off block behind the head */
    memset(big, 'P', 20000);
    gh_arena_free(a);
    gh_free_wiped_hook = NULL;
    assert_true(wiped_calls >= 2);
    assert_true(wiped_bytes >= handed + 20000);
    assert_int_equal(wiped_dirty, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alloc_is_zeroed_and_aligned),
        cmocka_unit_test(cap_refuses_growth),
        cmocka_unit_test(big_blocks_keep_head_filling),
        cmocka_unit_test(printf_and_strndup),
        cmocka_unit_test(strbuf_grows_and_stays_terminated),
        cmocka_unit_test(strbuf_fails_at_the_cap_and_stays_failed),
        cmocka_unit_test(chunks_are_wiped_on_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
