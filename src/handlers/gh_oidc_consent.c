/*
 * gh_oidc_consent: the consent API the consent page uses (what to show,
 * the decision and its marker for the /authorize request) and the
 * customer's remembered consents (list, withdraw).
 */
#include "gh_oidc.h"

#include <string.h>

#include "gh_audit_ctx.h"
#include "gh_clock.h"
#include "gh_consent.h"
#include "gh_json.h"
#include "gh_oauth.h"
#include "gh_oidc_int.h"
#include "gh_resources.h"
#include "gh_store_oidc.h"

/* ---- the consent API (for web/consent.html) ---- */

static const char *scope_description(const char *s)
{
    if (strcmp(s, "openid") == 0)
        return "Sign you in with your Gatehouse account";
    if (strcmp(s, "profile") == 0)
        return "See your name";
    if (strcmp(s, "email") == 0)
        return "See your email address";
    if (strcmp(s, "offline_access") == 0)
        return "Stay connected when you are not using it";
    if (strcmp(s, "consents") == 0)
        return "See your privacy choices, and record the ones you make in it";
    return NULL;
}

/* The purposes the consent page shows beside the scopes (an array, maybe
 * empty, in *out); false with the answer sent. */
static bool consent_info_purposes(gh_req *r, const gh_ctx *x, const char *user_id,
                                  const char *purpose, json_t **out)
{
    char why[256];
    const char *keys = purpose ? gh_scope_normalise(r->arena, purpose) : NULL;
    *out = NULL;
    if (!keys || !*keys) {
        *out = json_array();
        if (purpose)
            gh_resp_error(r, 400, "invalid_request", "purpose: space-separated purpose keys");
        return !purpose;
    }
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbrc rc =
        c ? gh_consent_asked(x, c, user_id, keys, NULL, out, why, sizeof(why)) : GH_DB_BUSY;
    if (rc == GH_DB_INVALID)
        gh_resp_error(r, 400, "invalid_request", gh_arena_strdup(r->arena, why));
    else if (rc != GH_DB_OK)
        gh_resp_db_error(r, rc);
    return rc == GH_DB_OK;
}

/* The client's logo, privacy policy and terms for the consent page
 * (docs/branding.md): web URIs only, shown as an image and links. */
static void consent_info_links(json_t *body, const gh_client *cl)
{
    static const char *const keys[] = {"logo_uri", "policy_uri", "tos_uri"};
    for (size_t i = 0; body && i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = json_string_value(json_object_get(cl->metadata, keys[i]));
        if (v && gh_client_web_uri_valid(v))
            json_object_set_new(body, keys[i], json_string(v));
    }
}

/* GET /api/v1/consent?client_id=&scope=[&purpose=] : what to show on the
 * consent page. */
