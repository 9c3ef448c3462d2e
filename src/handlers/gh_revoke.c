/*
 * gh_revoke: token revocation (RFC 7009). A client revokes its own access
 * and refresh tokens; unknown tokens and other clients' tokens get the same
 * 200, so the endpoint tells nothing about them (section 2.2).
 */
#include "gh_client_auth.h"
#include "gh_clients.h"
#include "gh_handlers.h"
#include "gh_oidc.h"
#include "gh_tokens.h"

void gh_revoke(gh_req *r)
{
    gh_client cl;
    const gh_form *f = gh_req_body_form(r);
    if (!f || !gh_client_authenticate(r, f, gh_oidc_url(r, "/revoke"), &cl))
        return;
    const char *token = gh_form_get(f, "token");
    if (!token) {
        gh_client_release(&cl);
        return gh_resp_error(r, 400, "invalid_request", "token is required");
    }
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = gh_tokens_revoke(&x, token, cl.id);
    gh_client_release(&cl);
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    gh_resp_empty(r, 200);
}
