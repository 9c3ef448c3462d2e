#include "gh_tenants.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gh_audit_ctx.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_json.h"
#include "gh_keys.h"
#include "gh_log.h"
#include "gh_metrics.h"
#include "gh_metrics_series.h"
#include "gh_riskpolicy.h"
#include "gh_store_tenants.h"

enum {
    CHECK_MS = 1000,       /* the refresh thread compares fingerprints this often */
    UNKNOWN_GAP_MS = 1000, /* an unknown id re-reads the table at most this often */
    POLICY_DEPTH = 4,
    SCIM_NAME_MAX = 100,
};

/* One tenant of a snapshot; immutable once published. */
typedef struct entry {
    char *id, *name, *host, *status;
    char *issuer; /* https://host when it claims one, else GATEHOUSE_ISSUER/t/id */
    gh_tenant_policy policy;
    gh_risk_policy *risk; /* its own risk policy, compiled; NULL: the server's */
} entry;

typedef struct snapshot {
    atomic_int refs;
    size_t n;
    entry *e;        /* sorted by id */
    entry **by_host; /* the entries with a host, sorted by host */
    size_t nhosts;
    long long count, latest; /* the table's fingerprint when read */
} snapshot;

static struct {
    pthread_mutex_t mu;        /* guards cur */
    pthread_mutex_t reload_mu; /* one reload at a time */
    pthread_mutex_t thread_mu;
    pthread_cond_t cond;
    bool stop, running;
    pthread_t thread;
    snapshot *cur;
    gh_app *app;
    int64_t last_unknown; /* gh_mono_ms of the last re-read for an unknown id */
} T = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .reload_mu = PTHREAD_MUTEX_INITIALIZER,
    .thread_mu = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
};

static void snapshot_free(snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->e[i].id);
        free(s->e[i].name);
        free(s->e[i].host);
        free(s->e[i].status);
        free(s->e[i].issuer);
        free(s->e[i].risk);
    }
    free(s->e);
    free(s->by_host);
    free(s);
}

static snapshot *snapshot_acquire(void)
{
    pthread_mutex_lock(&T.mu);
    snapshot *s = T.cur;
    if (s)
        atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&T.mu);
    return s;
}

static void snapshot_release(snapshot *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        snapshot_free(s);
}

static int by_host_cmp(const void *a, const void *b)
{
    return strcmp((*(entry *const *)a)->host, (*(entry *const *)b)->host);
}

/* The policy stored for a tenant; a row that does not read (altered by
 * hand) falls back to the default policy, with a warning. */
static void read_policy(const char *id, const char *text, gh_tenant_policy *out)
{
    json_t *doc = NULL;
    char why[160];
    json_t *ok = NULL;
    if (text &&
        gh_json_parse(text, strlen(text), POLICY_DEPTH, &doc, why, sizeof(why)) == GH_JSON_OK)
        ok = gh_tenant_policy_check(doc, out, why, sizeof(why));
    if (!ok) {
        gh_log(GH_LOG_WARN, "tenant policy unreadable", "tenant %s: %s; the default applies", id,
               why);
        gh_tenant_policy_default(out);
    }
    json_decref(ok);
    json_decref(doc);
}

/* A tenant's own risk policy, compiled (malloc), or NULL: none, or a text
 * that no longer reads (altered by hand), with a warning; the server's
 * policy applies then. */
static gh_risk_policy *read_risk_policy(const char *id, const char *text)
{
    char why[256] = "";
    if (!text)
        return NULL;
    gh_risk_policy *p = malloc(sizeof(*p));
    if (p && gh_riskpolicy_parse(text, strlen(text), p, why, sizeof(why)) == 0)
        return p;
    gh_log(GH_LOG_WARN, "tenant risk policy unreadable", "tenant %s: %s; the server's applies", id,
           p ? why : "out of memory");
    free(p);
    return NULL;
}

/* The issuer of a tenant (malloc): GATEHOUSE_ISSUER for the default one,
 * the scheme of GATEHOUSE_ISSUER and the host for one that claims a host,
 * else GATEHOUSE_ISSUER/t/{id}. */
