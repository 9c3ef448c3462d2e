#include "gh_metrics_series.h"

#include <stdlib.h>
#include <string.h>

#include "gh_metrics.h"

/* ---- label value lists (the last of each is the catch-all) ---- */

static const char *const signup_stages[] = {"started", "completed", "abandoned", "other", NULL};
static const char *const signin_outcomes[] = {"success", "failure", "challenged", "other", NULL};
static const char *const signin_reasons[] = {"none",
                                             "wrong_password",
                                             "unknown_account",
                                             "throttled",
                                             "account_disabled",
                                             "account_locked",
                                             "second_factor",
                                             "email_verification",
                                             "email_code",
                                             "deletion_pending",
                                             "other",
                                             NULL};
static const char *const mfa_stages[] = {"challenged", "passed", "failed", "other", NULL};
static const char *const mfa_methods[] = {"totp",  "passkey", "recovery_code", "email", "any",
                                          "other", NULL};
static const char *const recovery_stages[] = {"started", "completed", "cancelled",
                                              "refused", "other",     NULL};
static const char *const stepup_stages[] = {"asked", "passed", "failed", "other", NULL};
static const char *const grants[] = {"authorization_code",
                                     "refresh_token",
                                     "client_credentials",
                                     "urn:ietf:params:oauth:grant-type:device_code",
                                     "urn:ietf:params:oauth:grant-type:token-exchange",
                                     "other",
                                     NULL};
static const char *const risk_outcomes[] = {"allow", "step_up", "deny", "notify", "other", NULL};
/* The reasons of the shipped risk policy (share/risk-policy.txt, docs/risk.md;
 * from signup_velocity on, the other journeys') and a few an operator may
 * name: any other reason of an operator's own policy file is counted as
 * "other". */
static const char *const risk_rules[] = {"none",
                                         "account_under_attack",
                                         "common_password",
                                         "context_shift",
                                         "browser_changed",
                                         "network_changed",
                                         "new_device",
                                         "new_network",
                                         "new_country",
                                         "impossible_travel",
                                         "velocity_account",
                                         "velocity_address",
                                         "velocity_network",
                                         "credential_stuffing",
                                         "password_spraying",
                                         "breached_password",
                                         "no_second_factor",
                                         "session_shift",
                                         "signup_velocity",
                                         "disposable_email",
                                         "scripted_client",
                                         "recovery_velocity",
                                         "email_change_velocity",
                                         "second_factor_guessing",
                                         "client_failures",
                                         "token_abuse",
                                         "other",
                                         NULL};
static const char *const rate_classes[] = {"signin", "signup",  "code",  "token", "registration",
                                           "admin",  "address", "other", NULL};
static const char *const http_methods[] = {"GET",    "HEAD",    "POST",  "PUT", "PATCH",
                                           "DELETE", "OPTIONS", "other", NULL};
static const char *const status_classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other", NULL};
static const char *const cache_results[] = {"hit", "miss", NULL};
/* Filled by gh_metrics_init: the route table's patterns, then "unmatched". */
static const char **http_routes;

/* Request latencies span a cached token request (well under a
 * millisecond) to a sign-in that hashes a password (a second under load). */
static const double latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1,     2.5,  5,     10};
/* Waits are mostly zero; the tail is what matters. */
static const double wait_bounds[] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};
#define NB(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the families ---- */

/* The tenant slots every journey family shares (gh_metrics_init). */
static gh_metric_tenants tenants;

static gh_metric_family signups = {
    .name = "gatehouse_signups_total",
    .help = "Self-service sign-ups by stage: started (account created), completed (email "
            "verified), abandoned (never verified, removed after "
            "GATEHOUSE_UNVERIFIED_ACCOUNT_TTL).",
    .label = {"stage"},
    .values = {signup_stages},
    .tenants = &tenants};
static gh_metric_family signins = {
    .name = "gatehouse_signins_total",
    .help = "Sign-in attempts by outcome (success, failure, challenged: more proof asked) and "
            "reason.",
    .label = {"outcome", "reason"},
    .values = {signin_outcomes, signin_reasons},
    .tenants = &tenants};
