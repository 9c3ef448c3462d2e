#include "gh_resources.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gh_audit.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_json.h"
#include "gh_log.h"
#include "gh_oauth.h"
#include "gh_store.h"
#include "gh_utf8.h"

enum {
    IDENTIFIER_MAX = 512,
    NAME_MAX_BYTES = 200,
    DESCRIPTION_MAX = 200,
    RESOURCE_SCOPES_MAX = GH_MAX_SCOPES,
    INTROSPECTORS_MAX = 16,
    TTL_MAX_S = GH_RESOURCE_TTL_MAX_S,
    CACHE_MS = 1000,
    BODY_DEPTH = 8,
};

/* ---- validation (pure) ---- */

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

/* RFC 8707 2: an absolute URI without a fragment. http(s) or urn. */
static bool identifier_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > IDENTIFIER_MAX || !printable_ascii(s) || strchr(s, '#'))
        return false;
    if (strncmp(s, "https://", 8) == 0)
        return n > 8 && s[8] != '/';
    if (strncmp(s, "http://", 7) == 0)
        return n > 7 && s[7] != '/';
    return strncmp(s, "urn:", 4) == 0 && n > 4;
}

static bool text_ok(const json_t *v, size_t maxb)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (!s || n == 0 || n > maxb || json_string_length(v) != n || !gh_utf8_valid(s, n))
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static json_t *fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return NULL;
}

json_t *gh_resource_validate(const json_t *in, const char *issuer, char *why, size_t whylen)
{
    static const char *const known[] = {
        "identifier",           "name", "scopes", "access_token_ttl", "access_token_format",
        "introspection_clients"};
    if (!json_is_object(in))
        return fail(why, whylen, "the resource must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok = ok || strcmp(key, known[i]) == 0;
        /* read-only members of a view sent back unchanged are ignored */
        if (!ok && strcmp(key, "id") != 0 && strcmp(key, "created_at") != 0 &&
            strcmp(key, "updated_at") != 0)
            return fail(why, whylen, "unknown member \"%.64s\"", key);
    }
    const char *ident = json_string_value(json_object_get(in, "identifier"));
    if (!ident || !identifier_valid(ident))
        return fail(why, whylen,
                    "identifier must be an absolute URI (https://, http:// or urn:) without a "
                    "fragment, at most %d bytes",
                    IDENTIFIER_MAX);
    if (issuer && strcmp(ident, issuer) == 0)
        return fail(why, whylen, "identifier must not be the issuer");
    json_t *name = json_object_get(in, "name");
    if (!text_ok(name, NAME_MAX_BYTES))
        return fail(why, whylen, "name must be text of 1 to %d bytes", NAME_MAX_BYTES);
    json_t *scopes = json_object_get(in, "scopes");
    if (!json_is_object(scopes) || json_object_size(scopes) == 0 ||
        json_object_size(scopes) > RESOURCE_SCOPES_MAX)
        return fail(why, whylen, "scopes must be an object of 1 to %d scope: description members",
                    RESOURCE_SCOPES_MAX);
    json_t *out_scopes = json_object();
    json_object_foreach(scopes, key, v)
    {
        char tmp[GH_MAX_SCOPE_LEN + 1];
        gh_arena *a = gh_arena_new(0);
        const char *norm = a ? gh_scope_normalise(a, key) : NULL;
        bool one = norm && strlen(key) <= GH_MAX_SCOPE_LEN && strcmp(norm, key) == 0 && *key &&
                   !strchr(key, ' ');
        if (one)
            snprintf(tmp, sizeof(tmp), "%s", key);
        gh_arena_free(a);
        if (!one) {
            json_decref(out_scopes);
            return fail(why, whylen, "\"%.64s\" is not a scope token (RFC 6749 3.3)", key);
        }
        if (gh_scope_has(GH_SCOPES_STANDARD, tmp)) {
            json_decref(out_scopes);
            return fail(why, whylen, "\"%s\" is an OpenID Connect scope, not a resource's", tmp);
        }
        if (!text_ok(v, DESCRIPTION_MAX)) {
            json_decref(out_scopes);
            return fail(why, whylen,
                        "scope \"%.64s\" needs a description (text of 1 to %d bytes): "
                        "consent shows it to the user",
                        tmp, DESCRIPTION_MAX);
        }
        json_object_set_new(out_scopes, key, json_string(json_string_value(v)));
    }
    json_t *ttl = json_object_get(in, "access_token_ttl");
    if (ttl && !json_is_null(ttl) &&
        (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
         json_integer_value(ttl) > TTL_MAX_S)) {
        json_decref(out_scopes);
        return fail(why, whylen, "access_token_ttl must be whole seconds from 1 to %d", TTL_MAX_S);
    }
    json_t *fmt = json_object_get(in, "access_token_format");
    if (fmt && !json_is_null(fmt) &&
        (!json_is_string(fmt) || strcmp(json_string_value(fmt), "jwt") != 0)) {
        json_decref(out_scopes);
        return fail(why, whylen, "access_token_format must be \"jwt\" (RFC 9068)");
    }
    json_t *ic = json_object_get(in, "introspection_clients");
    json_t *out_ic = json_array();
    if (ic && !json_is_null(ic)) {
        size_t i;
        json_t *c;
        if (!json_is_array(ic) || json_array_size(ic) > INTROSPECTORS_MAX) {
            json_decref(out_scopes);
            json_decref(out_ic);
            return fail(why, whylen,
                        "introspection_clients must be an array of at most %d client ids",
                        INTROSPECTORS_MAX);
        }
        json_array_foreach(ic, i, c)
        {
            if (!text_ok(c, 128) || !printable_ascii(json_string_value(c))) {
                json_decref(out_scopes);
                json_decref(out_ic);
                return fail(why, whylen, "introspection_clients must hold client ids");
            }
            json_array_append_new(out_ic, json_string(json_string_value(c)));
        }
    }
    return json_pack("{s:s, s:O, s:o, s:I, s:s, s:o}", "identifier", ident, "name", name, "scopes",
                     out_scopes, "access_token_ttl",
                     (json_int_t)(json_is_integer(ttl) ? json_integer_value(ttl) : 0),
                     "access_token_format", "jwt", "introspection_clients", out_ic);
}

