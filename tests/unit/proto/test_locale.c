/* gh_locale: which language a page or mail is in (issue 20 item 7;
 * docs/i18n.md): ui_locales, then the saved locale, then the switch's
 * choice, then Accept-Language; English by default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gh_locale.h"

static const char *const avail[] = {"en", "de", "fr-CA"};
enum { N = 3 };

static void tags_are_checked_for_shape(void **state)
{
    (void)state;
    static const char *good[] = {"de", "de-CH", "zh-Hant-TW", "es-419", "gsw"};
    static const char *bad[] = {"",      "d",     "de-",         "-de",          "de--CH",   "1de",
                                "de_CH", "de CH", "verylongtag", "de-abcdefghi", "<script>", "*"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(gh_locale_tag_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(gh_locale_tag_valid(bad[i], strlen(bad[i])));
    char big[64];
    memset(big, 'a', sizeof(big));
    memcpy(big, "de-", 3);
    for (size_t i = 3; i < sizeof(big); i += 4)
        big[i] = '-';
    assert_false(gh_locale_tag_valid(big, sizeof(big))); /* longer than GH_LOCALE_TAG_MAX */
}

static void accept_language_is_ordered_by_quality(void **state)
{
    (void)state;
    gh_locale_range r[GH_LOCALE_RANGES_MAX];
    size_t n = gh_locale_accept_parse("fr;q=0.5, de-CH , en;q=0.8,*;q=0.1", r, 8);
    assert_int_equal(n, 4);
    assert_string_equal(r[0].tag, "de-ch");
    assert_int_equal(r[0].q, 1000);
    assert_string_equal(r[1].tag, "en");
    assert_int_equal(r[1].q, 800);
    assert_string_equal(r[2].tag, "fr");
    assert_int_equal(r[2].q, 500);
    assert_string_equal(r[3].tag, "*");
    /* equal qualities keep the header's order */
    n = gh_locale_accept_parse("it, es, pt", r, 8);
    assert_int_equal(n, 3);
    assert_string_equal(r[0].tag, "it");
    assert_string_equal(r[2].tag, "pt");
}

static void accept_language_skips_what_it_cannot_read(void **state)
{
    (void)state;
    gh_locale_range r[4];
    /* q=0 means "not this one"; bad ranges and parameters are skipped */
    size_t n = gh_locale_accept_parse("de;q=0, x_y, en;q=abc, fr;level=1, it;q=0.001, ,,", r, 4);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].tag, "it");
    assert_int_equal(r[0].q, 1);
    assert_int_equal(gh_locale_accept_parse("", r, 4), 0);
    assert_int_equal(gh_locale_accept_parse(NULL, r, 4), 0);
    /* at most max ranges, the best kept */
    n = gh_locale_accept_parse("a1;q=0.1, de;q=0.9, fr;q=0.8, it;q=0.7, es;q=0.95", r, 2);
    assert_int_equal(n, 2);
    assert_string_equal(r[0].tag, "es");
    assert_string_equal(r[1].tag, "de");
}

static void ui_locales_keep_their_order(void **state)
{
    (void)state;
    gh_locale_range r[4];
    size_t n = gh_locale_list_parse("  fr-CA  de en ", r, 4);
    assert_int_equal(n, 3);
    assert_string_equal(r[0].tag, "fr-ca");
    assert_string_equal(r[1].tag, "de");
    assert_string_equal(r[2].tag, "en");
}

static void a_region_is_served_by_its_language(void **state)
{
    (void)state;
    assert_int_equal(gh_locale_match("de", avail, N), 1);
    assert_int_equal(gh_locale_match("DE-at", avail, N), 1);
    assert_int_equal(gh_locale_match("fr", avail, N), 2); /* any regional catalog of it */
    assert_int_equal(gh_locale_match("fr-CA", avail, N), 2);
    assert_int_equal(gh_locale_match("es", avail, N), -1);
    assert_int_equal(gh_locale_match("d", avail, N), -1);
    assert_int_equal(gh_locale_match(NULL, avail, N), -1);
}

static void precedence_is_ui_locales_saved_choice_header(void **state)
{
    (void)state;
    gh_locale_inputs in = {
        .ui_locales = "es de", .saved = "fr", .chosen = "en", .accept_language = "fr"};
    assert_int_equal(gh_locale_pick(&in, avail, N), 1); /* first ui_locales we have */
    in.ui_locales = "es";                               /* none we have: the saved locale */
    assert_int_equal(gh_locale_pick(&in, avail, N), 2);
    in.saved = "en"; /* a saved English beats a German browser */
    in.accept_language = "de";
    assert_int_equal(gh_locale_pick(&in, avail, N), 0);
    in.saved = NULL; /* the switch's choice */
    in.chosen = "de";
    in.accept_language = "en";
    assert_int_equal(gh_locale_pick(&in, avail, N), 1);
    in.chosen = "zz"; /* then the header */
    in.accept_language = "es, de;q=0.5";
    assert_int_equal(gh_locale_pick(&in, avail, N), 1);
    in.accept_language = "es, *";
    assert_int_equal(gh_locale_pick(&in, avail, N), 0); /* English by default */
    gh_locale_inputs none = {0};
    assert_int_equal(gh_locale_pick(&none, avail, N), 0);
    assert_int_equal(gh_locale_pick(NULL, avail, N), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tags_are_checked_for_shape),
        cmocka_unit_test(accept_language_is_ordered_by_quality),
        cmocka_unit_test(accept_language_skips_what_it_cannot_read),
        cmocka_unit_test(ui_locales_keep_their_order),
        cmocka_unit_test(a_region_is_served_by_its_language),
        cmocka_unit_test(precedence_is_ui_locales_saved_choice_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
