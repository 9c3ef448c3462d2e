/* Unit tests for the janitor (gh_store_prune): every pruned table gets rows
 * on both sides of its rule, one prune must delete exactly the dead ones,
 * and a second prune nothing. Over a real SQLite file, or over PostgreSQL
 * when GATEHOUSE_TEST_DATABASE_URL is set (testdb.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit.h"
#include "gh_crypto.h"
#include "gh_db.h"
#include "gh_log.h"
#include "gh_store_users.h"
#include "gh_store_sessions.h"
#include "gh_store_prune.h"
#include "gh_throttle.h"

#include "testdb.h"

#define T GH_DEFAULT_TENANT

/* A fixed clock: 2023-11-14, far from 0 so "now - 30 days" stays positive. */
#define NOW  1700000000000LL
#define MIN  (60LL * 1000)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)

struct fixture {
    test_db t;
    gh_db *db;
    gh_dbconn *c;
    gh_arena *a;
    const char *alice; /* user id */
};

static int teardown(void **state);

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    f->db = test_db_open(&f->t, "gh-store-prune", 2);
    if (!f->db)
        goto fail;
    f->c = gh_db_acquire(f->db);
    f->a = gh_arena_new(0);
    if (!f->c || !f->a)
        goto fail;
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    gh_user u = {.tenant_id = T,
                 .id = gh_arena_strdup(f->a, id),
                 .username = "alice@example.com",
                 .email = "alice@example.com",
                 .active = true,
                 .version = 1,
                 .created_at = 1000,
                 .updated_at = 1000};
    if (gh_store_user_insert(f->c, f->a, &u) != GH_DB_OK)
        goto fail;
    f->alice = u.id;
    return 0;
fail:
    teardown(state);
    *state = NULL;
    return -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    gh_db_release(f->c);
    gh_db_close(f->db);
    gh_arena_free(f->a);
    test_db_drop(&f->t);
    free(f);
    return 0;
}

/* ---- rows ---- */

static void session(struct fixture *f, const char *id, long long idle_expires_at,
                    long long expires_at, long long revoked_at)
{
    static const char sql[] =
        "INSERT INTO sessions (tenant_id, id, token_hash, user_id, created_at, last_seen_at, "
        "idle_expires_at, expires_at, auth_time, revoked_at) VALUES ($1, $2, $3, $4, $5, $5, $6, "
        "$7, $5, $8)";
    gh_dbparam p[] = {GH_TEXT(T),
                      GH_TEXT(id),
                      GH_TEXT(gh_arena_printf(f->a, "hash-%s", id)),
                      GH_TEXT(f->alice),
                      GH_INT(NOW - 40 * DAY),
                      GH_INT(idle_expires_at),
                      GH_INT(expires_at),
                      revoked_at ? GH_INT(revoked_at) : GH_NULLP};
    assert_int_equal(gh_db_exec(f->c, f->a, sql, p, 8, NULL), GH_DB_OK);
}

static void code(struct fixture *f, const char *hash, const char *session_id, long long expires_at)
{
    static const char sql[] =
        "INSERT INTO auth_codes (tenant_id, code_hash, client_id, user_id, session_id, "
        "redirect_uri, scope, auth_time, created_at, expires_at) VALUES ($1, $2, 'app', $3, $4, "
        "'https://app.example/cb', 'openid', $5, $5, $6)";
    gh_dbparam p[] = {GH_TEXT(T),          GH_TEXT(hash),         GH_TEXT(f->alice),
                      GH_TEXT(session_id), GH_INT(NOW - 3 * DAY), GH_INT(expires_at)};
    assert_int_equal(gh_db_exec(f->c, f->a, sql, p, 6, NULL), GH_DB_OK);
}

static void refresh(struct fixture *f, const char *hash, const char *family, long long expires_at,
                    long long family_expires_at, long long rotated_at, long long revoked_at)
{
    static const char sql[] =
        "INSERT INTO refresh_tokens (tenant_id, token_hash, family_id, client_id, user_id, "
        "session_id, scope, created_at, expires_at, family_expires_at, rotated_at, revoked_at) "
        "VALUES ($1, $2, $3, 'app', $4, NULL, 'openid offline_access', $5, $6, $7, $8, $9)";
    gh_dbparam p[] = {GH_TEXT(T),
                      GH_TEXT(hash),
                      GH_TEXT(family),
                      GH_TEXT(f->alice),
                      GH_INT(NOW - 60 * DAY),
                      GH_INT(expires_at),
                      GH_INT(family_expires_at),
                      rotated_at ? GH_INT(rotated_at) : GH_NULLP,
                      revoked_at ? GH_INT(revoked_at) : GH_NULLP};
    assert_int_equal(gh_db_exec(f->c, f->a, sql, p, 9, NULL), GH_DB_OK);
}

