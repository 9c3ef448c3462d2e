/*
 * Organisations (docs/organisations.md):
 *   the operator, with the admin token:
 *     GET, POST /admin/v1/organizations; GET, PATCH, DELETE .../{id}
 *     GET .../{id}/members; PUT, DELETE .../{id}/members/{user_id}
 *   a signed-in customer: GET /api/v1/organizations (their own)
 *   an organisation's administrators (role "admin"), with an access token
 *   holding scope org_admin (delegated administration):
 *     GET /api/v1/app/organizations/{id}/members
 *     POST /api/v1/app/organizations/{id}/members {"email", "roles"}: an
 *       account whose email is in one of the organisation's domains
 *     PUT, DELETE /api/v1/app/organizations/{id}/members/{user_id}
 *   invitations: POST, GET /admin/v1/organizations/{id}/invitations (the
 *     operator), POST /api/v1/app/organizations/{id}/invitations (an
 *     administrator's org_admin token); the invitee, on the page
 *     /invitation: POST /api/v1/invitation {token} (what it is) and
 *     POST /api/v1/invitation/accept {token} (signed in with the address)
 * Thin: the service is core/gh_orgs.
 */
#include <string.h>

#include "gh_accounts.h"
#include "gh_api.h"
#include "gh_bearer.h"
#include "gh_handlers.h"
#include "gh_org_meta.h"
#include "gh_orgs.h"
#include "gh_oauth.h"
#include "gh_scim.h"
#include "gh_session.h"
#include "gh_store_users.h"

static void answer(gh_req *r, gh_org_rc rc, const char *why)
{
    switch (rc) {
    case GH_ORG_INVALID:
        gh_resp_error(r, 400, "invalid_request", gh_arena_strdup(r->arena, why));
        break;
    case GH_ORG_EXISTS:
        gh_resp_error(r, 409, "conflict",
                      why && why[0] ? gh_arena_strdup(r->arena, why) : "already taken");
        break;
    case GH_ORG_NOTFOUND:
        gh_resp_error(r, 404, "not_found", "no such organisation, account or member");
        break;
    case GH_ORG_BUSY:
        if (!r->status)
            gh_resp_db_error(r, GH_DB_BUSY);
        break;
    default:
        gh_resp_error(r, 500, "server_error", "the organisation could not be changed");
    }
}

static void send_json(gh_req *r, unsigned status, json_t *doc)
{
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, status, doc, NULL);
}

static void send_members(gh_req *r, const char *org)
{
    gh_ctx x = gh_req_ctx(r);
    gh_org_rc rc;
    json_t *all = gh_orgs_members(&x, org, &rc);
    if (!all)
        return answer(r, rc, NULL);
    send_json(r, 200, json_pack("{s:o}", "members", all));
}

/* The roles of a body {"roles": [...]}; absent: none. */
static gh_org_rc put_member(gh_req *r, const char *org, const char *user_id, const char *actor)
{
    char why[160] = "";
    json_t *body = gh_api_body(r);
    if (!body)
        return GH_ORG_FAIL; /* answered */
    gh_ctx x = gh_req_ctx(r);
    gh_org_rc rc = gh_orgs_member_put(&x, org, user_id, json_object_get(body, "roles"), actor, why,
                                      sizeof(why));
    json_decref(body);
    if (rc != GH_ORG_OK)
        answer(r, rc, why);
    return rc;
}

/* ---- the operator ---- */

void gh_admin_orgs_list(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    json_t *all = gh_orgs_list(&x);
    if (!all)
        return answer(r, GH_ORG_BUSY, NULL);
    send_json(r, 200, json_pack("{s:o}", "organizations", all));
}

void gh_admin_orgs_create(gh_req *r)
{
    char why[200] = "";
    if (!gh_admin_authorised(r))
        return;
    json_t *doc = gh_scim_body(r);
    if (!doc)
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_org_rc rc = gh_orgs_create(&x, doc, "admin", why, sizeof(why));
    const char *id = json_string_value(json_object_get(doc, "id"));
    id = id ? gh_arena_strdup(r->arena, id) : NULL;
    json_decref(doc);
    if (rc != GH_ORG_OK)
        return answer(r, rc, why);
    json_t *v = gh_orgs_view(&x, id);
    if (!v)
        return answer(r, GH_ORG_BUSY, NULL);
    gh_resp_header(r, "Location",
                   gh_arena_printf(r->arena, "%s/admin/v1/organizations/%s", r->issuer, id));
    send_json(r, 201, v);
}

