#include "gh_profiling.h"

#include <stdlib.h>
#include <string.h>

#include "gh_attr_schema.h"
#include "gh_audit_ctx.h"
#include "gh_oauth.h"
#include "gh_resources.h"
#include "gh_store_profile_attrs.h"
#include "gh_store_users.h"

json_t *gh_profiling_attrs(const gh_ctx *x, gh_dbrc *rc)
{
    return gh_store_profile_attrs_all(gh_ctx_db(x), x->arena, x->tenant, rc);
}

const json_t *gh_profiling_find(const json_t *schema, const char *name)
{
    size_t i;
    const json_t *d;
    json_array_foreach(schema, i, d)
    {
        const char *n = json_string_value(json_object_get(d, "name"));
        if (name && n && strcmp(n, name) == 0)
            return d;
    }
    return NULL;
}

/* ---- the schema ---- */

static gh_dbrc audit(const gh_ctx *x, const char *actor, const char *type, const char *subject,
                     json_t *details)
{
    return gh_audit_ctx_append(x, gh_ctx_db(x), type, subject, actor, NULL, details);
}

/* Every scope the definition names is one the server knows (an OIDC scope
 * or a registered resource's): an attribute cannot hang on a scope no
 * client can ask for. */
static bool scopes_known(const gh_ctx *x, const json_t *d, char *why, size_t whylen)
{
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(d, "scopes"), i, s)
    {
        const char *t = json_string_value(s);
        if (!gh_resources_scope_known(x, t)) {
            snprintf(why, whylen,
                     "scopes: %.128s is not a scope here; register it first (a resource's "
                     "scope: gatehouse resource create ... --scope %.128s=WORDS)",
                     t, t);
            return false;
        }
    }
    return true;
}

gh_dbrc gh_profiling_attr_save(const gh_ctx *x, const char *actor, const json_t *in, bool replace,
                               json_t **out, char *why, size_t whylen)
{
    *out = NULL;
    json_t *d = gh_attr_def_validate(in, why, whylen);
    if (!d)
        return GH_DB_INVALID;
    if (!scopes_known(x, d, why, whylen)) {
        json_decref(d);
        return GH_DB_INVALID;
    }
    gh_dbconn *c = gh_ctx_db(x);
    char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    const char *name = json_string_value(json_object_get(d, "name"));
    gh_dbrc rc = !c ? GH_DB_BUSY : !text ? GH_DB_FAIL : gh_db_begin(c);
    bool began = rc == GH_DB_OK;
    json_t *all = rc == GH_DB_OK ? gh_store_profile_attrs_all(c, x->arena, x->tenant, &rc) : NULL;
    if (rc == GH_DB_OK && !replace && gh_profiling_find(all, name)) {
        snprintf(why, whylen, "an attribute named %s exists", name);
        rc = GH_DB_CONFLICT;
    } else if (rc == GH_DB_OK && json_array_size(all) >= GH_ATTR_PER_TENANT_MAX &&
               !gh_profiling_find(all, name)) {
        snprintf(why, whylen, "a tenant has at most %d attributes", GH_ATTR_PER_TENANT_MAX);
        rc = GH_DB_INVALID;
    }
    if (rc == GH_DB_OK)
        rc = gh_store_profile_attr_put(c, x->arena, x->tenant, name, text, x->now, replace);
    if (rc == GH_DB_OK)
        rc =
            audit(x, actor, replace ? "profile.attribute_saved" : "profile.attribute_created", name,
                  json_pack("{s:s, s:O}", "name", name, "scopes", json_object_get(d, "scopes")));
    if (began && rc == GH_DB_OK)
        rc = gh_db_commit(c);
    else if (began)
        gh_db_rollback(c);
    free(text);
    json_decref(all);
    if (rc == GH_DB_OK) {
        json_object_set_new(d, "updated_at", json_integer(x->now));
        *out = d;
    } else {
        json_decref(d);
    }
    return rc;
}

gh_dbrc gh_profiling_attr_delete(const gh_ctx *x, const char *actor, const char *name)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbrc rc = c ? gh_db_begin(c) : GH_DB_BUSY;
    if (rc != GH_DB_OK)
        return rc;
    rc = gh_store_profile_attr_delete(c, x->arena, x->tenant, name);
    if (rc == GH_DB_OK)
        rc = audit(x, actor, "profile.attribute_deleted", name, json_pack("{s:s}", "name", name));
    if (rc == GH_DB_OK)
        return gh_db_commit(c);
    gh_db_rollback(c);
    return rc;
}

/* ---- a customer's values ---- */

static json_t *profile_object(const char *profile)
{
    json_t *p = profile ? json_loads(profile, 0, NULL) : NULL;
    if (json_is_object(p))
        return p;
    json_decref(p);
    return json_object();
}

json_t *gh_profiling_values(const char *profile)
{
    json_t *p = profile_object(profile);
    json_t *v = json_object_get(p, "attributes");
    json_t *out = json_is_object(v) ? json_deep_copy(v) : json_object();
    json_decref(p);
    return out;
}

