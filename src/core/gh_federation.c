/*
 * gh_federation: upstream providers and the sign-in round trip. See
 * gh_federation.h.
 */
#include "gh_federation.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit_ctx.h"
#include "gh_crypto.h"
#include "gh_fedapple.h"
#include "gh_jose.h"
#include "gh_json.h"
#include "gh_log.h"
#include "gh_mkey.h"
#include "gh_org_meta.h"
#include "gh_outbound.h"
#include "gh_store_mfa.h"
#include "gh_store_orgs.h"
#include "gh_url.h"

/* ---- providers ---- */

static const char *secret_ad(const gh_ctx *x, const char *id)
{
    return gh_arena_printf(x->arena, "fedsecret:%s/%s", x->tenant, id);
}

/* A microsoft provider's allowed_tenant_ids is kept in its mapping
 * column's JSON under this member (no column of its own, and never a
 * mapped attribute: the validator takes given_name, family_name and
 * display_name only); the view and the sign-in take it out again. */
#define TENANTS_KEY "allowed_tenant_ids"

/* A stored column's JSON within depth (a new reference), or NULL when it
 * is absent or fails gh_json_parse's bounds: callers treat both alike. */
static json_t *stored_json(const char *text, int depth)
{
    json_t *doc = NULL;
    if (text)
        (void)gh_json_parse(text, strlen(text), depth, &doc, NULL, 0);
    return doc;
}

/* The stored allow-list of a provider row: a new reference, or NULL when
 * none is set. */
static json_t *allowed_tenants(const gh_fed_provider_row *p)
{
    json_t *m = stored_json(p->mapping, GH_FED_MAPPING_DEPTH);
    if (!m)
        return json_array(); /* unreadable: admit no one rather than every tenant */
    json_t *l = json_incref(json_object_get(m, TENANTS_KEY));
    json_decref(m);
    if (l && !json_is_array(l)) {
        json_decref(l);
        return NULL;
    }
    return l;
}

json_t *gh_federation_view(const gh_fed_provider_row *p)
{
    json_t *endpoints = stored_json(p->endpoints, GH_FED_FLAT_DEPTH);
    json_t *mapping = stored_json(p->mapping, GH_FED_MAPPING_DEPTH);
    json_t *tenants = json_incref(json_object_get(mapping, TENANTS_KEY));
    json_object_del(mapping, TENANTS_KEY);
    json_t *v = json_pack(
        "{s:s, s:s, s:s, s:s, s:s?, s:o, s:s, s:b, s:s, s:b, s:o, s:b, s:I, s:I, s:s?}", "id",
        p->id, "display_name", p->display_name, "kind", p->kind, "preset", p->preset, "issuer",
        p->issuer, "endpoints", endpoints ? endpoints : json_object(), "client_id", p->client_id,
        "has_client_secret", p->client_secret != NULL, "scopes", p->scopes, "trust_email_verified",
        p->trust_email_verified, "mapping", mapping ? mapping : json_object(), "enabled",
        p->enabled, "created_at", (json_int_t)p->created_at, "updated_at",
        (json_int_t)p->updated_at, "org_id", p->org_id);
    if (v)
        json_object_set_new(v, TENANTS_KEY, tenants ? tenants : json_null());
    else
        json_decref(tenants);
    return v;
}

static gh_dbrc audit_admin(const gh_ctx *x, const char *type, const char *id)
{
    return gh_audit_ctx_append(x, gh_ctx_db(x), type, id, "admin", NULL,
                               json_pack("{s:s}", "provider", id));
}

static char *dump(const gh_ctx *x, const json_t *j)
{
    char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    char *out = t ? gh_arena_strdup(x->arena, t) : NULL;
    free(t);
    return out;
}

/* The mapping column's text: the mapping, with the allow-list beside it. */
static char *mapping_text(const gh_ctx *x, const gh_fed_config *cf)
{
    json_t *m = json_deep_copy(cf->mapping);
    if (m && cf->allowed_tenant_ids)
        json_object_set(m, TENANTS_KEY, cf->allowed_tenant_ids);
    char *t = m ? dump(x, m) : NULL;
    json_decref(m);
    return t;
}