static void revoked_jti(struct fixture *f, const char *jti, long long expires_at)
{
    static const char sql[] =
        "INSERT INTO revoked_tokens (tenant_id, jti, expires_at) VALUES ($1, $2, $3)";
    gh_dbparam p[] = {GH_TEXT(T), GH_TEXT(jti), GH_INT(expires_at)};
    assert_int_equal(gh_db_exec(f->c, f->a, sql, p, 3, NULL), GH_DB_OK);
}

static void used_jti(struct fixture *f, const char *jti, long long expires_at)
{
    static const char sql[] = "INSERT INTO used_jtis (tenant_id, client_id, jti, expires_at) "
                              "VALUES ($1, 'app', $2, $3)";
    gh_dbparam p[] = {GH_TEXT(T), GH_TEXT(jti), GH_INT(expires_at)};
    assert_int_equal(gh_db_exec(f->c, f->a, sql, p, 3, NULL), GH_DB_OK);
}

static void flow(struct fixture *f, const char *id, long long expires_at)
{
    static const char sql[] =
        "INSERT INTO email_flows (tenant_id, id, kind, user_id, email, code_hash, link_hash, "
        "created_at, last_sent_at, expires_at) VALUES ($1, $2, 'verify_email', $3, "
        "'alice@example.com', 'c', 'l', $4, $4, $5)";
    gh_dbparam p[] = {GH_TEXT(T), GH_TEXT(id), GH_TEXT(f->alice), GH_INT(expires_at - 10 * MIN),
                      GH_INT(expires_at)};
    assert_int_equal(gh_db_exec(f->c, f->a, sql, p, 5, NULL), GH_DB_OK);
}

static void challenge(struct fixture *f, const char *id, long long expires_at)
{
    static const char sql[] =
        "INSERT INTO auth_challenges (tenant_id, id, kind, binding_hash, created_at, expires_at) "
        "VALUES ($1, $2, 'webauthn_get', 'b', $3, $4)";
    gh_dbparam p[] = {GH_TEXT(T), GH_TEXT(id), GH_INT(expires_at - 5 * MIN), GH_INT(expires_at)};
    assert_int_equal(gh_db_exec(f->c, f->a, sql, p, 4, NULL), GH_DB_OK);
}

static void throttle(struct fixture *f, const char *key, long long last_failure_at,
                     long long blocked_until)
{
    static const char sql[] = "INSERT INTO throttles (tenant_id, key, failures, last_failure_at, "
                              "blocked_until) VALUES ($1, $2, 7, $3, $4)";
    gh_dbparam p[] = {GH_TEXT(T), GH_TEXT(key), GH_INT(last_failure_at), GH_INT(blocked_until)};
    assert_int_equal(gh_db_exec(f->c, f->a, sql, p, 4, NULL), GH_DB_OK);
}

/* A message and `attempts` rows of mail_attempts for it. */
static void mail(struct fixture *f, const char *id, const char *status, long long created_at,
                 int attempts)
{
    static const char sql[] =
        "INSERT INTO mail_outbox (tenant_id, id, to_addr, template, params, status, attempts, "
        "next_attempt_at, created_at) VALUES ($1, $2, 'alice@example.com', 'verify_email', '', "
        "$3, $4, $5, $5)";
    static const char att[] = "INSERT INTO mail_attempts (outbox_id, attempt, time, outcome) "
                              "VALUES ($1, $2, $3, 'retry')";
    gh_dbparam p[] = {GH_TEXT(T), GH_TEXT(id), GH_TEXT(status), GH_INT(attempts),
                      GH_INT(created_at)};
    assert_int_equal(gh_db_exec(f->c, f->a, sql, p, 5, NULL), GH_DB_OK);
    for (int i = 1; i <= attempts; i++) {
        gh_dbparam q[] = {GH_TEXT(id), GH_INT(i), GH_INT(created_at + i * MIN)};
        assert_int_equal(gh_db_exec(f->c, f->a, att, q, 3, NULL), GH_DB_OK);
    }
}

