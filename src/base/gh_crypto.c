#include "gh_crypto.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/*
 * The process-wide randombytes implementation (gh_crypto.h, gh_random).
 *
 * Each thread has its own ChaCha20 generator with fast key erasure: a refill
 * runs ChaCha20 under the current key with a zero nonce into buf; the first
 * RNG_KEY_BYTES of the output become the next key at once and are wiped from
 * buf, and the rest is handed out, each byte wiped as it leaves. A key is used
 * for one refill only, so the zero nonce never repeats under a key, and a copy
 * of the state taken later cannot recover output already returned.
 *
 * The key comes from getrandom(2) when the state is created, after
 * RNG_RESEED_BYTES of output, after randombytes_stir(), and in a child process
 * after fork(): the atfork child handler bumps rng_fork_gen, and a state
 * seeded under another generation reseeds before its next byte (it would
 * otherwise repeat the parent's stream). Only threads created by pthreads and
 * forks made by fork() are covered; a raw clone(2) runs no atfork handlers.
 * Not async-signal-safe: do not draw random bytes in a signal handler.
 */
enum {
    RNG_KEY_BYTES = crypto_stream_chacha20_ietf_KEYBYTES,
    RNG_BUF_BYTES = 512,
    RNG_RESEED_BYTES = 1 << 20,
};

struct gh_rng {
    uint8_t key[RNG_KEY_BYTES];
    uint8_t buf[RNG_BUF_BYTES]; /* buf[pos..) is unread output; the rest is zero */
    size_t pos;                 /* RNG_BUF_BYTES when empty */
    size_t produced;            /* bytes of output since the key came from getrandom */
    unsigned gen;               /* rng_fork_gen when seeded */
};

static pthread_once_t rng_once = PTHREAD_ONCE_INIT;
static bool rng_once_ok;
static pthread_key_t rng_key; /* its destructor frees a thread's state at exit */
static atomic_uint rng_fork_gen;
static _Thread_local struct gh_rng *rng_self;

static void rng_atfork_child(void)
{
    atomic_fetch_add_explicit(&rng_fork_gen, 1, memory_order_relaxed);
}

/* The pthread_key destructor; runs on the thread that owns r. */
static void rng_free(void *p)
{
    struct gh_rng *r = p;
    sodium_memzero(r, sizeof(*r));
    free(r);
    rng_self = NULL;
}

static void rng_setup(void)
{
    rng_once_ok = pthread_key_create(&rng_key, rng_free) == 0 &&
                  pthread_atfork(NULL, NULL, rng_atfork_child) == 0;
}

/* New key from the kernel; drops buffered output. Aborts if getrandom fails:
 * there is no safe fallback, and callers cannot handle an error. */
static void rng_seed(struct gh_rng *r)
{
    int saved_errno = errno;
    uint8_t *p = r->key;
    size_t left = sizeof(r->key);
    while (left > 0) {
        ssize_t got = getrandom(p, left, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            abort();
        }
        p += got;
        left -= (size_t)got;
    }
    errno = saved_errno;
    sodium_memzero(r->buf, sizeof(r->buf));
    r->pos = sizeof(r->buf);
    r->produced = 0;
    r->gen = atomic_load_explicit(&rng_fork_gen, memory_order_relaxed);
}

/* The calling thread's state, created and seeded on first use, reseeded in a
 * forked child. Aborts when out of memory (a fixed, small allocation). */
static struct gh_rng *rng_get(void)
{
    struct gh_rng *r = rng_self;
    if (r == NULL) {
        r = calloc(1, sizeof(*r));
        if (r == NULL || pthread_setspecific(rng_key, r) != 0)
            abort();
        rng_self = r;
        rng_seed(r);
    } else if (r->gen != atomic_load_explicit(&rng_fork_gen, memory_order_relaxed)) {
        rng_seed(r);
    }
    return r;
}

static void rng_refill(struct gh_rng *r)
{
    static const uint8_t zero_nonce[crypto_stream_chacha20_ietf_NONCEBYTES];
    if (r->produced >= RNG_RESEED_BYTES)
        rng_seed(r);
    crypto_stream_chacha20_ietf(r->buf, sizeof(r->buf), zero_nonce, r->key);
    memcpy(r->key, r->buf, sizeof(r->key));
    sodium_memzero(r->buf, sizeof(r->key));
    r->pos = sizeof(r->key);
    r->produced += sizeof(r->buf) - sizeof(r->key);
}

static void rng_buf(void *const out, const size_t n)
{
    struct gh_rng *r = rng_get();
    uint8_t *p = out;
    size_t left = n;
    while (left > 0) {
        if (r->pos == sizeof(r->buf))
            rng_refill(r);
        size_t take = sizeof(r->buf) - r->pos;
        if (take > left)
            take = left;
        memcpy(p, r->buf + r->pos, take);
        sodium_memzero(r->buf + r->pos, take);
        r->pos += take;
        p += take;
        left -= take;
    }
}

static uint32_t rng_random(void)
{
    uint32_t v;
    rng_buf(&v, sizeof(v));
    return v;
}

/* randombytes_stir: a fresh key now. sodium_init calls it, so the main thread
 * is seeded (and getrandom proven to work) at start-up. */
static void rng_stir(void)
{
    if (rng_self == NULL)
        (void)rng_get();
    else
        rng_seed(rng_self);
}

/* randombytes_close: frees the calling thread's state; the next call makes one. */
static int rng_close(void)
{
    struct gh_rng *r = rng_self;
    if (r != NULL) {
        (void)pthread_setspecific(rng_key, NULL);
        rng_free(r);
    }
    return 0;
}

static const char *rng_name(void)
{
    return "gh-chacha20-fke";
}

/* uniform is NULL: libsodium's generic version rejection-samples rng_random. */
static randombytes_implementation rng_impl = {
    .implementation_name = rng_name,
    .random = rng_random,
    .stir = rng_stir,
    .uniform = NULL,
    .buf = rng_buf,
    .close = rng_close,
};

int gh_crypto_init(void)
{
    if (pthread_once(&rng_once, rng_setup) != 0 || !rng_once_ok)
        return -1;
    /* Before sodium_init, so that nothing ever uses the default source. */
    randombytes_set_implementation(&rng_impl);
    return sodium_init() < 0 ? -1 : 0;
}

void gh_random(void *buf, size_t n)
{
    randombytes_buf(buf, n);
}

void gh_sha256(const void *in, size_t n, uint8_t out[GH_SHA256_BYTES])
{
    crypto_hash_sha256(out, in, n);
}

void gh_hex(const uint8_t *in, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, in, n);
}