/* The row of a validated document; old: the stored row on update. */
static bool row_of(const gh_ctx *x, const gh_fed_config *cf, const gh_fed_provider_row *old,
                   gh_fed_provider_row *row)
{
    *row =
        (gh_fed_provider_row){.tenant_id = x->tenant,
                              .id = gh_arena_strdup(x->arena, cf->id),
                              .display_name = gh_arena_strdup(x->arena, cf->display_name),
                              .kind = cf->kind,
                              .preset = cf->preset,
                              .issuer = cf->issuer ? gh_arena_strdup(x->arena, cf->issuer) : NULL,
                              .endpoints = dump(x, cf->endpoints),
                              .client_id = gh_arena_strdup(x->arena, cf->client_id),
                              .client_secret = old ? old->client_secret : NULL,
                              .scopes = gh_arena_strdup(x->arena, cf->scopes),
                              .trust_email_verified = cf->trust_email_verified,
                              .mapping = mapping_text(x, cf),
                              .enabled = cf->enabled,
                              .created_at = old ? old->created_at : x->now,
                              .updated_at = x->now};
    /* Apple's client secret is made per request from its key (gh_fedapple):
     * the key and its ids are sealed as one JSON document in its place */
    char *apple = NULL;
    if (cf->apple_private_key) {
        json_t *k = json_pack("{s:s, s:s, s:s}", "team_id", cf->apple_team_id, "key_id",
                              cf->apple_key_id, "private_key", cf->apple_private_key);
        apple = k ? json_dumps(k, JSON_COMPACT) : NULL;
        json_decref(k);
    }
    /* a change to or from apple drops the stored secret: Apple's sealed
     * key is no shared secret (it must never be sent as one, nor key an
     * HS256 check), and a shared secret is no Apple key */
    if (old && (strcmp(old->preset, "apple") == 0) != (strcmp(cf->preset, "apple") == 0))
        row->client_secret = NULL;
    const char *secret = apple ? apple : cf->client_secret;
    if (secret)
        row->client_secret = gh_mkey_seal(x->arena, x->cfg->master_key, secret_ad(x, cf->id),
                                          (const uint8_t *)secret, strlen(secret));
    if (apple) {
        sodium_memzero(apple, strlen(apple));
        free(apple);
    }
    return row->endpoints && row->mapping && (!secret || row->client_secret);
}

/* The document's org_id: absent or null (the tenant's provider), or an
 * organisation of this tenant (checked in the save's transaction). */
static bool org_of(const json_t *body, const char **org, char *why, size_t whylen)
{
    const json_t *v = json_object_get(body, "org_id");
    *org = json_is_string(v) ? json_string_value(v) : NULL;
    if (!v || json_is_null(v) || (*org && gh_org_id_valid(*org)))
        return true;
    snprintf(why, whylen, "org_id must be an organization id or null");
    return false;
}

gh_dbrc gh_federation_save(const gh_ctx *x, const char *id, const json_t *body, json_t **out,
                           char *why, size_t whylen)
{
    gh_fed_config cf;
    gh_fed_provider_row old, row;
    gh_org_row org_row;
    const char *org = NULL;
    *out = NULL;
    if (gh_fedproto_validate(body, id, &cf, why, whylen) != 0) {
        gh_fed_config_free(&cf);
        return GH_DB_INVALID;
    }
    if (!org_of(body, &org, why, whylen)) {
        gh_fed_config_free(&cf);
        return GH_DB_INVALID;
    }
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbrc rc = c ? gh_db_begin(c) : GH_DB_BUSY;
    if (rc != GH_DB_OK) {
        gh_fed_config_free(&cf);
        return rc;
    }
    if (id)
        rc = gh_store_fed_provider_get(c, x->arena, x->tenant, id, &old);
    if (rc == GH_DB_OK && !row_of(x, &cf, id ? &old : NULL, &row))
        rc = GH_DB_FAIL;
    if (rc == GH_DB_OK && org) {
        rc = gh_store_org_get(c, x->arena, x->tenant, org, &org_row);
        if (rc == GH_DB_NOTFOUND) {
            snprintf(why, whylen, "org_id names no organization of this tenant");
            rc = GH_DB_INVALID;
        }
        row.org_id = org_row.id;
    }
    if (rc == GH_DB_OK)
        rc = id ? gh_store_fed_provider_update(c, x->arena, &row)
                : gh_store_fed_provider_insert(c, x->arena, &row);
    if (rc == GH_DB_OK)
        rc = audit_admin(x, id ? "federation.provider.updated" : "federation.provider.created",
                         row.id);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    gh_fed_config_free(&cf);
    if (rc == GH_DB_CONFLICT)
        snprintf(why, whylen, "a provider with this id exists");
    if (rc != GH_DB_OK)
        return rc;
    gh_federation_cache_clear();
    *out = gh_federation_view(&row);
    return GH_DB_OK;
}

gh_dbrc gh_federation_delete(const gh_ctx *x, const char *id)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbrc rc = c ? gh_db_begin(c) : GH_DB_BUSY;
    if (rc != GH_DB_OK)
        return rc;
    rc = gh_store_fed_provider_delete(c, x->arena, x->tenant, id);
    if (rc == GH_DB_OK)
        rc = audit_admin(x, "federation.provider.deleted", id);
    rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    if (rc == GH_DB_OK)
        gh_federation_cache_clear();
    return rc;
}

