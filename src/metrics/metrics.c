/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.c - metric families, series lookup and Prometheus text rendering.
 *
 * Concurrency: a family's series table is an open-addressed hash guarded by the
 * family mutex for insertion; lookups take the same mutex (short critical section),
 * and updates on a found series are relaxed atomics, so scrapes never block writers
 * for long. Doubles are stored as their bit patterns in _Atomic uint64_t. */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "quiver/alloc.h"

typedef enum family_type { FAMILY_COUNTER, FAMILY_GAUGE, FAMILY_HISTOGRAM } family_type;

struct qv_series {
    char *values[QV_METRIC_MAX_LABELS];
    _Atomic uint64_t value_bits; /* counter/gauge value, histogram sum */
    _Atomic uint64_t count;      /* histogram observations */
    _Atomic uint64_t *buckets;   /* histogram: nbounds cumulative-later counts */
    qv_metric *family;
};

struct qv_metric {
    char *name;
    char *help;
    family_type type;
    char *label_names[QV_METRIC_MAX_LABELS];
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    pthread_mutex_t lock; /* guards series/nseries */
    qv_series **series;   /* hash table, capacity QV_METRIC_MAX_SERIES * 2 */
    size_t nseries;
    qv_series *order[QV_METRIC_MAX_SERIES + 1]; /* insertion order for rendering */
    qv_series *overflow;
    qv_metric *next;
};

struct qv_metrics {
    pthread_mutex_t lock; /* guards the family list */
    qv_metric *head, **tail;
};

const double qv_metrics_latency_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                             0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                             1,      2.5,     5,      10,    30};
const size_t qv_metrics_latency_bucket_count =
    sizeof qv_metrics_latency_buckets / sizeof qv_metrics_latency_buckets[0];

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bitsd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

qv_metrics *qv_metrics_new(void)
{
    qv_metrics *m = qv_calloc(1, sizeof *m);

    if (!m)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->tail = &m->head;
    return m;
}

static void series_free(qv_series *s, size_t nlabels)
{
    if (!s)
        return;
    for (size_t i = 0; i < nlabels; i++)
        qv_free(s->values[i]);
    qv_free(s->buckets);
    qv_free(s);
}

static void family_free(qv_metric *f)
{
    for (size_t i = 0; i < f->nseries; i++)
        series_free(f->order[i], f->nlabels);
    series_free(f->overflow, f->nlabels);
    for (size_t i = 0; i < f->nlabels; i++)
        qv_free(f->label_names[i]);
    pthread_mutex_destroy(&f->lock);
    qv_free(f->series);
    qv_free(f->bounds);
    qv_free(f->name);
    qv_free(f->help);
    qv_free(f);
}

void qv_metrics_free(qv_metrics *m)
{
    if (!m)
        return;
    for (qv_metric *f = m->head, *next; f; f = next) {
        next = f->next;
        family_free(f);
    }
    pthread_mutex_destroy(&m->lock);
    qv_free(m);
}

static bool split_labels(qv_metric *f, const char *labels)
{
    const char *p = labels;

    while (p && *p && f->nlabels < QV_METRIC_MAX_LABELS) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (!(f->label_names[f->nlabels++] = qv_strndup(p, n)))
            return false;
        p = comma ? comma + 1 : NULL;
    }
    return true;
}

static qv_series *series_new(qv_metric *f, const char *const *values)
{
    qv_series *s = qv_calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->family = f;
    for (size_t i = 0; i < f->nlabels; i++) {
        if (!(s->values[i] = qv_strdup(values ? values[i] : ""))) {
            series_free(s, f->nlabels);
            return NULL;
        }
    }
    if (f->type == FAMILY_HISTOGRAM &&
        !(s->buckets = qv_calloc(f->nbounds + 1, sizeof *s->buckets))) {
        series_free(s, f->nlabels);
        return NULL;
    }
    return s;
}

static qv_metric *family_add(qv_metrics *m, const char *name, const char *help, family_type t,
                             const char *labels)
{
    qv_metric *f = qv_calloc(1, sizeof *f);

    if (!f)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    f->type = t;
    if (!(f->name = qv_strdup(name)) || !(f->help = qv_strdup(help)) || !split_labels(f, labels) ||
        !(f->series = qv_calloc(QV_METRIC_MAX_SERIES * 2, sizeof *f->series)) ||
        !(f->overflow = series_new(f, NULL))) {
        family_free(f);
        return NULL;
    }
    pthread_mutex_lock(&m->lock);
    *m->tail = f;
    m->tail = &f->next;
    pthread_mutex_unlock(&m->lock);
    return f;
}

qv_metric *qv_metrics_counter(qv_metrics *m, const char *name, const char *help,
                              const char *labels)
{
    return family_add(m, name, help, FAMILY_COUNTER, labels);
}

qv_metric *qv_metrics_gauge(qv_metrics *m, const char *name, const char *help,
                            const char *labels)
{
    return family_add(m, name, help, FAMILY_GAUGE, labels);
}

qv_metric *qv_metrics_histogram(qv_metrics *m, const char *name, const char *help,
                                const char *labels, const double *bounds, size_t nbounds)
{
    qv_metric *f = family_add(m, name, help, FAMILY_HISTOGRAM, labels);

    if (!f)
        return NULL;
    /* the overflow series was made before the bounds were known */
    qv_free(f->overflow->buckets);
    f->nbounds = nbounds;
    if (!(f->bounds = qv_calloc(nbounds, sizeof *bounds)) ||
        !(f->overflow->buckets = qv_calloc(nbounds + 1, sizeof *f->overflow->buckets)))
        return NULL; /* family stays registered, harmlessly empty */
    memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
    return f;
}

