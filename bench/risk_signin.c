/*
 * risk_signin: what the risk engine costs a password sign-in and a token
 * request with its database work (docs/risk.md "Cost"). bench/risk_rate.c
 * times the policy evaluation alone; this times the service calls, on the
 * unit tests' throwaway database (SQLite by default, PostgreSQL with
 * GATEHOUSE_TEST_DATABASE_URL), one connection, one thread:
 *   (a) gh_risk_signin_signals: the device, the network and the last
 *       hour's failed sign-ins (three queries)
 *   (b) gh_risk_decide: the evaluation, the decision row and its
 *       risk.decided audit event in one transaction
 *   (c) gh_risk_signin: both, as the password sign-in calls it
 *   (d) gh_risk_token, a refresh from the token's own network: nothing
 *       fires, nothing is written
 *   (e) gh_risk_token from another network: new_network fires and the
 *       decision is written
 * and (a) once more at the end: the failed sign-ins are found among all of
 * the tenant's audit events of the last hour, which the rows before added to.
 *
 * Per row: median and p99 wall time per call, CPU time per call of this
 * process and, on PostgreSQL, of the connection's server process (from
 * /proc, so only for a cluster on this machine), and that CPU time as a
 * share of one argon2id hash at the server's default cost.
 *
 * Usage: build/bench_risk_signin [CALLS]   (default 3000, at least 100)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gh_audit.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_password.h"
#include "gh_pwpolicy.h"
#include "gh_risk.h"
#include "gh_store_sessions.h"
#include "gh_store_users.h"
#include "gh_tenants.h"
#include "testdb.h"

/* The sign-in comes from a network and device the account knows, with a
 * desktop browser; OTHER_IP is a network the refresh token was not issued
 * to. */
#define SIGNIN_IP "198.51.100.7"
#define OTHER_IP  "203.0.113.200"
#define UA        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

typedef enum { CALL_SIGNALS, CALL_DECIDE, CALL_SIGNIN, CALL_TOKEN_SAME, CALL_TOKEN_NEW } call_kind;

typedef struct bench {
    gh_config cfg;
    gh_dbconn *c;
    gh_arena *keep;            /* the set-up's allocations, for the whole run */
    gh_risk_facts facts;       /* the sign-in (a, c) */
    gh_risk_signals signals;   /* its signals, gathered once (b's input) */
    gh_risk_token_facts token; /* the refresh (d, e) */
    long backend_pid;          /* PostgreSQL: the connection's server process; 0 on SQLite */
} bench;

typedef struct row {
    double median_us, p99_us;
    double cpu_us;    /* this process, per call */
    double db_cpu_us; /* the PostgreSQL backend, per call; < 0: not known */
    /* the tenant's audit events of the last hour before and after the row:
     * what the failed sign-ins are read from */
    long long window, window_end;
} row;

static double clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static gh_ctx ctx_of(bench *b, gh_arena *a, const char *ip)
{
    return (gh_ctx){.tenant = GH_DEFAULT_TENANT,
                    .arena = a,
                    .cfg = &b->cfg,
                    .now = gh_now_ms(),
                    .client_ip = ip,
                    .user_agent = UA,
                    .db = b->c};
}

/* user + system CPU time of process pid in µs, from /proc/PID/stat
 * (fields 14 and 15, in clock ticks); -1 when it cannot be read. */
