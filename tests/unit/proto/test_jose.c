/* Unit tests for gh_jose: the compact-JWS parse, signatures checked against
 * a JWK Set, typ matching, which key fits which alg, RFC 7638 thumbprints.
 * No database: the keys are RFC examples or made here with cjose. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjose/cjose.h>
#include <stdlib.h>
#include <string.h>

#include "gh_crypto.h"
#include "gh_jose.h"

/* RFC 7515 appendix A.3: a JWS signed with ES256, and its key. */
static const char rfc7515_es256[] =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
static const char rfc7515_x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
static const char rfc7515_y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

/* RFC 7638 section 3.1: an RSA public key and its thumbprint. */
static const char rfc7638_n[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
    "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
    "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
static const char rfc7638_thumbprint[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

static int setup(void **state)
{
    (void)state;
    return gh_crypto_init();
}

static json_t *rfc7515_jwk(void)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", rfc7515_x, "y",
                     rfc7515_y);
}

static json_t *rfc7638_jwk(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "n", rfc7638_n, "e", "AQAB", "alg",
                     "RS256", "kid", "2011-04-29");
}

static char *b64url(gh_arena *a, const char *s)
{
    return gh_b64url(a, (const uint8_t *)s, strlen(s));
}

/* A compact JWS signed by jwk with header hdr (stolen), in the arena. */
static char *sign_with(gh_arena *a, const cjose_jwk_t *jwk, json_t *hdr, const char *payload)
{
    cjose_err ce;
    cjose_jws_t *jws =
        cjose_jws_sign(jwk, (cjose_header_t *)hdr, (const uint8_t *)payload, strlen(payload), &ce);
    const char *ser = NULL;
    char *out = NULL;
    if (jws && cjose_jws_export(jws, &ser, &ce))
        out = gh_arena_strdup(a, ser);
    cjose_jws_release(jws);
    json_decref(hdr);
    return out;
}

/* {"keys": [the public part of jwk, with kid]} */
static json_t *jwks_of(const cjose_jwk_t *jwk, const char *kid)
{
    cjose_err ce;
    char *text = cjose_jwk_to_json(jwk, false, &ce);
    json_t *k = text ? json_loads(text, 0, NULL) : NULL;
    gh_jose_free_text(text, false);
    json_object_set_new(k, "kid", json_string(kid));
    return json_pack("{s:[o]}", "keys", k);
}

