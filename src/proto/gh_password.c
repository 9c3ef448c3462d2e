/*
 * gh_password: argon2id through libargon2 (the reference implementation),
 * with working memory that is kept between hashes.
 *
 * Why not libsodium's crypto_pwhash: it maps fresh memory for every hash
 * (19 MiB at the defaults) and unmaps it afterwards, so each hash also pays
 * the kernel for thousands of page faults, page clearing and the teardown;
 * and it has no way to supply the memory. libargon2 takes allocator
 * callbacks. Here each of the `concurrency` hash slots owns one mapping,
 * made at its first hash, backed by huge pages where the kernel allows
 * (argon2 reads its memory at random, so 4 KiB pages also cost TLB misses),
 * and given back after a minute without hashing (gh_password_trim).
 * libargon2 wipes the memory after every hash before handing it back.
 *
 * Lanes (the parallelism p) are computed one after another on the calling
 * thread (libargon2's threads = 1): p changes the hash, not how many cores
 * one hash uses. The server already runs one hash per core in its workers,
 * and a hash that spawned threads of its own would only compete with them.
 *
 * The stored form is the PHC string libsodium writes, so hashes made by
 * either verify with the other:
 *   $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>
 * with salt and hash in unpadded standard base64.
 */
#include "gh_password.h"

#include <argon2.h>
#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

enum {
    SALT_BYTES = 16, /* what we write; stored strings may have 8..64 */
    HASH_BYTES = 32,
    MIN_SALT = 8,
    MAX_SALT = 64,
    MIN_HASH = 16,
    MAX_HASH = 64,
    MAX_LANES = 16,
    MAX_PASSES = 64,
    MAX_PHC = 512, /* longer stored strings are refused unread */
};
#define MAX_MEMORY_KIB (4ul << 20) /* 4 GiB, as GATEHOUSE_ARGON2_MEMORY_KIB allows */
#define HUGE_PAGE      ((size_t)2 << 20)

static unsigned long passes = 2;
static unsigned long memory_kib = 19456;
static unsigned long lanes = 1;

/* ---- working memory ---- */

/* One hash slot's memory. `base`/`mapped` is the whole mapping, `mem` the
 * 2 MiB-aligned part argon2 uses (`size` bytes). */
struct slab {
    void *base;
    size_t mapped;
    uint8_t *mem;
    size_t size;
    bool busy;
    int64_t last_used_ms;
};

