/*
 * Purpose decisions for applications (issue 20 item 4; docs/privacy.md "For
 * applications"):
 *   GET  /api/v1/app/consents   the customer's decision per purpose
 *   POST /api/v1/app/consents   {purpose, decision: granted|withdrawn}
 * with the customer's access token (Bearer, the issuer's audience, scope
 * consents). A write needs the customer present: the token must come from
 * an authentication at most GH_APP_CONSENTS_PRESENCE_S old (RFC 9470).
 */
#include "gh_app_consents.h"

#include <string.h>
#include <strings.h>

#include "gh_api.h"
#include "gh_bearer.h"
#include "gh_clock.h"
#include "gh_consent.h"
#include "gh_handlers.h"
#include "gh_oauth.h"
#include "gh_store_users.h"
#include "gh_tokens.h"

bool gh_app_consents_claim(gh_req *r, const char *user_id, const char *scope, json_t *claims)
{
    if (!scope || !gh_scope_has(scope, "consents"))
        return true; /* data minimisation: nothing without the scope */
    gh_ctx x = gh_req_ctx(r);
    gh_dbconn *c = gh_ctx_db(&x);
    gh_dbrc rc = GH_DB_BUSY;
    json_t *o = c ? gh_consent_claim(&x, c, user_id, &rc) : NULL;
    if (!o)
        return false;
    json_object_set_new(claims, "consents", o);
    return true;
}

const char *gh_app_consents_id_token_claims(gh_req *r, const char *claims_param)
{
    json_t *doc = claims_param ? json_loads(claims_param, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_t *idt = json_object_get(doc, "id_token");
    /* a member named consents asks for it, null or an object alike (OIDC
     * Core 5.5.1) */
    bool asked = json_is_object(idt) && json_object_get(idt, "consents") != NULL;
    json_decref(doc);
    return asked ? gh_arena_strdup(r->arena, "consents") : NULL;
}

/* ---- the bearer API ---- */

static void answer_claim(gh_req *r, const char *user_id)
{
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = GH_DB_BUSY;
    gh_dbconn *c = gh_ctx_db(&x);
    json_t *o = c ? gh_consent_claim(&x, c, user_id, &rc) : NULL;
    if (!o)
        return gh_resp_db_error(r, rc);
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, json_pack("{s:o}", "consents", o), NULL);
}

void gh_app_consents_get(gh_req *r)
{
    gh_bearer t;
    if (gh_bearer_customer(r, "consents", &t))
        answer_claim(r, t.user_id);
}

/* The customer must be at the application now: a token from an old
 * sign-in (a refresh weeks later) may read, not decide (RFC 9470). */
static bool customer_present(gh_req *r, const gh_bearer *t)
{
    long long now = gh_now_ms() / 1000;
    if (t->auth_time > 0 && now - t->auth_time <= GH_APP_CONSENTS_PRESENCE_S)
        return true;
    gh_bearer_error(r, 401, "insufficient_user_authentication",
                    "the customer must have signed in within the last 5 minutes: send them to "
                    "/authorize with max_age=300 (or prompt=login) and use the new token",
                    gh_arena_printf(r->arena, ", max_age=%d", GH_APP_CONSENTS_PRESENCE_S));
    return false;
}

void gh_app_consents_post(gh_req *r)
{
    gh_bearer t;
    bool bad = false;
    char why[256] = "";
    if (!gh_bearer_customer(r, "consents", &t) || !customer_present(r, &t))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *purpose = gh_api_text(r, body, "purpose", 64, &bad);
    const char *decision = bad ? NULL : gh_api_text(r, body, "decision", 16, &bad);
    json_decref(body);
    if (bad)
        return;
    if (!purpose || !decision ||
        (strcmp(decision, "granted") != 0 && strcmp(decision, "withdrawn") != 0))
        return gh_resp_error(r, 400, "invalid_request",
                             "send {\"purpose\": KEY, \"decision\": \"granted\"|\"withdrawn\"}");
    gh_ctx x = gh_req_ctx(r);
    gh_dbconn *c = gh_ctx_db(&x);
    if (!c)
        return gh_resp_db_error(r, GH_DB_BUSY);
    /* an application records only optional purposes: the documents a
     * customer must accept are accepted on Gatehouse's own pages */
    gh_dbrc rc = gh_consent_asked(&x, c, t.user_id, purpose, NULL, NULL, why, sizeof(why));
    gh_consent_act a = {.user_id = t.user_id,
                        .purpose = purpose,
                        .decision = decision,
                        .channel = "api",
                        .actor = t.user_id,
                        .client_id = t.client_id};
    if (rc == GH_DB_OK)
        rc = gh_db_begin(c);
    if (rc == GH_DB_OK) {
        rc = gh_consent_record(&x, c, &a, why, sizeof(why));
        rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    }
    if (rc == GH_DB_INVALID)
        return gh_resp_error(r, 400, "invalid_request", gh_arena_strdup(r->arena, why));
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    answer_claim(r, t.user_id);
}
