#include "gh_fedapple.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_crypto.h"
#include "gh_json.h"

bool gh_fedapple_id_ok(const char *s)
{
    if (!s || strlen(s) != 10)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

/* The private key of pem, or NULL. */
static EVP_PKEY *load_key(const char *pem)
{
    size_t n = pem ? strlen(pem) : 0;
    if (n == 0 || n > GH_FEDAPPLE_PEM_MAX)
        return NULL;
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    /* no passphrase callback: an encrypted key is refused, not prompted for */
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"") : NULL;
    BIO_free(b);
    return k;
}

static bool is_p256(EVP_PKEY *k)
{
    char group[32] = "";
    size_t glen = 0;
    return EVP_PKEY_is_a(k, "EC") && EVP_PKEY_get_group_name(k, group, sizeof(group), &glen) == 1 &&
           (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0);
}

const char *gh_fedapple_key_check(const char *pem)
{
    EVP_PKEY *k = load_key(pem);
    const char *why = !k ? "apple_private_key must be a private key in PEM (the .p8 file)"
                      : !is_p256(k) ? "apple_private_key must be an EC P-256 key"
                                    : NULL;
    EVP_PKEY_free(k);
    return why;
}

/* The raw r || s (64 bytes, JWS ES256) of a DER ECDSA signature. */
static bool raw_signature(const uint8_t *der, size_t n, uint8_t out[64])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)n);
    const BIGNUM *r = NULL, *s = NULL;
    bool ok = false;
    if (sig) {
        ECDSA_SIG_get0(sig, &r, &s);
        ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
    }
    ECDSA_SIG_free(sig);
    return ok;
}

static char *b64_json(gh_arena *a, json_t *j)
{
    char *t = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char *out = t ? gh_b64url(a, (const uint8_t *)t, strlen(t)) : NULL;
    free(t);
    return out;
}

char *gh_fedapple_client_secret(gh_arena *a, const char *team_id, const char *key_id,
                                const char *client_id, const char *pem, long long now)
{
    char *out = NULL;
    uint8_t der[128], raw[64];
    size_t dern = sizeof(der);
    EVP_PKEY *k = load_key(pem);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *hdr =
        b64_json(a, json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid", key_id, "typ", "JWT"));
    char *body =
        b64_json(a, json_pack("{s:s, s:I, s:I, s:s, s:s}", "iss", team_id, "iat", (json_int_t)now,
                              "exp", (json_int_t)(now + GH_FEDAPPLE_SECRET_TTL_S), "aud",
                              GH_FEDAPPLE_AUD, "sub", client_id));
    char *input = hdr && body ? gh_arena_printf(a, "%s.%s", hdr, body) : NULL;
    if (!k || !is_p256(k) || !md || !input)
        goto out;
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
        EVP_DigestSign(md, der, &dern, (const uint8_t *)input, strlen(input)) != 1 ||
        !raw_signature(der, dern, raw))
        goto out;
    out = gh_arena_printf(a, "%s.%s", input, gh_b64url(a, raw, sizeof(raw)));
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    return out;
}

/* The user field as an object, or NULL: it comes from a cross-site POST,
 * so it gets the project's bounds (size, UTF-8, nesting, duplicate keys)
 * before jansson sees it; whatever fails them just gives no names. */
static json_t *user_doc(const char *user_field)
{
    size_t n = user_field ? strnlen(user_field, GH_FEDAPPLE_USER_MAX + 1) : 0;
    json_t *u = NULL;
    if (n == 0 || n > GH_FEDAPPLE_USER_MAX ||
        gh_json_parse(user_field, n, GH_FEDAPPLE_USER_DEPTH, &u, NULL, 0) != GH_JSON_OK)
        return NULL;
    if (!json_is_object(u)) {
        json_decref(u);
        return NULL;
    }
    return u;
}

void gh_fedapple_user_names(const char *user_field, json_t *claims)
{
    json_t *u = user_doc(user_field);
    json_t *name = json_object_get(u, "name");
    const char *first = json_string_value(json_object_get(name, "firstName"));
    const char *last = json_string_value(json_object_get(name, "lastName"));
    if (first && *first && strlen(first) <= 100 && !json_object_get(claims, "given_name"))
        json_object_set_new(claims, "given_name", json_string(first));
    if (last && *last && strlen(last) <= 100 && !json_object_get(claims, "family_name"))
        json_object_set_new(claims, "family_name", json_string(last));
    if ((first || last) && !json_object_get(claims, "name")) {
        char full[256];
        snprintf(full, sizeof(full), "%s%s%s", first ? first : "", first && last ? " " : "",
                 last ? last : "");
        if (full[0] && strlen(full) <= 200)
            json_object_set_new(claims, "name", json_string(full));
    }
    json_decref(u);
}
