/*
 * gh_oidc_request: reading and checking an /authorize request (OpenID
 * Connect Core 1.0 3.1.2.1; RFC 6749 4.1.1; PKCE, RFC 7636): client and
 * redirect URI, the parameters, the assurance level asked for, the
 * organisation and the purposes; and answering the client (query or
 * form_post, always with state and iss, RFC 9207).
 */
#include "gh_oidc.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_app_consents.h"
#include "gh_branding_pages.h"
#include "gh_consent.h"
#include "gh_crypto.h"
#include "gh_html.h"
#include "gh_i18n_pages.h"
#include "gh_oauth.h"
#include "gh_oidc_int.h"
#include "gh_orgs.h"
#include "gh_resources.h"
#include "gh_tenants.h"
#include "gh_tenants_assurance.h"
#include "gh_url.h"

/* A page for errors that must not go back to the client (unknown client or
 * redirect URI): a server-made page, never a redirect, in the hosted pages'
 * look with the tenant's branding (docs/branding.md). */
static void error_page(gh_req *r, unsigned status, const char *title, const char *text)
{
    const char *html = gh_arena_printf(
        r->arena,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>%s · Gatehouse</title><link rel=\"icon\" href=\"data:,\">"
        "<link rel=\"stylesheet\" href=\"/assets/gatehouse.css\">"
        "<link rel=\"stylesheet\" href=\"/branding.css\"></head><body>"
        "<header class=\"brand\">Gatehouse</header><main class=\"card\"><h1>%s</h1>"
        "<p class=\"alert\" role=\"alert\">%s</p><p class=\"switch\"><a href=\"%s/signin\">Sign "
        "in</a> · <a href=\"%s/account\">Go to your account</a></p></main></body></html>\n",
        gh_html_escape(r->arena, title), gh_html_escape(r->arena, title),
        gh_html_escape(r->arena, text), gh_html_escape(r->arena, r->base_path),
        gh_html_escape(r->arena, r->base_path));
    const char *page = gh_i18n_html(r, html);
    size_t len = strlen(page);
    gh_branding_page(r, page, len, &page, &len);
    gh_resp_text(r, status, "text/html; charset=utf-8", page);
}

const char *gh_oidc_param(const struct gh_oidc_authz *z, const char *name)
{
    return gh_form_get(z->params, name);
}

/* form_post (OAuth 2.0 Form Post Response Mode): an auto-submitting form.
 * Its CSP allows exactly its own script (by hash) and posting to the
 * client's redirect URI. */
static void form_post(gh_req *r, const char *action, const char **names, const char **values,
                      size_t n)
{
    static const char script[] = "document.forms[0].submit();";
    uint8_t h[GH_SHA256_BYTES];
    char hash64[64], origin[512];
    gh_sha256(script, sizeof(script) - 1, h);
    sodium_bin2base64(hash64, sizeof(hash64), h, sizeof(h), sodium_base64_VARIANT_ORIGINAL);
    if (gh_url_origin(action, origin, sizeof(origin)) != 0)
        snprintf(origin, sizeof(origin), "%s", action);
    char *fields = "";
    for (size_t i = 0; i < n; i++)
        if (values[i])
            fields = gh_arena_printf(r->arena, "%s<input type=\"hidden\" name=\"%s\" value=\"%s\">",
                                     fields, names[i], gh_html_escape(r->arena, values[i]));
    gh_resp_header(r, "Content-Security-Policy",
                   gh_arena_printf(r->arena,
                                   "default-src 'none'; script-src 'sha256-%s'; form-action %s; "
                                   "frame-ancestors 'none'; base-uri 'none'",
                                   hash64, origin));
    gh_resp_text(r, 200, "text/html; charset=utf-8",
                 gh_arena_printf(r->arena,
                                 "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                                 "<title>Continue</title></head><body><form method=\"post\" "
                                 "action=\"%s\">%s<noscript><button type=\"submit\">Continue"
                                 "</button></noscript></form><script>%s</script></body></html>\n",
                                 gh_html_escape(r->arena, action), fields, script));
}

/* Sends the authorization response (or error) to the client's redirect URI
 * in the requested response mode, always with state and iss. */
void gh_oidc_respond_to_client(gh_req *r, const struct gh_oidc_authz *z, const char *code,
                               const char *error, const char *description)
{
    const char *names[] = {"code", "error", "error_description", "state", "iss"};
    const char *values[] = {code, error, description, z->state, r->issuer};
    if (z->response_mode && strcmp(z->response_mode, "form_post") == 0) {
        form_post(r, z->redirect_uri, names, values, 5);
        return;
    }
    char *url = gh_arena_strdup(r->arena, z->redirect_uri);
    char sep = strchr(url, '?') ? '&' : '?';
    for (size_t i = 0; i < 5; i++) {
        if (!values[i])
            continue;
        url = gh_arena_printf(r->arena, "%s%c%s=%s", url, sep, names[i],
                              gh_url_encode(r->arena, values[i]));
        sep = '&';
    }
    gh_resp_redirect(r, url);
}

