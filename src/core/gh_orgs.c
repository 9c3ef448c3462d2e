#include "gh_orgs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit_ctx.h"
#include "gh_crypto.h"
#include "gh_json.h"
#include "gh_mail.h"
#include "gh_notices.h"
#include "gh_org_meta.h"
#include "gh_store_orgs.h"
#include "gh_store_users.h"
#include "gh_tenant_meta.h"

enum { ROLES_DEPTH = 2 };

static gh_org_rc from_db(gh_dbrc rc)
{
    switch (rc) {
    case GH_DB_OK:
        return GH_ORG_OK;
    case GH_DB_CONFLICT:
        return GH_ORG_EXISTS;
    case GH_DB_NOTFOUND:
        return GH_ORG_NOTFOUND;
    case GH_DB_BUSY:
        return GH_ORG_BUSY;
    default:
        return GH_ORG_FAIL;
    }
}

static json_t *roles_of(const char *text)
{
    json_t *doc = NULL;
    char why[64];
    if (!text ||
        gh_json_parse(text, strlen(text), ROLES_DEPTH, &doc, why, sizeof(why)) != GH_JSON_OK ||
        !json_is_array(doc)) {
        json_decref(doc);
        return json_array();
    }
    return doc;
}

bool gh_orgs_roles_include(const char *roles, const char *role)
{
    json_t *set = roles_of(roles);
    bool found = false;
    size_t i;
    json_t *v;
    json_array_foreach(set, i, v)
    {
        const char *name = json_string_value(v);
        found = found || (name && strcmp(name, role) == 0);
    }
    json_decref(set);
    return found;
}

static json_t *view_of(gh_dbconn *c, const gh_ctx *x, const gh_org_row *o)
{
    json_t *domains = gh_store_org_domains(c, x->arena, x->tenant, o->id);
    return json_pack("{s:s, s:s, s:b, s:o, s:I, s:I}", "id", o->id, "display_name", o->display_name,
                     "mfa_required", o->mfa_required, "domains", domains ? domains : json_array(),
                     "created_at", (json_int_t)o->created_at, "updated_at",
                     (json_int_t)o->updated_at);
}

json_t *gh_orgs_view(const gh_ctx *x, const char *id)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_org_row o;
    if (!c || !gh_org_id_valid(id) || gh_store_org_get(c, x->arena, x->tenant, id, &o) != GH_DB_OK)
        return NULL;
    return view_of(c, x, &o);
}

json_t *gh_orgs_list(const gh_ctx *x)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbres r;
    if (!c || gh_store_org_list(c, x->arena, x->tenant, &r) != GH_DB_OK)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < r.nrows; i++) {
        gh_org_row o = {.id = gh_dbres_get(&r, i, 0),
                        .display_name = gh_dbres_get(&r, i, 1),
                        .mfa_required = gh_dbres_int(&r, i, 2) != 0,
                        .created_at = gh_dbres_int(&r, i, 3),
                        .updated_at = gh_dbres_int(&r, i, 4)};
        json_array_append_new(arr, view_of(c, x, &o));
    }
    return arr;
}

static bool only_members(const json_t *doc, const char *const *known, size_t n, char *why,
                         size_t whylen)
{
    const char *key;
    json_t *v;
    if (!json_is_object(doc)) {
        snprintf(why, whylen, "the body must be a JSON object");
        return false;
    }
    json_object_foreach((json_t *)doc, key, v)
    {
        bool ok = false;
        for (size_t i = 0; i < n; i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok) {
            snprintf(why, whylen, "unknown member: %.64s", key);
            return false;
        }
    }
    return true;
}

/* display_name, mfa_required and domains of doc into o and *domains (new
 * reference or NULL when absent). */
static bool read_fields(const json_t *doc, gh_org_row *o, json_t **domains, char *why,
                        size_t whylen)
{
    const json_t *name = json_object_get(doc, "display_name");
    const json_t *mfa = json_object_get(doc, "mfa_required");
    const json_t *dom = json_object_get(doc, "domains");
    *domains = NULL;
    if (name && !gh_tenant_name_valid(json_string_value(name))) {
        snprintf(why, whylen, "display_name must be 1 to 100 bytes of text");
        return false;
    }
    if (mfa && !json_is_boolean(mfa)) {
        snprintf(why, whylen, "mfa_required must be true or false");
        return false;
    }
    if (dom && !(*domains = gh_org_domains_check(dom, why, whylen)))
        return false;
    if (name)
        o->display_name = json_string_value(name);
    if (mfa)
        o->mfa_required = json_is_true(mfa);
    return true;
}

