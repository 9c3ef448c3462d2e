/*
 * gh_client_meta: the rules for OAuth client metadata (RFC 7591 2) and
 * redirect URIs, as pure functions of the JSON document; the clients service
 * (core/gh_clients) stores what passes.
 */
#include "gh_client_meta.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gh_assurance.h"
#include "gh_utf8.h"

enum {
    URI_MAX = 2048,
    URIS_MAX = 32,      /* redirect URIs per list */
    NAME_MAX_CP = 200,  /* client_name, in code points */
    TEXT_MAX = 1024,    /* bytes of any other free-text member */
    SCOPE_MAX = 1024,   /* bytes of the scope member */
    CONTACTS_MAX = 16,  /* entries of contacts */
    JWKS_KEYS_MAX = 16, /* keys in an inline JWK Set */
};

bool gh_client_meta_has(const json_t *list, const char *s)
{
    size_t i;
    json_t *v;
    if (!s)
        return false;
    json_array_foreach(list, i, v)
    {
        const char *t = json_string_value(v);
        if (t && strcmp(t, s) == 0)
            return true;
    }
    return false;
}

/* ---- URI rules ---- */

static bool is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* Characters RFC 3986 allows in a URI (and '%' escapes well formed).
 * Checked by hand before libcurl reads a URI: curl takes bytes RFC 3986
 * does not allow (non-ASCII, '"', '<', '{', bad '%' escapes) in a path,
 * and a stored redirect URI must be one a browser sends back unchanged. */
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

/* Length of the scheme of an absolute URI (RFC 3986 3.1), or 0. Read by
 * hand: libcurl's URL API cannot classify private-use URIs (RFC 8252 7.1):
 * with CURLU_NON_SUPPORT_SCHEME it reads "com.example.app:/cb" as host
 * "cb", refuses "com.example.app:cb" and takes "1app.example:" (a scheme
 * starts with a letter). */
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

/* Classifies s from the scheme, host and port libcurl read in it. The text
 * must be what curl read ("scheme://host[:port]", case aside, then "/", "?",
 * "#" or the end): curl also takes "https:/h", "https:///h", "h:" (no port),
 * "h:0443", "127.1", "[0:0::1]", "[::1%25lo]" and "ex%61mple" and hands back
 * its own spelling, but a redirect URI is compared as text at /authorize, so
 * it must say what it means. */
static web_kind web_classify(const char *s, const char *scheme, const char *host, const char *port)
{
    size_t sl = strlen(scheme), hl = strlen(host);
    bool https = strcmp(scheme, "https") == 0;
    if ((!https && strcmp(scheme, "http") != 0) || hl == 0)
        return WEB_BAD;
    if (strncasecmp(s, scheme, sl) != 0 || strncmp(s + sl, "://", 3) != 0)
        return WEB_BAD;
    const char *h = s + sl + 3, *p = h + hl;
    if (strncasecmp(h, host, hl) != 0)
        return WEB_BAD;
    if (port) {
        size_t pl = strlen(port);
        /* curl takes port 0, which no browser can reach */
        if (*p != ':' || strncmp(p + 1, port, pl) != 0 || strcmp(port, "0") == 0)
            return WEB_BAD;
        p += 1 + pl;
    }
    if (*p != '\0' && !strchr("/?#", *p))
        return WEB_BAD;
    if (https)
        return WEB_HTTPS;
    if ((hl == 9 && strncasecmp(h, "localhost", 9) == 0) ||
        (hl == 9 && strncmp(h, "127.0.0.1", 9) == 0) || (hl == 5 && strncmp(h, "[::1]", 5) == 0))
        return WEB_HTTP_LOOPBACK;
    return WEB_HTTP_OTHER;
}

/* Classifies an http(s) URI by its scheme and host, read with libcurl's URL
 * API. The authority must be present, without userinfo, with a host and a
 * port from 1 to 65535 if any. */
static web_kind web_uri(const char *s)
{
    web_kind k = WEB_BAD;
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *password = NULL;
    CURLU *u = curl_url();
    if (!u || curl_url_set(u, CURLUPART_URL, s, 0) != CURLUE_OK)
        goto out;
    /* userinfo, even empty ("https://@host"): NO_USER and NO_PASSWORD are
     * the only answers taken */
    if (curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER ||
        curl_url_get(u, CURLUPART_PASSWORD, &password, 0) != CURLUE_NO_PASSWORD)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        goto out;
    CURLUcode prc = curl_url_get(u, CURLUPART_PORT, &port, 0);
    if (prc != CURLUE_OK && prc != CURLUE_NO_PORT)
        goto out;
    k = web_classify(s, scheme, host, port);
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(password);
    curl_url_cleanup(u);
    return k;
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
        if (!gh_client_meta_has(out, s))
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
        if (!gh_client_meta_has(out, s))
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
    if (n == 0 || n > GH_CLIENT_JWKS_TEXT_MAX)
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

/* attribute_reasons (progressive profiling, docs/clients.md): {attribute
 * name: why the application needs it}, shown on the profile page; at most
 * 64 members, names as the profile schema spells them, texts of 1-200
 * characters. */
static json_t *attribute_reasons(const json_t *v, gh_client_error *err)
{
    bool ok = json_is_object(v) && json_object_size(v) <= 64;
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)v, k, e)
    {
        size_t n = strlen(k);
        ok = ok && n > 0 && n <= 40 && strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") == n &&
             plain_string(e, TEXT_MAX) && json_string_length(e) > 0 &&
             gh_utf8_count(json_string_value(e), json_string_length(e)) <= 200;
    }
    if (!ok)
        return fail_meta(err, "invalid_client_metadata",
                         "attribute_reasons must map attribute names to texts of 1 to 200 "
                         "characters (at most 64)");
    return json_deep_copy(v);
}

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
    bool has_code = gh_client_meta_has(grants, "authorization_code");
    if (gh_client_meta_has(grants, "refresh_token") && !has_code) {
        fail_meta(err, "invalid_client_metadata",
                  "grant_types: refresh_token is only issued with authorization_code");
        goto bad;
    }
    if (is_public && gh_client_meta_has(grants, "client_credentials")) {
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
    if (gh_client_meta_has(rtypes, "code") != has_code) {
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
    /* organisations (docs/organisations.md): whether /authorize may, or
     * must, be for one of the customer's organisations */
    v = member(in, "organization_usage");
    if (v) {
        const char *s = json_string_value(v);
        if (!s ||
            (strcmp(s, "deny") != 0 && strcmp(s, "allow") != 0 && strcmp(s, "require") != 0)) {
            fail_meta(err, "invalid_client_metadata",
                      "organization_usage must be deny, allow or require");
            goto bad;
        }
        json_object_set_new(out, "organization_usage", json_string(s));
    }
    v = member(in, "attribute_reasons");
    if (v) {
        json_t *reasons = attribute_reasons(v, err);
        if (!reasons)
            goto bad;
        json_object_set_new(out, "attribute_reasons", reasons);
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

bool gh_client_web_uri_valid(const char *uri)
{
    return uri && web_uri_valid(uri);
}
