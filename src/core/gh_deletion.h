/*
 * gh_deletion: a customer deletes their account (issue 18 item 6;
 * docs/accounts-api.md "Delete my account"; SECURITY.md #31).
 *
 * Deletion has two steps. The request deactivates the account at once
 * (status 'deleting': no sign-in, no token, no userinfo), ends every
 * session and revokes every token with back-channel logout, and mails a
 * notice with the date. Until then, signing in with the right credentials
 * offers to restore it. After GATEHOUSE_DELETION_GRACE the janitor purges
 * it: the account and every row of theirs go, and their audit events stay
 * under a keyed pseudonym with their personal fields erased. SCIM DELETE
 * purges the same way at once.
 */
#ifndef GH_DELETION_H
#define GH_DELETION_H

#include "gh_ctx.h"
#include "gh_store_users.h"

enum { GH_DELETION_PSEUDONYM_LEN = 6 + 22 }; /* "pseud:" + 16 bytes in base64url */

/* Starts the grace period of u (an active account) in the caller's
 * transaction: deactivates it, ends its sessions and tokens (the caller
 * commits, then gh_logout_kick and gh_mail_kick), audits
 * account.deletion_requested and queues the notice, which tells the date and
 * points at signin_link. *delete_at: when the purge is due (ms). NOTFOUND
 * when the account is not active. */
gh_dbrc gh_deletion_request(const gh_ctx *x, gh_dbconn *c, const gh_user *u,
                            const char *signin_link, long long *delete_at);

/* Ends the grace period of user_id in the caller's transaction: the
 * account is active again (account.restored). NOTFOUND when it is not
 * being deleted. */
gh_dbrc gh_deletion_restore(const gh_ctx *x, gh_dbconn *c, const char *user_id);

/* Erases user_id now, in the caller's transaction: sessions and tokens
 * end, the account and its rows go (gh_store_user_purge and its traces:
 * mail to the address, flows, throttle counters), the audit log keeps the
 * account's events under its pseudonym (gh_audit_pseudonymise). Then the
 * event `type` is appended with the pseudonym as subject, actor as actor
 * (details: consumed, may be NULL). NOTFOUND when no such user. */
gh_dbrc gh_deletion_purge(const gh_ctx *x, gh_dbconn *c, const char *user_id, const char *actor,
                          const char *type, json_t *details);

/* What a removed account leaves as evidence keeps only its pseudonym, in
 * the caller's transaction: its audit events (gh_audit_pseudonymise; email
 * as there, NULL keeps the address in other events' details), consent
 * ledger, preference history and risk decisions. Counts in n. */
typedef struct gh_deletion_counts {
    long long events, consents, preferences, risk_decisions;
} gh_deletion_counts;
gh_dbrc gh_deletion_pseudonymise(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                 const char *email, const char *pseudonym, gh_deletion_counts *n);

/* The pseudonym of a user in the audit log: "pseud:" and the first 16
 * bytes, base64url, of HMAC-SHA-256 over tenant and user id under the
 * master key's "audit pseudonym" key. Stable, so one person's events stay
 * linked; not reversible without the master key. */
void gh_deletion_pseudonym(const gh_config *cfg, const char *tenant, const char *user_id,
                           char out[GH_DELETION_PSEUDONYM_LEN + 1]);

/* The janitor's part (gh_prune_set_hook): purges the accounts whose grace
 * period is over, each in its own transaction. */
void gh_deletion_purge_due(gh_db *db, const gh_config *cfg);

/* The janitor's removal of self-service sign-ups never verified within
 * GATEHOUSE_UNVERIFIED_ACCOUNT_TTL (up to 100 a run): each is purged as
 * gh_deletion_purge does, in its own transaction, so its consent records,
 * preference history and audit events keep only the pseudonym
 * (account.unverified_pruned). SCIM and imported users are never touched. */
void gh_deletion_prune_unverified(gh_db *db, const gh_config *cfg);

/* Both of the above: the prune thread's hook (gh_prune_set_hook). */
/* The janitor's batch of deleted tenants' accounts. */
void gh_deletion_purge_deleted_tenants(gh_db *db, const gh_config *cfg);
void gh_deletion_janitor(gh_db *db, const gh_config *cfg);

#endif
