#include "gh_risk.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_audit_ctx.h"
#include "gh_crypto.h"
#include "gh_device.h"
#include "gh_disposable.h"
#include "gh_geoip.h"
#include "gh_embed.h"
#include "gh_log.h"
#include "gh_metrics_series.h"
#include "gh_pwpolicy.h"
#include "gh_store_risk.h"
#include "gh_store_sessions.h"
#include "gh_tenants.h"

/* share/risk-policy.txt, compiled in (meson.build, gh_risk_policy_files) */
extern const gh_embed_file gh_risk_policy_files[];
extern const size_t gh_risk_policy_count;

/* The velocity window and how many failed sign-ins in it are read: enough
 * for the default policy's thresholds, bounded so an attack cannot make
 * each sign-in read an unbounded history. */
enum { WINDOW_MS = 3600 * 1000, FAILURES_READ = 2000, POLICY_FILE_MAX = 256 * 1024 };

/* Set once at start (gh_risk_init), read-only afterwards. */
static gh_risk_policy live;
static gh_risk_policy shadow;
static bool have_shadow;

static int load_file(const char *path, gh_risk_policy *p, char *err, size_t errlen)
{
    char why[256] = "";
    char *text = NULL;
    FILE *f = fopen(path, "rb");
    int rc = -1;
    if (!f) {
        snprintf(err, errlen, "%s: cannot be read", path);
        return -1;
    }
    text = malloc(POLICY_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, POLICY_FILE_MAX + 1, f) : 0;
    if (!text)
        snprintf(err, errlen, "%s: out of memory", path);
    else if (n > POLICY_FILE_MAX)
        snprintf(err, errlen, "%s: larger than %d bytes", path, POLICY_FILE_MAX);
    else if (gh_riskpolicy_parse(text, n, p, why, sizeof why) != 0)
        snprintf(err, errlen, "%s: %s", path, why);
    else
        rc = 0;
    free(text);
    fclose(f);
    return rc;
}

int gh_risk_init(const gh_config *cfg, char *err, size_t errlen)
{
    char why[256] = "";
    have_shadow = false;
    if (gh_geoip_open(cfg, err, errlen) != 0)
        return -1;
    if (cfg->risk_policy_file[0]) {
        if (load_file(cfg->risk_policy_file, &live, err, errlen) != 0)
            return -1;
    } else {
        const gh_embed_file *f =
            gh_embed_find(gh_risk_policy_files, gh_risk_policy_count, "risk-policy.txt");
        if (!f || gh_riskpolicy_parse((const char *)f->data, f->len, &live, why, sizeof why) != 0) {
            snprintf(err, errlen, "the built-in risk policy: %s", f ? why : "missing");
            return -1;
        }
    }
    if (cfg->risk_shadow_policy_file[0]) {
        if (load_file(cfg->risk_shadow_policy_file, &shadow, err, errlen) != 0)
            return -1;
        have_shadow = true;
    }
    return 0;
}

const char *gh_risk_policy_version(void)
{
    return live.version;
}

/* ---- signals ---- */

static const char *network_of(gh_arena *a, const char *ip)
{
    char net[64];
    gh_device_network(ip, net, sizeof net);
    return gh_arena_strdup(a, net);
}

/* What the risk tables keep of a network: a hash bound to the account, so
 * the table says nothing about where a customer is without their id. */
static const char *network_hash(gh_arena *a, const char *user_id, const char *network)
{
    char hash[2 * GH_SHA256_BYTES + 1];
    const char *text = gh_arena_printf(a, "risk network|%s|%s", user_id, network);
    if (!text)
        return NULL;
    gh_secret_hash(text, hash);
    return gh_arena_strdup(a, hash);
}

static int cmp_str(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(x ? x : "", y ? y : "");
}

/* Distinct values among n strings (sorted in place); NULLs each count once,
 * since an unknown address tried is, as far as we know, another account. */
