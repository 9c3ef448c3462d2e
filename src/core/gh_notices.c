#include "gh_notices.h"

#include <string.h>

#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_device.h"
#include "gh_factors.h"
#include "gh_mail.h"
#include "gh_store_sessions.h"

/* issuer + path, as every link in a mail */
static const char *url_of(const gh_ctx *x, const char *path)
{
    const char *iss = gh_ctx_issuer(x);
    size_t n = strlen(iss);
    if (n && iss[n - 1] == '/')
        n--;
    return gh_arena_printf(x->arena, "%.*s%s", (int)n, iss, path);
}

gh_dbrc gh_notices_link(const gh_ctx *x, gh_dbconn *c, const char *user_id, const char *kind,
                        const char *old_email, const char **url)
{
    char id[GH_UUID_STRLEN + 1], hash[2 * GH_SHA256_BYTES + 1];
    const char *token = gh_token(x->arena);
    if (!token)
        return GH_DB_FAIL;
    gh_secret_hash(token, hash);
    gh_uuid(id);
    gh_notice_link l = {.tenant_id = x->tenant,
                        .id = id,
                        .user_id = user_id,
                        .kind = kind,
                        .token_hash = hash,
                        .old_email = old_email,
                        .created_at = x->now,
                        .expires_at = x->now + (long long)x->cfg->undo_window * 1000};
    gh_dbrc rc = gh_store_notice_link_insert(c, x->arena, &l);
    if (rc != GH_DB_OK)
        return rc;
    bool undo = strcmp(kind, GH_NOTICE_UNDO_EMAIL) == 0;
    *url =
        url_of(x, gh_arena_printf(x->arena, "/recover/lock#%s=%s", undo ? "undo" : "lock", token));
    return *url ? GH_DB_OK : GH_DB_FAIL;
}

static json_int_t window_days(const gh_ctx *x)
{
    json_int_t d = (json_int_t)(x->cfg->undo_window / 86400);
    return d > 0 ? d : 1;
}

gh_dbrc gh_notices_add_lock_link(const gh_ctx *x, gh_dbconn *c, const char *user_id, json_t *params)
{
    const char *url = NULL;
    gh_dbrc rc = gh_notices_link(x, c, user_id, GH_NOTICE_LOCK, NULL, &url);
    if (rc != GH_DB_OK)
        return rc;
    json_object_set_new(params, "lock_link", json_string(url));
    json_object_set_new(params, "days", json_integer(window_days(x)));
    return GH_DB_OK;
}

const char *gh_notices_time(gh_arena *a, long long ms)
{
    char t[32];
    gh_rfc3339(ms, t);
    /* "2026-12-09T04:12:00.000Z" -> "2026-12-09 04:12 UTC" */
    return gh_arena_printf(a, "%.10s %.5s UTC", t, t + 11);
}

gh_dbrc gh_notices_new_device(const gh_ctx *x, gh_dbconn *c, const gh_user *u)
{
    char net[64];
    if (!u->email)
        return GH_DB_OK; /* nowhere to tell */
    gh_device_network(x->client_ip, net, sizeof(net));
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s}", "browser", gh_device_browser(x->user_agent),
                          "os", gh_device_os(x->user_agent), "network", net, "time",
                          gh_notices_time(x->arena, x->now), "account_link", url_of(x, "/account"));
    if (!p)
        return GH_DB_FAIL;
    gh_dbrc rc = gh_notices_add_lock_link(x, c, u->id, p);
    if (rc == GH_DB_OK)
        rc = gh_mail_enqueue(c, x->arena, x->cfg, x->tenant, u->email, "new_device_signin", p);
    json_decref(p);
    return rc;
}

const char *gh_notices_mask_email(gh_arena *a, const char *email)
{
    const char *at = email ? strrchr(email, '@') : NULL;
    if (!at || at == email)
        return "an address";
    /* one leading character: enough for the owner, little for a reader;
     * a multi-byte first character is kept whole */
    size_t first = 1;
    while (email[first] && ((unsigned char)email[first] & 0xC0) == 0x80)
        first++;
    return gh_arena_printf(a, "%.*s***%s", (int)first, email, at);
}

/* An undo gives the old address back, unless another account took it in
 * the meantime (the lock and the recovery still happen). */
static gh_dbrc restore_email(const gh_ctx *x, gh_dbconn *c, const gh_notice_link *l, gh_user *u,
                             bool *restored)
{
    gh_user other;
    *restored = false;
    if (!l->old_email || (u->email && strcmp(u->email, l->old_email) == 0))
        return GH_DB_OK;
    gh_dbrc rc = gh_store_user_by_email(c, x->arena, x->tenant, l->old_email, &other);
    if (rc == GH_DB_OK)
        return GH_DB_OK; /* taken: keep the current one */
    if (rc != GH_DB_NOTFOUND)
        return rc;
    if (u->email && u->username && strcmp(u->username, u->email) == 0)
        u->username = l->old_email;
    u->email = l->old_email;
    u->email_verified = true; /* it was the account's proven address */
    u->updated_at = x->now;
    rc = gh_store_user_update(c, x->arena, u, -1);
    *restored = rc == GH_DB_OK;
    return rc;
}

gh_dbrc gh_notices_use(const gh_ctx *x, gh_dbconn *c, const char *token, gh_notice_used *out)
{
    char hash[2 * GH_SHA256_BYTES + 1];
    gh_notice_link l;
    gh_user u;
    memset(out, 0, sizeof(*out));
    gh_secret_hash(token, hash);
    gh_dbrc rc = gh_store_notice_link_find(c, x->arena, x->tenant, hash, &l);
    if (rc == GH_DB_OK)
        rc = gh_store_notice_link_use(c, x->arena, x->tenant, l.id, x->now);
    if (rc == GH_DB_OK)
        rc = gh_store_user_get(c, x->arena, x->tenant, l.user_id, &u);
    bool undo = rc == GH_DB_OK && strcmp(l.kind, GH_NOTICE_UNDO_EMAIL) == 0;
    if (undo)
        rc = restore_email(x, c, &l, &u, &out->email_restored);
    if (rc == GH_DB_OK)
        rc = gh_store_user_set_locked(c, x->arena, x->tenant, u.id, x->now);
    if (rc == GH_DB_OK)
        rc = gh_store_user_revoke_all(c, x->arena, x->tenant, u.id, x->now);
    if (rc == GH_DB_OK)
        rc = gh_factors_audit(
            x, c, "account.locked", u.id, "success",
            undo ? "the owner undid an email change" : "the owner said a change was not theirs",
            json_pack("{s:s, s:b}", "link", l.kind, "email_restored", out->email_restored));
    if (rc != GH_DB_OK)
        return rc;
    out->user_id = u.id;
    out->kind = l.kind;
    out->email = u.email;
    return GH_DB_OK;
}
