/*
 * gh_clients: the OAuth client model, metadata validation (RFC 7591),
 * registration and management shared by the HTTP endpoints and the command
 * line, and client authentication (RFC 6749 2.3, RFC 7523).
 */
#include "gh_clients.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "gh_audit.h"
#include "gh_crypto.h"
#include "gh_jose.h"
#include "gh_json.h"
#include "gh_keys.h"
#include "gh_log.h"
#include "gh_oauth.h"
#include "gh_assurance.h"
#include "gh_resources.h"
#include "gh_store.h"
#include "gh_utf8.h"

enum {
    URI_MAX = 2048,
    URIS_MAX = 32,      /* redirect URIs per list */
    NAME_MAX_CP = 200,  /* client_name, in code points */
    TEXT_MAX = 1024,    /* bytes of any other free-text member */
    SCOPE_MAX = 1024,   /* bytes of the scope member */
    CONTACTS_MAX = 16,  /* entries of contacts */
    JWKS_KEYS_MAX = 16, /* keys in an inline JWK Set */
    JWK_TEXT_MAX = 8192,
    CLIENT_ID_BYTES = 16,
    ASSERTION_MAX = 16 * 1024,
    JTI_MAX = 256,
    CLIENT_ID_MAX = 256,
};

/* ---- the model ---- */

void gh_client_release(gh_client *cl)
{
    if (!cl)
        return;
    json_decref(cl->metadata);
    memset(cl, 0, sizeof(*cl));
}

static bool array_has(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    if (!s)
        return false;
    json_array_foreach(arr, i, v)
    {
        const char *t = json_string_value(v);
        if (t && strcmp(t, s) == 0)
            return true;
    }
    return false;
}

bool gh_client_redirect_ok(const gh_client *cl, const char *uri)
{
    return cl && array_has(json_object_get(cl->metadata, "redirect_uris"), uri);
}

bool gh_client_post_logout_redirect_ok(const gh_client *cl, const char *uri)
{
    return cl && array_has(json_object_get(cl->metadata, "post_logout_redirect_uris"), uri);
}

bool gh_client_grant_ok(const gh_client *cl, const char *grant_type)
{
    return cl && array_has(json_object_get(cl->metadata, "grant_types"), grant_type);
}

const char *gh_client_scope(gh_arena *a, const gh_client *cl)
{
    json_t *v = json_object_get(cl->metadata, "scope");
    const char *s = json_is_string(v) ? gh_scope_normalise(a, json_string_value(v)) : NULL;
    return s ? s : GH_SCOPES_STANDARD;
}

const char *gh_client_backchannel_logout_uri(const gh_client *cl)
{
    return cl ? json_string_value(json_object_get(cl->metadata, "backchannel_logout_uri")) : NULL;
}

/* ---- URI rules ---- */

static bool is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* Characters RFC 3986 allows in a URI (and '%' escapes well formed). */
static bool uri_chars_ok(const char *s, size_t n)
{
    if (n == 0 || n > URI_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7f || strchr("\"<>\\^`{|}", ch))
            return false;
        if (ch == '%' && (i + 2 >= n || !is_hex(s[i + 1]) || !is_hex(s[i + 2])))
            return false;
    }
    return true;
}

/* Length of the scheme of an absolute URI (RFC 3986 3.1), or 0. */
static size_t scheme_len(const char *s)
{
    size_t i = 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    while (s[i] && s[i] != ':') {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '+' || ch == '-' || ch == '.'))
            return 0;
        i++;
    }
    return s[i] == ':' ? i : 0;
}

typedef enum { WEB_BAD, WEB_HTTPS, WEB_HTTP_LOOPBACK, WEB_HTTP_OTHER } web_kind;

/* Classifies an http(s) URI by its scheme and host. The authority must be
 * present, without userinfo, with a non-empty host and a numeric port. */
static web_kind web_uri(const char *s)
{
    size_t sl = scheme_len(s);
    bool https = sl == 5 && strncasecmp(s, "https", 5) == 0;
    bool http = sl == 4 && strncasecmp(s, "http", 4) == 0;
    if (!https && !http)
        return WEB_BAD;
    const char *p = s + sl + 1;
    if (strncmp(p, "//", 2) != 0)
        return WEB_BAD;
    p += 2;
    size_t alen = strcspn(p, "/?#");
    if (alen == 0 || memchr(p, '@', alen))
        return WEB_BAD;
    size_t hlen;
    if (p[0] == '[') {
        const char *close = memchr(p, ']', alen);
        if (!close)
            return WEB_BAD;
        hlen = (size_t)(close - p) + 1;
    } else {
        const char *colon = memchr(p, ':', alen);
        hlen = colon ? (size_t)(colon - p) : alen;
    }
    if (hlen == 0)
        return WEB_BAD;
    if (hlen < alen) { /* a port */
        if (p[hlen] != ':' || hlen + 1 == alen || alen - hlen - 1 > 5)
            return WEB_BAD;
        long port = 0;
        for (size_t i = hlen + 1; i < alen; i++) {
            if (p[i] < '0' || p[i] > '9')
                return WEB_BAD;
            port = port * 10 + (p[i] - '0');
        }
        if (port < 1 || port > 65535)
            return WEB_BAD;
    }
    if (https)
        return WEB_HTTPS;
    if ((hlen == 9 && strncasecmp(p, "localhost", 9) == 0) ||
        (hlen == 9 && strncmp(p, "127.0.0.1", 9) == 0) ||
        (hlen == 5 && strncmp(p, "[::1]", 5) == 0))
        return WEB_HTTP_LOOPBACK;
    return WEB_HTTP_OTHER;
}

/* https, or http on a loopback host; no fragment. */
static bool web_uri_valid(const char *uri)
{
    size_t n = strlen(uri);
    if (!uri_chars_ok(uri, n) || strchr(uri, '#'))
        return false;
    web_kind k = web_uri(uri);
    return k == WEB_HTTPS || k == WEB_HTTP_LOOPBACK;
}

bool gh_client_redirect_uri_valid(const char *uri, bool is_public)
{
    if (!uri)
        return false;
    size_t n = strlen(uri);
    if (!uri_chars_ok(uri, n) || strchr(uri, '#'))
        return false;
    size_t sl = scheme_len(uri);
    if (sl == 0)
        return false;
    if ((sl == 5 && strncasecmp(uri, "https", 5) == 0) ||
        (sl == 4 && strncasecmp(uri, "http", 4) == 0))
        return web_uri_valid(uri);
    /* A private-use scheme (RFC 8252 7.1): a reverse domain name, for
     * native apps, which are public clients. */
    return is_public && memchr(uri, '.', sl) && uri[sl + 1] != '\0';
}

