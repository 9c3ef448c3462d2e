#include "gh_session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "gh_clock.h"
#include "gh_consent.h"
#include "gh_crypto.h"
#include "gh_log.h"
#include "gh_mkey.h"
#include "gh_notices.h"
#include "gh_recovery.h"
#include "gh_risk.h"
#include "gh_sessions.h"
#include "gh_store_users.h"
#include "gh_url.h"

static bool secure_cookies(const gh_req *r)
{
    return strncmp(r->issuer, "https://", 8) == 0;
}

/* __Host- cookies must be Secure, so the prefix is used only over https.
 * Another tenant's cookies carry its id (docs/tenants.md): tenants reached
 * by path share the origin, and the browser sends every one of them. */
static const char *cookie_name(const gh_req *r, const char *base)
{
    const char *prefix = secure_cookies(r) ? "__Host-" : "";
    if (strcmp(r->tenant, GH_DEFAULT_TENANT) != 0)
        return gh_arena_printf(r->arena, "%s%s.%s", prefix, base, r->tenant);
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

/* Paths a session still reaches while a required document waits for
 * acceptance: the re-ask itself, signing out, the session's summary (which
 * says so), /authorize (which sends the browser to the re-ask) and signing
 * in again (rotation ends the old session). */
static bool consent_exempt(const char *path)
{
    static const char *const exact[] = {"/api/v1/session", "/api/v1/signout",
                                        "/api/v1/consent/update", "/logout", "/authorize"};
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (path && strcmp(path, exact[i]) == 0)
            return true;
    return path && strncmp(path, "/api/v1/signin", 14) == 0;
}

static const gh_session *session_resolve(gh_req *r);

/* A session whose network or user agent changed is scored again
 * (docs/risk.md "Re-evaluation"): false when the policy ends it; step_up
 * leaves it at AAL1 and marked fresh_required (its auth_time stays true),
 * so what asks for a second factor or a recent sign-in asks again. A failure keeps it as it was, to
 * be scored at the next request. */
static bool reevaluate(gh_req *r, gh_dbconn *c, const gh_ctx *x, gh_session *s)
{
    gh_risk_verdict v;
    if (gh_risk_session_reeval(x, c, s, &v) != GH_DB_OK)
        return true;
    if (v.outcome == GH_RO_STEP_UP) {
        s->aal = 1;
        s->fresh_required = true;
    }
    if (v.outcome != GH_RO_DENY)
        return true;
    if (gh_sessions_end(x, c, s) != GH_DB_OK)
        gh_log(GH_LOG_ERROR, "session end failed", "after risk decision %s", v.id);
    set_cookie(r, "gh_session", "", 0);
    return false;
}

const gh_session *gh_session_current(gh_req *r)
{
    const gh_session *s = session_resolve(r);
    if (!s || consent_exempt(r->path))
        return s;
    return gh_session_consent_pending(r) ? NULL : s;
}

bool gh_session_consent_pending(gh_req *r)
{
    const gh_session *s = session_resolve(r);
    if (!s)
        return false;
    if (!r->consent_checked) {
        gh_ctx x = gh_req_ctx(r);
        bool pending = true;
        gh_dbconn *c = gh_req_db(r);
        if (!c || gh_consent_pending(&x, c, s->user_id, &pending) != GH_DB_OK)
            pending = true;
        r->consent_checked = true;
        r->consent_pending = pending;
    }
    return r->consent_pending;
}

static const gh_session *session_resolve(gh_req *r)
{
    if (r->session_resolved)
        return r->session;
    r->session_resolved = true;
    const char *token = gh_req_cookie(r, cookie_name(r, "gh_session"));
    if (!token || strlen(token) != GH_SESSION_TOKEN_LEN)
        return NULL;
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return NULL;
    gh_ctx x = gh_req_ctx(r);
    gh_session *s = gh_arena_alloc(r->arena, sizeof(*s));
    if (!s || gh_sessions_find(&x, c, token, s) != GH_DB_OK)
        return NULL;
    /* hot path: two comparisons; the engine runs only on a shift, and not
     * inside a caller's transaction (a sign-in, which rotates it anyway) */
    if (gh_risk_session_shifted(&x, s) && !gh_db_in_tx(c) && !reevaluate(r, c, &x, s))
        return NULL;
    r->session = s;
    return s;
}

const char *gh_device_hash(gh_req *r)
{
    const char *v = gh_req_cookie(r, cookie_name(r, "gh_device"));
    char hash[2 * GH_SHA256_BYTES + 1];
    if (!v || strlen(v) != GH_SESSION_TOKEN_LEN)
        return NULL;
    gh_secret_hash(v, hash);
    return gh_arena_strdup(r->arena, hash);
}

static gh_dbrc new_device_notice(gh_req *r, const gh_ctx *x, gh_dbconn *c, const char *user_id)
{
    gh_user u;
    gh_dbrc rc = gh_store_user_get(c, r->arena, r->tenant, user_id, &u);
    if (rc == GH_DB_OK)
        rc = gh_notices_new_device(x, c, &u);
    if (rc == GH_DB_OK)
        r->mail_queued = true;
    return rc;
}

gh_dbrc gh_session_start(gh_req *r, gh_dbconn *c, const char *user_id, const char *amr, int aal,
                         const char *factors, const char **token)
{
    /* the session this browser had, pending a consent or not: rotation
     * ends it either way */
    const gh_session *old = session_resolve(r);
    gh_ctx x = gh_req_ctx(r);
    gh_session_started st;
    gh_dbrc rc = gh_sessions_start(&x, c, old, user_id, amr, aal, factors,
                                   gh_req_cookie(r, cookie_name(r, "gh_device")), &st);
    /* any sign-in by the owner ends a waiting-period recovery (docs/recovery.md) */
    if (rc == GH_DB_OK)
        rc = gh_recovery_cancel_on_signin(&x, c, user_id);
    /* the network is known to the account from now on (docs/risk.md) */
    if (rc == GH_DB_OK)
        rc = gh_risk_network_seen(&x, c, user_id);
    /* a browser new to the account: its owner hears of it (issue 18
     * item 8), unless this sign-in ends a reset, whose own notice says it */
    if (rc == GH_DB_OK && st.new_device && !r->quiet_signin)
        rc = new_device_notice(r, &x, c, user_id);
    if (rc != GH_DB_OK)
        return rc;
    /* the device cookie is set again at every sign-in, with a fresh lifetime */
    set_cookie(r, "gh_device", st.device, GH_DEVICE_COOKIE_AGE);
    set_cookie(r, "gh_session", st.token, st.max_age);
    *token = st.token;
    return GH_DB_OK;
}

gh_dbrc gh_session_elevate(gh_req *r, gh_dbconn *c, const char *amr, int aal, const char *factors,
                           const char **token)
{
    const gh_session *cur = gh_session_current(r);
    if (!cur)
        return GH_DB_NOTFOUND;
    gh_ctx x = gh_req_ctx(r);
    gh_session *s;
    gh_dbrc rc = gh_sessions_elevate(&x, c, cur, amr, aal, factors, &s, token);
    if (rc != GH_DB_OK)
        return rc;
    long long left = (s->expires_at - s->auth_time) / 1000;
    set_cookie(r, "gh_session", *token, left > 0 ? left : 0);
    r->session = s;
    return GH_DB_OK;
}

gh_dbrc gh_session_end(gh_req *r, gh_dbconn *c)
{
    const gh_session *s = session_resolve(r); /* also one pending a consent */
    gh_dbrc rc = GH_DB_OK;
    if (s) {
        gh_ctx x = gh_req_ctx(r);
        rc = gh_sessions_end(&x, c, s);
    }
    set_cookie(r, "gh_session", "", 0);
    r->session = NULL;
    return rc;
}

const char *gh_presession(gh_req *r, bool create)
{
    const char *v = gh_req_cookie(r, cookie_name(r, "gh_pre"));
    if (v && strlen(v) == GH_SESSION_TOKEN_LEN)
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
        if (gh_url_origin(r->issuer, mine, sizeof(mine)) != 0)
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
