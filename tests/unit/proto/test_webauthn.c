/*
 * Unit tests for gh_webauthn: the relying-party checks of registration and
 * authentication. Real ceremonies come from tests/unit/fixtures/webauthn.json
 * (captured from Chromium's virtual authenticator by
 * tools/capture-webauthn.mjs); the cases a browser will not produce (self
 * attestation, extension data, contradictory flags, off-curve keys) are
 * built here with OpenSSL and libcbor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cbor.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_crypto.h"
#include "gh_webauthn.h"

static json_t *fixture;

/* The fixture sits next to this file. Meson compiles from the build
 * directory and meson test runs there, so a relative __FILE__ still works;
 * GH_WEBAUTHN_FIXTURE overrides it. */
static json_t *load_fixture(void)
{
    const char *env = getenv("GH_WEBAUTHN_FIXTURE");
    char path[4096];
    if (env) {
        snprintf(path, sizeof(path), "%s", env);
    } else {
        const char *slash = strrchr(__FILE__, '/');
        int dir = slash ? (int)(slash - __FILE__ + 1) : 0;
        snprintf(path, sizeof(path), "%.*s../fixtures/webauthn.json", dir, __FILE__);
    }
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fprintf(stderr, "cannot load %s: %s\n", path, err.text);
    return j;
}

static const char *fx(const char *section, const char *name, const char *field)
{
    const char *v = json_string_value(
        json_object_get(json_object_get(json_object_get(fixture, section), name), field));
    assert_non_null(v);
    return v;
}

static uint8_t *fxbin(gh_arena *a, const char *section, const char *name, const char *field,
                      size_t *len)
{
    uint8_t *b = gh_wa_b64url_decode(a, fx(section, name, field), 65536, len);
    assert_non_null(b);
    return b;
}

static gh_wa_expect expect(const char *section, const char *name)
{
    gh_wa_expect w = {
        .rp_id = json_string_value(json_object_get(fixture, "rp_id")),
        .origin = json_string_value(json_object_get(fixture, "origin")),
        .challenge = fx(section, name, "challenge"),
        .require_uv = true,
    };
    return w;
}

/* Registers a fixture credential; the result lives in a. */
static gh_wa_status reg(gh_arena *a, const char *name, const gh_wa_expect *w, gh_wa_credential *c)
{
    size_t cd_len, att_len;
    uint8_t *cd = fxbin(a, "registrations", name, "clientDataJSON", &cd_len);
    uint8_t *att = fxbin(a, "registrations", name, "attestationObject", &att_len);
    return gh_webauthn_register(a, w, cd, cd_len, att, att_len, c);
}

typedef struct {
    uint8_t *cd, *auth, *sig;
    size_t cd_len, auth_len, sig_len;
    gh_wa_credential cred;
} fx_assertion;

/* Loads a fixture assertion and registers the credential it belongs to. */
static void load_assertion(gh_arena *a, const char *name, fx_assertion *x)
{
    const char *r = fx("assertions", name, "registration");
    gh_wa_expect w = expect("registrations", r);
    assert_int_equal(reg(a, r, &w, &x->cred), GH_WA_OK);
    x->cd = fxbin(a, "assertions", name, "clientDataJSON", &x->cd_len);
    x->auth = fxbin(a, "assertions", name, "authenticatorData", &x->auth_len);
    x->sig = fxbin(a, "assertions", name, "signature", &x->sig_len);
}

static gh_wa_status assert_x(const gh_wa_expect *w, const fx_assertion *x, gh_wa_assertion *out)
{
    return gh_webauthn_assert(w, x->cd, x->cd_len, x->auth, x->auth_len, x->sig, x->sig_len,
                              x->cred.cose_key, x->cred.cose_key_len, out);
}

/* ------------------------------------------------------------ synthesis */

typedef struct {
    EVP_PKEY *pk;
    long alg;
    uint8_t *cose; /* malloc */
    size_t cose_len;
} test_key;

static cbor_item_t *cint(long v)
{
    if (v >= 0)
        return v < 256 ? cbor_build_uint8((uint8_t)v) : cbor_build_uint16((uint16_t)v);
    return -1 - v < 256 ? cbor_build_negint8((uint8_t)(-1 - v))
                        : cbor_build_negint16((uint16_t)(-1 - v));
}

static void put(cbor_item_t *map, cbor_item_t *k, cbor_item_t *v)
{
    assert_true(cbor_map_add(map, (struct cbor_pair){.key = cbor_move(k), .value = cbor_move(v)}));
}

static uint8_t *serialize(cbor_item_t *it, size_t *len)
{
    uint8_t *buf = NULL;
    size_t cap = 0;
    *len = cbor_serialize_alloc(it, &buf, &cap);
    assert_true(*len > 0);
    cbor_decref(&it);
    return buf;
}

