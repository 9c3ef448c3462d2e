#include "gh_keys.h"
#include "gh_keys_internal.h"

#include <cjose/cjose.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_jose.h"
#include "gh_log.h"
#include "gh_mkey.h"
#include "gh_store_users.h"
#include "gh_tenant_meta.h"

#define TENANT GH_DEFAULT_TENANT

enum {
    KID_MAX = GH_KEYS_KID_MAX,
    RSA_BITS = 2048,        /* our RSA keys */
    UNKNOWN_KID_GAP = 1000, /* ms: an unknown kid re-reads the table at most this often */
};

static struct {
    pthread_mutex_t mu;        /* guards cur */
    pthread_mutex_t reload_mu; /* one reload at a time; guards db, last_reload */
    pthread_mutex_t thread_mu; /* guards stop, running */
    pthread_cond_t cond;
    pthread_once_t cond_once;
    bool stop, running;
    pthread_t thread;
    gh_keyset *cur;
    gh_db *db;
    uint8_t mkey[GH_MASTER_KEY_BYTES];
    unsigned refresh_s;
    int64_t last_reload; /* gh_mono_ms of the last reload */
} K = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .reload_mu = PTHREAD_MUTEX_INITIALIZER,
    .thread_mu = PTHREAD_MUTEX_INITIALIZER,
    .cond_once = PTHREAD_ONCE_INIT,
};

static void cond_init(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&K.cond, &attr);
    pthread_condattr_destroy(&attr);
}

/* ---- small helpers ---- */

static bool is_es256(const char *alg)
{
    return alg && strcmp(alg, "ES256") == 0;
}

static bool is_rs256(const char *alg)
{
    return alg && strcmp(alg, "RS256") == 0;
}

/* cjose counts a key's references without atomics, and snapshots share
 * keys (key_reuse) while readers may free an old snapshot on any thread:
 * every retain and release of a key takes this lock. */
static pthread_mutex_t jwk_ref_mu = PTHREAD_MUTEX_INITIALIZER;

static void keyset_free(gh_keyset *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n; i++) {
        pthread_mutex_lock(&jwk_ref_mu);
        cjose_jwk_release(ks->keys[i].jwk);
        pthread_mutex_unlock(&jwk_ref_mu);
        free(ks->keys[i].pub);
        json_decref(ks->keys[i].hdr_plain);
        json_decref(ks->keys[i].hdr_at);
    }
    free(ks->keys);
    free(ks->by_kid);
    free(ks->jwks);
    free(ks);
}

gh_keyset *gh_keys_acquire(void)
{
    pthread_mutex_lock(&K.mu);
    gh_keyset *ks = K.cur;
    if (ks)
        atomic_fetch_add(&ks->refs, 1);
    pthread_mutex_unlock(&K.mu);
    return ks;
}

void gh_keys_release(gh_keyset *ks)
{
    if (ks && atomic_fetch_sub(&ks->refs, 1) == 1)
        keyset_free(ks);
}

/* ---- JWKs ---- */

/* The published form: {kty, use, alg, kid, <public members>}, as JSON text. */
static char *published_text(const json_t *pub, const char *kid, const char *alg)
{
    json_t *o = json_pack("{s:O, s:s, s:s, s:s}", "kty", json_object_get(pub, "kty"), "use", "sig",
                          "alg", alg, "kid", kid);
    if (!o)
        return NULL;
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)pub, name, v)
    {
        if (strcmp(name, "kty") != 0)
            json_object_set(o, name, v);
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}

/* ---- keys in the table ---- */

static void seal_ad(char *out, size_t n, const char *tenant, const char *kid)
{
    snprintf(out, n, "key:%s:%s", tenant, kid);
}

/* Makes a new key of alg as a table row (sealed private JWK) in the arena. */
static int generate(gh_arena *a, const uint8_t mkey[GH_MASTER_KEY_BYTES], const char *tenant,
                    const char *alg, int64_t now, gh_keyrow *row, char *err, size_t errlen)
{
    static const uint8_t e65537[] = {0x01, 0x00, 0x01};
    cjose_err ce;
    cjose_jwk_t *jwk = is_es256(alg) ? cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &ce)
                                     : cjose_jwk_create_RSA_random(RSA_BITS, e65537, 3, &ce);
    json_t *pub = jwk ? gh_jose_public_members(jwk) : NULL;
    const char *kid = pub ? gh_jose_thumbprint(a, pub) : NULL;
    char *priv = kid ? cjose_jwk_to_json(jwk, true, &ce) : NULL;
    char *pubtext = priv ? published_text(pub, kid, alg) : NULL;
    char ad[128];
    int rc = -1;
    if (pubtext) {
        seal_ad(ad, sizeof(ad), tenant, kid);
        memset(row, 0, sizeof(*row));
        row->tenant_id = gh_arena_strdup(a, tenant);
        row->kid = kid;
        row->alg = alg;
        row->private_jwk = gh_mkey_seal(a, mkey, ad, (const uint8_t *)priv, strlen(priv));
        row->public_jwk = gh_arena_strdup(a, pubtext);
        row->created_at = now;
        if (row->private_jwk && row->public_jwk)
            rc = 0;
    }
    if (rc != 0)
        snprintf(err, errlen, "cannot generate an %s signing key", alg);
    free(pubtext);
    gh_jose_free_text(priv, true);
    json_decref(pub);
    cjose_jwk_release(jwk);
    return rc;
}

