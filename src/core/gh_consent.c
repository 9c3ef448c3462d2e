#include "gh_consent.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit_ctx.h"
#include "gh_clock.h"
#include "gh_consent_rule.h"
#include "gh_crypto.h"
#include "gh_store_consent.h"
#include "gh_utf8.h"

enum {
    MAX_TITLE = 200,
    MAX_DESCRIPTION = 2000,
    MAX_LABEL = 300,
    MAX_VERSION = 64,
    MAX_URL = 2048,
    MAX_SUMMARY = 2000
};

/* ---- what the store holds, gathered once per call ---- */

struct catalog {
    gh_consent_purpose_row *p;
    size_t np;
    gh_consent_document_row *d;
    size_t nd;
};

static gh_dbrc catalog_load(const gh_ctx *x, gh_dbconn *c, struct catalog *k)
{
    memset(k, 0, sizeof(*k));
    if (!c)
        return GH_DB_BUSY;
    gh_dbrc rc = gh_store_consent_purposes(c, x->arena, x->tenant, &k->p, &k->np);
    if (rc == GH_DB_OK && k->np > 0)
        rc = gh_store_consent_documents(c, x->arena, x->tenant, NULL, &k->d, &k->nd);
    return rc;
}

/* The document of purpose key in effect now, or NULL. */
static const gh_consent_document_row *current_doc(const gh_ctx *x, const struct catalog *k,
                                                  const char *key)
{
    gh_consent_doc buf[64];
    const gh_consent_document_row *of[64];
    size_t n = 0;
    /* the newest 64 versions of a purpose are considered; older ones can
     * only be in effect when all newer ones are dated later still */
    for (size_t i = k->nd; i-- > 0 && n < 64;) {
        if (strcmp(k->d[i].purpose, key) != 0)
            continue;
        buf[n] = (gh_consent_doc){.effective_at = k->d[i].effective_at, .seq = k->d[i].seq};
        of[n++] = &k->d[i];
    }
    long at = gh_consent_rule_current(buf, n, x->now);
    return at < 0 ? NULL : of[at];
}

static const gh_consent_purpose_row *find_purpose(const struct catalog *k, const char *key)
{
    for (size_t i = 0; key && i < k->np; i++)
        if (strcmp(k->p[i].key, key) == 0)
            return &k->p[i];
    return NULL;
}

/* ---- JSON views ---- */

static json_t *time_json(long long ms)
{
    char t[32];
    gh_rfc3339(ms, t);
    return json_string(t);
}

static json_t *doc_json(const gh_consent_document_row *d)
{
    if (!d)
        return json_null();
    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:o}", "purpose", d->purpose, "version",
                     d->version, "effective_at", time_json(d->effective_at), "url", d->url,
                     "sha256", d->sha256, "summary", d->summary ? d->summary : "", "published_at",
                     time_json(d->published_at));
}

static json_t *purpose_json(const gh_ctx *x, const struct catalog *k,
                            const gh_consent_purpose_row *p, bool with_history)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "key", p->key, "title", p->title,
                          "description", p->description ? p->description : "", "label", p->label,
                          "required", p->required, "document", doc_json(current_doc(x, k, p->key)));
    if (!o || !with_history)
        return o;
    json_t *docs = json_array();
    for (size_t i = 0; i < k->nd; i++)
        if (strcmp(k->d[i].purpose, p->key) == 0)
            json_array_append_new(docs, doc_json(&k->d[i]));
    json_object_set_new(o, "documents", docs);
    json_object_set_new(o, "created_at", time_json(p->created_at));
    return o;
}

json_t *gh_consent_purposes(const gh_ctx *x, gh_dbrc *rc)
{
    struct catalog k;
    *rc = catalog_load(x, gh_ctx_db(x), &k);
    if (*rc != GH_DB_OK)
        return NULL;
    json_t *all = json_array();
    for (size_t i = 0; i < k.np; i++)
        json_array_append_new(all, purpose_json(x, &k, &k.p[i], true));
    return all;
}