/* ---- looking ---- */

/* Rows of table where col = key. */
static long long rows(struct fixture *f, const char *table, const char *col, const char *key)
{
    const char *sql = gh_arena_printf(f->a, "SELECT COUNT(*) FROM %s WHERE %s = $1", table, col);
    gh_dbparam p[] = {GH_TEXT(key)};
    gh_dbres r;
    assert_int_equal(gh_db_exec_built(f->c, f->a, sql, p, 1, &r), GH_DB_OK);
    return gh_dbres_int(&r, 0, 0);
}

static long long all_rows(struct fixture *f, const char *table)
{
    const char *sql = gh_arena_printf(f->a, "SELECT COUNT(*) FROM %s", table);
    gh_dbres r;
    assert_int_equal(gh_db_exec_built(f->c, f->a, sql, NULL, 0, &r), GH_DB_OK);
    return gh_dbres_int(&r, 0, 0);
}

/* A back-channel logout row (session id = client id = id) with one attempt. */
static void logout_row(struct fixture *f, const char *id, const char *status, long long created_at)
{
    static const char sql[] =
        "INSERT INTO logout_queue (tenant_id, session_id, client_id, user_id, status, attempts, "
        "next_attempt_at, created_at) VALUES ($1, $2, $2, 'u', $3, 1, $4, $4)";
    static const char att[] = "INSERT INTO logout_attempts (tenant_id, session_id, client_id, "
                              "attempt, time, outcome) VALUES ($1, $2, $2, 1, $3, 'retry')";
    gh_dbparam p[] = {GH_TEXT(T), GH_TEXT(id), GH_TEXT(status), GH_INT(created_at)};
    assert_int_equal(gh_db_exec(f->c, f->a, sql, p, 4, NULL), GH_DB_OK);
    gh_dbparam q[] = {GH_TEXT(T), GH_TEXT(id), GH_INT(created_at + MIN)};
    assert_int_equal(gh_db_exec(f->c, f->a, att, q, 3, NULL), GH_DB_OK);
}

#define KEPT(table, col, key) assert_int_equal(rows(f, table, col, key), 1)
#define GONE(table, col, key) assert_int_equal(rows(f, table, col, key), 0)

/* ---- tests ---- */

static void empty_database(void **state)
{
    struct fixture *f = *state;
    gh_prune_counts n;
    assert_int_equal(gh_store_prune(f->c, f->a, NOW, &n), GH_DB_OK);
    assert_int_equal(gh_prune_total(&n), 0);
}

