#include "gh_metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A histogram series is nbounds + 1 bucket counts (not cumulative: one
 * increment an observation) and the sum in nanoseconds. Its count is the
 * sum of the buckets, so the text is always consistent with itself. */
static size_t cells_per_series(const gh_metric_family *f)
{
    return f->kind == GH_METRIC_HISTOGRAM ? f->nbounds + 2 : 1;
}

static size_t nvalues(const char *const *list)
{
    size_t n = 0;
    while (list[n])
        n++;
    return n;
}

static size_t nlabels(const gh_metric_family *f)
{
    size_t n = 0;
    while (n < GH_METRIC_MAX_LABELS && f->label[n])
        n++;
    return n;
}

int gh_metric_family_init(gh_metric_family *f)
{
    size_t n = 1;
    if (f->kind == GH_METRIC_HISTOGRAM && (f->nbounds == 0 || f->nbounds > GH_METRIC_MAX_BOUNDS))
        return -1;
    f->nlabels = nlabels(f);
    for (size_t i = 0; i < f->nlabels; i++) {
        if (!f->values[i] || nvalues(f->values[i]) == 0)
            return -1;
        f->nvalues[i] = nvalues(f->values[i]);
        n *= f->nvalues[i];
    }
    _Atomic(uint64_t) *cells = calloc(n * cells_per_series(f), sizeof(*cells));
    if (!cells)
        return -1;
    f->nseries = n;
    atomic_thread_fence(memory_order_release);
    f->cells = cells;
    return 0;
}

void gh_metric_family_free(gh_metric_family *f)
{
    free((void *)f->cells);
    f->cells = NULL;
    f->nseries = 0;
}

/* The position of v in list (n values), or the catch-all (the last) when
 * absent. The same pointer is found first without comparing text. */
static size_t value_index(const char *const *list, size_t n, const char *v)
{
    for (size_t i = 0; v && i + 1 < n; i++)
        if (list[i] == v)
            return i;
    for (size_t i = 0; v && i + 1 < n; i++)
        if (strcmp(list[i], v) == 0)
            return i;
    return n - 1;
}

size_t gh_metric_series(const gh_metric_family *f, const char *const *vals)
{
    size_t idx = 0;
    if (!f->cells) /* the counts below are set by gh_metric_family_init */
        return 0;
    for (size_t i = 0; i < f->nlabels; i++)
        idx = idx * f->nvalues[i] + value_index(f->values[i], f->nvalues[i], vals[i]);
    return idx;
}

size_t gh_metric_bucket(const double *bounds, size_t nbounds, double v)
{
    size_t i = 0;
    while (i < nbounds && v > bounds[i])
        i++;
    return i;
}

void gh_metric_add_at(gh_metric_family *f, size_t series, uint64_t n)
{
    if (!f->cells || series >= f->nseries || f->kind == GH_METRIC_HISTOGRAM)
        return;
    atomic_fetch_add_explicit(&f->cells[series], n, memory_order_relaxed);
}

void gh_metric_add(gh_metric_family *f, const char *v0, const char *v1, const char *v2, uint64_t n)
{
    const char *vals[GH_METRIC_MAX_LABELS] = {v0, v1, v2};
    if (f->cells)
        gh_metric_add_at(f, gh_metric_series(f, vals), n);
}

void gh_metric_set(gh_metric_family *f, const char *v0, const char *v1, int64_t value)
{
    const char *vals[GH_METRIC_MAX_LABELS] = {v0, v1, NULL};
    if (!f->cells || f->kind != GH_METRIC_GAUGE)
        return;
    atomic_store_explicit(&f->cells[gh_metric_series(f, vals)], (uint64_t)value,
                          memory_order_relaxed);
}

void gh_metric_observe_at(gh_metric_family *f, size_t series, double seconds)
{
    if (!f->cells || series >= f->nseries || f->kind != GH_METRIC_HISTOGRAM)
        return;
    if (!(seconds > 0)) /* also NaN */
        seconds = 0;
    _Atomic(uint64_t) *s = f->cells + series * cells_per_series(f);
    atomic_fetch_add_explicit(&s[gh_metric_bucket(f->bounds, f->nbounds, seconds)], 1,
                              memory_order_relaxed);
    double ns = seconds * 1e9;
    atomic_fetch_add_explicit(&s[f->nbounds + 1], ns < 1.8e19 ? (uint64_t)ns : 0,
                              memory_order_relaxed);
}

void gh_metric_observe(gh_metric_family *f, const char *v0, const char *v1, double seconds)
{
    const char *vals[GH_METRIC_MAX_LABELS] = {v0, v1, NULL};
    if (f->cells)
        gh_metric_observe_at(f, gh_metric_series(f, vals), seconds);
}