json_t *gh_consent_purpose(const gh_ctx *x, const char *key, gh_dbrc *rc)
{
    struct catalog k;
    *rc = catalog_load(x, gh_ctx_db(x), &k);
    if (*rc != GH_DB_OK)
        return NULL;
    const gh_consent_purpose_row *p = find_purpose(&k, key);
    if (!p) {
        *rc = GH_DB_NOTFOUND;
        return NULL;
    }
    return purpose_json(x, &k, p, true);
}

/* What a customer is asked about: a required purpose only once it has a
 * document in effect; an optional one always. */
static bool shown(const gh_ctx *x, const struct catalog *k, const gh_consent_purpose_row *p)
{
    return !p->required || current_doc(x, k, p->key);
}

json_t *gh_consent_to_show(const gh_ctx *x, gh_dbrc *rc)
{
    struct catalog k;
    *rc = catalog_load(x, gh_ctx_db(x), &k);
    if (*rc != GH_DB_OK)
        return NULL;
    json_t *list = json_array();
    /* required first: the page lists what must be accepted above the choices */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < k.np; i++)
            if (k.p[i].required == (pass == 0) && shown(x, &k, &k.p[i]))
                json_array_append_new(list, purpose_json(x, &k, &k.p[i], false));
    return json_pack("{s:o}", "purposes", list);
}

/* ---- the customer's facts ---- */

struct state {
    struct catalog k;
    gh_consent_record_row *r;
    size_t nr;
};

static gh_dbrc state_load(const gh_ctx *x, gh_dbconn *c, const char *user_id, struct state *s)
{
    gh_dbrc rc = catalog_load(x, c, &s->k);
    s->r = NULL;
    s->nr = 0;
    if (rc == GH_DB_OK && s->k.np > 0)
        rc = gh_store_consent_records(c, x->arena, x->tenant, user_id, &s->r, &s->nr);
    return rc;
}

static const gh_consent_record_row *latest(const struct state *s, const char *key)
{
    for (size_t i = s->nr; i-- > 0;)
        if (strcmp(s->r[i].purpose, key) == 0)
            return &s->r[i];
    return NULL;
}

static gh_consent_fact fact_of(const gh_ctx *x, const struct state *s,
                               const gh_consent_purpose_row *p)
{
    const gh_consent_document_row *d = current_doc(x, &s->k, p->key);
    const gh_consent_record_row *r = latest(s, p->key);
    return (gh_consent_fact){.required = p->required,
                             .current = d ? d->version : NULL,
                             .last = r ? gh_consent_decision_parse(r->decision) : GH_CONSENT_NONE,
                             .last_version = r ? r->version : NULL};
}

/* ---- the gate's catalog: cached per tenant ----
 *
 * Every signed-in request asks gh_consent_pending, so its catalog (the
 * required purposes and their documents' versions and dates: all the rule
 * needs) is kept in memory per tenant for GATE_TTL_MS. A publish or a new
 * purpose on this instance drops every copy at once (gate_gen); another
 * instance sharing the database sees it within GATE_TTL_MS
 * (docs/privacy.md "The gate's cost"). Which document is in effect is still
 * worked out per request, so a document whose date comes is in force at
 * that moment. */
enum { GATE_TTL_MS = 1000, GATE_TENANTS = 64 };

struct gate_entry {
    char *tenant; /* NULL: a free slot */
    long long loaded_ms;
    unsigned gen;
    struct catalog k; /* malloc'd, required purposes only; strings key, purpose, version */
    char *strings;    /* one block holding the strings of k */
};

static struct {
    pthread_mutex_t mu;
    struct gate_entry e[GATE_TENANTS];
    unsigned next_victim;
} G = {.mu = PTHREAD_MUTEX_INITIALIZER};
static atomic_uint gate_gen;

static void gate_bump(void)
{
    atomic_fetch_add(&gate_gen, 1);
}

static void gate_entry_free(struct gate_entry *e)
{
    free(e->tenant);
    free(e->k.p);
    free(e->k.d);
    free(e->strings);
    memset(e, 0, sizeof(*e));
}

/* Appends s to the block at *o; returns where it went. */
static const char *gate_str(char **o, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*o, s, n);
    *o += n;
    return *o - n;
}

