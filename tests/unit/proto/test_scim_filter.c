/*
 * Unit tests for gh_scim_filter: each accepted filter is checked through its
 * canonical dump, so a test shows the exact tree shape (precedence, nesting)
 * it expects; each rejected filter is checked for its error code and reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gh_arena.h"
#include "gh_scim_filter.h"

/* Parses in[0..len) with a fresh arena; the caller frees *ap. */
static int parse_n(gh_arena **ap, const char *in, size_t len, gh_sf_node **out, char *err,
                   size_t errlen)
{
    *ap = gh_arena_new(0);
    assert_non_null(*ap);
    return gh_scim_filter_parse(*ap, in, len, out, err, errlen);
}

/* Parses in, asserts success and returns the root; the caller frees *ap. */
static gh_sf_node *parse_ok(gh_arena **ap, const char *in)
{
    gh_sf_node *n = NULL;
    char err[128];
    int rc = parse_n(ap, in, strlen(in), &n, err, sizeof(err));
    if (rc != GH_SF_OK)
        fail_msg("parse of '%s' failed: %d %s", in, rc, err);
    assert_non_null(n);
    return n;
}

/* Asserts that in parses and dumps as want. */
static void check_ok(const char *in, const char *want)
{
    gh_arena *a;
    gh_sf_node *n = parse_ok(&a, in);
    char buf[2048];
    int len = gh_scim_filter_dump(n, buf, sizeof(buf));
    assert_int_equal(len, (int)strlen(want));
    assert_string_equal(buf, want);
    gh_arena_free(a);
}

/* Asserts that in[0..len) fails with code and an error containing reason. */
static void check_fail_n(const char *in, size_t len, int code, const char *reason)
{
    gh_arena *a;
    gh_sf_node *n = (gh_sf_node *)&n; /* must be reset to NULL */
    char err[128];
    int rc = parse_n(&a, in, len, &n, err, sizeof(err));
    if (rc != code)
        fail_msg("parse of '%.*s': got %d (%s), want %d", (int)len, in, rc, err, code);
    assert_null(n);
    if (!strstr(err, reason))
        fail_msg("parse of '%.*s': error '%s' lacks '%s'", (int)len, in, err, reason);
    gh_arena_free(a);
}

static void check_fail(const char *in, int code, const char *reason)
{
    check_fail_n(in, strlen(in), code, reason);
}

/* Returns the decoded value of the single comparison in; the caller frees *ap. */
static const char *value_of(gh_arena **ap, const char *in)
{
    gh_sf_node *n = parse_ok(ap, in);
    assert_int_equal(n->kind, GH_SF_CMP);
    assert_int_equal(n->vtype, GH_SF_VSTRING);
    return n->value;
}

/* ---- accepted filters ---- */

static void test_eq_string(void **state)
{
    (void)state;
    gh_arena *a;
    gh_sf_node *n = parse_ok(&a, "userName eq \"bjensen\"");
    assert_int_equal(n->kind, GH_SF_CMP);
    assert_int_equal(n->op, GH_SF_EQ);
    assert_int_equal(n->vtype, GH_SF_VSTRING);
    assert_string_equal(n->attr, "userName");
    assert_string_equal(n->value, "bjensen");
    assert_null(n->subattr);
    assert_null(n->left);
    assert_null(n->right);
    gh_arena_free(a);
    check_ok("userName eq \"bjensen\"", "(eq userName \"bjensen\")");
}

static void test_each_operator(void **state)
{
    (void)state;
    check_ok("a eq \"x\"", "(eq a \"x\")");
    check_ok("a ne \"x\"", "(ne a \"x\")");
    check_ok("a co \"x\"", "(co a \"x\")");
    check_ok("a sw \"x\"", "(sw a \"x\")");
    check_ok("a ew \"x\"", "(ew a \"x\")");
    check_ok("a gt 1", "(gt a 1)");
    check_ok("a ge 1", "(ge a 1)");
    check_ok("a lt 1", "(lt a 1)");
    check_ok("a le 1", "(le a 1)");
}

