/* Unit tests for a tenant's key rotation with work in its transaction
 * (gh_keys_rotate_on, the hook the tenants service audits with) over a real
 * store: the hook sees the new kids inside the transaction, a failing hook
 * leaves the keys as they were, and another master key is refused before
 * anything is made. No key snapshot is loaded (as in `gatehouse keys`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_keys.h"
#include "gh_log.h"
#include "gh_store_keys.h"

#include "testdb.h"

#define TENANT "acme"

struct fixture {
    test_store s; /* db, c, a (testdb.h) */
    gh_config cfg;
};

/* What the hook saw, and what it answers. */
struct seen {
    int calls;
    bool in_tx;
    char es[64], rs[64];
    int64_t until;
    gh_dbrc answer;
};

static gh_dbrc hook(void *arg, gh_dbconn *c, const char *es_kid, const char *rs_kid,
                    int64_t retired_until)
{
    struct seen *s = arg;
    s->calls++;
    s->in_tx = gh_db_in_tx(c);
    snprintf(s->es, sizeof(s->es), "%s", es_kid);
    snprintf(s->rs, sizeof(s->rs), "%s", rs_kid);
    s->until = retired_until;
    return s->answer;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f)
        test_store_close(&f->s);
    free(f);
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    *state = f;
    if (!f || !test_store_open(&f->s, "gh-keys-rotate", 2)) {
        free(f);
        *state = NULL;
        return -1;
    }
    gh_random(f->cfg.master_key, sizeof(f->cfg.master_key));
    f->cfg.master_key_set = true;
    f->cfg.keys_refresh = 30;
    f->cfg.access_token_ttl = 600;
    f->cfg.id_token_ttl = 3600;
    return 0;
}

/* The tenant's live keys: their number, and how many are active. */
static size_t live_keys(struct fixture *f, size_t *active)
{
    gh_keyrow *rows = NULL;
    size_t n = 0;
    assert_int_equal(gh_store_keys_list(f->s.c, f->s.a, TENANT, 1, gh_now_ms(), &rows, &n),
                     GH_DB_OK);
    *active = 0;
    for (size_t i = 0; i < n; i++)
        *active += rows[i].retired_at == 0;
    return n;
}

static void hook_sees_the_new_kids_in_the_transaction(void **state)
{
    struct fixture *f = *state;
    struct seen s = {.answer = GH_DB_OK};
    char es[64], rs[64], err[256] = "";
    int64_t t0 = gh_now_ms();
    assert_int_equal(
        gh_keys_rotate_on(&f->cfg, f->s.c, f->s.a, TENANT, hook, &s, es, rs, err, sizeof(err)), 0);
    assert_int_equal(s.calls, 1);
    assert_true(s.in_tx);
    assert_string_equal(s.es, es);
    assert_string_equal(s.rs, rs);
    assert_true(s.until >= t0 + gh_keys_keep_ms(&f->cfg));
    assert_false(gh_db_in_tx(f->s.c));
    size_t active, n = live_keys(f, &active);
    assert_int_equal(n, 2);
    assert_int_equal(active, 2);
}

static void failing_hook_rolls_the_rotation_back(void **state)
{
    struct fixture *f = *state;
    struct seen ok = {.answer = GH_DB_OK}, bad = {.answer = GH_DB_FAIL};
    char err[256] = "";
    assert_int_equal(
        gh_keys_rotate_on(&f->cfg, f->s.c, f->s.a, TENANT, hook, &ok, NULL, NULL, err, sizeof(err)),
        0);
    assert_int_equal(gh_keys_rotate_on(&f->cfg, f->s.c, f->s.a, TENANT, hook, &bad, NULL, NULL, err,
                                       sizeof(err)),
                     -1);
    assert_int_equal(bad.calls, 1);
    assert_non_null(strstr(err, "cannot store the new keys"));
    assert_false(gh_db_in_tx(f->s.c));
    /* the keys of the first rotation still sign; nothing retired or added */
    size_t active, n = live_keys(f, &active);
    assert_int_equal(n, 2);
    assert_int_equal(active, 2);
}

static void other_master_key_refused_before_the_hook(void **state)
{
    struct fixture *f = *state;
    struct seen s = {.answer = GH_DB_OK};
    char err[256] = "";
    assert_int_equal(
        gh_keys_rotate_on(&f->cfg, f->s.c, f->s.a, TENANT, hook, &s, NULL, NULL, err, sizeof(err)),
        0);
    gh_config other = f->cfg;
    gh_random(other.master_key, sizeof(other.master_key));
    s.calls = 0;
    assert_int_equal(
        gh_keys_rotate_on(&other, f->s.c, f->s.a, TENANT, hook, &s, NULL, NULL, err, sizeof(err)),
        -1);
    assert_int_equal(s.calls, 0);
    assert_non_null(strstr(err, "cannot be decrypted"));
    size_t active, n = live_keys(f, &active);
    assert_int_equal(n, 2);
    assert_int_equal(active, 2);
}

int main(void)
{
    if (gh_crypto_init() != 0)
        return 1;
    gh_log_set_level(GH_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(hook_sees_the_new_kids_in_the_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(failing_hook_rolls_the_rotation_back, setup, teardown),
        cmocka_unit_test_setup_teardown(other_master_key_refused_before_the_hook, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
