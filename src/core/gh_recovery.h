/*
 * gh_recovery: the account recovery service (docs/recovery.md): the rule an
 * account's factors set (gh_recovery_rule), the steps a browser has passed,
 * and the reset that ends it.
 *
 * A recovery moves through rows bound to the browser that started it (the
 * pre-session cookie's hash), never through anything the client sends back:
 *   1. an email flow of kind recover_password (its code or link proves the
 *      mailbox; handlers/gh_accounts.c checks it, as every emailed code);
 *   2. when the rule asks for a factor, a pending second-factor step
 *      (GH_CH_MFA) marked "purpose": "recovery", which the second-factor
 *      API checks like a sign-in's and which can never start a session;
 *   3. a recovery ticket (GH_CH_RECOVERY) holding what was proven, good for
 *      GATEHOUSE_CODE_TTL, which the new password consumes.
 * The reset checks the rule again against the factors the account has at
 * that moment, so a factor added meanwhile raises the bar.
 *
 * A customer who can use none of the account's factors may instead wait
 * (a recovery_waits row, GATEHOUSE_RECOVERY_WAIT seconds): the account's
 * address is told at once and before the end, any sign-in cancels it, and
 * so do the link in the mail and an operator. Proving the email again
 * after the end leads to the new password, and the reset then removes every
 * second factor, passkey and recovery code.
 */
#ifndef GH_RECOVERY_H
#define GH_RECOVERY_H

#include <stdbool.h>

#include "gh_ctx.h"
#include "gh_factors.h"
#include "gh_recovery_rule.h"
#include "gh_store_recovery.h"

#define GH_CH_RECOVERY      "recovery" /* auth_challenges kind: proven, may set a new password */
#define GH_RECOVERY_PURPOSE "recovery" /* the "purpose" of a recovery's factor step */

/* The rule for user_id as the account stands (e: its factors, filled).
 * NOTFOUND when there is no such user. */
gh_dbrc gh_recovery_rule_for(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                             gh_factors_enrolled *e, gh_recovery_rule *out);

/* What proofs factors (JSON array text, gh_assurance) hold for the rule:
 * the email, and the GH_RECOVERY_BY_* bits of the others. */
void gh_recovery_proven(const char *factors, bool *email, unsigned *passed);

/* Where a recovery goes after the email is proven. */
typedef enum {
    GH_RECOVERY_NEXT_PASSWORD, /* the ticket is set: the new password */
    GH_RECOVERY_NEXT_FACTOR,   /* the factor step is set */
    GH_RECOVERY_NEXT_WAITING,  /* a waiting period runs and has not ended */
} gh_recovery_next;

/* In the caller's transaction, after the mailbox was proven in the browser
 * bound to binding: the factor step (the rule asks for one), or the ticket
 * (it does not, or a waiting period of the account has ended), or nothing
 * (a waiting period runs: *wait is it). factors: what is proven so far (the
 * email). Audited (recovery.email_proved). *rule: the account's rule;
 * GH_DB_INVALID when the account may not be recovered by its customer. */
gh_dbrc gh_recovery_email_proved(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                 const char *binding, const char *factors, const char *return_to,
                                 gh_recovery_rule *rule, gh_recovery_next *next,
                                 gh_recovery_wait *wait);

/* Starts the waiting period for user_id in the caller's transaction (the
 * caller holds the account's recovery factor step, now spent): *out the
 * new wait, *cancel_token the secret of its cancel link (in x->arena).
 * When one already runs, *out is that one, *cancel_token NULL, and nothing
 * is written. Audited (recovery.waiting_started). */
gh_dbrc gh_recovery_wait_start(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                               gh_recovery_wait *out, const char **cancel_token);
/* Notes the scheduled reminder of a new wait. */
gh_dbrc gh_recovery_wait_reminder(const gh_ctx *x, gh_dbconn *c, const char *wait_id,
                                  const char *mail_id);
/* Cancels wait id when token is its cancel link's (the link in the mail),
 * or without a token when actor is an operator (token NULL), in the
 * caller's transaction; *out the wait as it was. NOTFOUND: no such waiting
 * wait or a wrong token. Audited (recovery.cancelled); the reminder is
 * withdrawn and the account's address told why (a sentence for the
 * customer). */
gh_dbrc gh_recovery_wait_cancel(const gh_ctx *x, gh_dbconn *c, const char *id, const char *token,
                                const char *actor, const char *reason, const char *why,
                                gh_recovery_wait *out);
/* Cancels every running wait of user_id because its owner signed in, in
 * the caller's transaction (a sign-in's: it fails with it), the same way.
 * One UPDATE when there is none. */
gh_dbrc gh_recovery_cancel_on_signin(const gh_ctx *x, gh_dbconn *c, const char *user_id);

/* In the caller's transaction: the ticket for binding, with what was
 * proven (the factor step passed). Audited (recovery.factor_passed). */
gh_dbrc gh_recovery_ticket_put(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                               const char *binding, const char *factors, const char *return_to);

/* The live ticket of the browser bound to binding. */
typedef struct gh_recovery_ticket {
    gh_challenge ch;
    const char *factors;   /* what was proven, JSON array text */
    const char *return_to; /* where the journey goes at the end, or NULL */
    const char *wait_id;   /* the ended waiting period it rests on, or NULL */
} gh_recovery_ticket;
gh_dbrc gh_recovery_ticket_find(const gh_ctx *x, gh_dbconn *c, const char *binding,
                                gh_recovery_ticket *out);

/* The reset, in the caller's transaction: the rule checked again
 * (GH_DB_INVALID, nothing written, when it is not met; a ticket resting on
 * a waiting period needs that period still running to its end, not
 * cancelled), the ticket spent
 * (CONFLICT when it already was), the new password (phc) stored, every
 * session ended and every refresh token, access token and grant revoked
 * (with back-channel logout queued), and recovery.completed audited. The
 * caller starts the new session at *aal with *amr (what was proven: never
 * more) and sends the notice. */
gh_dbrc gh_recovery_complete(const gh_ctx *x, gh_dbconn *c, const gh_recovery_ticket *t,
                             const char *phc, int *aal, const char **amr, bool *factors_removed);

#endif