static void deletes_exactly_the_dead_rows(void **state)
{
    struct fixture *f = *state;

    /* devices: forgotten once their cookie has expired in the browser */
    assert_int_equal(gh_store_device_seen(f->c, f->a, T, f->alice, "d-old",
                                          NOW - (GH_DEVICE_KEEP_DAYS + 1) * DAY),
                     GH_DB_OK);
    assert_int_equal(gh_store_device_seen(f->c, f->a, T, f->alice, "d-seen",
                                          NOW - (GH_DEVICE_KEEP_DAYS - 1) * DAY),
                     GH_DB_OK);

    /* sessions: dead a day after they end, however they ended */
    session(f, "s-live", NOW + HOUR, NOW + DAY, 0);
    session(f, "s-ended-lately", NOW + HOUR, NOW - HOUR, 0);
    session(f, "s-absolute", NOW - 2 * DAY, NOW - 2 * DAY, 0);
    session(f, "s-idle", NOW - 2 * DAY, NOW + DAY, 0);
    session(f, "s-revoked", NOW + HOUR, NOW + DAY, NOW - 2 * DAY);
    session(f, "s-revoked-lately", NOW + HOUR, NOW + DAY, NOW - HOUR);

    /* codes: an hour after expiry, once their session is gone */
    code(f, "c-live", "s-live", NOW + MIN);
    code(f, "c-expired-lately", NULL, NOW - 30 * MIN);
    code(f, "c-old", NULL, NOW - 2 * HOUR);
    code(f, "c-old-session-gone", "no-such-session", NOW - 2 * HOUR);
    code(f, "c-old-session-pruned", "s-absolute", NOW - 2 * HOUR);
    code(f, "c-old-session-live", "s-live", NOW - 2 * HOUR); /* back-channel logout needs it */

    /* refresh tokens */
    long long fam_live = NOW + 10 * DAY, fam_dead = NOW - MIN;
    refresh(f, "r-a-rotated", "fam-a", NOW - 5 * DAY, fam_live, NOW - 6 * DAY, 0); /* reuse */
    refresh(f, "r-a-tip", "fam-a", NOW + DAY, fam_live, 0, 0);
    refresh(f, "r-b-expired-unused", "fam-b", NOW - 2 * DAY, fam_live, 0, 0);
    refresh(f, "r-b-expired-lately", "fam-b2", NOW - HOUR, fam_live, 0, 0);
    refresh(f, "r-c-revoked-expired", "fam-c", NOW - 2 * DAY, fam_live, NOW - 3 * DAY, NOW - DAY);
    refresh(f, "r-c-revoked-live", "fam-c", NOW + DAY, fam_live, 0, NOW - DAY);
    refresh(f, "r-c-revoked-lately", "fam-c", NOW - HOUR, fam_live, 0, NOW - DAY);
    refresh(f, "r-d-rotated", "fam-d", NOW - 2 * DAY, fam_dead, NOW - 3 * DAY, 0);
    refresh(f, "r-d-tip", "fam-d", fam_dead, fam_dead, 0, 0);

    revoked_jti(f, "j-expired", NOW - 1);
    revoked_jti(f, "j-now", NOW);
    revoked_jti(f, "j-live", NOW + HOUR);
    used_jti(f, "u-expired", NOW - 1);
    used_jti(f, "u-live", NOW + MIN);

    flow(f, "f-old", NOW - 2 * DAY);
    flow(f, "f-expired-lately", NOW - HOUR);
    flow(f, "f-live", NOW + 5 * MIN);

    challenge(f, "ch-old", NOW - 2 * DAY);
    challenge(f, "ch-expired-lately", NOW - HOUR);
    challenge(f, "ch-live", NOW + MIN);

    throttle(f, "t-decayed", NOW - 2 * DAY, NOW - 2 * DAY);
    throttle(f, "t-recent", NOW - HOUR, 0);
    throttle(f, "t-blocked", NOW - 2 * DAY, NOW + HOUR);
    throttle(f, "t-just-decayed", NOW - GH_THROTTLE_DECAY_MS - 1, 0);

    mail(f, "m-sent-old", "sent", NOW - 31 * DAY, 2);
    mail(f, "m-failed-old", "failed", NOW - 40 * DAY, 1);
    mail(f, "m-pending-old", "pending", NOW - 40 * DAY, 1);
    mail(f, "m-sending-old", "sending", NOW - 40 * DAY, 1);
    mail(f, "m-sent-recent", "sent", NOW - 29 * DAY, 1);
    logout_row(f, "l-sent-old", "sent", NOW - 8 * DAY);
    logout_row(f, "l-failed-old", "failed", NOW - 8 * DAY);
    logout_row(f, "l-skipped-old", "skipped", NOW - 8 * DAY);
    logout_row(f, "l-sent-recent", "sent", NOW - 6 * DAY);

    /* never pruned: the audit log (its trigger would refuse anyway), consent */
    gh_audit_event ev = {
        .tenant_id = T, .type = "signin", .subject = f->alice, .outcome = "success"};
    assert_int_equal(gh_audit_append(f->c, f->a, &ev), GH_DB_OK);
    static const char consent[] = "INSERT INTO consents (tenant_id, user_id, client_id, scope, "
                                  "granted_at) VALUES ($1, $2, 'app', 'openid', 1)";
    gh_dbparam cp[] = {GH_TEXT(T), GH_TEXT(f->alice)};
    assert_int_equal(gh_db_exec(f->c, f->a, consent, cp, 2, NULL), GH_DB_OK);
    long long audit = all_rows(f, "audit_events");

    gh_prune_counts n;
    assert_int_equal(gh_store_prune(f->c, f->a, NOW, &n), GH_DB_OK);
    assert_int_equal(n.sessions, 3);
    assert_int_equal(n.auth_codes, 3);
    assert_int_equal(n.refresh_tokens, 4);
    assert_int_equal(n.revoked_tokens, 1);
    assert_int_equal(n.used_jtis, 1);
    assert_int_equal(n.email_flows, 1);
    assert_int_equal(n.auth_challenges, 1);
    assert_int_equal(n.throttles, 2);
    assert_int_equal(n.mail_attempts, 3);
    assert_int_equal(n.mail_outbox, 2);
    assert_int_equal(n.logout_attempts, 3);
    assert_int_equal(n.logout_queue, 3);
    assert_int_equal(n.devices, 1);
    assert_int_equal(gh_prune_total(&n), 28);
    GONE("devices", "device_hash", "d-old");
    KEPT("devices", "device_hash", "d-seen");

    KEPT("sessions", "id", "s-live");
    KEPT("sessions", "id", "s-ended-lately");
    GONE("sessions", "id", "s-absolute");
    GONE("sessions", "id", "s-idle");
    GONE("sessions", "id", "s-revoked");
    KEPT("sessions", "id", "s-revoked-lately");

    KEPT("auth_codes", "code_hash", "c-live");
    KEPT("auth_codes", "code_hash", "c-expired-lately");
    GONE("auth_codes", "code_hash", "c-old");
    GONE("auth_codes", "code_hash", "c-old-session-gone");
    GONE("auth_codes", "code_hash", "c-old-session-pruned");
    KEPT("auth_codes", "code_hash", "c-old-session-live");

    KEPT("refresh_tokens", "token_hash", "r-a-rotated");
    KEPT("refresh_tokens", "token_hash", "r-a-tip");
    GONE("refresh_tokens", "token_hash", "r-b-expired-unused");
    KEPT("refresh_tokens", "token_hash", "r-b-expired-lately");
    GONE("refresh_tokens", "token_hash", "r-c-revoked-expired");
    KEPT("refresh_tokens", "token_hash", "r-c-revoked-live");
    KEPT("refresh_tokens", "token_hash", "r-c-revoked-lately");
    GONE("refresh_tokens", "token_hash", "r-d-rotated");
    GONE("refresh_tokens", "token_hash", "r-d-tip");

    GONE("revoked_tokens", "jti", "j-expired");
    KEPT("revoked_tokens", "jti", "j-now");
    KEPT("revoked_tokens", "jti", "j-live");
    GONE("used_jtis", "jti", "u-expired");
    KEPT("used_jtis", "jti", "u-live");

    GONE("email_flows", "id", "f-old");
    KEPT("email_flows", "id", "f-expired-lately");
    KEPT("email_flows", "id", "f-live");

    GONE("auth_challenges", "id", "ch-old");
    KEPT("auth_challenges", "id", "ch-expired-lately");
    KEPT("auth_challenges", "id", "ch-live");

    GONE("throttles", "key", "t-decayed");
    KEPT("throttles", "key", "t-recent");
    KEPT("throttles", "key", "t-blocked");
    GONE("throttles", "key", "t-just-decayed");

    GONE("mail_outbox", "id", "m-sent-old");
    GONE("mail_outbox", "id", "m-failed-old");
    KEPT("mail_outbox", "id", "m-pending-old");
    KEPT("mail_outbox", "id", "m-sending-old");
    KEPT("mail_outbox", "id", "m-sent-recent");
    assert_int_equal(rows(f, "mail_attempts", "outbox_id", "m-sent-old"), 0);
    assert_int_equal(rows(f, "mail_attempts", "outbox_id", "m-failed-old"), 0);
    assert_int_equal(rows(f, "mail_attempts", "outbox_id", "m-pending-old"), 1);
    assert_int_equal(rows(f, "mail_attempts", "outbox_id", "m-sending-old"), 1);
    assert_int_equal(rows(f, "mail_attempts", "outbox_id", "m-sent-recent"), 1);
    GONE("logout_queue", "session_id", "l-sent-old");
    GONE("logout_queue", "session_id", "l-failed-old");
    GONE("logout_queue", "session_id", "l-skipped-old");
    KEPT("logout_queue", "session_id", "l-sent-recent");
    KEPT("logout_attempts", "session_id", "l-sent-recent");

    assert_int_equal(all_rows(f, "audit_events"), audit);
    assert_int_equal(all_rows(f, "consents"), 1);
    assert_int_equal(all_rows(f, "users"), 1);

    /* A second run finds nothing left. */
    assert_int_equal(gh_store_prune(f->c, f->a, NOW, &n), GH_DB_OK);
    assert_int_equal(gh_prune_total(&n), 0);
    assert_int_equal(all_rows(f, "audit_events"), audit);
}

