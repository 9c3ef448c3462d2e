#include "gh_webauthn.h"

#include <cbor.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_crypto.h"
#include "gh_json.h"

/* Bounds on what a browser can send; real values are a few hundred bytes
 * (a packed attestation with its certificate about 1 KiB). */
enum {
    MAX_CLIENT_DATA = 8192,
    MAX_ATTESTATION = 32768,
    MAX_AUTH_DATA = 16384,
    MAX_SIGNATURE = 1024,
    MAX_COSE_KEY = 2048,
    MAX_CBOR_DEPTH = 16, /* attestationObject nests 4 deep; COSE keys 1 */
    MAX_X5C = 8,
    AUTH_DATA_MIN = 37, /* rpIdHash 32, flags 1, signCount 4 */
    AAGUID_BYTES = 16,
    RSA_MIN_BYTES = 256, /* 2048-bit modulus */
    RSA_MAX_BYTES = 512, /* 4096: bounds the cost of one verification */
};

/* COSE_Key labels and values (RFC 9053). */
enum {
    COSE_KTY = 1,
    COSE_ALG = 3,
    COSE_CRV = -1, /* EC2 and OKP */
    COSE_X = -2,
    COSE_Y = -3,
    COSE_N = -1, /* RSA */
    COSE_E = -2,
    COSE_KTY_OKP = 1,
    COSE_KTY_EC2 = 2,
    COSE_KTY_RSA = 3,
    COSE_CRV_P256 = 1,
    COSE_CRV_ED25519 = 6,
};

const char *gh_wa_status_str(gh_wa_status s)
{
    switch (s) {
    case GH_WA_OK:
        return "ok";
    case GH_WA_MALFORMED:
        return "malformed WebAuthn data";
    case GH_WA_TYPE:
        return "wrong ceremony type";
    case GH_WA_CHALLENGE:
        return "challenge mismatch";
    case GH_WA_ORIGIN:
        return "origin mismatch";
    case GH_WA_RP_ID:
        return "RP ID mismatch";
    case GH_WA_NOT_PRESENT:
        return "user not present";
    case GH_WA_NOT_VERIFIED:
        return "user not verified";
    case GH_WA_ALGORITHM:
        return "unsupported key type or algorithm";
    case GH_WA_SIGNATURE:
        return "signature does not verify";
    case GH_WA_ATTESTATION:
        return "attestation does not verify";
    }
    return "unknown WebAuthn status";
}

/* ------------------------------------------------------------ CBOR */

/* Reads one CBOR head at p[*off]: major type, additional info, argument.
 * Indefinite lengths (31) and the reserved values 28-30 are refused. */
static bool cbor_head(const uint8_t *p, size_t n, size_t *off, int *major, uint64_t *arg)
{
    if (*off >= n)
        return false;
    uint8_t b = p[(*off)++];
    int ai = b & 0x1f;
    *major = b >> 5;
    if (ai < 24) {
        *arg = (uint64_t)ai;
        return true;
    }
    if (ai > 27)
        return false;
    size_t len = (size_t)1 << (ai - 24);
    if (n - *off < len)
        return false;
    *arg = 0;
    for (size_t i = 0; i < len; i++)
        *arg = *arg << 8 | p[(*off)++];
    /* a simple value in two bytes must be >= 32 (RFC 8949 3.3) */
    return !(*major == 7 && ai == 24 && *arg < 32);
}

/*
 * Length of the well-formed CBOR item at the start of p[0..n), 0 if there is
 * none. libcbor 0.8 allocates (and zeroes) the slots an array or map header
 * announces before reading a single element, so six bytes claiming 2^28
 * elements would cost gigabytes; this walk runs first and only lets through
 * counts backed by bytes actually present. CTAP2's canonical CBOR has neither
 * indefinite lengths nor tags, so both are refused, and nesting is bounded.
 */