static uint64_t hash_values(const qv_metric *f, const char *const *values)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < f->nlabels; i++) {
        for (const char *p = values[i]; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    return h;
}

static bool series_matches(const qv_metric *f, const qv_series *s, const char *const *values)
{
    for (size_t i = 0; i < f->nlabels; i++)
        if (strcmp(s->values[i], values[i]) != 0)
            return false;
    return true;
}

qv_series *qv_metric_series(qv_metric *f, const char *const *values)
{
    const size_t cap = QV_METRIC_MAX_SERIES * 2;
    qv_series *found = NULL;
    size_t slot;

    if (!f)
        return NULL;
    if (f->nlabels == 0)
        return f->overflow; /* the unlabelled family's single series */
    slot = hash_values(f, values) % cap;
    pthread_mutex_lock(&f->lock);
    for (; f->series[slot]; slot = (slot + 1) % cap) {
        if (series_matches(f, f->series[slot], values)) {
            found = f->series[slot];
            break;
        }
    }
    if (!found && f->nseries < QV_METRIC_MAX_SERIES && (found = series_new(f, values))) {
        f->series[slot] = found;
        f->order[f->nseries++] = found;
    }
    pthread_mutex_unlock(&f->lock);
    return found ? found : f->overflow;
}

qv_series *qv_metric_default(qv_metric *f) { return f ? f->overflow : NULL; }

static void atomic_add_double(_Atomic uint64_t *bits, double v)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(bits, &old, dbits(bitsd(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

void qv_series_add(qv_series *s, double v)
{
    if (s)
        atomic_add_double(&s->value_bits, v);
}

void qv_series_set(qv_series *s, double v)
{
    if (s)
        atomic_store_explicit(&s->value_bits, dbits(v), memory_order_relaxed);
}

void qv_series_observe(qv_series *s, double v)
{
    const qv_metric *f;
    size_t i = 0;

    if (!s || !s->buckets)
        return;
    f = s->family;
    while (i < f->nbounds && v > f->bounds[i])
        i++;
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    atomic_add_double(&s->value_bits, v);
}

double qv_series_value(const qv_series *s)
{
    if (!s)
        return 0;
    if (s->family->type == FAMILY_HISTOGRAM)
        return (double)atomic_load_explicit(&((qv_series *)s)->count, memory_order_relaxed);
    return bitsd(atomic_load_explicit(&((qv_series *)s)->value_bits, memory_order_relaxed));
}

static void put_escaped(qv_buf *out, const char *s, bool quote_ok)
{
    for (; *s; s++) {
        if (*s == '\\' || (*s == '"' && quote_ok))
            qv_buf_put(out, "\\", 1);
        if (*s == '\n')
            qv_buf_puts(out, "\\n");
        else
            qv_buf_put(out, s, 1);
    }
}

static void put_number(qv_buf *out, double v)
{
    if (isinf(v))
        qv_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
    else if (isnan(v))
        qv_buf_puts(out, "NaN");
    else if (v == (double)(int64_t)v && fabs(v) < 1e15)
        qv_buf_printf(out, "%lld", (long long)v);
    else
        qv_buf_printf(out, "%.17g", v);
}

/* name{labels[,extra]} value */
static void put_sample(qv_buf *out, const qv_metric *f, const qv_series *s, const char *suffix,
                       const char *extra, double v)
{
    bool any = f->nlabels > 0 || extra;

    qv_buf_printf(out, "%s%s", f->name, suffix);
    if (any) {
        qv_buf_puts(out, "{");
        for (size_t i = 0; i < f->nlabels; i++) {
            qv_buf_printf(out, "%s%s=\"", i ? "," : "", f->label_names[i]);
            put_escaped(out, s->values[i], true);
            qv_buf_puts(out, "\"");
        }
        if (extra)
            qv_buf_printf(out, "%s%s", f->nlabels ? "," : "", extra);
        qv_buf_puts(out, "}");
    }
    qv_buf_puts(out, " ");
    put_number(out, v);
    qv_buf_puts(out, "\n");
}

static void render_histogram(qv_buf *out, const qv_metric *f, qv_series *s)
{
    uint64_t cumulative = 0;
    char le[64];

    for (size_t i = 0; i <= f->nbounds; i++) {
        cumulative += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        if (i < f->nbounds)
            snprintf(le, sizeof le, "le=\"%.6g\"", f->bounds[i]);
        else
            snprintf(le, sizeof le, "le=\"+Inf\"");
        put_sample(out, f, s, "_bucket", le, (double)cumulative);
    }
    put_sample(out, f, s, "_sum", NULL, bitsd(atomic_load(&s->value_bits)));
    put_sample(out, f, s, "_count", NULL, (double)cumulative);
}

static void render_family(qv_buf *out, qv_metric *f)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    size_t n;

    qv_buf_printf(out, "# HELP %s ", f->name);
    put_escaped(out, f->help, false);
    qv_buf_printf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
    pthread_mutex_lock(&f->lock);
    n = f->nseries;
    pthread_mutex_unlock(&f->lock);
    for (size_t i = 0; i <= n; i++) {
        qv_series *s = i < n ? f->order[i] : f->overflow;
        if (i == n && f->nlabels && (f->type == FAMILY_HISTOGRAM ? !atomic_load(&s->count)
                                                                  : !qv_series_value(s)))
            continue; /* the overflow series of a labelled family shows only when used */
        if (f->type == FAMILY_HISTOGRAM)
            render_histogram(out, f, s);
        else
            put_sample(out, f, s, "", NULL, qv_series_value(s));
    }
}

void qv_metrics_render(qv_metrics *m, qv_buf *out)
{
    qv_metric *f;

    pthread_mutex_lock(&m->lock);
    f = m->head;
    pthread_mutex_unlock(&m->lock);
    for (; f; f = f->next)
        render_family(out, f);
    metrics_render_process(out);
}