/* A new key pair and its COSE_Key; crv_override != 0 replaces the curve. */
static void make_key(test_key *k, long alg, long crv_override)
{
    uint8_t buf[600];
    size_t len = sizeof(buf);
    cbor_item_t *m = cbor_new_definite_map(5);
    k->alg = alg;
    if (alg == GH_COSE_ES256) {
        k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        assert_int_equal(
            EVP_PKEY_get_octet_string_param(k->pk, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof(buf), &len),
            1);
        assert_int_equal(len, 65);
        put(m, cint(1), cint(2));
        put(m, cint(3), cint(alg));
        put(m, cint(-1), cint(crv_override ? crv_override : 1));
        put(m, cint(-2), cbor_build_bytestring(buf + 1, 32));
        put(m, cint(-3), cbor_build_bytestring(buf + 33, 32));
    } else if (alg == GH_COSE_RS256) {
        BIGNUM *n = NULL, *e = NULL;
        uint8_t eb[8];
        k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        assert_int_equal(EVP_PKEY_get_bn_param(k->pk, OSSL_PKEY_PARAM_RSA_N, &n), 1);
        assert_int_equal(EVP_PKEY_get_bn_param(k->pk, OSSL_PKEY_PARAM_RSA_E, &e), 1);
        int nl = BN_bn2bin(n, buf), el = BN_bn2bin(e, eb);
        put(m, cint(1), cint(3));
        put(m, cint(3), cint(alg));
        put(m, cint(-1), cbor_build_bytestring(buf, (size_t)nl));
        put(m, cint(-2), cbor_build_bytestring(eb, (size_t)el));
        BN_free(n);
        BN_free(e);
    } else {
        k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        assert_int_equal(EVP_PKEY_get_raw_public_key(k->pk, buf, &len), 1);
        put(m, cint(1), cint(1));
        put(m, cint(3), cint(alg));
        put(m, cint(-1), cint(crv_override ? crv_override : 6));
        put(m, cint(-2), cbor_build_bytestring(buf, len));
    }
    assert_non_null(k->pk);
    k->cose = serialize(m, &k->cose_len);
}

static void free_key(test_key *k)
{
    EVP_PKEY_free(k->pk);
    free(k->cose);
}

/* authenticatorData: with attested credential data when k is given, then
 * ext[0..ext_len) as extension bytes (the flags are the caller's). */
static size_t make_auth(uint8_t *out, const char *rp_id, uint8_t flags, uint32_t count,
                        const test_key *k, const uint8_t *ext, size_t ext_len)
{
    size_t n = 0;
    gh_sha256(rp_id, strlen(rp_id), out);
    n = 32;
    out[n++] = flags;
    for (int i = 3; i >= 0; i--)
        out[n++] = (uint8_t)(count >> (8 * i));
    if (k) {
        for (int i = 0; i < 16; i++)
            out[n++] = (uint8_t)(0xa0 + i); /* aaguid a0a1a2a3-... */
        out[n++] = 0;
        out[n++] = 20; /* credential id: 20 bytes of 0x11 */
        memset(out + n, 0x11, 20);
        n += 20;
        memcpy(out + n, k->cose, k->cose_len);
        n += k->cose_len;
    }
    if (ext_len)
        memcpy(out + n, ext, ext_len);
    return n + ext_len;
}

static size_t sign(const test_key *k, const uint8_t *auth, size_t auth_len, const char *cd,
                   uint8_t *sig)
{
    uint8_t msg[4096];
    size_t len = 512;
    memcpy(msg, auth, auth_len);
    gh_sha256(cd, strlen(cd), msg + auth_len);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(
        EVP_DigestSignInit(ctx, NULL, k->alg == GH_COSE_EDDSA ? NULL : EVP_sha256(), NULL, k->pk),
        1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &len, msg, auth_len + 32), 1);
    EVP_MD_CTX_free(ctx);
    return len;
}

static const char *SYN_ORIGIN = "https://id.example.com";
static const char *SYN_RP = "id.example.com";
static const char *SYN_CHALLENGE = "c3ludGhldGljLWNoYWxsZW5nZS0wMDAwMDAwMDAwMDA";

static char *client_data(gh_arena *a, const char *type, const char *extra)
{
    return gh_arena_printf(a, "{\"type\":\"%s\",\"challenge\":\"%s\",\"origin\":\"%s\"%s}", type,
                           SYN_CHALLENGE, SYN_ORIGIN, extra);
}

