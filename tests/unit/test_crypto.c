/* Unit tests for gh_crypto and the master-key AEAD (gh_mkey). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gh_crypto.h"
#include "gh_mkey.h"
#include "gh_password.h"

static int setup(void **state)
{
    (void)state;
    return gh_crypto_init();
}

static void sha256_known_answer(void **state)
{
    (void)state;
    uint8_t h[GH_SHA256_BYTES];
    char hex[65];
    gh_sha256("abc", 3, h); /* FIPS 180-2 example */
    gh_hex(h, sizeof(h), hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void hex_round_trip_and_rejects(void **state)
{
    (void)state;
    uint8_t out[4];
    assert_int_equal(gh_unhex("deadBEEF", 8, out, 4), 0);
    assert_int_equal(out[0], 0xde);
    assert_int_equal(out[3], 0xef);
    assert_int_equal(gh_unhex("deadbee", 7, out, 4), -1);
    assert_int_equal(gh_unhex("deadbeeg", 8, out, 4), -1);
    assert_int_equal(gh_unhex("deadbeefaa", 10, out, 4), -1);
}

static void tokens_are_long_and_distinct(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    char *t1 = gh_token(a), *t2 = gh_token(a);
    assert_int_equal(strlen(t1), 43); /* 256 bits, base64url */
    assert_string_not_equal(t1, t2);
    for (const char *p = t1; *p; p++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
    gh_arena_free(a);
}

static void uuid_shape(void **state)
{
    (void)state;
    char u[GH_UUID_STRLEN + 1];
    gh_uuid(u);
    assert_int_equal(strlen(u), 36);
    assert_int_equal(u[8], '-');
    assert_int_equal(u[14], '4');
    assert_non_null(strchr("89ab", u[19]));
}

static void secret_equal(void **state)
{
    (void)state;
    assert_true(gh_secret_equal("s3cret-token", "s3cret-token"));
    assert_false(gh_secret_equal("s3cret-token", "s3cret-tokem"));
    assert_false(gh_secret_equal("s3cret-token", "s3cret-token-longer"));
    assert_false(gh_secret_equal("", "x"));
    assert_false(gh_secret_equal(NULL, "x"));
}

static void rfc3339(void **state)
{
    (void)state;
    char s[32];
    gh_rfc3339(0, s);
    assert_string_equal(s, "1970-01-01T00:00:00.000Z");
    gh_rfc3339(1700000000123LL, s);
    assert_string_equal(s, "2023-11-14T22:13:20.123Z");
}

static void seal_open_and_tamper(void **state)
{
    (void)state;
    uint8_t key[GH_MASTER_KEY_BYTES], other[GH_MASTER_KEY_BYTES];
    gh_random(key, sizeof(key));
    gh_random(other, sizeof(other));
    gh_arena *a = gh_arena_new(0);
    const char *plain = "JBSWY3DPEHPK3PXP";
    char *sealed = gh_mkey_seal(a, key, "totp:u1", (const uint8_t *)plain, strlen(plain));
    assert_non_null(sealed);
    assert_null(strstr(sealed, plain));
    size_t n = 0;
    uint8_t *back = gh_mkey_open(a, key, "totp:u1", sealed, &n);
    assert_non_null(back);
    assert_int_equal(n, strlen(plain));
    assert_memory_equal(back, plain, n);
    assert_null(gh_mkey_open(a, key, "totp:u2", sealed, &n));   /* other context */
    assert_null(gh_mkey_open(a, other, "totp:u1", sealed, &n)); /* other key */
    char was = sealed[30];
    sealed[30] = was == 'A' ? 'B' : 'A';
    assert_null(gh_mkey_open(a, key, "totp:u1", sealed, &n)); /* altered */
    assert_null(gh_mkey_open(a, key, "totp:u1", "short", &n));
    sealed[30] = was; /* restored: it opens again */
    assert_non_null(gh_mkey_open(a, key, "totp:u1", sealed, &n));
    sealed[5] = (char)0xdc; /* libsodium 1.0.18 would read this byte as a letter */
    assert_null(gh_mkey_open(a, key, "totp:u1", sealed, &n));
    gh_arena_free(a);
}

static void b64url_alphabet(void **state)
{
    (void)state;
    assert_true(gh_b64url_valid("AZaz09-_", 8));
    assert_true(gh_b64url_valid("", 0));
    assert_false(gh_b64url_valid("ab+c", 4));
    assert_false(gh_b64url_valid("ab/c", 4));
    assert_false(gh_b64url_valid("abc=", 4));
    assert_false(gh_b64url_valid("ab\xdc\xdc", 4));
    assert_false(gh_b64url_valid("ab c", 4));
}

/* SECURITY.md #10 (ASVS 11.4.2): argon2id PHC strings with a unique salt. */
static void password_hash_verify(void **state)
{
    (void)state;
    char h1[GH_PWHASH_MAX], h2[GH_PWHASH_MAX];
    assert_int_equal(gh_password_setup(8192, 1, 2), 0);
    assert_int_equal(gh_password_hash("correct horse", 13, h1), 0);
    assert_int_equal(gh_password_hash("correct horse", 13, h2), 0);
    assert_int_equal(strncmp(h1, "$argon2id$", 10), 0);
    assert_string_not_equal(h1, h2); /* unique salts */
    assert_true(gh_password_verify(h1, "correct horse", 13));
    assert_false(gh_password_verify(h1, "correct horsf", 13));
    assert_false(gh_password_verify(h1, "correct hors", 12));
    assert_false(gh_password_verify("$2y$10$notargon", "x", 1));
    assert_false(gh_password_needs_rehash(h1));
    assert_int_equal(gh_password_setup(16384, 2, 2), 0);
    assert_true(gh_password_needs_rehash(h1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_known_answer),
        cmocka_unit_test(hex_round_trip_and_rejects),
        cmocka_unit_test(tokens_are_long_and_distinct),
        cmocka_unit_test(uuid_shape),
        cmocka_unit_test(secret_equal),
        cmocka_unit_test(rfc3339),
        cmocka_unit_test(seal_open_and_tamper),
        cmocka_unit_test(password_hash_verify),
        cmocka_unit_test(b64url_alphabet),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
