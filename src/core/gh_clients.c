/*
 * gh_clients: the OAuth client model, registration and management shared by
 * the HTTP endpoints and the command line (validation: proto/gh_client_meta),
 * and the cache that client authentication (handlers/gh_client_auth) reads
 * through.
 */
#include "gh_clients.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit.h"
#include "gh_crypto.h"
#include "gh_json.h"
#include "gh_oauth.h"
#include "gh_resources.h"
#include "gh_store.h"
#include "gh_utf8.h"

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

/* ---- the command line ---- */

void gh_clients_usage(FILE *out)
{
    fprintf(out, "Usage: gatehouse client <subcommand>\n\n"
                 "Manages the OAuth clients in GATEHOUSE_DATABASE (default tenant).\n\n"
                 "  create --name NAME [--redirect-uri URI]... [--grant TYPE]... [--auth METHOD]\n"
                 "         [--first-party] [--post-logout-redirect-uri URI]...\n"
                 "         [--backchannel-logout-uri URI] [--jwks FILE] [--id-token-alg ALG]\n"
                 "         [--scope SCOPE]\n"
                 "      registers a client under the same rules as POST /register and prints its\n"
                 "      configuration as JSON, with the client secret (secret-based methods) and\n"
                 "      the registration access token: they are shown this once only.\n"
                 "      TYPE: authorization_code (default), refresh_token, client_credentials.\n"
                 "      METHOD: client_secret_basic (default), client_secret_post,\n"
                 "      private_key_jwt (needs --jwks, a file holding a JWK Set of public keys),\n"
                 "      none (a public client; PKCE is required). ALG: ES256 (default) or RS256.\n"
                 "      --first-party: the client is the operator's own; no consent screen.\n"
                 "  list\n"
                 "      prints every client's configuration as a JSON array (no secrets).\n"
                 "  delete ID\n"
                 "      deletes a client and its grants (codes, refresh tokens, consents).\n"
                 "  first-party ID on|off\n"
                 "      marks a client first-party (consent not asked) or third-party.\n\n"
                 "Exit codes: 0 done, 1 failure (unknown client, database error), 2 usage or\n"
                 "invalid metadata.\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gatehouse: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see gatehouse help client)\n", stderr);
    va_end(ap);
    return 2;
}

static gh_db *cli_open(gh_config *cfg)
{
    char err[512] = "";
    gh_db *db = gh_db_open_store(cfg->database, cfg->database_is_postgres, 1, err, sizeof(err));
    if (!db)
        fprintf(stderr, "gatehouse: %s\n", err);
    return db;
}

static void print_json(json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) {
        puts(text);
        free(text);
    }
    json_decref(doc);
}

static int db_failure(gh_dbrc rc, const char *what, const char *id)
{
    if (rc == GH_DB_NOTFOUND)
        fprintf(stderr, "gatehouse: no client with id \"%.128s\"\n", id);
    else
        fprintf(stderr, "gatehouse: could not %s: %s\n", what, gh_dbrc_str(rc));
    return 1;
}

/* The value of option argv[*i] ("--name VALUE" or "--name=VALUE"), or NULL
 * when argv[*i] is not that option. *missing is set when it has no value. */
static const char *opt(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static json_t *read_json_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "gatehouse: --jwks: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(GH_CLIENT_JWKS_TEXT_MAX * 4 + 1);
    size_t n = buf ? fread(buf, 1, GH_CLIENT_JWKS_TEXT_MAX * 4, f) : 0;
    bool too_big = buf && n == GH_CLIENT_JWKS_TEXT_MAX * 4 && fgetc(f) != EOF;
    fclose(f);
    json_t *doc = NULL;
    char why[160] = "out of memory";
    if (buf && !too_big && gh_json_parse(buf, n, 16, &doc, why, sizeof(why)) != GH_JSON_OK)
        doc = NULL;
    if (!doc)
        fprintf(stderr, "gatehouse: --jwks: %s: %s\n", path,
                too_big ? "the file is too large" : why);
    free(buf);
    return doc;
}