static char *issuer_of(const gh_config *cfg, const char *id, const char *host)
{
    char *out = NULL;
    size_t n = strlen(cfg->issuer);
    if (n && cfg->issuer[n - 1] == '/')
        n--;
    int rc;
    if (strcmp(id, GH_TENANT_DEFAULT_ID) == 0)
        rc = asprintf(&out, "%s", cfg->issuer);
    else if (host)
        rc = asprintf(&out, "%s://%s", strncmp(cfg->issuer, "https:", 6) == 0 ? "https" : "http",
                      host);
    else
        rc = asprintf(&out, "%.*s/t/%s", (int)n, cfg->issuer, id);
    return rc < 0 ? NULL : out;
}

static snapshot *build(const gh_config *cfg, const gh_tenant_row *rows, size_t n, long long count,
                       long long latest)
{
    snapshot *s = calloc(1, sizeof(*s));
    if (!s ||
        (n && (!(s->e = calloc(n, sizeof(entry))) || !(s->by_host = calloc(n, sizeof(entry *)))))) {
        snapshot_free(s);
        return NULL;
    }
    atomic_init(&s->refs, 1);
    s->count = count;
    s->latest = latest;
    for (size_t i = 0; i < n; i++) {
        entry *e = &s->e[s->n++];
        e->id = strdup(rows[i].id);
        e->name = strdup(rows[i].name ? rows[i].name : rows[i].id);
        e->status = strdup(rows[i].status ? rows[i].status : "active");
        e->host = rows[i].host ? strdup(rows[i].host) : NULL;
        e->issuer = e->id ? issuer_of(cfg, e->id, e->host) : NULL;
        if (!e->id || !e->name || !e->status || !e->issuer || (rows[i].host && !e->host)) {
            snapshot_free(s);
            return NULL;
        }
        read_policy(e->id, rows[i].policy, &e->policy);
        e->risk = read_risk_policy(e->id, rows[i].risk_policy);
        if (strcmp(e->status, "deleted") == 0)
            continue;
        if (e->host)
            s->by_host[s->nhosts++] = e;
        gh_metrics_tenant_known(e->id); /* its journey series at zero from now on */
    }
    if (s->nhosts) /* by_host is NULL for no tenants */
        qsort(s->by_host, s->nhosts, sizeof(entry *), by_host_cmp);
    return s;
}

/* Reads the table when its fingerprint differs from the snapshot's (always
 * with force). wait: for a database connection. T.reload_mu held. */
static int reload_locked(bool force, bool wait)
{
    gh_db *db = T.app ? T.app->db : NULL;
    gh_dbconn *c = db ? (wait ? gh_db_acquire(db) : gh_db_try_acquire(db)) : NULL;
    gh_arena *a = gh_arena_new(0);
    gh_tenant_row *rows = NULL;
    size_t n = 0;
    long long count = 0, latest = 0;
    int rc = -1;
    if (!c || !a || gh_store_tenants_stamp(c, a, &count, &latest) != GH_DB_OK)
        goto out;
    snapshot *cur = snapshot_acquire();
    bool same = cur && cur->count == count && cur->latest == latest;
    snapshot_release(cur);
    if (same && !force) {
        rc = 0;
        goto out;
    }
    if (gh_store_tenants_all(c, a, &rows, &n) != GH_DB_OK)
        goto out;
    snapshot *s = build(T.app->cfg, rows, n, count, latest);
    if (!s)
        goto out;
    pthread_mutex_lock(&T.mu);
    snapshot *old = T.cur;
    T.cur = s;
    pthread_mutex_unlock(&T.mu);
    snapshot_release(old);
    rc = 0;
out:
    gh_db_release(c);
    gh_arena_free(a);
    return rc;
}

void gh_tenants_reload(void)
{
    if (!T.app) /* a command: no snapshot to refresh */
        return;
    pthread_mutex_lock(&T.reload_mu);
    if (reload_locked(true, true) != 0)
        gh_log(GH_LOG_WARN, "tenants not re-read", "the database did not answer");
    pthread_mutex_unlock(&T.reload_mu);
}

