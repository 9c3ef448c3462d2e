/*
 * gh_oidc: discovery and the authorization endpoint (OpenID Connect Core
 * 1.0 section 3.1.2; RFC 6749 4.1; PKCE, RFC 7636; iss in responses, RFC
 * 9207), plus the consent API the consent page uses.
 *
 * The authorization request lives in the browser: when the user must sign in
 * or consent, the browser is sent to the hosted pages with return_to set to
 * the same /authorize request, plus an HMAC-signed marker saying what has
 * happened since (the time a fresh sign-in was asked for, or the consent
 * decision). No request state is kept on the server between the steps.
 */
#include "gh_oidc.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_app_consents.h"
#include "gh_audit.h"
#include "gh_branding_pages.h"
#include "gh_clients.h"
#include "gh_clock.h"
#include "gh_consent.h"
#include "gh_crypto.h"
#include "gh_factors.h"
#include "gh_handlers.h"
#include "gh_html.h"
#include "gh_json.h"
#include "gh_metrics_series.h"
#include "gh_mfa.h"
#include "gh_mkey.h"
#include "gh_oauth.h"
#include "gh_profile_attrs.h"
#include "gh_resources.h"
#include "gh_session.h"
#include "gh_store_users.h"
#include "gh_store_oidc.h"
#include "gh_orgs.h"
#include "gh_tenants.h"
#include "gh_url.h"
#include "gh_i18n_pages.h"

enum { MARKER_TTL_MS = 10 * 60 * 1000 };

const char *gh_oidc_url(gh_req *r, const char *path)
{
    const char *iss = r->issuer;
    size_t n = strlen(iss);
    if (n && iss[n - 1] == '/')
        n--;
    return gh_arena_printf(r->arena, "%.*s%s", (int)n, iss, path);
}

const char *gh_oidc_mac(gh_req *r, const char *purpose, const char *data)
{
    uint8_t key[GH_MKEY_DERIVED_BYTES], mac[crypto_auth_hmacsha256_BYTES];
    if (gh_mkey_derive(r->app->cfg->master_key, purpose, key, sizeof(key)) != 0)
        return NULL;
    crypto_auth_hmacsha256(mac, (const uint8_t *)data, strlen(data), key);
    sodium_memzero(key, sizeof(key));
    return gh_b64url(r->arena, mac, sizeof(mac));
}

/* ---- discovery ---- */

