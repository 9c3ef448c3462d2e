/* Unit tests for gh_arena (request memory) and gh_buf (bounded buffers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gh_arena.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alloc_is_zeroed_and_aligned),
        cmocka_unit_test(cap_refuses_growth),
        cmocka_unit_test(big_blocks_keep_head_filling),
        cmocka_unit_test(printf_and_strndup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