gh_dbrc gh_federation_enabled(const gh_ctx *x, json_t **out)
{
    gh_fed_provider_row *all = NULL;
    size_t n = 0;
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbrc rc = c ? gh_store_fed_providers(c, x->arena, x->tenant, &all, &n) : GH_DB_BUSY;
    *out = NULL;
    if (rc != GH_DB_OK)
        return rc;
    *out = json_array();
    /* an organisation's own provider is reached by home-realm discovery
     * (gh_fedorgs), not offered to everyone */
    for (size_t i = 0; i < n; i++)
        if (all[i].enabled && !all[i].org_id)
            json_array_append_new(*out,
                                  json_pack("{s:s, s:s, s:s}", "id", all[i].id, "display_name",
                                            all[i].display_name, "kind", all[i].kind));
    return GH_DB_OK;
}

gh_dbrc gh_federation_provider(const gh_ctx *x, const char *id, gh_fed_provider_row *p)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbrc rc = c ? gh_store_fed_provider_get(c, x->arena, x->tenant, id, p) : GH_DB_BUSY;
    if (rc == GH_DB_OK && !p->enabled)
        rc = GH_DB_NOTFOUND;
    /* an organisation's provider goes with its organisation */
    gh_org_row o;
    if (rc == GH_DB_OK && p->org_id)
        rc = gh_store_org_get(c, x->arena, x->tenant, p->org_id, &o);
    return rc;
}

/* ---- outbound calls ---- */

/* GET (form NULL) or POST a form to url and parse a JSON answer of status
 * 200; NULL with *why plain words. */
static json_t *call_json(const gh_ctx *x, const char *url, const char *form,
                         const char *const *headers, const char **why)
{
    gh_outbound_response resp;
    gh_outbound_request req = {.url = url,
                               .form_body = form,
                               .timeout_ms = (long)x->cfg->federation_timeout_ms,
                               .connect_timeout_ms = (long)x->cfg->federation_timeout_ms,
                               .max_response = GH_FED_MAX_DOCUMENT,
                               .headers = headers};
    gh_outbound_rc rc = gh_outbound_request_send(x->arena, &req, &resp);
    if (rc != GH_OUTBOUND_OK) {
        gh_log(GH_LOG_WARN, "federation", "%s: %s (%s)", url, gh_outbound_rc_str(rc), resp.error);
        *why = rc == GH_OUTBOUND_TIMEOUT ? "did not answer in time" : "could not be reached";
        return NULL;
    }
    json_t *doc = NULL;
    char err[64];
    if (resp.status != 200 || !resp.body ||
        gh_json_parse(resp.body, resp.body_len, 16, &doc, err, sizeof(err)) != GH_JSON_OK ||
        (!json_is_object(doc) && !json_is_array(doc))) {
        gh_log(GH_LOG_WARN, "federation", "%s: status %ld, no usable JSON", url, resp.status);
        json_decref(doc);
        *why = "gave an answer that could not be used";
        return NULL;
    }
    return doc;
}

/* ---- the cache of discovery documents and key sets ---- */

