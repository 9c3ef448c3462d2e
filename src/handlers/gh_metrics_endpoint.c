/*
 * GET /metrics: the series of gh_metrics_series in the Prometheus text
 * format 0.0.4, to the admin token as a bearer token (docs/metrics.md).
 * Served on the main listener and, when GATEHOUSE_METRICS_LISTEN is set,
 * on a listener of its own that has no other route. At the server's own
 * address every series; at a tenant's address (/t/{id}/metrics, or its
 * host) only that tenant's journey series.
 */
#include <string.h>

#include "gh_handlers.h"
#include "gh_log.h"
#include "gh_metrics_series.h"
#include "gh_scim.h"
#include "gh_store_metrics.h"
#include "gh_store_users.h"

#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The gauges read from the database. A busy pool leaves them as they were
 * at the last scrape rather than failing the scrape. */
static void refresh_gauges(gh_req *r)
{
    gh_dbconn *c = gh_db_try_acquire(r->app->db);
    long long backlog = 0;
    if (!c)
        return;
    if (gh_store_metrics_mail_backlog(c, r->arena, &backlog) == GH_DB_OK)
        gh_metrics_mail_backlog(backlog);
    gh_db_release(c);
}

void gh_metrics_endpoint(gh_req *r)
{
    if (!gh_admin_authorised(r))
        return;
    refresh_gauges(r);
    gh_strbuf out = {.a = r->arena};
    /* the default tenant's address is the server's own: the whole scrape */
    bool server = strcmp(r->tenant, GH_DEFAULT_TENANT) == 0;
    gh_metrics_render_all(server ? NULL : r->tenant, &out);
    if (out.failed || !out.buf) {
        gh_resp_error(r, 500, "server_error", "the metrics did not fit in memory");
        return;
    }
    gh_resp_text(r, 200, METRICS_TYPE, out.buf);
}