/* ---- the store ---- */

#define COLUMNS                                                                                    \
    "id, identifier, name, scopes, access_token_ttl, access_token_format, introspection_clients, " \
    "created_at, updated_at"

static json_t *parse_text(const char *s)
{
    json_t *doc = NULL;
    char why[64];
    if (!s || gh_json_parse(s, strlen(s), BODY_DEPTH, &doc, why, sizeof(why)) != GH_JSON_OK)
        return NULL;
    return doc;
}

/* All resources of the tenant as a JSON array (new reference), or NULL. */
static json_t *load_tenant(gh_dbconn *c, gh_arena *a, const char *tenant, gh_dbrc *rc_out)
{
    static const char sql[] =
        "SELECT " COLUMNS " FROM resources WHERE tenant_id = $1 ORDER BY identifier";
    gh_dbparam p[] = {GH_TEXT(tenant)};
    gh_dbres res;
    gh_dbrc rc = c ? gh_db_exec(c, a, sql, p, 1, &res) : GH_DB_BUSY;
    if (rc_out)
        *rc_out = rc;
    if (rc != GH_DB_OK)
        return NULL;
    json_t *all = json_array();
    for (size_t i = 0; i < res.nrows; i++) {
        json_t *scopes = parse_text(gh_dbres_get(&res, i, 3));
        json_t *ic = parse_text(gh_dbres_get(&res, i, 6));
        long long ttl = gh_dbres_int(&res, i, 4);
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:o, s:I, s:s, s:o, s:I, s:I}", "id", gh_dbres_get(&res, i, 0),
            "identifier", gh_dbres_get(&res, i, 1), "name", gh_dbres_get(&res, i, 2), "scopes",
            scopes ? scopes : json_object(), "access_token_ttl", (json_int_t)ttl,
            "access_token_format", gh_dbres_get(&res, i, 5), "introspection_clients",
            ic ? ic : json_array(), "created_at", (json_int_t)gh_dbres_int(&res, i, 7),
            "updated_at", (json_int_t)gh_dbres_int(&res, i, 8));
        if (o)
            json_array_append_new(all, o);
    }
    return all;
}

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

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *cache_all;
static long long cache_at;

static void cache_drop(void)
{
    pthread_mutex_lock(&cache_mu);
    json_decref(cache_all);
    cache_all = NULL;
    pthread_mutex_unlock(&cache_mu);
}

/* New reference to the snapshot, loading it when older than CACHE_MS. Only
 * the default tenant's resources are cached (the only tenant today). */
