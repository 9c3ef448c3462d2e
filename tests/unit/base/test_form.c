/*
 * Unit tests for gh_form: form-urlencoded and Cookie parsing, with the
 * hostile inputs a login or token endpoint actually sees (bad escapes,
 * encoded NULs and overlongs, oversized and repeated fields).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "gh_arena.h"
#include "gh_form.h"

static int setup(void **state)
{
    *state = gh_arena_new(0);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    gh_arena_free(*state);
    return 0;
}

/* Parses a C string with the given limits (NULL: defaults). */
static int parse(void **state, const char *s, const gh_form_limits *lim, gh_form *out)
{
    return gh_form_parse(*state, s, strlen(s), lim, out);
}

/* Parses s and expects the error rc with *out cleared. */
static void expect_form_error(void **state, const char *s, size_t len, const gh_form_limits *lim,
                              int rc)
{
    gh_form f = {(gh_kv *)&f, 99}; /* junk: must be reset on error */
    assert_int_equal(gh_form_parse(*state, s, len, lim, &f), rc);
    assert_null(f.items);
    assert_int_equal(f.n, 0);
}

static void expect_cookie_error(void **state, const char *header, int rc)
{
    gh_form f = {(gh_kv *)&f, 99};
    assert_int_equal(gh_cookie_parse(*state, header, &f), rc);
    assert_null(f.items);
    assert_int_equal(f.n, 0);
}

/* A string of n copies of c, in the arena. */
static char *repeat(void **state, char c, size_t n)
{
    char *s = gh_arena_alloc(*state, n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* ---- form ---- */

static void test_basic(void **state)
{
    gh_form f;
    assert_int_equal(parse(state, "grant_type=password&username=alice", NULL, &f), GH_FORM_OK);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.items[0].key, "grant_type");
    assert_string_equal(f.items[0].value, "password");
    assert_int_equal(f.items[0].value_len, 8);
    assert_string_equal(f.items[1].key, "username");
    assert_string_equal(f.items[1].value, "alice");
    assert_string_equal(gh_form_get(&f, "username"), "alice");
    assert_null(gh_form_get(&f, "password"));
    assert_null(gh_form_get(&f, "user")); /* no prefix matching */
}

static void test_decoding(void **state)
{
    gh_form f;
    assert_int_equal(parse(state, "q=hello+world%21&e=%E2%82%AC&l=%c3%a9&p=%2B&a=%26%3D", NULL, &f),
                     GH_FORM_OK);
    assert_int_equal(f.n, 5);
    assert_string_equal(gh_form_get(&f, "q"), "hello world!");
    assert_string_equal(gh_form_get(&f, "e"), "\xe2\x82\xac");
    assert_string_equal(gh_form_get(&f, "l"), "\xc3\xa9"); /* lower-case hex */
    assert_string_equal(gh_form_get(&f, "p"), "+");        /* %2B is a plus, not a space */
    assert_string_equal(gh_form_get(&f, "a"), "&=");       /* escaped separators are data */
    assert_int_equal(f.items[1].value_len, 3);
}

static void test_key_decoding(void **state)
{
    gh_form f;
    assert_int_equal(parse(state, "a+b=1&c%3Dd=2&%E2%82%AC=3", NULL, &f), GH_FORM_OK);
    assert_string_equal(f.items[0].key, "a b");
    assert_string_equal(f.items[1].key, "c=d");
    assert_string_equal(f.items[2].key, "\xe2\x82\xac");
}

static void test_raw_utf8_passes(void **state)
{
    gh_form f;
    assert_int_equal(parse(state, "name=caf\xc3\xa9", NULL, &f), GH_FORM_OK);
    assert_string_equal(gh_form_get(&f, "name"), "caf\xc3\xa9");
}

static void test_empty_pairs_skipped(void **state)
{
    gh_form f;
    assert_int_equal(parse(state, "a=1&&b=2", NULL, &f), GH_FORM_OK);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.items[1].key, "b");
    assert_int_equal(parse(state, "&a=1&", NULL, &f), GH_FORM_OK);
    assert_int_equal(f.n, 1);
    assert_int_equal(parse(state, "&&&", NULL, &f), GH_FORM_OK);
    assert_int_equal(f.n, 0);
    assert_null(f.items);
}

