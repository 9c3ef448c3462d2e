#include "gh_jose.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gh_crypto.h"

/* ---- small helpers ---- */

static bool is_es256(const char *alg)
{
    return alg && strcmp(alg, "ES256") == 0;
}

static bool is_rs256(const char *alg)
{
    return alg && strcmp(alg, "RS256") == 0;
}

static const char *str_member(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

void gh_jose_free_text(char *s, bool secret)
{
    if (!s)
        return;
    if (secret)
        sodium_memzero(s, strlen(s));
    cjose_get_dealloc()(s);
}

/* ---- JWKs ---- */

json_t *gh_jose_public_members(const cjose_jwk_t *jwk)
{
    cjose_err ce;
    char *text = cjose_jwk_to_json(jwk, false, &ce);
    json_t *all = text ? json_loads(text, 0, NULL) : NULL;
    gh_jose_free_text(text, false);
    json_t *out = NULL;
    const char *kty = str_member(all, "kty");
    if (kty && strcmp(kty, "EC") == 0 && str_member(all, "crv") && str_member(all, "x") &&
        str_member(all, "y"))
        out = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", str_member(all, "crv"), "x",
                        str_member(all, "x"), "y", str_member(all, "y"));
    else if (kty && strcmp(kty, "RSA") == 0 && str_member(all, "n") && str_member(all, "e"))
        out = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", str_member(all, "n"), "e",
                        str_member(all, "e"));
    json_decref(all);
    return out;
}

