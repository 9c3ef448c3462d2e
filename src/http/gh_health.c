/* gh_health: liveness (the process answers) and readiness (the store is open
 * and migrated, and we are not shutting down). */
#include "gh_handlers.h"

void gh_health_live(gh_req *r)
{
    gh_resp_json(r, 200, json_pack("{s:s}", "status", "ok"), NULL);
}

void gh_health_ready(gh_req *r)
{
    if (!atomic_load(&r->app->ready) || atomic_load(&r->app->stopping)) {
        gh_resp_json(r, 503, json_pack("{s:s}", "status", "unavailable"), NULL);
        return;
    }
    gh_resp_json(r, 200, json_pack("{s:s}", "status", "ready"), NULL);
}
