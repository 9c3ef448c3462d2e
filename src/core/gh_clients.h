/*
 * gh_clients: the OAuth clients service — the model, registration and
 * management (RFC 7591, RFC 7592) with their audit events, and the cache
 * that client authentication (handlers/gh_client_auth) reads through.
 *
 * One validation (proto/gh_client_meta) serves the registration endpoint
 * (gh_register.c), PUT on the client configuration endpoint (RFC 7592) and
 * the command line (cmd/gh_cmd_client.c), so a client is held to the same
 * rules whichever way it was created.
 *
 * Secrets at rest: the client secret and the registration access token are
 * stored as gh_secret_hash hex only; both are shown once, when issued.
 */
#ifndef GH_CLIENTS_H
#define GH_CLIENTS_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_client_meta.h"
#include "gh_ctx.h"
#include "gh_db.h"
#include "gh_store_clients.h"

/* Exact string comparison against the registered redirect_uris (no
 * normalisation, no prefix match). */
bool gh_client_redirect_ok(const gh_client *cl, const char *uri);
bool gh_client_post_logout_redirect_ok(const gh_client *cl, const char *uri);
bool gh_client_grant_ok(const gh_client *cl, const char *grant_type);
/* The scopes the client may ask for (normalised, in a): its registered
 * `scope`, or GH_SCOPES_STANDARD when it registered none. */
const char *gh_client_scope(gh_arena *a, const gh_client *cl);
/* NULL if none. */
const char *gh_client_backchannel_logout_uri(const gh_client *cl);

/*
 * Loads a client for client authentication (handlers/gh_client_auth)
 * through a short-lived per-process cache: a fresh entry takes no database
 * connection (the client_credentials grant stays without one); a miss takes
 * the connection through gh_ctx_db(x) and reads the store. The cache is
 * keyed by x->tenant and id. Strings live in x->arena; the metadata is
 * shared with the cache and read-only (release with gh_client_release).
 * NOTFOUND when unknown (unknown clients are not cached); BUSY when no
 * connection could be had (behind HTTP, gh_req_ctx has answered 503).
 * Changes through gh_clients_update, _delete and _set_first_party drop the
 * entry at once; changes by another process show within a second.
 */
gh_dbrc gh_clients_get_cached(const gh_ctx *x, const char *id, gh_client *out);

/* ---- registration and management, shared by gh_register.c and the CLI ---- */

/* Who changes a client, for the audit log. */
typedef struct gh_client_actor {
    const char *tenant;
    const char *actor; /* "admin", "cli", or the client itself (its id) */
    const char *ip;    /* NULL from the command line */
    const char *user_agent;
} gh_client_actor;

/*
 * Registers a client from metadata (validated here): a new client id, a
 * client secret for the secret-based methods, a registration access token;
 * writes the row and an audit event in one transaction. issuer forms
 * registration_client_uri. On a validation error returns GH_DB_INVALID with
 * err set; other codes are store errors. On success *response is the RFC
 * 7591 3.2.1 document, with client_secret and registration_access_token in
 * clear: the only time they are shown.
 */
gh_dbrc gh_clients_register(gh_dbconn *c, gh_arena *a, const gh_client_actor *who,
                            const char *issuer, const json_t *metadata, bool first_party,
                            json_t **response, gh_client_error *err);

/*
 * Replaces the metadata of cur (RFC 7592 2.2). The request may carry
 * client_id (must match), client_secret (must be the current one) and the
 * server-issued fields (ignored). A client moving to a secret-based method
 * without a secret gets one (shown in *response); a client moving away from
 * them loses it. INVALID with err set on a validation error.
 */
gh_dbrc gh_clients_update(gh_dbconn *c, gh_arena *a, const gh_client_actor *who, const char *issuer,
                          const gh_client *cur, const json_t *metadata, json_t **response,
                          gh_client_error *err);

/* A new client secret for id (secret-based methods only: INVALID for the
 * others), the old one refused from now on (this process at once, others
 * within the client cache's second); audited client.secret_rotated.
 * *secret: the new one, in a, shown this once. */
gh_dbrc gh_clients_rotate_secret(gh_dbconn *c, gh_arena *a, const gh_client_actor *who,
                                 const char *id, const char **secret);

/* Deletes a client and its grants, with an audit event. NOTFOUND when unknown. */
gh_dbrc gh_clients_delete(gh_dbconn *c, gh_arena *a, const gh_client_actor *who, const char *id);

/* Marks a client first-party (no consent screen) or not, with an audit event. */
gh_dbrc gh_clients_set_first_party(gh_dbconn *c, gh_arena *a, const gh_client_actor *who,
                                   const char *id, bool first_party);

/* The client's configuration as JSON (RFC 7592 3): client_id,
 * client_id_issued_at, client_secret_expires_at (when it has a secret),
 * registration_client_uri, the metadata, gatehouse_first_party. New reference. */
json_t *gh_client_view(const gh_client *cl, const char *issuer);

/* True when the registration access token opens cl (constant time). */
bool gh_client_registration_token_ok(const gh_client *cl, const char *token);

#endif
