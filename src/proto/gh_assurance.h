/*
 * gh_assurance: the authentication context class values Gatehouse issues
 * (`acr`, documented in docs/oidc.md), one per NIST SP 800-63B assurance
 * level, and what a session's proven factors are worth: its level and its
 * RFC 8176 methods (`amr`), computed from the list of factors it was given,
 * never stored alone (docs/mfa.md). The clients service, the authorize
 * endpoint and the second-factor API share these without including one
 * another.
 *
 * Levels: one factor is AAL1; a password with a possession factor
 * (authenticator app, recovery code, passkey), or a passkey that verified
 * its user, is AAL2. An emailed code is no AAL2 authenticator (email proves
 * no device, 800-63B 5.1.3.1): it signs in at AAL1 and adds nothing to
 * another factor. AAL3 needs a hardware authenticator proven by
 * attestation, and registration asks for none, so no session reaches it.
 */
#ifndef GH_ASSURANCE_H
#define GH_ASSURANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "gh_arena.h"

#define GH_ACR_AAL1 "urn:gatehouse:aal1"
#define GH_ACR_AAL2 "urn:gatehouse:aal2"
#define GH_ACR_AAL3 "urn:gatehouse:aal3"

/* Methods, as recorded in a session's factors. */
#define GH_METHOD_PASSWORD "pwd"
#define GH_METHOD_EMAIL    "email"
#define GH_METHOD_TOTP     "totp"
#define GH_METHOD_RECOVERY "recovery_code"
#define GH_METHOD_PASSKEY  "passkey"
/* signed in through an upstream identity provider (docs/federation.md):
 * AAL1 on its own whatever the upstream says; a local second factor after
 * it makes AAL2, as after a password */
#define GH_METHOD_FED "fed"

/* The acr value of an assurance level: 2 is AAL2, 3 or more AAL3, anything
 * else AAL1. */
const char *gh_assurance_acr(int aal);
/* The level an acr value names: 1 to 3, or 0 for NULL or a value that is
 * not one of ours. */
int gh_assurance_level(const char *acr);

/* What a set of factors proves. */
typedef struct gh_assurance_proof {
    bool pwd, email, otp, recovery, passkey, uv;
    bool fed;   /* an upstream provider's sign-in (GH_METHOD_FED) */
    bool bound; /* a passkey says it cannot be synced (not backup-eligible) */
} gh_assurance_proof;

/* Adds one factor (a GH_METHOD_* value; others are ignored); bound and uv
 * count for a passkey only. */
void gh_assurance_proof_add(gh_assurance_proof *p, const char *method, bool bound, bool uv);
/* The proof of a session's factors (JSON array text as
 * gh_assurance_factors_add writes it; NULL or malformed text proves
 * nothing). */
gh_assurance_proof gh_assurance_proof_of(const char *factors);
/* The level a proof reaches: 1 or 2. */
int gh_assurance_proof_level(const gh_assurance_proof *p);
/* The RFC 8176 method values of a proof, as JSON array text in a ("[]"
 * when it cannot be written). */
const char *gh_assurance_amr(gh_arena *a, const gh_assurance_proof *p);
/* factors (JSON array text; NULL or malformed: none) plus one more, proven
 * at now (ms), as JSON array text in a; NULL when it cannot be written.
 * factor_id may be NULL; bound and uv are recorded for a passkey only. */
const char *gh_assurance_factors_add(gh_arena *a, const char *factors, const char *method,
                                     const char *factor_id, bool bound, bool uv, int64_t now);

#endif
