/* SPDX-License-Identifier: Apache-2.0 */
/* bench_vecs.h - helpers shared by the search benchmark programs (search_client,
 * faiss_baseline): TEXMEX .fvecs/.ivecs files, ann-benchmarks recall, clocks and
 * percentiles, text buffers. Shared by ingest_client too. Plain libc, no core library, so the REST client stays a pure client. */
#ifndef QUIVER_BENCH_VECS_H
#define QUIVER_BENCH_VECS_H

#include <stddef.h>
#include <stdint.h>

/* One loaded vector file: n rows of d values (float for fvecs, int32 for ivecs). */
typedef struct bench_vecs {
    size_t n, d;
    float *f;   /* fvecs data, or NULL */
    int32_t *i; /* ivecs data, or NULL */
} bench_vecs;

/* Read a whole .fvecs (is_int false) or .ivecs file; every record must have the
 * first record's dimension. Returns 0, or -1 after printing why to stderr. */
int bench_vecs_read(const char *path, int is_int, bench_vecs *out);
void bench_vecs_free(bench_vecs *v);

/* The data a recall needs: base and queries, and per query the squared L2 distance
 * of its k-th true neighbour (from the ground-truth distance file when given,
 * else recomputed from the ground-truth ids). For a filtered search the ground truth
 * is over the rows the filter allows, and allow marks those rows: others never count. */
typedef struct bench_truth {
    const bench_vecs *base, *query;
    float *kth_sq; /* query->n values */
    size_t k;
    uint64_t *allow; /* bitmap over base rows, or NULL: every row allowed */
} bench_truth;

/* Fill t->kth_sq for k; gt_dist may be NULL. -1 (printed) on a shape mismatch. */
int bench_truth_init(bench_truth *t, const bench_vecs *base, const bench_vecs *query,
                     const bench_vecs *gt_ids, const bench_vecs *gt_dist, size_t k);
void bench_truth_fini(bench_truth *t);

/* Restrict t to the base rows listed in ids (an ivecs file's values, any shape: every
 * value is one allowed row). -1 (printed) on an id out of range or no memory. */
int bench_truth_set_allow(bench_truth *t, const bench_vecs *ids);

/* Row id allowed (always true without an allow set; false out of range). */
int bench_truth_allowed(const bench_truth *t, int64_t id);

/* Exact squared L2 between query q and base row id, in double. */
double bench_l2sq(const bench_truth *t, size_t q, size_t id);

/* ann-benchmarks "knn" recall hits of one result list: returned ids (n of them, < 0
 * ignored) whose true distance is <= the k-th true distance + 1e-3 (non-squared, as
 * ann-benchmarks compares). Ids out of the base's range or the allow set never count. */
size_t bench_recall_hits(const bench_truth *t, size_t q, const int64_t *ids, size_t n);

uint64_t bench_now_ns(void);
double bench_cpu_seconds(void); /* this process, user + system */

/* Sort v in place and return the p-th percentile (0..100), nearest rank; 0 when n == 0. */
double bench_percentile(double *v, size_t n, double p);

/* A growable NUL-terminated text buffer for pre-encoded request bodies. */
typedef struct bench_text {
    char *p;
    size_t len, cap;
} bench_text;

/* Append n bytes (or a C string); false when memory runs out. */
int bench_text_put(bench_text *t, const char *s, size_t n);
int bench_text_str(bench_text *t, const char *s);

/* Parse "a,b,c" into up to cap positive ints; returns the count, 0 on a bad list. */
size_t bench_parse_ints(const char *s, int *out, size_t cap);

#endif