/* Opens one row into k: decrypts, imports, checks that kid is the key's
 * thumbprint and that alg fits the key. */
static int key_from_row(gh_arena *a, const uint8_t mkey[GH_MASTER_KEY_BYTES], const gh_keyrow *row,
                        gh_key *k, char *err, size_t errlen)
{
    char ad[128];
    size_t n = 0;
    memset(k, 0, sizeof(*k));
    if (!row->kid || strlen(row->kid) >= KID_MAX || !row->private_jwk ||
        (row->tenant_id && strlen(row->tenant_id) > GH_TENANT_ID_MAX)) {
        snprintf(err, errlen, "signing key row with a bad kid");
        return -1;
    }
    seal_ad(ad, sizeof(ad), row->tenant_id ? row->tenant_id : TENANT, row->kid);
    uint8_t *plain = gh_mkey_open(a, mkey, ad, row->private_jwk, &n);
    if (!plain) {
        snprintf(err, errlen,
                 "signing key %s cannot be decrypted: is the master key the one it was made with?",
                 row->kid);
        return -1;
    }
    cjose_err ce;
    k->jwk = cjose_jwk_import((const char *)plain, n, &ce);
    sodium_memzero(plain, n);
    json_t *pub = k->jwk ? gh_jose_public_members(k->jwk) : NULL;
    const char *tp = pub ? gh_jose_thumbprint(a, pub) : NULL;
    const char *why = NULL;
    if (!tp)
        why = "cannot be read";
    else if (strcmp(tp, row->kid) != 0)
        why = "does not match its kid";
    else if (gh_jose_key_fits(k->jwk, row->alg, 0) != NULL)
        why = "does not fit its alg";
    if (!why && !(k->pub = published_text(pub, row->kid, row->alg)))
        why = "cannot be published";
    json_decref(pub);
    if (why) {
        snprintf(err, errlen, "signing key %s %s", row->kid, why);
        cjose_jwk_release(k->jwk);
        k->jwk = NULL;
        return -1;
    }
    snprintf(k->tenant, sizeof(k->tenant), "%s", row->tenant_id ? row->tenant_id : TENANT);
    snprintf(k->kid, sizeof(k->kid), "%s", row->kid);
    snprintf(k->alg, sizeof(k->alg), "%s", row->alg);
    k->created_at = row->created_at;
    k->retired_at = row->retired_at;
    k->expires_at = row->expires_at;
    k->hdr_plain = json_pack("{s:s, s:s}", "alg", k->alg, "kid", k->kid);
    k->hdr_at = json_pack("{s:s, s:s, s:s}", "alg", k->alg, "kid", k->kid, "typ", "at+jwt");
    if (!k->hdr_plain || !k->hdr_at) {
        snprintf(err, errlen, "signing key %s: out of memory", row->kid);
        json_decref(k->hdr_plain);
        json_decref(k->hdr_at);
        free(k->pub);
        cjose_jwk_release(k->jwk);
        memset(k, 0, sizeof(*k));
        return -1;
    }
    return 0;
}

static int key_cmp(const void *a, const void *b)
{
    const gh_key *x = a, *y = b;
    int c = strcmp(x->tenant, y->tenant);
    if (c == 0 && x->created_at != y->created_at)
        c = x->created_at > y->created_at ? -1 : 1;
    return c ? c : strcmp(x->kid, y->kid);
}

static int kid_cmp(const void *a, const void *b)
{
    return strcmp((*(gh_key *const *)a)->kid, (*(gh_key *const *)b)->kid);
}

/* dst takes src's key (already decrypted and checked, in the previous
 * snapshot) with the row's times: a reload with a thousand tenants opens
 * only the keys that are new. */
