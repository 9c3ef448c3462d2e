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

struct app_token {
    const char *user_id, *client_id, *scope;
    long long auth_time; /* seconds; 0 when the token has none */
};

static void bearer_error(gh_req *r, unsigned status, const char *error, const char *desc,
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

/* The customer's access token for the issuer, as userinfo accepts it; with
 * the consents scope. false with the answer sent. */
static bool app_token(gh_req *r, struct app_token *t)
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
        bearer_error(r, 401, "invalid_token", "the access token is not valid", NULL);
        return false;
    }
    if (!t->scope || !gh_scope_has(t->scope, "consents")) {
        bearer_error(r, 403, "insufficient_scope", "the consents scope is required",
                     ", scope=\"consents\"");
        return false;
    }
    return true;
}

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
    struct app_token t;
    if (app_token(r, &t))
        answer_claim(r, t.user_id);
}

/* The customer must be at the application now: a token from an old
 * sign-in (a refresh weeks later) may read, not decide (RFC 9470). */
static bool customer_present(gh_req *r, const struct app_token *t)
{
    long long now = gh_now_ms() / 1000;
    if (t->auth_time > 0 && now - t->auth_time <= GH_APP_CONSENTS_PRESENCE_S)
        return true;
    bearer_error(r, 401, "insufficient_user_authentication",
                 "the customer must have signed in within the last 5 minutes: send them to "
                 "/authorize with max_age=300 (or prompt=login) and use the new token",
                 gh_arena_printf(r->arena, ", max_age=%d", GH_APP_CONSENTS_PRESENCE_S));
    return false;
}

void gh_app_consents_post(gh_req *r)
{
    struct app_token t;
    bool bad = false;
    char why[256] = "";
    if (!app_token(r, &t) || !customer_present(r, &t))
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