static void parse_refuses_malformed(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    const char *pay = b64url(a, "{}");
    const char *sig = "AAAA";
    struct {
        const char *jws, *why;
    } bad[] = {
        {NULL, "no token"},
        {"", "no token"},
        {"abc", "not a compact JWS"},
        {"a.b", "not a compact JWS"},
        {"a.b.c.d", "not a compact JWS"},
        {".e30.AAAA", "malformed token"},
        {"e30..AAAA", "malformed token"},
        {"e3=.e30.AAAA", "malformed token"},
        {"e3+0.e30.AAAA", "malformed token"},
        {gh_arena_printf(a, "%s.%s.%s", b64url(a, "[1]"), pay, sig), "malformed header"},
        {gh_arena_printf(a, "%s.%s.%s", b64url(a, "{\"alg\":"), pay, sig), "malformed header"},
        {gh_arena_printf(a, "%s.%s.%s", b64url(a, "{\"alg\":\"ES256\",\"alg\":\"none\"}"), pay,
                         sig),
         "malformed header"},
        {gh_arena_printf(a, "%s.%s.%s", b64url(a, "{\"kid\":\"k\"}"), pay, sig), "no alg"},
        {gh_arena_printf(a, "%s.%s.", b64url(a, "{\"alg\":\"none\"}"), pay), "alg none refused"},
        {gh_arena_printf(a, "%s.%s.%s", b64url(a, "{\"alg\":\"NONE\"}"), pay, sig),
         "alg none refused"},
        {gh_arena_printf(a, "%s.%s.%s", b64url(a, "{\"alg\":\"ES256\",\"crit\":[\"b64\"]}"), pay,
                         sig),
         "crit not supported"},
        {gh_arena_printf(a, "%s.%s.%s", b64url(a, "{\"alg\":\"ES256\",\"kid\":7}"), pay, sig),
         "malformed header"},
        {gh_arena_printf(a, "%s.%s.%s", b64url(a, "{\"alg\":\"ES256\",\"typ\":[]}"), pay, sig),
         "malformed header"},
        {gh_arena_printf(a, "%s.%s.", b64url(a, "{\"alg\":\"ES256\"}"), pay), "no signature"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gh_jose_jws p;
        const char *why = NULL;
        assert_int_equal(gh_jose_parse(bad[i].jws, &p, &why), -1);
        assert_non_null(why);
        assert_string_equal(why, bad[i].why);
        assert_null(p.hdr);
    }
    /* longer than GH_JOSE_MAX_JWS */
    size_t n = GH_JOSE_MAX_JWS + 2;
    char *big = gh_arena_alloc(a, n + 1);
    memset(big, 'A', n);
    big[n] = '\0';
    big[10] = big[20] = '.';
    gh_jose_jws p;
    const char *why = NULL;
    assert_int_equal(gh_jose_parse(big, &p, &why), -1);
    assert_string_equal(why, "token too long");
    /* why may be NULL */
    assert_int_equal(gh_jose_parse("a.b", &p, NULL), -1);
    gh_arena_free(a);
}

static void parse_reads_the_header(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    char *t = gh_arena_printf(a, "%s.%s.%s",
                              b64url(a, "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"at+jwt\"}"),
                              b64url(a, "{}"), "AAAA");
    gh_jose_jws p;
    const char *why = NULL;
    assert_int_equal(gh_jose_parse(t, &p, &why), 0);
    assert_null(why);
    assert_string_equal(p.alg, "ES256");
    assert_string_equal(p.kid, "k1");
    assert_string_equal(p.typ, "at+jwt");
    assert_int_equal(p.siglen, 3);
    assert_ptr_equal(p.s, t);
    assert_int_equal(p.len, strlen(t));
    gh_jose_jws_free(&p);
    gh_jose_jws_free(&p); /* twice is fine */
    assert_int_equal(gh_jose_parse(rfc7515_es256, &p, &why), 0);
    assert_null(p.kid);
    assert_null(p.typ);
    assert_int_equal(p.siglen, 64);
    gh_jose_jws_free(&p);
    gh_arena_free(a);
}

/* RFC 7515 A.3 verifies against its key; any flipped byte does not. */
static void es256_verifies_and_flipped_bytes_fail(void **state)
{
    (void)state;
    json_t *set = json_pack("{s:[o]}", "keys", rfc7515_jwk());
    const char *why = NULL;
    json_t *got = gh_jose_verify_with_jwks(rfc7515_es256, set, &why);
    assert_non_null(got);
    assert_null(why);
    assert_string_equal(json_string_value(json_object_get(got, "iss")), "joe");
    assert_int_equal(json_integer_value(json_object_get(got, "exp")), 1300819380);
    json_decref(got);

    const char *d1 = strchr(rfc7515_es256, '.'), *d2 = strrchr(rfc7515_es256, '.');
    size_t at[] = {(size_t)(d1 - rfc7515_es256) + 5, (size_t)(d2 - rfc7515_es256) + 5,
                   strlen(rfc7515_es256) - 3};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        char t[sizeof(rfc7515_es256)];
        memcpy(t, rfc7515_es256, sizeof(t));
        t[at[i]] = t[at[i]] == 'x' ? 'y' : 'x';
        why = NULL;
        assert_null(gh_jose_verify_with_jwks(t, set, &why));
        assert_string_equal(why, "bad signature");
    }
    /* Another P-256 key of the same kid does not verify it either. */
    cjose_err ce;
    cjose_jwk_t *stranger = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &ce);
    json_t *other = jwks_of(stranger, "k");
    assert_null(gh_jose_verify_with_jwks(rfc7515_es256, other, &why));
    assert_string_equal(why, "bad signature");
    json_decref(other);
    cjose_jwk_release(stranger);
    json_decref(set);
}

/* A token signed here, with kid and typ, round-trips through its JWKS. */
static void signed_token_verifies_with_its_jwks(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    cjose_err ce;
    cjose_jwk_t *ec = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &ce);
    assert_non_null(ec);
    json_t *set = jwks_of(ec, "ec-1");
    char *t =
        sign_with(a, ec, json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid", "ec-1", "typ", "JWT"),
                  "{\"sub\":\"alice\"}");
    const char *why = NULL;
    json_t *got = gh_jose_verify_with_jwks(t, set, &why);
    assert_non_null(got);
    assert_string_equal(json_string_value(json_object_get(got, "sub")), "alice");
    json_decref(got);
    /* The same through the pieces gh_keys uses. */
    gh_jose_jws p;
    assert_int_equal(gh_jose_parse(t, &p, &why), 0);
    assert_null(gh_jose_key_fits(ec, p.alg, p.siglen));
    got = gh_jose_check_signature(&p, ec, &why);
    assert_non_null(got);
    json_decref(got);
    gh_jose_jws_free(&p);
    /* A payload that is not a JSON object is refused after the signature. */
    t = sign_with(a, ec, json_pack("{s:s, s:s}", "alg", "ES256", "kid", "ec-1"), "[1]");
    assert_null(gh_jose_verify_with_jwks(t, set, &why));
    assert_string_equal(why, "payload is not a JSON object");
    json_decref(set);
    cjose_jwk_release(ec);
    gh_arena_free(a);
}

