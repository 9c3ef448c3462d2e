/*
 * Unit tests for gh_utf8: the strict validator must refuse every classic
 * UTF-8 attack form (overlongs, surrogates, out-of-range, truncation, NUL)
 * while accepting the full legal range right up to its edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "gh_utf8.h"

/* Byte-array literals: sizeof counts the bytes exactly, NULs included. */
#define VALID(...)                                                                                 \
    do {                                                                                           \
        static const unsigned char b_[] = {__VA_ARGS__};                                           \
        assert_true(gh_utf8_valid((const char *)b_, sizeof(b_)));                                  \
    } while (0)
#define INVALID(...)                                                                               \
    do {                                                                                           \
        static const unsigned char b_[] = {__VA_ARGS__};                                           \
        assert_false(gh_utf8_valid((const char *)b_, sizeof(b_)));                                 \
    } while (0)

static bool valid_str(const char *s)
{
    return gh_utf8_valid(s, strlen(s));
}

static void test_empty_and_null(void **state)
{
    (void)state;
    assert_true(gh_utf8_valid("", 0));
    assert_true(gh_utf8_valid(NULL, 0));
    assert_false(gh_utf8_valid(NULL, 1));
    assert_int_equal(gh_utf8_count(NULL, 0), 0);
    assert_int_equal(gh_utf8_count("", 0), 0);
    assert_false(gh_utf8_has_control(NULL, 0));
    assert_false(gh_utf8_has_control("", 0));
}

static void test_ascii(void **state)
{
    (void)state;
    assert_true(valid_str("hello, world"));
    assert_true(valid_str("\x01\x1f\x7f")); /* controls are valid UTF-8; see has_control */
    VALID(0x7F);
    VALID(0x01);
}

static void test_nul_refused(void **state)
{
    (void)state;
    INVALID(0x00);
    INVALID('a', 0x00, 'b');
    INVALID('a', 'b', 0x00);
    /* length bounds the check: the terminator outside n is not looked at */
    assert_true(gh_utf8_valid("ab", 2));
    assert_false(gh_utf8_valid("ab", 3));
}

static void test_multibyte_valid(void **state)
{
    (void)state;
    VALID(0xC2, 0x80);             /* U+0080, smallest 2-byte */
    VALID(0xC3, 0xA9);             /* U+00E9 */
    VALID(0xDF, 0xBF);             /* U+07FF, largest 2-byte */
    VALID(0xE0, 0xA0, 0x80);       /* U+0800, smallest 3-byte */
    VALID(0xE2, 0x82, 0xAC);       /* U+20AC euro sign */
    VALID(0xED, 0x9F, 0xBF);       /* U+D7FF, just below the surrogates */
    VALID(0xEE, 0x80, 0x80);       /* U+E000, just above the surrogates */
    VALID(0xEF, 0xBF, 0xBF);       /* U+FFFF */
    VALID(0xEF, 0xBB, 0xBF);       /* BOM is a valid code point */
    VALID(0xF0, 0x90, 0x80, 0x80); /* U+10000, smallest 4-byte */
    VALID(0xF0, 0x9F, 0x98, 0x80); /* U+1F600 */
    VALID(0xF3, 0xBF, 0xBF, 0xBF);
    VALID(0xF4, 0x8F, 0xBF, 0xBF); /* U+10FFFF, the maximum */
    assert_true(valid_str("na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac"));
}

static void test_overlong(void **state)
{
    (void)state;
    INVALID(0xC0, 0xAF);             /* '/' in 2 bytes */
    INVALID(0xC0, 0x80);             /* NUL in 2 bytes (modified UTF-8) */
    INVALID(0xC1, 0xBF);             /* U+007F in 2 bytes */
    INVALID(0xE0, 0x80, 0xAF);       /* '/' in 3 bytes */
    INVALID(0xE0, 0x9F, 0xBF);       /* U+07FF in 3 bytes */
    INVALID(0xF0, 0x80, 0x80, 0xAF); /* '/' in 4 bytes */
    INVALID(0xF0, 0x8F, 0xBF, 0xBF); /* U+FFFF in 4 bytes */
}