static size_t cbor_item_len(const uint8_t *p, size_t n)
{
    uint64_t left[MAX_CBOR_DEPTH]; /* items still due in each open container */
    int depth = 0;
    size_t off = 0;
    left[0] = 1;
    while (depth >= 0) {
        int major;
        uint64_t arg, items = 0;
        if (!cbor_head(p, n, &off, &major, &arg))
            return 0;
        if (major == 2 || major == 3) {
            if (arg > n - off)
                return 0;
            off += (size_t)arg;
        } else if (major == 4 || major == 5) {
            if (arg > n - off || (major == 5 && arg > (n - off) / 2))
                return 0;
            items = major == 5 ? 2 * arg : arg;
        } else if (major == 6) {
            return 0;
        }
        left[depth]--;
        if (items > 0) {
            if (++depth == MAX_CBOR_DEPTH)
                return 0;
            left[depth] = items;
        }
        while (depth >= 0 && left[depth] == 0)
            depth--;
    }
    return off;
}

/* The first CBOR item of p[0..n) decoded by libcbor, *used its length in
 * bytes (cbor_load's count); NULL when malformed. */
static cbor_item_t *cbor_first(const uint8_t *p, size_t n, size_t *used)
{
    struct cbor_load_result r;
    if (cbor_item_len(p, n) == 0)
        return NULL;
    cbor_item_t *it = cbor_load(p, n, &r);
    if (it && r.error.code != CBOR_ERR_NONE)
        cbor_decref(&it);
    if (it)
        *used = r.read;
    return it;
}

/* All of p[0..n) as exactly one CBOR map; NULL otherwise. */
static cbor_item_t *cbor_whole_map(const uint8_t *p, size_t n)
{
    size_t used = 0;
    cbor_item_t *it = cbor_first(p, n, &used);
    if (it && (used != n || !cbor_isa_map(it) || !cbor_map_is_definite(it)))
        cbor_decref(&it);
    return it;
}

static bool cbor_int(const cbor_item_t *it, int64_t *v)
{
    if (!it || (!cbor_isa_uint(it) && !cbor_isa_negint(it)))
        return false;
    uint64_t u = cbor_get_int(it);
    if (u > INT64_MAX)
        return false;
    *v = cbor_isa_uint(it) ? (int64_t)u : -1 - (int64_t)u;
    return true;
}

static bool cbor_bytes(const cbor_item_t *it, const uint8_t **p, size_t *n)
{
    if (!it || !cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
        return false;
    *p = cbor_bytestring_handle(it);
    *n = cbor_bytestring_length(it);
    return *p != NULL || *n == 0;
}

static bool key_is(const cbor_item_t *key, const char *text, int64_t k)
{
    int64_t v;
    if (!text)
        return cbor_int(key, &v) && v == k;
    size_t len = strlen(text);
    return cbor_isa_string(key) && cbor_string_is_definite(key) && cbor_string_length(key) == len &&
           memcmp(cbor_string_handle(key), text, len) == 0;
}

/* The value under key text (or integer k when text is NULL); NULL when
 * absent or when the key appears twice, which libcbor does not refuse. */
static cbor_item_t *map_get(const cbor_item_t *map, const char *text, int64_t k)
{
    struct cbor_pair *pairs = cbor_map_handle(map);
    cbor_item_t *found = NULL;
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        if (!key_is(pairs[i].key, text, k))
            continue;
        if (found)
            return NULL;
        found = pairs[i].value;
    }
    return found;
}

static bool map_get_int(const cbor_item_t *map, const char *text, int64_t k, int64_t *v)
{
    return cbor_int(map_get(map, text, k), v);
}

/* A byte string value of exactly len bytes (any length when len is 0). */
static const uint8_t *map_get_bytes(const cbor_item_t *map, const char *text, int64_t k, size_t len,
                                    size_t *got)
{
    const uint8_t *p;
    size_t n;
    if (!cbor_bytes(map_get(map, text, k), &p, &n) || (len && n != len))
        return NULL;
    if (got)
        *got = n;
    return p;
}

/* ------------------------------------------------------------ keys */