gh_org_rc gh_orgs_create(const gh_ctx *x, const json_t *doc, const char *actor, char *why,
                         size_t whylen)
{
    static const char *const known[] = {"id", "display_name", "mfa_required", "domains"};
    gh_org_row o = {.created_at = x->now, .updated_at = x->now};
    json_t *domains = NULL;
    if (!only_members(doc, known, 4, why, whylen))
        return GH_ORG_INVALID;
    o.id = json_string_value(json_object_get(doc, "id"));
    if (!gh_org_id_valid(o.id)) {
        snprintf(why, whylen,
                 "id must be 1 to 63 of a-z, 0-9 and '-', not starting or ending "
                 "with '-'");
        return GH_ORG_INVALID;
    }
    if (!json_object_get(doc, "display_name")) {
        snprintf(why, whylen, "display_name is required");
        return GH_ORG_INVALID;
    }
    if (!read_fields(doc, &o, &domains, why, whylen))
        return GH_ORG_INVALID;
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbrc rc = c ? gh_db_begin(c) : GH_DB_BUSY;
    if (rc == GH_DB_OK) {
        gh_store_org_insert(c, x->arena, x->tenant, &o);
        if (domains)
            gh_store_org_domains_set(c, x->arena, x->tenant, o.id, domains, x->now);
        gh_audit_ctx_append(x, c, "organization.created", o.id, actor, NULL,
                            json_pack("{s:s, s:b, s:O?}", "display_name", o.display_name,
                                      "mfa_required", o.mfa_required, "domains", domains));
        rc = gh_db_commit(c);
    }
    json_decref(domains);
    if (rc == GH_DB_CONFLICT)
        snprintf(why, whylen, "the id, or one of the domains, is taken");
    return from_db(rc);
}

gh_org_rc gh_orgs_update(const gh_ctx *x, const char *id, const json_t *doc, const char *actor,
                         char *why, size_t whylen)
{
    static const char *const known[] = {"display_name", "mfa_required", "domains"};
    gh_org_row o;
    json_t *domains = NULL;
    if (!only_members(doc, known, 3, why, whylen))
        return GH_ORG_INVALID;
    gh_dbconn *c = gh_ctx_db(x);
    if (!c)
        return GH_ORG_BUSY;
    gh_dbrc rc =
        gh_org_id_valid(id) ? gh_store_org_get(c, x->arena, x->tenant, id, &o) : GH_DB_NOTFOUND;
    if (rc != GH_DB_OK)
        return from_db(rc);
    if (!read_fields(doc, &o, &domains, why, whylen))
        return GH_ORG_INVALID;
    o.updated_at = x->now;
    json_t *changed = json_array();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)doc, key, v) json_array_append_new(changed, json_string(key));
    rc = gh_db_begin(c);
    if (rc == GH_DB_OK) {
        gh_store_org_update(c, x->arena, x->tenant, &o);
        if (domains)
            gh_store_org_domains_set(c, x->arena, x->tenant, id, domains, x->now);
        gh_audit_ctx_append(x, c, "organization.updated", id, actor, NULL,
                            json_pack("{s:O}", "changed", changed));
        rc = gh_db_commit(c);
    }
    json_decref(changed);
    json_decref(domains);
    if (rc == GH_DB_CONFLICT)
        snprintf(why, whylen, "one of the domains is another organisation's");
    return from_db(rc);
}

gh_org_rc gh_orgs_delete(const gh_ctx *x, const char *id, const char *actor)
{
    gh_dbconn *c = gh_ctx_db(x);
    if (!c)
        return GH_ORG_BUSY;
    if (!gh_org_id_valid(id))
        return GH_ORG_NOTFOUND;
    gh_dbrc rc = gh_db_begin(c);
    if (rc != GH_DB_OK)
        return from_db(rc);
    gh_dbrc del = gh_store_org_delete(c, x->arena, x->tenant, id);
    if (del == GH_DB_OK)
        gh_audit_ctx_append(x, c, "organization.deleted", id, actor, NULL, NULL);
    rc = gh_db_commit(c);
    return from_db(del != GH_DB_OK ? del : rc);
}