static void test_surrogates(void **state)
{
    (void)state;
    INVALID(0xED, 0xA0, 0x80);                   /* U+D800 */
    INVALID(0xED, 0xAD, 0xBF);                   /* U+DB7F */
    INVALID(0xED, 0xB0, 0x80);                   /* U+DC00 */
    INVALID(0xED, 0xBF, 0xBF);                   /* U+DFFF */
    INVALID(0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80); /* CESU-8 pair for U+1F600 */
}

static void test_out_of_range(void **state)
{
    (void)state;
    INVALID(0xF4, 0x90, 0x80, 0x80); /* U+110000 */
    INVALID(0xF4, 0xBF, 0xBF, 0xBF);
    INVALID(0xF5, 0x80, 0x80, 0x80);
    INVALID(0xF7, 0xBF, 0xBF, 0xBF);
    INVALID(0xF8, 0x88, 0x80, 0x80, 0x80); /* old 5-byte form */
    INVALID(0xFC, 0x84, 0x80, 0x80, 0x80, 0x80);
    INVALID(0xFE);
    INVALID(0xFF);
}

static void test_truncated(void **state)
{
    (void)state;
    INVALID(0xC3);
    INVALID(0xE2, 0x82);
    INVALID(0xE2);
    INVALID(0xF0, 0x9F, 0x98);
    INVALID(0xF0, 0x9F);
    INVALID(0xF0);
    INVALID('a', 0xE2, 0x82, 'b'); /* cut short by an ASCII byte */
    INVALID(0xC3, 'A');
    INVALID(0xF0, 0x9F, 0x98, 0x41);
    /* a valid sequence truncated by n, though more bytes follow in memory */
    assert_false(gh_utf8_valid("\xe2\x82\xac", 2));
    assert_true(gh_utf8_valid("\xe2\x82\xac", 3));
}

static void test_stray_continuation(void **state)
{
    (void)state;
    INVALID(0x80);
    INVALID(0xBF);
    INVALID('a', 0x80, 'b');
    INVALID(0xC3, 0xA9, 0xA9); /* one continuation too many */
    INVALID(0xE2, 0x82, 0xAC, 0x80);
}

static void test_count(void **state)
{
    (void)state;
    assert_int_equal(gh_utf8_count("abc", 3), 3);
    assert_int_equal(gh_utf8_count("\xc3\xa9", 2), 1);
    assert_int_equal(gh_utf8_count("\xe2\x82\xac", 3), 1);
    assert_int_equal(gh_utf8_count("\xf4\x8f\xbf\xbf", 4), 1);
    /* "a" + e-acute + euro + U+1F600 + "z" */
    const char *mix = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
    assert_true(valid_str(mix));
    assert_int_equal(gh_utf8_count(mix, strlen(mix)), 5);
    /* n bounds the count */
    assert_int_equal(gh_utf8_count("abcdef", 2), 2);
}

static void test_count_never_exceeds_n(void **state)
{
    (void)state;
    /* On invalid input the answer is meaningless but still bounded. */
    const char junk[] = {(char)0xFF, (char)0x80, (char)0xC0, 0x00};
    assert_true(gh_utf8_count(junk, sizeof(junk)) <= sizeof(junk));
}