/* ---- metadata validation ---- */

static json_t *fail_meta(gh_client_error *err, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static json_t *fail_meta(gh_client_error *err, const char *error, const char *fmt, ...)
{
    err->error = error;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->description, sizeof(err->description), fmt, ap);
    va_end(ap);
    return NULL;
}

/* A member, with JSON null taken as absent. */
static json_t *member(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_null(v) ? NULL : v;
}

/* A string without NUL or control characters, at most maxb bytes. */
static bool plain_string(const json_t *v, size_t maxb)
{
    const char *s = json_string_value(v);
    if (!s)
        return false;
    size_t n = json_string_length(v);
    return n == strlen(s) && n <= maxb && gh_utf8_valid(s, n) && !gh_utf8_has_control(s, n);
}

/* A list of distinct strings from allowed[]; NULL with err set otherwise. */
static json_t *string_set(const json_t *v, const char *name, const char *const *allowed,
                          size_t nallowed, gh_client_error *err)
{
    if (!json_is_array(v))
        return fail_meta(err, "invalid_client_metadata", "%s must be an array of strings", name);
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *s = json_string_value(e);
        bool known = false;
        for (size_t k = 0; s && k < nallowed; k++)
            known = known || strcmp(s, allowed[k]) == 0;
        if (!known) {
            json_decref(out);
            if (!s)
                return fail_meta(err, "invalid_client_metadata", "%s must be an array of strings",
                                 name);
            return fail_meta(err, "invalid_client_metadata", "%s: \"%.64s\" is not supported", name,
                             s);
        }
        if (!array_has(out, s))
            json_array_append_new(out, json_string(s));
    }
    return out;
}

/* A list of redirect URIs, each valid; duplicates dropped. */
static json_t *uri_list(const json_t *v, const char *name, bool is_public, gh_client_error *err)
{
    if (!json_is_array(v))
        return fail_meta(err, "invalid_redirect_uri", "%s must be an array of strings", name);
    if (json_array_size(v) > URIS_MAX)
        return fail_meta(err, "invalid_redirect_uri", "%s: at most %d URIs", name, URIS_MAX);
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *s = json_string_value(e);
        if (!s || json_string_length(e) != strlen(s)) {
            json_decref(out);
            return fail_meta(err, "invalid_redirect_uri", "%s must be an array of strings", name);
        }
        if (!gh_client_redirect_uri_valid(s, is_public)) {
            json_decref(out);
            if (!scheme_len(s) || strchr(s, '#') || !uri_chars_ok(s, strlen(s)))
                return fail_meta(err, "invalid_redirect_uri",
                                 "%s: each must be an absolute URI without a fragment", name);
            return fail_meta(err, "invalid_redirect_uri",
                             "%s: use https, http on a loopback host (localhost, 127.0.0.1, "
                             "[::1]), or a private-use scheme (reverse domain name) for a "
                             "public native client",
                             name);
        }
        if (!array_has(out, s))
            json_array_append_new(out, json_string(s));
    }
    return out;
}

/* Members of a JWK that only a private key has. */
static const char *const jwk_private[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

static json_t *jwks_copy(const json_t *v, gh_client_error *err)
{
    json_t *keys = json_object_get(v, "keys");
    if (!json_is_object(v) || !json_is_array(keys) || json_array_size(keys) == 0)
        return fail_meta(err, "invalid_client_metadata",
                         "jwks must be a JWK Set: {\"keys\": [at least one public key]}");
    if (json_array_size(keys) > JWKS_KEYS_MAX)
        return fail_meta(err, "invalid_client_metadata", "jwks: at most %d keys", JWKS_KEYS_MAX);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *kty = json_string_value(json_object_get(k, "kty"));
        if (!json_is_object(k) || !kty)
            return fail_meta(err, "invalid_client_metadata", "jwks: every key needs a \"kty\"");
        if (strcmp(kty, "EC") != 0 && strcmp(kty, "RSA") != 0 && strcmp(kty, "OKP") != 0)
            return fail_meta(err, "invalid_client_metadata",
                             "jwks: key type \"%.16s\" is not supported (EC, RSA or OKP)", kty);
        for (size_t p = 0; p < sizeof(jwk_private) / sizeof(jwk_private[0]); p++)
            if (json_object_get(k, jwk_private[p]))
                return fail_meta(err, "invalid_client_metadata",
                                 "jwks must hold public keys only (found private member \"%s\")",
                                 jwk_private[p]);
    }
    char *text = json_dumps(v, JSON_COMPACT);
    size_t n = text ? strlen(text) : 0;
    free(text);
    if (n == 0 || n > JWK_TEXT_MAX)
        return fail_meta(err, "invalid_client_metadata", "jwks is too large");
    return json_deep_copy(v);
}

/* OAuth scope syntax (RFC 6749 3.3): NQCHAR tokens separated by single spaces. */
static bool scope_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SCOPE_MAX || s[0] == ' ' || s[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == ' ') {
            if (s[i + 1] == ' ')
                return false;
            continue;
        }
        if (ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\')
            return false;
    }
    return true;
}

static const char *const auth_methods[] = {"client_secret_basic", "client_secret_post",
                                           "private_key_jwt", "none"};
static const char *const grant_types[] = {"authorization_code", "refresh_token",
                                          "client_credentials"};
static const char *const response_types[] = {"code"};

/* Free-text members copied when valid; URL members must be web URIs. */
static const char *const text_members[] = {"software_id", "software_version"};
static const char *const url_members[] = {"client_uri", "logo_uri", "tos_uri", "policy_uri"};

