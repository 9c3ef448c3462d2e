/*
 * gh_store_oidc: authorization codes, refresh-token families, consent and
 * revoked access tokens. Codes and refresh tokens arrive here hashed.
 */
#ifndef GH_STORE_OIDC_H
#define GH_STORE_OIDC_H

#include "gh_db.h"

typedef struct gh_code {
    const char *tenant_id;
    const char *code_hash;
    const char *client_id;
    const char *user_id;
    const char *session_id;
    const char *redirect_uri;
    const char *scope;
    const char *nonce;
    const char *code_challenge;
    long long auth_time;
    const char *acr;
    const char *amr; /* JSON array text */
    const char *family_id;
    const char *access_jti;
    long long created_at, expires_at, used_at;
    const char *claims; /* asked for in the ID token by the claims parameter, e.g. "consents" */
    const char *org_id; /* the organisation the authorization was for, or NULL */
    /* the keyed hash of the /authorize request's network
     * (gh_risk_code_network), or NULL */
    const char *network;
} gh_code;

gh_dbrc gh_store_code_insert(gh_dbconn *c, gh_arena *a, const gh_code *k);
gh_dbrc gh_store_code_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *hash,
                          gh_code *out);
/* Marks the code used; CONFLICT when it already was. */
gh_dbrc gh_store_code_use(gh_dbconn *c, gh_arena *a, const char *tenant, const char *hash,
                          long long now);
/* Records what the code produced, so a replay can revoke it. */
gh_dbrc gh_store_code_link(gh_dbconn *c, gh_arena *a, const char *tenant, const char *hash,
                           const char *family_id, const char *access_jti);

typedef struct gh_refresh {
    const char *tenant_id;
    const char *token_hash;
    const char *family_id;
    const char *client_id;
    const char *user_id;
    const char *session_id;
    const char *scope;
    long long auth_time;
    const char *acr;
    const char *amr;
    long long created_at, expires_at, family_expires_at, rotated_at, revoked_at;
    /* the access token issued with this refresh token (NULL: none) and its
     * expiry in ms: revoking the refresh token puts it in revoked_tokens */
    const char *access_jti;
    long long access_expires_at;
    /* the claims the original request asked for in the ID token (the
     * code's, kept through every rotation), or NULL */
    const char *claims;
    const char *org_id; /* the code's organisation, kept through every rotation, or NULL */
    /* the network the token was issued to, as the risk engine's keyed hash
     * (gh_risk_token_network; NULL for tokens from before migration 26):
     * the token journey's new_network compares with it, no further read */
    const char *network;
} gh_refresh;

gh_dbrc gh_store_refresh_insert(gh_dbconn *c, gh_arena *a, const gh_refresh *t);
gh_dbrc gh_store_refresh_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *hash,
                             gh_refresh *out);
/* Marks the token rotated; CONFLICT when it already was (a reuse). */
gh_dbrc gh_store_refresh_rotate(gh_dbconn *c, gh_arena *a, const char *tenant, const char *hash,
                                long long now);
/* Each revocation below revokes the refresh tokens and, in the same
 * statement batch, the unexpired access tokens issued with them (their jtis
 * go to revoked_tokens). Call inside the caller's transaction. */
gh_dbrc gh_store_refresh_revoke_family(gh_dbconn *c, gh_arena *a, const char *tenant,
                                       const char *family_id, long long now);
/* Every refresh token of a user (account disabled, password set). */
gh_dbrc gh_store_refresh_revoke_user(gh_dbconn *c, gh_arena *a, const char *tenant,
                                     const char *user_id, long long now);
/* A user's refresh tokens for one client (consent withdrawn). */
gh_dbrc gh_store_refresh_revoke_client(gh_dbconn *c, gh_arena *a, const char *tenant,
                                       const char *user_id, const char *client_id, long long now);
/* The refresh tokens bound to a session (the session ended). */
gh_dbrc gh_store_refresh_revoke_session(gh_dbconn *c, gh_arena *a, const char *tenant,
                                        const char *session_id, long long now);

/* The scopes the user granted the client ("" when none). */
gh_dbrc gh_store_consent_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                             const char *client_id, const char **scope);
gh_dbrc gh_store_consent_put(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                             const char *client_id, const char *scope, long long now);
gh_dbrc gh_store_consent_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                                const char *client_id);
typedef struct gh_consent {
    const char *client_id;
    const char *scope;
    long long granted_at;
    const char *client_metadata; /* the client's metadata JSON text; NULL if it is gone */
    long long last_used_at;      /* its newest refresh token for the user, 0: none */
} gh_consent;
gh_dbrc gh_store_consent_list(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                              gh_consent **out, size_t *n);

/* Access tokens (JWTs) revoked before they expire, by jti. */
gh_dbrc gh_store_jti_revoke(gh_dbconn *c, gh_arena *a, const char *tenant, const char *jti,
                            long long expires_at);
/* OK when revoked, NOTFOUND when not. */
gh_dbrc gh_store_jti_revoked(gh_dbconn *c, gh_arena *a, const char *tenant, const char *jti);

/* Clients that hold tokens from a session (for back-channel logout). */
gh_dbrc gh_store_session_clients(gh_dbconn *c, gh_arena *a, const char *tenant,
                                 const char *session_id, const char ***clients, size_t *n);

#endif
