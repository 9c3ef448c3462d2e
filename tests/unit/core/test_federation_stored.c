/* gh_federation_view reads a provider row's stored JSON (endpoints,
 * mapping) with gh_json_parse's bounds (issue 22's review): a row as the
 * admin API writes it shows as written; a column too deep, not UTF-8 or
 * broken shows as an empty object, as an unreadable column did before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <string.h>

#include "gh_federation.h"

/* A provider row with these stored columns. */
static gh_fed_provider_row row_with(const char *endpoints, const char *mapping)
{
    gh_fed_provider_row row = {.kind = "oidc", .preset = "microsoft", .enabled = true};
    row.tenant_id = "default";
    row.id = row.display_name = row.client_id = "acme";
    row.issuer = "https://idp.test";
    row.scopes = "openid";
    row.endpoints = endpoints;
    row.mapping = mapping;
    return row;
}

/* The view's member name of row as compact JSON (malloc). */
static char *view_member(const gh_fed_provider_row *row, const char *name)
{
    json_t *v = gh_federation_view(row);
    assert_non_null(v);
    char *s = json_dumps(json_object_get(v, name), JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return s;
}

static void assert_member(const gh_fed_provider_row *row, const char *name, const char *want)
{
    char *got = view_member(row, name);
    assert_string_equal(got, want);
    free(got);
}

static void a_row_as_written_shows_as_written(void **state)
{
    (void)state;
    gh_fed_provider_row row =
        row_with("{\"token_endpoint\":\"https://idp.test/t\"}",
                 "{\"allowed_tenant_ids\":[\"t1\"],\"given_name\":\"given_name\"}");
    assert_member(&row, "endpoints", "{\"token_endpoint\":\"https://idp.test/t\"}");
    assert_member(&row, "mapping", "{\"given_name\":\"given_name\"}");
    assert_member(&row, "allowed_tenant_ids", "[\"t1\"]");
}

static void a_column_out_of_bounds_reads_as_none(void **state)
{
    (void)state;
    /* one level deeper than anything the admin API writes */
    gh_fed_provider_row deep = row_with("{\"token_endpoint\":{\"x\":\"https://idp.test/t\"}}",
                                        "{\"allowed_tenant_ids\":[[\"t1\"]],\"given_name\":\"g\"}");
    assert_member(&deep, "endpoints", "{}");
    assert_member(&deep, "mapping", "{}");
    assert_member(&deep, "allowed_tenant_ids", "null");
    gh_fed_provider_row broken = row_with("{\"token_endpoint\":\"\xff\"}", "{\"given_name\":");
    assert_member(&broken, "endpoints", "{}");
    assert_member(&broken, "mapping", "{}");
    gh_fed_provider_row none = row_with(NULL, NULL);
    assert_member(&none, "endpoints", "{}");
    assert_member(&none, "mapping", "{}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_row_as_written_shows_as_written),
        cmocka_unit_test(a_column_out_of_bounds_reads_as_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
