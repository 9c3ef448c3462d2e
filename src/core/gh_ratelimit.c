/*
 * gh_ratelimit: the bounded in-memory bucket table (gh_ratelimit.h).
 */
#include "gh_ratelimit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Locks are striped over the sets: a set is always under one lock, and
 * requests for different keys rarely meet. */
enum { LOCKS = 64 };

typedef struct slot {
    uint64_t h; /* 0: free */
    int64_t used;
    int64_t logged; /* when a refusal of this key was last logged */
    gh_bucket b;
    uint32_t burst;  /* of the rate last used: bounds the debt others' tokens make */
    int32_t pending; /* tokens taken here since the last collection (sharing) */
    int64_t win;     /* the shared window own and seen count in */
    int64_t own;     /* this instance's tokens in that window */
    int64_t seen;    /* other instances' tokens in it, as last seen */
} slot;

static struct {
    slot *slots;
    size_t nsets;
    unsigned char key[crypto_shorthash_KEYBYTES];
    pthread_mutex_t locks[LOCKS];
} T;

static const char *const class_names[GH_RL_NCLASSES] = {"signin",       "signup", "code", "token",
                                                        "registration", "admin",  "other"};
static const char *const kind_names[GH_RLK_NKINDS] = {"address", "network", "identifier", "client"};

const char *gh_ratelimit_class_name(gh_rl_class c)
{
    return (unsigned)c < GH_RL_NCLASSES ? class_names[c] : "?";
}

const char *gh_ratelimit_kind_name(gh_rl_kind k)
{
    return (unsigned)k < GH_RLK_NKINDS ? kind_names[k] : "?";
}

int gh_ratelimit_init(size_t slots)
{
    gh_ratelimit_free();
    size_t nsets = (slots + GH_RATELIMIT_WAYS - 1) / GH_RATELIMIT_WAYS;
    if (nsets == 0)
        nsets = 1;
    T.slots = calloc(nsets * GH_RATELIMIT_WAYS, sizeof(slot));
    if (!T.slots)
        return -1;
    T.nsets = nsets;
    randombytes_buf(T.key, sizeof(T.key)); /* gh_ratelimit_set_hash_key replaces it */
    for (int i = 0; i < LOCKS; i++)
        pthread_mutex_init(&T.locks[i], NULL);
    return 0;
}

void gh_ratelimit_free(void)
{
    if (!T.slots)
        return;
    for (int i = 0; i < LOCKS; i++)
        pthread_mutex_destroy(&T.locks[i]);
    free(T.slots);
    T.slots = NULL;
    T.nsets = 0;
}

void gh_ratelimit_set_hash_key(const uint8_t key[32])
{
    _Static_assert(sizeof(T.key) <= 32, "the hash key fits the derived key");
    memcpy(T.key, key, sizeof(T.key));
}

/* The hash of class, kind and key together; never 0 (a free slot). */
static uint64_t key_hash(gh_rl_class c, gh_rl_kind k, const char *key)
{
    crypto_generichash_state st;
    unsigned char pre[2] = {(unsigned char)c, (unsigned char)k}, dig[16];
    crypto_generichash_init(&st, T.key, sizeof(T.key), sizeof(dig));
    crypto_generichash_update(&st, pre, sizeof(pre));
    crypto_generichash_update(&st, (const unsigned char *)key, strlen(key));
    crypto_generichash_final(&st, dig, sizeof(dig));
    uint64_t h;
    memcpy(&h, dig, sizeof(h));
    return h ? h : 1;
}

/* The slot of h in its set (locked by the caller): the one holding h, else
 * the least recently used one, emptied, when create; else NULL. */
static slot *find(uint64_t h, bool create)
{
    slot *set = T.slots + (h % T.nsets) * GH_RATELIMIT_WAYS, *lru = set;
    for (int i = 0; i < GH_RATELIMIT_WAYS; i++) {
        if (set[i].h == h)
            return &set[i];
        if (set[i].used < lru->used || (lru->h && !set[i].h))
            lru = &set[i];
    }
    if (!create)
        return NULL;
    memset(lru, 0, sizeof(*lru));
    lru->h = h;
    lru->logged = INT64_MIN;
    return lru;
}

static pthread_mutex_t *lock_of(uint64_t h)
{
    return &T.locks[(h % T.nsets) % LOCKS];
}

gh_rl_result gh_ratelimit_take(gh_rl_class c, gh_rl_kind k, const char *key,
                               const gh_bucket_rate *rate, int64_t now)
{
    gh_rl_result res = {0};
    if (!T.slots)
        return res;
    res.id = key_hash(c, k, key);
    pthread_mutex_t *m = lock_of(res.id);
    pthread_mutex_lock(m);
    slot *s = find(res.id, false);
    if (!s) {
        s = find(res.id, true);
        gh_bucket_init(&s->b, rate, now);
    }
    s->used = now;
    s->burst = rate->burst;
    res.wait_ms = gh_bucket_take(&s->b, rate, now);
    s->pending += res.wait_ms == 0;
    /* one line per key per window: a flood of refusals logs once */
    if (res.wait_ms > 0 && (s->logged == INT64_MIN || now - s->logged >= rate->window_ms)) {
        s->logged = now;
        res.log = true;
    }
    pthread_mutex_unlock(m);
    return res;
}

void gh_ratelimit_refund(gh_rl_class c, gh_rl_kind k, const char *key, const gh_bucket_rate *rate)
{
    if (!T.slots)
        return;
    uint64_t h = key_hash(c, k, key);
    pthread_mutex_t *m = lock_of(h);
    pthread_mutex_lock(m);
    slot *s = find(h, false);
    if (s) {
        gh_bucket_refund(&s->b, rate);
        s->pending--;
    }
    pthread_mutex_unlock(m);
}

size_t gh_ratelimit_collect(gh_rl_hot *out, size_t max)
{
    size_t n = 0;
    for (size_t set = 0; set < T.nsets && n < max; set++) {
        pthread_mutex_t *m = &T.locks[set % LOCKS];
        pthread_mutex_lock(m);
        slot *s = T.slots + set * GH_RATELIMIT_WAYS;
        for (int i = 0; i < GH_RATELIMIT_WAYS && n < max; i++)
            if (s[i].h && s[i].pending != 0) {
                out[n++] = (gh_rl_hot){s[i].h, s[i].pending};
                s[i].pending = 0;
            }
        pthread_mutex_unlock(m);
    }
    return n;
}

void gh_ratelimit_apply(uint64_t id, int64_t window, int64_t delta, int64_t total)
{
    if (!T.slots)
        return;
    pthread_mutex_t *m = lock_of(id);
    pthread_mutex_lock(m);
    slot *s = find(id, false);
    if (s) {
        if (s->win != window) {
            s->win = window;
            s->own = s->seen = 0;
        }
        s->own += delta;
        int64_t others = total - s->own, fresh = others - s->seen;
        s->seen = others;
        /* Others' tokens come out of this bucket too; a debt of at most one
         * full bucket, so a key hammered elsewhere waits here as well. */
        if (fresh > 0) {
            int64_t floor = -(int64_t)s->burst * 1000;
            s->b.milli -= fresh * 1000;
            if (s->b.milli < floor)
                s->b.milli = floor;
        }
    }
    pthread_mutex_unlock(m);
}

size_t gh_ratelimit_used(void)
{
    size_t n = 0;
    for (size_t i = 0; i < T.nsets * GH_RATELIMIT_WAYS; i++)
        n += T.slots[i].h != 0;
    return n;
}

size_t gh_ratelimit_capacity(void)
{
    return T.nsets * GH_RATELIMIT_WAYS;
}
