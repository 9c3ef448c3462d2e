#include "gh_audit.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "gh_audit_log.h"
#include "gh_clock.h"
#include "gh_crypto.h"
#include "gh_metrics_series.h"
#include "gh_log.h"

/* How an append chains its event. */
typedef enum {
    CHAIN_NOW,       /* SQLite: inserted with its chain columns (below) */
    CHAIN_BY_SEALER, /* PostgreSQL server: inserted unsealed, the sealer chains it */
    CHAIN_SEAL_TX,   /* no sealer (commands, tests): inserted, then the tenant sealed */
} chain_mode;

/* Chains r as it is inserted: on SQLite the write transaction holds the one
 * write lock from its BEGIN IMMEDIATE, so reading the head here makes no
 * one wait who was not waiting already, the row is written once, and no
 * event waits unchained for the sealer. It is not faster than leaving the
 * event to the sealer (docs/audit.md "SQLite's appends"). r's hash and
 * prev_hash point into this frame: r is not read after the call. */
static gh_dbrc insert_chained(gh_dbconn *c, gh_arena *a, gh_audit_row *r)
{
    gh_audit_head h;
    char prev[GH_AUDIT_HEX + 1], hash[GH_AUDIT_HEX + 1];
    gh_dbrc rc = gh_audit_log_lock(c, a, r->tenant_id, &h);
    if (rc != GH_DB_OK)
        return rc;
    memcpy(prev, h.hash, sizeof(prev)); /* h moves onto r */
    r->n = h.n + 1;
    r->prev_hash = prev;
    gh_audit_row_hash(r, hash);
    r->hash = hash;
    return gh_audit_log_insert_chained(c, a, r, &h);
}

/* Inserts ev with its pii_digest and seal MAC inside the open transaction,
 * chained as mode says. */
static gh_dbrc append_event(gh_dbconn *c, gh_arena *a, const gh_audit_event *ev,
                            const char *details, chain_mode mode)
{
    uint8_t pii_key[GH_AUDIT_KEY_BYTES], seal_key[GH_AUDIT_KEY_BYTES];
    char id[GH_UUID_STRLEN + 1], pii[GH_AUDIT_HEX + 1], mac[GH_AUDIT_HEX + 1];
    if (!gh_audit_log_pii_key(pii_key) || !gh_audit_log_seal_key(seal_key)) {
        gh_log(GH_LOG_ERROR, "audit chain key not set", "event %s", ev->type);
        return GH_DB_FAIL;
    }
    gh_uuid(id);
    gh_audit_row r = {.tenant_id = ev->tenant_id,
                      .id = id,
                      .time = gh_now_ms(),
                      .type = ev->type,
                      .subject = ev->subject,
                      .actor = ev->actor,
                      .ip = ev->ip,
                      .user_agent = ev->user_agent,
                      .outcome = ev->outcome ? ev->outcome : "success",
                      .reason = ev->reason,
                      .details = details};
    gh_audit_pii_digest(pii_key, &r, pii);
    r.pii_digest = pii;
    gh_audit_seal_mac(seal_key, &r, mac);
    r.seal_mac = mac;
    sodium_memzero(pii_key, sizeof(pii_key));
    sodium_memzero(seal_key, sizeof(seal_key));
    if (mode == CHAIN_NOW)
        return insert_chained(c, a, &r);
    gh_dbrc rc = gh_audit_log_insert(c, a, &r);
    long long sealed = 0, refused = 0;
    if (rc == GH_DB_OK && mode == CHAIN_SEAL_TX)
        rc = gh_audit_log_seal_tenant(c, a, ev->tenant_id, &sealed, &refused);
    return rc;
}

/* What an event sets going once its transaction commits: the journey
 * metrics (a rolled-back event counts nothing), the sealer's wake (it then
 * finds the event) or, chained already, its count as sealed. The strings
 * are copies in one allocation, owned by the after-commit work, which frees
 * it. */
typedef struct landed {
    void (*wake)(void);
    bool chained;
    const char *tenant, *type, *outcome, *reason, *method;
    char text[];
} landed;

/* An event that landed: the sealer woken, or its chaining counted, and
 * its journey metrics. */
