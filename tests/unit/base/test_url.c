/* Unit tests for gh_url: return_to targets that may and may not be followed
 * (open-redirect defence, ASVS 5.0 3.7.2 [4.0.3 5.1.5]). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>

#include "gh_url.h"

static const char ISS[] = "http://localhost:8080";

static void origins(void **state)
{
    (void)state;
    char o[128];
    assert_int_equal(gh_url_origin("https://id.example.com/t/a?b#c", o, sizeof(o)), 0);
    assert_string_equal(o, "https://id.example.com");
    assert_int_equal(gh_url_origin("HTTP://Host:81", o, sizeof(o)), 0);
    assert_string_equal(o, "http://Host:81");
    assert_int_equal(gh_url_origin("ftp://x", o, sizeof(o)), -1);
    assert_int_equal(gh_url_origin("https:///path", o, sizeof(o)), -1);
    assert_int_equal(gh_url_origin("https://long-host", o, 8), -1);
}

static void accepted(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    const char *ok[] = {
        "/account",
        "/account?x=1",
        "/authorize?client_id=a&redirect_uri=https%3A%2F%2Fapp",
        "http://localhost:8080/account",
        "http://LOCALHOST:8080",
        "http://localhost:8080?x",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_string_equal(gh_url_safe_return(a, ISS, ok[i]), ok[i]);
    gh_arena_free(a);
}

static void refused(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    const char *bad[] = {
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "http://localhost:8080.evil.example/",
        "http://localhost:80801/",
        "http://localhost:8080@evil.example/",
        "https://localhost:8080/", /* other scheme, other origin */
        "javascript:alert(1)",
        "data:text/html,hi",
        "account", /* relative paths are ambiguous */
        "/acc\r\nSet-Cookie: x=1",
        "/acc\tount",
        "",
        NULL,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_null(gh_url_safe_return(a, ISS, bad[i]));
    char longpath[3000];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    assert_null(gh_url_safe_return(a, ISS, longpath));
    gh_arena_free(a);
}

/* Edge cases of the origin. The authority is copied as written (userinfo,
 * port zeros, IPv4 shorthand and escapes included): callers compare it
 * with the issuer's, so another spelling is simply another origin. */
