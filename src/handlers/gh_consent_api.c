/*
 * The consent ledger's routes (issue 20; docs/privacy.md, docs/accounts-api.md):
 *   /admin/v1/consent/purposes...   purposes and their documents (admin token)
 *   /admin/v1/users/{id}/consents   a customer's ledger; an operator's record
 *   GET /api/v1/consent/documents   what the sign-up page shows (public)
 *   /api/v1/consents/purposes       the signed-in customer's decisions
 *   /api/v1/consent/update          the re-ask after sign-in (accept, decline)
 * Thin: the rules and the writes are gh_consent's. No route changes or
 * removes a record.
 */
#include <string.h>

#include "gh_api.h"
#include "gh_consent.h"
#include "gh_handlers.h"
#include "gh_logout.h"
#include "gh_scim.h"
#include "gh_session.h"
#include "gh_store_users.h"

static void answer_failure(gh_req *r, gh_dbrc rc, const char *why)
{
    if (r->status)
        return;
    if (rc == GH_DB_INVALID)
        gh_resp_error(r, 400, "invalid_request", gh_arena_strdup(r->arena, why));
    else if (rc == GH_DB_NOTFOUND)
        gh_resp_error(r, 404, "not_found", "no such purpose");
    else if (rc == GH_DB_CONFLICT)
        gh_resp_error(r, 409, "conflict", gh_arena_strdup(r->arena, why));
    else
        gh_resp_db_error(r, rc);
}

static void answer_json(gh_req *r, unsigned status, json_t *body)
{
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, status, body, NULL);
}

/* ---- the operator's side ---- */

void gh_admin_consent_purposes(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc;
    json_t *all = gh_consent_purposes(&x, &rc);
    if (!all)
        return answer_failure(r, rc, "");
    answer_json(r, 200, json_pack("{s:o}", "purposes", all));
}

void gh_admin_consent_purpose_get(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = GH_DB_NOTFOUND;
    json_t *one = r->nparams > 0 ? gh_consent_purpose(&x, r->params[0], &rc) : NULL;
    if (!one)
        return answer_failure(r, rc, "");
    answer_json(r, 200, one);
}

/* A write by the operator: the body through fn (add a purpose, publish a
 * document of the purpose in the path), 201 with the purpose. */
static void admin_write(gh_req *r, gh_dbrc (*fn)(gh_req *r, const gh_ctx *x, json_t *in,
                                                 json_t **out, char *why, size_t whylen))
{
    char why[256] = "";
    if (!gh_admin_authorised(r))
        return;
    json_t *in = gh_scim_body(r);
    if (!in)
        return;
    gh_ctx x = gh_req_ctx(r);
    json_t *out = NULL;
    gh_dbrc rc = fn(r, &x, in, &out, why, sizeof(why));
    json_decref(in);
    if (rc != GH_DB_OK)
        return answer_failure(r, rc, why);
    answer_json(r, 201, out);
}

static gh_dbrc purpose_add(gh_req *r, const gh_ctx *x, json_t *in, json_t **out, char *why,
                           size_t whylen)
{
    (void)r;
    return gh_consent_purpose_add(x, "admin", in, out, why, whylen);
}

static gh_dbrc document_publish(gh_req *r, const gh_ctx *x, json_t *in, json_t **out, char *why,
                                size_t whylen)
{
    if (r->nparams < 1)
        return GH_DB_NOTFOUND;
    return gh_consent_document_publish(x, "admin", r->params[0], in, out, why, whylen);
}

void gh_admin_consent_purpose_add(gh_req *r)
{
    admin_write(r, purpose_add);
}

void gh_admin_consent_document_publish(gh_req *r)
{
    admin_write(r, document_publish);
}

