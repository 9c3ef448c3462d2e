#include "gh_store_sessions.h"

#include <string.h>

#include "gh_store_logout.h"
#include "gh_store_oidc.h"

#define SESSION_COLS                                                                               \
    "tenant_id, id, token_hash, user_id, created_at, last_seen_at, idle_expires_at, expires_at, "  \
    "auth_time, aal, amr, ip, user_agent, factors"

#define FLOW_COLS                                                                                  \
    "tenant_id, id, kind, user_id, email, code_hash, link_hash, binding_hash, return_to, "         \
    "attempts, sends, created_at, last_sent_at, expires_at, consumed_at, signup"

static void session_from_row(const gh_dbres *r, size_t i, gh_session *s)
{
    s->tenant_id = gh_dbres_get(r, i, 0);
    s->id = gh_dbres_get(r, i, 1);
    s->token_hash = gh_dbres_get(r, i, 2);
    s->user_id = gh_dbres_get(r, i, 3);
    s->created_at = gh_dbres_int(r, i, 4);
    s->last_seen_at = gh_dbres_int(r, i, 5);
    s->idle_expires_at = gh_dbres_int(r, i, 6);
    s->expires_at = gh_dbres_int(r, i, 7);
    s->auth_time = gh_dbres_int(r, i, 8);
    s->aal = (int)gh_dbres_int(r, i, 9);
    s->amr = gh_dbres_get(r, i, 10);
    s->ip = gh_dbres_get(r, i, 11);
    s->user_agent = gh_dbres_get(r, i, 12);
    s->factors = gh_dbres_get(r, i, 13);
    if (!s->factors)
        s->factors = "[]";
}

gh_dbrc gh_store_session_insert(gh_dbconn *c, gh_arena *a, const gh_session *s)
{
    static const char sql[] = "INSERT INTO sessions (" SESSION_COLS ") VALUES "
                              "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
    gh_dbparam p[] = {
        GH_TEXT(s->tenant_id),
        GH_TEXT(s->id),
        GH_TEXT(s->token_hash),
        GH_TEXT(s->user_id),
        GH_INT(s->created_at),
        GH_INT(s->last_seen_at),
        GH_INT(s->idle_expires_at),
        GH_INT(s->expires_at),
        GH_INT(s->auth_time),
        GH_INT(s->aal),
        GH_TEXT(s->amr ? s->amr : "[]"),
        GH_TEXT(s->ip),
        GH_TEXT(s->user_agent),
        GH_TEXT(s->factors ? s->factors : "[]"),
    };
    return gh_db_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL);
}

gh_dbrc gh_store_session_by_token(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *token_hash, gh_session *out)
{
    static const char sql[] =
        "SELECT " SESSION_COLS " FROM sessions WHERE tenant_id = $1 AND "
        "token_hash = $2 AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM users WHERE "
        "users.tenant_id = sessions.tenant_id AND users.id = "
        "sessions.user_id AND users.status = 'active')";
    /* the EXISTS: a deactivated or deleted user's session stops working on
     * every request at once, whatever revoked it or not (ASVS 7.4.2) */
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(token_hash)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK)
        session_from_row(&r, 0, out);
    return rc;
}

gh_dbrc gh_store_session_touch(gh_dbconn *c, gh_arena *a, const gh_session *s, long long now,
                               long long idle_expires_at)
{
    static const char sql[] = "UPDATE sessions SET last_seen_at = $3, idle_expires_at = $4 "
                              "WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(s->tenant_id), GH_TEXT(s->id), GH_INT(now), GH_INT(idle_expires_at)};
    return gh_db_exec(c, a, sql, p, 4, NULL);
}