static double backend_cpu_us(long pid)
{
    char path[64], buf[1024];
    if (pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    /* the command name may hold spaces: count fields after its ')' */
    char *p = strrchr(buf, ')');
    long long ticks[2] = {-1, -1};
    for (int field = 2; p && field < 15; field++) {
        p = strchr(p + 1, ' '); /* the space before field + 1 */
        if (p && field >= 13)
            ticks[field - 13] = strtoll(p + 1, NULL, 10);
    }
    long hz = sysconf(_SC_CLK_TCK);
    if (ticks[0] < 0 || ticks[1] < 0 || hz <= 0)
        return -1;
    return (double)(ticks[0] + ticks[1]) * 1e6 / (double)hz;
}

/* The tenant's audit events in the velocity window (the last hour): the
 * rows the failed sign-ins are picked from. -1 on failure. */
static long long window_events(bench *b)
{
    static const char sql[] =
        "SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND time >= $2";
    gh_arena *a = gh_arena_new(0);
    gh_dbres r;
    long long n = -1;
    gh_dbparam p[] = {GH_TEXT(GH_DEFAULT_TENANT), GH_INT(gh_now_ms() - 3600 * 1000)};
    if (a && gh_db_exec_row(b->c, a, sql, p, 2, &r) == GH_DB_OK)
        n = gh_dbres_int(&r, 0, 0);
    gh_arena_free(a);
    return n;
}

static long backend_pid(bench *b)
{
    static const char sql[] = "SELECT pg_backend_pid()";
    gh_arena *a = gh_arena_new(0);
    gh_dbres r;
    long pid = 0;
    if (a && gh_db_exec_row(b->c, a, sql, NULL, 0, &r) == GH_DB_OK)
        pid = (long)gh_dbres_int(&r, 0, 0);
    gh_arena_free(a);
    return pid;
}

static gh_dbrc one_call(bench *b, call_kind k, const gh_ctx *x)
{
    gh_risk_signals s;
    gh_risk_verdict v;
    gh_signin_facts sf = {.active = true, .email_verified = true, .method = "pwd"};
    switch (k) {
    case CALL_SIGNALS:
        return gh_risk_signin_signals(x, b->c, &b->facts, &s);
    case CALL_DECIDE:
        return gh_risk_decide(x, b->c, b->facts.journey, b->facts.user_id, &b->signals, &v);
    case CALL_SIGNIN:
        return gh_risk_signin(x, b->c, &b->facts, &sf, &v);
    case CALL_TOKEN_SAME:
    case CALL_TOKEN_NEW:
        return gh_risk_token(x, b->c, &b->token, &v);
    }
    return GH_DB_FAIL;
}

/* Times n calls of kind k; wall has room for n samples. 0, or -1 when a
 * call failed (reason on stderr). Each call gets a fresh arena, as each
 * request does; making and freeing it is outside the timing. */
static int measure(bench *b, call_kind k, int n, double *wall, row *out)
{
    const char *ip = k == CALL_TOKEN_NEW ? OTHER_IP : SIGNIN_IP;
    double cpu = 0;
    out->window = window_events(b);
    double db0 = backend_cpu_us(b->backend_pid);
    for (int i = 0; i < n; i++) {
        gh_arena *a = gh_arena_new(0);
        if (!a)
            return -1;
        gh_ctx x = ctx_of(b, a, ip);
        double c0 = clock_us(CLOCK_PROCESS_CPUTIME_ID), t0 = clock_us(CLOCK_MONOTONIC);
        gh_dbrc rc = one_call(b, k, &x);
        wall[i] = clock_us(CLOCK_MONOTONIC) - t0;
        cpu += clock_us(CLOCK_PROCESS_CPUTIME_ID) - c0;
        gh_arena_free(a);
        if (rc != GH_DB_OK) {
            fprintf(stderr, "bench_risk_signin: call %d failed: %s\n", i, gh_dbrc_str(rc));
            return -1;
        }
    }
    double db1 = backend_cpu_us(b->backend_pid);
    out->window_end = window_events(b);
    qsort(wall, (size_t)n, sizeof(*wall), cmp_double);
    out->median_us = wall[n / 2];
    out->p99_us = wall[n * 99 / 100];
    out->cpu_us = cpu / n;
    out->db_cpu_us = db0 >= 0 && db1 >= 0 ? (db1 - db0) / n : -1;
    return 0;
}

/* Median wall time and mean CPU time of one argon2id hash at the cost in
 * cfg, through the server's own hasher (gh_password, one slot). */
static int argon2_cost(const gh_config *cfg, double *wall_us, double *cpu_us)
{
    enum { HASHES = 9 };
    static const char pw[] = "Quartz-1-Meadow-riskbench";
    double wall[HASHES];
    char out[GH_PWHASH_MAX];
    if (gh_password_setup(cfg->argon2_memory_kib, cfg->argon2_iterations, cfg->argon2_parallelism,
                          1) != 0 ||
        gh_password_hash(pw, sizeof pw - 1, out) != 0) /* maps the slot's memory */
        return -1;
    double cpu0 = clock_us(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < HASHES; i++) {
        double t0 = clock_us(CLOCK_MONOTONIC);
        if (gh_password_hash(pw, sizeof pw - 1, out) != 0)
            return -1;
        wall[i] = clock_us(CLOCK_MONOTONIC) - t0;
    }
    *cpu_us = (clock_us(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / HASHES;
    qsort(wall, HASHES, sizeof(*wall), cmp_double);
    *wall_us = wall[HASHES / 2];
    return 0;
}

/* ---- set-up: an account with some history ---- */

enum { KNOWN_NETWORKS = 4, KNOWN_DEVICES = 3 };

static const char *device_hash(gh_arena *a, int i)
{
    char hash[2 * GH_SHA256_BYTES + 1];
    const char *cookie = gh_arena_printf(a, "bench device cookie %d", i);
    if (!cookie)
        return NULL;
    gh_secret_hash(cookie, hash);
    return gh_arena_strdup(a, hash);
}

/* The networks and devices the account signed in from, in one transaction. */
static gh_dbrc seed_known(bench *b, const char *user_id)
{
    static const char *const ips[KNOWN_NETWORKS] = {SIGNIN_IP, "192.0.2.30", "198.18.4.9",
                                                    "2001:db8:1::5"};
    gh_dbrc rc = gh_db_begin(b->c);
    for (int i = 0; rc == GH_DB_OK && i < KNOWN_NETWORKS; i++) {
        gh_ctx x = ctx_of(b, b->keep, ips[i]);
        rc = gh_risk_network_seen(&x, b->c, user_id);
    }
    for (int i = 0; rc == GH_DB_OK && i < KNOWN_DEVICES; i++) {
        const char *d = device_hash(b->keep, i);
        rc = d ? gh_store_device_seen(b->c, b->keep, GH_DEFAULT_TENANT, user_id, d, gh_now_ms())
               : GH_DB_FAIL;
    }
    return rc == GH_DB_OK ? gh_db_commit(b->c) : (gh_db_rollback(b->c), rc);
}

/* The last hour's failed sign-ins: three on this account from three
 * addresses, nine on other accounts from another network. */
static gh_dbrc seed_failures(bench *b, const char *user_id, const char *other_id)
{
    char ip[48];
    gh_dbrc rc = GH_DB_OK;
    for (int i = 0; rc == GH_DB_OK && i < 12; i++) {
        bool mine = i < 3;
        snprintf(ip, sizeof ip, mine ? "192.0.2.%d" : "203.0.113.%d", 40 + i % 4);
        gh_audit_event ev = {.tenant_id = GH_DEFAULT_TENANT,
                             .type = "signin.failed",
                             .subject = mine ? user_id : (i % 2 ? other_id : NULL),
                             .actor = mine ? user_id : NULL,
                             .ip = ip,
                             .user_agent = UA,
                             .outcome = "failure",
                             .reason = "wrong password"};
        rc = gh_audit_append(b->c, b->keep, &ev);
    }
    return rc;
}

/* Every setting at its default: the caller's environment plays no part. */
static const char *no_setting(const char *name, void *ctx)
{
    (void)name;
    (void)ctx;
    return NULL;
}

/* Everything the calls need: the server's default settings (the built-in
 * policy, no shadow, no geolocation), the common-password list, the risk
 * engine, the account and its history, the refresh token's facts. */
static int setup(bench *b, gh_app *app, gh_db *db)
{
    char err[256];
    if (gh_config_load(&b->cfg, no_setting, NULL, err, sizeof err) != 0)
        goto fail;
    app->cfg = &b->cfg;
    app->db = db;
    app->pwpolicy = (gh_pwpolicy){.min_length = b->cfg.password_min_length,
                                  .max_length = GH_PWPOLICY_MAX_LENGTH,
                                  .min_length_mfa = b->cfg.password_min_length_mfa};
    if (gh_pwpolicy_init(&app->pwpolicy, err, sizeof err) != 0 ||
        gh_risk_init(&b->cfg, err, sizeof err) != 0 || gh_tenants_init(app, err, sizeof err) != 0)
        goto fail;
    const char *me = test_db_user(b->c, b->keep, "bench-risk@example.com");
    const char *other = test_db_user(b->c, b->keep, "bench-other@example.com");
    if (!me || !other || seed_known(b, me) != GH_DB_OK || seed_failures(b, me, other) != GH_DB_OK)
        goto fail_db;
    static const char pw[] = "Quartz-1-Meadow-riskbench";
    b->facts = (gh_risk_facts){.journey = GH_RJ_SIGNIN,
                               .user_id = me,
                               .device_hash = device_hash(b->keep, 0),
                               .password = pw,
                               .pwlen = sizeof pw - 1};
    gh_ctx x = ctx_of(b, b->keep, SIGNIN_IP);
    b->token = (gh_risk_token_facts){.user_id = me,
                                     .client_id = "bench-client",
                                     .family_id = "bench-family",
                                     .network = gh_risk_token_network(&x, "bench-family")};
    if (!b->facts.device_hash || !b->token.network ||
        gh_risk_signin_signals(&x, b->c, &b->facts, &b->signals) != GH_DB_OK)
        goto fail_db;
    return 0;
fail_db:
    snprintf(err, sizeof err, "the account's history could not be written or read");
fail:
    fprintf(stderr, "bench_risk_signin: %s\n", err);
    return -1;
}

static void print_load(const char *when)
{
    char buf[128] = "";
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f || !fgets(buf, sizeof buf, f))
        snprintf(buf, sizeof buf, "unknown\n");
    if (f)
        fclose(f);
    printf("load average (1, 5, 15 min, runnable/all, last pid) at %s: %s", when, buf);
}

static void print_row(const char *name, const row *r, double argon2_cpu_us)
{
    double cpu = r->cpu_us + (r->db_cpu_us > 0 ? r->db_cpu_us : 0);
    char db[32] = "-";
    if (r->db_cpu_us >= 0)
        snprintf(db, sizeof db, "%.1f", r->db_cpu_us);
    printf("| %s | %.1f | %.1f | %.1f | %s | %.3f %% | %lld → %lld |\n", name, r->median_us,
           r->p99_us, r->cpu_us, db, 100.0 * cpu / argon2_cpu_us, r->window, r->window_end);
}

int main(int argc, char **argv)
{
    static const struct {
        call_kind kind;
        const char *name;
    } rows[] = {
        {CALL_SIGNALS, "(a) gh_risk_signin_signals: 3 reads"},
        {CALL_DECIDE, "(b) gh_risk_decide: evaluation, decision + audit event, 1 transaction"},
        {CALL_SIGNIN, "(c) gh_risk_signin: (a) + (b)"},
        {CALL_TOKEN_SAME, "(d) gh_risk_token, refresh from the token's network: no write"},
        {CALL_TOKEN_NEW, "(e) gh_risk_token, refresh from another network: decision written"},
        {CALL_SIGNALS, "(a) again, after the rows above"},
    };
    char *end = NULL;
    long n = argc > 1 ? strtol(argv[1], &end, 10) : 3000;
    if ((end && *end) || n < 100 || n > 1000000) {
        fprintf(stderr, "usage: bench_risk_signin [CALLS (100..1000000)]\n");
        return 2;
    }
    print_load("start");
    static bench b;
    gh_app app = {0};
    test_db t = {0};
    double *wall = malloc((size_t)n * sizeof(*wall));
    gh_db *db = NULL;
    int status = 1;
    b.keep = gh_arena_new(0);
    if (!wall || !b.keep || gh_crypto_init() != 0)
        goto out;
    db = test_db_open(&t, "gh-bench-risk", 2); /* the second: the tenants' refresh thread */
    b.c = db ? gh_db_acquire(db) : NULL;
    if (!b.c || setup(&b, &app, db) != 0)
        goto out;
    b.backend_pid = test_db_pg() ? backend_pid(&b) : 0;
    double a_wall, a_cpu;
    if (argon2_cost(&b.cfg, &a_wall, &a_cpu) != 0) {
        fprintf(stderr, "bench_risk_signin: argon2id failed\n");
        goto out;
    }
    gh_risk_verdict v;
    gh_ctx x = ctx_of(&b, b.keep, SIGNIN_IP);
    if (gh_risk_decide(&x, b.c, GH_RJ_SIGNIN, b.facts.user_id, &b.signals, &v) != GH_DB_OK)
        goto out;
    printf("backend %s, %ld calls per row, policy %s; the sign-in: known device and network, "
           "%lld failed sign-ins on the account and %lld in the tenant in the last hour, "
           "outcome %s\n",
           test_db_pg() ? "postgresql" : "sqlite", n, gh_risk_policy_version(),
           b.signals.v[GH_RS_ACCOUNT_FAILURES], b.signals.v[GH_RS_TENANT_FAILURES],
           gh_riskpolicy_outcome_name(v.outcome));
    printf("one argon2id hash (m=%lu KiB, t=%u, p=%u), median of 9: %.0f us wall, %.0f us CPU\n",
           b.cfg.argon2_memory_kib, b.cfg.argon2_iterations, b.cfg.argon2_parallelism, a_wall,
           a_cpu);
    printf("\n| call | median us | p99 us | CPU us/call | PostgreSQL CPU us/call | CPU share of "
           "one argon2id hash | audit events in the last hour |\n|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        row r;
        if (measure(&b, rows[i].kind, (int)n, wall, &r) != 0)
            goto out;
        print_row(rows[i].name, &r, a_cpu);
    }
    printf("\n");
    print_load("end");
    status = 0;
out:
    gh_tenants_shutdown();
    gh_db_release(b.c);
    gh_db_close(db);
    test_db_drop(&t);
    gh_arena_free(b.keep);
    free(wall);
    return status;
}
