/*
 * gh_email_change: a customer's new email address, once its code proved
 * the new mailbox (docs/accounts-api.md, POST /api/v1/email; issue 18
 * item 3). The old address is told, with a link that undoes the change
 * for GATEHOUSE_UNDO_WINDOW and locks the account (gh_notices).
 */
#ifndef GH_EMAIL_CHANGE_H
#define GH_EMAIL_CHANGE_H

#include "gh_ctx.h"

/* In the caller's transaction: user_id's address becomes new_email,
 * verified (the username follows when it was the address); the old address
 * gets the email_changed notice, the new one masked, with its undo link;
 * audited email.changed. CONFLICT: another account of the tenant holds
 * new_email. *old: the address before (NULL when it had none). */
gh_dbrc gh_email_change_apply(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                              const char *new_email, const char **old);

#endif
