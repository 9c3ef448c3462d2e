/*
 * gh_app_consents: purpose decisions for applications (issue 20 item 4;
 * docs/privacy.md "For applications"): the "consents" claim of userinfo and
 * the ID token, and the bearer API /api/v1/app/consents with which an
 * application reads the customer's decisions and records one the customer
 * makes in it. The rules and the ledger are core/gh_consent's.
 */
#ifndef GH_APP_CONSENTS_H
#define GH_APP_CONSENTS_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_http.h"

/* How recent the customer's authentication must be for an application to
 * record a decision for them (seconds; RFC 9470 max_age). */
enum { GH_APP_CONSENTS_PRESENCE_S = 300 };

/* Adds "consents" (gh_consent_claim) to claims for user_id when scope
 * (normalised) has the consents scope. false when the ledger could not be
 * read (claims unchanged). */
bool gh_app_consents_claim(gh_req *r, const char *user_id, const char *scope, json_t *claims);

/* The names among "consents" that the authorization request's claims
 * parameter (JSON text, may be NULL) asks for in the ID token, as the
 * space-separated list auth_codes.claims keeps; NULL for none. */
const char *gh_app_consents_id_token_claims(gh_req *r, const char *claims_param);

#endif
