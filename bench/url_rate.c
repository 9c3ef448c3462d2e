/* url_rate: nanoseconds per call of the two URL checks Gatehouse makes:
 * gh_url_safe_return (every sign-in request with a return_to, and the
 * /authorize journey) and gh_client_redirect_uri_valid (client registration
 * and updates), each on a few representative inputs. bench/url.sh builds it
 * against the current tree and against an older revision, to compare the
 * hand-written URL readers with libcurl's URL API.
 *
 *   cc -O2 -Isrc/base -Isrc/proto bench/url_rate.c src/base/gh_url.c src/base/gh_arena.c \
 *       src/base/gh_crypto.c src/base/gh_utf8.c src/proto/gh_assurance.c \
 *       src/proto/gh_client_meta.c -o url_rate -ljansson -lunistring -lsodium -lcurl
 *   ./url_rate [runs=9] [ms per run=100]
 *
 * Each case runs `runs` times for about `ms` milliseconds; the median run is
 * printed. Output: one line per case, key=value: fn case ns_per_call, and
 * the answer (so two builds can be checked to agree). Exit status 1 when an
 * answer is not the expected one.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gh_client_meta.h"
#include "gh_crypto.h"
#include "gh_url.h"

enum { BATCH = 256, MAX_RUNS = 101 };

static const char ISSUER[] = "https://id.example.com";

struct url_case {
    const char *name, *input;
    bool is_public; /* redirect URIs only */
    bool ok;        /* the expected answer */
};

static const struct url_case returns[] = {
    {"path", "/account", false, true},
    {"authorize",
     "/authorize?client_id=3f1c2a&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback"
     "&response_type=code&scope=openid%20email&state=af0ifjsldkj&code_challenge="
     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
     false, true},
    {"same_origin", "https://id.example.com/account?tab=security", false, true},
    {"other_origin", "https://evil.example/phish", false, false},
    {"protocol_relative", "//evil.example/phish", false, false},
};

static const struct url_case redirects[] = {
    {"https", "https://app.example.com/callback", false, true},
    {"https_port_query", "https://app.example.com:8443/cb?tenant=acme", false, true},
    {"loopback", "http://127.0.0.1:53123/cb", true, true},
    {"private_use", "com.example.app:/oauth2redirect", true, true},
    {"http_refused", "http://app.example.com/callback", false, false},
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ns per call of one batch loop; the arena is made outside the timing */
static double time_returns(const struct url_case *c, double budget, bool *answer)
{
    double spent = 0;
    unsigned long calls = 0;
    while (spent < budget) {
        gh_arena *a = gh_arena_new(0);
        double t0 = now();
        for (int i = 0; i < BATCH; i++)
            *answer = gh_url_safe_return(a, ISSUER, c->input) != NULL;
        spent += now() - t0;
        calls += BATCH;
        gh_arena_free(a);
    }
    return spent * 1e9 / (double)calls;
}

static double time_redirects(const struct url_case *c, double budget, bool *answer)
{
    double spent = 0;
    unsigned long calls = 0;
    while (spent < budget) {
        double t0 = now();
        for (int i = 0; i < BATCH; i++)
            *answer = gh_client_redirect_uri_valid(c->input, c->is_public);
        spent += now() - t0;
        calls += BATCH;
    }
    return spent * 1e9 / (double)calls;
}

static int run(const char *fn, const struct url_case *c, int runs, double budget)
{
    double ns[MAX_RUNS];
    bool answer = false;
    for (int r = 0; r < runs; r++)
        ns[r] =
            fn[0] == 's' ? time_returns(c, budget, &answer) : time_redirects(c, budget, &answer);
    qsort(ns, (size_t)runs, sizeof(ns[0]), cmp_double);
    printf("fn=%s case=%s ns_per_call=%.1f min=%.1f max=%.1f ok=%d\n", fn, c->name, ns[runs / 2],
           ns[0], ns[runs - 1], answer);
    if (answer != c->ok) {
        fprintf(stderr, "url_rate: %s(%s) answered %d\n", fn, c->input, answer);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 9;
    double ms = argc > 2 ? atof(argv[2]) : 100;
    if (runs < 1 || runs > MAX_RUNS)
        runs = 9;
    if (ms <= 0)
        ms = 100;
    if (gh_crypto_init() != 0) {
        fprintf(stderr, "url_rate: initialisation failed\n");
        return 1;
    }
    int bad = 0;
    for (size_t i = 0; i < sizeof(returns) / sizeof(returns[0]); i++)
        bad |= run("safe_return", &returns[i], runs, ms / 1000);
    for (size_t i = 0; i < sizeof(redirects) / sizeof(redirects[0]); i++)
        bad |= run("redirect_uri_valid", &redirects[i], runs, ms / 1000);
    return bad;
}