/* Once the session of a code ends and its row is pruned a day later, the
 * code follows in the same run. */
static void codes_follow_their_session(void **state)
{
    struct fixture *f = *state;
    session(f, "s", NOW + HOUR, NOW + DAY, 0);
    code(f, "c", "s", NOW - 2 * HOUR);
    gh_prune_counts n;
    assert_int_equal(gh_store_prune(f->c, f->a, NOW, &n), GH_DB_OK);
    assert_int_equal(gh_prune_total(&n), 0);
    KEPT("auth_codes", "code_hash", "c");

    long long later = NOW + 3 * DAY; /* the session ended at NOW + DAY */
    assert_int_equal(gh_store_prune(f->c, f->a, later, &n), GH_DB_OK);
    assert_int_equal(n.sessions, 1);
    assert_int_equal(n.auth_codes, 1);
    assert_int_equal(gh_prune_total(&n), 2);
    GONE("auth_codes", "code_hash", "c");
}

/* A rotated token outlives its own expiry until its family ends. */
static void rotated_tokens_wait_for_their_family(void **state)
{
    struct fixture *f = *state;
    refresh(f, "old", "fam", NOW + HOUR, NOW + 10 * DAY, NOW - MIN, 0);
    refresh(f, "tip", "fam", NOW + 5 * DAY, NOW + 10 * DAY, 0, 0);
    gh_prune_counts n;
    assert_int_equal(gh_store_prune(f->c, f->a, NOW + 9 * DAY, &n), GH_DB_OK);
    assert_int_equal(n.refresh_tokens, 1); /* the tip, a day past its expiry */
    KEPT("refresh_tokens", "token_hash", "old");
    assert_int_equal(gh_store_prune(f->c, f->a, NOW + 10 * DAY + 1, &n), GH_DB_OK);
    assert_int_equal(n.refresh_tokens, 1);
    GONE("refresh_tokens", "token_hash", "old");
}

