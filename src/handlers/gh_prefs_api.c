/*
 * Communication preferences over HTTP (issue 20 item 5; docs/accounts-api.md
 * "Communication preferences", docs/privacy.md):
 *   GET/PUT /api/v1/preferences       the signed-in customer's choices
 *   POST /unsubscribe?token=...       RFC 8058 one-click (no session, no
 *                                     CSRF token: the token is the right)
 *   /admin/v1/topics[...]             topics and topic messages (admin token)
 *   PUT /admin/v1/users/{id}/preferences   an operator's change, with reason
 * Thin: gh_topic validates, gh_prefs stores with evidence.
 */
#include <string.h>
#include <strings.h>

#include "gh_api.h"
#include "gh_handlers.h"
#include "gh_mail.h"
#include "gh_prefs.h"
#include "gh_scim.h"
#include "gh_session.h"
#include "gh_store_users.h"

/* ---- the customer's own ---- */

static const gh_session *signed_in(gh_req *r)
{
    const gh_session *s = gh_session_current(r);
    if (!s && !r->status)
        gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
    return s;
}

static void answer_prefs(gh_req *r, const char *user_id)
{
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc;
    json_t *doc = gh_prefs_of(&x, user_id, &rc);
    if (!doc)
        return gh_resp_db_error(r, rc);
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, doc, NULL);
}

void gh_prefs_api_get(gh_req *r)
{
    const gh_session *s = signed_in(r);
    if (s)
        answer_prefs(r, s->user_id);
}

/* Applies body's changes for who; false with the answer set. */
static bool change(gh_req *r, json_t *body, const gh_prefs_who *who)
{
    gh_topic_change ch[GH_TOPIC_MAX_CHANGES];
    char why[200];
    int n = gh_topic_changes(body, ch, GH_TOPIC_MAX_CHANGES, why, sizeof(why));
    if (n < 0) {
        gh_resp_error(r, 400, "invalid_request", gh_arena_strdup(r->arena, why));
        return false;
    }
    gh_ctx x = gh_req_ctx(r);
    const char *bad = NULL;
    gh_dbrc rc = gh_prefs_change(&x, who, ch, (size_t)n, &bad);
    if (rc == GH_DB_INVALID && bad)
        gh_resp_error(r, 400, "unknown_topic",
                      gh_arena_printf(r->arena, "There is no topic \"%.64s\" to choose.", bad));
    else if (rc != GH_DB_OK)
        gh_resp_db_error(r, rc);
    return rc == GH_DB_OK;
}

/* The evidence's channel is what the request shows, not what its body
 * says: "page" only when the page's claim (via: "page") comes with the
 * browser's own fetch metadata for a same-origin request
 * (Sec-Fetch-Site, which no script can set); every other caller is "api".
 * A client outside a browser can send the header too: "page" then means
 * no more than "a browser on Gatehouse's origin, or a client posing as
 * one with the customer's session", and the docs say so. */
static const char *observed_via(gh_req *r, const char *claimed)
{
    const char *site = gh_req_header(r, "Sec-Fetch-Site");
    bool same_origin = site && strcmp(site, "same-origin") == 0;
    return strcmp(claimed, "page") == 0 && same_origin ? "page" : "api";
}

void gh_prefs_api_put(gh_req *r)
{
    if (!gh_csrf_check(r))
        return;
    const gh_session *s = signed_in(r);
    if (!s)
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const json_t *via = json_object_get(body, "via");
    const char *v = via ? json_string_value(via) : "api";
    if (!v || (strcmp(v, "page") != 0 && strcmp(v, "api") != 0)) {
        json_decref(body);
        return gh_resp_error(r, 400, "invalid_request", "via: \"page\" or \"api\"");
    }
    const char *user_id = gh_arena_strdup(r->arena, s->user_id);
    const char *seen = observed_via(r, v);
    gh_prefs_who who = {user_id, seen, user_id, NULL, strcmp(seen, v) != 0 ? v : NULL};
    bool ok = change(r, body, &who);
    json_decref(body);
    if (ok)
        answer_prefs(r, user_id);
}

/* ---- one-click unsubscribe ---- */

/* RFC 8058 §3.1: urlencoded or multipart/form-data holding
 * List-Unsubscribe=One-Click. */
static bool one_click(gh_req *r)
{
    const char *type = gh_req_header(r, "Content-Type");
    if (!type || !r->body)
        return false;
    if (strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0)
        return gh_topic_one_click_body(r->arena, r->body, r->body_len);
    if (strncasecmp(type, "multipart/form-data", 19) == 0) {
        const char *name = strstr(r->body, "name=\"List-Unsubscribe\"");
        return name && strstr(name, "One-Click") != NULL;
    }
    return false;
}