struct cached {
    char *key; /* tenant/provider issuer */
    json_t *discovery;
    long long discovery_at;
    json_t *jwks;
    long long jwks_at;
    struct cached *next;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached *cache;

void gh_federation_cache_clear(void)
{
    pthread_mutex_lock(&cache_lock);
    while (cache) {
        struct cached *n = cache->next;
        json_decref(cache->discovery);
        json_decref(cache->jwks);
        free(cache->key);
        free(cache);
        cache = n;
    }
    pthread_mutex_unlock(&cache_lock);
}

/* The entry for key, made when absent; the caller holds cache_lock. */
static struct cached *entry(const char *key)
{
    for (struct cached *e = cache; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    struct cached *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->key = strdup(key);
    if (!e->key) {
        free(e);
        return NULL;
    }
    e->next = cache;
    cache = e;
    return e;
}

static const char *cache_key(const gh_ctx *x, const gh_fed_provider_row *p)
{
    return gh_arena_printf(x->arena, "%s/%s %s", x->tenant, p->id, p->issuer ? p->issuer : "");
}

/* The discovery document (a new reference), fetched when not cached. */
static json_t *discovery(const gh_ctx *x, const gh_fed_provider_row *p, const char **why)
{
    const char *key = cache_key(x, p);
    json_t *doc = NULL;
    pthread_mutex_lock(&cache_lock);
    struct cached *e = entry(key);
    if (e && e->discovery && x->now - e->discovery_at < GH_FED_CACHE_TTL_MS)
        doc = json_incref(e->discovery);
    pthread_mutex_unlock(&cache_lock);
    if (doc)
        return doc;
    size_t n = strlen(p->issuer);
    const char *url =
        gh_arena_printf(x->arena, "%.*s/.well-known/openid-configuration",
                        (int)(n > 0 && p->issuer[n - 1] == '/' ? n - 1 : n), p->issuer);
    doc = call_json(x, url, NULL, NULL, why);
    if (!doc)
        return NULL;
    /* OpenID Connect Discovery 4.3: the document must name the issuer we
     * asked about, exactly */
    const char *iss = json_string_value(json_object_get(doc, "issuer"));
    /* ... except Microsoft's multi-tenant endpoints (common, organizations),
     * whose issuer is a template each ID token fills with its own tenant
     * (check_id_token) */
    bool tmpl = strcmp(p->preset, "microsoft") == 0 && gh_fedproto_is_issuer_template(iss);
    if (!iss || (strcmp(iss, p->issuer) != 0 && !tmpl)) {
        gh_log(GH_LOG_WARN, "federation", "%s: discovery names another issuer", p->id);
        json_decref(doc);
        *why = "describes itself as another issuer";
        return NULL;
    }
    pthread_mutex_lock(&cache_lock);
    e = entry(key);
    if (e) {
        json_decref(e->discovery);
        e->discovery = json_incref(doc);
        e->discovery_at = x->now;
    }
    pthread_mutex_unlock(&cache_lock);
    return doc;
}

/* An endpoint of p: the configured one, else the preset's, else from
 * discovery (OIDC). NULL with *why when none. */
static const char *endpoint(const gh_ctx *x, const gh_fed_provider_row *p, const char *name,
                            const char **why)
{
    json_t *eps = stored_json(p->endpoints, GH_FED_FLAT_DEPTH);
    const char *set = gh_fedproto_endpoint(p->preset, eps, name);
    const char *out = set ? gh_arena_strdup(x->arena, set) : NULL;
    json_decref(eps);
    if (out || strcmp(p->kind, "oidc") != 0)
        return out;
    json_t *doc = discovery(x, p, why);
    const char *v = json_string_value(json_object_get(doc, name));
    out = v ? gh_arena_strdup(x->arena, v) : NULL;
    json_decref(doc);
    if (!out && doc)
        *why = "does not publish what sign-in needs";
    return out;
}

static bool jwks_has_kid(const json_t *jwks, const char *kid)
{
    size_t i;
    json_t *k;
    if (!kid)
        return true; /* no kid: the only suitable key is chosen */
    json_array_foreach(json_object_get(jwks, "keys"), i, k)
    {
        const char *got = json_string_value(json_object_get(k, "kid"));
        if (got && strcmp(got, kid) == 0)
            return true;
    }
    return false;
}

/* The key set that should hold kid (a new reference): the cached one, or a
 * fresh one when it is older than the cache time or lacks kid and was not
 * fetched in the last GH_FED_JWKS_MIN_GAP_MS. */
static json_t *jwks_for(const gh_ctx *x, const gh_fed_provider_row *p, const char *kid,
                        const char **why)
{
    const char *key = cache_key(x, p);
    json_t *set = NULL;
    bool fetch = true;
    pthread_mutex_lock(&cache_lock);
    struct cached *e = entry(key);
    if (e && e->jwks) {
        set = json_incref(e->jwks);
        bool stale = x->now - e->jwks_at >= GH_FED_CACHE_TTL_MS;
        bool missing = !jwks_has_kid(e->jwks, kid);
        fetch = stale || (missing && x->now - e->jwks_at >= GH_FED_JWKS_MIN_GAP_MS);
    }
    if (fetch && e)
        e->jwks_at = x->now; /* one fetch per gap, even when several race */
    pthread_mutex_unlock(&cache_lock);
    if (!fetch)
        return set;
    const char *url = endpoint(x, p, "jwks_uri", why);
    json_t *fresh = url ? call_json(x, url, NULL, NULL, why) : NULL;
    if (!fresh || !json_is_array(json_object_get(fresh, "keys"))) {
        json_decref(fresh);
        if (!*why)
            *why = "publishes no usable keys";
        return set; /* the old set, if any, still verifies what it can */
    }
    json_decref(set);
    pthread_mutex_lock(&cache_lock);
    e = entry(key);
    if (e) {
        json_decref(e->jwks);
        e->jwks = json_incref(fresh);
        e->jwks_at = x->now;
    }
    pthread_mutex_unlock(&cache_lock);
    return fresh;
}

/* ---- the round trip ---- */

static char *open_secret(const gh_ctx *x, const gh_fed_provider_row *p)
{
    size_t n = 0;
    if (!p->client_secret)
        return NULL;
    uint8_t *s =
        gh_mkey_open(x->arena, x->cfg->master_key, secret_ad(x, p->id), p->client_secret, &n);
    if (!s)
        return NULL;
    char *out = gh_arena_alloc(x->arena, n + 1);
    if (out) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    sodium_memzero(s, n);
    return out;
}

bool gh_federation_form_post(const gh_fed_provider_row *p)
{
    return strcmp(p->preset, "apple") == 0;
}

int gh_federation_start(const gh_ctx *x, const gh_fed_provider_row *p, const char *binding,
                        const char *return_to, const char *redirect_uri, const char **location,
                        const char **why)
{
    *why = NULL;
    const char *authz = endpoint(x, p, "authorization_endpoint", why);
    if (!authz) {
        if (!*why)
            *why = "has no sign-in address configured";
        return -1;
    }
    char state_hash[2 * GH_SHA256_BYTES + 1];
    const char *state = gh_token(x->arena), *nonce = gh_token(x->arena);
    const char *verifier = gh_token(x->arena);
    gh_secret_hash(state, state_hash);
    const char *sealed = gh_mkey_seal(x->arena, x->cfg->master_key,
                                      gh_arena_printf(x->arena, "fedpkce:%s", state_hash),
                                      (const uint8_t *)verifier, strlen(verifier));
    json_t *data = json_pack("{s:s, s:s, s:s, s:s}", "provider", p->id, "nonce", nonce, "verifier",
                             sealed ? sealed : "", "return_to", return_to);
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    gh_challenge ch = {.tenant_id = x->tenant,
                       .id = NULL,
                       .kind = GH_CH_FEDERATION,
                       .binding_hash = binding,
                       .challenge = state_hash,
                       .data = text,
                       .created_at = x->now,
                       .expires_at = x->now + GH_FED_FLOW_TTL_MS};
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    ch.id = id;
    gh_dbconn *c = text && sealed ? gh_ctx_db(x) : NULL;
    gh_dbrc rc = c ? gh_db_begin(c) : GH_DB_FAIL;
    if (rc == GH_DB_OK) {
        rc = gh_store_challenge_put(c, x->arena, &ch);
        rc = rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
    }
    free(text);
    if (rc != GH_DB_OK)
        return -2;
    gh_arena *a = x->arena;
    *location = gh_arena_printf(
        a,
        "%s%sresponse_type=code&client_id=%s&redirect_uri=%s&scope=%s&state=%s&nonce=%s"
        "&code_challenge=%s&code_challenge_method=S256%s",
        authz, strchr(authz, '?') ? "&" : "?", gh_url_encode(a, p->client_id),
        gh_url_encode(a, redirect_uri), gh_url_encode(a, p->scopes), state, nonce,
        gh_fedproto_pkce_s256(a, verifier),
        gh_federation_form_post(p) ? "&response_mode=form_post" : "");
    return 0;
}

gh_fed_end gh_federation_take(const gh_ctx *x, const gh_fed_provider_row *p, const char *binding,
                              const char *state, const char **return_to, const char **nonce,
                              const char **verifier)
{
    gh_challenge ch;
    gh_dbconn *c = gh_ctx_db(x);
    if (!c)
        return GH_FED_END_DB;
    gh_dbrc rc =
        gh_store_challenge_find(c, x->arena, x->tenant, GH_CH_FEDERATION, binding, x->now, &ch);
    if (rc == GH_DB_NOTFOUND || !state)
        return GH_FED_END_STATE;
    if (rc != GH_DB_OK)
        return GH_FED_END_DB;
    char state_hash[2 * GH_SHA256_BYTES + 1];
    gh_secret_hash(state, state_hash);
    if (!ch.challenge || !gh_secret_equal(ch.challenge, state_hash))
        return GH_FED_END_STATE;
    json_t *d = stored_json(ch.data, GH_FED_FLAT_DEPTH);
    const char *prov = json_string_value(json_object_get(d, "provider"));
    const char *sealed = json_string_value(json_object_get(d, "verifier"));
    bool same = prov && strcmp(prov, p->id) == 0;
    *return_to = gh_arena_strdup(x->arena, json_string_value(json_object_get(d, "return_to")));
    *nonce = gh_arena_strdup(x->arena, json_string_value(json_object_get(d, "nonce")));
    size_t n = 0;
    uint8_t *v = sealed
                     ? gh_mkey_open(x->arena, x->cfg->master_key,
                                    gh_arena_printf(x->arena, "fedpkce:%s", state_hash), sealed, &n)
                     : NULL;
    json_decref(d);
    *verifier = v ? gh_arena_printf(x->arena, "%.*s", (int)n, (const char *)v) : NULL;
    /* one use: a replayed state finds nothing from here on */
    rc = gh_store_challenge_consume(c, x->arena, x->tenant, ch.id, x->now);
    if (rc == GH_DB_CONFLICT || !same || !*verifier || !*nonce)
        return GH_FED_END_STATE;
    return rc == GH_DB_OK ? GH_FED_END_OK : GH_FED_END_DB;
}

/* The client secret to send: the stored one, or Apple's JWT made now from
 * its sealed key (gh_fedapple). NULL with *why when one is configured but
 * cannot be read or made; NULL alone when the provider has none. */
static char *client_secret_for(const gh_ctx *x, const gh_fed_provider_row *p, const char **why)
{
    char *secret = open_secret(x, p);
    if (p->client_secret && !secret)
        *why = "is configured with a client secret that cannot be read";
    if (!secret || strcmp(p->preset, "apple") != 0)
        return secret;
    json_t *k = stored_json(secret, GH_FED_FLAT_DEPTH);
    sodium_memzero(secret, strlen(secret));
    const char *pem = json_string_value(json_object_get(k, "private_key"));
    char *jwt =
        pem ? gh_fedapple_client_secret(x->arena, json_string_value(json_object_get(k, "team_id")),
                                        json_string_value(json_object_get(k, "key_id")),
                                        p->client_id, pem, x->now / 1000)
            : NULL;
    if (pem)
        sodium_memzero((char *)pem, strlen(pem));
    json_decref(k);
    if (!jwt)
        *why = "is configured with an Apple key that cannot sign";
    return jwt;
}

/* client_secret_basic (RFC 6749 2.3.1: both parts form-encoded first) when
 * the upstream's discovery offers only that; NULL for client_secret_post. */
static const char *basic_auth(const gh_ctx *x, const gh_fed_provider_row *p, const char *secret)
{
    const char *dwhy = NULL;
    /* Apple takes its JWT secret in the body only */
    if (!secret || strcmp(p->kind, "oidc") != 0 || strcmp(p->preset, "apple") == 0)
        return NULL;
    json_t *doc = discovery(x, p, &dwhy);
    bool basic = gh_fedproto_use_basic(doc);
    json_decref(doc);
    if (!basic)
        return NULL;
    gh_arena *a = x->arena;
    const char *pair =
        gh_arena_printf(a, "%s:%s", gh_url_encode(a, p->client_id), gh_url_encode(a, secret));
    size_t n = strlen(pair), m = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = gh_arena_alloc(a, m);
    if (!b64)
        return NULL;
    sodium_bin2base64(b64, m, (const uint8_t *)pair, n, sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero((char *)pair, n);
    return gh_arena_printf(a, "Authorization: Basic %s", b64);
}

/* POSTs the code to the token endpoint (client_secret_post, or _basic
 * when that is all the upstream takes) and returns the token response. */
static json_t *exchange(const gh_ctx *x, const gh_fed_provider_row *p, const char *code,
                        const char *redirect_uri, const char *verifier, const char **why)
{
    gh_arena *a = x->arena;
    const char *url = endpoint(x, p, "token_endpoint", why);
    if (!url)
        return NULL;
    char *secret = client_secret_for(x, p, why);
    if (p->client_secret && !secret)
        return NULL;
    const char *basic = basic_auth(x, p, secret);
    char *form = gh_arena_printf(
        a, "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s%s%s%s%s",
        gh_url_encode(a, code), gh_url_encode(a, redirect_uri), gh_url_encode(a, verifier),
        basic ? "" : "&client_id=", basic ? "" : gh_url_encode(a, p->client_id),
        secret && !basic ? "&client_secret=" : "",
        secret && !basic ? gh_url_encode(a, secret) : "");
    const char *const hdrs[] = {"Accept: application/json", basic, NULL};
    json_t *tok = form ? call_json(x, url, form, hdrs, why) : NULL;
    if (secret)
        sodium_memzero(secret, strlen(secret));
    if (form)
        sodium_memzero(form, strlen(form));
    if (basic)
        sodium_memzero((char *)basic, strlen(basic));
    return tok;
}

/* Many providers put the address in the UserInfo answer only (OIDC Core
 * 5.4): when the ID token has none, the claims the userinfo endpoint gives
 * for the same sub (5.3.2) are added to the ID token's, never replacing
 * one. Best effort: without it the sign-in goes on with what it has. */
static void userinfo_claims(const gh_ctx *x, const gh_fed_provider_row *p, const json_t *tok,
                            json_t *claims)
{
    const char *at = json_string_value(json_object_get(tok, "access_token"));
    const char *why = NULL;
    const char *url = at ? endpoint(x, p, "userinfo_endpoint", &why) : NULL;
    if (!url)
        return;
    const char *auth = gh_arena_printf(x->arena, "Authorization: Bearer %s", at);
    const char *const hdrs[] = {"Accept: application/json", auth, NULL};
    json_t *info = call_json(x, url, NULL, hdrs, &why);
    const char *sub = json_string_value(json_object_get(info, "sub"));
    const char *want = json_string_value(json_object_get(claims, "sub"));
    if (json_is_object(info) && sub && want && strcmp(sub, want) == 0) {
        const char *k;
        json_t *v;
        json_object_foreach(info, k, v) if (!json_object_get(claims, k))
            json_object_set(claims, k, v);
    }
    json_decref(info);
}

static gh_fed_end accept_claims(const gh_ctx *x, const gh_fed_provider_row *p, const json_t *tok,
                                json_t *claims, const char *nonce, gh_fed_identity *id,
                                const char **why);

/* An ID token signed with the client secret (OIDC Core 10.1): only from a
 * provider that has a plain client secret (never Apple's key, never a
 * provider without one), and only as HS256. */
static gh_fed_end check_hs256(const gh_ctx *x, const gh_fed_provider_row *p, const json_t *tok,
                              const char *jws, const char *nonce, gh_fed_identity *id,
                              const char **why)
{
    const char *jwhy = NULL;
    char *secret = strcmp(p->preset, "apple") != 0 ? open_secret(x, p) : NULL;
    json_t *claims = secret ? gh_fedproto_verify_hs256(jws, secret, &jwhy) : NULL;
    if (secret)
        sodium_memzero(secret, strlen(secret));
    if (!claims) {
        gh_log(GH_LOG_WARN, "federation", "%s: HS256 ID token refused: %s", p->id,
               jwhy ? jwhy : "no client secret");
        *why = "the ID token's signature does not verify";
        return GH_FED_END_TOKEN;
    }
    return accept_claims(x, p, tok, claims, nonce, id, why);
}

/* Checks an OIDC token response's ID token: signature against the
 * upstream's keys (or its client secret, HS256), then the claims. */
static gh_fed_end check_id_token(const gh_ctx *x, const gh_fed_provider_row *p, const json_t *tok,
                                 const char *nonce, gh_fed_identity *id, const char **why)
{
    const char *jws = json_string_value(json_object_get(tok, "id_token"));
    gh_jose_jws parsed;
    const char *jwhy = NULL;
    if (!jws || gh_jose_parse(jws, &parsed, &jwhy) != 0) {
        *why = "there was no usable ID token";
        return GH_FED_END_TOKEN;
    }
    const char *kid = parsed.kid ? gh_arena_strdup(x->arena, parsed.kid) : NULL;
    bool hs = strcmp(parsed.alg, "HS256") == 0;
    gh_jose_jws_free(&parsed);
    if (hs)
        return check_hs256(x, p, tok, jws, nonce, id, why);
    json_t *jwks = jwks_for(x, p, kid, why);
    json_t *claims = jwks ? gh_jose_verify_with_jwks(jws, jwks, &jwhy) : NULL;
    json_decref(jwks);
    if (!claims) {
        gh_log(GH_LOG_WARN, "federation", "%s: ID token refused: %s", p->id,
               jwhy ? jwhy : "no keys");
        *why = jwks || !*why ? "the ID token's signature does not verify" : *why;
        return jwks ? GH_FED_END_TOKEN : GH_FED_END_UPSTREAM;
    }
    return accept_claims(x, p, tok, claims, nonce, id, why);
}

/* The issuer an ID token must name: the configured one, or for a
 * multi-tenant Microsoft endpoint the discovery's template filled with the
 * token's own tid (and only that), which is then kept with the identity. */
static const char *expected_issuer(const gh_ctx *x, const gh_fed_provider_row *p,
                                   const json_t *claims, gh_fed_identity *id)
{
    if (strcmp(p->preset, "microsoft") != 0)
        return p->issuer;
    const char *dwhy = NULL;
    json_t *doc = discovery(x, p, &dwhy);
    const char *tmpl = json_string_value(json_object_get(doc, "issuer"));
    const char *tid = json_string_value(json_object_get(claims, "tid"));
    const char *want = p->issuer;
    if (gh_fedproto_is_issuer_template(tmpl)) {
        want = gh_fedproto_tenant_issuer(x->arena, tmpl, tid); /* NULL: no usable tid */
        id->upstream_tid = want ? gh_arena_strdup(x->arena, tid) : NULL;
    }
    json_decref(doc);
    return want;
}

/* A microsoft provider with allowed_tenant_ids admits only tokens whose
 * tid it names (a multi-tenant endpoint otherwise admits every Entra ID
 * tenant); any other provider, or one without the list, admits all. */
static bool tenant_allowed(const gh_fed_provider_row *p, const json_t *claims)
{
    if (strcmp(p->preset, "microsoft") != 0)
        return true;
    json_t *l = allowed_tenants(p);
    const char *tid = json_string_value(json_object_get(claims, "tid"));
    bool ok = gh_fedproto_tenant_allowed(l, tid);
    json_decref(l);
    if (!ok)
        gh_log(GH_LOG_WARN, "federation", "%s: tenant %s is not in allowed_tenant_ids", p->id,
               tid ? tid : "(none)");
    return ok;
}

/* The claims of a token whose signature verified: checked, then taken. */
static gh_fed_end accept_claims(const gh_ctx *x, const gh_fed_provider_row *p, const json_t *tok,
                                json_t *claims, const char *nonce, gh_fed_identity *id,
                                const char **why)
{
    const char *iss = expected_issuer(x, p, claims, id);
    if (gh_fedproto_check_claims(claims, iss, p->client_id, nonce, x->now / 1000, why) != 0) {
        json_decref(claims);
        return GH_FED_END_TOKEN;
    }
    if (!tenant_allowed(p, claims)) {
        json_decref(claims);
        *why = "your organisation's Microsoft tenant is not allowed to sign in here";
        return GH_FED_END_REFUSED;
    }
    id->claims = claims;
    id->subject = gh_arena_strdup(x->arena, json_string_value(json_object_get(claims, "sub")));
    if (!json_object_get(claims, "email"))
        userinfo_claims(x, p, tok, claims);
    const char *email = json_string_value(json_object_get(claims, "email"));
    id->email = email ? gh_arena_strdup(x->arena, email) : NULL;
    /* some providers send "true" as a string */
    json_t *ev = json_object_get(claims, "email_verified");
    id->email_verified =
        json_is_true(ev) || (json_is_string(ev) && strcmp(json_string_value(ev), "true") == 0);
    return GH_FED_END_OK;
}

/* GitHub: the user and its e-mail list, with the access token. */
static gh_fed_end github_user(const gh_ctx *x, const gh_fed_provider_row *p, const json_t *tok,
                              gh_fed_identity *id, const char **why)
{
    const char *at = json_string_value(json_object_get(tok, "access_token"));
    if (!at) {
        *why = "sent no access token";
        return GH_FED_END_UPSTREAM;
    }
    const char *auth = gh_arena_printf(x->arena, "Authorization: Bearer %s", at);
    const char *const hdrs[] = {"Accept: application/vnd.github+json", auth, NULL};
    const char *user_url = endpoint(x, p, "user_endpoint", why);
    const char *emails_url = endpoint(x, p, "emails_endpoint", why);
    json_t *user = user_url ? call_json(x, user_url, NULL, hdrs, why) : NULL;
    json_t *emails = user && emails_url ? call_json(x, emails_url, NULL, hdrs, why) : NULL;
    json_t *uid = json_object_get(user, "id");
    if (!user || !emails || !json_is_array(emails) ||
        !(json_is_integer(uid) || json_is_string(uid))) {
        json_decref(user);
        json_decref(emails);
        if (!*why)
            *why = "gave an answer that could not be used";
        return GH_FED_END_UPSTREAM;
    }
    id->subject = json_is_integer(uid)
                      ? gh_arena_printf(x->arena, "%lld", (long long)json_integer_value(uid))
                      : gh_arena_strdup(x->arena, json_string_value(uid));
    bool verified = false;
    const char *email = gh_fedproto_github_email(emails, &verified);
    id->email = email ? gh_arena_strdup(x->arena, email) : NULL;
    id->email_verified = verified;
    id->claims = user;
    json_decref(emails);
    return GH_FED_END_OK;
}

gh_fed_end gh_federation_finish(const gh_ctx *x, const gh_fed_provider_row *p, const char *code,
                                const char *redirect_uri, const char *nonce, const char *verifier,
                                gh_fed_identity *id, const char **why)
{
    memset(id, 0, sizeof(*id));
    *why = NULL;
    id->provider_id = p->id;
    id->provider_name = p->display_name;
    id->provider_trusted = p->trust_email_verified;
    if (!code || !*code) {
        *why = "sent no authorization code";
        return GH_FED_END_UPSTREAM;
    }
    json_t *tok = exchange(x, p, code, redirect_uri, verifier, why);
    if (!tok) {
        if (!*why)
            *why = "refused the sign-in";
        return GH_FED_END_UPSTREAM;
    }
    gh_fed_end e = strcmp(p->kind, "github") == 0 ? github_user(x, p, tok, id, why)
                                                  : check_id_token(x, p, tok, nonce, id, why);
    json_decref(tok);
    return e;
}

void gh_federation_identity_free(gh_fed_identity *id)
{
    json_decref(id->claims);
    id->claims = NULL;
}
