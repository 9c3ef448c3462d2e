/* GET /jwks: the signing keys' public halves (OpenID Connect Discovery
 * jwks_uri), cacheable for a minute so relying parties pick up a rotation
 * within the keys' publication overlap (gh_keys_keep_ms). */
#include "gh_handlers.h"
#include "gh_keys.h"

void gh_jwks_endpoint(gh_req *r)
{
    const char *text = gh_keys_jwks_text_for(r->arena, r->tenant);
    if (!text) {
        gh_resp_error(r, 500, "server_error", "the key set is not available");
        return;
    }
    gh_resp_header(r, "Cache-Control", "public, max-age=60");
    gh_resp_text(r, 200, "application/json", text);
}