static void landed_count(void (*wake)(void), bool chained, const char *tenant, const char *type,
                         const char *outcome, const char *reason, const char *method)
{
    if (wake)
        wake();
    if (chained)
        gh_metrics_audit_sealed(0);
    /* The journey metrics follow the audit log, so each journey step is
     * defined once (docs/metrics.md). */
    gh_metrics_audit_event(tenant, type, outcome, reason, method);
}

static void landed_run(void *arg, bool committed)
{
    landed *l = arg;
    if (committed)
        landed_count(l->wake, l->chained, l->tenant, l->type, l->outcome, l->reason, l->method);
    free(l);
}

/* Copies s (NULL stays NULL) to *at, which moves past it. */
static const char *landed_put(char **at, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = memcpy(*at, s, n);
    *at += n;
    return d;
}

static void on_commit(gh_dbconn *c, const gh_audit_event *ev, void (*wake)(void), bool chained)
{
    const char *method = json_string_value(json_object_get(ev->details, "method"));
    const char *f[] = {ev->tenant_id, ev->type, ev->outcome, ev->reason, method};
    size_t len = 0;
    for (size_t i = 0; i < 5; i++)
        len += f[i] ? strlen(f[i]) + 1 : 0;
    landed *l = malloc(sizeof(*l) + len);
    if (!l) { /* counted now, as if it lands: better than never */
        landed_count(wake, chained, f[0], f[1], f[2], f[3], f[4]);
        return;
    }
    char *at = l->text;
    l->wake = wake;
    l->chained = chained;
    l->tenant = landed_put(&at, f[0]);
    l->type = landed_put(&at, f[1]);
    l->outcome = landed_put(&at, f[2]);
    l->reason = landed_put(&at, f[3]);
    l->method = landed_put(&at, f[4]);
    gh_db_after_commit(c, landed_run, l);
}

gh_dbrc gh_audit_append(gh_dbconn *c, gh_arena *a, const gh_audit_event *ev)
{
    char *details = ev->details ? json_dumps(ev->details, GH_AUDIT_JSON_FLAGS) : NULL;
    if (ev->details && !details) {
        /* An event that cannot be written fails the change it records. */
        gh_db_fail(c, GH_DB_FAIL);
        return GH_DB_FAIL;
    }
    /* The event lands with the change it records: in the caller's
     * transaction, or in one of its own. */
    bool own = !gh_db_in_tx(c);
    gh_audit_plan plan = gh_audit_log_plan(c);
    chain_mode mode = plan.chain_now ? CHAIN_NOW : plan.wake ? CHAIN_BY_SEALER : CHAIN_SEAL_TX;
    gh_dbrc rc = own ? gh_db_begin(c) : GH_DB_OK;
    if (rc == GH_DB_OK)
        rc = append_event(c, a, ev, details ? details : "{}", mode);
    if (rc == GH_DB_OK)
        on_commit(c, ev, mode == CHAIN_BY_SEALER ? plan.wake : NULL, mode == CHAIN_NOW);
    if (own && rc == GH_DB_OK)
        rc = gh_db_commit(c);
    else if (own)
        gh_db_rollback(c);
    else
        gh_db_fail(c, rc);
    free(details);
    return rc;
}

/* One UPDATE; the rows it changed are added to *n. */
static gh_dbrc changed(gh_dbconn *c, gh_arena *a, const char *sql, const gh_dbparam *p,
                       long long *n)
{
    gh_dbres r;
    gh_dbrc rc = gh_db_exec(c, a, sql, p, 3, &r);
    if (rc == GH_DB_OK)
        *n += (long long)r.nrows;
    return rc;
}

