/*
 * gh_audit: the append-only audit log. An event is written on the same
 * connection and inside the same transaction as the change it records, so a
 * change never lands without its event nor an event without its change: an
 * event that fails to be written fails the transaction (gh_db_commit then
 * rolls back and answers the failure), on every driver.
 *
 * The details column holds one canonical text per JSON value, the input of
 * a later hash chain: jansson's compact form with keys sorted (byte order
 * of their UTF-8), no whitespace, strings as UTF-8 with only ", \ and the
 * control characters U+0000-U+001F escaped (\b \f \n \r \t, else \u00XX
 * with upper-case hex), "/" and non-ASCII unescaped. Details hold strings,
 * integers, booleans, null, arrays and objects, never reals (whose text
 * depends on the library's precision). No details is "{}".
 */
#ifndef GH_AUDIT_H
#define GH_AUDIT_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_db.h"

typedef struct gh_audit_event {
    const char *tenant_id;
    const char *type;    /* e.g. "scim.user.created" */
    const char *subject; /* the user (or client) the event is about */
    const char *actor;   /* who did it: "admin", a user id, a client id */
    const char *ip;
    const char *user_agent;
    const char *outcome; /* "success" or "failure" */
    const char *reason;  /* why, in a few words; NULL for plain successes */
    json_t *details;     /* borrowed; NULL for none */
} gh_audit_event;

/* json_dumps flags of the canonical details text (above). */
#define GH_AUDIT_JSON_FLAGS (JSON_SORT_KEYS | JSON_COMPACT)

/* Appends ev to its tenant's log (docs/audit.md "Appending"): inserted
 * with its pii_digest and seal MAC, in the open transaction or, without
 * one, in one of its own; the sealer chains it after the commit (or,
 * without a sealer, the append chains it in the transaction). On
 * failure the open transaction is marked failed too (gh_db_fail), so its
 * commit rolls the change back. Fails until gh_audit_log_set_key. */
gh_dbrc gh_audit_append(gh_dbconn *c, gh_arena *a, const gh_audit_event *ev);

/* Erases a deleted customer's personal data from their events and keeps
 * the events (gh_deletion; docs/accounts-api.md "What deletion keeps"):
 * subject and actor user_id become pseudonym (which must start "pseud:",
 * the one change besides erasure the audit table's trigger lets through),
 * those events lose ip and user_agent, and email (when not NULL) is
 * replaced by "[erased]" in the details of every event of the tenant that
 * holds it. In the caller's transaction; *n: events changed. */
gh_dbrc gh_audit_pseudonymise(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              const char *pseudonym, const char *email, long long *n);

/* What `gatehouse audit` asks for; NULL or 0 fields do not filter. */
typedef struct gh_audit_filter {
    const char *tenant;
    const char *subject;
    const char *type; /* exact, or a prefix ending in '.' ("recovery.") */
    long long since_ms, until_ms;
    bool until_set;      /* until_ms filters (it may be 0) */
    long long after_seq; /* only events after this one (following the log) */
    long long limit;     /* at most this many, the newest (or the next after after_seq) */
} gh_audit_filter;

/* The events f selects in seq order, each as a JSON object {seq, id, time
 * (RFC 3339), type, subject, actor, ip, user_agent, outcome, reason,
 * details} appended to out (a JSON array). */
gh_dbrc gh_audit_query(gh_dbconn *c, gh_arena *a, const gh_audit_filter *f, json_t *out);

#endif
