/* SPDX-License-Identifier: Apache-2.0 */
/* bench_vecs.c - see bench_vecs.h. fvecs/ivecs (TEXMEX): each record is a little-endian
 * int32 dimension d followed by d float32 or int32 values. */
#include "bench_vecs.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

int bench_vecs_read(const char *path, int is_int, bench_vecs *out)
{
    FILE *f = fopen(path, "rb");
    int32_t d32 = 0;
    long bytes;
    size_t rec, n;
    char *raw = NULL;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fread(&d32, 4, 1, f) != 1 || d32 <= 0 || d32 > 1 << 20 || fseek(f, 0, SEEK_END) != 0 ||
        (bytes = ftell(f)) < 0) {
        fprintf(stderr, "%s: not an fvecs/ivecs file\n", path);
        goto done;
    }
    rec = 4 + 4 * (size_t)d32;
    if ((size_t)bytes % rec) {
        fprintf(stderr, "%s: %ld bytes is not a multiple of the record size %zu\n", path, bytes,
                rec);
        goto done;
    }
    n = (size_t)bytes / rec;
    if (!(raw = malloc((size_t)bytes + 1)) || !(out->f = malloc(n * (size_t)d32 * 4 + 1))) {
        fprintf(stderr, "%s: out of memory\n", path);
        goto done;
    }
    rewind(f);
    if (fread(raw, 1, (size_t)bytes, f) != (size_t)bytes) {
        fprintf(stderr, "%s: short read\n", path);
        goto done;
    }
    for (size_t r = 0; r < n; r++) {
        int32_t dr;
        memcpy(&dr, raw + r * rec, 4);
        if (dr != d32) {
            fprintf(stderr, "%s: record %zu has dimension %d, the first %d\n", path, r, dr, d32);
            goto done;
        }
        memcpy((char *)out->f + r * (rec - 4), raw + r * rec + 4, rec - 4);
    }
    out->n = n;
    out->d = (size_t)d32;
    if (is_int) {
        out->i = (int32_t *)(void *)out->f;
        out->f = NULL;
    }
    rc = 0;
done:
    if (rc != 0) {
        free(out->f);
        out->f = NULL;
    }
    free(raw);
    fclose(f);
    return rc;
}

void bench_vecs_free(bench_vecs *v)
{
    if (!v)
        return;
    free(v->f);
    free(v->i);
    memset(v, 0, sizeof *v);
}

double bench_l2sq(const bench_truth *t, size_t q, size_t id)
{
    const float *a = t->query->f + q * t->query->d, *b = t->base->f + id * t->base->d;
    double s = 0;

    for (size_t j = 0; j < t->base->d; j++) {
        double x = (double)a[j] - (double)b[j];
        s += x * x;
    }
    return s;
}

int bench_truth_init(bench_truth *t, const bench_vecs *base, const bench_vecs *query,
                     const bench_vecs *gt_ids, const bench_vecs *gt_dist, size_t k)
{
    memset(t, 0, sizeof *t);
    t->base = base;
    t->query = query;
    t->k = k;
    if (base->d != query->d || gt_ids->n < query->n || gt_ids->d < k ||
        (gt_dist && (gt_dist->n < query->n || gt_dist->d < k))) {
        fprintf(stderr, "ground truth: shapes do not fit (base d=%zu, query %zux%zu, gt %zux%zu)\n",
                base->d, query->n, query->d, gt_ids->n, gt_ids->d);
        return -1;
    }
    if (!(t->kth_sq = malloc(query->n * sizeof *t->kth_sq + 1)))
        return -1;
    for (size_t q = 0; q < query->n; q++) {
        if (gt_dist) {
            t->kth_sq[q] = gt_dist->f[q * gt_dist->d + k - 1];
            continue;
        }
        int32_t id = gt_ids->i[q * gt_ids->d + k - 1];
        if (id < 0 || (size_t)id >= base->n) {
            fprintf(stderr, "ground truth: query %zu has id %d out of range\n", q, id);
            return -1;
        }
        t->kth_sq[q] = (float)bench_l2sq(t, q, (size_t)id);
    }
    return 0;
}

void bench_truth_fini(bench_truth *t)
{
    if (!t)
        return;
    free(t->kth_sq);
    free(t->allow);
    t->kth_sq = NULL;
    t->allow = NULL;
}

int bench_truth_set_allow(bench_truth *t, const bench_vecs *ids)
{
    size_t words = (t->base->n + 63) / 64, n = ids->n * ids->d;

    free(t->allow);
    if (!(t->allow = calloc(words + 1, sizeof *t->allow))) {
        fprintf(stderr, "allow set: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids->i[i];
        if (id < 0 || (size_t)id >= t->base->n) {
            fprintf(stderr, "allow set: id %d out of range (base has %zu rows)\n", id, t->base->n);
            return -1;
        }
        t->allow[id / 64] |= 1ull << (id % 64);
    }
    return 0;
}

int bench_truth_allowed(const bench_truth *t, int64_t id)
{
    if (id < 0 || (size_t)id >= t->base->n)
        return 0;
    return !t->allow || (t->allow[id / 64] >> (id % 64) & 1);
}

size_t bench_recall_hits(const bench_truth *t, size_t q, const int64_t *ids, size_t n)
{
    double thr = sqrt(t->kth_sq[q] > 0 ? (double)t->kth_sq[q] : 0.0) + 1e-3;
    size_t hits = 0;

    for (size_t i = 0; i < n && i < t->k; i++) {
        if (!bench_truth_allowed(t, ids[i]))
            continue;
        hits += sqrt(bench_l2sq(t, q, (size_t)ids[i])) <= thr;
    }
    return hits;
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double bench_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_percentile(double *v, size_t n, double p)
{
    size_t i;

    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

int bench_text_put(bench_text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        char *p;
        while (cap < t->len + n + 1)
            cap *= 2;
        if (!(p = realloc(t->p, cap)))
            return 0;
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
    return 1;
}

int bench_text_str(bench_text *t, const char *s) { return bench_text_put(t, s, strlen(s)); }

size_t bench_parse_ints(const char *s, int *out, size_t cap)
{
    size_t n = 0;

    while (*s && n < cap) {
        char *end;
        long v;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || v <= 0 || v > 1 << 24 || (*end && *end != ','))
            return 0;
        out[n++] = (int)v;
        s = *end ? end + 1 : end;
    }
    return *s ? 0 : n;
}
