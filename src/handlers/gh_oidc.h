/*
 * gh_oidc: the OpenID Connect provider's shared pieces: endpoint URLs, the
 * and the HMAC markers that carry a
 * decision through the browser without server-side state.
 */
#ifndef GH_OIDC_H
#define GH_OIDC_H

#include <stdbool.h>

#include "gh_assurance.h"
#include "gh_http.h"

/* issuer + path ("/token"), without a doubled slash. */
const char *gh_oidc_url(gh_req *r, const char *path);
/* base64url HMAC-SHA256 under the master key's key for purpose (gh_mkey_derive). */
const char *gh_oidc_mac(gh_req *r, const char *purpose, const char *data);

#endif
