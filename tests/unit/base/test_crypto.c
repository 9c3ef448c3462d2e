/* Unit tests for gh_crypto and the master-key AEAD (gh_mkey). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
/* gh_mkey_mac: HMAC-SHA-256 under a subkey (crypto_kdf, id 1, the purpose
 * as context). The known answer was computed with Python's hashlib
 * (blake2b with key, salt = id, person = purpose; then hmac/sha256), an
 * implementation independent of libsodium. */
static void mac_known_answer_and_separation(void **state)
{
    (void)state;
    uint8_t key[GH_MASTER_KEY_BYTES], other[GH_MASTER_KEY_BYTES];
    for (int i = 0; i < GH_MASTER_KEY_BYTES; i++) {
        key[i] = (uint8_t)i;
        other[i] = (uint8_t)(i + 1);
    }
    char h[65], h2[65], plain[65];
    gh_mkey_mac(key, "gh-code", "flow-1:123456", h);
    assert_string_equal(h, "7a0c5ee6615bf1f1b08d3262eed9b24aaaac7a4f3dd57bbc018109c3e4f63f61");
    gh_mkey_mac(key, "gh-code", "flow-1:123457", h2);
    assert_string_not_equal(h, h2);
    gh_mkey_mac(other, "gh-code", "flow-1:123456", h2);
    assert_string_not_equal(h, h2); /* another master key */
    gh_mkey_mac(key, "gh-other", "flow-1:123456", h2);
    assert_string_not_equal(h, h2); /* another purpose */
    gh_secret_hash("flow-1:123456", plain);
    assert_string_not_equal(h, plain); /* not the plain SHA-256 */
}

static void password_hash_verify(void **state)
{
    (void)state;
    char h1[GH_PWHASH_MAX], h2[GH_PWHASH_MAX];
    assert_int_equal(gh_password_setup(8192, 1, 1, 2), 0);
    assert_int_equal(gh_password_hash("correct horse", 13, h1), 0);
    assert_int_equal(gh_password_hash("correct horse", 13, h2), 0);
    assert_int_equal(strncmp(h1, "$argon2id$", 10), 0);
    assert_string_not_equal(h1, h2); /* unique salts */
    assert_true(gh_password_verify(h1, "correct horse", 13));
    assert_false(gh_password_verify(h1, "correct horsf", 13));
    assert_false(gh_password_verify(h1, "correct hors", 12));
    assert_false(gh_password_verify("$2y$10$notargon", "x", 1));
    assert_false(gh_password_needs_rehash(h1));
    assert_int_equal(gh_password_setup(16384, 2, 1, 2), 0);
    assert_true(gh_password_needs_rehash(h1));
}

/* The per-thread generator behind gh_random and every randombytes_* call. */
static void random_is_ours_and_calls_differ(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    assert_string_equal(randombytes_implementation_name(), "gh-chacha20-fke");
    gh_random(a, sizeof(a));
    gh_random(b, sizeof(b));
    assert_memory_not_equal(a, b, sizeof(a));
    randombytes_buf(a, sizeof(a));
    assert_memory_not_equal(a, b, sizeof(a));
}

static void random_zero_length(void **state)
{
    (void)state;
    uint8_t b[4] = {0xa5, 0xa5, 0xa5, 0xa5}, want[4] = {0xa5, 0xa5, 0xa5, 0xa5};
    gh_random(b, 0);
    randombytes_buf(b, 0);
    assert_memory_equal(b, want, sizeof(b));
}

/* Many times the 512-byte buffer, an odd length, and past the 1 MiB reseed:
 * every byte must be filled. Chi-square over 256 bins has 255 degrees of
 * freedom (mean 255, sd about 23), so 400 fails only for broken output. */
static void random_large_request_histogram(void **state)
{
    (void)state;
    size_t n = (1u << 20) + 3;
    uint8_t *b = malloc(n);
    assert_non_null(b);
    memset(b, 0, n);
    gh_random(b, n);
    size_t count[256] = {0};
    for (size_t i = 0; i < n; i++)
        count[b[i]]++;
    double expect = (double)n / 256, chi2 = 0;
    for (int v = 0; v < 256; v++) {
        double d = (double)count[v] - expect;
        chi2 += d * d / expect;
    }
    assert_true(chi2 < 400.0);
    uint8_t zero[64] = {0};
    assert_memory_not_equal(b + n - sizeof(zero), zero, sizeof(zero)); /* the tail too */
    free(b);

    n = 100 * 1024; /* a second large request right after one that reseeded */
    b = calloc(1, n);
    assert_non_null(b);
    gh_random(b, n);
    assert_memory_not_equal(b + n - sizeof(zero), zero, sizeof(zero));
    free(b);
}

static void *random_thread(void *arg)
{
    gh_random(arg, 64);
    return NULL;
}

static void random_threads_differ(void **state)
{
    (void)state;
    uint8_t out[2][64], mine[64];
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, random_thread, out[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    gh_random(mine, sizeof(mine));
    assert_memory_not_equal(out[0], out[1], sizeof(mine));
    assert_memory_not_equal(out[0], mine, sizeof(mine));
    assert_memory_not_equal(out[1], mine, sizeof(mine));
}

/* Without the fork check the child would hand out the same buffered bytes as
 * the parent: draw a few first so the buffer is part-used when we fork. */
static void random_fork_child_differs(void **state)
{
    (void)state;
    uint8_t warm[5], child[32], parent[32];
    int fd[2];
    gh_random(warm, sizeof(warm));
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint8_t b[32];
        close(fd[0]);
        gh_random(b, sizeof(b));
        _exit(write(fd[1], b, sizeof(b)) == (ssize_t)sizeof(b) ? 0 : 1);
    }
    close(fd[1]);
    gh_random(parent, sizeof(parent));
    size_t got = 0;
    while (got < sizeof(child)) {
        ssize_t r = read(fd[0], child + got, sizeof(child) - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(got, sizeof(child));
    assert_memory_not_equal(child, parent, sizeof(child));
}

/* uniform is left to libsodium's generic rejection sampling over our random(). */
static void random_uniform_range(void **state)
{
    (void)state;
    int seen[10] = {0};
    for (int i = 0; i < 10000; i++) {
        uint32_t v = randombytes_uniform(10);
        assert_true(v < 10);
        seen[v]++;
    }
    for (int v = 0; v < 10; v++)
        assert_true(seen[v] > 0);
    assert_int_equal(randombytes_uniform(0), 0);
    assert_int_equal(randombytes_uniform(1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_known_answer),
        cmocka_unit_test(hex_round_trip_and_rejects),
        cmocka_unit_test(tokens_are_long_and_distinct),
        cmocka_unit_test(uuid_shape),
        cmocka_unit_test(secret_equal),
        cmocka_unit_test(seal_open_and_tamper),
        cmocka_unit_test(mac_known_answer_and_separation),
        cmocka_unit_test(password_hash_verify),
        cmocka_unit_test(b64url_alphabet),
        cmocka_unit_test(random_is_ours_and_calls_differ),
        cmocka_unit_test(random_zero_length),
        cmocka_unit_test(random_large_request_histogram),
        cmocka_unit_test(random_threads_differ),
        cmocka_unit_test(random_fork_child_differs),
        cmocka_unit_test(random_uniform_range),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