static gh_wa_expect syn_expect(void)
{
    gh_wa_expect w = {
        .rp_id = SYN_RP, .origin = SYN_ORIGIN, .challenge = SYN_CHALLENGE, .require_uv = true};
    return w;
}

/* An attestationObject {fmt, attStmt, authData}; stmt is consumed. */
static uint8_t *make_att(const char *fmt, cbor_item_t *stmt, const uint8_t *auth, size_t auth_len,
                         size_t *len)
{
    cbor_item_t *m = cbor_new_definite_map(3);
    put(m, cbor_build_string("fmt"), cbor_build_string(fmt));
    put(m, cbor_build_string("attStmt"), stmt);
    put(m, cbor_build_string("authData"), cbor_build_bytestring(auth, auth_len));
    return serialize(m, len);
}

static gh_wa_status syn_register(gh_arena *a, const gh_wa_expect *w, const char *cd,
                                 const char *fmt, cbor_item_t *stmt, const uint8_t *auth,
                                 size_t auth_len, gh_wa_credential *c)
{
    size_t att_len;
    uint8_t *att = make_att(fmt, stmt, auth, auth_len, &att_len);
    gh_wa_status st = gh_webauthn_register(a, w, (const uint8_t *)cd, strlen(cd), att, att_len, c);
    free(att);
    return st;
}

/* ------------------------------------------------------------ fixture ceremonies */

static void register_none(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    gh_wa_expect w = expect("registrations", "es256_none");
    gh_wa_credential c;
    assert_int_equal(reg(a, "es256_none", &w, &c), GH_WA_OK);
    size_t id_len;
    uint8_t *id = fxbin(a, "registrations", "es256_none", "credentialId", &id_len);
    assert_int_equal(c.id_len, id_len);
    assert_memory_equal(c.id, id, id_len);
    assert_int_equal(c.alg, GH_COSE_ES256);
    assert_int_equal(c.flags & (GH_WA_FLAG_UP | GH_WA_FLAG_UV | GH_WA_FLAG_AT),
                     GH_WA_FLAG_UP | GH_WA_FLAG_UV | GH_WA_FLAG_AT);
    assert_string_equal(c.aaguid, "01020304-0506-0708-0102-030405060708");
    assert_string_equal(c.fmt, "none");
    assert_false(c.attested);
    assert_int_equal(c.sign_count, 1);
    assert_true(c.cose_key_len > 64);

    /* without user verification required it passes all the same */
    w.require_uv = false;
    assert_int_equal(reg(a, "es256_none", &w, &c), GH_WA_OK);
    gh_arena_free(a);
}

static void register_packed(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    gh_wa_expect w = expect("registrations", "es256_packed");
    gh_wa_credential c;
    assert_int_equal(reg(a, "es256_packed", &w, &c), GH_WA_OK);
    assert_string_equal(c.fmt, "packed");
    assert_true(c.attested); /* Chromium's virtual authenticator sends an x5c */
    assert_int_equal(c.alg, GH_COSE_ES256);
    gh_arena_free(a);
}

static void register_rs256_eddsa(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    gh_wa_credential c;
    gh_wa_expect w = expect("registrations", "rs256_none");
    assert_int_equal(reg(a, "rs256_none", &w, &c), GH_WA_OK);
    assert_int_equal(c.alg, GH_COSE_RS256);
    w = expect("registrations", "eddsa_none");
    assert_int_equal(reg(a, "eddsa_none", &w, &c), GH_WA_OK);
    assert_int_equal(c.alg, GH_COSE_EDDSA);
    gh_arena_free(a);
}

static void assertions(void **state)
{
    (void)state;
    static const char *names[] = {"es256", "es256_again", "es256_packed", "rs256", "eddsa"};
    static const uint32_t counts[] = {2, 3, 2, 2, 2};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        gh_arena *a = gh_arena_new(0);
        fx_assertion x;
        gh_wa_assertion out;
        load_assertion(a, names[i], &x);
        gh_wa_expect w = expect("assertions", names[i]);
        assert_int_equal(assert_x(&w, &x, &out), GH_WA_OK);
        assert_int_equal(out.sign_count, counts[i]);
        assert_int_equal(out.flags, GH_WA_FLAG_UP | GH_WA_FLAG_UV);
        gh_arena_free(a);
    }
}

