/* Unit tests for gh_password: argon2id through libargon2 with kept working
 * memory, the PHC string, and agreement with libsodium's crypto_pwhash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "gh_crypto.h"
#include "gh_password.h"

/* Small costs keep the tests quick; 8192 KiB is GATEHOUSE_ARGON2_MEMORY_KIB's
 * lower bound. */
#define TEST_KIB 8192u
#define TEST_OPS 1u

static int setup(void **state)
{
    (void)state;
    if (gh_crypto_init() != 0)
        return -1;
    return gh_password_setup(TEST_KIB, TEST_OPS, 1, 2);
}

static void hash_then_verify(void **state)
{
    (void)state;
    char h1[GH_PWHASH_MAX], h2[GH_PWHASH_MAX];
    assert_int_equal(gh_password_hash("correct horse", 13, h1), 0);
    assert_int_equal(gh_password_hash("correct horse", 13, h2), 0);
    assert_int_equal(strncmp(h1, "$argon2id$v=19$m=8192,t=1,p=1$", 30), 0);
    assert_string_not_equal(h1, h2); /* a fresh salt each time */
    assert_true(gh_password_verify(h1, "correct horse", 13));
    assert_false(gh_password_verify(h1, "correct horsf", 13));
    assert_false(gh_password_verify(h1, "correct hors", 12));
    assert_false(gh_password_verify(h1, "", 0));
    /* a NUL inside the password counts: lengths, not C strings */
    assert_int_equal(gh_password_hash("a\0b", 3, h1), 0);
    assert_true(gh_password_verify(h1, "a\0b", 3));
    assert_false(gh_password_verify(h1, "a", 1));
}

/* Hashes stored before this module used libargon2 were written by
 * libsodium: both must read each other's strings. */
static void agrees_with_libsodium(void **state)
{
    (void)state;
    char ours[GH_PWHASH_MAX], theirs[crypto_pwhash_STRBYTES];
    assert_int_equal(crypto_pwhash_str_alg(theirs, "Quartz Meadow", 13, TEST_OPS,
                                           (size_t)TEST_KIB * 1024, crypto_pwhash_ALG_ARGON2ID13),
                     0);
    assert_true(gh_password_verify(theirs, "Quartz Meadow", 13));
    assert_false(gh_password_verify(theirs, "Quartz meadow", 13));
    assert_false(gh_password_needs_rehash(theirs));

    assert_int_equal(gh_password_hash("Quartz Meadow", 13, ours), 0);
    assert_int_equal(crypto_pwhash_str_verify(ours, "Quartz Meadow", 13), 0);
    assert_int_not_equal(crypto_pwhash_str_verify(ours, "Quartz Meadox", 13), 0);
    assert_int_equal(crypto_pwhash_str_needs_rehash(ours, TEST_OPS, (size_t)TEST_KIB * 1024), 0);
}

/* RFC 9106 5.3 gives a test vector with a secret and associated data, which
 * the PHC string cannot carry; instead this pins one plain argon2id result,
 * computed by libsodium's crypto_pwhash (an independent implementation). */