static void *refresher(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&T.thread_mu);
    while (!T.stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += CHECK_MS / 1000;
        while (!T.stop && pthread_cond_timedwait(&T.cond, &T.thread_mu, &until) != ETIMEDOUT)
            ;
        if (T.stop)
            break;
        pthread_mutex_unlock(&T.thread_mu);
        pthread_mutex_lock(&T.reload_mu);
        reload_locked(false, false);
        pthread_mutex_unlock(&T.reload_mu);
        pthread_mutex_lock(&T.thread_mu);
    }
    pthread_mutex_unlock(&T.thread_mu);
    return NULL;
}

int gh_tenants_init(gh_app *app, char *err, size_t errlen)
{
    gh_tenants_shutdown();
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&T.cond);
    pthread_cond_init(&T.cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_lock(&T.reload_mu);
    T.app = app;
    int rc = reload_locked(true, true);
    pthread_mutex_unlock(&T.reload_mu);
    if (rc != 0) {
        snprintf(err, errlen, "tenants: cannot read them");
        T.app = NULL;
        return -1;
    }
    pthread_mutex_lock(&T.thread_mu);
    T.stop = false;
    T.running = pthread_create(&T.thread, NULL, refresher, NULL) == 0;
    pthread_mutex_unlock(&T.thread_mu);
    if (!T.running) {
        snprintf(err, errlen, "tenants: cannot start the refresh thread");
        gh_tenants_shutdown();
        return -1;
    }
    return 0;
}

void gh_tenants_shutdown(void)
{
    pthread_mutex_lock(&T.thread_mu);
    bool running = T.running;
    T.stop = true;
    pthread_cond_broadcast(&T.cond);
    pthread_mutex_unlock(&T.thread_mu);
    if (running)
        pthread_join(T.thread, NULL);
    pthread_mutex_lock(&T.thread_mu);
    T.running = false;
    T.stop = false;
    pthread_mutex_unlock(&T.thread_mu);
    pthread_mutex_lock(&T.reload_mu);
    pthread_mutex_lock(&T.mu);
    snapshot *old = T.cur;
    T.cur = NULL;
    pthread_mutex_unlock(&T.mu);
    T.app = NULL;
    pthread_mutex_unlock(&T.reload_mu);
    snapshot_release(old);
}