static void mismatches(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    gh_wa_credential c;
    gh_wa_assertion out;
    fx_assertion x;
    load_assertion(a, "es256", &x);

    gh_wa_expect w = expect("registrations", "es256_none");
    w.challenge = fx("registrations", "es256_packed", "challenge");
    assert_int_equal(reg(a, "es256_none", &w, &c), GH_WA_CHALLENGE);
    w = expect("assertions", "es256");
    w.challenge = fx("assertions", "es256_again", "challenge");
    assert_int_equal(assert_x(&w, &x, &out), GH_WA_CHALLENGE);
    w.challenge = "";
    assert_int_equal(assert_x(&w, &x, &out), GH_WA_CHALLENGE);

    w = expect("registrations", "es256_none");
    w.origin = "http://evil.example";
    assert_int_equal(reg(a, "es256_none", &w, &c), GH_WA_ORIGIN);
    w = expect("assertions", "es256");
    w.origin = "http://evil.example";
    assert_int_equal(assert_x(&w, &x, &out), GH_WA_ORIGIN);

    w = expect("registrations", "es256_none");
    w.rp_id = "example.com";
    assert_int_equal(reg(a, "es256_none", &w, &c), GH_WA_RP_ID);
    w = expect("assertions", "es256");
    w.rp_id = "localhost.";
    assert_int_equal(assert_x(&w, &x, &out), GH_WA_RP_ID);

    /* a registration's clientData offered as an assertion's, and back */
    w = expect("registrations", "es256_none");
    fx_assertion y = x;
    y.cd = fxbin(a, "registrations", "es256_none", "clientDataJSON", &y.cd_len);
    assert_int_equal(assert_x(&w, &y, &out), GH_WA_TYPE);
    size_t att_len;
    uint8_t *att = fxbin(a, "registrations", "es256_none", "attestationObject", &att_len);
    w = expect("assertions", "es256");
    assert_int_equal(gh_webauthn_register(a, &w, x.cd, x.cd_len, att, att_len, &c), GH_WA_TYPE);
    assert_null(c.id);
    gh_arena_free(a);
}

static void signatures(void **state)
{
    (void)state;
    static const char *names[] = {"es256", "rs256", "eddsa"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        gh_arena *a = gh_arena_new(0);
        fx_assertion x;
        gh_wa_assertion out;
        load_assertion(a, names[i], &x);
        gh_wa_expect w = expect("assertions", names[i]);
        x.sig[x.sig_len / 2] ^= 0x01;
        assert_int_equal(assert_x(&w, &x, &out), GH_WA_SIGNATURE);
        x.sig[x.sig_len / 2] ^= 0x01;
        x.auth[36] ^= 0x01; /* the sign count */
        assert_int_equal(assert_x(&w, &x, &out), GH_WA_SIGNATURE);
        x.auth[36] ^= 0x01;
        assert_int_equal(gh_webauthn_assert(&w, x.cd, x.cd_len, x.auth, x.auth_len, x.sig, 0,
                                            x.cred.cose_key, x.cred.cose_key_len, &out),
                         GH_WA_SIGNATURE);
        /* another credential's key */
        gh_wa_credential other;
        gh_wa_expect rw = expect("registrations", "es256_packed");
        assert_int_equal(reg(a, "es256_packed", &rw, &other), GH_WA_OK);
        assert_int_equal(gh_webauthn_assert(&w, x.cd, x.cd_len, x.auth, x.auth_len, x.sig,
                                            x.sig_len, other.cose_key, other.cose_key_len, &out),
                         GH_WA_SIGNATURE);
        assert_int_equal(assert_x(&w, &x, &out), GH_WA_OK);
        gh_arena_free(a);
    }
}

static void flags(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    fx_assertion x;
    gh_wa_assertion out;
    load_assertion(a, "es256", &x);
    gh_wa_expect w = expect("assertions", "es256");
    x.auth[32] = GH_WA_FLAG_UP; /* UV cleared: checked before the signature */
    assert_int_equal(assert_x(&w, &x, &out), GH_WA_NOT_VERIFIED);
    w.require_uv = false;
    assert_int_equal(assert_x(&w, &x, &out), GH_WA_SIGNATURE);
    x.auth[32] = GH_WA_FLAG_UV;
    assert_int_equal(assert_x(&w, &x, &out), GH_WA_NOT_PRESENT);
    x.auth[32] = GH_WA_FLAG_UP | GH_WA_FLAG_UV | GH_WA_FLAG_BS; /* BS without BE */
    assert_int_equal(assert_x(&w, &x, &out), GH_WA_MALFORMED);
    x.auth[32] = GH_WA_FLAG_UP | GH_WA_FLAG_UV | GH_WA_FLAG_AT; /* AT with nothing after */
    assert_int_equal(assert_x(&w, &x, &out), GH_WA_MALFORMED);
    x.auth[32] = GH_WA_FLAG_UP | GH_WA_FLAG_UV | GH_WA_FLAG_ED; /* ED with nothing after */
    assert_int_equal(assert_x(&w, &x, &out), GH_WA_MALFORMED);
    gh_arena_free(a);
}

