/* Unit tests for the parts of a tenant's policy added by issue 21 part 1
 * (proto/gh_tenant_meta, docs/tenants.md): session lifetimes per assurance
 * level ("sessions") and how they resolve against the flat members and the
 * server's settings (SECURITY.md #28). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "gh_tenant_meta.h"
#include "tenant_check.h"

enum { SERVER_IDLE = 7 * 86400, SERVER_ABS = 30 * 86400 };

static void resolve(const gh_tenant_policy *p, int aal, int64_t idle, int64_t abs)
{
    int64_t i = -1, a = -1;
    gh_tenant_session_timers(p, aal, SERVER_IDLE, SERVER_ABS, &i, &a);
    if (i != idle || a != abs)
        fail_msg("aal%d: idle %lld absolute %lld, expected %lld and %lld", aal, (long long)i,
                 (long long)a, (long long)idle, (long long)abs);
}

/* No policy: the server's settings at AAL1; NIST's 12 hours and 30 / 15
 * minutes at AAL2 / AAL3 (SECURITY.md's table of timers). */
static void defaults(void **state)
{
    (void)state;
    gh_tenant_policy p;
    gh_tenant_policy_default(&p);
    resolve(&p, 1, SERVER_IDLE, SERVER_ABS);
    resolve(&p, 2, 30 * 60, 12 * 3600);
    resolve(&p, 3, 15 * 60, 12 * 3600);
    /* a level out of range is read as the nearest one */
    resolve(&p, 0, SERVER_IDLE, SERVER_ABS);
    resolve(&p, 9, 15 * 60, 12 * 3600);
    /* a server setting shorter than NIST's figure stays the limit */
    int64_t i, a;
    gh_tenant_session_timers(&p, 2, 3, 4, &i, &a);
    assert_int_equal(i, 3);
    assert_int_equal(a, 4);
}

/* The flat members replace the server's settings for every level, still
 * capped above AAL1: a tenant's short sessions never get longer by a step-up. */
static void flat_members(void **state)
{
    (void)state;
    gh_tenant_policy p;
    json_t *out =
        tenant_accept("{\"session_idle_seconds\":600,\"session_absolute_seconds\":7200}", &p);
    json_decref(out);
    resolve(&p, 1, 600, 7200);
    resolve(&p, 2, 600, 7200);
    resolve(&p, 3, 600, 7200);
    out = tenant_accept("{\"session_idle_seconds\":86400,\"session_absolute_seconds\":864000}", &p);
    json_decref(out);
    resolve(&p, 1, 86400, 864000);
    resolve(&p, 2, 1800, 43200);
    resolve(&p, 3, 900, 43200);
}

/* A level's own members win over everything, and come back in the stored form. */
static void per_level(void **state)
{
    (void)state;
    gh_tenant_policy p;
    char why[160];
    json_t *out = tenant_accept("{\"session_idle_seconds\":120,"
                                "\"sessions\":{\"aal1\":{\"idle_seconds\":3600},"
                                "\"aal2\":{\"idle_seconds\":300,\"absolute_seconds\":3600},"
                                "\"aal3\":null}}",
                                &p);
    assert_int_equal(p.sessions[0].idle_s, 3600);
    assert_int_equal(p.sessions[0].absolute_s, 0);
    assert_int_equal(p.sessions[1].idle_s, 300);
    assert_int_equal(p.sessions[1].absolute_s, 3600);
    resolve(&p, 1, 3600, SERVER_ABS);
    resolve(&p, 2, 300, 3600);
    resolve(&p, 3, 120, 43200); /* the flat idle, below NIST's 15 minutes */
    json_t *l2 = json_object_get(json_object_get(out, "sessions"), "aal2");
    assert_int_equal(json_integer_value(json_object_get(l2, "idle_seconds")), 300);
    json_t *l3 = json_object_get(json_object_get(out, "sessions"), "aal3");
    assert_true(json_is_null(json_object_get(l3, "absolute_seconds")));
    /* the stored form is accepted as input (GET, edit, PATCH back) */
    gh_tenant_policy again;
    json_t *round = gh_tenant_policy_check(out, &again, why, sizeof(why));
    if (!round)
        fail_msg("stored form refused: %s", why);
    assert_true(json_equal(round, out));
    assert_memory_equal(again.sessions, p.sessions, sizeof(p.sessions));
    json_decref(round);
    json_decref(out);
}

/* An idle time is never above the absolute one, even when only the
 * absolute one was lowered. */
