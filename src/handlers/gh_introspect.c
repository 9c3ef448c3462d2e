/*
 * gh_introspect: token introspection (RFC 7662) for confidential clients.
 * A client learns about its own tokens, or, registered as the resource
 * server of an access token's audience, about tokens for it (section 4);
 * everything else is {"active": false}.
 */
#include <string.h>

#include "gh_client_auth.h"
#include "gh_clients.h"
#include "gh_handlers.h"
#include "gh_oidc.h"
#include "gh_resources.h"
#include "gh_tokens.h"

/* Claims of an active access token this client may see (new reference), or
 * NULL; *rc as gh_tokens_access_check. */
static json_t *visible_access_token(const gh_ctx *x, const gh_client *cl, const char *token,
                                    gh_dbrc *rc)
{
    *rc = GH_DB_OK;
    json_t *claims = strchr(token, '.') ? gh_tokens_access_check(x, token, rc) : NULL;
    const char *owner = json_string_value(json_object_get(claims, "client_id"));
    const char *aud = json_string_value(json_object_get(claims, "aud"));
    if (claims && (!owner || strcmp(owner, cl->id) != 0) &&
        !gh_resources_may_introspect(x, aud, cl->id)) {
        json_decref(claims);
        return NULL;
    }
    return claims;
}

static void answer(gh_req *r, const gh_ctx *x, const gh_client *cl, const char *token)
{
    gh_dbrc rc;
    json_t *claims = visible_access_token(x, cl, token, &rc);
    if (rc != GH_DB_OK || (!claims && gh_req_db_failed(r)))
        return gh_resp_db_error(r, rc != GH_DB_OK ? rc : GH_DB_BUSY);
    if (claims) {
        json_object_set_new(claims, "active", json_true());
        json_object_set_new(claims, "token_type", json_string("Bearer"));
        return gh_resp_json(r, 200, claims, NULL);
    }
    gh_refresh t;
    rc = gh_tokens_refresh_active(x, token, cl->id, &t);
    if (rc == GH_DB_OK)
        return gh_resp_json(r, 200,
                            json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "active", 1,
                                      "scope", t.scope, "client_id", t.client_id, "sub", t.user_id,
                                      "token_type", "refresh_token", "exp",
                                      (json_int_t)(t.expires_at / 1000), "iat",
                                      (json_int_t)(t.created_at / 1000), "iss", gh_ctx_issuer(x)),
                            NULL);
    if (rc == GH_DB_BUSY)
        return gh_resp_db_error(r, rc);
    gh_resp_json(r, 200, json_pack("{s:b}", "active", 0), NULL);
}

void gh_introspect(gh_req *r)
{
    gh_client cl;
    const gh_form *f = gh_req_body_form(r);
    if (!f || !gh_client_authenticate(r, f, gh_oidc_url(r, "/introspect"), &cl))
        return;
    /* `none` proves nothing: discovery does not offer it here (RFC 7662 2.1) */
    const char *token = gh_form_get(f, "token");
    if (cl.is_public)
        gh_resp_error(r, 401, "invalid_client",
                      "introspection needs client authentication; public clients cannot");
    else if (!token)
        gh_resp_error(r, 400, "invalid_request", "token is required");
    else {
        gh_ctx x = gh_req_ctx(r);
        answer(r, &x, &cl, token);
    }
    gh_client_release(&cl);
}
