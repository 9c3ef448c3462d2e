/*
 * gh_risk_journeys: the risk engine's check for sign-up, recovery, email
 * change and step-up (docs/risk.md "Journeys"), one call for each
 * handler: it gathers the journey's signals, lets the live policy decide,
 * and stores the decision with its audit event in the caller's open
 * transaction. The handler then answers a refusal as it answers the
 * journey's enumeration-safe case (a decoy flow, a wrong code).
 */
#ifndef GH_RISK_JOURNEYS_H
#define GH_RISK_JOURNEYS_H

#include "gh_http.h"
#include "gh_risk.h"

typedef struct gh_risk_check {
    gh_risk_journey journey;
    const char *user_id; /* the account the attempt is about (its signals), or NULL */
    const char *email;   /* the address asked for (sign-up, email change), or NULL */
    /* whom the decision is recorded about when the policy allows it, and
     * when it refuses (NULL: nobody, e.g. a refused sign-up of a new
     * address, whose account never exists) */
    const char *record_as;
    const char *record_refused_as;
} gh_risk_check;

/* Inside the caller's transaction. On GH_DB_OK, *v is the live verdict
 * (outcome deny: the handler refuses). A failure to read or store fails
 * the journey (the caller rolls back and answers 503). */
gh_dbrc gh_risk_journey_check(gh_req *r, gh_dbconn *c, const gh_risk_check *k, gh_risk_verdict *v);

/* The same for a journey about one account (its signals), or none, whose
 * decision is recorded about it whatever the outcome (recovery, a request
 * for an emailed code). */
gh_dbrc gh_risk_journey_about(gh_req *r, gh_dbconn *c, gh_risk_journey j, const char *user_id,
                              gh_risk_verdict *v);

#endif
