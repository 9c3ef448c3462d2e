/* Unit tests for gh_audit_ctx_append over a real store (testdb.h): the row
 * it writes carries the tenant, address and user agent of the gh_ctx and
 * the caller's type, subject, actor, reason and details, with outcome
 * "success" (or the one given to gh_audit_ctx_outcome); it lands in the
 * caller's transaction (rolled back with it); and it takes the details
 * whatever the outcome, a missing connection included (docs/audit.md
 * "Appending"); its journey metric counts only once it has landed
 * (docs/metrics.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit_ctx.h"
#include "gh_metrics_series.h"

#include "testdb.h"

#define T     "default"
#define OTHER "audit-ctx-b"

struct fixture {
    test_store s;
    gh_config cfg;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    gh_dbparam p[] = {GH_TEXT(OTHER)};
    if (test_store_open(&f->s, "gh-audit-ctx", 2) &&
        gh_db_exec(f->s.c, f->s.a, "INSERT INTO tenants (id, name, created_at) VALUES ($1, $1, 0)",
                   p, 1, NULL) == GH_DB_OK)
        return 0;
    test_store_close(&f->s);
    free(f);
    *state = NULL;
    return -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f)
        test_store_close(&f->s);
    free(f);
    return 0;
}

/* A context as a handler or command makes one: tenant, address, agent. */
static gh_ctx ctx_of(struct fixture *f, const char *tenant, const char *ip, const char *agent)
{
    return (gh_ctx){.tenant = tenant,
                    .arena = f->s.a,
                    .cfg = &f->cfg,
                    .now = 1800000000000,
                    .client_ip = ip,
                    .user_agent = agent,
                    .db = f->s.c};
}

/* The columns the helper fills, in the order expect_event takes them. */
enum { NCOLS = 8 };

/* There is exactly one event of this type, and its tenant_id, subject,
 * actor, ip, user_agent, outcome, reason and details are want's (NULL:
 * SQL NULL). */
static void expect_event(struct fixture *f, const char *type, const char *const want[NCOLS])
{
    gh_dbres r;
    gh_dbparam p[] = {GH_TEXT(type)};
    assert_int_equal(gh_db_exec(f->s.c, f->s.a,
                                "SELECT tenant_id, subject, actor, ip, user_agent, outcome, "
                                "reason, details FROM audit_events WHERE type = $1",
                                p, 1, &r),
                     GH_DB_OK);
    assert_int_equal(r.nrows, 1);
    for (size_t i = 0; i < NCOLS; i++) {
        const char *got = gh_dbres_get(&r, 0, i);
        if (!want[i]) {
            assert_null(got);
            continue;
        }
        assert_non_null(got);
        assert_string_equal(got, want[i]);
    }
}

static long long count_of(struct fixture *f, const char *type)
{
    gh_dbres r;
    gh_dbparam p[] = {GH_TEXT(type)};
    assert_int_equal(
        gh_db_exec(f->s.c, f->s.a, "SELECT COUNT(*) FROM audit_events WHERE type = $1", p, 1, &r),
        GH_DB_OK);
    return gh_dbres_int(&r, 0, 0);
}

/* Two contexts of two tenants: each event carries its own context's
 * tenant, address and agent, and the caller's fields. */
static void fields_from_the_context(void **state)
{
    struct fixture *f = *state;
    gh_ctx a = ctx_of(f, T, "192.0.2.7", "ctx-agent/1");
    gh_ctx b = ctx_of(f, OTHER, "2001:db8::9", "ctx-agent/2");
    assert_int_equal(gh_audit_ctx_append(&a, f->s.c, "test.ctx_a", "subject-a", "admin", "because",
                                         json_pack("{s:s, s:i}", "k", "v", "n", 3)),
                     GH_DB_OK);
    assert_int_equal(
        gh_audit_ctx_append(&b, f->s.c, "test.ctx_b", "subject-b", "user-b", NULL, NULL), GH_DB_OK);

    expect_event(f, "test.ctx_a",
                 (const char *const[NCOLS]){T, "subject-a", "admin", "192.0.2.7", "ctx-agent/1",
                                            "success", "because", "{\"k\":\"v\",\"n\":3}"});
    expect_event(f, "test.ctx_b",
                 (const char *const[NCOLS]){OTHER, "subject-b", "user-b", "2001:db8::9",
                                            "ctx-agent/2", "success", NULL, "{}"});
}

/* A command's context has no address or agent (""): stored as the
 * context holds them, like gh_api_audit does for a request without one. */
static void empty_context_fields_kept(void **state)
{
    struct fixture *f = *state;
    gh_ctx x = ctx_of(f, T, "", "");
    assert_int_equal(gh_audit_ctx_append(&x, f->s.c, "test.ctx_cli", "s", "cli", NULL, NULL),
                     GH_DB_OK);
    expect_event(f, "test.ctx_cli",
                 (const char *const[NCOLS]){T, "s", "cli", "", "", "success", NULL, "{}"});
}

/* The outcome variant (the sign-in steps' failures) writes the outcome
 * it is given; the rest as above. */
