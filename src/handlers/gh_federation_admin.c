/*
 * gh_federation_admin: the admin API of upstream identity providers,
 * /admin/v1/identity-providers (GATEHOUSE_ADMIN_TOKEN; docs/federation.md).
 * What a provider document may hold is gh_federation_save's (core).
 */
#include <sodium.h>
#include <string.h>

#include "gh_api.h"
#include "gh_federation.h"
#include "gh_handlers.h"
#include "gh_scim.h"

static void admin_error(gh_req *r, gh_dbrc rc, const char *why)
{
    if (rc == GH_DB_NOTFOUND)
        gh_resp_error(r, 404, "not_found", "no such identity provider");
    else if (rc == GH_DB_CONFLICT)
        gh_resp_error(r, 409, "conflict", gh_arena_strdup(r->arena, why));
    else if (rc == GH_DB_INVALID)
        gh_resp_error(r, 400, "invalid_request", gh_arena_strdup(r->arena, why));
    else if (!r->status)
        gh_resp_db_error(r, rc);
}

void gh_admin_idp_list(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_dbconn *c = gh_req_db(r);
    gh_fed_provider_row *all = NULL;
    size_t n = 0;
    gh_dbrc rc = c ? gh_store_fed_providers(c, r->arena, r->tenant, &all, &n) : GH_DB_BUSY;
    if (rc != GH_DB_OK)
        return admin_error(r, rc, "");
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, gh_federation_view(&all[i]));
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, json_pack("{s:o}", "identity_providers", list), NULL);
}

/* The provider the path names, for the admin token; false with the answer
 * sent otherwise. */
static bool stored(gh_req *r, gh_fed_provider_row *p)
{
    if (!gh_admin_authorised(r))
        return false;
    gh_dbconn *c = gh_req_db(r);
    gh_dbrc rc = c && r->nparams
                     ? gh_store_fed_provider_get(c, r->arena, r->tenant, r->params[0], p)
                     : GH_DB_NOTFOUND;
    if (rc != GH_DB_OK)
        admin_error(r, rc, "");
    return rc == GH_DB_OK;
}

void gh_admin_idp_get(gh_req *r)
{
    gh_fed_provider_row p;
    if (!stored(r, &p))
        return;
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, gh_federation_view(&p), NULL);
}

/* Saves document doc (taken) as provider id (NULL: a new one). */
static void save_doc(gh_req *r, const char *id, json_t *doc)
{
    char why[256] = "";
    gh_ctx x = gh_req_ctx(r);
    json_t *out = NULL;
    gh_dbrc rc = gh_federation_save(&x, id, doc, &out, why, sizeof(why));
    /* the body held the client secret */
    json_t *secret = json_object_get(doc, "client_secret");
    if (json_is_string(secret))
        sodium_memzero((char *)json_string_value(secret), json_string_length(secret));
    json_decref(doc);
    if (rc != GH_DB_OK)
        return admin_error(r, rc, why);
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, id ? 200 : 201, out, NULL);
}

static void admin_save(gh_req *r, const char *id)
{
    if (!gh_admin_authorised(r))
        return;
    json_t *in = gh_scim_body(r);
    if (in)
        save_doc(r, id, in);
}

void gh_admin_idp_create(gh_req *r)
{
    admin_save(r, NULL);
}

void gh_admin_idp_update(gh_req *r)
{
    if (r->nparams < 1)
        return admin_error(r, GH_DB_NOTFOUND, "");
    admin_save(r, r->params[0]);
}

/* PATCH: the members given, over the stored document ("org_id": null
 * detaches the provider from its organisation); the secret is kept unless
 * one is given, as with PUT. */
void gh_admin_idp_patch(gh_req *r)
{
    gh_fed_provider_row p;
    if (!stored(r, &p))
        return;
    json_t *in = gh_scim_body(r);
    if (!in)
        return;
    json_t *doc = gh_federation_view(&p);
    static const char *const derived[] = {"id", "has_client_secret", "created_at", "updated_at"};
    for (size_t i = 0; i < sizeof(derived) / sizeof(derived[0]); i++)
        json_object_del(doc, derived[i]);
    if (json_is_null(json_object_get(doc, "issuer"))) /* github's */
        json_object_del(doc, "issuer");
    if (!doc || json_object_update(doc, in) != 0) {
        json_t *secret = json_object_get(in, "client_secret");
        if (json_is_string(secret))
            sodium_memzero((char *)json_string_value(secret), json_string_length(secret));
        json_decref(in);
        json_decref(doc);
        return admin_error(r, GH_DB_FAIL, "");
    }
    json_decref(in); /* doc holds its members, the secret among them */
    save_doc(r, r->params[0], doc);
}

void gh_admin_idp_delete(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = r->nparams ? gh_federation_delete(&x, r->params[0]) : GH_DB_NOTFOUND;
    if (rc != GH_DB_OK)
        return admin_error(r, rc, "");
    gh_resp_empty(r, 204);
}
