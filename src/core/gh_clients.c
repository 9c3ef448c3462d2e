/*
 * gh_clients: the OAuth client model, registration and management shared by
 * the HTTP endpoints and the command line (validation: proto/gh_client_meta),
 * and the cache that client authentication (handlers/gh_client_auth) reads
 * through.
 */
#include "gh_clients.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_metrics_series.h"
#include "gh_oauth.h"
#include "gh_store_users.h"

enum {
    CLIENT_ID_BYTES = 16,
};

/* ---- the model ---- */

void gh_client_release(gh_client *cl)
{
    if (!cl)
        return;
    json_decref(cl->metadata);
    memset(cl, 0, sizeof(*cl));
}

bool gh_client_redirect_ok(const gh_client *cl, const char *uri)
{
    return cl && gh_client_meta_has(json_object_get(cl->metadata, "redirect_uris"), uri);
}

bool gh_client_post_logout_redirect_ok(const gh_client *cl, const char *uri)
{
    return cl &&
           gh_client_meta_has(json_object_get(cl->metadata, "post_logout_redirect_uris"), uri);
}

bool gh_client_grant_ok(const gh_client *cl, const char *grant_type)
{
    return cl && gh_client_meta_has(json_object_get(cl->metadata, "grant_types"), grant_type);
}

const char *gh_client_scope(gh_arena *a, const gh_client *cl)
{
    json_t *v = json_object_get(cl->metadata, "scope");
    const char *s = json_is_string(v) ? gh_scope_normalise(a, json_string_value(v)) : NULL;
    return s ? s : GH_SCOPES_STANDARD;
}

const char *gh_client_backchannel_logout_uri(const gh_client *cl)
{
    return cl ? json_string_value(json_object_get(cl->metadata, "backchannel_logout_uri")) : NULL;
}

/* ---- registration and management ---- */

static bool secret_method(const char *method)
{
    return strcmp(method, "client_secret_basic") == 0 || strcmp(method, "client_secret_post") == 0;
}

static char *hash_of(gh_arena *a, const char *secret)
{
    char h[2 * GH_SHA256_BYTES + 1];
    gh_secret_hash(secret, h);
    return gh_arena_strdup(a, h);
}

static json_t *view(const gh_client *cl, const char *issuer, const char *secret, const char *rat)
{
    size_t il = strlen(issuer);
    if (il > 0 && issuer[il - 1] == '/')
        il--;
    json_t *o = json_object();
    json_object_set_new(o, "client_id", json_string(cl->id));
    if (secret)
        json_object_set_new(o, "client_secret", json_string(secret));
    json_object_set_new(o, "client_id_issued_at", json_integer(cl->created_at / 1000));
    if (cl->secret_hash)
        json_object_set_new(o, "client_secret_expires_at", json_integer(0));
    if (rat)
        json_object_set_new(o, "registration_access_token", json_string(rat));
    size_t ul = il + 10 + strlen(cl->id) + 1;
    char *uri = malloc(ul);
    if (uri) {
        snprintf(uri, ul, "%.*s/register/%s", (int)il, issuer, cl->id);
        json_object_set_new(o, "registration_client_uri", json_string(uri));
        free(uri);
    }
    json_object_update(o, cl->metadata);
    json_object_set_new(o, "gatehouse_first_party", json_boolean(cl->first_party));
    return o;
}

json_t *gh_client_view(const gh_client *cl, const char *issuer)
{
    return view(cl, issuer, NULL, NULL);
}

bool gh_client_registration_token_ok(const gh_client *cl, const char *token)
{
    char h[2 * GH_SHA256_BYTES + 1];
    gh_secret_hash(token ? token : "", h);
    /* Compared even when the client has no token, so the time is the same. */
    bool ok = gh_secret_equal(h, cl && cl->registration_token_hash ? cl->registration_token_hash
                                                                   : "no registration token");
    return ok && token && token[0] && cl && cl->registration_token_hash;
}

static gh_dbrc audit(gh_dbconn *c, gh_arena *a, const gh_client_actor *who, const char *type,
                     const char *client_id, json_t *details)
{
    gh_audit_event ev = {.tenant_id = who->tenant,
                         .type = type,
                         .subject = client_id,
                         .actor = who->actor,
                         .ip = who->ip,
                         .user_agent = who->user_agent,
                         .outcome = "success",
                         .details = details};
    gh_dbrc rc = gh_audit_append(c, a, &ev);
    json_decref(details);
    return rc;
}

