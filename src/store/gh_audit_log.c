#include "gh_audit_log.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_log.h"
#include "gh_metrics_series.h"
#include "gh_mkey.h"

/* Set once at start-up, read by every append; the mutex only orders the
 * one write before the reads of other threads. */
static struct {
    pthread_mutex_t lock;
    bool keyed;
    uint8_t pii[GH_AUDIT_KEY_BYTES];
    uint8_t cp[GH_AUDIT_KEY_BYTES];
    uint8_t seal[GH_AUDIT_KEY_BYTES];
    gh_audit_signer signer;
    void (*wake)(void); /* the sealer's; NULL: appends seal in their transaction */
    bool sealer_only;   /* gh_audit_log_set_chain_in_tx(false) */
    long long every_events, every_ms;
} K = {.lock = PTHREAD_MUTEX_INITIALIZER, .every_events = 1000, .every_ms = 3600000};

void gh_audit_log_set_key(const uint8_t master[GH_MASTER_KEY_BYTES])
{
    pthread_mutex_lock(&K.lock);
    K.keyed =
        gh_mkey_derive(master, "gatehouse audit pii v1", K.pii, sizeof(K.pii)) == 0 &&
        gh_mkey_derive(master, "gatehouse audit checkpoint key v1", K.cp, sizeof(K.cp)) == 0 &&
        gh_mkey_derive(master, "gatehouse audit seal v1", K.seal, sizeof(K.seal)) == 0;
    pthread_mutex_unlock(&K.lock);
}

static bool copy_key(const uint8_t *k, uint8_t out[GH_AUDIT_KEY_BYTES])
{
    pthread_mutex_lock(&K.lock);
    bool ok = K.keyed;
    if (ok)
        memcpy(out, k, GH_AUDIT_KEY_BYTES);
    pthread_mutex_unlock(&K.lock);
    return ok;
}

bool gh_audit_log_pii_key(uint8_t out[GH_AUDIT_KEY_BYTES])
{
    return copy_key(K.pii, out);
}

bool gh_audit_log_cp_key(uint8_t out[GH_AUDIT_KEY_BYTES])
{
    return copy_key(K.cp, out);
}

bool gh_audit_log_seal_key(uint8_t out[GH_AUDIT_KEY_BYTES])
{
    return copy_key(K.seal, out);
}

void gh_audit_log_set_sealer(void (*wake)(void))
{
    pthread_mutex_lock(&K.lock);
    K.wake = wake;
    pthread_mutex_unlock(&K.lock);
}

void gh_audit_log_set_checkpoints(gh_audit_signer signer, unsigned every_events,
                                  unsigned every_minutes)
{
    pthread_mutex_lock(&K.lock);
    K.signer = signer;
    K.every_events = every_events ? every_events : 1000;
    K.every_ms = (long long)(every_minutes ? every_minutes : 60) * 60000;
    pthread_mutex_unlock(&K.lock);
}

static void head_from(const gh_dbres *r, gh_audit_head *h)
{
    h->n = gh_dbres_int(r, 0, 0);
    const char *hash = gh_dbres_get(r, 0, 1);
    snprintf(h->hash, sizeof(h->hash), "%s", hash ? hash : GH_AUDIT_GENESIS);
    h->cp_n = gh_dbres_int(r, 0, 2);
    h->cp_time = gh_dbres_int(r, 0, 3);
}

gh_dbrc gh_audit_log_head(gh_dbconn *c, gh_arena *a, const char *tenant, gh_audit_head *h)
{
    static const char sql[] =
        "SELECT n, hash, cp_n, cp_time FROM audit_chain_heads WHERE tenant_id = $1";
    gh_dbparam p[] = {GH_TEXT(tenant)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 1, &r);
    if (rc == GH_DB_OK)
        head_from(&r, h);
    return rc;
}

/* The row of the event as the chain reads it, from columns in the order of
 * ROW_COLS starting at col. */
