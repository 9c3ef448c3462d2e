/* gh_mail_topic: the topic mail is the only one with List-Unsubscribe and
 * List-Unsubscribe-Post (RFC 8058); its link is shown in both bodies; a
 * security notice never gets those headers; a URL that could inject a
 * header is refused (issue 20 item 5, docs/privacy.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gh_crypto.h"
#include "gh_mail.h"

#define URL "https://id.example.com/unsubscribe?token=abc_DEF-123&x=1"

static json_t *topic_params(const char *url, const char *html)
{
    json_t *p = json_pack("{s:s, s:s, s:s}", "subject", "Spring news", "text", "Hello <you>",
                          GH_MAIL_TOPIC_UNSUBSCRIBE, url);
    if (html)
        json_object_set_new(p, "html", json_string(html));
    return p;
}

static void a_topic_mail_shows_its_link_and_carries_both_headers(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    char err[256];
    gh_mail_rendered m;
    json_t *p = topic_params(URL, NULL);
    assert_true(gh_mail_template_exists(GH_MAIL_TOPIC_TEMPLATE));
    assert_int_equal(gh_mail_render(a, GH_MAIL_TOPIC_TEMPLATE, p, &m, err, sizeof(err)), 0);
    assert_string_equal(m.subject, "Spring news");
    assert_non_null(strstr(m.text, "Hello <you>"));
    assert_non_null(strstr(m.text, URL));
    assert_non_null(strstr(m.html, "Hello &lt;you&gt;"));
    assert_non_null(
        strstr(m.html, "href=\"https://id.example.com/unsubscribe?token=abc_DEF-123&amp;x=1\""));
    const char *lines[2];
    assert_int_equal(gh_mail_list_headers(a, &m, lines), 2);
    assert_string_equal(lines[0], "List-Unsubscribe: <" URL ">");
    assert_string_equal(lines[1], "List-Unsubscribe-Post: List-Unsubscribe=One-Click");
    json_decref(p);
    gh_arena_free(a);
}

static void the_operator_html_keeps_the_link_inside_its_body(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    char err[256];
    gh_mail_rendered m;
    json_t *p = topic_params(URL, "<html><body><h1>News</h1></body></html>");
    assert_int_equal(gh_mail_render(a, GH_MAIL_TOPIC_TEMPLATE, p, &m, err, sizeof(err)), 0);
    const char *h1 = strstr(m.html, "<h1>News</h1>"), *link = strstr(m.html, "Unsubscribe</a>");
    const char *end = strstr(m.html, "</body>");
    assert_true(h1 && link && end && h1 < link && link < end);
    json_decref(p);
    gh_arena_free(a);
}

static void a_security_notice_carries_no_unsubscribe_header(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    char err[256];
    gh_mail_rendered m;
    json_t *p =
        json_pack("{s:s, s:s, s:i, s:s}", "code", "123456", "link", "https://id.example.com/verify",
                  "minutes", 10, GH_MAIL_TOPIC_UNSUBSCRIBE, URL);
    assert_int_equal(gh_mail_render(a, "verify_email", p, &m, err, sizeof(err)), 0);
    assert_null(m.unsubscribe_url);
    const char *lines[2];
    assert_int_equal(gh_mail_list_headers(a, &m, lines), 0);
    json_decref(p);
    gh_arena_free(a);
}

static void a_link_that_could_inject_a_header_is_refused(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    char err[256];
    gh_mail_rendered m;
    static const char *const bad[] = {"https://x.example/u\r\nBcc: y@example.com",
                                      "https://x.example/u>, <mailto:y@example.com",
                                      "javascript:alert(1)", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *p = topic_params(bad[i], NULL);
        assert_int_equal(gh_mail_render(a, GH_MAIL_TOPIC_TEMPLATE, p, &m, err, sizeof(err)), -1);
        json_decref(p);
    }
    json_t *none = json_pack("{s:s, s:s}", "subject", "s", "text", "t");
    assert_int_equal(gh_mail_render(a, GH_MAIL_TOPIC_TEMPLATE, none, &m, err, sizeof(err)), -1);
    json_decref(none);
    gh_mail_rendered forged = {.subject = "s",
                               .text = "t",
                               .html = "h",
                               .unsubscribe_url = "https://x.example/\r\nBcc: y"};
    const char *lines[2];
    assert_int_equal(gh_mail_list_headers(a, &forged, lines), -1);
    gh_arena_free(a);
}

int main(void)
{
    gh_crypto_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_topic_mail_shows_its_link_and_carries_both_headers),
        cmocka_unit_test(the_operator_html_keeps_the_link_inside_its_body),
        cmocka_unit_test(a_security_notice_carries_no_unsubscribe_header),
        cmocka_unit_test(a_link_that_could_inject_a_header_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