static void test_operator_enum_values(void **state)
{
    (void)state;
    static const char *const in[] = {"a eq 1", "a ne 1", "a co 1", "a sw 1", "a ew 1",
                                     "a gt 1", "a ge 1", "a lt 1", "a le 1"};
    static const gh_sf_op want[] = {GH_SF_EQ, GH_SF_NE, GH_SF_CO, GH_SF_SW, GH_SF_EW,
                                    GH_SF_GT, GH_SF_GE, GH_SF_LT, GH_SF_LE};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        gh_arena *a;
        gh_sf_node *n = parse_ok(&a, in[i]);
        assert_int_equal(n->op, want[i]);
        gh_arena_free(a);
    }
}

static void test_present(void **state)
{
    (void)state;
    gh_arena *a;
    gh_sf_node *n = parse_ok(&a, "title pr");
    assert_int_equal(n->kind, GH_SF_PRESENT);
    assert_string_equal(n->attr, "title");
    assert_null(n->value);
    gh_arena_free(a);
    check_ok("title pr", "(pr title)");
}

static void test_case_insensitive_words(void **state)
{
    (void)state;
    check_ok("userName EQ \"x\"", "(eq userName \"x\")");
    check_ok("userName Sw \"J\"", "(sw userName \"J\")");
    check_ok("title PR", "(pr title)");
    check_ok("a pr AND b pr Or c pr", "(or (and (pr a) (pr b)) (pr c))");
    check_ok("NOT (a pr)", "(not (pr a))");
    check_ok("a eq TRUE", "(eq a true)");
    check_ok("a eq False", "(eq a false)");
    check_ok("a eq NULL", "(eq a null)");
}

static void test_and_or(void **state)
{
    (void)state;
    check_ok("title pr and userType eq \"Employee\"",
             "(and (pr title) (eq userType \"Employee\"))");
    check_ok("title pr or userType eq \"Intern\"", "(or (pr title) (eq userType \"Intern\"))");
}

static void test_precedence(void **state)
{
    (void)state;
    check_ok("a eq 1 or b eq 2 and c eq 3", "(or (eq a 1) (and (eq b 2) (eq c 3)))");
    check_ok("a eq 1 and b eq 2 or c eq 3", "(or (and (eq a 1) (eq b 2)) (eq c 3))");
    check_ok("a pr or b pr and c pr or d pr", "(or (or (pr a) (and (pr b) (pr c))) (pr d))");
}

static void test_left_associative(void **state)
{
    (void)state;
    check_ok("a pr and b pr and c pr", "(and (and (pr a) (pr b)) (pr c))");
    check_ok("a pr or b pr or c pr", "(or (or (pr a) (pr b)) (pr c))");
}

static void test_parentheses(void **state)
{
    (void)state;
    check_ok("(a eq 1 or b eq 2) and c eq 3", "(and (or (eq a 1) (eq b 2)) (eq c 3))");
    check_ok("a pr and (b pr or c pr)", "(and (pr a) (or (pr b) (pr c)))");
    check_ok("((((a pr))))", "(pr a)");
    check_ok("(a pr)and(b pr)", "(and (pr a) (pr b))");
    check_ok("userType eq \"Employee\" and (emails co \"example.com\" or "
             "emails.value co \"example.org\")",
             "(and (eq userType \"Employee\") (or (co emails \"example.com\") "
             "(co emails.value \"example.org\")))");
}

static void test_not(void **state)
{
    (void)state;
    check_ok("not (active eq false) or meta.lastModified gt \"2011-05-13T04:42:34Z\"",
             "(or (not (eq active false)) (gt meta.lastModified \"2011-05-13T04:42:34Z\"))");
    check_ok("not(a pr)", "(not (pr a))");
    check_ok("not (not (a pr))", "(not (not (pr a)))");
    check_ok("a pr and not (b pr or c pr)", "(and (pr a) (not (or (pr b) (pr c))))");
    gh_arena *a;
    gh_sf_node *n = parse_ok(&a, "not (a pr)");
    assert_int_equal(n->kind, GH_SF_NOT);
    assert_non_null(n->left);
    assert_null(n->right);
    gh_arena_free(a);
}

