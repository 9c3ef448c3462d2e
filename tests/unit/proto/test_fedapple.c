/* gh_fedapple: Sign in with Apple's client secret JWT and its "user" form
 * field (issue 21 part 4, docs/federation.md "Apple"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "gh_fedapple.h"

/* A new private key of the curve (or RSA when curve is NULL) in PEM (malloc). */
static char *new_key_pem(const char *curve)
{
    EVP_PKEY *k = curve ? EVP_EC_gen(curve) : EVP_RSA_gen(2048);
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *out = strndup(data, (size_t)n);
    BIO_free(b);
    EVP_PKEY_free(k);
    return out;
}

static json_t *segment(const char *s, size_t n)
{
    uint8_t buf[1024];
    size_t len = 0;
    assert_int_equal(sodium_base642bin(buf, sizeof(buf), s, n, NULL, &len, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    return json_loadb((const char *)buf, len, 0, NULL);
}

/* Whether the ES256 signature of jwt verifies with pem's public half. */
static bool es256_verifies(const char *jwt, const char *pem)
{
    const char *dot2 = strrchr(jwt, '.');
    uint8_t raw[64];
    size_t len = 0;
    if (sodium_base642bin(raw, sizeof(raw), dot2 + 1, strlen(dot2 + 1), NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        len != 64)
        return false;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
    uint8_t *der = NULL;
    int dern = i2d_ECDSA_SIG(sig, &der);
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok =
        EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
        EVP_DigestVerify(md, der, (size_t)dern, (const uint8_t *)jwt, (size_t)(dot2 - jwt)) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    BIO_free(b);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    return ok;
}

static void ids_are_ten_of_a_z_and_digits(void **state)
{
    (void)state;
    static const struct {
        const char *id;
        bool ok;
    } cases[] = {{"ABCDE12345", true},
                 {"abcde12345", false},
                 {"ABCDE1234", false},
                 {"ABCDE12345X", false},
                 {NULL, false}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(gh_fedapple_id_ok(cases[i].id), cases[i].ok);
}

static void only_a_p256_private_key_is_taken(void **state)
{
    (void)state;
    char *ec = new_key_pem("P-256"), *p384 = new_key_pem("P-384"), *rsa = new_key_pem(NULL);
    assert_null(gh_fedapple_key_check(ec));
    assert_non_null(gh_fedapple_key_check(p384));
    assert_non_null(gh_fedapple_key_check(rsa));
    assert_non_null(gh_fedapple_key_check("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE "
                                          "KEY-----\n"));
    assert_non_null(gh_fedapple_key_check(""));
    free(ec);
    free(p384);
    free(rsa);
}

static void the_client_secret_is_what_apple_asks(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(1 << 16);
    char *pem = new_key_pem("P-256"), *other = new_key_pem("P-256");
    char *jwt = gh_fedapple_client_secret(a, "TEAM123456", "KEY1234567", "com.example.web", pem,
                                          1700000000);
    assert_non_null(jwt);
    const char *dot1 = strchr(jwt, '.'), *dot2 = strrchr(jwt, '.');
    json_t *hdr = segment(jwt, (size_t)(dot1 - jwt));
    json_t *body = segment(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(hdr, "kid")), "KEY1234567");
    assert_string_equal(json_string_value(json_object_get(body, "iss")), "TEAM123456");
    assert_string_equal(json_string_value(json_object_get(body, "sub")), "com.example.web");
    assert_string_equal(json_string_value(json_object_get(body, "aud")),
                        "https://appleid.apple.com");
    assert_int_equal(json_integer_value(json_object_get(body, "iat")), 1700000000);
    assert_int_equal(json_integer_value(json_object_get(body, "exp")),
                     1700000000 + GH_FEDAPPLE_SECRET_TTL_S);
    assert_true(es256_verifies(jwt, pem));
    assert_false(es256_verifies(jwt, other));
    assert_null(gh_fedapple_client_secret(a, "T", "K", "c", "junk", 1));
    json_decref(hdr);
    json_decref(body);
    free(pem);
    free(other);
    gh_arena_free(a);
}

static void the_user_field_fills_only_missing_names(void **state)
{
    (void)state;
    json_t *claims = json_pack("{s:s}", "sub", "x");
    gh_fedapple_user_names(
        "{\"name\":{\"firstName\":\"Grace\",\"lastName\":\"Hopper\"},\"email\":\"e@x\"}", claims);
    assert_string_equal(json_string_value(json_object_get(claims, "given_name")), "Grace");
    assert_string_equal(json_string_value(json_object_get(claims, "family_name")), "Hopper");
    assert_string_equal(json_string_value(json_object_get(claims, "name")), "Grace Hopper");
    assert_null(json_object_get(claims, "email")); /* unsigned: never the address */
    json_t *signed_claims = json_pack("{s:s}", "given_name", "Signed");
    gh_fedapple_user_names("{\"name\":{\"firstName\":\"Other\"}}", signed_claims);
    assert_string_equal(json_string_value(json_object_get(signed_claims, "given_name")), "Signed");
    gh_fedapple_user_names("not json", signed_claims);
    gh_fedapple_user_names(NULL, signed_claims);
    json_decref(claims);
    json_decref(signed_claims);
}

/* The given name field yields in a fresh claims object (left in *claims),
 * or NULL when none came. */
static const char *given_name_of(const char *field, json_t **claims)
{
    *claims = json_pack("{s:s}", "sub", "x");
    gh_fedapple_user_names(field, *claims);
    assert_null(json_object_get(*claims, "email"));
    return json_string_value(json_object_get(*claims, "given_name"));
}

/* The field comes from the browser's cross-site POST, so it is parsed with
 * the project's bounds (gh_json_parse; issue 22's review): anything outside
 * them gives no names and no failure. */
static void a_user_field_out_of_bounds_gives_no_names(void **state)
{
    (void)state;
    json_t *claims = NULL;
    /* the shape Apple sends is within the depth bound */
    assert_string_equal(
        given_name_of("{\"name\":{\"firstName\":\"Ada\",\"lastName\":\"L\"},\"email\":\"a@x\"}",
                      &claims),
        "Ada");
    json_decref(claims);
    /* too deep: one level past GH_FEDAPPLE_USER_DEPTH around a good name */
    assert_null(given_name_of(
        "{\"name\":{\"firstName\":\"Ada\",\"x\":{\"y\":[1]}},\"email\":\"a@x\"}", &claims));
    assert_null(json_object_get(claims, "name"));
    json_decref(claims);
    /* deep nesting far past any bound: refused before jansson recurses */
    char deep[20001];
    memset(deep, '[', 10000);
    memset(deep + 10000, ']', 10000);
    deep[20000] = '\0';
    assert_null(given_name_of(deep, &claims));
    json_decref(claims);
    /* not an object */
    assert_null(given_name_of("[{\"name\":{\"firstName\":\"Ada\"}}]", &claims));
    json_decref(claims);
    assert_null(given_name_of("\"Ada\"", &claims));
    json_decref(claims);
    /* broken UTF-8 inside an otherwise good field */
    assert_null(given_name_of("{\"name\":{\"firstName\":\"Ad\xc3\x28\"}}", &claims));
    json_decref(claims);
    /* a duplicate key is refused, not resolved either way */
    assert_null(given_name_of("{\"name\":{\"firstName\":\"Ada\",\"firstName\":\"Eve\"}}", &claims));
    json_decref(claims);
    /* oversized: a good field padded past GH_FEDAPPLE_USER_MAX */
    size_t n = GH_FEDAPPLE_USER_MAX + 64;
    char *big = malloc(n + 1);
    int head = snprintf(big, n + 1, "{\"name\":{\"firstName\":\"Ada\"},\"email\":\"");
    memset(big + head, 'a', n - (size_t)head - 2);
    memcpy(big + n - 2, "\"}", 3);
    assert_null(given_name_of(big, &claims));
    json_decref(claims);
    free(big);
    assert_null(given_name_of("", &claims));
    json_decref(claims);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ids_are_ten_of_a_z_and_digits),
        cmocka_unit_test(only_a_p256_private_key_is_taken),
        cmocka_unit_test(the_client_secret_is_what_apple_asks),
        cmocka_unit_test(the_user_field_fills_only_missing_names),
        cmocka_unit_test(a_user_field_out_of_bounds_gives_no_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