static void truncated(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    gh_wa_credential c;
    gh_wa_assertion out;
    fx_assertion x;
    load_assertion(a, "es256", &x);
    gh_wa_expect w = expect("assertions", "es256");
    for (size_t n = 0; n < x.auth_len; n++)
        assert_int_equal(gh_webauthn_assert(&w, x.cd, x.cd_len, x.auth, n, x.sig, x.sig_len,
                                            x.cred.cose_key, x.cred.cose_key_len, &out),
                         GH_WA_MALFORMED);
    /* one byte too many is as bad as one too few */
    uint8_t longer[64];
    memcpy(longer, x.auth, x.auth_len);
    longer[x.auth_len] = 0;
    assert_int_equal(gh_webauthn_assert(&w, x.cd, x.cd_len, longer, x.auth_len + 1, x.sig,
                                        x.sig_len, x.cred.cose_key, x.cred.cose_key_len, &out),
                     GH_WA_MALFORMED);
    for (size_t n = 0; n < x.cred.cose_key_len; n++)
        assert_int_equal(gh_webauthn_assert(&w, x.cd, x.cd_len, x.auth, x.auth_len, x.sig,
                                            x.sig_len, x.cred.cose_key, n, &out),
                         GH_WA_MALFORMED);

    static const char *regs[] = {"es256_none", "es256_packed"};
    for (size_t r = 0; r < 2; r++) {
        size_t cd_len, att_len;
        uint8_t *cd = fxbin(a, "registrations", regs[r], "clientDataJSON", &cd_len);
        uint8_t *att = fxbin(a, "registrations", regs[r], "attestationObject", &att_len);
        w = expect("registrations", regs[r]);
        for (size_t n = 0; n < att_len; n++)
            assert_int_equal(gh_webauthn_register(a, &w, cd, cd_len, att, n, &c), GH_WA_MALFORMED);
        for (size_t n = 0; n < cd_len; n++)
            assert_int_equal(gh_webauthn_register(a, &w, cd, n, att, att_len, &c), GH_WA_MALFORMED);
        assert_int_equal(gh_webauthn_register(a, &w, cd, cd_len, att, att_len, &c), GH_WA_OK);
    }
    gh_arena_free(a);
}

static void garbage(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    gh_wa_credential c;
    size_t cd_len, att_len;
    gh_wa_expect w = expect("registrations", "es256_none");
    uint8_t *cd = fxbin(a, "registrations", "es256_none", "clientDataJSON", &cd_len);
    uint8_t *att = fxbin(a, "registrations", "es256_none", "attestationObject", &att_len);
    static const struct {
        const char *what;
        size_t len;
        const uint8_t bytes[16];
    } bad[] = {
        {"not CBOR at all", 5, "hello"},
        {"a break byte", 1, {0xff}},
        {"reserved additional info", 1, {0xbc}},
        {"an array, not a map", 1, {0x80}},
        {"2^32 array elements announced", 6, {0x9b, 0, 0, 0, 1, 0}},
        {"2^60 map pairs announced", 9, {0xbb, 0x10, 0, 0, 0, 0, 0, 0, 0}},
        {"a byte string longer than the input", 3, {0x59, 0xff, 0xff}},
        {"an indefinite map", 2, {0xbf, 0xff}},
        {"a tag", 3, {0xc1, 0xa0}},
        {"deep nesting",
         16,
         {0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81,
          0x81}},
        {"an empty map", 1, {0xa0}},
        {"a map, then more", 2, {0xa0, 0x00}},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        print_message("%s\n", bad[i].what);
        assert_int_equal(gh_webauthn_register(a, &w, cd, cd_len, bad[i].bytes, bad[i].len, &c),
                         GH_WA_MALFORMED);
    }
    uint8_t *longer = gh_arena_alloc(a, att_len + 1);
    memcpy(longer, att, att_len);
    assert_int_equal(gh_webauthn_register(a, &w, cd, cd_len, longer, att_len + 1, &c),
                     GH_WA_MALFORMED);

    static const char *bad_cd[] = {
        "[]",
        "not json",
        "{\"type\":\"webauthn.create\",\"challenge\":1,\"origin\":\"x\"}",
        "{\"type\":\"webauthn.create\",\"challenge\":\"x\",\"origin\":\"x\",\"crossOrigin\":0}",
        "{\"type\":\"webauthn.create\",\"type\":\"webauthn.create\"}",
        "{\"type\":\"webauthn.create\xff\"}",
        "",
    };
    for (size_t i = 0; i < sizeof(bad_cd) / sizeof(*bad_cd); i++)
        assert_int_equal(gh_webauthn_register(a, &w, (const uint8_t *)bad_cd[i], strlen(bad_cd[i]),
                                              att, att_len, &c),
                         GH_WA_MALFORMED);
    assert_int_equal(gh_webauthn_register(a, &w, NULL, 0, att, att_len, &c), GH_WA_MALFORMED);
    assert_int_equal(gh_webauthn_register(a, &w, cd, cd_len, NULL, 0, &c), GH_WA_MALFORMED);
    gh_arena_free(a);
}