static long long distinct(const char **v, size_t n)
{
    long long d = 0;
    if (n) /* qsort wants a non-null base even for none */
        qsort(v, n, sizeof(*v), cmp_str);
    for (size_t i = 0; i < n; i++)
        d += !v[i] || i == 0 || !v[i - 1] || strcmp(v[i], v[i - 1]) != 0;
    return d;
}

/* The velocity signals from the window's failed sign-ins. */
static gh_dbrc velocity(const gh_ctx *x, gh_dbconn *c, const char *user_id, const char *network,
                        gh_risk_signals *s)
{
    gh_risk_failure *f = NULL;
    size_t n = 0;
    gh_dbrc rc =
        gh_store_risk_failures(c, x->arena, x->tenant, x->now - WINDOW_MS, FAILURES_READ, &f, &n);
    if (rc != GH_DB_OK || n == 0)
        return rc;
    const char **accounts = gh_arena_alloc(x->arena, n * sizeof(*accounts));
    const char **addrs = gh_arena_alloc(x->arena, n * sizeof(*addrs));
    if (!accounts || !addrs)
        return GH_DB_FAIL;
    size_t na = 0, nip = 0;
    const char *ip = x->client_ip ? x->client_ip : "";
    for (size_t i = 0; i < n; i++) {
        const char *fip = f[i].ip ? f[i].ip : "";
        bool same_ip = strcmp(fip, ip) == 0;
        bool mine = user_id && f[i].subject && strcmp(f[i].subject, user_id) == 0;
        s->v[GH_RS_IP_FAILURES] += same_ip;
        s->v[GH_RS_ACCOUNT_FAILURES] += mine;
        /* wrong emailed sign-in codes (gh_accounts_verify audits each) */
        s->v[GH_RS_CODE_FAILURES] += mine && f[i].reason && strcmp(f[i].reason, "wrong code") == 0;
        if (same_ip || strcmp(network_of(x->arena, fip), network) == 0)
            s->v[GH_RS_NETWORK_FAILURES]++;
        if (same_ip)
            accounts[na++] = f[i].subject;
        if (mine)
            addrs[nip++] = fip;
    }
    s->v[GH_RS_IP_ACCOUNTS] = distinct(accounts, na);
    s->v[GH_RS_ACCOUNT_IPS] = distinct(addrs, nip);
    /* the tenant's whole window: a wide attack spread thin over addresses
     * and accounts still shows here (bounded by FAILURES_READ) */
    s->v[GH_RS_TENANT_FAILURES] = (long long)n;
    return GH_DB_OK;
}

static bool scripted(const char *ua)
{
    return strcmp(gh_device_browser(ua), "an unknown browser") == 0;
}

/* new_device and new_network: whether the account knows this device
 * cookie and this network. */
static gh_dbrc account_context(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                               const char *device_hash, gh_risk_signals *out)
{
    bool device_known = false, network_known = false;
    gh_dbrc rc = GH_DB_OK;
    if (device_hash)
        rc = gh_store_device_known(c, x->arena, x->tenant, user_id, device_hash, &device_known);
    const char *nh = network_hash(x->arena, user_id, out->network);
    if (rc == GH_DB_OK && nh)
        rc = gh_store_risk_network_known(c, x->arena, x->tenant, user_id, nh, &network_known);
    out->v[GH_RS_NEW_DEVICE] = !device_known;
    out->v[GH_RS_NEW_NETWORK] = !network_known;
    return rc;
}

/* The account's last sign-ins whose places are compared (docs/risk.md
 * "Geolocation"), and the distance under which two places count as one
 * (a city-level position is worth no more). */
enum { GEO_SIGNINS = 20, GEO_NEAR_KM = 100 };

/* Whether going from a sign-in at (lat, lon, at) to here by now was faster
 * than the set speed; a minute at least, so two sign-ins in the same
 * second do not divide by zero. */
static bool too_fast(const gh_ctx *x, const gh_geo *was, long long at, const gh_geo *now)
{
    double km = gh_geoip_distance_km(was->lat, was->lon, now->lat, now->lon);
    double hours = (double)(x->now - at > 60000 ? x->now - at : 60000) / 3600000.0;
    return km >= GEO_NEAR_KM && km / hours > (double)x->cfg->risk_travel_kmh;
}

