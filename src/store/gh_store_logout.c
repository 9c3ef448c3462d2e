/*
 * gh_store_logout: the SQL of the back-channel logout queue (tables
 * logout_queue and logout_attempts). Claiming works as for the mail outbox
 * (gh_store_mail.c): pick a candidate, then claim it with an UPDATE whose
 * WHERE clause repeats the claimable condition, so of several senders (of
 * one instance or several) only one wins.
 */
#include <string.h>

#include "gh_log.h"
#include "gh_store_logout.h"

#define CLAIMABLE                                                                                  \
    "((status = 'pending' AND next_attempt_at <= $1) OR "                                          \
    "(status = 'sending' AND claimed_until < $1))"

gh_dbrc gh_store_logout_enqueue(gh_dbconn *c, gh_arena *a, const char *tenant,
                                const char *session_id, long long now)
{
    /* The clients of a session are those that got a code or a refresh
     * token in it; the user comes from the session row. */
    static const char sql[] =
        "INSERT INTO logout_queue (tenant_id, session_id, client_id, user_id, status, attempts, "
        "next_attempt_at, created_at) "
        "SELECT s.tenant_id, s.id, x.client_id, s.user_id, 'pending', 0, CAST($3 AS BIGINT), "
        "CAST($3 AS BIGINT) FROM sessions s, (SELECT client_id FROM auth_codes WHERE tenant_id = "
        "$1 AND session_id = $2 UNION SELECT client_id FROM refresh_tokens WHERE tenant_id = $1 "
        "AND session_id = $2) x WHERE s.tenant_id = $1 AND s.id = $2 ON CONFLICT DO NOTHING";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(session_id), GH_INT(now)};
    return gh_db_exec(c, a, sql, p, 3, NULL);
}

gh_dbrc gh_store_logout_next_due(gh_dbconn *c, gh_arena *a, int64_t now, gh_logout_row *out)
{
    static const char sql[] =
        "SELECT tenant_id, session_id, client_id FROM logout_queue WHERE " CLAIMABLE
        " ORDER BY next_attempt_at LIMIT 1";
    gh_dbparam p[] = {GH_INT(now)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 1, &r);
    if (rc != GH_DB_OK)
        return rc;
    memset(out, 0, sizeof(*out));
    out->tenant_id = gh_dbres_get(&r, 0, 0);
    out->session_id = gh_dbres_get(&r, 0, 1);
    out->client_id = gh_dbres_get(&r, 0, 2);
    return GH_DB_OK;
}

gh_dbrc gh_store_logout_claim(gh_dbconn *c, gh_arena *a, const gh_logout_row *key, int64_t now,
                              gh_logout_row *out)
{
    static const char sql[] =
        "UPDATE logout_queue SET status = 'sending', claimed_until = $5, attempts = attempts + 1 "
        "WHERE tenant_id = $2 AND session_id = $3 AND client_id = $4 AND " CLAIMABLE
        " RETURNING tenant_id, session_id, client_id, user_id, attempts";
    gh_dbparam p[] = {GH_INT(now), GH_TEXT(key->tenant_id), GH_TEXT(key->session_id),
                      GH_TEXT(key->client_id), GH_INT(now + GH_LOGOUT_CLAIM_MS)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, sizeof(p) / sizeof(p[0]), &r);
    if (rc != GH_DB_OK)
        return rc;
    memset(out, 0, sizeof(*out));
    out->tenant_id = gh_dbres_get(&r, 0, 0);
    out->session_id = gh_dbres_get(&r, 0, 1);
    out->client_id = gh_dbres_get(&r, 0, 2);
    out->user_id = gh_dbres_get(&r, 0, 3);
    out->status = "sending";
    out->attempts = gh_dbres_int(&r, 0, 4);
    return GH_DB_OK;
}

gh_dbrc gh_store_logout_record(gh_dbconn *c, gh_arena *a, const gh_logout_row *m,
                               const char *outcome, const char *error, int64_t now,
                               int64_t next_attempt_at)
{
    static const char ins[] =
        "INSERT INTO logout_attempts (tenant_id, session_id, client_id, attempt, time, outcome, "
        "error) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    static const char upd[] =
        "UPDATE logout_queue SET status = $8, next_attempt_at = $9, claimed_until = NULL, "
        "last_error = $7, sent_at = $10 WHERE tenant_id = $1 AND session_id = $2 AND "
        "client_id = $3 AND status = 'sending' AND attempts = $4";
    bool retry = strcmp(outcome, "retry") == 0, sent = strcmp(outcome, "sent") == 0;
    gh_dbparam p[] = {
        GH_TEXT(m->tenant_id),
        GH_TEXT(m->session_id),
        GH_TEXT(m->client_id),
        GH_INT(m->attempts),
        GH_INT(now),
        GH_TEXT(outcome),
        GH_TEXT(error),
        GH_TEXT(retry ? "pending" : outcome),
        GH_INT(retry ? next_attempt_at : now),
        sent ? GH_INT(now) : GH_NULLP,
    };
    gh_dbrc rc = gh_db_begin(c);
    if (rc != GH_DB_OK)
        return rc;
    rc = gh_db_exec(c, a, ins, p, 7, NULL);
    gh_dbres r;
    if (rc == GH_DB_OK)
        rc = gh_db_exec(c, a, upd, p, sizeof(p) / sizeof(p[0]), &r);
    if (rc != GH_DB_OK) {
        gh_db_rollback(c);
        return rc;
    }
    if (r.changes == 0)
        gh_log_event(GH_LOG_WARN, "logout claim lost",
                     json_pack("{s:s, s:s, s:I}", "client_id", m->client_id, "session_id",
                               m->session_id, "attempt", (json_int_t)m->attempts));
    return gh_db_commit(c);
}
