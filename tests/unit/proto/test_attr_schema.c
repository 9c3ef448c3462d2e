/* Unit tests for proto/gh_attr_schema: the operator's profile schema
 * (issue 20 item 6) — definitions accepted and refused, values checked and
 * normalised, and when a claim may leave in a token (data minimisation,
 * docs/privacy.md "Progressive profiling"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gh_attr_schema.h"

struct def_case {
    const char *json;
    bool ok;
};

static json_t *def_of(const char *text)
{
    char why[200];
    json_t *in = json_loads(text, 0, NULL);
    json_t *d = gh_attr_def_validate(in, why, sizeof(why));
    json_decref(in);
    return d;
}

static void definitions(void **state)
{
    (void)state;
    static const struct def_case cases[] = {
        {"{\"name\":\"birthdate\",\"display_name\":\"Date of birth\",\"type\":\"date\","
         "\"scopes\":[\"profile\"]}",
         true},
        {"{\"name\":\"shoe_size\",\"display_name\":\"Shoe size\",\"type\":\"number\","
         "\"min\":15,\"max\":55,\"clients\":[\"shop\"],\"required\":true}",
         true},
        {"{\"name\":\"tier\",\"display_name\":\"Tier\",\"type\":\"enum\",\"values\":[\"a\",\"b\"]}",
         true},
        {"{\"name\":\"code\",\"display_name\":\"Code\",\"type\":\"string\",\"pattern\":\"[A-Z]{3}"
         "\","
         "\"min_length\":3,\"max_length\":3,\"sensitivity\":\"sensitive\"}",
         true},
        {"{\"name\":\"phone_number\",\"display_name\":\"Phone\",\"type\":\"phone\"}", true},
        /* a view sent back: its timestamps are ignored */
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"boolean\",\"created_at\":1}", true},
        {"[]", false},
        {"{\"name\":\"Bad\",\"display_name\":\"X\",\"type\":\"string\"}", false},
        {"{\"name\":\"1x\",\"display_name\":\"X\",\"type\":\"string\"}", false},
        {"{\"name\":\"email\",\"display_name\":\"X\",\"type\":\"string\"}", false},
        {"{\"name\":\"sub\",\"display_name\":\"X\",\"type\":\"string\"}", false},
        {"{\"name\":\"x\",\"display_name\":\"\",\"type\":\"string\"}", false},
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"blob\"}", false},
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"string\",\"extra\":1}", false},
        {"{\"name\":\"birthdate\",\"display_name\":\"X\",\"type\":\"string\"}", false},
        {"{\"name\":\"phone_number\",\"display_name\":\"X\",\"type\":\"string\"}", false},
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"enum\"}", false},
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"enum\",\"values\":[\"a\",\"a\"]}",
         false},
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"string\",\"values\":[\"a\"]}", false},
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"string\",\"pattern\":\"(\"}", false},
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"string\",\"min_length\":5,"
         "\"max_length\":2}",
         false},
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"number\",\"min\":\"1\"}", false},
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"date\",\"min\":\"2000-02-30\"}", false},
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"boolean\",\"pattern\":\"a\"}", false},
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"string\",\"scopes\":[\"openid\"]}",
         false},
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"string\",\"scopes\":[\"a b\"]}", false},
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"string\",\"required\":\"yes\"}", false},
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"string\",\"sensitivity\":\"high\"}",
         false},
        {"{\"name\":\"x\",\"display_name\":\"X\",\"type\":\"string\",\"claim\":\"standard\"}",
         false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *d = def_of(cases[i].json);
        if ((d != NULL) != cases[i].ok)
            fail_msg("case %zu: %s", i, cases[i].json);
        json_decref(d);
    }
}

static void defaults_filled(void **state)
{
    (void)state;
    json_t *d = def_of("{\"name\":\"gender\",\"display_name\":\"Gender\",\"type\":\"string\"}");
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "claim")), "standard");
    assert_string_equal(json_string_value(json_object_get(d, "sensitivity")), "normal");
    assert_true(json_is_false(json_object_get(d, "required")));
    assert_int_equal(json_array_size(json_object_get(d, "scopes")), 0);
    json_decref(d);
    d = def_of("{\"name\":\"team\",\"display_name\":\"Team\",\"type\":\"string\"}");
    assert_string_equal(json_string_value(json_object_get(d, "claim")), "custom");
    json_decref(d);
}

/* value: JSON text; want: the stored JSON text, NULL when refused. */
struct value_case {
    const char *def;
    const char *value;
    const char *want;
};