json_t *gh_client_metadata_validate(const json_t *in, gh_client_error *err)
{
    err->error = NULL;
    err->description[0] = '\0';
    if (!json_is_object(in))
        return fail_meta(err, "invalid_client_metadata", "the metadata must be a JSON object");

    /* token_endpoint_auth_method */
    const char *method = "client_secret_basic";
    json_t *v = member(in, "token_endpoint_auth_method");
    if (v) {
        method = json_string_value(v);
        bool known = false;
        for (size_t i = 0; method && i < sizeof(auth_methods) / sizeof(auth_methods[0]); i++)
            known = known || strcmp(method, auth_methods[i]) == 0;
        if (!known)
            return fail_meta(err, "invalid_client_metadata",
                             "token_endpoint_auth_method must be one of client_secret_basic, "
                             "client_secret_post, private_key_jwt, none");
    }
    bool is_public = strcmp(method, "none") == 0;

    json_t *out = json_object();
    json_t *grants = NULL, *rtypes = NULL, *tmp = NULL;

    /* grant_types */
    v = member(in, "grant_types");
    if (v) {
        grants = string_set(v, "grant_types", grant_types, 3, err);
        if (!grants)
            goto bad;
        if (json_array_size(grants) == 0) {
            fail_meta(err, "invalid_client_metadata", "grant_types must not be empty");
            goto bad;
        }
    } else {
        grants = json_pack("[s]", "authorization_code");
    }
    bool has_code = array_has(grants, "authorization_code");
    if (array_has(grants, "refresh_token") && !has_code) {
        fail_meta(err, "invalid_client_metadata",
                  "grant_types: refresh_token is only issued with authorization_code");
        goto bad;
    }
    if (is_public && array_has(grants, "client_credentials")) {
        fail_meta(err, "invalid_client_metadata",
                  "grant_types: client_credentials needs a confidential client "
                  "(token_endpoint_auth_method other than none)");
        goto bad;
    }

    /* response_types: "code" exactly when the authorization code grant is used */
    v = member(in, "response_types");
    if (v) {
        rtypes = string_set(v, "response_types", response_types, 1, err);
        if (!rtypes)
            goto bad;
    } else {
        rtypes = has_code ? json_pack("[s]", "code") : json_array();
    }
    if (array_has(rtypes, "code") != has_code) {
        fail_meta(err, "invalid_client_metadata",
                  has_code ? "response_types must include code when grant_types has "
                             "authorization_code"
                           : "response_types code needs the authorization_code grant type");
        goto bad;
    }

    /* redirect_uris */
    v = member(in, "redirect_uris");
    if (v) {
        tmp = uri_list(v, "redirect_uris", is_public, err);
        if (!tmp)
            goto bad;
        if (json_array_size(tmp) > 0 || has_code)
            json_object_set(out, "redirect_uris", tmp);
        json_decref(tmp);
    }
    if (has_code && json_array_size(json_object_get(out, "redirect_uris")) == 0) {
        fail_meta(err, "invalid_redirect_uri",
                  "redirect_uris is required for the authorization_code grant");
        goto bad;
    }

    json_object_set_new(out, "token_endpoint_auth_method", json_string(method));
    json_object_set(out, "grant_types", grants);
    json_object_set(out, "response_types", rtypes);

    /* keys */
    if (json_object_get(in, "jwks_uri")) {
        fail_meta(err, "invalid_client_metadata",
                  "jwks_uri is not supported yet: register the public keys inline as jwks");
        goto bad;
    }
    v = member(in, "jwks");
    if (v) {
        tmp = jwks_copy(v, err);
        if (!tmp)
            goto bad;
        json_object_set_new(out, "jwks", tmp);
    } else if (strcmp(method, "private_key_jwt") == 0) {
        fail_meta(err, "invalid_client_metadata",
                  "private_key_jwt needs the client's public keys as jwks");
        goto bad;
    }

    /* id_token_signed_response_alg */
    const char *alg = "ES256";
    v = member(in, "id_token_signed_response_alg");
    if (v) {
        alg = json_string_value(v);
        if (!alg || (strcmp(alg, "ES256") != 0 && strcmp(alg, "RS256") != 0)) {
            fail_meta(err, "invalid_client_metadata",
                      "id_token_signed_response_alg must be ES256 or RS256");
            goto bad;
        }
    }
    json_object_set_new(out, "id_token_signed_response_alg", json_string(alg));

    /* logout */
    v = member(in, "post_logout_redirect_uris");
    if (v) {
        tmp = uri_list(v, "post_logout_redirect_uris", is_public, err);
        if (!tmp)
            goto bad;
        json_object_set_new(out, "post_logout_redirect_uris", tmp);
    }
    v = member(in, "backchannel_logout_uri");
    if (v) {
        const char *s = json_string_value(v);
        if (!s || json_string_length(v) != strlen(s) || !web_uri_valid(s)) {
            fail_meta(err, "invalid_client_metadata",
                      "backchannel_logout_uri must be an https URI (or http on a loopback "
                      "host) without a fragment");
            goto bad;
        }
        json_object_set_new(out, "backchannel_logout_uri", json_string(s));
    }
    v = member(in, "backchannel_logout_session_required");
    if (v && !json_is_boolean(v)) {
        fail_meta(err, "invalid_client_metadata",
                  "backchannel_logout_session_required must be a boolean");
        goto bad;
    }
    if (v || json_object_get(out, "backchannel_logout_uri"))
        json_object_set_new(out, "backchannel_logout_session_required",
                            json_boolean(v && json_is_true(v)));

    /* descriptive members */
    v = member(in, "client_name");
    if (v) {
        const char *s = json_string_value(v);
        if (!plain_string(v, TEXT_MAX) || gh_utf8_count(s, strlen(s)) > NAME_MAX_CP ||
            s[0] == '\0') {
            fail_meta(err, "invalid_client_metadata",
                      "client_name must be a string of 1 to %d characters without control "
                      "characters",
                      NAME_MAX_CP);
            goto bad;
        }
        json_object_set_new(out, "client_name", json_string(s));
    }
    for (size_t i = 0; i < sizeof(url_members) / sizeof(url_members[0]); i++) {
        v = member(in, url_members[i]);
        if (!v)
            continue;
        const char *s = json_string_value(v);
        if (!s || json_string_length(v) != strlen(s) || !web_uri_valid(s)) {
            fail_meta(err, "invalid_client_metadata",
                      "%s must be an https URI (or http on a loopback host) without a fragment",
                      url_members[i]);
            goto bad;
        }
        json_object_set_new(out, url_members[i], json_string(s));
    }
    for (size_t i = 0; i < sizeof(text_members) / sizeof(text_members[0]); i++) {
        v = member(in, text_members[i]);
        if (!v)
            continue;
        if (!plain_string(v, 256)) {
            fail_meta(err, "invalid_client_metadata",
                      "%s must be a string of at most 256 bytes without control characters",
                      text_members[i]);
            goto bad;
        }
        json_object_set_new(out, text_members[i], json_string(json_string_value(v)));
    }
    v = member(in, "scope");
    if (v) {
        const char *s = json_string_value(v);
        if (!s || json_string_length(v) != strlen(s) || !scope_valid(s)) {
            fail_meta(err, "invalid_client_metadata",
                      "scope must be space-separated scope tokens (at most %d bytes)", SCOPE_MAX);
            goto bad;
        }
        json_object_set_new(out, "scope", json_string(s));
    }
    v = member(in, "contacts");
    if (v) {
        bool ok = json_is_array(v) && json_array_size(v) <= CONTACTS_MAX;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) ok = ok && plain_string(e, 254) && json_string_length(e) > 0;
        if (!ok) {
            fail_meta(err, "invalid_client_metadata",
                      "contacts must be an array of at most %d addresses", CONTACTS_MAX);
            goto bad;
        }
        json_object_set_new(out, "contacts", json_deep_copy(v));
    }
    /* assurance: the levels a client asks for by default, and the least it
     * accepts (docs/mfa.md) */
    static const char *const acrs[] = {GH_ACR_AAL1, GH_ACR_AAL2, GH_ACR_AAL3};
    v = member(in, "default_acr_values");
    if (v) {
        json_t *set = string_set(v, "default_acr_values", acrs, 3, err);
        if (!set)
            goto bad;
        json_object_set_new(out, "default_acr_values", set);
    }
    v = member(in, "minimum_acr_value");
    if (v) {
        const char *s = json_string_value(v);
        bool known = false;
        for (size_t i = 0; s && i < 3; i++)
            known = known || strcmp(s, acrs[i]) == 0;
        if (!known) {
            fail_meta(err, "invalid_client_metadata",
                      "minimum_acr_value must be one of acr_values_supported");
            goto bad;
        }
        json_object_set_new(out, "minimum_acr_value", json_string(s));
    }
    json_decref(grants);
    json_decref(rtypes);
    return out;