static void test_valuepath(void **state)
{
    (void)state;
    check_ok("emails[type eq \"work\" and value co \"@example.com\"]",
             "(vp emails (and (eq type \"work\") (co value \"@example.com\")))");
    check_ok("userType eq \"Employee\" and emails[type eq \"work\" and value co \"@example.com\"]",
             "(and (eq userType \"Employee\") (vp emails (and (eq type \"work\") "
             "(co value \"@example.com\"))))");
    check_ok("emails[not (type eq \"home\")] or ims[type eq \"xmpp\" and (value co \"@foo.com\")]",
             "(or (vp emails (not (eq type \"home\"))) (vp ims (and (eq type \"xmpp\") "
             "(co value \"@foo.com\"))))");
    gh_arena *a;
    gh_sf_node *n = parse_ok(&a, "emails[primary eq true]");
    assert_int_equal(n->kind, GH_SF_VALUEPATH);
    assert_string_equal(n->attr, "emails");
    assert_null(n->subattr);
    assert_int_equal(n->left->kind, GH_SF_CMP);
    assert_string_equal(n->left->attr, "primary");
    gh_arena_free(a);
}

static void test_valuepath_subattr(void **state)
{
    (void)state;
    gh_arena *a;
    gh_sf_node *n = parse_ok(&a, "emails[type eq \"work\"].value");
    assert_int_equal(n->kind, GH_SF_VALUEPATH);
    assert_string_equal(n->attr, "emails");
    assert_string_equal(n->subattr, "value");
    assert_string_equal(n->left->attr, "type");
    gh_arena_free(a);
    check_ok("emails[type eq \"work\"].value", "(vp emails (eq type \"work\") .value)");
    check_ok("members[value eq \"2819c223\"].$ref and x pr",
             "(and (vp members (eq value \"2819c223\") .$ref) (pr x))");
}

static void test_urn_attributes(void **state)
{
    (void)state;
    check_ok("urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"",
             "(sw urn:ietf:params:scim:schemas:core:2.0:User:userName \"J\")");
    check_ok("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"26\"",
             "(eq urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value "
             "\"26\")");
    check_ok("urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\"]",
             "(vp urn:ietf:params:scim:schemas:core:2.0:User:emails (eq type \"work\"))");
    check_ok("URN:x:name pr", "(pr URN:x:name)");
}

static void test_attribute_names(void **state)
{
    (void)state;
    check_ok("name.familyName co \"O'Malley\"", "(co name.familyName \"O'Malley\")");
    check_ok("meta.resourceType eq \"User\"", "(eq meta.resourceType \"User\")");
    check_ok("x-foo_2.b9 pr", "(pr x-foo_2.b9)");
    check_ok("members.$ref pr", "(pr members.$ref)");
    check_ok("$ref pr", "(pr $ref)");
}

static void test_string_escapes(void **state)
{
    (void)state;
    gh_arena *a;
    const char *v = value_of(&a, "a eq \"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\"");
    assert_string_equal(v, "q\"b\\s/\b\f\n\r\t");
    gh_arena_free(a);
    check_ok("a eq \"say \\\"hi\\\"\\n\"", "(eq a \"say \\\"hi\\\"\\n\")");
    check_ok("a eq \"\"", "(eq a \"\")");
    check_ok("a eq \"\\u0001\"", "(eq a \"\\u0001\")");
}

static void test_unicode_escapes(void **state)
{
    (void)state;
    gh_arena *a;
    const char *v = value_of(&a, "a eq \"\\u0041\\u00e9\\u20AC\"");
    assert_string_equal(v, "A\xc3\xa9\xe2\x82\xac");
    gh_arena_free(a);
    v = value_of(&a, "a eq \"x\\ud83d\\ude00y\"");
    assert_string_equal(v, "x\xf0\x9f\x98\x80y");
    gh_arena_free(a);
    v = value_of(&a, "a eq \"\\uDBFF\\uDFFF\"");
    assert_string_equal(v, "\xf4\x8f\xbf\xbf");
    gh_arena_free(a);
}

static void test_raw_utf8(void **state)
{
    (void)state;
    gh_arena *a;
    const char *v = value_of(&a, "displayName eq \"B\xc3\xa4rbel \xf0\x9f\x98\x80\"");
    assert_string_equal(v, "B\xc3\xa4rbel \xf0\x9f\x98\x80");
    gh_arena_free(a);
}

static void test_numbers(void **state)
{
    (void)state;
    check_ok("a gt 42", "(gt a 42)");
    check_ok("a eq 0", "(eq a 0)");
    check_ok("a lt -1.5e+10", "(lt a -1.5e+10)");
    check_ok("a ge 1E3", "(ge a 1E3)");
    check_ok("a le 0.25", "(le a 0.25)");
    check_ok("a ne -0", "(ne a -0)");
    gh_arena *a;
    gh_sf_node *n = parse_ok(&a, "a eq 3.14");
    assert_int_equal(n->vtype, GH_SF_VNUMBER);
    assert_string_equal(n->value, "3.14");
    gh_arena_free(a);
}