static const entry *find_in(const snapshot *s, const char *id)
{
    size_t lo = 0, hi = s ? s->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(id, s->e[mid].id);
        if (c == 0)
            return &s->e[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static void fill(gh_arena *a, const entry *e, gh_tenant_info *out)
{
    out->id = gh_arena_strdup(a, e->id);
    out->name = gh_arena_strdup(a, e->name);
    out->host = e->host ? gh_arena_strdup(a, e->host) : NULL;
    out->status = gh_arena_strdup(a, e->status);
    out->issuer = gh_arena_strdup(a, e->issuer);
    out->active = strcmp(e->status, "active") == 0;
    out->policy = e->policy;
}

/* An id the snapshot does not know may be a tenant another instance just
 * made: re-read, at most once a second, by one thread, with a connection
 * only if one is free at once. */
static void reload_for_unknown(void)
{
    if (pthread_mutex_trylock(&T.reload_mu) != 0)
        return;
    int64_t now = gh_mono_ms();
    if (T.app && now - T.last_unknown >= UNKNOWN_GAP_MS) {
        T.last_unknown = now;
        reload_locked(false, false);
    }
    pthread_mutex_unlock(&T.reload_mu);
}

bool gh_tenants_find(gh_arena *a, const char *id, gh_tenant_info *out)
{
    if (!id || !gh_tenant_id_valid(id))
        return false;
    snapshot *s = snapshot_acquire();
    const entry *e = find_in(s, id);
    if (!e && s) {
        snapshot_release(s);
        reload_for_unknown();
        s = snapshot_acquire();
        e = find_in(s, id);
    }
    if (e)
        fill(a, e, out);
    snapshot_release(s);
    return e != NULL;
}

bool gh_tenants_by_host(gh_arena *a, const char *host, gh_tenant_info *out)
{
    char low[GH_TENANT_HOST_MAX + 1];
    size_t n = host ? strlen(host) : 0;
    if (n == 0 || n > GH_TENANT_HOST_MAX)
        return false;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)((host[i] >= 'A' && host[i] <= 'Z') ? host[i] + 32 : host[i]);
    snapshot *s = snapshot_acquire();
    const entry *e = NULL;
    size_t lo = 0, hi = s ? s->nhosts : 0;
    while (!e && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(low, s->by_host[mid]->host);
        if (c == 0)
            e = s->by_host[mid];
        else if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (e)
        fill(a, e, out);
    snapshot_release(s);
    return e != NULL;
}

void gh_tenants_policy(const gh_ctx *x, gh_tenant_policy *out)
{
    snapshot *s = snapshot_acquire();
    const entry *e = find_in(s, x->tenant ? x->tenant : GH_TENANT_DEFAULT_ID);
    if (e)
        *out = e->policy;
    else
        gh_tenant_policy_default(out);
    snapshot_release(s);
}

const gh_risk_policy *gh_tenants_risk_policy(const char *id, const void **hold)
{
    snapshot *s = snapshot_acquire();
    const entry *e = id ? find_in(s, id) : NULL;
    if (!e || !e->risk) {
        snapshot_release(s);
        *hold = NULL;
        return NULL;
    }
    *hold = s;
    return e->risk;
}

void gh_tenants_release(const void *hold)
{
    snapshot_release((snapshot *)hold);
}

const char *gh_tenants_issuer(gh_arena *a, const gh_config *cfg, const char *id)
{
    const char *host = NULL;
    snapshot *s = snapshot_acquire();
    const entry *e = id ? find_in(s, id) : NULL;
    if (e && e->host)
        host = gh_arena_strdup(a, e->host);
    snapshot_release(s);
    char *made = issuer_of(cfg, id ? id : GH_TENANT_DEFAULT_ID, host);
    const char *out = made ? gh_arena_strdup(a, made) : NULL;
    free(made);
    return out;
}

/* ---- the service ---- */

static json_t *view_of(const gh_ctx *x, const gh_tenant_row *t)
{
    json_t *policy = NULL;
    char why[64];
    if (gh_json_parse(t->policy ? t->policy : "{}", strlen(t->policy ? t->policy : "{}"),
                      POLICY_DEPTH, &policy, why, sizeof(why)) != GH_JSON_OK)
        policy = json_object();
    gh_tenant_policy p;
    json_t *full = gh_tenant_policy_check(policy, &p, why, sizeof(why));
    json_decref(policy);
    char *made = issuer_of(x->cfg, t->id, t->host);
    const char *issuer = made ? gh_arena_strdup(x->arena, made) : "";
    free(made);
    return json_pack("{s:s, s:s, s:s, s:s?, s:s, s:o, s:I, s:I}", "id", t->id, "display_name",
                     t->name, "status", t->status, "host", t->host, "issuer", issuer, "policy",
                     full ? full : json_object(), "created_at", (json_int_t)t->created_at,
                     "updated_at", (json_int_t)t->updated_at);
}

json_t *gh_tenants_view(const gh_ctx *x, const char *id)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_tenant_row t;
    if (!c || gh_store_tenant_get(c, x->arena, id, &t) != GH_DB_OK ||
        strcmp(t.status, "deleted") == 0)
        return NULL;
    return view_of(x, &t);
}

json_t *gh_tenants_list(const gh_ctx *x)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_tenant_row *rows = NULL;
    size_t n = 0;
    if (!c || gh_store_tenants_all(c, x->arena, &rows, &n) != GH_DB_OK)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (strcmp(rows[i].status, "deleted") != 0)
            json_array_append_new(arr, view_of(x, &rows[i]));
    return arr;
}

/* An event about tenant in tenant's own chain, which need not be x's
 * (creating or deleting another tenant); details stolen. */
static gh_dbrc audit(const gh_ctx *x, gh_dbconn *c, const char *tenant, const char *type,
                     const char *actor, json_t *details)
{
    gh_ctx in = *x;
    in.tenant = tenant;
    return gh_audit_ctx_append(&in, c, type, tenant, actor, NULL, details);
}