bad:
    json_decref(grants);
    json_decref(rtypes);
    json_decref(out);
    return NULL;
}

/* ---- registration and management ---- */

static bool secret_method(const char *method)
{
    return strcmp(method, "client_secret_basic") == 0 || strcmp(method, "client_secret_post") == 0;
}

static char *hash_of(gh_arena *a, const char *secret)
{
    char h[2 * GH_SHA256_BYTES + 1];
    gh_secret_hash(secret, h);
    return gh_arena_strdup(a, h);
}

static json_t *view(const gh_client *cl, const char *issuer, const char *secret, const char *rat)
{
    size_t il = strlen(issuer);
    if (il > 0 && issuer[il - 1] == '/')
        il--;
    json_t *o = json_object();
    json_object_set_new(o, "client_id", json_string(cl->id));
    if (secret)
        json_object_set_new(o, "client_secret", json_string(secret));
    json_object_set_new(o, "client_id_issued_at", json_integer(cl->created_at / 1000));
    if (cl->secret_hash)
        json_object_set_new(o, "client_secret_expires_at", json_integer(0));
    if (rat)
        json_object_set_new(o, "registration_access_token", json_string(rat));
    size_t ul = il + 10 + strlen(cl->id) + 1;
    char *uri = malloc(ul);
    if (uri) {
        snprintf(uri, ul, "%.*s/register/%s", (int)il, issuer, cl->id);
        json_object_set_new(o, "registration_client_uri", json_string(uri));
        free(uri);
    }
    json_object_update(o, cl->metadata);
    json_object_set_new(o, "gatehouse_first_party", json_boolean(cl->first_party));
    return o;
}

json_t *gh_client_view(const gh_client *cl, const char *issuer)
{
    return view(cl, issuer, NULL, NULL);
}

bool gh_client_registration_token_ok(const gh_client *cl, const char *token)
{
    char h[2 * GH_SHA256_BYTES + 1];
    gh_secret_hash(token ? token : "", h);
    /* Compared even when the client has no token, so the time is the same. */
    bool ok = gh_secret_equal(h, cl && cl->registration_token_hash ? cl->registration_token_hash
                                                                   : "no registration token");
    return ok && token && token[0] && cl && cl->registration_token_hash;
}

static gh_dbrc audit(gh_dbconn *c, gh_arena *a, const gh_client_actor *who, const char *type,
                     const char *client_id, json_t *details)
{
    gh_audit_event ev = {.tenant_id = who->tenant,
                         .type = type,
                         .subject = client_id,
                         .actor = who->actor,
                         .ip = who->ip,
                         .user_agent = who->user_agent,
                         .outcome = "success",
                         .details = details};
    gh_dbrc rc = gh_audit_append(c, a, &ev);
    json_decref(details);
    return rc;
}

/* Ends the transaction of one change: commit when every write succeeded. */
static gh_dbrc finish(gh_dbconn *c, gh_dbrc rc)
{
    if (rc == GH_DB_OK)
        return gh_db_commit(c);
    gh_db_rollback(c);
    return rc;
}

static char *metadata_text(gh_arena *a, const json_t *m)
{
    char *t = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *copy = t ? gh_arena_strdup(a, t) : NULL;
    free(t);
    return copy;
}

gh_dbrc gh_clients_register(gh_dbconn *c, gh_arena *a, const gh_client_actor *who,
                            const char *issuer, const json_t *metadata, bool first_party,
                            json_t **response, gh_client_error *err)
{
    *response = NULL;
    json_t *m = gh_client_metadata_validate(metadata, err);
    if (!m)
        return GH_DB_INVALID;
    uint8_t idb[CLIENT_ID_BYTES];
    gh_random(idb, sizeof(idb));
    const char *method = json_string_value(json_object_get(m, "token_endpoint_auth_method"));
    const char *secret = secret_method(method) ? gh_token(a) : NULL;
    const char *rat = gh_token(a);
    long long now = gh_now_ms();
    gh_client cl = {
        .id = gh_b64url(a, idb, sizeof(idb)),
        .first_party = first_party,
        .is_public = strcmp(method, "none") == 0,
        .auth_method = method,
        .metadata = m,
        .secret_hash = secret ? hash_of(a, secret) : NULL,
        .registration_token_hash = rat ? hash_of(a, rat) : NULL,
        .created_at = now,
        .updated_at = now,
    };
    const char *text = metadata_text(a, m);
    if (!cl.id || !rat || !cl.registration_token_hash || !text || (secret && !cl.secret_hash)) {
        json_decref(m);
        return GH_DB_FAIL;
    }
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK) {
        rc = gh_store_client_insert(c, a, who->tenant, &cl, text);
        if (rc == GH_DB_OK)
            rc = audit(c, a, who, "client.registered", cl.id,
                       json_pack("{s:s, s:b, s:O}", "auth_method", method, "first_party",
                                 first_party, "grant_types", json_object_get(m, "grant_types")));
        rc = finish(c, rc);
    }
    if (rc == GH_DB_OK)
        *response = view(&cl, issuer, secret, rat);
    json_decref(m);
    return rc;
}

/* RFC 7592 2.2: the client sends its whole configuration back; client_id
 * and client_secret are checked, server-issued fields are ignored (they are
 * not metadata, so validation drops them). */
