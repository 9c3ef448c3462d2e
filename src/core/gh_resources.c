#include "gh_resources.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit_ctx.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_oauth.h"
#include "gh_store_resources.h"
#include "gh_store_users.h"

enum { CACHE_MS = 1000 }; /* the longest a snapshot is used */

static json_t *find_in(json_t *all, const char *member, const char *value)
{
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        const char *s = json_string_value(json_object_get(o, member));
        if (s && strcmp(s, value) == 0)
            return o;
    }
    return NULL;
}

/* The resource (borrowed from all) owning scope token t, or NULL. */
static json_t *owner_of(json_t *all, const char *t)
{
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        if (json_object_get(json_object_get(o, "scopes"), t))
            return o;
    }
    return NULL;
}

/* ---- the per-process snapshot ---- */

/* One snapshot per tenant, in a small set of slots chosen by the tenant's
 * id: tenants that share a slot take turns, costing a read each. */
enum { CACHE_SLOTS = 64 };

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cache_slot {
    char tenant[64];
    json_t *all;
    long long at;
} cache[CACHE_SLOTS];

static struct cache_slot *slot_of(const char *tenant)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = tenant; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return &cache[h % CACHE_SLOTS];
}

static void cache_drop(void)
{
    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        json_decref(cache[i].all);
        cache[i].all = NULL;
    }
    pthread_mutex_unlock(&cache_mu);
}

/* New reference to x's tenant's snapshot, loading it when older than
 * CACHE_MS. */
static json_t *snapshot(const gh_ctx *x)
{
    long long now = gh_now_ms();
    struct cache_slot *c = slot_of(x->tenant);
    bool cacheable = strlen(x->tenant) < sizeof(c->tenant);
    pthread_mutex_lock(&cache_mu);
    if (c->all && now - c->at < CACHE_MS && strcmp(c->tenant, x->tenant) == 0) {
        json_t *s = json_incref(c->all);
        pthread_mutex_unlock(&cache_mu);
        return s;
    }
    pthread_mutex_unlock(&cache_mu);
    json_t *all = gh_store_resources_all(gh_ctx_db(x), x->arena, x->tenant, NULL);
    if (!all || !cacheable)
        return all;
    pthread_mutex_lock(&cache_mu);
    json_decref(c->all);
    c->all = json_incref(all);
    c->at = now;
    snprintf(c->tenant, sizeof(c->tenant), "%s", x->tenant);
    pthread_mutex_unlock(&cache_mu);
    return all;
}

/* Calls fn for each token of a normalised scope; stops at false. */
static bool each_token(const char *scope, bool (*fn)(const char *t, void *u), void *u)
{
    char tok[GH_MAX_SCOPE_LEN + 1];
    for (const char *p = scope; p && *p;) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l > GH_MAX_SCOPE_LEN)
            return false;
        memcpy(tok, p, l);
        tok[l] = '\0';
        if (l && !fn(tok, u))
            return false;
        p = e ? e + 1 : p + l;
    }
    return true;
}

static bool known_token(const char *t, void *u)
{
    return gh_scope_has(GH_SCOPES_STANDARD, t) || owner_of(u, t);
}

bool gh_resources_scope_known(const gh_ctx *x, const char *scope)
{
    json_t *all = snapshot(x);
    bool ok = all && each_token(scope, known_token, all);
    json_decref(all);
    return ok;
}

bool gh_resources_scope_known_db(gh_dbconn *c, gh_arena *a, const char *scope)
{
    json_t *all = gh_store_resources_all(c, a, GH_DEFAULT_TENANT, NULL);
    bool ok = all && each_token(scope, known_token, all);
    json_decref(all);
    return ok;
}

struct target {
    json_t *all;
    json_t *found; /* borrowed */
    bool two, unknown;
};