/* The customer named in the path exists; false with 404 answered. */
static bool admin_user(gh_req *r, gh_dbconn *c, gh_user *u)
{
    gh_dbrc rc = r->nparams > 0 ? gh_store_user_get(c, r->arena, r->tenant, r->params[0], u)
                                : GH_DB_NOTFOUND;
    if (rc == GH_DB_NOTFOUND)
        gh_resp_error(r, 404, "not_found", "no such user");
    else if (rc != GH_DB_OK)
        gh_resp_db_error(r, rc);
    return rc == GH_DB_OK;
}

void gh_admin_consent_user_get(gh_req *r)
{
    gh_user u;
    if (!gh_admin_authorised(r))
        return;
    gh_dbconn *c = gh_req_db(r);
    if (!c || !admin_user(r, c, &u))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc;
    json_t *view = gh_consent_view(&x, c, u.id, &rc);
    if (!view)
        return answer_failure(r, rc, "");
    answer_json(r, 200, view);
}

/* An operator records a decision for a customer (a paper form, an import
 * from another system): channel "admin" or "import", and a reason. */
void gh_admin_consent_user_record(gh_req *r)
{
    char why[256] = "";
    gh_user u;
    if (!gh_admin_authorised(r))
        return;
    json_t *in = gh_scim_body(r);
    if (!in)
        return;
    gh_dbconn *c = gh_req_db(r);
    const char *channel = json_string_value(json_object_get(in, "channel"));
    gh_consent_act a = {.purpose = json_string_value(json_object_get(in, "purpose")),
                        .decision = json_string_value(json_object_get(in, "decision")),
                        .channel = channel ? channel : "admin",
                        .actor = "admin",
                        .reason = json_string_value(json_object_get(in, "reason"))};
    gh_dbrc rc = GH_DB_OK;
    if (!c || !admin_user(r, c, &u))
        goto out;
    a.user_id = u.id;
    if (strcmp(a.channel, "admin") != 0 && strcmp(a.channel, "import") != 0) {
        gh_resp_error(r, 400, "invalid_request", "channel: admin or import");
        goto out;
    }
    if (a.reason && strlen(a.reason) > GH_CONSENT_MAX_REASON) {
        gh_resp_error(r, 400, "invalid_request", "reason: at most 500 bytes");
        goto out;
    }
    gh_ctx x = gh_req_ctx(r);
    rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_consent_record(&x, c, &a, why, sizeof(why));
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        answer_failure(r, rc, why);
        goto out;
    }
    json_t *view = gh_consent_view(&x, c, u.id, &rc);
    if (!view)
        answer_failure(r, rc, "");
    else
        answer_json(r, 201, view);
out:
    json_decref(in);
}

/* ---- the customer's side ---- */

void gh_consent_documents(gh_req *r)
{
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc;
    json_t *show = gh_consent_to_show(&x, &rc);
    if (!show)
        return answer_failure(r, rc, "");
    answer_json(r, 200, show);
}

static const gh_session *customer(gh_req *r)
{
    const gh_session *s = gh_session_current(r);
    if (!s && !r->status)
        gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
    return s;
}

/* A customer's POST: CSRF checked, signed in, a JSON body (owned by the
 * caller); NULL with the answer set. */
static json_t *customer_post(gh_req *r, const gh_session **s, gh_dbconn **c)
{
    *s = gh_csrf_check(r) ? customer(r) : NULL;
    *c = *s ? gh_req_db(r) : NULL;
    return *c ? gh_api_body(r) : NULL;
}

/* A signed-in customer's read: fn's JSON for them, 200. */
static void customer_get(gh_req *r, json_t *(*fn)(const gh_ctx *x, gh_dbconn *c,
                                                  const char *user_id, gh_dbrc *rc))
{
    const gh_session *s = customer(r);
    gh_dbconn *c = s ? gh_req_db(r) : NULL;
    if (!c)
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc;
    json_t *out = fn(&x, c, s->user_id, &rc);
    if (!out)
        return answer_failure(r, rc, "");
    answer_json(r, 200, out);
}

void gh_consents_purposes_get(gh_req *r)
{
    customer_get(r, gh_consent_view);
}

/* An optional purpose granted, withdrawn or declined on /account or by the
 * API; a required one is refused with the way to end it (deletion). */