static int cli_create(gh_config *cfg, int argc, char **argv)
{
    json_t *m = json_object();
    json_t *redirects = json_array(), *grants = json_array(), *logouts = json_array();
    bool first_party = false;
    int code = 2;
    for (int i = 0; i < argc; i++) {
        if (!gh_utf8_valid(argv[i], strlen(argv[i]))) {
            usage_error("arguments must be UTF-8 text");
            goto out;
        }
    }
    for (int i = 0; i < argc; i++) {
        bool missing = false;
        const char *v;
        if ((v = opt(argc, argv, &i, "--name", &missing)))
            json_object_set_new(m, "client_name", json_string(v));
        else if ((v = opt(argc, argv, &i, "--redirect-uri", &missing)))
            json_array_append_new(redirects, json_string(v));
        else if ((v = opt(argc, argv, &i, "--grant", &missing)))
            json_array_append_new(grants, json_string(v));
        else if ((v = opt(argc, argv, &i, "--auth", &missing)))
            json_object_set_new(m, "token_endpoint_auth_method", json_string(v));
        else if ((v = opt(argc, argv, &i, "--post-logout-redirect-uri", &missing)))
            json_array_append_new(logouts, json_string(v));
        else if ((v = opt(argc, argv, &i, "--backchannel-logout-uri", &missing)))
            json_object_set_new(m, "backchannel_logout_uri", json_string(v));
        else if ((v = opt(argc, argv, &i, "--id-token-alg", &missing)))
            json_object_set_new(m, "id_token_signed_response_alg", json_string(v));
        else if ((v = opt(argc, argv, &i, "--scope", &missing)))
            json_object_set_new(m, "scope", json_string(v));
        else if ((v = opt(argc, argv, &i, "--jwks", &missing))) {
            json_t *jwks = read_json_file(v);
            if (!jwks)
                goto out;
            json_object_set_new(m, "jwks", jwks);
        } else if (strcmp(argv[i], "--first-party") == 0)
            first_party = true;
        else if (missing) {
            usage_error("%s needs a value", argv[i]);
            goto out;
        } else {
            usage_error("client create: unknown argument \"%.64s\"", argv[i]);
            goto out;
        }
        if (missing) {
            usage_error("%s needs a value", argv[i]);
            goto out;
        }
    }
    const char *name = json_string_value(json_object_get(m, "client_name"));
    if (!name) {
        usage_error("client create needs --name NAME");
        goto out;
    }
    if (json_array_size(redirects) > 0)
        json_object_set(m, "redirect_uris", redirects);
    if (json_array_size(grants) > 0)
        json_object_set(m, "grant_types", grants);
    if (json_array_size(logouts) > 0)
        json_object_set(m, "post_logout_redirect_uris", logouts);

    gh_db *db = cli_open(cfg);
    if (!db) {
        code = 1;
        goto out;
    }
    gh_dbconn *c = gh_db_acquire(db);
    gh_arena *a = gh_arena_new(0);
    gh_client_actor who = {.tenant = GH_DEFAULT_TENANT, .actor = "cli"};
    gh_client_error err;
    json_t *resp = NULL;
    gh_dbrc rc = c && a ? GH_DB_OK : GH_DB_BUSY;
    /* the same rule as /register: only scopes the server knows */
    const char *scope = json_string_value(json_object_get(m, "scope"));
    const char *norm = scope && a ? gh_scope_normalise(a, scope) : NULL;
    if (rc == GH_DB_OK && norm && !gh_resources_scope_known_db(c, a, norm)) {
        err.error = "invalid_client_metadata";
        snprintf(err.description, sizeof(err.description),
                 "scope names a scope this server does not know: register the resource that "
                 "defines it first");
        rc = GH_DB_INVALID;
    }
    if (rc == GH_DB_OK)
        rc = gh_clients_register(c, a, &who, cfg->issuer, m, first_party, &resp, &err);
    if (rc == GH_DB_OK) {
        print_json(resp);
        code = 0;
    } else if (rc == GH_DB_INVALID) {
        fprintf(stderr, "gatehouse: %s: %s\n", err.error, err.description);
        code = 2;
    } else {
        code = db_failure(rc, "register the client", "");
    }
    gh_arena_free(a);
    if (c)
        gh_db_release(c);
    gh_db_close(db);
out:
    json_decref(m);
    json_decref(redirects);
    json_decref(grants);
    json_decref(logouts);
    return code;
}

int gh_clients_command(gh_config *cfg, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : NULL;
    if (!sub)
        return usage_error("client needs a subcommand: create, list, delete or first-party");
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        gh_clients_usage(stdout);
        return 0;
    }
    if (strcmp(sub, "create") == 0)
        return cli_create(cfg, argc - 1, argv + 1);
    bool on = false;
    if (strcmp(sub, "list") == 0) {
        if (argc != 1)
            return usage_error("client list takes no arguments");
    } else if (strcmp(sub, "delete") == 0) {
        if (argc != 2)
            return usage_error("usage: gatehouse client delete ID");
    } else if (strcmp(sub, "first-party") == 0) {
        if (argc != 3 || (strcmp(argv[2], "on") != 0 && strcmp(argv[2], "off") != 0))
            return usage_error("usage: gatehouse client first-party ID on|off");
        on = strcmp(argv[2], "on") == 0;
    } else {
        return usage_error("unknown client subcommand \"%.64s\"", sub);
    }

    gh_db *db = cli_open(cfg);
    if (!db)
        return 1;
    gh_dbconn *c = gh_db_acquire(db);
    gh_arena *a = gh_arena_new(0);
    gh_client_actor who = {.tenant = GH_DEFAULT_TENANT, .actor = "cli"};
    int code = 1;
    if (!c || !a) {
        fprintf(stderr, "gatehouse: the database is busy\n");
    } else if (strcmp(sub, "list") == 0) {
        gh_client *v = NULL;
        size_t n = 0;
        gh_dbrc rc = gh_store_client_list(c, a, GH_DEFAULT_TENANT, &v, &n);
        if (rc == GH_DB_OK) {
            json_t *arr = json_array();
            for (size_t i = 0; i < n; i++) {
                json_array_append_new(arr, gh_client_view(&v[i], cfg->issuer));
                gh_client_release(&v[i]);
            }
            print_json(arr);
            code = 0;
        } else {
            code = db_failure(rc, "list the clients", "");
        }
    } else if (strcmp(sub, "delete") == 0) {
        gh_dbrc rc = gh_clients_delete(c, a, &who, argv[1]);
        if (rc == GH_DB_OK) {
            printf("deleted client %s\n", argv[1]);
            code = 0;
        } else {
            code = db_failure(rc, "delete the client", argv[1]);
        }
    } else {
        gh_dbrc rc = gh_clients_set_first_party(c, a, &who, argv[1], on);
        if (rc == GH_DB_OK) {
            printf("client %s is %s\n", argv[1], on ? "first-party" : "third-party");
            code = 0;
        } else {
            code = db_failure(rc, "change the client", argv[1]);
        }
    }
    gh_arena_free(a);
    if (c)
        gh_db_release(c);
    gh_db_close(db);
    return code;
}
