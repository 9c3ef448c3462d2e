/*
 * gh_branding: the branding service and its cache (gh_branding.h,
 * docs/branding.md).
 */
#include "gh_branding.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit_ctx.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_json.h"
#include "gh_store_branding.h"

static const char DEFAULT_NAME[] = "Gatehouse";

/* ---- rows and documents ---- */

static json_t *colours_from(const char *text)
{
    json_t *o = NULL;
    char why[64];
    if (!text ||
        gh_json_parse(text, strlen(text), GH_BRAND_DOC_DEPTH, &o, why, sizeof(why)) != GH_JSON_OK ||
        !json_is_object(o)) {
        json_decref(o);
        return json_object();
    }
    return o;
}

/* The admin document of a stored row (new reference). */
static json_t *row_document(const gh_branding_row *row)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:s, s:I}", "product_name", row->product_name,
                     "logo_uri", row->logo_uri, "colors", colours_from(row->colors), "dark_colors",
                     colours_from(row->dark_colors), "stylesheet", row->stylesheet, "updated_at",
                     (json_int_t)row->updated_at);
}

static json_t *default_document(void)
{
    gh_brand none = {.product_name = "", .logo_uri = "", .stylesheet = ""};
    json_t *d = gh_brand_to_json(&none);
    json_object_set_new(d, "updated_at", json_null());
    return d;
}

/* What the pages show for a validated brand (strings in a). */
static bool view_of(gh_arena *a, const gh_brand *b, gh_branding *out)
{
    out->product_name = *b->product_name ? b->product_name : DEFAULT_NAME;
    out->logo_uri = b->logo_uri;
    out->css = gh_brand_css(a, b);
    if (!out->css)
        return false;
    crypto_hash_sha256_state st;
    uint8_t d[GH_SHA256_BYTES];
    char hex[2 * GH_SHA256_BYTES + 1];
    crypto_hash_sha256_init(&st);
    const char *parts[] = {out->product_name, out->logo_uri, out->css};
    for (size_t i = 0; i < 3; i++) /* each with its NUL: no two differ alike */
        crypto_hash_sha256_update(&st, (const uint8_t *)parts[i], strlen(parts[i]) + 1);
    crypto_hash_sha256_final(&st, d);
    gh_hex(d, sizeof(d), hex);
    memcpy(out->version, hex, GH_BRANDING_VERSION_LEN);
    out->version[GH_BRANDING_VERSION_LEN] = '\0';
    return true;
}

static void default_view(gh_arena *a, gh_branding *out)
{
    gh_brand none = {.product_name = "", .logo_uri = "", .stylesheet = ""};
    if (!view_of(a, &none, out)) {
        out->css = "";
        snprintf(out->version, sizeof(out->version), "0");
    }
}

/* Reads and re-validates the tenant's row into out: a row that no longer
 * validates (damage, an older rule) is shown as the default. */
static gh_dbrc load_view(const gh_ctx *x, gh_branding *out)
{
    gh_branding_row row;
    gh_dbrc rc = gh_store_branding_get(gh_ctx_db(x), x->arena, x->tenant, &row);
    gh_brand b;
    gh_brand_error err;
    json_t *doc = rc == GH_DB_OK ? row_document(&row) : NULL;
    if (doc)
        json_object_del(doc, "updated_at");
    if (!doc || !gh_brand_validate(x->arena, doc, &b, &err) || !view_of(x->arena, &b, out))
        default_view(x->arena, out);
    json_decref(doc);
    return rc == GH_DB_NOTFOUND ? GH_DB_OK : rc;
}

/* ---- the cache ----
 * One slot per tenant hash; a tenant without branding is cached too (its
 * default view), so the default tenant costs no read either. A change
 * through this process bumps the generation and drops the slot; another
 * instance's change is read within GH_BRANDING_CACHE_MS. */
enum { CACHE_SLOTS = 64 };

struct cached_view {
    char *tenant, *name, *logo, *css; /* malloc'd; tenant NULL: empty */
    char version[GH_BRANDING_VERSION_LEN + 1];
    int64_t loaded_ms;
};

static struct {
    pthread_mutex_t mu;
    struct cached_view slot[CACHE_SLOTS];
    unsigned long generation;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static size_t slot_of(const char *tenant)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)tenant; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % CACHE_SLOTS;
}

static void slot_clear(struct cached_view *e)
{
    free(e->tenant);
    free(e->name);
    free(e->logo);
    free(e->css);
    memset(e, 0, sizeof(*e));
}

static void cache_forget(const char *tenant)
{
    pthread_mutex_lock(&cache.mu);
    cache.generation++;
    struct cached_view *e = &cache.slot[slot_of(tenant)];
    if (e->tenant && strcmp(e->tenant, tenant) == 0)
        slot_clear(e);
    pthread_mutex_unlock(&cache.mu);
}

static void cache_put(const char *tenant, const gh_branding *v, int64_t now, unsigned long gen)
{
    struct cached_view fresh = {.tenant = strdup(tenant),
                                .name = strdup(v->product_name),
                                .logo = strdup(v->logo_uri),
                                .css = strdup(v->css),
                                .loaded_ms = now};
    memcpy(fresh.version, v->version, sizeof(fresh.version));
    bool ok = fresh.tenant && fresh.name && fresh.logo && fresh.css;
    pthread_mutex_lock(&cache.mu);
    if (ok && gen == cache.generation) {
        slot_clear(&cache.slot[slot_of(tenant)]);
        cache.slot[slot_of(tenant)] = fresh;
    } else {
        slot_clear(&fresh);
    }
    pthread_mutex_unlock(&cache.mu);
}

