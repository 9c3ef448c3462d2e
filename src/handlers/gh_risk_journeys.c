#include "gh_risk_journeys.h"

#include "gh_session.h"

gh_dbrc gh_risk_journey_check(gh_req *r, gh_dbconn *c, const gh_risk_check *k, gh_risk_verdict *v)
{
    gh_ctx x = gh_req_ctx(r);
    gh_risk_signals s;
    gh_risk_attempt a = {.journey = k->journey,
                         .user_id = k->user_id,
                         .device_hash = k->user_id ? gh_device_hash(r) : NULL,
                         .email = k->email};
    gh_dbrc rc = gh_risk_attempt_signals(&x, c, &a, &s);
    if (rc != GH_DB_OK)
        return rc;
    /* whom it is about depends on the outcome: peek (pure, µs), then record */
    bool refused = gh_risk_peek(&x, k->journey, &s) == GH_RO_DENY;
    return gh_risk_decide(&x, c, k->journey, refused ? k->record_refused_as : k->record_as, &s, v);
}
