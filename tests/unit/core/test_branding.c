/* Unit tests for core/gh_branding (docs/branding.md): the default look, a
 * change shown at once through this process and within the cache's time
 * when another instance writes it, refused input changing nothing and
 * writing no audit event, a damaged row shown as the default, reset. On
 * SQLite, or on PostgreSQL with GATEHOUSE_TEST_DATABASE_URL set. Each test
 * brands its own tenant: the cache lives as long as the process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gh_branding.h"
#include "gh_store_branding.h"

#include "testdb.h"

struct fixture {
    test_db t;
    gh_db *db;
    gh_dbconn *c;
    gh_config cfg;
    gh_ctx x;
};

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    gh_db_release(f->c);
    gh_db_close(f->db);
    gh_arena_free(f->x.arena);
    test_db_drop(&f->t);
    free(f);
    return 0;
}

/* A fresh database with the tenant given as the test's state. */
static int setup_tenant(void **state, const char *tenant)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    f->db = test_db_open(&f->t, "gh-branding", 2);
    f->c = f->db ? gh_db_acquire(f->db) : NULL;
    memset(f->cfg.master_key, 7, sizeof(f->cfg.master_key));
    f->x = (gh_ctx){.tenant = tenant,
                    .arena = gh_arena_new(0),
                    .cfg = &f->cfg,
                    .now = 1800000000000,
                    .client_ip = "192.0.2.1",
                    .user_agent = "test-agent",
                    .db = f->c};
    gh_dbparam p[] = {GH_TEXT(tenant)};
    if (!f->c || !f->x.arena ||
        gh_db_exec(f->c, f->x.arena,
                   "INSERT INTO tenants (id, name, created_at) VALUES ($1, $1, 0)", p, 1,
                   NULL) != GH_DB_OK)
        return -1;
    return 0;
}

static int setup_a(void **state)
{
    return setup_tenant(state, "brand-a");
}
static int setup_b(void **state)
{
    return setup_tenant(state, "brand-b");
}
static int setup_c(void **state)
{
    return setup_tenant(state, "brand-c");
}

static gh_dbrc put(struct fixture *f, const char *text, gh_brand_error *err)
{
    json_t *in = json_loads(text, 0, NULL), *out = NULL;
    gh_dbrc rc = gh_branding_put(&f->x, "admin", in, &out, err);
    json_decref(in);
    json_decref(out);
    return rc;
}

static long long audit_count(struct fixture *f)
{
    gh_dbres res;
    gh_dbparam p[] = {GH_TEXT(f->x.tenant)};
    assert_int_equal(gh_db_exec(f->c, f->x.arena,
                                "SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1 AND "
                                "type = 'branding.updated'",
                                p, 1, &res),
                     GH_DB_OK);
    return gh_dbres_int(&res, 0, 0);
}

static void default_then_branded_then_reset(void **state)
{
    struct fixture *f = *state;
    gh_branding b;
    gh_brand_error err;
    assert_int_equal(gh_branding_current(&f->x, &b), GH_DB_OK);
    assert_string_equal(b.product_name, "Gatehouse");
    assert_string_equal(b.logo_uri, "");
    assert_null(strstr(b.css, ":root"));
    char before[GH_BRANDING_VERSION_LEN + 1];
    memcpy(before, b.version, sizeof(before));

    assert_int_equal(
        put(f, "{\"product_name\":\"Harbour\",\"colors\":{\"primary\":\"#0a7d4f\"}}", &err),
        GH_DB_OK);
    assert_int_equal(gh_branding_current(&f->x, &b), GH_DB_OK); /* the cache was dropped */
    assert_string_equal(b.product_name, "Harbour");
    assert_non_null(strstr(b.css, "--gh-primary: #0a7d4f;"));
    assert_string_not_equal(b.version, before);
    assert_int_equal(audit_count(f), 1);

    assert_int_equal(gh_branding_delete(&f->x, "admin"), GH_DB_OK);
    assert_int_equal(gh_branding_current(&f->x, &b), GH_DB_OK);
    assert_string_equal(b.product_name, "Gatehouse");
    assert_string_equal(b.version, before);
    assert_int_equal(gh_branding_delete(&f->x, "admin"), GH_DB_NOTFOUND);
    assert_int_equal(audit_count(f), 2);
}

static void refused_changes_nothing(void **state)
{
    struct fixture *f = *state;
    gh_brand_error err;
    gh_dbrc rc;
    assert_int_equal(put(f, "{\"product_name\":\"Harbour\"}", &err), GH_DB_OK);
    assert_int_equal(
        put(f, "{\"product_name\":\"Other\",\"stylesheet\":\"@import '/x.css';\"}", &err),
        GH_DB_INVALID);
    assert_string_equal(err.field, "stylesheet");
    json_t *doc = gh_branding_get(&f->x, &rc);
    assert_int_equal(rc, GH_DB_OK);
    assert_string_equal(json_string_value(json_object_get(doc, "product_name")), "Harbour");
    json_decref(doc);
    assert_int_equal(audit_count(f), 1);
}

/* Another instance (here: the store written directly) is seen within the
 * cache's time, not before: a page view in between reads no table. A row
 * that no longer validates is shown as the default look. */
static void other_instance_and_damage(void **state)
{
    struct fixture *f = *state;
    gh_branding b;
    assert_int_equal(gh_branding_current(&f->x, &b), GH_DB_OK); /* cached: the default */
    gh_branding_row row = {.product_name = "Elsewhere",
                           .logo_uri = "",
                           .colors = "{}",
                           .dark_colors = "{}",
                           .stylesheet = "",
                           .updated_at = 1};
    assert_int_equal(gh_store_branding_put(f->c, f->x.arena, f->x.tenant, &row), GH_DB_OK);
    assert_int_equal(gh_branding_current(&f->x, &b), GH_DB_OK);
    assert_string_equal(b.product_name, "Gatehouse");
    usleep((GH_BRANDING_CACHE_MS + 200) * 1000);
    assert_int_equal(gh_branding_current(&f->x, &b), GH_DB_OK);
    assert_string_equal(b.product_name, "Elsewhere");

    row.product_name = "Damaged";
    row.colors = "not json";
    row.stylesheet = "</style><script>alert(1)</script>";
    assert_int_equal(gh_store_branding_put(f->c, f->x.arena, f->x.tenant, &row), GH_DB_OK);
    usleep((GH_BRANDING_CACHE_MS + 200) * 1000);
    assert_int_equal(gh_branding_current(&f->x, &b), GH_DB_OK);
    assert_string_equal(b.product_name, "Gatehouse");
    assert_null(strstr(b.css, "script"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(default_then_branded_then_reset, setup_a, teardown),
        cmocka_unit_test_setup_teardown(refused_changes_nothing, setup_b, teardown),
        cmocka_unit_test_setup_teardown(other_instance_and_damage, setup_c, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
