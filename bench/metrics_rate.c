/* The CPU cost of the metrics one token request counts (docs/metrics.md,
 * "Cost"): the HTTP request and its latency, the token by grant, the client
 * cache look-up and the pool wait, on 1 and on 2 threads (the threads
 * count into the same series, as the server's do). Then one journey count
 * alone (a token by grant) for the default tenant (the first slot) and for
 * the tenant in the last of 64 slots (the longest walk of the slots).
 *   cc -O2 -Isrc/base bench/metrics_rate.c src/base/gh_metrics.c \
 *      src/base/gh_metrics_series.c src/base/gh_arena.c src/base/gh_crypto.c -lm -lpthread \
 *      -lsodium -lcrypto
 *   ./a.out [seconds]                                                      */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gh_metrics_series.h"

enum { NROUTES = 160, TOKEN_AT = 60, NTENANTS = 64 };
static const char *patterns[NROUTES];
static double seconds = 2;
static const char *tenant = "default"; /* whose journey is counted */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One token request's counting, as many times as fits in `seconds`. */
static void *run(void *arg)
{
    long long *n = arg;
    double until = now_s() + seconds;
    while (now_s() < until) {
        for (int i = 0; i < 1000; i++) {
            gh_metrics_client_cache(1);
            gh_metrics_db_pool_wait(0);
            gh_metrics_token_issued(tenant, "client_credentials");
            gh_metrics_http(patterns[TOKEN_AT], "POST", 200, 0.0012);
        }
        *n += 1000;
    }
    return NULL;
}

/* One journey count, as many times as fits in `seconds`. */
static void *run_journey(void *arg)
{
    long long *n = arg;
    double until = now_s() + seconds;
    while (now_s() < until) {
        for (int i = 0; i < 1000; i++)
            gh_metrics_token_issued(tenant, "client_credentials");
        *n += 1000;
    }
    return NULL;
}

static double rate(void *(*fn)(void *), int threads)
{
    pthread_t t[2];
    long long n[2] = {0, 0};
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, fn, &n[i]);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    return (double)(n[0] + n[1]) / seconds;
}

int main(int argc, char **argv)
{
    static char text[NROUTES][32];
    if (argc > 1)
        seconds = atof(argv[1]);
    for (int i = 0; i < NROUTES; i++) {
        snprintf(text[i], sizeof(text[i]), "/route/%d/{id}", i);
        patterns[i] = text[i];
    }
    if (gh_metrics_init(patterns, NROUTES, NTENANTS) != 0)
        return 1;
    double r1 = rate(run, 1), r2 = rate(run, 2);
    printf("metrics_ns_per_token_request_1_thread=%.0f per_thread_2_threads=%.0f\n", 1e9 / r1,
           2e9 / r2);
    double d1 = rate(run_journey, 1), d2 = rate(run_journey, 2);
    static char ids[NTENANTS][16];
    for (int i = 1; i < NTENANTS; i++) { /* fill the slots after "default" */
        snprintf(ids[i], sizeof(ids[i]), "tenant-%d", i);
        gh_metrics_tenant_known(ids[i]);
    }
    tenant = ids[NTENANTS - 1];
    double l1 = rate(run_journey, 1), l2 = rate(run_journey, 2);
    printf("journey_count_ns_first_slot_1_thread=%.1f per_thread_2_threads=%.1f\n", 1e9 / d1,
           2e9 / d2);
    printf("journey_count_ns_slot_%d_1_thread=%.1f per_thread_2_threads=%.1f\n", NTENANTS, 1e9 / l1,
           2e9 / l2);
    gh_metrics_shutdown();
    return 0;
}