/* ---- a short-lived cache of clients, for client authentication ----
 *
 * Token, introspection and revocation requests authenticate their client on
 * every call, and a service asks many times a second: reading and parsing
 * its row each time cost as much as signing the token. Clients are kept
 * here for CLIENT_CACHE_MS. A change made through this process (RFC 7592,
 * an administrator) drops the entry at once; a change made by another
 * instance or the command line is seen within CLIENT_CACHE_MS. Unknown
 * clients are not cached, so a new registration works at once everywhere.
 * Only gh_client_authenticate reads through the cache: the authorization
 * endpoint and client management always read the store. */
enum { CLIENT_CACHE_SLOTS = 64, CLIENT_CACHE_MS = 1000 };

struct cached_client {
    gh_client cl;      /* strings malloc'd; cl.id NULL: an empty slot */
    int64_t loaded_ms; /* gh_mono_ms when it was read from the store */
};

static struct {
    pthread_mutex_t mu;
    struct cached_client slot[CLIENT_CACHE_SLOTS];
    /* Bumped by every forget: a load that began before a change must not
     * put what it read into the cache after the change dropped it. */
    unsigned long generation;
} client_cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static size_t cache_slot(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % CLIENT_CACHE_SLOTS;
}

/* Frees an entry's strings and metadata; client_cache.mu held. */
static void cache_clear(struct cached_client *e)
{
    free((char *)e->cl.id);
    free((char *)e->cl.auth_method);
    free((char *)e->cl.id_token_alg);
    free((char *)e->cl.secret_hash);
    free((char *)e->cl.registration_token_hash);
    gh_client_release(&e->cl);
    e->loaded_ms = 0;
}

static char *dup_or_null(const char *s, bool *ok)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *ok = false;
    return d;
}

/* Copies a client into the arena (metadata: a new reference). */
static bool client_copy_out(gh_arena *a, const gh_client *from, gh_client *out)
{
    *out = *from;
    out->id = gh_arena_strdup(a, from->id);
    out->auth_method = gh_arena_strdup(a, from->auth_method);
    out->id_token_alg = gh_arena_strdup(a, from->id_token_alg);
    out->secret_hash = from->secret_hash ? gh_arena_strdup(a, from->secret_hash) : NULL;
    out->registration_token_hash =
        from->registration_token_hash ? gh_arena_strdup(a, from->registration_token_hash) : NULL;
    out->metadata = json_incref(from->metadata);
    if (!out->id || !out->auth_method || !out->id_token_alg ||
        (from->secret_hash && !out->secret_hash) ||
        (from->registration_token_hash && !out->registration_token_hash)) {
        gh_client_release(out);
        return false;
    }
    return true;
}

/* Drops a client from this process's cache (after a change to it). */
static void client_cache_forget(const char *id)
{
    pthread_mutex_lock(&client_cache.mu);
    client_cache.generation++;
    struct cached_client *e = &client_cache.slot[cache_slot(id)];
    if (e->cl.id && strcmp(e->cl.id, id) == 0)
        cache_clear(e);
    pthread_mutex_unlock(&client_cache.mu);
}

/* Loads a client for authentication: from the cache when fresh, else from
 * the store (and then into the cache). The metadata document is shared
 * with the cache and other requests: it is read-only. */
static gh_dbrc client_get_cached(gh_req *r, const char *id, gh_client *out)
{
    gh_arena *a = r->arena;
    memset(out, 0, sizeof(*out));
    int64_t now = gh_mono_ms();
    size_t i = cache_slot(id);
    pthread_mutex_lock(&client_cache.mu);
    struct cached_client *e = &client_cache.slot[i];
    bool hit = e->cl.id && strcmp(e->cl.id, id) == 0 && now - e->loaded_ms < CLIENT_CACHE_MS &&
               client_copy_out(a, &e->cl, out);
    unsigned long gen = client_cache.generation;
    pthread_mutex_unlock(&client_cache.mu);
    if (hit)
        return GH_DB_OK;

    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return GH_DB_BUSY;
    gh_dbrc rc = gh_clients_get(c, a, GH_DEFAULT_TENANT, id, out);
    if (rc != GH_DB_OK)
        return rc;
    bool ok = true;
    gh_client copy = *out;
    copy.id = dup_or_null(out->id, &ok);
    copy.auth_method = dup_or_null(out->auth_method, &ok);
    copy.id_token_alg = dup_or_null(out->id_token_alg, &ok);
    copy.secret_hash = dup_or_null(out->secret_hash, &ok);
    copy.registration_token_hash = dup_or_null(out->registration_token_hash, &ok);
    copy.metadata = json_incref(out->metadata);
    pthread_mutex_lock(&client_cache.mu);
    if (ok && gen == client_cache.generation) {
        e = &client_cache.slot[i];
        cache_clear(e);
        e->cl = copy;
        e->loaded_ms = now;
    } else {
        cache_clear(&(struct cached_client){.cl = copy});
    }
    pthread_mutex_unlock(&client_cache.mu);
    return GH_DB_OK;
}

gh_dbrc gh_clients_update(gh_dbconn *c, gh_arena *a, const gh_client_actor *who, const char *issuer,
                          const gh_client *cur, const json_t *metadata, json_t **response,
                          gh_client_error *err)
{
    *response = NULL;
    if (!json_is_object(metadata)) {
        fail_meta(err, "invalid_client_metadata", "the metadata must be a JSON object");
        return GH_DB_INVALID;
    }
    json_t *idv = member(metadata, "client_id");
    if (idv && (!json_is_string(idv) || strcmp(json_string_value(idv), cur->id) != 0)) {
        fail_meta(err, "invalid_client_metadata", "client_id does not match this client");
        return GH_DB_INVALID;
    }
    json_t *sv = member(metadata, "client_secret");
    if (sv) {
        char h[2 * GH_SHA256_BYTES + 1];
        const char *s = json_string_value(sv);
        gh_secret_hash(s ? s : "", h);
        if (!s || !cur->secret_hash || !gh_secret_equal(h, cur->secret_hash)) {
            fail_meta(err, "invalid_client_metadata",
                      "client_secret is not the current secret of this client");
            return GH_DB_INVALID;
        }
    }
    json_t *m = gh_client_metadata_validate(metadata, err);
    if (!m)
        return GH_DB_INVALID;
    const char *method = json_string_value(json_object_get(m, "token_endpoint_auth_method"));
    const char *secret = NULL;
    const char *secret_hash = NULL;
    if (secret_method(method)) {
        secret_hash = cur->secret_hash;
        if (!secret_hash) {
            secret = gh_token(a);
            secret_hash = secret ? hash_of(a, secret) : NULL;
        }
    }
    gh_client cl = *cur;
    cl.metadata = m;
    cl.auth_method = method;
    cl.is_public = strcmp(method, "none") == 0;
    cl.secret_hash = secret_hash;
    cl.updated_at = gh_now_ms();
    const char *text = metadata_text(a, m);
    if (!text || (secret_method(method) && !secret_hash)) {
        json_decref(m);
        return GH_DB_FAIL;
    }
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK) {
        rc = gh_store_client_update(c, a, who->tenant, &cl, text);
        if (rc == GH_DB_OK)
            rc = audit(
                c, a, who, "client.updated", cl.id,
                json_pack("{s:s, s:b}", "auth_method", method, "secret_issued", secret != NULL));
        rc = finish(c, rc);
    }
    client_cache_forget(cl.id);
    if (rc == GH_DB_OK)
        *response = view(&cl, issuer, secret, NULL);
    json_decref(m);
    return rc;
}