static json_t *strings(const char *const *v)
{
    json_t *a = json_array();
    for (; *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

/* The default tenant's discovery document depends only on settings: it is
 * made once per process and served as the same bytes after that (its JSON
 * building was most of the endpoint's cost). */
static pthread_mutex_t discovery_mu = PTHREAD_MUTEX_INITIALIZER;
static char *discovery_text; /* lives as long as the process */

static json_t *discovery_document(gh_req *r);

void gh_oidc_discovery(gh_req *r)
{
    if (strcmp(r->issuer, r->app->cfg->issuer) != 0) {
        /* another tenant's issuer: made for each request, never cached (a
         * client reads it once) */
        json_t *d = discovery_document(r);
        gh_resp_header(r, "Cache-Control", "public, max-age=300");
        gh_resp_json(r, 200, d, "application/json");
        return;
    }
    pthread_mutex_lock(&discovery_mu);
    if (!discovery_text) {
        json_t *d = discovery_document(r);
        discovery_text = d ? json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(d);
    }
    const char *text = discovery_text;
    pthread_mutex_unlock(&discovery_mu);
    if (!text) {
        gh_resp_error(r, 500, "server_error", "the discovery document is not available");
        return;
    }
    gh_resp_header(r, "Cache-Control", "public, max-age=300");
    gh_resp_text(r, 200, "application/json", text);
}

static json_t *discovery_document(gh_req *r)
{
    static const char *const scopes[] = {"openid",   "profile",   "email",     "offline_access",
                                         "consents", "org_roles", "org_admin", NULL};
    static const char *const response_types[] = {"code", NULL};
    static const char *const modes[] = {"query", "form_post", NULL};
    static const char *const grants[] = {"authorization_code", "refresh_token",
                                         "client_credentials", NULL};
    static const char *const algs[] = {"ES256", "RS256", NULL};
    static const char *const auth_methods[] = {"client_secret_basic", "client_secret_post",
                                               "private_key_jwt", "none", NULL};
    static const char *const client_auth[] = {"client_secret_basic", "client_secret_post",
                                              "private_key_jwt", NULL};
    static const char *const assertion_algs[] = {"ES256", "RS256", "PS256", NULL};
    static const char *const claims[] = {
        "sub",   "iss",        "aud",         "exp",        "iat",      "auth_time",
        "nonce", "acr",        "amr",         "sid",        "email",    "email_verified",
        "name",  "given_name", "family_name", "updated_at", "consents", NULL};
    static const char *const acrs[] = {GH_ACR_AAL1, GH_ACR_AAL2, GH_ACR_AAL3, NULL};
    static const char *const prompts[] = {"none", "login", "consent", "select_account", NULL};
    static const char *const pkce[] = {"S256", NULL};
    json_t *d = json_object();
    json_object_set_new(d, "issuer", json_string(r->issuer));
    json_object_set_new(d, "authorization_endpoint", json_string(gh_oidc_url(r, "/authorize")));
    json_object_set_new(d, "token_endpoint", json_string(gh_oidc_url(r, "/token")));
    json_object_set_new(d, "userinfo_endpoint", json_string(gh_oidc_url(r, "/userinfo")));
    json_object_set_new(d, "jwks_uri", json_string(gh_oidc_url(r, "/jwks")));
    json_object_set_new(d, "registration_endpoint", json_string(gh_oidc_url(r, "/register")));
    json_object_set_new(d, "introspection_endpoint", json_string(gh_oidc_url(r, "/introspect")));
    json_object_set_new(d, "revocation_endpoint", json_string(gh_oidc_url(r, "/revoke")));
    json_object_set_new(d, "end_session_endpoint", json_string(gh_oidc_url(r, "/logout")));
    json_object_set_new(d, "scopes_supported", strings(scopes));
    json_object_set_new(d, "response_types_supported", strings(response_types));
    json_object_set_new(d, "response_modes_supported", strings(modes));
    json_object_set_new(d, "grant_types_supported", strings(grants));
    json_object_set_new(d, "subject_types_supported", json_pack("[s]", "public"));
    json_object_set_new(d, "id_token_signing_alg_values_supported", strings(algs));
    json_object_set_new(d, "token_endpoint_auth_methods_supported", strings(auth_methods));
    json_object_set_new(d, "token_endpoint_auth_signing_alg_values_supported",
                        strings(assertion_algs));
    json_object_set_new(d, "introspection_endpoint_auth_methods_supported", strings(client_auth));
    json_object_set_new(d, "revocation_endpoint_auth_methods_supported", strings(auth_methods));
    json_object_set_new(d, "code_challenge_methods_supported", strings(pkce));
    json_object_set_new(d, "claims_supported", strings(claims));
    json_object_set_new(d, "acr_values_supported", strings(acrs));
    json_object_set_new(d, "prompt_values_supported", strings(prompts));
    json_object_set_new(d, "authorization_response_iss_parameter_supported", json_true());
    json_object_set_new(d, "backchannel_logout_supported", json_true());
    json_object_set_new(d, "backchannel_logout_session_supported", json_true());
    json_object_set_new(d, "claims_parameter_supported", json_true());
    json_object_set_new(d, "request_parameter_supported", json_false());
    json_object_set_new(d, "request_uri_parameter_supported", json_false());
    return d;
}

/* ---- the authorization request ---- */

struct authz {
    const gh_form *params;
    const char *client_id, *redirect_uri, *state, *nonce, *scope, *response_mode;
    const char *code_challenge, *acr_values;
    const char *purpose;         /* purposes to ask about (normalised), or NULL */
    const char *org;             /* the organisation asked for (organization=ID), or NULL */
    const char *id_token_claims; /* what the claims parameter asks for in the ID token */
    long long max_age;           /* -1: none */
    int want_level;              /* the assurance level asked for (0: none) */
    int hard_level;              /* the part of it that is essential or client policy */
    bool prompt_none, prompt_login, prompt_consent;
    gh_client client;
    bool have_client;
};

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

static const char *param(const struct authz *z, const char *name)
{
    return gh_form_get(z->params, name);
}

/* What ties a marker to one authorization request: a digest of the values
 * that make the request this one (the client, where the code goes, what it
 * grants, and the client's own per-request secrets state, nonce and PKCE
 * challenge). A marker made for one request is worthless in any other. */
static const char *request_binding(gh_arena *a, const char *client_id, const char *redirect_uri,
                                   const char *scope, const char *state, const char *nonce,
                                   const char *code_challenge, const char *purpose)
{
    /* purpose too: a consent given for one list of purposes is no answer
     * about another (issue 20 item 4) */
    const char *v[] = {client_id, redirect_uri, scope, state, nonce, code_challenge, purpose};
    crypto_hash_sha256_state st;
    uint8_t d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        /* length-prefixed, so no two different requests give the same input */
        char len[24];
        size_t n = v[i] ? strlen(v[i]) : 0;
        snprintf(len, sizeof(len), "%c%zu:", v[i] ? 's' : 'n', n);
        crypto_hash_sha256_update(&st, (const uint8_t *)len, strlen(len));
        crypto_hash_sha256_update(&st, (const uint8_t *)(v[i] ? v[i] : ""), n);
    }
    crypto_hash_sha256_final(&st, d);
    return gh_b64url(a, d, sizeof(d));
}

static const char *authz_binding(gh_req *r, const struct authz *z)
{
    return request_binding(r->arena, z->client_id, z->redirect_uri, z->scope, z->state, z->nonce,
                           z->code_challenge, z->purpose);
}

/* The binding of the /authorize request in a resume URL (the consent page's
 * return_to); NULL when it is not one, or not a request of client_id for
 * scope (the decision must be about the request it is bound to). */
/* The parameters of the /authorize request in a resume URL; false when it
 * is not one. */
static bool return_to_form(gh_req *r, const char *return_to, gh_form *f)
{
    static const char prefix[] = "/authorize?";
    if (!return_to || strncmp(return_to, prefix, sizeof(prefix) - 1) != 0)
        return false;
    const char *q = return_to + sizeof(prefix) - 1;
    return gh_form_parse(r->arena, q, strlen(q), NULL, f) == GH_FORM_OK;
}

static const char *return_to_binding(gh_req *r, const char *return_to, const char *want_client,
                                     const char *want_scope)
{
    gh_form f;
    if (!return_to_form(r, return_to, &f))
        return NULL;
    const char *client_id = gh_form_get(&f, "client_id");
    const char *scope = gh_scope_normalise(r->arena, gh_form_get(&f, "scope"));
    if (!client_id || !scope || !want_client || !want_scope ||
        strcmp(client_id, want_client) != 0 || strcmp(scope, want_scope) != 0)
        return NULL;
    /* NULL without purposes, as the request's own binding has it */
    const char *purpose = gh_scope_normalise(r->arena, gh_form_get(&f, "purpose"));
    return request_binding(r->arena, client_id, gh_form_get(&f, "redirect_uri"), scope,
                           gh_form_get(&f, "state"), gh_form_get(&f, "nonce"),
                           gh_form_get(&f, "code_challenge"), purpose && *purpose ? purpose : NULL);
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
static void respond_to_client(gh_req *r, const struct authz *z, const char *code, const char *error,
                              const char *description)
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

static void client_error(gh_req *r, const struct authz *z, const char *error, const char *desc)
{
    respond_to_client(r, z, NULL, error, desc);
}

/* The parameters: the query (GET) or a urlencoded body (POST). */
static const gh_form *read_params(gh_req *r)
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
static bool check_client(gh_req *r, struct authz *z)
{
    const char *dups[] = {"client_id", "redirect_uri", "response_type",  "scope",
                          "state",     "nonce",        "code_challenge", "response_mode",
                          "prompt",    "max_age",      "resource",       "purpose"};
    for (size_t i = 0; i < sizeof(dups) / sizeof(dups[0]); i++)
        if (gh_form_count(z->params, dups[i]) > 1) {
            error_page(r, 400, "Invalid request", "A parameter was repeated.");
            return false;
        }
    z->client_id = param(z, "client_id");
    z->redirect_uri = param(z, "redirect_uri");
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
static bool check_assurance(gh_req *r, struct authz *z)
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
    const char *claims = param(z, "claims");
    if (claims) {
        json_t *doc = json_loads(claims, JSON_REJECT_DUPLICATES, NULL);
        json_t *acr = json_object_get(json_object_get(doc, "id_token"), "acr");
        if (!json_is_object(doc)) {
            json_decref(doc);
            return client_error(r, z, "invalid_request", "claims must be a JSON object"), false;
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
    /* a tenant that requires a second factor asks it of every sign-in
     * (docs/tenants.md) */
    gh_tenant_policy pol;
    gh_ctx x = gh_req_ctx(r);
    gh_tenants_policy(&x, &pol);
    if (pol.mfa_required && z->hard_level < 2)
        z->hard_level = 2;
    if (z->hard_level > z->want_level)
        z->want_level = z->hard_level;
    return true;
}

/* organization=ID (docs/organisations.md): the signed-in customer must be
 * a member; the organisation's second-factor rule joins the request's
 * required level; the code (and its tokens) carry org_id. */
static const char *resume_url(gh_req *r, const struct authz *z, const char *extra);

/* The client's organization_usage (deny, allow, require; default allow). */
static const char *org_usage(const struct authz *z)
{
    const char *u = json_string_value(json_object_get(z->client.metadata, "organization_usage"));
    return u ? u : "allow";
}

/* A client that requires an organisation and a request that names none:
 * the customer's only organisation, or the picker when they have several.
 * 1: *org chosen; 0: answered (picker, or an error); -1: the database. */
static int pick_organization(gh_req *r, struct authz *z, const gh_session *s, const char **org)
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
        client_error(r, z, "access_denied", "the account belongs to no organization");
    else if (z->prompt_none)
        client_error(r, z, "interaction_required", "an organization must be chosen");
    else
        gh_resp_redirect(r, gh_arena_printf(r->arena, "/organization/select?return_to=%s",
                                            gh_url_encode(r->arena, resume_url(r, z, NULL))));
    return 0;
}

static bool check_organization(gh_req *r, struct authz *z, const gh_session *s)
{
    const char *org = param(z, "organization");
    const char *usage = org_usage(z);
    if (org && strcmp(usage, "deny") == 0)
        return client_error(r, z, "invalid_request", "this client does not use organizations"),
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
        return client_error(r, z, "access_denied",
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
static bool check_purpose(gh_req *r, struct authz *z)
{
    char why[256];
    const char *raw = param(z, "purpose");
    if (!raw)
        return true;
    z->purpose = gh_scope_normalise(r->arena, raw);
    if (!z->purpose || !*z->purpose)
        return client_error(r, z, "invalid_request", "purpose: space-separated purpose keys"),
               false;
    gh_ctx x = gh_req_ctx(r);
    gh_dbconn *c = gh_ctx_db(&x);
    gh_dbrc rc =
        c ? gh_consent_asked(&x, c, NULL, z->purpose, NULL, NULL, why, sizeof(why)) : GH_DB_BUSY;
    if (rc == GH_DB_INVALID)
        return client_error(r, z, "invalid_request", gh_arena_strdup(r->arena, why)), false;
    if (rc != GH_DB_OK)
        return client_error(r, z, "temporarily_unavailable", "try again"), false;
    return true;
}

/* Checks the rest; errors from here on go back to the client. */
static bool check_request(gh_req *r, struct authz *z)
{
    z->state = param(z, "state");
    z->nonce = param(z, "nonce");
    z->response_mode = param(z, "response_mode");
    z->acr_values = param(z, "acr_values");
    const char *rt = param(z, "response_type");
    const char *prompt = param(z, "prompt");
    const char *max_age = param(z, "max_age");
    const char *method = param(z, "code_challenge_method");
    z->code_challenge = param(z, "code_challenge");
    if (z->response_mode && strcmp(z->response_mode, "query") != 0 &&
        strcmp(z->response_mode, "form_post") != 0) {
        z->response_mode = NULL;
        return client_error(r, z, "invalid_request", "unsupported response_mode"), false;
    }
    if (param(z, "request"))
        return client_error(r, z, "request_not_supported", "request objects are not supported"),
               false;
    if (param(z, "request_uri"))
        return client_error(r, z, "request_uri_not_supported", "request_uri is not supported"),
               false;
    if (!rt || strcmp(rt, "code") != 0)
        return client_error(r, z, "unsupported_response_type", "only response_type=code"), false;
    if (!gh_client_grant_ok(&z->client, "authorization_code"))
        return client_error(r, z, "unauthorized_client", "the client may not use this flow"), false;
    z->scope = gh_scope_normalise(r->arena, param(z, "scope"));
    if (!z->scope)
        return client_error(r, z, "invalid_scope", "the scope is malformed"), false;
    /* Issue 16: a scope outside what the client registered, or unknown to
     * the server, is refused rather than dropped: the client learns at once
     * that it asked for something it will never get (RFC 6749 4.1.2.1). */
    if (!gh_scope_subset(z->scope, gh_client_scope(r->arena, &z->client)))
        return client_error(r, z, "invalid_scope", "the client may not ask for that scope"), false;
    json_t *target = NULL;
    const char *why = NULL;
    gh_ctx x = gh_req_ctx(r);
    const char *err = gh_resources_target(&x, z->scope, param(z, "resource"), &target, &why);
    json_decref(target); /* /token finds it again from the code's scope */
    if (err)
        return client_error(r, z, err, why), false;
    /* PKCE is required for every client, and only S256 (RFC 9700 2.1.1). */
    if (!z->code_challenge || !gh_pkce_challenge_valid(z->code_challenge))
        return client_error(r, z, "invalid_request", "a code_challenge (S256) is required"), false;
    if (!method || strcmp(method, "S256") != 0)
        return client_error(r, z, "invalid_request", "code_challenge_method must be S256"), false;
    z->max_age = -1;
    if (max_age) {
        char *end = NULL;
        z->max_age = strtoll(max_age, &end, 10);
        if (!*max_age || *end || z->max_age < 0)
            return client_error(r, z, "invalid_request", "max_age must be a whole number"), false;
    }
    if (prompt) {
        z->prompt_none = gh_scope_has(prompt, "none");
        z->prompt_login = gh_scope_has(prompt, "login");
        z->prompt_consent = gh_scope_has(prompt, "consent");
        if (z->prompt_none &&
            (z->prompt_login || z->prompt_consent || gh_scope_has(prompt, "select_account")))
            return client_error(r, z, "invalid_request", "prompt=none stands alone"), false;
    }
    if (z->nonce && strlen(z->nonce) > 512)
        return client_error(r, z, "invalid_request", "nonce is too long"), false;
    if (!check_purpose(r, z))
        return false;
    z->id_token_claims = gh_app_consents_id_token_claims(r, param(z, "claims"));
    return check_assurance(r, z);
}

/* The request as a same-origin URL to come back to, without our markers. */
static const char *resume_url(gh_req *r, const struct authz *z, const char *extra)
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

/* gh_auth_after=<ms>.<mac>: a sign-in after <ms> satisfies prompt=login and
 * max_age for this request. */
static long long auth_after(gh_req *r, const struct authz *z)
{
    const char *v = param(z, "gh_auth_after");
    const char *dot = v ? strchr(v, '.') : NULL;
    if (!dot)
        return -1;
    long long ms = strtoll(v, NULL, 10);
    const char *want =
        gh_oidc_mac(r, "gatehouse authz v2",
                    gh_arena_printf(r->arena, "after:%lld:%s", ms, authz_binding(r, z)));
    if (!gh_secret_equal(dot + 1, want) || gh_now_ms() - ms > MARKER_TTL_MS)
        return -1;
    return ms;
}

static void send_to_signin(gh_req *r, const struct authz *z, bool fresh)
{
    const char *extra = NULL;
    if (fresh) {
        long long now = gh_now_ms();
        extra = gh_arena_printf(
            r->arena, "gh_auth_after=%lld.%s", now,
            gh_oidc_mac(r, "gatehouse authz v2",
                        gh_arena_printf(r->arena, "after:%lld:%s", now, authz_binding(r, z))));
    }
    const char *back = resume_url(r, z, extra);
    const char *hint = param(z, "login_hint");
    gh_resp_redirect(r, gh_arena_printf(r->arena, "/signin?return_to=%s%s%s",
                                        gh_url_encode(r->arena, back), hint ? "&login_hint=" : "",
                                        hint ? gh_url_encode(r->arena, hint) : ""));
}

/* gh_consent=<allow|deny>.<ms>.<mac>, made by the consent API for this user,
 * client and scope. Returns 1 allow, 0 deny, -1 none or invalid. */
static int consent_marker(gh_req *r, const struct authz *z, const char *user_id)
{
    const char *v = param(z, "gh_consent");
    if (!v)
        return -1;
    char decision[8];
    long long ms = 0;
    const char *p = strchr(v, '.');
    const char *q = p ? strchr(p + 1, '.') : NULL;
    if (!p || !q || p - v >= (long)sizeof(decision))
        return -1;
    memcpy(decision, v, (size_t)(p - v));
    decision[p - v] = '\0';
    ms = strtoll(p + 1, NULL, 10);
    const char *want = gh_oidc_mac(
        r, "gatehouse consent v2",
        gh_arena_printf(r->arena, "%s:%lld:%s:%s", decision, ms, user_id, authz_binding(r, z)));
    if (!gh_secret_equal(q + 1, want) || gh_now_ms() - ms > MARKER_TTL_MS)
        return -1;
    return strcmp(decision, "allow") == 0 ? 1 : 0;
}

/* Issues the code and answers the client. */
static void issue_code(gh_req *r, const struct authz *z, const gh_session *s)
{
    gh_dbconn *c = gh_req_db(r);
    char hash[2 * GH_SHA256_BYTES + 1];
    const char *code = gh_token(r->arena);
    if (!c || !code)
        return;
    gh_secret_hash(code, hash);
    long long now = gh_now_ms();
    gh_code k = {.tenant_id = r->tenant,
                 .code_hash = hash,
                 .client_id = z->client_id,
                 .user_id = s->user_id,
                 .session_id = s->id,
                 .redirect_uri = z->redirect_uri,
                 .scope = z->scope,
                 .nonce = z->nonce,
                 .code_challenge = z->code_challenge,
                 .auth_time = s->auth_time,
                 .acr = gh_assurance_acr(s->aal),
                 .amr = s->amr,
                 .claims = z->id_token_claims,
                 .org_id = z->org,
                 .created_at = now,
                 .expires_at = now + (long long)r->app->cfg->auth_code_ttl * 1000};
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_store_code_insert(c, r->arena, &k);
    if (rc == GH_DB_OK) {
        json_t *d = json_pack("{s:s, s:s, s:s?, s:s?}", "client_id", z->client_id, "scope",
                              z->scope, "acr_values", z->acr_values, "prompt", param(z, "prompt"));
        gh_audit_event ev = {.tenant_id = r->tenant,
                             .type = "authorize.code_issued",
                             .subject = s->user_id,
                             .actor = z->client_id,
                             .ip = r->ip,
                             .user_agent = r->user_agent,
                             .outcome = "success",
                             .details = d};
        rc = gh_audit_append(c, r->arena, &ev);
        json_decref(d);
    }
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        client_error(r, z, "server_error", "the code could not be stored");
        return;
    }
    respond_to_client(r, z, code, NULL, NULL);
}

/* 1 when the request asks about a purpose user_id never decided, 0 when
 * not (or prompt=none), -1 with 503 answered when the ledger is unreadable. */
static int purposes_undecided(gh_req *r, const struct authz *z, const char *user_id)
{
    char why[256];
    bool undecided = false;
    if (!z->purpose || z->prompt_none)
        return 0;
    gh_ctx x = gh_req_ctx(r);
    gh_dbconn *c = gh_ctx_db(&x);
    gh_dbrc rc =
        c ? gh_consent_asked(&x, c, user_id, z->purpose, &undecided, NULL, why, sizeof(why))
          : GH_DB_BUSY;
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc == GH_DB_INVALID ? GH_DB_FAIL : rc);
        return -1;
    }
    return undecided ? 1 : 0;
}

static bool user_active(gh_req *r, const gh_session *s)
{
    gh_user u;
    gh_dbconn *c = gh_req_db(r);
    return c && gh_store_user_get(c, r->arena, r->tenant, s->user_id, &u) == GH_DB_OK && u.active;
}

void gh_oidc_authorize(gh_req *r)
{
    struct authz z = {0};
    z.params = read_params(r);
    if (!z.params)
        return;
    if (!check_client(r, &z) || !check_request(r, &z))
        goto out;
    const gh_session *s = gh_session_current(r);
    if (s && !user_active(r, s))
        s = NULL;
    long long after = auth_after(r, &z);
    long long now = gh_now_ms();
    /* a session a risk re-evaluation asked to step up (docs/risk.md) is
     * sent to prove again before it vouches for anyone: its auth_time is
     * true but no longer enough */
    bool fresh_needed =
        s && (s->fresh_required || (z.prompt_login && (after < 0 || s->auth_time < after)) ||
              (z.max_age >= 0 && now - s->auth_time > z.max_age * 1000 &&
               (after < 0 || s->auth_time < after)));
    if (!s || fresh_needed) {
        if (z.prompt_none)
            client_error(&*r, &z, "login_required", "the user is not signed in");
        else
            send_to_signin(r, &z, fresh_needed || z.prompt_login);
        goto out;
    }
    if (gh_session_consent_pending(r)) {
        /* a required document's new version waits for acceptance
         * (docs/privacy.md): the re-ask first, then this request again */
        if (z.prompt_none)
            client_error(r, &z, "interaction_required", "a required document awaits acceptance");
        else
            gh_resp_redirect(r, gh_arena_printf(r->arena, "/consent/update?return_to=%s",
                                                gh_url_encode(r->arena, resume_url(r, &z, NULL))));
        goto out;
    }
    if (!check_organization(r, &z, s))
        goto out;
    if (z.want_level > s->aal) {
        /* step-up: ask for the missing factor, not a whole new sign-in */
        gh_ctx x = gh_req_ctx(r);
        int reach = gh_factors_reachable(&x, s->user_id);
        if (gh_req_db_failed(r)) {
            gh_resp_db_error(r, GH_DB_BUSY);
            goto out;
        }
        int target = z.want_level < reach ? z.want_level : reach;
        if (z.hard_level > reach && z.hard_level > s->aal) {
            client_error(r, &z, "unmet_authentication_requirements",
                         "the account has no authenticator that reaches the required level");
            goto out;
        }
        if (s->aal < target) {
            gh_metrics_stepup_asked(); /* also under prompt=none: asked, and refused */
            if (z.prompt_none)
                client_error(r, &z, "interaction_required", "a stronger sign-in is needed");
            else
                gh_resp_redirect(r,
                                 gh_arena_printf(r->arena, "/signin/mfa?acr=%s&return_to=%s",
                                                 gh_url_encode(r->arena, gh_assurance_acr(target)),
                                                 gh_url_encode(r->arena, resume_url(r, &z, NULL))));
            goto out;
        }
    }
    /* progressive profiling (issue 20 item 6): attributes the application
     * needs and the customer has not given are asked first, once */
    int ask = gh_profile_attrs_pending(r, z.client_id, z.scope, s->user_id);
    if (ask != 0) {
        if (ask > 0 && z.prompt_none)
            client_error(r, &z, "interaction_required", "the profile needs more details");
        else if (ask > 0)
            gh_resp_redirect(r, gh_arena_printf(r->arena, "/profile/complete?return_to=%s",
                                                gh_url_encode(r->arena, resume_url(r, &z, NULL))));
        goto out;
    }
    /* a purpose the request asks about and the customer never decided
     * brings the consent page even when the scopes need no consent; with
     * prompt=none it is not asked (an optional purpose never blocks) */
    int purposes = purposes_undecided(r, &z, s->user_id);
    if (purposes < 0)
        goto out;
    if (!z.client.first_party || purposes > 0) {
        int decision = consent_marker(r, &z, s->user_id);
        const char *granted = "";
        if (decision == 0) {
            client_error(r, &z, "access_denied", "the user declined");
            goto out;
        }
        gh_store_consent_get(gh_req_db(r), r->arena, r->tenant, s->user_id, z.client_id, &granted);
        bool covered = z.client.first_party || gh_scope_subset(z.scope, granted);
        bool again = z.prompt_consent && !z.client.first_party;
        if (decision != 1 && (!covered || again || purposes > 0)) {
            if (z.prompt_none)
                client_error(r, &z, "consent_required", "the user has not consented");
            else
                gh_resp_redirect(r,
                                 gh_arena_printf(r->arena, "/consent?return_to=%s",
                                                 gh_url_encode(r->arena, resume_url(r, &z, NULL))));
            goto out;
        }
    }
    issue_code(r, &z, s);
out:
    if (z.have_client)
        gh_client_release(&z.client);
}

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
    if (!return_to_form(r, return_to, &f))
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
    const char *binding = return_to_binding(r, return_to, client_id, scope);
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
        gh_audit_event ev = {.tenant_id = r->tenant,
                             .type = allow ? "oauth_consent.granted" : "oauth_consent.denied",
                             .subject = s->user_id,
                             .actor = s->user_id,
                             .ip = r->ip,
                             .user_agent = r->user_agent,
                             .outcome = "success"};
        json_t *d = json_pack("{s:s, s:s}", "client_id", client_id, "scope", scope);
        ev.details = d;
        rc = gh_audit_append(c, r->arena, &ev);
        json_decref(d);
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
        json_t *d = json_pack("{s:s}", "client_id", r->params[0]);
        gh_audit_event ev = {.tenant_id = r->tenant,
                             .type = "oauth_consent.revoked",
                             .subject = s->user_id,
                             .actor = s->user_id,
                             .ip = r->ip,
                             .user_agent = r->user_agent,
                             .outcome = "success",
                             .details = d};
        rc = gh_audit_append(c, r->arena, &ev);
        json_decref(d);
    }
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK)
        gh_resp_db_error(r, rc);
    else
        gh_resp_empty(r, 204);
}
