/*
 * gh_bearer: a customer's access token on an API of ours (the bearer APIs:
 * /api/v1/app/consents, /api/v1/organizations/...): issued by this tenant
 * for its own audience, to a client on behalf of an active account (not a
 * client's own client_credentials token), with the scope the API needs.
 */
#ifndef GH_BEARER_H
#define GH_BEARER_H

#include <stdbool.h>

#include "gh_http.h"

typedef struct gh_bearer {
    const char *user_id, *client_id, *scope;
    long long auth_time; /* seconds; 0 when the token has none */
} gh_bearer;

/* Checks the request's bearer token; false with the answer sent (401
 * invalid_token, 403 insufficient_scope naming scope, 503). */
bool gh_bearer_customer(gh_req *r, const char *scope, gh_bearer *t);
/* An RFC 6750 error with its WWW-Authenticate header; extra (may be NULL)
 * is appended to the header's parameters. */
void gh_bearer_error(gh_req *r, unsigned status, const char *error, const char *desc,
                     const char *extra);

#endif