gh_dbrc gh_clients_delete(gh_dbconn *c, gh_arena *a, const gh_client_actor *who, const char *id)
{
    gh_dbrc rc = gh_db_begin(c);
    if (rc != GH_DB_OK)
        return rc;
    rc = gh_store_client_delete(c, a, who->tenant, id);
    if (rc == GH_DB_OK)
        rc = audit(c, a, who, "client.deleted", id, NULL);
    rc = finish(c, rc);
    client_cache_forget(id);
    return rc;
}

gh_dbrc gh_clients_set_first_party(gh_dbconn *c, gh_arena *a, const gh_client_actor *who,
                                   const char *id, bool first_party)
{
    gh_dbrc rc = gh_db_begin(c);
    if (rc != GH_DB_OK)
        return rc;
    rc = gh_store_client_set_first_party(c, a, who->tenant, id, first_party);
    if (rc == GH_DB_OK)
        rc = audit(c, a, who, "client.first_party", id,
                   json_pack("{s:b}", "first_party", first_party));
    rc = finish(c, rc);
    client_cache_forget(id);
    return rc;
}

/* ---- client authentication ---- */

/* Decodes application/x-www-form-urlencoded text ('+' is a space). */
static char *form_decode(gh_arena *a, const char *s, size_t n)
{
    char *out = gh_arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            uint8_t b;
            if (i + 2 >= n || gh_unhex(s + i + 1, 2, &b, 1) != 0)
                return NULL;
            out[o++] = (char)b;
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    if (!gh_utf8_valid(out, o) || gh_utf8_has_control(out, o))
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
    char *i = form_decode(a, (const char *)bin, idlen);
    char *s = form_decode(a, (const char *)colon + 1, binlen - idlen - 1);
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
    return array_has(aud, want);
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

/* Ends a failed authentication: releases out and sets the response. */
static bool auth_fail(gh_req *r, gh_client *out, bool basic, unsigned status, const char *error,
                      const char *why)
{
    gh_client_release(out);
    if (status == 401 && basic)
        gh_resp_header(r, "WWW-Authenticate", "Basic realm=\"gatehouse\", charset=\"UTF-8\"");
    gh_resp_error(r, status, error, why);
    gh_log_event(
        GH_LOG_INFO, "client authentication failed",
        json_pack("{s:s, s:s, s:s}", "request_id", r->request_id, "error", error, "reason", why));
    return false;
}

static const char *const auth_params[] = {"client_id", "client_secret", "client_assertion",
                                          "client_assertion_type"};

bool gh_client_authenticate(gh_req *r, const gh_form *form, const char *audience, gh_client *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < sizeof(auth_params) / sizeof(auth_params[0]); i++)
        if (form && gh_form_count(form, auth_params[i]) > 1)
            return auth_fail(r, out, false, 400, "invalid_request",
                             "a client authentication parameter is repeated");
    const char *fid = form ? gh_form_get(form, "client_id") : NULL;
    const char *fsecret = form ? gh_form_get(form, "client_secret") : NULL;
    const char *atype = form ? gh_form_get(form, "client_assertion_type") : NULL;
    const char *assertion = form ? gh_form_get(form, "client_assertion") : NULL;
    const char *bid = NULL, *bsecret = NULL;
    int b = gh_client_basic_decode(r->arena, gh_req_header(r, "Authorization"), &bid, &bsecret);
    bool basic = b != 0;
    if (b < 0)
        return auth_fail(r, out, true, 401, "invalid_client",
                         "the Basic authorization header is malformed");
    int methods = (b == 1) + (fsecret != NULL) + (atype != NULL || assertion != NULL);
    if (methods > 1)
        return auth_fail(r, out, false, 400, "invalid_request",
                         "use exactly one client authentication method");

    const char *method, *id;
    if (b == 1) {
        if (fid && strcmp(fid, bid) != 0)
            return auth_fail(r, out, false, 400, "invalid_request",
                             "client_id does not match the Authorization header");
        method = "client_secret_basic";
        id = bid;
    } else if (fsecret) {
        method = "client_secret_post";
        id = fid;
    } else if (atype || assertion) {
        if (!atype || !assertion)
            return auth_fail(r, out, false, 400, "invalid_request",
                             "client_assertion and client_assertion_type go together");
        if (strcmp(atype, GH_CLIENT_ASSERTION_TYPE) != 0)
            return auth_fail(r, out, false, 400, "invalid_request",
                             "client_assertion_type is not supported");
        method = "private_key_jwt";
        id = gh_client_assertion_subject(r->arena, assertion);
        if (!id)
            return auth_fail(r, out, false, 401, "invalid_client",
                             "the client assertion cannot be read");
        if (fid && strcmp(fid, id) != 0)
            return auth_fail(r, out, false, 401, "invalid_client",
                             "client_id does not match the client assertion");
    } else {
        method = "none";
        id = fid;
    }
    if (!id || !id[0])
        return auth_fail(r, out, basic, 401, "invalid_client", "client authentication is required");
    if (strlen(id) > CLIENT_ID_MAX)
        return auth_fail(r, out, basic, 401, "invalid_client", "unknown client");

    gh_dbrc rc = client_get_cached(r, id, out);
    if (rc == GH_DB_NOTFOUND) {
        if (bsecret || fsecret) /* the same work as for a known client */
            (void)gh_secret_equal(bsecret ? bsecret : fsecret, "unknown client");
        return auth_fail(r, out, basic, 401, "invalid_client", "unknown client");
    }
    if (rc != GH_DB_OK) {
        if (r->db) /* else gh_req_db found no connection and answered 503 */
            gh_resp_db_error(r, rc);
        return false;
    }
    /* Only the registered method (docs/clients.md): a client registered
     * for Basic does not also take its secret in the form. */
    if (strcmp(out->auth_method, method) != 0)
        return auth_fail(r, out, basic, 401, "invalid_client",
                         "the client is not registered for this authentication method");

    if (strcmp(method, "none") == 0)
        return out->is_public ? true
                              : auth_fail(r, out, basic, 401, "invalid_client",
                                          "client authentication is required");
    if (strcmp(method, "private_key_jwt") != 0) {
        const char *secret = bsecret ? bsecret : fsecret;
        char h[2 * GH_SHA256_BYTES + 1];
        gh_secret_hash(secret, h);
        bool ok = gh_secret_equal(h, out->secret_hash ? out->secret_hash : "no secret");
        if (!ok || !out->secret_hash || !secret[0])
            return auth_fail(r, out, basic, 401, "invalid_client", "invalid client credentials");
        return true;
    }

    const char *why = "the client assertion is invalid";
    json_t *claims =
        gh_jose_verify_with_jwks(assertion, json_object_get(out->metadata, "jwks"), &why);
    if (!claims)
        return auth_fail(r, out, false, 401, "invalid_client",
                         why ? gh_arena_printf(r->arena, "client assertion: %s", why)
                             : "the client assertion's signature does not verify");
    const char *jti = NULL;
    long long exp = 0, now = gh_now_ms() / 1000;
    bool ok = gh_client_assertion_claims_ok(claims, out->id, audience, r->app->cfg->issuer, now,
                                            &jti, &exp, &why);
    jti = ok ? gh_arena_strdup(r->arena, jti) : NULL;
    json_decref(claims);
    if (!ok)
        return auth_fail(r, out, false, 401, "invalid_client",
                         gh_arena_printf(r->arena, "client assertion: %s", why));
    if (!jti) {
        gh_client_release(out);
        gh_resp_error(r, 500, "server_error", "out of memory");
        return false;
    }
    gh_dbconn *c = gh_req_db(r);
    rc = c ? gh_store_jti_use(c, r->arena, GH_DEFAULT_TENANT, out->id, jti, exp * 1000, now * 1000)
           : GH_DB_BUSY;
    if (rc == GH_DB_CONFLICT)
        return auth_fail(r, out, false, 401, "invalid_client",
                         "client assertion: this jti was used before (replay)");
    if (rc != GH_DB_OK) {
        gh_client_release(out);
        if (c)
            gh_resp_db_error(r, rc);
        return false;
    }
    return true;
}

