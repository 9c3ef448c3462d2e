#include "gh_sessions.h"

#include <jansson.h>
#include <string.h>

#include "gh_audit_ctx.h"
#include "gh_crypto.h"
#include "gh_tenants.h"

/* The lifetimes of a session at level aal in x's tenant (docs/tenants.md):
 * the level decides, so a step-up to AAL2 brings AAL2's timers
 * (SECURITY.md #28). */
static gh_tenant_timers timers(const gh_ctx *x, int aal)
{
    gh_tenant_policy p;
    gh_tenant_timers t;
    gh_tenants_policy(x, &p);
    gh_tenant_session_timers(&p, aal, x->cfg->session_idle, x->cfg->session_absolute, &t.idle_s,
                             &t.absolute_s);
    return t;
}

static bool token_shaped(const char *t)
{
    return t && strlen(t) == GH_SESSION_TOKEN_LEN;
}

/* The hex SHA-256 of a token, in the arena. */
static const char *hash_of(gh_arena *a, const char *token)
{
    char h[2 * GH_SHA256_BYTES + 1];
    gh_secret_hash(token, h);
    return gh_arena_strdup(a, h);
}

gh_dbrc gh_sessions_find(const gh_ctx *x, gh_dbconn *c, const char *token, gh_session *out)
{
    if (!token_shaped(token))
        return GH_DB_NOTFOUND;
    const char *hash = hash_of(x->arena, token);
    if (!hash)
        return GH_DB_FAIL;
    gh_dbrc rc = gh_store_session_by_token(c, x->arena, x->tenant, hash, out);
    if (rc != GH_DB_OK)
        return rc;
    long long now = x->now;
    long long idle_ms = timers(x, out->aal).idle_s * 1000;
    /* the level's idle time as the policy says now, not only as stored at
     * the last use: a shorter one applies to live sessions at once */
    if (now >= out->expires_at || now >= out->idle_expires_at || now - out->last_seen_at >= idle_ms)
        return GH_DB_NOTFOUND;
    long long step = idle_ms / 10 < 60000 ? idle_ms / 10 : 60000;
    if (now - out->last_seen_at >= step) {
        long long idle_until = now + idle_ms;
        if (idle_until > out->expires_at)
            idle_until = out->expires_at;
        /* a failed touch costs only idle time, never the request */
        if (gh_store_session_touch(c, x->arena, out, now, idle_until) == GH_DB_OK) {
            out->last_seen_at = now;
            out->idle_expires_at = idle_until;
        }
    }
    return GH_DB_OK;
}

/* Ends the user's sessions past the cap, each with its audit event. */
static gh_dbrc end_over_cap(const gh_ctx *x, gh_dbconn *c, const char *user_id)
{
    const char **over = NULL;
    size_t nover = 0;
    gh_dbrc rc = gh_store_session_over_cap(c, x->arena, x->tenant, user_id, x->now,
                                           x->cfg->max_sessions, &over, &nover);
    for (size_t i = 0; rc == GH_DB_OK && i < nover; i++) {
        rc = gh_store_session_revoke(c, x->arena, x->tenant, over[i], x->now);
        if (rc == GH_DB_OK)
            rc = gh_audit_ctx_append(x, c, "session.ended", user_id, user_id,
                                     "more sessions than GATEHOUSE_MAX_SESSIONS_PER_ACCOUNT",
                                     json_pack("{s:s}", "session_id", over[i]));
    }
    return rc;
}