#define ROW_COLS                                                                                   \
    "seq, tenant_id, chain_n, prev_hash, id, time, type, subject, actor, ip, user_agent, "         \
    "outcome, reason, details, pii_digest, hash, seal_mac"

static void row_from(const gh_dbres *r, size_t i, gh_audit_row *o)
{
    o->seq = gh_dbres_int(r, i, 0);
    o->tenant_id = gh_dbres_get(r, i, 1);
    o->n = gh_dbres_int(r, i, 2);
    o->prev_hash = gh_dbres_get(r, i, 3);
    o->id = gh_dbres_get(r, i, 4);
    o->time = gh_dbres_int(r, i, 5);
    o->type = gh_dbres_get(r, i, 6);
    o->subject = gh_dbres_get(r, i, 7);
    o->actor = gh_dbres_get(r, i, 8);
    o->ip = gh_dbres_get(r, i, 9);
    o->user_agent = gh_dbres_get(r, i, 10);
    o->outcome = gh_dbres_get(r, i, 11);
    o->reason = gh_dbres_get(r, i, 12);
    o->details = gh_dbres_get(r, i, 13);
    o->pii_digest = gh_dbres_get(r, i, 14);
    o->hash = gh_dbres_get(r, i, 15);
    o->seal_mac = gh_dbres_get(r, i, 16);
}

gh_dbrc gh_audit_log_legacy_max(gh_dbconn *c, gh_arena *a, long long *max)
{
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, "SELECT max_seq FROM audit_legacy WHERE id = 1", NULL, 0, &r);
    *max = rc == GH_DB_OK && r.nrows == 1 ? gh_dbres_int(&r, 0, 0) : 0;
    return rc;
}

/* The refused events met so far, as short keyed hashes of (seq, tenant,
 * id): the sealer meets such an event at every turn until someone looks,
 * and logs and counts it once. An exact set, not a high-water mark: the
 * tenants are sealed in no fixed order, and on PostgreSQL a row with a
 * lower seq may commit after a higher one. It holds one entry per refused
 * event the process has met (rows someone inserted or altered by hand),
 * open addressing, doubled when half full. */
static struct {
    pthread_mutex_t lock;
    bool keyed;
    uint8_t key[crypto_generichash_KEYBYTES];
    uint64_t *slot; /* 0: empty */
    size_t cap, n;
} Refused = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Puts h into a table of cap slots (a power of two, not full). */
static void refused_put(uint64_t *slot, size_t cap, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);
    while (slot[i] && slot[i] != h)
        i = (i + 1) & (cap - 1);
    slot[i] = h;
}

static bool refused_has(uint64_t h)
{
    for (size_t i = (size_t)h & (Refused.cap - 1); Refused.slot[i]; i = (i + 1) & (Refused.cap - 1))
        if (Refused.slot[i] == h)
            return true;
    return false;
}

/* Adds h; false when there is no room (the event is then logged again at
 * the next turn, which is better than never). Under Refused.lock. */
static bool refused_add(uint64_t h)
{
    if (Refused.n + 1 > Refused.cap / 2) {
        size_t cap = Refused.cap ? Refused.cap * 2 : 64;
        uint64_t *slot = calloc(cap, sizeof(*slot));
        if (!slot)
            return false;
        for (size_t i = 0; i < Refused.cap; i++)
            if (Refused.slot[i])
                refused_put(slot, cap, Refused.slot[i]);
        free(Refused.slot);
        Refused.slot = slot;
        Refused.cap = cap;
    }
    refused_put(Refused.slot, Refused.cap, h);
    Refused.n++;
    return true;
}

/* Appends one length-prefixed field to a hash of the event's identity. */
static void refused_field(crypto_generichash_state *st, const char *v)
{
    uint64_t len = v ? strlen(v) : 0;
    crypto_generichash_update(st, (const uint8_t *)&len, sizeof(len));
    crypto_generichash_update(st, (const uint8_t *)(v ? v : ""), len);
}