/* A malloc'd copy of k's required purposes and their documents in e. */
static int gate_entry_fill(struct gate_entry *e, const char *tenant, const struct catalog *k)
{
    size_t np = 0, nd = 0, bytes = 0;
    for (size_t i = 0; i < k->np; i++)
        if (k->p[i].required) {
            np++;
            bytes += strlen(k->p[i].key) + 1;
        }
    for (size_t i = 0; i < k->nd; i++) {
        const gh_consent_purpose_row *p = find_purpose(k, k->d[i].purpose);
        if (p && p->required) {
            nd++;
            bytes += strlen(k->d[i].purpose) + strlen(k->d[i].version) + 2;
        }
    }
    e->tenant = strdup(tenant);
    e->k.p = calloc(np + 1, sizeof(*e->k.p));
    e->k.d = calloc(nd + 1, sizeof(*e->k.d));
    e->strings = malloc(bytes + 1);
    if (!e->tenant || !e->k.p || !e->k.d || !e->strings)
        return -1;
    char *o = e->strings;
    for (size_t i = 0; i < k->np; i++)
        if (k->p[i].required)
            e->k.p[e->k.np++] =
                (gh_consent_purpose_row){.key = gate_str(&o, k->p[i].key), .required = true};
    for (size_t i = 0; i < k->nd; i++) {
        const gh_consent_purpose_row *p = find_purpose(k, k->d[i].purpose);
        if (p && p->required)
            e->k.d[e->k.nd++] = (gh_consent_document_row){.purpose = gate_str(&o, k->d[i].purpose),
                                                          .version = gate_str(&o, k->d[i].version),
                                                          .effective_at = k->d[i].effective_at,
                                                          .seq = k->d[i].seq};
    }
    return 0;
}

/* A copy of e's catalog in the arena (the entry may be replaced later). */
static int gate_copy_out(gh_arena *a, const struct gate_entry *e, struct catalog *k)
{
    memset(k, 0, sizeof(*k));
    k->p = gh_arena_alloc(a, (e->k.np + 1) * sizeof(*k->p));
    k->d = gh_arena_alloc(a, (e->k.nd + 1) * sizeof(*k->d));
    if (!k->p || !k->d)
        return -1;
    for (size_t i = 0; i < e->k.np; i++)
        k->p[i] =
            (gh_consent_purpose_row){.key = gh_arena_strdup(a, e->k.p[i].key), .required = true};
    for (size_t i = 0; i < e->k.nd; i++)
        k->d[i] = (gh_consent_document_row){.purpose = gh_arena_strdup(a, e->k.d[i].purpose),
                                            .version = gh_arena_strdup(a, e->k.d[i].version),
                                            .effective_at = e->k.d[i].effective_at,
                                            .seq = e->k.d[i].seq};
    k->np = e->k.np;
    k->nd = e->k.nd;
    return 0;
}

/* The tenant's gate catalog from the cache when fresh; else from the
 * database, then cached. */
static gh_dbrc gate_catalog(const gh_ctx *x, gh_dbconn *c, struct catalog *k)
{
    long long now = gh_mono_ms();
    unsigned gen = atomic_load(&gate_gen);
    int got = -1;
    pthread_mutex_lock(&G.mu);
    for (size_t i = 0; i < GATE_TENANTS; i++) {
        struct gate_entry *e = &G.e[i];
        if (e->tenant && strcmp(e->tenant, x->tenant) == 0 && e->gen == gen &&
            now - e->loaded_ms < GATE_TTL_MS) {
            got = gate_copy_out(x->arena, e, k);
            break;
        }
    }
    pthread_mutex_unlock(&G.mu);
    if (got == 0)
        return GH_DB_OK;
    struct catalog full;
    gh_dbrc rc = catalog_load(x, c, &full);
    if (rc != GH_DB_OK)
        return rc;
    struct gate_entry fresh = {.loaded_ms = now, .gen = gen};
    if (gate_entry_fill(&fresh, x->tenant, &full) != 0 || gate_copy_out(x->arena, &fresh, k) != 0) {
        gate_entry_free(&fresh);
        return GH_DB_FAIL;
    }
    pthread_mutex_lock(&G.mu);
    size_t slot = GATE_TENANTS;
    for (size_t i = 0; i < GATE_TENANTS && slot == GATE_TENANTS; i++)
        if (G.e[i].tenant && strcmp(G.e[i].tenant, x->tenant) == 0)
            slot = i;
    for (size_t i = 0; i < GATE_TENANTS && slot == GATE_TENANTS; i++)
        if (!G.e[i].tenant)
            slot = i;
    if (slot == GATE_TENANTS) /* full: the slots are reused in turn */
        slot = G.next_victim++ % GATE_TENANTS;
    gate_entry_free(&G.e[slot]);
    G.e[slot] = fresh;
    pthread_mutex_unlock(&G.mu);
    return GH_DB_OK;
}

