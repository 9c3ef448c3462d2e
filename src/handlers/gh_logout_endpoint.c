/*
 * GET and POST /logout: OpenID Connect RP-Initiated Logout 1.0. Without an
 * ID-token hint whose sid names this browser's session, the person confirms
 * on a page first (a link cannot sign anybody out); ending the session
 * queues back-channel logout (gh_logout) in the same transaction.
 */
#include <string.h>

#include "gh_audit_ctx.h"
#include "gh_branding.h"
#include "gh_branding_pages.h"
#include "gh_clients.h"
#include "gh_crypto.h"
#include "gh_handlers.h"
#include "gh_html.h"
#include "gh_keys.h"
#include "gh_log.h"
#include "gh_logout.h"
#include "gh_oidc.h"
#include "gh_session.h"
#include "gh_store_users.h"
#include "gh_store_oidc.h"
#include "gh_url.h"
#include "gh_i18n_pages.h"

/* Sends a sign-out page the server writes: translated, then branded like
 * the hosted pages (docs/branding.md). */
static void send_logout_page(gh_req *r, unsigned status, const char *html)
{
    const char *page = gh_i18n_html(r, html);
    size_t len = strlen(page);
    gh_branding_page(r, page, len, &page, &len);
    gh_resp_text(r, status, "text/html; charset=utf-8", page);
}

static void logout_page_error(gh_req *r, const char *text)
{
    send_logout_page(
        r, 400,
        gh_arena_printf(r->arena,
                        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                        "<title>Sign out · Gatehouse</title><link rel=\"stylesheet\" "
                        "href=\"/assets/gatehouse.css\"><link rel=\"stylesheet\" "
                        "href=\"/branding.css\"></head><body><header class=\"brand\">Gatehouse"
                        "</header><main class=\"card\"><h1>Sign out</h1><p class=\"alert\" "
                        "role=\"alert\">%s</p><p><a href=\"%s/account\">Go to your account</a>"
                        "</p></main></body></html>\n",
                        gh_html_escape(r->arena, text), gh_html_escape(r->arena, r->base_path)));
}

/* The person's go-ahead, asked when the request does not prove it comes
 * from a relying party of this very session (RP-Initiated Logout 1.0 sections
 * 2 and 6): otherwise any cross-site link could sign them out. The form posts
 * back to /logout with a CSRF token bound to the session. */
static void logout_confirm_page(gh_req *r, const char *client_id, const char *target,
                                const char *state)
{
    gh_arena *a = r->arena;
    const char *hidden = gh_arena_printf(a,
                                         "<input type=\"hidden\" name=\"csrf_token\" value=\"%s\">"
                                         "<input type=\"hidden\" name=\"confirm\" value=\"yes\">",
                                         gh_html_escape(a, gh_csrf_token(r)));
    const char *extra[][2] = {
        {"client_id", client_id}, {"post_logout_redirect_uri", target}, {"state", state}};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
        if (extra[i][1])
            hidden = gh_arena_printf(a, "%s<input type=\"hidden\" name=\"%s\" value=\"%s\">",
                                     hidden, extra[i][0], gh_html_escape(a, extra[i][1]));
    /* the tenant's product name; the default look's when it cannot be read */
    gh_ctx x = gh_req_ctx(r);
    gh_branding b;
    gh_branding_current(&x, &b);
    send_logout_page(
        r, 200,
        gh_arena_printf(a,
                        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                        "<title>Sign out · Gatehouse</title><link rel=\"stylesheet\" "
                        "href=\"/assets/gatehouse.css\"><link rel=\"stylesheet\" "
                        "href=\"/branding.css\"></head><body><header class=\"brand\">Gatehouse"
                        "</header><main class=\"card\"><h1>Sign out</h1><p>Do you want to sign "
                        "out of %s on this device?</p><form method=\"post\" "
                        "action=\"%s/logout\">%s<button type=\"submit\" class=\"primary\">Sign "
                        "out</button></form><p><a href=\"%s/account\">Stay signed in</a></p>"
                        "</main></body></html>\n",
                        gh_html_escape(a, b.product_name), gh_html_escape(a, r->base_path), hidden,
                        gh_html_escape(a, r->base_path)));
}

