/*
 * gh_metrics_series: every series Gatehouse exports at /metrics
 * (docs/metrics.md lists them with their labels), and the small functions
 * the rest of the server counts through. Each takes label values from a
 * fixed list: a value outside it is counted as "other", so no call can add
 * a series (no user ids, emails, client ids or raw paths ever become
 * labels).
 *
 * In base so that every layer may count (the store's pool wait and
 * janitor, the HTTP core, the handlers). Before gh_metrics_init every call
 * is a no-op (the command line counts nothing).
 */
#ifndef GH_METRICS_SERIES_H
#define GH_METRICS_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "gh_arena.h"

/* Allocates every series. http_routes: the route table's patterns (n of
 * them, duplicates allowed), the only values the route label takes besides
 * "unmatched". tenant_slots (GATEHOUSE_METRICS_TENANTS, from 1): the
 * tenants whose journey series have a tenant label of their own, the
 * default tenant first; the others count under tenant="other". Once,
 * before the server's threads start. -1 on failure. */
int gh_metrics_init(const char *const *http_routes, size_t n, size_t tenant_slots);
/* Frees everything (the end of serve, tests). */
void gh_metrics_shutdown(void);

/* Every journey call below takes the id of the tenant the step belongs to
 * (the request's, the audit event's): its first count gives the tenant a
 * slot while slots are left. */

/* A tenant the server knows (the tenants' snapshot): gives it a slot now,
 * so its series are exported at zero before its first count. */
void gh_metrics_tenant_known(const char *tenant);

/* An audit event as it is written (gh_audit_append): the journey series
 * (sign-ups, sign-ins, second factors, recoveries, step-ups) follow from
 * the event's type, outcome and reason. method: the "method" of the
 * event's details, or NULL. */
void gh_metrics_audit_event(const char *tenant, const char *type, const char *outcome,
                            const char *reason, const char *method);

/* Sign-ups never verified and removed by the janitor after
 * GATEHOUSE_UNVERIFIED_ACCOUNT_TTL (the "abandoned" stage). */
void gh_metrics_signups_abandoned(const char *tenant, uint64_t n);
/* A step-up asked of a signed-in session (the authorization endpoint sent
 * it to the second-factor page); passes come with the audit event. */
void gh_metrics_stepup_asked(const char *tenant);
/* A token response sent: grant is the grant_type ("authorization_code",
 * "refresh_token", "client_credentials", ...; others count as "other"). */
void gh_metrics_token_issued(const char *tenant, const char *grant);

/* For the risk engine (issue 22): one decision, outcome "allow", "step_up",
 * "deny" or "notify", rule the name of the rule that decided it ("none"
 * when no rule fired). Rule names must come from the shipped policy's
 * list (GH_METRICS_RISK_RULES in gh_metrics_series.c); others count as
 * "other". */
void gh_metrics_risk_decision(const char *tenant, const char *outcome, const char *rule);
/* For the rate limits (issue 22): one refusal (429) in class "signin",
 * "signup", "code", "token", "registration", "admin" or "address". */
void gh_metrics_rate_limited(const char *tenant, const char *class_);

/* One HTTP request: route is the route table's pattern (NULL: no route
 * matched), status the status code sent, seconds from the request line to
 * completion. */
void gh_metrics_http(const char *route, const char *method, unsigned status, double seconds);
/* Waits: a request that may hash a password for a worker thread, and any
 * caller for a database connection. */
void gh_metrics_hash_queue_wait(double seconds);
void gh_metrics_db_pool_wait(double seconds);
/* The client cache of client authentication: one look-up. */
void gh_metrics_client_cache(int hit);
/* The signing keys' cache of tokens that verified (gh_keys_cache): one
 * look-up. */
void gh_metrics_keys_cache(int hit);
/* The audit sealer: one event chained delay_seconds after it was written,
 * or one refused (its seal MAC does not hold). */
void gh_metrics_audit_sealed(double delay_seconds);
void gh_metrics_audit_refused(void);
/* Mail in the outbox not yet sent (read at each scrape). */
void gh_metrics_mail_backlog(int64_t n);

/* The text of a scrape, appended to out: with tenant NULL, every series
 * (the journey series of every tenant with a slot, and "other"); else only
 * that tenant's journey series (docs/metrics.md, "Scraping"). */
void gh_metrics_render_all(const char *tenant, gh_strbuf *out);

#endif
