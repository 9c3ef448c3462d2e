/*
 * The audit chain's cost per append (docs/audit.md "Cost"), each in a
 * transaction of its own and batched 100 to a transaction:
 *   plain     the INSERT the log did before the chain (another tenant, and
 *             a hash, so the sealer never meets these rows);
 *   inline    gh_audit_append without a sealer, as the CLI appends (and
 *             every append did before migration 33): head locked, digest,
 *             hash, insert, head moved, in the append's transaction;
 *   unsealed  gh_audit_append with a sealer, as the server appends: digest,
 *             seal MAC, insert; and then the sealer's turn over those
 *             events (gh_audit_log_seal), per event;
 * and the hashing alone. SQLite by default;
 * PostgreSQL with GATEHOUSE_TEST_DATABASE_URL (as the unit tests).
 * Usage: build/bench_audit_append [EVENTS]   (default 5000)
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gh_audit.h"
#include "gh_audit_log.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "testdb.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static const gh_audit_event ev = {.tenant_id = "default",
                                  .type = "token.issued",
                                  .subject = "3f1c9a2e-5d4b-4c1a-9e8f-0a1b2c3d4e5f",
                                  .actor = "bench-client",
                                  .ip = "192.0.2.10",
                                  .user_agent = "bench/1.0"};

/* The INSERT gh_audit_append ran before the chain. */
static gh_dbrc plain_insert(gh_dbconn *c, gh_arena *a)
{
    static const char sql[] =
        "INSERT INTO audit_events (tenant_id, id, time, type, subject, actor, ip, user_agent, "
        "outcome, reason, details, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
        "'plain')";
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    gh_dbparam p[] = {GH_TEXT("plain"),
                      GH_TEXT(id),
                      GH_INT(gh_now_ms()),
                      GH_TEXT(ev.type),
                      GH_TEXT(ev.subject),
                      GH_TEXT(ev.actor),
                      GH_TEXT(ev.ip),
                      GH_TEXT(ev.user_agent),
                      GH_TEXT("success"),
                      GH_TEXT(NULL),
                      GH_TEXT("{\"client_id\":\"bench-client\"}")};
    return gh_db_exec(c, a, sql, p, 11, NULL);
}

static gh_dbrc chained(gh_dbconn *c, gh_arena *a)
{
    json_t *d = json_pack("{s:s}", "client_id", "bench-client");
    gh_audit_event e = ev;
    e.details = d;
    gh_dbrc rc = gh_audit_append(c, a, &e);
    json_decref(d);
    return rc;
}

static void no_wake(void)
{
}

static gh_dbrc unsealed(gh_dbconn *c, gh_arena *a)
{
    gh_audit_log_set_sealer(no_wake);
    gh_dbrc rc = chained(c, a);
    gh_audit_log_set_sealer(NULL);
    return rc;
}

/* µs per event of the sealer's turn over every unsealed event. */
static double seal_turn(gh_dbconn *c)
{
    gh_arena *a = gh_arena_new(0);
    long long sealed = 0, refused = 0;
    double t0 = now_us();
    /* the default tenant's only: the plain rows (tenant "plain") have no
     * seal MAC and are never chained */
    if (gh_db_begin(c) != GH_DB_OK ||
        gh_audit_log_seal_tenant(c, a, ev.tenant_id, &sealed, &refused) != GH_DB_OK ||
        gh_db_commit(c) != GH_DB_OK || refused != 0)
        fprintf(stderr, "seal failed\n");
    double us = (now_us() - t0) / (sealed ? (double)sealed : 1);
    gh_arena_free(a);
    return us;
}

/* µs per event of n events, batch to a transaction. */
static double run(gh_dbconn *c, gh_dbrc (*one)(gh_dbconn *, gh_arena *), int n, int batch)
{
    double t0 = now_us();
    for (int i = 0; i < n; i += batch) {
        gh_arena *a = gh_arena_new(0);
        gh_db_begin(c);
        for (int k = 0; k < batch; k++)
            if (one(c, a) != GH_DB_OK)
                fprintf(stderr, "append failed\n");
        if (gh_db_commit(c) != GH_DB_OK)
            fprintf(stderr, "commit failed\n");
        gh_arena_free(a);
    }
    return (now_us() - t0) / n;
}

static double hash_only(int n)
{
    uint8_t key[GH_AUDIT_KEY_BYTES] = {7};
    char pii[GH_AUDIT_HEX + 1], hash[GH_AUDIT_HEX + 1];
    gh_audit_row r = {.tenant_id = "default",
                      .n = 1,
                      .prev_hash = GH_AUDIT_GENESIS,
                      .id = "3f1c9a2e-5d4b-4c1a-9e8f-0a1b2c3d4e5f",
                      .time = 1765000000000,
                      .type = ev.type,
                      .subject = ev.subject,
                      .actor = ev.actor,
                      .ip = ev.ip,
                      .user_agent = ev.user_agent,
                      .outcome = "success",
                      .details = "{\"client_id\":\"bench-client\"}"};
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
        gh_audit_pii_digest(key, &r, pii);
        r.pii_digest = pii;
        gh_audit_row_hash(&r, hash);
        r.n++;
    }
    return (now_us() - t0) / n;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5000;
    test_db t = {0};
    if (gh_crypto_init() != 0 || n < 100)
        return 2;
    gh_db *db = test_db_open(&t, "gh-bench-audit", 1);
    gh_dbconn *c = db ? gh_db_acquire(db) : NULL;
    if (!c)
        return 1;
    printf("backend %s, %d events per run\n", test_db_pg() ? "postgresql" : "sqlite", n);
    printf("hashing only (pii_digest + hash): %.2f us/event\n", hash_only(n * 10));
    for (int pass = 0; pass < 2; pass++) { /* the first pass warms caches */
        double p1 = run(c, plain_insert, n, 1), c1 = run(c, chained, n, 1);
        double u1 = run(c, unsealed, n, 1), s1 = seal_turn(c);
        double p100 = run(c, plain_insert, n, 100), c100 = run(c, chained, n, 100);
        double u100 = run(c, unsealed, n, 100), s100 = seal_turn(c);
        if (pass)
            printf("own transaction: plain %.1f us, inline chained %.1f us (+%.1f), "
                   "unsealed %.1f us (+%.1f) then sealed %.1f us\n"
                   "100 per transaction: plain %.1f us, inline chained %.1f us (+%.1f), "
                   "unsealed %.1f us (+%.1f) then sealed %.1f us\n",
                   p1, c1, c1 - p1, u1, u1 - p1, s1, p100, c100, c100 - p100, u100, u100 - p100,
                   s100);
    }
    gh_db_release(c);
    gh_db_close(db);
    test_db_drop(&t);
    return 0;
}