/* The id_token_hint's claims when it is one of our ID tokens (not an access
 * or logout token passed off as one); NULL otherwise. */
static json_t *hint_claims(gh_req *r, const char *hint, const char *client_id)
{
    json_t *claims = gh_keys_verify_for(r->tenant, hint, GH_TYP_ID_TOKEN, NULL);
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *aud = json_string_value(json_object_get(claims, "aud"));
    if (!claims || !iss || strcmp(iss, r->issuer) != 0 || !aud ||
        (client_id && strcmp(client_id, aud) != 0) || json_object_get(claims, "events") ||
        json_object_get(claims, "scope")) {
        json_decref(claims);
        return NULL;
    }
    return claims;
}

static bool end_this_session(gh_req *r, const char *actor)
{
    const gh_session *s = gh_session_current(r);
    const char *uid = gh_arena_strdup(r->arena, s->user_id);
    gh_dbconn *c = gh_req_db(r);
    if (!c)
        return false;
    gh_dbrc rc = gh_db_begin(c);
    bool began = rc == GH_DB_OK;
    if (rc == GH_DB_OK)
        rc = gh_session_end(r, c);
    if (rc == GH_DB_OK) {
        gh_ctx x = gh_req_ctx(r);
        rc = gh_audit_ctx_append(&x, c, "signout", uid, actor ? actor : uid, "end_session_endpoint",
                                 NULL);
    }
    /* revoking queued the back-channel logout tokens */
    if (rc == GH_DB_OK)
        rc = gh_db_commit(c); /* rolls back itself when it fails */
    else if (began)
        gh_db_rollback(c);
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return false;
    }
    gh_logout_kick();
    return true;
}

/* GET or POST /logout: id_token_hint, client_id, post_logout_redirect_uri,
 * state; and the confirmation form's confirm and csrf_token. */
void gh_logout_endpoint(gh_req *r)
{
    const gh_form *f = NULL;
    bool post = strcmp(r->method, "POST") == 0;
    if (post) {
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
    const char *hinted_sid = NULL;
    if (hint) {
        json_t *claims = hint_claims(r, hint, client_id);
        if (!claims) {
            logout_page_error(r, "The sign-out request carries an ID token we did not issue.");
            return;
        }
        client_id = gh_arena_strdup(r->arena, json_string_value(json_object_get(claims, "aud")));
        const char *sid = json_string_value(json_object_get(claims, "sid"));
        hinted_sid = sid ? gh_arena_strdup(r->arena, sid) : NULL;
        json_decref(claims);
    }
    gh_client cl;
    gh_dbconn *db = client_id ? gh_req_db(r) : NULL;
    if (client_id && !db)
        return; /* 503 from gh_req_db */
    bool have_client =
        client_id && gh_clients_get(db, r->arena, r->tenant, client_id, &cl) == GH_DB_OK;
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
    if (r->status)
        return; /* the database was out of reach (503) */
    if (s) {
        /* A hint from a relying party of this session speaks for it; else
         * only the person's own confirmation on our page does. */
        bool from_rp = hinted_sid && gh_secret_equal(hinted_sid, s->id);
        bool confirmed =
            post && gh_form_get(f, "confirm") && strcmp(gh_form_get(f, "confirm"), "yes") == 0;
        if (confirmed && !gh_csrf_check_value(r, gh_form_get(f, "csrf_token")))
            return;
        if (!from_rp && !confirmed) {
            logout_confirm_page(r, have_client ? client_id : NULL, target, state);
            return;
        }
        if (!end_this_session(r, client_id))
            return;
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
