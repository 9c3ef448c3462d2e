/* Unit tests for gh_url: return_to targets that may and may not be followed
 * (open-redirect defence, ASVS 5.0 3.7.2 [4.0.3 5.1.5]). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gh_url.h"

static const char *ISS = "http://localhost:8080";

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(origins),
        cmocka_unit_test(accepted),
        cmocka_unit_test(refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