/* ------------------------------------------------------------ synthesized ceremonies */

/* RS256 and Ed25519 assertions built with OpenSSL, besides the captured ones. */
static void synthesized_assertions(void **state)
{
    (void)state;
    static const long algs[] = {GH_COSE_ES256, GH_COSE_RS256, GH_COSE_EDDSA};
    for (size_t i = 0; i < 3; i++) {
        gh_arena *a = gh_arena_new(0);
        test_key k;
        uint8_t auth[64], sig[512];
        gh_wa_assertion out;
        gh_wa_expect w = syn_expect();
        make_key(&k, algs[i], 0);
        size_t auth_len = make_auth(auth, SYN_RP, 0x05, 77, NULL, NULL, 0);
        char *cd = client_data(a, "webauthn.get", "");
        size_t sig_len = sign(&k, auth, auth_len, cd, sig);
        assert_int_equal(gh_webauthn_assert(&w, (const uint8_t *)cd, strlen(cd), auth, auth_len,
                                            sig, sig_len, k.cose, k.cose_len, &out),
                         GH_WA_OK);
        assert_int_equal(out.sign_count, 77);
        /* crossOrigin true is refused, false accepted */
        cd = client_data(a, "webauthn.get", ",\"crossOrigin\":true");
        sig_len = sign(&k, auth, auth_len, cd, sig);
        assert_int_equal(gh_webauthn_assert(&w, (const uint8_t *)cd, strlen(cd), auth, auth_len,
                                            sig, sig_len, k.cose, k.cose_len, &out),
                         GH_WA_ORIGIN);
        cd = client_data(a, "webauthn.get", ",\"crossOrigin\":false,\"other\":\"x\"");
        sig_len = sign(&k, auth, auth_len, cd, sig);
        assert_int_equal(gh_webauthn_assert(&w, (const uint8_t *)cd, strlen(cd), auth, auth_len,
                                            sig, sig_len, k.cose, k.cose_len, &out),
                         GH_WA_OK);
        free_key(&k);
        gh_arena_free(a);
    }
}

/* Packed self attestation, extension data, and attestation statements that
 * must be refused. */
