/* gh_i18n and the mail templates in other languages (issue 20 item 7;
 * docs/i18n.md): the shipped catalogs load, a catalog whose mail lost a
 * placeholder is a start-up error, a mail renders in the language its
 * parameters carry, and a directory adds or replaces languages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gh_i18n.h"
#include "gh_mail.h"

static int teardown(void **state)
{
    (void)state;
    gh_i18n_unload();
    return 0;
}

static void the_shipped_catalogs_load(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(gh_i18n_load(NULL, err, sizeof(err)), 0);
    assert_true(gh_i18n_count() >= 2);
    assert_string_equal(gh_i18n_tags()[0], "en");
    size_t de = gh_i18n_index("de-AT");
    assert_true(de > 0);
    assert_string_equal(gh_i18n_name(de), "Deutsch");
    assert_int_equal(gh_i18n_index("xx"), 0);
    assert_null(gh_i18n_catalog(0));
}

static void a_mail_renders_in_the_language_it_carries(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(gh_i18n_load(NULL, err, sizeof(err)), 0);
    gh_arena *a = gh_arena_new(1 << 20);
    json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "code", "123456", "link",
                          "https://id.example/verify?t=a&b", "minutes", 15, "_locale", "de-DE");
    gh_mail_rendered m;
    assert_int_equal(gh_mail_render(a, "verify_email", p, &m, err, sizeof(err)), 0);
    assert_string_equal(m.subject, "Bestätigen Sie Ihre E-Mail-Adresse");
    assert_non_null(strstr(m.text, "123456"));
    assert_non_null(strstr(m.text, "15 Minuten"));
    assert_non_null(strstr(m.html, "<html lang=\"de\">"));
    assert_non_null(strstr(m.html, "https://id.example/verify?t=a&amp;b"));
    assert_null(strstr(m.html, "class=\"")); /* classes became inline styles */
    /* an unknown language, or none, is English */
    json_object_set_new(p, "_locale", json_string("xx"));
    assert_int_equal(gh_mail_render(a, "verify_email", p, &m, err, sizeof(err)), 0);
    assert_string_equal(m.subject, "Verify your email address");
    assert_non_null(strstr(m.html, "<html lang=\"en\">"));
    json_decref(p);
    /* prose a caller writes in English and times follow the language */
    p = json_pack("{s:s, s:s, s:s}", "others", "Your other devices stay signed in.", "account_link",
                  "https://x/account", "_locale", "de");
    json_object_set_new(p, "lock_link", json_string("https://x/lock"));
    json_object_set_new(p, "days", json_integer(7));
    assert_int_equal(gh_mail_render(a, "password_changed", p, &m, err, sizeof(err)), 0);
    assert_null(strstr(m.text, "Your other devices"));
    json_decref(p);
    p = json_pack("{s:s, s:s, s:s}", "ends", "2026-12-09 04:12 UTC", "cancel_link", "https://x/c",
                  "_locale", "de");
    assert_int_equal(gh_mail_render(a, "recovery_waiting", p, &m, err, sizeof(err)), 0);
    assert_non_null(strstr(m.text, "09.12.2026"));
    json_decref(p);
    gh_arena_free(a);
}

static const char head[] = "{\"language\":\"xx-test\",\"name\":\"Test\",\"strings\":{},\"mail\":";

static int add_mail(const char *mail, char *err, size_t errlen)
{
    char text[2048];
    snprintf(text, sizeof(text), "%s%s}", head, mail);
    return gh_i18n_add(text, strlen(text), "xx.json", err, errlen);
}

static void a_mail_missing_a_placeholder_is_refused(void **state)
{
    (void)state;
    char err[512] = "";
    /* SECURITY-relevant: a German verification mail without {{link}} would
     * leave the customer without a way in; it must fail at start. */
    assert_int_equal(
        add_mail("{\"verify_email\":{\"subject\":\"V\",\"text\":\"{{code}} {{minutes}}\",\"html\":"
                 "\"{{code}} {{link}} {{minutes}}\"}}",
                 err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "xx.json"));
    assert_non_null(strstr(err, "verify_email"));
    assert_non_null(strstr(err, "text"));
    assert_int_equal(gh_i18n_count(), 1); /* nothing was added */
    /* a placeholder the English template lacks is refused too */
    assert_int_equal(
        add_mail("{\"test\":{\"subject\":\"T\",\"text\":\"{{secret}}\",\"html\":\"H\"}}", err,
                 sizeof(err)),
        -1);
    assert_non_null(strstr(err, "secret"));
    /* and a template that does not exist */
    assert_int_equal(
        add_mail("{\"nope\":{\"subject\":\"T\",\"text\":\"T\",\"html\":\"H\"}}", err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "no such template"));
    /* the same placeholders in another order are fine */
    assert_int_equal(
        add_mail("{\"verify_email\":{\"subject\":\"V\",\"text\":\"{{minutes}} {{link}} {{code}}\","
                 "\"html\":\"{{link}}{{code}} {{link}} {{minutes}}\"}}",
                 err, sizeof(err)),
        0);
    assert_int_equal(gh_i18n_count(), 2);
    /* English is built in, not a catalog */
    const char en[] = "{\"language\":\"en-GB\",\"name\":\"English\",\"strings\":{}}";
    assert_int_equal(gh_i18n_add(en, strlen(en), "en.json", err, sizeof(err)), -1);
}

static void a_directory_adds_and_replaces_languages(void **state)
{
    (void)state;
    char dir[] = "/tmp/gh-locales-XXXXXX", path[256], err[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/fr.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"language\":\"fr\",\"name\":\"Français\",\"strings\":{\"Sign in\":\"Se connecter\"}}",
          f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/de.json", dir);
    f = fopen(path, "w");
    fputs("{\"language\":\"de\",\"name\":\"Deutsch (eigen)\",\"strings\":{}}", f);
    fclose(f);
    assert_int_equal(gh_i18n_load(dir, err, sizeof(err)), 0);
    assert_string_equal(gh_i18n_name(gh_i18n_index("fr")), "Français");
    assert_string_equal(gh_i18n_name(gh_i18n_index("de")), "Deutsch (eigen)");
    /* a broken file stops the start, naming it; nothing stays loaded */
    snprintf(path, sizeof(path), "%s/it.json", dir);
    f = fopen(path, "w");
    fputs("{\"language\":\"it\",", f);
    fclose(f);
    assert_int_equal(gh_i18n_load(dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "it.json"));
    assert_int_equal(gh_i18n_count(), 1);
    assert_int_equal(gh_i18n_load("/nonexistent-gh-dir", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "GATEHOUSE_LOCALES_DIR"));
    unlink(path);
    snprintf(path, sizeof(path), "%s/fr.json", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/de.json", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(the_shipped_catalogs_load, teardown),
        cmocka_unit_test_teardown(a_mail_renders_in_the_language_it_carries, teardown),
        cmocka_unit_test_teardown(a_mail_missing_a_placeholder_is_refused, teardown),
        cmocka_unit_test_teardown(a_directory_adds_and_replaces_languages, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