gh_dbrc gh_audit_pseudonymise(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              const char *pseudonym, const char *email, long long *n)
{
    /* The address is matched as JSON text holds it: the canonical details
     * escape neither "@" nor "." nor any other character of a plain
     * address; an address with a quote or backslash (which JSON escapes)
     * is not searched. */
    static const char *const sql[] = {
        "UPDATE audit_events SET subject = $3, ip = NULL, user_agent = NULL, "
        "actor = CASE WHEN actor = $2 THEN $3 ELSE actor END "
        "WHERE tenant_id = $1 AND subject = $2 RETURNING seq",
        "UPDATE audit_events SET actor = $3, ip = NULL, user_agent = NULL "
        "WHERE tenant_id = $1 AND actor = $2 RETURNING seq",
        "UPDATE audit_events SET details = REPLACE(details, $2, '[erased]'), ip = NULL, "
        "user_agent = NULL WHERE tenant_id = $1 AND details LIKE $3 ESCAPE '\\' RETURNING seq",
    };
    *n = 0;
    gh_dbparam p[] = {GH_TEXT(tenant), GH_TEXT(user_id), GH_TEXT(pseudonym)};
    gh_dbrc rc = GH_DB_OK;
    for (size_t i = 0; rc == GH_DB_OK && i < 2; i++)
        rc = changed(c, a, sql[i], p, n);
    if (rc != GH_DB_OK || !email || strpbrk(email, "\"\\"))
        return rc;
    /* LIKE's wildcards in the address escaped */
    char *pat = gh_arena_alloc(a, 2 * strlen(email) + 3), *o = pat;
    if (!pat)
        return GH_DB_FAIL;
    *o++ = '%';
    for (const char *s = email; *s; s++) {
        if (*s == '%' || *s == '_')
            *o++ = '\\';
        *o++ = *s;
    }
    *o++ = '%';
    *o = 0;
    gh_dbparam q[] = {GH_TEXT(tenant), GH_TEXT(email), GH_TEXT(pat)};
    return changed(c, a, sql[2], q, n);
}

gh_dbrc gh_audit_query(gh_dbconn *c, gh_arena *a, const gh_audit_filter *f, json_t *out)
{
    /* Every filter is a parameter; an unused one matches everything. When
     * following (after_seq) the oldest new events come first; otherwise the
     * newest `limit`, printed oldest first. */
    static const char cols[] = "seq, id, time, type, subject, actor, ip, user_agent, outcome, "
                               "reason, details";
    static const char where[] =
        " FROM audit_events WHERE tenant_id = $1 AND ($2 = '' OR subject = $2) AND ($3 = '' OR "
        "type = $3 OR (substr($3, length($3), 1) = '.' AND substr(type, 1, length($3)) = $3)) "
        "AND time >= $4 AND time <= $5 AND seq > $6";
    const char *sql =
        f->after_seq > 0
            ? gh_arena_printf(a, "SELECT %s%s ORDER BY seq LIMIT $7", cols, where)
            : gh_arena_printf(a,
                              "SELECT * FROM (SELECT %s%s ORDER BY seq DESC LIMIT $7) AS t "
                              "ORDER BY seq",
                              cols, where);
    gh_dbparam p[] = {GH_TEXT(f->tenant),
                      GH_TEXT(f->subject ? f->subject : ""),
                      GH_TEXT(f->type ? f->type : ""),
                      GH_INT(f->since_ms),
                      GH_INT(f->until_set ? f->until_ms : (long long)1 << 62),
                      GH_INT(f->after_seq),
                      GH_INT(f->limit > 0 ? f->limit : 100)};
    gh_dbres r;
    gh_dbrc rc = sql ? gh_db_exec(c, a, sql, p, 7, &r) : GH_DB_FAIL;
    if (rc != GH_DB_OK)
        return rc;
    static const char *const names[] = {"id", NULL,         "type",    "subject", "actor",
                                        "ip", "user_agent", "outcome", "reason"};
    for (size_t i = 0; i < r.nrows; i++) {
        char t[32];
        json_t *e = json_object();
        json_object_set_new(e, "seq", json_integer(gh_dbres_int(&r, i, 0)));
        gh_rfc3339(gh_dbres_int(&r, i, 2), t);
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            const char *v = k == 1 ? t : gh_dbres_get(&r, i, k + 1);
            json_object_set_new(e, k == 1 ? "time" : names[k], v ? json_string(v) : json_null());
        }
        const char *d = gh_dbres_get(&r, i, 10);
        json_t *dj = d ? json_loads(d, 0, NULL) : NULL;
        json_object_set_new(e, "details", dj ? dj : json_object());
        json_array_append_new(out, e);
    }
    return GH_DB_OK;
}
