/*
 * gh_recovery_rule: what recovering an account requires, as one pure rule every
 * recovery path asks (docs/recovery.md; SECURITY.md #32: recovery is never
 * weaker than the account's strongest sign-in factor).
 *
 * An emailed code proves the address still reaches the owner, and nothing
 * more (gh_assurance: email is no AAL2 authenticator). So:
 *   - every recovery proves the email first;
 *   - an account that can sign in with nothing stronger than a password or
 *     an emailed code is recovered by the email alone;
 *   - an account with an authenticator app, a passkey or recovery codes
 *     must also pass one of those (a recovery code counts), or, when the
 *     owner has lost every one of them, wait out a waiting period of which
 *     every address of the account is told, and which any sign-in by the
 *     owner cancels;
 *   - an account an operator disabled is not recovered by its customer
 *     (recovery must not undo the operator's decision).
 * The reset flow that skipped the second factor (Keycloak CVE-2026-18963)
 * is exactly the case this refuses: email alone on an account with a
 * passkey.
 */
#ifndef GH_RECOVERY_RULE_H
#define GH_RECOVERY_RULE_H

#include <stdbool.h>

/* What the account has, as gh_factors_enrolled tells it. */
typedef struct gh_recovery_enrolled {
    bool totp;          /* a confirmed authenticator app */
    bool passkey;       /* at least one passkey */
    long long recovery; /* unused recovery codes */
    bool disabled;      /* an operator disabled the account (SCIM active=false) */
} gh_recovery_enrolled;

/* Factors that may pass the factor step (bit set). */
enum {
    GH_RECOVERY_BY_TOTP = 1u << 0,
    GH_RECOVERY_BY_PASSKEY = 1u << 1,
    GH_RECOVERY_BY_CODE = 1u << 2, /* a recovery code */
};

typedef struct gh_recovery_rule {
    bool allowed;        /* false: no self-service recovery (an operator must help) */
    bool email;          /* the emailed code or link must be passed (always, when allowed) */
    unsigned factors;    /* GH_RECOVERY_BY_* bits; 0: the email alone suffices */
    bool waiting_period; /* losing every factor may be answered by waiting */
} gh_recovery_rule;

/* The rule for an account with these factors. */
gh_recovery_rule gh_recovery_required(const gh_recovery_enrolled *e);

/* Whether what was proven meets the rule: the email, and, when the rule
 * asks for a factor, one of those it names (passed: a GH_RECOVERY_BY_* bit,
 * or 0 for none) or a waiting period that ran to its end. */
bool gh_recovery_satisfied(const gh_recovery_rule *r, bool email_proved, unsigned passed,
                           bool waited);

/* The GH_RECOVERY_BY_* bit of a gh_assurance method name ("totp",
 * "passkey", "recovery_code"), or 0. */
unsigned gh_recovery_factor_bit(const char *method);

#endif
