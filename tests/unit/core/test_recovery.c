/* Unit tests for the recovery service (core/gh_recovery) over a real store
 * (testdb.h), without HTTP: where a proven email leads for each kind of
 * account, the waiting period's states, and the reset's own check of the
 * rule (SECURITY.md #32; docs/recovery.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gh_assurance.h"
#include "gh_crypto.h"
#include "gh_recovery.h"
#include "gh_store_mfa.h"
#include "gh_store_users.h"

#include "testdb.h"

#define T       GH_DEFAULT_TENANT
#define BROWSER "b1nd1ng"

struct fixture {
    test_db t;
    gh_db *db;
    gh_dbconn *c;
    gh_config cfg;
    gh_ctx x;
    const char *alice;
    const char *email_only; /* factors: the email proven */
};

static int teardown(void **state);

static int setup(void **state)
{
    char id[GH_UUID_STRLEN + 1];
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    f->db = test_db_open(&f->t, "gh-recovery", 2);
    f->c = f->db ? gh_db_acquire(f->db) : NULL;
    f->cfg.code_ttl = 600;
    f->cfg.recovery_wait = 72 * 3600;
    gh_random(f->cfg.master_key, sizeof(f->cfg.master_key));
    f->cfg.master_key_set = true;
    f->x = (gh_ctx){.tenant = T,
                    .arena = gh_arena_new(0),
                    .cfg = &f->cfg,
                    .now = 1700000000000,
                    .client_ip = "192.0.2.1",
                    .user_agent = "test",
                    .db = f->c};
    if (!f->c || !f->x.arena)
        goto fail;
    gh_uuid(id);
    gh_user u = {.tenant_id = T,
                 .id = gh_arena_strdup(f->x.arena, id),
                 .username = "alice@example.com",
                 .email = "alice@example.com",
                 .active = true,
                 .version = 1,
                 .created_at = 1000,
                 .updated_at = 1000};
    if (gh_store_user_insert(f->c, f->x.arena, &u) != GH_DB_OK)
        goto fail;
    f->alice = u.id;
    f->email_only =
        gh_assurance_factors_add(f->x.arena, "[]", GH_METHOD_EMAIL, NULL, false, false, f->x.now);
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

static void add_totp(struct fixture *f)
{
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    gh_factor k = {.tenant_id = T,
                   .id = gh_arena_strdup(f->x.arena, id),
                   .user_id = f->alice,
                   .kind = GH_FACTOR_TOTP,
                   .name = "Phone",
                   .secret = "sealed",
                   .confirmed = true,
                   .created_at = 1000};
    assert_int_equal(gh_store_factor_insert(f->c, f->x.arena, &k), GH_DB_OK);
}

static gh_recovery_next email_proved(struct fixture *f, gh_recovery_wait *w)
{
    gh_recovery_rule rule;
    gh_recovery_next next;
    assert_int_equal(gh_recovery_email_proved(&f->x, f->c, f->alice, BROWSER, f->email_only, NULL,
                                              &rule, &next, w),
                     GH_DB_OK);
    return next;
}

static int factor_rows(struct fixture *f)
{
    gh_factor *list = NULL;
    size_t n = 0;
    assert_int_equal(gh_store_factor_list(f->c, f->x.arena, T, f->alice, &list, &n), GH_DB_OK);
    return (int)n;
}

static void email_alone_resets_a_password_only_account(void **state)
{
    struct fixture *f = *state;
    gh_recovery_wait w;
    gh_recovery_ticket t;
    int aal = 0;
    const char *amr = NULL;
    bool removed = true;
    assert_int_equal(email_proved(f, &w), GH_RECOVERY_NEXT_PASSWORD);
    assert_int_equal(gh_recovery_ticket_find(&f->x, f->c, BROWSER, &t), GH_DB_OK);
    assert_null(t.wait_id);
    assert_int_equal(gh_recovery_complete(&f->x, f->c, &t, "$argon2id$fake", &aal, &amr, &removed),
                     GH_DB_OK);
    assert_int_equal(aal, 1);
    assert_false(removed);
    /* spent */
    assert_int_equal(gh_recovery_ticket_find(&f->x, f->c, BROWSER, &t), GH_DB_NOTFOUND);
}

/* A ticket made before the account gained a factor is not enough after:
 * the reset checks the rule against the account as it is. */
static void the_reset_checks_the_rule_again(void **state)
{
    struct fixture *f = *state;
    gh_recovery_wait w;
    gh_recovery_ticket t;
    int aal = 0;
    const char *amr = NULL;
    bool removed = false;
    assert_int_equal(email_proved(f, &w), GH_RECOVERY_NEXT_PASSWORD);
    assert_int_equal(gh_recovery_ticket_find(&f->x, f->c, BROWSER, &t), GH_DB_OK);
    add_totp(f);
    assert_int_equal(gh_recovery_complete(&f->x, f->c, &t, "$argon2id$fake", &aal, &amr, &removed),
                     GH_DB_INVALID);
}

static void a_factor_is_required_then_waiting_replaces_it(void **state)
{
    struct fixture *f = *state;
    gh_recovery_wait w, started;
    gh_recovery_ticket t;
    const char *token = NULL;
    int aal = 0;
    const char *amr = NULL;
    bool removed = false;
    add_totp(f);
    assert_int_equal(email_proved(f, &w), GH_RECOVERY_NEXT_FACTOR);
    assert_int_equal(gh_recovery_wait_start(&f->x, f->c, f->alice, &started, &token), GH_DB_OK);
    assert_non_null(token);
    assert_int_equal(started.ends_at, f->x.now + 72LL * 3600 * 1000);
    /* a second start answers the running wait, with no new link */
    assert_int_equal(gh_recovery_wait_start(&f->x, f->c, f->alice, &w, &token), GH_DB_OK);
    assert_null(token);
    assert_string_equal(w.id, started.id);
    /* before the end: nothing */
    f->x.now = started.ends_at - 1;
    assert_int_equal(email_proved(f, &w), GH_RECOVERY_NEXT_WAITING);
    /* at the end: the ticket rests on the wait, and the reset removes the factors */
    f->x.now = started.ends_at;
    assert_int_equal(email_proved(f, &w), GH_RECOVERY_NEXT_PASSWORD);
    assert_int_equal(gh_recovery_ticket_find(&f->x, f->c, BROWSER, &t), GH_DB_OK);
    assert_string_equal(t.wait_id, started.id);
    assert_int_equal(gh_recovery_complete(&f->x, f->c, &t, "$argon2id$fake", &aal, &amr, &removed),
                     GH_DB_OK);
    assert_true(removed);
    assert_int_equal(factor_rows(f), 0);
    assert_int_equal(gh_store_wait_get(f->c, f->x.arena, T, started.id, &w), GH_DB_OK);
    assert_string_equal(w.state, GH_WAIT_COMPLETED);
}

static void a_sign_in_or_the_link_cancels_the_wait(void **state)
{
    struct fixture *f = *state;
    gh_recovery_wait w, started;
    const char *token = NULL;
    add_totp(f);
    assert_int_equal(gh_recovery_wait_start(&f->x, f->c, f->alice, &started, &token), GH_DB_OK);
    assert_int_equal(gh_recovery_cancel_on_signin(&f->x, f->c, f->alice), GH_DB_OK);
    assert_int_equal(gh_store_wait_get(f->c, f->x.arena, T, started.id, &w), GH_DB_OK);
    assert_string_equal(w.state, GH_WAIT_CANCELLED);
    f->x.now = started.ends_at + 1;
    assert_int_equal(email_proved(f, &w), GH_RECOVERY_NEXT_FACTOR); /* the factor again */

    /* a new wait; a wrong token does nothing, the right one cancels once */
    assert_int_equal(gh_recovery_wait_start(&f->x, f->c, f->alice, &started, &token), GH_DB_OK);
    /* the token with its first character changed (never to itself: a random
     * token starts with 'x' once in 64 runs) */
    char wrong[64];
    snprintf(wrong, sizeof(wrong), "%c%s", token[0] == 'x' ? 'y' : 'x', token + 1);
    assert_int_equal(
        gh_recovery_wait_cancel(&f->x, f->c, started.id, wrong, "owner", "r", "why", &w),
        GH_DB_NOTFOUND);
    assert_int_equal(
        gh_recovery_wait_cancel(&f->x, f->c, started.id, token, "owner", "r", "why", &w), GH_DB_OK);
    assert_int_equal(
        gh_recovery_wait_cancel(&f->x, f->c, started.id, token, "owner", "r", "why", &w),
        GH_DB_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(email_alone_resets_a_password_only_account, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_reset_checks_the_rule_again, setup, teardown),
        cmocka_unit_test_setup_teardown(a_factor_is_required_then_waiting_replaces_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_sign_in_or_the_link_cancels_the_wait, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