/* Whether e is met for the first time; records it. */
static bool refused_first(const gh_audit_row *e)
{
    crypto_generichash_state st;
    uint64_t h = 0;
    int64_t seq = e->seq;
    pthread_mutex_lock(&Refused.lock);
    if (!Refused.keyed) {
        randombytes_buf(Refused.key, sizeof(Refused.key));
        Refused.keyed = true;
    }
    crypto_generichash_init(&st, Refused.key, sizeof(Refused.key), sizeof(h));
    crypto_generichash_update(&st, (const uint8_t *)&seq, sizeof(seq));
    refused_field(&st, e->tenant_id);
    refused_field(&st, e->id);
    crypto_generichash_final(&st, (uint8_t *)&h, sizeof(h));
    h |= h ? 0 : 1; /* 0 marks an empty slot */
    bool first = !(Refused.cap && refused_has(h));
    if (first)
        refused_add(h);
    pthread_mutex_unlock(&Refused.lock);
    return first;
}

/* Logs and counts a refused event the first time this process meets it. */
static void refused_once(const gh_audit_row *e)
{
    if (!refused_first(e))
        return;
    gh_metrics_audit_refused();
    gh_log(GH_LOG_ERROR, "audit event not sealed",
           "tenant %s, event seq %lld: %s; `gatehouse audit verify` names it", e->tenant_id, e->seq,
           gh_audit_check_str(GH_AUDIT_BAD_SEAL));
}

/* Whether e may join the chain: its seal MAC holds, or it has none and was
 * written before there were MACs (seq up to legacy; its pii_digest is then
 * computed here). */
static bool sealable(const uint8_t pii_key[GH_AUDIT_KEY_BYTES],
                     const uint8_t seal_key[GH_AUDIT_KEY_BYTES], long long legacy, gh_audit_row *e,
                     char pii[GH_AUDIT_HEX + 1])
{
    if (e->seal_mac)
        return e->pii_digest && gh_audit_seal_ok(seal_key, e);
    if (e->seq > legacy)
        return false;
    gh_audit_pii_digest(pii_key, e, pii);
    e->pii_digest = pii;
    return true;
}

/* One batch's chain columns, for PostgreSQL's single UPDATE: each an
 * array literal of hex or decimal tokens (no quoting needed), in the
 * arena of the turn. */
typedef struct seal_batch {
    gh_strbuf seq, n, prev, pii, hash;
    size_t count;
} seal_batch;

/* Appends sep and the token (decimal when text is NULL) to one array. */
static void token(gh_strbuf *s, const char *sep, const char *text, long long v)
{
    char num[24];
    if (!text) {
        snprintf(num, sizeof(num), "%lld", v);
        text = num;
    }
    gh_strbuf_put(s, sep, 1);
    gh_strbuf_put(s, text, strlen(text));
}

static void batch_add(seal_batch *b, const gh_audit_row *e, const char *hash)
{
    const char *sep = b->count ? "," : "{";
    token(&b->seq, sep, NULL, e->seq);
    token(&b->n, sep, NULL, e->n);
    token(&b->prev, sep, e->prev_hash, 0);
    token(&b->pii, sep, e->pii_digest, 0);
    token(&b->hash, sep, hash, 0);
    b->count++;
}