static gh_tenant_rc from_db(gh_dbrc rc)
{
    switch (rc) {
    case GH_DB_OK:
        return GH_TENANT_OK;
    case GH_DB_CONFLICT:
        return GH_TENANT_EXISTS;
    case GH_DB_NOTFOUND:
        return GH_TENANT_NOTFOUND;
    case GH_DB_BUSY:
        return GH_TENANT_BUSY;
    default:
        return GH_TENANT_FAIL;
    }
}

/* The row of tenant id on c, when it is not deleted. */
static gh_tenant_rc live_row(const gh_ctx *x, gh_dbconn *c, const char *id, gh_tenant_row *t)
{
    if (!c)
        return GH_TENANT_BUSY;
    gh_dbrc rc = gh_store_tenant_get(c, x->arena, id, t);
    if (rc != GH_DB_OK || strcmp(t->status, "deleted") == 0)
        return rc == GH_DB_OK ? GH_TENANT_NOTFOUND : from_db(rc);
    return GH_TENANT_OK;
}

/* Reads "host" of doc into *host: absent leaves it, null clears it. */
static bool read_host(const json_t *doc, const char **host, char *why, size_t whylen)
{
    const json_t *h = json_object_get(doc, "host");
    if (!h)
        return true;
    if (json_is_null(h)) {
        *host = NULL;
        return true;
    }
    if (!gh_tenant_host_valid(json_string_value(h))) {
        snprintf(why, whylen,
                 "host must be a lower-case host name with at least one dot, "
                 "optionally with :port");
        return false;
    }
    *host = json_string_value(h);
    return true;
}

static bool only_members(const json_t *doc, const char *const *known, size_t n, char *why,
                         size_t whylen)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)doc, key, v)
    {
        bool ok = false;
        for (size_t i = 0; i < n; i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok) {
            snprintf(why, whylen, "unknown member: %.64s", key);
            return false;
        }
    }
    return true;
}