int gh_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t outlen)
{
    size_t got = 0;
    const char *end = NULL;
    if (hexlen != 2 * outlen)
        return -1;
    if (sodium_hex2bin(out, outlen, hex, hexlen, NULL, &got, &end) != 0 || got != outlen ||
        end != hex + hexlen)
        return -1;
    return 0;
}

bool gh_b64url_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

char *gh_b64url(gh_arena *a, const uint8_t *in, size_t n)
{
    int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    size_t len = sodium_base64_encoded_len(n, variant);
    char *out = gh_arena_alloc(a, len);
    if (!out)
        return NULL;
    sodium_bin2base64(out, len, in, n, variant);
    return out;
}

void gh_uuid(char out[GH_UUID_STRLEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    randombytes_buf(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    char *o = out;
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
}

char *gh_token(gh_arena *a)
{
    uint8_t b[32];
    randombytes_buf(b, sizeof(b));
    char *t = gh_b64url(a, b, sizeof(b));
    sodium_memzero(b, sizeof(b));
    return t;
}

void gh_secret_hash(const char *secret, char out[2 * GH_SHA256_BYTES + 1])
{
    uint8_t h[GH_SHA256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)secret, strlen(secret));
    gh_hex(h, sizeof(h), out);
}

bool gh_secret_equal(const char *a, const char *b)
{
    uint8_t ha[GH_SHA256_BYTES], hb[GH_SHA256_BYTES];
    if (!a || !b)
        return false;
    crypto_hash_sha256(ha, (const unsigned char *)a, strlen(a));
    crypto_hash_sha256(hb, (const unsigned char *)b, strlen(b));
    return sodium_memcmp(ha, hb, sizeof(ha)) == 0;
}

void (*gh_free_wiped_hook)(const void *p, size_t n);

void gh_free_wiped(void *p, size_t n)
{
    if (!p)
        return;
    sodium_memzero(p, n);
    if (gh_free_wiped_hook)
        gh_free_wiped_hook(p, n);
    free(p);
}

void gh_free_wiped_all(void *p)
{
    /* glibc (and ASan) report the usable size of any malloc'd block, so
     * jansson's blocks need no size header and stay free()-compatible:
     * callers free json_dumps output with plain free(). */
    if (p)
        gh_free_wiped(p, malloc_usable_size(p));
}
