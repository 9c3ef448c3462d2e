/*
 * gh_ratelimit_http: classes, keys, refusals and give-backs
 * (gh_ratelimit_http.h).
 */
#include "gh_ratelimit_http.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "gh_client_cred.h"
#include "gh_clock.h"
#include "gh_disposable.h"
#include "gh_form.h"
#include "gh_json.h"
#include "gh_log.h"
#include "gh_metrics_series.h"
#include "gh_mkey.h"
#include "gh_proxy.h"
#include "gh_ratelimit.h"
#include "gh_session.h"
#include "gh_store_sessions.h"
#include "gh_store_users.h"

enum { MINUTE_MS = 60 * 1000, HOUR_MS = 60 * MINUTE_MS, IDENT_WINDOW_MS = 15 * MINUTE_MS };

/* What a route is, for the limits. */
enum {
    R_IDENT = 1u << 0,   /* its JSON body's "email" has a bucket */
    R_REFUND = 1u << 1,  /* a 2xx answer gives the address and email tokens back */
    R_CLIENT = 1u << 2,  /* an OAuth client's bucket (charged on 2xx only) */
    R_OAUTH = 1u << 3,   /* refusals in the OAuth error shape (slow_down) */
    R_DEVICE = 1u << 4,  /* a device known to the account is exempt from the email's bucket */
    R_ONLY_OK = 1u << 5, /* only a 2xx answer counts: the others give their tokens back */
};

typedef struct rl_route {
    const char *method, *pattern;
    gh_rl_class c;
    unsigned flags;
} rl_route;

/* Routes outside the catch-all prefixes below; the rest is "other". */
static const rl_route rl_routes[] = {
    {"POST", "/api/v1/signin", GH_RL_SIGNIN, R_IDENT | R_REFUND | R_DEVICE},
    /* Asking for a code to be mailed guesses nothing (the code is checked
     * at /verify, code class) and is already held to the mail limits per
     * address; an email bucket here would only let others stop the owner's
     * code. Starting a recovery is of the same kind and is left to the
     * "other" class; so are the passkey options (a challenge, nothing
     * checked). */
    {"POST", "/api/v1/signin/email", GH_RL_SIGNIN, 0},
    {"POST", "/api/v1/signin/passkey", GH_RL_SIGNIN, R_REFUND},
    /* Sign-up velocity counts sign-ups that went through (an account made,
     * or a mail sent, which the same 200 hides): a refused password or
     * address makes nothing, and a page that explains rules must not run
     * out of tries. */
    {"POST", "/api/v1/signup", GH_RL_SIGNUP, R_IDENT | R_ONLY_OK},
    {"POST", "/api/v1/verify", GH_RL_CODE, R_REFUND},
    {"POST", "/api/v1/verify/resend", GH_RL_CODE, 0},
    {"POST", "/api/v1/signin/mfa", GH_RL_CODE, R_REFUND},
    {"POST", "/api/v1/mfa/totp/{id}/confirm", GH_RL_CODE, R_REFUND},
    {"POST", "/api/v1/recovery/password", GH_RL_CODE, R_REFUND},
    {"POST", "/api/v1/recovery/wait", GH_RL_CODE, 0},
    {"POST", "/api/v1/recovery/lock", GH_RL_CODE, 0},
    {"POST", "/token", GH_RL_TOKEN, R_CLIENT | R_OAUTH},
    {"POST", "/introspect", GH_RL_TOKEN, R_OAUTH},
    {"POST", "/revoke", GH_RL_TOKEN, R_OAUTH},
};

static const rl_route *route_of(const char *method, const char *pattern, rl_route *tmp)
{
    for (size_t i = 0; i < sizeof(rl_routes) / sizeof(rl_routes[0]); i++)
        if (strcmp(rl_routes[i].pattern, pattern) == 0 && strcmp(rl_routes[i].method, method) == 0)
            return &rl_routes[i];
    *tmp = (rl_route){method, pattern, GH_RL_OTHER, 0};
    if (strncmp(pattern, "/register", 9) == 0)
        tmp->c = GH_RL_REGISTRATION;
    else if (strncmp(pattern, "/scim/", 6) == 0 || strncmp(pattern, "/admin/", 7) == 0)
        tmp->c = GH_RL_ADMIN;
    return tmp;
}

