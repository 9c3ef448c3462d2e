/* Unit tests for proto/gh_tenant_meta: tenant ids, display names, host
 * names, and the policy document (accepted, refused with the member named,
 * and its stored form). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "gh_tenant_meta.h"
#include "tenant_check.h"

static void ids(void **state)
{
    (void)state;
    static const char *const good[] = {
        "acme",      "a",     "0",
        "acme-eu-2", "x1-y2", "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0"};
    static const char *const bad[] = {
        "",           "-acme", "acme-",
        "Acme",       "ac_me", "ac.me",
        "a/b",        "ac me", "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01",
        "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(gh_tenant_id_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(gh_tenant_id_valid(bad[i]));
    assert_false(gh_tenant_id_valid(NULL));
}

static void names(void **state)
{
    (void)state;
    assert_true(gh_tenant_name_valid("Acme"));
    assert_true(gh_tenant_name_valid("Caf\xc3\xa9 M\xc3\xbcller & Co"));
    assert_false(gh_tenant_name_valid(""));
    assert_false(gh_tenant_name_valid("bad\xc3"));
    assert_false(gh_tenant_name_valid("line\nbreak"));
    char longname[GH_TENANT_NAME_MAX + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_false(gh_tenant_name_valid(longname));
    longname[GH_TENANT_NAME_MAX] = '\0';
    assert_true(gh_tenant_name_valid(longname));
}

static void hosts(void **state)
{
    (void)state;
    static const char *const good[] = {"id.acme.com", "acme.localhost:8443", "a.b",
                                       "x-1.example.test:1"};
    static const char *const bad[] = {
        "localhost",     "Acme.com",       "acme..com",   ".acme.com", "acme.com.", "acme.com:",
        "acme.com:0",    "acme.com:65536", "acme.com:08", "-a.com",    "a-.com",    "acme.com/path",
        "user@acme.com", "acme.com:80:80", "[::1]:80",    ""};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(gh_tenant_host_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (gh_tenant_host_valid(bad[i]))
            fail_msg("accepted %s", bad[i]);
    }
}

static void policy_default(void **state)
{
    (void)state;
    gh_tenant_policy p;
    json_t *out = tenant_accept(NULL, &p);
    assert_int_equal(p.methods, GH_TM_ALL);
    assert_int_equal(p.password_min, 0);
    assert_false(p.mfa_required);
    char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(text, "{\"signin_methods\":[\"password\",\"email_code\",\"passkey\","
                              "\"federation\"],\"password_min_length\":null,\"mfa_required\":false,"
                              "\"session_idle_seconds\":null,\"session_absolute_seconds\":null,"
                              "\"mail_from\":null,\"sessions\":{"
                              "\"aal1\":{\"idle_seconds\":null,\"absolute_seconds\":null},"
                              "\"aal2\":{\"idle_seconds\":null,\"absolute_seconds\":null},"
                              "\"aal3\":{\"idle_seconds\":null,\"absolute_seconds\":null}},"
                              "\"assurance\":{\"signin\":\"aal1\",\"recovery\":\"aal1\","
                              "\"profile_change\":\"aal1\",\"step_up\":\"aal2\"}}");
    free(text);
    json_decref(out);
}

static void policy_values(void **state)
{
    (void)state;
    gh_tenant_policy p;
    json_t *out = tenant_accept("{\"signin_methods\":[\"passkey\",\"password\",\"passkey\"],"
                                "\"password_min_length\":12,\"mfa_required\":true,"
                                "\"session_idle_seconds\":900,\"session_absolute_seconds\":43200,"
                                "\"mail_from\":\"Acme <no-reply@acme.example>\"}",
                                &p);
    assert_int_equal(p.methods, GH_TM_PASSKEY | GH_TM_PASSWORD);
    assert_int_equal(p.password_min, 12);
    assert_true(p.mfa_required);
    assert_int_equal(p.session_idle_s, 900);
    assert_int_equal(p.session_absolute_s, 43200);
    assert_string_equal(p.mail_from, "Acme <no-reply@acme.example>");
    /* stored in a fixed order, each method once */
    json_t *m = json_object_get(out, "signin_methods");
    assert_int_equal(json_array_size(m), 2);
    assert_string_equal(json_string_value(json_array_get(m, 0)), "password");
    json_decref(out);
}

static void policy_refused(void **state)
{
    (void)state;
    static const tenant_refusal cases[] = {
        {"[]", "JSON object"},
        {"{\"colour\":1}", "colour"},
        {"{\"signin_methods\":[]}", "signin_methods"},
        {"{\"signin_methods\":\"password\"}", "signin_methods"},
        {"{\"signin_methods\":[\"sms\"]}", "signin_methods[0]"},
        {"{\"signin_methods\":[1]}", "signin_methods[0]"},
        {"{\"password_min_length\":7}", "password_min_length"},
        {"{\"password_min_length\":65}", "password_min_length"},
        {"{\"password_min_length\":\"12\"}", "password_min_length"},
        {"{\"mfa_required\":1}", "mfa_required"},
        {"{\"session_idle_seconds\":10}", "session_idle_seconds"},
        {"{\"session_absolute_seconds\":99999999999}", "session_absolute_seconds"},
        {"{\"session_idle_seconds\":7200,\"session_absolute_seconds\":3600}",
         "session_idle_seconds"},
        {"{\"mail_from\":\"no address\"}", "mail_from"},
        {"{\"mail_from\":\"a@b\\r\\nBcc: x@y\"}", "mail_from"},
        {"{\"mail_from\":5}", "mail_from"},
    };
    tenant_refusals(cases, sizeof(cases) / sizeof(cases[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ids),           cmocka_unit_test(names),
        cmocka_unit_test(hosts),         cmocka_unit_test(policy_default),
        cmocka_unit_test(policy_values), cmocka_unit_test(policy_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
