/*
 * gh_client_auth: authenticating the client of a token, introspection or
 * revocation request (RFC 6749 2.3, RFC 7523).
 */
#ifndef GH_CLIENT_AUTH_H
#define GH_CLIENT_AUTH_H

#include <stdbool.h>

#include "gh_form.h"
#include "gh_http.h"
#include "gh_store_clients.h"

/*
 * Authenticates the client of a token, introspection or revocation request
 * from the HTTP Basic header or the form (client_id, client_secret,
 * client_assertion_type, client_assertion). audience: the URL the
 * assertion's aud must contain (the token endpoint URL; the issuer is
 * accepted too). Exactly one method may be used (two → invalid_request), and
 * it must be the client's registered one.
 *
 * private_key_jwt (RFC 7523 3): iss = sub = client_id, aud contains audience,
 * the issuer or the issuer's /token URL, exp in the future and at most GH_CLIENT_ASSERTION_MAX_S
 * ahead, nbf/iat (if present) not in the future beyond a minute of skew,
 * jti required and single-use per client (used_jtis; a row lives until the
 * assertion expires), signature checked against the client's "jwks".
 * none: only for public clients; it proves nothing (PKCE does).
 *
 * The client is read through the clients cache (gh_clients_get_cached), so
 * a cached client with a secret takes no database connection.
 *
 * On success fills out (release with gh_client_release) and returns true.
 * On failure sets the response — 401 invalid_client (with WWW-Authenticate:
 * Basic when Basic was tried), 400 invalid_request for malformed input,
 * 503 when the store is busy — and returns false with out zeroed.
 */
bool gh_client_authenticate(gh_req *r, const gh_form *form, const char *audience, gh_client *out);

#endif