static gh_metric_family mfa = {
    .name = "gatehouse_second_factor_total",
    .help = "Second factors: challenges (method any: the customer picks), passes and failures "
            "by method.",
    .label = {"stage", "method"},
    .values = {mfa_stages, mfa_methods},
    .tenants = &tenants};
static gh_metric_family recoveries = {
    .name = "gatehouse_recoveries_total",
    .help = "Account recoveries by stage: started, completed, cancelled, refused.",
    .label = {"stage"},
    .values = {recovery_stages},
    .tenants = &tenants};
static gh_metric_family stepups = {.name = "gatehouse_stepups_total",
                                   .help =
                                       "Step-ups of a signed-in session: asked, passed, failed.",
                                   .label = {"stage"},
                                   .values = {stepup_stages},
                                   .tenants = &tenants};
static gh_metric_family tokens = {.name = "gatehouse_tokens_issued_total",
                                  .help = "Token responses sent by the token endpoint, by grant.",
                                  .label = {"grant_type"},
                                  .values = {grants},
                                  .tenants = &tenants};
static gh_metric_family risk = {.name = "gatehouse_risk_decisions_total",
                                .help = "Risk decisions by outcome and the rule that decided them.",
                                .label = {"outcome", "rule"},
                                .values = {risk_outcomes, risk_rules},
                                .tenants = &tenants};
static gh_metric_family rate_limited = {.name = "gatehouse_rate_limited_total",
                                        .help = "Requests refused by a rate limit (429), by class.",
                                        .label = {"class"},
                                        .values = {rate_classes},
                                        .tenants = &tenants};
static gh_metric_family http_requests = {
    .name = "gatehouse_http_requests_total",
    .help = "HTTP requests by route pattern, method and status class.",
    .label = {"route", "method", "code"},
    .values = {NULL, http_methods, status_classes},
    .sparse = true};
static gh_metric_family http_latency = {
    .name = "gatehouse_http_request_duration_seconds",
    .help = "HTTP request latency by route pattern, from the request line to the response sent.",
    .kind = GH_METRIC_HISTOGRAM,
    .label = {"route"},
    .values = {NULL},
    .bounds = latency_bounds,
    .nbounds = NB(latency_bounds),
    .sparse = true};
static gh_metric_family hash_wait = {
    .name = "gatehouse_password_hash_queue_wait_seconds",
    .help = "Time a request that may hash a password waits for a worker thread.",
    .kind = GH_METRIC_HISTOGRAM,
    .bounds = wait_bounds,
    .nbounds = NB(wait_bounds)};
static gh_metric_family db_wait = {.name = "gatehouse_db_pool_wait_seconds",
                                   .help = "Time taken to get a database connection from the pool.",
                                   .kind = GH_METRIC_HISTOGRAM,
                                   .bounds = wait_bounds,
                                   .nbounds = NB(wait_bounds)};
static gh_metric_family client_cache = {
    .name = "gatehouse_client_cache_lookups_total",
    .help = "Look-ups of the client cache of client authentication, by result.",
    .label = {"result"},
    .values = {cache_results}};
static gh_metric_family keys_cache = {
    .name = "gatehouse_keys_cache_lookups_total",
    .help = "Look-ups of the signing keys' cache of tokens that verified (a hit skips the "
            "signature check), by result.",
    .label = {"result"},
    .values = {cache_results}};
static const char *const seal_results[] = {"sealed", "refused", NULL};
static gh_metric_family audit_sealed = {
    .name = "gatehouse_audit_sealed_total",
    .help = "Audit events the sealer chained, and events it refused to chain because their seal "
            "MAC does not hold (altered or inserted by hand; each counted once per process).",
    .label = {"result"},
    .values = {seal_results}};
static gh_metric_family audit_seal_delay = {
    .name = "gatehouse_audit_seal_delay_seconds",
    .help = "Time from an audit event's writing to its chaining by the sealer.",
    .kind = GH_METRIC_HISTOGRAM,
    .bounds = wait_bounds,
    .nbounds = NB(wait_bounds)};
