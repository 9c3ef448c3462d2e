/*
 * gh_federation_discover: home-realm discovery for the sign-in page
 * (docs/federation.md "Home-realm discovery"). POST /api/v1/signin/discover
 * {"email"} says which way a person with that address signs in: through
 * the own provider of the organisation holding the address's domain, or
 * the usual way (password, passkey, emailed code).
 *
 * Enumeration-safe: the answer is a function of the domain alone; no
 * account is looked up, and every address costs the same two reads
 * (gh_fedorgs_discover).
 */
#include <string.h>

#include "gh_api.h"
#include "gh_federation_handlers.h"
#include "gh_fedorgs.h"
#include "gh_handlers.h"
#include "gh_session.h"

void gh_federation_discover(gh_req *r)
{
    bool bad = false;
    if (!gh_csrf_check(r)) /* as every /api/v1 POST, though it changes nothing */
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *email = gh_api_text(r, body, "email", 254, &bad);
    email = email ? gh_arena_strdup(r->arena, email) : NULL;
    json_decref(body);
    if (bad)
        return;
    if (!email || !strchr(email, '@')) {
        gh_resp_error(r, 400, "invalid_request", "Enter your email address.");
        return;
    }
    gh_ctx x = gh_req_ctx(r);
    gh_fed_provider_row p;
    const char *org = NULL;
    gh_dbrc rc = gh_fedorgs_discover(&x, email, &p, &org);
    if (rc != GH_DB_OK && rc != GH_DB_NOTFOUND) {
        if (!r->status)
            gh_resp_db_error(r, rc);
        return;
    }
    gh_resp_header(r, "Cache-Control", "no-store");
    if (rc == GH_DB_NOTFOUND || !gh_fedh_offered(r)) {
        gh_resp_json(r, 200, json_pack("{s:s}", "method", "password"), NULL);
        return;
    }
    const char *start = gh_arena_printf(r->arena, "%s/federation/%s/start", r->base_path, p.id);
    gh_resp_json(r, 200,
                 json_pack("{s:s, s:{s:s, s:s}, s:s, s:s}", "method", "federation", "provider",
                           "id", p.id, "display_name", p.display_name, "organization", org, "start",
                           start),
                 NULL);
}