static int key_reuse(const gh_key *src, const gh_keyrow *row, gh_key *dst)
{
    *dst = *src;
    dst->pub = strdup(src->pub);
    if (!dst->pub) {
        memset(dst, 0, sizeof(*dst));
        return -1;
    }
    cjose_err ce;
    pthread_mutex_lock(&jwk_ref_mu);
    cjose_jwk_retain(dst->jwk, &ce);
    pthread_mutex_unlock(&jwk_ref_mu);
    json_incref(dst->hdr_plain);
    json_incref(dst->hdr_at);
    dst->created_at = row->created_at;
    dst->retired_at = row->retired_at;
    dst->expires_at = row->expires_at;
    return 0;
}

/* A snapshot of rows; keys of algs we do not know are skipped.
 * prev: the snapshot in use, whose keys are taken over (NULL: open all). */
static gh_keyset *build_set(gh_arena *a, const uint8_t mkey[GH_MASTER_KEY_BYTES],
                            const gh_keyrow *rows, size_t n, const gh_keyset *prev, char *err,
                            size_t errlen)
{
    gh_keyset *ks = calloc(1, sizeof(*ks));
    if (!ks || (n && !(ks->keys = calloc(n, sizeof(gh_key))))) {
        free(ks);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    atomic_init(&ks->refs, 1);
    for (size_t i = 0; i < n; i++) {
        if (!is_es256(rows[i].alg) && !is_rs256(rows[i].alg)) {
            gh_log(GH_LOG_WARN, "signing key skipped", "key %s has alg %s, which is not known",
                   rows[i].kid ? rows[i].kid : "?", rows[i].alg ? rows[i].alg : "?");
            continue;
        }
        const gh_key *old =
            prev && rows[i].kid
                ? gh_keys_find_kid(prev, rows[i].tenant_id ? rows[i].tenant_id : TENANT,
                                   rows[i].kid)
                : NULL;
        if (old && strcmp(old->alg, rows[i].alg) == 0) {
            if (key_reuse(old, &rows[i], &ks->keys[ks->n]) != 0) {
                snprintf(err, errlen, "out of memory");
                keyset_free(ks);
                return NULL;
            }
        } else if (key_from_row(a, mkey, &rows[i], &ks->keys[ks->n], err, errlen) != 0) {
            keyset_free(ks);
            return NULL;
        }
        ks->n++;
    }
    /* by tenant, newest first, sorted here: the database's collation need
     * not be strcmp's; the kid index serves verification (qsort wants a
     * non-null base even for no elements: an empty set has none) */
    if (ks->n)
        qsort(ks->keys, ks->n, sizeof(gh_key), key_cmp);
    if (ks->n && !(ks->by_kid = calloc(ks->n, sizeof(gh_key *)))) {
        keyset_free(ks);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < ks->n; i++)
        ks->by_kid[i] = &ks->keys[i];
    if (ks->n)
        qsort(ks->by_kid, ks->n, sizeof(gh_key *), kid_cmp);
    return ks;
}

/* The first key of tenant in ks->keys (sorted by tenant), or ks->n. */
size_t gh_keys_tenant_first(const gh_keyset *ks, const char *tenant)
{
    size_t lo = 0, hi = ks ? ks->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ks->keys[mid].tenant, tenant) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The key that signs for alg: active, newest; equal times go by kid so
 * every instance picks the same. */
static const gh_key *active_key(const gh_keyset *ks, const char *tenant, const char *alg)
{
    const gh_key *best = NULL;
    for (size_t i = gh_keys_tenant_first(ks, tenant); ks && i < ks->n; i++) {
        const gh_key *k = &ks->keys[i];
        if (strcmp(k->tenant, tenant) != 0)
            break;
        if (k->retired_at || strcmp(k->alg, alg) != 0)
            continue;
        if (!best || k->created_at > best->created_at ||
            (k->created_at == best->created_at && strcmp(k->kid, best->kid) < 0))
            best = k;
    }
    return best;
}

/* The key named kid, when it is tenant's. */
const gh_key *gh_keys_find_kid(const gh_keyset *ks, const char *tenant, const char *kid)
{
    size_t lo = 0, hi = ks ? ks->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(kid, ks->by_kid[mid]->kid);
        if (c == 0)
            return strcmp(ks->by_kid[mid]->tenant, tenant) == 0 ? ks->by_kid[mid] : NULL;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Reads the live rows of every tenant on c. */
static int rows_on(gh_dbconn *c, gh_arena *a, gh_keyrow **rows, size_t *n, char *err, size_t errlen)
{
    gh_dbrc rc = gh_store_keys_list(c, a, NULL, 1, gh_now_ms(), rows, n);
    if (rc != GH_DB_OK) {
        snprintf(err, errlen, "signing keys: cannot read them: %s", gh_dbrc_str(rc));
        return -1;
    }
    return 0;
}

/* The same on a connection of db; without wait, fails at once when none is
 * free. */
static int read_rows(gh_db *db, gh_arena *a, bool wait, gh_keyrow **rows, size_t *n, char *err,
                     size_t errlen)
{
    gh_dbconn *c = wait ? gh_db_acquire(db) : gh_db_try_acquire(db);
    if (!c) {
        snprintf(err, errlen, "signing keys: no database connection%s", wait ? "" : " free");
        return -1;
    }
    int rc = rows_on(c, a, rows, n, err, errlen);
    gh_db_release(c);
    return rc;
}

/* Makes the keys of the algs that have no active key; with es_only, only
 * ES256 (RSA generation takes 100-300 ms, too long for start-up: the refresh
 * thread makes that key right after the server is up). */
static int ensure_keys(gh_db *db, const uint8_t mkey[GH_MASTER_KEY_BYTES], const char *tenant,
                       bool es_only, char *err, size_t errlen)
{
    static const char *const algs[] = {"ES256", "RS256"};
    gh_arena *a = gh_arena_new(0);
    gh_dbconn *c = NULL;
    gh_keyrow made[2];
    bool need[2] = {false, false};
    int rc = -1, nneed = 0;
    if (!a)
        return -1;
    if (!(c = gh_db_acquire(db))) {
        snprintf(err, errlen, "signing keys: no database connection");
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        long long cnt = 0;
        if (gh_store_keys_count_active(c, a, tenant, algs[i], &cnt) != GH_DB_OK) {
            snprintf(err, errlen, "signing keys: cannot read them");
            goto out;
        }
        need[i] = cnt == 0 && !(es_only && i == 1);
        nneed += need[i];
    }
    if (!nneed) {
        rc = 0;
        goto out;
    }
    /* Key generation (RSA: tens of ms) happens outside any transaction. */
    gh_db_release(c);
    c = NULL;
    int64_t now = gh_now_ms(), t0 = gh_mono_ms();
    for (int i = 0; i < 2; i++)
        if (need[i] && generate(a, mkey, tenant, algs[i], now, &made[i], err, errlen) != 0)
            goto out;
    if (!(c = gh_db_acquire(db)) || gh_db_begin(c) != GH_DB_OK) {
        snprintf(err, errlen, "signing keys: cannot store new keys");
        goto out;
    }
    /* Another instance may have made them meanwhile: check again inside the
     * transaction (SQLite's BEGIN IMMEDIATE makes this exclusive). */
    for (int i = 0; i < 2; i++) {
        long long cnt = 0;
        if (!need[i])
            continue;
        if (gh_store_keys_count_active(c, a, tenant, algs[i], &cnt) != GH_DB_OK ||
            (cnt == 0 && gh_store_keys_insert(c, a, &made[i]) != GH_DB_OK)) {
            gh_db_rollback(c);
            snprintf(err, errlen, "signing keys: cannot store new keys");
            goto out;
        }
        if (cnt == 0)
            gh_log_event(GH_LOG_INFO, "signing key created",
                         json_pack("{s:s, s:s, s:s, s:I}", "tenant", tenant, "kid", made[i].kid,
                                   "alg", algs[i], "ms", (json_int_t)(gh_mono_ms() - t0)));
    }
    if (gh_db_commit(c) != GH_DB_OK) {
        snprintf(err, errlen, "signing keys: cannot store new keys");
        goto out;
    }
    rc = 0;
out:
    gh_db_release(c);
    gh_arena_free(a);
    return rc;
}

/* True when the active kids of two snapshots differ. */
static bool active_changed(const gh_keyset *a, const gh_keyset *b)
{
    static const char *const algs[] = {"ES256", "RS256"};
    for (int i = 0; i < 2; i++) {
        const gh_key *x = active_key(a, TENANT, algs[i]), *y = active_key(b, TENANT, algs[i]);
        if ((x == NULL) != (y == NULL) || (x && strcmp(x->kid, y->kid) != 0))
            return true;
    }
    return false;
}

static json_t *active_kids(const gh_keyset *ks)
{
    const gh_key *es = active_key(ks, TENANT, "ES256"), *rs = active_key(ks, TENANT, "RS256");
    return json_pack("{s:s?, s:s?, s:I}", "ES256", es ? es->kid : NULL, "RS256",
                     rs ? rs->kid : NULL, "published", (json_int_t)(ks ? ks->n : 0));
}

/* Re-reads the table into a new snapshot; K.reload_mu held. wait: for a
 * database connection (else fails when none is free). */
static int reload_with(bool wait, char *err, size_t errlen)
{
    if (!K.db) {
        snprintf(err, errlen, "signing keys are not loaded");
        return -1;
    }
    gh_arena *a = gh_arena_new(0);
    gh_keyrow *rows = NULL;
    size_t n = 0;
    gh_keyset *ks = NULL;
    int rc = -1;
    K.last_reload = gh_mono_ms();
    gh_keyset *prev = gh_keys_acquire();
    if (a && read_rows(K.db, a, wait, &rows, &n, err, errlen) == 0 &&
        (ks = build_set(a, K.mkey, rows, n, prev, err, errlen)) != NULL)
        rc = 0;
    gh_keys_release(prev);
    gh_arena_free(a);
    if (rc != 0)
        return -1;
    pthread_mutex_lock(&K.mu);
    gh_keyset *old = K.cur;
    K.cur = ks;
    pthread_mutex_unlock(&K.mu);
    if (old && active_changed(old, ks))
        gh_log_event(GH_LOG_INFO, "signing keys changed", active_kids(ks));
    gh_keys_release(old);
    return 0;
}

static int reload_locked(char *err, size_t errlen)
{
    return reload_with(true, err, errlen);
}

int gh_keys_reload(char *err, size_t errlen)
{
    pthread_mutex_lock(&K.reload_mu);
    int rc = reload_locked(err, errlen);
    pthread_mutex_unlock(&K.reload_mu);
    return rc;
}

static atomic_uint unknown_kid_reloads;

unsigned gh_keys_unknown_kid_reloads(void)
{
    return atomic_load(&unknown_kid_reloads);
}

/* A kid we do not know may be a key another instance just made, so the
 * table is re-read, but a token with a made-up kid costs an attacker
 * nothing: at most one re-read a second (UNKNOWN_KID_GAP), by one thread,
 * and no caller ever waits for one. A thread that finds another reloading,
 * or a re-read under a second old, checks the token against the keys it
 * has (an unknown kid is refused); the one that re-reads takes a database
 * connection only if one is free at once. Callers are HTTP polling threads,
 * which must not stall every connection they serve. */
static void reload_for_unknown_kid(void)
{
    if (pthread_mutex_trylock(&K.reload_mu) != 0)
        return;
    if (K.db && gh_mono_ms() - K.last_reload >= UNKNOWN_KID_GAP) {
        char err[256];
        atomic_fetch_add(&unknown_kid_reloads, 1);
        gh_log(GH_LOG_INFO, "signing keys re-read", "a token named an unknown kid");
        if (reload_with(false, err, sizeof(err)) != 0)
            gh_log(GH_LOG_WARN, "signing keys not refreshed", "%s", err);
    }
    pthread_mutex_unlock(&K.reload_mu);
}

/* Makes any key of tenant start-up or its creation left out and publishes it. */
static void complete_keys(const char *tenant)
{
    char err[256];
    pthread_mutex_lock(&K.reload_mu);
    int rc = K.db ? ensure_keys(K.db, K.mkey, tenant, false, err, sizeof(err)) : 0;
    if (rc == 0 && K.db)
        rc = reload_locked(err, sizeof(err));
    pthread_mutex_unlock(&K.reload_mu);
    if (rc != 0)
        gh_log(GH_LOG_WARN, "signing keys not completed", "%s", err);
}

static void *refresher(void *arg)
{
    (void)arg;
    complete_keys(TENANT);
    pthread_mutex_lock(&K.thread_mu);
    while (!K.stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += K.refresh_s;
        while (!K.stop && pthread_cond_timedwait(&K.cond, &K.thread_mu, &until) != ETIMEDOUT)
            ;
        if (K.stop)
            break;
        pthread_mutex_unlock(&K.thread_mu);
        char err[256];
        if (gh_keys_reload(err, sizeof(err)) != 0)
            gh_log(GH_LOG_WARN, "signing keys not refreshed", "%s", err);
        pthread_mutex_lock(&K.thread_mu);
    }
    pthread_mutex_unlock(&K.thread_mu);
    return NULL;
}

int gh_keys_init(gh_app *app, char *err, size_t errlen)
{
    int64_t t0 = gh_mono_ms();
    gh_keys_shutdown();
    pthread_once(&K.cond_once, cond_init);
    if (!app || !app->db || !app->cfg || !app->cfg->master_key_set) {
        snprintf(err, errlen, "signing keys: no store or master key");
        return -1;
    }
    pthread_mutex_lock(&K.reload_mu);
    K.db = app->db;
    memcpy(K.mkey, app->cfg->master_key, sizeof(K.mkey));
    K.refresh_s = app->cfg->keys_refresh ? app->cfg->keys_refresh : 30;
    int rc = ensure_keys(K.db, K.mkey, TENANT, true, err, errlen);
    if (rc == 0)
        rc = reload_locked(err, errlen);
    if (rc != 0) {
        K.db = NULL;
        sodium_memzero(K.mkey, sizeof(K.mkey));
    }
    pthread_mutex_unlock(&K.reload_mu);
    if (rc != 0)
        return -1;
    gh_keyset *ks = gh_keys_acquire();
    json_t *fields = active_kids(ks);
    json_object_set_new(fields, "ms", json_integer(gh_mono_ms() - t0));
    gh_log_event(GH_LOG_INFO, "signing keys loaded", fields);
    gh_keys_release(ks);

    pthread_mutex_lock(&K.thread_mu);
    K.stop = false;
    K.running = pthread_create(&K.thread, NULL, refresher, NULL) == 0;
    pthread_mutex_unlock(&K.thread_mu);
    if (!K.running) {
        snprintf(err, errlen, "signing keys: cannot start the refresh thread");
        gh_keys_shutdown();
        return -1;
    }
    return 0;
}

void gh_keys_shutdown(void)
{
    pthread_once(&K.cond_once, cond_init);
    pthread_mutex_lock(&K.thread_mu);
    bool running = K.running;
    K.stop = true;
    pthread_cond_broadcast(&K.cond);
    pthread_mutex_unlock(&K.thread_mu);
    if (running)
        pthread_join(K.thread, NULL);
    pthread_mutex_lock(&K.thread_mu);
    K.running = false;
    K.stop = false;
    pthread_mutex_unlock(&K.thread_mu);

    pthread_mutex_lock(&K.reload_mu);
    pthread_mutex_lock(&K.mu);
    gh_keyset *old = K.cur;
    K.cur = NULL;
    pthread_mutex_unlock(&K.mu);
    K.db = NULL;
    sodium_memzero(K.mkey, sizeof(K.mkey));
    pthread_mutex_unlock(&K.reload_mu);
    gh_keys_release(old);
    gh_keys_verified_clear();
}

/* ---- signing ---- */

char *gh_keys_sign_text_for(gh_arena *a, const char *tenant, const char *alg, const char *typ,
                            const char *payload, size_t len)
{
    if (!(is_es256(alg) || is_rs256(alg)) || !payload || !tenant)
        return NULL;
    gh_keyset *ks = gh_keys_acquire();
    const gh_key *k = active_key(ks, tenant, alg);
    if (!k) { /* first start, before the refresh thread made it */
        gh_keys_release(ks);
        complete_keys(tenant);
        ks = gh_keys_acquire();
        k = active_key(ks, tenant, alg);
    }
    char *out = NULL;
    json_t *hdr = NULL;
    cjose_jws_t *jws = NULL;
    cjose_err ce = {0};
    if (!k) {
        gh_log(GH_LOG_ERROR, "cannot sign", "no active %s signing key for tenant %s", alg, tenant);
        goto out;
    }
    if (!typ)
        hdr = json_incref(k->hdr_plain);
    else if (strcmp(typ, "at+jwt") == 0)
        hdr = json_incref(k->hdr_at);
    else
        hdr = json_pack("{s:s, s:s, s:s}", "alg", alg, "kid", k->kid, "typ", typ);
    if (!hdr)
        goto out;
    jws = cjose_jws_sign(k->jwk, (cjose_header_t *)hdr, (const uint8_t *)payload, len, &ce);
    const char *ser = NULL;
    if (!jws || !cjose_jws_export(jws, &ser, &ce) || !ser) {
        gh_log(GH_LOG_ERROR, "cannot sign", "%s with %s: %s", alg, k->kid,
               ce.message ? ce.message : "cjose error");
        goto out;
    }
    out = gh_arena_strdup(a, ser);
out:
    cjose_jws_release(jws);
    json_decref(hdr);
    gh_keys_release(ks);
    return out;
}

char *gh_keys_sign_text(gh_arena *a, const char *alg, const char *typ, const char *payload,
                        size_t len)
{
    return gh_keys_sign_text_for(a, TENANT, alg, typ, payload, len);
}

char *gh_keys_sign_for(gh_arena *a, const char *tenant, const char *alg, const char *typ,
                       const json_t *payload)
{
    if (!json_is_object(payload))
        return NULL;
    char *body = json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *out = body ? gh_keys_sign_text_for(a, tenant, alg, typ, body, strlen(body)) : NULL;
    free(body);
    return out;
}

char *gh_keys_sign(gh_arena *a, const char *alg, const char *typ, const json_t *payload)
{
    return gh_keys_sign_for(a, TENANT, alg, typ, payload);
}

char *gh_keys_half_hash(gh_arena *a, const char *value)
{
    uint8_t h[GH_SHA256_BYTES];
    if (!value)
        return NULL;
    gh_sha256(value, strlen(value), h);
    return gh_b64url(a, h, GH_SHA256_BYTES / 2);
}

/* ---- verification (the tokens that verified: gh_keys_cache.c) ---- */

json_t *gh_keys_verify_for(const char *tenant, const char *jws, const char *typ, const char **why)
{
    const char *scratch = NULL;
    if (!why)
        why = &scratch;
    *why = NULL;
    uint8_t hash[GH_SHA256_BYTES];
    json_t *out = NULL;
    gh_keyset *ks = NULL;
    if (jws) {
        gh_sha256(jws, strlen(jws), hash);
        ks = gh_keys_acquire();
        out = gh_keys_verified_find(hash, tenant, typ, ks);
        gh_keys_release(ks);
        ks = NULL;
        if (out)
            return out;
    }
    gh_jose_jws p;
    if (gh_jose_parse(jws, &p, why) != 0)
        return NULL;
    const gh_key *k = NULL;
    if (!is_es256(p.alg) && !is_rs256(p.alg)) {
        *why = "alg not allowed";
        goto out;
    }
    if (typ && !gh_jose_typ_matches(p.typ, typ)) {
        *why = "wrong typ";
        goto out;
    }
    if (!p.kid) {
        *why = "no kid";
        goto out;
    }
    ks = gh_keys_acquire();
    if (!(k = gh_keys_find_kid(ks, tenant, p.kid))) {
        gh_keys_release(ks);
        reload_for_unknown_kid();
        ks = gh_keys_acquire();
        k = gh_keys_find_kid(ks, tenant, p.kid);
    }
    if (!k)
        *why = "unknown kid";
    else if (strcmp(k->alg, p.alg) != 0)
        *why = "alg does not match the key";
    else if (k->expires_at && gh_now_ms() >= k->expires_at)
        *why = "key expired";
    else if ((*why = gh_jose_key_fits(k->jwk, p.alg, p.siglen)) == NULL)
        out = gh_jose_check_signature(&p, k->jwk, why);
    if (out)
        gh_keys_verified_put(hash, typ, k->kid, k->alg, out);
out:
    gh_keys_release(ks);
    gh_jose_jws_free(&p);
    return out;
}

json_t *gh_keys_verify(const char *jws, const char *typ, const char **why)
{
    return gh_keys_verify_for(TENANT, jws, typ, why);
}

/* ---- rotation ---- */

int64_t gh_keys_keep_ms(const gh_config *cfg)
{
    int64_t ttl =
        cfg->access_token_ttl > cfg->id_token_ttl ? cfg->access_token_ttl : cfg->id_token_ttl;
    int64_t lag = cfg->keys_refresh > 30 ? cfg->keys_refresh - 30 : 0;
    return (ttl + GH_KEYS_GRACE_S + lag) * 1000;
}

int gh_keys_make_for(const gh_config *cfg, gh_dbconn *c, const char *tenant, char *err,
                     size_t errlen)
{
    static const char *const algs[] = {"ES256", "RS256"};
    gh_arena *a = gh_arena_new(0);
    gh_keyrow made[2];
    int rc = -1;
    if (!a)
        return -1;
    int64_t now = gh_now_ms();
    for (int i = 0; i < 2; i++)
        if (generate(a, cfg->master_key, tenant, algs[i], now, &made[i], err, errlen) != 0)
            goto out;
    if (gh_db_begin(c) != GH_DB_OK)
        goto fail;
    for (int i = 0; i < 2; i++) {
        long long cnt = 0;
        if (gh_store_keys_count_active(c, a, tenant, algs[i], &cnt) == GH_DB_OK && cnt == 0)
            gh_store_keys_insert(c, a, &made[i]);
    }
    if (gh_db_commit(c) != GH_DB_OK)
        goto fail;
    rc = 0;
    pthread_mutex_lock(&K.reload_mu);
    if (K.db)
        rc = reload_locked(err, errlen);
    pthread_mutex_unlock(&K.reload_mu);
    goto out;
fail:
    snprintf(err, errlen, "signing keys: cannot store the new keys");
out:
    gh_arena_free(a);
    return rc;
}

int gh_keys_rotate(gh_db *db, const uint8_t mkey[GH_MASTER_KEY_BYTES], int64_t keep_ms,
                   char es_kid[64], char rs_kid[64], char *err, size_t errlen)
{
    return gh_keys_rotate_for(db, mkey, TENANT, keep_ms, es_kid, rs_kid, err, errlen);
}

/* Rotates tenant's keys on c (no transaction open on it); in_tx (NULL:
 * none) runs in the transaction, before the commit. */
static int rotate_on(gh_dbconn *c, gh_arena *a, const uint8_t mkey[GH_MASTER_KEY_BYTES],
                     const char *tenant, int64_t keep_ms, gh_keys_in_tx in_tx, void *arg,
                     char es_kid[64], char rs_kid[64], char *err, size_t errlen)
{
    gh_keyrow *rows = NULL, es, rs;
    size_t n = 0;
    /* New keys sealed under another master key than the servers' would stop
     * every server at its next start: refuse when the live keys do not open.
     * The check opens every live key: a scratch arena, freed at once. */
    gh_arena *scratch = gh_arena_new(0);
    gh_keyset *check = scratch && rows_on(c, scratch, &rows, &n, err, errlen) == 0
                           ? build_set(scratch, mkey, rows, n, NULL, err, errlen)
                           : NULL;
    bool opened = check != NULL;
    keyset_free(check);
    gh_arena_free(scratch);
    if (!opened)
        return -1;
    int64_t now = gh_now_ms();
    if (generate(a, mkey, tenant, "ES256", now, &es, err, errlen) != 0 ||
        generate(a, mkey, tenant, "RS256", now, &rs, err, errlen) != 0)
        return -1;
    long long deleted = 0;
    if (gh_db_begin(c) != GH_DB_OK ||
        gh_store_keys_retire(c, a, tenant, now, now + keep_ms) != GH_DB_OK ||
        gh_store_keys_insert(c, a, &es) != GH_DB_OK ||
        gh_store_keys_insert(c, a, &rs) != GH_DB_OK ||
        gh_store_keys_delete_expired(c, a, tenant, now, &deleted) != GH_DB_OK ||
        (in_tx && in_tx(arg, c, es.kid, rs.kid, now + keep_ms) != GH_DB_OK) ||
        gh_db_commit(c) != GH_DB_OK) {
        gh_db_rollback(c);
        snprintf(err, errlen, "signing keys: cannot store the new keys");
        return -1;
    }
    if (es_kid)
        snprintf(es_kid, 64, "%s", es.kid);
    if (rs_kid)
        snprintf(rs_kid, 64, "%s", rs.kid);
    gh_log_event(GH_LOG_INFO, "signing keys rotated",
                 json_pack("{s:s, s:s, s:s, s:I, s:I}", "tenant", tenant, "ES256", es.kid, "RS256",
                           rs.kid, "retired_expire_at", (json_int_t)(now + keep_ms), "deleted",
                           (json_int_t)deleted));
    return 0;
}

int gh_keys_rotate_for(gh_db *db, const uint8_t mkey[GH_MASTER_KEY_BYTES], const char *tenant,
                       int64_t keep_ms, char es_kid[64], char rs_kid[64], char *err, size_t errlen)
{
    gh_arena *a = gh_arena_new(0);
    gh_dbconn *c = a ? gh_db_acquire(db) : NULL;
    int rc = -1;
    if (!c)
        snprintf(err, errlen, "signing keys: no database connection");
    else
        rc = rotate_on(c, a, mkey, tenant, keep_ms, NULL, NULL, es_kid, rs_kid, err, errlen);
    gh_db_release(c);
    gh_arena_free(a);
    return rc;
}

int gh_keys_rotate_on(const gh_config *cfg, gh_dbconn *c, gh_arena *a, const char *tenant,
                      gh_keys_in_tx in_tx, void *arg, char es_kid[64], char rs_kid[64], char *err,
                      size_t errlen)
{
    if (rotate_on(c, a, cfg->master_key, tenant, gh_keys_keep_ms(cfg), in_tx, arg, es_kid, rs_kid,
                  err, errlen) != 0)
        return -1;
    /* this process signs with the new keys at once (others within
     * GATEHOUSE_KEYS_REFRESH, or at the first token naming a new kid) */
    char why[256];
    pthread_mutex_lock(&K.reload_mu);
    if (K.db && reload_locked(why, sizeof(why)) != 0)
        gh_log(GH_LOG_WARN, "signing keys not refreshed", "%s", why);
    pthread_mutex_unlock(&K.reload_mu);
    return 0;
}
