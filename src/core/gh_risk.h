/*
 * gh_risk: the risk engine's service (docs/risk.md). It gathers the
 * signals of a journey (device, network, velocity, credentials, a live
 * session's context), evaluates the live policy and the shadow one
 * (proto/gh_riskpolicy), and stores every decision with its inputs, the
 * rules that fired, the score, the outcome and the policy version, linked
 * from an audit event "risk.decided" whose details carry the decision id.
 *
 * Sign-in asks it through gh_factors_signin_facts' caller and acts only on
 * the live verdict; the shadow policy's would-be outcome is recorded and
 * never acted on.
 */
#ifndef GH_RISK_H
#define GH_RISK_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_ctx.h"
#include "gh_riskpolicy.h"
#include "gh_signin.h"
#include "gh_store_sessions.h"

/* Loads the live policy (GATEHOUSE_RISK_POLICY_FILE, else the one compiled
 * in) and the shadow one (GATEHOUSE_RISK_SHADOW_POLICY_FILE, optional).
 * 0, or -1 with one line in err naming the file and line. Called once at
 * start, before any request. */
int gh_risk_init(const gh_config *cfg, char *err, size_t errlen);
/* The live policy's version ("" before gh_risk_init). */
const char *gh_risk_policy_version(void);

/* What the caller of a sign-in knows already. */
typedef struct gh_risk_facts {
    /* GH_RJ_SIGNIN (a password; 0, the default), GH_RJ_PASSKEY_SIGNIN or
     * GH_RJ_EMAIL_SIGNIN */
    gh_risk_journey journey;
    const char *user_id;
    const char *device_hash; /* the device cookie's hash, or NULL */
    bool account_guarded;    /* the account-wide failure guard is up */
    bool has_second_factor;
    const char *password; /* the password just proven (NUL-free text), or NULL */
    size_t pwlen;
    bool user_verified;      /* a passkey that verified its user */
    bool phishing_resistant; /* the proof is bound to the origin (a passkey) */
} gh_risk_facts;

gh_dbrc gh_risk_signin_signals(const gh_ctx *x, gh_dbconn *c, const gh_risk_facts *f,
                               gh_risk_signals *out);

typedef struct gh_risk_verdict {
    const char *id; /* the stored decision */
    gh_risk_outcome outcome;
    const char *acr;    /* step_up: the level asked */
    const char *reason; /* a reason code for the customer's page, or NULL */
} gh_risk_verdict;

/* Evaluates both policies and stores the decision and its audit event
 * together: in the caller's transaction when one is open, else in one of
 * its own. */
gh_dbrc gh_risk_decide(const gh_ctx *x, gh_dbconn *c, gh_risk_journey j, const char *user_id,
                       const gh_risk_signals *s, gh_risk_verdict *out);

/* What the policy of x's tenant (its own, else the server's) decides over
 * s, without recording anything (a caller choosing whom a decision is about
 * before gh_risk_decide). */
gh_risk_outcome gh_risk_peek(const gh_ctx *x, gh_risk_journey j, const gh_risk_signals *s);

/* Sign-up, recovery, email change and step-up (docs/risk.md "Journeys"). */
typedef struct gh_risk_attempt {
    gh_risk_journey journey;
    const char *user_id;     /* the account the attempt is about, or NULL (sign-up) */
    const char *device_hash; /* the device cookie's hash, or NULL */
    const char *email;       /* sign-up, email change: the address asked for, or NULL */
} gh_risk_attempt;

/* The journey's signals: new_device and new_network (with an account),
 * the last hour's attempts of the journey from this address, network and
 * on the account (read from the audit trail), disposable_email and
 * ua_scripted. */
gh_dbrc gh_risk_attempt_signals(const gh_ctx *x, gh_dbconn *c, const gh_risk_attempt *a,
                                gh_risk_signals *out);

/* Token requests: a grant refused to this client (invalid_grant), or a
 * failed authentication naming it (invalid_client), counted in memory for
 * client_failures. */
void gh_risk_token_failed(const char *client_id, long long now);
/* The keyed hash of the request's network for a refresh token family,
 * stored with each refresh token (refresh_tokens.network). */
const char *gh_risk_token_network(const gh_ctx *x, const char *family_id);

typedef struct gh_risk_token_facts {
    const char *user_id;
    const char *client_id;
    /* what the network marker is keyed by: the refresh token's family id,
     * or on the code grant the code's hash */
    const char *family_id;
    const char *network; /* refresh_tokens.network or auth_codes.network, or NULL */
    bool code_grant;     /* the authorization-code grant (else refresh) */
    bool public_client;  /* the client authenticates with nothing (auth method none) */
} gh_risk_token_facts;

/* A refresh-token use or a code redemption: new_network (the network
 * differs from the one the token or code was issued to; on the code grant
 * only for a public client, whose code is redeemed where it was issued,
 * while a confidential client's server redeems from its own network),
 * client_failures, code_grant and public_client; no database read. Only a
 * decision where a rule fired is stored (one write); otherwise *out is
 * allow with no id. */
gh_dbrc gh_risk_token(const gh_ctx *x, gh_dbconn *c, const gh_risk_token_facts *f,
                      gh_risk_verdict *out);

/* A sign-in's risk: gathers the signals, decides
 * and records, and folds the live verdict into the sign-in's facts for
 * gh_signin_decide: step_up to "email" (or to a second factor the account
 * does not have) asks for the mailbox; deny refuses. */
gh_dbrc gh_risk_signin(const gh_ctx *x, gh_dbconn *c, const gh_risk_facts *in,
                       gh_signin_facts *facts, gh_risk_verdict *out);

/* Inside the caller's transaction: the context's network is now known for
 * the account (a completed sign-in). */
gh_dbrc gh_risk_network_seen(const gh_ctx *x, gh_dbconn *c, const char *user_id);

/* Cheap, no database: whether the request's network or user agent differs
 * from the session's. */
bool gh_risk_session_shifted(const gh_ctx *x, const gh_session *s);
/* Re-scores a shifted session, records the decision and the session's new
 * context (step_up drops it to AAL1 and marks it fresh_required, keeping
 * its true auth_time); the caller ends
 * it on deny. */
gh_dbrc gh_risk_session_reeval(const gh_ctx *x, gh_dbconn *c, const gh_session *s,
                               gh_risk_verdict *out);

/* The stored decision as the operator sees it (docs/risk.md "Explain");
 * NOTFOUND when there is none. *out is a new reference. */
gh_dbrc gh_risk_explain(const gh_ctx *x, gh_dbconn *c, const char *id, json_t **out);
/* An account's latest decisions (at most 100), newest first. */
gh_dbrc gh_risk_list(const gh_ctx *x, gh_dbconn *c, const char *user_id, json_t **out);

/* Deletion (gh_deletion_purge, inside its transaction): the account's
 * decisions are kept for the operator under the pseudonym, without the
 * network and browser they saw; the networks go with the account's row.
 * *n: how many. */
gh_dbrc gh_risk_erase(const gh_ctx *x, gh_dbconn *c, const char *user_id, const char *pseudonym,
                      long long *n);

#endif