gh_tenant_rc gh_tenants_create(const gh_ctx *x, const json_t *doc, const char *actor, char *why,
                               size_t whylen)
{
    static const char *const known[] = {"id", "display_name", "host", "policy"};
    gh_tenant_policy p;
    if (!json_is_object(doc)) {
        snprintf(why, whylen, "the body must be a JSON object");
        return GH_TENANT_INVALID;
    }
    if (!only_members(doc, known, 4, why, whylen))
        return GH_TENANT_INVALID;
    const char *id = json_string_value(json_object_get(doc, "id"));
    const char *name = json_string_value(json_object_get(doc, "display_name"));
    const char *host = NULL;
    if (!gh_tenant_id_valid(id)) {
        snprintf(why, whylen,
                 "id must be 1 to 63 of a-z, 0-9 and '-', not starting or ending "
                 "with '-'");
        return GH_TENANT_INVALID;
    }
    if (strcmp(id, GH_METRIC_TENANT_OTHER) == 0) {
        /* its journey series would be those of the tenants past the slots */
        snprintf(why, whylen,
                 "id \"%s\" is reserved: /metrics counts the tenants past "
                 "GATEHOUSE_METRICS_TENANTS under that name",
                 GH_METRIC_TENANT_OTHER);
        return GH_TENANT_INVALID;
    }
    if (!gh_tenant_name_valid(name)) {
        snprintf(why, whylen, "display_name must be 1 to 100 bytes of text");
        return GH_TENANT_INVALID;
    }
    if (!read_host(doc, &host, why, whylen))
        return GH_TENANT_INVALID;
    json_t *policy = gh_tenant_policy_check(json_object_get(doc, "policy"), &p, why, whylen);
    if (!policy)
        return GH_TENANT_INVALID;
    char *ptext = json_dumps(policy, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(policy);
    gh_tenant_row t = {.id = id,
                       .name = name,
                       .status = "active",
                       .host = host,
                       .policy = ptext ? gh_arena_strdup(x->arena, ptext) : NULL,
                       .created_at = x->now,
                       .updated_at = x->now};
    free(ptext);
    gh_dbconn *c = gh_ctx_db(x);
    if (!c)
        return GH_TENANT_BUSY;
    if (!t.policy)
        return GH_TENANT_FAIL;
    gh_tenant_row existing;
    gh_dbrc rc = gh_store_tenant_get(c, x->arena, id, &existing);
    if (rc == GH_DB_OK)
        return GH_TENANT_EXISTS;
    if (rc != GH_DB_NOTFOUND)
        return from_db(rc);
    if ((rc = gh_db_begin(c)) != GH_DB_OK)
        return from_db(rc);
    gh_store_tenant_insert(c, x->arena, &t);
    audit(x, c, id, "tenant.created", actor,
          json_pack("{s:s, s:s?}", "display_name", name, "host", host));
    rc = gh_db_commit(c);
    if (rc != GH_DB_OK)
        return from_db(rc);
    /* Keys are made after the commit (RSA takes tens of ms); a failure here
     * is repaired by the first signature, which makes what is missing. */
    char err[256];
    if (gh_keys_make_for(x->cfg, c, id, err, sizeof(err)) != 0)
        gh_log(GH_LOG_WARN, "tenant keys not made", "tenant %s: %s", id, err);
    gh_tenants_reload();
    return GH_TENANT_OK;
}

gh_tenant_rc gh_tenants_update(const gh_ctx *x, const char *id, const json_t *doc,
                               const char *actor, char *why, size_t whylen)
{
    static const char *const known[] = {"display_name", "host", "policy"};
    gh_dbconn *c = gh_ctx_db(x);
    gh_tenant_row t;
    if (!json_is_object(doc)) {
        snprintf(why, whylen, "the body must be a JSON object");
        return GH_TENANT_INVALID;
    }
    if (!only_members(doc, known, 3, why, whylen))
        return GH_TENANT_INVALID;
    gh_tenant_rc found = live_row(x, c, id, &t);
    if (found != GH_TENANT_OK)
        return found;
    gh_dbrc rc;
    const json_t *name = json_object_get(doc, "display_name");
    if (name && !gh_tenant_name_valid(json_string_value(name))) {
        snprintf(why, whylen, "display_name must be 1 to 100 bytes of text");
        return GH_TENANT_INVALID;
    }
    if (name)
        t.name = json_string_value(name);
    if (!read_host(doc, &t.host, why, whylen))
        return GH_TENANT_INVALID;
    if (json_object_get(doc, "policy")) {
        gh_tenant_policy p;
        json_t *policy = gh_tenant_policy_check(json_object_get(doc, "policy"), &p, why, whylen);
        if (!policy)
            return GH_TENANT_INVALID;
        char *ptext = json_dumps(policy, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(policy);
        t.policy = ptext ? gh_arena_strdup(x->arena, ptext) : NULL;
        free(ptext);
        if (!t.policy)
            return GH_TENANT_FAIL;
    }
    t.updated_at = x->now > t.updated_at ? x->now : t.updated_at + 1;
    if ((rc = gh_db_begin(c)) != GH_DB_OK)
        return from_db(rc);
    gh_store_tenant_update(c, x->arena, &t);
    json_t *changed = json_array();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)doc, key, v) json_array_append_new(changed, json_string(key));
    audit(x, c, id, "tenant.updated", actor, json_pack("{s:o}", "changed", changed));
    rc = gh_db_commit(c);
    if (rc == GH_DB_OK)
        gh_tenants_reload();
    return from_db(rc);
}

static gh_tenant_rc change_status(const gh_ctx *x, const char *id, const char *status,
                                  const char *actor, bool wipe)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_tenant_row t;
    if (strcmp(id, GH_TENANT_DEFAULT_ID) == 0)
        return GH_TENANT_DEFAULT;
    gh_tenant_rc found = live_row(x, c, id, &t);
    if (found != GH_TENANT_OK)
        return found;
    gh_dbrc rc;
    const char *was = t.status;
    t.status = status;
    t.updated_at = x->now > t.updated_at ? x->now : t.updated_at + 1;
    if (wipe)
        t.host = NULL; /* a deleted tenant's host may be claimed again */
    if ((rc = gh_db_begin(c)) != GH_DB_OK)
        return from_db(rc);
    gh_store_tenant_update(c, x->arena, &t);
    if (wipe)
        gh_store_tenant_wipe_secrets(c, x->arena, id);
    audit(x, c, id, wipe ? "tenant.deleted" : "tenant.status_changed", actor,
          json_pack("{s:s, s:s}", "from", was, "to", status));
    rc = gh_db_commit(c);
    if (rc == GH_DB_OK) {
        gh_tenants_reload();
        if (wipe) {
            char err[160];
            gh_keys_reload(err, sizeof(err));
        }
    }
    return from_db(rc);
}