/* A fresh cached view of tenant into out (copied into a); false on a miss. */
static bool cache_get(gh_arena *a, const char *tenant, int64_t now, gh_branding *out,
                      unsigned long *gen)
{
    pthread_mutex_lock(&cache.mu);
    const struct cached_view *e = &cache.slot[slot_of(tenant)];
    bool hit =
        e->tenant && strcmp(e->tenant, tenant) == 0 && now - e->loaded_ms < GH_BRANDING_CACHE_MS;
    if (hit) {
        out->product_name = gh_arena_strdup(a, e->name);
        out->logo_uri = gh_arena_strdup(a, e->logo);
        out->css = gh_arena_strdup(a, e->css);
        memcpy(out->version, e->version, sizeof(out->version));
        hit = out->product_name && out->logo_uri && out->css;
    }
    *gen = cache.generation;
    pthread_mutex_unlock(&cache.mu);
    return hit;
}

gh_dbrc gh_branding_current(const gh_ctx *x, gh_branding *out)
{
    int64_t now = gh_mono_ms();
    unsigned long gen;
    if (cache_get(x->arena, x->tenant, now, out, &gen))
        return GH_DB_OK;
    gh_dbrc rc = load_view(x, out);
    if (rc == GH_DB_OK)
        cache_put(x->tenant, out, now, gen);
    return rc;
}

/* ---- the admin API's service ---- */

json_t *gh_branding_get(const gh_ctx *x, gh_dbrc *rc)
{
    gh_branding_row row;
    *rc = gh_store_branding_get(gh_ctx_db(x), x->arena, x->tenant, &row);
    if (*rc == GH_DB_NOTFOUND) {
        *rc = GH_DB_OK;
        return default_document();
    }
    return *rc == GH_DB_OK ? row_document(&row) : NULL;
}

static gh_dbrc audit(const gh_ctx *x, const char *actor, json_t *details)
{
    return gh_audit_ctx_append(x, gh_ctx_db(x), "branding.updated", x->tenant, actor, NULL,
                               details);
}

/* The row to store for a validated brand (JSON texts in x->arena). */
static bool row_of(const gh_ctx *x, const gh_brand *b, json_t *doc, gh_branding_row *row)
{
    char *light = json_dumps(json_object_get(doc, "colors"), JSON_COMPACT | JSON_SORT_KEYS);
    char *dark = json_dumps(json_object_get(doc, "dark_colors"), JSON_COMPACT | JSON_SORT_KEYS);
    *row = (gh_branding_row){.product_name = b->product_name,
                             .logo_uri = b->logo_uri,
                             .colors = light ? gh_arena_strdup(x->arena, light) : NULL,
                             .dark_colors = dark ? gh_arena_strdup(x->arena, dark) : NULL,
                             .stylesheet = b->stylesheet,
                             .updated_at = x->now};
    free(light);
    free(dark);
    return row->colors && row->dark_colors;
}

gh_dbrc gh_branding_put(const gh_ctx *x, const char *actor, const json_t *in, json_t **out,
                        gh_brand_error *err)
{
    gh_brand b;
    gh_branding_row row;
    *out = NULL;
    if (!gh_brand_validate(x->arena, in, &b, err))
        return GH_DB_INVALID;
    json_t *doc = gh_brand_to_json(&b);
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbrc rc = !c ? GH_DB_BUSY : !doc || !row_of(x, &b, doc, &row) ? GH_DB_FAIL : gh_db_begin(c);
    bool began = rc == GH_DB_OK;
    if (rc == GH_DB_OK)
        rc = gh_store_branding_put(c, x->arena, x->tenant, &row);
    if (rc == GH_DB_OK)
        rc = audit(x, actor,
                   json_pack("{s:s, s:s, s:I, s:I, s:I}", "product_name", b.product_name,
                             "logo_uri", b.logo_uri, "colors",
                             (json_int_t)json_object_size(json_object_get(doc, "colors")),
                             "dark_colors",
                             (json_int_t)json_object_size(json_object_get(doc, "dark_colors")),
                             "stylesheet_bytes", (json_int_t)strlen(b.stylesheet)));
    if (began && rc == GH_DB_OK)
        rc = gh_db_commit(c);
    else if (began)
        gh_db_rollback(c);
    if (rc == GH_DB_OK) {
        cache_forget(x->tenant);
        json_object_set_new(doc, "updated_at", json_integer(x->now));
        *out = doc;
    } else {
        json_decref(doc);
    }
    return rc;
}

gh_dbrc gh_branding_delete(const gh_ctx *x, const char *actor)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbrc rc = c ? gh_db_begin(c) : GH_DB_BUSY;
    if (rc != GH_DB_OK)
        return rc;
    rc = gh_store_branding_delete(c, x->arena, x->tenant);
    if (rc == GH_DB_OK)
        rc = audit(x, actor, json_pack("{s:b}", "reset", 1));
    if (rc == GH_DB_OK)
        rc = gh_db_commit(c);
    else
        gh_db_rollback(c);
    if (rc == GH_DB_OK)
        cache_forget(x->tenant);
    return rc;
}
