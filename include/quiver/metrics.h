/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/metrics.h - counters, gauges and histograms with bounded label sets,
 * rendered in the Prometheus text exposition format (version 0.0.4).
 * Families are registered at startup; series are created on first use and live
 * as long as the registry. Updates are lock-free atomics. */
#ifndef QUIVER_METRICS_H
#define QUIVER_METRICS_H

#include <stddef.h>

#include "quiver/buf.h"

typedef struct qv_metrics qv_metrics;       /* registry */
typedef struct qv_metric qv_metric;         /* a family: name, help, type, label names */
typedef struct qv_series qv_series;         /* one label combination of a family */

#define QV_METRIC_MAX_LABELS 4
#define QV_METRIC_MAX_SERIES 4096 /* per family; beyond it updates go to an overflow series */

qv_metrics *qv_metrics_new(void);
void qv_metrics_free(qv_metrics *m); /* NULL is a no-op */

/* Register a family. labels: comma-separated label names or NULL. For histograms,
 * bounds are the upper bounds (ascending, +Inf implied), copied. Returns NULL only
 * on allocation failure. Names must follow Prometheus conventions (_total, _seconds). */
qv_metric *qv_metrics_counter(qv_metrics *m, const char *name, const char *help,
                              const char *labels);
qv_metric *qv_metrics_gauge(qv_metrics *m, const char *name, const char *help,
                            const char *labels);
qv_metric *qv_metrics_histogram(qv_metrics *m, const char *name, const char *help,
                                const char *labels, const double *bounds, size_t nbounds);

/* The series for these label values (as many as the family has label names). */
qv_series *qv_metric_series(qv_metric *f, const char *const *values);
/* Shorthands for families with no labels. */
qv_series *qv_metric_default(qv_metric *f);

void qv_series_add(qv_series *s, double v);     /* counters and gauges */
void qv_series_set(qv_series *s, double v);     /* gauges */
void qv_series_observe(qv_series *s, double v); /* histograms */
double qv_series_value(const qv_series *s);     /* counter/gauge value, histogram count */

/* Default latency buckets in seconds (100 µs .. 30 s). */
extern const double qv_metrics_latency_buckets[];
extern const size_t qv_metrics_latency_bucket_count;

/* Append the exposition text of every family, then process_* metrics of this process. */
void qv_metrics_render(qv_metrics *m, qv_buf *out);

#endif
