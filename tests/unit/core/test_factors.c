/* Unit tests for the second-factor service (gh_factors) over a real store
 * (testdb.h): recovery codes as typed by hand and spent once, the level a
 * user's factors reach, where a first factor leads, and when a change
 * needs a fresh sign-in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "gh_assurance.h"
#include "gh_crypto.h"
#include "gh_factors.h"
#include "gh_log.h"
#include "gh_store_users.h"

#include "testdb.h"

#define T GH_DEFAULT_TENANT

struct fixture {
    test_db t;
    gh_db *db;
    gh_dbconn *c;
    gh_config cfg;
    gh_ctx x;
    const char *alice; /* user id */
};

static int teardown(void **state);

static int setup(void **state)
{
    char id[GH_UUID_STRLEN + 1];
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    f->db = test_db_open(&f->t, "gh-factors", 2);
    f->c = f->db ? gh_db_acquire(f->db) : NULL;
    f->cfg.reauth_window = 300;
    f->cfg.code_ttl = 600;
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

static void add_passkey(struct fixture *f)
{
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    gh_factor k = {.tenant_id = T,
                   .id = gh_arena_strdup(f->x.arena, id),
                   .user_id = f->alice,
                   .kind = GH_FACTOR_PASSKEY,
                   .name = "Key",
                   .credential_id = "cred-1",
                   .public_key = "pk",
                   .confirmed = true,
                   .created_at = 1000};
    assert_int_equal(gh_store_factor_insert(f->c, f->x.arena, &k), GH_DB_OK);
}

static void recovery_codes_are_typed_loosely_and_spent_once(void **state)
{
    struct fixture *f = *state;
    json_t *codes = NULL;
    gh_factors_verified v;
    gh_factors_enrolled e;
    assert_int_equal(gh_factors_recovery_new(&f->x, f->c, f->alice, &codes), GH_DB_OK);
    assert_int_equal(json_array_size(codes), 10);
    const char *shown = json_string_value(json_array_get(codes, 0));
    assert_int_equal(strlen(shown), 11); /* XXXXX-XXXXX */
    assert_int_equal(shown[5], '-');
    /* lower case, spaces instead of the dash: the same code */
    char typed[32];
    size_t n = 0;
    for (const char *p = shown; *p; p++)
        typed[n++] = *p == '-' ? ' ' : (char)tolower((unsigned char)*p);
    typed[n] = '\0';
    assert_true(gh_factors_recovery_check(&f->x, f->c, f->alice, typed, &v));
    assert_string_equal(v.method, GH_METHOD_RECOVERY);
    assert_false(gh_factors_recovery_check(&f->x, f->c, f->alice, shown, &v));
    assert_false(gh_factors_recovery_check(&f->x, f->c, f->alice, "AAAAA-AAAAA", &v));
    assert_false(gh_factors_recovery_check(&f->x, f->c, f->alice, "too short", &v));
    assert_int_equal(gh_factors_enrolled_get(&f->x, f->c, f->alice, &e), GH_DB_OK);
    assert_int_equal(e.recovery_left, 9);
    assert_false(gh_factors_has_second(&e));
    json_decref(codes);
}

static void reachable_level_follows_enrolled_factors(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(gh_factors_reachable(&f->x, f->alice), 1);
    add_passkey(f);
    assert_int_equal(gh_factors_reachable(&f->x, f->alice), 2);
    gh_factors_enrolled e;
    assert_int_equal(gh_factors_enrolled_get(&f->x, f->c, f->alice, &e), GH_DB_OK);
    assert_true(e.passkey && !e.totp && !e.email);
    json_t *m = gh_factors_methods(&e);
    char *text = json_dumps(m, JSON_COMPACT);
    assert_string_equal(text, "[\"passkey\"]");
    free(text);
    json_decref(m);
}

static void first_factor_leads_to_a_session_or_a_pending_step(void **state)
{
    struct fixture *f = *state;
    gh_factors_first out;
    gh_signin_decision allow = {.verdict = GH_SIGNIN_ALLOW};
    gh_signin_decision second = {.verdict = GH_SIGNIN_MORE, .need = GH_NEED_SECOND_FACTOR};
    gh_signin_decision refuse = {.verdict = GH_SIGNIN_REFUSE};
    assert_int_equal(
        gh_factors_first_factor(&f->x, f->c, f->alice, GH_METHOD_PASSWORD, &allow, &out), GH_DB_OK);
    assert_false(out.pending);
    assert_int_equal(out.aal, 1);
    assert_string_equal(out.amr, "[\"pwd\"]");
    assert_string_equal(out.factors, "[{\"method\":\"pwd\",\"time\":1700000000000}]");
    assert_int_equal(
        gh_factors_first_factor(&f->x, f->c, f->alice, GH_METHOD_PASSWORD, &refuse, &out),
        GH_DB_INVALID);
    add_passkey(f);
    assert_int_equal(
        gh_factors_first_factor(&f->x, f->c, f->alice, GH_METHOD_PASSWORD, &second, &out),
        GH_DB_OK);
    assert_true(out.pending);
    assert_int_equal(json_array_size(out.methods), 1);
    json_decref(out.methods);
    assert_int_equal(gh_factors_pending_put(&f->x, f->c, f->alice, GH_METHOD_PASSWORD, out.factors,
                                            "binding", "/account"),
                     GH_DB_OK);
    gh_challenge ch;
    assert_int_equal(
        gh_store_challenge_find(f->c, f->x.arena, T, GH_CH_MFA, "binding", f->x.now, &ch),
        GH_DB_OK);
    assert_string_equal(ch.user_id, f->alice);
    assert_int_equal(ch.expires_at, f->x.now + 600 * 1000);
}

static void sensitive_changes_need_a_recent_strong_sign_in(void **state)
{
    struct fixture *f = *state;
    gh_factors_enrolled e;
    gh_session s = {.auth_time = f->x.now - 10 * 1000, .aal = 1};
    assert_int_equal(gh_factors_enrolled_get(&f->x, f->c, f->alice, &e), GH_DB_OK);
    assert_false(gh_factors_reauth_needed(&f->x, &s, &e));
    s.auth_time = f->x.now - 301 * 1000; /* past GATEHOUSE_REAUTH_WINDOW */
    assert_true(gh_factors_reauth_needed(&f->x, &s, &e));
    add_passkey(f);
    assert_int_equal(gh_factors_enrolled_get(&f->x, f->c, f->alice, &e), GH_DB_OK);
    s.auth_time = f->x.now;
    assert_true(gh_factors_reauth_needed(&f->x, &s, &e)); /* AAL1 with a second factor */
    s.aal = 2;
    assert_false(gh_factors_reauth_needed(&f->x, &s, &e));
    s.fresh_required = true; /* a risk step-up: the recent sign-in no longer counts */
    assert_true(gh_factors_reauth_needed(&f->x, &s, &e));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(recovery_codes_are_typed_loosely_and_spent_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reachable_level_follows_enrolled_factors, setup, teardown),
        cmocka_unit_test_setup_teardown(first_factor_leads_to_a_session_or_a_pending_step, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(sensitive_changes_need_a_recent_strong_sign_in, setup,
                                        teardown),
    };
    gh_crypto_init();
    gh_log_set_level(GH_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