static bool listed(const json_t *a, const char *s)
{
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

json_t *gh_profiling_missing(const json_t *schema, const char *profile, const char *scope,
                             const char *client_id)
{
    json_t *p = profile_object(profile);
    json_t *values = json_object_get(p, "attributes");
    json_t *skipped = json_object_get(p, "attributes_skipped");
    json_t *out = json_array();
    size_t i;
    const json_t *d;
    json_array_foreach(schema, i, d)
    {
        const char *name = json_string_value(json_object_get(d, "name"));
        bool required = json_is_true(json_object_get(d, "required"));
        if (!gh_attr_needed(d, scope, client_id) || json_object_get(values, name) ||
            (!required && listed(skipped, name)))
            continue;
        json_array_append_new(out, json_deep_copy(d));
    }
    json_decref(p);
    return out;
}

void gh_profiling_claims(const json_t *schema, const char *profile, const char *scope,
                         const char *client_id, json_t *claims)
{
    json_t *p = profile_object(profile);
    json_t *values = json_object_get(p, "attributes");
    size_t i;
    const json_t *d;
    json_array_foreach(schema, i, d)
    {
        const char *name = json_string_value(json_object_get(d, "name"));
        json_t *v = json_object_get(values, name);
        if (v && gh_attr_released(d, scope, client_id))
            json_object_set_new(claims, name, gh_attr_claim_value(d, v));
    }
    json_decref(p);
}

/* Applies values and skip to the profile object p; false with why. names
 * collects the attributes written (for the audit event). */
static bool apply(const json_t *schema, json_t *p, const json_t *values, const json_t *skip,
                  json_t *names, char *why, size_t whylen)
{
    json_t *attrs = json_object_get(p, "attributes");
    if (!json_is_object(attrs))
        json_object_set_new(p, "attributes", attrs = json_object());
    json_t *skipped = json_object_get(p, "attributes_skipped");
    if (!json_is_array(skipped))
        json_object_set_new(p, "attributes_skipped", skipped = json_array());
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)values, k, v)
    {
        const json_t *d = gh_profiling_find(schema, k);
        if (!d)
            return snprintf(why, whylen, "%.40s is not an attribute here.", k), false;
        if (json_is_null(v)) {
            json_object_del(attrs, k);
        } else {
            json_t *ok = gh_attr_value_validate(d, v, why, whylen);
            if (!ok)
                return false;
            json_object_set_new(attrs, k, ok);
        }
        json_array_append_new(names, json_string(k));
    }
    size_t i;
    json_array_foreach((json_t *)skip, i, v)
    {
        const json_t *d = gh_profiling_find(schema, json_string_value(v));
        if (!d)
            return snprintf(why, whylen, "skip: not an attribute here."), false;
        if (json_is_true(json_object_get(d, "required")))
            return snprintf(why, whylen, "%s is required: it cannot be skipped.",
                            json_string_value(json_object_get(d, "display_name"))),
                   false;
        if (!listed(skipped, json_string_value(v)))
            json_array_append(skipped, v);
    }
    if (json_array_size(skipped) == 0)
        json_object_del(p, "attributes_skipped");
    if (json_object_size(attrs) == 0)
        json_object_del(p, "attributes");
    return true;
}

gh_dbrc gh_profiling_save_values(const gh_ctx *x, const char *actor, const char *user_id,
                                 const json_t *values, const json_t *skip, char *why, size_t whylen)
{
    gh_user u = {0};
    gh_dbrc rc;
    if (!json_is_object(values) || (skip && !json_is_array(skip))) {
        snprintf(why, whylen, "Send values as an object and skip as a list of names.");
        return GH_DB_INVALID;
    }
    json_t *schema = gh_profiling_attrs(x, &rc);
    if (!schema)
        return rc;
    gh_dbconn *c = gh_ctx_db(x);
    rc = c ? gh_store_user_get(c, x->arena, x->tenant, user_id, &u) : GH_DB_BUSY;
    json_t *p = rc == GH_DB_OK ? profile_object(u.profile) : NULL;
    json_t *names = json_array();
    if (rc == GH_DB_OK && !apply(schema, p, values, skip, names, why, whylen))
        rc = GH_DB_INVALID;
    char *text = rc == GH_DB_OK ? json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    long long version = u.version;
    if (rc == GH_DB_OK && !text)
        rc = GH_DB_FAIL;
    if (rc == GH_DB_OK) {
        u.profile = gh_arena_strdup(x->arena, text);
        u.updated_at = x->now;
        rc = gh_db_begin(c);
        if (rc == GH_DB_OK)
            rc = gh_store_user_update(c, x->arena, &u, version);
        if (rc == GH_DB_OK)
            rc = audit(x, actor, "profile.attributes_updated", user_id,
                       json_pack("{s:O, s:O?}", "names", names, "skipped", skip));
        rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    }
    free(text);
    json_decref(names);
    json_decref(p);
    json_decref(schema);
    return rc;
}
