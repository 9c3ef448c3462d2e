/* gh_assurance: acr values and levels round-trip; unknown values are level 0
 * (so an RP asking for an acr we do not issue never counts as satisfied);
 * what a session's factors are worth (level and amr) follows docs/mfa.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "gh_assurance.h"

static void levels_round_trip(void **state)
{
    (void)state;
    for (int aal = 1; aal <= 3; aal++)
        assert_int_equal(gh_assurance_level(gh_assurance_acr(aal)), aal);
}

static void out_of_range_levels_clamp(void **state)
{
    (void)state;
    assert_string_equal(gh_assurance_acr(0), GH_ACR_AAL1);
    assert_string_equal(gh_assurance_acr(-1), GH_ACR_AAL1);
    assert_string_equal(gh_assurance_acr(7), GH_ACR_AAL3);
}

static void unknown_values_are_level_zero(void **state)
{
    (void)state;
    assert_int_equal(gh_assurance_level(NULL), 0);
    assert_int_equal(gh_assurance_level(""), 0);
    assert_int_equal(gh_assurance_level("urn:gatehouse:aal4"), 0);
    assert_int_equal(gh_assurance_level("urn:gatehouse:aal2 "), 0);
    assert_int_equal(gh_assurance_level("URN:GATEHOUSE:AAL2"), 0);
    assert_int_equal(gh_assurance_level("urn:mace:incommon:iap:silver"), 0);
}

/* The level and amr of a list of factors, each added as a session would. */
struct factor {
    const char *method;
    bool bound, uv;
};

static void worth(gh_arena *a, const struct factor *f, size_t n, int *aal, const char **amr)
{
    const char *factors = NULL;
    for (size_t i = 0; i < n; i++) {
        factors = gh_assurance_factors_add(a, factors, f[i].method, NULL, f[i].bound, f[i].uv,
                                           1000 + (int64_t)i);
        assert_non_null(factors);
    }
    gh_assurance_proof p = gh_assurance_proof_of(factors);
    *aal = gh_assurance_proof_level(&p);
    *amr = gh_assurance_amr(a, &p);
}

static void factors_give_levels_and_methods(void **state)
{
    (void)state;
    static const struct {
        struct factor f[3];
        size_t n;
        int aal;
        const char *amr;
    } cases[] = {
        {{{GH_METHOD_PASSWORD, false, false}}, 1, 1, "[\"pwd\"]"},
        {{{GH_METHOD_EMAIL, false, false}}, 1, 1, "[\"otp\"]"},
        /* an emailed code adds no possession factor to a password */
        {{{GH_METHOD_PASSWORD, false, false}, {GH_METHOD_EMAIL, false, false}},
         2,
         1,
         "[\"pwd\",\"otp\"]"},
        {{{GH_METHOD_PASSWORD, false, false}, {GH_METHOD_TOTP, false, false}},
         2,
         2,
         "[\"pwd\",\"otp\",\"mfa\"]"},
        {{{GH_METHOD_PASSWORD, false, false}, {GH_METHOD_RECOVERY, false, false}},
         2,
         2,
         "[\"pwd\",\"otp\",\"mfa\"]"},
        {{{GH_METHOD_PASSWORD, false, false}, {GH_METHOD_PASSKEY, false, false}},
         2,
         2,
         "[\"pwd\",\"swk\",\"mfa\"]"},
        /* a passkey alone: AAL2 only when it verified its user */
        {{{GH_METHOD_PASSKEY, false, false}}, 1, 1, "[\"swk\"]"},
        {{{GH_METHOD_PASSKEY, false, true}}, 1, 2, "[\"swk\",\"user\",\"mfa\"]"},
        {{{GH_METHOD_PASSKEY, true, true}}, 1, 2, "[\"pop\",\"user\",\"mfa\"]"},
        {{{GH_METHOD_EMAIL, false, false}, {GH_METHOD_TOTP, false, false}}, 2, 1, "[\"otp\"]"},
        /* unknown methods prove nothing */
        {{{"sms", false, false}}, 1, 1, "[]"},
    };
    gh_arena *a = gh_arena_new(1 << 20);
    assert_non_null(a);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int aal = 0;
        const char *amr = NULL;
        worth(a, cases[i].f, cases[i].n, &aal, &amr);
        if (aal != cases[i].aal || strcmp(amr, cases[i].amr) != 0)
            fail_msg("case %zu: aal %d amr %s, want %d %s", i, aal, amr, cases[i].aal,
                     cases[i].amr);
    }
    gh_arena_free(a);
}

static void factors_text_is_kept_and_extended(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(1 << 20);
    assert_non_null(a);
    /* malformed or absent text starts a new list */
    const char *f =
        gh_assurance_factors_add(a, "not json", GH_METHOD_PASSWORD, NULL, false, false, 5);
    assert_string_equal(f, "[{\"method\":\"pwd\",\"time\":5}]");
    f = gh_assurance_factors_add(a, f, GH_METHOD_PASSKEY, "k1", true, false, 6);
    assert_string_equal(f, "[{\"method\":\"pwd\",\"time\":5},{\"method\":\"passkey\","
                           "\"time\":6,\"factor_id\":\"k1\",\"hwk\":true,\"uv\":false}]");
    gh_assurance_proof p = gh_assurance_proof_of(f);
    assert_true(p.pwd && p.passkey && p.bound && !p.uv);
    /* nothing proven from nothing */
    p = gh_assurance_proof_of(NULL);
    assert_int_equal(gh_assurance_proof_level(&p), 1);
    assert_string_equal(gh_assurance_amr(a, &p), "[]");
    p = gh_assurance_proof_of("{\"method\":\"pwd\"}");
    assert_false(p.pwd);
    gh_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(levels_round_trip),
        cmocka_unit_test(out_of_range_levels_clamp),
        cmocka_unit_test(unknown_values_are_level_zero),
        cmocka_unit_test(factors_give_levels_and_methods),
        cmocka_unit_test(factors_text_is_kept_and_extended),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
