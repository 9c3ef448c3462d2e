/* Unit tests for the second-factor store (gh_store_mfa) and the session
 * columns that go with it (factors, step-up), over a real SQLite file, or
 * over PostgreSQL when GATEHOUSE_TEST_DATABASE_URL is set (testdb.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_crypto.h"
#include "gh_db.h"
#include "gh_log.h"
#include "gh_store_users.h"
#include "gh_store_sessions.h"
#include "gh_store_mfa.h"

#include "testdb.h"

#define T GH_DEFAULT_TENANT

struct fixture {
    test_db t;
    gh_db *db;
    gh_dbconn *c;
    gh_arena *a;
    const char *alice, *bob; /* user ids */
};

static int teardown(void **state);

static const char *make_user(struct fixture *f, const char *username)
{
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    gh_user u = {.tenant_id = T,
                 .id = gh_arena_strdup(f->a, id),
                 .username = username,
                 .email = username,
                 .active = true,
                 .version = 1,
                 .created_at = 1000,
                 .updated_at = 1000};
    return gh_store_user_insert(f->c, f->a, &u) == GH_DB_OK ? u.id : NULL;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    f->db = test_db_open(&f->t, "gh-store-mfa", 2);
    if (!f->db)
        goto fail;
    f->c = gh_db_acquire(f->db);
    f->a = gh_arena_new(0);
    if (!f->c || !f->a)
        goto fail;
    f->alice = make_user(f, "alice@example.com");
    f->bob = make_user(f, "bob@example.com");
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
    gh_arena_free(f->a);
    test_db_drop(&f->t);
    free(f);
    return 0;
}

static const char *new_id(struct fixture *f)
{
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    return gh_arena_strdup(f->a, id);
}

static gh_factor totp(struct fixture *f, const char *user, long long created, bool confirmed)
{
    return (gh_factor){.tenant_id = T,
                       .id = new_id(f),
                       .user_id = user,
                       .kind = GH_FACTOR_TOTP,
                       .name = "Phone",
                       .secret = "sealed-seed",
                       .confirmed = confirmed,
                       .created_at = created};
}

static gh_factor passkey(struct fixture *f, const char *user, const char *cred, long long created)
{
    return (gh_factor){.tenant_id = T,
                       .id = new_id(f),
                       .user_id = user,
                       .kind = GH_FACTOR_PASSKEY,
                       .name = "Laptop",
                       .credential_id = cred,
                       .public_key = "pQECAyYgASFYIA",
                       .alg = -7,
                       .sign_count = 5,
                       .flags = 0x45,
                       .aaguid = "00000000-0000-0000-0000-000000000000",
                       .transports = "[\"internal\"]",
                       .attestation = "none",
                       .confirmed = true,
                       .created_at = created};
}

