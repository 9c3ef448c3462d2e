/*
 * gh_oidc: the OpenID Connect provider's shared pieces: endpoint URLs, the
 * authentication context class values, and the HMAC markers that carry a
 * decision through the browser without server-side state.
 */
#ifndef GH_OIDC_H
#define GH_OIDC_H

#include <stdbool.h>

#include "gh_http.h"

/* acr values (documented in docs/oidc.md): NIST SP 800-63B assurance levels. */
#define GH_ACR_AAL1 "urn:gatehouse:aal1"
#define GH_ACR_AAL2 "urn:gatehouse:aal2"
#define GH_ACR_AAL3 "urn:gatehouse:aal3"

/* issuer + path ("/token"), without a doubled slash. */
const char *gh_oidc_url(gh_req *r, const char *path);
const char *gh_oidc_acr(int aal);
/* base64url HMAC-SHA256 under a key derived from the master key for purpose. */
const char *gh_oidc_mac(gh_req *r, const char *purpose, const char *data);

#endif