static void origin_edges(void **state)
{
    (void)state;
    struct {
        const char *url, *origin; /* origin NULL: -1 */
    } cases[] = {
        {"HTTPS://Id.Example.COM:443/x", "https://Id.Example.COM:443"},
        {"http://[::1]:8080/x", "http://[::1]:8080"},
        {"http://[2001:DB8::1]:8080", "http://[2001:DB8::1]:8080"},
        {"https://h?x", "https://h"},
        {"https://h#f", "https://h"},
        {"https://b\xc3\xbc"
         "cher.example/",
         "https://b\xc3\xbc"
         "cher.example"},
        {"https://u@h/", "https://u@h"},
        {"https://h:0443/", "https://h:0443"},
        {"https://h:/", "https://h:"},
        {"http://127.1:8080/", "http://127.1:8080"},
        {"https://ex%61mple.com/", "https://ex%61mple.com"},
        {"https://a!b/", "https://a!b"},
        {"https://", NULL},
        {"https://?x", NULL},
        {"https:///path", NULL},
        {"http:/h/", NULL},
        {"http:h", NULL},
        {" http://h/", NULL},
        {"mailto:a@h", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char o[128] = "";
        int rc = gh_url_origin(cases[i].url, o, sizeof(o));
        if (cases[i].origin) {
            assert_int_equal(rc, 0);
            assert_string_equal(o, cases[i].origin);
        } else {
            assert_int_equal(rc, -1);
        }
    }
    char o[16];
    assert_int_equal(gh_url_origin("https://abc/x", o, 11), -1); /* 11 bytes + NUL */
    assert_int_equal(gh_url_origin("https://abc/x", o, 12), 0);
    assert_string_equal(o, "https://abc");
}

/* return_to edge cases against an issuer: userinfo, backslashes, slashes,
 * control bytes, case, ports, IPv6, IDN and percent-encoded hosts,
 * whitespace, lengths. */
struct return_case {
    const char *issuer, *target;
    bool ok;
};

static const struct return_case return_cases[] = {
    /* userinfo changes the host, or hides behind the right one */
    {ISS, "https://localhost:8080@evil.example/", false},
    {ISS, "http://localhost:8080@evil.example", false},
    {ISS, "http://user@localhost:8080/", false},
    {ISS, "http://@localhost:8080/", false},
    {ISS, "http://:@localhost:8080/", false},
    {ISS, "http://u:p@localhost:8080/", false},
    /* backslashes and slashes */
    {ISS, "http://localhost:8080\\@evil.example", false},
    {ISS, "http:\\\\localhost:8080/", false},
    {ISS, "/\\evil.example", false},
    {ISS, "///evil.example", false},
    {ISS, "http:/localhost:8080/x", false},
    {ISS, "http:localhost:8080/x", false},
    {ISS, "http:///localhost:8080/x", false},
    {ISS, "/.//evil.example", true}, /* a path on this origin */
    {ISS, "/%2F%2Fevil.example", true},
    /* control bytes */
    {ISS, "/a\x01", false},
    {ISS, "/a\x7f", false},
    {ISS, "http://localhost:8080/\x1b", false},
    {ISS, "http://localhost:8080/a\x0d\x0a", false},
    /* case */
    {ISS, "HTTP://localhost:8080/x", true},
    {ISS, "hTtP://LocalHost:8080/", true},
    /* ports */
    {ISS, "http://localhost/", false},
    {ISS, "http://localhost:80/", false},
    {ISS, "http://localhost:/", false},
    {ISS, "http://localhost:08080/", false},
    {ISS, "http://localhost:8080:8080/", false},
    {"https://id.example.com", "https://id.example.com:443/", false},
    {"https://id.example.com/t/acme", "https://ID.example.com/x", true},
    {"https://id.example.com", "https://id.example.com./", false},
    /* other spellings of the same host */
    {ISS, "http://127.0.0.1:8080/", false},
    {ISS, "http://localhos%74:8080/", false},
    {ISS, "http://localhost.:8080/", false},
    /* IPv6 literals */
    {"http://[::1]:8080", "http://[::1]:8080/x", true},
    {"http://[::1]:8080", "http://[0:0::1]:8080/x", false},
    {"http://[::1]:8080", "http://[::1%25lo]:8080/x", false},
    {"http://[::1]:8080", "http://[::1]x:8080/x", false},
    /* IDN: compared as written, no punycode equivalence */
    {"https://b\xc3\xbc"
     "cher.example",
     "https://b\xc3\xbc"
     "cher.example/x",
     true},
    {"https://b\xc3\xbc"
     "cher.example",
     "https://xn--bcher-kva.example/x", false},
    /* whitespace */
    {ISS, " /account", false},
    {ISS, " http://localhost:8080/", false},
    {ISS, "http://localhost:8080 /", false},
    {ISS, "http://local host:8080/", false},
    {ISS, "/a b", true},
    {ISS, "http://localhost:8080/a b?c d#e f", true},
    /* the rest of the URL is not parsed */
    {ISS, "http://localhost:8080/\xc3\xa9", true},
    {ISS, "http://localhost:8080/\"<>^{|}`", true},
    {ISS, "http://localhost:8080/%zz?%zz#%zz", true},
    {ISS, "http://localhost:8080/#a#b?c", true},
    {ISS, "http://localhost:8080#frag", true},
    /* not http(s) */
    {ISS, "ftp://localhost:8080/", false},
    {ISS, "mailto:x@localhost", false},
};

static void return_edges(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    for (size_t i = 0; i < sizeof(return_cases) / sizeof(return_cases[0]); i++) {
        const struct return_case *c = &return_cases[i];
        const char *got = gh_url_safe_return(a, c->issuer, c->target);
        if (c->ok != (got != NULL))
            fail_msg("case %zu: \"%s\" should be %s", i, c->target, c->ok ? "accepted" : "refused");
        if (got)
            assert_string_equal(got, c->target);
    }
    gh_arena_free(a);
}

/* 2048 bytes are the most a target may have, path or absolute URL. */
static void return_lengths(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    char t[2050];
    memset(t, 'a', sizeof(t));
    t[0] = '/';
    t[2048] = '\0';
    assert_non_null(gh_url_safe_return(a, ISS, t));
    t[2048] = 'a';
    t[2049] = '\0';
    assert_null(gh_url_safe_return(a, ISS, t));
    memcpy(t, "http://localhost:8080/", 22);
    t[2048] = '\0';
    assert_non_null(gh_url_safe_return(a, ISS, t));
    t[2048] = 'a';
    assert_null(gh_url_safe_return(a, ISS, t));
    /* a host far longer than any origin buffer */
    memset(t, 'a', sizeof(t));
    memcpy(t, "http://", 7);
    t[2048] = '\0';
    assert_null(gh_url_safe_return(a, ISS, t));
    gh_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(origins),      cmocka_unit_test(accepted),
        cmocka_unit_test(refused),      cmocka_unit_test(origin_edges),
        cmocka_unit_test(return_edges), cmocka_unit_test(return_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