/* Writes the batch in one statement; every row must still be unsealed. */
static gh_dbrc batch_write(gh_dbconn *c, gh_arena *a, seal_batch *b)
{
    static const char upd[] =
        "UPDATE audit_events AS e SET chain_n = v.n, prev_hash = v.p, pii_digest = v.d, "
        "hash = v.h FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[]) "
        "AS v(seq, n, p, d, h) WHERE e.seq = v.seq AND e.hash IS NULL RETURNING e.seq";
    if (b->count == 0)
        return GH_DB_OK;
    gh_strbuf *all[] = {&b->seq, &b->n, &b->prev, &b->pii, &b->hash};
    bool failed = false;
    for (size_t i = 0; i < 5; i++) {
        gh_strbuf_put(all[i], "}", 1);
        failed = failed || all[i]->failed;
    }
    gh_dbparam p[] = {GH_TEXT(b->seq.buf), GH_TEXT(b->n.buf), GH_TEXT(b->prev.buf),
                      GH_TEXT(b->pii.buf), GH_TEXT(b->hash.buf)};
    gh_dbres r;
    gh_dbrc rc = failed ? GH_DB_FAIL : gh_db_exec(c, a, upd, p, 5, &r);
    if (rc == GH_DB_OK && r.nrows != b->count)
        rc = GH_DB_FAIL;           /* a row sealed meanwhile: the head's lock was not held */
    for (size_t i = 0; i < 5; i++) /* the buffers are used again */
        all[i]->len = 0;
    b->count = 0;
    return rc;
}

/* Writes one event's chain columns (SQLite: no round trip to save). */
static gh_dbrc row_write(gh_dbconn *c, gh_arena *a, const gh_audit_row *e, const char *hash)
{
    static const char upd[] = "UPDATE audit_events SET chain_n = $2, prev_hash = $3, "
                              "pii_digest = $4, hash = $5 WHERE seq = $1 AND hash IS NULL";
    gh_dbparam u[] = {GH_INT(e->seq), GH_INT(e->n), GH_TEXT(e->prev_hash), GH_TEXT(e->pii_digest),
                      GH_TEXT(hash)};
    return gh_db_exec_change(c, a, upd, u, 5, GH_DB_FAIL);
}

/* Chains the tenant's committed events that have no hash, after h, in seq
 * order, in batches of up to 500; h moves along. Events that may not join
 * (above) are left as they are and counted in *refused. */
static gh_dbrc seal_rows(gh_dbconn *c, gh_arena *a, const char *tenant, gh_audit_head *h,
                         long long *sealed, long long *refused)
{
    /* The few unsealed rows are read through the partial index
     * audit_unsealed, on seq alone: indexed with the tenant first,
     * PostgreSQL's generic plan of this prepared statement preferred to
     * walk the primary key from the start, reading every event of every
     * tenant (15 ms at 36,000 events, and growing). A plain index scan
     * also marks the entries of rows sealed since as dead, so they are
     * not read again before a vacuum removes them (a bitmap scan does not).
     * SQLite, with no statistics, preferred an index on the tenant (every
     * event of the tenant read and sorted): it is told which to use.
     * PostgreSQL: rows another transaction holds (an erasure in progress)
     * are skipped, not waited for; they are chained at a later turn. The
     * head's lock is all a sealer waits for, so an append that seals in
     * its own transaction (the CLI), holding the rows it erased and
     * waiting for the head, cannot deadlock with the sealer. */
    static const char sel_one[] = "SELECT " ROW_COLS " FROM audit_events INDEXED BY "
                                  "audit_unsealed WHERE tenant_id = $1 AND hash IS NULL AND "
                                  "seq > $2 ORDER BY seq LIMIT 500";
    static const char sel_pg[] = "SELECT " ROW_COLS " FROM audit_events WHERE tenant_id = $1 "
                                 "AND hash IS NULL AND seq > $2 ORDER BY seq LIMIT 500 "
                                 "FOR UPDATE SKIP LOCKED";
    uint8_t pii_key[GH_AUDIT_KEY_BYTES], seal_key[GH_AUDIT_KEY_BYTES];
    long long legacy = 0, after = 0;
    bool one = gh_db_one_writer(c);
    seal_batch b = {
        .seq = {.a = a}, .n = {.a = a}, .prev = {.a = a}, .pii = {.a = a}, .hash = {.a = a}};
    if (!gh_audit_log_pii_key(pii_key) || !gh_audit_log_seal_key(seal_key))
        return GH_DB_FAIL;
    long long now = gh_now_ms();
    gh_dbrc rc = gh_audit_log_legacy_max(c, a, &legacy);
    while (rc == GH_DB_OK) {
        gh_dbparam p[] = {GH_TEXT(tenant), GH_INT(after)};
        gh_dbres r;
        if ((rc = gh_db_exec(c, a, one ? sel_one : sel_pg, p, 2, &r)) != GH_DB_OK || r.nrows == 0)
            break;
        for (size_t i = 0; rc == GH_DB_OK && i < r.nrows; i++) {
            gh_audit_row e;
            char pii[GH_AUDIT_HEX + 1], hash[GH_AUDIT_HEX + 1];
            row_from(&r, i, &e);
            after = e.seq;
            if (!sealable(pii_key, seal_key, legacy, &e, pii)) {
                refused_once(&e);
                (*refused)++;
                continue;
            }
            e.n = h->n + 1;
            e.prev_hash = h->hash;
            gh_audit_row_hash(&e, hash);
            if (one)
                rc = row_write(c, a, &e, hash);
            else
                batch_add(&b, &e, hash);
            h->n = e.n;
            memcpy(h->hash, hash, sizeof(h->hash));
            (*sealed)++;
            gh_metrics_audit_sealed((double)(now - e.time) / 1000.0);
        }
        if (rc == GH_DB_OK)
            rc = batch_write(c, a, &b);
        if (r.nrows < 500)
            break; /* that was the last of them: no read that finds none */
    }
    sodium_memzero(pii_key, sizeof(pii_key));
    sodium_memzero(seal_key, sizeof(seal_key));
    return rc;
}