static EVP_PKEY *ec2_key(const cbor_item_t *m)
{
    const uint8_t *x = map_get_bytes(m, NULL, COSE_X, 32, NULL);
    const uint8_t *y = map_get_bytes(m, NULL, COSE_Y, 32, NULL);
    if (!x || !y)
        return NULL;
    uint8_t point[65] = {0x04}; /* SEC1 uncompressed */
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);
    char group[] = "P-256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    /* fromdata refuses a point that is not on the curve */
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pk = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

static EVP_PKEY *rsa_key(const cbor_item_t *m)
{
    size_t nlen = 0, elen = 0;
    const uint8_t *n = map_get_bytes(m, NULL, COSE_N, 0, &nlen);
    const uint8_t *e = map_get_bytes(m, NULL, COSE_E, 0, &elen);
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    BIGNUM *bn = NULL, *be = NULL;
    if (!n || !e)
        return NULL;
    while (nlen > 0 && *n == 0) { /* the modulus size, not its encoding, counts */
        n++;
        nlen--;
    }
    if (nlen < RSA_MIN_BYTES || nlen > RSA_MAX_BYTES || elen == 0 || elen > 8)
        return NULL;
    bn = BN_bin2bn(n, (int)nlen, NULL);
    be = BN_bin2bn(e, (int)elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (!bn || !be || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pk = NULL;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return pk;
}

static EVP_PKEY *okp_key(const cbor_item_t *m)
{
    const uint8_t *x = map_get_bytes(m, NULL, COSE_X, 32, NULL);
    return x ? EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, x, 32) : NULL;
}

/* COSE_Key bytes to an OpenSSL public key. Only the three pairings of key
 * type, curve and algorithm we support are accepted. */
static gh_wa_status cose_key(const uint8_t *p, size_t n, long *alg, EVP_PKEY **out)
{
    gh_wa_status st = GH_WA_MALFORMED;
    int64_t kty, a, crv = 0;
    *out = NULL;
    cbor_item_t *m = n <= MAX_COSE_KEY ? cbor_whole_map(p, n) : NULL;
    if (!m || !map_get_int(m, NULL, COSE_KTY, &kty) || !map_get_int(m, NULL, COSE_ALG, &a))
        goto out;
    st = GH_WA_ALGORITHM;
    if (kty != COSE_KTY_RSA && !map_get_int(m, NULL, COSE_CRV, &crv))
        goto out;
    if (kty == COSE_KTY_EC2 && crv == COSE_CRV_P256 && a == GH_COSE_ES256)
        *out = ec2_key(m);
    else if (kty == COSE_KTY_RSA && a == GH_COSE_RS256)
        *out = rsa_key(m);
    else if (kty == COSE_KTY_OKP && crv == COSE_CRV_ED25519 && a == GH_COSE_EDDSA)
        *out = okp_key(m);
    else
        goto out;
    /* a supported algorithm whose key material is unusable */
    st = *out ? GH_WA_OK : GH_WA_MALFORMED;
    *alg = (long)a;
out:
    if (m)
        cbor_decref(&m);
    ERR_clear_error();
    return st;
}

/* Verifies a WebAuthn signature: over authData || SHA-256(clientDataJSON),
 * DER ECDSA for ES256, PKCS#1 v1.5 for RS256, raw message for EdDSA. */
static bool verify(EVP_PKEY *key, long alg, const uint8_t *auth, size_t auth_len,
                   const uint8_t cd_hash[GH_SHA256_BYTES], const uint8_t *sig, size_t sig_len)
{
    bool ok = false;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t *msg = malloc(auth_len + GH_SHA256_BYTES);
    if (!ctx || !msg || sig_len == 0 || sig_len > MAX_SIGNATURE)
        goto out;
    memcpy(msg, auth, auth_len);
    memcpy(msg + auth_len, cd_hash, GH_SHA256_BYTES);
    const EVP_MD *md = alg == GH_COSE_EDDSA ? NULL : EVP_sha256();
    if (EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key) != 1)
        goto out;
    if (alg == GH_COSE_RS256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
        goto out;
    ok = EVP_DigestVerify(ctx, sig, sig_len, msg, auth_len + GH_SHA256_BYTES) == 1;
out:
    free(msg);
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* ------------------------------------------------------------ ceremony data */

static bool json_str_is(const json_t *v, const char *want)
{
    return json_string_length(v) == strlen(want) &&
           memcmp(json_string_value(v), want, strlen(want)) == 0;
}

/* The clientDataJSON checks (WebAuthn §7.1 steps 7-10, §7.2 steps 11-14).
 * Challenges are compared in constant time; origins need not be. */
static gh_wa_status check_client_data(const gh_wa_expect *want, const char *type, const uint8_t *cd,
                                      size_t len)
{
    json_t *root = NULL;
    gh_wa_status st = GH_WA_MALFORMED;
    if (!cd || len > MAX_CLIENT_DATA ||
        gh_json_parse((const char *)cd, len, 4, &root, NULL, 0) != GH_JSON_OK ||
        !json_is_object(root))
        goto out;
    json_t *t = json_object_get(root, "type"), *c = json_object_get(root, "challenge");
    json_t *o = json_object_get(root, "origin"), *x = json_object_get(root, "crossOrigin");
    if (!json_is_string(t) || !json_is_string(c) || !json_is_string(o) ||
        (x && !json_is_boolean(x)))
        goto out;
    st = GH_WA_TYPE;
    if (!json_str_is(t, type))
        goto out;
    st = GH_WA_CHALLENGE;
    size_t clen = want->challenge ? strlen(want->challenge) : 0;
    if (clen == 0 || json_string_length(c) != clen ||
        sodium_memcmp(json_string_value(c), want->challenge, clen) != 0)
        goto out;
    st = GH_WA_ORIGIN;
    if (!want->origin || !json_str_is(o, want->origin) || json_is_true(x))
        goto out;
    st = GH_WA_OK;
out:
    json_decref(root);
    return st;
}

typedef struct {
    const uint8_t *rp_id_hash;
    uint8_t flags;
    uint32_t sign_count;
    const uint8_t *aaguid; /* attested credential data; NULL without AT */
    const uint8_t *cred_id;
    size_t cred_id_len;
    const uint8_t *cose_key;
    size_t cose_key_len;
} auth_data;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Splits authenticatorData (§6.1); every byte must belong to a field. */
static bool parse_auth_data(const uint8_t *p, size_t n, auth_data *ad)
{
    memset(ad, 0, sizeof(*ad));
    if (!p || n < AUTH_DATA_MIN || n > MAX_AUTH_DATA)
        return false;
    ad->rp_id_hash = p;
    ad->flags = p[32];
    ad->sign_count = be32(p + 33);
    size_t off = AUTH_DATA_MIN, used = 0;
    if (ad->flags & GH_WA_FLAG_AT) {
        if (n - off < AAGUID_BYTES + 2)
            return false;
        ad->aaguid = p + off;
        off += AAGUID_BYTES;
        ad->cred_id_len = (size_t)p[off] << 8 | p[off + 1];
        off += 2;
        if (ad->cred_id_len == 0 || ad->cred_id_len > GH_WA_MAX_CRED_ID ||
            n - off < ad->cred_id_len)
            return false;
        ad->cred_id = p + off;
        off += ad->cred_id_len;
        /* the key is one CBOR item; its length is only known by decoding it */
        cbor_item_t *key = cbor_first(p + off, n - off, &used);
        bool is_map = key && cbor_isa_map(key);
        if (key)
            cbor_decref(&key);
        if (!is_map)
            return false;
        ad->cose_key = p + off;
        ad->cose_key_len = used;
        off += used;
    }
    if (ad->flags & GH_WA_FLAG_ED) {
        cbor_item_t *ext = cbor_first(p + off, n - off, &used);
        bool is_map = ext && cbor_isa_map(ext);
        if (ext)
            cbor_decref(&ext);
        if (!is_map)
            return false;
        off += used;
    }
    return off == n;
}

/* The authenticatorData checks common to both ceremonies (§7.1 steps
 * 13-16, §7.2 steps 15-18). */
static gh_wa_status check_auth_data(const gh_wa_expect *want, const auth_data *ad)
{
    uint8_t h[GH_SHA256_BYTES];
    if (!want->rp_id)
        return GH_WA_RP_ID;
    gh_sha256(want->rp_id, strlen(want->rp_id), h);
    if (sodium_memcmp(h, ad->rp_id_hash, sizeof(h)) != 0)
        return GH_WA_RP_ID;
    if (!(ad->flags & GH_WA_FLAG_UP))
        return GH_WA_NOT_PRESENT;
    if (want->require_uv && !(ad->flags & GH_WA_FLAG_UV))
        return GH_WA_NOT_VERIFIED;
    /* backed up but not backup eligible is contradictory */
    if ((ad->flags & GH_WA_FLAG_BS) && !(ad->flags & GH_WA_FLAG_BE))
        return GH_WA_MALFORMED;
    return GH_WA_OK;
}

/* ------------------------------------------------------------ attestation */

/* The certificate rules of packed attestation (§8.2.1) short of a trust
 * chain: version 3, not a CA, the required OU, and the id-fido-gen-ce-aaguid
 * extension, when present, equal to the authData AAGUID. */
static bool packed_cert_ok(X509 *cert, const uint8_t *aaguid)
{
    static const char ou[] = "Authenticator Attestation";
    if (X509_get_version(cert) != X509_VERSION_3 || (X509_get_extension_flags(cert) & EXFLAG_CA))
        return false;
    const X509_NAME *name = X509_get_subject_name(cert);
    int i = X509_NAME_get_index_by_NID(name, NID_organizationalUnitName, -1);
    const ASN1_STRING *v = i < 0 ? NULL : X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    if (!v || ASN1_STRING_length(v) != (int)strlen(ou) ||
        memcmp(ASN1_STRING_get0_data(v), ou, strlen(ou)) != 0)
        return false;
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1);
    int at = oid ? X509_get_ext_by_OBJ(cert, oid, -1) : -1;
    ASN1_OBJECT_free(oid);
    if (at < 0)
        return true;
    X509_EXTENSION *ext = X509_get_ext(cert, at);
    const ASN1_OCTET_STRING *d = X509_EXTENSION_get_data(ext);
    const uint8_t *b = ASN1_STRING_get0_data(d);
    /* the value is DER OCTET STRING (04 10) around the 16 bytes */
    return !X509_EXTENSION_get_critical(ext) && ASN1_STRING_length(d) == 2 + AAGUID_BYTES &&
           b[0] == 0x04 && b[1] == AAGUID_BYTES && memcmp(b + 2, aaguid, AAGUID_BYTES) == 0;
}

/* The attestation key of an x5c leaf must suit the statement's alg. */
static bool leaf_key_fits(EVP_PKEY *pk, int64_t alg)
{
    char group[32];
    if (alg == GH_COSE_ES256)
        return EVP_PKEY_is_a(pk, "EC") &&
               EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                              NULL) == 1 &&
               strcmp(group, "prime256v1") == 0;
    if (alg == GH_COSE_RS256)
        return EVP_PKEY_is_a(pk, "RSA") && EVP_PKEY_get_bits(pk) >= 8 * RSA_MIN_BYTES &&
               EVP_PKEY_get_bits(pk) <= 8 * RSA_MAX_BYTES;
    return alg == GH_COSE_EDDSA && EVP_PKEY_is_a(pk, "ED25519");
}