/* Ends the transaction of one change: commit when every write succeeded. */
static gh_dbrc finish(gh_dbconn *c, gh_dbrc rc)
{
    if (rc == GH_DB_OK)
        return gh_db_commit(c);
    gh_db_rollback(c);
    return rc;
}

static char *metadata_text(gh_arena *a, const json_t *m)
{
    char *t = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *copy = t ? gh_arena_strdup(a, t) : NULL;
    free(t);
    return copy;
}

gh_dbrc gh_clients_register(gh_dbconn *c, gh_arena *a, const gh_client_actor *who,
                            const char *issuer, const json_t *metadata, bool first_party,
                            json_t **response, gh_client_error *err)
{
    *response = NULL;
    json_t *m = gh_client_metadata_validate(metadata, err);
    if (!m)
        return GH_DB_INVALID;
    uint8_t idb[CLIENT_ID_BYTES];
    gh_random(idb, sizeof(idb));
    const char *method = json_string_value(json_object_get(m, "token_endpoint_auth_method"));
    const char *secret = secret_method(method) ? gh_token(a) : NULL;
    const char *rat = gh_token(a);
    long long now = gh_now_ms();
    gh_client cl = {
        .id = gh_b64url(a, idb, sizeof(idb)),
        .first_party = first_party,
        .is_public = strcmp(method, "none") == 0,
        .auth_method = method,
        .metadata = m,
        .secret_hash = secret ? hash_of(a, secret) : NULL,
        .registration_token_hash = rat ? hash_of(a, rat) : NULL,
        .created_at = now,
        .updated_at = now,
    };
    const char *text = metadata_text(a, m);
    if (!cl.id || !rat || !cl.registration_token_hash || !text || (secret && !cl.secret_hash)) {
        json_decref(m);
        return GH_DB_FAIL;
    }
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK) {
        rc = gh_store_client_insert(c, a, who->tenant, &cl, text);
        if (rc == GH_DB_OK)
            rc = audit(c, a, who, "client.registered", cl.id,
                       json_pack("{s:s, s:b, s:O}", "auth_method", method, "first_party",
                                 first_party, "grant_types", json_object_get(m, "grant_types")));
        rc = finish(c, rc);
    }
    if (rc == GH_DB_OK)
        *response = view(&cl, issuer, secret, rat);
    json_decref(m);
    return rc;
}

/* ---- a short-lived cache of clients, for client authentication ----
 *
 * Token, introspection and revocation requests authenticate their client on
 * every call, and a service asks many times a second: reading and parsing
 * its row each time cost as much as signing the token. Clients are kept
 * here for CLIENT_CACHE_MS, keyed by tenant and id. A change made through
 * this process (RFC 7592, an administrator) drops the entry at once; a
 * change made by another instance or the command line is seen within
 * CLIENT_CACHE_MS. Unknown clients are not cached, so a new registration
 * works at once everywhere. Only client authentication reads through the
 * cache (gh_clients_get_cached): the authorization endpoint and client
 * management always read the store. */
enum { CLIENT_CACHE_SLOTS = 64, CLIENT_CACHE_MS = 1000 };

struct cached_client {
    char *tenant; /* malloc'd, as the strings of cl; cl.id NULL: an empty slot */
    gh_client cl;
    int64_t loaded_ms; /* gh_mono_ms when it was read from the store */
};

static struct {
    pthread_mutex_t mu;
    struct cached_client slot[CLIENT_CACHE_SLOTS];
    /* Bumped by every forget: a load that began before a change must not
     * put what it read into the cache after the change dropped it. */
    unsigned long generation;
} client_cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static size_t cache_slot(const char *tenant, const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a over tenant, a NUL, id */
    for (const unsigned char *p = (const unsigned char *)tenant; *p; p++)
        h = (h ^ *p) * 16777619u;
    h *= 16777619u;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % CLIENT_CACHE_SLOTS;
}

static bool cache_holds(const struct cached_client *e, const char *tenant, const char *id)
{
    return e->cl.id && strcmp(e->tenant, tenant) == 0 && strcmp(e->cl.id, id) == 0;
}

/* Frees an entry's strings and metadata; client_cache.mu held. */
static void cache_clear(struct cached_client *e)
{
    free(e->tenant);
    free((char *)e->cl.id);
    free((char *)e->cl.auth_method);
    free((char *)e->cl.id_token_alg);
    free((char *)e->cl.secret_hash);
    free((char *)e->cl.registration_token_hash);
    gh_client_release(&e->cl);
    e->tenant = NULL;
    e->loaded_ms = 0;
}

static char *dup_or_null(const char *s, bool *ok)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *ok = false;
    return d;
}