/* new_country, new_asn and impossible_travel from the account's latest
 * sign-ins (their addresses, looked up now: nothing is stored for it). */
static gh_dbrc geo_signals(const gh_ctx *x, gh_dbconn *c, const char *user_id, gh_risk_signals *out)
{
    gh_geo here, was;
    gh_risk_past_signin *list = NULL;
    size_t n = 0;
    if (!gh_geoip_enabled() || !user_id)
        return GH_DB_OK;
    gh_geoip_lookup(x->client_ip, &here);
    if (here.country[0])
        out->country = gh_arena_strdup(x->arena, here.country);
    if (here.asn)
        out->asn = gh_arena_printf(x->arena, "AS%lu", here.asn);
    gh_dbrc rc =
        gh_store_risk_recent_signins(c, x->arena, x->tenant, user_id, GEO_SIGNINS, &list, &n);
    if (rc != GH_DB_OK)
        return rc;
    bool country_seen = false, asn_seen = false, travel_checked = false;
    for (size_t i = 0; i < n; i++) {
        gh_geoip_lookup(list[i].ip, &was);
        country_seen |= here.country[0] && strcmp(was.country, here.country) == 0;
        asn_seen |= here.asn && was.asn == here.asn;
        /* the latest sign-in with a place is where the person was */
        if (!travel_checked && was.has_location && here.has_location) {
            travel_checked = true;
            out->v[GH_RS_IMPOSSIBLE_TRAVEL] = too_fast(x, &was, list[i].at, &here);
        }
    }
    out->v[GH_RS_NEW_COUNTRY] = here.country[0] && !country_seen;
    out->v[GH_RS_NEW_ASN] = here.asn && !asn_seen;
    return GH_DB_OK;
}

/* Every journey's start: nothing counted, the request's network and
 * browser family for the record. */
static bool signals_begin(const gh_ctx *x, gh_risk_signals *out)
{
    memset(out, 0, sizeof(*out));
    out->network = network_of(x->arena, x->client_ip);
    out->ua_family = gh_device_browser(x->user_agent);
    return out->network != NULL;
}

gh_dbrc gh_risk_signin_signals(const gh_ctx *x, gh_dbconn *c, const gh_risk_facts *f,
                               gh_risk_signals *out)
{
    if (!signals_begin(x, out))
        return GH_DB_FAIL;
    gh_dbrc rc = account_context(x, c, f->user_id, f->device_hash, out);
    if (rc == GH_DB_OK)
        rc = velocity(x, c, f->user_id, out->network, out);
    if (rc == GH_DB_OK)
        rc = geo_signals(x, c, f->user_id, out);
    if (rc != GH_DB_OK)
        return rc;
    out->v[GH_RS_ACCOUNT_GUARDED] = f->account_guarded;
    out->v[GH_RS_COMMON_PASSWORD] = f->password && gh_pwpolicy_is_weak(f->password, f->pwlen);
    out->v[GH_RS_NO_SECOND_FACTOR] = !f->has_second_factor;
    out->v[GH_RS_HAS_SECOND_FACTOR] = f->has_second_factor;
    out->v[GH_RS_UA_SCRIPTED] = scripted(x->user_agent);
    out->v[GH_RS_USER_VERIFIED] = f->user_verified;
    out->v[GH_RS_PHISHING_RESISTANT] = f->phishing_resistant;
    return GH_DB_OK;
}

gh_dbrc gh_risk_network_seen(const gh_ctx *x, gh_dbconn *c, const char *user_id)
{
    const char *nh = network_hash(x->arena, user_id, network_of(x->arena, x->client_ip));
    if (!nh)
        return GH_DB_FAIL;
    return gh_store_risk_network_seen(c, x->arena, x->tenant, user_id, nh, x->now);
}

/* ---- decisions ---- */

