/* gh_profile: what a customer may write into their profile, and the OIDC
 * claims an account gives per scope (issue 18 item 4; OIDC Core 5.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "gh_profile.h"

static void names(void **state)
{
    (void)state;
    const char *ok[] = {"Ada", "Zoë", "李 小龍", "Jean-Luc O'Neil"};
    for (size_t i = 0; i < 4; i++)
        assert_true(gh_profile_name_valid(ok[i], strlen(ok[i])));
    assert_false(gh_profile_name_valid("", 0));
    assert_false(gh_profile_name_valid("   ", 3));
    assert_false(gh_profile_name_valid("a\nb", 3));
    assert_false(gh_profile_name_valid("\xc3\x28", 2)); /* broken UTF-8 */
    char long_name[GH_PROFILE_NAME_MAX + 2];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_false(gh_profile_name_valid(long_name, strlen(long_name)));
    assert_true(gh_profile_name_valid(long_name, GH_PROFILE_NAME_MAX));
}

static void locales(void **state)
{
    (void)state;
    const char *ok[] = {"en", "de-CH", "zh-Hant-TW", "es-419", "gsw"};
    for (size_t i = 0; i < 5; i++)
        assert_true(gh_profile_locale_valid(ok[i]));
    const char *bad[] = {"",      "e",   "english", "de_CH",
                         "de-",   "-de", "de--CH",  "de-CH-toolongsubtag",
                         "de CH", "<b>", NULL};
    for (size_t i = 0; i < 11; i++)
        assert_false(gh_profile_locale_valid(bad[i]));
}

static void zones(void **state)
{
    (void)state;
    const char *ok[] = {"UTC", "Europe/Zurich", "America/Argentina/Buenos_Aires", "Etc/GMT+5"};
    for (size_t i = 0; i < 4; i++)
        assert_true(gh_profile_zone_valid(ok[i]));
    const char *bad[] = {"",
                         "Europe",
                         "Europe/",
                         "/Europe/Zurich",
                         "Europe/../etc/passwd",
                         "Europe//Zurich",
                         "Europe/Zürich",
                         "../x/y",
                         NULL};
    for (size_t i = 0; i < 9; i++)
        assert_false(gh_profile_zone_valid(bad[i]));
}

static void claims_follow_the_scopes(void **state)
{
    (void)state;
    gh_profile_user u = {.id = "u1",
                         .email = "ada@example.com",
                         .email_verified = true,
                         .given_name = "Ada",
                         .family_name = "Lovelace",
                         .profile = "{\"locale\":\"en-GB\",\"zoneinfo\":\"Europe/London\"}",
                         .updated_at = 1700000000123};
    json_t *o = gh_profile_claims(&u, "openid");
    assert_int_equal(json_object_size(o), 1);
    assert_string_equal(json_string_value(json_object_get(o, "sub")), "u1");
    json_decref(o);

    o = gh_profile_claims(&u, "openid email");
    assert_string_equal(json_string_value(json_object_get(o, "email")), "ada@example.com");
    assert_true(json_is_true(json_object_get(o, "email_verified")));
    assert_null(json_object_get(o, "name"));
    json_decref(o);

    o = gh_profile_claims(&u, "openid profile");
    assert_null(json_object_get(o, "email"));
    assert_string_equal(json_string_value(json_object_get(o, "name")), "Ada Lovelace");
    assert_string_equal(json_string_value(json_object_get(o, "locale")), "en-GB");
    assert_string_equal(json_string_value(json_object_get(o, "zoneinfo")), "Europe/London");
    assert_int_equal(json_integer_value(json_object_get(o, "updated_at")), 1700000000);
    json_decref(o);

    /* the display name wins; unset claims are left out */
    u.display_name = "Countess";
    u.profile = "{}";
    o = gh_profile_claims(&u, "profile");
    assert_string_equal(json_string_value(json_object_get(o, "name")), "Countess");
    assert_null(json_object_get(o, "locale"));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),
        cmocka_unit_test(locales),
        cmocka_unit_test(zones),
        cmocka_unit_test(claims_follow_the_scopes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