/* ---- the command line ---- */

void gh_clients_usage(FILE *out)
{
    fprintf(out, "Usage: gatehouse client <subcommand>\n\n"
                 "Manages the OAuth clients in GATEHOUSE_DATABASE (default tenant).\n\n"
                 "  create --name NAME [--redirect-uri URI]... [--grant TYPE]... [--auth METHOD]\n"
                 "         [--first-party] [--post-logout-redirect-uri URI]...\n"
                 "         [--backchannel-logout-uri URI] [--jwks FILE] [--id-token-alg ALG]\n"
                 "         [--scope SCOPE]\n"
                 "      registers a client under the same rules as POST /register and prints its\n"
                 "      configuration as JSON, with the client secret (secret-based methods) and\n"
                 "      the registration access token: they are shown this once only.\n"
                 "      TYPE: authorization_code (default), refresh_token, client_credentials.\n"
                 "      METHOD: client_secret_basic (default), client_secret_post,\n"
                 "      private_key_jwt (needs --jwks, a file holding a JWK Set of public keys),\n"
                 "      none (a public client; PKCE is required). ALG: ES256 (default) or RS256.\n"
                 "      --first-party: the client is the operator's own; no consent screen.\n"
                 "  list\n"
                 "      prints every client's configuration as a JSON array (no secrets).\n"
                 "  delete ID\n"
                 "      deletes a client and its grants (codes, refresh tokens, consents).\n"
                 "  first-party ID on|off\n"
                 "      marks a client first-party (consent not asked) or third-party.\n\n"
                 "Exit codes: 0 done, 1 failure (unknown client, database error), 2 usage or\n"
                 "invalid metadata.\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gatehouse: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see gatehouse help client)\n", stderr);
    va_end(ap);
    return 2;
}

static gh_db *cli_open(gh_config *cfg)
{
    char err[512] = "";
    gh_db *db = gh_db_open_store(cfg->database, cfg->database_is_postgres, 1, err, sizeof(err));
    if (!db)
        fprintf(stderr, "gatehouse: %s\n", err);
    return db;
}

static void print_json(json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) {
        puts(text);
        free(text);
    }
    json_decref(doc);
}

static int db_failure(gh_dbrc rc, const char *what, const char *id)
{
    if (rc == GH_DB_NOTFOUND)
        fprintf(stderr, "gatehouse: no client with id \"%.128s\"\n", id);
    else
        fprintf(stderr, "gatehouse: could not %s: %s\n", what, gh_dbrc_str(rc));
    return 1;
}

/* The value of option argv[*i] ("--name VALUE" or "--name=VALUE"), or NULL
 * when argv[*i] is not that option. *missing is set when it has no value. */
static const char *opt(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static json_t *read_json_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "gatehouse: --jwks: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(JWK_TEXT_MAX * 4 + 1);
    size_t n = buf ? fread(buf, 1, JWK_TEXT_MAX * 4, f) : 0;
    bool too_big = buf && n == JWK_TEXT_MAX * 4 && fgetc(f) != EOF;
    fclose(f);
    json_t *doc = NULL;
    char why[160] = "out of memory";
    if (buf && !too_big && gh_json_parse(buf, n, 16, &doc, why, sizeof(why)) != GH_JSON_OK)
        doc = NULL;
    if (!doc)
        fprintf(stderr, "gatehouse: --jwks: %s: %s\n", path,
                too_big ? "the file is too large" : why);
    free(buf);
    return doc;
}