static json_t *signals_json(const gh_risk_signals *s)
{
    json_t *j = json_object();
    for (int i = 0; j && i < GH_RS_COUNT; i++)
        json_object_set_new(j, gh_riskpolicy_signal_name((gh_risk_signal)i), json_integer(s->v[i]));
    if (j && s->ua_family)
        json_object_set_new(j, "ua_family", json_string(s->ua_family));
    if (j && s->network)
        json_object_set_new(j, "network", json_string(s->network));
    if (j && s->country)
        json_object_set_new(j, "country", json_string(s->country));
    if (j && s->asn)
        json_object_set_new(j, "asn", json_string(s->asn));
    return j;
}

static json_t *fired_json(const gh_risk_policy *p, const gh_risk_result *r)
{
    json_t *a = json_array();
    for (int i = 0; a && i < r->nfired; i++) {
        const gh_risk_rule *rule = &p->rules[r->fired[i]];
        json_t *o = json_pack("{s:s, s:i, s:s, s:i}", "rule", rule->name, "weight", rule->weight,
                              "reason", rule->reason, "line", rule->line);
        if (o && rule->has_outcome)
            json_object_set_new(o, "outcome",
                                json_string(gh_riskpolicy_outcome_name(rule->outcome)));
        json_array_append_new(a, o);
    }
    return a;
}

static const char *dump(gh_arena *a, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const char *out = s ? gh_arena_strdup(a, s) : NULL;
    free(s);
    json_decref(j);
    return out;
}

/* What the shadow policy would have decided, for the record. */
static const char *shadow_json(gh_arena *a, gh_risk_journey j, const gh_risk_signals *s)
{
    if (!have_shadow)
        return NULL;
    gh_risk_result r = gh_riskpolicy_eval(&shadow, j, s);
    json_t *o = json_pack("{s:s, s:s, s:i, s:o}", "policy_version", shadow.version, "outcome",
                          gh_riskpolicy_outcome_name(r.outcome), "score", r.score, "fired",
                          fired_json(&shadow, &r));
    if (o && r.acr)
        json_object_set_new(o, "acr", json_string(r.acr));
    if (o && r.reason)
        json_object_set_new(o, "reason", json_string(r.reason));
    return dump(a, o);
}

static gh_dbrc store_decision(const gh_ctx *x, gh_dbconn *c, const gh_risk_record *d)
{
    json_t *details = json_pack("{s:s, s:s, s:s}", "decision_id", d->id, "journey", d->journey,
                                "policy_version", d->policy_version);
    /* inside a caller's transaction, the record lands with its change */
    bool own = !gh_db_in_tx(c);
    gh_dbrc rc = own ? gh_db_begin(c) : GH_DB_OK;
    if (rc == GH_DB_OK)
        rc = gh_store_risk_decision_insert(c, x->arena, x->tenant, d);
    if (rc == GH_DB_OK)
        rc = gh_audit_ctx_outcome(x, c, "risk.decided", d->user_id, d->user_id, d->outcome,
                                  d->reason, details);
    else
        json_decref(details);
    if (!own)
        return rc;
    return rc == GH_DB_OK ? gh_db_commit(c) : (gh_db_rollback(c), rc);
}

/* The policy of x's tenant: its own when it has one (held until
 * gh_tenants_release(*hold)), else the server's. */
static const gh_risk_policy *policy_for(const gh_ctx *x, const void **hold)
{
    const gh_risk_policy *p = gh_tenants_risk_policy(x->tenant, hold);
    return p ? p : &live;
}