static void outcome_given(void **state)
{
    struct fixture *f = *state;
    gh_ctx x = ctx_of(f, T, "192.0.2.7", "ctx-agent/1");
    assert_int_equal(gh_audit_ctx_outcome(&x, f->s.c, "test.ctx_failed", "user-a", "user-a",
                                          "failure", "wrong code", NULL),
                     GH_DB_OK);
    expect_event(f, "test.ctx_failed",
                 (const char *const[NCOLS]){T, "user-a", "user-a", "192.0.2.7", "ctx-agent/1",
                                            "failure", "wrong code", "{}"});
}

/* Written in the caller's transaction: rolled back with the change it
 * records, committed with it. */
static void in_the_callers_transaction(void **state)
{
    struct fixture *f = *state;
    gh_ctx x = ctx_of(f, T, "192.0.2.7", "ctx-agent/1");
    assert_int_equal(gh_db_begin(f->s.c), GH_DB_OK);
    assert_int_equal(gh_audit_ctx_append(&x, f->s.c, "test.ctx_tx", "s", "admin", NULL, NULL),
                     GH_DB_OK);
    gh_db_rollback(f->s.c);
    assert_int_equal(count_of(f, "test.ctx_tx"), 0);

    assert_int_equal(gh_db_begin(f->s.c), GH_DB_OK);
    assert_int_equal(gh_audit_ctx_append(&x, f->s.c, "test.ctx_tx", "s", "admin", NULL, NULL),
                     GH_DB_OK);
    assert_int_equal(gh_db_commit(f->s.c), GH_DB_OK);
    assert_int_equal(count_of(f, "test.ctx_tx"), 1);
}

/* The details are the helper's to release, written or not: one reference
 * kept here is the only one left after each call. */
static void details_stolen(void **state)
{
    struct fixture *f = *state;
    gh_ctx x = ctx_of(f, T, "192.0.2.7", "ctx-agent/1");
    json_t *d = json_pack("{s:s}", "k", "v");
    assert_non_null(d);

    json_incref(d);
    assert_int_equal(gh_audit_ctx_append(&x, f->s.c, "test.ctx_own", "s", "admin", NULL, d),
                     GH_DB_OK);
    assert_int_equal(d->refcount, 1);

    /* no connection: nothing written, GH_DB_BUSY, the details released */
    json_incref(d);
    assert_int_equal(gh_audit_ctx_append(&x, NULL, "test.ctx_none", "s", "admin", NULL, d),
                     GH_DB_BUSY);
    assert_int_equal(d->refcount, 1);
    assert_int_equal(count_of(f, "test.ctx_none"), 0);
    json_decref(d);
}

static long long signups_started(struct fixture *f)
{
    return test_metric(f->s.a, "gatehouse_signups_total{tenant=\"default\",stage=\"started\"}");
}

/* A journey event counts when its transaction commits: not while it is
 * open, never when it rolls back; outside a transaction at once. */
static void journey_counted_when_it_lands(void **state)
{
    struct fixture *f = *state;
    static const char *routes[] = {"/"};
    assert_int_equal(gh_metrics_init(routes, 1, 4), 0);
    gh_metrics_tenant_known(T);
    gh_ctx x = ctx_of(f, T, "192.0.2.7", "ctx-agent/1");
    assert_int_equal(signups_started(f), 0);

    assert_int_equal(gh_db_begin(f->s.c), GH_DB_OK);
    assert_int_equal(gh_audit_ctx_append(&x, f->s.c, "signup.created", "u1", "u1", NULL, NULL),
                     GH_DB_OK);
    assert_int_equal(signups_started(f), 0);
    gh_db_rollback(f->s.c);
    assert_int_equal(signups_started(f), 0);

    assert_int_equal(gh_db_begin(f->s.c), GH_DB_OK);
    assert_int_equal(gh_audit_ctx_append(&x, f->s.c, "signup.created", "u2", "u2", NULL, NULL),
                     GH_DB_OK);
    assert_int_equal(gh_db_commit(f->s.c), GH_DB_OK);
    assert_int_equal(signups_started(f), 1);

    /* a transaction whose commit fails counts nothing either */
    assert_int_equal(gh_db_begin(f->s.c), GH_DB_OK);
    assert_int_equal(gh_audit_ctx_append(&x, f->s.c, "signup.created", "u3", "u3", NULL, NULL),
                     GH_DB_OK);
    gh_db_fail(f->s.c, GH_DB_FAIL);
    assert_int_not_equal(gh_db_commit(f->s.c), GH_DB_OK);
    assert_int_equal(signups_started(f), 1);

    assert_int_equal(gh_audit_ctx_append(&x, f->s.c, "signup.created", "u4", "u4", NULL, NULL),
                     GH_DB_OK);
    assert_int_equal(signups_started(f), 2);

    /* many events in one transaction (a janitor's batch): none counted
     * before the commit, all after it */
    assert_int_equal(gh_db_begin(f->s.c), GH_DB_OK);
    for (int i = 0; i < 40; i++)
        assert_int_equal(gh_audit_ctx_append(&x, f->s.c, "signup.created", "u5", "u5", NULL, NULL),
                         GH_DB_OK);
    assert_int_equal(signups_started(f), 2);
    assert_int_equal(gh_db_commit(f->s.c), GH_DB_OK);
    assert_int_equal(signups_started(f), 42);
    gh_metrics_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(fields_from_the_context, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_context_fields_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(outcome_given, setup, teardown),
        cmocka_unit_test_setup_teardown(in_the_callers_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(details_stolen, setup, teardown),
        cmocka_unit_test_setup_teardown(journey_counted_when_it_lands, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
