/*
 * gh_logout: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) and
 * back-channel logout (OpenID Connect Back-Channel Logout 1.0).
 *
 * Ending a Gatehouse session, from a client's end_session request or from the
 * hosted sign-out, sends a signed logout token to every client that got
 * tokens in that session and registered a backchannel_logout_uri. Delivery is
 * synchronous with a short timeout on the worker pool: a client that does not
 * answer in time simply misses the notice, as the specification allows.
 */
#include <curl/curl.h>
#include <curl/mprintf.h>
#include <stdio.h>
#include <string.h>

#include "gh_audit.h"
#include "gh_clients.h"
#include "gh_crypto.h"
#include "gh_handlers.h"
#include "gh_keys.h"
#include "gh_log.h"
#include "gh_oidc.h"
#include "gh_session.h"
#include "gh_store.h"
#include "gh_store_oidc.h"
#include "gh_url.h"

enum { BACKCHANNEL_TIMEOUT_MS = 3000, LOGOUT_TOKEN_TTL_S = 120 };

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static bool post_logout_token(const char *uri, const char *token)
{
    CURL *h = curl_easy_init();
    if (!h)
        return false;
    char *body = NULL;
    char *enc = curl_easy_escape(h, token, 0);
    long status = 0;
    bool ok = false;
    if (enc && (body = curl_maprintf("logout_token=%s", enc))) {
        curl_easy_setopt(h, CURLOPT_URL, uri);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)BACKCHANNEL_TIMEOUT_MS);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        ok = curl_easy_perform(h) == CURLE_OK &&
             curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
             (status == 200 || status == 204);
    }
    curl_free(body);
    curl_free(enc);
    curl_easy_cleanup(h);
    return ok;
}

void gh_logout_backchannel(gh_req *r, const char *session_id, const char *user_id)
{
    const char **clients = NULL;
    size_t n = 0;
    gh_dbconn *c = gh_req_db(r);
    if (!c || !session_id ||
        gh_store_session_clients(c, r->arena, GH_DEFAULT_TENANT, session_id, &clients, &n) !=
            GH_DB_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        gh_client cl;
        if (gh_clients_get(c, r->arena, GH_DEFAULT_TENANT, clients[i], &cl) != GH_DB_OK)
            continue;
        const char *uri = gh_client_backchannel_logout_uri(&cl);
        if (uri) {
            char jti[GH_UUID_STRLEN + 1];
            long long now = gh_now_ms() / 1000;
            gh_uuid(jti);
            json_t *p = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:{s:{}}}", "iss",
                                  r->app->cfg->issuer, "aud", cl.id, "sub", user_id, "iat",
                                  (json_int_t)now, "exp", (json_int_t)(now + LOGOUT_TOKEN_TTL_S),
                                  "jti", jti, "sid", session_id, "events",
                                  "http://schemas.openid.net/event/backchannel-logout");
            char *token = gh_keys_sign(r->arena, cl.id_token_alg ? cl.id_token_alg : "ES256",
                                       "logout+jwt", p);
            json_decref(p);
            bool ok = token && post_logout_token(uri, token);
            gh_log_event(ok ? GH_LOG_INFO : GH_LOG_WARN, "back-channel logout",
                         json_pack("{s:s, s:b}", "client_id", cl.id, "delivered", ok));
        }
        gh_client_release(&cl);
    }
}

static void logout_page_error(gh_req *r, const char *text)
{
    gh_resp_text(
        r, 400, "text/html; charset=utf-8",
        gh_arena_printf(r->arena,
                        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                        "<title>Sign out - Gatehouse</title><link rel=\"stylesheet\" "
                        "href=\"/assets/gatehouse.css\"></head><body><main class=\"card\">"
                        "<h1>Sign out</h1><p role=\"alert\">%s</p><p><a href=\"/account\">Go to "
                        "your account</a></p></main></body></html>\n",
                        gh_html_escape(r->arena, text)));
}

/* GET or POST /logout: id_token_hint, client_id, post_logout_redirect_uri, state. */
void gh_logout_endpoint(gh_req *r)
{
    const gh_form *f = NULL;
    if (strcmp(r->method, "POST") == 0) {
        gh_form *pf = gh_arena_alloc(r->arena, sizeof(*pf));
        if (pf &&
            gh_form_parse(r->arena, r->body ? r->body : "", r->body_len, NULL, pf) == GH_FORM_OK)
            f = pf;
    } else {
        f = gh_req_query(r);
    }
    if (!f) {
        if (!r->status)
            logout_page_error(r, "The sign-out request could not be read.");
        return;
    }
    const char *hint = gh_form_get(f, "id_token_hint");
    const char *client_id = gh_form_get(f, "client_id");
    const char *target = gh_form_get(f, "post_logout_redirect_uri");
    const char *state = gh_form_get(f, "state");
    const char *hinted_sub = NULL;
    json_t *claims = hint ? gh_keys_verify(hint, NULL, NULL) : NULL;
    if (hint) {
        const char *iss = json_string_value(json_object_get(claims, "iss"));
        const char *aud = json_string_value(json_object_get(claims, "aud"));
        if (!claims || !iss || strcmp(iss, r->app->cfg->issuer) != 0 || !aud ||
            (client_id && strcmp(client_id, aud) != 0)) {
            json_decref(claims);
            logout_page_error(r, "The sign-out request carries an ID token we did not issue.");
            return;
        }
        client_id = gh_arena_strdup(r->arena, aud);
        hinted_sub = gh_arena_strdup(r->arena, json_string_value(json_object_get(claims, "sub")));
        json_decref(claims);
    }
    gh_client cl;
    bool have_client = client_id && gh_clients_get(gh_req_db(r), r->arena, GH_DEFAULT_TENANT,
                                                   client_id, &cl) == GH_DB_OK;
    if (target && (!have_client || !gh_client_post_logout_redirect_ok(&cl, target))) {
        if (have_client)
            gh_client_release(&cl);
        logout_page_error(r, "The application asked to return you to an address it has not "
                             "registered, so you were not signed out.");
        return;
    }
    if (have_client)
        gh_client_release(&cl);

    const gh_session *s = gh_session_current(r);
    const char *sid = s ? gh_arena_strdup(r->arena, s->id) : NULL;
    const char *uid = s ? gh_arena_strdup(r->arena, s->user_id) : NULL;
    /* A hint for another user must not end this browser's session. */
    if (s && (!hinted_sub || strcmp(hinted_sub, uid) == 0)) {
        gh_dbconn *c = gh_req_db(r);
        if (gh_db_begin(c) == GH_DB_OK) {
            gh_session_end(r, c);
            gh_audit_event ev = {.tenant_id = GH_DEFAULT_TENANT,
                                 .type = "signout",
                                 .subject = uid,
                                 .actor = client_id ? client_id : uid,
                                 .ip = r->ip,
                                 .user_agent = r->user_agent,
                                 .outcome = "success",
                                 .reason = "end_session_endpoint"};
            gh_audit_append(c, r->arena, &ev);
            if (gh_db_commit(c) == GH_DB_OK)
                gh_logout_backchannel(r, sid, uid);
        }
    }
    if (!target) {
        gh_resp_redirect(r, "/signin?signed_out=1");
        return;
    }
    gh_resp_redirect(r, state ? gh_arena_printf(r->arena, "%s%cstate=%s", target,
                                                strchr(target, '?') ? '&' : '?',
                                                gh_url_encode(r->arena, state))
                              : target);
}
