/* Unit tests for gh_clients: metadata validation (every rule, accepted and
 * refused), exact redirect matching, the Basic header of client
 * authentication, client assertion claims, secrets stored as hashes, and
 * jti replay protection over a temporary SQLite store. With
 * GATEHOUSE_TEST_DATABASE_URL set (a PostgreSQL URL, as scripts/pg.sh
 * prints), the store tests run on PostgreSQL instead: each test gets a fresh
 * database on that cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gh_clients.h"
#include "gh_crypto.h"
#include "gh_store.h"

#include "testdb.h"

/* ---- metadata validation ---- */

struct meta_case {
    const char *json;
    const char *error; /* NULL: accepted */
};

#define OK  NULL
#define BAD "invalid_client_metadata"
#define URI "invalid_redirect_uri"

#define RU    "\"redirect_uris\":[\"https://app.example/cb\"]"
#define KEY   "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"BBBB\"}"
#define JWKS  "\"jwks\":{\"keys\":[" KEY "]}"
#define NONE  "\"token_endpoint_auth_method\":\"none\""
#define CC    "\"grant_types\":[\"client_credentials\"]"
#define PKJWT "\"token_endpoint_auth_method\":\"private_key_jwt\""

static const struct meta_case meta_cases[] = {
    /* the body */
    {"[]", BAD},
    {"{" RU "}", OK},
    /* redirect_uris */
    {"{}", URI},
    {"{\"redirect_uris\":[]}", URI},
    {"{\"redirect_uris\":\"https://app.example/cb\"}", URI},
    {"{\"redirect_uris\":[1]}", URI},
    {"{\"redirect_uris\":[\"https://app.example/cb#frag\"]}", URI},
    {"{\"redirect_uris\":[\"https://app.example/cb#\"]}", URI},
    {"{\"redirect_uris\":[\"/relative/cb\"]}", URI},
    {"{\"redirect_uris\":[\"app.example/cb\"]}", URI},
    {"{\"redirect_uris\":[\"http://app.example/cb\"]}", URI},
    {"{\"redirect_uris\":[\"http://localhost:3000/cb\"]}", OK},
    {"{\"redirect_uris\":[\"http://127.0.0.1:8080/cb\"]}", OK},
    {"{\"redirect_uris\":[\"http://[::1]:8080/cb\"]}", OK},
    {"{\"redirect_uris\":[\"http://localhost.evil.example/cb\"]}", URI},
    {"{\"redirect_uris\":[\"http://127.0.0.1.evil.example/cb\"]}", URI},
    {"{\"redirect_uris\":[\"https://user@app.example/cb\"]}", URI},
    {"{\"redirect_uris\":[\"https:///cb\"]}", URI},
    {"{\"redirect_uris\":[\"https://app.example:99999/cb\"]}", URI},
    {"{\"redirect_uris\":[\"https://app.example:443/cb?x=1\"]}", OK},
    {"{\"redirect_uris\":[\"https://app.example/c b\"]}", URI},
    {"{\"redirect_uris\":[\"https://app.example/%zz\"]}", URI},
    {"{\"redirect_uris\":[\"javascript:alert(1)\"]}", URI},
    {"{\"redirect_uris\":[\"data:text/html,hi\"]}", URI},
    {"{\"redirect_uris\":[\"com.example.app:/cb\"]}", URI}, /* private-use: public only */
    {"{\"redirect_uris\":[\"com.example.app:/cb\"]," NONE "}", OK},
    {"{\"redirect_uris\":[\"myapp:/cb\"]," NONE "}", URI}, /* no '.' */
    {"{\"redirect_uris\":[\"com.example.app:/cb#x\"]," NONE "}", URI},
    /* grant types and response types */
    {"{" RU ",\"grant_types\":[\"authorization_code\",\"refresh_token\"]}", OK},
    {"{" RU ",\"grant_types\":[\"implicit\"]}", BAD},
    {"{" RU ",\"grant_types\":[\"password\"]}", BAD},
    {"{" RU ",\"grant_types\":[]}", BAD},
    {"{" RU ",\"grant_types\":\"authorization_code\"}", BAD},
    {"{" RU ",\"grant_types\":[\"refresh_token\"]}", BAD},
    {"{" CC "}", OK}, /* no redirect URIs needed */
    {"{" CC ",\"response_types\":[\"code\"]}", BAD},
    {"{" CC ",\"response_types\":[]}", OK},
    {"{" CC "," NONE "}", BAD},
    {"{" RU ",\"grant_types\":[\"authorization_code\",\"client_credentials\"]}", OK},
    {"{" RU ",\"response_types\":[\"token\"]}", BAD},
    {"{" RU ",\"response_types\":[\"code id_token\"]}", BAD},
    {"{" RU ",\"response_types\":[]}", BAD},
    {"{" RU ",\"response_types\":[\"code\"]}", OK},
    /* token_endpoint_auth_method */
    {"{" RU ",\"token_endpoint_auth_method\":\"client_secret_post\"}", OK},
    {"{" RU ",\"token_endpoint_auth_method\":\"client_secret_jwt\"}", BAD},
    {"{" RU ",\"token_endpoint_auth_method\":\"tls_client_auth\"}", BAD},
    {"{" RU ",\"token_endpoint_auth_method\":5}", BAD},
    {"{" RU "," NONE "}", OK},
    /* keys */
    {"{" RU "," PKJWT "}", BAD},
    {"{" RU "," PKJWT "," JWKS "}", OK},
    {"{" RU "," PKJWT ",\"jwks\":{\"keys\":[]}}", BAD},
    {"{" RU "," PKJWT ",\"jwks\":[" KEY "]}", BAD},
    {"{" RU "," PKJWT ",\"jwks\":{\"keys\":[{\"kty\":\"EC\",\"d\":\"secret\"}]}}", BAD},
    {"{" RU "," PKJWT ",\"jwks\":{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}}", BAD},
    {"{" RU "," PKJWT ",\"jwks\":{\"keys\":[{\"crv\":\"P-256\"}]}}", BAD},
    {"{" RU "," PKJWT ",\"jwks_uri\":\"https://app.example/jwks\"}", BAD},
    {"{" RU ",\"jwks_uri\":\"https://app.example/jwks\"}", BAD},
    /* id_token_signed_response_alg */
    {"{" RU ",\"id_token_signed_response_alg\":\"RS256\"}", OK},
    {"{" RU ",\"id_token_signed_response_alg\":\"none\"}", BAD},
    {"{" RU ",\"id_token_signed_response_alg\":\"HS256\"}", BAD},
    /* logout */
    {"{" RU ",\"post_logout_redirect_uris\":[\"https://app.example/bye\"]}", OK},
    {"{" RU ",\"post_logout_redirect_uris\":[\"https://app.example/bye#x\"]}", URI},
    {"{" RU ",\"post_logout_redirect_uris\":[\"http://app.example/bye\"]}", URI},
    {"{" RU ",\"backchannel_logout_uri\":\"https://app.example/bcl\"}", OK},
    {"{" RU ",\"backchannel_logout_uri\":\"http://127.0.0.1:9/bcl\"}", OK},
    {"{" RU ",\"backchannel_logout_uri\":\"http://app.example/bcl\"}", BAD},
    {"{" RU ",\"backchannel_logout_uri\":\"https://app.example/bcl#x\"}", BAD},
    {"{" RU ",\"backchannel_logout_uri\":[\"https://app.example/bcl\"]}", BAD},
    {"{" RU ",\"backchannel_logout_session_required\":true}", OK},
    {"{" RU ",\"backchannel_logout_session_required\":\"yes\"}", BAD},
    /* descriptive members */
    {"{" RU ",\"client_name\":\"My App \\u00e9\"}", OK},
    {"{" RU ",\"client_name\":\"\"}", BAD},
    {"{" RU ",\"client_name\":\"a\\u0007b\"}", BAD},
    {"{" RU ",\"client_name\":7}", BAD},
    {"{" RU ",\"client_uri\":\"https://app.example/\"}", OK},
    {"{" RU ",\"client_uri\":\"javascript:alert(1)\"}", BAD},
    {"{" RU ",\"logo_uri\":\"https://app.example/logo.png\"}", OK},
    {"{" RU ",\"logo_uri\":\"data:image/png;base64,AAAA\"}", BAD},
    {"{" RU ",\"scope\":\"openid profile email\"}", OK},
    {"{" RU ",\"scope\":\"openid  profile\"}", BAD},
    {"{" RU ",\"scope\":\" openid\"}", BAD},
    {"{" RU ",\"scope\":\"open\\\"id\"}", BAD},
    {"{" RU ",\"contacts\":[\"ops@app.example\"]}", OK},
    {"{" RU ",\"contacts\":\"ops@app.example\"}", BAD},
    /* unknown members are ignored; null means absent */
    {"{" RU ",\"frobnicate\":{\"x\":1},\"client_name\":null}", OK},
};