gh_tenant_rc gh_tenants_set_risk_policy(const gh_ctx *x, const char *id, const char *text,
                                        size_t len, const char *actor, char *why, size_t whylen)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_tenant_row t;
    gh_risk_policy *p = NULL;
    gh_tenant_rc out = GH_TENANT_INVALID;
    if (text && len > GH_TENANT_RISK_POLICY_MAX) {
        snprintf(why, whylen, "the policy is larger than %d bytes", GH_TENANT_RISK_POLICY_MAX);
        return GH_TENANT_INVALID;
    }
    /* checked as the server checks its policy file: errors name the line */
    if (text && (!(p = malloc(sizeof(*p))) || gh_riskpolicy_parse(text, len, p, why, whylen) != 0))
        goto out;
    if ((out = c ? GH_TENANT_OK : GH_TENANT_BUSY) != GH_TENANT_OK)
        goto out;
    gh_dbrc rc = gh_store_tenant_get(c, x->arena, id, &t);
    if (rc != GH_DB_OK || strcmp(t.status, "deleted") == 0) {
        out = rc == GH_DB_OK ? GH_TENANT_NOTFOUND : from_db(rc);
        goto out;
    }
    t.risk_policy = text ? gh_arena_strndup(x->arena, text, len) : NULL;
    t.updated_at = x->now > t.updated_at ? x->now : t.updated_at + 1;
    if ((rc = gh_db_begin(c)) != GH_DB_OK) {
        out = from_db(rc);
        goto out;
    }
    gh_store_tenant_update(c, x->arena, &t);
    audit(x, c, id, "tenant.risk_policy_changed", actor,
          json_pack("{s:s?}", "version", p ? p->version : NULL));
    out = from_db(gh_db_commit(c));
    if (out == GH_TENANT_OK)
        gh_tenants_reload();
out:
    free(p);
    return out;
}

json_t *gh_tenants_risk_policy_view(const gh_ctx *x, const char *id, const char *server_version)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_tenant_row t;
    gh_risk_policy *p = NULL;
    char why[256];
    if (!c || gh_store_tenant_get(c, x->arena, id, &t) != GH_DB_OK ||
        strcmp(t.status, "deleted") == 0)
        return NULL;
    if (!t.risk_policy)
        return json_pack("{s:s, s:s}", "source", "server", "version", server_version);
    p = malloc(sizeof(*p));
    bool ok =
        p && gh_riskpolicy_parse(t.risk_policy, strlen(t.risk_policy), p, why, sizeof(why)) == 0;
    json_t *v = json_pack("{s:s, s:s?, s:s}", "source", "tenant", "version", ok ? p->version : NULL,
                          "text", t.risk_policy);
    free(p);
    return v;
}

gh_tenant_rc gh_tenants_set_status(const gh_ctx *x, const char *id, const char *status,
                                   const char *actor)
{
    if (strcmp(status, "active") != 0 && strcmp(status, "disabled") != 0)
        return GH_TENANT_INVALID;
    return change_status(x, id, status, actor, false);
}

gh_tenant_rc gh_tenants_delete(const gh_ctx *x, const char *id, const char *actor)
{
    return change_status(x, id, "deleted", actor, true);
}

/* ---- SCIM tokens ---- */