json_t *gh_orgs_members(const gh_ctx *x, const char *org, gh_org_rc *rc)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_org_row o;
    gh_dbres r;
    *rc = GH_ORG_BUSY;
    if (!c)
        return NULL;
    gh_dbrc d =
        gh_org_id_valid(org) ? gh_store_org_get(c, x->arena, x->tenant, org, &o) : GH_DB_NOTFOUND;
    if (d == GH_DB_OK)
        d = gh_store_org_members(c, x->arena, x->tenant, org, &r);
    if ((*rc = from_db(d)) != GH_ORG_OK)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < r.nrows; i++)
        json_array_append_new(
            arr, json_pack("{s:s, s:s?, s:o, s:I}", "user_id", gh_dbres_get(&r, i, 0), "email",
                           gh_dbres_get(&r, i, 1), "roles", roles_of(gh_dbres_get(&r, i, 2)),
                           "created_at", (json_int_t)gh_dbres_int(&r, i, 3)));
    return arr;
}

gh_org_rc gh_orgs_member_put(const gh_ctx *x, const char *org, const char *user_id,
                             const json_t *roles, const char *actor, char *why, size_t whylen)
{
    json_t *set = roles ? gh_org_roles_check(roles, why, whylen) : json_array();
    if (!set)
        return GH_ORG_INVALID;
    char *text = json_dumps(set, JSON_COMPACT);
    gh_dbconn *c = gh_ctx_db(x);
    gh_org_row o;
    gh_user u;
    gh_dbrc rc = !text ? GH_DB_FAIL : !c ? GH_DB_BUSY : GH_DB_OK;
    if (rc == GH_DB_OK)
        rc = gh_org_id_valid(org) ? gh_store_org_get(c, x->arena, x->tenant, org, &o)
                                  : GH_DB_NOTFOUND;
    if (rc == GH_DB_OK)
        rc = gh_store_user_get(c, x->arena, x->tenant, user_id, &u);
    if (rc == GH_DB_OK)
        rc = gh_db_begin(c);
    if (rc == GH_DB_OK) {
        bool added = false;
        gh_store_org_member_put(c, x->arena, x->tenant, org, user_id, text, x->now, &added);
        gh_audit_ctx_append(
            x, c, added ? "organization.member_added" : "organization.member_updated", user_id,
            actor, NULL, json_pack("{s:s, s:O}", "organization", org, "roles", set));
        rc = gh_db_commit(c);
    }
    free(text);
    json_decref(set);
    return from_db(rc);
}

gh_org_rc gh_orgs_member_remove(const gh_ctx *x, const char *org, const char *user_id,
                                const char *actor)
{
    gh_dbconn *c = gh_ctx_db(x);
    if (!c)
        return GH_ORG_BUSY;
    if (!gh_org_id_valid(org))
        return GH_ORG_NOTFOUND;
    gh_dbrc rc = gh_db_begin(c);
    if (rc != GH_DB_OK)
        return from_db(rc);
    gh_dbrc del = gh_store_org_member_delete(c, x->arena, x->tenant, org, user_id);
    if (del == GH_DB_OK)
        gh_audit_ctx_append(x, c, "organization.member_removed", user_id, actor, NULL,
                            json_pack("{s:s}", "organization", org));
    rc = gh_db_commit(c);
    return from_db(del != GH_DB_OK ? del : rc);
}

json_t *gh_orgs_of_user(const gh_ctx *x, const char *user_id)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbres r;
    if (!c || gh_store_user_orgs(c, x->arena, x->tenant, user_id, &r) != GH_DB_OK)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < r.nrows; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "id", gh_dbres_get(&r, i, 0),
                                             "display_name", gh_dbres_get(&r, i, 1), "roles",
                                             roles_of(gh_dbres_get(&r, i, 2))));
    return arr;
}