/* Copies a client into the arena (metadata: a new reference). */
static bool client_copy_out(gh_arena *a, const gh_client *from, gh_client *out)
{
    *out = *from;
    out->id = gh_arena_strdup(a, from->id);
    out->auth_method = gh_arena_strdup(a, from->auth_method);
    out->id_token_alg = gh_arena_strdup(a, from->id_token_alg);
    out->secret_hash = from->secret_hash ? gh_arena_strdup(a, from->secret_hash) : NULL;
    out->registration_token_hash =
        from->registration_token_hash ? gh_arena_strdup(a, from->registration_token_hash) : NULL;
    out->metadata = json_incref(from->metadata);
    if (!out->id || !out->auth_method || !out->id_token_alg ||
        (from->secret_hash && !out->secret_hash) ||
        (from->registration_token_hash && !out->registration_token_hash)) {
        gh_client_release(out);
        return false;
    }
    return true;
}

/* Drops a client from this process's cache (after a change to it). */
static void client_cache_forget(const char *tenant, const char *id)
{
    pthread_mutex_lock(&client_cache.mu);
    client_cache.generation++;
    struct cached_client *e = &client_cache.slot[cache_slot(tenant, id)];
    if (cache_holds(e, tenant, id))
        cache_clear(e);
    pthread_mutex_unlock(&client_cache.mu);
}

/* Puts a client just read from the store into slot i, unless a change came
 * in between (gen is the generation when the read began). */
static void cache_put(size_t i, const char *tenant, const gh_client *cl, int64_t now,
                      unsigned long gen)
{
    bool ok = true;
    struct cached_client fresh = {.cl = *cl, .loaded_ms = now};
    fresh.tenant = dup_or_null(tenant, &ok);
    fresh.cl.id = dup_or_null(cl->id, &ok);
    fresh.cl.auth_method = dup_or_null(cl->auth_method, &ok);
    fresh.cl.id_token_alg = dup_or_null(cl->id_token_alg, &ok);
    fresh.cl.secret_hash = dup_or_null(cl->secret_hash, &ok);
    fresh.cl.registration_token_hash = dup_or_null(cl->registration_token_hash, &ok);
    fresh.cl.metadata = json_incref(cl->metadata);
    pthread_mutex_lock(&client_cache.mu);
    if (ok && gen == client_cache.generation) {
        cache_clear(&client_cache.slot[i]);
        client_cache.slot[i] = fresh;
    } else {
        cache_clear(&fresh);
    }
    pthread_mutex_unlock(&client_cache.mu);
}

gh_dbrc gh_clients_get_cached(const gh_ctx *x, const char *id, gh_client *out)
{
    memset(out, 0, sizeof(*out));
    int64_t now = gh_mono_ms();
    size_t i = cache_slot(x->tenant, id);
    pthread_mutex_lock(&client_cache.mu);
    struct cached_client *e = &client_cache.slot[i];
    bool hit = cache_holds(e, x->tenant, id) && now - e->loaded_ms < CLIENT_CACHE_MS &&
               client_copy_out(x->arena, &e->cl, out);
    unsigned long gen = client_cache.generation;
    pthread_mutex_unlock(&client_cache.mu);
    gh_metrics_client_cache(hit);
    if (hit)
        return GH_DB_OK;

    gh_dbconn *c = gh_ctx_db(x); /* only now: a hit takes no connection */
    if (!c)
        return GH_DB_BUSY;
    gh_dbrc rc = gh_clients_get(c, x->arena, x->tenant, id, out);
    if (rc == GH_DB_OK)
        cache_put(i, x->tenant, out, now, gen);
    return rc;
}

/* A member of an update, with JSON null taken as absent (as validation does). */
static json_t *present(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_null(v) ? NULL : v;
}

static gh_dbrc refuse_update(gh_client_error *err, const char *why)
{
    err->error = "invalid_client_metadata";
    snprintf(err->description, sizeof(err->description), "%s", why);
    return GH_DB_INVALID;
}

/* RFC 7592 2.2: the client sends its whole configuration back; client_id
 * and client_secret are checked, server-issued fields are ignored (they are
 * not metadata, so validation drops them). */