static void values(void **state)
{
    (void)state;
    static const char date[] = "{\"name\":\"birthdate\",\"display_name\":\"Date of birth\","
                               "\"type\":\"date\",\"min\":\"1900-01-01\"}";
    static const char num[] =
        "{\"name\":\"n\",\"display_name\":\"N\",\"type\":\"number\",\"min\":1,\"max\":10}";
    static const char str[] = "{\"name\":\"s\",\"display_name\":\"S\",\"type\":\"string\","
                              "\"pattern\":\"[A-Z]{3}\"}";
    static const char len[] =
        "{\"name\":\"s\",\"display_name\":\"S\",\"type\":\"string\",\"max_length\":3}";
    static const char en[] =
        "{\"name\":\"e\",\"display_name\":\"E\",\"type\":\"enum\",\"values\":[\"a\",\"b\"]}";
    static const char ph[] =
        "{\"name\":\"phone_number\",\"display_name\":\"P\",\"type\":\"phone\"}";
    static const char bo[] = "{\"name\":\"b\",\"display_name\":\"B\",\"type\":\"boolean\"}";
    static const struct value_case cases[] = {
        {date, "\"1990-05-17\"", "\"1990-05-17\""},
        {date, "\"2000-02-29\"", "\"2000-02-29\""},
        {date, "\"1900-02-29\"", NULL},
        {date, "\"1899-12-31\"", NULL},
        {date, "\"17.05.1990\"", NULL},
        {date, "19900517", NULL},
        {num, "5", "5"},
        {num, "10.0", "10.0"},
        {num, "11", NULL},
        {num, "\"5\"", NULL},
        {str, "\"ABC\"", "\"ABC\""},
        {str, "\"ABCD\"", NULL},
        {str, "\"abc\"", NULL},
        {str, "\"\"", NULL},
        {len, "\"\\u00e9\\u00e9\\u00e9\"", "\"\\u00e9\\u00e9\\u00e9\""},
        {len, "\"abcd\"", NULL},
        {len, "\"a\\u0007\"", NULL},
        {en, "\"b\"", "\"b\""},
        {en, "\"c\"", NULL},
        {ph, "\"+41 79 123-45 67\"", "\"+41791234567\""},
        {ph, "\"079 123 45 67\"", NULL},
        {ph, "\"+0791234567\"", NULL},
        {ph, "\"+41 79 abc\"", NULL},
        {ph, "\"+1234567890123456\"", NULL},
        {bo, "true", "true"},
        {bo, "\"true\"", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char why[200] = "";
        json_t *d = def_of(cases[i].def);
        json_t *v = json_loads(cases[i].value, JSON_DECODE_ANY, NULL);
        assert_non_null(d);
        assert_non_null(v);
        json_t *out = gh_attr_value_validate(d, v, why, sizeof(why));
        if ((out != NULL) != (cases[i].want != NULL))
            fail_msg("case %zu: %s (%s)", i, cases[i].value, why);
        if (out) {
            json_t *want = json_loads(cases[i].want, JSON_DECODE_ANY, NULL);
            assert_true(json_equal(out, want));
            json_decref(want);
        } else {
            /* the reason names the field as the customer sees it */
            assert_non_null(strstr(why, json_string_value(json_object_get(d, "display_name"))));
        }
        json_decref(out);
        json_decref(v);
        json_decref(d);
    }
}

/* Data minimisation: a claim leaves only with its scope; a client that
 * needs a normal attribute gets it with openid, a sensitive one never
 * without its scope. */
static void release(void **state)
{
    (void)state;
    json_t *b = def_of("{\"name\":\"birthdate\",\"display_name\":\"D\",\"type\":\"date\","
                       "\"scopes\":[\"profile\"]}");
    json_t *c = def_of("{\"name\":\"team\",\"display_name\":\"T\",\"type\":\"string\","
                       "\"clients\":[\"app\"]}");
    json_t *s = def_of("{\"name\":\"tax\",\"display_name\":\"T\",\"type\":\"string\","
                       "\"clients\":[\"app\"],\"scopes\":[\"tax\"],\"sensitivity\":\"sensitive\"}");
    assert_true(gh_attr_released(b, "openid profile", "x"));
    assert_false(gh_attr_released(b, "email openid", "x"));
    assert_true(gh_attr_needed(b, "openid profile", "x"));
    assert_false(gh_attr_needed(b, "openid", "x"));
    assert_true(gh_attr_needed(c, "openid", "app"));
    assert_true(gh_attr_released(c, "openid", "app"));
    assert_false(gh_attr_released(c, "openid", "other"));
    assert_false(gh_attr_released(c, "email", "app"));
    assert_true(gh_attr_needed(s, "openid", "app"));
    assert_false(gh_attr_released(s, "openid", "app"));
    assert_true(gh_attr_released(s, "openid tax", "app"));
    json_decref(b);
    json_decref(c);
    json_decref(s);
}

static void address_claim(void **state)
{
    (void)state;
    json_t *a = def_of("{\"name\":\"address\",\"display_name\":\"A\",\"type\":\"string\"}");
    json_t *v = json_string("Main St 1, Zurich");
    json_t *c = gh_attr_claim_value(a, v);
    assert_string_equal(json_string_value(json_object_get(c, "formatted")), "Main St 1, Zurich");
    json_decref(c);
    json_decref(v);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(definitions), cmocka_unit_test(defaults_filled), cmocka_unit_test(values),
        cmocka_unit_test(release),     cmocka_unit_test(address_claim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
