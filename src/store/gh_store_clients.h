/*
 * gh_store_clients: the OAuth client as stored (the gh_client row) and the
 * SQL for clients and used client-assertion jtis. The service around it
 * (validation, authentication, the cache) is core/gh_clients.
 */
#ifndef GH_STORE_CLIENTS_H
#define GH_STORE_CLIENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gh_arena.h"
#include "gh_db.h"

typedef struct gh_client {
    const char *id;
    bool first_party;
    bool is_public;          /* token_endpoint_auth_method none */
    const char *auth_method; /* client_secret_basic | client_secret_post | private_key_jwt | none */
    json_t *metadata;        /* the registered metadata (borrowed; freed with gh_client_release) */
    const char *id_token_alg; /* "ES256" (default) or "RS256" */
    /* Store state, for this module and gh_register.c. */
    const char *secret_hash;             /* NULL when the client has no secret */
    const char *registration_token_hash; /* NULL: no RFC 7592 access */
    long long created_at;                /* ms since the epoch */
    long long updated_at;
} gh_client;

/* Loads a client; NOTFOUND when unknown. Strings live in a; metadata is a
 * new reference released by gh_client_release. */
gh_dbrc gh_clients_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *client_id,
                       gh_client *out);
/* Releases the metadata; the struct may be reused. NULL and zeroed are fine. */
void gh_client_release(gh_client *cl);

gh_dbrc gh_store_client_insert(gh_dbconn *c, gh_arena *a, const char *tenant, const gh_client *cl,
                               const char *metadata_json);
/* Replaces metadata and secret hash; NOTFOUND when the client is gone. */
gh_dbrc gh_store_client_update(gh_dbconn *c, gh_arena *a, const char *tenant, const gh_client *cl,
                               const char *metadata_json);
gh_dbrc gh_store_client_set_first_party(gh_dbconn *c, gh_arena *a, const char *tenant,
                                        const char *id, bool first_party);
/* Deletes the client and its grants (codes, refresh tokens, consents, used
 * jtis). NOTFOUND when unknown. */
gh_dbrc gh_store_client_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id);
/* Every client of a tenant in creation order; release each. */
gh_dbrc gh_store_client_list(gh_dbconn *c, gh_arena *a, const char *tenant, gh_client **out,
                             size_t *n);
/* Records a client assertion's jti until expires_at (ms); CONFLICT when it
 * was used before (a replay). Rows of expired assertions are swept first. */
gh_dbrc gh_store_jti_use(gh_dbconn *c, gh_arena *a, const char *tenant, const char *client_id,
                         const char *jti, long long expires_at, long long now);

#endif
