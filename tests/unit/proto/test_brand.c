/* Unit tests for proto/gh_brand: a tenant's branding as the admin API
 * takes it (issue 21 item 2, docs/branding.md) — colours, the stylesheet's
 * limits (no markup, no @import, nothing loaded from elsewhere), the
 * document with the field named on refusal, and the CSS it becomes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gh_brand.h"

static void colours(void **state)
{
    (void)state;
    static const char *const good[] = {"#fff",
                                       "#0a7d4f",
                                       "#0a7d4f80",
                                       "#abcd",
                                       "rgb(10, 20, 30)",
                                       "rgba(10,20,30,0.5)",
                                       "rgb(10 20 30 / 50%)",
                                       "hsl(120deg, 50%, 40%)",
                                       "hsla(120 50% 40% / .5)"};
    static const char *const bad[] = {"",
                                      "red",
                                      "#ff",
                                      "#fffff",
                                      "#ggg",
                                      "#fff;}body{display:none",
                                      "rgb(1,2)",
                                      "rgb(1,2,3,4,5)",
                                      "rgb(1,2,3",
                                      "rgb(1,2,3))",
                                      "rgb(var(--x),2,3)",
                                      "url(https://evil.example/x)",
                                      "rgb(1,2,3);x:y",
                                      "expression(alert(1))",
                                      "rgb(1e3,2,3)",
                                      "hsl(1turn,2%,3%)"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(gh_brand_colour_ok(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(gh_brand_colour_ok(bad[i]));
    assert_false(gh_brand_colour_ok(NULL));
}

static bool css_ok(const char *css)
{
    char why[120];
    return gh_brand_stylesheet_ok(css, strlen(css), why, sizeof(why));
}

static void stylesheets(void **state)
{
    (void)state;
    assert_true(css_ok(""));
    assert_true(css_ok(".card { border-radius: 0; box-shadow: 0 1px 2px rgb(0 0 0 / 20%); }"));
    assert_true(css_ok("body { background: url(/assets/bg.png) }"));
    assert_true(css_ok("body { background: url( \"/x.png\" ) }"));
    assert_true(css_ok(".brand::before { content: url(data:image/png;base64,AAAA) }"));
    /* markup, imports and other origins */
    assert_false(css_ok("</style><script>alert(1)</script>"));
    assert_false(css_ok("@import url(/x.css);"));
    assert_false(css_ok("@IMPORT '/x.css';"));
    assert_false(css_ok("body { background: url(https://evil.example/x.png) }"));
    assert_false(css_ok("body { background: URL('//evil.example/x.png') }"));
    assert_false(css_ok("body { background: url(http:x) }"));
    assert_false(css_ok("body { background: image-set('https://e.example/x.png' 1x) }"));
    assert_false(css_ok("@font-face { src: src('https://e.example/f.woff') }"));
    assert_false(css_ok("body { background: u\\72l(https://evil.example/x) }")); /* an escape */
    assert_false(css_ok("a { color: red }\x01"));
    /* size: 32 KiB and no more */
    static char big[GH_BRAND_CSS_MAX + 2];
    memset(big, ' ', GH_BRAND_CSS_MAX);
    assert_true(gh_brand_stylesheet_ok(big, GH_BRAND_CSS_MAX, big + GH_BRAND_CSS_MAX, 1));
    char why[120];
    memset(big, ' ', GH_BRAND_CSS_MAX + 1);
    assert_false(gh_brand_stylesheet_ok(big, GH_BRAND_CSS_MAX + 1, why, sizeof(why)));
    assert_non_null(strstr(why, "32768"));
}

/* The field a document is refused for, or "" when accepted. */
static const char *refused(gh_arena *a, const char *text)
{
    static gh_brand_error err;
    gh_brand b;
    json_t *in = json_loads(text, 0, NULL);
    bool ok = gh_brand_validate(a, in, &b, &err);
    json_decref(in);
    return ok ? "" : err.field;
}

static void documents(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(1 << 20);
    assert_string_equal(refused(a, "{}"), "");
    assert_string_equal(refused(a, "{\"product_name\":\"Acme Bank\",\"logo_uri\":"
                                   "\"https://cdn.acme.example/logo.svg\",\"colors\":{\"primary\":"
                                   "\"#0a7d4f\"},\"dark_colors\":{\"text\":\"#eee\"},"
                                   "\"stylesheet\":\".card{border-radius:0}\"}"),
                        "");
    assert_string_equal(refused(a, "{\"logo_uri\":\"\",\"product_name\":null}"), "");
    assert_string_equal(refused(a, "{\"logo_uri\":\"http://localhost:8080/l.png\"}"), "");
    assert_string_equal(refused(a, "{\"colors\":{\"primary\":\"#fff;}\"}}"), "colors.primary");
    assert_string_equal(refused(a, "{\"dark_colors\":{\"link\":\"#fff\"}}"), "dark_colors.link");
    assert_string_equal(refused(a, "{\"colors\":\"#fff\"}"), "colors");
    assert_string_equal(refused(a, "{\"product_name\":\"\"}"), "product_name");
    assert_string_equal(refused(a, "{\"product_name\":\"a\\u0007b\"}"), "product_name");
    assert_string_equal(refused(a, "{\"product_name\":"
                                   "\"12345678901234567890123456789012345678901234567890123456789"
                                   "0123456\"}"),
                        "product_name");
    assert_string_equal(refused(a, "{\"logo_uri\":\"javascript:alert(1)\"}"), "logo_uri");
    assert_string_equal(refused(a, "{\"logo_uri\":\"http://evil.example/l.png\"}"), "logo_uri");
    assert_string_equal(refused(a, "{\"stylesheet\":\"@import url(/x.css);\"}"), "stylesheet");
    assert_string_equal(refused(a, "{\"stylesheet\":5}"), "stylesheet");
    assert_string_equal(refused(a, "{\"favicon\":\"x\"}"), "favicon");
    assert_string_equal(refused(a, "[]"), "");
    gh_arena_free(a);
}

static void css_made(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(1 << 20);
    gh_brand b = {.product_name = "", .logo_uri = "", .stylesheet = ".x{}"};
    b.colours[0] = "#0a7d4f";
    b.dark[4] = "#eee";
    const char *css = gh_brand_css(a, &b);
    assert_non_null(css);
    assert_non_null(strstr(css, ":root {\n  --gh-primary: #0a7d4f;\n  --gh-brand: #0a7d4f;\n}\n"));
    assert_non_null(strstr(css, "@media (prefers-color-scheme: dark) {\n  :root {\n    --gh-text: "
                                "#eee;\n  }\n}\n"));
    assert_true(strstr(css, ".x{}") > strstr(css, "@media")); /* its own rules come last */
    gh_brand none = {.product_name = "", .logo_uri = "", .stylesheet = ""};
    css = gh_brand_css(a, &none);
    assert_null(strstr(css, ":root"));
    gh_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(colours),
        cmocka_unit_test(stylesheets),
        cmocka_unit_test(documents),
        cmocka_unit_test(css_made),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