void gh_consents_purposes_decide(gh_req *r)
{
    char why[256] = "";
    bool bad = false;
    const gh_session *s;
    gh_dbconn *c;
    json_t *body = customer_post(r, &s, &c);
    if (!body)
        return;
    const char *purpose = gh_api_text(r, body, "purpose", 64, &bad);
    const char *decision = bad ? NULL : gh_api_text(r, body, "decision", 16, &bad);
    json_t *channel = json_object_get(body, "channel");
    gh_consent_act a = {.user_id = s->user_id,
                        .purpose = purpose,
                        .decision = decision,
                        /* the hosted page says so; any other caller is the API */
                        .channel = json_is_string(channel) &&
                                           strcmp(json_string_value(channel), "page") == 0
                                       ? "page"
                                       : "api",
                        .actor = s->user_id};
    if (bad) {
        json_decref(body);
        return;
    }
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = gh_consent_record(&x, c, &a, why, sizeof(why));
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    json_decref(body);
    if (rc != GH_DB_OK)
        return answer_failure(r, rc, why);
    json_t *view = gh_consent_view(&x, c, s->user_id, &rc);
    if (!view)
        return answer_failure(r, rc, "");
    answer_json(r, 200, view);
}

/* ---- the re-ask after sign-in ---- */

void gh_consent_update_get(gh_req *r)
{
    customer_get(r, gh_consent_pending_list);
}

/* Records the decision for every pending document, in one transaction. */
static gh_dbrc decide_pending(gh_req *r, gh_dbconn *c, const char *user_id, bool accept, char *why,
                              size_t whylen)
{
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc;
    json_t *list = gh_consent_pending_list(&x, c, user_id, &rc);
    json_t *p;
    size_t i;
    json_array_foreach(json_object_get(list, "purposes"), i, p)
    {
        gh_consent_act a = {.user_id = user_id,
                            .purpose = json_string_value(json_object_get(p, "key")),
                            .decision = accept ? "granted" : "declined",
                            .channel = "page",
                            .actor = user_id};
        if (rc == GH_DB_OK)
            rc = gh_consent_record(&x, c, &a, why, whylen);
    }
    json_decref(list);
    return rc;
}

void gh_consent_update_decide(gh_req *r)
{
    char why[256] = "";
    bool bad = false;
    const gh_session *s;
    gh_dbconn *c;
    json_t *body = customer_post(r, &s, &c);
    if (!body)
        return;
    const char *decision = gh_api_text(r, body, "decision", 16, &bad);
    const char *asked = bad ? NULL : gh_api_text(r, body, "return_to", 2048, &bad);
    bool accept = decision && strcmp(decision, "accept") == 0;
    if (!bad && !accept && (!decision || strcmp(decision, "decline") != 0)) {
        gh_resp_error(r, 400, "invalid_request", "decision: accept or decline");
        bad = true;
    }
    const char *user_id = s->user_id;
    const char *return_to = bad ? NULL : gh_api_return_target(r, asked);
    json_decref(body);
    if (bad)
        return;
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK)
        rc = decide_pending(r, c, user_id, accept, why, sizeof(why));
    /* declining ends the session here and now: nothing else happens */
    if (rc == GH_DB_OK && !accept)
        rc = gh_session_end(r, c);
    if (rc == GH_DB_OK && !accept)
        rc =
            gh_api_audit(r, c, "signout", user_id, "success", "declined a required document", NULL);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc != GH_DB_OK) {
        r->nhdrs = 0;
        return answer_failure(r, rc, why);
    }
    if (!accept) {
        gh_logout_kick();
        const char *pre = gh_presession(r, true);
        answer_json(r, 200,
                    json_pack("{s:s, s:s?}", "status", "signed_out", "csrf_token",
                              pre ? gh_csrf_token_for(r, pre) : NULL));
        return;
    }
    answer_json(r, 200, json_pack("{s:s, s:s}", "status", "accepted", "return_to", return_to));
}