static void idle_capped(void **state)
{
    (void)state;
    gh_tenant_policy p;
    json_t *out = tenant_accept("{\"sessions\":{\"aal1\":{\"absolute_seconds\":600}}}", &p);
    json_decref(out);
    resolve(&p, 1, 600, 600);
}

static void refused(void **state)
{
    (void)state;
    static const tenant_refusal cases[] = {
        {"{\"sessions\":[]}", "sessions"},
        {"{\"sessions\":{\"aal4\":{}}}", "sessions.aal4"},
        {"{\"sessions\":{\"aal2\":5}}", "sessions.aal2"},
        {"{\"sessions\":{\"aal2\":{\"idle\":60}}}", "sessions.aal2.idle"},
        {"{\"sessions\":{\"aal2\":{\"idle_seconds\":59}}}", "sessions.aal2.idle_seconds"},
        {"{\"sessions\":{\"aal3\":{\"absolute_seconds\":\"3600\"}}}",
         "sessions.aal3.absolute_seconds"},
        {"{\"sessions\":{\"aal1\":{\"absolute_seconds\":99999999999}}}",
         "sessions.aal1.absolute_seconds"},
        {"{\"sessions\":{\"aal2\":{\"idle_seconds\":7200,\"absolute_seconds\":3600}}}",
         "sessions.aal2.idle_seconds"},
    };
    tenant_refusals(cases, sizeof(cases) / sizeof(cases[0]));
}

/* "assurance": today's behaviour by default; mfa_required is the same as a
 * sign-in at AAL2, and the higher of the two wins. */
static void assurance(void **state)
{
    (void)state;
    gh_tenant_policy p;
    char why[160];
    json_t *out = tenant_accept(NULL, &p);
    assert_int_equal(gh_tenant_required_aal(&p, GH_JOURNEY_SIGNIN), 1);
    assert_int_equal(gh_tenant_required_aal(&p, GH_JOURNEY_RECOVERY), 1);
    assert_int_equal(gh_tenant_required_aal(&p, GH_JOURNEY_PROFILE_CHANGE), 1);
    assert_int_equal(gh_tenant_required_aal(&p, GH_JOURNEY_STEP_UP), 2);
    assert_int_equal(gh_tenant_required_aal(&p, GH_JOURNEYS), 3); /* unknown: the highest */
    json_decref(out);

    out = tenant_accept("{\"mfa_required\":true}", &p);
    assert_int_equal(gh_tenant_required_aal(&p, GH_JOURNEY_SIGNIN), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "assurance"), "signin")), "aal2");
    json_decref(out);

    out = tenant_accept("{\"mfa_required\":true,\"assurance\":{\"signin\":\"aal1\"}}", &p);
    assert_int_equal(gh_tenant_required_aal(&p, GH_JOURNEY_SIGNIN), 2);
    json_decref(out);

    out = tenant_accept("{\"assurance\":{\"signin\":\"aal2\",\"recovery\":\"aal2\","
                        "\"profile_change\":\"aal3\",\"step_up\":\"aal3\"}}",
                        &p);
    assert_true(p.mfa_required); /* the alias, both ways */
    assert_true(json_is_true(json_object_get(out, "mfa_required")));
    assert_int_equal(gh_tenant_required_aal(&p, GH_JOURNEY_RECOVERY), 2);
    assert_int_equal(gh_tenant_required_aal(&p, GH_JOURNEY_PROFILE_CHANGE), 3);
    assert_int_equal(gh_tenant_required_aal(&p, GH_JOURNEY_STEP_UP), 3);
    gh_tenant_policy again;
    json_t *round = gh_tenant_policy_check(out, &again, why, sizeof(why));
    assert_non_null(round);
    assert_true(json_equal(round, out));
    json_decref(round);
    json_decref(out);

    static const tenant_refusal bad[] = {
        {"{\"assurance\":\"aal2\"}", "assurance"},
        {"{\"assurance\":{\"login\":\"aal2\"}}", "assurance.login"},
        {"{\"assurance\":{\"signin\":\"aal4\"}}", "assurance.signin"},
        {"{\"assurance\":{\"recovery\":2}}", "assurance.recovery"},
        {"{\"assurance\":{\"step_up\":\"urn:gatehouse:aal2\"}}", "assurance.step_up"},
    };
    tenant_refusals(bad, sizeof(bad) / sizeof(bad[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),    cmocka_unit_test(flat_members), cmocka_unit_test(per_level),
        cmocka_unit_test(idle_capped), cmocka_unit_test(refused),      cmocka_unit_test(assurance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