gh_tenant_rc gh_tenants_scim_token_new(const gh_ctx *x, const char *name, const char **id,
                                       const char **token)
{
    char hash[2 * GH_SHA256_BYTES + 1], uuid[GH_UUID_STRLEN + 1];
    gh_dbconn *c = gh_ctx_db(x);
    size_t n = name ? strlen(name) : 0;
    if (!name || n == 0 || n > SCIM_NAME_MAX || !gh_tenant_name_valid(name))
        return GH_TENANT_INVALID;
    if (!c)
        return GH_TENANT_BUSY;
    char *t = gh_token(x->arena);
    if (!t)
        return GH_TENANT_FAIL;
    gh_secret_hash(t, hash);
    gh_uuid(uuid);
    gh_dbrc rc = gh_db_begin(c);
    if (rc != GH_DB_OK)
        return from_db(rc);
    gh_store_scim_token_insert(c, x->arena, x->tenant, uuid, hash, name, x->now);
    audit(x, c, x->tenant, "scim_token.created", "admin",
          json_pack("{s:s, s:s}", "token_id", uuid, "name", name));
    rc = gh_db_commit(c);
    if (rc != GH_DB_OK)
        return from_db(rc);
    *id = gh_arena_strdup(x->arena, uuid);
    *token = t;
    return GH_TENANT_OK;
}

bool gh_tenants_scim_token_ok(const gh_ctx *x, const char *token)
{
    char hash[2 * GH_SHA256_BYTES + 1];
    gh_dbconn *c = gh_ctx_db(x);
    if (!c || !token || !token[0] || strlen(token) > 256)
        return false;
    gh_secret_hash(token, hash);
    return gh_store_scim_token_check(c, x->arena, x->tenant, hash) == GH_DB_OK;
}

gh_tenant_rc gh_tenants_scim_token_revoke(const gh_ctx *x, const char *id)
{
    gh_dbconn *c = gh_ctx_db(x);
    if (!c)
        return GH_TENANT_BUSY;
    gh_dbrc rc = gh_db_begin(c);
    if (rc != GH_DB_OK)
        return from_db(rc);
    gh_dbrc r1 = gh_store_scim_token_revoke(c, x->arena, x->tenant, id, x->now);
    if (r1 == GH_DB_OK)
        audit(x, c, x->tenant, "scim_token.revoked", "admin", json_pack("{s:s}", "token_id", id));
    rc = gh_db_commit(c);
    return from_db(r1 != GH_DB_OK ? r1 : rc);
}

json_t *gh_tenants_scim_token_list(const gh_ctx *x)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbres r;
    if (!c || gh_store_scim_token_list(c, x->arena, x->tenant, &r) != GH_DB_OK)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < r.nrows; i++) {
        const char *revoked = gh_dbres_get(&r, i, 3);
        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:I, s:o}", "id", gh_dbres_get(&r, i, 0), "name",
                      gh_dbres_get(&r, i, 1), "created_at", (json_int_t)gh_dbres_int(&r, i, 2),
                      "revoked_at", revoked ? json_integer(gh_dbres_int(&r, i, 3)) : json_null()));
    }
    return arr;
}

/* ---- signing keys ---- */

typedef struct rotation {
    const gh_ctx *x;
    const char *id, *actor;
} rotation;

/* The audit event of a rotation, in its transaction (gh_keys_in_tx). */
static gh_dbrc audit_rotation(void *arg, gh_dbconn *c, const char *es_kid, const char *rs_kid,
                              int64_t retired_until)
{
    const rotation *ro = arg;
    return audit(ro->x, c, ro->id, "keys.rotated", ro->actor,
                 json_pack("{s:s, s:s, s:I}", "ES256", es_kid, "RS256", rs_kid,
                           "retired_published_until", (json_int_t)retired_until));
}

gh_tenant_rc gh_tenants_rotate_keys(const gh_ctx *x, const char *id, const char *actor,
                                    char es_kid[64], char rs_kid[64], char *why, size_t whylen)
{
    gh_dbconn *c = gh_ctx_db(x);
    gh_tenant_row t;
    gh_tenant_rc found = live_row(x, c, id, &t);
    if (found != GH_TENANT_OK)
        return found;
    rotation ro = {.x = x, .id = id, .actor = actor};
    if (gh_keys_rotate_on(x->cfg, c, x->arena, id, audit_rotation, &ro, es_kid, rs_kid, why,
                          whylen) != 0)
        return GH_TENANT_FAIL;
    return GH_TENANT_OK;
}