static void factors_insert_get_list(void **state)
{
    struct fixture *f = *state;
    gh_factor t = totp(f, f->alice, 2000, false);
    gh_factor k = passkey(f, f->alice, "Y3JlZC0x", 1000);
    gh_factor other = passkey(f, f->bob, "Y3JlZC0y", 1500);
    assert_int_equal(gh_store_factor_insert(f->c, f->a, &t), GH_DB_OK);
    assert_int_equal(gh_store_factor_insert(f->c, f->a, &k), GH_DB_OK);
    assert_int_equal(gh_store_factor_insert(f->c, f->a, &other), GH_DB_OK);

    gh_factor got;
    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->alice, t.id, &got), GH_DB_OK);
    assert_string_equal(got.kind, GH_FACTOR_TOTP);
    assert_string_equal(got.name, "Phone");
    assert_string_equal(got.secret, "sealed-seed");
    assert_null(got.credential_id);
    assert_false(got.confirmed);
    assert_int_equal(got.cloned_at, 0);
    assert_int_equal(got.last_used_at, 0);
    assert_int_equal(got.created_at, 2000);

    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->alice, k.id, &got), GH_DB_OK);
    assert_string_equal(got.credential_id, "Y3JlZC0x");
    assert_string_equal(got.public_key, "pQECAyYgASFYIA");
    assert_int_equal(got.alg, -7);
    assert_int_equal(got.sign_count, 5);
    assert_int_equal(got.flags, 0x45);
    assert_string_equal(got.transports, "[\"internal\"]");
    assert_string_equal(got.attestation, "none");
    assert_true(got.confirmed);

    assert_int_equal(gh_store_factor_by_credential(f->c, f->a, T, "Y3JlZC0y", &got), GH_DB_OK);
    assert_string_equal(got.id, other.id);
    assert_string_equal(got.user_id, f->bob);
    assert_int_equal(gh_store_factor_by_credential(f->c, f->a, T, "bm9uZQ", &got), GH_DB_NOTFOUND);
    assert_int_equal(gh_store_factor_by_credential(f->c, f->a, "other", "Y3JlZC0y", &got),
                     GH_DB_NOTFOUND);

    gh_factor *list = NULL;
    size_t n = 99;
    assert_int_equal(gh_store_factor_list(f->c, f->a, T, f->alice, &list, &n), GH_DB_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, k.id); /* oldest first */
    assert_string_equal(list[1].id, t.id);
    assert_int_equal(gh_store_factor_list(f->c, f->a, T, "nobody", &list, &n), GH_DB_OK);
    assert_int_equal(n, 0);

    /* A second passkey with the same credential id, even for another user. */
    gh_factor dup = passkey(f, f->bob, "Y3JlZC0x", 3000);
    assert_int_equal(gh_store_factor_insert(f->c, f->a, &dup), GH_DB_CONFLICT);
    /* Factors without a credential id do not collide (NULLs are distinct). */
    gh_factor t2 = totp(f, f->alice, 2500, false);
    assert_int_equal(gh_store_factor_insert(f->c, f->a, &t2), GH_DB_OK);
    /* A factor of a user that does not exist. */
    gh_factor ghost = totp(f, "no-such-user", 1, false);
    assert_int_equal(gh_store_factor_insert(f->c, f->a, &ghost), GH_DB_CONFLICT);
}

static void factors_are_scoped_by_user(void **state)
{
    struct fixture *f = *state;
    gh_factor k = passkey(f, f->alice, "YWxpY2U", 1000), got;
    assert_int_equal(gh_store_factor_insert(f->c, f->a, &k), GH_DB_OK);

    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->bob, k.id, &got), GH_DB_NOTFOUND);
    assert_int_equal(gh_store_factor_rename(f->c, f->a, T, f->bob, k.id, "Mine now"),
                     GH_DB_NOTFOUND);
    assert_int_equal(gh_store_factor_delete(f->c, f->a, T, f->bob, k.id), GH_DB_NOTFOUND);
    assert_int_equal(gh_store_factor_get(f->c, f->a, "other", f->alice, k.id, &got),
                     GH_DB_NOTFOUND);
    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->alice, k.id, &got), GH_DB_OK);
    assert_string_equal(got.name, "Laptop"); /* untouched */

    assert_int_equal(gh_store_factor_rename(f->c, f->a, T, f->alice, k.id, "Work laptop"),
                     GH_DB_OK);
    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->alice, k.id, &got), GH_DB_OK);
    assert_string_equal(got.name, "Work laptop");
    assert_int_equal(gh_store_factor_rename(f->c, f->a, T, f->alice, "nope", "x"), GH_DB_NOTFOUND);

    assert_int_equal(gh_store_factor_delete(f->c, f->a, T, f->alice, k.id), GH_DB_OK);
    assert_int_equal(gh_store_factor_delete(f->c, f->a, T, f->alice, k.id), GH_DB_NOTFOUND);
    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->alice, k.id, &got), GH_DB_NOTFOUND);
}

