/*
 * gh_store_risk: the SQL of the risk engine (core/gh_risk, docs/risk.md):
 * the networks each account signed in from (hashed, bounded per account),
 * the stored decisions, the recent failed sign-ins the velocity signals
 * count (read from the audit trail, which already records each one), and
 * the context a live session is compared with.
 */
#ifndef GH_STORE_RISK_H
#define GH_STORE_RISK_H

#include <stdbool.h>

#include "gh_db.h"

/* How many networks an account keeps: the most recently used ones. */
enum { GH_RISK_NETWORKS_KEPT = 20 };

gh_dbrc gh_store_risk_network_known(gh_dbconn *c, gh_arena *a, const char *tenant,
                                    const char *user_id, const char *network_hash, bool *known);
/* Records (or refreshes) a network and drops the account's oldest beyond
 * GH_RISK_NETWORKS_KEPT. */
gh_dbrc gh_store_risk_network_seen(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *user_id, const char *network_hash, long long now);

typedef struct gh_risk_record {
    const char *id;
    const char *user_id; /* NULL when no account */
    const char *journey;
    long long created_at;
    const char *outcome;
    const char *acr;    /* NULL unless step_up */
    const char *reason; /* NULL when no rule fired */
    long long score;
    const char *policy_version;
    const char *signals; /* JSON text */
    const char *fired;   /* JSON text: [{"rule","weight","reason","outcome"}] */
    const char *shadow;  /* JSON text or NULL */
} gh_risk_record;

gh_dbrc gh_store_risk_decision_insert(gh_dbconn *c, gh_arena *a, const char *tenant,
                                      const gh_risk_record *d);
gh_dbrc gh_store_risk_decision_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                   gh_risk_record *out);
/* The account's decisions, newest first, at most limit. */
gh_dbrc gh_store_risk_decision_list(gh_dbconn *c, gh_arena *a, const char *tenant,
                                    const char *user_id, int limit, gh_risk_record **out,
                                    size_t *n);
/* Deletion: one decision keeps its facts under a pseudonym, with signals
 * that no longer say where the customer was. */
gh_dbrc gh_store_risk_decision_erase(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                     const char *pseudonym, const char *signals);

/* Failed sign-ins since a time: their address, account (NULL when the
 * address was unknown) and audited reason, newest first, at most limit
 * rows. */
typedef struct gh_risk_failure {
    const char *ip;
    const char *subject;
    const char *reason; /* "wrong password", "wrong code", ... or NULL */
} gh_risk_failure;
gh_dbrc gh_store_risk_failures(gh_dbconn *c, gh_arena *a, const char *tenant, long long since,
                               int limit, gh_risk_failure **out, size_t *n);
/* The account's latest sign-ins (sessions, ended ones too, newest first, at
 * most limit): their address and time, for the geolocation signals. */
typedef struct gh_risk_past_signin {
    const char *ip;
    long long at;
} gh_risk_past_signin;
gh_dbrc gh_store_risk_recent_signins(gh_dbconn *c, gh_arena *a, const char *tenant,
                                     const char *user_id, int limit, gh_risk_past_signin **out,
                                     size_t *n);

/* The audit events of a journey since a time: those whose type is one of
 * types (NULL-terminated, at most GH_RISK_EVENT_TYPES), their address and
 * subject, newest first, at most limit rows. Exact types rather than a
 * pattern, so that each is one seek of audit_tenant_type_time bounded by
 * the window, whatever else the tenant's log holds. */
enum { GH_RISK_EVENT_TYPES = 4 };
gh_dbrc gh_store_risk_events(gh_dbconn *c, gh_arena *a, const char *tenant,
                             const char *const *types, long long since, int limit,
                             gh_risk_failure **out, size_t *n);

/* The context a session is compared with from now on (re-evaluation,
 * sessions.risk_context); with step_up, the session also drops to AAL1 and
 * is marked fresh_required: anything that asks for a recent sign-in asks
 * again, while its auth_time stays the true time of its sign-in. */
gh_dbrc gh_store_risk_session_context(gh_dbconn *c, gh_arena *a, const char *tenant,
                                      const char *session_id, const char *context, bool step_up);

#endif
