/* Unit tests for the session service (gh_sessions) over a real store
 * (testdb.h), without HTTP: a session is found by its token only while it
 * lives, a step-up or a new sign-in leaves the old token dead, the idle and
 * absolute timers end it, and the per-account cap ends the oldest. Tokens
 * are checked with copies of the old values, as an attacker would hold
 * them (SECURITY.md: ASVS 7.2.4, 7.3.1, 7.3.2; SP 800-63B 7.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gh_crypto.h"
#include "gh_sessions.h"
#include "gh_store_sessions.h"
#include "gh_store_users.h"

#include "testdb.h"

#define T       GH_DEFAULT_TENANT
#define AMR     "[\"pwd\"]"
#define FACTORS "[{\"method\":\"pwd\",\"time\":1}]"

struct fixture {
    test_db t;
    gh_db *db;
    gh_dbconn *c;
    gh_config cfg;
    gh_ctx x;
    const char *alice;
};

static int teardown(void **state);

static int setup(void **state)
{
    char id[GH_UUID_STRLEN + 1];
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    f->db = test_db_open(&f->t, "gh-sessions", 2);
    f->c = f->db ? gh_db_acquire(f->db) : NULL;
    f->cfg.session_idle = 1800;
    f->cfg.session_absolute = 43200;
    f->cfg.max_sessions = 3;
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

static gh_session_started start(struct fixture *f, const gh_session *replaced, const char *device)
{
    gh_session_started st;
    assert_int_equal(
        gh_sessions_start(&f->x, f->c, replaced, f->alice, AMR, 1, FACTORS, device, &st), GH_DB_OK);
    assert_non_null(st.token);
    assert_int_equal(strlen(st.token), GH_SESSION_TOKEN_LEN);
    return st;
}

static gh_dbrc find(struct fixture *f, const char *token, gh_session *s)
{
    return gh_sessions_find(&f->x, f->c, token, s);
}

static void a_session_is_found_by_its_token_only(void **state)
{
    struct fixture *f = *state;
    gh_session s;
    gh_session_started st = start(f, NULL, NULL);
    assert_int_equal(find(f, st.token, &s), GH_DB_OK);
    assert_string_equal(s.user_id, f->alice);
    assert_int_equal(s.aal, 1);
    assert_int_equal(st.max_age, 43200);
    /* one character off, a malformed value, nothing: no session */
    char other[GH_SESSION_TOKEN_LEN + 1];
    strcpy(other, st.token);
    other[0] = other[0] == 'A' ? 'B' : 'A';
    assert_int_equal(find(f, other, &s), GH_DB_NOTFOUND);
    assert_int_equal(find(f, "short", &s), GH_DB_NOTFOUND);
    assert_int_equal(find(f, NULL, &s), GH_DB_NOTFOUND);
}

static void the_device_cookie_is_kept_or_made(void **state)
{
    struct fixture *f = *state;
    bool known = false;
    char h[2 * GH_SHA256_BYTES + 1];
    const char *mine = "dddddddddddddddddddddddddddddddddddddddddd0";
    gh_session_started st = start(f, NULL, mine);
    assert_string_equal(st.device, mine);
    gh_secret_hash(mine, h);
    assert_int_equal(gh_store_device_known(f->c, f->x.arena, T, f->alice, h, &known), GH_DB_OK);
    assert_true(known);
    /* a malformed device cookie is replaced, never stored */
    st = start(f, NULL, "bad");
    assert_int_equal(strlen(st.device), GH_SESSION_TOKEN_LEN);
    assert_string_not_equal(st.device, "bad");
}

static void a_new_sign_in_ends_the_session_it_replaces(void **state)
{
    struct fixture *f = *state;
    gh_session old, s;
    gh_session_started first = start(f, NULL, NULL);
    assert_int_equal(find(f, first.token, &old), GH_DB_OK);
    gh_session_started second = start(f, &old, NULL);
    assert_int_equal(find(f, first.token, &s), GH_DB_NOTFOUND);
    assert_int_equal(find(f, second.token, &s), GH_DB_OK);
    assert_string_not_equal(s.id, old.id);
}