static void totp_confirm_and_replay(void **state)
{
    struct fixture *f = *state;
    gh_factor t = totp(f, f->alice, 1000, false), got;
    assert_int_equal(gh_store_factor_insert(f->c, f->a, &t), GH_DB_OK);

    assert_int_equal(gh_store_factor_confirm(f->c, f->a, T, t.id, 100, 3000), GH_DB_OK);
    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->alice, t.id, &got), GH_DB_OK);
    assert_true(got.confirmed);
    assert_int_equal(got.last_step, 100);
    assert_int_equal(got.last_used_at, 3000);
    /* Confirmed once only; and the set-up code cannot sign in again. */
    assert_int_equal(gh_store_factor_confirm(f->c, f->a, T, t.id, 101, 3100), GH_DB_NOTFOUND);
    assert_int_equal(gh_store_factor_confirm(f->c, f->a, T, "nope", 1, 1), GH_DB_NOTFOUND);
    assert_int_equal(gh_store_totp_use(f->c, f->a, T, t.id, 100, 3200), GH_DB_NOTFOUND);

    /* The set-up code checked with totp_use first (as the set-up journey
     * does), then confirmed with the same step; an older step keeps it. */
    gh_factor t2 = totp(f, f->alice, 1000, false);
    assert_int_equal(gh_store_factor_insert(f->c, f->a, &t2), GH_DB_OK);
    assert_int_equal(gh_store_totp_use(f->c, f->a, T, t2.id, 500, 3300), GH_DB_OK);
    assert_int_equal(gh_store_factor_confirm(f->c, f->a, T, t2.id, 499, 3400), GH_DB_OK);
    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->alice, t2.id, &got), GH_DB_OK);
    assert_true(got.confirmed);
    assert_int_equal(got.last_step, 500);
    assert_int_equal(gh_store_totp_use(f->c, f->a, T, t2.id, 500, 3500), GH_DB_NOTFOUND);

    assert_int_equal(gh_store_totp_use(f->c, f->a, T, t.id, 102, 4000), GH_DB_OK);
    assert_int_equal(gh_store_totp_use(f->c, f->a, T, t.id, 102, 4001), GH_DB_NOTFOUND);
    assert_int_equal(gh_store_totp_use(f->c, f->a, T, t.id, 101, 4002), GH_DB_NOTFOUND);
    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->alice, t.id, &got), GH_DB_OK);
    assert_int_equal(got.last_step, 102);
    assert_int_equal(got.last_used_at, 4000);
    assert_int_equal(gh_store_totp_use(f->c, f->a, T, t.id, 103, 5000), GH_DB_OK);
    assert_int_equal(gh_store_totp_use(f->c, f->a, T, "nope", 200, 5000), GH_DB_NOTFOUND);
}

static void passkey_use_and_clone(void **state)
{
    struct fixture *f = *state;
    gh_factor k = passkey(f, f->alice, "Y2xvbmU", 1000), got;
    assert_int_equal(gh_store_factor_insert(f->c, f->a, &k), GH_DB_OK);

    assert_int_equal(gh_store_passkey_use(f->c, f->a, T, k.id, 9, 0x05, 2000), GH_DB_OK);
    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->alice, k.id, &got), GH_DB_OK);
    assert_int_equal(got.sign_count, 9);
    assert_int_equal(got.flags, 0x05);
    assert_int_equal(got.last_used_at, 2000);
    /* Sign counts are 32-bit unsigned: above INT32_MAX must survive. */
    assert_int_equal(gh_store_passkey_use(f->c, f->a, T, k.id, 4294967295LL, 0x1d, 2100), GH_DB_OK);
    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->alice, k.id, &got), GH_DB_OK);
    assert_int_equal(got.sign_count, 4294967295LL);
    assert_int_equal(gh_store_passkey_use(f->c, f->a, T, "nope", 1, 1, 1), GH_DB_NOTFOUND);

    assert_int_equal(got.cloned_at, 0);
    assert_int_equal(gh_store_factor_mark_cloned(f->c, f->a, T, k.id, 3000), GH_DB_OK);
    assert_int_equal(gh_store_factor_mark_cloned(f->c, f->a, T, k.id, 4000), GH_DB_OK);
    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->alice, k.id, &got), GH_DB_OK);
    assert_int_equal(got.cloned_at, 3000); /* the first sighting is kept */
    assert_int_equal(gh_store_factor_mark_cloned(f->c, f->a, T, "nope", 1), GH_DB_NOTFOUND);
}