gh_dbrc gh_audit_log_lock(gh_dbconn *c, gh_arena *a, const char *tenant, gh_audit_head *h)
{
    /* SQLite's BEGIN IMMEDIATE holds the only write lock already and knows
     * no FOR UPDATE; on PostgreSQL the row lock orders the tenant's
     * appends across instances until the transaction ends (a concurrent
     * locker waits, then reads the committed head). A lock, not an
     * UPDATE: the head then gets one new row version per event, not two. */
    static const char sel_pg[] = "SELECT n, hash, cp_n, cp_time FROM audit_chain_heads "
                                 "WHERE tenant_id = $1 FOR UPDATE";
    static const char sel_one[] =
        "SELECT n, hash, cp_n, cp_time FROM audit_chain_heads WHERE tenant_id = $1";
    static const char ins[] = "INSERT INTO audit_chain_heads (tenant_id, n, hash, cp_n, cp_time) "
                              "VALUES ($1, 0, $2, 0, $3) ON CONFLICT (tenant_id) DO NOTHING "
                              "RETURNING n";
    const char *lock = gh_db_one_writer(c) ? sel_one : sel_pg;
    gh_dbparam p[] = {GH_TEXT(tenant)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, lock, p, 1, &r);
    if (rc != GH_DB_OK || r.nrows == 1) {
        if (rc == GH_DB_OK)
            head_from(&r, h);
        return rc;
    }
    /* A new head: whoever inserts it holds its lock; a concurrent inserter
     * waits, then reads the head this one commits. */
    gh_dbparam q[] = {GH_TEXT(tenant), GH_TEXT(GH_AUDIT_GENESIS), GH_INT(gh_now_ms())};
    if ((rc = gh_db_exec(c, a, ins, q, 3, &r)) != GH_DB_OK)
        return rc;
    if (r.nrows == 0) {
        if ((rc = gh_db_exec_row(c, a, lock, p, 1, &r)) == GH_DB_OK)
            head_from(&r, h);
        return rc;
    }
    h->n = 0;
    memcpy(h->hash, GH_AUDIT_GENESIS, sizeof(h->hash));
    h->cp_n = 0;
    h->cp_time = gh_now_ms();
    return GH_DB_OK;
}

char *gh_audit_log_cp_payload(gh_arena *a, const char *tenant, long long n, const char *hash,
                              long long time)
{
    json_t *o =
        json_pack("{s:s, s:s, s:I, s:s, s:I}", "typ", "gatehouse audit checkpoint", "tenant",
                  tenant, "n", (json_int_t)n, "hash", hash, "time", (json_int_t)time);
    char *t = o ? json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    char *out = t ? gh_arena_strdup(a, t) : NULL;
    free(t);
    json_decref(o);
    return out;
}

