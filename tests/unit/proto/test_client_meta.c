/* Unit tests for gh_client_meta: client metadata validation (every rule,
 * accepted and refused) and the defaults it fills in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_client_meta.h"

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
    /* attribute_reasons (progressive profiling, docs/clients.md) */
    {"{" RU ",\"attribute_reasons\":{\"birthdate\":\"We sell wine only to adults.\"}}", OK},
    {"{" RU ",\"attribute_reasons\":{\"birthdate\":\"\"}}", BAD},
    {"{" RU ",\"attribute_reasons\":{\"Birth Date\":\"x\"}}", BAD},
    {"{" RU ",\"attribute_reasons\":{\"birthdate\":7}}", BAD},
    {"{" RU ",\"attribute_reasons\":{\"birthdate\":\"a\\u0007b\"}}", BAD},
    {"{" RU ",\"attribute_reasons\":[\"birthdate\"]}", BAD},
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

/* ---- redirect URI edge cases ---- */

struct uri_case {
    const char *uri;
    bool is_public; /* the client's auth method is none */
    bool ok;
};

static const struct uri_case uri_cases[] = {
    /* scheme and host case */
    {"HTTPS://APP.EXAMPLE/cb", false, true},
    {"hTTp://LocalHost:3000/cb", false, true},
    {"https://app.example", false, true},
    {"https://app.example?x=1", false, true},
    /* ports */
    {"https://app.example:1/cb", false, true},
    {"https://app.example:65535/cb", false, true},
    {"https://app.example:0/cb", false, false},
    {"https://app.example:65536/cb", false, false},
    {"https://app.example:/cb", false, false},
    {"https://app.example:-1/cb", false, false},
    {"https://app.example:+443/cb", false, false},
    {"https://app.example:80x/cb", false, false},
    {"https://app.example:443:443/cb", false, false},
    {"https://app.example:000443/cb", false, false},
    /* loopback http, written exactly */
    {"http://localhost/cb", false, true},
    {"http://127.0.0.1/cb", false, true},
    {"http://[::1]/cb", false, true},
    {"http://localhost.:3000/cb", false, false},
    {"http://127.1:3000/cb", false, false},
    {"http://0x7f.0.0.1:3000/cb", false, false},
    {"http://2130706433:3000/cb", false, false},
    {"http://[0:0::1]:3000/cb", false, false},
    {"http://[::1%25lo]:3000/cb", false, false},
    {"http://localhos%74:3000/cb", false, false},
    {"http://[::ffff:127.0.0.1]:3000/cb", false, false},
    /* IPv6 literals */
    {"https://[2001:db8::1]/cb", false, true},
    {"https://[2001:db8::1]:8443/cb", false, true},
    {"https://[::1/cb", false, false},
    {"https://[::1]x/cb", false, false},
    /* slashes and the authority */
    {"https:/app.example/cb", false, false},
    {"https:app.example/cb", false, false},
    {"https:///app.example/cb", false, false},
    {"https://", false, false},
    {"https://?x", false, false},
    {"https:", false, false},
    /* userinfo */
    {"https://@app.example/cb", false, false},
    {"https://u@app.example/cb", false, false},
    {"https://u:p@app.example/cb", false, false},
    {"http://localhost:3000@evil.example/cb", false, false},
    {"https://app.example@evil.example/cb", false, false},
    /* bytes RFC 3986 does not allow: backslash, controls, space, non-ASCII */
    {"https://app.example\\@evil.example/cb", false, false},
    {"https://app.example/cb\x01", false, false},
    {"https://app.example/c\x7f", false, false},
    {" https://app.example/cb", false, false},
    {"https://app.example/cb ", false, false},
    {"https://app.example/c%20b", false, true},
    {"https://b\xc3\xbc"
     "cher.example/cb",
     false, false},
    {"https://xn--bcher-kva.example/cb", false, true},
    /* fragments */
    {"https://app.example#", false, false},
    {"https://app.example/cb?x#", false, false},
    /* private-use schemes (RFC 8252 7.1) */
    {"com.example.app:/cb", true, true},
    {"com.example.app:cb", true, true},
    {"com.example.app://cb/x", true, true},
    {"Com.Example.App:/cb", true, true},
    {"com.example.app:/cb", false, false},
    {"com.example.app:", true, false},
    {"1com.example:/cb", true, false},
    {"com.ex_ample.app:/cb", true, false},
    {"myapp:/cb", true, false},
    {"javascript:alert(1)", true, false},
    {":/cb", true, false},
    {"", true, false},
    /* The hand-written reader took these hosts and ports as written.
     * libcurl's URL API refuses "a!b" and bracketed text that is not an
     * IPv6 address, and reads the others as another spelling (port 443,
     * 127.0.0.1, example.com, [::1], a zone id apart), so they are refused:
     * a redirect URI is compared as text, it must say what it means. */
    {"https://app.example:0443/cb", false, false},
    {"https://127.1/cb", false, false},
    {"https://ex%61mple.com/cb", false, false},
    {"https://[0:0::1]/cb", false, false},
    {"https://[fe80::1%25eth0]/cb", false, false},
    {"https://a!b.example/cb", false, false},
    {"https://[v1.x]/cb", false, false},
    {"https://[garbage]/cb", false, false},
};