/* The limit of a class per address, and its window. */
static gh_bucket_rate class_rate(const gh_config *cfg, gh_rl_class c)
{
    switch (c) {
    case GH_RL_SIGNIN:
        return (gh_bucket_rate){cfg->rl_signin, MINUTE_MS};
    case GH_RL_SIGNUP:
        return (gh_bucket_rate){cfg->rl_signup, HOUR_MS};
    case GH_RL_CODE:
        return (gh_bucket_rate){cfg->rl_code, MINUTE_MS};
    case GH_RL_TOKEN:
        return (gh_bucket_rate){cfg->rl_token, MINUTE_MS};
    case GH_RL_REGISTRATION:
        return (gh_bucket_rate){cfg->rl_registration, MINUTE_MS};
    case GH_RL_ADMIN:
        return (gh_bucket_rate){cfg->rl_admin, MINUTE_MS};
    default:
        return (gh_bucket_rate){cfg->rl_other, MINUTE_MS};
    }
}

/* One bucket a request took a token from. */
typedef struct taken {
    gh_rl_kind kind;
    const char *key;
    gh_bucket_rate rate;
} taken;

/* What admit did, for settle. */
typedef struct rl_state {
    const rl_route *route;
    rl_route tmp;
    taken t[GH_RLK_NKINDS];
    int n;
} rl_state;

int gh_rl_setup(const gh_config *cfg, char *err, size_t errlen)
{
    if (gh_ratelimit_init(cfg->rl_table_slots) != 0) {
        snprintf(err, errlen, "out of memory for %u rate-limit buckets", cfg->rl_table_slots);
        return -1;
    }
    /* Instances sharing counts name keys alike: the hash key comes from the
     * master key they share. */
    uint8_t key[GH_MKEY_DERIVED_BYTES];
    if (gh_mkey_derive(cfg->master_key, "gatehouse ratelimit v1", key, sizeof(key)) != 0) {
        snprintf(err, errlen, "cannot derive the rate-limit key");
        return -1;
    }
    gh_ratelimit_set_hash_key(key);
    sodium_memzero(key, sizeof(key));
    return gh_disposable_load(cfg->disposable_domains_file, err, errlen);
}

/* The address key (IPv4 /32, IPv6 /64) and the network key (IPv4 /24,
 * IPv6 /48) of the client. An address that does not parse keys itself. */
static void address_keys(gh_req *r, const char **addr, const char **net)
{
    gh_ipaddr a;
    const char *ip = r->ip ? r->ip : "";
    if (!gh_ip_parse(ip, strlen(ip), &a)) {
        *addr = *net = ip;
        return;
    }
    if (a.family == 4) {
        *addr = ip;
        *net = gh_arena_printf(r->arena, "%u.%u.%u.0/24", a.b[0], a.b[1], a.b[2]);
        return;
    }
    char hex[33];
    sodium_bin2hex(hex, sizeof(hex), a.b, 16);
    *addr = gh_arena_printf(r->arena, "%.16s/64", hex);
    *net = gh_arena_printf(r->arena, "%.12s/48", hex);
}

/* The normalised "email" of a JSON body, or NULL. */
static const char *body_email(gh_req *r)
{
    json_t *doc = NULL;
    char err[64];
    if (!r->body || gh_json_parse(r->body, r->body_len, 8, &doc, err, sizeof(err)) != 0)
        return NULL;
    const char *email = json_string_value(json_object_get(doc, "email"));
    const char *out = email ? gh_store_normalise_id(r->arena, email) : NULL;
    json_decref(doc);
    return out;
}

