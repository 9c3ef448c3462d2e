/* risk_rate: the CPU cost of one risk evaluation (docs/risk.md "Cost"),
 * beside one argon2id hash at Gatehouse's default cost, on one thread.
 *
 * Measures gh_riskpolicy_eval, the pure part every sign-in and token
 * request runs: the built-in policy (share/risk-policy.txt) on the sign-in
 * and token journeys, and a worst case of 64 rules of 8 conditions each.
 * Not measured here: the database reads that gather the signals and the
 * write of the decision (they are I/O, part of the sign-in's request).
 *
 *   cc -O2 -Isrc/base -Isrc/proto bench/risk_rate.c src/proto/gh_riskpolicy.c \
 *      -o risk_rate -largon2
 *   ./risk_rate [share/risk-policy.txt] [seconds=1]
 *
 * Output (one line, key=value): signin_us token_us worst_us argon2id_us.
 * Exit status 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <argon2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gh_riskpolicy.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile int sink;

/* Microseconds per evaluation of p on journey j over s, for about secs. */
static double eval_us(const gh_risk_policy *p, gh_risk_journey j, gh_risk_signals *s, double secs)
{
    unsigned long n = 0;
    double t0 = now(), elapsed;
    do {
        for (int k = 0; k < 1024; k++, n++) {
            s->v[GH_RS_IP_FAILURES] = (long long)(n & 15); /* defeat hoisting */
            gh_risk_result r = gh_riskpolicy_eval(p, j, s);
            sink += r.score;
        }
        elapsed = now() - t0;
    } while (elapsed < secs);
    return elapsed * 1e6 / (double)n;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(1 << 20) : NULL;
    *len = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    if (f)
        fclose(f);
    return buf;
}

/* 64 rules of 8 conditions that all hold but the last: the most work a
 * policy can ask of one evaluation. */
static int worst_policy(gh_risk_policy *p)
{
    static char text[64 * 256 + 64];
    char err[256];
    size_t off = (size_t)snprintf(text, sizeof text, "version worst-1\n");
    for (int i = 0; i < GH_RISK_MAX_RULES; i++)
        off += (size_t)snprintf(text + off, sizeof text - off,
                                "rule r%d on signin,token if new_device and new_network and "
                                "ip_failures >= 0 and account_failures >= 0 and ip_accounts >= 0 "
                                "and account_ips >= 0 and network_failures >= 0 and "
                                "common_password weight 1 reason r\n",
                                i);
    return gh_riskpolicy_parse(text, off, p, err, sizeof err);
}

static double argon2_us(void)
{
    uint8_t out[32], salt[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const char pw[] = "correct horse battery staple";
    int n = 0;
    double t0 = now(), elapsed;
    do {
        if (argon2id_hash_raw(2, 19456, 1, pw, sizeof pw - 1, salt, sizeof salt, out, sizeof out) !=
            ARGON2_OK)
            return -1;
        n++;
        elapsed = now() - t0;
    } while (elapsed < 1.0 || n < 5);
    return elapsed * 1e6 / n;
}

int main(int argc, char **argv)
{
    static gh_risk_policy builtin, worst;
    const char *path = argc > 1 ? argv[1] : "share/risk-policy.txt";
    double secs = argc > 2 ? atof(argv[2]) : 1.0;
    char err[256];
    size_t len = 0;
    char *text = read_all(path, &len);
    if (!text || gh_riskpolicy_parse(text, len, &builtin, err, sizeof err) != 0) {
        fprintf(stderr, "risk_rate: %s: %s\n", path, text ? err : "cannot be read");
        return 1;
    }
    free(text);
    if (worst_policy(&worst) != 0) {
        fprintf(stderr, "risk_rate: the worst-case policy does not parse\n");
        return 1;
    }
    gh_risk_signals s;
    memset(&s, 0, sizeof s);
    s.v[GH_RS_NEW_DEVICE] = 1;
    s.v[GH_RS_NEW_NETWORK] = 1;
    s.v[GH_RS_HAS_SECOND_FACTOR] = 1;
    double signin = eval_us(&builtin, GH_RJ_SIGNIN, &s, secs);
    double token = eval_us(&builtin, GH_RJ_TOKEN, &s, secs);
    double w = eval_us(&worst, GH_RJ_TOKEN, &s, secs);
    double a = argon2_us();
    if (a < 0) {
        fprintf(stderr, "risk_rate: argon2id failed\n");
        return 1;
    }
    printf("signin_us=%.3f token_us=%.3f worst_us=%.3f argon2id_us=%.0f\n", signin, token, w, a);
    return 0;
}
