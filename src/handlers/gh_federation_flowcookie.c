/*
 * gh_federation_flowcookie: the cookie that binds a form_post sign-in
 * (Apple, docs/federation.md "Apple") to the browser that started it.
 *
 * With response_mode=form_post the upstream's page POSTs the code and the
 * state to our callback: a cross-site POST, on which browsers do not send
 * SameSite=Lax cookies, so the pre-session cookie (Lax) that binds a
 * query-mode flow would be missing and every such sign-in would fail as a
 * "replayed state". This cookie is therefore SameSite=None, which browsers
 * accept only with Secure (they keep Secure cookies on https origins and on
 * http://localhost). SameSite=None is safe here because of what the cookie
 * is and what it opens: a fresh 256-bit random value made at the start and
 * used for nothing else (not the session, not a CSRF binding), HttpOnly,
 * ten minutes, deleted at the callback; it only finds the flow, whose state
 * must still match (constant time, one use), whose nonce the ID token must
 * carry and whose PKCE verifier the upstream checks. A cross-site POST
 * forged by another site carries it too, but without the state of this
 * browser's flow it finds nothing, and with it (the upstream's own form) it
 * is exactly the sign-in this browser started.
 */
#include <string.h>

#include "gh_crypto.h"
#include "gh_federation.h"
#include "gh_federation_handlers.h"
#include "gh_sessions.h"
#include "gh_store_users.h"

static const char *flow_cookie_name(gh_req *r)
{
    bool https = strncmp(r->issuer, "https://", 8) == 0;
    bool other = strcmp(r->tenant, GH_DEFAULT_TENANT) != 0;
    return gh_arena_printf(r->arena, "%sgh_fedflow%s%s", https ? "__Host-" : "", other ? "." : "",
                           other ? r->tenant : "");
}

static void flow_cookie_set(gh_req *r, const char *value, long long max_age)
{
    gh_resp_header(r, "Set-Cookie",
                   gh_arena_printf(r->arena,
                                   "%s=%s; Path=/; HttpOnly; Secure; SameSite=None; Max-Age=%lld",
                                   flow_cookie_name(r), value, max_age));
}

const char *gh_fedh_flow_binding(gh_req *r, bool create)
{
    char h[2 * GH_SHA256_BYTES + 1];
    const char *v = NULL;
    if (create) {
        v = gh_token(r->arena);
        if (v)
            flow_cookie_set(r, v, GH_FED_FLOW_TTL_MS / 1000);
    } else {
        v = gh_req_cookie(r, flow_cookie_name(r));
        flow_cookie_set(r, "", 0); /* one flow, one callback */
    }
    if (!v || strlen(v) != GH_SESSION_TOKEN_LEN)
        return NULL;
    gh_secret_hash(v, h);
    return gh_arena_strdup(r->arena, h);
}