static int cli_create(gh_config *cfg, int argc, char **argv)
{
    json_t *m = json_object();
    json_t *redirects = json_array(), *grants = json_array(), *logouts = json_array();
    bool first_party = false;
    int code = 2;
    for (int i = 0; i < argc; i++) {
        if (!gh_utf8_valid(argv[i], strlen(argv[i]))) {
            usage_error("arguments must be UTF-8 text");
            goto out;
        }
    }
    for (int i = 0; i < argc; i++) {
        bool missing = false;
        const char *v;
        if ((v = opt(argc, argv, &i, "--name", &missing)))
            json_object_set_new(m, "client_name", json_string(v));
        else if ((v = opt(argc, argv, &i, "--redirect-uri", &missing)))
            json_array_append_new(redirects, json_string(v));
        else if ((v = opt(argc, argv, &i, "--grant", &missing)))
            json_array_append_new(grants, json_string(v));
        else if ((v = opt(argc, argv, &i, "--auth", &missing)))
            json_object_set_new(m, "token_endpoint_auth_method", json_string(v));
        else if ((v = opt(argc, argv, &i, "--post-logout-redirect-uri", &missing)))
            json_array_append_new(logouts, json_string(v));
        else if ((v = opt(argc, argv, &i, "--backchannel-logout-uri", &missing)))
            json_object_set_new(m, "backchannel_logout_uri", json_string(v));
        else if ((v = opt(argc, argv, &i, "--id-token-alg", &missing)))
            json_object_set_new(m, "id_token_signed_response_alg", json_string(v));
        else if ((v = opt(argc, argv, &i, "--scope", &missing)))
            json_object_set_new(m, "scope", json_string(v));
        else if ((v = opt(argc, argv, &i, "--jwks", &missing))) {
            json_t *jwks = read_json_file(v);
            if (!jwks)
                goto out;
            json_object_set_new(m, "jwks", jwks);
        } else if (strcmp(argv[i], "--first-party") == 0)
            first_party = true;
        else if (missing) {
            usage_error("%s needs a value", argv[i]);
            goto out;
        } else {
            usage_error("client create: unknown argument \"%.64s\"", argv[i]);
            goto out;
        }
        if (missing) {
            usage_error("%s needs a value", argv[i]);
            goto out;
        }
    }
    const char *name = json_string_value(json_object_get(m, "client_name"));
    if (!name) {
        usage_error("client create needs --name NAME");
        goto out;
    }
    if (json_array_size(redirects) > 0)
        json_object_set(m, "redirect_uris", redirects);
    if (json_array_size(grants) > 0)
        json_object_set(m, "grant_types", grants);
    if (json_array_size(logouts) > 0)
        json_object_set(m, "post_logout_redirect_uris", logouts);

    gh_db *db = cli_open(cfg);
    if (!db) {
        code = 1;
        goto out;
    }
    gh_dbconn *c = gh_db_acquire(db);
    gh_arena *a = gh_arena_new(0);
    gh_client_actor who = {.tenant = GH_DEFAULT_TENANT, .actor = "cli"};
    gh_client_error err;
    json_t *resp = NULL;
    gh_dbrc rc = c && a ? GH_DB_OK : GH_DB_BUSY;
    /* the same rule as /register: only scopes the server knows */
    const char *scope = json_string_value(json_object_get(m, "scope"));
    const char *norm = scope && a ? gh_scope_normalise(a, scope) : NULL;
    if (rc == GH_DB_OK && norm && !gh_resources_scope_known_db(c, a, norm)) {
        err.error = "invalid_client_metadata";
        snprintf(err.description, sizeof(err.description),
                 "scope names a scope this server does not know: register the resource that "
                 "defines it first");
        rc = GH_DB_INVALID;
    }
    if (rc == GH_DB_OK)
        rc = gh_clients_register(c, a, &who, cfg->issuer, m, first_party, &resp, &err);
    if (rc == GH_DB_OK) {
        print_json(resp);
        code = 0;
    } else if (rc == GH_DB_INVALID) {
        fprintf(stderr, "gatehouse: %s: %s\n", err.error, err.description);
        code = 2;
    } else {
        code = db_failure(rc, "register the client", "");
    }
    gh_arena_free(a);
    if (c)
        gh_db_release(c);
    gh_db_close(db);
out:
    json_decref(m);
    json_decref(redirects);
    json_decref(grants);
    json_decref(logouts);
    return code;
}

int gh_clients_command(gh_config *cfg, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : NULL;
    if (!sub)
        return usage_error("client needs a subcommand: create, list, delete or first-party");
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        gh_clients_usage(stdout);
        return 0;
    }
    if (strcmp(sub, "create") == 0)
        return cli_create(cfg, argc - 1, argv + 1);
    bool on = false;
    if (strcmp(sub, "list") == 0) {
        if (argc != 1)
            return usage_error("client list takes no arguments");
    } else if (strcmp(sub, "delete") == 0) {
        if (argc != 2)
            return usage_error("usage: gatehouse client delete ID");
    } else if (strcmp(sub, "first-party") == 0) {
        if (argc != 3 || (strcmp(argv[2], "on") != 0 && strcmp(argv[2], "off") != 0))
            return usage_error("usage: gatehouse client first-party ID on|off");
        on = strcmp(argv[2], "on") == 0;
    } else {
        return usage_error("unknown client subcommand \"%.64s\"", sub);
    }

    gh_db *db = cli_open(cfg);
    if (!db)
        return 1;
    gh_dbconn *c = gh_db_acquire(db);
    gh_arena *a = gh_arena_new(0);
    gh_client_actor who = {.tenant = GH_DEFAULT_TENANT, .actor = "cli"};
    int code = 1;
    if (!c || !a) {
        fprintf(stderr, "gatehouse: the database is busy\n");
    } else if (strcmp(sub, "list") == 0) {
        gh_client *v = NULL;
        size_t n = 0;
        gh_dbrc rc = gh_store_client_list(c, a, GH_DEFAULT_TENANT, &v, &n);
        if (rc == GH_DB_OK) {
            json_t *arr = json_array();
            for (size_t i = 0; i < n; i++) {
                json_array_append_new(arr, gh_client_view(&v[i], cfg->issuer));
                gh_client_release(&v[i]);
            }
            print_json(arr);
            code = 0;
        } else {
            code = db_failure(rc, "list the clients", "");
        }
    } else if (strcmp(sub, "delete") == 0) {
        gh_dbrc rc = gh_clients_delete(c, a, &who, argv[1]);
        if (rc == GH_DB_OK) {
            printf("deleted client %s\n", argv[1]);
            code = 0;
        } else {
            code = db_failure(rc, "delete the client", argv[1]);
        }
    } else {
        gh_dbrc rc = gh_clients_set_first_party(c, a, &who, argv[1], on);
        if (rc == GH_DB_OK) {
            printf("client %s is %s\n", argv[1], on ? "first-party" : "third-party");
            code = 0;
        } else {
            code = db_failure(rc, "change the client", argv[1]);
        }
    }
    gh_arena_free(a);
    if (c)
        gh_db_release(c);
    gh_db_close(db);
    return code;
}