static void test_true_false_null(void **state)
{
    (void)state;
    static const char *const in[] = {"active eq true", "active eq false", "manager eq null"};
    static const gh_sf_vtype want[] = {GH_SF_VTRUE, GH_SF_VFALSE, GH_SF_VNULL};
    for (size_t i = 0; i < 3; i++) {
        gh_arena *a;
        gh_sf_node *n = parse_ok(&a, in[i]);
        assert_int_equal(n->kind, GH_SF_CMP);
        assert_int_equal(n->vtype, want[i]);
        assert_null(n->value);
        gh_arena_free(a);
    }
    check_ok("active eq true and x ne null", "(and (eq active true) (ne x null))");
}

static void test_whitespace(void **state)
{
    (void)state;
    check_ok("  userName \t eq\t\t\"x\"   ", "(eq userName \"x\")");
    check_ok("\t( a pr )\tand\t( b pr )", "(and (pr a) (pr b))");
    check_ok("emails[ type eq \"work\" ]", "(vp emails (eq type \"work\"))");
}

static void test_length_not_nul_terminated(void **state)
{
    (void)state;
    const char in[] = "title prXYZ";
    gh_arena *a;
    gh_sf_node *n = NULL;
    assert_int_equal(parse_n(&a, in, 8, &n, NULL, 0), GH_SF_OK);
    assert_int_equal(n->kind, GH_SF_PRESENT);
    assert_string_equal(n->attr, "title");
    gh_arena_free(a);
    /* A string value cut off by len is unterminated even if the buffer goes on. */
    check_fail_n("a eq \"xy\"", 8, GH_SF_E_SYNTAX, "unterminated string");
}

static void test_depth_at_limit(void **state)
{
    (void)state;
    char in[128];
    size_t o = 0;
    for (int i = 0; i < GH_SF_MAX_DEPTH; i++)
        in[o++] = '(';
    memcpy(in + o, "a pr", 4);
    o += 4;
    for (int i = 0; i < GH_SF_MAX_DEPTH; i++)
        in[o++] = ')';
    in[o] = '\0';
    check_ok(in, "(pr a)");
}

/* Appends t to the NUL-terminated text buf[0..*o), failing the test if it would overflow. */
static void append(char *buf, size_t cap, size_t *o, const char *t)
{
    size_t n = strlen(t);
    assert_true(*o + n < cap);
    memcpy(buf + *o, t, n);
    *o += n;
    buf[*o] = '\0';
}

/* Builds "a pr and a pr ..." with terms terms into buf. */
static void build_chain(char *buf, size_t cap, int terms)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < terms; i++)
        append(buf, cap, &o, i ? " and a pr" : "a pr");
}

static void test_node_limit(void **state)
{
    (void)state;
    char in[1024];
    /* n terms make 2n - 1 nodes. */
    build_chain(in, sizeof(in), GH_SF_MAX_NODES / 2);
    gh_arena *a;
    parse_ok(&a, in);
    gh_arena_free(a);
    build_chain(in, sizeof(in), GH_SF_MAX_NODES / 2 + 1);
    check_fail(in, GH_SF_E_LIMIT, "nodes");
}

static void test_input_length_limit(void **state)
{
    (void)state;
    static char in[GH_SF_MAX_INPUT + 2];
    memset(in, ' ', sizeof(in));
    memcpy(in, "title pr", 8);
    gh_arena *a;
    gh_sf_node *n = NULL;
    assert_int_equal(parse_n(&a, in, GH_SF_MAX_INPUT, &n, NULL, 0), GH_SF_OK);
    gh_arena_free(a);
    check_fail_n(in, GH_SF_MAX_INPUT + 1, GH_SF_E_LIMIT, "longer than 4096");
}

/* ---- rejected filters ---- */

static void test_unterminated_string(void **state)
{
    (void)state;
    check_fail("userName eq \"bjensen", GH_SF_E_SYNTAX, "unterminated string at offset 12");
    check_fail("userName eq \"bjensen\\\"", GH_SF_E_SYNTAX, "unterminated string");
    check_fail("userName eq \"x\\", GH_SF_E_SYNTAX, "unterminated string");
}