/* Packed attestation (§8.2): with x5c the leaf certificate's key signed,
 * otherwise (self attestation) the credential key itself. */
static gh_wa_status packed(const cbor_item_t *stmt, const auth_data *ad, const uint8_t *auth,
                           size_t auth_len, const uint8_t cd_hash[GH_SHA256_BYTES],
                           EVP_PKEY *cred_key, long cred_alg, bool *attested)
{
    gh_wa_status st = GH_WA_ATTESTATION;
    int64_t alg;
    size_t sig_len = 0, der_len = 0;
    X509 *leaf = NULL;
    const uint8_t *sig = map_get_bytes(stmt, "sig", 0, 0, &sig_len);
    cbor_item_t *x5c = map_get(stmt, "x5c", 0);
    if (!map_get_int(stmt, "alg", 0, &alg) || !sig || cbor_map_size(stmt) != (x5c ? 3u : 2u))
        goto out;
    if (!x5c) {
        if (alg == cred_alg && verify(cred_key, cred_alg, auth, auth_len, cd_hash, sig, sig_len))
            st = GH_WA_OK;
        goto out;
    }
    if (!cbor_isa_array(x5c) || !cbor_array_is_definite(x5c) || cbor_array_size(x5c) == 0 ||
        cbor_array_size(x5c) > MAX_X5C)
        goto out;
    cbor_item_t **certs = cbor_array_handle(x5c);
    const uint8_t *der = NULL;
    for (size_t i = 0; i < cbor_array_size(x5c); i++)
        if (!cbor_bytes(certs[i], &der, &der_len))
            goto out;
    if (!cbor_bytes(certs[0], &der, &der_len)) /* the leaf certificate */
        goto out;
    const uint8_t *cur = der;
    leaf = der_len <= LONG_MAX ? d2i_X509(NULL, &cur, (long)der_len) : NULL;
    if (!leaf || cur != der + der_len || !packed_cert_ok(leaf, ad->aaguid))
        goto out;
    EVP_PKEY *pk = X509_get0_pubkey(leaf);
    if (pk && leaf_key_fits(pk, alg) &&
        verify(pk, (long)alg, auth, auth_len, cd_hash, sig, sig_len)) {
        *attested = true;
        st = GH_WA_OK;
    }
out:
    X509_free(leaf);
    ERR_clear_error();
    return st;
}

