/*
 * gh_store_recovery: SQL for waiting-period recoveries (recovery_waits;
 * core/gh_recovery keeps the rules, docs/recovery.md the journey).
 */
#ifndef GH_STORE_RECOVERY_H
#define GH_STORE_RECOVERY_H

#include "gh_db.h"

#define GH_WAIT_WAITING   "waiting"
#define GH_WAIT_CANCELLED "cancelled"
#define GH_WAIT_COMPLETED "completed"

typedef struct gh_recovery_wait {
    const char *tenant_id;
    const char *id; /* UUID */
    const char *user_id;
    const char *state; /* GH_WAIT_* */
    long long started_at, ends_at, updated_at;
    const char *cancel_hash;      /* SHA-256 hex of the cancel link's token */
    const char *reminder_mail_id; /* the scheduled reminder, or NULL */
    const char *reason;           /* why it was cancelled, or NULL */
} gh_recovery_wait;

gh_dbrc gh_store_wait_insert(gh_dbconn *c, gh_arena *a, const gh_recovery_wait *w);
gh_dbrc gh_store_wait_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                          gh_recovery_wait *out);
/* The user's newest wait in state waiting; NOTFOUND when none. */
gh_dbrc gh_store_wait_current(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              gh_recovery_wait *out);
/* Moves one wait from waiting to state (cancelled or completed) with a
 * reason; NOTFOUND when it is not waiting any more (a race lost). */
gh_dbrc gh_store_wait_finish(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                             const char *state, const char *reason, long long now);
/* Cancels every waiting wait of the user; *ids and *mails (n of each, in
 * a) are the waits and their reminders (a reminder may be NULL). */
gh_dbrc gh_store_wait_cancel_user(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *user_id, const char *reason, long long now,
                                  const char ***ids, const char ***mails, size_t *n);
/* A new end for a waiting wait (an operator shortening it); NOTFOUND when
 * it is not waiting. */
gh_dbrc gh_store_wait_set_end(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                              long long ends_at, long long now);
/* Notes the scheduled reminder mail of a wait. */
gh_dbrc gh_store_wait_set_reminder(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                   const char *mail_id);
/* Every second factor, passkey and recovery code of the user (a recovery
 * that waited out its period replaces them all). */
gh_dbrc gh_store_factors_remove_all(gh_dbconn *c, gh_arena *a, const char *tenant,
                                    const char *user_id);

#endif