/* Over many rows (on SQLite: several windows of rowids, with gaps where
 * rows were deleted before), exactly the dead ones go, whatever window
 * they fall in, and a second prune finds nothing. */
static void large_tables_are_pruned_in_full(void **state)
{
    struct fixture *f = *state;
    enum { N = 9001 }; /* not a multiple of any window size */
    assert_int_equal(gh_db_begin(f->c), GH_DB_OK);
    for (int i = 0; i < N; i++) {
        char jti[32];
        snprintf(jti, sizeof(jti), "jti-%05d", i);
        /* most rows are dead (so a row skipped at a window's edge shows);
         * the first and the last rows are too */
        bool dead = i % 7 != 3 || i == N - 1;
        used_jti(f, jti, dead ? NOW - MIN : NOW + HOUR);
    }
    static const char gaps[] = "DELETE FROM used_jtis WHERE jti LIKE 'jti-%5'";
    assert_int_equal(gh_db_exec(f->c, f->a, gaps, NULL, 0, NULL), GH_DB_OK);
    assert_int_equal(gh_db_commit(f->c), GH_DB_OK);

    long long dead = 0, alive = 0;
    for (int i = 0; i < N; i++) {
        if (i % 10 == 5)
            continue; /* deleted above */
        if (i % 7 != 3 || i == N - 1)
            dead++;
        else
            alive++;
    }
    assert_int_equal(all_rows(f, "used_jtis"), dead + alive);

    gh_prune_counts n;
    assert_int_equal(gh_store_prune(f->c, f->a, NOW, &n), GH_DB_OK);
    assert_int_equal(n.used_jtis, dead);
    assert_int_equal(gh_prune_total(&n), dead);
    assert_int_equal(all_rows(f, "used_jtis"), alive);
    GONE("used_jtis", "jti", "jti-00000");
    GONE("used_jtis", "jti", "jti-09000");
    KEPT("used_jtis", "jti", "jti-00003");
    KEPT("used_jtis", "jti", "jti-08991");

    assert_int_equal(gh_store_prune(f->c, f->a, NOW, &n), GH_DB_OK);
    assert_int_equal(gh_prune_total(&n), 0);
}