int64_t gh_metric_value(const gh_metric_family *f, const char *v0, const char *v1, const char *v2)
{
    const char *vals[GH_METRIC_MAX_LABELS] = {v0, v1, v2};
    if (!f->cells || f->kind == GH_METRIC_HISTOGRAM)
        return 0;
    return (int64_t)atomic_load_explicit(&f->cells[gh_metric_series(f, vals)],
                                         memory_order_relaxed);
}

void gh_metric_format(double v, char out[32])
{
    if (isinf(v)) {
        snprintf(out, 32, "%s", v > 0 ? "+Inf" : "-Inf");
    } else if (isnan(v)) {
        snprintf(out, 32, "NaN");
    } else if (v == floor(v) && fabs(v) < 9.007199254740992e15) {
        snprintf(out, 32, "%.0f", v);
    } else {
        /* the shortest text that reads back as the same double */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(out, 32, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
}

/* Label values come from fixed lists, but are escaped all the same (\, "
 * and newline), so a list can never break the text. */
static void put_escaped(gh_strbuf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            gh_strbuf_put(out, "\\", 1);
        if (*s == '\n')
            gh_strbuf_put(out, "\\n", 2);
        else
            gh_strbuf_put(out, s, 1);
    }
}

static void put(gh_strbuf *out, const char *s)
{
    gh_strbuf_put(out, s, strlen(s));
}

/* Writes {tenant="t",a="x",b="y"[,le="0.5"]} for series idx (or nothing). */
static void put_labels(gh_strbuf *out, const gh_metric_family *f, const char *tenant, size_t idx,
                       const char *le)
{
    size_t nl = f->nlabels, pick[GH_METRIC_MAX_LABELS] = {0};
    for (size_t i = nl; i-- > 0;) {
        pick[i] = idx % f->nvalues[i];
        idx /= f->nvalues[i];
    }
    if (!nl && !f->tenant && !le)
        return;
    const char *sep = "{";
    if (f->tenant) {
        put(out, "{tenant=\"");
        put_escaped(out, tenant);
        put(out, "\"");
        sep = ",";
    }
    for (size_t i = 0; i < nl; i++) {
        put(out, sep);
        put(out, f->label[i]);
        put(out, "=\"");
        put_escaped(out, f->values[i][pick[i]]);
        put(out, "\"");
        sep = ",";
    }
    if (le) {
        put(out, sep);
        put(out, "le=\"");
        put(out, le);
        put(out, "\"");
    }
    put(out, "}");
}

static void put_sample(gh_strbuf *out, const gh_metric_family *f, const char *suffix,
                       const char *tenant, size_t idx, const char *le, double v)
{
    char num[32];
    put(out, f->name);
    put(out, suffix);
    put_labels(out, f, tenant, idx, le);
    gh_metric_format(v, num);
    put(out, " ");
    put(out, num);
    put(out, "\n");
}

static void render_histogram(const gh_metric_family *f, const char *tenant, size_t idx,
                             gh_strbuf *out)
{
    _Atomic(uint64_t) *s = f->cells + idx * cells_per_series(f);
    uint64_t counts[GH_METRIC_MAX_BOUNDS + 1], total = 0;
    for (size_t b = 0; b <= f->nbounds; b++) {
        counts[b] = atomic_load_explicit(&s[b], memory_order_relaxed);
        total += counts[b];
    }
    if (f->sparse && total == 0)
        return;
    uint64_t cum = 0;
    char le[32];
    for (size_t b = 0; b <= f->nbounds; b++) {
        cum += counts[b];
        gh_metric_format(b < f->nbounds ? f->bounds[b] : INFINITY, le);
        put_sample(out, f, "_bucket", tenant, idx, le, (double)cum);
    }
    double sum = (double)atomic_load_explicit(&s[f->nbounds + 1], memory_order_relaxed) / 1e9;
    put_sample(out, f, "_sum", tenant, idx, NULL, sum);
    put_sample(out, f, "_count", tenant, idx, NULL, (double)total);
}

void gh_metric_render(const gh_metric_family *f, const char *tenant, gh_strbuf *out)
{
    static const char *const kinds[] = {"counter", "gauge", "histogram"};
    put(out, "# HELP ");
    put(out, f->name);
    put(out, " ");
    for (const char *h = f->help; *h; h++) /* HELP escapes \ and newline */
        gh_strbuf_put(out, *h == '\n' ? " " : h, 1);
    put(out, "\n# TYPE ");
    put(out, f->name);
    put(out, " ");
    put(out, kinds[f->kind]);
    put(out, "\n");
    for (size_t i = 0; f->cells && i < f->nseries; i++) {
        if (f->kind == GH_METRIC_HISTOGRAM) {
            render_histogram(f, tenant, i, out);
            continue;
        }
        uint64_t v = atomic_load_explicit(&f->cells[i], memory_order_relaxed);
        if (f->sparse && v == 0)
            continue;
        put_sample(out, f, "", tenant, i, NULL,
                   f->kind == GH_METRIC_GAUGE ? (double)(int64_t)v : (double)v);
    }
}