void gh_oidc_client_error(gh_req *r, const struct gh_oidc_authz *z, const char *error,
                          const char *desc)
{
    gh_oidc_respond_to_client(r, z, NULL, error, desc);
}

/* The parameters: the query (GET) or a urlencoded body (POST). */
const gh_form *gh_oidc_read_params(gh_req *r)
{
    if (strcmp(r->method, "POST") != 0)
        return gh_req_query(r);
    const char *type = gh_req_header(r, "Content-Type");
    gh_form *f = gh_arena_alloc(r->arena, sizeof(*f));
    if (!type || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0 || !f ||
        gh_form_parse(r->arena, r->body ? r->body : "", r->body_len, NULL, f) != GH_FORM_OK) {
        error_page(r, 400, "Invalid request", "The sign-in request could not be read.");
        return NULL;
    }
    return f;
}

/* Checks client and redirect URI: failures here never redirect. */
bool gh_oidc_check_client(gh_req *r, struct gh_oidc_authz *z)
{
    const char *dups[] = {"client_id", "redirect_uri", "response_type",  "scope",
                          "state",     "nonce",        "code_challenge", "response_mode",
                          "prompt",    "max_age",      "resource",       "purpose"};
    for (size_t i = 0; i < sizeof(dups) / sizeof(dups[0]); i++)
        if (gh_form_count(z->params, dups[i]) > 1) {
            error_page(r, 400, "Invalid request", "A parameter was repeated.");
            return false;
        }
    z->client_id = gh_oidc_param(z, "client_id");
    z->redirect_uri = gh_oidc_param(z, "redirect_uri");
    gh_dbconn *c = z->client_id ? gh_req_db(r) : NULL;
    if (r->status)
        return false;
    if (!c || gh_clients_get(c, r->arena, r->tenant, z->client_id, &z->client) != GH_DB_OK) {
        error_page(r, 400, "Unknown application",
                   "The application that sent you here is not registered with this service.");
        return false;
    }
    z->have_client = true;
    if (!z->redirect_uri || !gh_client_redirect_ok(&z->client, z->redirect_uri)) {
        error_page(r, 400, "Invalid return address",
                   "The application asked to return you to an address it has not registered.");
        return false;
    }
    return true;
}

/* The highest level among space-separated acr values (0: none we know). */
static int acr_list_level(gh_arena *a, const char *list)
{
    int best = 0;
    char *copy = list ? gh_arena_strdup(a, list) : NULL;
    char *save = NULL;
    for (char *t = copy ? strtok_r(copy, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save)) {
        int l = gh_assurance_level(t);
        best = l > best ? l : best;
    }
    return best;
}

/* The levels the request asks for (docs/mfa.md "Step-up"): acr_values (or
 * the client's default_acr_values) are voluntary; an essential acr in the
 * claims parameter and the client's minimum_acr_value are not. */
static bool check_assurance(gh_req *r, struct gh_oidc_authz *z)
{
    if (z->acr_values)
        z->want_level = acr_list_level(r->arena, z->acr_values);
    else {
        json_t *d = json_object_get(z->client.metadata, "default_acr_values");
        size_t i;
        json_t *v;
        json_array_foreach(d, i, v)
        {
            int l = gh_assurance_level(json_string_value(v));
            z->want_level = l > z->want_level ? l : z->want_level;
        }
    }
    z->hard_level = gh_assurance_level(
        json_string_value(json_object_get(z->client.metadata, "minimum_acr_value")));
    const char *claims = gh_oidc_param(z, "claims");
    if (claims) {
        json_t *doc = json_loads(claims, JSON_REJECT_DUPLICATES, NULL);
        json_t *acr = json_object_get(json_object_get(doc, "id_token"), "acr");
        if (!json_is_object(doc)) {
            json_decref(doc);
            return gh_oidc_client_error(r, z, "invalid_request", "claims must be a JSON object"),
                   false;
        }
        if (json_is_true(json_object_get(acr, "essential"))) {
            /* any of the listed values will do: the lowest one we know is
             * what is required; none we know cannot be met */
            int need = 4;
            json_t *one = json_object_get(acr, "value");
            json_t *many = json_object_get(acr, "values");
            int l = gh_assurance_level(json_string_value(one));
            need = l && l < need ? l : need;
            size_t i;
            json_t *v;
            json_array_foreach(many, i, v)
            {
                l = gh_assurance_level(json_string_value(v));
                need = l && l < need ? l : need;
            }
            z->hard_level = need > z->hard_level ? need : z->hard_level;
        }
        json_decref(doc);
    }
    /* the tenant's level for every sign-in and for a high-value
     * transaction (docs/tenants.md, "Assurance per journey") */
    gh_ctx x = gh_req_ctx(r);
    int need = gh_tenants_required_aal(&x, GH_JOURNEY_SIGNIN);
    z->hard_level = need > z->hard_level ? need : z->hard_level;
    z->want_level = gh_tenants_acr_values_level(&x, z->acr_values, z->want_level);
    if (z->hard_level > z->want_level)
        z->want_level = z->hard_level;
    return true;
}