gh_dbrc gh_store_session_elevate(gh_dbconn *c, gh_arena *a, const gh_session *s)
{
    static const char sql[] =
        "UPDATE sessions SET token_hash = $3, aal = $4, amr = $5, factors = $6, auth_time = $7 "
        "WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL";
    gh_dbparam p[] = {
        GH_TEXT(s->tenant_id),
        GH_TEXT(s->id),
        GH_TEXT(s->token_hash),
        GH_INT(s->aal),
        GH_TEXT(s->amr ? s->amr : "[]"),
        GH_TEXT(s->factors ? s->factors : "[]"),
        GH_INT(s->auth_time),
    };
    return gh_db_exec_change(c, a, sql, p, sizeof(p) / sizeof(p[0]), GH_DB_NOTFOUND);
}

gh_dbrc gh_store_session_revoke(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                long long now)
{
    static const char sql[] = "UPDATE sessions SET revoked_at = $3 WHERE tenant_id = $1 AND "
                              "id = $2 AND revoked_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(now)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 3, &r);
    /* Whatever ends a session queues its back-channel logout in the same
     * transaction (gh_logout.h), so no caller can forget it. */
    if (rc == GH_DB_OK && r.changes > 0)
        rc = gh_store_logout_enqueue(c, a, tenant, id, now);
    /* and the refresh tokens (with their access tokens) bound to it */
    if (rc == GH_DB_OK && r.changes > 0)
        rc = gh_store_refresh_revoke_session(c, a, tenant, id, now);
    return rc;
}

gh_dbrc gh_store_session_over_cap(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *user_id, long long now, unsigned cap,
                                  const char ***ids, size_t *n)
{
    /* LIMIT bounds one sign-in's work; a backlog past it (a lowered cap)
     * shrinks by that much at each sign-in. */
    static const char sql[] = "SELECT id FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND "
                              "revoked_at IS NULL AND expires_at > $3 AND idle_expires_at > $3 "
                              "ORDER BY created_at DESC, id LIMIT 100 OFFSET $4";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_INT(now), GH_INT(cap)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 4, &r);
    if (rc != GH_DB_OK)
        return rc;
    *ids = gh_arena_alloc(a, (r.nrows + 1) * sizeof(char *));
    if (!*ids)
        return GH_DB_FAIL;
    for (size_t i = 0; i < r.nrows; i++)
        (*ids)[i] = gh_dbres_get(&r, i, 0);
    *n = r.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_store_session_list(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              long long now, gh_session **out, size_t *n)
{
    static const char sql[] = "SELECT " SESSION_COLS " FROM sessions WHERE tenant_id = $1 AND "
                              "user_id = $2 AND revoked_at IS NULL AND expires_at > $3 AND "
                              "idle_expires_at > $3 ORDER BY created_at DESC LIMIT 100";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_INT(now)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 3, &r);
    if (rc != GH_DB_OK)
        return rc;
    *out = gh_arena_alloc(a, (r.nrows + 1) * sizeof(gh_session));
    if (!*out)
        return GH_DB_FAIL;
    for (size_t i = 0; i < r.nrows; i++)
        session_from_row(&r, i, &(*out)[i]);
    *n = r.nrows;
    return GH_DB_OK;
}

gh_dbrc gh_store_flow_insert(gh_dbconn *c, gh_arena *a, const gh_email_flow *f)
{
    static const char sql[] =
        "INSERT INTO email_flows (" FLOW_COLS ") VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, $15)";
    gh_dbparam p[] = {
        GH_TEXT(f->tenant_id),   GH_TEXT(f->id),           GH_TEXT(f->kind),
        GH_TEXT(f->user_id),     GH_TEXT(f->email),        GH_TEXT(f->code_hash),
        GH_TEXT(f->link_hash),   GH_TEXT(f->binding_hash), GH_TEXT(f->return_to),
        GH_INT(f->attempts),     GH_INT(f->sends),         GH_INT(f->created_at),
        GH_INT(f->last_sent_at), GH_INT(f->expires_at),    GH_TEXT(f->signup),
    };
    return gh_db_exec(c, a, sql, p, sizeof(p) / sizeof(p[0]), NULL);
}

