/*
 * gh_register: dynamic client registration (RFC 7591) and the client
 * configuration endpoint (RFC 7592).
 *
 *   POST   /register        initial access token: Bearer GATEHOUSE_ADMIN_TOKEN
 *   GET    /register/{id}   registration access token issued at registration
 *   PUT    /register/{id}
 *   DELETE /register/{id}
 *
 * Extension: an admin-token POST may include "gatehouse_first_party": true
 * to register a first-party client (no consent screen). Clients cannot set
 * it on themselves; the CLI can change it later.
 *
 * Validation, storage and audit are in gh_clients.c, shared with the CLI.
 */
#include <string.h>
#include <strings.h>

#include "gh_clients.h"
#include "gh_crypto.h"
#include "gh_handlers.h"
#include "gh_json.h"
#include "gh_oauth.h"
#include "gh_resources.h"
#include "gh_store_users.h"

enum { REGISTER_JSON_DEPTH = 8 };

/* The token of an "Authorization: Bearer ..." header, or NULL. */
static const char *bearer(gh_req *r)
{
    const char *auth = gh_req_header(r, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return NULL;
    const char *t = auth + 7;
    while (*t == ' ')
        t++;
    return *t ? t : NULL;
}

static void unauthorised(gh_req *r, const char *why)
{
    gh_resp_header(r, "WWW-Authenticate", "Bearer realm=\"gatehouse\", error=\"invalid_token\"");
    gh_resp_error(r, 401, "invalid_token", why);
}

/* A registered `scope` may name only scopes the server knows (the OIDC
 * ones and those of registered resources): a client cannot register its way
 * to a permission nobody defined (issue 16). */
static bool scope_known(gh_req *r, const json_t *doc)
{
    json_t *v = json_object_get(doc, "scope");
    const char *s = json_is_string(v) ? gh_scope_normalise(r->arena, json_string_value(v)) : NULL;
    gh_ctx x = gh_req_ctx(r);
    if (!s || gh_resources_scope_known(&x, s))
        return true; /* (a malformed scope is gh_client_metadata_validate's to refuse) */
    if (gh_req_db_failed(r))
        gh_resp_db_error(r, GH_DB_BUSY);
    else
        gh_resp_error(r, 400, "invalid_client_metadata",
                      "scope names a scope this server does not know: register the resource "
                      "that defines it first");
    return false;
}

/* The JSON object body (with a known `scope`); NULL with the response set
 * otherwise. */
static json_t *body_object(gh_req *r)
{
    char why[160];
    json_t *doc = NULL;
    const char *type = gh_req_header(r, "Content-Type");
    size_t tl = type ? strcspn(type, "; ") : 0;
    if (!type || tl != 16 || strncasecmp(type, "application/json", 16) != 0) {
        gh_resp_error(r, 415, "invalid_request", "the body must be application/json");
        return NULL;
    }
    if (!r->body) {
        gh_resp_error(r, 400, "invalid_client_metadata", "a JSON body is required");
        return NULL;
    }
    if (gh_json_parse(r->body, r->body_len, REGISTER_JSON_DEPTH, &doc, why, sizeof(why)) !=
        GH_JSON_OK) {
        gh_resp_error(r, 400, "invalid_client_metadata", gh_arena_strdup(r->arena, why));
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        gh_resp_error(r, 400, "invalid_client_metadata", "the body must be a JSON object");
        return NULL;
    }
    if (!scope_known(r, doc)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static void respond(gh_req *r, gh_dbrc rc, unsigned status, json_t *doc, const gh_client_error *err)
{
    if (rc == GH_DB_OK) {
        gh_resp_header(r, "Cache-Control", "no-store");
        gh_resp_header(r, "Pragma", "no-cache");
        gh_resp_json(r, status, doc, NULL);
    } else if (rc == GH_DB_INVALID) {
        gh_resp_error(r, 400, err->error, err->description);
    } else if (r->status == 0) {
        gh_resp_db_error(r, rc);
    }
}

static gh_client_actor actor(gh_req *r, const char *who)
{
    return (gh_client_actor){
        .tenant = r->tenant, .actor = who, .ip = r->ip, .user_agent = r->user_agent};
}

void gh_register_create(gh_req *r)
{
    const char *want = r->app->cfg->admin_token;
    const char *tok = bearer(r);
    if (!want[0] || !tok || !gh_secret_equal(tok, want)) {
        unauthorised(r, "registration needs the initial access token as a bearer token");
        return;
    }
    json_t *body = body_object(r);
    if (!body)
        return;
    json_t *fp = json_object_get(body, "gatehouse_first_party");
    if (fp && !json_is_boolean(fp) && !json_is_null(fp)) {
        json_decref(body);
        gh_resp_error(r, 400, "invalid_client_metadata", "gatehouse_first_party must be a boolean");
        return;
    }
    gh_dbconn *c = gh_req_db(r);
    if (!c) {
        json_decref(body);
        return;
    }
    gh_client_actor who = actor(r, "admin");
    gh_client_error err;
    json_t *resp = NULL;
    gh_dbrc rc =
        gh_clients_register(c, r->arena, &who, r->issuer, body, json_is_true(fp), &resp, &err);
    json_decref(body);
    respond(r, rc, 201, resp, &err);
}

/* Loads the client of the path and checks its registration access token.
 * RFC 7592 3: an unknown client is answered like a wrong token (401). */
static bool load_authorised(gh_req *r, gh_client *cl)
{
    memset(cl, 0, sizeof(*cl));
    const char *tok = bearer(r);
    const char *id = r->nparams > 0 ? r->params[0] : NULL;
    if (!tok || !id) {
        unauthorised(r, "a registration access token is required");
        return false;
    }
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return false;
    gh_dbrc rc = gh_clients_get(c, r->arena, r->tenant, id, cl);
    if (rc != GH_DB_OK && rc != GH_DB_NOTFOUND) {
        gh_resp_db_error(r, rc);
        return false;
    }
    bool ok = gh_client_registration_token_ok(rc == GH_DB_OK ? cl : NULL, tok);
    if (!ok) {
        gh_client_release(cl);
        unauthorised(r, "the registration access token is not valid for this client");
        return false;
    }
    return true;
}

void gh_register_get(gh_req *r)
{
    gh_client cl;
    if (!load_authorised(r, &cl))
        return;
    json_t *doc = gh_client_view(&cl, r->issuer);
    gh_client_release(&cl);
    respond(r, GH_DB_OK, 200, doc, NULL);
}

void gh_register_update(gh_req *r)
{
    gh_client cl;
    if (!load_authorised(r, &cl))
        return;
    json_t *body = body_object(r);
    if (!body) {
        gh_client_release(&cl);
        return;
    }
    gh_client_actor who = actor(r, cl.id);
    gh_client_error err;
    json_t *resp = NULL;
    gh_dbrc rc = gh_clients_update(gh_req_db(r), r->arena, &who, r->issuer, &cl, body, &resp, &err);
    json_decref(body);
    gh_client_release(&cl);
    if (rc == GH_DB_NOTFOUND) { /* deleted meanwhile */
        unauthorised(r, "the registration access token is not valid for this client");
        return;
    }
    respond(r, rc, 200, resp, &err);
}

void gh_register_delete(gh_req *r)
{
    gh_client cl;
    if (!load_authorised(r, &cl))
        return;
    gh_client_actor who = actor(r, cl.id);
    gh_dbrc rc = gh_clients_delete(gh_req_db(r), r->arena, &who, cl.id);
    gh_client_release(&cl);
    if (rc == GH_DB_OK || rc == GH_DB_NOTFOUND)
        gh_resp_empty(r, 204);
    else
        gh_resp_db_error(r, rc);
}