void gh_oidc_consent_info(gh_req *r)
{
    const gh_session *s = gh_session_current(r);
    const gh_form *q = gh_req_query(r);
    gh_client cl;
    if (!q || r->status)
        return;
    if (!s) {
        gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    const char *client_id = gh_form_get(q, "client_id");
    const char *scope = gh_scope_normalise(r->arena, gh_form_get(q, "scope"));
    gh_dbconn *c = client_id && scope ? gh_req_db(r) : NULL;
    if (client_id && scope && !c)
        return; /* 503 answered */
    if (!c || gh_clients_get(c, r->arena, r->tenant, client_id, &cl) != GH_DB_OK) {
        gh_resp_error(r, 400, "invalid_request", "Unknown application or scope.");
        return;
    }
    json_t *name = json_object_get(cl.metadata, "client_name");
    json_t *list = json_array();
    char *copy = gh_arena_strdup(r->arena, scope), *save = NULL;
    /* Each scope in the operator's words; a scope without words is one
     * /authorize refuses, so it is never put to the user (issue 16). */
    bool ok = gh_scope_subset(scope, gh_client_scope(r->arena, &cl));
    gh_ctx x = gh_req_ctx(r);
    for (char *t = strtok_r(copy, " ", &save); ok && t; t = strtok_r(NULL, " ", &save)) {
        const char *d = scope_description(t);
        if (!d)
            d = gh_resources_scope_description(&x, t);
        if (d)
            json_array_append_new(list, json_pack("{s:s, s:s}", "scope", t, "description", d));
        ok = d != NULL;
    }
    if (!ok) {
        json_decref(list);
        gh_client_release(&cl);
        if (gh_req_db_failed(r))
            return gh_resp_db_error(r, GH_DB_BUSY);
        gh_resp_error(r, 400, "invalid_scope", "The application may not ask for that.");
        return;
    }
    json_t *purposes = NULL;
    if (!consent_info_purposes(r, &x, s->user_id, gh_form_get(q, "purpose"), &purposes)) {
        json_decref(list);
        gh_client_release(&cl);
        return;
    }
    json_t *body = json_pack("{s:s, s:s, s:o, s:o}", "client_id", client_id, "client_name",
                             json_is_string(name) ? json_string_value(name) : client_id, "scopes",
                             list, "purposes", purposes);
    consent_info_links(body, &cl);
    gh_resp_json(r, 200, body, NULL);
    gh_client_release(&cl);
}

/* The purposes of the /authorize request in return_to (normalised), or
 * NULL when it asks about none. */
static const char *return_to_purpose(gh_req *r, const char *return_to)
{
    gh_form f;
    if (!gh_oidc_return_to_form(r, return_to, &f))
        return NULL;
    const char *p = gh_scope_normalise(r->arena, gh_form_get(&f, "purpose"));
    return p && *p ? p : NULL;
}

/* The body's "purposes" ({"key": true|false}): only keys the request asked
 * about. false with 400 answered. */
static bool purpose_choices_ok(gh_req *r, const char *asked, json_t *choices)
{
    const char *key;
    json_t *v;
    if (choices && !json_is_object(choices)) {
        gh_resp_error(r, 400, "invalid_request",
                      "purposes: an object of purpose keys to true or false");
        return false;
    }
    json_object_foreach(choices, key, v)
    {
        if (!asked || !gh_scope_has(asked, key) || !json_is_boolean(v)) {
            gh_resp_error(r, 400, "invalid_request",
                          "purposes: only the purposes the request asks about, each true or false");
            return false;
        }
    }
    return true;
}

/* Records each asked purpose: granted when ticked, else declined; channel
 * page, through client_id. */
static gh_dbrc record_purposes(gh_req *r, gh_dbconn *c, const char *user_id, const char *client_id,
                               const char *asked, json_t *choices, char *why, size_t whylen)
{
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = GH_DB_OK;
    char *copy = gh_arena_strdup(r->arena, asked), *save = NULL;
    for (char *t = strtok_r(copy, " ", &save); rc == GH_DB_OK && t;
         t = strtok_r(NULL, " ", &save)) {
        gh_consent_act a = {.user_id = user_id,
                            .purpose = t,
                            .decision =
                                json_is_true(json_object_get(choices, t)) ? "granted" : "declined",
                            .channel = "page",
                            .actor = user_id,
                            .client_id = client_id};
        rc = gh_consent_record(&x, c, &a, why, whylen);
    }
    return rc;
}

/* POST /api/v1/consent {client_id, scope, decision, return_to}: records an
 * allow, and returns the marker the consent page appends to the
 * authorization request return_to; the marker is good for that request
 * only. */
void gh_oidc_consent_decide(gh_req *r)
{
    char why[160];
    json_t *body = NULL;
    gh_client cl;
    if (!gh_csrf_check(r))
        return;
    const gh_session *s = gh_session_current(r);
    if (!s) {
        if (!r->status) /* else the database was busy: 503 */
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    if (!r->body || gh_json_parse(r->body, r->body_len, 4, &body, why, sizeof(why)) != GH_JSON_OK ||
        !json_is_object(body)) {
        json_decref(body);
        gh_resp_error(r, 400, "invalid_request", "Send a JSON object.");
        return;
    }
    const char *client_id = json_string_value(json_object_get(body, "client_id"));
    const char *scope =
        gh_scope_normalise(r->arena, json_string_value(json_object_get(body, "scope")));
    const char *decision = json_string_value(json_object_get(body, "decision"));
    const char *return_to = json_string_value(json_object_get(body, "return_to"));
    const char *binding = gh_oidc_return_to_binding(r, return_to, client_id, scope);
    const char *asked = return_to_purpose(r, return_to);
    json_t *choices = json_incref(json_object_get(body, "purposes"));
    client_id = client_id ? gh_arena_strdup(r->arena, client_id) : NULL;
    bool allow = decision && strcmp(decision, "allow") == 0;
    bool valid = decision && (allow || strcmp(decision, "deny") == 0);
    json_decref(body);
    gh_dbconn *c = gh_req_db(r);
    if (!c || !purpose_choices_ok(r, asked, choices)) {
        json_decref(choices);
        return;
    }
    if (!client_id || !scope || !valid ||
        gh_clients_get(c, r->arena, r->tenant, client_id, &cl) != GH_DB_OK) {
        json_decref(choices);
        gh_resp_error(r, 400, "invalid_request", "Unknown application, scope or decision.");
        return;
    }
    /* a first-party client is on the page only for its purposes: its
     * scopes need no consent, so none is stored (nor listed on /account) */
    bool first_party = cl.first_party;
    gh_client_release(&cl);
    if (!binding) {
        json_decref(choices);
        gh_resp_error(r, 400, "invalid_request",
                      "Send return_to: the authorization request of this client and scope "
                      "that the decision is for.");
        return;
    }
    long long now = gh_now_ms();
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK && allow && !first_party) {
        const char *granted = "";
        gh_store_consent_get(c, r->arena, r->tenant, s->user_id, client_id, &granted);
        rc = gh_store_consent_put(c, r->arena, r->tenant, s->user_id, client_id,
                                  gh_scope_union(r->arena, granted, scope), now);
    }
    /* the purposes asked with it, in the same transaction: ticked granted,
     * unticked declined (a decline does not stop the sign-in) */
    if (rc == GH_DB_OK && allow && asked)
        rc = record_purposes(r, c, s->user_id, client_id, asked, choices, why, sizeof(why));
    json_decref(choices);
    if (rc == GH_DB_OK) {
        gh_ctx x = gh_req_ctx(r);
        rc = gh_audit_ctx_append(&x, c, allow ? "oauth_consent.granted" : "oauth_consent.denied",
                                 s->user_id, s->user_id, NULL,
                                 json_pack("{s:s, s:s}", "client_id", client_id, "scope", scope));
    }
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    const char *d = allow ? "allow" : "deny";
    const char *mac =
        gh_oidc_mac(r, "gatehouse consent v2",
                    gh_arena_printf(r->arena, "%s:%lld:%s:%s", d, now, s->user_id, binding));
    gh_resp_json(r, 200,
                 json_pack("{s:s}", "marker", gh_arena_printf(r->arena, "%s.%lld.%s", d, now, mac)),
                 NULL);
}

/* GET /api/v1/consents and DELETE /api/v1/consents/{client_id}: the user's
 * remembered consents, and withdrawing one. */
/* One connected app as the account page shows it: the client's name (its
 * id when it has none), each scope with the words consent showed, when it
 * was granted and last used. */
static json_t *consent_json(gh_req *r, const gh_consent *k)
{
    char granted[32], used[32];
    gh_ctx x = gh_req_ctx(r);
    json_t *meta = k->client_metadata ? json_loads(k->client_metadata, 0, NULL) : NULL;
    const char *name = json_string_value(json_object_get(meta, "client_name"));
    json_t *scopes = json_array();
    char *copy = gh_arena_strdup(r->arena, k->scope), *save = NULL;
    for (char *t = copy ? strtok_r(copy, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save)) {
        const char *d = scope_description(t);
        if (!d)
            d = gh_resources_scope_description(&x, t);
        json_array_append_new(scopes, json_pack("{s:s, s:s?}", "scope", t, "description", d));
    }
    gh_rfc3339(k->granted_at, granted);
    if (k->last_used_at)
        gh_rfc3339(k->last_used_at, used);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:o, s:s, s:s?}", "client_id", k->client_id, "client_name",
                  name ? name : k->client_id, "scope", k->scope, "scopes", scopes, "granted_at",
                  granted, "last_used_at", k->last_used_at ? used : NULL);
    json_decref(meta);
    return o;
}