gh_dbrc gh_store_flow_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                          gh_email_flow *f)
{
    static const char sql[] =
        "SELECT " FLOW_COLS " FROM email_flows WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    f->tenant_id = gh_dbres_get(&r, 0, 0);
    f->id = gh_dbres_get(&r, 0, 1);
    f->kind = gh_dbres_get(&r, 0, 2);
    f->user_id = gh_dbres_get(&r, 0, 3);
    f->email = gh_dbres_get(&r, 0, 4);
    f->code_hash = gh_dbres_get(&r, 0, 5);
    f->link_hash = gh_dbres_get(&r, 0, 6);
    f->binding_hash = gh_dbres_get(&r, 0, 7);
    f->return_to = gh_dbres_get(&r, 0, 8);
    f->attempts = gh_dbres_int(&r, 0, 9);
    f->sends = gh_dbres_int(&r, 0, 10);
    f->created_at = gh_dbres_int(&r, 0, 11);
    f->last_sent_at = gh_dbres_int(&r, 0, 12);
    f->expires_at = gh_dbres_int(&r, 0, 13);
    f->consumed_at = gh_dbres_int(&r, 0, 14);
    f->signup = gh_dbres_get(&r, 0, 15);
    return GH_DB_OK;
}

gh_dbrc gh_store_flow_attempt(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                              long long max, long long *attempts)
{
    static const char sql[] =
        "UPDATE email_flows SET attempts = attempts + 1 WHERE tenant_id = $1 AND id = $2 AND "
        "attempts < $3 AND consumed_at IS NULL RETURNING attempts";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(max)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 3, &r);
    if (rc == GH_DB_OK)
        *attempts = gh_dbres_int(&r, 0, 0);
    return rc;
}

gh_dbrc gh_store_flow_consume(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                              long long now)
{
    static const char sql[] = "UPDATE email_flows SET consumed_at = $3 WHERE tenant_id = $1 AND "
                              "id = $2 AND consumed_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(id), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_CONFLICT);
}

gh_dbrc gh_store_flow_renew(gh_dbconn *c, gh_arena *a, const gh_email_flow *f)
{
    static const char sql[] =
        "UPDATE email_flows SET code_hash = $3, link_hash = $4, sends = sends + 1, "
        "last_sent_at = $5, expires_at = $6 WHERE tenant_id = $1 AND id = $2 AND "
        "consumed_at IS NULL";
    gh_dbparam p[] = {GH_TEXT(f->tenant_id), GH_TEXT(f->id),          GH_TEXT(f->code_hash),
                      GH_TEXT(f->link_hash), GH_INT(f->last_sent_at), GH_INT(f->expires_at)};
    return gh_db_exec_change(c, a, sql, p, 6, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_throttle_fail(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key,
                               long long now, long long decay_before, long long *failures)
{
    static const char sql[] =
        "INSERT INTO throttles (tenant_id, key, failures, last_failure_at, blocked_until) "
        "VALUES ($1, $2, 1, $3, 0) ON CONFLICT (tenant_id, key) DO UPDATE SET "
        "failures = CASE WHEN throttles.last_failure_at < $4 THEN 1 "
        "ELSE throttles.failures + 1 END, last_failure_at = $3 RETURNING failures";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(key), GH_INT(now), GH_INT(decay_before)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 4, &r);
    if (rc != GH_DB_OK)
        return rc;
    *failures = gh_dbres_int(&r, 0, 0);
    return GH_DB_OK;
}

gh_dbrc gh_store_throttle_block(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key,
                                long long until)
{
    static const char sql[] =
        "UPDATE throttles SET blocked_until = $3 WHERE tenant_id = $1 AND key = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(key), GH_INT(until)};
    return gh_db_exec(c, a, sql, p, 3, NULL);
}

gh_dbrc gh_store_throttle_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key,
                              long long *blocked_until)
{
    static const char sql[] =
        "SELECT blocked_until FROM throttles WHERE tenant_id = $1 AND key = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(key)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 2, &r);
    if (rc != GH_DB_OK)
        return rc;
    *blocked_until = r.nrows ? gh_dbres_int(&r, 0, 0) : 0;
    return GH_DB_OK;
}

