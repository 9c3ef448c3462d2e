/* totp_rate: TOTP verifications per second on one core, as a ceiling for
 * the second sign-in step. Runs gh_totp_verify (the call Gatehouse makes:
 * window 1, so three HMAC-SHA1 codes through liboath and three
 * constant-time compares) on one thread for about S seconds.
 *
 *   cc -O2 -Isrc/base -Isrc/proto bench/totp_rate.c src/proto/gh_totp.c src/base/gh_crypto.c
 * src/base/gh_url.c \ src/base/gh_arena.c -o totp_rate -loath -lsodium
 *   ./totp_rate [seconds=2]
 *
 * Output (one line, key=value): totp_verify_per_s window seconds verifies
 * liboath. Exit status 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <liboath/oath.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gh_crypto.h"
#include "gh_totp.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (seconds <= 0)
        seconds = 2.0;
    if (gh_crypto_init() != 0 || gh_totp_init() != 0) {
        fprintf(stderr, "totp_rate: initialisation failed\n");
        return 1;
    }
    uint8_t seed[GH_TOTP_SEED_BYTES];
    gh_totp_new_seed(seed);
    /* a fixed clock, so every call does the same work and must match */
    const long long t = 1700000015;
    char code[9];
    if (gh_totp_code(seed, sizeof(seed), gh_totp_step(t), GH_TOTP_DIGITS, code) != 0) {
        fprintf(stderr, "totp_rate: gh_totp_code failed\n");
        return 1;
    }
    unsigned long n = 0;
    double t0 = now(), elapsed;
    do {
        /* check the clock every 256 calls, not every call */
        for (int i = 0; i < 256; i++, n++)
            if (gh_totp_verify(seed, sizeof(seed), code, t, 1, -1) != gh_totp_step(t)) {
                fprintf(stderr, "totp_rate: gh_totp_verify refused a good code\n");
                return 1;
            }
        elapsed = now() - t0;
    } while (elapsed < seconds);
    printf("totp_verify_per_s=%.0f window=1 seconds=%.1f verifies=%lu liboath=%s\n",
           (double)n / elapsed, elapsed, n, oath_check_version(NULL));
    return 0;
}
