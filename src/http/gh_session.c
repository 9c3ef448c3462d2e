#include "gh_session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "gh_audit.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_mkey.h"
#include "gh_store.h"
#include "gh_url.h"

static bool secure_cookies(const gh_req *r)
{
    return strncmp(r->app->cfg->issuer, "https://", 8) == 0;
}

/* __Host- cookies must be Secure, so the prefix is used only over https. */
static const char *cookie_name(const gh_req *r, const char *base)
{
    if (strcmp(base, "gh_session") == 0)
        return secure_cookies(r) ? "__Host-gh_session" : "gh_session";
    if (strcmp(base, "gh_device") == 0)
        return secure_cookies(r) ? "__Host-gh_device" : "gh_device";
    return secure_cookies(r) ? "__Host-gh_pre" : "gh_pre";
}

static void set_cookie(gh_req *r, const char *base, const char *value, long long max_age)
{
    char age[48] = "";
    if (max_age >= 0)
        snprintf(age, sizeof(age), "; Max-Age=%lld", max_age);
    gh_resp_header(r, "Set-Cookie",
                   gh_arena_printf(r->arena, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s%s",
                                   cookie_name(r, base), value, secure_cookies(r) ? "; Secure" : "",
                                   age));
}

const gh_session *gh_session_current(gh_req *r)
{
    if (r->session_resolved)
        return r->session;
    r->session_resolved = true;
    const char *token = gh_req_cookie(r, cookie_name(r, "gh_session"));
    if (!token || strlen(token) != 43)
        return NULL;
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return NULL;
    char hash[2 * GH_SHA256_BYTES + 1];
    gh_secret_hash(token, hash);
    gh_session *s = gh_arena_alloc(r->arena, sizeof(*s));
    if (!s || gh_store_session_by_token(c, r->arena, GH_DEFAULT_TENANT, hash, s) != GH_DB_OK)
        return NULL;
    long long now = gh_now_ms();
    if (now >= s->expires_at || now >= s->idle_expires_at)
        return NULL;
    /* Record use, but not on every request: the idle window moves in steps
     * of a tenth of itself (at most a minute). */
    long long idle_ms = (long long)r->app->cfg->session_idle * 1000;
    long long step = idle_ms / 10 < 60000 ? idle_ms / 10 : 60000;
    if (now - s->last_seen_at >= step) {
        long long idle_until = now + idle_ms;
        if (idle_until > s->expires_at)
            idle_until = s->expires_at;
        if (gh_store_session_touch(c, r->arena, s, now, idle_until) == GH_DB_OK) {
            s->last_seen_at = now;
            s->idle_expires_at = idle_until;
        }
    }
    r->session = s;
    return s;
}

const char *gh_device_hash(gh_req *r)
{
    const char *v = gh_req_cookie(r, cookie_name(r, "gh_device"));
    char hash[2 * GH_SHA256_BYTES + 1];
    if (!v || strlen(v) != 43)
        return NULL;
    gh_secret_hash(v, hash);
    return gh_arena_strdup(r->arena, hash);
}

/* Records this browser as one the user signed in on, in the caller's
 * transaction: the device cookie it has (or a new one) is set again with a
 * fresh lifetime, and its hash stored for the user. */
static gh_dbrc remember_device(gh_req *r, gh_dbconn *c, const char *user_id, long long now)
{
    const char *v = gh_req_cookie(r, cookie_name(r, "gh_device"));
    char hash[2 * GH_SHA256_BYTES + 1];
    if (!v || strlen(v) != 43)
        v = gh_token(r->arena);
    if (!v)
        return GH_DB_FAIL;
    gh_secret_hash(v, hash);
    gh_dbrc rc = gh_store_device_seen(c, r->arena, GH_DEFAULT_TENANT, user_id, hash, now);
    if (rc == GH_DB_OK)
        set_cookie(r, "gh_device", v, GH_DEVICE_COOKIE_AGE);
    return rc;
}