gh_dbrc gh_consent_pending(const gh_ctx *x, gh_dbconn *c, const char *user_id, bool *pending)
{
    struct state s = {0};
    *pending = false;
    if (!c)
        return GH_DB_BUSY;
    gh_dbrc rc = gate_catalog(x, c, &s.k);
    if (rc != GH_DB_OK)
        return rc;
    /* nothing can pend without a required purpose whose document is in
     * effect: the customer's records are not read at all */
    bool any = false;
    for (size_t i = 0; i < s.k.np && !any; i++)
        any = current_doc(x, &s.k, s.k.p[i].key) != NULL;
    if (!any)
        return GH_DB_OK;
    rc = gh_store_consent_latest(c, x->arena, x->tenant, user_id, &s.r, &s.nr);
    for (size_t i = 0; rc == GH_DB_OK && i < s.k.np && !*pending; i++) {
        gh_consent_fact f = fact_of(x, &s, &s.k.p[i]);
        *pending = gh_consent_rule_ask(&f) == GH_CONSENT_MUST_ACCEPT;
    }
    return rc;
}

json_t *gh_consent_pending_list(const gh_ctx *x, gh_dbconn *c, const char *user_id, gh_dbrc *rc)
{
    struct state s;
    *rc = state_load(x, c, user_id, &s);
    if (*rc != GH_DB_OK)
        return NULL;
    json_t *list = json_array();
    for (size_t i = 0; i < s.k.np; i++) {
        gh_consent_fact f = fact_of(x, &s, &s.k.p[i]);
        if (gh_consent_rule_ask(&f) != GH_CONSENT_MUST_ACCEPT)
            continue;
        json_t *o = purpose_json(x, &s.k, &s.k.p[i], false);
        /* the version they accepted before, so the page can say "changed" */
        json_object_set_new(o, "accepted_version",
                            f.last == GH_CONSENT_GRANTED && f.last_version
                                ? json_string(f.last_version)
                                : json_null());
        json_array_append_new(list, o);
    }
    return json_pack("{s:o}", "purposes", list);
}

static json_t *record_json(const gh_consent_record_row *r)
{
    return json_pack("{s:s, s:o, s:s, s:s, s:s?, s:s?, s:s, s:s, s:s?, s:s?, s:s, s:s?, s:s?}",
                     "id", r->id, "time", time_json(r->time), "purpose", r->purpose, "decision",
                     r->decision, "version", r->version, "sha256", r->sha256, "wording", r->wording,
                     "channel", r->channel, "ip", r->ip, "user_agent", r->user_agent, "actor",
                     r->actor, "reason", r->reason, "client_id", r->client_id);
}

json_t *gh_consent_history(const gh_ctx *x, gh_dbconn *c, const char *user_id, gh_dbrc *rc)
{
    gh_consent_record_row *r;
    size_t n;
    *rc = c ? gh_store_consent_records(c, x->arena, x->tenant, user_id, &r, &n) : GH_DB_BUSY;
    if (*rc != GH_DB_OK)
        return NULL;
    json_t *all = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(all, record_json(&r[i]));
    return all;
}

