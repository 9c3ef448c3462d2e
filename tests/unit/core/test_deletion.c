/* Unit tests for account deletion (gh_deletion) over a real store
 * (testdb.h), without HTTP: the pseudonym is stable and keyed, a request
 * deactivates and a restore reactivates, and a purge removes the user while
 * their audit events stay under the pseudonym with ip, user agent and the
 * address erased, and nobody else's events change (docs/accounts-api.md
 * "What deletion keeps"; SECURITY.md #31, #47). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit.h"
#include "gh_crypto.h"
#include "gh_deletion.h"
#include "gh_store_users.h"

#include "testdb.h"

#define T "default"

struct fixture {
    test_db t;
    gh_db *db;
    gh_dbconn *c;
    gh_config cfg;
    gh_ctx x;
    const char *alice, *bob;
};

static int teardown(void **state);

static const char *add_user(struct fixture *f, const char *email)
{
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    gh_user u = {.tenant_id = T,
                 .id = gh_arena_strdup(f->x.arena, id),
                 .username = email,
                 .email = email,
                 .active = true,
                 .version = 1,
                 .created_at = 1000,
                 .updated_at = 1000};
    return gh_store_user_insert(f->c, f->x.arena, &u) == GH_DB_OK ? u.id : NULL;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    f->db = test_db_open(&f->t, "gh-deletion", 2);
    f->c = f->db ? gh_db_acquire(f->db) : NULL;
    memset(f->cfg.master_key, 7, sizeof(f->cfg.master_key));
    f->cfg.deletion_grace = 30 * 86400;
    f->x = (gh_ctx){.tenant = T,
                    .arena = gh_arena_new(0),
                    .cfg = &f->cfg,
                    .now = 1700000000000,
                    .client_ip = "192.0.2.1",
                    .user_agent = "test-agent",
                    .db = f->c};
    if (!f->c || !f->x.arena)
        goto fail;
    f->alice = add_user(f, "alice_1@example.com");
    f->bob = add_user(f, "bob@example.com");
    if (!f->alice || !f->bob)
        goto fail;
    return 0;
fail:
    teardown(state);
    *state = NULL;
    return -1;
}

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

static void event(struct fixture *f, const char *type, const char *subject, json_t *details)
{
    gh_audit_event ev = {.tenant_id = T,
                         .type = type,
                         .subject = subject,
                         .actor = subject,
                         .ip = "192.0.2.9",
                         .user_agent = "agent",
                         .outcome = "success",
                         .details = details};
    assert_int_equal(gh_audit_append(f->c, f->x.arena, &ev), GH_DB_OK);
    json_decref(details);
}

static long long count(struct fixture *f, const char *sql, const char *arg)
{
    gh_dbparam p[] = {GH_TEXT(arg)};
    gh_dbres r;
    assert_int_equal(gh_db_exec(f->c, f->x.arena, sql, p, 1, &r), GH_DB_OK);
    return gh_dbres_int(&r, 0, 0);
}

static void the_pseudonym_is_stable_and_keyed(void **state)
{
    struct fixture *f = *state;
    char a[GH_DELETION_PSEUDONYM_LEN + 1], b[GH_DELETION_PSEUDONYM_LEN + 1];
    gh_deletion_pseudonym(&f->cfg, T, f->alice, a);
    gh_deletion_pseudonym(&f->cfg, T, f->alice, b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), GH_DELETION_PSEUDONYM_LEN);
    assert_memory_equal(a, "pseud:", 6);
    for (const char *p = a + 6; *p; p++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
    assert_null(strstr(a, f->alice));
    gh_deletion_pseudonym(&f->cfg, T, f->bob, b);
    assert_string_not_equal(a, b); /* another user */
    gh_deletion_pseudonym(&f->cfg, "acme", f->alice, b);
    assert_string_not_equal(a, b); /* another tenant */
    gh_config other = f->cfg;
    other.master_key[0] ^= 1;
    gh_deletion_pseudonym(&other, T, f->alice, b);
    assert_string_not_equal(a, b); /* another master key */
}