bool gh_audit_log_jwk_mac(const char *kid, const char *jwk, char out[GH_AUDIT_HEX + 1])
{
    uint8_t key[GH_AUDIT_KEY_BYTES], mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    if (!gh_audit_log_cp_key(key))
        return false;
    crypto_auth_hmacsha256_init(&st, key, sizeof(key));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)kid, strlen(kid));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)"\n", 1);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)jwk, strlen(jwk));
    crypto_auth_hmacsha256_final(&st, mac);
    gh_hex(mac, sizeof(mac), out);
    sodium_memzero(key, sizeof(key));
    sodium_memzero(&st, sizeof(st));
    return true;
}

/* Signs and stores a checkpoint of h; false (nothing stored) when the
 * signer cannot sign. The head's checkpoint fields move only when it is
 * stored, so the next append tries again. */
static gh_dbrc checkpoint(gh_dbconn *c, gh_arena *a, gh_audit_signer signer, const char *tenant,
                          gh_audit_head *h, long long now)
{
    static const char sql[] = "INSERT INTO audit_checkpoints (tenant_id, n, hash, time, kid, jwk, "
                              "jwk_mac, jws) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    char mac[GH_AUDIT_HEX + 1];
    gh_audit_sig sig;
    const char *payload = gh_audit_log_cp_payload(a, tenant, h->n, h->hash, now);
    if (!payload || !signer(a, payload, &sig) || !gh_audit_log_jwk_mac(sig.kid, sig.jwk, mac)) {
        gh_log(GH_LOG_WARN, "audit checkpoint not signed", "tenant %s, event %lld", tenant, h->n);
        return GH_DB_OK;
    }
    gh_dbparam p[] = {GH_TEXT(tenant),  GH_INT(h->n),     GH_TEXT(h->hash), GH_INT(now),
                      GH_TEXT(sig.kid), GH_TEXT(sig.jwk), GH_TEXT(mac),     GH_TEXT(sig.jws)};
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 8, NULL);
    if (rc == GH_DB_OK) {
        h->cp_n = h->n;
        h->cp_time = now;
    }
    return rc;
}

/* Writes a checkpoint of h when one is due at now. */
static gh_dbrc checkpoint_if_due(gh_dbconn *c, gh_arena *a, const char *tenant, gh_audit_head *h,
                                 long long now)
{
    pthread_mutex_lock(&K.lock);
    gh_audit_signer signer = K.signer;
    bool due =
        h->n > h->cp_n && (h->n - h->cp_n >= K.every_events || now - h->cp_time >= K.every_ms);
    pthread_mutex_unlock(&K.lock);
    return signer && due ? checkpoint(c, a, signer, tenant, h, now) : GH_DB_OK;
}

gh_dbrc gh_audit_log_advance(gh_dbconn *c, gh_arena *a, const char *tenant, gh_audit_head *h,
                             long long now)
{
    static const char sql[] = "UPDATE audit_chain_heads SET n = $2, hash = $3, cp_n = $4, "
                              "cp_time = $5 WHERE tenant_id = $1";
    gh_dbrc rc = checkpoint_if_due(c, a, tenant, h, now);
    if (rc != GH_DB_OK)
        return rc;
    gh_dbparam p[] = {GH_TEXT(tenant), GH_INT(h->n), GH_TEXT(h->hash), GH_INT(h->cp_n),
                      GH_INT(h->cp_time)};
    return gh_db_exec_change(c, a, sql, p, 5, GH_DB_FAIL);
}