/* The client a token request names (form client_id or HTTP Basic), or
 * NULL. The secret in a Basic header is wiped at once. */
static const char *body_client(gh_req *r)
{
    const char *id = NULL, *secret = NULL;
    const char *auth = gh_req_header(r, "Authorization");
    if (auth && gh_client_basic_decode(r->arena, auth, &id, &secret) == 1) {
        if (secret)
            sodium_memzero((char *)secret, strlen(secret));
        return id;
    }
    gh_form f;
    if (!r->body || gh_form_parse(r->arena, r->body, r->body_len, NULL, &f) != GH_FORM_OK)
        return NULL;
    id = gh_form_get(&f, "client_id");
    const char *s = gh_form_get(&f, "client_secret");
    if (s)
        sodium_memzero((char *)s, strlen(s));
    return id && *id ? id : NULL;
}

/* The key of an identifier within the request's tenant. An email or a
 * client id names an account or a client of one tenant only, so an attack
 * on alice@x in one tenant must not empty the bucket of alice@x in
 * another. Tenant ids hold no ':' (gh_tenant_meta), so the pair reads one
 * way only. The address buckets stay shared: one client is one client
 * whichever tenant it names. NULL when id is NULL. */
static const char *tenant_key(gh_req *r, const char *id)
{
    return id ? gh_arena_printf(r->arena, "%s:%s", r->tenant, id) : NULL;
}

/* Whether the request's device cookie is one the account of email signed
 * in on before: its owner, whatever the attack on the email. */
static bool known_device(gh_req *r, const char *email)
{
    const char *device = gh_device_hash(r);
    gh_dbconn *c = device ? gh_req_db(r) : NULL;
    gh_user u;
    bool known = false;
    if (!c || gh_store_user_by_email(c, r->arena, r->tenant, email, &u) != GH_DB_OK)
        return false;
    return gh_store_device_known(c, r->arena, r->tenant, u.id, device, &known) == GH_DB_OK && known;
}

/* The 429: Retry-After in whole seconds, the JSON error of the APIs or the
 * OAuth error shape on token endpoints (docs/rate-limits.md says why
 * slow_down). */
static void refuse(gh_req *r, const rl_state *st, gh_rl_kind kind, const gh_rl_result *res)
{
    long long secs = (res->wait_ms + 999) / 1000;
    if (secs < 1)
        secs = 1;
    if (res->log) {
        char id[17];
        snprintf(id, sizeof(id), "%016llx", (unsigned long long)res->id);
        gh_log_event(GH_LOG_WARN, "rate limited",
                     json_pack("{s:s, s:s, s:s, s:s, s:I}", "class",
                               gh_ratelimit_class_name(st->route->c), "kind",
                               gh_ratelimit_kind_name(kind), "key", id, "ip", r->ip ? r->ip : "",
                               "retry_after", (json_int_t)secs));
    }
    gh_metrics_rate_limited(r->tenant, gh_ratelimit_class_name(st->route->c));
    gh_resp_header(r, "Retry-After", gh_arena_printf(r->arena, "%lld", secs));
    const char *desc = gh_arena_printf(r->arena, "Too many requests. Try again in %lld second%s.",
                                       secs, secs == 1 ? "" : "s");
    gh_resp_error(r, 429, (st->route->flags & R_OAUTH) ? "slow_down" : "rate_limited", desc);
}

static void give_back(const rl_state *st, int from)
{
    for (int i = from; i < st->n; i++)
        gh_ratelimit_refund(st->route->c, st->t[i].kind, st->t[i].key, &st->t[i].rate);
}

/* Takes a token of one bucket (a burst of 0 is a limit turned off).
 * Returns false when the request is refused, with r answered and the
 * tokens taken before given back. */