static gh_metric_family mail_backlog = {
    .name = "gatehouse_mail_outbox_backlog",
    .help = "Mail queued in the outbox and not yet sent (pending or being sent).",
    .kind = GH_METRIC_GAUGE};

static gh_metric_family *const all[] = {
    &signups,      &signins,      &mfa,           &recoveries,       &stepups,     &tokens,
    &risk,         &rate_limited, &http_requests, &http_latency,     &hash_wait,   &db_wait,
    &client_cache, &keys_cache,   &audit_sealed,  &audit_seal_delay, &mail_backlog};

/* ---- set-up ---- */

static int routes_init(const char *const *patterns, size_t n)
{
    const char **v = calloc(n + 2, sizeof(*v));
    size_t k = 0;
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < k && strcmp(v[j], patterns[i]) != 0)
            j++;
        if (j == k)
            v[k++] = patterns[i];
    }
    v[k] = "unmatched";
    http_routes = v;
    http_requests.values[0] = v;
    http_latency.values[0] = v;
    return 0;
}

int gh_metrics_init(const char *const *patterns, size_t n, size_t tenant_slots)
{
    if (routes_init(patterns, n) != 0 || gh_metric_tenants_init(&tenants, tenant_slots) != 0) {
        gh_metrics_shutdown();
        return -1;
    }
    /* the default tenant first: its series are there from the start */
    gh_metric_tenant_slot(&tenants, "default");
    for (size_t i = 0; i < NB(all); i++)
        if (gh_metric_family_init(all[i]) != 0) {
            gh_metrics_shutdown();
            return -1;
        }
    return 0;
}

void gh_metrics_shutdown(void)
{
    for (size_t i = 0; i < NB(all); i++)
        gh_metric_family_free(all[i]);
    gh_metric_tenants_free(&tenants);
    free(http_routes);
    http_routes = NULL;
}

/* ---- the journey, from the audit log ---- */

/* The audit reasons of a failed sign-in that have a label of their own. */
static const char *signin_reason(const char *reason)
{
    static const char *const map[][2] = {
        {"wrong password", "wrong_password"},
        {"unknown account", "unknown_account"},
        {"throttled", "throttled"},
        {"account disabled", "account_disabled"},
        {"account locked by its owner", "account_locked"},
    };
    for (size_t i = 0; reason && i < NB(map); i++)
        if (strcmp(reason, map[i][0]) == 0)
            return map[i][1];
    return "other";
}

void gh_metrics_tenant_known(const char *tenant)
{
    if (signins.cells)
        gh_metric_tenant_slot(&tenants, tenant);
}

/* Events that count once in one family with fixed labels. */
static const struct {
    const char *type;
    gh_metric_family *f;
    const char *v0, *v1;
} fixed[] = {
    {"signup.created", &signups, "started", NULL},
    {"email.verified", &signups, "completed", NULL},
    {"signin.verification_required", &signins, "challenged", "email_verification"},
    {"signin.email_code_required", &signins, "challenged", "email_code"},
    {"signin.deletion_pending", &signins, "challenged", "deletion_pending"},
    {"signin.second_factor_required", &signins, "challenged", "second_factor"},
    {"signin.second_factor_required", &mfa, "challenged", "any"},
    {"signin.second_factor_failed", &mfa, "failed", "any"},
    {"stepup.failed", &mfa, "failed", "any"},
    {"stepup.failed", &stepups, "failed", NULL},
    {"stepup.succeeded", &stepups, "passed", NULL},
    {"recovery.started", &recoveries, "started", NULL},
    {"recovery.completed", &recoveries, "completed", NULL},
    {"recovery.cancelled", &recoveries, "cancelled", NULL},
    {"recovery.refused", &recoveries, "refused", NULL},
};