char *gh_jose_thumbprint(gh_arena *a, const json_t *jwk)
{
    /* RFC 7638: the required members only, in lexicographic order, no
     * whitespace. The values are base64url (checked), so need no escaping. */
    const char *kty = str_member(jwk, "kty");
    const char *m[3] = {NULL, NULL, NULL};
    char *canon = NULL;
    if (kty && strcmp(kty, "EC") == 0) {
        m[0] = str_member(jwk, "crv");
        m[1] = str_member(jwk, "x");
        m[2] = str_member(jwk, "y");
        if (!m[0] || !m[1] || !m[2])
            return NULL;
        canon = gh_arena_printf(a, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                                m[0], m[1], m[2]);
    } else if (kty && strcmp(kty, "RSA") == 0) {
        m[0] = str_member(jwk, "e");
        m[1] = str_member(jwk, "n");
        if (!m[0] || !m[1])
            return NULL;
        canon = gh_arena_printf(a, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", m[0], m[1]);
    } else {
        return NULL;
    }
    for (int i = 0; i < 3; i++)
        if (m[i] && (!*m[i] || !gh_b64url_valid(m[i], strlen(m[i])) || strchr(m[i], '"')))
            return NULL;
    if (!canon)
        return NULL;
    uint8_t h[GH_SHA256_BYTES];
    gh_sha256(canon, strlen(canon), h);
    return gh_b64url(a, h, sizeof(h));
}

const char *gh_jose_key_fits(const cjose_jwk_t *jwk, const char *alg, size_t siglen)
{
    cjose_err ce;
    cjose_jwk_kty_t kty = cjose_jwk_get_kty(jwk, &ce);
    if (is_es256(alg)) {
        if (kty != CJOSE_JWK_KTY_EC || cjose_jwk_EC_get_curve(jwk, &ce) != CJOSE_JWK_EC_P_256)
            return "key does not fit alg";
        if (siglen && siglen != 64)
            return "bad signature";
        return NULL;
    }
    if (is_rs256(alg) || (alg && strcmp(alg, "PS256") == 0)) {
        size_t bits = cjose_jwk_get_keysize(jwk, &ce);
        if (kty != CJOSE_JWK_KTY_RSA)
            return "key does not fit alg";
        if (bits < GH_JOSE_RSA_MIN_BITS || bits > GH_JOSE_RSA_MAX_BITS)
            return "RSA key size not accepted";
        if (siglen && siglen != (bits + 7) / 8)
            return "bad signature";
        return NULL;
    }
    return "alg not allowed";
}

/* ---- compact JWS ---- */

int gh_jose_parse(const char *jws, gh_jose_jws *p, const char **why)
{
    const char *scratch = NULL;
    if (!why)
        why = &scratch;
    *why = NULL;
    memset(p, 0, sizeof(*p));
    if (!jws || !*jws) {
        *why = "no token";
        return -1;
    }
    size_t len = strnlen(jws, GH_JOSE_MAX_JWS + 1);
    if (len > GH_JOSE_MAX_JWS) {
        *why = "token too long";
        return -1;
    }
    const char *d1 = memchr(jws, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jws)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jws))) {
        *why = "not a compact JWS";
        return -1;
    }
    size_t hlen = (size_t)(d1 - jws), plen = (size_t)(d2 - d1 - 1),
           slen = len - (size_t)(d2 + 1 - jws);
    if (!hlen || !plen || !gh_b64url_valid(jws, hlen) || !gh_b64url_valid(d1 + 1, plen) ||
        !gh_b64url_valid(d2 + 1, slen)) {
        *why = "malformed token";
        return -1;
    }
    char *hbuf = malloc(hlen);
    size_t hn = 0;
    if (!hbuf || sodium_base642bin((unsigned char *)hbuf, hlen, jws, hlen, NULL, &hn, NULL,
                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
        free(hbuf);
        *why = "malformed header";
        return -1;
    }
    p->hdr = json_loadb(hbuf, hn, JSON_REJECT_DUPLICATES, NULL);
    free(hbuf);
    if (!json_is_object(p->hdr)) {
        json_decref(p->hdr);
        p->hdr = NULL;
        *why = "malformed header";
        return -1;
    }
    p->alg = str_member(p->hdr, "alg");
    json_t *kid = json_object_get(p->hdr, "kid"), *typ = json_object_get(p->hdr, "typ");
    if (!p->alg)
        *why = "no alg";
    else if (strcasecmp(p->alg, "none") == 0)
        *why = "alg none refused";
    else if (json_object_get(p->hdr, "crit"))
        *why = "crit not supported";
    else if ((kid && !json_is_string(kid)) || (typ && !json_is_string(typ)))
        *why = "malformed header";
    else if (!slen)
        *why = "no signature";
    if (!*why) {
        unsigned char sig[GH_JOSE_MAX_SIG];
        if (sodium_base642bin(sig, sizeof(sig), d2 + 1, slen, NULL, &p->siglen, NULL,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
            *why = "bad signature";
    }
    if (*why) {
        json_decref(p->hdr);
        p->hdr = NULL;
        return -1;
    }
    p->kid = json_string_value(kid);
    p->typ = json_string_value(typ);
    p->s = jws;
    p->len = len;
    return 0;
}

json_t *gh_jose_check_signature(const gh_jose_jws *p, const cjose_jwk_t *jwk, const char **why)
{
    const char *scratch = NULL;
    if (!why)
        why = &scratch;
    *why = NULL;
    cjose_err ce;
    cjose_jws_t *jws = cjose_jws_import(p->s, p->len, &ce);
    uint8_t *pt = NULL;
    size_t ptn = 0;
    json_t *out = NULL;
    if (!jws)
        *why = "malformed token";
    else if (!cjose_jws_verify(jws, jwk, &ce))
        *why = "bad signature";
    else if (cjose_jws_get_plaintext(jws, &pt, &ptn, &ce))
        out = json_loadb((const char *)pt, ptn, JSON_REJECT_DUPLICATES, NULL);
    if (jws && !*why && !json_is_object(out)) {
        json_decref(out);
        out = NULL;
        *why = "payload is not a JSON object";
    }
    cjose_jws_release(jws);
    return out;
}

bool gh_jose_typ_matches(const char *got, const char *want)
{
    if (!got) /* our ID tokens are signed without a typ (GH_TYP_ID_TOKEN) */
        return strcmp(want, GH_JOSE_TYP_JWT) == 0;
    if (strcasecmp(got, want) == 0)
        return true;
    return strncasecmp(got, "application/", 12) == 0 && strcasecmp(got + 12, want) == 0;
}

void gh_jose_jws_free(gh_jose_jws *p)
{
    json_decref(p->hdr);
    p->hdr = NULL;
}

/* ---- a client's JWK Set ---- */

bool gh_jose_jwk_suitable(const json_t *jwk, const char *alg)
{
    const char *kty = str_member(jwk, "kty"), *use = str_member(jwk, "use");
    const char *kalg = str_member(jwk, "alg");
    json_t *ops = json_object_get(jwk, "key_ops");
    if (!json_is_object(jwk) || !kty)
        return false;
    if (is_es256(alg)) {
        const char *crv = str_member(jwk, "crv");
        if (strcmp(kty, "EC") != 0 || !crv || strcmp(crv, "P-256") != 0)
            return false;
    } else if (strcmp(kty, "RSA") != 0) {
        return false;
    }
    if (json_object_get(jwk, "use") && (!use || strcmp(use, "sig") != 0))
        return false;
    if (json_object_get(jwk, "alg") && (!kalg || strcmp(kalg, alg) != 0))
        return false;
    if (ops) {
        size_t i;
        json_t *op;
        bool verify = false;
        json_array_foreach(ops, i, op)
        {
            const char *s = json_string_value(op);
            if (s && strcmp(s, "verify") == 0)
                verify = true;
        }
        if (!verify)
            return false;
    }
    return true;
}

json_t *gh_jose_verify_with_jwks(const char *jws, const json_t *jwks, const char **why)
{
    const char *scratch = NULL;
    if (!why)
        why = &scratch;
    *why = NULL;
    gh_jose_jws p;
    if (gh_jose_parse(jws, &p, why) != 0)
        return NULL;
    json_t *out = NULL, *chosen = NULL, *keys = json_object_get(jwks, "keys"), *jk;
    size_t i, found = 0, named = 0;
    cjose_jwk_t *jwk = NULL;
    if (!is_es256(p.alg) && !is_rs256(p.alg) && strcmp(p.alg, "PS256") != 0) {
        *why = "alg not allowed";
        goto out;
    }
    if (!json_is_array(keys)) {
        *why = "no keys";
        goto out;
    }
    json_array_foreach(keys, i, jk)
    {
        const char *kid = str_member(jk, "kid");
        if (p.kid && (!kid || strcmp(kid, p.kid) != 0))
            continue;
        named++;
        if (!gh_jose_jwk_suitable(jk, p.alg))
            continue;
        if (!chosen)
            chosen = jk;
        found++;
    }
    if (!chosen) {
        *why = p.kid && !named ? "unknown kid" : "no suitable key";
        goto out;
    }
    if (found > 1 && !p.kid) {
        *why = "several keys fit: kid needed";
        goto out;
    }
    /* Only the public members reach cjose, whatever else the client sent. */
    const char *m1 = str_member(chosen, is_es256(p.alg) ? "x" : "n");
    const char *m2 = str_member(chosen, is_es256(p.alg) ? "y" : "e");
    if (!m1 || !m2 || !gh_b64url_valid(m1, strlen(m1)) || !gh_b64url_valid(m2, strlen(m2))) {
        *why = "bad key";
        goto out;
    }
    json_t *pub = is_es256(p.alg) ? json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256",
                                              "x", m1, "y", m2)
                                  : json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", m1, "e", m2);
    char *text = pub ? json_dumps(pub, JSON_COMPACT) : NULL;
    json_decref(pub);
    cjose_err ce;
    jwk = text ? cjose_jwk_import(text, strlen(text), &ce) : NULL;
    free(text);
    if (!jwk)
        *why = "bad key";
    else if ((*why = gh_jose_key_fits(jwk, p.alg, p.siglen)) == NULL)
        out = gh_jose_check_signature(&p, jwk, why);
out:
    cjose_jwk_release(jwk);
    gh_jose_jws_free(&p);
    return out;
}