json_t *gh_consent_view(const gh_ctx *x, gh_dbconn *c, const char *user_id, gh_dbrc *rc)
{
    struct state s;
    *rc = state_load(x, c, user_id, &s);
    if (*rc != GH_DB_OK)
        return NULL;
    json_t *list = json_array(), *history = json_array();
    for (size_t i = 0; i < s.k.np; i++) {
        const gh_consent_purpose_row *p = &s.k.p[i];
        const gh_consent_record_row *r = latest(&s, p->key);
        if (!r && !shown(x, &s.k, p))
            continue;
        json_t *o = purpose_json(x, &s.k, p, false);
        json_object_set_new(o, "decision", json_string(r ? r->decision : "none"));
        json_object_set_new(o, "version", r && r->version ? json_string(r->version) : json_null());
        json_object_set_new(o, "decided_at", r ? time_json(r->time) : json_null());
        json_array_append_new(list, o);
    }
    for (size_t i = 0; i < s.nr; i++) {
        json_t *o = record_json(&s.r[i]);
        /* the link to the version the record is about, when it is known */
        for (size_t j = 0; j < s.k.nd && s.r[i].version; j++)
            if (strcmp(s.k.d[j].purpose, s.r[i].purpose) == 0 &&
                strcmp(s.k.d[j].version, s.r[i].version) == 0)
                json_object_set_new(o, "url", json_string(s.k.d[j].url));
        json_array_append_new(history, o);
    }
    return json_pack("{s:o, s:o}", "purposes", list, "history", history);
}

/* ---- writing ---- */

static gh_dbrc invalid(char *why, size_t whylen, const char *msg)
{
    snprintf(why, whylen, "%s", msg);
    return GH_DB_INVALID;
}

/* A member that must be a string of 1..max bytes of UTF-8 without control
 * characters (NULL when absent and optional). */
static bool text_member(json_t *in, const char *name, size_t max, bool needed, const char **out)
{
    json_t *v = json_object_get(in, name);
    *out = NULL;
    if (!v)
        return !needed;
    if (!json_is_string(v))
        return false;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if ((needed && n == 0) || n > max || !gh_utf8_valid(s, n) || gh_utf8_has_control(s, n))
        return false;
    *out = s;
    return true;
}

static gh_dbrc commit_or_rollback(gh_dbconn *c, gh_dbrc rc)
{
    if (rc == GH_DB_OK)
        return gh_db_commit(c);
    gh_db_rollback(c);
    return rc;
}

gh_dbrc gh_consent_purpose_add(const gh_ctx *x, const char *actor, json_t *in, json_t **out,
                               char *why, size_t whylen)
{
    const char *key, *title, *desc, *label;
    json_t *req = json_object_get(in, "required");
    *out = NULL;
    if (!json_is_object(in))
        return invalid(why, whylen, "the body must be a JSON object");
    if (!text_member(in, "key", 64, true, &key) || !gh_consent_key_valid(key))
        return invalid(why, whylen, "key: 1 to 64 of a-z, 0-9 and _, starting with a letter");
    if (!text_member(in, "title", MAX_TITLE, true, &title))
        return invalid(why, whylen, "title: a text of 1 to 200 bytes");
    if (!text_member(in, "description", MAX_DESCRIPTION, false, &desc))
        return invalid(why, whylen, "description: a text of at most 2000 bytes");
    if (!text_member(in, "label", MAX_LABEL, false, &label))
        return invalid(why, whylen, "label: a text of 1 to 300 bytes");
    if (req && !json_is_boolean(req))
        return invalid(why, whylen, "required: true or false");
    bool required = json_is_true(req);
    /* the words beside the checkbox, recorded with every decision */
    if (!label)
        label = required ? gh_arena_printf(x->arena, "I accept the %s", title) : title;
    gh_consent_purpose_row p = {.tenant_id = x->tenant,
                                .key = key,
                                .title = title,
                                .description = desc ? desc : "",
                                .label = label,
                                .required = required,
                                .created_at = x->now};
    gh_dbconn *c = gh_ctx_db(x);
    gh_dbrc rc = c ? gh_db_begin(c) : GH_DB_BUSY;
    if (rc != GH_DB_OK)
        return rc;
    rc = gh_store_consent_purpose_insert(c, x->arena, &p);
    if (rc == GH_DB_OK)
        rc = gh_audit_ctx_append(x, c, "consent.purpose_created", NULL, actor, NULL,
                                 json_pack("{s:s, s:b}", "purpose", key, "required", required));
    rc = commit_or_rollback(c, rc);
    if (rc == GH_DB_OK)
        gate_bump();
    if (rc == GH_DB_CONFLICT)
        snprintf(why, whylen, "a purpose with key %s exists", key);
    if (rc == GH_DB_OK)
        *out = gh_consent_purpose(x, key, &rc);
    return rc;
}