static bool target_token(const char *t, void *u)
{
    struct target *x = u;
    if (gh_scope_has(GH_SCOPES_STANDARD, t))
        return true;
    json_t *o = owner_of(x->all, t);
    if (!o)
        return x->unknown = true, false;
    if (x->found && x->found != o)
        return x->two = true, false;
    x->found = o;
    return true;
}

const char *gh_resources_target(const gh_ctx *ctx, const char *scope, const char *resource,
                                json_t **out, const char **why)
{
    *out = NULL;
    struct target x = {.all = snapshot(ctx)};
    if (!x.all) {
        *why = "the resources cannot be read now";
        return "temporarily_unavailable";
    }
    const char *err = NULL;
    json_t *asked = resource ? find_in(x.all, "identifier", resource) : NULL;
    each_token(scope, target_token, &x);
    if (resource && !asked) {
        *why = "the resource is not registered here";
        err = "invalid_target";
    } else if (x.unknown) {
        *why = "the scope is not known here";
        err = "invalid_scope";
    } else if (x.two) {
        *why = "the scope names permissions of more than one resource: ask for one at a time";
        err = "invalid_scope";
    } else if (asked && x.found != asked) {
        *why = "ask for at least one scope of the resource, and none of another";
        err = "invalid_target";
    } else if (x.found) {
        *out = json_incref(x.found);
    }
    json_decref(x.all);
    return err;
}

const char *gh_resources_scope_description(const gh_ctx *x, const char *scope)
{
    json_t *all = snapshot(x);
    json_t *o = all ? owner_of(all, scope) : NULL;
    const char *d =
        o ? json_string_value(json_object_get(json_object_get(o, "scopes"), scope)) : NULL;
    const char *copy = d ? gh_arena_strdup(x->arena, d) : NULL;
    json_decref(all);
    return copy;
}

bool gh_resources_may_introspect(const gh_ctx *x, const char *identifier, const char *client_id)
{
    json_t *all = snapshot(x);
    json_t *o = all && identifier ? find_in(all, "identifier", identifier) : NULL;
    bool ok = false;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(o, "introspection_clients"), i, c)
    {
        ok = ok || strcmp(json_string_value(c), client_id) == 0;
    }
    json_decref(all);
    return ok;
}

/* ---- changes (shared by the admin API and the command line) ---- */

static gh_dbrc audit(const gh_ctx *x, const char *actor, const char *type, const char *id,
                     const char *identifier)
{
    return gh_audit_ctx_append(
        x, gh_ctx_db(x), type, id, actor, NULL,
        json_pack("{s:s, s:s}", "resource_id", id, "identifier", identifier));
}

/* Refuses (CONFLICT, with why) a resource whose identifier or a scope is
 * another resource's; id is the one being replaced (NULL on create). */
static gh_dbrc check_unique(json_t *all, const json_t *doc, const char *id, char *why,
                            size_t whylen)
{
    size_t i;
    json_t *o;
    const char *ident = json_string_value(json_object_get(doc, "identifier"));
    json_array_foreach(all, i, o)
    {
        if (id && strcmp(json_string_value(json_object_get(o, "id")), id) == 0)
            continue;
        if (strcmp(json_string_value(json_object_get(o, "identifier")), ident) == 0) {
            snprintf(why, whylen, "a resource with this identifier exists");
            return GH_DB_CONFLICT;
        }
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(doc, "scopes"), key, v)
        {
            if (json_object_get(json_object_get(o, "scopes"), key)) {
                snprintf(why, whylen, "scope \"%.64s\" belongs to resource %.100s", key,
                         json_string_value(json_object_get(o, "identifier")));
                return GH_DB_CONFLICT;
            }
        }
    }
    return GH_DB_OK;
}

