/*
 * gh_riskpolicy: the risk engine's policy as data (docs/risk.md). Pure: it
 * parses a policy text (the one compiled into the binary, or the
 * operator's file) and evaluates it over a set of signals the core module
 * gh_risk gathered, so the same decision can be replayed and explained.
 *
 * A policy is a list of rules, each with conditions on signals, the
 * journeys it applies to, a weight, an optional outcome of its own and a
 * short reason code, plus per-journey score thresholds. The outcome of an
 * evaluation is the most severe of what the fired rules ask and what the
 * score crosses: deny > step_up > notify > allow.
 */
#ifndef GH_RISKPOLICY_H
#define GH_RISKPOLICY_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    GH_RJ_SIGNIN,
    GH_RJ_SIGNUP,
    GH_RJ_RECOVERY,
    GH_RJ_EMAIL_CHANGE,
    GH_RJ_STEP_UP,
    GH_RJ_TOKEN,
    GH_RJ_SESSION, /* a live session whose context shifted (re-evaluation) */
    /* the sign-ins without a password (gh_signin_decide's other callers) */
    GH_RJ_PASSKEY_SIGNIN,     /* a passkey assertion that verified */
    GH_RJ_EMAIL_SIGNIN,       /* a passwordless emailed code or link that matched */
    GH_RJ_EMAIL_CODE_REQUEST, /* a request for an emailed sign-in code (POST /signin/email) */
    GH_RJ_COUNT
} gh_risk_journey;

/* In order of severity: a later one wins. */
typedef enum { GH_RO_ALLOW, GH_RO_NOTIFY, GH_RO_STEP_UP, GH_RO_DENY } gh_risk_outcome;

/* The signals a policy can name. Booleans are 0 or 1; counts are counts
 * over the sliding window (docs/risk.md "Signals"). */
typedef enum {
    GH_RS_NEW_DEVICE,        /* the device cookie is unknown to this account */
    GH_RS_NEW_NETWORK,       /* the /24 or /48 was never seen for this account */
    GH_RS_ACCOUNT_GUARDED,   /* the account-wide failure guard is up (issue 15) */
    GH_RS_ACCOUNT_FAILURES,  /* failed sign-ins on the account */
    GH_RS_IP_FAILURES,       /* failed sign-ins from this address */
    GH_RS_NETWORK_FAILURES,  /* failed sign-ins from this network */
    GH_RS_IP_ACCOUNTS,       /* distinct accounts failed from this address (stuffing) */
    GH_RS_ACCOUNT_IPS,       /* distinct addresses failing on this account (spraying) */
    GH_RS_COMMON_PASSWORD,   /* the password is on the common or breached list */
    GH_RS_NO_SECOND_FACTOR,  /* the account has no authenticator app or passkey */
    GH_RS_HAS_SECOND_FACTOR, /* the opposite, for rules that read better so */
    GH_RS_UA_SCRIPTED,       /* the user agent is not a known browser */
    GH_RS_NETWORK_CHANGED,   /* session: the network differs from the session's */
    GH_RS_UA_CHANGED,        /* session: the user agent differs */
    GH_RS_UA_FAMILY_CHANGED, /* session: the browser family differs */
    /* the other journeys (sign-up, recovery, email change, step-up, code
     * requests): this journey's attempts in the last hour (step-up: its
     * failures) */
    GH_RS_IP_ATTEMPTS,      /* from this address */
    GH_RS_NETWORK_ATTEMPTS, /* from this address's network */
    GH_RS_ACCOUNT_ATTEMPTS, /* on this account (or, for sign-up, this email) */
    GH_RS_DISPOSABLE_EMAIL, /* sign-up, email change: the address's domain is disposable */
    GH_RS_CLIENT_FAILURES,  /* token: refused grants of this client, last 10 minutes */
    /* geolocation (GATEHOUSE_GEOIP_DB, GATEHOUSE_ASN_DB; 0 without them) */
    GH_RS_NEW_COUNTRY,       /* the country is not among the account's last sign-ins' */
    GH_RS_NEW_ASN,           /* the network operator (ASN) is not either */
    GH_RS_IMPOSSIBLE_TRAVEL, /* from the last sign-in's place, faster than the set speed */
    /* the sign-ins without a password and the code grant */
    GH_RS_CODE_FAILURES,      /* wrong emailed sign-in codes typed for the account */
    GH_RS_USER_VERIFIED,      /* passkey: the authenticator verified its user (PIN, biometric) */
    GH_RS_PHISHING_RESISTANT, /* the proof is bound to this origin (a passkey) */
    GH_RS_CODE_GRANT,         /* token: the authorization-code grant (0: refresh) */
    GH_RS_PUBLIC_CLIENT,      /* token: the client has no credentials of its own */
    /* the whole tenant, last hour (at most the 2000 newest events read) */
    GH_RS_TENANT_FAILURES, /* failed sign-ins anywhere in the tenant */
    GH_RS_TENANT_ATTEMPTS, /* the other journeys: this journey's attempts in the tenant */
    GH_RS_COUNT
} gh_risk_signal;

