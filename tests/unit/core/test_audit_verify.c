/* Unit tests for gh_audit_verify with the store: events appended through
 * gh_audit_append form a chain with signed checkpoints, an erasure keeps it
 * verifiable, and a changed or deleted row or checkpoint is named
 * (docs/audit.md; SECURITY.md #47), and a row the sealer refuses is
 * counted once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gh_audit.h"
#include "gh_audit_sealer.h"
#include "gh_audit_verify.h"
#include "gh_crypto.h"
#include "gh_keys.h"
#include "gh_metrics_series.h"
#include "testdb.h"

struct fixture {
    test_db t;
    gh_db *db;
    gh_dbconn *c;
    gh_arena *a;
    gh_config cfg;
    gh_app app;
};

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    gh_audit_log_set_sealer(NULL);
    gh_audit_log_set_chain_in_tx(true);
    if (f->c)
        gh_db_release(f->c);
    gh_keys_shutdown();
    gh_db_close(f->db);
    gh_arena_free(f->a);
    test_db_drop(&f->t);
    free(f);
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256] = "";
    if (!f)
        return -1;
    *state = f;
    if (!(f->db = test_db_open(&f->t, "gh-auditv", 2)))
        goto fail;
    gh_random(f->cfg.master_key, sizeof(f->cfg.master_key));
    f->cfg.master_key_set = true;
    f->cfg.keys_refresh = 30;
    f->cfg.access_token_ttl = 600;
    f->cfg.id_token_ttl = 3600;
    f->cfg.audit_checkpoint_events = 3;
    f->cfg.audit_checkpoint_minutes = 60;
    f->app.cfg = &f->cfg;
    f->app.db = f->db;
    f->a = gh_arena_new(0);
    if (gh_keys_init(&f->app, err, sizeof(err)) != 0 ||
        gh_audit_start(&f->app, err, sizeof(err)) != 0)
        goto fail;
    /* Without the sealer thread appends seal in their own transaction;
     * the sealer's tests below set a wake of their own and take its turns
     * by hand. */
    gh_audit_stop();
    f->c = gh_db_acquire(f->db);
    return f->c ? 0 : -1;
fail:
    fprintf(stderr, "test_audit_verify: setup: %s\n", err);
    teardown(state);
    *state = NULL;
    return -1;
}

/* n events of user u (outside any transaction: each in its own). */
static void append(struct fixture *f, const char *u, int n)
{
    for (int i = 0; i < n; i++) {
        json_t *d = json_pack("{s:s}", "email", "ann@example.com");
        gh_audit_event ev = {.tenant_id = "default",
                             .type = i % 2 ? "token.issued" : "signin.succeeded",
                             .subject = u,
                             .actor = u,
                             .ip = "192.0.2.1",
                             .user_agent = "test",
                             .details = d};
        assert_int_equal(gh_audit_append(f->c, f->a, &ev), GH_DB_OK);
        json_decref(d);
    }
}

static gh_audit_report verify(struct fixture *f)
{
    gh_audit_report r;
    assert_int_equal(gh_audit_verify_tenant(f->c, f->a, "default", &r), GH_DB_OK);
    return r;
}

/* Runs sql with the audit tables' triggers out of the way, as an attacker
 * with database access would. */
static void tamper(struct fixture *f, const char *sql)
{
    const char *off = gh_db_one_writer(f->c)
                          ? "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; "
                            "DROP TRIGGER audit_checkpoints_no_update"
                          : "ALTER TABLE audit_events DISABLE TRIGGER USER; "
                            "ALTER TABLE audit_checkpoints DISABLE TRIGGER USER";
    char *both = gh_arena_printf(f->a, "%s; %s", off, sql);
    for (char *s = both, *e; s && *s; s = e ? e + 1 : NULL) {
        e = strchr(s, ';');
        if (e)
            *e = 0;
        assert_int_equal(gh_db_exec_built(f->c, f->a, s, NULL, 0, NULL), GH_DB_OK);
    }
}

static long long seq_at(struct fixture *f, int n)
{
    gh_dbres r;
    gh_dbparam p[] = {GH_INT(n)};
    assert_int_equal(gh_db_exec_row(f->c, f->a,
                                    "SELECT seq FROM audit_events WHERE tenant_id = 'default' "
                                    "AND chain_n = $1",
                                    p, 1, &r),
                     GH_DB_OK);
    return gh_dbres_int(&r, 0, 0);
}

static void appended_chain_verifies_with_checkpoints(void **state)
{
    struct fixture *f = *state;
    append(f, "u1", 7);
    gh_audit_report r = verify(f);
    assert_true(r.ok);
    assert_int_equal(r.events, 7);
    assert_int_equal(r.checkpoints, 2); /* at 3 and 6 */
    assert_int_equal(r.last_cp, 6);
}