gh_dbrc gh_store_throttle_clear(gh_dbconn *c, gh_arena *a, const char *tenant, const char *key)
{
    static const char sql[] = "DELETE FROM throttles WHERE tenant_id = $1 AND key = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(key)};
    return gh_db_exec(c, a, sql, p, 2, NULL);
}

gh_dbrc gh_store_device_seen(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                             const char *device_hash, long long now)
{
    static const char sql[] =
        "INSERT INTO devices (tenant_id, user_id, device_hash, created_at, last_seen_at) "
        "VALUES ($1, $2, $3, $4, $4) ON CONFLICT (tenant_id, user_id, device_hash) "
        "DO UPDATE SET last_seen_at = $4";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(device_hash), GH_INT(now)};
    return gh_db_exec(c, a, sql, p, 4, NULL);
}

gh_dbrc gh_store_device_known(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              const char *device_hash, bool *known)
{
    static const char sql[] = "SELECT 1 FROM devices WHERE tenant_id = $1 AND user_id = $2 "
                              "AND device_hash = $3";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(device_hash)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 3, &r);
    *known = rc == GH_DB_OK && r.nrows > 0;
    return rc;
}

gh_dbrc gh_store_user_set_verified(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *user_id, long long now)
{
    static const char sql[] =
        "UPDATE users SET email_verified = 1, version = version + 1, updated_at = $3 "
        "WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_INT(now)};
    return gh_db_exec_change(c, a, sql, p, 3, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_user_mark_signup(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *user_id)
{
    static const char sql[] = "UPDATE users SET self_signup = 1 WHERE tenant_id = $1 AND id = $2";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    return gh_db_exec_change(c, a, sql, p, 2, GH_DB_NOTFOUND);
}

gh_dbrc gh_store_user_pending_signup(gh_dbconn *c, gh_arena *a, const char *tenant,
                                     const char *user_id, bool *pending)
{
    static const char sql[] = "SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 AND "
                              "self_signup = 1 AND email_verified = 0";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK)
        *pending = r.nrows > 0;
    return rc;
}

gh_dbrc gh_store_user_purge(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id)
{
    /* Tables without ON DELETE CASCADE first; credentials, sessions, second
     * factors and recovery codes go with the user row. */
    static const char *const sql[] = {
        "DELETE FROM email_flows WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM auth_codes WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM refresh_tokens WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM consents WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM auth_challenges WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM users WHERE tenant_id = $1 AND id = $2",
    };
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    gh_dbrc rc = GH_DB_OK;
    for (size_t i = 0; rc == GH_DB_OK && i < sizeof(sql) / sizeof(sql[0]); i++)
        rc = gh_db_exec(c, a, sql[i], p, 2, NULL);
    return rc;
}

gh_dbrc gh_store_session_seen_from(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *user_id, const char *ip, bool *seen)
{
    static const char sql[] =
        "SELECT 1 FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND ip = $3 LIMIT 1";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(ip)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 3, &r);
    if (rc == GH_DB_OK)
        *seen = r.nrows > 0;
    return rc;
}

gh_dbrc gh_store_user_revoke_all(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                                 long long now)
{
    /* over_cap with a cap of 0 lists the live sessions 100 at a time */
    for (int round = 0; round < 100; round++) {
        const char **ids;
        size_t n = 0;
        gh_dbrc rc = gh_store_session_over_cap(c, a, tenant, user_id, now, 0, &ids, &n);
        for (size_t i = 0; rc == GH_DB_OK && i < n; i++)
            rc = gh_store_session_revoke(c, a, tenant, ids[i], now);
        if (rc != GH_DB_OK)
            return rc;
        if (n < 100)
            break;
    }
    return gh_store_refresh_revoke_user(c, a, tenant, user_id, now);
}
