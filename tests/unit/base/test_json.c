/*
 * Unit tests for gh_json: what an untrusted request body may and may not be,
 * with special care for the depth pre-scan (it must not be fooled by brackets
 * or escaped quotes inside strings) and for error text that goes back to the
 * client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gh_json.h"
#include "gh_jsonw.h"

#include <limits.h>

/* Parses a C string; on success drops the reference, returns the code. */
static int parse_depth(const char *s, int max_depth)
{
    json_t *j = (json_t *)&j; /* junk: must be reset */
    char err[128];
    int rc = gh_json_parse(s, strlen(s), max_depth, &j, err, sizeof(err));
    if (rc == GH_JSON_OK) {
        assert_non_null(j);
        assert_string_equal(err, "");
        json_decref(j);
    } else {
        assert_null(j);
        assert_true(err[0] != '\0');
    }
    return rc;
}

static int parse(const char *s)
{
    return parse_depth(s, 0);
}

/* n nested arrays around nothing: "[[...]]". Caller frees. */
static char *nested(int n, char open, char close)
{
    char *s = malloc((size_t)n * 2 + 1);
    assert_non_null(s);
    memset(s, open, (size_t)n);
    memset(s + n, close, (size_t)n);
    s[n * 2] = '\0';
    return s;
}

/* RFC 6749 error_description characters: %x20-21 / %x23-5B / %x5D-7E. */
static bool is_safe_text(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c > 0x7E || c == '"' || c == '\\')
            return false;
    }
    return true;
}

static void test_object_and_array(void **state)
{
    (void)state;
    json_t *j = NULL;
    char err[128];
    const char *body = "{\"grant_type\":\"password\",\"n\":3,\"l\":[1,2,{\"x\":null}]}";
    assert_int_equal(gh_json_parse(body, strlen(body), 8, &j, err, sizeof(err)), GH_JSON_OK);
    assert_true(json_is_object(j));
    assert_string_equal(json_string_value(json_object_get(j, "grant_type")), "password");
    assert_int_equal(json_integer_value(json_object_get(j, "n")), 3);
    assert_string_equal(err, "");
    json_decref(j);

    assert_int_equal(parse("[]"), GH_JSON_OK);
    assert_int_equal(parse("{}"), GH_JSON_OK);
    assert_int_equal(parse(" \r\n\t{ \"a\" : [ ] }\n"), GH_JSON_OK); /* whitespace around */
    assert_int_equal(parse("{\"name\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}"), GH_JSON_OK);
    assert_int_equal(parse("[\"\\u00e9\\ud83d\\ude00\"]"), GH_JSON_OK); /* escaped pair */
}

static void test_length_bounds_input(void **state)
{
    (void)state;
    json_t *j = NULL;
    /* only the first 2 bytes are the body; the rest would be trailing garbage */
    assert_int_equal(gh_json_parse("{}garbage", 2, 0, &j, NULL, 0), GH_JSON_OK);
    json_decref(j);
}

static void test_empty(void **state)
{
    (void)state;
    json_t *j = (json_t *)&j;
    char err[128];
    assert_int_equal(gh_json_parse("", 0, 0, &j, err, sizeof(err)), GH_JSON_E_EMPTY);
    assert_null(j);
    assert_string_equal(err, "request body is empty");
    assert_int_equal(gh_json_parse(NULL, 0, 0, &j, err, sizeof(err)), GH_JSON_E_EMPTY);
    assert_int_equal(gh_json_parse(NULL, 10, 0, &j, err, sizeof(err)), GH_JSON_E_EMPTY);
    assert_int_equal(parse(" \r\n\t "), GH_JSON_E_EMPTY);
    assert_int_equal(gh_json_parse("{}", 0, 0, &j, err, sizeof(err)), GH_JSON_E_EMPTY);
}