static void test_missing_equals_and_empty_parts(void **state)
{
    gh_form f;
    assert_int_equal(parse(state, "flag&a=&=v&b==c", NULL, &f), GH_FORM_OK);
    assert_int_equal(f.n, 4);
    assert_string_equal(f.items[0].key, "flag");
    assert_string_equal(f.items[0].value, "");
    assert_int_equal(f.items[0].value_len, 0);
    assert_string_equal(f.items[1].key, "a");
    assert_string_equal(f.items[1].value, "");
    assert_string_equal(f.items[2].key, ""); /* "=v" is a pair with an empty name */
    assert_string_equal(f.items[2].value, "v");
    assert_string_equal(f.items[3].value, "=c"); /* split at the first '=' only */
}

static void test_empty_input(void **state)
{
    gh_form f = {(gh_kv *)&f, 7};
    assert_int_equal(gh_form_parse(*state, "", 0, NULL, &f), GH_FORM_OK);
    assert_null(f.items);
    assert_int_equal(f.n, 0);
    assert_int_equal(gh_form_parse(*state, NULL, 0, NULL, &f), GH_FORM_OK);
    assert_int_equal(f.n, 0);
    expect_form_error(state, NULL, 5, NULL, GH_FORM_E_SYNTAX);
    assert_int_equal(gh_form_parse(*state, "a=1", 3, NULL, NULL), GH_FORM_E_SYNTAX);
}

static void test_length_bounds_input(void **state)
{
    gh_form f;
    /* only the first 7 bytes belong to the body */
    assert_int_equal(gh_form_parse(*state, "a=1&b=2&c=3", 7, NULL, &f), GH_FORM_OK);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.items[1].value, "2");
    /* an escape cut off by len is a syntax error, whatever follows in memory */
    expect_form_error(state, "a=%41", 4, NULL, GH_FORM_E_SYNTAX);
}

