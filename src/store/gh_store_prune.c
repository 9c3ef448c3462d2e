/*
 * gh_store_prune: the DELETE statements of the janitor and the thread that
 * runs them (see gh_store_prune.h for what is never touched).
 *
 * Every instance runs the thread. Two instances pruning at once is harmless:
 * the statements are idempotent, the second one finds nothing left to
 * delete, and each holds its lock for one short statement only.
 */
#include "gh_store_prune.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "gh_clock.h"
#include "gh_log.h"
#include "gh_store_sessions.h"
#include "gh_ticker.h"
#include "gh_throttle.h"

#define HOUR_MS (3600LL * 1000)
#define DAY_MS  (24 * HOUR_MS)

enum {
    FIRST_RUN_S = 10,     /* the first run waits this long (or the interval, if shorter) */
    MAIL_KEEP_DAYS = 30,  /* finished mail and its attempts stay this long (support questions) */
    LOGOUT_KEEP_DAYS = 7, /* finished back-channel logout rows and their attempts */
};

/* Rows per statement where one statement locks the whole database
 * (SQLite): scanning a window this size takes well under a millisecond, so
 * the janitor never keeps a request waiting long, however big the table.
 * A single DELETE over a table without an index on its expiry scans every
 * row while holding the lock (14.7 ms for the refresh tokens of one bench
 * run; seconds for millions of rows). */
enum { WINDOW_ROWS = 2000, MAX_WHERE_PARAMS = 4 };

/* One DELETE; its row count goes to *count. */
static gh_dbrc run(gh_dbconn *c, gh_arena *a, const char *sql, const gh_dbparam *p, size_t np,
                   long long *count)
{
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_built(c, a, sql, p, np, &r);
    if (rc == GH_DB_OK)
        *count = r.changes;
    return rc;
}

/* Deletes the rows of table matching where (parameters $1..$np), adding
 * them up in *count. On PostgreSQL one statement (it locks rows, not the
 * database); on SQLite one statement per WINDOW_ROWS rowids, each found by
 * a read that takes no write lock. */
static gh_dbrc prune_table(gh_dbconn *c, gh_arena *a, const char *table, const char *where,
                           const gh_dbparam *p, size_t np, long long *count)
{
    *count = 0;
    if (np > MAX_WHERE_PARAMS)
        return GH_DB_INVALID;
    if (!gh_db_one_writer(c)) {
        const char *sql = gh_arena_printf(a, "DELETE FROM %s WHERE %s", table, where);
        return sql ? run(c, a, sql, p, np, count) : GH_DB_FAIL;
    }
    const char *next_sql =
        gh_arena_printf(a, "SELECT rowid FROM %s WHERE rowid > $1 ORDER BY rowid LIMIT 1 OFFSET %d",
                        table, WINDOW_ROWS - 1);
    const char *del_sql =
        gh_arena_printf(a, "DELETE FROM %s WHERE rowid > $%zu AND rowid <= $%zu AND (%s)", table,
                        np + 1, np + 2, where);
    if (!next_sql || !del_sql)
        return GH_DB_FAIL;
    gh_dbparam wp[MAX_WHERE_PARAMS + 2];
    memcpy(wp, p, np * sizeof(*p));
    long long lo = LLONG_MIN;
    for (;;) {
        /* each window has its own arena, so a huge table cannot fill `a` */
        gh_arena *wa = gh_arena_new(64 * 1024);
        if (!wa)
            return GH_DB_FAIL;
        gh_dbparam from[] = {GH_INT(lo)};
        gh_dbres r;
        gh_dbrc rc = gh_db_exec_built(c, wa, next_sql, from, 1, &r);
        bool last = rc == GH_DB_OK && r.nrows == 0; /* under WINDOW_ROWS rows left */
        long long hi = last ? LLONG_MAX : gh_dbres_int(&r, 0, 0);
        if (rc == GH_DB_OK) {
            wp[np] = GH_INT(lo);
            wp[np + 1] = GH_INT(hi);
            long long n = 0;
            rc = run(c, wa, del_sql, wp, np + 2, &n);
            *count += n;
        }
        gh_arena_free(wa);
        if (rc != GH_DB_OK || last)
            return rc;
        lo = hi;
    }
}