static void test_bad_escape(void **state)
{
    (void)state;
    check_fail("a eq \"\\x\"", GH_SF_E_SYNTAX, "invalid escape at offset 6");
    check_fail("a eq \"\\u12G4\"", GH_SF_E_SYNTAX, "invalid escape");
    check_fail("a eq \"\\u12\"", GH_SF_E_SYNTAX, "invalid escape");
    check_fail("a eq \"\\U0041\"", GH_SF_E_SYNTAX, "invalid escape");
    check_fail("a eq \"\\u0000\"", GH_SF_E_SYNTAX, "NUL");
}

static void test_unpaired_surrogate(void **state)
{
    (void)state;
    check_fail("a eq \"\\ud83d\"", GH_SF_E_SYNTAX, "unpaired surrogate at offset 6");
    check_fail("a eq \"\\ud83dx\"", GH_SF_E_SYNTAX, "unpaired surrogate");
    check_fail("a eq \"\\ude00\"", GH_SF_E_SYNTAX, "unpaired surrogate");
    check_fail("a eq \"\\ud83d\\u0041\"", GH_SF_E_SYNTAX, "unpaired surrogate");
    check_fail("a eq \"\\ud83d\\ud83d\"", GH_SF_E_SYNTAX, "unpaired surrogate");
    check_fail("a eq \"\\ud83d\\n\"", GH_SF_E_SYNTAX, "unpaired surrogate");
}

static void test_bad_string_bytes(void **state)
{
    (void)state;
    check_fail("a eq \"x\ty\"", GH_SF_E_SYNTAX, "control character");
    check_fail_n("a eq \"x\0y\"", 10, GH_SF_E_SYNTAX, "control character");
    check_fail("a eq \"\xc3\x28\"", GH_SF_E_SYNTAX, "invalid UTF-8 at offset 6");
    check_fail("a eq \"\xc0\x80\"", GH_SF_E_SYNTAX, "invalid UTF-8");
    check_fail("a eq \"\xed\xa0\x80\"", GH_SF_E_SYNTAX, "invalid UTF-8");
    check_fail("a eq \"\xf4\x90\x80\x80\"", GH_SF_E_SYNTAX, "invalid UTF-8");
    check_fail("a eq \"\xe2\x82\"", GH_SF_E_SYNTAX, "invalid UTF-8");
}

static void test_missing_value(void **state)
{
    (void)state;
    check_fail("userName eq", GH_SF_E_SYNTAX, "missing value at offset 11");
    check_fail("userName eq   ", GH_SF_E_SYNTAX, "missing value");
    check_fail("(userName eq)", GH_SF_E_SYNTAX, "missing value at offset 12");
    check_fail("userName eq bjensen", GH_SF_E_SYNTAX, "invalid value at offset 12");
}

static void test_unknown_operator(void **state)
{
    (void)state;
    check_fail("userName xx \"a\"", GH_SF_E_SYNTAX, "unknown operator 'xx' at offset 9");
    check_fail("userName equals \"a\"", GH_SF_E_SYNTAX, "unknown operator 'equals'");
    check_fail("userName", GH_SF_E_SYNTAX, "missing operator at offset 8");
    check_fail("userName \"a\"", GH_SF_E_SYNTAX, "expected operator at offset 9");
    /* A long bogus operator is echoed only in part. */
    check_fail("a abcdefghijklmnopqrstuvwxyz 1", GH_SF_E_SYNTAX,
               "unknown operator 'abcdefghijklmnop' at offset 2");
}

static void test_trailing_tokens(void **state)
{
    (void)state;
    check_fail("userName eq \"bjensen\" xx", GH_SF_E_SYNTAX, "unexpected token at offset 22");
    check_fail("a pr b pr", GH_SF_E_SYNTAX, "unexpected token at offset 5");
    check_fail("a pr)", GH_SF_E_SYNTAX, "unexpected token at offset 4");
    check_fail("a pr \"x\"", GH_SF_E_SYNTAX, "unexpected token");
    check_fail("emails[type pr] pr", GH_SF_E_SYNTAX, "unexpected token at offset 16");
    check_fail("a pr and", GH_SF_E_SYNTAX, "unexpected end of filter at offset 8");
}