void gh_oidc_consents_list(gh_req *r)
{
    const gh_session *s = gh_session_current(r);
    gh_consent *list = NULL;
    size_t n = 0;
    if (!s) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    gh_dbrc rc = gh_store_consent_list(gh_req_db(r), r->arena, r->tenant, s->user_id, &list, &n);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, consent_json(r, &list[i]));
    gh_resp_json(r, 200, json_pack("{s:o}", "consents", arr), NULL);
}

void gh_oidc_consents_revoke(gh_req *r)
{
    if (!gh_csrf_check(r))
        return;
    const gh_session *s = gh_session_current(r);
    if (!s) {
        if (!r->status) /* else the database was busy: 503 */
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_consent_delete(c, r->arena, r->tenant, s->user_id, r->params[0]);
    /* what the consent let the app hold goes with it (SECURITY.md #42) */
    if (rc == GH_DB_OK)
        rc = gh_store_refresh_revoke_client(c, r->arena, r->tenant, s->user_id, r->params[0],
                                            gh_now_ms());
    if (rc == GH_DB_OK) {
        gh_ctx x = gh_req_ctx(r);
        rc = gh_audit_ctx_append(&x, c, "oauth_consent.revoked", s->user_id, s->user_id, NULL,
                                 json_pack("{s:s}", "client_id", r->params[0]));
    }
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK)
        gh_resp_db_error(r, rc);
    else
        gh_resp_empty(r, 204);
}
