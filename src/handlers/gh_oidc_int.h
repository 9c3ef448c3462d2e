/*
 * gh_oidc_int: what the /authorize and consent files share (handlers
 * only): the parsed authorization request, its checks, answering the
 * client, and the request binding the HMAC markers are made over.
 */
#ifndef GH_OIDC_INT_H
#define GH_OIDC_INT_H

#include <stdbool.h>

#include "gh_clients.h"
#include "gh_form.h"
#include "gh_http.h"
#include "gh_session.h"

/* An /authorize request as read and checked (gh_oidc_request.c). */
struct gh_oidc_authz {
    const gh_form *params;
    const char *client_id, *redirect_uri, *state, *nonce, *scope, *response_mode;
    const char *code_challenge, *acr_values;
    const char *purpose;         /* purposes to ask about (normalised), or NULL */
    const char *org;             /* the organisation asked for (organization=ID), or NULL */
    const char *id_token_claims; /* what the claims parameter asks for in the ID token */
    long long max_age;           /* -1: none */
    int want_level;              /* the assurance level asked for (0: none) */
    int hard_level;              /* the part of it that is essential or client policy */
    bool prompt_none, prompt_login, prompt_consent;
    gh_client client;
    bool have_client;
};

/* The parameters: the query (GET) or a urlencoded body (POST); NULL with
 * an error page answered. */
const gh_form *gh_oidc_read_params(gh_req *r);
/* One parameter of the request, or NULL. */
const char *gh_oidc_param(const struct gh_oidc_authz *z, const char *name);
/* Checks client and redirect URI (failures never redirect), then the rest
 * (errors go back to the client); false when answered. */
bool gh_oidc_check_client(gh_req *r, struct gh_oidc_authz *z);
bool gh_oidc_check_request(gh_req *r, struct gh_oidc_authz *z);
/* organization=ID for the signed-in customer s; false when answered. */
bool gh_oidc_check_organization(gh_req *r, struct gh_oidc_authz *z, const gh_session *s);
/* The request as a same-origin URL to come back to, without our markers,
 * plus extra (a query parameter) when not NULL. */
const char *gh_oidc_resume_url(gh_req *r, const struct gh_oidc_authz *z, const char *extra);
/* Sends a code or an error to the client's redirect URI. */
void gh_oidc_respond_to_client(gh_req *r, const struct gh_oidc_authz *z, const char *code,
                               const char *error, const char *description);
void gh_oidc_client_error(gh_req *r, const struct gh_oidc_authz *z, const char *error,
                          const char *desc);

/* The digest that ties a marker to one authorization request (gh_oidc.c). */
const char *gh_oidc_request_binding(gh_arena *a, const char *client_id, const char *redirect_uri,
                                    const char *scope, const char *state, const char *nonce,
                                    const char *code_challenge, const char *purpose);
/* The parameters of the /authorize request in a resume URL; false when it
 * is not one. */
bool gh_oidc_return_to_form(gh_req *r, const char *return_to, gh_form *f);
/* The binding of the /authorize request in return_to; NULL when it is not
 * one, or not a request of want_client for want_scope. */
const char *gh_oidc_return_to_binding(gh_req *r, const char *return_to, const char *want_client,
                                      const char *want_scope);

#endif
