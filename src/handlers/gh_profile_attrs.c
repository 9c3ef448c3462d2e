#include "gh_profile_attrs.h"

#include <string.h>

#include "gh_accounts.h"
#include "gh_api.h"
#include "gh_clients.h"
#include "gh_handlers.h"
#include "gh_oauth.h"
#include "gh_profiling.h"
#include "gh_session.h"
#include "gh_store_users.h"

int gh_profile_attrs_pending(gh_req *r, const char *client_id, const char *scope,
                             const char *user_id)
{
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc;
    gh_user u;
    json_t *schema = gh_profiling_attrs(&x, &rc);
    if (schema && json_array_size(schema) == 0) {
        json_decref(schema);
        return 0; /* no schema: nothing to ask, nothing more to read */
    }
    if (schema)
        rc = gh_store_user_get(gh_ctx_db(&x), r->arena, r->tenant, user_id, &u);
    if (rc != GH_DB_OK) {
        json_decref(schema);
        if (!r->status)
            gh_resp_db_error(r, rc);
        return -1;
    }
    json_t *missing = gh_profiling_missing(schema, u.profile, scope, client_id);
    int n = (int)json_array_size(missing);
    json_decref(missing);
    json_decref(schema);
    return n;
}

bool gh_profile_attrs_claims(gh_req *r, const char *profile, const char *scope,
                             const char *client_id, json_t *claims)
{
    gh_ctx x = gh_req_ctx(r);
    json_t *schema = gh_profiling_attrs(&x, NULL);
    if (!schema)
        return false;
    gh_profiling_claims(schema, profile, scope, client_id, claims);
    json_decref(schema);
    return true;
}

/* An attribute as the customer's pages see it: what to ask and how, not
 * which scopes or clients it is for. */
static json_t *public_view(const json_t *d, const json_t *values, const json_t *reasons)
{
    static const char *const keys[] = {"name",       "display_name", "type",        "required",
                                       "min_length", "max_length",   "pattern",     "min",
                                       "max",        "values",       "sensitivity", NULL};
    json_t *o = json_object();
    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(d, keys[i]);
        if (v)
            json_object_set(o, keys[i], v);
    }
    const char *name = json_string_value(json_object_get(d, "name"));
    json_t *v = json_object_get(values, name);
    if (v)
        json_object_set(o, "value", v);
    json_t *why = json_object_get(reasons, name);
    if (json_is_string(why))
        json_object_set(o, "reason", why);
    return o;
}

/* GET /api/v1/profile/attributes: every attribute of the schema with the
 * customer's value (the account page). With client_id and scope: only the
 * ones that authorization still needs, with the application's reasons (the
 * profile page). */
void gh_profile_attrs_get(gh_req *r)
{
    gh_user u;
    gh_client cl;
    const gh_form *q = gh_req_query(r);
    if (!q || r->status || !gh_accounts_signed_in_user(r, &u))
        return;
    const char *client_id = gh_form_get(q, "client_id");
    const char *scope = gh_scope_normalise(r->arena, gh_form_get(q, "scope"));
    bool for_app = client_id != NULL;
    if (for_app &&
        (!scope || gh_clients_get(gh_req_db(r), r->arena, r->tenant, client_id, &cl) != GH_DB_OK))
        return gh_resp_error(r, 400, "invalid_request", "Unknown application or scope.");
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc;
    json_t *schema = gh_profiling_attrs(&x, &rc);
    if (!schema) {
        if (for_app)
            gh_client_release(&cl);
        return gh_resp_db_error(r, rc);
    }
    json_t *list =
        for_app ? gh_profiling_missing(schema, u.profile, scope, client_id) : json_incref(schema);
    json_t *values = gh_profiling_values(u.profile);
    json_t *reasons = for_app ? json_object_get(cl.metadata, "attribute_reasons") : NULL;
    json_t *out = json_array();
    size_t i;
    json_t *d;
    json_array_foreach(list, i, d)
    {
        json_array_append_new(out, public_view(d, values, reasons));
    }
    json_t *body = json_pack("{s:o}", "attributes", out);
    if (for_app) {
        json_t *name = json_object_get(cl.metadata, "client_name");
        json_object_set_new(body, "client_id", json_string(client_id));
        json_object_set_new(
            body, "client_name",
            json_string(json_is_string(name) ? json_string_value(name) : client_id));
        gh_client_release(&cl);
    }
    json_decref(values);
    json_decref(list);
    json_decref(schema);
    gh_resp_header(r, "Cache-Control", "no-store");
    gh_resp_json(r, 200, body, NULL);
}

/* PATCH /api/v1/profile/attributes {values: {name: value or null},
 * skip: [names]}: the customer gives (or removes) values, or says "not now"
 * to optional ones. 400 names the field; the values never reach a log. */
void gh_profile_attrs_update(gh_req *r)
{
    char why[300] = "";
    const gh_session *s = gh_session_current(r);
    if (!gh_csrf_check(r))
        return;
    if (!s) {
        if (!r->status)
            gh_resp_error(r, 401, "unauthenticated", "Sign in first.");
        return;
    }
    json_t *body = gh_api_body(r);
    if (!body)
        return;
    json_t *values = json_object_get(body, "values");
    json_t *none = values ? NULL : json_object(); /* only skips sent */
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc = gh_profiling_save_values(&x, s->user_id, s->user_id, values ? values : none,
                                          json_object_get(body, "skip"), why, sizeof(why));
    json_decref(none);
    json_decref(body);
    if (rc == GH_DB_INVALID)
        return gh_resp_error(r, 400, "invalid_request", gh_arena_strdup(r->arena, why));
    if (rc == GH_DB_PRECONDITION)
        return gh_resp_error(r, 409, "conflict", "Your profile changed meanwhile. Try again.");
    if (rc != GH_DB_OK)
        return gh_resp_db_error(r, rc);
    gh_user u;
    if (gh_accounts_signed_in_user(r, &u))
        gh_resp_json(r, 200, json_pack("{s:o}", "values", gh_profiling_values(u.profile)), NULL);
}
