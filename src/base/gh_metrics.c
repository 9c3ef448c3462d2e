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

/* The tenant slots a family repeats its series for: 1 without tenants,
 * else one per slot and "other". */
static size_t slot_count(const gh_metric_family *f)
{
    return f->tenants ? f->tenants->nslots + 1 : 1;
}

int gh_metric_family_init(gh_metric_family *f)
{
    size_t n = 1;
    if (f->kind == GH_METRIC_HISTOGRAM && (f->nbounds == 0 || f->nbounds > GH_METRIC_MAX_BOUNDS))
        return -1;
    if (f->tenants && !f->tenants->ids)
        return -1;
    f->nlabels = nlabels(f);
    for (size_t i = 0; i < f->nlabels; i++) {
        if (!f->values[i] || nvalues(f->values[i]) == 0)
            return -1;
        f->nvalues[i] = nvalues(f->values[i]);
        n *= f->nvalues[i];
    }
    _Atomic(uint64_t) *cells = calloc(n * slot_count(f) * cells_per_series(f), sizeof(*cells));
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

/* ---- tenant slots ---- */

int gh_metric_tenants_init(gh_metric_tenants *t, size_t nslots)
{
    atomic_init(&t->overflow, false);
    t->ids = nslots ? calloc(nslots, sizeof(*t->ids)) : NULL;
    t->nslots = t->ids ? nslots : 0;
    return t->ids ? 0 : -1;
}

void gh_metric_tenants_free(gh_metric_tenants *t)
{
    for (size_t i = 0; t->ids && i < t->nslots; i++)
        free(atomic_load_explicit(&t->ids[i], memory_order_relaxed));
    free((void *)t->ids);
    t->ids = NULL;
    t->nslots = 0;
}

/* Ids that never get a slot of their own. */
static bool slotless(const char *tenant)
{
    return !tenant || strnlen(tenant, GH_METRIC_TENANT_MAX + 1) > GH_METRIC_TENANT_MAX ||
           strcmp(tenant, GH_METRIC_TENANT_OTHER) == 0;
}

/* FNV-1a: a tenant id's hash, to compare before the text. */
static uint64_t id_hash(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Walks the claimed slots (a prefix: slots fill in order) for tenant of
 * hash h; *end is the first free slot (nslots when none). */
static size_t scan(const gh_metric_tenants *t, const char *tenant, uint64_t h, size_t *end)
{
    size_t i = 0;
    for (; i < t->nslots; i++) {
        const gh_metric_tenant_id *e = atomic_load_explicit(&t->ids[i], memory_order_acquire);
        if (!e)
            break;
        if (e->hash == h && strcmp(e->id, tenant) == 0)
            return i;
    }
    *end = i;
    return t->nslots;
}

/* "other"'s slot, for a tenant sent there; written once, so a tenant
 * counted there often does not keep taking the flag's cache line. */
static size_t overflow_slot(gh_metric_tenants *t)
{
    if (!atomic_load_explicit(&t->overflow, memory_order_relaxed))
        atomic_store_explicit(&t->overflow, true, memory_order_relaxed);
    return t->nslots;
}

size_t gh_metric_tenant_find(const gh_metric_tenants *t, const char *tenant)
{
    size_t end;
    return !t->ids || slotless(tenant) ? t->nslots : scan(t, tenant, id_hash(tenant), &end);
}

size_t gh_metric_tenant_slot(gh_metric_tenants *t, const char *tenant)
{
    size_t end = 0;
    if (!t->ids)
        return t->nslots;
    if (slotless(tenant))
        return overflow_slot(t);
    uint64_t h = id_hash(tenant);
    size_t i = scan(t, tenant, h, &end);
    if (i < t->nslots)
        return i;
    if (end == t->nslots)
        return overflow_slot(t);
    gh_metric_tenant_id *mine = malloc(sizeof(*mine));
    if (!mine) /* counted as other rather than lost */
        return overflow_slot(t);
    mine->hash = h;
    memcpy(mine->id, tenant, strlen(tenant) + 1); /* slotless: at most 63 bytes */
    /* Claim the first free slot. A thread that loses the race reads the
     * winner's id: the same tenant is then found there, another one makes
     * it try the next slot, so no id ever holds two slots. */
    for (i = end; i < t->nslots; i++) {
        gh_metric_tenant_id *expected = NULL;
        if (atomic_compare_exchange_strong_explicit(&t->ids[i], &expected, mine,
                                                    memory_order_acq_rel, memory_order_acquire))
            return i;
        if (expected->hash == h && strcmp(expected->id, tenant) == 0)
            break;
    }
    free(mine);
    return i < t->nslots ? i : overflow_slot(t);
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

/* A series index past the last tenant slot's. */
static bool out_of_range(const gh_metric_family *f, size_t series)
{
    return series >= f->nseries * slot_count(f);
}

/* The series index of label tuple idx in tenant slot slot. */
static size_t at_slot(const gh_metric_family *f, size_t slot, size_t idx)
{
    return slot * f->nseries + idx;
}

/* The slot counts that name no tenant go to: "other" (the last). */
static size_t untenanted(const gh_metric_family *f)
{
    return slot_count(f) - 1;
}

void gh_metric_add_at(gh_metric_family *f, size_t series, uint64_t n)
{
    if (!f->cells || out_of_range(f, series) || f->kind == GH_METRIC_HISTOGRAM)
        return;
    atomic_fetch_add_explicit(&f->cells[series], n, memory_order_relaxed);
}

void gh_metric_add(gh_metric_family *f, const char *v0, const char *v1, const char *v2, uint64_t n)
{
    const char *vals[GH_METRIC_MAX_LABELS] = {v0, v1, v2};
    if (!f->cells)
        return;
    if (f->tenants)
        overflow_slot(f->tenants);
    gh_metric_add_at(f, at_slot(f, untenanted(f), gh_metric_series(f, vals)), n);
}

void gh_metric_add_for(gh_metric_family *f, const char *tenant, const char *v0, const char *v1,
                       uint64_t n)
{
    const char *vals[GH_METRIC_MAX_LABELS] = {v0, v1, NULL};
    if (!f->cells)
        return;
    size_t slot = f->tenants ? gh_metric_tenant_slot(f->tenants, tenant) : 0;
    gh_metric_add_at(f, at_slot(f, slot, gh_metric_series(f, vals)), n);
}

void gh_metric_set(gh_metric_family *f, const char *v0, const char *v1, int64_t value)
{
    const char *vals[GH_METRIC_MAX_LABELS] = {v0, v1, NULL};
    if (!f->cells || f->kind != GH_METRIC_GAUGE)
        return;
    atomic_store_explicit(&f->cells[at_slot(f, untenanted(f), gh_metric_series(f, vals))],
                          (uint64_t)value, memory_order_relaxed);
}

void gh_metric_observe_at(gh_metric_family *f, size_t series, double seconds)
{
    if (!f->cells || out_of_range(f, series) || f->kind != GH_METRIC_HISTOGRAM)
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
        gh_metric_observe_at(f, at_slot(f, untenanted(f), gh_metric_series(f, vals)), seconds);
}

static int64_t value_at(const gh_metric_family *f, size_t slot, const char *const *vals)
{
    if (!f->cells || f->kind == GH_METRIC_HISTOGRAM)
        return 0;
    return (int64_t)atomic_load_explicit(&f->cells[at_slot(f, slot, gh_metric_series(f, vals))],
                                         memory_order_relaxed);
}

int64_t gh_metric_value(const gh_metric_family *f, const char *v0, const char *v1, const char *v2)
{
    const char *vals[GH_METRIC_MAX_LABELS] = {v0, v1, v2};
    return value_at(f, untenanted(f), vals);
}

int64_t gh_metric_value_for(const gh_metric_family *f, const char *tenant, const char *v0,
                            const char *v1)
{
    const char *vals[GH_METRIC_MAX_LABELS] = {v0, v1, NULL};
    size_t slot = f->tenants ? gh_metric_tenant_find(f->tenants, tenant) : 0;
    if (f->tenants && slot == f->tenants->nslots && !slotless(tenant))
        return 0; /* no slot: its counts, if any, are mixed into "other" */
    return value_at(f, slot, vals);
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

/* Label values come from fixed lists and tenant ids from a strict
 * alphabet, but are escaped all the same (\, " and newline), so neither
 * can ever break the text. */
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
    if (!nl && !f->tenants && !le)
        return;
    const char *sep = "{";
    if (f->tenants) {
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

/* Series at (cells) with label tuple idx. */
static void render_histogram(const gh_metric_family *f, const char *tenant, size_t at, size_t idx,
                             gh_strbuf *out)
{
    _Atomic(uint64_t) *s = f->cells + at * cells_per_series(f);
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

/* Every series of one tenant slot (named tenant; NULL without tenants). */
static void render_slot(const gh_metric_family *f, size_t slot, const char *tenant, gh_strbuf *out)
{
    for (size_t i = 0; i < f->nseries; i++) {
        size_t at = at_slot(f, slot, i);
        if (f->kind == GH_METRIC_HISTOGRAM) {
            render_histogram(f, tenant, at, i, out);
            continue;
        }
        uint64_t v = atomic_load_explicit(&f->cells[at], memory_order_relaxed);
        if (f->sparse && v == 0)
            continue;
        put_sample(out, f, "", tenant, i, NULL,
                   f->kind == GH_METRIC_GAUGE ? (double)(int64_t)v : (double)v);
    }
}

/* One tenant's scrape: its own slot (claimed now, so it starts at zero),
 * and nothing for a tenant counted under "other", which mixes other
 * tenants' counts. */
static void render_tenant(const gh_metric_family *f, const char *tenant, gh_strbuf *out)
{
    size_t slot = gh_metric_tenant_slot(f->tenants, tenant);
    if (slot < f->tenants->nslots)
        render_slot(f, slot, atomic_load_explicit(&f->tenants->ids[slot], memory_order_acquire)->id,
                    out);
}

/* The whole scrape: every claimed slot in order, then "other" once a
 * tenant was sent there (every slot taken, or an id that gets none). */
static void render_tenants(const gh_metric_family *f, gh_strbuf *out)
{
    size_t n = f->tenants->nslots;
    for (size_t i = 0; i < n; i++) {
        const gh_metric_tenant_id *e =
            atomic_load_explicit(&f->tenants->ids[i], memory_order_acquire);
        if (!e)
            break;
        render_slot(f, i, e->id, out);
    }
    if (atomic_load_explicit(&f->tenants->overflow, memory_order_relaxed))
        render_slot(f, n, GH_METRIC_TENANT_OTHER, out);
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
    if (!f->cells)
        return;
    if (!f->tenants) {
        render_slot(f, 0, NULL, out);
        return;
    }
    if (tenant)
        render_tenant(f, tenant, out);
    else
        render_tenants(f, out);
}
