/*
 * gh_client_meta: OAuth client metadata (RFC 7591 2) and redirect URIs,
 * validated without I/O.
 *
 * One validation serves the registration endpoint, PUT on the client
 * configuration endpoint (RFC 7592) and the command line (all through
 * core/gh_clients), so a client is held to the same rules whichever way it
 * was created.
 */
#ifndef GH_CLIENT_META_H
#define GH_CLIENT_META_H

#include <jansson.h>
#include <stdbool.h>

enum {
    GH_CLIENT_JWKS_TEXT_MAX = 8192, /* bytes of an inline JWK Set, as compact JSON */
};

typedef struct gh_client_error {
    const char *error; /* "invalid_redirect_uri" or "invalid_client_metadata" */
    char description[256];
} gh_client_error;

/*
 * Validates client metadata and returns what is accepted, with defaults
 * filled (grant_types ["authorization_code"], response_types ["code"] when
 * the client uses the authorization code grant, token_endpoint_auth_method
 * "client_secret_basic", id_token_signed_response_alg "ES256") and unknown
 * members dropped. Fields issued by the server (client_id, client_secret,
 * registration_*, *_issued_at, *_expires_at) and "gatehouse_first_party" are
 * not metadata and are ignored here. Returns a new reference, or NULL with
 * err set.
 */
json_t *gh_client_metadata_validate(const json_t *in, gh_client_error *err);

/* True when uri is acceptable as a redirect URI (or post-logout redirect
 * URI) of a client; public: the client's auth method is none (private-use
 * schemes are allowed only then). */
bool gh_client_redirect_uri_valid(const char *uri, bool is_public);

/* True when list (a metadata array such as redirect_uris or grant_types)
 * holds the string s exactly; false for NULL s or a list that is not an
 * array. */
bool gh_client_meta_has(const json_t *list, const char *s);

/* A web URI a page may show or link to (logo_uri, policy_uri, tos_uri, a
 * tenant's logo): https, or http on a loopback host; no fragment, no
 * userinfo. */
bool gh_client_web_uri_valid(const char *uri);

#endif
