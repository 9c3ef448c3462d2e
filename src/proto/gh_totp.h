/*
 * gh_totp: time-based one-time passwords (RFC 6238) for authenticator apps,
 * through liboath. Codes are 6 digits over 30-second steps with HMAC-SHA1,
 * the parameters every authenticator app supports.
 *
 * Replay: a verified code returns its time step; the caller stores it and
 * passes it back as last_step, and only later steps are accepted, so each
 * code (and each earlier one inside the drift window) works once.
 */
#ifndef GH_TOTP_H
#define GH_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "gh_arena.h"

enum {
    GH_TOTP_SEED_BYTES = 20, /* 160 bits, RFC 4226's recommendation */
    GH_TOTP_STEP_S = 30,
    GH_TOTP_DIGITS = 6,
    GH_TOTP_B32_MAX = 64, /* base32 text of a seed, with its NUL */
};

/* Process-wide set-up of liboath; 0 on success. Safe to call more than once. */
int gh_totp_init(void);

/* A fresh random seed. */
void gh_totp_new_seed(uint8_t seed[GH_TOTP_SEED_BYTES]);

/* The seed in base32 (RFC 4648 alphabet, no padding), as apps take it typed
 * in. 0 on success, -1 when out is too small. */
int gh_totp_base32(const uint8_t *seed, size_t n, char *out, size_t outlen);

/* otpauth://totp/<issuer>:<account>?secret=..&issuer=..&algorithm=SHA1&
 * digits=6&period=30 with both labels percent-encoded; NULL on no memory. */
char *gh_totp_uri(gh_arena *a, const char *issuer, const char *account, const char *b32);

/* The code for a time step into out (GH_TOTP_DIGITS digits and a NUL);
 * digits may be 6 to 8 (RFC 6238's vectors use 8). 0 on success. */
int gh_totp_code(const uint8_t *seed, size_t n, long long step, unsigned digits, char out[9]);

/* The step of unix time now_s. */
long long gh_totp_step(long long now_s);

/* Checks a 6-digit code at unix time now_s within +/- window steps, taking
 * only steps after last_step. Returns the matched step, or -1 when the code
 * is malformed, wrong, or already used. Every window slot is computed and
 * compared in constant time, so timing does not tell which slot matched. */
long long gh_totp_verify(const uint8_t *seed, size_t n, const char *code, long long now_s,
                         int window, long long last_step);

#endif
