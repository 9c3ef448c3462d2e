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
    bool tenant; /* every series carries tenant="..." first */
    bool sparse; /* series never touched are left out of the text */
    /* set by gh_metric_family_init */
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
 * NULL for the unused ones. */
void gh_metric_add(gh_metric_family *f, const char *v0, const char *v1, const char *v2, uint64_t n);
void gh_metric_set(gh_metric_family *f, const char *v0, const char *v1, int64_t value);
/* Histogram: one observation of seconds (negative counts as 0). */
void gh_metric_observe(gh_metric_family *f, const char *v0, const char *v1, double seconds);
/* The same, for a series index already known (gh_metric_series). */
void gh_metric_add_at(gh_metric_family *f, size_t series, uint64_t n);
void gh_metric_observe_at(gh_metric_family *f, size_t series, double seconds);

/* A counter's or gauge's value (tests, the dashboard's checks). */
int64_t gh_metric_value(const gh_metric_family *f, const char *v0, const char *v1, const char *v2);

/* Appends the family's text (HELP, TYPE, one line a series) to out. */
void gh_metric_render(const gh_metric_family *f, const char *tenant, gh_strbuf *out);
/* A value as the exposition format writes it: integers without a point,
 * +Inf, shortest round-trip otherwise. Pure. */
void gh_metric_format(double v, char out[32]);

#endif