static void typ_must_match(void **state)
{
    (void)state;
    assert_true(gh_jose_typ_matches("at+jwt", "at+jwt"));
    assert_true(gh_jose_typ_matches("AT+JWT", "at+jwt"));
    assert_true(gh_jose_typ_matches("application/at+jwt", "at+jwt"));
    assert_true(gh_jose_typ_matches(NULL, GH_JOSE_TYP_JWT));
    assert_true(gh_jose_typ_matches("JWT", GH_JOSE_TYP_JWT));
    /* wrong typ: an access or logout token where an ID token is wanted */
    assert_false(gh_jose_typ_matches("at+jwt", GH_JOSE_TYP_JWT));
    assert_false(gh_jose_typ_matches("logout+jwt", GH_JOSE_TYP_JWT));
    assert_false(gh_jose_typ_matches("JWT", "at+jwt"));
    assert_false(gh_jose_typ_matches(NULL, "at+jwt"));
    assert_false(gh_jose_typ_matches("application/", "at+jwt"));
    assert_false(gh_jose_typ_matches("text/at+jwt", "at+jwt"));

    gh_arena *a = gh_arena_new(0);
    char *t = gh_arena_printf(a, "%s.%s.AAAA", b64url(a, "{\"alg\":\"ES256\",\"typ\":\"at+jwt\"}"),
                              b64url(a, "{}"));
    gh_jose_jws p;
    const char *why = NULL;
    assert_int_equal(gh_jose_parse(t, &p, &why), 0);
    assert_false(gh_jose_typ_matches(p.typ, GH_JOSE_TYP_JWT));
    assert_true(gh_jose_typ_matches(p.typ, "at+jwt"));
    gh_jose_jws_free(&p);
    gh_arena_free(a);
}

/* An RSA key is never used for ES256, nor an EC key for RS256. */
static void rsa_key_not_used_for_es256(void **state)
{
    (void)state;
    json_t *rsa = rfc7638_jwk(), *ec = rfc7515_jwk();
    assert_false(gh_jose_jwk_suitable(rsa, "ES256"));
    assert_true(gh_jose_jwk_suitable(rsa, "RS256"));
    assert_false(gh_jose_jwk_suitable(rsa, "PS256")); /* its own alg says RS256 */
    assert_false(gh_jose_jwk_suitable(ec, "RS256"));
    assert_true(gh_jose_jwk_suitable(ec, "ES256"));

    /* The RFC 7515 ES256 token against a set holding only the RSA key. */
    json_t *set = json_pack("{s:[O]}", "keys", rsa);
    const char *why = NULL;
    assert_null(gh_jose_verify_with_jwks(rfc7515_es256, set, &why));
    assert_string_equal(why, "no suitable key");
    json_decref(set);

    /* And at the cjose level: the imported RSA key does not fit ES256. */
    json_object_del(rsa, "alg");
    json_object_del(rsa, "kid");
    char *text = json_dumps(rsa, JSON_COMPACT);
    cjose_err ce;
    cjose_jwk_t *k = cjose_jwk_import(text, strlen(text), &ce);
    free(text);
    assert_non_null(k);
    assert_string_equal(gh_jose_key_fits(k, "ES256", 64), "key does not fit alg");
    assert_null(gh_jose_key_fits(k, "RS256", 256));
    assert_string_equal(gh_jose_key_fits(k, "RS256", 255), "bad signature");
    assert_string_equal(gh_jose_key_fits(k, "HS256", 0), "alg not allowed");
    cjose_jwk_release(k);
    json_decref(rsa);
    json_decref(ec);
}

static void thumbprint_rfc7638(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    json_t *k = rfc7638_jwk();
    assert_string_equal(gh_jose_thumbprint(a, k), rfc7638_thumbprint);
    json_decref(k);
    /* Members that are not required do not count; missing ones fail. */
    json_t *bad = json_pack("{s:s, s:s}", "kty", "RSA", "n", rfc7638_n);
    assert_null(gh_jose_thumbprint(a, bad));
    json_decref(bad);
    bad = json_pack("{s:s, s:s}", "kty", "oct", "k", "AAAA");
    assert_null(gh_jose_thumbprint(a, bad));
    json_decref(bad);
    bad = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", "a\"b", "y", "c");
    assert_null(gh_jose_thumbprint(a, bad));
    json_decref(bad);
    /* The public members of a cjose key give the same thumbprint. */
    cjose_err ce;
    json_t *ec = rfc7515_jwk();
    char *text = json_dumps(ec, JSON_COMPACT);
    cjose_jwk_t *jwk = cjose_jwk_import(text, strlen(text), &ce);
    free(text);
    json_t *pub = gh_jose_public_members(jwk);
    assert_non_null(pub);
    assert_int_equal(json_object_size(pub), 4);
    assert_string_equal(gh_jose_thumbprint(a, pub), gh_jose_thumbprint(a, ec));
    json_decref(pub);
    json_decref(ec);
    cjose_jwk_release(jwk);
    gh_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_refuses_malformed),
        cmocka_unit_test(parse_reads_the_header),
        cmocka_unit_test(es256_verifies_and_flipped_bytes_fail),
        cmocka_unit_test(signed_token_verifies_with_its_jwks),
        cmocka_unit_test(typ_must_match),
        cmocka_unit_test(rsa_key_not_used_for_es256),
        cmocka_unit_test(thumbprint_rfc7638),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