static void test_bad_escapes(void **state)
{
    const char *bad[] = {"a=%zz", "a=%",     "a=%4",   "a=%4g", "a=%g4", "%=1",
                         "a%2=1", "a=1&b=%", "a=%%41", "a=% 1", "a=%+1", "a=%-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_form_error(state, bad[i], strlen(bad[i]), NULL, GH_FORM_E_SYNTAX);
}

static void test_bad_utf8(void **state)
{
    const char *bad[] = {
        "a=%00",          /* decodes to NUL */
        "a%00b=1",        /* NUL in a key */
        "a=x%00",         /* NUL at the end */
        "a=%C0%AF",       /* overlong '/' */
        "a=%E0%80%AF",    /* 3-byte overlong '/' */
        "a=%ED%A0%80",    /* surrogate */
        "a=%F4%90%80%80", /* past U+10FFFF */
        "a=%E2%82",       /* truncated */
        "a=%FF",          /* never valid */
        "a=%80",          /* stray continuation */
        "a=\xff",         /* raw invalid byte */
        "\xc0\xaf=1",     /* raw overlong in a key */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_form_error(state, bad[i], strlen(bad[i]), NULL, GH_FORM_E_UTF8);
    /* a raw NUL byte inside the body */
    expect_form_error(state, "a=1\0b", 5, NULL, GH_FORM_E_UTF8);

    gh_form f;
    assert_int_equal(parse(state, "a=%F4%8F%BF%BF", NULL, &f), GH_FORM_OK); /* U+10FFFF */
    assert_int_equal(f.items[0].value_len, 4);
}

static void test_field_count_limit(void **state)
{
    const gh_form_limits lim = {.max_fields = 3, .max_key = 16, .max_value = 16};
    gh_form f;
    assert_int_equal(parse(state, "a=1&b=2&c=3", &lim, &f), GH_FORM_OK);
    assert_int_equal(f.n, 3);
    expect_form_error(state, "a=1&b=2&c=3&d=4", 15, &lim, GH_FORM_E_LIMIT);
    /* empty pairs are not fields */
    assert_int_equal(parse(state, "a=1&&&b=2&&c=3&", &lim, &f), GH_FORM_OK);
    assert_int_equal(f.n, 3);

    const gh_form_limits none = {.max_fields = 0, .max_key = 16, .max_value = 16};
    expect_form_error(state, "a", 1, &none, GH_FORM_E_LIMIT);
    assert_int_equal(parse(state, "&", &none, &f), GH_FORM_OK);
}

static void test_key_and_value_limits(void **state)
{
    const gh_form_limits lim = {.max_fields = 8, .max_key = 3, .max_value = 4};
    gh_form f;
    assert_int_equal(parse(state, "abc=wxyz", &lim, &f), GH_FORM_OK);
    expect_form_error(state, "abcd=1", 6, &lim, GH_FORM_E_LIMIT);
    expect_form_error(state, "a=vwxyz", 7, &lim, GH_FORM_E_LIMIT);
    /* limits count decoded bytes, not raw ones */
    assert_int_equal(parse(state, "%41%42%43=%31%32%33%34", &lim, &f), GH_FORM_OK);
    assert_string_equal(f.items[0].key, "ABC");
    assert_string_equal(f.items[0].value, "1234");
    expect_form_error(state, "%41%42%43%44=1", 14, &lim, GH_FORM_E_LIMIT);
    /* a multi-byte character counts by its bytes */
    expect_form_error(state, "a=%E2%82%AC%E2%82%AC", 20, &lim, GH_FORM_E_LIMIT);
}

static void test_default_limits(void **state)
{
    gh_form f;
    assert_int_equal(gh_form_default_limits.max_fields, 64);
    assert_int_equal(gh_form_default_limits.max_key, 128);
    assert_int_equal(gh_form_default_limits.max_value, 16 * 1024);

    /* 64 fields "a&a&...": at the limit, then one over */
    char *many = repeat(state, '&', 129);
    for (size_t i = 0; i < 129; i += 2)
        many[i] = 'a';
    assert_int_equal(gh_form_parse(*state, many, 127, NULL, &f), GH_FORM_OK);
    assert_int_equal(f.n, 64);
    assert_int_equal(gh_form_count(&f, "a"), 64);
    expect_form_error(state, many, 129, NULL, GH_FORM_E_LIMIT);

    /* 128-byte key, then 129 */
    char *key = repeat(state, 'k', 129);
    assert_int_equal(gh_form_parse(*state, key, 128, NULL, &f), GH_FORM_OK);
    assert_int_equal(strlen(f.items[0].key), 128);
    expect_form_error(state, key, 129, NULL, GH_FORM_E_LIMIT);

    /* 16384-byte value, then 16385 */
    char *val = repeat(state, 'v', 2 + 16385);
    val[0] = 'x';
    val[1] = '=';
    assert_int_equal(gh_form_parse(*state, val, 2 + 16384, NULL, &f), GH_FORM_OK);
    assert_int_equal(f.items[0].value_len, 16384);
    expect_form_error(state, val, 2 + 16385, NULL, GH_FORM_E_LIMIT);
}

static void test_duplicates(void **state)
{
    gh_form f;
    assert_int_equal(parse(state, "scope=a&client_id=x&scope=b&scope=c", NULL, &f), GH_FORM_OK);
    assert_int_equal(gh_form_count(&f, "scope"), 3);
    assert_int_equal(gh_form_count(&f, "client_id"), 1);
    assert_int_equal(gh_form_count(&f, "missing"), 0);
    assert_string_equal(gh_form_get(&f, "scope"), "a"); /* the first one wins */
    /* "a+b" and "a%20b" are the same key once decoded */
    assert_int_equal(parse(state, "a+b=1&a%20b=2", NULL, &f), GH_FORM_OK);
    assert_int_equal(gh_form_count(&f, "a b"), 2);
}

static void test_lookup_null_safety(void **state)
{
    (void)state;
    gh_form empty = {NULL, 0};
    assert_null(gh_form_get(NULL, "a"));
    assert_null(gh_form_get(&empty, "a"));
    assert_int_equal(gh_form_count(NULL, "a"), 0);
    assert_int_equal(gh_form_count(&empty, "a"), 0);
    gh_form f;
    assert_int_equal(parse(state, "a=1", NULL, &f), GH_FORM_OK);
    assert_null(gh_form_get(&f, NULL));
    assert_int_equal(gh_form_count(&f, NULL), 0);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    gh_arena *tiny = gh_arena_new(64); /* smaller than one arena chunk */
    assert_non_null(tiny);
    gh_form f = {(gh_kv *)&f, 99};
    assert_int_equal(gh_form_parse(tiny, "a=1", 3, NULL, &f), GH_FORM_E_NOMEM);
    assert_null(f.items);
    assert_int_equal(f.n, 0);
    assert_int_equal(gh_form_parse(tiny, "&&", 2, NULL, &f), GH_FORM_OK); /* nothing to store */
    f.n = 99;
    assert_int_equal(gh_cookie_parse(tiny, "a=1", &f), GH_FORM_E_NOMEM);
    assert_int_equal(f.n, 0);
    gh_arena_free(tiny);
    assert_int_equal(gh_form_parse(NULL, "a=1", 3, NULL, &f), GH_FORM_E_NOMEM);
}

/* One component, as in a Basic header's client id and secret. */
static void test_decode_component(void **state)
{
    const char *v = NULL;
    size_t n = 0;
    assert_int_equal(gh_form_decode(*state, "a%3Ab+c%2B%25", 13, 64, &v, &n), GH_FORM_OK);
    assert_string_equal(v, "a:b c+%");
    assert_int_equal(n, 7);
    assert_int_equal(gh_form_decode(*state, "x=y&z", 5, 64, &v, NULL), GH_FORM_OK);
    assert_string_equal(v, "x=y&z"); /* no separators inside one component */
    assert_int_equal(gh_form_decode(*state, "", 0, 64, &v, &n), GH_FORM_OK);
    assert_string_equal(v, "");
    assert_int_equal(gh_form_decode(*state, NULL, 0, 64, &v, &n), GH_FORM_OK);
    assert_int_equal(gh_form_decode(*state, "s%", 2, 64, &v, NULL), GH_FORM_E_SYNTAX);
    assert_int_equal(gh_form_decode(*state, "%zz", 3, 64, &v, NULL), GH_FORM_E_SYNTAX);
    assert_int_equal(gh_form_decode(*state, "%ff", 3, 64, &v, NULL), GH_FORM_E_UTF8);
    assert_int_equal(gh_form_decode(*state, "%00", 3, 64, &v, NULL), GH_FORM_E_UTF8);
    assert_int_equal(gh_form_decode(*state, "abcd", 4, 3, &v, NULL), GH_FORM_E_LIMIT);
    assert_int_equal(gh_form_decode(*state, "%41%42%43", 9, 3, &v, NULL), GH_FORM_OK);
    assert_string_equal(v, "ABC"); /* the limit counts decoded bytes */
}

/* ---- cookies ---- */

static void test_cookie_basic(void **state)
{
    gh_form f;
    assert_int_equal(gh_cookie_parse(*state, "sid=abc123; theme=dark", &f), GH_FORM_OK);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.items[0].key, "sid");
    assert_string_equal(f.items[0].value, "abc123");
    assert_int_equal(f.items[0].value_len, 6);
    assert_string_equal(gh_form_get(&f, "theme"), "dark");
    assert_int_equal(gh_cookie_parse(*state, "a=1;b=2", &f), GH_FORM_OK);
    assert_int_equal(f.n, 2);
}

static void test_cookie_whitespace_and_quotes(void **state)
{
    gh_form f;
    assert_int_equal(gh_cookie_parse(*state, "  a = 1 ;\tb=\"quoted\"\t; c=\"\"; d=\"; e=\"x", &f),
                     GH_FORM_OK);
    assert_int_equal(f.n, 5);
    assert_string_equal(gh_form_get(&f, "a"), "1");
    assert_string_equal(gh_form_get(&f, "b"), "quoted");
    assert_string_equal(gh_form_get(&f, "c"), "");
    assert_string_equal(gh_form_get(&f, "d"), "\""); /* a lone quote is not a pair */
    assert_string_equal(gh_form_get(&f, "e"), "\"x");
    assert_int_equal(f.items[2].value_len, 0);
}

static void test_cookie_not_decoded(void **state)
{
    gh_form f;
    assert_int_equal(gh_cookie_parse(*state, "a=%41+b; t=eyJ==; e=", &f), GH_FORM_OK);
    assert_string_equal(gh_form_get(&f, "a"), "%41+b");
    assert_string_equal(gh_form_get(&f, "t"), "eyJ=="); /* base64 padding stays */
    assert_string_equal(gh_form_get(&f, "e"), "");
}

static void test_cookie_invalid_pairs_skipped(void **state)
{
    gh_form f = {(gh_kv *)&f, 7};
    assert_int_equal(gh_cookie_parse(*state, "noequals; =novalue;  = x; a=1;;; ", &f), GH_FORM_OK);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.items[0].key, "a");
    assert_int_equal(gh_cookie_parse(*state, "; ;", &f), GH_FORM_OK);
    assert_int_equal(f.n, 0);
    assert_null(f.items);
    assert_int_equal(gh_cookie_parse(*state, "", &f), GH_FORM_OK);
    assert_int_equal(f.n, 0);
    assert_int_equal(gh_cookie_parse(*state, NULL, &f), GH_FORM_OK);
    assert_int_equal(f.n, 0);
    assert_int_equal(gh_cookie_parse(*state, "a=1", NULL), GH_FORM_E_SYNTAX);
}