static bool is_hex64(const char *s)
{
    if (!s || strlen(s) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool url_ok(const char *u)
{
    return u && (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0) &&
           !strpbrk(u, " \"<>\\");
}

/* The document's hash: of its text when given (and equal to a given
 * sha256), else the given sha256. NULL when neither fits. */
static const char *doc_hash(gh_arena *a, const char *text, const char *given)
{
    if (!text)
        return is_hex64(given) ? given : NULL;
    uint8_t h[GH_SHA256_BYTES];
    char *hex = gh_arena_alloc(a, 2 * GH_SHA256_BYTES + 1);
    if (!hex)
        return NULL;
    gh_sha256(text, strlen(text), h);
    gh_hex(h, sizeof(h), hex);
    return !given || strcmp(given, hex) == 0 ? hex : NULL;
}

gh_dbrc gh_consent_document_publish(const gh_ctx *x, const char *actor, const char *purpose,
                                    json_t *in, json_t **out, char *why, size_t whylen)
{
    const char *version, *eff, *url, *text, *sha, *summary;
    *out = NULL;
    if (!json_is_object(in))
        return invalid(why, whylen, "the body must be a JSON object");
    if (!text_member(in, "version", MAX_VERSION, true, &version))
        return invalid(why, whylen, "version: a text of 1 to 64 bytes");
    if (!text_member(in, "url", MAX_URL, true, &url) || !url_ok(url))
        return invalid(why, whylen, "url: the document's https:// (or http://) address");
    if (!text_member(in, "effective_at", 20, false, &eff))
        return invalid(why, whylen, "effective_at: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
    long long effective = eff ? gh_consent_date_parse(eff) : x->now;
    if (effective < 0)
        return invalid(why, whylen, "effective_at: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
    json_t *tv = json_object_get(in, "text");
    text = json_is_string(tv) ? json_string_value(tv) : NULL;
    if ((tv && !text) || (text && json_string_length(tv) > GH_CONSENT_MAX_TEXT) ||
        (text && !gh_utf8_valid(text, json_string_length(tv))) ||
        (text && strlen(text) != json_string_length(tv)))
        return invalid(why, whylen, "text: the document's text, at most 256 KiB of UTF-8");
    if (!text_member(in, "sha256", 64, false, &sha))
        return invalid(why, whylen, "sha256: 64 lower-case hex digits");
    const char *hash = doc_hash(x->arena, text, sha);
    if (!hash)
        return invalid(why, whylen,
                       "give the text or its sha256 (64 lower-case hex digits); when both, "
                       "the sha256 must be the text's");
    if (!text_member(in, "summary", MAX_SUMMARY, false, &summary))
        return invalid(why, whylen, "summary: a text of at most 2000 bytes");
    gh_consent_document_row d = {.tenant_id = x->tenant,
                                 .purpose = purpose,
                                 .version = version,
                                 .effective_at = effective,
                                 .url = url,
                                 .sha256 = hash,
                                 .body = text,
                                 .summary = summary ? summary : "",
                                 .published_at = x->now};
    gh_dbrc rc = GH_DB_OK;
    json_t *p = gh_consent_purpose(x, purpose, &rc);
    if (!p)
        return rc;
    json_decref(p);
    gh_dbconn *c = gh_ctx_db(x);
    rc = c ? gh_db_begin(c) : GH_DB_BUSY;
    if (rc != GH_DB_OK)
        return rc;
    rc = gh_store_consent_document_insert(c, x->arena, &d);
    if (rc == GH_DB_OK)
        rc = gh_audit_ctx_append(
            x, c, "consent.document_published", NULL, actor, NULL,
            json_pack("{s:s, s:s, s:s}", "purpose", purpose, "version", version, "sha256", hash));
    rc = commit_or_rollback(c, rc);
    if (rc == GH_DB_OK)
        gate_bump();
    if (rc == GH_DB_CONFLICT)
        snprintf(why, whylen, "%s has a version %s already", purpose, version);
    if (rc == GH_DB_OK)
        *out = gh_consent_purpose(x, purpose, &rc);
    return rc;
}

/* Whether the decision fits the purpose and who records it. */
static const char *decision_refused(const gh_consent_purpose_row *p,
                                    const gh_consent_document_row *d, const gh_consent_act *a)
{
    gh_consent_decision dec = gh_consent_decision_parse(a->decision);
    if (dec == GH_CONSENT_NONE)
        return "decision: granted, withdrawn or declined";
    if (!gh_consent_channel_valid(a->channel))
        return "channel: page, api, import or admin";
    if (p->required && dec == GH_CONSENT_WITHDRAWN)
        return "a required purpose cannot be withdrawn; deleting the account is the way to end "
               "it";
    if (p->required && dec == GH_CONSENT_GRANTED && !d)
        return "the purpose has no document in effect to accept";
    bool operator= !a->actor || strcmp(a->actor, a->user_id) != 0;
    if (operator&&(!a->reason || !*a->reason))
        return "an operator's record needs a reason";
    return NULL;
}

gh_dbrc gh_consent_record(const gh_ctx *x, gh_dbconn *c, const gh_consent_act *a, char *why,
                          size_t whylen)
{
    struct catalog k;
    gh_dbrc rc = catalog_load(x, c, &k);
    if (rc != GH_DB_OK)
        return rc;
    const gh_consent_purpose_row *p = find_purpose(&k, a->purpose);
    if (!p)
        return invalid(why, whylen, "no such purpose");
    const gh_consent_document_row *d = current_doc(x, &k, p->key);
    const char *refused = decision_refused(p, d, a);
    if (refused)
        return invalid(why, whylen, refused);
    char id[GH_UUID_STRLEN + 1];
    gh_uuid(id);
    bool operator= strcmp(a->actor, a->user_id) != 0;
    gh_consent_record_row r = {.tenant_id = x->tenant,
                               .id = id,
                               .time = x->now,
                               .user_id = a->user_id,
                               .purpose = p->key,
                               .decision = a->decision,
                               .version = d ? d->version : NULL,
                               .sha256 = d ? d->sha256 : NULL,
                               .wording = p->label,
                               .channel = a->channel,
                               .ip = x->client_ip && *x->client_ip ? x->client_ip : NULL,
                               .user_agent = x->user_agent && *x->user_agent ? x->user_agent : NULL,
                               .actor = a->actor,
                               .reason = operator? a->reason : NULL,
                               .client_id = a->client_id};
    rc = gh_store_consent_record_insert(c, x->arena, &r);
    if (rc == GH_DB_OK)
        rc = gh_audit_ctx_append(x, c, gh_arena_printf(x->arena, "consent.%s", a->decision),
                                 a->user_id, a->actor, r.reason,
                                 json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s?}", "record", id,
                                           "purpose", p->key, "version", r.version, "channel",
                                           a->channel, "decision", a->decision, "client_id",
                                           a->client_id));
    return rc;
}

gh_dbrc gh_consent_signup_check(const gh_ctx *x, gh_dbconn *c, json_t *decisions, char *why,
                                size_t whylen)
{
    struct catalog k;
    gh_dbrc rc = catalog_load(x, c, &k);
    if (rc != GH_DB_OK)
        return rc;
    if (decisions && !json_is_object(decisions))
        return invalid(why, whylen, "consents: an object of purpose keys to true or false");
    const char *key;
    json_t *v;
    json_object_foreach(decisions, key, v)
    {
        const gh_consent_purpose_row *p = find_purpose(&k, key);
        if (!p || !shown(x, &k, p))
            return invalid(why, whylen, "consents: a purpose this sign-up does not ask about");
        if (!json_is_boolean(v))
            return invalid(why, whylen, "consents: each value is true or false");
    }
    for (size_t i = 0; i < k.np; i++) {
        if (!k.p[i].required || !current_doc(x, &k, k.p[i].key))
            continue;
        if (!json_is_true(json_object_get(decisions, k.p[i].key))) {
            snprintf(why, whylen, "Accept the %s to create an account.", k.p[i].title);
            return GH_DB_INVALID;
        }
    }
    return GH_DB_OK;
}

gh_dbrc gh_consent_signup_record(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                 json_t *decisions, const char *channel)
{
    struct catalog k;
    char why[256];
    gh_dbrc rc = catalog_load(x, c, &k);
    /* nothing asked, nothing recorded: a sign-up without "consents" where
     * no purpose is required stays undecided */
    for (size_t i = 0; rc == GH_DB_OK && decisions && i < k.np; i++) {
        if (!shown(x, &k, &k.p[i]))
            continue;
        bool yes = json_is_true(json_object_get(decisions, k.p[i].key));
        gh_consent_act a = {.user_id = user_id,
                            .purpose = k.p[i].key,
                            .decision = yes ? "granted" : "declined",
                            .channel = channel,
                            .actor = user_id};
        rc = gh_consent_record(x, c, &a, why, sizeof(why));
    }
    return rc;
}

gh_dbrc gh_consent_pseudonymise(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                const char *pseudonym, long long *n)
{
    return gh_store_consent_pseudonymise(c, x->arena, x->tenant, user_id, pseudonym, n);
}

/* ---- for applications (issue 20 item 4; docs/privacy.md "For applications") ---- */

json_t *gh_consent_claim(const gh_ctx *x, gh_dbconn *c, const char *user_id, gh_dbrc *rc)
{
    struct state s;
    *rc = state_load(x, c, user_id, &s);
    if (*rc != GH_DB_OK)
        return NULL;
    json_t *o = json_object();
    for (size_t i = 0; i < s.k.np; i++) {
        const gh_consent_purpose_row *p = &s.k.p[i];
        const gh_consent_record_row *r = latest(&s, p->key);
        if (!r && !shown(x, &s.k, p))
            continue;
        /* granted means granted now: a required purpose whose newer
         * version is not accepted yet is not granted */
        gh_consent_fact f = fact_of(x, &s, p);
        bool granted =
            f.last == GH_CONSENT_GRANTED && gh_consent_rule_ask(&f) == GH_CONSENT_SETTLED;
        json_object_set_new(o, p->key,
                            json_pack("{s:b, s:s, s:b, s:o, s:o}", "granted", granted, "decision",
                                      r ? r->decision : "none", "required", p->required, "version",
                                      r && r->version ? json_string(r->version) : json_null(), "at",
                                      r ? json_integer(r->time / 1000) : json_null()));
    }
    return o;
}

/* Calls fn for each space-separated key of keys; stops at the first false. */
static bool each_key(gh_arena *a, const char *keys, bool (*fn)(const char *, void *), void *u)
{
    char *copy = keys ? gh_arena_strdup(a, keys) : NULL, *save = NULL;
    for (char *t = copy ? strtok_r(copy, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save))
        if (!fn(t, u))
            return false;
    return true;
}

struct asked {
    const gh_ctx *x;
    struct state *s;
    const char *bad; /* the first key refused */
    json_t *list;    /* the page's view, when wanted */
    bool undecided;  /* some key was never decided */
};

static bool ask_one(const char *key, void *u)
{
    struct asked *q = u;
    const gh_consent_purpose_row *p = find_purpose(&q->s->k, key);
    if (!p || p->required) {
        q->bad = key;
        return false;
    }
    const gh_consent_record_row *r = latest(q->s, key);
    q->undecided = q->undecided || !r;
    if (q->list) {
        json_t *o = purpose_json(q->x, &q->s->k, p, false);
        json_object_set_new(o, "decision", json_string(r ? r->decision : "none"));
        json_array_append_new(q->list, o);
    }
    return true;
}

gh_dbrc gh_consent_asked(const gh_ctx *x, gh_dbconn *c, const char *user_id, const char *keys,
                         bool *undecided, json_t **view, char *why, size_t whylen)
{
    struct state s;
    gh_dbrc rc = state_load(x, c, user_id ? user_id : "", &s);
    struct asked q = {.x = x, .s = &s, .list = view ? json_array() : NULL};
    if (view)
        *view = NULL;
    if (rc == GH_DB_OK && !each_key(x->arena, keys, ask_one, &q)) {
        snprintf(why, whylen,
                 "purpose: %s is not an optional purpose of this service (unknown, or required: "
                 "required documents are asked by the service itself)",
                 q.bad);
        rc = GH_DB_INVALID;
    }
    if (rc == GH_DB_OK && view)
        *view = q.list;
    else
        json_decref(q.list);
    if (undecided)
        *undecided = rc == GH_DB_OK && q.undecided;
    return rc;
}