/* ------------------------------------------------------------ ceremonies */

static void format_aaguid(const uint8_t *g, char out[37])
{
    char *p = out;
    for (int i = 0; i < AAGUID_BYTES; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        p += snprintf(p, 3, "%02x", g[i]);
    }
    *p = '\0';
}

static uint8_t *arena_copy(gh_arena *a, const uint8_t *p, size_t n)
{
    uint8_t *c = gh_arena_alloc(a, n);
    if (c)
        memcpy(c, p, n);
    return c;
}

gh_wa_status gh_webauthn_register(gh_arena *a, const gh_wa_expect *want, const uint8_t *client_data,
                                  size_t client_data_len, const uint8_t *attestation_object,
                                  size_t attestation_object_len, gh_wa_credential *out)
{
    uint8_t cd_hash[GH_SHA256_BYTES];
    auth_data ad;
    EVP_PKEY *key = NULL;
    cbor_item_t *att = NULL;
    const uint8_t *auth = NULL;
    size_t auth_len = 0;
    long alg = 0;
    memset(out, 0, sizeof(*out));
    gh_wa_status st = check_client_data(want, "webauthn.create", client_data, client_data_len);
    if (st != GH_WA_OK)
        goto out;
    gh_sha256(client_data, client_data_len, cd_hash);

    st = GH_WA_MALFORMED;
    if (!attestation_object || attestation_object_len > MAX_ATTESTATION ||
        !(att = cbor_whole_map(attestation_object, attestation_object_len)))
        goto out;
    cbor_item_t *fmt = map_get(att, "fmt", 0), *stmt = map_get(att, "attStmt", 0);
    auth = map_get_bytes(att, "authData", 0, 0, &auth_len);
    if (!fmt || !cbor_isa_string(fmt) || !cbor_string_is_definite(fmt) || !stmt ||
        !cbor_isa_map(stmt) || !cbor_map_is_definite(stmt) || !auth ||
        !parse_auth_data(auth, auth_len, &ad) || !ad.aaguid)
        goto out;
    if ((st = check_auth_data(want, &ad)) != GH_WA_OK ||
        (st = cose_key(ad.cose_key, ad.cose_key_len, &alg, &key)) != GH_WA_OK)
        goto out;

    st = GH_WA_ATTESTATION;
    if (key_is(fmt, "none", 0) && cbor_map_size(stmt) == 0)
        st = GH_WA_OK;
    else if (key_is(fmt, "packed", 0))
        st = packed(stmt, &ad, auth, auth_len, cd_hash, key, alg, &out->attested);
    if (st != GH_WA_OK)
        goto out;

    /* gh_arena_alloc fails only past the arena's cap: the input was too big */
    st = GH_WA_MALFORMED;
    out->id = arena_copy(a, ad.cred_id, ad.cred_id_len);
    out->cose_key = arena_copy(a, ad.cose_key, ad.cose_key_len);
    if (!out->id || !out->cose_key)
        goto out;
    out->id_len = ad.cred_id_len;
    out->cose_key_len = ad.cose_key_len;
    out->alg = alg;
    out->sign_count = ad.sign_count;
    out->flags = ad.flags;
    format_aaguid(ad.aaguid, out->aaguid);
    memcpy(out->fmt, cbor_string_handle(fmt), cbor_string_length(fmt));
    st = GH_WA_OK;
out:
    if (st != GH_WA_OK)
        memset(out, 0, sizeof(*out));
    EVP_PKEY_free(key);
    if (att)
        cbor_decref(&att);
    return st;
}