/* Stores policy p's result r over s (and the shadow's view). */
static gh_dbrc record(const gh_ctx *x, gh_dbconn *c, const gh_risk_policy *p, gh_risk_journey j,
                      const char *user_id, const gh_risk_signals *s, const gh_risk_result *res,
                      gh_risk_verdict *out)
{
    char id[GH_UUID_STRLEN + 1];
    gh_risk_result r = *res;
    gh_uuid(id);
    gh_risk_record d = {.id = gh_arena_strdup(x->arena, id),
                        .user_id = user_id,
                        .journey = gh_riskpolicy_journey_name(j),
                        .created_at = x->now,
                        .outcome = gh_riskpolicy_outcome_name(r.outcome),
                        .acr = r.acr,
                        .reason = r.reason,
                        .score = r.score,
                        .policy_version = p->version,
                        .signals = dump(x->arena, signals_json(s)),
                        .fired = dump(x->arena, fired_json(p, &r)),
                        .shadow = shadow_json(x->arena, j, s)};
    if (!d.id || !d.signals || !d.fired)
        return GH_DB_FAIL;
    gh_dbrc rc = store_decision(x, c, &d);
    if (rc != GH_DB_OK)
        return rc;
    /* by tenant, outcome and reason (docs/metrics.md) */
    gh_metrics_risk_decision(x->tenant, d.outcome, r.reason);
    *out = (gh_risk_verdict){.id = d.id, .outcome = r.outcome, .acr = r.acr, .reason = r.reason};
    return GH_DB_OK;
}

gh_dbrc gh_risk_decide(const gh_ctx *x, gh_dbconn *c, gh_risk_journey j, const char *user_id,
                       const gh_risk_signals *s, gh_risk_verdict *out)
{
    const void *hold = NULL;
    const gh_risk_policy *p = policy_for(x, &hold);
    gh_risk_result r = gh_riskpolicy_eval(p, j, s);
    gh_dbrc rc = record(x, c, p, j, user_id, s, &r, out);
    gh_tenants_release(hold);
    return rc;
}

gh_risk_outcome gh_risk_peek(const gh_ctx *x, gh_risk_journey j, const gh_risk_signals *s)
{
    const void *hold = NULL;
    gh_risk_outcome o = gh_riskpolicy_eval(policy_for(x, &hold), j, s).outcome;
    gh_tenants_release(hold);
    return o;
}

gh_dbrc gh_risk_signin(const gh_ctx *x, gh_dbconn *c, const gh_risk_facts *in,
                       gh_signin_facts *facts, gh_risk_verdict *out)
{
    gh_risk_signals s;
    gh_dbrc rc = gh_risk_signin_signals(x, c, in, &s);
    if (rc == GH_DB_OK)
        rc = gh_risk_decide(x, c, in->journey, in->user_id, &s, out);
    if (rc != GH_DB_OK)
        return rc;
    bool step_up = out->outcome == GH_RO_STEP_UP;
    bool email = out->acr && strcmp(out->acr, "email") == 0;
    facts->account_guarded = step_up && (email || !facts->has_second_factor);
    facts->risk_deny = out->outcome == GH_RO_DENY;
    return GH_DB_OK;
}

/* ---- sign-up, recovery, email change, step-up ---- */

/* The audit events each journey's attempts leave: sign-up's every outcome,
 * a recovery or email change started (a refused one is audited under the
 * same type, outcome failure), a step-up's failures, and every request for
 * an emailed sign-in code. A new event type of one of these journeys must
 * be added here to count (at most GH_RISK_EVENT_TYPES a journey). */
static const char *const *attempt_types(gh_risk_journey j)
{
    static const char *const signup[] = {"signup.created", "signup.existing_email",
                                         "signup.refused", "signup.unverified_email", NULL};
    static const char *const recovery[] = {"recovery.started", NULL};
    static const char *const email_change[] = {"email.change_started", NULL};
    static const char *const step_up[] = {"stepup.failed", NULL};
    /* sent, not sent (no such account, the daily limit) or refused; the
     * guarded password's emailed step (email_code_required) is a code mail
     * too */
    static const char *const code_request[] = {
        "signin.email_code_sent", "signin.email_code_not_sent", "signin.email_code_refused",
        "signin.email_code_required", NULL};
    switch (j) {
    case GH_RJ_SIGNUP:
        return signup;
    case GH_RJ_RECOVERY:
        return recovery;
    case GH_RJ_EMAIL_CHANGE:
        return email_change;
    case GH_RJ_STEP_UP:
        return step_up;
    case GH_RJ_EMAIL_CODE_REQUEST:
        return code_request;
    default:
        return NULL;
    }
}

