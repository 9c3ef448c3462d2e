/*
 * gh_store_mail: SQL for the mail outbox (gh_mail sends what is queued here).
 */
#ifndef GH_STORE_MAIL_H
#define GH_STORE_MAIL_H

#include <stdint.h>

#include "gh_arena.h"
#include "gh_db.h"

enum {
    GH_MAIL_CLAIM_MS = 60 * 1000 /* a claim outlives the longest send (30 s) */
};

typedef struct gh_mail_row {
    const char *tenant_id;
    const char *id;
    const char *to;
    const char *template_name;
    const char *params; /* sealed */
    const char *status; /* pending, sending, sent, failed */
    const char *last_error;
    long long attempts; /* attempts begun, including the one just claimed */
    long long next_attempt_at;
    long long claimed_until; /* 0 when not claimed */
    long long sent_at;
} gh_mail_row;

/* A new pending message, first due at send_at (now or later: a reminder). */
gh_dbrc gh_store_mail_insert(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                             const char *to, const char *template_name, const char *sealed,
                             int64_t now, int64_t send_at);
/* The most overdue message that may be claimed now (pending and due, or
 * sending with an expired claim): tenant_id and id are set. NOTFOUND: none. */
gh_dbrc gh_store_mail_next_due(gh_dbconn *c, gh_arena *a, int64_t now, gh_mail_row *out);
/* Claims the message if it may still be claimed, counting the attempt it
 * starts; fills out with the claimed row. NOTFOUND: not due, or another
 * sender took it first. */
gh_dbrc gh_store_mail_claim(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                            int64_t now, gh_mail_row *out);
/* Records attempt number attempt of a claimed message, in one transaction:
 * a mail_attempts row and the outbox row's new state. outcome: "sent",
 * "retry" (next_attempt_at applies) or "failed". */
gh_dbrc gh_store_mail_record(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                             long long attempt, const char *outcome, const char *error, int64_t now,
                             int64_t next_attempt_at);
gh_dbrc gh_store_mail_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                          gh_mail_row *out);
/* Marks a pending message failed without another attempt (mail-test giving
 * up). NOTFOUND when it is no longer pending. */
gh_dbrc gh_store_mail_withdraw(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                               const char *reason);

#endif
