/*
 * gh_store_mail: the SQL of the mail outbox (tables mail_outbox and
 * mail_attempts, migration 2). Written once for SQLite and PostgreSQL.
 *
 * Claiming is race-safe without SKIP LOCKED: a sender picks a candidate,
 * then claims it with an UPDATE whose WHERE clause repeats the claimable
 * condition. Of several senders that picked the same row, the first UPDATE
 * wins; the others change no row and move on.
 */
#include <string.h>

#include "gh_log.h"
#include "gh_store_mail.h"

#define CLAIMABLE                                                                                  \
    "((status = 'pending' AND next_attempt_at <= $1) OR "                                          \
    "(status = 'sending' AND claimed_until < $1))"

gh_dbrc gh_store_mail_insert(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                             const char *to, const char *template_name, const char *sealed,
                             int64_t now, int64_t send_at)
{
    static const char sql[] =
        "INSERT INTO mail_outbox (tenant_id, id, to_addr, template, params, status, attempts, "
        "next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $7, $6)";
    gh_dbparam p[] = {GH_TEXT(tenant),
                      GH_TEXT(id),
                      GH_TEXT(to),
                      GH_TEXT(template_name),
                      GH_TEXT(sealed),
                      GH_INT(now),
                      GH_INT(send_at > now ? send_at : now)};
    return gh_db_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL);
}

gh_dbrc gh_store_mail_next_due(gh_dbconn *c, gh_arena *a, int64_t now, gh_mail_row *out)
{
    static const char sql[] = "SELECT tenant_id, id FROM mail_outbox WHERE " CLAIMABLE
                              " ORDER BY next_attempt_at LIMIT 1";
    gh_dbparam p[] = {GH_INT(now)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 1, &r);
    if (rc != GH_DB_OK)
        return rc;
    memset(out, 0, sizeof(*out));
    out->tenant_id = gh_dbres_get(&r, 0, 0);
    out->id = gh_dbres_get(&r, 0, 1);
    return GH_DB_OK;
}

gh_dbrc gh_store_mail_claim(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                            int64_t now, gh_mail_row *out)
{
    /* The attempt is counted when it is claimed: a sender that dies in the
     * middle of a send still used one, and a late record by a sender whose
     * claim expired no longer matches the row. */
    static const char sql[] =
        "UPDATE mail_outbox SET status = 'sending', claimed_until = $4, attempts = attempts + 1 "
        "WHERE tenant_id = $2 AND id = $3 AND " CLAIMABLE
        " RETURNING tenant_id, id, to_addr, template, params, attempts";
    gh_dbparam p[] = {GH_INT(now), GH_TEXT(tenant), GH_TEXT(id), GH_INT(now + GH_MAIL_CLAIM_MS)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, sizeof(p) / sizeof(p[0]), &r);
    if (rc != GH_DB_OK)
        return rc;
    memset(out, 0, sizeof(*out));
    out->tenant_id = gh_dbres_get(&r, 0, 0);
    out->id = gh_dbres_get(&r, 0, 1);
    out->to = gh_dbres_get(&r, 0, 2);
    out->template_name = gh_dbres_get(&r, 0, 3);
    out->params = gh_dbres_get(&r, 0, 4);
    out->status = "sending";
    out->attempts = gh_dbres_int(&r, 0, 5);
    return GH_DB_OK;
}

gh_dbrc gh_store_mail_record(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                             long long attempt, const char *outcome, const char *error, int64_t now,
                             int64_t next_attempt_at)
{
    static const char ins[] = "INSERT INTO mail_attempts (outbox_id, attempt, time, outcome, "
                              "error) VALUES ($2, $3, $4, $5, $6)";
    /* Parameters are kept only while another attempt may need them. */
    static const char upd[] =
        "UPDATE mail_outbox SET status = $7, next_attempt_at = $8, claimed_until = NULL, "
        "last_error = $6, sent_at = $9, params = CASE WHEN $10 = 1 THEN '' ELSE params END "
        "WHERE tenant_id = $1 AND id = $2 AND status = 'sending' AND attempts = $3";
    bool retry = strcmp(outcome, "retry") == 0, sent = strcmp(outcome, "sent") == 0;
    gh_dbparam p[] = {
        GH_TEXT(tenant),
        GH_TEXT(id),
        GH_INT(attempt),
        GH_INT(now),
        GH_TEXT(outcome),
        GH_TEXT(error),
        GH_TEXT(retry ? "pending" : outcome),
        GH_INT(retry ? next_attempt_at : now),
        sent ? GH_INT(now) : GH_NULLP,
        GH_INT(retry ? 0 : 1),
    };
    gh_dbrc rc = gh_db_begin(c);
    if (rc != GH_DB_OK)
        return rc;
    rc = gh_db_exec(c, a, ins, p, 6, NULL);
    gh_dbres r;
    if (rc == GH_DB_OK)
        rc = gh_db_exec(c, a, upd, p, sizeof(p) / sizeof(p[0]), &r);
    if (rc != GH_DB_OK) {
        gh_db_rollback(c);
        return rc;
    }
    /* The attempt happened either way, so its row is kept; the outbox row is
     * left alone when another sender has claimed it since. */
    if (r.changes == 0)
        gh_log_event(GH_LOG_WARN, "mail claim lost",
                     json_pack("{s:s, s:s, s:I}", "tenant", tenant, "id", id, "attempt",
                               (json_int_t)attempt));
    return gh_db_commit(c);
}

gh_dbrc gh_store_mail_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                          gh_mail_row *out)
{
    static const char sql[] =
        "SELECT tenant_id, id, to_addr, template, status, last_error, attempts, "
        "next_attempt_at, sent_at, claimed_until FROM mail_outbox WHERE tenant_id = $1 AND "
        "id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    memset(out, 0, sizeof(*out));
    out->tenant_id = gh_dbres_get(&r, 0, 0);
    out->id = gh_dbres_get(&r, 0, 1);
    out->to = gh_dbres_get(&r, 0, 2);
    out->template_name = gh_dbres_get(&r, 0, 3);
    out->status = gh_dbres_get(&r, 0, 4);
    out->last_error = gh_dbres_get(&r, 0, 5);
    out->attempts = gh_dbres_int(&r, 0, 6);
    out->next_attempt_at = gh_dbres_int(&r, 0, 7);
    out->sent_at = gh_dbres_int(&r, 0, 8);
    out->claimed_until = gh_dbres_int(&r, 0, 9);
    return GH_DB_OK;
}

gh_dbrc gh_store_mail_withdraw(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                               const char *reason)
{
    static const char sql[] =
        "UPDATE mail_outbox SET status = 'failed', last_error = $3, params = '', "
        "claimed_until = NULL WHERE tenant_id = $1 AND id = $2 AND status = 'pending'";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_TEXT(reason)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_NOTFOUND);
}