/* The attempts signals from the window's audit events of the journey. */
static gh_dbrc attempts(const gh_ctx *x, gh_dbconn *c, gh_risk_journey j, const char *user_id,
                        gh_risk_signals *s)
{
    gh_risk_failure *ev = NULL;
    size_t n = 0;
    const char *const *types = attempt_types(j);
    if (!types)
        return GH_DB_OK;
    gh_dbrc rc = gh_store_risk_events(c, x->arena, x->tenant, types, x->now - WINDOW_MS,
                                      FAILURES_READ, &ev, &n);
    const char *ip = x->client_ip ? x->client_ip : "";
    if (rc == GH_DB_OK)
        s->v[GH_RS_TENANT_ATTEMPTS] = (long long)n; /* bounded by FAILURES_READ */
    for (size_t i = 0; rc == GH_DB_OK && i < n; i++) {
        const char *eip = ev[i].ip ? ev[i].ip : "";
        bool same_ip = strcmp(eip, ip) == 0;
        s->v[GH_RS_IP_ATTEMPTS] += same_ip;
        s->v[GH_RS_NETWORK_ATTEMPTS] +=
            same_ip || strcmp(network_of(x->arena, eip), s->network) == 0;
        s->v[GH_RS_ACCOUNT_ATTEMPTS] +=
            user_id && ev[i].subject && strcmp(ev[i].subject, user_id) == 0;
    }
    return rc;
}

gh_dbrc gh_risk_attempt_signals(const gh_ctx *x, gh_dbconn *c, const gh_risk_attempt *a,
                                gh_risk_signals *out)
{
    if (!signals_begin(x, out))
        return GH_DB_FAIL;
    gh_dbrc rc = a->user_id ? account_context(x, c, a->user_id, a->device_hash, out) : GH_DB_OK;
    if (rc == GH_DB_OK)
        rc = attempts(x, c, a->journey, a->user_id, out);
    if (rc == GH_DB_OK)
        rc = geo_signals(x, c, a->user_id, out);
    out->v[GH_RS_DISPOSABLE_EMAIL] = a->email && gh_disposable_email(a->email);
    out->v[GH_RS_UA_SCRIPTED] = scripted(x->user_agent);
    return rc;
}

/* ---- token requests ---- */

/* Refused grants per client, in memory (this instance only): a bounded
 * table of counters over two 10-minute windows, so the token path counts
 * without touching the database. A client id hashes to one slot; another
 * client landing on it takes it over (counts start again). */
enum { CLIENT_SLOTS = 1024, CLIENT_WINDOW_MS = 10 * 60 * 1000 };
struct client_slot {
    uint64_t id;
    long long window; /* the current window's start */
    long long now, before;
};
static struct client_slot client_slots[CLIENT_SLOTS];
static pthread_mutex_t client_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char client_key[crypto_shorthash_KEYBYTES];
static pthread_once_t client_key_once = PTHREAD_ONCE_INIT;

static void client_key_init(void)
{
    randombytes_buf(client_key, sizeof client_key);
}

/* The slot of client_id at now, moved to its current window; locked. */
static struct client_slot *client_slot(const char *client_id, long long now)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t id;
    pthread_once(&client_key_once, client_key_init);
    crypto_shorthash(h, (const unsigned char *)client_id, strlen(client_id), client_key);
    memcpy(&id, h, sizeof id);
    struct client_slot *sl = &client_slots[id % CLIENT_SLOTS];
    long long window = now - now % CLIENT_WINDOW_MS;
    if (sl->id != id)
        *sl = (struct client_slot){.id = id, .window = window};
    if (sl->window != window) {
        sl->before = sl->window == window - CLIENT_WINDOW_MS ? sl->now : 0;
        sl->now = 0;
        sl->window = window;
    }
    return sl;
}

void gh_risk_token_failed(const char *client_id, long long now)
{
    if (!client_id)
        return;
    pthread_mutex_lock(&client_lock);
    client_slot(client_id, now)->now++;
    pthread_mutex_unlock(&client_lock);
}

/* The refused grants of the last 10 minutes: this window's, and the part
 * of the previous one still inside them, rounded up: just after a window
 * starts, a burst that straddled its start counts whole (rounded down, 50
 * failures read as 49 there and a threshold of 50 was missed). */
