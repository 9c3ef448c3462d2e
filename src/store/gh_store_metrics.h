/*
 * gh_store_metrics: the few gauges of /metrics that are read from the
 * database at each scrape (docs/metrics.md).
 */
#ifndef GH_STORE_METRICS_H
#define GH_STORE_METRICS_H

#include "gh_arena.h"
#include "gh_db.h"

/* Mail of every tenant queued and not yet sent (pending, or being sent). */
gh_dbrc gh_store_metrics_mail_backlog(gh_dbconn *c, gh_arena *a, long long *n);

#endif
