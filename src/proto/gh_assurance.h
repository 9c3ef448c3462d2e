/*
 * gh_assurance: the authentication context class values Gatehouse issues
 * (`acr`, documented in docs/oidc.md), one per NIST SP 800-63B assurance
 * level. Which factors reach which level is decided where the factors are
 * checked (gh_mfa, gh_signin); this module only names the levels, so the
 * clients service, the authorize endpoint and the second-factor API agree
 * on them without including one another.
 */
#ifndef GH_ASSURANCE_H
#define GH_ASSURANCE_H

#define GH_ACR_AAL1 "urn:gatehouse:aal1"
#define GH_ACR_AAL2 "urn:gatehouse:aal2"
#define GH_ACR_AAL3 "urn:gatehouse:aal3"

/* The acr value of an assurance level: 2 is AAL2, 3 or more AAL3, anything
 * else AAL1. */
const char *gh_assurance_acr(int aal);
/* The level an acr value names: 1 to 3, or 0 for NULL or a value that is
 * not one of ours. */
int gh_assurance_level(const char *acr);

#endif