static void known_answer(void **state)
{
    (void)state;
    uint8_t salt[16], expect[32];
    char salt64[32], hash64[64], phc[GH_PWHASH_MAX];
    for (size_t i = 0; i < sizeof(salt); i++)
        salt[i] = (uint8_t)(0xa0 + i);
    assert_int_equal(crypto_pwhash(expect, sizeof(expect), "password", 8, salt, 2, 65536u * 1024,
                                   crypto_pwhash_ALG_ARGON2ID13),
                     0);
    sodium_bin2base64(salt64, sizeof(salt64), salt, sizeof(salt),
                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    sodium_bin2base64(hash64, sizeof(hash64), expect, sizeof(expect),
                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    snprintf(phc, sizeof(phc), "$argon2id$v=19$m=65536,t=2,p=1$%s$%s", salt64, hash64);
    assert_true(gh_password_verify(phc, "password", 8));
    assert_false(gh_password_verify(phc, "passwore", 8));
    /* other parameters than the configured ones: verifies, but wants a rehash */
    assert_true(gh_password_needs_rehash(phc));
}

/* Every malformed stored string is refused without hashing anything. */
static void malformed_strings_refused(void **state)
{
    (void)state;
    char good[GH_PWHASH_MAX];
    assert_int_equal(gh_password_hash("pw", 2, good), 0);
    assert_true(gh_password_verify(good, "pw", 2));
    const char *salt = strrchr(good, '$');
    /* good = "$argon2id$v=19$m=8192,t=1,p=1$<salt>$<hash>" */
    char s64[40], h64[64];
    const char *salt_start = strstr(good, ",p=1$") + 5;
    snprintf(s64, sizeof(s64), "%.*s", (int)(salt - salt_start), salt_start);
    snprintf(h64, sizeof(h64), "%s", salt + 1);
    const char *shapes[] = {
        "",
        "$argon2id$",
        "$argon2i$v=19$m=8192,t=1,p=1$%s$%s",
        "$argon2d$v=19$m=8192,t=1,p=1$%s$%s",
        "$argon2id$v=16$m=8192,t=1,p=1$%s$%s",
        "$argon2id$m=8192,t=1,p=1$%s$%s",
        "$argon2id$v=19$m=08192,t=1,p=1$%s$%s",
        "$argon2id$v=19$m=+8192,t=1,p=1$%s$%s",
        "$argon2id$v=19$m=99999999999999999999,t=1,p=1$%s$%s",
        "$argon2id$v=19$m=4194305,t=1,p=1$%s$%s",
        "$argon2id$v=19$m=7,t=1,p=1$%s$%s",
        "$argon2id$v=19$m=8192,t=0,p=1$%s$%s",
        "$argon2id$v=19$m=8192,t=65,p=1$%s$%s",
        "$argon2id$v=19$m=8192,t=1,p=0$%s$%s",
        "$argon2id$v=19$m=8192,t=1,p=17$%s$%s",
        "$argon2id$v=19$m=64,t=1,p=9$%s$%s", /* m below 8 per lane */
        "$argon2id$v=19$t=1,m=8192,p=1$%s$%s",
        "$argon2id$v=19$m=8192,t=1,p=1,x=1$%s$%s",
        "$argon2id$v=19$m=8192,t=1,p=1$%s",
        "$argon2id$v=19$m=8192,t=1,p=1$$%s%s",
        "$argon2id$v=19$m=8192,t=1,p=1$%s$%s$",
        "$argon2id$v=19$m=8192,t=1,p=1$%s$%s=",
        "$argon2id$v=19$m=8192,t=1,p=1$%s$%s ",
        "$argon2id$v=19$m=8192,t=1,p=1$%s$%s\n",
        "$argon2id$v=19$m=8192,t=1,p=1$%s$A%s",
        "$argon2id$v=19$m=8192,t=1,p=1$%s$-%s",
        "$argon2id$v=19$m=8192,t=1,p=1$QUJD$%s%s",        /* a 3-byte salt */
        "$argon2id$v=19$m=8192,t=1,p=1$%s$QUJDREVGR0g%s", /* 8-byte hash, then junk */
        "$ARGON2ID$v=19$m=8192,t=1,p=1$%s$%s",
    };
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        char bad[256];
        snprintf(bad, sizeof(bad), shapes[i], s64, h64);
        if (!gh_password_needs_rehash(bad) || gh_password_verify(bad, "pw", 2))
            fail_msg("accepted: %s", bad);
    }
    /* a hash of 8 bytes is too short to hold */
    char shorthash[GH_PWHASH_MAX];
    snprintf(shorthash, sizeof(shorthash), "$argon2id$v=19$m=8192,t=1,p=1$%s$QUJDREVGR0g", s64);
    assert_true(gh_password_needs_rehash(shorthash));
    assert_false(gh_password_verify(shorthash, "pw", 2));
    /* overlong: refused unread */
    char longer[1024];
    memset(longer, 'A', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    memcpy(longer, "$argon2id$v=19$m=8192,t=1,p=1$", 30);
    assert_false(gh_password_verify(longer, "pw", 2));
    assert_false(gh_password_verify(NULL, "pw", 2));
    assert_true(gh_password_needs_rehash(NULL));
    /* the well-formed original still verifies */
    assert_true(gh_password_verify(good, "pw", 2));
}

static void needs_rehash_follows_settings(void **state)
{
    (void)state;
    char h[GH_PWHASH_MAX];
    assert_int_equal(gh_password_hash("pw", 2, h), 0);
    assert_false(gh_password_needs_rehash(h));
    assert_int_equal(gh_password_setup(TEST_KIB * 2, TEST_OPS, 1, 2), 0);
    assert_true(gh_password_needs_rehash(h));
    assert_true(gh_password_verify(h, "pw", 2)); /* old costs still verify */
    assert_int_equal(gh_password_setup(TEST_KIB, TEST_OPS + 1, 1, 2), 0);
    assert_true(gh_password_needs_rehash(h));
    assert_int_equal(gh_password_setup(TEST_KIB, TEST_OPS, 1, 2), 0);
    assert_false(gh_password_needs_rehash(h));
    /* out-of-range settings are refused */
    assert_int_equal(gh_password_setup(4, TEST_OPS, 1, 2), -1);
    assert_int_equal(gh_password_setup(TEST_KIB, 0, 1, 2), -1);
    assert_int_equal(gh_password_setup(TEST_KIB, TEST_OPS, 0, 2), -1);
    assert_int_equal(gh_password_setup(TEST_KIB, TEST_OPS, 17, 2), -1);
    assert_int_equal(gh_password_setup(8 * 3 - 1, TEST_OPS, 3, 2), -1); /* 8 KiB per lane */
    assert_int_equal(gh_password_setup(TEST_KIB, TEST_OPS, 1, 2), 0);
}

/* GATEHOUSE_ARGON2_PARALLELISM: the lanes are written into the string and
 * change the hash; a hash made with other lanes still verifies (its own p is
 * used) and is due for a re-hash. */
static void lanes_follow_settings(void **state)
{
    (void)state;
    char one[GH_PWHASH_MAX], four[GH_PWHASH_MAX];
    assert_int_equal(gh_password_hash("Quartz Meadow", 13, one), 0);
    assert_non_null(strstr(one, ",p=1$"));
    assert_int_equal(gh_password_setup(TEST_KIB, TEST_OPS, 4, 2), 0);
    assert_int_equal(gh_password_hash("Quartz Meadow", 13, four), 0);
    assert_non_null(strstr(four, ",p=4$"));
    assert_true(gh_password_verify(four, "Quartz Meadow", 13));
    assert_false(gh_password_verify(four, "Quartz Meadoe", 13));
    /* libsodium, a second implementation, agrees on the 4-lane hash */
    assert_int_equal(crypto_pwhash_str_verify(four, "Quartz Meadow", 13), 0);
    assert_int_not_equal(crypto_pwhash_str_verify(four, "Quartz Meadoe", 13), 0);
    assert_true(gh_password_verify(one, "Quartz Meadow", 13));
    assert_true(gh_password_needs_rehash(one));
    assert_false(gh_password_needs_rehash(four));
    /* Same salt and password with p=1 instead of 4 is a different hash: the
     * lanes are part of the derivation, not only of the string. */
    char forged[GH_PWHASH_MAX];
    snprintf(forged, sizeof(forged), "%s", four);
    char *p = strstr(forged, ",p=4$");
    p[3] = '1';
    assert_false(gh_password_verify(forged, "Quartz Meadow", 13));
    assert_int_equal(gh_password_setup(TEST_KIB, TEST_OPS, 1, 2), 0);
    assert_true(gh_password_needs_rehash(four));
    assert_true(gh_password_verify(four, "Quartz Meadow", 13));
}

/* The working memory is kept for the next hash, holds only zeros between
 * hashes, and is given back by gh_password_trim. */
static void memory_kept_wiped_and_trimmed(void **state)
{
    (void)state;
    char h[GH_PWHASH_MAX];
    assert_int_equal(gh_password_setup(TEST_KIB, TEST_OPS, 1, 2), 0);
    assert_int_equal(gh_password_memory_bytes(), 0);
    assert_int_equal(gh_password_hash("pw", 2, h), 0);
    size_t one = gh_password_memory_bytes();
    assert_true(one >= (size_t)TEST_KIB * 1024);
    assert_true(gh_password_memory_wiped());
    assert_true(gh_password_verify(h, "pw", 2));
    /* one thread hashing in turn reuses one slot's memory */
    assert_int_equal(gh_password_memory_bytes(), one);
    gh_password_trim(60 * 1000); /* not idle long enough */
    assert_int_equal(gh_password_memory_bytes(), one);
    gh_password_trim(0);
    assert_int_equal(gh_password_memory_bytes(), 0);
    /* and it comes back when needed */
    assert_true(gh_password_verify(h, "pw", 2));
    assert_int_equal(gh_password_memory_bytes(), one);
    /* a stored hash with more memory than configured grows the slot */
    char big[GH_PWHASH_MAX];
    assert_int_equal(gh_password_setup(TEST_KIB * 3, TEST_OPS, 1, 2), 0);
    assert_int_equal(gh_password_hash("pw", 2, big), 0);
    assert_int_equal(gh_password_setup(TEST_KIB, TEST_OPS, 1, 2), 0);
    assert_true(gh_password_verify(big, "pw", 2));
    assert_true(gh_password_memory_bytes() >= (size_t)TEST_KIB * 3 * 1024);
    assert_true(gh_password_memory_wiped());
    gh_password_trim(0);
}

struct worker {
    char phc[GH_PWHASH_MAX];
    char pw[32];
    int ok;
};

static void *hash_and_check(void *arg)
{
    struct worker *w = arg;
    size_t n = strlen(w->pw);
    w->ok = 0;
    for (int i = 0; i < 3; i++) {
        if (gh_password_hash(w->pw, n, w->phc) != 0 || !gh_password_verify(w->phc, w->pw, n))
            return NULL;
        if (gh_password_verify(w->phc, "not it", 6))
            return NULL;
    }
    w->ok = 1;
    return NULL;
}

/* Six threads through two slots: every result right, memory for two. */
static void concurrent_hashes_share_two_slots(void **state)
{
    (void)state;
    enum { N = 6 };
    pthread_t th[N];
    struct worker w[N];
    assert_int_equal(gh_password_setup(TEST_KIB, TEST_OPS, 1, 2), 0);
    for (int i = 0; i < N; i++) {
        snprintf(w[i].pw, sizeof(w[i].pw), "password-%d", i);
        assert_int_equal(pthread_create(&th[i], NULL, hash_and_check, &w[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].ok, 1);
    }
    size_t per_slot = ((size_t)TEST_KIB * 1024 + (2u << 20) - 1) / (2u << 20) * (2u << 20);
    assert_true(gh_password_memory_bytes() <= 2 * (per_slot + (2u << 20)));
    assert_true(gh_password_memory_wiped());
    gh_password_trim(0);
}

static void dummy_never_matches(void **state)
{
    (void)state;
    assert_false(gh_password_verify_dummy("anything", 8));
    assert_false(gh_password_verify_dummy("", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_then_verify),
        cmocka_unit_test(agrees_with_libsodium),
        cmocka_unit_test(known_answer),
        cmocka_unit_test(malformed_strings_refused),
        cmocka_unit_test(needs_rehash_follows_settings),
        cmocka_unit_test(lanes_follow_settings),
        cmocka_unit_test(memory_kept_wiped_and_trimmed),
        cmocka_unit_test(concurrent_hashes_share_two_slots),
        cmocka_unit_test(dummy_never_matches),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