static void test_has_control(void **state)
{
    (void)state;
    assert_false(gh_utf8_has_control("plain text", 10));
    assert_false(gh_utf8_has_control("tab\there", 8)); /* tab is allowed */
    assert_true(gh_utf8_has_control("a\nb", 3));
    assert_true(gh_utf8_has_control("a\rb", 3));
    assert_true(gh_utf8_has_control("\x01", 1));
    assert_true(gh_utf8_has_control("\x1f", 1));
    assert_true(gh_utf8_has_control("\x1b[31m", 5)); /* terminal escape into logs */
    assert_true(gh_utf8_has_control("del\x7f", 4));
    assert_false(gh_utf8_has_control(" ~", 2)); /* 0x20 and 0x7E are the edges */
    const char nul[] = {'a', 0x00, 'b'};
    assert_true(gh_utf8_has_control(nul, sizeof(nul)));
    /* multi-byte text is not mistaken for controls */
    assert_false(gh_utf8_has_control("\xc2\x80\xc2\x9f\xe2\x80\x8b", 7));
    /* n bounds the scan */
    assert_false(gh_utf8_has_control("ab\n", 2));
}

static void test_long_input(void **state)
{
    (void)state;
    char buf[4096];
    for (size_t i = 0; i + 2 <= sizeof(buf); i += 2) {
        buf[i] = (char)0xC3;
        buf[i + 1] = (char)0xA9;
    }
    assert_true(gh_utf8_valid(buf, sizeof(buf)));
    assert_int_equal(gh_utf8_count(buf, sizeof(buf)), sizeof(buf) / 2);
    buf[sizeof(buf) - 1] = 'x'; /* truncates the final sequence */
    assert_false(gh_utf8_valid(buf, sizeof(buf)));
}

/* Encodes cp in `len` bytes (len may be longer than needed: an overlong form). */
static size_t encode(uint32_t cp, size_t len, unsigned char *out)
{
    static const unsigned char lead[] = {0, 0x00, 0xC0, 0xE0, 0xF0};
    for (size_t i = len - 1; i > 0; i--) {
        out[i] = (unsigned char)(0x80 | (cp & 0x3F));
        cp >>= 6;
    }
    out[0] = (unsigned char)(lead[len] | cp);
    return len;
}

static size_t shortest(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* Every code point in its shortest form, and again one byte longer. */
static void test_exhaustive_code_points(void **state)
{
    (void)state;
    unsigned char buf[4];
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        size_t len = encode(cp, shortest(cp), buf);
        bool expect = cp != 0 && (cp < 0xD800 || cp > 0xDFFF);
        if (gh_utf8_valid((const char *)buf, len) != expect)
            fail_msg("U+%04X: expected %s", (unsigned)cp, expect ? "valid" : "invalid");
        if (expect)
            assert_int_equal(gh_utf8_count((const char *)buf, len), 1);
        if (len < 4) {
            len = encode(cp, len + 1, buf);
            if (gh_utf8_valid((const char *)buf, len))
                fail_msg("overlong U+%04X accepted", (unsigned)cp);
        }
    }
}

/* Every two-byte pair against the rule written out longhand. */
static void test_exhaustive_pairs(void **state)
{
    (void)state;
    for (unsigned a = 0; a < 256; a++) {
        for (unsigned b = 0; b < 256; b++) {
            const char buf[2] = {(char)a, (char)b};
            bool ascii = a >= 1 && a <= 0x7F;
            bool expect = (ascii && b >= 1 && b <= 0x7F) ||
                          (a >= 0xC2 && a <= 0xDF && b >= 0x80 && b <= 0xBF);
            if (gh_utf8_valid(buf, 2) != expect)
                fail_msg("%02X %02X: expected %s", a, b, expect ? "valid" : "invalid");
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_null),
        cmocka_unit_test(test_ascii),
        cmocka_unit_test(test_nul_refused),
        cmocka_unit_test(test_multibyte_valid),
        cmocka_unit_test(test_overlong),
        cmocka_unit_test(test_surrogates),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_stray_continuation),
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_count_never_exceeds_n),
        cmocka_unit_test(test_has_control),
        cmocka_unit_test(test_long_input),
        cmocka_unit_test(test_exhaustive_code_points),
        cmocka_unit_test(test_exhaustive_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
