/* sig_rate: raw JWT signature throughput of this machine, as a ceiling for
 * token issuance (one ES256 signature per access token) and for token
 * checks (one ES256 verification per introspection or userinfo request).
 *
 * Uses OpenSSL EVP (EVP_DigestSign / EVP_DigestVerify with SHA-256, which is
 * what a JWS signature is), on N threads, each with its own key, for about
 * S seconds per measurement:
 *   es256_sign     ECDSA P-256 + SHA-256 signatures
 *   es256_verify   ECDSA P-256 + SHA-256 verifications
 *   rs256_sign     RSA-2048 PKCS#1 v1.5 + SHA-256 signatures, for comparison
 *
 *   cc -O2 bench/sig_rate.c -o sig_rate -lcrypto -lpthread
 *   ./sig_rate [seconds=2] [threads=nproc]
 *
 * Output (one line, key=value): es256_sign_per_s es256_verify_per_s
 * rs256_sign_per_s threads seconds openssl. Exit status 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum op { ES256_SIGN, ES256_VERIFY, RS256_SIGN };

static double seconds = 2.0;
static atomic_bool stop;
static atomic_int failed;

/* A signing input the size of a typical access token's header.payload. */
static unsigned char msg[300];

struct worker {
    pthread_t th;
    enum op op;
    EVP_PKEY *key;
    unsigned char sig[512];
    size_t siglen; /* for verification: a signature made up front */
    unsigned long n;
    double elapsed;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sign_once(EVP_PKEY *key, unsigned char *sig, size_t *siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(ctx, sig, siglen, msg, sizeof(msg)) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

static int verify_once(EVP_PKEY *key, const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(ctx, sig, siglen, msg, sizeof(msg)) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    double t0 = now();
    while (!atomic_load(&stop)) {
        int rc;
        if (w->op == ES256_VERIFY) {
            rc = verify_once(w->key, w->sig, w->siglen);
        } else {
            unsigned char sig[512];
            size_t len = sizeof(sig);
            rc = sign_once(w->key, sig, &len);
        }
        if (rc != 0) {
            atomic_store(&failed, 1);
            break;
        }
        w->n++;
    }
    w->elapsed = now() - t0;
    return NULL;
}

/* Runs op on `threads` threads for `seconds`; returns the summed rate. */
static double measure(enum op op, long threads)
{
    struct worker *ws = calloc((size_t)threads, sizeof(*ws));
    if (!ws)
        return -1;
    for (long i = 0; i < threads; i++) {
        ws[i].op = op;
        ws[i].key = op == RS256_SIGN ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                                     : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        if (!ws[i].key)
            return -1;
        if (op == ES256_VERIFY) {
            ws[i].siglen = sizeof(ws[i].sig);
            if (sign_once(ws[i].key, ws[i].sig, &ws[i].siglen) != 0)
                return -1;
        }
    }
    atomic_store(&stop, false);
    for (long i = 0; i < threads; i++)
        if (pthread_create(&ws[i].th, NULL, run, &ws[i]) != 0)
            return -1;
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&stop, true);
    double rate = 0;
    for (long i = 0; i < threads; i++) {
        pthread_join(ws[i].th, NULL);
        if (ws[i].elapsed > 0)
            rate += (double)ws[i].n / ws[i].elapsed;
        EVP_PKEY_free(ws[i].key);
    }
    free(ws);
    return atomic_load(&failed) ? -1 : rate;
}

int main(int argc, char **argv)
{
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    if (argc > 1)
        seconds = atof(argv[1]);
    if (argc > 2)
        threads = atol(argv[2]);
    if (threads < 1)
        threads = 1;
    if (seconds <= 0)
        seconds = 2.0;
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (unsigned char)('A' + i % 26);
    double es_sign = measure(ES256_SIGN, threads);
    double es_verify = es_sign < 0 ? -1 : measure(ES256_VERIFY, threads);
    double rs_sign = es_verify < 0 ? -1 : measure(RS256_SIGN, threads);
    if (es_sign < 0 || es_verify < 0 || rs_sign < 0) {
        fprintf(stderr, "sig_rate: an OpenSSL call failed\n");
        return 1;
    }
    printf("es256_sign_per_s=%.0f es256_verify_per_s=%.0f rs256_sign_per_s=%.0f threads=%ld "
           "seconds=%.1f openssl=%s\n",
           es_sign, es_verify, rs_sign, threads, seconds, OpenSSL_version(OPENSSL_VERSION_STRING));
    return 0;
}