void gh_prefs_unsubscribe_post(gh_req *r)
{
    const gh_form *q = gh_req_query(r);
    if (!q)
        return;
    if (!one_click(r))
        return gh_resp_error(r, 400, "invalid_request",
                             "The body must be List-Unsubscribe=One-Click.");
    gh_ctx x = gh_req_ctx(r);
    const char *title = NULL;
    gh_dbrc rc = gh_prefs_unsubscribe(&x, gh_form_get(q, "token"), &title);
    gh_resp_header(r, "Cache-Control", "no-store");
    if (rc == GH_DB_NOTFOUND)
        return gh_resp_error(r, 404, "not_found",
                             "This unsubscribe link is not valid or was already used.");
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    gh_resp_json(r, 200, json_pack("{s:b, s:s?}", "unsubscribed", 1, "topic", title), NULL);
}

/* ---- the operator's ---- */

static void admin_error(gh_req *r, gh_dbrc rc, const char *what)
{
    if (rc == GH_DB_NOTFOUND)
        gh_resp_error(r, 404, "not_found", what);
    else if (rc == GH_DB_CONFLICT)
        gh_resp_error(r, 409, "conflict", "a topic with this key exists (perhaps retired)");
    else if (!r->status)
        gh_resp_db_error(r, rc);
}

void gh_admin_topics_list(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    const gh_form *q = gh_req_query(r);
    if (!q)
        return;
    const char *retired = gh_form_get(q, "retired");
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc;
    json_t *doc = gh_prefs_topics(&x, retired && strcmp(retired, "true") == 0, &rc);
    if (!doc)
        return admin_error(r, rc, "");
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, doc, NULL);
}

static void admin_save(gh_req *r, const char *key)
{
    char why[200] = "";
    if (!gh_admin_authorised(r))
        return;
    json_t *in = gh_scim_body(r);
    if (!in)
        return;
    json_t *doc = gh_topic_validate(in, key == NULL, why, sizeof(why));
    json_decref(in);
    if (!doc)
        return gh_resp_error(r, 400, "invalid_request", gh_arena_strdup(r->arena, why));
    gh_ctx x = gh_req_ctx(r);
    json_t *out = NULL;
    gh_dbrc rc = key ? gh_prefs_topic_update(&x, "admin", key, doc, &out)
                     : gh_prefs_topic_create(&x, "admin", doc, &out);
    json_decref(doc);
    if (rc != GH_DB_OK)
        return admin_error(r, rc, "no such topic");
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, key ? 200 : 201, out ? out : json_object(), NULL);
}

void gh_admin_topics_create(gh_req *r)
{
    admin_save(r, NULL);
}

void gh_admin_topics_update(gh_req *r)
{
    if (r->nparams < 1)
        return admin_error(r, GH_DB_NOTFOUND, "no such topic");
    admin_save(r, r->params[0]);
}

void gh_admin_topics_retire(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = r->nparams > 0 ? gh_prefs_topic_retire(&x, "admin", r->params[0]) : GH_DB_NOTFOUND;
    if (rc != GH_DB_OK)
        return admin_error(r, rc, "no such topic");
    gh_resp_empty(r, 204);
}

void gh_admin_topics_message(gh_req *r)
{
    char why[200] = "";
    if (!gh_admin_authorised(r))
        return;
    json_t *in = gh_scim_body(r);
    if (!in)
        return;
    json_t *msg = gh_topic_message_validate(in, why, sizeof(why));
    json_decref(in);
    if (!msg)
        return gh_resp_error(r, 400, "invalid_request", gh_arena_strdup(r->arena, why));
    gh_ctx x = gh_req_ctx(r);
    long long queued = 0;
    gh_dbrc rc =
        r->nparams > 0 ? gh_prefs_send(&x, "admin", r->params[0], msg, &queued) : GH_DB_NOTFOUND;
    json_decref(msg);
    if (rc != GH_DB_OK)
        return admin_error(r, rc, "no such topic");
    gh_mail_kick();
    gh_resp_json(r, 202, json_pack("{s:I}", "queued", (json_int_t)queued), NULL);
}

void gh_admin_user_preferences(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    json_t *body = gh_scim_body(r);
    if (!body)
        return;
    bool bad = false;
    const char *reason = gh_api_text(r, body, "reason", GH_TOPIC_REASON_MAX, &bad);
    if (bad || !reason || !*reason) {
        json_decref(body);
        if (!r->status)
            gh_resp_error(r, 400, "invalid_request",
                          "reason: why the operator changes the customer's choice");
        return;
    }
    const char *user_id = r->nparams > 0 ? r->params[0] : "";
    gh_user u;
    gh_dbconn *c = gh_req_db(r);
    gh_dbrc rc = c ? gh_store_user_get(c, r->arena, r->tenant, user_id, &u) : GH_DB_BUSY;
    if (rc != GH_DB_OK) {
        json_decref(body);
        return admin_error(r, rc, "no such user");
    }
    gh_prefs_who who = {user_id, "admin", "admin", reason, NULL};
    bool ok = change(r, body, &who);
    json_decref(body);
    if (ok)
        answer_prefs(r, user_id);
}