static void test_empty_input(void **state)
{
    (void)state;
    check_fail("", GH_SF_E_SYNTAX, "empty filter");
    check_fail("  \t ", GH_SF_E_SYNTAX, "empty filter");
    check_fail_n(NULL, 0, GH_SF_E_SYNTAX, "empty filter");
    check_fail("()", GH_SF_E_SYNTAX, "unexpected token at offset 1");
    check_fail("emails[]", GH_SF_E_SYNTAX, "unexpected token at offset 7");
}

static void test_nesting_over_limit(void **state)
{
    (void)state;
    char in[128];
    size_t o = 0;
    for (int i = 0; i <= GH_SF_MAX_DEPTH; i++)
        in[o++] = '(';
    memcpy(in + o, "a pr", 4);
    o += 4;
    for (int i = 0; i <= GH_SF_MAX_DEPTH; i++)
        in[o++] = ')';
    in[o] = '\0';
    check_fail(in, GH_SF_E_LIMIT, "nested deeper than 16 at offset 16");
    /* "not (" counts like "(", so this is 17 levels too. */
    char nots[256];
    o = 0;
    for (int i = 0; i <= GH_SF_MAX_DEPTH; i++)
        append(nots, sizeof(nots), &o, "not (");
    append(nots, sizeof(nots), &o, "a pr");
    for (int i = 0; i <= GH_SF_MAX_DEPTH; i++)
        append(nots, sizeof(nots), &o, ")");
    check_fail(nots, GH_SF_E_LIMIT, "nested deeper");
    /* Deep input is refused before it can recurse: 4000 '(' fail the same way. */
    static char deep[4001];
    memset(deep, '(', 4000);
    check_fail_n(deep, 4000, GH_SF_E_LIMIT, "nested deeper");
}

static void test_over_length(void **state)
{
    (void)state;
    static char in[GH_SF_MAX_INPUT + 100];
    build_chain(in, sizeof(in), 1);
    memset(in + 4, ' ', sizeof(in) - 4);
    check_fail_n(in, sizeof(in), GH_SF_E_LIMIT, "longer than");
}

static void test_not_without_parentheses(void **state)
{
    (void)state;
    check_fail("not active eq true", GH_SF_E_SYNTAX, "'not' must be followed by '(' at offset 0");
    check_fail("a pr and not b pr", GH_SF_E_SYNTAX, "'not' must be followed by '(' at offset 9");
    check_fail("not", GH_SF_E_SYNTAX, "'not' must be followed by '('");
}

static void test_unbalanced_brackets(void **state)
{
    (void)state;
    check_fail("(a pr", GH_SF_E_SYNTAX, "missing ')' at offset 5");
    check_fail("(a pr]", GH_SF_E_SYNTAX, "missing ')' at offset 5");
    check_fail("emails[type eq \"work\"", GH_SF_E_SYNTAX, "missing ']' at offset 21");
    check_fail("emails[type pr)", GH_SF_E_SYNTAX, "missing ']'");
    check_fail("a pr]", GH_SF_E_SYNTAX, "unexpected token at offset 4");
    check_fail("emails[a[b pr]]", GH_SF_E_SYNTAX, "nested '[' at offset 8");
}

static void test_missing_space(void **state)
{
    (void)state;
    check_fail("userName eq\"x\"", GH_SF_E_SYNTAX, "missing space at offset 11");
    check_fail("a eq \"x\"and b pr", GH_SF_E_SYNTAX, "missing space at offset 8");
    check_fail("a eq \"x\"\"y\"", GH_SF_E_SYNTAX, "missing space");
}

static void test_bad_numbers(void **state)
{
    (void)state;
    check_fail("a eq 01", GH_SF_E_SYNTAX, "invalid number at offset 5");
    check_fail("a eq 1.", GH_SF_E_SYNTAX, "invalid number");
    check_fail("a eq .5", GH_SF_E_SYNTAX, "invalid value");
    check_fail("a eq -", GH_SF_E_SYNTAX, "invalid number");
    check_fail("a eq 1e", GH_SF_E_SYNTAX, "invalid number");
    check_fail("a eq 1.2.3", GH_SF_E_SYNTAX, "invalid number");
    check_fail("a eq 12abc", GH_SF_E_SYNTAX, "invalid number");
    check_fail("a eq +1", GH_SF_E_SYNTAX, "unexpected character at offset 5");
}

