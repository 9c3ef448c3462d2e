/* Unit tests for gh_oauth: scope sets and PKCE (RFC 6749 3.3, RFC 7636). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "gh_crypto.h"
#include "gh_oauth.h"

static void scopes(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    assert_string_equal(gh_scope_normalise(a, "openid  email openid profile"),
                        "email openid profile");
    assert_string_equal(gh_scope_normalise(a, ""), "");
    assert_string_equal(gh_scope_normalise(a, NULL), "");
    assert_null(gh_scope_normalise(a, "openid \"quoted\""));
    assert_null(gh_scope_normalise(a, "back\\slash"));
    assert_null(gh_scope_normalise(a, "tab\there"));
    assert_true(gh_scope_subset("email openid", "email offline_access openid"));
    assert_false(gh_scope_subset("email openid", "openid"));
    assert_true(gh_scope_subset("", "openid"));
    assert_true(gh_scope_has("email openid", "openid"));
    assert_false(gh_scope_has("email openidx", "openid"));
    assert_false(gh_scope_has("email", "e"));
    assert_string_equal(gh_scope_union(a, "openid email", "profile openid"),
                        "email openid profile");
    assert_string_equal(gh_scope_minus(a, "admin openid payments:write", "openid"),
                        "admin payments:write");
    assert_string_equal(gh_scope_minus(a, "email openid", GH_SCOPES_STANDARD), "");
    assert_string_equal(gh_scope_minus(a, "", "openid"), "");
    char many[2000] = "";
    for (int i = 0; i < 40; i++) {
        char t[16];
        snprintf(t, sizeof(t), "s%d ", i);
        strcat(many, t);
    }
    assert_null(gh_scope_normalise(a, many)); /* bounded */
    gh_arena_free(a);
}

/* RFC 7636 appendix B example. */
static void pkce(void **state)
{
    (void)state;
    const char *verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const char *challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    assert_true(gh_pkce_s256_matches(verifier, challenge));
    assert_false(gh_pkce_s256_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl", challenge));
    assert_false(gh_pkce_s256_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
    assert_false(gh_pkce_verifier_valid("short"));
    assert_false(gh_pkce_verifier_valid("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX+"));
    assert_false(gh_pkce_challenge_valid("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="));
    assert_false(gh_pkce_s256_matches(NULL, challenge));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scopes),
        cmocka_unit_test(pkce),
    };
    gh_crypto_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