static long long client_failures(const char *client_id, long long now)
{
    pthread_mutex_lock(&client_lock);
    struct client_slot *sl = client_slot(client_id, now);
    long long left = CLIENT_WINDOW_MS - now % CLIENT_WINDOW_MS;
    long long n = sl->now + (sl->before * left + CLIENT_WINDOW_MS - 1) / CLIENT_WINDOW_MS;
    pthread_mutex_unlock(&client_lock);
    return n;
}

const char *gh_risk_token_network(const gh_ctx *x, const char *family_id)
{
    char hash[2 * GH_SHA256_BYTES + 1];
    const char *text = gh_arena_printf(x->arena, "risk token network|%s|%s", family_id,
                                       network_of(x->arena, x->client_ip));
    if (!text)
        return NULL;
    gh_secret_hash(text, hash);
    return gh_arena_strdup(x->arena, hash);
}

gh_dbrc gh_risk_token(const gh_ctx *x, gh_dbconn *c, const gh_risk_token_facts *f,
                      gh_risk_verdict *out)
{
    gh_risk_signals s;
    memset(&s, 0, sizeof(s));
    memset(out, 0, sizeof(*out));
    const char *here = f->network ? gh_risk_token_network(x, f->family_id) : NULL;
    /* a confidential client's server redeems codes from its own network,
     * never the browser's: only a public client's is compared */
    s.v[GH_RS_NEW_NETWORK] =
        here && strcmp(here, f->network) != 0 && (!f->code_grant || f->public_client);
    s.v[GH_RS_CLIENT_FAILURES] = client_failures(f->client_id, x->now);
    s.v[GH_RS_CODE_GRANT] = f->code_grant;
    s.v[GH_RS_PUBLIC_CLIENT] = f->public_client;
    const void *hold = NULL;
    const gh_risk_policy *p = policy_for(x, &hold);
    gh_risk_result r = gh_riskpolicy_eval(p, GH_RJ_TOKEN, &s);
    gh_dbrc rc = GH_DB_OK;
    /* the hot path: nothing fired, nothing is written */
    if (r.nfired || r.outcome != GH_RO_ALLOW) {
        s.network = network_of(x->arena, x->client_ip);
        rc = record(x, c, p, GH_RJ_TOKEN, f->user_id, &s, &r, out);
    }
    gh_tenants_release(hold);
    return rc;
}

/* ---- live sessions ---- */

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The context a session was last scored in: its risk_context, else the
 * sign-in's address (as its network) and user agent. */
struct context {
    char network[64];
    const char *ua;
};

static void context_of(const gh_session *s, struct context *c)
{
    const char *nl = s->risk_context ? strchr(s->risk_context, '\n') : NULL;
    if (nl && (size_t)(nl - s->risk_context) < sizeof c->network) {
        memcpy(c->network, s->risk_context, (size_t)(nl - s->risk_context));
        c->network[nl - s->risk_context] = '\0';
        c->ua = nl + 1;
        return;
    }
    gh_device_network(s->ip ? s->ip : "", c->network, sizeof c->network);
    c->ua = s->user_agent;
}

bool gh_risk_session_shifted(const gh_ctx *x, const gh_session *s)
{
    /* the common case: the context the session signed in from, unchanged */
    if (!s->risk_context && same(s->ip, x->client_ip) && same(s->user_agent, x->user_agent))
        return false;
    struct context was;
    char now[64];
    context_of(s, &was);
    gh_device_network(x->client_ip ? x->client_ip : "", now, sizeof now);
    return strcmp(was.network, now) != 0 || !same(was.ua, x->user_agent);
}

