/* Unit tests for proto/gh_org_meta: organisation ids, roles and domains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_org_meta.h"

static void roles(void **state)
{
    (void)state;
    assert_true(gh_org_role_valid("admin"));
    assert_true(gh_org_role_valid("billing:read"));
    assert_true(gh_org_role_valid("a.b_c-d"));
    assert_false(gh_org_role_valid(""));
    assert_false(gh_org_role_valid("Admin"));
    assert_false(gh_org_role_valid("has space"));
    assert_false(gh_org_role_valid("r\xc3\xb4le"));
    char what[160];
    json_t *in = json_loads("[\"b\",\"a\",\"b\"]", 0, NULL);
    json_t *out = gh_org_roles_check(in, what, sizeof(what));
    char *text = json_dumps(out, JSON_COMPACT);
    assert_string_equal(text, "[\"a\",\"b\"]");
    free(text);
    json_decref(out);
    json_decref(in);
    /* 21 roles: one over the limit */
    static const char too_many[] = "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\","
                                   "\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\",\"r\","
                                   "\"s\",\"t\",\"u\"]";
    static const char *const bad[] = {"{}", "[1]", "[\"Admin\"]", too_many};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        in = json_loads(bad[i], 0, NULL);
        what[0] = '\0';
        assert_null(gh_org_roles_check(in, what, sizeof(what)));
        assert_non_null(strstr(what, "roles"));
        json_decref(in);
    }
}

static void domains(void **state)
{
    (void)state;
    assert_true(gh_org_domain_valid("acme.example"));
    assert_false(gh_org_domain_valid("acme.example:443"));
    assert_false(gh_org_domain_valid("localhost"));
    assert_false(gh_org_domain_valid("ACME.example"));
    char why[160];
    json_t *in = json_loads("[\"b.example\",\"a.example\"]", 0, NULL);
    json_t *out = gh_org_domains_check(in, why, sizeof(why));
    assert_string_equal(json_string_value(json_array_get(out, 0)), "a.example");
    json_decref(out);
    json_decref(in);
    assert_string_equal(gh_org_email_domain("x@y@acme.example"), "acme.example");
    assert_null(gh_org_email_domain("nobody"));
    assert_null(gh_org_email_domain("trailing@"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(roles), cmocka_unit_test(domains)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