static void erasure_keeps_the_chain(void **state)
{
    struct fixture *f = *state;
    append(f, "u1", 2);
    append(f, "u2", 2);
    long long changed = 0;
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(
        gh_audit_pseudonymise(f->c, f->a, "default", "u1", "pseud:x", "ann@example.com", &changed),
        GH_DB_OK);
    assert_int_equal(gh_db_commit(f->c), GH_DB_OK);
    assert_true(changed >= 4); /* a row may count once per UPDATE that touched it */
    gh_audit_report r = verify(f);
    assert_true(r.ok);
    assert_int_equal(r.erased, 4);
}

static void altered_row_named(void **state)
{
    struct fixture *f = *state;
    append(f, "u1", 5);
    tamper(f, "UPDATE audit_events SET outcome = 'failure' WHERE chain_n = 4");
    gh_audit_report r = verify(f);
    assert_false(r.ok);
    assert_int_equal(r.seq, seq_at(f, 4));
    assert_int_equal(r.n, 4);
    assert_non_null(strstr(r.what, "altered"));
}

/* The last chained event's position cleared (its hash kept): the walk
 * ends one event early, and the read of the rows outside the chain names
 * that event, not the head's count. */
static void position_removed_named(void **state)
{
    struct fixture *f = *state;
    append(f, "u1", 5);
    long long last = seq_at(f, 5);
    tamper(f, "UPDATE audit_events SET chain_n = NULL WHERE chain_n = 5");
    gh_audit_report r = verify(f);
    assert_false(r.ok);
    assert_int_equal(r.seq, last);
    assert_non_null(strstr(r.what, "altered"));
}

static void deleted_row_named(void **state)
{
    struct fixture *f = *state;
    append(f, "u1", 5);
    long long next = seq_at(f, 3);
    tamper(f, "DELETE FROM audit_events WHERE chain_n = 2");
    gh_audit_report r = verify(f);
    assert_false(r.ok);
    assert_int_equal(r.seq, next);
    assert_non_null(strstr(r.what, "missing"));
}

/* The last events deleted and the head rewound to match: the signed
 * checkpoint past the end tells. */
static void truncation_caught_by_checkpoint(void **state)
{
    struct fixture *f = *state;
    append(f, "u1", 4);
    tamper(f, "DELETE FROM audit_events WHERE chain_n >= 3; UPDATE audit_chain_heads SET n = 2, "
              "hash = (SELECT hash FROM audit_events WHERE chain_n = 2)");
    gh_audit_report r = verify(f);
    assert_false(r.ok);
    assert_int_equal(r.n, 3);
    assert_non_null(strstr(r.what, "checkpoint"));
}

static void altered_checkpoint_refused(void **state)
{
    struct fixture *f = *state;
    append(f, "u1", 3);
    tamper(f, "UPDATE audit_checkpoints SET time = time + 1");
    gh_audit_report r = verify(f);
    assert_false(r.ok);
    assert_int_equal(r.seq, 0);
    assert_non_null(strstr(r.what, "checkpoint at position 3"));
}

/* A copy of the event at position 1000 under another id: verify reads the
 * chain 1000 rows at a time, and the copy, the first row of the second
 * batch, is read too and named (with a cursor of the position alone it was
 * skipped and verify passed). */
static void duplicate_position_at_a_batch_end_named(void **state)
{
    struct fixture *f = *state;
    append(f, "u1", 1001);
    tamper(f, "INSERT INTO audit_events (tenant_id, id, time, type, subject, actor, ip, "
              "user_agent, outcome, reason, details, chain_n, prev_hash, pii_digest, hash, "
              "seal_mac) SELECT tenant_id, 'copy', time, type, subject, actor, ip, user_agent, "
              "outcome, reason, details, chain_n, prev_hash, pii_digest, hash, seal_mac FROM "
              "audit_events WHERE chain_n = 1000");
    gh_dbres q;
    assert_int_equal(
        gh_db_exec_row(f->c, f->a, "SELECT seq FROM audit_events WHERE id = 'copy'", NULL, 0, &q),
        GH_DB_OK);
    gh_audit_report r = verify(f);
    assert_false(r.ok);
    assert_int_equal(r.seq, gh_dbres_int(&q, 0, 0));
    assert_int_equal(r.events, 1000);
}

static void insert_plain(struct fixture *f, const char *tenant, long long time)
{
    static const char old[] =
        "INSERT INTO audit_events (tenant_id, id, time, type, subject, actor, ip, user_agent, "
        "outcome, reason, details) VALUES ($1, $2, $3, 'signin.succeeded', 'u9', 'u9', "
        "'192.0.2.9', 'old', 'success', NULL, '{}')";
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(time)};
    assert_int_equal(gh_db_exec(f->c, f->a, old, p, 3, NULL), GH_DB_OK);
}