static struct {
    pthread_mutex_t mu; /* guards the slabs */
    sem_t free_slots;   /* counts slabs not busy */
    struct slab *slabs;
    unsigned n;
    bool ready;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The slab of the hash running on this thread, for the allocator callback
 * (libargon2 passes it no context). */
static _Thread_local struct slab *current;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void slab_unmap(struct slab *s)
{
    if (s->base)
        munmap(s->base, s->mapped);
    s->base = NULL;
    s->mem = NULL;
    s->mapped = s->size = 0;
}

/* Maps at least `bytes`, 2 MiB-aligned so the kernel can back it with huge
 * pages, and kept out of core dumps. Returns 0 or -1. */
static int slab_map(struct slab *s, size_t bytes)
{
    size_t size = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    size_t mapped = size + HUGE_PAGE;
    void *base = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return -1;
    uintptr_t aligned = ((uintptr_t)base + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    s->base = base;
    s->mapped = mapped;
    s->mem = (uint8_t *)aligned;
    s->size = size;
    /* Both are hints: without them the memory still works. */
    (void)madvise(s->mem, size, MADV_HUGEPAGE);
    (void)madvise(base, mapped, MADV_DONTDUMP);
    return 0;
}

static int slab_alloc(uint8_t **memory, size_t bytes)
{
    struct slab *s = current;
    if (!s)
        return ARGON2_MEMORY_ALLOCATION_ERROR;
    if (s->size < bytes) {
        slab_unmap(s);
        if (slab_map(s, bytes) != 0)
            return ARGON2_MEMORY_ALLOCATION_ERROR;
    }
    *memory = s->mem;
    return ARGON2_OK;
}

/* libargon2 has already wiped the memory when it calls this; the mapping
 * stays for the next hash. */
static void slab_free(uint8_t *memory, size_t bytes)
{
    (void)memory;
    (void)bytes;
}

static void pool_free(void)
{
    for (unsigned i = 0; i < pool.n; i++)
        slab_unmap(&pool.slabs[i]);
    free(pool.slabs);
    pool.slabs = NULL;
    pool.n = 0;
    if (pool.ready)
        sem_destroy(&pool.free_slots);
    pool.ready = false;
}

/* pool.mu held. */
static int setup_locked(unsigned long mem_kib, unsigned iterations, unsigned p,
                        unsigned concurrency)
{
    if (concurrency == 0)
        concurrency = 1;
    if (iterations < 1 || iterations > MAX_PASSES || p < 1 || p > MAX_LANES)
        return -1;
    /* argon2 needs at least 8 KiB (two 1 KiB blocks per slice) per lane */
    if (mem_kib < 8ul * p || mem_kib > MAX_MEMORY_KIB)
        return -1;
    pool_free();
    passes = iterations;
    memory_kib = mem_kib;
    lanes = p;
    pool.slabs = calloc(concurrency, sizeof(*pool.slabs));
    if (!pool.slabs || sem_init(&pool.free_slots, 0, concurrency) != 0) {
        free(pool.slabs);
        pool.slabs = NULL;
        return -1;
    }
    pool.n = concurrency;
    pool.ready = true;
    return 0;
}

int gh_password_setup(unsigned long mem_kib, unsigned iterations, unsigned p, unsigned concurrency)
{
    pthread_mutex_lock(&pool.mu);
    int rc = setup_locked(mem_kib, iterations, p, concurrency);
    pthread_mutex_unlock(&pool.mu);
    return rc;
}

/* Waits for a free slot and makes its slab this thread's `current`.
 * Returns 0, or -1 when the pool cannot be set up. */
static int slot_take(void)
{
    pthread_mutex_lock(&pool.mu);
    int rc = pool.ready ? 0 : setup_locked(memory_kib, (unsigned)passes, (unsigned)lanes, 2);
    pthread_mutex_unlock(&pool.mu);
    if (rc != 0)
        return -1;
    while (sem_wait(&pool.free_slots) != 0)
        ;
    pthread_mutex_lock(&pool.mu);
    for (unsigned i = 0; i < pool.n; i++)
        if (!pool.slabs[i].busy) {
            pool.slabs[i].busy = true;
            current = &pool.slabs[i];
            break;
        }
    pthread_mutex_unlock(&pool.mu);
    return 0;
}

static void slot_give(void)
{
    pthread_mutex_lock(&pool.mu);
    current->busy = false;
    current->last_used_ms = mono_ms();
    current = NULL;
    pthread_mutex_unlock(&pool.mu);
    sem_post(&pool.free_slots);
}

void gh_password_trim(unsigned idle_ms)
{
    int64_t now = mono_ms();
    pthread_mutex_lock(&pool.mu);
    for (unsigned i = 0; i < pool.n; i++) {
        struct slab *s = &pool.slabs[i];
        if (!s->busy && s->base && now - s->last_used_ms >= (int64_t)idle_ms)
            slab_unmap(s);
    }
    pthread_mutex_unlock(&pool.mu);
}

size_t gh_password_memory_bytes(void)
{
    size_t total = 0;
    pthread_mutex_lock(&pool.mu);
    for (unsigned i = 0; i < pool.n; i++)
        total += pool.slabs[i].mapped;
    pthread_mutex_unlock(&pool.mu);
    return total;
}

bool gh_password_memory_wiped(void)
{
    bool wiped = true;
    pthread_mutex_lock(&pool.mu);
    for (unsigned i = 0; i < pool.n && wiped; i++) {
        const struct slab *s = &pool.slabs[i];
        if (!s->busy && s->mem)
            wiped = sodium_is_zero(s->mem, s->size) == 1;
    }
    pthread_mutex_unlock(&pool.mu);
    return wiped;
}

/* ---- hashing ---- */

/* argon2id of password into out[outlen]. Returns 0 or -1. */
static int derive(const char *password, size_t n, const uint8_t *salt, size_t saltlen,
                  uint32_t m_kib, uint32_t t, uint32_t lanes, uint8_t *out, size_t outlen)
{
    if (n > UINT32_MAX)
        return -1;
    argon2_context ctx = {
        .out = out,
        .outlen = (uint32_t)outlen,
        /* libargon2 only writes to the password with ARGON2_FLAG_CLEAR_PASSWORD */
        .pwd = (uint8_t *)password,
        .pwdlen = (uint32_t)n,
        .salt = (uint8_t *)salt,
        .saltlen = (uint32_t)saltlen,
        .t_cost = t,
        .m_cost = m_kib,
        .lanes = lanes,
        .threads = 1,
        .version = ARGON2_VERSION_13,
        .allocate_cbk = slab_alloc,
        .free_cbk = slab_free,
        .flags = ARGON2_DEFAULT_FLAGS,
    };
    if (slot_take() != 0)
        return -1;
    int rc = argon2id_ctx(&ctx);
    slot_give();
    return rc == ARGON2_OK ? 0 : -1;
}

int gh_password_hash(const char *password, size_t n, char out[GH_PWHASH_MAX])
{
    uint8_t salt[SALT_BYTES], hash[HASH_BYTES];
    char salt64[sodium_base64_ENCODED_LEN(SALT_BYTES, sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
    char hash64[sodium_base64_ENCODED_LEN(HASH_BYTES, sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
    memset(out, 0, GH_PWHASH_MAX);
    randombytes_buf(salt, sizeof(salt));
    int rc = -1;
    if (derive(password, n, salt, sizeof(salt), (uint32_t)memory_kib, (uint32_t)passes,
               (uint32_t)lanes, hash, sizeof(hash)) != 0)
        goto out;
    sodium_bin2base64(salt64, sizeof(salt64), salt, sizeof(salt),
                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    sodium_bin2base64(hash64, sizeof(hash64), hash, sizeof(hash),
                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    int len = snprintf(out, GH_PWHASH_MAX, "$argon2id$v=19$m=%lu,t=%lu,p=%lu$%s$%s", memory_kib,
                       passes, lanes, salt64, hash64);
    rc = len > 0 && len < GH_PWHASH_MAX ? 0 : -1;
out:
    sodium_memzero(hash, sizeof(hash));
    if (rc != 0)
        memset(out, 0, GH_PWHASH_MAX);
    return rc;
}

/* ---- the PHC string ---- */

typedef struct phc {
    uint32_t m, t, p;
    uint8_t salt[MAX_SALT];
    size_t saltlen;
    uint8_t hash[MAX_HASH];
    size_t hashlen;
} phc;

/* Reads `key` then a decimal number in [min, max] with no sign or leading
 * zero; advances *s past it. */
static bool read_number(const char **s, const char *key, uint32_t min, uint32_t max, uint32_t *out)
{
    size_t k = strlen(key);
    if (strncmp(*s, key, k) != 0)
        return false;
    const char *d = *s + k;
    if (*d < '1' || *d > '9')
        return false;
    uint64_t v = 0;
    while (*d >= '0' && *d <= '9') {
        v = v * 10 + (uint64_t)(*d - '0');
        if (v > max)
            return false;
        d++;
    }
    if (v < min)
        return false;
    *out = (uint32_t)v;
    *s = d;
    return true;
}

/* Decodes unpadded base64 up to the next '$' (or the end) into out, which
 * must come to [min, cap] bytes; advances *s to that '$' or end. */
static bool read_b64(const char **s, uint8_t *out, size_t min, size_t cap, size_t *len)
{
    const char *end = strchr(*s, '$');
    size_t n = end ? (size_t)(end - *s) : strlen(*s);
    const char *stop = NULL;
    if (n == 0 || sodium_base642bin(out, cap, *s, n, NULL, len, &stop,
                                    sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0)
        return false;
    if (stop != *s + n || *len < min)
        return false;
    *s += n;
    return true;
}

/* Parses a stored argon2id string strictly. Returns 0 or -1. */
static int parse_phc(const char *stored, phc *out)
{
    memset(out, 0, sizeof(*out));
    if (!stored || strnlen(stored, MAX_PHC) >= MAX_PHC)
        return -1;
    const char *s = stored;
    static const char prefix[] = "$argon2id$v=19$";
    if (strncmp(s, prefix, sizeof(prefix) - 1) != 0)
        return -1;
    s += sizeof(prefix) - 1;
    if (!read_number(&s, "m=", 8, MAX_MEMORY_KIB, &out->m) ||
        !read_number(&s, ",t=", 1, MAX_PASSES, &out->t) ||
        !read_number(&s, ",p=", 1, MAX_LANES, &out->p) || out->m < 8 * out->p || *s++ != '$')
        return -1;
    if (!read_b64(&s, out->salt, MIN_SALT, sizeof(out->salt), &out->saltlen) || *s++ != '$')
        return -1;
    if (!read_b64(&s, out->hash, MIN_HASH, sizeof(out->hash), &out->hashlen) || *s != '\0')
        return -1;
    return 0;
}

bool gh_password_verify(const char *stored, const char *password, size_t n)
{
    phc p;
    uint8_t got[MAX_HASH];
    bool ok = false;
    if (parse_phc(stored, &p) != 0)
        return false;
    if (derive(password, n, p.salt, p.saltlen, p.m, p.t, p.p, got, p.hashlen) == 0)
        ok = sodium_memcmp(got, p.hash, p.hashlen) == 0;
    sodium_memzero(got, sizeof(got));
    return ok;
}

static char dummy_hash[GH_PWHASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
    unsigned char pw[16];
    randombytes_buf(pw, sizeof(pw));
    /* On failure the dummy stays empty; verify then fails fast, which only
     * matters if hashing itself is broken. */
    if (gh_password_hash((const char *)pw, sizeof(pw), dummy_hash) != 0)
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
    phc p;
    if (parse_phc(stored, &p) != 0)
        return true;
    return p.m != memory_kib || p.t != passes || p.p != lanes || p.saltlen != SALT_BYTES ||
           p.hashlen != HASH_BYTES;
}
