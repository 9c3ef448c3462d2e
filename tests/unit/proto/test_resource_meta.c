/* Unit tests for gh_resource_validate (proto/gh_resource_meta): every rule
 * of a protected resource (RFC 8707) document, accepted and refused, and the stored form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "gh_crypto.h"
#include "gh_resource_meta.h"

#define ISSUER "https://id.example.com"

struct resource_case {
    const char *json;
    bool ok;
};

static void validation_table(void **state)
{
    (void)state;
    static const struct resource_case cases[] = {
        {"{\"identifier\":\"https://api.example.com\",\"name\":\"API\","
         "\"scopes\":{\"api.read\":\"Read\"}}",
         true},
        {"{\"identifier\":\"urn:example:api\",\"name\":\"API\",\"scopes\":{\"a:b\":\"x\"},"
         "\"access_token_ttl\":86400,\"access_token_format\":\"jwt\","
         "\"introspection_clients\":[\"c1\"]}",
         true},
        /* read-only members of a view sent back are ignored */
        {"{\"id\":\"x\",\"created_at\":1,\"updated_at\":2,\"identifier\":\"http://127.0.0.1:9/a\","
         "\"name\":\"API\",\"scopes\":{\"s\":\"x\"}}",
         true},
        {"[]", false},
        {"{\"identifier\":\"api\",\"name\":\"API\",\"scopes\":{\"s\":\"x\"}}", false},
        {"{\"identifier\":\"https://api.example.com#f\",\"name\":\"API\",\"scopes\":{\"s\":\"x\"}}",
         false},
        {"{\"identifier\":\"https://\",\"name\":\"API\",\"scopes\":{\"s\":\"x\"}}", false},
        {"{\"identifier\":\"https://a b\",\"name\":\"API\",\"scopes\":{\"s\":\"x\"}}", false},
        {"{\"identifier\":\"" ISSUER "\",\"name\":\"API\",\"scopes\":{\"s\":\"x\"}}", false},
        {"{\"identifier\":\"https://a.example\",\"name\":\"\",\"scopes\":{\"s\":\"x\"}}", false},
        {"{\"identifier\":\"https://a.example\",\"name\":\"A\\nB\",\"scopes\":{\"s\":\"x\"}}",
         false},
        {"{\"identifier\":\"https://a.example\",\"name\":\"A\",\"scopes\":{}}", false},
        {"{\"identifier\":\"https://a.example\",\"name\":\"A\",\"scopes\":{\"s\":\"\"}}", false},
        {"{\"identifier\":\"https://a.example\",\"name\":\"A\",\"scopes\":{\"s\":1}}", false},
        {"{\"identifier\":\"https://a.example\",\"name\":\"A\",\"scopes\":{\"openid\":\"x\"}}",
         false},
        {"{\"identifier\":\"https://a.example\",\"name\":\"A\",\"scopes\":{\"a b\":\"x\"}}", false},
        {"{\"identifier\":\"https://a.example\",\"name\":\"A\",\"scopes\":{\"a\\\"b\":\"x\"}}",
         false},
        {"{\"identifier\":\"https://a.example\",\"name\":\"A\",\"scopes\":{\"s\":\"x\"},"
         "\"access_token_ttl\":0}",
         false},
        {"{\"identifier\":\"https://a.example\",\"name\":\"A\",\"scopes\":{\"s\":\"x\"},"
         "\"access_token_ttl\":86401}",
         false},
        {"{\"identifier\":\"https://a.example\",\"name\":\"A\",\"scopes\":{\"s\":\"x\"},"
         "\"access_token_format\":\"opaque\"}",
         false},
        {"{\"identifier\":\"https://a.example\",\"name\":\"A\",\"scopes\":{\"s\":\"x\"},"
         "\"introspection_clients\":\"c1\"}",
         false},
        {"{\"identifier\":\"https://a.example\",\"name\":\"A\",\"scopes\":{\"s\":\"x\"},"
         "\"frobnicate\":1}",
         false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_error_t e;
        json_t *in = json_loads(cases[i].json, 0, &e);
        assert_non_null(in);
        char why[256] = "";
        json_t *out = gh_resource_validate(in, ISSUER, why, sizeof(why));
        if (cases[i].ok != (out != NULL))
            fail_msg("case %zu (%s): %s", i, cases[i].json, out ? "accepted" : why);
        if (!out)
            assert_true(why[0] != '\0');
        json_decref(out);
        json_decref(in);
    }
}

static void stored_form(void **state)
{
    (void)state;
    json_t *in = json_loads("{\"identifier\":\"https://api.example.com\",\"name\":\"API\","
                            "\"scopes\":{\"api.read\":\"Read\"},\"id\":\"ignored\"}",
                            0, NULL);
    char why[256];
    json_t *out = gh_resource_validate(in, ISSUER, why, sizeof(why));
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "access_token_format")), "jwt");
    assert_int_equal(json_integer_value(json_object_get(out, "access_token_ttl")), 0);
    assert_int_equal(json_array_size(json_object_get(out, "introspection_clients")), 0);
    assert_null(json_object_get(out, "id"));
    json_decref(out);
    json_decref(in);
}

int main(void)
{
    if (gh_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(validation_table),
        cmocka_unit_test(stored_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