static void a_request_deactivates_and_a_restore_reactivates(void **state)
{
    struct fixture *f = *state;
    gh_user u;
    long long at = 0, got = 0;
    assert_int_equal(gh_store_user_get(f->c, f->x.arena, T, f->alice, &u), GH_DB_OK);
    assert_int_equal(gh_deletion_request(&f->x, f->c, &u, "http://localhost/signin", &at),
                     GH_DB_OK);
    assert_int_equal(at, f->x.now + 30LL * 86400 * 1000);
    assert_int_equal(gh_store_user_deletion_get(f->c, f->x.arena, T, f->alice, &got), GH_DB_OK);
    assert_int_equal(got, at);
    assert_int_equal(gh_store_user_get(f->c, f->x.arena, T, f->alice, &u), GH_DB_OK);
    assert_false(u.active);
    /* only an active account can be asked to go, and only once */
    assert_int_equal(gh_deletion_request(&f->x, f->c, &u, "http://localhost/signin", &at),
                     GH_DB_NOTFOUND);
    assert_int_equal(
        count(f, "SELECT count(*) FROM mail_outbox WHERE to_addr = $1", "alice_1@example.com"), 1);
    /* not due yet; due once the grace period is over */
    const char **tenants, **ids;
    size_t n = 9;
    assert_int_equal(gh_store_user_deletion_due(f->c, f->x.arena, at - 1, 10, &tenants, &ids, &n),
                     GH_DB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(gh_store_user_deletion_due(f->c, f->x.arena, at, 10, &tenants, &ids, &n),
                     GH_DB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], f->alice);

    assert_int_equal(gh_deletion_restore(&f->x, f->c, f->alice), GH_DB_OK);
    assert_int_equal(gh_store_user_get(f->c, f->x.arena, T, f->alice, &u), GH_DB_OK);
    assert_true(u.active);
    assert_int_equal(gh_store_user_deletion_get(f->c, f->x.arena, T, f->alice, &got), GH_DB_OK);
    assert_int_equal(got, 0);
    assert_int_equal(gh_deletion_restore(&f->x, f->c, f->alice), GH_DB_NOTFOUND);
}

static void a_purge_keeps_the_events_under_the_pseudonym(void **state)
{
    struct fixture *f = *state;
    gh_user u;
    char pseud[GH_DELETION_PSEUDONYM_LEN + 1];
    gh_deletion_pseudonym(&f->cfg, T, f->alice, pseud);
    event(f, "signin.succeeded", f->alice, NULL);
    event(f, "scim.user.created", f->alice, json_pack("{s:s}", "userName", "alice_1@example.com"));
    event(f, "signin.succeeded", f->bob, json_pack("{s:s}", "note", "bob@example.com"));

    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(gh_deletion_purge(&f->x, f->c, f->alice, "admin", "scim.user.deleted", NULL),
                     GH_DB_OK);
    assert_int_equal(gh_db_commit(f->c), GH_DB_OK);

    assert_int_equal(gh_store_user_get(f->c, f->x.arena, T, f->alice, &u), GH_DB_NOTFOUND);
    assert_int_equal(
        count(f, "SELECT count(*) FROM audit_events WHERE subject = $1 OR actor = $1", f->alice),
        0);
    /* two of theirs and the purge's own */
    assert_int_equal(count(f, "SELECT count(*) FROM audit_events WHERE subject = $1", pseud), 3);
    assert_int_equal(count(f,
                           "SELECT count(*) FROM audit_events WHERE subject = $1 AND "
                           "type <> 'scim.user.deleted' AND (ip IS NOT NULL OR "
                           "user_agent IS NOT NULL)",
                           pseud),
                     0);
    assert_int_equal(count(f, "SELECT count(*) FROM audit_events WHERE details LIKE $1",
                           "%alice_1@example.com%"),
                     0);
    assert_int_equal(
        count(f, "SELECT count(*) FROM audit_events WHERE details LIKE $1", "%[erased]%"), 1);
    /* bob's event is as written */
    assert_int_equal(count(f,
                           "SELECT count(*) FROM audit_events WHERE subject = $1 AND "
                           "ip = '192.0.2.9' AND details LIKE '%bob@example.com%'",
                           f->bob),
                     1);
    /* gone is gone */
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(gh_deletion_purge(&f->x, f->c, f->alice, "admin", "scim.user.deleted", NULL),
                     GH_DB_NOTFOUND);
    gh_db_rollback(f->c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_pseudonym_is_stable_and_keyed, setup, teardown),
        cmocka_unit_test_setup_teardown(a_request_deactivates_and_a_restore_reactivates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_purge_keeps_the_events_under_the_pseudonym, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
