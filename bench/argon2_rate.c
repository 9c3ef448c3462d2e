/* argon2_rate: raw argon2id hashing throughput of this machine, as a ceiling
 * for password sign-ins. Runs one of two implementations on N threads for
 * about S seconds and prints the total rate:
 *   libsodium  crypto_pwhash_str_alg (fresh memory mapped for every hash)
 *   gatehouse  gh_password_hash from src/proto/gh_password.c, the server's own
 *              (libargon2, working memory kept per slot; one slot per thread)
 *
 *   cc -O2 -Isrc/base -Isrc/proto bench/argon2_rate.c src/proto/gh_password.c -o argon2_rate \
 *      -lsodium -largon2 -lpthread
 *   ./argon2_rate [seconds=3] [threads=nproc] [memory_kib=19456] [opslimit=2]
 *                 [libsodium|gatehouse]
 *
 * Output (one line, key=value): hashes_per_s threads seconds hashes
 * cpu_ms_per_hash (user + system CPU time of the process per hash)
 * memory_kib opslimit impl libsodium. Exit status 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "gh_password.h"

static double seconds = 3.0;
static unsigned long long opslimit = 2;
static size_t memlimit = 19456u * 1024u;
static bool use_gatehouse;
static atomic_bool stop;
static atomic_int failed;

struct worker {
    pthread_t th;
    unsigned long hashes;
    double elapsed; /* seconds this thread spent hashing */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    char out[crypto_pwhash_STRBYTES > GH_PWHASH_MAX ? crypto_pwhash_STRBYTES : GH_PWHASH_MAX];
    char pw[32];
    double t0 = now();
    while (!atomic_load(&stop)) {
        /* a different password each time, as a sign-up would have */
        int n = snprintf(pw, sizeof(pw), "bench-pw-%lu-%p", w->hashes, (void *)w);
        int rc = use_gatehouse ? gh_password_hash(pw, (size_t)n, out)
                               : crypto_pwhash_str_alg(out, pw, (unsigned long long)n, opslimit,
                                                       memlimit, crypto_pwhash_ALG_ARGON2ID13);
        if (rc != 0) {
            atomic_store(&failed, 1);
            break;
        }
        w->hashes++;
    }
    w->elapsed = now() - t0;
    return NULL;
}

int main(int argc, char **argv)
{
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    if (argc > 1)
        seconds = atof(argv[1]);
    if (argc > 2)
        threads = atol(argv[2]);
    if (argc > 3)
        memlimit = (size_t)strtoul(argv[3], NULL, 10) * 1024u;
    if (argc > 4)
        opslimit = strtoull(argv[4], NULL, 10);
    if (argc > 5)
        use_gatehouse = strcmp(argv[5], "gatehouse") == 0;
    if (threads < 1)
        threads = 1;
    if (seconds <= 0)
        seconds = 3.0;
    if (sodium_init() < 0) {
        fprintf(stderr, "argon2_rate: sodium_init failed\n");
        return 1;
    }
    if (use_gatehouse &&
        gh_password_setup(memlimit / 1024u, (unsigned)opslimit, 1, (unsigned)threads) != 0) {
        fprintf(stderr, "argon2_rate: gh_password_setup refused the costs\n");
        return 1;
    }
    struct worker *ws = calloc((size_t)threads, sizeof(*ws));
    if (!ws)
        return 1;
    for (long i = 0; i < threads; i++)
        if (pthread_create(&ws[i].th, NULL, run, &ws[i]) != 0) {
            fprintf(stderr, "argon2_rate: pthread_create failed\n");
            return 1;
        }
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&stop, true);
    unsigned long total = 0;
    double rate = 0;
    for (long i = 0; i < threads; i++) {
        pthread_join(ws[i].th, NULL);
        total += ws[i].hashes;
        /* each thread finishes its last hash after the stop flag, so rate
         * is summed per thread over the time that thread actually ran */
        if (ws[i].elapsed > 0)
            rate += (double)ws[i].hashes / ws[i].elapsed;
    }
    free(ws);
    if (atomic_load(&failed)) {
        fprintf(stderr, "argon2_rate: hashing failed (out of memory?)\n");
        return 1;
    }
    /* CPU time, to compare with the server's CPU time per sign-in: the
     * rates alone cannot tell a slower hash from a core given to others. */
    struct rusage ru;
    double cpu_ms = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu_ms = 1e3 * ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) +
                 ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e3;
    printf("hashes_per_s=%.1f threads=%ld seconds=%.1f hashes=%lu cpu_ms_per_hash=%.2f "
           "memory_kib=%zu opslimit=%llu impl=%s libsodium=%s\n",
           rate, threads, seconds, total, total ? cpu_ms / (double)total : 0.0, memlimit / 1024u,
           opslimit, use_gatehouse ? "gatehouse" : "libsodium", sodium_version_string());
    return 0;
}