/* organization=ID (docs/organisations.md): the signed-in customer must be
 * a member; the organisation's second-factor rule joins the request's
 * required level; the code (and its tokens) carry org_id. */
/* The client's organization_usage (deny, allow, require; default allow). */
static const char *org_usage(const struct gh_oidc_authz *z)
{
    const char *u = json_string_value(json_object_get(z->client.metadata, "organization_usage"));
    return u ? u : "allow";
}

/* A client that requires an organisation and a request that names none:
 * the customer's only organisation, or the picker when they have several.
 * 1: *org chosen; 0: answered (picker, or an error); -1: the database. */
static int pick_organization(gh_req *r, struct gh_oidc_authz *z, const gh_session *s,
                             const char **org)
{
    gh_ctx x = gh_req_ctx(r);
    json_t *mine = gh_orgs_of_user(&x, s->user_id);
    if (!mine)
        return -1;
    size_t n = json_array_size(mine);
    if (n == 1)
        *org = gh_arena_strdup(r->arena,
                               json_string_value(json_object_get(json_array_get(mine, 0), "id")));
    json_decref(mine);
    if (n == 1)
        return 1;
    if (n == 0)
        gh_oidc_client_error(r, z, "access_denied", "the account belongs to no organization");
    else if (z->prompt_none)
        gh_oidc_client_error(r, z, "interaction_required", "an organization must be chosen");
    else
        gh_resp_redirect(r,
                         gh_arena_printf(r->arena, "/organization/select?return_to=%s",
                                         gh_url_encode(r->arena, gh_oidc_resume_url(r, z, NULL))));
    return 0;
}

bool gh_oidc_check_organization(gh_req *r, struct gh_oidc_authz *z, const gh_session *s)
{
    const char *org = gh_oidc_param(z, "organization");
    const char *usage = org_usage(z);
    if (org && strcmp(usage, "deny") == 0)
        return gh_oidc_client_error(r, z, "invalid_request",
                                    "this client does not use organizations"),
               false;
    if (!org && strcmp(usage, "require") == 0) {
        int p = pick_organization(r, z, s, &org);
        if (p < 0)
            gh_resp_db_error(r, GH_DB_BUSY);
        if (p <= 0)
            return false;
    }
    if (!org)
        return true;
    gh_ctx x = gh_req_ctx(r);
    const char *roles = NULL;
    bool mfa = false;
    int m = gh_orgs_membership(&x, org, s->user_id, &roles, &mfa);
    if (m < 0)
        return gh_resp_db_error(r, GH_DB_BUSY), false;
    if (m == 0)
        return gh_oidc_client_error(r, z, "access_denied",
                                    "the account is not a member of the organization"),
               false;
    z->org = gh_arena_strdup(r->arena, org);
    if (mfa && z->hard_level < 2)
        z->hard_level = 2;
    if (z->hard_level > z->want_level)
        z->want_level = z->hard_level;
    return true;
}

/* The purposes the request asks the customer about (purpose=KEY KEY...;
 * docs/privacy.md "For applications"): optional purposes only. */
static bool check_purpose(gh_req *r, struct gh_oidc_authz *z)
{
    char why[256];
    const char *raw = gh_oidc_param(z, "purpose");
    if (!raw)
        return true;
    z->purpose = gh_scope_normalise(r->arena, raw);
    if (!z->purpose || !*z->purpose)
        return gh_oidc_client_error(r, z, "invalid_request",
                                    "purpose: space-separated purpose keys"),
               false;
    gh_ctx x = gh_req_ctx(r);
    gh_dbconn *c = gh_ctx_db(&x);
    gh_dbrc rc =
        c ? gh_consent_asked(&x, c, NULL, z->purpose, NULL, NULL, why, sizeof(why)) : GH_DB_BUSY;
    if (rc == GH_DB_INVALID)
        return gh_oidc_client_error(r, z, "invalid_request", gh_arena_strdup(r->arena, why)), false;
    if (rc != GH_DB_OK)
        return gh_oidc_client_error(r, z, "temporarily_unavailable", "try again"), false;
    return true;
}