gh_dbrc gh_session_start(gh_req *r, gh_dbconn *c, const char *user_id, const char *amr, int aal,
                         const char *factors, const char **token)
{
    const gh_session *old = gh_session_current(r);
    long long now = gh_now_ms();
    const gh_config *cfg = r->app->cfg;
    char id[GH_UUID_STRLEN + 1];
    char hash[2 * GH_SHA256_BYTES + 1];
    gh_uuid(id);
    const char *t = gh_token(r->arena);
    if (!t)
        return GH_DB_FAIL;
    gh_secret_hash(t, hash);
    gh_session s = {.tenant_id = GH_DEFAULT_TENANT,
                    .id = gh_arena_strdup(r->arena, id),
                    .token_hash = gh_arena_strdup(r->arena, hash),
                    .user_id = user_id,
                    .created_at = now,
                    .last_seen_at = now,
                    .idle_expires_at = now + (long long)cfg->session_idle * 1000,
                    .expires_at = now + (long long)cfg->session_absolute * 1000,
                    .auth_time = now,
                    .aal = aal,
                    .amr = amr,
                    .factors = factors,
                    .ip = r->ip,
                    .user_agent = r->user_agent};
    if (s.idle_expires_at > s.expires_at)
        s.idle_expires_at = s.expires_at;
    gh_dbrc rc = GH_DB_OK;
    if (old) /* a new sign-in never keeps the old identifier (ASVS 7.2.4) */
        rc = gh_store_session_revoke(c, r->arena, old->tenant_id, old->id, now);
    if (rc == GH_DB_OK)
        rc = gh_store_session_insert(c, r->arena, &s);
    /* Sessions per account are capped: the oldest end (with back-channel
     * logout, queued by the revoke) rather than the new sign-in failing, so
     * a stolen password cannot fill the account and lock its owner out. */
    const char **over = NULL;
    size_t nover = 0;
    if (rc == GH_DB_OK)
        rc = gh_store_session_over_cap(c, r->arena, GH_DEFAULT_TENANT, user_id, now,
                                       cfg->max_sessions, &over, &nover);
    for (size_t i = 0; rc == GH_DB_OK && i < nover; i++) {
        rc = gh_store_session_revoke(c, r->arena, GH_DEFAULT_TENANT, over[i], now);
        json_t *details = json_pack("{s:s}", "session_id", over[i]);
        gh_audit_event ev = {.tenant_id = GH_DEFAULT_TENANT,
                             .type = "session.ended",
                             .subject = user_id,
                             .actor = user_id,
                             .ip = r->ip,
                             .user_agent = r->user_agent,
                             .outcome = "success",
                             .reason = "more sessions than GATEHOUSE_MAX_SESSIONS_PER_ACCOUNT",
                             .details = details};
        if (rc == GH_DB_OK)
            rc = gh_audit_append(c, r->arena, &ev);
        json_decref(details);
    }
    if (rc == GH_DB_OK)
        rc = remember_device(r, c, user_id, now);
    if (rc != GH_DB_OK)
        return rc;
    set_cookie(r, "gh_session", t, (long long)cfg->session_absolute);
    *token = t;
    return GH_DB_OK;
}

gh_dbrc gh_session_elevate(gh_req *r, gh_dbconn *c, const char *amr, int aal, const char *factors,
                           const char **token)
{
    const gh_session *cur = gh_session_current(r);
    char hash[2 * GH_SHA256_BYTES + 1];
    if (!cur)
        return GH_DB_NOTFOUND;
    const char *t = gh_token(r->arena);
    if (!t)
        return GH_DB_FAIL;
    gh_secret_hash(t, hash);
    gh_session *s = gh_arena_alloc(r->arena, sizeof(*s));
    if (!s)
        return GH_DB_FAIL;
    *s = *cur;
    /* a new token at every change of level, as at sign-in (ASVS 7.2.4) */
    s->token_hash = gh_arena_strdup(r->arena, hash);
    s->aal = aal;
    s->amr = amr;
    s->factors = factors;
    s->auth_time = gh_now_ms();
    gh_dbrc rc = gh_store_session_elevate(c, r->arena, s);
    if (rc != GH_DB_OK)
        return rc;
    long long left = (s->expires_at - s->auth_time) / 1000;
    set_cookie(r, "gh_session", t, left > 0 ? left : 0);
    r->session = s;
    *token = t;
    return GH_DB_OK;
}

