/*
 * gh_store_sessions: the SQL for browser sessions and the devices users
 * signed in on, in the database so any instance can serve any request.
 * Session tokens and device cookies arrive here already hashed.
 */
#ifndef GH_STORE_SESSIONS_H
#define GH_STORE_SESSIONS_H

#include <stdbool.h>

#include "gh_db.h"

typedef struct gh_session {
    const char *tenant_id;
    const char *id; /* public id (UUID), safe to show and to revoke by */
    const char *token_hash;
    const char *user_id;
    long long created_at, last_seen_at, idle_expires_at, expires_at, auth_time;
    int aal;
    const char *amr;     /* JSON array text, e.g. ["pwd"] */
    const char *factors; /* JSON array text of each factor and its time,
                          * e.g. [{"method":"pwd","time":1700000000000}] */
    const char *ip;
    const char *user_agent;
    /* the context the risk engine last scored it in ("network\nuser
     * agent"), NULL until its first shift (docs/risk.md); read by
     * gh_store_session_by_token only */
    const char *risk_context;
    /* a risk re-evaluation asked for a step-up: the sign-in counts as old
     * (for max_age, prompt=login, re-authentication) until the person
     * proves again; auth_time stays true. Read by gh_store_session_by_token
     * only; cleared by a step-up (gh_store_session_elevate) */
    bool fresh_required;
} gh_session;

gh_dbrc gh_store_session_insert(gh_dbconn *c, gh_arena *a, const gh_session *s);
/* A session by its token hash, unless revoked. Expiry is the caller's check. */
gh_dbrc gh_store_session_by_token(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *token_hash, gh_session *out);
gh_dbrc gh_store_session_touch(gh_dbconn *c, gh_arena *a, const gh_session *s, long long now,
                               long long idle_expires_at);
/* Step-up: the same session (same id, so tokens' sid stays valid) gets a
 * new token hash, a higher level, its new methods and factors, and
 * auth_time of this latest authentication, the new level's lifetimes
 * (last_seen_at, idle_expires_at, expires_at), and no longer needs fresh
 * proof (fresh_required). NOTFOUND when the session is
 * gone or revoked; the old token hash no longer finds it. */
gh_dbrc gh_store_session_elevate(gh_dbconn *c, gh_arena *a, const gh_session *s);
/* Ends every session of a user (each queues its back-channel logout) and
 * revokes all the user's refresh and access tokens: the account was
 * disabled, deleted, or given a password by an administrator. Call inside
 * the caller's transaction. */
gh_dbrc gh_store_user_revoke_all(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                                 long long now);
gh_dbrc gh_store_session_revoke(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                long long now);
/* The ids of the user's live sessions past the newest cap of them, oldest
 * last (at most 100). */
gh_dbrc gh_store_session_over_cap(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *user_id, long long now, unsigned cap,
                                  const char ***ids, size_t *n);
/* The user's live sessions (not revoked, not expired at now), newest first. */
gh_dbrc gh_store_session_list(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              long long now, gh_session **out, size_t *n);

/* A device cookie lives this long from the last sign-in on it; the janitor
 * forgets a device unseen for as long. */
enum { GH_DEVICE_KEEP_DAYS = 400 }; /* the longest browsers keep a cookie */

/* Devices (docs/accounts-api.md, throttling): the SHA-256 of a device
 * cookie on which the user signed in. seen records a sign-in (insert or
 * refresh); known tells whether the pair was recorded. */
gh_dbrc gh_store_device_seen(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                             const char *device_hash, long long now);
/* *any: the user has signed in on some device this store remembers. */
gh_dbrc gh_store_device_any(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                            bool *any);
gh_dbrc gh_store_device_known(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              const char *device_hash, bool *known);
/* *seen: a session of this user (live, or ended less than a day ago) was
 * opened from ip. */
gh_dbrc gh_store_session_seen_from(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *user_id, const char *ip, bool *seen);

#endif