/* Checks the rest; errors from here on go back to the client. */
bool gh_oidc_check_request(gh_req *r, struct gh_oidc_authz *z)
{
    z->state = gh_oidc_param(z, "state");
    z->nonce = gh_oidc_param(z, "nonce");
    z->response_mode = gh_oidc_param(z, "response_mode");
    z->acr_values = gh_oidc_param(z, "acr_values");
    const char *rt = gh_oidc_param(z, "response_type");
    const char *prompt = gh_oidc_param(z, "prompt");
    const char *max_age = gh_oidc_param(z, "max_age");
    const char *method = gh_oidc_param(z, "code_challenge_method");
    z->code_challenge = gh_oidc_param(z, "code_challenge");
    if (z->response_mode && strcmp(z->response_mode, "query") != 0 &&
        strcmp(z->response_mode, "form_post") != 0) {
        z->response_mode = NULL;
        return gh_oidc_client_error(r, z, "invalid_request", "unsupported response_mode"), false;
    }
    if (gh_oidc_param(z, "request"))
        return gh_oidc_client_error(r, z, "request_not_supported",
                                    "request objects are not supported"),
               false;
    if (gh_oidc_param(z, "request_uri"))
        return gh_oidc_client_error(r, z, "request_uri_not_supported",
                                    "request_uri is not supported"),
               false;
    if (!rt || strcmp(rt, "code") != 0)
        return gh_oidc_client_error(r, z, "unsupported_response_type", "only response_type=code"),
               false;
    if (!gh_client_grant_ok(&z->client, "authorization_code"))
        return gh_oidc_client_error(r, z, "unauthorized_client",
                                    "the client may not use this flow"),
               false;
    z->scope = gh_scope_normalise(r->arena, gh_oidc_param(z, "scope"));
    if (!z->scope)
        return gh_oidc_client_error(r, z, "invalid_scope", "the scope is malformed"), false;
    /* Issue 16: a scope outside what the client registered, or unknown to
     * the server, is refused rather than dropped: the client learns at once
     * that it asked for something it will never get (RFC 6749 4.1.2.1). */
    if (!gh_scope_subset(z->scope, gh_client_scope(r->arena, &z->client)))
        return gh_oidc_client_error(r, z, "invalid_scope", "the client may not ask for that scope"),
               false;
    json_t *target = NULL;
    const char *why = NULL;
    gh_ctx x = gh_req_ctx(r);
    const char *err =
        gh_resources_target(&x, z->scope, gh_oidc_param(z, "resource"), &target, &why);
    json_decref(target); /* /token finds it again from the code's scope */
    if (err)
        return gh_oidc_client_error(r, z, err, why), false;
    /* PKCE is required for every client, and only S256 (RFC 9700 2.1.1). */
    if (!z->code_challenge || !gh_pkce_challenge_valid(z->code_challenge))
        return gh_oidc_client_error(r, z, "invalid_request", "a code_challenge (S256) is required"),
               false;
    if (!method || strcmp(method, "S256") != 0)
        return gh_oidc_client_error(r, z, "invalid_request", "code_challenge_method must be S256"),
               false;
    z->max_age = -1;
    if (max_age) {
        char *end = NULL;
        z->max_age = strtoll(max_age, &end, 10);
        if (!*max_age || *end || z->max_age < 0)
            return gh_oidc_client_error(r, z, "invalid_request", "max_age must be a whole number"),
                   false;
    }
    if (prompt) {
        z->prompt_none = gh_scope_has(prompt, "none");
        z->prompt_login = gh_scope_has(prompt, "login");
        z->prompt_consent = gh_scope_has(prompt, "consent");
        if (z->prompt_none &&
            (z->prompt_login || z->prompt_consent || gh_scope_has(prompt, "select_account")))
            return gh_oidc_client_error(r, z, "invalid_request", "prompt=none stands alone"), false;
    }
    if (z->nonce && strlen(z->nonce) > 512)
        return gh_oidc_client_error(r, z, "invalid_request", "nonce is too long"), false;
    if (!check_purpose(r, z))
        return false;
    z->id_token_claims = gh_app_consents_id_token_claims(r, gh_oidc_param(z, "claims"));
    return check_assurance(r, z);
}

/* The request as a same-origin URL to come back to, without our markers. */
const char *gh_oidc_resume_url(gh_req *r, const struct gh_oidc_authz *z, const char *extra)
{
    char *q = "";
    for (size_t i = 0; i < z->params->n; i++) {
        const gh_kv *kv = &z->params->items[i];
        if (strncmp(kv->key, "gh_", 3) == 0)
            continue;
        q = gh_arena_printf(r->arena, "%s%s%s=%s", q, *q ? "&" : "",
                            gh_url_encode(r->arena, kv->key), gh_url_encode(r->arena, kv->value));
    }
    return gh_arena_printf(r->arena, "%s?%s%s%s", gh_req_page(r, "/authorize"), q, extra ? "&" : "",
                           extra ? extra : "");
}