static void test_bad_utf8(void **state)
{
    (void)state;
    json_t *j = (json_t *)&j;
    char err[128];
    const char *bad[] = {
        "{\"a\":\"\xff\"}",         /* never valid */
        "{\"a\":\"\xc0\xaf\"}",     /* overlong '/' */
        "{\"a\":\"\xe0\x80\xaf\"}", /* overlong '/' */
        "{\"a\":\"\xed\xa0\x80\"}", /* surrogate */
        "{\"a\":\"\xf4\x90\x80\x80\"}",
        "{\"a\":\"\xe2\x82\"}", /* truncated */
        "[\"\xe2\x82",          /* truncated at the very end */
        "\xc0\xdb]",            /* overlong '[' must not open an array */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(bad[i]), GH_JSON_E_UTF8);
    assert_int_equal(gh_json_parse(bad[0], strlen(bad[0]), 0, &j, err, sizeof(err)),
                     GH_JSON_E_UTF8);
    assert_string_equal(err, "body is not valid UTF-8");
}

static void test_nul_refused(void **state)
{
    (void)state;
    json_t *j = (json_t *)&j;
    static const char trailing[] = "{}\0";        /* NUL after the document */
    static const char in_string[] = "[\"a\0b\"]"; /* raw NUL inside a string */
    assert_int_equal(gh_json_parse(trailing, 3, 0, &j, NULL, 0), GH_JSON_E_UTF8);
    assert_null(j);
    assert_int_equal(gh_json_parse(in_string, 7, 0, &j, NULL, 0), GH_JSON_E_UTF8);
    /* the escaped form is refused by jansson instead */
    assert_int_equal(parse("[\"a\\u0000b\"]"), GH_JSON_E_SYNTAX);
}

static void test_depth_at_and_over_limit(void **state)
{
    (void)state;
    assert_int_equal(parse_depth("[]", 1), GH_JSON_OK);
    assert_int_equal(parse_depth("{\"a\":1}", 1), GH_JSON_OK);
    assert_int_equal(parse_depth("[[]]", 1), GH_JSON_E_DEPTH);
    assert_int_equal(parse_depth("[[[]]]", 3), GH_JSON_OK);
    assert_int_equal(parse_depth("[[[[]]]]", 3), GH_JSON_E_DEPTH);
    assert_int_equal(parse_depth("{\"a\":{\"b\":[1]}}", 3), GH_JSON_OK);
    assert_int_equal(parse_depth("{\"a\":{\"b\":[{}]}}", 3), GH_JSON_E_DEPTH);
    /* siblings do not add up: depth is the deepest path, not the bracket count */
    assert_int_equal(parse_depth("[[1],[2],[3],{\"a\":[]}]", 3), GH_JSON_OK);
}

static void test_default_depth(void **state)
{
    (void)state;
    char *ok = nested(GH_JSON_DEFAULT_DEPTH, '[', ']');
    char *deep = nested(GH_JSON_DEFAULT_DEPTH + 1, '[', ']');
    assert_int_equal(parse(ok), GH_JSON_OK);
    assert_int_equal(parse_depth(ok, -5), GH_JSON_OK); /* negative means default too */

    json_t *j = (json_t *)&j;
    char err[128];
    assert_int_equal(gh_json_parse(deep, strlen(deep), 0, &j, err, sizeof(err)), GH_JSON_E_DEPTH);
    assert_null(j);
    assert_string_equal(err, "JSON nesting deeper than 32 levels");
    free(ok);
    free(deep);
}

static void test_depth_refused_before_jansson(void **state)
{
    (void)state;
    /* far past jansson's own limit and never closed: our check answers first */
    char *deep = nested(100000, '{', '}');
    deep[100000] = '\0';
    assert_int_equal(parse(deep), GH_JSON_E_DEPTH);
    free(deep);
    /* a deep but otherwise broken prefix is still a depth error */
    assert_int_equal(parse_depth("[[[[x", 3), GH_JSON_E_DEPTH);
}

static void test_depth_ignores_strings(void **state)
{
    (void)state;
    /* brackets inside strings, as values and as keys */
    assert_int_equal(parse_depth("{\"a\":\"[[[[{{{{\"}", 1), GH_JSON_OK);
    assert_int_equal(parse_depth("{\"[[[[\":\"]]]]\"}", 1), GH_JSON_OK);
    /* escaped quotes do not end the string, so the brackets stay inside it */
    assert_int_equal(parse_depth("{\"a\":\"\\\"[[[[\\\"\"}", 1), GH_JSON_OK);
    assert_int_equal(parse_depth("[\"\\\"]]]][[[[[[\"]", 1), GH_JSON_OK);
    /* \u escapes that spell brackets or quotes are just text */
    assert_int_equal(parse_depth("[\"\\u005b\\u005b\\u0022[[\"]", 1), GH_JSON_OK);
}

