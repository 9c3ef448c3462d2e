#include "gh_store_recovery.h"

#include <string.h>

#define COLUMNS                                                                                    \
    "tenant_id, id, user_id, state, started_at, ends_at, cancel_hash, reminder_mail_id, reason, "  \
    "updated_at"

gh_dbrc gh_store_wait_insert(gh_dbconn *c, gh_arena *a, const gh_recovery_wait *w)
{
    static const char sql[] =
        "INSERT INTO recovery_waits (" COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    gh_dbparam p[] = {GH_TEXT(w->tenant_id),   GH_TEXT(w->id),
                      GH_TEXT(w->user_id),     GH_TEXT(w->state),
                      GH_INT(w->started_at),   GH_INT(w->ends_at),
                      GH_TEXT(w->cancel_hash), GH_TEXT(w->reminder_mail_id),
                      GH_TEXT(w->reason),      GH_INT(w->updated_at)};
    return gh_db_exec(c, a, sql, p, 10, NULL);
}

static void read_row(const gh_dbres *r, size_t i, gh_recovery_wait *out)
{
    *out = (gh_recovery_wait){.tenant_id = gh_dbres_get(r, i, 0),
                              .id = gh_dbres_get(r, i, 1),
                              .user_id = gh_dbres_get(r, i, 2),
                              .state = gh_dbres_get(r, i, 3),
                              .started_at = gh_dbres_int(r, i, 4),
                              .ends_at = gh_dbres_int(r, i, 5),
                              .cancel_hash = gh_dbres_get(r, i, 6),
                              .reminder_mail_id = gh_dbres_get(r, i, 7),
                              .reason = gh_dbres_get(r, i, 8),
                              .updated_at = gh_dbres_int(r, i, 9)};
}

gh_dbrc gh_store_wait_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                          gh_recovery_wait *out)
{
    static const char sql[] =
        "SELECT " COLUMNS " FROM recovery_waits WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK)
        read_row(&r, 0, out);
    return rc;
}

gh_dbrc gh_store_wait_current(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              gh_recovery_wait *out)
{
    static const char sql[] = "SELECT " COLUMNS " FROM recovery_waits WHERE tenant_id = $1 AND "
                              "user_id = $2 AND state = 'waiting' ORDER BY started_at DESC LIMIT 1";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK)
        read_row(&r, 0, out);
    return rc;
}

gh_dbrc gh_store_wait_finish(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                             const char *state, const char *reason, long long now)
{
    static const char sql[] = "UPDATE recovery_waits SET state = $3, reason = $4, updated_at = $5 "
                              "WHERE tenant_id = $1 AND id = $2 AND state = 'waiting'";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_TEXT(state), GH_TEXT(reason), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 5, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_wait_cancel_user(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *user_id, const char *reason, long long now,
                                  const char ***ids, const char ***mails, size_t *n)
{
    static const char sql[] =
        "UPDATE recovery_waits SET state = 'cancelled', reason = $3, updated_at = $4 "
        "WHERE tenant_id = $1 AND user_id = $2 AND state = 'waiting' "
        "RETURNING id, reminder_mail_id";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(reason), GH_INT(now)};
    gh_dbres r;
    *n = 0;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 4, &r);
    if (rc != GH_DB_OK)
        return rc;
    *ids = gh_arena_alloc(a, (r.nrows + 1) * sizeof(**ids));
    *mails = gh_arena_alloc(a, (r.nrows + 1) * sizeof(**mails));
    if (!*ids || !*mails)
        return GH_DB_FAIL;
    for (size_t i = 0; i < r.nrows; i++) {
        (*ids)[i] = gh_dbres_get(&r, i, 0);
        (*mails)[i] = gh_dbres_get(&r, i, 1);
    }
    *n = r.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_store_wait_set_end(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                              long long ends_at, long long now)
{
    static const char sql[] = "UPDATE recovery_waits SET ends_at = $3, updated_at = $4 "
                              "WHERE tenant_id = $1 AND id = $2 AND state = 'waiting'";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(ends_at), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 4, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_wait_set_reminder(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                   const char *mail_id)
{
    static const char sql[] =
        "UPDATE recovery_waits SET reminder_mail_id = $3 WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_TEXT(mail_id)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_factors_remove_all(gh_dbconn *c, gh_arena *a, const char *tenant,
                                    const char *user_id)
{
    static const char *const sql[] = {
        "DELETE FROM mfa_factors WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2",
    };
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    gh_dbrc rc = GH_DB_OK;
    for (size_t i = 0; rc == GH_DB_OK && i < sizeof(sql) / sizeof(sql[0]); i++)
        rc = gh_db_exec(c, a, sql[i], p, 2, NULL);
    return rc;
}
