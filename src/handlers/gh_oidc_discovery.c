/*
 * gh_oidc_discovery: the OpenID Connect discovery document
 * (/.well-known/openid-configuration, OpenID Connect Discovery 1.0): made
 * once per process for the default tenant, per request for the others.
 */
#include "gh_oidc.h"

#include <pthread.h>
#include <string.h>

#include "gh_oidc_int.h"

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