int gh_orgs_membership(const gh_ctx *x, const char *org, const char *user_id, const char **roles,
                       bool *mfa_required)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_org_row o;
    if (!c)
        return -1;
    if (!gh_org_id_valid(org))
        return 0;
    gh_dbrc rc = gh_store_org_get(c, x->arena, x->tenant, org, &o);
    if (rc == GH_DB_OK)
        rc = gh_store_org_member_roles(c, x->arena, x->tenant, org, user_id, roles);
    if (rc == GH_DB_NOTFOUND)
        return 0;
    if (rc != GH_DB_OK)
        return -1;
    *mfa_required = o.mfa_required;
    return 1;
}

/* ---- invitations ---- */

gh_org_rc gh_orgs_invite(const gh_ctx *x, const char *org, const char *email, const json_t *roles,
                         const char *actor, json_t **out, char *why, size_t whylen)
{
    char hash[2 * GH_SHA256_BYTES + 1], id[GH_UUID_STRLEN + 1];
    gh_org_row o;
    *out = NULL;
    json_t *set = roles ? gh_org_roles_check(roles, why, whylen) : json_array();
    if (!set)
        return GH_ORG_INVALID;
    if (!email || !gh_store_email_valid(email)) {
        json_decref(set);
        snprintf(why, whylen, "email must be an email address");
        return GH_ORG_INVALID;
    }
    gh_dbconn *c = gh_ctx_db(x);
    char *roles_text = json_dumps(set, JSON_COMPACT);
    const char *token = gh_token(x->arena);
    gh_dbrc rc = !c ? GH_DB_BUSY : (!roles_text || !token) ? GH_DB_FAIL : GH_DB_OK;
    if (rc == GH_DB_OK)
        rc = gh_org_id_valid(org) ? gh_store_org_get(c, x->arena, x->tenant, org, &o)
                                  : GH_DB_NOTFOUND;
    gh_org_invitation inv = {.id = id,
                             .org_id = org,
                             .email = email,
                             .roles = roles_text,
                             .invited_by = actor,
                             .created_at = x->now,
                             .expires_at = x->now + (long long)GH_ORG_INVITATION_TTL_S * 1000};
    if (rc == GH_DB_OK) {
        gh_secret_hash(token, hash);
        gh_uuid(id);
        rc = gh_db_begin(c);
    }
    if (rc == GH_DB_OK) {
        gh_store_org_invitation_insert(c, x->arena, x->tenant, &inv, hash);
        json_t *p =
            json_pack("{s:s, s:s, s:s}", "organization", o.display_name, "link",
                      gh_arena_printf(x->arena, "%s/invitation#token=%s", gh_ctx_issuer(x), token),
                      "date", gh_notices_time(x->arena, inv.expires_at));
        gh_mail_enqueue(c, x->arena, x->cfg, x->tenant, email, "org_invitation", p);
        json_decref(p);
        gh_audit_ctx_append(
            x, c, "organization.invited", org, actor, NULL,
            json_pack("{s:s, s:s, s:O}", "invitation_id", id, "email", email, "roles", set));
        rc = gh_db_commit(c);
    }
    if (rc == GH_DB_OK)
        *out = json_pack("{s:s, s:s, s:O, s:I}", "id", id, "email", email, "roles", set,
                         "expires_at", (json_int_t)inv.expires_at);
    free(roles_text);
    json_decref(set);
    return from_db(rc);
}

json_t *gh_orgs_invitations(const gh_ctx *x, const char *org, gh_org_rc *rc)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_org_row o;
    gh_dbres r;
    *rc = GH_ORG_BUSY;
    if (!c)
        return NULL;
    gh_dbrc d =
        gh_org_id_valid(org) ? gh_store_org_get(c, x->arena, x->tenant, org, &o) : GH_DB_NOTFOUND;
    if (d == GH_DB_OK)
        d = gh_store_org_invitations(c, x->arena, x->tenant, org, &r);
    if ((*rc = from_db(d)) != GH_ORG_OK)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < r.nrows; i++) {
        long long acc = gh_dbres_int(&r, i, 6);
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:o, s:s, s:I, s:I, s:o}", "id", gh_dbres_get(&r, i, 0),
                           "email", gh_dbres_get(&r, i, 1), "roles",
                           roles_of(gh_dbres_get(&r, i, 2)), "invited_by", gh_dbres_get(&r, i, 3),
                           "created_at", (json_int_t)gh_dbres_int(&r, i, 4), "expires_at",
                           (json_int_t)gh_dbres_int(&r, i, 5), "accepted_at",
                           acc ? json_integer(acc) : json_null()));
    }
    return arr;
}