gh_dbrc gh_sessions_start(const gh_ctx *x, gh_dbconn *c, const gh_session *replaced,
                          const char *user_id, const char *amr, int aal, const char *factors,
                          const char *device, gh_session_started *out)
{
    long long now = x->now;
    char id[GH_UUID_STRLEN + 1];
    memset(out, 0, sizeof(*out));
    gh_uuid(id);
    const char *token = gh_token(x->arena);
    if (!token_shaped(device))
        device = gh_token(x->arena);
    const char *hash = token ? hash_of(x->arena, token) : NULL;
    const char *device_hash = device ? hash_of(x->arena, device) : NULL;
    if (!hash || !device_hash)
        return GH_DB_FAIL;
    gh_tenant_timers t = timers(x, aal);
    gh_session s = {.tenant_id = x->tenant,
                    .id = gh_arena_strdup(x->arena, id),
                    .token_hash = hash,
                    .user_id = user_id,
                    .created_at = now,
                    .last_seen_at = now,
                    .idle_expires_at = now + t.idle_s * 1000,
                    .expires_at = now + t.absolute_s * 1000,
                    .auth_time = now,
                    .aal = aal,
                    .amr = amr,
                    .factors = factors,
                    .ip = x->client_ip,
                    .user_agent = x->user_agent};
    if (s.idle_expires_at > s.expires_at)
        s.idle_expires_at = s.expires_at;
    gh_dbrc rc = GH_DB_OK;
    if (replaced) /* a new sign-in never keeps the old identifier (ASVS 7.2.4) */
        rc = gh_store_session_revoke(c, x->arena, replaced->tenant_id, replaced->id, now);
    if (rc == GH_DB_OK)
        rc = gh_store_session_insert(c, x->arena, &s);
    /* Sessions per account are capped: the oldest end (with back-channel
     * logout, queued by the revoke) rather than the new sign-in failing, so
     * a stolen password cannot fill the account and lock its owner out. */
    if (rc == GH_DB_OK)
        rc = end_over_cap(x, c, user_id);
    /* A browser the account has not used before, on an account that has
     * used some (the first sign-in after sign-up is no news): the caller
     * sends the new-device notice. */
    bool known = false, any = false;
    if (rc == GH_DB_OK)
        rc = gh_store_device_known(c, x->arena, x->tenant, user_id, device_hash, &known);
    if (rc == GH_DB_OK && !known)
        rc = gh_store_device_any(c, x->arena, x->tenant, user_id, &any);
    if (rc == GH_DB_OK)
        rc = gh_store_device_seen(c, x->arena, x->tenant, user_id, device_hash, now);
    if (rc != GH_DB_OK)
        return rc;
    out->new_device = !known && any;
    out->token = token;
    out->device = device;
    out->max_age = t.absolute_s;
    return GH_DB_OK;
}

gh_dbrc gh_sessions_elevate(const gh_ctx *x, gh_dbconn *c, const gh_session *cur, const char *amr,
                            int aal, const char *factors, gh_session **out, const char **token)
{
    const char *t = gh_token(x->arena);
    const char *hash = t ? hash_of(x->arena, t) : NULL;
    gh_session *s = gh_arena_alloc(x->arena, sizeof(*s));
    if (!hash || !s)
        return GH_DB_FAIL;
    *s = *cur;
    /* a new token at every change of level, as at sign-in (ASVS 7.2.4) */
    s->token_hash = hash;
    s->aal = aal;
    s->amr = amr;
    s->factors = factors;
    s->auth_time = x->now;
    s->fresh_required = false; /* proven again: a risk step-up is met */
    /* the new level's timers from now on, never a longer life than the
     * session had */
    gh_tenant_timers tm = timers(x, aal);
    if (x->now + tm.absolute_s * 1000 < s->expires_at)
        s->expires_at = x->now + tm.absolute_s * 1000;
    s->last_seen_at = x->now;
    s->idle_expires_at = x->now + tm.idle_s * 1000;
    if (s->idle_expires_at > s->expires_at)
        s->idle_expires_at = s->expires_at;
    gh_dbrc rc = gh_store_session_elevate(c, x->arena, s);
    if (rc != GH_DB_OK)
        return rc;
    *out = s;
    *token = t;
    return GH_DB_OK;
}

gh_dbrc gh_sessions_end_others(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                               const char *keep_id, const char *only_id, const char *reason,
                               size_t *ended)
{
    gh_session *list = NULL;
    size_t n = 0;
    *ended = 0;
    gh_dbrc rc = gh_store_session_list(c, x->arena, x->tenant, user_id, x->now, &list, &n);
    for (size_t i = 0; rc == GH_DB_OK && i < n; i++) {
        if ((keep_id && strcmp(list[i].id, keep_id) == 0) ||
            (only_id && strcmp(list[i].id, only_id) != 0))
            continue;
        rc = gh_store_session_revoke(c, x->arena, x->tenant, list[i].id, x->now);
        if (rc == GH_DB_OK)
            rc = gh_audit_ctx_append(x, c, "session.ended", user_id, user_id, reason,
                                     json_pack("{s:s}", "session_id", list[i].id));
        if (rc == GH_DB_OK)
            (*ended)++;
    }
    return rc;
}

gh_dbrc gh_sessions_end(const gh_ctx *x, gh_dbconn *c, const gh_session *s)
{
    return gh_store_session_revoke(c, x->arena, s->tenant_id, s->id, x->now);
}
