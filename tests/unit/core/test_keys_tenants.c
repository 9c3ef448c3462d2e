/* Unit tests for the tenant check of token verification (gh_keys_verify_for)
 * over a real store: a token signed with one tenant's key verifies with that
 * tenant's keys only. The end-to-end tests cannot pin this on its own (a
 * token of another tenant also fails their issuer check), so it is pinned
 * here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gh_app.h"
#include "gh_keys.h"

#include "testdb.h"

struct fixture {
    test_store s; /* db, c, a (testdb.h) */
    gh_config cfg;
    gh_app app;
};

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    gh_keys_shutdown();
    test_store_close(&f->s);
    free(f);
    return 0;
}

/* The number of keys tenant publishes. */
static size_t published(const char *tenant)
{
    json_t *set = gh_keys_jwks_for(tenant);
    size_t n = json_array_size(json_object_get(set, "keys"));
    json_decref(set);
    return n;
}

static int setup(void **state)
{
    char err[256] = "";
    struct fixture *f = calloc(1, sizeof(*f));
    *state = f;
    if (!f || !test_store_open(&f->s, "gh-keys-tenants", 4))
        goto fail;
    /* the default tenant's keys first (its RS256 key comes from the refresh
     * thread), then two more tenants' */
    if (test_db_keys_ready(&f->cfg, &f->app, f->s.db, err, sizeof(err)) != 0 ||
        gh_keys_make_for(&f->cfg, f->s.c, "acme", err, sizeof(err)) != 0 ||
        gh_keys_make_for(&f->cfg, f->s.c, "globex", err, sizeof(err)) != 0 ||
        gh_keys_reload(err, sizeof(err)) != 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "test_keys_tenants: setup: %s\n", err);
    teardown(state);
    *state = NULL;
    return -1;
}

static void each_tenant_publishes_its_own_keys(void **state)
{
    (void)state;
    assert_int_equal(published("acme"), 2);
    assert_int_equal(published("globex"), 2);
    assert_int_equal(published("default"), 2);
    assert_int_equal(published("initech"), 0);
}

static void a_token_verifies_with_its_tenants_keys_only(void **state)
{
    struct fixture *f = *state;
    static const char *const algs[] = {"ES256", "RS256"};
    for (size_t i = 0; i < 2; i++) {
        json_t *claims = json_pack("{s:s, s:s}", "sub", "u1", "iss", "https://id.example/t/acme");
        char *jws = gh_keys_sign_for(f->s.a, "acme", algs[i], NULL, claims);
        json_decref(claims);
        assert_non_null(jws);
        const char *why = NULL;
        json_t *ok = gh_keys_verify_for("acme", jws, NULL, &why);
        assert_non_null(ok);
        assert_string_equal(json_string_value(json_object_get(ok, "sub")), "u1");
        json_decref(ok);
        /* the same token, whole and valid, is no token of another tenant */
        assert_null(gh_keys_verify_for("globex", jws, NULL, &why));
        assert_non_null(why);
        assert_null(gh_keys_verify_for("default", jws, NULL, &why));
        assert_null(gh_keys_verify(jws, NULL, &why));
    }
}

static void the_default_tenants_tokens_stay_in_it(void **state)
{
    struct fixture *f = *state;
    json_t *claims = json_pack("{s:s}", "sub", "u2");
    char *jws = gh_keys_sign(f->s.a, "ES256", NULL, claims);
    json_decref(claims);
    assert_non_null(jws);
    json_t *ok = gh_keys_verify(jws, NULL, NULL);
    assert_non_null(ok);
    json_decref(ok);
    assert_null(gh_keys_verify_for("acme", jws, NULL, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_tenant_publishes_its_own_keys),
        cmocka_unit_test(a_token_verifies_with_its_tenants_keys_only),
        cmocka_unit_test(the_default_tenants_tokens_stay_in_it),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
