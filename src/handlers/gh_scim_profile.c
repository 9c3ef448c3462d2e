/*
 * The profile schema in SCIM (progressive profiling, docs/privacy.md): the
 * tenant's attributes as the schema extension GH_SCIM_PROFILE_URN of the
 * User resource (RFC 7643 3.3), listed in /Schemas and /ResourceTypes; a
 * user's values under that URN; PUT and PATCH validated by the schema
 * (proto/gh_attr_schema), like the hosted pages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gh_attr_schema.h"
#include "gh_handlers.h"
#include "gh_profiling.h"
#include "gh_scim.h"

/* The SCIM type of an attribute type. */
static const char *scim_type(const char *t)
{
    if (strcmp(t, "boolean") == 0)
        return "boolean";
    if (strcmp(t, "number") == 0)
        return "decimal";
    if (strcmp(t, "date") == 0)
        return "string"; /* a full-date, not a dateTime */
    return "string";
}

json_t *gh_scim_profile_schema(gh_req *r)
{
    gh_ctx x = gh_req_ctx(r);
    json_t *schema = gh_profiling_attrs(&x, NULL);
    json_t *attrs = json_array();
    size_t i;
    json_t *d;
    json_array_foreach(schema, i, d)
    {
        json_t *a = json_pack("{s:s, s:s, s:b, s:b, s:b, s:s, s:s, s:s, s:s}", "name",
                              json_string_value(json_object_get(d, "name")), "type",
                              scim_type(json_string_value(json_object_get(d, "type"))),
                              "multiValued", 0, "required", 0, "caseExact", 1, "mutability",
                              "readWrite", "returned", "default", "uniqueness", "none",
                              "description", json_string_value(json_object_get(d, "display_name")));
        json_t *values = json_object_get(d, "values");
        if (values)
            json_object_set(a, "canonicalValues", values);
        json_array_append_new(attrs, a);
    }
    json_decref(schema);
    return json_pack(
        "{s:[s], s:s, s:s, s:s, s:o, s:{s:s, s:s}}", "schemas",
        "urn:ietf:params:scim:schemas:core:2.0:Schema", "id", GH_SCIM_PROFILE_URN, "name",
        "GatehouseProfile", "description",
        "The operator's profile attributes (progressive profiling)", "attributes", attrs, "meta",
        "resourceType", "Schema", "location",
        gh_arena_printf(r->arena, "%s/scim/v2/Schemas/%s", r->issuer, GH_SCIM_PROFILE_URN));
}

json_t *gh_scim_profile_values(const char *profile)
{
    json_t *v = gh_profiling_values(profile);
    if (json_object_size(v) > 0)
        return v;
    json_decref(v);
    return NULL;
}

/* Sets (v) or removes (v NULL or null) one value in attrs; false with why. */
static bool set_one(const json_t *schema, json_t *attrs, const char *name, json_t *v, char *why,
                    size_t whylen)
{
    const json_t *d = gh_profiling_find(schema, name);
    if (!d) {
        snprintf(why, whylen, "%.40s is not a profile attribute here", name);
        return false;
    }
    if (!v || json_is_null(v))
        return json_object_del(attrs, name), true;
    json_t *ok = gh_attr_value_validate(d, v, why, whylen);
    if (!ok)
        return false;
    json_object_set_new(attrs, name, ok);
    return true;
}

bool gh_scim_profile_set(gh_req *r, const char **profile, const char *path, json_t *v, bool replace,
                         const char **why_out)
{
    char why[300] = "";
    gh_ctx x = gh_req_ctx(r);
    gh_dbrc rc;
    json_t *schema = gh_profiling_attrs(&x, &rc);
    json_t *p = *profile ? json_loads(*profile, 0, NULL) : NULL;
    if (!json_is_object(p)) {
        json_decref(p);
        p = json_object();
    }
    json_t *attrs = json_object_get(p, "attributes");
    if (!json_is_object(attrs) || (replace && strcasecmp(path, GH_SCIM_PROFILE_URN) == 0))
        json_object_set_new(p, "attributes", attrs = json_object());
    bool ok = schema != NULL;
    if (!ok)
        snprintf(why, sizeof(why), "the profile schema cannot be read now");
    if (ok && strcasecmp(path, GH_SCIM_PROFILE_URN) == 0) {
        const char *k;
        json_t *e;
        if (v && !json_is_object(v) && !json_is_null(v)) {
            snprintf(why, sizeof(why), GH_SCIM_PROFILE_URN " must be an object");
            ok = false;
        }
        if (ok && (!v || json_is_null(v)))
            json_object_clear(attrs);
        json_object_foreach(json_is_object(v) ? v : NULL, k, e)
        {
            ok = ok && set_one(schema, attrs, k, e, why, sizeof(why));
        }
    } else if (ok) {
        ok = set_one(schema, attrs, path + strlen(GH_SCIM_PROFILE_URN ":"), v, why, sizeof(why));
    }
    if (json_object_size(attrs) == 0)
        json_object_del(p, "attributes");
    char *text = ok ? json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (text)
        *profile = gh_arena_strdup(r->arena, text);
    free(text);
    json_decref(p);
    json_decref(schema);
    if (!ok)
        *why_out = gh_arena_strdup(r->arena, why);
    return ok;
}