gh_dbrc gh_risk_session_reeval(const gh_ctx *x, gh_dbconn *c, const gh_session *s,
                               gh_risk_verdict *out)
{
    struct context was;
    gh_risk_signals sig;
    context_of(s, &was);
    memset(&sig, 0, sizeof(sig));
    sig.network = network_of(x->arena, x->client_ip);
    sig.ua_family = gh_device_browser(x->user_agent);
    sig.v[GH_RS_NETWORK_CHANGED] = strcmp(sig.network, was.network) != 0;
    sig.v[GH_RS_UA_CHANGED] = !same(was.ua, x->user_agent);
    sig.v[GH_RS_UA_FAMILY_CHANGED] = strcmp(sig.ua_family, gh_device_browser(was.ua)) != 0;
    sig.v[GH_RS_UA_SCRIPTED] = scripted(x->user_agent);
    gh_dbrc rc = gh_risk_decide(x, c, GH_RJ_SESSION, s->user_id, &sig, out);
    if (rc != GH_DB_OK)
        return rc;
    /* recorded so the next request compares with this context: one
     * decision per shift, not one per request; the session's ip and
     * user_agent stay those of its sign-in (the sessions list shows them) */
    const char *now =
        gh_arena_printf(x->arena, "%s\n%s", sig.network, x->user_agent ? x->user_agent : "");
    if (!now)
        return GH_DB_FAIL;
    return gh_store_risk_session_context(c, x->arena, x->tenant, s->id, now,
                                         out->outcome == GH_RO_STEP_UP);
}

/* ---- explain ---- */

static json_t *parsed(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    return j ? j : json_null();
}

static json_t *record_json(const gh_risk_record *d)
{
    json_t *o =
        json_pack("{s:s, s:s?, s:s, s:I, s:s, s:s?, s:s?, s:I, s:s, s:o, s:o}", "id", d->id,
                  "user_id", d->user_id, "journey", d->journey, "created_at",
                  (json_int_t)d->created_at, "outcome", d->outcome, "acr", d->acr, "reason",
                  d->reason, "score", (json_int_t)d->score, "policy_version", d->policy_version,
                  "signals", parsed(d->signals), "fired", parsed(d->fired));
    if (o)
        json_object_set_new(o, "shadow", parsed(d->shadow));
    return o;
}

gh_dbrc gh_risk_explain(const gh_ctx *x, gh_dbconn *c, const char *id, json_t **out)
{
    gh_risk_record d;
    gh_dbrc rc = gh_store_risk_decision_get(c, x->arena, x->tenant, id, &d);
    if (rc != GH_DB_OK)
        return rc;
    *out = record_json(&d);
    return *out ? GH_DB_OK : GH_DB_FAIL;
}

gh_dbrc gh_risk_list(const gh_ctx *x, gh_dbconn *c, const char *user_id, json_t **out)
{
    gh_risk_record *list = NULL;
    size_t n = 0;
    gh_dbrc rc = gh_store_risk_decision_list(c, x->arena, x->tenant, user_id, 100, &list, &n);
    if (rc != GH_DB_OK)
        return rc;
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, record_json(&list[i]));
    *out = a;
    return a ? GH_DB_OK : GH_DB_FAIL;
}

/* ---- deletion ---- */

static const char *erased_signals(gh_arena *a, const char *text)
{
    json_t *j = json_loads(text ? text : "{}", 0, NULL);
    if (!j)
        j = json_object();
    json_object_del(j, "network");
    json_object_del(j, "ua_family");
    json_object_del(j, "country");
    json_object_del(j, "asn");
    return dump(a, j);
}

gh_dbrc gh_risk_erase(const gh_ctx *x, gh_dbconn *c, const char *user_id, const char *pseudonym,
                      long long *n)
{
    *n = 0;
    for (;;) { /* each pass moves a page to the pseudonym, so the next finds the rest */
        gh_risk_record *list = NULL;
        size_t k = 0;
        gh_dbrc rc = gh_store_risk_decision_list(c, x->arena, x->tenant, user_id, 100, &list, &k);
        if (rc != GH_DB_OK || k == 0)
            return rc;
        for (size_t i = 0; i < k; i++) {
            rc = gh_store_risk_decision_erase(c, x->arena, x->tenant, list[i].id, pseudonym,
                                              erased_signals(x->arena, list[i].signals));
            if (rc != GH_DB_OK)
                return rc;
        }
        *n += (long long)k;
    }
}
