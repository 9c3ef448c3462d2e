/* Unit tests for gh_client_cred: the Basic header of client authentication
 * (RFC 6749 2.3.1) and the claims of client assertions (RFC 7523 3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_client_cred.h"
#include "gh_crypto.h"

/* ---- the Basic header (RFC 6749 2.3.1) ---- */

static const char *basic_of(gh_arena *a, const char *userpass)
{
    size_t n = strlen(userpass);
    char *b64 = gh_arena_alloc(a, 4 * n / 3 + 8);
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)userpass[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)userpass[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)userpass[i + 2];
        b64[o++] = tbl[(v >> 18) & 63];
        b64[o++] = tbl[(v >> 12) & 63];
        b64[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        b64[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    b64[o] = '\0';
    return gh_arena_printf(a, "Basic %s", b64);
}

static void basic_decoding(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    const char *id, *secret;
    assert_int_equal(gh_client_basic_decode(a, basic_of(a, "client:s3cret"), &id, &secret), 1);
    assert_string_equal(id, "client");
    assert_string_equal(secret, "s3cret");
    /* both parts are form-urlencoded inside Basic */
    assert_int_equal(gh_client_basic_decode(a, basic_of(a, "a%3Ab:c%2Bd+e%25"), &id, &secret), 1);
    assert_string_equal(id, "a:b");
    assert_string_equal(secret, "c+d e%");
    /* the first ':' splits; the secret may hold more */
    assert_int_equal(gh_client_basic_decode(a, basic_of(a, "id:x:y"), &id, &secret), 1);
    assert_string_equal(secret, "x:y");
    /* an empty secret decodes (and fails later, against the hash) */
    assert_int_equal(gh_client_basic_decode(a, basic_of(a, "id:"), &id, &secret), 1);
    assert_string_equal(secret, "");
    /* scheme is case-insensitive; padding may be left out */
    assert_int_equal(gh_client_basic_decode(a, "basic aWQ6cw==", &id, &secret), 1);
    assert_string_equal(id, "id");
    assert_string_equal(secret, "s");
    assert_int_equal(gh_client_basic_decode(a, "Basic aWQ6cw", &id, &secret), 1);
    assert_string_equal(secret, "s");
    /* not Basic */
    assert_int_equal(gh_client_basic_decode(a, NULL, &id, &secret), 0);
    assert_int_equal(gh_client_basic_decode(a, "Bearer abc", &id, &secret), 0);
    assert_int_equal(gh_client_basic_decode(a, "Basicx abc", &id, &secret), 0);
    /* Basic but malformed */
    assert_int_equal(gh_client_basic_decode(a, "Basic", &id, &secret), -1);
    assert_int_equal(gh_client_basic_decode(a, "Basic !!!!", &id, &secret), -1);
    assert_int_equal(gh_client_basic_decode(a, basic_of(a, "nocolon"), &id, &secret), -1);
    assert_int_equal(gh_client_basic_decode(a, basic_of(a, ":secret"), &id, &secret), -1);
    assert_int_equal(gh_client_basic_decode(a, basic_of(a, "id%zz:s"), &id, &secret), -1);
    assert_int_equal(gh_client_basic_decode(a, basic_of(a, "id:s%0A"), &id, &secret), -1);
    assert_int_equal(gh_client_basic_decode(a, basic_of(a, "id:%ff"), &id, &secret), -1);
    assert_int_equal(gh_client_basic_decode(a, basic_of(a, "id:s%"), &id, &secret), -1);
    assert_null(id);
    gh_arena_free(a);
}

/* ---- client assertions (RFC 7523 3) ---- */

#define ISS "https://id.example"
#define TOK "https://id.example/token"

static json_t *claims(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_error_t jerr;
    json_t *j = json_vpack_ex(&jerr, 0, fmt, ap);
    va_end(ap);
    assert_non_null(j);
    return j;
}

static bool claims_ok(json_t *c, long long now, const char **why)
{
    const char *jti;
    long long exp;
    bool ok = gh_client_assertion_claims_ok(c, "c1", TOK, ISS, now, &jti, &exp, why);
    if (ok) {
        assert_string_equal(jti, json_string_value(json_object_get(c, "jti")));
        assert_int_equal(exp, json_integer_value(json_object_get(c, "exp")));
    }
    json_decref(c);
    return ok;
}

static void assertion_claims(void **state)
{
    (void)state;
    const long long now = 1800000000;
    const char *why = NULL;
    assert_true(claims_ok(claims("{s:s, s:s, s:s, s:I, s:s}", "iss", "c1", "sub", "c1", "aud", TOK,
                                 "exp", now + 60, "jti", "j1"),
                          now, &why));
    /* aud: an array holding the issuer; the token endpoint derived from it */
    assert_true(claims_ok(claims("{s:s, s:s, s:[s, s], s:I, s:s}", "iss", "c1", "sub", "c1", "aud",
                                 "https://other.example", ISS, "exp", now + 60, "jti", "j1"),
                          now, &why));
    /* at introspection, the token endpoint is still an accepted audience */
    json_t *c = claims("{s:s, s:s, s:s, s:I, s:s}", "iss", "c1", "sub", "c1", "aud", TOK, "exp",
                       now + 60, "jti", "j");
    const char *jti;
    long long exp;
    assert_true(
        gh_client_assertion_claims_ok(c, "c1", ISS "/introspect", ISS, now, &jti, &exp, &why));
    json_decref(c);
    /* exp at most an hour ahead; iat and nbf allowed within the skew */
    assert_true(
        claims_ok(claims("{s:s, s:s, s:s, s:I, s:s, s:I, s:I}", "iss", "c1", "sub", "c1", "aud",
                         TOK, "exp", now + 3600, "jti", "j", "iat", now + 30, "nbf", now + 30),
                  now, &why));

    struct {
        json_t *c;
        const char *what;
    } bad[] = {
        {claims("{s:s, s:s, s:s, s:I, s:s}", "iss", "c2", "sub", "c1", "aud", TOK, "exp", now + 60,
                "jti", "j"),
         "iss"},
        {claims("{s:s, s:s, s:s, s:I, s:s}", "iss", "c1", "sub", "c2", "aud", TOK, "exp", now + 60,
                "jti", "j"),
         "sub"},
        {claims("{s:s, s:s, s:I, s:s}", "iss", "c1", "aud", TOK, "exp", now + 60, "jti", "j"),
         "no sub"},
        {claims("{s:s, s:s, s:s, s:I, s:s}", "iss", "c1", "sub", "c1", "aud", "https://rp.example",
                "exp", now + 60, "jti", "j"),
         "aud"},
        {claims("{s:s, s:s, s:I, s:s}", "iss", "c1", "sub", "c1", "exp", now + 60, "jti", "j"),
         "no aud"},
        {claims("{s:s, s:s, s:s, s:I, s:s}", "iss", "c1", "sub", "c1", "aud", TOK, "exp", now,
                "jti", "j"),
         "expired"},
        {claims("{s:s, s:s, s:s, s:I, s:s}", "iss", "c1", "sub", "c1", "aud", TOK, "exp",
                now + 3601, "jti", "j"),
         "exp too far"},
        {claims("{s:s, s:s, s:s, s:s}", "iss", "c1", "sub", "c1", "aud", TOK, "jti", "j"),
         "no exp"},
        {claims("{s:s, s:s, s:s, s:s, s:s}", "iss", "c1", "sub", "c1", "aud", TOK, "exp", "soon",
                "jti", "j"),
         "exp type"},
        {claims("{s:s, s:s, s:s, s:I}", "iss", "c1", "sub", "c1", "aud", TOK, "exp", now + 60),
         "no jti"},
        {claims("{s:s, s:s, s:s, s:I, s:s}", "iss", "c1", "sub", "c1", "aud", TOK, "exp", now + 60,
                "jti", ""),
         "empty jti"},
        {claims("{s:s, s:s, s:s, s:I, s:I}", "iss", "c1", "sub", "c1", "aud", TOK, "exp", now + 60,
                "jti", 5),
         "jti type"},
        {claims("{s:s, s:s, s:s, s:I, s:s, s:I}", "iss", "c1", "sub", "c1", "aud", TOK, "exp",
                now + 60, "jti", "j", "nbf", now + 120),
         "nbf"},
        {claims("{s:s, s:s, s:s, s:I, s:s, s:I}", "iss", "c1", "sub", "c1", "aud", TOK, "exp",
                now + 60, "jti", "j", "iat", now + 120),
         "iat"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (claims_ok(bad[i].c, now, &why))
            fail_msg("accepted: %s", bad[i].what);
        assert_non_null(why);
    }
}

static const char *jws_with(gh_arena *a, const char *payload)
{
    return gh_arena_printf(a, "eyJhbGciOiJFUzI1NiJ9.%s.c2ln",
                           gh_b64url(a, (const uint8_t *)payload, strlen(payload)));
}

static void assertion_subject(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    assert_string_equal(
        gh_client_assertion_subject(a, jws_with(a, "{\"iss\":\"i\",\"sub\":\"the-client\"}")),
        "the-client");
    assert_string_equal(gh_client_assertion_subject(a, jws_with(a, "{\"iss\":\"i\"}")), "i");
    assert_null(gh_client_assertion_subject(a, jws_with(a, "{\"sub\":5}")));
    assert_null(gh_client_assertion_subject(a, jws_with(a, "[1]")));
    assert_null(gh_client_assertion_subject(a, jws_with(a, "not json")));
    assert_null(gh_client_assertion_subject(a, "only.two"));
    assert_null(gh_client_assertion_subject(a, "a.b.c.d"));
    assert_null(gh_client_assertion_subject(a, "a.!!!.c"));
    assert_null(gh_client_assertion_subject(a, ""));
    gh_arena_free(a);
}

int main(void)
{
    if (gh_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(basic_decoding),
        cmocka_unit_test(assertion_claims),
        cmocka_unit_test(assertion_subject),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