static bool take(gh_req *r, rl_state *st, gh_rl_kind kind, const char *key, gh_bucket_rate rate,
                 const char *email)
{
    if (!key || rate.burst == 0)
        return true;
    if (rate.burst > GH_BUCKET_MAX_BURST)
        rate.burst = GH_BUCKET_MAX_BURST;
    gh_rl_result res = gh_ratelimit_take(st->route->c, kind, key, &rate, gh_now_ms());
    if (res.wait_ms == 0) {
        st->t[st->n++] = (taken){kind, key, rate};
        return true;
    }
    if (kind == GH_RLK_IDENTIFIER && (st->route->flags & R_DEVICE) && known_device(r, email))
        return true; /* the owner's own browser: an attack on the email does not stop it */
    give_back(st, 0);
    st->n = 0;
    refuse(r, st, kind, &res);
    return false;
}

static bool take_all(gh_req *r, rl_state *st)
{
    const gh_config *cfg = r->app->cfg;
    gh_bucket_rate rate = class_rate(cfg, st->route->c);
    gh_bucket_rate wide = {rate.burst * cfg->rl_network_factor, rate.window_ms};
    if (rate.burst > GH_BUCKET_MAX_BURST / cfg->rl_network_factor)
        wide.burst = GH_BUCKET_MAX_BURST;
    const char *addr, *net, *email = NULL;
    address_keys(r, &addr, &net);
    if (!take(r, st, GH_RLK_ADDRESS, addr, rate, NULL) ||
        !take(r, st, GH_RLK_NETWORK, net, wide, NULL))
        return false;
    if (st->route->flags & R_IDENT) {
        email = body_email(r);
        gh_bucket_rate per = {cfg->rl_identifier, IDENT_WINDOW_MS};
        if (!take(r, st, GH_RLK_IDENTIFIER, tenant_key(r, email), per, email))
            return false;
    }
    if (st->route->flags & R_CLIENT) {
        gh_bucket_rate per = {cfg->rl_client, MINUTE_MS};
        if (!take(r, st, GH_RLK_CLIENT, tenant_key(r, body_client(r)), per, NULL))
            return false;
    }
    return true;
}

/* Sign-up abuse: an address at a disposable domain gets the answer an
 * invalid address gets, before anything looks for an account, so it says
 * nothing about whether one exists. */
static bool disposable_signup(gh_req *r, const rl_state *st)
{
    if (st->route->c != GH_RL_SIGNUP || gh_disposable_count() == 0)
        return false;
    const char *email = body_email(r);
    if (!email || !gh_disposable_email(email))
        return false;
    gh_resp_error(r, 400, "invalid_email",
                  "Addresses at this email provider are not accepted. Use another address.");
    return true;
}

/* Health probes and the metrics scrape are never limited: an orchestrator
 * or Prometheus polls them from one address, and a 429 there would take a
 * healthy instance out of service. They are cheap and read no secret. */
static bool exempt(const char *pattern)
{
    return strncmp(pattern, "/healthz/", 9) == 0 || strcmp(pattern, "/metrics") == 0;
}

bool gh_rl_admit(gh_req *r, const char *pattern)
{
    if (exempt(pattern))
        return true;
    rl_state *st = gh_arena_alloc(r->arena, sizeof(*st));
    if (!st)
        return true;
    memset(st, 0, sizeof(*st));
    st->route = route_of(r->method, pattern, &st->tmp);
    if (st->route == &st->tmp)
        st->tmp.method = r->method;
    r->ratelimit = st;
    if (r->app->cfg->rate_limits && !take_all(r, st))
        return false;
    return !disposable_signup(r, st);
}

void gh_rl_settle(gh_req *r)
{
    rl_state *st = r->ratelimit;
    if (!st || st->n == 0)
        return;
    bool ok = r->status >= 200 && r->status < 300;
    for (int i = 0; i < st->n; i++) {
        const taken *t = &st->t[i];
        bool back = t->kind == GH_RLK_CLIENT || (st->route->flags & R_ONLY_OK)
                        ? !ok
                        : ok && (st->route->flags & R_REFUND) != 0;
        if (back)
            gh_ratelimit_refund(st->route->c, t->kind, t->key, &t->rate);
    }
}
