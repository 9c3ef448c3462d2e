#include "gh_totp.h"

#include <liboath/oath.h>
#include <limits.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gh_crypto.h"
#include "gh_url.h"

/* Wider windows would make a guessed code more likely to land, and each
 * slot costs an HMAC; authenticator apps drift by one step at most. */
enum { MAX_WINDOW = 10 };

int gh_totp_init(void)
{
    /* oath_init counts its callers; calling it again is harmless. */
    return oath_init() == OATH_OK ? 0 : -1;
}

void gh_totp_new_seed(uint8_t seed[GH_TOTP_SEED_BYTES])
{
    gh_random(seed, GH_TOTP_SEED_BYTES);
}

int gh_totp_base32(const uint8_t *seed, size_t n, char *out, size_t outlen)
{
    char *enc = NULL;
    size_t enclen = 0;
    int rc = -1;
    if (!seed || n == 0 || !out ||
        oath_base32_encode((const char *)seed, n, &enc, &enclen) != OATH_OK)
        goto out;
    /* liboath pads to a multiple of 8 with '='; apps want it without */
    while (enclen > 0 && enc[enclen - 1] == '=')
        enclen--;
    if (enclen >= outlen)
        goto out;
    memcpy(out, enc, enclen);
    out[enclen] = '\0';
    rc = 0;
out:
    if (enc) {
        /* the text is the seed itself: do not leave it on the heap */
        sodium_memzero(enc, strlen(enc));
        free(enc);
    }
    return rc;
}

char *gh_totp_uri(gh_arena *a, const char *issuer, const char *account, const char *b32)
{
    char *acc = gh_url_encode(a, account);
    char *sec = gh_url_encode(a, b32);
    if (!acc || !sec)
        return NULL;
    /* Without an issuer the label is the account alone (Key URI format). */
    if (!issuer || !*issuer)
        return gh_arena_printf(a, "otpauth://totp/%s?secret=%s&algorithm=SHA1&digits=%d&period=%d",
                               acc, sec, GH_TOTP_DIGITS, GH_TOTP_STEP_S);
    char *iss = gh_url_encode(a, issuer);
    if (!iss)
        return NULL;
    return gh_arena_printf(a,
                           "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d"
                           "&period=%d",
                           iss, acc, sec, iss, GH_TOTP_DIGITS, GH_TOTP_STEP_S);
}

int gh_totp_code(const uint8_t *seed, size_t n, long long step, unsigned digits, char out[9])
{
    /* liboath takes an empty key, and maps times before the epoch to step 0
     * (its division truncates), so both are refused here. */
    if (!seed || n == 0 || step < 0 || step > LLONG_MAX / GH_TOTP_STEP_S || digits < 6 ||
        digits > 8)
        return -1;
    /* flags 0 is HMAC-SHA1: liboath has no name for it */
    int rc = oath_totp_generate2((const char *)seed, n, (time_t)(step * GH_TOTP_STEP_S),
                                 GH_TOTP_STEP_S, OATH_TOTP_DEFAULT_START_TIME, digits, 0, out);
    return rc == OATH_OK ? 0 : -1;
}

long long gh_totp_step(long long now_s)
{
    /* floor division, so a time before the epoch gives a negative step */
    long long q = now_s / GH_TOTP_STEP_S;
    return now_s % GH_TOTP_STEP_S < 0 ? q - 1 : q;
}

static bool code_well_formed(const char *code)
{
    if (!code)
        return false;
    for (int i = 0; i < GH_TOTP_DIGITS; i++)
        if (code[i] < '0' || code[i] > '9')
            return false;
    return code[GH_TOTP_DIGITS] == '\0';
}

long long gh_totp_verify(const uint8_t *seed, size_t n, const char *code, long long now_s,
                         int window, long long last_step)
{
    if (!code_well_formed(code) || window < 0 || window > MAX_WINDOW)
        return -1;
    long long now = gh_totp_step(now_s);
    long long found = -1;
    char want[9];
    for (long long s = now - window; s <= now + window; s++) {
        if (gh_totp_code(seed, n, s, GH_TOTP_DIGITS, want) != 0)
            continue; /* only steps before the epoch, or a bad seed */
        /* No early exit and no branch on the result: every slot costs the
         * same, so the time does not tell which one matched. On the rare
         * code that two slots share, the earliest fresh one wins. */
        long long hit =
            (sodium_memcmp(want, code, GH_TOTP_DIGITS) == 0) & (s > last_step) & (found < 0);
        found = (found & (hit - 1)) | (s & -hit);
    }
    sodium_memzero(want, sizeof(want));
    return found;
}
