/*
 * gh_store_users: the users Gatehouse keeps and their password credentials,
 * and the SQL that reads and writes them. Callers hold a connection from
 * gh_db_acquire and open a transaction around writes that must land together
 * (a user, its password and the audit event that records them).
 *
 * Strings in records are owned by the arena passed in.
 */
#ifndef GH_STORE_USERS_H
#define GH_STORE_USERS_H

#include <stdbool.h>

#include "gh_db.h"
#include "gh_scim_filter.h"
#include "gh_profile.h"

#define GH_DEFAULT_TENANT "default"

typedef struct gh_user {
    const char *tenant_id;
    const char *id;       /* UUID */
    const char *username; /* normalised: trimmed, lower case; unique per tenant */
    const char *email;    /* normalised likewise; unique per tenant; may be NULL */
    bool email_verified;
    bool active;
    const char *external_id;
    const char *given_name;
    const char *family_name;
    const char *display_name;
    const char *profile;  /* JSON object text: attributes collected over time */
    long long version;    /* bumped by every update; the SCIM ETag */
    long long created_at; /* ms since the epoch */
    long long updated_at;
    long long delete_at; /* read only: when an account being deleted is erased; else 0 */
} gh_user;

/* The facts OIDC claims are made of (gh_profile_claims). */
static inline gh_profile_user gh_store_user_profile(const gh_user *u)
{
    return (gh_profile_user){.id = u->id,
                             .email = u->email,
                             .email_verified = u->email_verified,
                             .given_name = u->given_name,
                             .family_name = u->family_name,
                             .display_name = u->display_name,
                             .profile = u->profile,
                             .updated_at = u->updated_at};
}

/* Lower-cases and trims an identifier (email or username) into the arena.
 * NULL when the result is empty. */
char *gh_store_normalise_id(gh_arena *a, const char *s);

/* true when s looks like a deliverable email address: one '@' with text on
 * both sides, at most 254 bytes, no spaces, angle brackets or commas. */
bool gh_store_email_valid(const char *s);

/* Inserts u (id, timestamps and version must be set). CONFLICT when the
 * username or email is taken. */
gh_dbrc gh_store_user_insert(gh_dbconn *c, gh_arena *a, const gh_user *u);
gh_dbrc gh_store_user_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                          gh_user *out);
gh_dbrc gh_store_user_by_email(gh_dbconn *c, gh_arena *a, const char *tenant, const char *email,
                               gh_user *out);
/* Writes every field of u and bumps its version; expected_version < 0 skips
 * the check. NOTFOUND, PRECONDITION (version moved) or CONFLICT (taken
 * username/email). On success u->version and u->updated_at are the new ones. */
gh_dbrc gh_store_user_update(gh_dbconn *c, gh_arena *a, gh_user *u, long long expected_version);
gh_dbrc gh_store_user_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                             long long expected_version);

typedef struct gh_user_page {
    gh_user *users;
    size_t n;
    long long total; /* matches in all */
} gh_user_page;

/* Lists users matching filter (may be NULL) in creation order, from the
 * 1-based start, at most count. INVALID with a reason in err when the filter
 * names an attribute or comparison the store cannot evaluate. */
gh_dbrc gh_store_user_list(gh_dbconn *c, gh_arena *a, const char *tenant, const gh_sf_node *filter,
                           long long start, long long count, gh_user_page *out, char *err,
                           size_t errlen);

/* Marks the user's email verified (version bump). */
gh_dbrc gh_store_user_set_verified(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *user_id, long long now);
/* Marks a user as created by self-service sign-up (POST /api/v1/signup). */
gh_dbrc gh_store_user_mark_signup(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *user_id);
/* *pending: the user is a self-service sign-up whose email was never
 * verified (replaceable by a verified sign-up, pruned after a while). */
gh_dbrc gh_store_user_pending_signup(gh_dbconn *c, gh_arena *a, const char *tenant,
                                     const char *user_id, bool *pending);
/* Deletes the user and every row of theirs (flows, codes, tokens, consents,
 * challenges; the rest by cascade). In the caller's transaction. */
gh_dbrc gh_store_user_purge(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id);

/* ---- deletion with a grace period (gh_deletion, docs/accounts-api.md) ----
 * An account being deleted has status 'deleting' (so it reads as not
 * active: no sign-in, no token, no userinfo) and users.delete_at. */

/* Marks the account deleting, to be erased at delete_at (ms). NOTFOUND
 * when no active account has that id. */
gh_dbrc gh_store_user_deletion_set(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *user_id, long long delete_at, long long now);
/* *delete_at: when the account is erased, or 0 when it is not deleting. */
gh_dbrc gh_store_user_deletion_get(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *user_id, long long *delete_at);
/* Makes a deleting account active again; NOTFOUND when it is not deleting. */
gh_dbrc gh_store_user_deletion_clear(gh_dbconn *c, gh_arena *a, const char *tenant,
                                     const char *user_id, long long now);
/* Up to max accounts whose grace period ended before now, as parallel
 * arrays of tenants and ids in the arena. */
gh_dbrc gh_store_user_deletion_due(gh_dbconn *c, gh_arena *a, long long now, size_t max,
                                   const char ***tenants, const char ***ids, size_t *n);
/* Up to max (tenant, id) pairs of the accounts of deleted tenants
 * (docs/tenants.md), which the janitor purges. */
gh_dbrc gh_store_users_of_deleted_tenants(gh_dbconn *c, gh_arena *a, size_t max,
                                          const char ***tenants, const char ***ids, size_t *n);
/* Up to max (tenant, id) pairs of the self-service sign-ups never
 * verified and created before created_before (ms), oldest first, for
 * gh_deletion_prune_unverified; arrays in a. */
gh_dbrc gh_store_unverified_due(gh_dbconn *c, gh_arena *a, long long created_before, size_t max,
                                const char ***tenants, const char ***ids, size_t *n);
/* In the caller's transaction: locks user_id if it is still such a
 * sign-up, NOTFOUND when it is not (verified meanwhile, or gone). */
gh_dbrc gh_store_unverified_claim(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *user_id, long long created_before);
/* Deletes what the user's address left outside their own rows: mail to
 * it (with its delivery attempts), flows opened for it, throttle counters
 * keyed by it or by the user id. In the caller's transaction; called by
 * gh_deletion before gh_store_user_purge. */
gh_dbrc gh_store_user_purge_traces(gh_dbconn *c, gh_arena *a, const char *tenant,
                                   const char *user_id, const char *email);

/* The user's password credential (a PHC string): set replaces any old one. */
gh_dbrc gh_store_password_set(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              const char *phc);
gh_dbrc gh_store_password_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              const char **phc);

/* Parses an RFC 3339 date-time into ms since the epoch; -1 when malformed. */
long long gh_store_parse_time(const char *s);

#endif
