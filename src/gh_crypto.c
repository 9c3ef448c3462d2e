#include "gh_crypto.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int gh_crypto_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

void gh_random(void *buf, size_t n)
{
    randombytes_buf(buf, n);
}

void gh_sha256(const void *in, size_t n, uint8_t out[GH_SHA256_BYTES])
{
    crypto_hash_sha256(out, in, n);
}

void gh_hex(const uint8_t *in, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, in, n);
}

int gh_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t outlen)
{
    size_t got = 0;
    const char *end = NULL;
    if (hexlen != 2 * outlen)
        return -1;
    if (sodium_hex2bin(out, outlen, hex, hexlen, NULL, &got, &end) != 0 || got != outlen ||
        end != hex + hexlen)
        return -1;
    return 0;
}

bool gh_b64url_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

char *gh_b64url(gh_arena *a, const uint8_t *in, size_t n)
{
    int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    size_t len = sodium_base64_encoded_len(n, variant);
    char *out = gh_arena_alloc(a, len);
    if (!out)
        return NULL;
    sodium_bin2base64(out, len, in, n, variant);
    return out;
}

void gh_uuid(char out[GH_UUID_STRLEN + 1])
{
    uint8_t b[16];
    randombytes_buf(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, GH_UUID_STRLEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

char *gh_token(gh_arena *a)
{
    uint8_t b[32];
    randombytes_buf(b, sizeof(b));
    char *t = gh_b64url(a, b, sizeof(b));
    sodium_memzero(b, sizeof(b));
    return t;
}

void gh_secret_hash(const char *secret, char out[2 * GH_SHA256_BYTES + 1])
{
    uint8_t h[GH_SHA256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)secret, strlen(secret));
    gh_hex(h, sizeof(h), out);
}

bool gh_secret_equal(const char *a, const char *b)
{
    uint8_t ha[GH_SHA256_BYTES], hb[GH_SHA256_BYTES];
    if (!a || !b)
        return false;
    crypto_hash_sha256(ha, (const unsigned char *)a, strlen(a));
    crypto_hash_sha256(hb, (const unsigned char *)b, strlen(b));
    return sodium_memcmp(ha, hb, sizeof(ha)) == 0;
}

int64_t gh_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t gh_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void gh_rfc3339(int64_t ms, char out[32])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    /* strftime keeps the compiler's width analysis simple; years are 4 digits here */
    char base[24];
    if (strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        base[0] = '\0';
    snprintf(out, 32, "%.19s.%03dZ", base, (int)(ms % 1000));
}