gh_dbrc gh_resources_save(const gh_ctx *x, const char *actor, const char *id, const json_t *doc,
                          json_t **out, char *why, size_t whylen)
{
    char newid[GH_UUID_STRLEN + 1];
    gh_dbconn *c = gh_ctx_db(x);
    gh_arena *a = x->arena;
    long long now = x->now;
    *out = NULL;
    if (!c)
        return GH_DB_BUSY;
    gh_dbrc rc = gh_db_begin(c);
    if (rc != GH_DB_OK)
        return rc;
    json_t *all = gh_store_resources_all(c, a, x->tenant, &rc);
    json_t *old = all && id ? find_in(all, "id", id) : NULL;
    if (rc == GH_DB_OK && id && !old)
        rc = GH_DB_NOTFOUND;
    if (rc == GH_DB_OK)
        rc = check_unique(all, doc, id, why, whylen);
    char *scopes = json_dumps(json_object_get(doc, "scopes"), JSON_COMPACT | JSON_SORT_KEYS);
    char *ic = json_dumps(json_object_get(doc, "introspection_clients"), JSON_COMPACT);
    const char *ident = json_string_value(json_object_get(doc, "identifier"));
    const char *name = json_string_value(json_object_get(doc, "name"));
    long long ttl = json_integer_value(json_object_get(doc, "access_token_ttl"));
    long long created = old ? json_integer_value(json_object_get(old, "created_at")) : now;
    if (rc == GH_DB_OK && (!scopes || !ic))
        rc = GH_DB_FAIL;
    gh_resource_row row = {.tenant_id = x->tenant,
                           .identifier = ident,
                           .name = name,
                           .scopes = scopes,
                           .access_token_ttl = ttl,
                           .introspection_clients = ic,
                           .now = now};
    if (rc == GH_DB_OK && !id) {
        gh_uuid(newid);
        row.id = newid;
        rc = gh_store_resource_insert(c, a, &row);
        id = newid;
        if (rc == GH_DB_OK)
            rc = audit(x, actor, "resource.created", id, ident);
    } else if (rc == GH_DB_OK) {
        row.id = id;
        rc = gh_store_resource_update(c, a, &row);
        if (rc == GH_DB_OK)
            rc = audit(x, actor, "resource.updated", id, ident);
    }
    free(scopes);
    free(ic);
    json_decref(all);
    if (rc == GH_DB_OK)
        rc = gh_db_commit(c);
    else
        gh_db_rollback(c);
    if (rc == GH_DB_OK) {
        cache_drop();
        *out = json_deep_copy(doc);
        json_object_set_new(*out, "id", json_string(id));
        json_object_set_new(*out, "created_at", json_integer(created));
        json_object_set_new(*out, "updated_at", json_integer(now));
    }
    return rc;
}

gh_dbrc gh_resources_delete(const gh_ctx *x, const char *actor, const char *id)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_arena *a = x->arena;
    if (!c)
        return GH_DB_BUSY;
    gh_dbrc rc = gh_db_begin(c);
    if (rc != GH_DB_OK)
        return rc;
    const char *identifier = NULL;
    rc = gh_store_resource_delete(c, a, x->tenant, id, &identifier);
    if (rc == GH_DB_OK)
        rc = audit(x, actor, "resource.deleted", id, identifier);
    if (rc == GH_DB_OK)
        rc = gh_db_commit(c);
    else
        gh_db_rollback(c);
    if (rc == GH_DB_OK)
        cache_drop();
    return rc;
}

/* ---- reading for the admin API and the command line ---- */

json_t *gh_resources_list(const gh_ctx *x, gh_dbrc *rc)
{
    return gh_store_resources_all(gh_ctx_db(x), x->arena, x->tenant, rc);
}

json_t *gh_resources_get(const gh_ctx *x, const char *id, gh_dbrc *rc)
{
    json_t *all = gh_store_resources_all(gh_ctx_db(x), x->arena, x->tenant, rc);
    json_t *one = all && id ? json_incref(find_in(all, "id", id)) : NULL;
    if (all && !one)
        *rc = GH_DB_NOTFOUND;
    json_decref(all);
    return one;
}
