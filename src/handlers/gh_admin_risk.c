/*
 * The operator's view of risk decisions (docs/risk.md "Explain"):
 * GET /admin/v1/risk/decisions/{id} and GET /admin/v1/users/{id}/risk,
 * GATEHOUSE_ADMIN_TOKEN as bearer, as for SCIM. Thin: core/gh_risk reads
 * and shapes the record.
 */
#include <stdbool.h>

#include "gh_handlers.h"
#include "gh_risk.h"
#include "gh_scim.h"

static void answer(gh_req *r, gh_dbrc rc, json_t *out)
{
    if (rc == GH_DB_NOTFOUND) {
        gh_resp_error(r, 404, "not_found", "no such risk decision");
        return;
    }
    if (rc != GH_DB_OK) {
        gh_resp_db_error(r, rc);
        return;
    }
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, out, NULL);
}

/* One decision by id (list false), or an account's latest (list true). */
static void admin_risk(gh_req *r, bool list)
{
    if (!gh_admin_authorised(r))
        return;
    gh_dbconn *c = r->nparams > 0 ? gh_req_db(r) : NULL;
    if (!c) {
        if (r->nparams < 1)
            answer(r, GH_DB_NOTFOUND, NULL);
        return;
    }
    gh_ctx x = gh_req_ctx(r);
    json_t *out = NULL;
    gh_dbrc rc =
        list ? gh_risk_list(&x, c, r->params[0], &out) : gh_risk_explain(&x, c, r->params[0], &out);
    if (rc == GH_DB_OK && list)
        out = json_pack("{s:o}", "decisions", out);
    answer(r, rc, out);
}

void gh_admin_risk_decision_get(gh_req *r)
{
    admin_risk(r, false);
}

void gh_admin_risk_user_list(gh_req *r)
{
    admin_risk(r, true);
}