static void step_up_keeps_the_id_and_kills_the_old_token(void **state)
{
    struct fixture *f = *state;
    gh_session cur, s;
    gh_session *up;
    const char *token;
    gh_session_started st = start(f, NULL, NULL);
    assert_int_equal(find(f, st.token, &cur), GH_DB_OK);
    f->x.now += 5000;
    assert_int_equal(gh_sessions_elevate(&f->x, f->c, &cur, "[\"pwd\",\"otp\",\"mfa\"]", 2, FACTORS,
                                         &up, &token),
                     GH_DB_OK);
    assert_string_not_equal(token, st.token);
    assert_int_equal(find(f, st.token, &s), GH_DB_NOTFOUND);
    assert_int_equal(find(f, token, &s), GH_DB_OK);
    assert_string_equal(s.id, cur.id); /* tokens' sid stays valid */
    assert_int_equal(s.aal, 2);
    assert_int_equal(s.auth_time, f->x.now);
    /* an ended session cannot be stepped up */
    assert_int_equal(gh_sessions_end(&f->x, f->c, &s), GH_DB_OK);
    assert_int_equal(find(f, token, &s), GH_DB_NOTFOUND);
    assert_int_equal(gh_sessions_elevate(&f->x, f->c, &cur, AMR, 2, FACTORS, &up, &token),
                     GH_DB_NOTFOUND);
}

static void idle_and_absolute_timers_end_a_session(void **state)
{
    struct fixture *f = *state;
    gh_session s;
    long long t0 = f->x.now;
    gh_session_started st = start(f, NULL, NULL);
    /* used every 20 minutes, the 30-minute idle window keeps moving */
    for (int i = 1; i <= 3; i++) {
        f->x.now = t0 + i * 1200 * 1000LL;
        assert_int_equal(find(f, st.token, &s), GH_DB_OK);
    }
    /* 30 minutes unused: gone */
    f->x.now += 1800 * 1000LL;
    assert_int_equal(find(f, st.token, &s), GH_DB_NOTFOUND);

    /* used all along, still gone after the absolute lifetime */
    f->x.now = t0;
    st = start(f, NULL, NULL);
    for (long long t = t0; t < t0 + 43200 * 1000LL; t += 1500 * 1000LL) {
        f->x.now = t;
        assert_int_equal(find(f, st.token, &s), GH_DB_OK);
    }
    f->x.now = t0 + 43200 * 1000LL;
    assert_int_equal(find(f, st.token, &s), GH_DB_NOTFOUND);
}

static void the_cap_ends_the_oldest_sessions(void **state)
{
    struct fixture *f = *state;
    gh_session s;
    const char *tokens[5];
    for (int i = 0; i < 5; i++) {
        f->x.now += 1000;
        tokens[i] = start(f, NULL, NULL).token;
    }
    /* max_sessions = 3: the two oldest ended, the three newest live */
    assert_int_equal(find(f, tokens[0], &s), GH_DB_NOTFOUND);
    assert_int_equal(find(f, tokens[1], &s), GH_DB_NOTFOUND);
    for (int i = 2; i < 5; i++)
        assert_int_equal(find(f, tokens[i], &s), GH_DB_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_session_is_found_by_its_token_only, setup, teardown),
        cmocka_unit_test_setup_teardown(the_device_cookie_is_kept_or_made, setup, teardown),
        cmocka_unit_test_setup_teardown(a_new_sign_in_ends_the_session_it_replaces, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(step_up_keeps_the_id_and_kills_the_old_token, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(idle_and_absolute_timers_end_a_session, setup, teardown),
        cmocka_unit_test_setup_teardown(the_cap_ends_the_oldest_sessions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