static void metadata_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(meta_cases) / sizeof(meta_cases[0]); i++) {
        json_error_t jerr;
        json_t *in = json_loads(meta_cases[i].json, 0, &jerr);
        if (!in)
            fail_msg("case %zu does not parse: %s", i, meta_cases[i].json);
        gh_client_error err;
        json_t *out = gh_client_metadata_validate(in, &err);
        if (meta_cases[i].error == NULL && !out)
            fail_msg("case %zu refused (%s: %s): %s", i, err.error, err.description,
                     meta_cases[i].json);
        if (meta_cases[i].error != NULL) {
            if (out)
                fail_msg("case %zu accepted: %s", i, meta_cases[i].json);
            if (strcmp(err.error, meta_cases[i].error) != 0)
                fail_msg("case %zu: %s instead of %s (%s): %s", i, err.error, meta_cases[i].error,
                         err.description, meta_cases[i].json);
            assert_true(err.description[0] != '\0');
        }
        json_decref(out);
        json_decref(in);
    }
}

static json_t *validate_text(const char *text)
{
    json_error_t jerr;
    json_t *in = json_loads(text, 0, &jerr);
    gh_client_error err;
    json_t *out = gh_client_metadata_validate(in, &err);
    json_decref(in);
    return out;
}

static void metadata_defaults(void **state)
{
    (void)state;
    json_t *m = validate_text("{" RU ",\"unknown\":1,\"gatehouse_first_party\":true,"
                              "\"client_secret\":\"x\",\"client_id\":\"y\"}");
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "token_endpoint_auth_method")),
                        "client_secret_basic");
    assert_string_equal(json_string_value(json_object_get(m, "id_token_signed_response_alg")),
                        "ES256");
    json_t *g = json_object_get(m, "grant_types");
    assert_int_equal(json_array_size(g), 1);
    assert_string_equal(json_string_value(json_array_get(g, 0)), "authorization_code");
    json_t *rt = json_object_get(m, "response_types");
    assert_int_equal(json_array_size(rt), 1);
    assert_string_equal(json_string_value(json_array_get(rt, 0)), "code");
    /* not metadata: dropped */
    assert_null(json_object_get(m, "unknown"));
    assert_null(json_object_get(m, "gatehouse_first_party"));
    assert_null(json_object_get(m, "client_secret"));
    assert_null(json_object_get(m, "client_id"));
    json_decref(m);

    /* client credentials only: no response types, no redirect URIs */
    m = validate_text("{" CC "}");
    assert_non_null(m);
    assert_int_equal(json_array_size(json_object_get(m, "response_types")), 0);
    assert_null(json_object_get(m, "redirect_uris"));
    json_decref(m);

    /* duplicates collapse; a back-channel URI brings session_required false */
    m = validate_text("{\"redirect_uris\":[\"https://a.example/cb\",\"https://a.example/cb\"],"
                      "\"grant_types\":[\"authorization_code\",\"authorization_code\"],"
                      "\"backchannel_logout_uri\":\"https://a.example/bcl\"}");
    assert_non_null(m);
    assert_int_equal(json_array_size(json_object_get(m, "redirect_uris")), 1);
    assert_int_equal(json_array_size(json_object_get(m, "grant_types")), 1);
    assert_true(json_is_false(json_object_get(m, "backchannel_logout_session_required")));
    json_decref(m);
}