/* The invitation of token (and its organisation), or NOTFOUND. */
static gh_dbrc invitation_of(const gh_ctx *x, gh_dbconn *c, const char *token,
                             gh_org_invitation *inv, gh_org_row *o)
{
    char hash[2 * GH_SHA256_BYTES + 1];
    if (!token || strlen(token) < 16 || strlen(token) > 128)
        return GH_DB_NOTFOUND;
    gh_secret_hash(token, hash);
    gh_dbrc rc = gh_store_org_invitation_by_token(c, x->arena, x->tenant, hash, inv);
    if (rc == GH_DB_OK)
        rc = gh_store_org_get(c, x->arena, x->tenant, inv->org_id, o);
    return rc;
}

json_t *gh_orgs_invitation_peek(const gh_ctx *x, const char *token)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_org_invitation inv;
    gh_org_row o;
    if (!c || invitation_of(x, c, token, &inv, &o) != GH_DB_OK)
        return NULL;
    const char *status = inv.accepted_at            ? "accepted"
                         : x->now >= inv.expires_at ? "expired"
                                                    : "pending";
    return json_pack("{s:s, s:s, s:s, s:I}", "organization", o.display_name, "email", inv.email,
                     "status", status, "expires_at", (json_int_t)inv.expires_at);
}

/* roles_text's roles added to those of the existing membership (text). */
static json_t *merged_roles(const char *have, const char *add)
{
    json_t *a = roles_of(have), *b = roles_of(add);
    json_array_extend(a, b);
    json_decref(b);
    char why[64];
    json_t *set = gh_org_roles_check(a, why, sizeof(why));
    json_decref(a);
    return set ? set : roles_of(add);
}

gh_org_rc gh_orgs_invitation_accept(const gh_ctx *x, const char *token, const char *user_id,
                                    char *why, size_t whylen)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_org_invitation inv;
    gh_org_row o;
    gh_user u;
    if (!c)
        return GH_ORG_BUSY;
    gh_dbrc rc = invitation_of(x, c, token, &inv, &o);
    if (rc == GH_DB_OK)
        rc = gh_store_user_get(c, x->arena, x->tenant, user_id, &u);
    if (rc != GH_DB_OK)
        return from_db(rc);
    const char *refusal = inv.accepted_at            ? "the invitation was already accepted"
                          : x->now >= inv.expires_at ? "the invitation has expired"
                          : !u.email || strcmp(u.email, inv.email) != 0
                              ? "the invitation is for another email address: sign in with it"
                          : !u.email_verified ? "verify your email address first"
                                              : NULL;
    if (refusal) {
        snprintf(why, whylen, "%s", refusal);
        return GH_ORG_INVALID;
    }
    const char *have = NULL;
    gh_dbrc m = gh_store_org_member_roles(c, x->arena, x->tenant, inv.org_id, user_id, &have);
    if (m != GH_DB_OK && m != GH_DB_NOTFOUND)
        return from_db(m);
    json_t *set = merged_roles(m == GH_DB_OK ? have : "[]", inv.roles);
    char *text = json_dumps(set, JSON_COMPACT);
    rc = text ? gh_db_begin(c) : GH_DB_FAIL;
    if (rc == GH_DB_OK) {
        bool added = false;
        rc = gh_store_org_invitation_accept(c, x->arena, x->tenant, inv.id, user_id, x->now);
        if (rc == GH_DB_OK)
            gh_store_org_member_put(c, x->arena, x->tenant, inv.org_id, user_id, text, x->now,
                                    &added);
        if (rc == GH_DB_OK)
            gh_audit_ctx_append(x, c, "organization.invitation_accepted", user_id, user_id, NULL,
                                json_pack("{s:s, s:s, s:O}", "organization", inv.org_id,
                                          "invitation_id", inv.id, "roles", set));
        rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    }
    free(text);
    json_decref(set);
    if (rc == GH_DB_CONFLICT) {
        snprintf(why, whylen, "the invitation was already accepted");
        return GH_ORG_INVALID;
    }
    return from_db(rc);
}