gh_dbrc gh_audit_log_insert(gh_dbconn *c, gh_arena *a, const gh_audit_row *r)
{
    static const char ins[] =
        "INSERT INTO audit_events (tenant_id, id, time, type, subject, actor, ip, user_agent, "
        "outcome, reason, details, pii_digest, seal_mac, chain_n, prev_hash, hash) VALUES ($1, "
        "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";
    gh_dbparam p[] = {GH_TEXT(r->tenant_id),
                      GH_TEXT(r->id),
                      GH_INT(r->time),
                      GH_TEXT(r->type),
                      GH_TEXT(r->subject),
                      GH_TEXT(r->actor),
                      GH_TEXT(r->ip),
                      GH_TEXT(r->user_agent),
                      GH_TEXT(r->outcome),
                      GH_TEXT(r->reason),
                      GH_TEXT(r->details),
                      GH_TEXT(r->pii_digest),
                      GH_TEXT(r->seal_mac),
                      r->hash ? GH_INT(r->n) : GH_NULLP,
                      GH_TEXT(r->hash ? r->prev_hash : NULL),
                      GH_TEXT(r->hash)};
    return gh_db_exec(c, a, ins, p, 16, NULL);
}

gh_dbrc gh_audit_log_insert_chained(gh_dbconn *c, gh_arena *a, const gh_audit_row *r,
                                    gh_audit_head *h)
{
    gh_dbrc rc = gh_audit_log_insert(c, a, r);
    if (rc != GH_DB_OK)
        return rc;
    h->n = r->n;
    memcpy(h->hash, r->hash, sizeof(h->hash));
    return gh_audit_log_advance(c, a, r->tenant_id, h, r->time);
}

void gh_audit_log_set_chain_in_tx(bool on)
{
    pthread_mutex_lock(&K.lock);
    K.sealer_only = !on;
    pthread_mutex_unlock(&K.lock);
}

gh_audit_plan gh_audit_log_plan(const gh_dbconn *c)
{
    pthread_mutex_lock(&K.lock);
    gh_audit_plan p = {.wake = K.wake, .chain_now = !K.sealer_only};
    pthread_mutex_unlock(&K.lock);
    p.chain_now = p.chain_now && gh_db_one_writer(c);
    return p;
}

gh_dbrc gh_audit_log_seal_tenant(gh_dbconn *c, gh_arena *a, const char *tenant, long long *sealed,
                                 long long *refused)
{
    gh_audit_head h;
    long long before = *sealed;
    gh_dbrc rc = gh_audit_log_lock(c, a, tenant, &h);
    if (rc == GH_DB_OK)
        rc = seal_rows(c, a, tenant, &h, sealed, refused);
    if (rc == GH_DB_OK && *sealed > before)
        rc = gh_audit_log_advance(c, a, tenant, &h, gh_now_ms());
    return rc;
}

gh_dbrc gh_audit_log_seal(gh_dbconn *c, gh_arena *a, long long *sealed, long long *refused)
{
    static const char sql[] = "SELECT DISTINCT tenant_id FROM audit_events WHERE hash IS NULL";
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, NULL, 0, &r);
    for (size_t i = 0; rc == GH_DB_OK && i < r.nrows; i++) {
        if ((rc = gh_db_begin(c)) != GH_DB_OK)
            break;
        rc = gh_audit_log_seal_tenant(c, a, gh_dbres_get(&r, i, 0), sealed, refused);
        rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    }
    return rc;
}

/* Runs a listing query and gives room for its rows (one more, zeroed, so
 * an empty list is not NULL): elem bytes each into *out. */
static gh_dbrc list_rows(gh_dbconn *c, gh_arena *a, const char *sql, const gh_dbparam *p, size_t np,
                         size_t elem, void **out, gh_dbres *r)
{
    gh_dbrc rc = gh_db_exec(c, a, sql, p, np, r);
    if (rc != GH_DB_OK)
        return rc;
    *out = gh_arena_alloc(a, (r->nrows + 1) * elem);
    return *out ? GH_DB_OK : GH_DB_FAIL;
}