static void test_bad_attribute_paths(void **state)
{
    (void)state;
    check_fail("1abc pr", GH_SF_E_SYNTAX, "invalid number at offset 0");
    check_fail("42 pr", GH_SF_E_SYNTAX, "unexpected token at offset 0");
    check_fail("a..b pr", GH_SF_E_SYNTAX, "invalid attribute path at offset 0");
    check_fail("a. pr", GH_SF_E_SYNTAX, "invalid attribute path");
    check_fail(".a pr", GH_SF_E_SYNTAX, "invalid attribute path");
    check_fail("_a pr", GH_SF_E_SYNTAX, "invalid attribute path");
    check_fail("urn:x pr", GH_SF_E_SYNTAX, "invalid attribute path");
    check_fail("urn:a::b:c pr", GH_SF_E_SYNTAX, "invalid attribute path");
    check_fail("foo:bar:c pr", GH_SF_E_SYNTAX, "invalid attribute path");
    check_fail("urn:a:b: pr", GH_SF_E_SYNTAX, "invalid attribute path");
    check_fail("a$ref pr", GH_SF_E_SYNTAX, "invalid attribute path");
    check_fail("emails [type pr]", GH_SF_E_SYNTAX, "expected operator at offset 7");
    check_fail("emails[type pr].1x", GH_SF_E_SYNTAX, "invalid sub-attribute at offset 15");
    check_fail("emails[type pr].a.b", GH_SF_E_SYNTAX, "invalid sub-attribute");
    check_fail("emails[type pr] .value", GH_SF_E_SYNTAX, "unexpected token at offset 16");
}

static void test_unexpected_characters(void **state)
{
    (void)state;
    check_fail("a eq \"x\" & b pr", GH_SF_E_SYNTAX, "unexpected character at offset 9");
    check_fail("a eq 'x'", GH_SF_E_SYNTAX, "unexpected character at offset 5");
    check_fail("a pr\n", GH_SF_E_SYNTAX, "unexpected character at offset 4");
    check_fail("a\xc3\xa9 pr", GH_SF_E_SYNTAX, "unexpected character at offset 1");
}

static void test_error_buffer(void **state)
{
    (void)state;
    gh_arena *a;
    gh_sf_node *n = NULL;
    char err[8];
    memset(err, 'z', sizeof(err));
    assert_int_equal(parse_n(&a, "a eq", 4, &n, err, sizeof(err)), GH_SF_E_SYNTAX);
    assert_string_equal(err, "missing");
    gh_arena_free(a);
    /* Success clears a stale message. */
    assert_int_equal(parse_n(&a, "a pr", 4, &n, err, sizeof(err)), GH_SF_OK);
    assert_string_equal(err, "");
    gh_arena_free(a);
    assert_int_equal(parse_n(&a, "a eq", 4, &n, NULL, 0), GH_SF_E_SYNTAX);
    assert_null(n);
    gh_arena_free(a);
    assert_int_equal(parse_n(&a, "a pr", 4, NULL, err, sizeof(err)), GH_SF_E_SYNTAX);
    gh_arena_free(a);
    assert_int_equal(gh_scim_filter_parse(NULL, "a pr", 4, &n, NULL, 0), GH_SF_E_SYNTAX);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    /* A 64-byte cap cannot hold the arena's first 8 KiB chunk. */
    gh_arena *a = gh_arena_new(64);
    assert_non_null(a);
    gh_sf_node *n = NULL;
    char err[64];
    assert_int_equal(gh_scim_filter_parse(a, "a pr", 4, &n, err, sizeof(err)), GH_SF_E_NOMEM);
    assert_null(n);
    assert_string_equal(err, "out of memory");
    gh_arena_free(a);
}

static void test_dump_bounds(void **state)
{
    (void)state;
    gh_arena *a;
    gh_sf_node *n = parse_ok(&a, "title pr");
    char buf[16];
    memset(buf, 'z', sizeof(buf));
    /* "(pr title)" is 10 bytes: it needs 11 with the NUL. */
    assert_int_equal(gh_scim_filter_dump(n, buf, 11), 10);
    assert_string_equal(buf, "(pr title)");
    assert_int_equal(gh_scim_filter_dump(n, buf, 10), -1);
    assert_string_equal(buf, "");
    assert_int_equal(gh_scim_filter_dump(n, buf, 0), -1);
    assert_int_equal(gh_scim_filter_dump(n, NULL, 10), -1);
    assert_int_equal(gh_scim_filter_dump(NULL, buf, sizeof(buf)), -1);
    gh_arena_free(a);
}

