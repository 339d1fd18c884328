/* SPDX-License-Identifier: Apache-2.0 */
/* bench_filter.c - filter evaluation over one sealed segment, in-process, with and without
 * its scalar indexes: the time per query the store spends deciding which rows a filter
 * selects (quiver/filter.h). Without: qv_filter_eval over every 4096-row window, reading
 * the columns. With: qv_filter_pre_compute from the indexes (STL_SORT on tag, Trie on
 * city), then the same windows taking the indexed predicates' rows from it. Both must
 * select the same rows (checked).
 *
 * Data: N rows (default 1,000,000), tag = row % 100 (Int64), city = "c%04d" of
 * row * 7919 % 1000 (VarChar). One thread. Not a test: prints a table and one
 * "result: ..." line per filter for scripts.
 *
 *   usage: bench_filter [rows=1000000] [seconds per measurement=1] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quiver/alloc.h"
#include "quiver/filter.h"
#include "quiver/scalar_index.h"

#define WINDOW 4096

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void check(qv_err rc, const qv_error *e, const char *what)
{
    if (rc != QV_OK) {
        fprintf(stderr, "bench_filter: %s: %s\n", what, e->msg);
        exit(1);
    }
}

typedef struct data {
    size_t n;
    int64_t *id, *tag;
    char *city;
    uint64_t *off;
    qv_column cols[3];
    qv_schema schema;
    qv_sindex *ix[2];
    qv_filter_index fi[2];
} data;

static void make(data *d, size_t n)
{
    static qv_field fields[3] = {{.name = "id", .type = QV_TYPE_INT64, .is_primary = true},
                                 {.name = "tag", .type = QV_TYPE_INT64},
                                 {.name = "city", .type = QV_TYPE_VARCHAR, .max_length = 8}};
    static const char *const types[2] = {"STL_SORT", "Trie"};
    qv_sindex_spec spec;
    qv_error e;

    d->n = n;
    d->id = qv_malloc(n * sizeof *d->id);
    d->tag = qv_malloc(n * sizeof *d->tag);
    d->city = qv_malloc(n * 5 + 1);
    d->off = qv_malloc((n + 1) * sizeof *d->off);
    if (!d->id || !d->tag || !d->city || !d->off)
        exit(1);
    for (size_t i = 0; i < n; i++) {
        d->id[i] = (int64_t)i;
        d->tag[i] = (int64_t)(i % 100);
        snprintf(d->city + i * 5, 6, "c%04zu", i * 7919 % 1000);
        d->off[i] = i * 5;
    }
    d->off[n] = n * 5;
    d->cols[0] = (qv_column){QV_TYPE_INT64, d->id, NULL, NULL};
    d->cols[1] = (qv_column){QV_TYPE_INT64, d->tag, NULL, NULL};
    d->cols[2] = (qv_column){QV_TYPE_VARCHAR, d->city, d->off, NULL};
    d->schema = (qv_schema){.fields = fields, .field_count = 3};
    for (size_t k = 0; k < 2; k++) {
        const qv_field *f = &fields[k + 1];
        check(qv_sindex_spec_parse(types[k], f->name, f->type, 0, false, NULL, NULL, &spec, &e),
              &e, "index spec");
        check(qv_sindex_build(&spec, d->cols[k + 1].data, d->cols[k + 1].offsets, NULL, n,
                              &d->ix[k], &e),
              &e, "index build");
        d->fi[k] = (qv_filter_index){k + 1, "", 0, d->ix[k]};
    }
}

/* One query: the rows f selects, counted; with indexes through their answers. */
static size_t run_once(const data *d, const qv_filter *f, bool indexed, uint64_t *bits)
{
    qv_filter_pre *pre = NULL;
    qv_column cols[3];
    qv_error e;
    size_t count = 0;

    if (indexed)
        check(qv_filter_pre_compute(f, d->fi, 2, d->n, &pre, &e), &e, "pre_compute");
    for (size_t first = 0; first < d->n; first += WINDOW) {
        size_t n = d->n - first < WINDOW ? d->n - first : WINDOW;
        qv_filter_batch b = {.rows = n, .cols = cols, .col_count = 3, .pre = pre,
                             .pre_offset = first};
        cols[0] = (qv_column){QV_TYPE_INT64, d->id + first, NULL, NULL};
        cols[1] = (qv_column){QV_TYPE_INT64, d->tag + first, NULL, NULL};
        cols[2] = (qv_column){QV_TYPE_VARCHAR, d->city, d->off + first, NULL};
        check(qv_filter_eval(f, &b, bits, &e), &e, "eval");
        for (size_t w = 0; w < qv_filter_words(n); w++)
            count += (size_t)__builtin_popcountll(bits[w]);
    }
    qv_filter_pre_free(pre);
    return count;
}

/* Microseconds per query over at least `seconds`. */
static double measure(const data *d, const qv_filter *f, bool indexed, double seconds,
                      size_t *count)
{
    uint64_t bits[WINDOW / 64];
    double t0 = now_s(), t;
    size_t runs = 0;

    do {
        *count = run_once(d, f, indexed, bits);
        runs++;
    } while ((t = now_s() - t0) < seconds);
    return t / (double)runs * 1e6;
}

int main(int argc, char **argv)
{
    static const char *const filters[] = {"tag == 7",        "tag < 10",
                                          "tag in [3, 50, 77]", "city == \"c0123\"",
                                          "city like \"c001%\"", "tag == 7 and city > \"c0500\""};
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    double seconds = argc > 2 ? atof(argv[2]) : 1.0;
    data d = {0};
    qv_error e;

    if (n == 0 || seconds <= 0) {
        fprintf(stderr, "usage: bench_filter [rows] [seconds]\n");
        return 2;
    }
    make(&d, n);
    printf("filter evaluation over one sealed segment of %zu rows, one thread, %.1f s per "
           "figure; indexes: STL_SORT on tag, Trie on city\n",
           n, seconds);
    printf("%-30s %9s %12s %12s %8s\n", "filter", "rows", "scan us", "indexed us", "speedup");
    for (size_t i = 0; i < sizeof filters / sizeof *filters; i++) {
        qv_filter *f;
        size_t with = 0, without = 0;
        check(qv_filter_compile(&d.schema, filters[i], strlen(filters[i]), NULL, &f, &e), &e,
              filters[i]);
        double scan = measure(&d, f, false, seconds, &without);
        double idx = measure(&d, f, true, seconds, &with);
        if (with != without) {
            fprintf(stderr, "bench_filter: %s: %zu rows scanned, %zu with indexes\n", filters[i],
                    without, with);
            return 1;
        }
        printf("%-30s %9zu %12.1f %12.1f %7.2f×\n", filters[i], with, scan, idx, scan / idx);
        printf("result: filter=");
        for (const char *c = filters[i]; *c; c++) /* one token: spaces as _, no quotes */
            if (*c != '"')
                putchar(*c == ' ' ? '_' : *c);
        printf(" rows=%zu total=%zu scan_us=%.1f index_us=%.1f speedup=%.2f\n", with, n, scan,
               idx, scan / idx);
        qv_filter_free(f);
    }
    return 0;
}