static json_t *snapshot(const gh_ctx *x)
{
    if (strcmp(x->tenant, GH_DEFAULT_TENANT) != 0)
        return load_tenant(gh_ctx_db(x), x->arena, x->tenant, NULL);
    long long now = gh_now_ms();
    pthread_mutex_lock(&cache_mu);
    if (cache_all && now - cache_at < CACHE_MS) {
        json_t *s = json_incref(cache_all);
        pthread_mutex_unlock(&cache_mu);
        return s;
    }
    pthread_mutex_unlock(&cache_mu);
    json_t *all = load_tenant(gh_ctx_db(x), x->arena, x->tenant, NULL);
    if (!all)
        return NULL;
    pthread_mutex_lock(&cache_mu);
    json_decref(cache_all);
    cache_all = json_incref(all);
    cache_at = now;
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
    json_t *all = load_tenant(c, a, GH_DEFAULT_TENANT, NULL);
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
    json_t *d = json_pack("{s:s, s:s}", "resource_id", id, "identifier", identifier);
    gh_audit_event ev = {.tenant_id = x->tenant,
                         .type = type,
                         .subject = id,
                         .actor = actor,
                         .ip = x->client_ip,
                         .user_agent = x->user_agent,
                         .outcome = "success",
                         .details = d};
    gh_dbrc rc = gh_audit_append(gh_ctx_db(x), x->arena, &ev);
    json_decref(d);
    return rc;
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
    json_t *all = load_tenant(c, a, x->tenant, &rc);
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
    if (rc == GH_DB_OK && !id) {
        gh_uuid(newid);
        static const char sql[] = "INSERT INTO resources (tenant_id, " COLUMNS
                                  ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        gh_dbparam p[] = {GH_TEXT(x->tenant), GH_TEXT(newid), GH_TEXT(ident), GH_TEXT(name),
                          GH_TEXT(scopes),    GH_INT(ttl),    GH_TEXT("jwt"), GH_TEXT(ic),
                          GH_INT(now),        GH_INT(now)};
        rc = gh_db_exec(c, a, sql, p, 10, NULL);
        id = newid;
        if (rc == GH_DB_OK)
            rc = audit(x, actor, "resource.created", id, ident);
    } else if (rc == GH_DB_OK) {
        static const char sql[] =
            "UPDATE resources SET identifier = $3, name = $4, scopes = $5, access_token_ttl = $6, "
            "introspection_clients = $7, updated_at = $8 WHERE tenant_id = $1 AND id = $2";
        gh_dbparam p[] = {GH_TEXT(x->tenant), GH_TEXT(id), GH_TEXT(ident), GH_TEXT(name),
                          GH_TEXT(scopes),    GH_INT(ttl), GH_TEXT(ic),    GH_INT(now)};
        rc = gh_db_exec_change(c, a, sql, p, 8, GH_DB_NOTFOUND);
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
    static const char sql[] =
        "DELETE FROM resources WHERE tenant_id = $1 AND id = $2 RETURNING identifier";
    gh_dbparam p[] = {GH_TEXT(x->tenant), GH_TEXT(id)};
    gh_dbres res;
    rc = gh_db_exec_row(c, a, sql, p, 2, &res);
    if (rc == GH_DB_OK)
        rc = audit(x, actor, "resource.deleted", id, gh_dbres_get(&res, 0, 0));
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
    return load_tenant(gh_ctx_db(x), x->arena, x->tenant, rc);
}

json_t *gh_resources_get(const gh_ctx *x, const char *id, gh_dbrc *rc)
{
    json_t *all = load_tenant(gh_ctx_db(x), x->arena, x->tenant, rc);
    json_t *one = all && id ? json_incref(find_in(all, "id", id)) : NULL;
    if (all && !one)
        *rc = GH_DB_NOTFOUND;
    json_decref(all);
    return one;
}

/* ---- gatehouse resource ---- */

void gh_resources_usage(FILE *out)
{
    fputs("usage: gatehouse resource create --identifier URI --name NAME\n"
          "                                  --scope SCOPE=DESCRIPTION [--scope ...]\n"
          "                                  [--access-token-ttl SECONDS]\n"
          "                                  [--introspection-client CLIENT_ID ...]\n"
          "       gatehouse resource list\n"
          "       gatehouse resource show ID\n"
          "       gatehouse resource delete ID\n"
          "\n"
          "A resource is an API access tokens can be for (RFC 8707): its identifier\n"
          "is the tokens' aud, its scopes are what clients may ask for, and each\n"
          "scope's description is what the consent page shows.\n",
          out);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gatehouse: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see gatehouse help resource)\n", stderr);
    va_end(ap);
    return 2;
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

/* The document `create` describes, or NULL after a usage error. */
static json_t *cli_doc(int argc, char **argv, int *code)
{
    json_t *in = json_object(), *scopes = json_object(), *ic = json_array();
    json_object_set(in, "scopes", scopes);
    for (int i = 0; i < argc; i++) {
        bool missing = false;
        const char *v;
        if (!gh_utf8_valid(argv[i], strlen(argv[i]))) {
            *code = usage_error("arguments must be UTF-8 text");
            goto bad;
        }
        if ((v = opt(argc, argv, &i, "--identifier", &missing)))
            json_object_set_new(in, "identifier", json_string(v));
        else if ((v = opt(argc, argv, &i, "--name", &missing)))
            json_object_set_new(in, "name", json_string(v));
        else if ((v = opt(argc, argv, &i, "--scope", &missing))) {
            const char *eq = strchr(v, '=');
            if (!eq) {
                *code = usage_error("--scope takes SCOPE=DESCRIPTION");
                goto bad;
            }
            char *key = strndup(v, (size_t)(eq - v));
            if (key)
                json_object_set_new(scopes, key, json_string(eq + 1));
            free(key);
        } else if ((v = opt(argc, argv, &i, "--access-token-ttl", &missing))) {
            char *end = NULL;
            long long ttl = strtoll(v, &end, 10);
            if (!*v || *end) {
                *code = usage_error("--access-token-ttl takes whole seconds");
                goto bad;
            }
            json_object_set_new(in, "access_token_ttl", json_integer(ttl));
        } else if ((v = opt(argc, argv, &i, "--introspection-client", &missing)))
            json_array_append_new(ic, json_string(v));
        else if (!missing) {
            *code = usage_error("unknown option \"%.64s\"", argv[i]);
            goto bad;
        }
        if (missing) {
            *code = usage_error("%.64s needs a value", argv[i]);
            goto bad;
        }
    }
    json_object_set(in, "introspection_clients", ic);
    json_decref(scopes);
    json_decref(ic);
    return in;
bad:
    json_decref(in);
    json_decref(scopes);
    json_decref(ic);
    return NULL;
}

int gh_resources_command(gh_config *cfg, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : NULL;
    if (!sub)
        return usage_error("resource needs a subcommand: create, list, show or delete");
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        gh_resources_usage(stdout);
        return 0;
    }
    json_t *doc = NULL;
    char why[256] = "";
    int code = 2;
    if (strcmp(sub, "create") == 0) {
        json_t *in = cli_doc(argc - 1, argv + 1, &code);
        if (!in)
            return code;
        doc = gh_resource_validate(in, cfg->issuer, why, sizeof(why));
        json_decref(in);
        if (!doc) {
            fprintf(stderr, "gatehouse: %s\n", why);
            return 2;
        }
    } else if (strcmp(sub, "list") == 0) {
        if (argc != 1)
            return usage_error("resource list takes no arguments");
    } else if (strcmp(sub, "show") == 0 || strcmp(sub, "delete") == 0) {
        if (argc != 2)
            return usage_error("usage: gatehouse resource %s ID", sub);
    } else {
        return usage_error("unknown resource subcommand \"%.64s\"", sub);
    }
    char err[512] = "";
    gh_db *db = gh_db_open_store(cfg->database, cfg->database_is_postgres, 1, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "gatehouse: %s\n", err);
        json_decref(doc);
        return 1;
    }
    gh_dbconn *c = gh_db_acquire(db);
    gh_arena *a = gh_arena_new(0);
    gh_ctx x = {.tenant = GH_DEFAULT_TENANT,
                .db = c,
                .arena = a,
                .cfg = cfg,
                .now = gh_now_ms(),
                .client_ip = "",
                .user_agent = ""};
    gh_dbrc rc = GH_DB_BUSY;
    code = 1;
    if (c && a && doc) {
        json_t *out = NULL;
        rc = gh_resources_save(&x, "cli", NULL, doc, &out, why, sizeof(why));
        if (rc == GH_DB_OK)
            print_json(out);
    } else if (c && a && strcmp(sub, "delete") == 0) {
        rc = gh_resources_delete(&x, "cli", argv[1]);
        if (rc == GH_DB_OK)
            printf("deleted resource %s\n", argv[1]);
    } else if (c && a) {
        json_t *doc_out =
            argc == 2 ? gh_resources_get(&x, argv[1], &rc) : gh_resources_list(&x, &rc);
        if (doc_out)
            print_json(doc_out);
    }
    if (rc == GH_DB_OK)
        code = 0;
    else if (rc == GH_DB_NOTFOUND)
        fprintf(stderr, "gatehouse: no resource with id \"%.128s\"\n", argv[1]);
    else if (rc == GH_DB_CONFLICT)
        fprintf(stderr, "gatehouse: %s\n", why);
    else
        fprintf(stderr, "gatehouse: the resource command failed: %s\n", gh_dbrc_str(rc));
    json_decref(doc);
    gh_arena_free(a);
    if (c)
        gh_db_release(c);
    gh_db_close(db);
    return code;
}
