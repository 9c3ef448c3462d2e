#include "gh_password.h"

#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <string.h>

static unsigned long long ops = 2;
static size_t mem = 19456u * 1024u;
static sem_t slots;
static bool ready;

int gh_password_setup(unsigned long memory_kib, unsigned iterations, unsigned concurrency)
{
    ops = iterations;
    mem = (size_t)memory_kib * 1024u;
    if (ready)
        sem_destroy(&slots);
    if (sem_init(&slots, 0, concurrency ? concurrency : 1) != 0)
        return -1;
    ready = true;
    return 0;
}

static void slot_take(void)
{
    if (!ready)
        gh_password_setup(19456, 2, 2);
    while (sem_wait(&slots) != 0)
        ;
}

int gh_password_hash(const char *password, size_t n, char out[GH_PWHASH_MAX])
{
    memset(out, 0, GH_PWHASH_MAX);
    slot_take();
    int rc = crypto_pwhash_str_alg(out, password, n, ops, mem, crypto_pwhash_ALG_ARGON2ID13);
    sem_post(&slots);
    return rc == 0 ? 0 : -1;
}

bool gh_password_verify(const char *stored, const char *password, size_t n)
{
    if (!stored || strncmp(stored, "$argon2id$", 10) != 0)
        return false;
    slot_take();
    int rc = crypto_pwhash_str_verify(stored, password, n);
    sem_post(&slots);
    return rc == 0;
}

static char dummy_hash[GH_PWHASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
    unsigned char pw[16];
    randombytes_buf(pw, sizeof(pw));
    /* On failure the dummy stays empty; verify then fails fast, which only
     * matters if hashing itself is broken. */
    if (crypto_pwhash_str_alg(dummy_hash, (const char *)pw, sizeof(pw), ops, mem,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        dummy_hash[0] = '\0';
}

bool gh_password_verify_dummy(const char *password, size_t n)
{
    pthread_once(&dummy_once, make_dummy);
    (void)gh_password_verify(dummy_hash, password, n);
    return false;
}

bool gh_password_needs_rehash(const char *stored)
{
    return crypto_pwhash_str_needs_rehash(stored, ops, mem) != 0;
}
