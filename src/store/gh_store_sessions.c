#include "gh_store_sessions.h"

#include "gh_store_logout.h"
#include "gh_store_oidc.h"

#define SESSION_COLS                                                                               \
    "tenant_id, id, token_hash, user_id, created_at, last_seen_at, idle_expires_at, expires_at, "  \
    "auth_time, aal, amr, ip, user_agent, factors"

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
    s->risk_context = NULL; /* only gh_store_session_by_token reads them */
    s->fresh_required = false;
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
        "SELECT " SESSION_COLS
        ", risk_context, fresh_required FROM sessions WHERE tenant_id = $1 AND "
        "token_hash = $2 AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM users WHERE "
        "users.tenant_id = sessions.tenant_id AND users.id = "
        "sessions.user_id AND users.status = 'active')";
    /* the EXISTS: a deactivated or deleted user's session stops working on
     * every request at once, whatever revoked it or not (ASVS 7.4.2) */
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(token_hash)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec_row(c, a, sql, p, 2, &r);
    if (rc == GH_DB_OK) {
        session_from_row(&r, 0, out);
        out->risk_context = gh_dbres_get(&r, 0, 14);
        out->fresh_required = gh_dbres_int(&r, 0, 15) != 0;
    }
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
        "UPDATE sessions SET token_hash = $3, aal = $4, amr = $5, factors = $6, auth_time = $7, "
        "fresh_required = 0, last_seen_at = $8, idle_expires_at = $9, expires_at = $10 "
        "WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL";
    gh_dbparam p[] = {
        GH_TEXT(s->tenant_id),
        GH_TEXT(s->id),
        GH_TEXT(s->token_hash),
        GH_INT(s->aal),
        GH_TEXT(s->amr ? s->amr : "[]"),
        GH_TEXT(s->factors ? s->factors : "[]"),
        GH_INT(s->auth_time),
        GH_INT(s->last_seen_at),
        GH_INT(s->idle_expires_at),
        GH_INT(s->expires_at),
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

gh_dbrc gh_store_device_any(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                            bool *any)
{
    static const char sql[] = "SELECT 1 FROM devices WHERE tenant_id = $1 AND user_id = $2 LIMIT 1";
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id)};
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 2, &r);
    *any = rc == GH_DB_OK && r.nrows > 0;
    return rc;
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