gh_dbrc gh_store_prune(gh_dbconn *c, gh_arena *a, long long now, gh_prune_counts *out)
{
    /* Sessions that ended (absolute or idle expiry, or revocation) more than
     * a day ago. They go first, so the codes of a session pruned now can go
     * in the same run. */
    static const char sessions[] = "expires_at < $1 OR idle_expires_at < $1 OR revoked_at < $1";
    /* Authorization codes an hour past expiry, once their session is gone:
     * a code row is the record that its client took part in the session,
     * which back-channel logout reads (gh_store_session_clients; every
     * refresh-token family starts from a code of the same session and
     * client, so the codes alone keep that record). A code without a
     * session (session_id NULL) matches no session and goes. */
    static const char codes[] =
        "expires_at < $1 AND NOT EXISTS (SELECT 1 FROM sessions s "
        "WHERE s.tenant_id = auth_codes.tenant_id AND s.id = auth_codes.session_id)";
    /* Refresh tokens. The token endpoint looks at revoked_at first (revoked:
     * "invalid"), then rotated_at (a rotated token presented again revokes
     * the whole family: reuse detection), and only then at the expiry. So:
     *  - a family past family_expires_at is dead in every row (the rows of
     *    a family share it): all of it goes;
     *  - a revoked row detects nothing and an unrotated row has nothing to
     *    detect, so either goes a day after its own expiry;
     *  - a rotated, unrevoked row stays while its family lives, even after
     *    its own expiry: presenting it must still revoke the family. */
    static const char refresh[] = "family_expires_at < $1 OR (expires_at < $2 AND "
                                  "(revoked_at IS NOT NULL OR rotated_at IS NULL))";
    /* A revoked access token, or a client-assertion jti, past its exp is
     * refused on its exp alone. */
    static const char expired[] = "expires_at < $1";
    /* A throttle not blocking now, whose count has decayed (the next failure
     * would start again from 1), says nothing a missing row does not. */
    static const char throttles[] = "blocked_until < $1 AND last_failure_at < $2";
    /* Mail in a final state ('sent', or 'failed': given up or withdrawn),
     * attempts first so none is left without its message. */
    static const char attempts[] = "outbox_id IN (SELECT id FROM mail_outbox WHERE "
                                   "status IN ('sent', 'failed') AND created_at < $1)";
    static const char outbox[] = "status IN ('sent', 'failed') AND created_at < $1";
    /* Back-channel logout: attempts by their time (a row's last attempt is
     * minutes after its first), finished rows by their creation. */
    static const char logout_attempts[] = "time < $1";
    static const char logout_queue[] =
        "status IN ('sent', 'failed', 'skipped') AND created_at < $1";
    /* A device whose cookie has expired in the browser is never seen again. */
    static const char devices[] = "last_seen_at < $1";

    memset(out, 0, sizeof(*out));
    gh_dbparam day_ago[] = {GH_INT(now - DAY_MS)};
    gh_dbparam hour_ago[] = {GH_INT(now - HOUR_MS)};
    gh_dbparam at_now[] = {GH_INT(now)};
    gh_dbparam refresh_p[] = {GH_INT(now), GH_INT(now - DAY_MS)};
    gh_dbparam throttle_p[] = {GH_INT(now), GH_INT(now - GH_THROTTLE_DECAY_MS)};
    gh_dbparam mail_p[] = {GH_INT(now - MAIL_KEEP_DAYS * DAY_MS)};
    gh_dbparam logout_p[] = {GH_INT(now - LOGOUT_KEEP_DAYS * DAY_MS)};
    gh_dbparam device_p[] = {GH_INT(now - GH_DEVICE_KEEP_DAYS * DAY_MS)};

    gh_dbrc rc = prune_table(c, a, "sessions", sessions, day_ago, 1, &out->sessions);
    if (rc == GH_DB_OK)
        rc = prune_table(c, a, "auth_codes", codes, hour_ago, 1, &out->auth_codes);
    if (rc == GH_DB_OK)
        rc = prune_table(c, a, "refresh_tokens", refresh, refresh_p, 2, &out->refresh_tokens);
    if (rc == GH_DB_OK)
        rc = prune_table(c, a, "revoked_tokens", expired, at_now, 1, &out->revoked_tokens);
    if (rc == GH_DB_OK)
        rc = prune_table(c, a, "used_jtis", expired, at_now, 1, &out->used_jtis);
    if (rc == GH_DB_OK)
        rc = prune_table(c, a, "email_flows", expired, day_ago, 1, &out->email_flows);
    if (rc == GH_DB_OK)
        rc = prune_table(c, a, "auth_challenges", expired, day_ago, 1, &out->auth_challenges);
    if (rc == GH_DB_OK)
        rc = prune_table(c, a, "throttles", throttles, throttle_p, 2, &out->throttles);
    if (rc == GH_DB_OK)
        rc = prune_table(c, a, "mail_attempts", attempts, mail_p, 1, &out->mail_attempts);
    if (rc == GH_DB_OK)
        rc = prune_table(c, a, "mail_outbox", outbox, mail_p, 1, &out->mail_outbox);
    if (rc == GH_DB_OK)
        rc = prune_table(c, a, "logout_attempts", logout_attempts, logout_p, 1,
                         &out->logout_attempts);
    if (rc == GH_DB_OK)
        rc = prune_table(c, a, "logout_queue", logout_queue, logout_p, 1, &out->logout_queue);
    if (rc == GH_DB_OK)
        rc = prune_table(c, a, "devices", devices, device_p, 1, &out->devices);
    if (rc == GH_DB_OK)
        rc = prune_table(c, a, "notice_links", expired, day_ago, 1, &out->notice_links);
    if (rc == GH_DB_OK)
        rc = prune_table(c, a, "comm_unsubscribe_links", expired, day_ago, 1,
                         &out->unsubscribe_links);
    return rc;
}

