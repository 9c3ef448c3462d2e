#include "gh_bearer.h"

#include <string.h>
#include <strings.h>

#include "gh_oauth.h"
#include "gh_store_users.h"
#include "gh_tokens.h"

void gh_bearer_error(gh_req *r, unsigned status, const char *error, const char *desc,
                     const char *extra)
{
    gh_resp_header(r, "WWW-Authenticate",
                   gh_arena_printf(r->arena, "Bearer error=\"%s\", error_description=\"%s\"%s",
                                   error, desc, extra ? extra : ""));
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_error(r, status, error, desc);
}

static const char *claim_text(gh_req *r, json_t *claims, const char *name)
{
    const char *s = json_string_value(json_object_get(claims, name));
    return s ? gh_arena_strdup(r->arena, s) : NULL;
}

bool gh_bearer_customer(gh_req *r, const char *scope, gh_bearer *t)
{
    const char *auth = gh_req_header(r, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
        gh_resp_header(r, "WWW-Authenticate", "Bearer");
        gh_resp_error(r, 401, "invalid_token", "an access token is required");
        return false;
    }
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc;
    json_t *claims = gh_tokens_access_check(&x, auth + 7, &rc);
    if (rc != GH_DB_OK) {
        json_decref(claims);
        gh_resp_db_error(r, rc);
        return false;
    }
    t->user_id = claim_text(r, claims, "sub");
    t->client_id = claim_text(r, claims, "client_id");
    t->scope = claim_text(r, claims, "scope");
    const char *aud = json_string_value(json_object_get(claims, "aud"));
    bool for_us = aud && strcmp(aud, gh_ctx_issuer(&x)) == 0;
    t->auth_time = json_integer_value(json_object_get(claims, "auth_time"));
    json_decref(claims);
    gh_user u;
    gh_dbconn *c = t->user_id && for_us ? gh_ctx_db(&x) : NULL;
    /* a client's own token (client_credentials) has no customer behind it */
    if (!c || !t->client_id || strcmp(t->user_id, t->client_id) == 0 ||
        gh_store_user_get(c, r->arena, x.tenant, t->user_id, &u) != GH_DB_OK || !u.active) {
        gh_bearer_error(r, 401, "invalid_token", "the access token is not valid", NULL);
        return false;
    }
    if (!t->scope || !gh_scope_has(t->scope, scope)) {
        gh_bearer_error(r, 403, "insufficient_scope",
                        gh_arena_printf(r->arena, "the %s scope is required", scope),
                        gh_arena_printf(r->arena, ", scope=\"%s\"", scope));
        return false;
    }
    return true;
}