void gh_admin_orgs_get(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    json_t *v = gh_orgs_view(&x, r->params[0]);
    if (!v)
        return answer(r, gh_req_db_failed(r) ? GH_ORG_BUSY : GH_ORG_NOTFOUND, NULL);
    send_json(r, 200, v);
}

void gh_admin_orgs_update(gh_req *r)
{
    char why[200] = "";
    if (!gh_admin_authorised(r))
        return;
    json_t *doc = gh_scim_body(r);
    if (!doc)
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_org_rc rc = gh_orgs_update(&x, r->params[0], doc, "admin", why, sizeof(why));
    json_decref(doc);
    if (rc != GH_ORG_OK)
        return answer(r, rc, why);
    gh_admin_orgs_get(r);
}

void gh_admin_orgs_delete(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_org_rc rc = gh_orgs_delete(&x, r->params[0], "admin");
    if (rc != GH_ORG_OK)
        return answer(r, rc, NULL);
    gh_resp_empty(r, 204);
}

void gh_admin_orgs_members(gh_req *r)
{
    if (gh_admin_authorised(r))
        send_members(r, r->params[0]);
}

void gh_admin_orgs_member_put(gh_req *r)
{
    if (gh_admin_authorised(r) && put_member(r, r->params[0], r->params[1], "admin") == GH_ORG_OK)
        send_members(r, r->params[0]);
}

void gh_admin_orgs_member_delete(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_org_rc rc = gh_orgs_member_remove(&x, r->params[0], r->params[1], "admin");
    if (rc != GH_ORG_OK)
        return answer(r, rc, NULL);
    gh_resp_empty(r, 204);
}

/* The body {"email", "roles"?} invites email to org, as actor. */
static void invite(gh_req *r, const char *org, const char *actor)
{
    bool bad = false;
    char why[160] = "";
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    const char *email = gh_accounts_email_field(r, body, &bad);
    if (bad) {
        json_decref(body);
        return;
    }
    gh_ctx x = gh_req_ctx(r);
    json_t *out = NULL;
    gh_org_rc rc = gh_orgs_invite(&x, org, email, json_object_get(body, "roles"), actor, &out, why,
                                  sizeof(why));
    json_decref(body);
    if (rc != GH_ORG_OK)
        return answer(r, rc, why);
    r->mail_queued = true;
    send_json(r, 201, out);
}

void gh_admin_orgs_invite(gh_req *r)
{
    if (gh_admin_authorised(r))
        invite(r, r->params[0], "admin");
}

void gh_admin_orgs_invitations(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_org_rc rc;
    json_t *all = gh_orgs_invitations(&x, r->params[0], &rc);
    if (!all)
        return answer(r, rc, NULL);
    send_json(r, 200, json_pack("{s:o}", "invitations", all));
}

/* The token of a body {"token"}, or NULL with the answer sent. */
static const char *invitation_token(gh_req *r)
{
    bool bad = false;
    if (!gh_csrf_check(r))
        return NULL;
    json_t *body = gh_api_body(r);
    if (!body)
        return NULL;
    const char *token = gh_api_text(r, body, "token", 128, &bad);
    json_decref(body);
    if (!bad && !token)
        gh_resp_error(r, 400, "invalid_request", "send {\"token\": ...} from the invitation link");
    return bad ? NULL : token;
}

void gh_orgs_api_invitation(gh_req *r)
{
    const char *token = invitation_token(r);
    if (!token)
        return;
    gh_ctx x = gh_req_ctx(r);
    json_t *v = gh_orgs_invitation_peek(&x, token);
    if (!v)
        return gh_req_db_failed(r)
                   ? answer(r, GH_ORG_BUSY, NULL)
                   : gh_resp_error(r, 404, "not_found", "This invitation link is not valid.");
    send_json(r, 200, v);
}

void gh_orgs_api_invitation_accept(gh_req *r)
{
    char why[160] = "";
    const char *token = invitation_token(r);
    if (!token)
        return;
    const gh_session *s = gh_session_current(r);
    if (!s) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    gh_ctx x = gh_req_ctx(r);
    gh_org_rc rc = gh_orgs_invitation_accept(&x, token, s->user_id, why, sizeof(why));
    if (rc == GH_ORG_INVALID)
        return gh_resp_error(r, 409, "invitation_refused", gh_arena_strdup(r->arena, why));
    if (rc == GH_ORG_NOTFOUND)
        return gh_resp_error(r, 404, "not_found", "This invitation link is not valid.");
    if (rc != GH_ORG_OK)
        return answer(r, rc, NULL);
    json_t *v = gh_orgs_invitation_peek(&x, token);
    json_t *org = json_object_get(v, "organization");
    send_json(r, 200, json_pack("{s:s, s:O?}", "status", "joined", "organization", org));
    json_decref(v);
}