gh_dbrc gh_audit_log_tenants(gh_dbconn *c, gh_arena *a, const char ***out, size_t *n)
{
    static const char sql[] = "SELECT tenant_id FROM audit_events UNION SELECT tenant_id FROM "
                              "audit_chain_heads UNION SELECT tenant_id FROM audit_checkpoints "
                              "ORDER BY 1";
    gh_dbres r;
    gh_dbrc rc = list_rows(c, a, sql, NULL, 0, sizeof(**out), (void **)out, &r);
    if (rc != GH_DB_OK)
        return rc;
    for (size_t i = 0; i < r.nrows; i++)
        (*out)[i] = gh_dbres_get(&r, i, 0);
    *n = r.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_audit_log_rows(gh_dbconn *c, gh_arena *a, const char *tenant, bool unsealed,
                          long long after, long long after_seq, long long limit, gh_audit_row **out,
                          size_t *n)
{
    /* (chain_n, seq) is the cursor of the chained rows: two rows that claim
     * one position are both read, whichever batch they fall in. */
    static const char chained[] = "SELECT " ROW_COLS " FROM audit_events WHERE tenant_id = $1 "
                                  "AND (chain_n > $2 OR (chain_n = $2 AND seq > $4)) "
                                  "ORDER BY chain_n, seq LIMIT $3";
    /* The rest: rows without a hash (through the partial index
     * audit_unsealed; SQLite, with no statistics, is told to use it) and
     * rows with a hash but no position (through the index on (tenant_id,
     * chain_n)), so that neither half reads the tenant's chained rows. */
#define REST(indexed_by)                                                                           \
    "SELECT " ROW_COLS " FROM audit_events " indexed_by "WHERE tenant_id = $1 AND hash IS NULL "   \
    "AND seq > $2 UNION ALL SELECT " ROW_COLS " FROM audit_events WHERE tenant_id = $1 AND "       \
    "chain_n IS NULL AND hash IS NOT NULL AND seq > $2 ORDER BY 1 LIMIT $3"
    static const char rest_one[] = REST("INDEXED BY audit_unsealed ");
    static const char rest_pg[] = REST("");
#undef REST
    const char *rest = gh_db_one_writer(c) ? rest_one : rest_pg;
    gh_dbparam p[] = {GH_TEXT(tenant), GH_INT(after), GH_INT(limit), GH_INT(after_seq)};
    gh_dbres r;
    gh_dbrc rc = unsealed ? list_rows(c, a, rest, p, 3, sizeof(**out), (void **)out, &r)
                          : list_rows(c, a, chained, p, 4, sizeof(**out), (void **)out, &r);
    if (rc != GH_DB_OK)
        return rc;
    for (size_t i = 0; i < r.nrows; i++)
        row_from(&r, i, &(*out)[i]);
    *n = r.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_audit_log_checkpoints(gh_dbconn *c, gh_arena *a, const char *tenant, gh_audit_cp **out,
                                 size_t *n)
{
    static const char sql[] = "SELECT n, time, hash, kid, jwk, jwk_mac, jws FROM "
                              "audit_checkpoints WHERE tenant_id = $1 ORDER BY n";
    gh_dbparam p[] = {GH_TEXT(tenant)};
    gh_dbres r;
    gh_dbrc rc = list_rows(c, a, sql, p, 1, sizeof(**out), (void **)out, &r);
    if (rc != GH_DB_OK)
        return rc;
    for (size_t i = 0; i < r.nrows; i++) {
        gh_audit_cp *cp = &(*out)[i];
        cp->n = gh_dbres_int(&r, i, 0);
        cp->time = gh_dbres_int(&r, i, 1);
        cp->hash = gh_dbres_get(&r, i, 2);
        cp->kid = gh_dbres_get(&r, i, 3);
        cp->jwk = gh_dbres_get(&r, i, 4);
        cp->jwk_mac = gh_dbres_get(&r, i, 5);
        cp->jws = gh_dbres_get(&r, i, 6);
    }
    *n = r.nrows;
    return GH_DB_OK;
}
