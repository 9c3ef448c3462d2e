/*
 * gh_signin: the one place that decides every sign-in (password, emailed
 * code or link, passkey). Pure: the callers gather the facts (the account,
 * what was just proven, the request's context) and act on the verdict, so
 * a later risk engine plugs in here and nowhere else.
 *
 * Verdicts: allow (start the session), ask for more (which proof, and why),
 * or refuse (why). The reason goes to the audit log as it is.
 */
#ifndef GH_SIGNIN_H
#define GH_SIGNIN_H

#include <stdbool.h>

typedef enum { GH_SIGNIN_ALLOW, GH_SIGNIN_MORE, GH_SIGNIN_REFUSE } gh_signin_verdict;

typedef enum {
    GH_NEED_NOTHING,
    GH_NEED_EMAIL_CODE,         /* an emailed code, in this browser (account under attack) */
    GH_NEED_EMAIL_VERIFICATION, /* the address must be verified first */
    GH_NEED_SECOND_FACTOR,      /* an authenticator app, a passkey or a recovery code */
} gh_signin_need;

typedef struct gh_signin_facts {
    /* the account */
    bool active;
    bool locked; /* its owner locked it from a notice ("This wasn't me") */
    bool email_verified;
    bool has_second_factor; /* an authenticator app or passkey is enrolled */
    /* what was just proven */
    const char *method; /* "pwd", "email" or "passkey" */
    bool multi_factor;  /* the proof is AAL2 on its own (a passkey that verified its user) */
    bool email_proven;  /* this sign-in also proved the mailbox (an emailed code or link) */
    /* the request's context */
    bool require_verified_email; /* GATEHOUSE_REQUIRE_VERIFIED_EMAIL */
    /* The risk engine's live verdict (core/gh_risk, docs/risk.md): the
     * policy asks for the mailbox (its built-in rule: many failures on the
     * account, and this device is unknown), or refuses the sign-in. */
    bool account_guarded;
    bool risk_deny;
} gh_signin_facts;

typedef struct gh_signin_decision {
    gh_signin_verdict verdict;
    gh_signin_need need; /* GH_SIGNIN_MORE only */
    const char *reason;  /* NULL for a plain allow */
} gh_signin_decision;

gh_signin_decision gh_signin_decide(const gh_signin_facts *f);

#endif