/* ---- members ---- */

void gh_orgs_api_mine(gh_req *r)
{
    const gh_session *s = gh_session_current(r);
    if (!s) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    gh_ctx x = gh_req_ctx(r);
    json_t *all = gh_orgs_of_user(&x, s->user_id);
    if (!all)
        return answer(r, GH_ORG_BUSY, NULL);
    send_json(r, 200, json_pack("{s:o}", "organizations", all));
}

/* The token's customer must be an administrator of the organisation in
 * the path: false with the answer sent (404 for a non-member too: an
 * outsider learns nothing of the organisation). */
static bool org_admin(gh_req *r, gh_bearer *t)
{
    if (!gh_bearer_customer(r, "org_admin", t))
        return false;
    gh_ctx x = gh_req_ctx(r);
    const char *roles = NULL;
    bool mfa = false;
    int m = gh_orgs_membership(&x, r->params[0], t->user_id, &roles, &mfa);
    if (m < 0) {
        answer(r, GH_ORG_BUSY, NULL);
        return false;
    }
    bool admin = m && gh_orgs_roles_include(roles, GH_ORG_ADMIN_ROLE);
    if (!m) {
        answer(r, GH_ORG_NOTFOUND, NULL);
        return false;
    }
    if (!admin) {
        gh_resp_error(r, 403, "forbidden", "only the organisation's administrators manage it");
        return false;
    }
    return true;
}

void gh_orgs_api_members(gh_req *r)
{
    gh_bearer t;
    if (org_admin(r, &t))
        send_members(r, r->params[0]);
}

/* Adds an account by its email, which must be in one of the
 * organisation's domains: an organisation's administrator can learn which
 * addresses of its own domains have an account here, and no other. */
void gh_orgs_api_member_add(gh_req *r)
{
    gh_bearer t;
    bool bad = false;
    char why[160] = "";
    if (!org_admin(r, &t))
        return;
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    /* normalised as at sign-up, so the lookup finds the stored address */
    const char *email = gh_accounts_email_field(r, body, &bad);
    gh_ctx x = gh_req_ctx(r);
    json_t *org = bad ? NULL : gh_orgs_view(&x, r->params[0]);
    const char *domain = email ? gh_org_email_domain(email) : NULL;
    bool held = false;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(org, "domains"), i, d) held =
        held || (domain && strcasecmp(json_string_value(d), domain) == 0);
    json_decref(org);
    if (bad) {
        json_decref(body);
        return;
    }
    if (!email || !held) {
        json_decref(body);
        return gh_resp_error(r, 403, "domain_not_held",
                             "an administrator adds accounts of the organisation's own domains");
    }
    gh_user u;
    gh_dbconn *c = gh_ctx_db(&x);
    gh_dbrc rc = c ? gh_store_user_by_email(c, r->arena, x.tenant, email, &u) : GH_DB_BUSY;
    if (rc != GH_DB_OK) {
        json_decref(body);
        return answer(r, rc == GH_DB_NOTFOUND ? GH_ORG_NOTFOUND : GH_ORG_BUSY, NULL);
    }
    gh_org_rc orc = gh_orgs_member_put(&x, r->params[0], u.id, json_object_get(body, "roles"),
                                       t.user_id, why, sizeof(why));
    json_decref(body);
    if (orc != GH_ORG_OK)
        return answer(r, orc, why);
    send_members(r, r->params[0]);
}

void gh_orgs_api_invite(gh_req *r)
{
    gh_bearer t;
    if (org_admin(r, &t))
        invite(r, r->params[0], t.user_id);
}

void gh_orgs_api_member_put(gh_req *r)
{
    gh_bearer t;
    if (org_admin(r, &t) && put_member(r, r->params[0], r->params[1], t.user_id) == GH_ORG_OK)
        send_members(r, r->params[0]);
}

void gh_orgs_api_member_delete(gh_req *r)
{
    gh_bearer t;
    if (!org_admin(r, &t))
        return;
    if (strcmp(r->params[1], t.user_id) == 0)
        return gh_resp_error(r, 409, "conflict",
                             "an administrator cannot remove themselves; another one can");
    gh_ctx x = gh_req_ctx(r);
    gh_org_rc rc = gh_orgs_member_remove(&x, r->params[0], r->params[1], t.user_id);
    if (rc != GH_ORG_OK)
        return answer(r, rc, NULL);
    gh_resp_empty(r, 204);
}