static void test_cookie_junk_skipped(void **state)
{
    gh_form f;
    /* invalid UTF-8 and control characters from a neighbour app are dropped */
    assert_int_equal(
        gh_cookie_parse(*state, "x=\xff\xfe; y=a\x01z; \xc0\xaf=1; z=\x1b[2J; sid=ok", &f),
        GH_FORM_OK);
    assert_int_equal(f.n, 1);
    assert_string_equal(gh_form_get(&f, "sid"), "ok");
    assert_int_equal(gh_cookie_parse(*state, "n=caf\xc3\xa9; t=a\tb", &f), GH_FORM_OK);
    assert_int_equal(f.n, 2); /* UTF-8 and an inner tab are fine */
}

static void test_cookie_duplicates(void **state)
{
    gh_form f;
    assert_int_equal(gh_cookie_parse(*state, "sid=first; sid=second", &f), GH_FORM_OK);
    assert_int_equal(gh_form_count(&f, "sid"), 2);
    assert_string_equal(gh_form_get(&f, "sid"), "first");
}

/* "c0=v; c1=v; ..." with n cookies. */
static char *cookie_list(void **state, size_t n)
{
    size_t cap = n * 8 + 1;
    char *s = gh_arena_alloc(*state, cap);
    assert_non_null(s);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(s + off, cap - off, "%sc%zu=v", i ? "; " : "", i);
        assert_true(w > 0 && (size_t)w < cap - off);
        off += (size_t)w;
    }
    return s;
}

