/*
 * gh_metrics: in-process counters, gauges and histograms, and their text in
 * the Prometheus exposition format 0.0.4 (docs/metrics.md).
 *
 * A family names its labels and, for each, the closed list of values the
 * label may take; the last value of each list is the catch-all ("other")
 * that any value outside the list is counted under. So a label set can never
 * grow with input (no user ids, emails or raw paths): the number of series
 * is fixed when the family is initialised. Every series is one or a few
 * 64-bit cells updated with relaxed atomics, so the worker threads never
 * take a lock to count; a scrape reads the cells as they are (a histogram's
 * count and buckets may be one observation apart, as in every client
 * library).
 *
 * A journey family also has a tenant dimension (docs/metrics.md, "Tenants"):
 * its series are repeated for each slot of a gh_metric_tenants table, a
 * fixed number of slots given to tenant ids in the order they are first
 * seen, and one more, "other", for the tenants that came after the slots
 * ran out. Finding a tenant's slot reads the table without a lock; the
 * first sight of a tenant claims a slot with one compare-and-swap.
 *
 * Updates before gh_metric_family_init (the command line, unit tests of
 * other modules) are dropped.
 */
#ifndef GH_METRICS_H
#define GH_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gh_arena.h"

typedef enum { GH_METRIC_COUNTER, GH_METRIC_GAUGE, GH_METRIC_HISTOGRAM } gh_metric_kind;

enum { GH_METRIC_MAX_LABELS = 3, GH_METRIC_MAX_BOUNDS = 16 };

/* The longest tenant id a slot takes (docs/tenants.md: 1 to 63 bytes);
 * a longer one counts as "other". */
enum { GH_METRIC_TENANT_MAX = 63 };
#define GH_METRIC_TENANT_OTHER "other"

/* A claimed slot's id and its hash (compared first: the walk of the slots
 * reads one word per slot, not a string). */
typedef struct gh_metric_tenant_id {
    uint64_t hash;
    char id[GH_METRIC_TENANT_MAX + 1];
} gh_metric_tenant_id;

/* Tenant slots. ids[0..nslots) fill in order and never empty again while
 * the table lives (a deleted tenant keeps its slot until a restart); each
 * is a copy the table owns, published with release order. */
typedef struct gh_metric_tenants {
    size_t nslots;
    _Atomic(gh_metric_tenant_id *) *ids;
    atomic_bool overflow; /* a tenant was sent to "other": it is in the text */
} gh_metric_tenants;

/* nslots from 1 on. -1 when out of memory. */
int gh_metric_tenants_init(gh_metric_tenants *t, size_t nslots);
void gh_metric_tenants_free(gh_metric_tenants *t);
/* The slot of tenant, claiming the next free one on its first sight;
 * nslots ("other") when every slot is taken by other tenants, and for
 * NULL, "other" itself or an id longer than GH_METRIC_TENANT_MAX. Never
 * takes a lock; allocates (once) only when it claims a slot. */
size_t gh_metric_tenant_slot(gh_metric_tenants *t, const char *tenant);
/* The same without claiming: nslots when tenant has no slot of its own. */
size_t gh_metric_tenant_find(const gh_metric_tenants *t, const char *tenant);

typedef struct gh_metric_family {
    const char *name; /* e.g. "gatehouse_signins_total" */
    const char *help;
    gh_metric_kind kind;
    /* Label names, NULL after the last; each with its NULL-terminated list
     * of values, the last being the catch-all. */
    const char *label[GH_METRIC_MAX_LABELS];
    const char *const *values[GH_METRIC_MAX_LABELS];
    /* Histograms: ascending upper bounds in seconds (+Inf is implied). */
    const double *bounds;
    size_t nbounds;
    /* Journey families: every series carries tenant="..." first, once for
     * each slot of this table (not owned; it must outlive the family). */
    gh_metric_tenants *tenants;
    bool sparse; /* series never touched are left out of the text */
    /* set by gh_metric_family_init; nseries counts one tenant's series */
    size_t nlabels, nvalues[GH_METRIC_MAX_LABELS];
    size_t nseries;
    _Atomic(uint64_t) *cells;
} gh_metric_family;

/* Allocates the cells (all zero). Once, before the threads that count
 * start. -1 when out of memory or when the family is malformed. */
int gh_metric_family_init(gh_metric_family *f);
void gh_metric_family_free(gh_metric_family *f);

/* The series of a label tuple (one value per label, in order; fewer values
 * than labels count as the catch-all): pure. */
size_t gh_metric_series(const gh_metric_family *f, const char *const *vals);
/* The bucket an observation falls in: the first bound >= v, or nbounds
 * (+Inf). Pure. */
size_t gh_metric_bucket(const double *bounds, size_t nbounds, double v);

/* Counter: adds n. Gauge: use gh_metric_set. Up to three label values,
 * NULL for the unused ones. A family with tenants counts these under the
 * tenant "other": use gh_metric_add_for. */
void gh_metric_add(gh_metric_family *f, const char *v0, const char *v1, const char *v2, uint64_t n);
/* Counter of a family with tenants: adds n to tenant's series (its slot,
 * or "other"). */
void gh_metric_add_for(gh_metric_family *f, const char *tenant, const char *v0, const char *v1,
                       uint64_t n);
void gh_metric_set(gh_metric_family *f, const char *v0, const char *v1, int64_t value);
/* Histogram: one observation of seconds (negative counts as 0). */
void gh_metric_observe(gh_metric_family *f, const char *v0, const char *v1, double seconds);
/* The same, for a series index already known (gh_metric_series). */
void gh_metric_add_at(gh_metric_family *f, size_t series, uint64_t n);
void gh_metric_observe_at(gh_metric_family *f, size_t series, double seconds);

/* A counter's or gauge's value (tests, the dashboard's checks); with
 * tenants, the "other" slot's. */
int64_t gh_metric_value(const gh_metric_family *f, const char *v0, const char *v1, const char *v2);
/* The value of tenant's series; 0 for a tenant without a slot. */
int64_t gh_metric_value_for(const gh_metric_family *f, const char *tenant, const char *v0,
                            const char *v1);

/* Appends the family's text (HELP, TYPE, one line a series) to out. With
 * tenants: only every series of tenant, whose slot is claimed if it has
 * none yet (and none at all for a tenant counted under "other": that slot
 * mixes other tenants' counts); with tenant NULL, every claimed slot in
 * order, then "other" once all are taken. */
void gh_metric_render(const gh_metric_family *f, const char *tenant, gh_strbuf *out);
/* A value as the exposition format writes it: integers without a point,
 * +Inf, shortest round-trip otherwise. Pure. */
void gh_metric_format(double v, char out[32]);

#endif