long long gh_prune_total(const gh_prune_counts *n)
{
    return n->sessions + n->auth_codes + n->refresh_tokens + n->revoked_tokens + n->used_jtis +
           n->email_flows + n->auth_challenges + n->throttles + n->mail_attempts + n->mail_outbox +
           n->logout_attempts + n->logout_queue + n->devices + n->unsubscribe_links;
}

/* ---- the thread ---- */

static struct {
    pthread_mutex_t mu; /* guards everything below */
    gh_ticker *ticker;  /* NULL: no thread */
    gh_db *db;          /* set by gh_prune_start, read by the thread */
    const gh_config *cfg;
    gh_prune_hook hook;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER};

void gh_prune_set_hook(gh_prune_hook hook)
{
    pthread_mutex_lock(&P.mu);
    P.hook = hook;
    pthread_mutex_unlock(&P.mu);
}

static void prune_once(gh_db *db, const gh_config *cfg)
{
    gh_arena *a = gh_arena_new(1u << 20);
    gh_dbconn *c = a ? gh_db_acquire(db) : NULL;
    if (!c) {
        gh_log(GH_LOG_WARN, "prune skipped", "no database connection; next try in %u s",
               cfg->prune_interval);
        gh_arena_free(a);
        return;
    }
    int64_t t0 = gh_mono_ms();
    gh_prune_counts n;
    long long now = gh_now_ms();
    /* unverified sign-ups go in the hook (gh_deletion_prune_unverified):
     * their evidence must be pseudonymised, which needs the master key */
    gh_dbrc rc = gh_store_prune(c, a, now, &n);
    gh_db_release(c);
    gh_arena_free(a);
    if (rc != GH_DB_OK)
        gh_log(GH_LOG_WARN, "prune incomplete", "%s; next try in %u s", gh_dbrc_str(rc),
               cfg->prune_interval);
    if (gh_prune_total(&n) > 0)
        gh_log_event(
            GH_LOG_INFO, "pruned expired rows",
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                      "sessions", (json_int_t)n.sessions, "auth_codes", (json_int_t)n.auth_codes,
                      "refresh_tokens", (json_int_t)n.refresh_tokens, "revoked_tokens",
                      (json_int_t)n.revoked_tokens, "used_jtis", (json_int_t)n.used_jtis,
                      "email_flows", (json_int_t)n.email_flows, "auth_challenges",
                      (json_int_t)n.auth_challenges, "throttles", (json_int_t)n.throttles,
                      "mail_attempts", (json_int_t)n.mail_attempts, "mail_outbox",
                      (json_int_t)n.mail_outbox, "logout_attempts", (json_int_t)n.logout_attempts,
                      "logout_queue", (json_int_t)n.logout_queue, "devices", (json_int_t)n.devices,
                      "ms", (json_int_t)(gh_mono_ms() - t0)));
}

/* One turn of the thread, every GATEHOUSE_PRUNE_INTERVAL seconds. */
static unsigned turn(void *arg, bool woken)
{
    (void)arg;
    (void)woken;
    pthread_mutex_lock(&P.mu);
    gh_db *db = P.db;
    const gh_config *cfg = P.cfg;
    gh_prune_hook hook = P.hook;
    pthread_mutex_unlock(&P.mu);
    prune_once(db, cfg);
    if (hook)
        hook(db, cfg);
    return cfg->prune_interval * 1000u;
}

int gh_prune_start(gh_db *db, const gh_config *cfg)
{
    if (cfg->prune_interval == 0)
        return 0;
    pthread_mutex_lock(&P.mu);
    if (P.ticker) {
        pthread_mutex_unlock(&P.mu);
        return 0;
    }
    P.db = db;
    P.cfg = cfg;
    /* the first run after FIRST_RUN_S, the others every interval (at most
     * a day, so its milliseconds fit) */
    unsigned first = cfg->prune_interval < FIRST_RUN_S ? cfg->prune_interval : FIRST_RUN_S;
    P.ticker = gh_ticker_start("pruning", turn, NULL, first * 1000u, 0);
    bool ok = P.ticker != NULL;
    pthread_mutex_unlock(&P.mu);
    return ok ? 0 : -1;
}

void gh_prune_stop(void)
{
    pthread_mutex_lock(&P.mu);
    gh_ticker *t = P.ticker;
    P.ticker = NULL;
    pthread_mutex_unlock(&P.mu);
    gh_ticker_stop(t); /* a turn under way reads P.mu, so not under it */
}