static void synthesized_registrations(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    gh_wa_expect w = syn_expect();
    gh_wa_credential c;
    test_key k;
    uint8_t auth[1024], sig[512];
    make_key(&k, GH_COSE_ES256, 0);
    char *cd = client_data(a, "webauthn.create", "");
    size_t auth_len = make_auth(auth, SYN_RP, 0x45, 0, &k, NULL, 0);
    size_t sig_len = sign(&k, auth, auth_len, cd, sig);

    cbor_item_t *stmt = cbor_new_definite_map(2);
    put(stmt, cbor_build_string("alg"), cint(GH_COSE_ES256));
    put(stmt, cbor_build_string("sig"), cbor_build_bytestring(sig, sig_len));
    assert_int_equal(syn_register(a, &w, cd, "packed", stmt, auth, auth_len, &c), GH_WA_OK);
    assert_string_equal(c.fmt, "packed");
    assert_false(c.attested);
    assert_string_equal(c.aaguid, "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");
    assert_int_equal(c.id_len, 20);
    assert_int_equal(c.sign_count, 0);
    assert_int_equal(c.cose_key_len, k.cose_len);
    assert_memory_equal(c.cose_key, k.cose, k.cose_len);

    /* self attestation under another alg than the key's */
    stmt = cbor_new_definite_map(2);
    put(stmt, cbor_build_string("alg"), cint(GH_COSE_RS256));
    put(stmt, cbor_build_string("sig"), cbor_build_bytestring(sig, sig_len));
    assert_int_equal(syn_register(a, &w, cd, "packed", stmt, auth, auth_len, &c),
                     GH_WA_ATTESTATION);
    /* a wrong signature */
    sig[10] ^= 1;
    stmt = cbor_new_definite_map(2);
    put(stmt, cbor_build_string("alg"), cint(GH_COSE_ES256));
    put(stmt, cbor_build_string("sig"), cbor_build_bytestring(sig, sig_len));
    assert_int_equal(syn_register(a, &w, cd, "packed", stmt, auth, auth_len, &c),
                     GH_WA_ATTESTATION);
    /* an unknown format, and "none" with a statement */
    assert_int_equal(syn_register(a, &w, cd, "tpm", cbor_new_definite_map(0), auth, auth_len, &c),
                     GH_WA_ATTESTATION);
    stmt = cbor_new_definite_map(1);
    put(stmt, cbor_build_string("alg"), cint(GH_COSE_ES256));
    assert_int_equal(syn_register(a, &w, cd, "none", stmt, auth, auth_len, &c), GH_WA_ATTESTATION);
    assert_int_equal(
        syn_register(a, &w, cd, "none", cbor_new_definite_array(0), auth, auth_len, &c),
        GH_WA_MALFORMED);

    /* extension data after the key: {"credProtect": 2} */
    static const uint8_t ext[] = {0xa1, 0x6b, 'c', 'r', 'e', 'd', 'P',
                                  'r',  'o',  't', 'e', 'c', 't', 0x02};
    auth_len = make_auth(auth, SYN_RP, 0xc5, 9, &k, ext, sizeof(ext));
    assert_int_equal(syn_register(a, &w, cd, "none", cbor_new_definite_map(0), auth, auth_len, &c),
                     GH_WA_OK);
    assert_int_equal(c.flags, 0xc5);
    assert_int_equal(c.sign_count, 9);
    assert_int_equal(c.cose_key_len, k.cose_len);
    /* the same bytes without ED: trailing garbage */
    auth_len = make_auth(auth, SYN_RP, 0x45, 9, &k, ext, sizeof(ext));
    assert_int_equal(syn_register(a, &w, cd, "none", cbor_new_definite_map(0), auth, auth_len, &c),
                     GH_WA_MALFORMED);
    /* no attested credential data in a registration */
    auth_len = make_auth(auth, SYN_RP, 0x05, 9, NULL, NULL, 0);
    assert_int_equal(syn_register(a, &w, cd, "none", cbor_new_definite_map(0), auth, auth_len, &c),
                     GH_WA_MALFORMED);
    /* UV required and absent */
    auth_len = make_auth(auth, SYN_RP, 0x41, 9, &k, NULL, 0);
    assert_int_equal(syn_register(a, &w, cd, "none", cbor_new_definite_map(0), auth, auth_len, &c),
                     GH_WA_NOT_VERIFIED);
    w.require_uv = false;
    assert_int_equal(syn_register(a, &w, cd, "none", cbor_new_definite_map(0), auth, auth_len, &c),
                     GH_WA_OK);
    free_key(&k);
    gh_arena_free(a);
}

/* Keys we cannot or must not use. */
static void unsupported_keys(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    gh_wa_expect w = syn_expect();
    gh_wa_credential c;
    test_key k;
    char *cd = client_data(a, "webauthn.create", "");
    uint8_t auth[1024];

    make_key(&k, GH_COSE_ES256, 2); /* P-384's curve id on a P-256 key */
    size_t auth_len = make_auth(auth, SYN_RP, 0x45, 0, &k, NULL, 0);
    assert_int_equal(syn_register(a, &w, cd, "none", cbor_new_definite_map(0), auth, auth_len, &c),
                     GH_WA_ALGORITHM);
    free_key(&k);
    make_key(&k, GH_COSE_EDDSA, 7); /* Ed448 */
    auth_len = make_auth(auth, SYN_RP, 0x45, 0, &k, NULL, 0);
    assert_int_equal(syn_register(a, &w, cd, "none", cbor_new_definite_map(0), auth, auth_len, &c),
                     GH_WA_ALGORITHM);
    free_key(&k);

    /* a point off the curve: y + 1 */
    make_key(&k, GH_COSE_ES256, 0);
    k.cose[k.cose_len - 1] ^= 0x01;
    auth_len = make_auth(auth, SYN_RP, 0x45, 0, &k, NULL, 0);
    assert_int_equal(syn_register(a, &w, cd, "none", cbor_new_definite_map(0), auth, auth_len, &c),
                     GH_WA_MALFORMED);
    free_key(&k);

    /* RS256 with a 1024-bit modulus, and an EC2 key under alg -257 */
    static const struct {
        long kty, alg;
        size_t nlen;
    } keys[] = {{3, GH_COSE_RS256, 128}, {2, GH_COSE_RS256, 0}, {4, -65535, 0}};
    for (size_t i = 0; i < 3; i++) {
        uint8_t n[128];
        memset(n, 0xc5, sizeof(n));
        cbor_item_t *m = cbor_new_definite_map(4);
        put(m, cint(1), cint(keys[i].kty));
        put(m, cint(3), cint(keys[i].alg));
        put(m, cint(-1), keys[i].nlen ? cbor_build_bytestring(n, keys[i].nlen) : cint(1));
        put(m, cint(-2), cbor_build_bytestring(n, 3));
        size_t len;
        uint8_t *cose = serialize(m, &len);
        gh_wa_assertion out;
        gh_wa_status want = keys[i].nlen ? GH_WA_MALFORMED : GH_WA_ALGORITHM;
        assert_int_equal(gh_webauthn_assert(&w, (const uint8_t *)cd, strlen(cd), auth, 37, n, 64,
                                            cose, len, &out),
                         GH_WA_TYPE); /* the clientData is checked first */
        char *get = client_data(a, "webauthn.get", "");
        auth_len = make_auth(auth, SYN_RP, 0x05, 1, NULL, NULL, 0);
        assert_int_equal(gh_webauthn_assert(&w, (const uint8_t *)get, strlen(get), auth, auth_len,
                                            n, 64, cose, len, &out),
                         want);
        free(cose);
    }
    gh_arena_free(a);
}