typedef struct gh_risk_signals {
    long long v[GH_RS_COUNT];
    const char *ua_family; /* gh_device_browser's name, for the record */
    const char *network;   /* the /24 or /48 as text, for the record */
    const char *country;   /* ISO code, for the record, or NULL */
    const char *asn;       /* "AS64500", for the record, or NULL */
} gh_risk_signals;

enum { GH_RISK_MAX_RULES = 64, GH_RISK_MAX_CONDS = 8, GH_RISK_NAME_MAX = 48 };

typedef enum { GH_RC_GE, GH_RC_GT, GH_RC_LE, GH_RC_LT, GH_RC_EQ, GH_RC_NE } gh_risk_cmp;

typedef struct gh_risk_cond {
    gh_risk_signal signal;
    gh_risk_cmp cmp;
    long long value;
} gh_risk_cond;

typedef struct gh_risk_rule {
    char name[GH_RISK_NAME_MAX];
    unsigned journeys; /* bit per gh_risk_journey */
    gh_risk_cond cond[GH_RISK_MAX_CONDS];
    int ncond;
    int weight;
    bool has_outcome;
    gh_risk_outcome outcome;
    char acr[GH_RISK_NAME_MAX];    /* step_up: the level asked ("aal2", "email") */
    char reason[GH_RISK_NAME_MAX]; /* the code the customer's page turns into words */
    int line;                      /* where the rule is written */
} gh_risk_rule;

typedef struct gh_risk_threshold {
    bool set;
    int score;
    char acr[GH_RISK_NAME_MAX];
} gh_risk_threshold;

typedef struct gh_risk_policy {
    char version[GH_RISK_NAME_MAX];
    gh_risk_rule rules[GH_RISK_MAX_RULES];
    int nrules;
    /* [journey][outcome]: the score from which the outcome applies */
    gh_risk_threshold threshold[GH_RJ_COUNT][GH_RO_DENY + 1];
} gh_risk_policy;

typedef struct gh_risk_result {
    gh_risk_outcome outcome;
    int score;
    const char *acr;              /* step_up: the level asked; else NULL */
    const char *reason;           /* the reason code of the heaviest fired rule, or NULL */
    int fired[GH_RISK_MAX_RULES]; /* indexes into policy->rules */
    int nfired;
} gh_risk_result;

/* Parses text (len bytes). 0 on success; else -1 with one line in err
 * naming the line ("line 4: unknown signal 'new_devise'"). */
int gh_riskpolicy_parse(const char *text, size_t len, gh_risk_policy *out, char *err,
                        size_t errlen);

gh_risk_result gh_riskpolicy_eval(const gh_risk_policy *p, gh_risk_journey j,
                                  const gh_risk_signals *s);

const char *gh_riskpolicy_signal_name(gh_risk_signal s);
const char *gh_riskpolicy_journey_name(gh_risk_journey j);
const char *gh_riskpolicy_outcome_name(gh_risk_outcome o);

#endif
