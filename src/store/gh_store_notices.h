/*
 * gh_store_notices: the SQL for the links in security notices
 * (notice_links) and the owner's lock on an account (users.locked_at).
 * core/gh_notices keeps the rules; docs/recovery.md the journey.
 *
 * Strings in records are owned by the arena passed in.
 */
#ifndef GH_STORE_NOTICES_H
#define GH_STORE_NOTICES_H

#include "gh_db.h"

#define GH_NOTICE_LOCK       "lock"       /* "This wasn't me": lock, then recover */
#define GH_NOTICE_UNDO_EMAIL "undo_email" /* restore old_email, lock, then recover */

typedef struct gh_notice_link {
    const char *tenant_id;
    const char *id; /* UUID */
    const char *user_id;
    const char *kind;                          /* GH_NOTICE_* */
    const char *token_hash;                    /* SHA-256 hex of the link's token */
    const char *old_email;                     /* undo_email: the address to restore; else NULL */
    long long created_at, expires_at, used_at; /* used_at 0: not used */
} gh_notice_link;

gh_dbrc gh_store_notice_link_insert(gh_dbconn *c, gh_arena *a, const gh_notice_link *l);
/* The link whose token hashes to token_hash; NOTFOUND when none. */
gh_dbrc gh_store_notice_link_find(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *token_hash, gh_notice_link *out);
/* Spends a link: NOTFOUND when it was already used or has expired by now
 * (a race lost, or a replay). */
gh_dbrc gh_store_notice_link_use(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                 long long now);

/* Sets (at > 0) or clears (at 0) the owner's lock. NOTFOUND: no user. */
gh_dbrc gh_store_user_set_locked(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                                 long long at);
/* *at: when the owner locked the account, 0 when it is not locked. */
gh_dbrc gh_store_user_locked_at(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                                long long *at);

#endif