static void test_depth_not_hidden_by_strings(void **state)
{
    (void)state;
    /*
     * A scanner that ignores escapes thinks the string "\"" ends at its
     * escaped quote and that everything after is inside a new string, so it
     * would see depth 1. The real depth is 4.
     */
    assert_int_equal(parse_depth("[\"\\\"\",[[[1]]]]", 3), GH_JSON_E_DEPTH);
    assert_int_equal(parse_depth("[\"\\\"\",[[[1]]]]", 4), GH_JSON_OK);
    /* an escaped backslash does end in a real closing quote */
    assert_int_equal(parse_depth("[\"\\\\\",[[[1]]]]", 3), GH_JSON_E_DEPTH);
    assert_int_equal(parse_depth("[\"\\\\\\\\\",[[[1]]]]", 3), GH_JSON_E_DEPTH);
    /* closing brackets inside a string do not lower the depth */
    assert_int_equal(parse_depth("[[\"]]]]]]\",[[1]]]]", 3), GH_JSON_E_DEPTH);
    /* stray closers before the document cannot buy extra depth either */
    assert_int_equal(parse_depth("]]]][[[[]]]]", 3), GH_JSON_E_DEPTH);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    json_t *j = (json_t *)&j;
    char err[128];
    const char *dup = "{\"a\":1,\"a\":2}";
    assert_int_equal(gh_json_parse(dup, strlen(dup), 0, &j, err, sizeof(err)), GH_JSON_E_SYNTAX);
    assert_null(j);
    assert_non_null(strstr(err, "duplicate object key"));
    assert_int_equal(parse("{\"x\":{\"a\":1,\"b\":2,\"a\":3}}"), GH_JSON_E_SYNTAX);
    /* the same key after escape decoding is still the same key */
    assert_int_equal(parse("{\"a\":1,\"\\u0061\":2}"), GH_JSON_E_SYNTAX);
    /* the same key in different objects is fine */
    assert_int_equal(parse("[{\"a\":1},{\"a\":2}]"), GH_JSON_OK);
}

static void test_trailing_garbage(void **state)
{
    (void)state;
    const char *bad[] = {"{} x", "{}{}", "[1]]", "[1],", "{}}", "[] // comment", "{}\x01"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(bad[i]), GH_JSON_E_SYNTAX);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    const char *bad[] = {
        "{",
        "[1,]",
        "{\"a\"}",
        "{'a':1}",
        "[tru]",
        "[01]",
        "[\"\\x\"]",
        "[\"unterminated]",
        "[1e400]",
        "[99999999999999999999]",
        "[\"\\ud800\"]",
        "[NaN]",
        "\xef\xbb\xbf{}" /* BOM */,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(bad[i]), GH_JSON_E_SYNTAX);

    json_t *j = NULL;
    char err[128];
    assert_int_equal(gh_json_parse("[1,,2]", 6, 0, &j, err, sizeof(err)), GH_JSON_E_SYNTAX);
    assert_true(strncmp(err, "invalid JSON at line 1 column ", 30) == 0);
}