void gh_metrics_audit_event(const char *tenant, const char *type, const char *outcome,
                            const char *reason, const char *method)
{
    (void)outcome;
    if (!type || !signins.cells)
        return;
    for (size_t i = 0; i < NB(fixed); i++)
        if (strcmp(type, fixed[i].type) == 0)
            gh_metric_add_for(fixed[i].f, tenant, fixed[i].v0, fixed[i].v1, 1);
    if (strcmp(type, "signin.failed") == 0)
        gh_metric_add_for(&signins, tenant, "failure", signin_reason(reason), 1);
    else if (strcmp(type, "signin.succeeded") == 0)
        gh_metric_add_for(&signins, tenant, "success", "none", 1);
    /* A second factor passed (a passkey sign-in is one: it proves two) */
    if (method && strcmp(method, "pwd") != 0 && strcmp(method, "email") != 0 &&
        (strcmp(type, "signin.succeeded") == 0 || strcmp(type, "stepup.succeeded") == 0))
        gh_metric_add_for(&mfa, tenant, "passed", method, 1);
}

void gh_metrics_signups_abandoned(const char *tenant, uint64_t n)
{
    if (n)
        gh_metric_add_for(&signups, tenant, "abandoned", NULL, n);
}

void gh_metrics_stepup_asked(const char *tenant)
{
    gh_metric_add_for(&stepups, tenant, "asked", NULL, 1);
    gh_metric_add_for(&mfa, tenant, "challenged", "any", 1);
}

void gh_metrics_token_issued(const char *tenant, const char *grant)
{
    gh_metric_add_for(&tokens, tenant, grant, NULL, 1);
}

void gh_metrics_risk_decision(const char *tenant, const char *outcome, const char *rule)
{
    gh_metric_add_for(&risk, tenant, outcome, rule ? rule : "none", 1);
}

void gh_metrics_rate_limited(const char *tenant, const char *class_)
{
    gh_metric_add_for(&rate_limited, tenant, class_, NULL, 1);
}

/* ---- operators ---- */

/* The route's position: a pointer from the route table first (every
 * request passes one), then by text. */
static size_t route_index(const char *route)
{
    size_t i = 0;
    if (!route)
        route = "unmatched";
    for (; http_routes[i] && http_routes[i] != route; i++)
        ;
    if (http_routes[i])
        return i;
    for (i = 0; http_routes[i + 1] && strcmp(http_routes[i], route) != 0; i++)
        ;
    return i;
}

void gh_metrics_http(const char *route, const char *method, unsigned status, double seconds)
{
    static const char *const classes[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    if (!http_requests.cells || !http_routes)
        return;
    size_t ri = route_index(route);
    /* the route's index is known: only method and class are looked up */
    const char *rest[] = {NULL, method, classes[status >= 100 && status < 600 ? status / 100 : 0]};
    size_t per_route = http_requests.nseries / http_requests.nvalues[0];
    gh_metric_add_at(&http_requests,
                     ri * per_route + gh_metric_series(&http_requests, rest) % per_route, 1);
    gh_metric_observe_at(&http_latency, ri, seconds);
}

void gh_metrics_hash_queue_wait(double seconds)
{
    gh_metric_observe(&hash_wait, NULL, NULL, seconds);
}

void gh_metrics_db_pool_wait(double seconds)
{
    gh_metric_observe(&db_wait, NULL, NULL, seconds);
}

void gh_metrics_client_cache(int hit)
{
    gh_metric_add(&client_cache, hit ? "hit" : "miss", NULL, NULL, 1);
}

void gh_metrics_keys_cache(int hit)
{
    gh_metric_add(&keys_cache, hit ? "hit" : "miss", NULL, NULL, 1);
}

void gh_metrics_audit_sealed(double delay_seconds)
{
    gh_metric_add(&audit_sealed, "sealed", NULL, NULL, 1);
    gh_metric_observe(&audit_seal_delay, NULL, NULL, delay_seconds);
}

void gh_metrics_audit_refused(void)
{
    gh_metric_add(&audit_sealed, "refused", NULL, NULL, 1);
}

void gh_metrics_mail_backlog(int64_t n)
{
    gh_metric_set(&mail_backlog, NULL, NULL, n);
}

void gh_metrics_render_all(const char *tenant, gh_strbuf *out)
{
    /* a tenant's scrape leaves out the operator series: they are the
     * server's, counted over every tenant */
    for (size_t i = 0; i < NB(all); i++)
        if (!tenant || all[i]->tenants)
            gh_metric_render(all[i], tenant, out);
}
