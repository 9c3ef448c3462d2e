/* Unit tests for gh_mkey_derive: every purpose in use keeps the bytes it
 * had before the derivations became one function. The known answers were
 * computed with the code each purpose used before (gh_mkey_mac's crypto_kdf,
 * the HMAC-SHA-256 of gh_csrf_token_for and gh_oidc_mac), and again with
 * Python's hashlib (blake2b with key, salt = id 1, person = purpose; hmac
 * with sha256), for the master key 00 01 02 ... 1f. A change here breaks
 * stored code hashes, CSRF tokens in open pages and markers in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <string.h>

#include "gh_crypto.h"
#include "gh_mkey.h"

static int setup(void **state)
{
    (void)state;
    return gh_crypto_init();
}

static void test_key(uint8_t key[GH_MASTER_KEY_BYTES])
{
    for (int i = 0; i < GH_MASTER_KEY_BYTES; i++)
        key[i] = (uint8_t)i;
}

static void derive_hex(const uint8_t key[GH_MASTER_KEY_BYTES], const char *purpose, char hex[65])
{
    uint8_t out[GH_MKEY_DERIVED_BYTES];
    assert_int_equal(gh_mkey_derive(key, purpose, out, sizeof(out)), 0);
    gh_hex(out, sizeof(out), hex);
}

static void purposes_keep_their_bytes(void **state)
{
    (void)state;
    static const struct {
        const char *purpose, *hex;
    } known[] = {
        /* crypto_kdf (gh_mkey_mac) */
        {"gh-code", "3c07704de0504cfe4476ec2c2f5b27ac4ec45ed254fe1dff2a60ba826945608a"},
        /* HMAC-SHA-256 of the purpose (gh_csrf_token_for, gh_oidc_mac) */
        {"gatehouse csrf v1", "97550ae61699a4497fde1c9e4f706390607e6b88127de195e7278ca4d9b2199c"},
        {"gatehouse authz v2", "79adb1f28f5513eea7ef62d88bc36ba64913b3540b65feeefd13b5aac5274bf6"},
        {"gatehouse consent v2",
         "f2c6b1367de13c6edab216b511961481f265e7b6684d89453f87e56d8f761850"},
    };
    uint8_t key[GH_MASTER_KEY_BYTES];
    char hex[65];
    test_key(key);
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        derive_hex(key, known[i].purpose, hex);
        assert_string_equal(hex, known[i].hex);
    }
}

/* gh_mkey_mac is HMAC-SHA-256 under the "gh-code" key: the hash stored for
 * an emailed code (the value test_crypto pins) comes out of gh_mkey_derive. */
static void mac_uses_the_derived_key(void **state)
{
    (void)state;
    uint8_t key[GH_MASTER_KEY_BYTES], sub[GH_MKEY_DERIVED_BYTES], mac[32];
    char want[65], got[65];
    const char *msg = "flow-1:123456";
    test_key(key);
    assert_int_equal(gh_mkey_derive(key, "gh-code", sub, sizeof(sub)), 0);
    crypto_auth_hmacsha256(mac, (const uint8_t *)msg, strlen(msg), sub);
    gh_hex(mac, sizeof(mac), want);
    gh_mkey_mac(key, "gh-code", msg, got);
    assert_string_equal(got, want);
    assert_string_equal(got, "7a0c5ee6615bf1f1b08d3262eed9b24aaaac7a4f3dd57bbc018109c3e4f63f61");
}

static void purposes_and_keys_separate(void **state)
{
    (void)state;
    uint8_t key[GH_MASTER_KEY_BYTES], other[GH_MASTER_KEY_BYTES];
    char a[65], b[65];
    test_key(key);
    memcpy(other, key, sizeof(other));
    other[31] ^= 1;
    derive_hex(key, "gatehouse csrf v1", a);
    derive_hex(other, "gatehouse csrf v1", b);
    assert_string_not_equal(a, b);
    derive_hex(key, "gatehouse csrf v2", b);
    assert_string_not_equal(a, b);
    derive_hex(key, "gh-code", a);
    derive_hex(other, "gh-code", b);
    assert_string_not_equal(a, b);
}

static void refuses_other_lengths_and_no_purpose(void **state)
{
    (void)state;
    uint8_t key[GH_MASTER_KEY_BYTES], out[64];
    const uint8_t zero[64] = {0};
    test_key(key);
    memset(out, 0xaa, sizeof(out));
    assert_int_equal(gh_mkey_derive(key, "gh-code", out, 16), -1);
    assert_memory_equal(out, zero, 16);
    memset(out, 0xaa, sizeof(out));
    assert_int_equal(gh_mkey_derive(key, "gatehouse csrf v1", out, 64), -1);
    assert_memory_equal(out, zero, 64);
    assert_int_equal(gh_mkey_derive(key, NULL, out, GH_MKEY_DERIVED_BYTES), -1);
    assert_int_equal(gh_mkey_derive(key, "", out, GH_MKEY_DERIVED_BYTES), -1);
    assert_int_equal(gh_mkey_derive(key, "gh-code", NULL, GH_MKEY_DERIVED_BYTES), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(purposes_keep_their_bytes),
        cmocka_unit_test(mac_uses_the_derived_key),
        cmocka_unit_test(purposes_and_keys_separate),
        cmocka_unit_test(refuses_other_lengths_and_no_purpose),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