static void redirect_uri_edges(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(uri_cases) / sizeof(uri_cases[0]); i++) {
        const struct uri_case *c = &uri_cases[i];
        if (gh_client_redirect_uri_valid(c->uri, c->is_public) != c->ok)
            fail_msg("case %zu: \"%s\" (%s client) should be %s", i, c->uri,
                     c->is_public ? "public" : "confidential", c->ok ? "accepted" : "refused");
    }
    assert_false(gh_client_redirect_uri_valid(NULL, true));
}

/* 2048 bytes are the most a redirect URI may have. */
static void redirect_uri_length(void **state)
{
    (void)state;
    char u[2050];
    memset(u, 'a', sizeof(u));
    memcpy(u, "https://app.example/", 20);
    u[2048] = '\0';
    assert_true(gh_client_redirect_uri_valid(u, false));
    u[2048] = 'a';
    u[2049] = '\0';
    assert_false(gh_client_redirect_uri_valid(u, false));
    /* the longest host */
    memset(u, 'a', sizeof(u));
    memcpy(u, "https://", 8);
    u[2048] = '\0';
    assert_true(gh_client_redirect_uri_valid(u, false));
}

/* back-channel logout and the descriptive URIs: https or loopback http, no
 * private-use schemes even for public clients */
static void web_uri_members(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"{" RU ",\"backchannel_logout_uri\":\"HTTPS://APP.EXAMPLE/bcl\"}", OK},
        {"{" RU ",\"backchannel_logout_uri\":\"http://[::1]:9/bcl\"}", OK},
        {"{" RU ",\"backchannel_logout_uri\":\"http://127.1:9/bcl\"}", BAD},
        {"{" RU ",\"backchannel_logout_uri\":\"https://u@app.example/bcl\"}", BAD},
        {"{" RU ",\"backchannel_logout_uri\":\"https://app.example:0/bcl\"}", BAD},
        {"{" RU ",\"backchannel_logout_uri\":\"https:/app.example/bcl\"}", BAD},
        {"{" RU "," NONE ",\"backchannel_logout_uri\":\"com.example.app:/bcl\"}", BAD},
        {"{" RU ",\"client_uri\":\"https://app.example\"}", OK},
        {"{" RU ",\"client_uri\":\"https://app.example:/\"}", BAD},
        {"{" RU ",\"logo_uri\":\"http://localhost/logo.png\"}", OK},
        {"{" RU ",\"logo_uri\":\"http://localhost.evil.example/logo.png\"}", BAD},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gh_client_error err = {0};
        json_error_t jerr;
        json_t *in = json_loads(cases[i][0], 0, &jerr);
        assert_non_null(in);
        json_t *m = gh_client_metadata_validate(in, &err);
        if (cases[i][1] == OK && !m)
            fail_msg("case %zu: %s refused: %s", i, cases[i][0], err.description);
        if (cases[i][1] != OK && m)
            fail_msg("case %zu: %s accepted", i, cases[i][0]);
        if (!m)
            assert_string_equal(err.error, cases[i][1]);
        json_decref(m);
        json_decref(in);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(metadata_table),     cmocka_unit_test(metadata_defaults),
        cmocka_unit_test(redirect_uri_edges), cmocka_unit_test(redirect_uri_length),
        cmocka_unit_test(web_uri_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