/* Events written before migration 19 (no chain columns, no seal MAC, seq
 * up to audit_legacy) are chained by the first start, in seq order, and new
 * events continue that chain. */
static void old_events_backfilled(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 3; i++)
        insert_plain(f, i == 2 ? "acme" : "default", 1000 + i);
    /* as migration 33 records the events it finds without a hash */
    assert_int_equal(gh_db_exec(f->c, f->a,
                                "UPDATE audit_legacy SET max_seq = (SELECT MAX(seq) FROM "
                                "audit_events)",
                                NULL, 0, NULL),
                     GH_DB_OK);
    gh_audit_report r;
    assert_int_equal(gh_audit_verify_tenant(f->c, f->a, "default", &r), GH_DB_OK);
    assert_false(r.ok);
    assert_non_null(strstr(r.what, "never chained"));
    long long n = 0, refused = 0;
    assert_int_equal(gh_audit_log_seal(f->c, f->a, &n, &refused), GH_DB_OK);
    assert_int_equal(n, 3);
    assert_int_equal(refused, 0);
    append(f, "u1", 1);
    r = verify(f);
    assert_true(r.ok);
    assert_int_equal(r.events, 3);
    assert_int_equal(gh_audit_verify_tenant(f->c, f->a, "acme", &r), GH_DB_OK);
    assert_true(r.ok);
    assert_int_equal(r.events, 1);
    /* once chained, the trigger refuses a change of the chain columns */
    assert_int_not_equal(
        gh_db_exec(f->c, f->a, "UPDATE audit_events SET hash = NULL", NULL, 0, NULL), GH_DB_OK);
}

/* The sealer's wake, counted (the tests turn the sealer by hand). */
static int wakes;
static void count_wake(void)
{
    wakes++;
}

/* With a sealer, an append leaves its event unsealed and wakes it; verify
 * counts the event as waiting, and the sealer's turn chains it with its
 * checkpoint. */
static void sealer_chains_after_commit(void **state)
{
    struct fixture *f = *state;
    wakes = 0;
    gh_audit_log_set_sealer(count_wake);
    gh_audit_log_set_chain_in_tx(false); /* SQLite too: the sealer chains */
    append(f, "u1", 4);
    assert_int_equal(wakes, 4);
    gh_audit_report r = verify(f);
    assert_true(r.ok);
    assert_int_equal(r.events, 0);
    assert_int_equal(r.unsealed, 4);
    /* an event not sealed yet may change only as the sealer or an erasure
     * changes it */
    assert_int_not_equal(
        gh_db_exec(f->c, f->a, "UPDATE audit_events SET type = 'x'", NULL, 0, NULL), GH_DB_OK);
    assert_int_not_equal(
        gh_db_exec(f->c, f->a, "UPDATE audit_events SET seal_mac = 'x'", NULL, 0, NULL), GH_DB_OK);
    assert_int_equal(gh_audit_sealer_once(f->db), 4);
    r = verify(f);
    assert_true(r.ok);
    assert_int_equal(r.events, 4);
    assert_int_equal(r.unsealed, 0);
    assert_int_equal(r.checkpoints, 1); /* at the turn's last event, 4 */
    assert_int_equal(r.last_cp, 4);
    assert_int_equal(gh_audit_sealer_once(f->db), 0);
}

/* An unsealed event altered (trigger dropped) before the sealer's turn is
 * not chained, and verify names it; the events around it are chained. */
static void unsealed_altered_event_refused(void **state)
{
    struct fixture *f = *state;
    gh_audit_log_set_sealer(count_wake);
    gh_audit_log_set_chain_in_tx(false); /* SQLite too: the sealer chains */
    append(f, "u1", 3);
    gh_dbres q;
    assert_int_equal(gh_db_exec(f->c, f->a,
                                "SELECT seq FROM audit_events ORDER BY seq LIMIT 1 OFFSET 1", NULL,
                                0, &q),
                     GH_DB_OK);
    long long bad = gh_dbres_int(&q, 0, 0);
    tamper(f, gh_arena_printf(f->a, "UPDATE audit_events SET outcome = 'failure' WHERE seq = %lld",
                              bad));
    gh_audit_report r = verify(f);
    assert_false(r.ok);
    assert_int_equal(r.seq, bad);
    assert_non_null(strstr(r.what, "seal MAC"));
    assert_int_equal(gh_audit_sealer_once(f->db), 2);
    r = verify(f);
    assert_false(r.ok);
    assert_int_equal(r.seq, bad);
    assert_int_equal(r.events, 2);
}

/* A row inserted by hand without a seal MAC, after the legacy events, is
 * never chained: the sealer leaves it and verify names it. */
