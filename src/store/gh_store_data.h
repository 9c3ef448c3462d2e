/*
 * gh_store_data: the reads behind a customer's "Download my data"
 * (gh_data_export, docs/accounts-api.md). One statement per section of the
 * document, each selecting only what may be shown to the customer: no
 * statement here reads a password hash, a TOTP seed, a public key, a token
 * or code hash, a device cookie's hash or a mail's parameters, so no later
 * mistake can put one in the document.
 *
 * Each section answers rows whose columns are listed below, in order;
 * times are ms since the epoch, NULL where never.
 */
#ifndef GH_STORE_DATA_H
#define GH_STORE_DATA_H

#include "gh_db.h"

/* At most this many rows of a section that grows with use (audit events,
 * mails, sessions); the newest are kept and the document says it was cut. */
enum { GH_STORE_DATA_MAX_ROWS = 5000 };

typedef enum {
    /* type, created_at, last_used_at: the credentials (the password) */
    GH_DATA_CREDENTIALS,
    /* id, kind, name, confirmed (0/1), created_at, last_used_at, aaguid,
     * transports (JSON text), flags (authenticatorData's at last use),
     * cloned_at: second factors, oldest first */
    GH_DATA_FACTORS,
    /* left, total, created_at: recovery codes (one row) */
    GH_DATA_RECOVERY_CODES,
    /* id, created_at, last_seen_at, idle_expires_at, expires_at, auth_time,
     * aal, amr (JSON text), ip, user_agent, revoked_at: every session still
     * stored, live or ended, newest first */
    GH_DATA_SESSIONS,
    /* created_at, last_seen_at: devices signed in on */
    GH_DATA_DEVICES,
    /* client_id, scope, created_at, expires_at, family_expires_at: refresh
     * tokens that still work (not rotated, revoked or expired at now) */
    GH_DATA_GRANTS,
    /* time, type, outcome, reason, ip, user_agent: audit events about the
     * user, newest first (details are left out: they are the operator's) */
    GH_DATA_AUDIT,
    /* template, status, created_at, sent_at: mails to the address given,
     * newest first */
    GH_DATA_MAILS,
    /* kind, email, created_at, expires_at, consumed_at: emailed-code flows
     * of the user */
    GH_DATA_EMAIL_FLOWS,
    /* state, started_at, ends_at, reason, updated_at: waiting-period
     * recoveries, newest first */
    GH_DATA_RECOVERY_WAITS,
    /* created_at, journey, outcome, reason, score, policy_version, signals
     * (JSON text), fired (JSON text): risk decisions about the user, newest
     * first (what a shadow policy would have done is the operator's) */
    GH_DATA_RISK_DECISIONS,
    GH_DATA_SECTIONS
} gh_data_section;

/* Reads one section for user_id in tenant (email: the user's address, for
 * GH_DATA_MAILS; now: for GH_DATA_GRANTS), at most
 * GH_STORE_DATA_MAX_ROWS + 1 rows (one more tells the caller it was cut),
 * into *out in a. */
gh_dbrc gh_store_data_read(gh_dbconn *c, gh_arena *a, gh_data_section section, const char *tenant,
                           const char *user_id, const char *email, long long now, gh_dbres *out);

#endif