/* ---- the model ---- */

static gh_client client_with(const char *metadata_text)
{
    gh_client cl = {.id = "c1", .auth_method = "client_secret_basic", .id_token_alg = "ES256"};
    cl.metadata = validate_text(metadata_text);
    assert_non_null(cl.metadata);
    return cl;
}

static void redirect_exact_match(void **state)
{
    (void)state;
    gh_client cl = client_with("{\"redirect_uris\":[\"https://app.example/cb\","
                               "\"https://app.example/cb2?x=1\"],"
                               "\"post_logout_redirect_uris\":[\"https://app.example/bye\"],"
                               "\"backchannel_logout_uri\":\"https://app.example/bcl\"}");
    assert_true(gh_client_redirect_ok(&cl, "https://app.example/cb"));
    assert_true(gh_client_redirect_ok(&cl, "https://app.example/cb2?x=1"));
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/cb/"));    /* trailing slash */
    assert_false(gh_client_redirect_ok(&cl, "https://APP.example/cb"));     /* case */
    assert_false(gh_client_redirect_ok(&cl, "HTTPS://app.example/cb"));     /* case of scheme */
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/CB"));     /* case of path */
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/cb?x=1")); /* query added */
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/cb2"));    /* query removed */
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/cb2?x=2"));
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/c"));   /* prefix */
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/cbx")); /* extension */
    assert_false(gh_client_redirect_ok(&cl, "https://app.example:443/cb"));
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/cb#x"));
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/%63b"));
    assert_false(gh_client_redirect_ok(&cl, ""));
    assert_false(gh_client_redirect_ok(&cl, NULL));
    assert_true(gh_client_post_logout_redirect_ok(&cl, "https://app.example/bye"));
    assert_false(gh_client_post_logout_redirect_ok(&cl, "https://app.example/bye/"));
    assert_false(gh_client_post_logout_redirect_ok(&cl, "https://app.example/cb"));
    assert_string_equal(gh_client_backchannel_logout_uri(&cl), "https://app.example/bcl");
    assert_true(gh_client_grant_ok(&cl, "authorization_code"));
    assert_false(gh_client_grant_ok(&cl, "client_credentials"));
    assert_false(gh_client_grant_ok(&cl, "refresh_token"));
    gh_client_release(&cl);
    assert_null(cl.metadata);
    gh_client_release(&cl); /* twice is fine */
    gh_client_release(NULL);

    gh_client cc = client_with("{" CC "}");
    assert_true(gh_client_grant_ok(&cc, "client_credentials"));
    assert_false(gh_client_grant_ok(&cc, "authorization_code"));
    assert_false(gh_client_redirect_ok(&cc, "https://app.example/cb"));
    assert_null(gh_client_backchannel_logout_uri(&cc));
    gh_client_release(&cc);
}

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