/* ------------------------------------------------------------ base64url */

static void b64url(void **state)
{
    (void)state;
    gh_arena *a = gh_arena_new(0);
    size_t len;
    uint8_t *b = gh_wa_b64url_decode(a, "aGVsbG8", 64, &len);
    assert_non_null(b);
    assert_int_equal(len, 5);
    assert_memory_equal(b, "hello", 5);
    b = gh_wa_b64url_decode(a, "aGVsbG8=", 64, &len);
    assert_non_null(b);
    assert_int_equal(len, 5);
    assert_memory_equal(b, "hello", 5);
    b = gh_wa_b64url_decode(a, "aGk=", 64, &len); /* "hi" */
    assert_non_null(b);
    assert_int_equal(len, 2);
    b = gh_wa_b64url_decode(a, "aGk", 2, &len);
    assert_non_null(b);
    assert_int_equal(len, 2);
    b = gh_wa_b64url_decode(a, "_-8", 64, &len);
    assert_non_null(b);
    assert_int_equal(len, 2);
    assert_int_equal(b[0], 0xff);
    assert_int_equal(b[1], 0xef);
    b = gh_wa_b64url_decode(a, "", 64, &len);
    assert_non_null(b);
    assert_int_equal(len, 0);

    assert_null(gh_wa_b64url_decode(a, "aGVsbG8", 4, &len)); /* over max */
    assert_int_equal(len, 0);
    assert_null(gh_wa_b64url_decode(a, "aGk", 1, &len));
    assert_null(gh_wa_b64url_decode(a, "aGVsbG8==", 64, &len)); /* wrong padding */
    assert_null(gh_wa_b64url_decode(a, "aGk==", 64, &len));
    assert_null(gh_wa_b64url_decode(a, "aGk===", 64, &len));
    assert_null(gh_wa_b64url_decode(a, "a", 64, &len));
    assert_null(gh_wa_b64url_decode(a, "aGk+", 64, &len)); /* standard alphabet */
    assert_null(gh_wa_b64url_decode(a, "aG/k", 64, &len));
    assert_null(gh_wa_b64url_decode(a, "aG k", 64, &len));
    assert_null(gh_wa_b64url_decode(a, "aGl", 64, &len)); /* non-zero trailing bits */
    assert_null(gh_wa_b64url_decode(a, "=", 64, &len));
    /* found by fuzz_webauthn: libsodium 1.0.18 alone takes these for '_' */
    assert_null(gh_wa_b64url_decode(a, "\xdc\xdc\xdc\xdc", 64, &len));
    assert_null(gh_wa_b64url_decode(a, "aGk\x80", 64, &len));
    assert_null(gh_wa_b64url_decode(a, NULL, 64, &len));
    gh_arena_free(a);
}

static void status_strings(void **state)
{
    (void)state;
    assert_string_equal(gh_wa_status_str(GH_WA_ORIGIN), "origin mismatch");
    for (int s = GH_WA_OK; s <= GH_WA_ATTESTATION; s++)
        assert_non_null(gh_wa_status_str((gh_wa_status)s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(register_none),
        cmocka_unit_test(register_packed),
        cmocka_unit_test(register_rs256_eddsa),
        cmocka_unit_test(assertions),
        cmocka_unit_test(mismatches),
        cmocka_unit_test(signatures),
        cmocka_unit_test(flags),
        cmocka_unit_test(truncated),
        cmocka_unit_test(garbage),
        cmocka_unit_test(synthesized_assertions),
        cmocka_unit_test(synthesized_registrations),
        cmocka_unit_test(unsupported_keys),
        cmocka_unit_test(b64url),
        cmocka_unit_test(status_strings),
    };
    if (gh_crypto_init() != 0 || !(fixture = load_fixture()))
        return 1;
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    json_decref(fixture);
    return rc;
}