static void hand_inserted_event_refused(void **state)
{
    struct fixture *f = *state;
    gh_audit_log_set_sealer(count_wake);
    gh_audit_log_set_chain_in_tx(false); /* SQLite too: the sealer chains */
    append(f, "u1", 1);
    insert_plain(f, "default", 5000);
    append(f, "u1", 1);
    assert_int_equal(gh_audit_sealer_once(f->db), 2);
    gh_audit_report r = verify(f);
    assert_false(r.ok);
    assert_int_equal(r.events, 2);
    assert_non_null(strstr(r.what, "inserted by hand"));
}

/* A customer erased before the sealer's turn: the erasure may change the
 * unsealed events, and they chain and verify as erased. */
static void erasure_before_the_seal(void **state)
{
    struct fixture *f = *state;
    gh_audit_log_set_sealer(count_wake);
    gh_audit_log_set_chain_in_tx(false); /* SQLite too: the sealer chains */
    append(f, "u1", 2);
    append(f, "u2", 1);
    long long changed = 0;
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(
        gh_audit_pseudonymise(f->c, f->a, "default", "u1", "pseud:x", "ann@example.com", &changed),
        GH_DB_OK);
    assert_int_equal(gh_db_commit(f->c), GH_DB_OK);
    assert_int_equal(gh_audit_sealer_once(f->db), 3);
    gh_audit_report r = verify(f);
    assert_true(r.ok);
    assert_int_equal(r.events, 3);
    assert_int_equal(r.erased, 3);
}

static long long refused_metric(struct fixture *f)
{
    return test_metric(f->a, "gatehouse_audit_sealed_total{result=\"refused\"}");
}

/* Each refused event is logged and counted once, whatever order its
 * tenant is sealed in: here "default" (its forged row inserted last, seq
 * higher) is sealed before "acme" (seq lower), and a later turn meeting
 * both again counts neither. */
static void refused_counted_once_across_tenants(void **state)
{
    struct fixture *f = *state;
    static const char *routes[] = {"/"};
    assert_int_equal(gh_metrics_init(routes, 1, 4), 0);
    gh_audit_log_set_sealer(count_wake);
    insert_plain(f, "acme", 5000);
    insert_plain(f, "default", 5001);
    const char *order[] = {"default", "acme"};
    long long sealed = 0, refused = 0;
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
        assert_int_equal(gh_audit_log_seal_tenant(f->c, f->a, order[i], &sealed, &refused),
                         GH_DB_OK);
        assert_int_equal(gh_db_commit(f->c), GH_DB_OK);
    }
    assert_int_equal(sealed, 0);
    assert_int_equal(refused, 2);
    assert_int_equal(refused_metric(f), 2);
    assert_int_equal(gh_audit_sealer_once(f->db), 0);
    assert_int_equal(refused_metric(f), 2);
    gh_metrics_shutdown();
}

/* On SQLite, whose write transaction holds the one write lock already, an
 * append chains its event as it inserts it, sealer or not: nothing waits
 * for the sealer and nothing wakes it. On PostgreSQL it leaves the event to
 * the sealer. */
static void sqlite_chains_in_the_append(void **state)
{
    struct fixture *f = *state;
    wakes = 0;
    gh_audit_log_set_sealer(count_wake);
    append(f, "u1", 4);
    gh_audit_report r = verify(f);
    assert_true(r.ok);
    if (gh_db_one_writer(f->c)) {
        assert_int_equal(wakes, 0);
        assert_int_equal(r.events, 4);
        assert_int_equal(r.unsealed, 0);
        assert_int_equal(r.checkpoints, 1); /* every 3 events */
    } else {
        assert_int_equal(wakes, 4);
        assert_int_equal(r.events, 0);
        assert_int_equal(r.unsealed, 4);
    }
    assert_int_equal(gh_audit_sealer_once(f->db), gh_db_one_writer(f->c) ? 0 : 4);
    r = verify(f);
    assert_true(r.ok);
    assert_int_equal(r.events, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(appended_chain_verifies_with_checkpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(erasure_keeps_the_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(altered_row_named, setup, teardown),
        cmocka_unit_test_setup_teardown(deleted_row_named, setup, teardown),
        cmocka_unit_test_setup_teardown(position_removed_named, setup, teardown),
        cmocka_unit_test_setup_teardown(truncation_caught_by_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(altered_checkpoint_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(old_events_backfilled, setup, teardown),
        cmocka_unit_test_setup_teardown(duplicate_position_at_a_batch_end_named, setup, teardown),
        cmocka_unit_test_setup_teardown(sealer_chains_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(sqlite_chains_in_the_append, setup, teardown),
        cmocka_unit_test_setup_teardown(unsealed_altered_event_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(hand_inserted_event_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(erasure_before_the_seal, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_counted_once_across_tenants, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
