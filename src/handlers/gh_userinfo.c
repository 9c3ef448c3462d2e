/*
 * gh_userinfo: the UserInfo endpoint (OIDC Core 5.3). The access token comes
 * as a Bearer header or, for POST, as the access_token form parameter
 * (RFC 6750 2.1, 2.2); the claims released follow its scopes.
 */
#include <string.h>
#include <strings.h>

#include "gh_app_consents.h"
#include "gh_handlers.h"
#include "gh_oauth.h"
#include "gh_profile_attrs.h"
#include "gh_store_users.h"
#include "gh_tokens.h"

static void bearer_error(gh_req *r, unsigned status, const char *error, const char *desc)
{
    gh_resp_header(
        r, "WWW-Authenticate",
        gh_arena_printf(r->arena, "Bearer error=\"%s\", error_description=\"%s\"", error, desc));
    gh_resp_error(r, status, error, desc);
}

static const char *presented_token(gh_req *r)
{
    const char *auth = gh_req_header(r, "Authorization");
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
        return auth + 7;
    if (strcmp(r->method, "POST") == 0 && r->body) {
        gh_form f;
        if (gh_form_parse(r->arena, r->body, r->body_len, NULL, &f) == GH_FORM_OK)
            return gh_form_get(&f, "access_token");
    }
    return NULL;
}

void gh_userinfo(gh_req *r)
{
    const char *token = presented_token(r);
    if (!token) {
        gh_resp_header(r, "WWW-Authenticate", "Bearer");
        gh_resp_error(r, 401, "invalid_token", "an access token is required");
        return;
    }
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc;
    json_t *claims = gh_tokens_access_check(&x, token, &rc);
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *client = json_string_value(json_object_get(claims, "client_id"));
    const char *scope = json_string_value(json_object_get(claims, "scope"));
    const char *aud = json_string_value(json_object_get(claims, "aud"));
    gh_user u;
    gh_dbconn *c = claims ? gh_ctx_db(&x) : NULL;
    if (claims && !c) {
        json_decref(claims);
        return gh_resp_db_error(r, GH_DB_BUSY);
    }
    /* a token for a resource (RFC 8707) is that API's, not userinfo's; a
     * client's own token (client_credentials) has no user */
    if (!claims || !sub || (client && strcmp(sub, client) == 0) || !aud ||
        strcmp(aud, gh_ctx_issuer(&x)) != 0 || !c ||
        gh_store_user_get(c, r->arena, x.tenant, sub, &u) != GH_DB_OK || !u.active) {
        json_decref(claims);
        return bearer_error(r, 401, "invalid_token", "the access token is not valid");
    }
    if (!scope || !gh_scope_has(scope, "openid")) {
        json_decref(claims);
        return bearer_error(r, 403, "insufficient_scope", "the openid scope is required");
    }
    gh_profile_user pu = gh_store_user_profile(&u);
    json_t *o = gh_profile_claims(&pu, scope);
    gh_profile_attrs_claims(r, u.profile, scope, client, o);
    bool read = gh_app_consents_claim(r, sub, scope, o);
    json_decref(claims);
    if (!read) {
        json_decref(o);
        return gh_resp_db_error(r, GH_DB_BUSY);
    }
    gh_resp_json(r, 200, o, NULL);
}