gh_dbrc gh_clients_update(gh_dbconn *c, gh_arena *a, const gh_client_actor *who, const char *issuer,
                          const gh_client *cur, const json_t *metadata, json_t **response,
                          gh_client_error *err)
{
    *response = NULL;
    if (!json_is_object(metadata))
        return refuse_update(err, "the metadata must be a JSON object");
    json_t *idv = present(metadata, "client_id");
    if (idv && (!json_is_string(idv) || strcmp(json_string_value(idv), cur->id) != 0))
        return refuse_update(err, "client_id does not match this client");
    json_t *sv = present(metadata, "client_secret");
    if (sv) {
        char h[2 * GH_SHA256_BYTES + 1];
        const char *s = json_string_value(sv);
        gh_secret_hash(s ? s : "", h);
        if (!s || !cur->secret_hash || !gh_secret_equal(h, cur->secret_hash))
            return refuse_update(err, "client_secret is not the current secret of this client");
    }
    json_t *m = gh_client_metadata_validate(metadata, err);
    if (!m)
        return GH_DB_INVALID;
    const char *method = json_string_value(json_object_get(m, "token_endpoint_auth_method"));
    const char *secret = NULL;
    const char *secret_hash = NULL;
    if (secret_method(method)) {
        secret_hash = cur->secret_hash;
        if (!secret_hash) {
            secret = gh_token(a);
            secret_hash = secret ? hash_of(a, secret) : NULL;
        }
    }
    gh_client cl = *cur;
    cl.metadata = m;
    cl.auth_method = method;
    cl.is_public = strcmp(method, "none") == 0;
    cl.secret_hash = secret_hash;
    cl.updated_at = gh_now_ms();
    const char *text = metadata_text(a, m);
    if (!text || (secret_method(method) && !secret_hash)) {
        json_decref(m);
        return GH_DB_FAIL;
    }
    gh_dbrc rc = gh_db_begin(c);
    if (rc == GH_DB_OK) {
        rc = gh_store_client_update(c, a, who->tenant, &cl, text);
        if (rc == GH_DB_OK)
            rc = audit(
                c, a, who, "client.updated", cl.id,
                json_pack("{s:s, s:b}", "auth_method", method, "secret_issued", secret != NULL));
        rc = finish(c, rc);
    }
    client_cache_forget(who->tenant, cl.id);
    if (rc == GH_DB_OK)
        *response = view(&cl, issuer, secret, NULL);
    json_decref(m);
    return rc;
}

gh_dbrc gh_clients_rotate_secret(gh_dbconn *c, gh_arena *a, const gh_client_actor *who,
                                 const char *id, const char **secret)
{
    gh_client cl;
    *secret = NULL;
    gh_dbrc rc = gh_clients_get(c, a, who->tenant, id, &cl);
    if (rc != GH_DB_OK)
        return rc;
    const char *text = NULL, *fresh = NULL;
    if (!secret_method(cl.auth_method)) {
        rc = GH_DB_INVALID;
        goto out;
    }
    text = metadata_text(a, cl.metadata);
    fresh = text ? gh_token(a) : NULL;
    cl.secret_hash = fresh ? hash_of(a, fresh) : NULL;
    cl.updated_at = gh_now_ms();
    rc = cl.secret_hash ? gh_db_begin(c) : GH_DB_FAIL;
    if (rc != GH_DB_OK)
        goto out;
    rc = gh_store_client_update(c, a, who->tenant, &cl, text);
    if (rc == GH_DB_OK)
        rc = audit(c, a, who, "client.secret_rotated", cl.id, NULL);
    rc = finish(c, rc);
    client_cache_forget(who->tenant, id);
    if (rc == GH_DB_OK)
        *secret = fresh;
out:
    gh_client_release(&cl);
    return rc;
}

gh_dbrc gh_clients_delete(gh_dbconn *c, gh_arena *a, const gh_client_actor *who, const char *id)
{
    gh_dbrc rc = gh_db_begin(c);
    if (rc != GH_DB_OK)
        return rc;
    rc = gh_store_client_delete(c, a, who->tenant, id);
    if (rc == GH_DB_OK)
        rc = audit(c, a, who, "client.deleted", id, NULL);
    rc = finish(c, rc);
    client_cache_forget(who->tenant, id);
    return rc;
}

gh_dbrc gh_clients_set_first_party(gh_dbconn *c, gh_arena *a, const gh_client_actor *who,
                                   const char *id, bool first_party)
{
    gh_dbrc rc = gh_db_begin(c);
    if (rc != GH_DB_OK)
        return rc;
    rc = gh_store_client_set_first_party(c, a, who->tenant, id, first_party);
    if (rc == GH_DB_OK)
        rc = audit(c, a, who, "client.first_party", id,
                   json_pack("{s:b}", "first_party", first_party));
    rc = finish(c, rc);
    client_cache_forget(who->tenant, id);
    return rc;
}