static void prune_unconfirmed(void **state)
{
    struct fixture *f = *state;
    gh_factor old = totp(f, f->alice, 1000, false);
    gh_factor young = totp(f, f->alice, 5000, false);
    gh_factor kept = totp(f, f->alice, 1000, true);
    gh_factor key = passkey(f, f->alice, "cHJ1bmU", 1000);
    gh_factor bobs = totp(f, f->bob, 1000, false);
    const gh_factor *all[] = {&old, &young, &kept, &key, &bobs};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(gh_store_factor_insert(f->c, f->a, all[i]), GH_DB_OK);

    assert_int_equal(gh_store_factor_prune_unconfirmed(f->c, f->a, T, f->alice, 3000), GH_DB_OK);
    gh_factor got;
    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->alice, old.id, &got), GH_DB_NOTFOUND);
    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->alice, young.id, &got), GH_DB_OK);
    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->alice, kept.id, &got), GH_DB_OK);
    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->alice, key.id, &got), GH_DB_OK);
    assert_int_equal(gh_store_factor_get(f->c, f->a, T, f->bob, bobs.id, &got), GH_DB_OK);
    /* Nothing left to prune is not an error. */
    assert_int_equal(gh_store_factor_prune_unconfirmed(f->c, f->a, T, f->alice, 3000), GH_DB_OK);
}

