/*
 * POST {issuer}/admin/v1/keys/rotate: rotates the signing keys of the
 * request's tenant (docs/tenants.md), the admin token as bearer, as
 * `gatehouse keys rotate --tenant ID` does; audited in the tenant's chain
 * (keys.rotated, actor "admin"). Thin: gh_tenants_rotate_keys has gh_keys
 * rotate and publish, and audits. Runs on the worker pool: making an RSA
 * key takes 100-300 ms.
 */
#include <stdint.h>

#include "gh_clock.h"
#include "gh_handlers.h"
#include "gh_keys.h"
#include "gh_log.h"
#include "gh_scim.h"
#include "gh_tenants.h"

void gh_admin_keys_rotate(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    char es[64], rs[64], until[32], err[512] = "";
    gh_tenant_rc rc = gh_tenants_rotate_keys(&x, r->tenant, "admin", es, rs, err, sizeof(err));
    if (rc != GH_TENANT_OK) {
        gh_log(GH_LOG_ERROR, "signing keys not rotated", "tenant %s: %s", r->tenant,
               err[0] ? err : "the database did not answer");
        if (r->status)
            return;
        if (rc == GH_TENANT_BUSY)
            return gh_resp_db_error(r, GH_DB_BUSY);
        return gh_resp_error(r, 500, "server_error", "the signing keys could not be rotated");
    }
    gh_rfc3339(gh_now_ms() + gh_keys_keep_ms(x.cfg), until);
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:s}", "tenant", r->tenant, "keys",
                           "kid", es, "alg", "ES256", "kid", rs, "alg", "RS256",
                           "previous_keys_published_until", until),
                 NULL);
}
