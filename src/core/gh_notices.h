/*
 * gh_notices: security notices by mail and the links in them
 * (docs/recovery.md, "This wasn't me"; issue 18 item 8).
 *
 * A notice tells the account's owner that something happened (a password
 * reset or change, a new address, a sign-in from a new device) and, when
 * it was not them, gives one link that takes the account back: used once
 * within GATEHOUSE_UNDO_WINDOW, it locks the account (every sign-in is
 * refused, every session and token ends), for an email change restores
 * the old address first, and sends the owner into a recovery, whose
 * completion alone lifts the lock. The link's secret travels in the URL's
 * fragment (/recover/lock#lock=...), so it reaches neither access logs nor
 * Referer headers; the page posts it. Only its SHA-256 is stored.
 */
#ifndef GH_NOTICES_H
#define GH_NOTICES_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_ctx.h"
#include "gh_store_notices.h"
#include "gh_store_users.h"

/* A new link of kind (GH_NOTICE_*) for user_id in the caller's
 * transaction; old_email: the address an undo restores (undo_email only).
 * *url: the page it opens, with its secret (in x->arena). */
gh_dbrc gh_notices_link(const gh_ctx *x, gh_dbconn *c, const char *user_id, const char *kind,
                        const char *old_email, const char **url);

/* Adds a lock link ("lock_link") and its lifetime in days ("days") to the
 * parameters of a notice mail about user_id. */
gh_dbrc gh_notices_add_lock_link(const gh_ctx *x, gh_dbconn *c, const char *user_id,
                                 json_t *params);

/* Queues the notice of a sign-in from a device the account has not used
 * before (browser, system and network from x's client, the time), in the
 * caller's transaction. */
gh_dbrc gh_notices_new_device(const gh_ctx *x, gh_dbconn *c, const gh_user *u);

typedef struct gh_notice_used {
    const char *user_id;
    const char *kind;    /* GH_NOTICE_* */
    const char *email;   /* the account's address now (restored by an undo) */
    bool email_restored; /* an undo gave the old address back */
} gh_notice_used;

/* Uses the link whose secret is token, in the caller's transaction: spent,
 * the old address restored (an undo, when no other account took it
 * meanwhile), the account locked, every session and token ended (their
 * back-channel logouts queued: the caller kicks gh_logout), audited
 * (account.locked). NOTFOUND: no such link, or used, or expired. */
gh_dbrc gh_notices_use(const gh_ctx *x, gh_dbconn *c, const char *token, gh_notice_used *out);

/* "jane@example.com" as "j***@example.com", for a notice to another
 * address (in a). */
const char *gh_notices_mask_email(gh_arena *a, const char *email);

/* A time (ms since the epoch) as notices show it: "2026-12-09 04:12 UTC". */
const char *gh_notices_time(gh_arena *a, long long ms);

#endif