static void test_dump_malformed_tree(void **state)
{
    (void)state;
    char buf[64];
    gh_sf_node leaf = {.kind = GH_SF_PRESENT, .attr = "x"};
    gh_sf_node and_missing = {.kind = GH_SF_AND, .left = &leaf};
    assert_int_equal(gh_scim_filter_dump(&and_missing, buf, sizeof(buf)), -1);
    gh_sf_node cmp_no_value = {.kind = GH_SF_CMP, .attr = "x", .vtype = GH_SF_VSTRING};
    assert_int_equal(gh_scim_filter_dump(&cmp_no_value, buf, sizeof(buf)), -1);
    gh_sf_node bad_op = {.kind = GH_SF_CMP, .attr = "x", .op = (gh_sf_op)99, .vtype = GH_SF_VTRUE};
    assert_int_equal(gh_scim_filter_dump(&bad_op, buf, sizeof(buf)), -1);
    /* A hand-built cycle must not recurse forever. */
    gh_sf_node loop = {.kind = GH_SF_NOT};
    loop.left = &loop;
    assert_int_equal(gh_scim_filter_dump(&loop, buf, sizeof(buf)), -1);
    gh_sf_node esc = {
        .kind = GH_SF_CMP, .attr = "x", .vtype = GH_SF_VSTRING, .value = "\x01\x7f\b"};
    assert_int_equal(gh_scim_filter_dump(&esc, buf, sizeof(buf)), 27);
    assert_string_equal(buf, "(eq x \"\\u0001\\u007f\\u0008\")");
}

static void test_rfc_examples(void **state)
{
    (void)state;
    check_ok("name.familyName co \"O'Malley\"", "(co name.familyName \"O'Malley\")");
    check_ok("urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"",
             "(sw urn:ietf:params:scim:schemas:core:2.0:User:userName \"J\")");
    check_ok("meta.lastModified ge \"2011-05-13T04:42:34Z\"",
             "(ge meta.lastModified \"2011-05-13T04:42:34Z\")");
    check_ok("title pr and userType eq \"Employee\"",
             "(and (pr title) (eq userType \"Employee\"))");
    check_ok("userType eq \"Employee\" and (emails.type eq \"work\")",
             "(and (eq userType \"Employee\") (eq emails.type \"work\"))");
    check_ok("userType ne \"Employee\" and not (emails co \"example.com\" or "
             "emails.value co \"example.org\")",
             "(and (ne userType \"Employee\") (not (or (co emails \"example.com\") "
             "(co emails.value \"example.org\"))))");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eq_string),
        cmocka_unit_test(test_each_operator),
        cmocka_unit_test(test_operator_enum_values),
        cmocka_unit_test(test_present),
        cmocka_unit_test(test_case_insensitive_words),
        cmocka_unit_test(test_and_or),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_left_associative),
        cmocka_unit_test(test_parentheses),
        cmocka_unit_test(test_not),
        cmocka_unit_test(test_valuepath),
        cmocka_unit_test(test_valuepath_subattr),
        cmocka_unit_test(test_urn_attributes),
        cmocka_unit_test(test_attribute_names),
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_unicode_escapes),
        cmocka_unit_test(test_raw_utf8),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_true_false_null),
        cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_length_not_nul_terminated),
        cmocka_unit_test(test_depth_at_limit),
        cmocka_unit_test(test_node_limit),
        cmocka_unit_test(test_input_length_limit),
        cmocka_unit_test(test_unterminated_string),
        cmocka_unit_test(test_bad_escape),
        cmocka_unit_test(test_unpaired_surrogate),
        cmocka_unit_test(test_bad_string_bytes),
        cmocka_unit_test(test_missing_value),
        cmocka_unit_test(test_unknown_operator),
        cmocka_unit_test(test_trailing_tokens),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_nesting_over_limit),
        cmocka_unit_test(test_over_length),
        cmocka_unit_test(test_not_without_parentheses),
        cmocka_unit_test(test_unbalanced_brackets),
        cmocka_unit_test(test_missing_space),
        cmocka_unit_test(test_bad_numbers),
        cmocka_unit_test(test_bad_attribute_paths),
        cmocka_unit_test(test_unexpected_characters),
        cmocka_unit_test(test_error_buffer),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_dump_bounds),
        cmocka_unit_test(test_dump_malformed_tree),
        cmocka_unit_test(test_rfc_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
