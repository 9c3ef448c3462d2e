/* webauthn_rate: ES256 WebAuthn assertions verified per second on one core,
 * next to the raw ECDSA P-256 verification they contain, so the cost of
 * everything around the signature (clientDataJSON parsing, CBOR decoding of
 * the stored COSE key, building the OpenSSL key, SHA-256) is visible.
 *
 * A synthesized credential: a fresh P-256 key, its COSE_Key, authenticator
 * data for RP ID "localhost" with UP and UV, and a clientDataJSON the size
 * a browser sends. Each measurement runs for about S seconds:
 *   webauthn_es256   gh_webauthn_assert, the call Gatehouse makes
 *   es256_verify     EVP_DigestVerify (SHA-256) over the same 69 bytes
 *                    with an already built key
 *
 *   cc -O2 -Isrc/base -Isrc/proto bench/webauthn_rate.c src/proto/gh_webauthn.c
 * src/base/gh_crypto.c \
 *       src/base/gh_json.c src/base/gh_utf8.c src/base/gh_arena.c -o webauthn_rate \
 *       -lcbor -ljansson -lsodium -lcrypto
 *   ./webauthn_rate [seconds=2]
 *
 * Output (one line, key=value): webauthn_es256_assert_per_s
 * es256_verify_per_s seconds openssl. Exit status 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gh_crypto.h"
#include "gh_webauthn.h"

static const char *ORIGIN = "http://localhost:8080";
static const char *CHALLENGE = "m5dcXG0yqNBGRwU3cBKUOHQUpVb-FGR1QvH3HMvYVio";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct fixture {
    EVP_PKEY *key;
    uint8_t cose[77]; /* {1: 2, 3: -7, -1: 1, -2: x, -3: y} */
    uint8_t auth[37];
    char cd[256];
    size_t cd_len;
    uint8_t msg[37 + GH_SHA256_BYTES]; /* authData || SHA-256(clientDataJSON) */
    uint8_t sig[80];
    size_t sig_len;
};

static int setup(struct fixture *f)
{
    uint8_t point[65];
    size_t len = 0;
    static const uint8_t head[] = {0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20};
    /* all zero first: the sign count's three high bytes are never written
     * below, and a stack fixture's leftovers made the count wrong (and the
     * run fail) about one time in three */
    memset(f, 0, sizeof(*f));
    f->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!f->key ||
        EVP_PKEY_get_octet_string_param(f->key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                                        &len) != 1 ||
        len != sizeof(point))
        return -1;
    memcpy(f->cose, head, sizeof(head));
    memcpy(f->cose + 10, point + 1, 32);
    f->cose[42] = 0x22; /* -3 */
    f->cose[43] = 0x58;
    f->cose[44] = 0x20;
    memcpy(f->cose + 45, point + 33, 32);

    gh_sha256("localhost", 9, f->auth);
    f->auth[32] = GH_WA_FLAG_UP | GH_WA_FLAG_UV;
    f->auth[36] = 7; /* sign count */
    int n = snprintf(f->cd, sizeof(f->cd),
                     "{\"type\":\"webauthn.get\",\"challenge\":\"%s\",\"origin\":\"%s\","
                     "\"crossOrigin\":false}",
                     CHALLENGE, ORIGIN);
    if (n < 0 || (size_t)n >= sizeof(f->cd))
        return -1;
    f->cd_len = (size_t)n;
    memcpy(f->msg, f->auth, sizeof(f->auth));
    gh_sha256(f->cd, f->cd_len, f->msg + sizeof(f->auth));

    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    f->sig_len = sizeof(f->sig);
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, f->key) == 1 &&
             EVP_DigestSign(ctx, f->sig, &f->sig_len, f->msg, sizeof(f->msg)) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

static int assert_once(const struct fixture *f)
{
    gh_wa_expect want = {
        .rp_id = "localhost", .origin = ORIGIN, .challenge = CHALLENGE, .require_uv = true};
    gh_wa_assertion out;
    gh_wa_status st =
        gh_webauthn_assert(&want, (const uint8_t *)f->cd, f->cd_len, f->auth, sizeof(f->auth),
                           f->sig, f->sig_len, f->cose, sizeof(f->cose), &out);
    return st == GH_WA_OK && out.sign_count == 7 ? 0 : -1;
}

static int verify_once(const struct fixture *f)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, f->key) == 1 &&
             EVP_DigestVerify(ctx, f->sig, f->sig_len, f->msg, sizeof(f->msg)) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* Calls fn for about `seconds`; returns calls per second, -1 on a failure. */
static double measure(int (*fn)(const struct fixture *), const struct fixture *f, double seconds)
{
    unsigned long n = 0;
    double t0 = now(), elapsed;
    do {
        /* check the clock every 64 calls, not every call */
        for (int i = 0; i < 64; i++, n++)
            if (fn(f) != 0)
                return -1;
        elapsed = now() - t0;
    } while (elapsed < seconds);
    return (double)n / elapsed;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    struct fixture f;
    if (seconds <= 0)
        seconds = 2.0;
    if (gh_crypto_init() != 0 || setup(&f) != 0) {
        fprintf(stderr, "webauthn_rate: setting up the credential failed\n");
        return 1;
    }
    double wa = measure(assert_once, &f, seconds);
    double raw = wa < 0 ? -1 : measure(verify_once, &f, seconds);
    EVP_PKEY_free(f.key);
    if (wa < 0 || raw < 0) {
        fprintf(stderr, "webauthn_rate: a verification failed\n");
        return 1;
    }
    printf("webauthn_es256_assert_per_s=%.0f es256_verify_per_s=%.0f seconds=%.1f openssl=%s\n", wa,
           raw, seconds, OpenSSL_version(OPENSSL_VERSION_STRING));
    return 0;
}