/* ---- the store: secrets as hashes, jti replay ---- */

struct fixture {
    test_db t; /* the fresh database (testdb.h) */
    gh_db *db;
    gh_dbconn *c;
    gh_arena *a;
};

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    if (f->c)
        gh_db_release(f->c);
    gh_db_close(f->db);
    gh_arena_free(f->a);
    test_db_drop(&f->t);
    free(f);
    *state = NULL;
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    f->db = test_db_open(&f->t, "gh-clients", 2);
    if (!f->db)
        goto fail;
    f->c = gh_db_acquire(f->db);
    f->a = gh_arena_new(0);
    return 0;
fail:
    /* cmocka skips the teardown of a test whose setup failed. */
    teardown(state);
    return -1;
}

static const gh_client_actor who = {.tenant = GH_DEFAULT_TENANT, .actor = "test"};

static json_t *register_text(struct fixture *f, const char *text, bool first_party)
{
    json_error_t jerr;
    json_t *in = json_loads(text, 0, &jerr);
    gh_client_error err;
    json_t *resp = NULL;
    gh_dbrc rc =
        gh_clients_register(f->c, f->a, &who, "https://id.example/", in, first_party, &resp, &err);
    json_decref(in);
    if (rc != GH_DB_OK)
        fail_msg("register: %s %s", gh_dbrc_str(rc), rc == GH_DB_INVALID ? err.description : "");
    return resp;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void secrets_are_hashed(void **state)
{
    struct fixture *f = *state;
    json_t *resp = register_text(f, "{" RU ",\"client_name\":\"App\"}", false);
    const char *id = str(resp, "client_id");
    const char *secret = str(resp, "client_secret");
    const char *rat = str(resp, "registration_access_token");
    assert_non_null(id);
    assert_non_null(secret);
    assert_non_null(rat);
    assert_int_equal(strlen(secret), 43); /* 256 bits, base64url */
    assert_string_equal(str(resp, "registration_client_uri"),
                        gh_arena_printf(f->a, "https://id.example/register/%s", id));
    assert_int_equal(json_integer_value(json_object_get(resp, "client_secret_expires_at")), 0);
    assert_true(json_is_false(json_object_get(resp, "gatehouse_first_party")));

    gh_client cl;
    assert_int_equal(gh_clients_get(f->c, f->a, GH_DEFAULT_TENANT, id, &cl), GH_DB_OK);
    char h[2 * GH_SHA256_BYTES + 1];
    gh_secret_hash(secret, h);
    assert_string_equal(cl.secret_hash, h);
    assert_true(gh_secret_equal(cl.secret_hash, h));
    assert_string_not_equal(cl.secret_hash, secret);
    char *stored = json_dumps(cl.metadata, 0);
    assert_null(strstr(stored, secret));
    assert_null(strstr(stored, rat));
    free(stored);
    assert_false(cl.is_public);
    assert_false(cl.first_party);
    assert_string_equal(cl.auth_method, "client_secret_basic");
    assert_string_equal(cl.id_token_alg, "ES256");
    assert_true(gh_client_registration_token_ok(&cl, rat));
    assert_false(gh_client_registration_token_ok(&cl, secret));
    assert_false(gh_client_registration_token_ok(&cl, ""));
    assert_false(gh_client_registration_token_ok(&cl, NULL));
    assert_false(gh_client_registration_token_ok(NULL, rat));

    /* the view shows no secret */
    json_t *v = gh_client_view(&cl, "https://id.example");
    assert_null(json_object_get(v, "client_secret"));
    assert_null(json_object_get(v, "registration_access_token"));
    assert_string_equal(str(v, "client_id"), id);
    json_decref(v);

    /* PUT: a wrong client_secret or client_id is refused; the right one kept */
    gh_client_error err;
    json_t *upd = NULL;
    json_t *body = json_pack("{s:[s], s:s}", "redirect_uris", "https://app.example/new",
                             "client_secret", "wrong");
    assert_int_equal(gh_clients_update(f->c, f->a, &who, ISS, &cl, body, &upd, &err),
                     GH_DB_INVALID);
    json_decref(body);
    body = json_pack("{s:[s], s:s}", "redirect_uris", "https://app.example/new", "client_id", "x");
    assert_int_equal(gh_clients_update(f->c, f->a, &who, ISS, &cl, body, &upd, &err),
                     GH_DB_INVALID);
    json_decref(body);
    body = json_pack("{s:[s], s:s, s:s}", "redirect_uris", "https://app.example/new",
                     "client_secret", secret, "client_id", id);
    assert_int_equal(gh_clients_update(f->c, f->a, &who, ISS, &cl, body, &upd, &err), GH_DB_OK);
    json_decref(body);
    assert_null(json_object_get(upd, "client_secret")); /* kept, not re-issued */
    json_decref(upd);
    gh_client_release(&cl);
    assert_int_equal(gh_clients_get(f->c, f->a, GH_DEFAULT_TENANT, id, &cl), GH_DB_OK);
    assert_string_equal(cl.secret_hash, h);
    assert_true(gh_client_redirect_ok(&cl, "https://app.example/new"));
    assert_false(gh_client_redirect_ok(&cl, "https://app.example/cb"));

    /* to a public client: the secret goes; back: a new one is issued */
    body = json_pack("{s:[s], s:s}", "redirect_uris", "https://app.example/new",
                     "token_endpoint_auth_method", "none");
    assert_int_equal(gh_clients_update(f->c, f->a, &who, ISS, &cl, body, &upd, &err), GH_DB_OK);
    json_decref(body);
    json_decref(upd);
    gh_client_release(&cl);
    assert_int_equal(gh_clients_get(f->c, f->a, GH_DEFAULT_TENANT, id, &cl), GH_DB_OK);
    assert_null(cl.secret_hash);
    assert_true(cl.is_public);
    body = json_pack("{s:[s]}", "redirect_uris", "https://app.example/new");
    assert_int_equal(gh_clients_update(f->c, f->a, &who, ISS, &cl, body, &upd, &err), GH_DB_OK);
    json_decref(body);
    const char *secret2 = str(upd, "client_secret");
    assert_non_null(secret2);
    assert_string_not_equal(secret2, secret);
    gh_secret_hash(secret2, h);
    gh_client_release(&cl);
    assert_int_equal(gh_clients_get(f->c, f->a, GH_DEFAULT_TENANT, id, &cl), GH_DB_OK);
    assert_string_equal(cl.secret_hash, h);
    json_decref(upd);
    gh_client_release(&cl);
    json_decref(resp);
}

static void public_and_first_party(void **state)
{
    struct fixture *f = *state;
    json_t *resp = register_text(
        f, "{\"redirect_uris\":[\"com.example.app:/cb\"]," NONE ",\"client_name\":\"Native\"}",
        true);
    assert_null(json_object_get(resp, "client_secret"));
    assert_null(json_object_get(resp, "client_secret_expires_at"));
    assert_true(json_is_true(json_object_get(resp, "gatehouse_first_party")));
    const char *id = str(resp, "client_id");
    gh_client cl;
    assert_int_equal(gh_clients_get(f->c, f->a, GH_DEFAULT_TENANT, id, &cl), GH_DB_OK);
    assert_true(cl.is_public);
    assert_true(cl.first_party);
    assert_null(cl.secret_hash);
    gh_client_release(&cl);
    assert_int_equal(gh_clients_set_first_party(f->c, f->a, &who, id, false), GH_DB_OK);
    assert_int_equal(gh_clients_get(f->c, f->a, GH_DEFAULT_TENANT, id, &cl), GH_DB_OK);
    assert_false(cl.first_party);
    gh_client_release(&cl);
    assert_int_equal(gh_clients_set_first_party(f->c, f->a, &who, "nope", true), GH_DB_NOTFOUND);

    json_t *two = register_text(f, "{" CC ",\"client_name\":\"Service\"}", false);
    gh_client *v;
    size_t n;
    assert_int_equal(gh_store_client_list(f->c, f->a, GH_DEFAULT_TENANT, &v, &n), GH_DB_OK);
    assert_int_equal(n, 2); /* in creation order; the same millisecond orders by id */
    bool first = strcmp(v[0].id, id) == 0;
    assert_string_equal(v[first ? 0 : 1].id, id);
    assert_string_equal(v[first ? 1 : 0].id, str(two, "client_id"));
    assert_true(v[0].created_at <= v[1].created_at);
    for (size_t i = 0; i < n; i++)
        gh_client_release(&v[i]);

    assert_int_equal(gh_clients_delete(f->c, f->a, &who, id), GH_DB_OK);
    assert_int_equal(gh_clients_get(f->c, f->a, GH_DEFAULT_TENANT, id, &cl), GH_DB_NOTFOUND);
    assert_null(cl.metadata);
    assert_int_equal(gh_clients_delete(f->c, f->a, &who, id), GH_DB_NOTFOUND);

    /* invalid metadata writes nothing */
    gh_client_error err;
    json_t *bad = json_pack("{s:[s]}", "redirect_uris", "http://evil.example/cb");
    json_t *out = NULL;
    assert_int_equal(gh_clients_register(f->c, f->a, &who, ISS, bad, false, &out, &err),
                     GH_DB_INVALID);
    assert_string_equal(err.error, "invalid_redirect_uri");
    assert_null(out);
    json_decref(bad);
    assert_int_equal(gh_store_client_list(f->c, f->a, GH_DEFAULT_TENANT, &v, &n), GH_DB_OK);
    assert_int_equal(n, 1);
    gh_client_release(&v[0]);
    json_decref(two);
    json_decref(resp);
}

static void jti_replay(void **state)
{
    struct fixture *f = *state;
    const char *t = GH_DEFAULT_TENANT;
    long long now = 1800000000000LL;
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, "c1", "j1", now + 60000, now), GH_DB_OK);
    /* the same jti again: a replay, however its exp is presented */
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, "c1", "j1", now + 60000, now + 1),
                     GH_DB_CONFLICT);
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, "c1", "j1", now + 90000, now + 59999),
                     GH_DB_CONFLICT);
    /* per client: another client may use the same value */
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, "c2", "j1", now + 60000, now), GH_DB_OK);
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, "c1", "j2", now + 60000, now), GH_DB_OK);
    /* once the assertion has expired its row is swept (it could not be
     * replayed anyway: its exp has passed) */
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, "c1", "j1", now + 200000, now + 60000),
                     GH_DB_OK);
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, "c1", "j1", now + 200000, now + 60001),
                     GH_DB_CONFLICT);
    /* deleting the client forgets its jtis */
    json_t *resp = register_text(f, "{" CC "}", false);
    const char *id = str(resp, "client_id");
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, id, "j9", now + 60000, now), GH_DB_OK);
    assert_int_equal(gh_clients_delete(f->c, f->a, &who, id), GH_DB_OK);
    assert_int_equal(gh_store_jti_use(f->c, f->a, t, id, "j9", now + 60000, now), GH_DB_OK);
    json_decref(resp);
}

int main(void)
{
    if (gh_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(metadata_table),
        cmocka_unit_test(metadata_defaults),
        cmocka_unit_test(redirect_exact_match),
        cmocka_unit_test(basic_decoding),
        cmocka_unit_test(assertion_claims),
        cmocka_unit_test(assertion_subject),
        cmocka_unit_test_setup_teardown(secrets_are_hashed, setup, teardown),
        cmocka_unit_test_setup_teardown(public_and_first_party, setup, teardown),
        cmocka_unit_test_setup_teardown(jti_replay, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