gh_wa_status gh_webauthn_assert(const gh_wa_expect *want, const uint8_t *client_data,
                                size_t client_data_len, const uint8_t *auth_data_bytes,
                                size_t auth_data_len, const uint8_t *signature,
                                size_t signature_len, const uint8_t *cose_key_bytes,
                                size_t cose_key_len, gh_wa_assertion *out)
{
    uint8_t cd_hash[GH_SHA256_BYTES];
    auth_data ad;
    EVP_PKEY *key = NULL;
    long alg = 0;
    memset(out, 0, sizeof(*out));
    gh_wa_status st = check_client_data(want, "webauthn.get", client_data, client_data_len);
    if (st != GH_WA_OK)
        goto out;
    st = GH_WA_MALFORMED;
    if (!parse_auth_data(auth_data_bytes, auth_data_len, &ad))
        goto out;
    if ((st = check_auth_data(want, &ad)) != GH_WA_OK ||
        (st = cose_key(cose_key_bytes, cose_key_len, &alg, &key)) != GH_WA_OK)
        goto out;
    gh_sha256(client_data, client_data_len, cd_hash);
    st = GH_WA_SIGNATURE;
    if (!signature ||
        !verify(key, alg, auth_data_bytes, auth_data_len, cd_hash, signature, signature_len))
        goto out;
    out->sign_count = ad.sign_count;
    out->flags = ad.flags;
    st = GH_WA_OK;
out:
    EVP_PKEY_free(key);
    return st;
}

/* libsodium 1.0.18 (Debian 12) decodes bytes >= 0x80 as if they were
 * letters of the alphabet, so the alphabet is checked here first. */
uint8_t *gh_wa_b64url_decode(gh_arena *a, const char *text, size_t max, size_t *len)
{
    size_t n = text ? strlen(text) : 0, pad = 0, bin_len = 0;
    *len = 0;
    if (!text)
        return NULL;
    while (pad < 2 && n > 0 && text[n - 1] == '=') {
        n--;
        pad++;
    }
    /* padding, when present, must complete the last group of four */
    if (pad && (n + pad) % 4 != 0)
        return NULL;
    size_t need = n / 4 * 3 + n % 4 * 3 / 4;
    if (need > max || !gh_b64url_valid(text, n))
        return NULL;
    uint8_t *bin = gh_arena_alloc(a, need + 1);
    if (!bin || sodium_base642bin(bin, need + 1, text, n, NULL, &bin_len, NULL,
                                  sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return NULL;
    *len = bin_len;
    return bin;
}