static void test_top_level_must_be_container(void **state)
{
    (void)state;
    const char *bad[] = {"1", "\"s\"", "true", "false", "null", "-0.5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(bad[i]), GH_JSON_E_SYNTAX);
}

static void test_error_text_is_safe(void **state)
{
    (void)state;
    /* jansson quotes input back; quotes, backslashes and non-ASCII must not leak */
    const char *bad[] = {
        "{\"a\":\"b\" \"c\"}", "{\"a\": \xc3\xa9}", "[\"\\ud800\"]", "\xef\xbb\xbf{}",
        "{\"a\":1,\"a\":2}",   "[\"\\u0000\"]",     "[\t\x7f]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = NULL;
        char err[256];
        assert_int_not_equal(gh_json_parse(bad[i], strlen(bad[i]), 0, &j, err, sizeof(err)),
                             GH_JSON_OK);
        assert_true(err[0] != '\0');
        if (!is_safe_text(err))
            fail_msg("unsafe error text for input %zu: %s", i, err);
    }
}

static void test_err_buffer_handling(void **state)
{
    (void)state;
    json_t *j = NULL;
    char err[8];
    memset(err, 'Z', sizeof(err));
    assert_int_equal(gh_json_parse("", 0, 0, &j, err, sizeof(err)), GH_JSON_E_EMPTY);
    assert_string_equal(err, "request"); /* truncated, still terminated */

    char untouched[4] = "abc";
    assert_int_equal(gh_json_parse("", 0, 0, &j, untouched, 0), GH_JSON_E_EMPTY);
    assert_string_equal(untouched, "abc");

    assert_int_equal(gh_json_parse("[", 1, 0, &j, NULL, 0), GH_JSON_E_SYNTAX);
    assert_null(j);
    assert_int_equal(gh_json_parse("[]", 2, 0, NULL, err, sizeof(err)), GH_JSON_E_SYNTAX);
}

/* ---- gh_jsonw: the writer must give exactly what jansson gives ---- */

static void test_jsonw_matches_jansson(void **state)
{
    (void)state;
    static const char *const values[] = {
        "",
        "plain",
        "https://id.example.com/path?x=1", /* '/' is not escaped */
        "quote \" and backslash \\",
        "\b\f\n\r\t controls \x01\x1f and DEL \x7f",
        "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x94\x91", /* é, U+2028, an emoji */
    };
    static const long long ints[] = {0, 1, -1, 1700000000, LLONG_MAX, LLONG_MIN};
    gh_arena *a = gh_arena_new(0);
    for (size_t hint = 1; hint <= 256; hint *= 16) {
        gh_jsonw w;
        json_t *o = json_object();
        gh_jsonw_begin(&w, a, hint);
        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
            char key[16];
            snprintf(key, sizeof(key), "k%zu", i);
            gh_jsonw_str(&w, key, values[i]);
            json_object_set_new(o, key, json_string(values[i]));
        }
        for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
            char key[16];
            snprintf(key, sizeof(key), "n%zu", i);
            gh_jsonw_int(&w, key, ints[i]);
            json_object_set_new(o, key, json_integer(ints[i]));
        }
        gh_jsonw_str(&w, "skipped", NULL);
        size_t len = 0;
        const char *got = gh_jsonw_end(&w, &len);
        char *want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        assert_non_null(got);
        assert_string_equal(got, want);
        assert_int_equal(len, strlen(want));
        free(want);
        json_decref(o);
    }
    /* the empty object */
    gh_jsonw w;
    gh_jsonw_begin(&w, a, 0);
    assert_string_equal(gh_jsonw_end(&w, NULL), "{}");
    gh_arena_free(a);
}

static void test_jsonw_refuses_bad_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {"\xff", "\xc3", "\xed\xa0\x80" /* a surrogate */,
                                      "\xc0\xaf" /* overlong '/' */};
    gh_arena *a = gh_arena_new(0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gh_jsonw w;
        gh_jsonw_begin(&w, a, 64);
        gh_jsonw_str(&w, "ok", "fine");
        gh_jsonw_str(&w, "bad", bad[i]);
        gh_jsonw_int(&w, "after", 1);
        assert_null(gh_jsonw_end(&w, NULL));
        assert_null(json_string(bad[i])); /* as jansson refuses it */
    }
    gh_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_and_array),
        cmocka_unit_test(test_length_bounds_input),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_bad_utf8),
        cmocka_unit_test(test_nul_refused),
        cmocka_unit_test(test_depth_at_and_over_limit),
        cmocka_unit_test(test_default_depth),
        cmocka_unit_test(test_depth_refused_before_jansson),
        cmocka_unit_test(test_depth_ignores_strings),
        cmocka_unit_test(test_depth_not_hidden_by_strings),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_trailing_garbage),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_top_level_must_be_container),
        cmocka_unit_test(test_error_text_is_safe),
        cmocka_unit_test(test_err_buffer_handling),
        cmocka_unit_test(test_jsonw_matches_jansson),
        cmocka_unit_test(test_jsonw_refuses_bad_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