gh_dbrc gh_session_end(gh_req *r, gh_dbconn *c)
{
    const gh_session *s = gh_session_current(r);
    gh_dbrc rc = GH_DB_OK;
    if (s)
        rc = gh_store_session_revoke(c, r->arena, s->tenant_id, s->id, gh_now_ms());
    set_cookie(r, "gh_session", "", 0);
    r->session = NULL;
    return rc;
}

const char *gh_presession(gh_req *r, bool create)
{
    const char *v = gh_req_cookie(r, cookie_name(r, "gh_pre"));
    if (v && strlen(v) == 43)
        return v;
    if (!create)
        return NULL;
    v = gh_token(r->arena);
    if (v)
        set_cookie(r, "gh_pre", v, -1);
    /* later calls in this request see the new value */
    if (v && r->cookies) {
        gh_kv *items = gh_arena_alloc(r->arena, (r->cookies->n + 1) * sizeof(*items));
        if (items) {
            if (r->cookies->n) /* items is NULL when the request had no cookie */
                memcpy(items, r->cookies->items, r->cookies->n * sizeof(*items));
            items[r->cookies->n] = (gh_kv){cookie_name(r, "gh_pre"), v, strlen(v)};
            r->cookies->items = items;
            r->cookies->n++;
        }
    }
    return v;
}

const char *gh_csrf_token_for(gh_req *r, const char *binding)
{
    uint8_t key[GH_MKEY_DERIVED_BYTES], mac[crypto_auth_hmacsha256_BYTES];
    if (gh_mkey_derive(r->app->cfg->master_key, "gatehouse csrf v1", key, sizeof(key)) != 0)
        return NULL;
    crypto_auth_hmacsha256(mac, (const uint8_t *)binding, strlen(binding), key);
    sodium_memzero(key, sizeof(key));
    return gh_b64url(r->arena, mac, sizeof(mac));
}

const char *gh_csrf_token(gh_req *r)
{
    if (gh_session_current(r)) {
        const char *token = gh_req_cookie(r, cookie_name(r, "gh_session"));
        if (token)
            return gh_csrf_token_for(r, token);
    }
    const char *pre = gh_presession(r, true);
    return pre ? gh_csrf_token_for(r, pre) : NULL;
}

static bool origin_ok(gh_req *r)
{
    char mine[512];
    const char *origin = gh_req_header(r, "Origin");
    if (origin) {
        if (gh_url_origin(r->app->cfg->issuer, mine, sizeof(mine)) != 0)
            return false;
        return strcasecmp(origin, mine) == 0;
    }
    const char *site = gh_req_header(r, "Sec-Fetch-Site");
    return !site || strcmp(site, "cross-site") != 0;
}

bool gh_csrf_check(gh_req *r)
{
    return gh_csrf_check_value(r, gh_req_header(r, "X-CSRF-Token"));
}

bool gh_csrf_check_value(gh_req *r, const char *sent)
{
    bool ok = origin_ok(r) && sent;
    if (ok) {
        const char *binding = NULL;
        if (gh_session_current(r))
            binding = gh_req_cookie(r, cookie_name(r, "gh_session"));
        else if (r->status)
            return false; /* the session could not be read: the database is busy (503) */
        if (!binding)
            binding = gh_presession(r, false);
        const char *want = binding ? gh_csrf_token_for(r, binding) : NULL;
        ok = want && gh_secret_equal(sent, want);
    }
    if (!ok)
        gh_resp_error(r, 403, "csrf",
                      "This request did not come from a Gatehouse page. Reload the page and try "
                      "again.");
    return ok;
}

const char *gh_presession_hash(gh_req *r, bool create)
{
    const char *pre = gh_presession(r, create);
    char h[2 * GH_SHA256_BYTES + 1];
    if (!pre)
        return NULL;
    gh_secret_hash(pre, h);
    return gh_arena_strdup(r->arena, h);
}