static void test_cookie_count_limit(void **state)
{
    gh_form f;
    assert_int_equal(GH_COOKIE_MAX, 50);
    assert_int_equal(gh_cookie_parse(*state, cookie_list(state, 50), &f), GH_FORM_OK);
    assert_int_equal(f.n, 50);
    assert_string_equal(f.items[49].key, "c49");
    expect_cookie_error(state, cookie_list(state, 51), GH_FORM_E_LIMIT);

    /* skipped pairs do not count towards the limit */
    char *s = cookie_list(state, 50);
    size_t len = strlen(s);
    char *more = gh_arena_alloc(*state, len + 32);
    assert_non_null(more);
    snprintf(more, len + 32, "junk; =x; %s; also-junk", s);
    assert_int_equal(gh_cookie_parse(*state, more, &f), GH_FORM_OK);
    assert_int_equal(f.n, 50);
}

static void test_cookie_size_limits(void **state)
{
    gh_form f;
    char buf[8192];

    /* name: 128 bytes, then 129 */
    snprintf(buf, sizeof(buf), "%s=1", repeat(state, 'n', 128));
    assert_int_equal(gh_cookie_parse(*state, buf, &f), GH_FORM_OK);
    assert_int_equal(strlen(f.items[0].key), 128);
    snprintf(buf, sizeof(buf), "%s=1", repeat(state, 'n', 129));
    expect_cookie_error(state, buf, GH_FORM_E_LIMIT);

    /* value: 4096 bytes, then 4097 */
    snprintf(buf, sizeof(buf), "v=%s", repeat(state, 'x', 4096));
    assert_int_equal(gh_cookie_parse(*state, buf, &f), GH_FORM_OK);
    assert_int_equal(f.items[0].value_len, 4096);
    snprintf(buf, sizeof(buf), "v=%s", repeat(state, 'x', 4097));
    expect_cookie_error(state, buf, GH_FORM_E_LIMIT);

    /* the limit applies to the stored value, after the quotes come off */
    snprintf(buf, sizeof(buf), "v=\"%s\"", repeat(state, 'x', 4096));
    assert_int_equal(gh_cookie_parse(*state, buf, &f), GH_FORM_OK);
    assert_int_equal(f.items[0].value_len, 4096);

    /* surrounding whitespace is trimmed before measuring */
    snprintf(buf, sizeof(buf), "   %s   =1", repeat(state, 'n', 128));
    assert_int_equal(gh_cookie_parse(*state, buf, &f), GH_FORM_OK);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_basic),
        T(test_decoding),
        T(test_key_decoding),
        T(test_raw_utf8_passes),
        T(test_empty_pairs_skipped),
        T(test_missing_equals_and_empty_parts),
        T(test_empty_input),
        T(test_length_bounds_input),
        T(test_bad_escapes),
        T(test_bad_utf8),
        T(test_field_count_limit),
        T(test_key_and_value_limits),
        T(test_default_limits),
        T(test_duplicates),
        T(test_lookup_null_safety),
        T(test_out_of_memory),
        T(test_decode_component),
        T(test_cookie_basic),
        T(test_cookie_whitespace_and_quotes),
        T(test_cookie_not_decoded),
        T(test_cookie_invalid_pairs_skipped),
        T(test_cookie_junk_skipped),
        T(test_cookie_duplicates),
        T(test_cookie_count_limit),
        T(test_cookie_size_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
