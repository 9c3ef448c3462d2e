/*
 * libFuzzer target for gh_jose: compact JWS from clients (private_key_jwt
 * assertions, id_token_hint, tokens sent to introspection and UserInfo).
 * Whatever gh_jose_parse accepts has the shape it promises (three strict
 * base64url segments, an object header with an alg other than none, no
 * crit, string kid and typ, a signature within the size cap); the same
 * input then goes through gh_jose_verify_with_jwks against a fixed JWK Set
 * (the EC key of RFC 7515 A.3 and the RSA key of RFC 7638), which must
 * refuse every token it did not parse and hand back only JSON objects.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gh_crypto.h"
#include "gh_jose.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "check failed: %s\n", what);
        abort();
    }
}

static json_t *fixed_jwks(void)
{
    return json_pack(
        "{s:[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]}", "keys", "kty", "EC", "crv",
        "P-256", "kid", "ec", "x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y",
        "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "kty", "RSA", "kid", "rsa", "n",
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
        "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
        "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e", "AQAB");
}

static void check_parsed(const char *s, const gh_jose_jws *p)
{
    size_t len = strlen(s);
    check(p->s == s && p->len == len, "token pointer or length");
    check(len <= GH_JOSE_MAX_JWS, "too long");
    const char *d1 = strchr(s, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    check(d1 && d2 && !strchr(d2 + 1, '.'), "not three segments");
    check(d1 > s && d2 > d1 + 1 && d2[1], "empty segment");
    check(gh_b64url_valid(s, (size_t)(d1 - s)) && gh_b64url_valid(d1 + 1, (size_t)(d2 - d1 - 1)) &&
              gh_b64url_valid(d2 + 1, strlen(d2 + 1)),
          "segments not base64url");
    check(json_is_object(p->hdr), "header not an object");
    check(p->alg && strcasecmp(p->alg, "none") != 0, "alg none accepted");
    check(!json_object_get(p->hdr, "crit"), "crit accepted");
    json_t *kid = json_object_get(p->hdr, "kid"), *typ = json_object_get(p->hdr, "typ");
    check(!kid || (json_is_string(kid) && p->kid == json_string_value(kid)), "kid");
    check(!typ || (json_is_string(typ) && p->typ == json_string_value(typ)), "typ");
    check(p->siglen > 0 && p->siglen <= GH_JOSE_MAX_SIG, "signature length");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *jwks;
    if (!jwks) {
        check(gh_crypto_init() == 0, "gh_crypto_init");
        jwks = fixed_jwks();
        check(jwks != NULL, "jwks");
    }
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    gh_jose_jws p;
    const char *why = NULL;
    int parsed = gh_jose_parse(s, &p, &why) == 0;
    if (parsed) {
        check(why == NULL, "reason on success");
        check_parsed(s, &p);
        gh_jose_jws_free(&p);
        check(p.hdr == NULL, "header not freed");
    } else {
        check(why != NULL, "no reason on failure");
        check(p.hdr == NULL, "header left on failure");
    }
    why = NULL;
    json_t *out = gh_jose_verify_with_jwks(s, jwks, &why);
    check(!out || parsed, "verified what did not parse");
    check(!out || json_is_object(out), "payload not an object");
    check(out || why, "refused without a reason");
    json_decref(out);
    free(s);
    return 0;
}
