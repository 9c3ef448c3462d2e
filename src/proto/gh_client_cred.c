/*
 * gh_client_cred: client credentials as presented at the token,
 * introspection and revocation endpoints, read without I/O: the HTTP Basic
 * header (RFC 6749 2.3.1) and the claims of a private_key_jwt assertion
 * (RFC 7523 3). handlers/gh_client_auth puts them together with the store.
 */
#include "gh_client_cred.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gh_client_meta.h"
#include "gh_form.h"
#include "gh_json.h"
#include "gh_utf8.h"

enum {
    ASSERTION_MAX = 16 * 1024,
    JTI_MAX = 256,
};

/* Decodes one form-urlencoded half of Basic credentials (RFC 6749 2.3.1):
 * valid UTF-8 without control characters, else NULL. */
static const char *basic_part(gh_arena *a, const char *s, size_t n)
{
    const char *out = NULL;
    size_t len = 0;
    if (gh_form_decode(a, s, n, n, &out, &len) != GH_FORM_OK || gh_utf8_has_control(out, len))
        return NULL;
    return out;
}

int gh_client_basic_decode(gh_arena *a, const char *header, const char **id, const char **secret)
{
    *id = *secret = NULL;
    if (!header || strncasecmp(header, "Basic", 5) != 0 || (header[5] != ' ' && header[5] != '\0'))
        return 0;
    const char *p = header + 5;
    while (*p == ' ')
        p++;
    size_t n = strlen(p);
    while (n > 0 && p[n - 1] == ' ')
        n--;
    if (n == 0 || n > 4096)
        return -1;
    unsigned char *bin = gh_arena_alloc(a, n + 1);
    size_t binlen = 0;
    const char *end = NULL;
    if (!bin)
        return -1;
    if (sodium_base642bin(bin, n, p, n, NULL, &binlen, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != p + n) {
        /* Some clients leave the padding out. */
        if (sodium_base642bin(bin, n, p, n, NULL, &binlen, &end,
                              sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
            end != p + n)
            return -1;
    }
    const unsigned char *colon = memchr(bin, ':', binlen);
    if (!colon || memchr(bin, '\0', binlen))
        return -1;
    size_t idlen = (size_t)(colon - bin);
    const char *i = basic_part(a, (const char *)bin, idlen);
    const char *s = basic_part(a, (const char *)colon + 1, binlen - idlen - 1);
    if (!i || !s || !i[0])
        return -1;
    *id = i;
    *secret = s;
    return 1;
}

/* The JSON payload of a compact JWS, unverified; NULL when unreadable. */
static json_t *jws_payload(gh_arena *a, const char *jws)
{
    size_t n = strlen(jws);
    if (n == 0 || n > ASSERTION_MAX)
        return NULL;
    const char *d1 = strchr(jws, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.'))
        return NULL;
    size_t plen = (size_t)(d2 - d1 - 1);
    unsigned char *bin = gh_arena_alloc(a, plen + 1);
    size_t binlen = 0;
    const char *end = NULL;
    if (!bin || plen == 0 ||
        sodium_base642bin(bin, plen, d1 + 1, plen, NULL, &binlen, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != d2)
        return NULL;
    json_t *doc = NULL;
    if (gh_json_parse((const char *)bin, binlen, 8, &doc, NULL, 0) != GH_JSON_OK)
        return NULL;
    if (!json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

const char *gh_client_assertion_subject(gh_arena *a, const char *jws)
{
    json_t *doc = jws_payload(a, jws);
    if (!doc)
        return NULL;
    const char *s = json_string_value(json_object_get(doc, "sub"));
    if (!s)
        s = json_string_value(json_object_get(doc, "iss"));
    const char *copy = s && s[0] ? gh_arena_strdup(a, s) : NULL;
    json_decref(doc);
    return copy;
}

static bool aud_has(const json_t *aud, const char *want)
{
    if (!want || !want[0])
        return false;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    return gh_client_meta_has(aud, want);
}

bool gh_client_assertion_claims_ok(const json_t *claims, const char *client_id,
                                   const char *audience, const char *issuer, long long now,
                                   const char **jti, long long *exp, const char **why)
{
    *jti = NULL;
    *exp = 0;
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    if (!iss || !sub || !client_id || strcmp(iss, client_id) != 0 || strcmp(sub, client_id) != 0) {
        *why = "iss and sub must both be the client_id";
        return false;
    }
    json_t *aud = json_object_get(claims, "aud");
    char token_url[600] = "";
    if (issuer) { /* the token endpoint is the audience RFC 7523 3 names */
        size_t il = strlen(issuer);
        if (il > 0 && issuer[il - 1] == '/')
            il--;
        snprintf(token_url, sizeof(token_url), "%.*s/token", (int)il, issuer);
    }
    if (!aud_has(aud, audience) && !aud_has(aud, issuer) && !aud_has(aud, token_url)) {
        *why = "aud must contain the token endpoint URL or the issuer";
        return false;
    }
    json_t *e = json_object_get(claims, "exp");
    if (!json_is_number(e)) {
        *why = "exp is required";
        return false;
    }
    double ev = json_number_value(e);
    if (ev <= (double)now) {
        *why = "the assertion has expired";
        return false;
    }
    if (ev > (double)(now + GH_CLIENT_ASSERTION_MAX_S)) {
        *why = "exp is too far in the future";
        return false;
    }
    json_t *nbf = json_object_get(claims, "nbf");
    if (nbf && (!json_is_number(nbf) ||
                json_number_value(nbf) > (double)(now + GH_CLIENT_ASSERTION_SKEW_S))) {
        *why = "the assertion is not valid yet (nbf)";
        return false;
    }
    json_t *iat = json_object_get(claims, "iat");
    if (iat && (!json_is_number(iat) ||
                json_number_value(iat) > (double)(now + GH_CLIENT_ASSERTION_SKEW_S))) {
        *why = "iat is in the future";
        return false;
    }
    json_t *j = json_object_get(claims, "jti");
    const char *js = json_string_value(j);
    if (!js || !js[0] || json_string_length(j) > JTI_MAX || json_string_length(j) != strlen(js)) {
        *why = "jti is required (a unique string of at most 256 bytes)";
        return false;
    }
    *jti = js;
    *exp = (long long)ev;
    return true;
}
