/*
 * POST /api/v1/account/export: "Download my data" (issue 18 item 7;
 * docs/accounts-api.md). The signed-in customer receives one JSON document
 * of what Gatehouse holds about them (gh_data_export), as a download.
 *
 * The document tells whoever holds it where and when the customer signs
 * in, from which addresses, with which apps: worth as much to someone who
 * found an open session as a password change is. So it asks for the same
 * proof (gh_accounts_reauthorised: the current password or a recent
 * sign-in), is limited per account (EXPORT_MAX in EXPORT_WINDOW_MS, then
 * 429 for that long), and each one is an audit event (account.exported)
 * committed before the document is sent: no export leaves unrecorded.
 */
#include <string.h>

#include "gh_accounts.h"
#include "gh_api.h"
#include "gh_clock.h"
#include "gh_data_export.h"
#include "gh_handlers.h"
#include "gh_session.h"
#include "gh_store_throttle.h"
#include "gh_store_users.h"

enum { EXPORT_MAX = 3, EXPORT_WINDOW_MS = 60 * 60 * 1000 };

static void refuse(gh_req *r, long long until, long long now)
{
    long long wait = until > now ? (until - now + 999) / 1000 : EXPORT_WINDOW_MS / 1000;
    gh_resp_header(r, "Retry-After", gh_arena_printf(r->arena, "%lld", wait));
    gh_resp_error(r, 429, "too_many_requests",
                  "You downloaded your data several times just now. Wait an hour, then try "
                  "again.");
}

/* true, with 429 answered, while the account's exports are blocked. */
static bool blocked(gh_req *r, gh_dbconn *c, const char *key, long long now)
{
    long long until = 0;
    gh_dbrc rc = gh_store_throttle_get(c, r->arena, r->tenant, key, &until);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return true;
    }
    if (until > now)
        refuse(r, until, now);
    return until > now;
}

/* Counts this export and records it, in one transaction; false with the
 * answer set (429 when a concurrent export took the last one). */
static bool record(gh_req *r, gh_dbconn *c, const char *key, const char *user_id, long long now)
{
    long long n = 0, until = 0;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_throttle_fail(c, r->arena, r->tenant, key, now, now - EXPORT_WINDOW_MS, &n);
    if (rc == GH_DB_OK && n > EXPORT_MAX) {
        gh_store_throttle_get(c, r->arena, r->tenant, key, &until);
        gh_db_rollback(c);
        refuse(r, until, now);
        return false;
    }
    if (rc == GH_DB_OK && n == EXPORT_MAX)
        rc = gh_store_throttle_block(c, r->arena, r->tenant, key, now + EXPORT_WINDOW_MS);
    if (rc == GH_DB_OK)
        rc = gh_api_audit(r, c, "account.exported", user_id, "success", NULL,
                          json_pack("{s:I}", "count_in_window", (json_int_t)n));
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK && !r->status)
        gh_resp_db_error(r, rc);
    return rc == GH_DB_OK;
}

/* The document, read in one snapshot; NULL with the answer set. */
static json_t *build(gh_req *r, gh_dbconn *c, const gh_ctx *x, const gh_session *s)
{
    json_t *doc = NULL;
    gh_dbrc rc = gh_db_begin_read(c);
    if (rc == GH_DB_OK)
        rc = gh_data_export_build(x, c, s->user_id, s->id, &doc);
    if (rc == GH_DB_OK)
        rc = gh_db_commit(c);
    else
        gh_db_rollback(c);
    if (rc == GH_DB_OK)
        return doc;
    json_decref(doc);
    gh_resp_db_error(r, rc);
    return NULL;
}

void gh_accounts_export(gh_req *r)
{
    gh_user u;
    if (!gh_csrf_check(r))
        return;
    const gh_session *s = gh_session_current(r);
    if (!s) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    gh_dbconn *c = gh_req_db(r);
    gh_dbrc rc = c ? gh_store_user_get(c, r->arena, r->tenant, s->user_id, &u) : GH_DB_BUSY;
    if (rc != GH_DB_OK && c)
        gh_resp_db_error(r, rc);
    bool go = rc == GH_DB_OK && gh_accounts_reauthorised(r, c, s, &u, body);
    json_decref(body);
    if (!go)
        return;
    gh_ctx x = gh_req_ctx(r);
    const char *key = gh_arena_printf(r->arena, "export:%s", u.id);
    if (blocked(r, c, key, x.now))
        return;
    json_t *doc = build(r, c, &x, s);
    if (!doc)
        return;
    if (!record(r, c, key, u.id, x.now)) {
        json_decref(doc);
        return;
    }
    char day[32];
    gh_rfc3339(x.now, day);
    day[10] = '\0'; /* YYYY-MM-DD */
    gh_resp_header(
        r, "Content-Disposition",
        gh_arena_printf(r->arena, "attachment; filename=\"gatehouse-data-%s.json\"", day));
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, doc, NULL);
}