static void recovery_codes(void **state)
{
    struct fixture *f = *state;
    const char *const first[] = {"aa01", "aa02", "aa03"};
    const char *const second[] = {"bb01", "bb02"};
    long long n = -1;

    assert_int_equal(gh_store_recovery_remaining(f->c, f->a, T, f->alice, &n), GH_DB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(gh_store_recovery_replace(f->c, f->a, T, f->alice, first, 3, 1000), GH_DB_OK);
    assert_int_equal(gh_store_recovery_replace(f->c, f->a, T, f->bob, first, 3, 1000), GH_DB_OK);
    assert_int_equal(gh_store_recovery_remaining(f->c, f->a, T, f->alice, &n), GH_DB_OK);
    assert_int_equal(n, 3);

    assert_int_equal(gh_store_recovery_use(f->c, f->a, T, f->alice, "aa02", 2000), GH_DB_OK);
    assert_int_equal(gh_store_recovery_use(f->c, f->a, T, f->alice, "aa02", 2001), GH_DB_NOTFOUND);
    assert_int_equal(gh_store_recovery_use(f->c, f->a, T, f->alice, "zz99", 2002), GH_DB_NOTFOUND);
    assert_int_equal(gh_store_recovery_remaining(f->c, f->a, T, f->alice, &n), GH_DB_OK);
    assert_int_equal(n, 2);
    /* Bob's copy of the same hash is his own. */
    assert_int_equal(gh_store_recovery_use(f->c, f->a, T, f->bob, "aa02", 2003), GH_DB_OK);

    /* A new set replaces the old one, used codes included. */
    assert_int_equal(gh_store_recovery_replace(f->c, f->a, T, f->alice, second, 2, 3000), GH_DB_OK);
    assert_int_equal(gh_store_recovery_remaining(f->c, f->a, T, f->alice, &n), GH_DB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(gh_store_recovery_use(f->c, f->a, T, f->alice, "aa01", 3001), GH_DB_NOTFOUND);
    assert_int_equal(gh_store_recovery_use(f->c, f->a, T, f->alice, "bb01", 3002), GH_DB_OK);

    /* A duplicate hash in one set is refused; in a transaction nothing changes. */
    const char *const dup[] = {"cc01", "cc01"};
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    assert_int_equal(gh_store_recovery_replace(f->c, f->a, T, f->alice, dup, 2, 4000),
                     GH_DB_CONFLICT);
    gh_db_rollback(f->c);
    assert_int_equal(gh_store_recovery_remaining(f->c, f->a, T, f->alice, &n), GH_DB_OK);
    assert_int_equal(n, 1);

    assert_int_equal(gh_store_recovery_clear(f->c, f->a, T, f->alice), GH_DB_OK);
    assert_int_equal(gh_store_recovery_remaining(f->c, f->a, T, f->alice, &n), GH_DB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(gh_store_recovery_remaining(f->c, f->a, T, f->bob, &n), GH_DB_OK);
    assert_int_equal(n, 2);
}

static gh_challenge challenge(struct fixture *f, const char *kind, const char *binding,
                              long long created, long long expires)
{
    return (gh_challenge){.tenant_id = T,
                          .id = new_id(f),
                          .kind = kind,
                          .binding_hash = binding,
                          .user_id = f->alice,
                          .challenge = "q2x1ZW5nZQ",
                          .data = "{\"return_to\":\"/account\"}",
                          .created_at = created,
                          .expires_at = expires};
}

static void challenges(void **state)
{
    struct fixture *f = *state;
    gh_challenge got;
    gh_challenge a1 = challenge(f, GH_CH_MFA, "bind-a", 1000, 301000);
    gh_challenge reg = challenge(f, GH_CH_PASSKEY_REGISTER, "bind-a", 1000, 301000);
    gh_challenge b1 = challenge(f, GH_CH_MFA, "bind-b", 1000, 301000);
    assert_int_equal(gh_store_challenge_put(f->c, f->a, &a1), GH_DB_OK);
    assert_int_equal(gh_store_challenge_put(f->c, f->a, &reg), GH_DB_OK);
    assert_int_equal(gh_store_challenge_put(f->c, f->a, &b1), GH_DB_OK);

    assert_int_equal(gh_store_challenge_find(f->c, f->a, T, GH_CH_MFA, "bind-a", 2000, &got),
                     GH_DB_OK);
    assert_string_equal(got.id, a1.id);
    assert_string_equal(got.user_id, f->alice);
    assert_string_equal(got.challenge, "q2x1ZW5nZQ");
    assert_string_equal(got.data, "{\"return_to\":\"/account\"}");
    assert_int_equal(got.attempts, 0);
    assert_int_equal(got.consumed_at, 0);
    assert_int_equal(got.expires_at, 301000);

    /* A new mfa ceremony for bind-a replaces the old one only. */
    gh_challenge a2 = challenge(f, GH_CH_MFA, "bind-a", 2000, 302000);
    a2.user_id = NULL;
    a2.data = NULL;
    a2.challenge = NULL;
    assert_int_equal(gh_store_challenge_put(f->c, f->a, &a2), GH_DB_OK);
    assert_int_equal(gh_store_challenge_find(f->c, f->a, T, GH_CH_MFA, "bind-a", 2000, &got),
                     GH_DB_OK);
    assert_string_equal(got.id, a2.id);
    assert_null(got.user_id);
    assert_null(got.challenge);
    assert_string_equal(got.data, "{}");
    assert_int_equal(gh_store_challenge_attempt(f->c, f->a, T, a1.id, 5, &(long long){0}),
                     GH_DB_NOTFOUND); /* deleted */
    assert_int_equal(
        gh_store_challenge_find(f->c, f->a, T, GH_CH_PASSKEY_REGISTER, "bind-a", 2000, &got),
        GH_DB_OK);
    assert_string_equal(got.id, reg.id);
    assert_int_equal(gh_store_challenge_find(f->c, f->a, T, GH_CH_MFA, "bind-b", 2000, &got),
                     GH_DB_OK);
    assert_string_equal(got.id, b1.id);
    assert_int_equal(gh_store_challenge_find(f->c, f->a, T, "unused-kind", "bind-a", 2000, &got),
                     GH_DB_NOTFOUND);
    assert_int_equal(gh_store_challenge_find(f->c, f->a, "other", GH_CH_MFA, "bind-a", 2000, &got),
                     GH_DB_NOTFOUND);

    /* Expired: not found at or after expires_at. */
    assert_int_equal(gh_store_challenge_find(f->c, f->a, T, GH_CH_MFA, "bind-a", 302000, &got),
                     GH_DB_NOTFOUND);

    /* Attempts stop at max. */
    long long attempts = 0;
    assert_int_equal(gh_store_challenge_attempt(f->c, f->a, T, a2.id, 3, &attempts), GH_DB_OK);
    assert_int_equal(attempts, 1);
    assert_int_equal(gh_store_challenge_attempt(f->c, f->a, T, a2.id, 3, &attempts), GH_DB_OK);
    assert_int_equal(gh_store_challenge_attempt(f->c, f->a, T, a2.id, 3, &attempts), GH_DB_OK);
    assert_int_equal(attempts, 3);
    assert_int_equal(gh_store_challenge_attempt(f->c, f->a, T, a2.id, 3, &attempts),
                     GH_DB_NOTFOUND);
    assert_int_equal(gh_store_challenge_attempt(f->c, f->a, T, "nope", 3, &attempts),
                     GH_DB_NOTFOUND);
    assert_int_equal(gh_store_challenge_find(f->c, f->a, T, GH_CH_MFA, "bind-a", 2000, &got),
                     GH_DB_OK);
    assert_int_equal(got.attempts, 3);

    /* Consumed once; a consumed ceremony is no longer found or attempted. */
    assert_int_equal(gh_store_challenge_consume(f->c, f->a, T, b1.id, 3000), GH_DB_OK);
    assert_int_equal(gh_store_challenge_consume(f->c, f->a, T, b1.id, 3001), GH_DB_CONFLICT);
    assert_int_equal(gh_store_challenge_find(f->c, f->a, T, GH_CH_MFA, "bind-b", 3002, &got),
                     GH_DB_NOTFOUND);
    assert_int_equal(gh_store_challenge_attempt(f->c, f->a, T, b1.id, 3, &attempts),
                     GH_DB_NOTFOUND);
}

static void challenges_expired_are_pruned(void **state)
{
    struct fixture *f = *state;
    const long long day = 24LL * 60 * 60 * 1000;
    gh_challenge old = challenge(f, GH_CH_PASSKEY_SIGNIN, "bind-x", 1000, 2000);
    gh_challenge recent = challenge(f, "unused-kind", "bind-y", day, day + 1000);
    assert_int_equal(gh_store_challenge_put(f->c, f->a, &old), GH_DB_OK);
    assert_int_equal(gh_store_challenge_put(f->c, f->a, &recent), GH_DB_OK);

    /* A put more than a day after old expired, for another kind and binding. */
    gh_challenge now = challenge(f, GH_CH_MFA, "bind-z", day + 3000, day + 303000);
    assert_int_equal(gh_store_challenge_put(f->c, f->a, &now), GH_DB_OK);
    long long attempts;
    assert_int_equal(gh_store_challenge_attempt(f->c, f->a, T, old.id, 5, &attempts),
                     GH_DB_NOTFOUND); /* gone */
    assert_int_equal(gh_store_challenge_attempt(f->c, f->a, T, recent.id, 5, &attempts),
                     GH_DB_OK); /* expired, but less than a day ago: kept */
}

static void sessions_factors_and_elevate(void **state)
{
    struct fixture *f = *state;
    gh_session s = {.tenant_id = T,
                    .id = new_id(f),
                    .token_hash = "hash-1",
                    .user_id = f->alice,
                    .created_at = 1000,
                    .last_seen_at = 1000,
                    .idle_expires_at = 100000,
                    .expires_at = 200000,
                    .auth_time = 1000,
                    .aal = 1,
                    .amr = "[\"pwd\"]",
                    .factors = "[{\"method\":\"pwd\",\"time\":1000}]"},
               got;
    assert_int_equal(gh_store_session_insert(f->c, f->a, &s), GH_DB_OK);
    assert_int_equal(gh_store_session_by_token(f->c, f->a, T, "hash-1", &got), GH_DB_OK);
    assert_string_equal(got.id, s.id);
    assert_string_equal(got.amr, "[\"pwd\"]");
    assert_string_equal(got.factors, "[{\"method\":\"pwd\",\"time\":1000}]");
    assert_int_equal(got.aal, 1);

    /* factors left NULL is stored as []. */
    gh_session plain = s;
    plain.id = new_id(f);
    plain.token_hash = "hash-plain";
    plain.factors = NULL;
    assert_int_equal(gh_store_session_insert(f->c, f->a, &plain), GH_DB_OK);
    assert_int_equal(gh_store_session_by_token(f->c, f->a, T, "hash-plain", &got), GH_DB_OK);
    assert_string_equal(got.factors, "[]");

    gh_session up = s;
    up.token_hash = "hash-2";
    up.aal = 2;
    up.amr = "[\"pwd\",\"otp\"]";
    up.factors = "[{\"method\":\"pwd\",\"time\":1000},{\"method\":\"otp\",\"time\":5000}]";
    up.auth_time = 5000;
    assert_int_equal(gh_store_session_elevate(f->c, f->a, &up), GH_DB_OK);
    assert_int_equal(gh_store_session_by_token(f->c, f->a, T, "hash-1", &got), GH_DB_NOTFOUND);
    assert_int_equal(gh_store_session_by_token(f->c, f->a, T, "hash-2", &got), GH_DB_OK);
    assert_string_equal(got.id, s.id); /* the same session */
    assert_int_equal(got.aal, 2);
    assert_string_equal(got.amr, "[\"pwd\",\"otp\"]");
    assert_string_equal(got.factors, up.factors);
    assert_int_equal(got.auth_time, 5000);
    assert_int_equal(got.created_at, 1000);
    assert_int_equal(got.expires_at, 200000);

    /* Another session's token hash is refused; a revoked one is not elevated. */
    gh_session clash = up;
    clash.id = plain.id;
    assert_int_equal(gh_store_session_elevate(f->c, f->a, &clash), GH_DB_CONFLICT);
    assert_int_equal(gh_store_session_revoke(f->c, f->a, T, s.id, 6000), GH_DB_OK);
    up.token_hash = "hash-3";
    assert_int_equal(gh_store_session_elevate(f->c, f->a, &up), GH_DB_NOTFOUND);
    up.id = "nope";
    assert_int_equal(gh_store_session_elevate(f->c, f->a, &up), GH_DB_NOTFOUND);
}

static void user_delete_cascades(void **state)
{
    struct fixture *f = *state;
    gh_factor k = passkey(f, f->alice, "Y2FzY2FkZQ", 1000);
    gh_factor t = totp(f, f->alice, 1000, true);
    gh_factor bobs = totp(f, f->bob, 1000, true);
    const char *const codes[] = {"dd01", "dd02"};
    assert_int_equal(gh_store_factor_insert(f->c, f->a, &k), GH_DB_OK);
    assert_int_equal(gh_store_factor_insert(f->c, f->a, &t), GH_DB_OK);
    assert_int_equal(gh_store_factor_insert(f->c, f->a, &bobs), GH_DB_OK);
    assert_int_equal(gh_store_recovery_replace(f->c, f->a, T, f->alice, codes, 2, 1000), GH_DB_OK);
    assert_int_equal(gh_store_recovery_replace(f->c, f->a, T, f->bob, codes, 2, 1000), GH_DB_OK);

    assert_int_equal(gh_store_user_delete(f->c, f->a, T, f->alice, -1), GH_DB_OK);
    gh_factor *list = NULL, got;
    size_t n = 99;
    long long left = -1;
    assert_int_equal(gh_store_factor_list(f->c, f->a, T, f->alice, &list, &n), GH_DB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(gh_store_factor_by_credential(f->c, f->a, T, "Y2FzY2FkZQ", &got),
                     GH_DB_NOTFOUND);
    assert_int_equal(gh_store_recovery_remaining(f->c, f->a, T, f->alice, &left), GH_DB_OK);
    assert_int_equal(left, 0);
    /* Bob keeps his. */
    assert_int_equal(gh_store_factor_list(f->c, f->a, T, f->bob, &list, &n), GH_DB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(gh_store_recovery_remaining(f->c, f->a, T, f->bob, &left), GH_DB_OK);
    assert_int_equal(left, 2);
}

static void schema_version(void **state)
{
    struct fixture *f = *state;
    assert_true(gh_db_schema_version(f->db) >= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(schema_version, setup, teardown),
        cmocka_unit_test_setup_teardown(factors_insert_get_list, setup, teardown),
        cmocka_unit_test_setup_teardown(factors_are_scoped_by_user, setup, teardown),
        cmocka_unit_test_setup_teardown(totp_confirm_and_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(passkey_use_and_clone, setup, teardown),
        cmocka_unit_test_setup_teardown(prune_unconfirmed, setup, teardown),
        cmocka_unit_test_setup_teardown(recovery_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(challenges, setup, teardown),
        cmocka_unit_test_setup_teardown(challenges_expired_are_pruned, setup, teardown),
        cmocka_unit_test_setup_teardown(sessions_factors_and_elevate, setup, teardown),
        cmocka_unit_test_setup_teardown(user_delete_cascades, setup, teardown),
    };
    gh_crypto_init();
    gh_log_set_level(GH_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
