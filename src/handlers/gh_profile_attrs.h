/*
 * gh_profile_attrs: the customer's side of progressive profiling (issue 20
 * item 6; docs/privacy.md "Progressive profiling"): the step /authorize
 * takes before consent when an application needs attributes the customer
 * has not given, the API behind /profile/complete and the account page's
 * "More about you" section, and the claims tokens get from the schema.
 */
#ifndef GH_PROFILE_ATTRS_H
#define GH_PROFILE_ATTRS_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_http.h"

/* How many attributes an authorization of scope (normalised) by client_id
 * still needs from user_id; -1 when the store failed (503 answered). */
int gh_profile_attrs_pending(gh_req *r, const char *client_id, const char *scope,
                             const char *user_id);

/* Adds to claims the schema attributes that profile (users.profile JSON)
 * holds and scope releases to client_id. false when the schema could not
 * be read (claims unchanged). */
bool gh_profile_attrs_claims(gh_req *r, const char *profile, const char *scope,
                             const char *client_id, json_t *claims);

#endif