/* A user row (id = username = email) created at created_at. */
static void user(struct fixture *f, const char *id, long long created_at, bool self_signup,
                 bool verified)
{
    gh_user u = {.tenant_id = T,
                 .id = id,
                 .username = id,
                 .email = id,
                 .email_verified = verified,
                 .active = true,
                 .version = 1,
                 .created_at = created_at,
                 .updated_at = created_at};
    assert_int_equal(gh_store_user_insert(f->c, f->a, &u), GH_DB_OK);
    if (self_signup)
        assert_int_equal(gh_store_user_mark_signup(f->c, f->a, T, id), GH_DB_OK);
}

/* Issue 15: self-service sign-ups never verified go after the TTL with
 * their rows; SCIM or imported users (no self_signup), verified sign-ups
 * and young sign-ups stay (SECURITY.md #14, ASVS 6.4). */
static void unverified_signups_expire(void **state)
{
    struct fixture *f = *state;
    user(f, "old-signup@example.com", NOW - 8 * DAY, true, false);
    user(f, "new-signup@example.com", NOW - DAY, true, false);
    user(f, "verified-signup@example.com", NOW - 8 * DAY, true, true);
    user(f, "scim@example.com", NOW - 30 * DAY, false, false);
    static const char fl[] =
        "INSERT INTO email_flows (tenant_id, id, kind, user_id, email, code_hash, link_hash, "
        "attempts, sends, created_at, last_sent_at, expires_at) VALUES ($1, 'f-old', "
        "'verify_email', 'old-signup@example.com', 'old-signup@example.com', 'x', 'y', 0, 1, $2, "
        "$2, $3)";
    gh_dbparam p[] = {GH_TEXT(T), GH_INT(NOW - MIN), GH_INT(NOW + HOUR)};
    assert_int_equal(gh_db_exec(f->c, f->a, fl, p, 3, NULL), GH_DB_OK);
    session(f, "s-old-signup", NOW + HOUR, NOW + DAY, 0);
    static const char own[] = "UPDATE sessions SET user_id = 'old-signup@example.com' WHERE id = "
                              "'s-old-signup'";
    assert_int_equal(gh_db_exec(f->c, f->a, own, NULL, 0, NULL), GH_DB_OK);

    const char **tenants = NULL, **ids = NULL;
    size_t n = 0;
    assert_int_equal(gh_store_unverified_due(f->c, f->a, NOW - 7 * DAY, 10, &tenants, &ids, &n),
                     GH_DB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "old-signup@example.com");
    assert_int_equal(gh_store_unverified_claim(f->c, f->a, T, ids[0], NOW - 7 * DAY), GH_DB_OK);
    /* a verified, young or SCIM account cannot be claimed, even by id */
    assert_int_equal(
        gh_store_unverified_claim(f->c, f->a, T, "verified-signup@example.com", NOW - 7 * DAY),
        GH_DB_NOTFOUND);
    assert_int_equal(
        gh_store_unverified_claim(f->c, f->a, T, "new-signup@example.com", NOW - 7 * DAY),
        GH_DB_NOTFOUND);
    assert_int_equal(gh_store_unverified_claim(f->c, f->a, T, "scim@example.com", NOW - 7 * DAY),
                     GH_DB_NOTFOUND);
    assert_int_equal(gh_store_user_purge(f->c, f->a, T, ids[0]), GH_DB_OK);
    GONE("users", "id", "old-signup@example.com");
    GONE("email_flows", "id", "f-old");
    GONE("sessions", "id", "s-old-signup");
    KEPT("users", "id", "new-signup@example.com");
    KEPT("users", "id", "verified-signup@example.com");
    KEPT("users", "id", "scim@example.com");
    KEPT("users", "id", f->alice);
    assert_int_equal(gh_store_unverified_due(f->c, f->a, NOW - 7 * DAY, 10, &tenants, &ids, &n),
                     GH_DB_OK);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(empty_database, setup, teardown),
        cmocka_unit_test_setup_teardown(deletes_exactly_the_dead_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(codes_follow_their_session, setup, teardown),
        cmocka_unit_test_setup_teardown(rotated_tokens_wait_for_their_family, setup, teardown),
        cmocka_unit_test_setup_teardown(large_tables_are_pruned_in_full, setup, teardown),
        cmocka_unit_test_setup_teardown(unverified_signups_expire, setup, teardown),
    };
    gh_crypto_init();
    gh_log_set_level(GH_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
