/*
 * POST {issuer}/admin/v1/keys/rotate: rotates the signing keys of the
 * request's tenant (docs/tenants.md), the admin token as bearer, as
 * `gatehouse keys rotate --tenant ID` does; audited in the tenant's chain
 * (keys.rotated, actor "admin"). Thin: gh_keys rotates, audits and
 * publishes. Runs on the worker pool: making an RSA key takes 100-300 ms.
 */
#include <stdint.h>

#include "gh_clock.h"
#include "gh_handlers.h"
#include "gh_keys.h"
#include "gh_log.h"
#include "gh_scim.h"

void gh_admin_keys_rotate(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    char es[64], rs[64], until[32], err[512] = "";
    if (gh_keys_rotate_audited(&x, "admin", es, rs, err, sizeof(err)) != 0) {
        gh_log(GH_LOG_ERROR, "signing keys not rotated", "tenant %s: %s", r->tenant, err);
        if (!r->status)
            gh_resp_error(r, 500, "server_error", "the signing keys could not be rotated");
        return;
    }
    gh_rfc3339(gh_now_ms() + gh_keys_keep_ms(x.cfg), until);
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:s}", "tenant", r->tenant, "keys",
                           "kid", es, "alg", "ES256", "kid", rs, "alg", "RS256",
                           "previous_keys_published_until", until),
                 NULL);
}
