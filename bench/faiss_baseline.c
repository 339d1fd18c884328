/* SPDX-License-Identifier: Apache-2.0 */
/* faiss_baseline.c - in-process stock FAISS (Debian's static libfaiss through the C API
 * the core library compiles) on the data quiverd is benchmarked with: the same index type
 * and parameters, one OpenMP thread, no HTTP. bench/search.sh compares REST search with it.
 *
 * Builds one index (timed: factory + train + add), then for each search parameter value
 * (HNSW ef, IVF nprobe; FLAT has none) measures single queries (nq=1, one call per query,
 * sequential) and batches of --batch queries per call: QPS over the summed call times,
 * p50/p99 of the call latency, and ann-benchmarks recall@k (distance threshold, see
 * bench_vecs.h) over the first answer to each query. Each measurement cycles through the
 * queries until --seconds of search time or --passes passes, after a short warm-up.
 *
 * HNSW is FAISS's IndexHNSWFlat with its stock flat storage and distances
 * (qv_faiss_hnsw_new with stock_storage, which only adds a way to set efConstruction);
 * IVF uses the factory strings the server uses (IVF<nlist>,Flat / ,SQ8 / ,PQ<m>x<nbits>np);
 * FLAT is IndexFlatL2, the brute-force baseline for quiver's growing-segment search.
 * The last line of each measurement is "result: key=value ..." for scripts.
 *
 * Two switches reproduce what quiverd does in-process, to split REST overhead from index
 * cost: --simd builds HNSW on Quiver's SIMD distance kernels (as the server does), and
 * --selector searches through qv_faiss_search_with_selector with an all-rows bitmap (the
 * server always passes its visibility bitmap; ef/nprobe are still set on the index).
 *
 * Filtered search: --allow A.ivecs (the rows a filter lets through) searches through the
 * same call with that bitmap as FAISS's ID selector (IDSelector in SearchParameters; on
 * FLAT this is FAISS's exact filtered search), with --gt/--gt-dist the ground truth over
 * those rows; a returned row outside them never counts as a hit.
 *
 *   usage: faiss_baseline --base B.fvecs --query Q.fvecs --gt G.ivecs [--gt-dist D.fvecs]
 *          --index HNSW|IVF_FLAT|IVF_SQ8|IVF_PQ|FLAT [--M 16] [--efc 128] [--ef 32,64,128]
 *          [--nlist 1024] [--nprobe 16,64] [--m 16] [--nbits 8] [--k 10] [--batch 10]
 *          [--seconds 3] [--passes 5] [--simd] [--selector] [--allow A.ivecs] */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/index_factory_c.h>

#include "bench_vecs.h"
#include "quiver/faiss_extra.h"

#define MAX_VALUES 16

typedef struct opts {
    const char *base, *query, *gt, *gt_dist, *index, *allow;
    int M, efc, nlist, m, nbits, k, batch, passes;
    int values[MAX_VALUES]; /* ef or nprobe per measurement */
    size_t nvalues;
    double seconds;
    bool simd, selector;
} opts;

typedef struct measure {
    double qps, p50_ms, p99_ms, recall;
    size_t queries;
} measure;

static void usage(FILE *f)
{
    fprintf(f, "usage: faiss_baseline --base B.fvecs --query Q.fvecs --gt G.ivecs [--gt-dist D]\n"
               "       --index HNSW|IVF_FLAT|IVF_SQ8|IVF_PQ|FLAT [--M 16] [--efc 128]\n"
               "       [--ef 32,64,128] [--nlist 1024] [--nprobe 16,64] [--m 16] [--nbits 8]\n"
               "       [--k 10] [--batch 10] [--seconds 3] [--passes 5] [--simd] [--selector]\n"
               "       [--allow A.ivecs]\n");
}

static int parse_opts(int argc, char **argv, opts *o)
{
    const char *list = NULL;

    *o = (opts){.M = 16,
                .efc = 128,
                .nlist = 1024,
                .m = 16,
                .nbits = 8,
                .k = 10,
                .batch = 10,
                .passes = 5,
                .seconds = 3};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        int *num;

        if (!strcmp(k, "--simd")) {
            o->simd = true;
            continue;
        }
        if (!strcmp(k, "--selector")) {
            o->selector = true;
            continue;
        }
        i++; /* every other option takes a value */
        num = !strcmp(k, "--M")        ? &o->M
              : !strcmp(k, "--efc")    ? &o->efc
              : !strcmp(k, "--nlist")  ? &o->nlist
              : !strcmp(k, "--m")      ? &o->m
              : !strcmp(k, "--nbits")  ? &o->nbits
              : !strcmp(k, "--k")      ? &o->k
              : !strcmp(k, "--batch")  ? &o->batch
              : !strcmp(k, "--passes") ? &o->passes
                                       : NULL;
        if (num) {
            if ((*num = atoi(v)) <= 0)
                goto bad;
        } else if (!strcmp(k, "--base"))
            o->base = v;
        else if (!strcmp(k, "--query"))
            o->query = v;
        else if (!strcmp(k, "--gt"))
            o->gt = v;
        else if (!strcmp(k, "--gt-dist"))
            o->gt_dist = v;
        else if (!strcmp(k, "--index"))
            o->index = v;
        else if (!strcmp(k, "--allow")) {
            o->allow = v;
            o->selector = true;
        }
        else if (!strcmp(k, "--ef") || !strcmp(k, "--nprobe"))
            list = v;
        else if (!strcmp(k, "--seconds")) {
            if ((o->seconds = atof(v)) <= 0)
                goto bad;
        } else
            goto bad;
        continue;
    bad:
        fprintf(stderr, "faiss_baseline: bad option %s %s\n", k, v);
        return -1;
    }
    if (!o->base || !o->query || !o->gt || !o->index) {
        usage(stderr);
        return -1;
    }
    if (!list)
        list = !strcmp(o->index, "HNSW") ? "32,64,128" : "16";
    if (!(o->nvalues = bench_parse_ints(list, o->values, MAX_VALUES))) {
        fprintf(stderr, "faiss_baseline: bad --ef/--nprobe list %s\n", list);
        return -1;
    }
    if (!strcmp(o->index, "FLAT"))
        o->nvalues = 1; /* nothing to vary */
    return 0;
}

static int fail(const char *what)
{
    qv_error e = {0};
    qv_faiss_check(-1, what, &e);
    fprintf(stderr, "faiss_baseline: %s\n", e.msg);
    return -1;
}

/* Build the index over all of base; *secs covers construction, training and adds. */
static int build(const opts *o, const bench_vecs *base, FaissIndex **out, double *secs)
{
    char desc[64] = "";
    uint64_t t0 = bench_now_ns();
    FaissIndex *idx = NULL;
    qv_error e = {0};

    if (!strcmp(o->index, "HNSW")) {
        qv_faiss_hnsw_opts h = {.d = (int)base->d,
                                .M = o->M,
                                .metric = QV_DISTANCE_L2,
                                .ef_construction = o->efc,
                                .stock_storage = !o->simd};
        if (qv_faiss_hnsw_new(&h, &idx, &e) != QV_OK) {
            fprintf(stderr, "faiss_baseline: %s\n", e.msg);
            return -1;
        }
    } else {
        if (!strcmp(o->index, "FLAT"))
            snprintf(desc, sizeof desc, "Flat");
        else if (!strcmp(o->index, "IVF_FLAT"))
            snprintf(desc, sizeof desc, "IVF%d,Flat", o->nlist);
        else if (!strcmp(o->index, "IVF_SQ8"))
            snprintf(desc, sizeof desc, "IVF%d,SQ8", o->nlist);
        else if (!strcmp(o->index, "IVF_PQ"))
            snprintf(desc, sizeof desc, "IVF%d,PQ%dx%dnp", o->nlist, o->m, o->nbits);
        else {
            fprintf(stderr, "faiss_baseline: unknown index type %s\n", o->index);
            return -1;
        }
        if (faiss_index_factory(&idx, (int)base->d, desc, METRIC_L2) != 0)
            return fail(desc);
        if (!faiss_Index_is_trained(idx) && faiss_Index_train(idx, (idx_t)base->n, base->f) != 0) {
            faiss_Index_free(idx);
            return fail("train");
        }
    }
    if (faiss_Index_add(idx, (idx_t)base->n, base->f) != 0) {
        faiss_Index_free(idx);
        return fail("add");
    }
    *secs = (double)(bench_now_ns() - t0) / 1e9;
    *out = idx;
    return 0;
}

static int set_param(const opts *o, FaissIndex *idx, int v)
{
    qv_error e = {0};
    FaissParameterSpace *ps = NULL;
    int rc = 0;

    if (!strcmp(o->index, "HNSW")) {
        if (qv_faiss_hnsw_set_ef(idx, 0, v, &e) != QV_OK) {
            fprintf(stderr, "faiss_baseline: %s\n", e.msg);
            return -1;
        }
    } else if (strcmp(o->index, "FLAT") != 0) {
        if (faiss_ParameterSpace_new(&ps) != 0 ||
            faiss_ParameterSpace_set_index_parameter(ps, idx, "nprobe", v) != 0)
            rc = fail("nprobe");
        faiss_ParameterSpace_free(ps);
    }
    return rc;
}

/* One search call: plain, or the server's way through the selector with all rows allowed. */
static int search(const opts *o, FaissIndex *idx, const uint64_t *all, int n, const float *x,
                  float *dist, int64_t *ids)
{
    qv_faiss_search_opts so = {.allow = all, .allow_bits = (size_t)faiss_Index_ntotal(idx)};
    qv_error e = {0};

    if (!o->selector)
        return faiss_Index_search(idx, n, x, (idx_t)o->k, dist, ids);
    return qv_faiss_search_with_selector(idx, n, x, o->k, &so, dist, ids, &e) == QV_OK ? 0 : -1;
}

/* Calls of `batch` queries, cycling over the query set (its multiple of batch). */
static int run(const opts *o, FaissIndex *idx, const bench_truth *t, int batch, measure *m)
{
    size_t words = ((size_t)faiss_Index_ntotal(idx) + 63) / 64;
    uint64_t *all = malloc(words * sizeof *all + 1);
    size_t rounds = t->query->n / (size_t)batch, calls = 0, cap = rounds * (size_t)o->passes;
    size_t k = (size_t)o->k, hits = 0, scored = 0, d = t->query->d;
    double *lat = malloc(cap * sizeof *lat + 1), busy = 0;
    float *dist = malloc((size_t)batch * k * sizeof *dist);
    int64_t *ids = malloc((size_t)batch * k * sizeof *ids);
    int rc = -1;

    if (!lat || !dist || !ids || !all || !rounds)
        goto done;
    if (t->allow)
        memcpy(all, t->allow, words * sizeof *all);
    else
        memset(all, 0xff, words * sizeof *all);
    for (size_t w = 0; w < rounds && w < 20; w++) /* warm-up */
        if (search(o, idx, all, batch, t->query->f + w * batch * d, dist, ids) != 0)
            goto search_failed;
    while (calls < cap && (busy < o->seconds || calls < 1)) {
        size_t q0 = calls % rounds * (size_t)batch;
        uint64_t t0 = bench_now_ns();
        if (search(o, idx, all, batch, t->query->f + q0 * d, dist, ids) != 0)
            goto search_failed;
        lat[calls] = (double)(bench_now_ns() - t0) / 1e6;
        busy += lat[calls] / 1e3;
        if (calls++ < rounds) /* first pass: score */
            for (int q = 0; q < batch; q++, scored++)
                hits += bench_recall_hits(t, q0 + (size_t)q, ids + (size_t)q * k, k);
    }
    m->queries = calls * (size_t)batch;
    m->qps = (double)m->queries / busy;
    m->recall = scored ? (double)hits / (double)(scored * k) : 0;
    m->p50_ms = bench_percentile(lat, calls, 50);
    m->p99_ms = bench_percentile(lat, calls, 99);
    rc = 0;
    goto done;
search_failed:
    rc = fail("search");
done:
    free(all);
    free(lat);
    free(dist);
    free(ids);
    return rc;
}

int main(int argc, char **argv)
{
    opts o;
    bench_vecs base, query, gt, gtd = {0}, allow = {0};
    bench_truth t = {0};
    FaissIndex *idx = NULL;
    double build_s = 0;
    int rc = 1;

    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    qv_faiss_set_num_threads(1); /* omp_set_num_threads(1) on each FAISS-calling thread */
    qv_faiss_init();
    if (bench_vecs_read(o.base, 0, &base) || bench_vecs_read(o.query, 0, &query) ||
        bench_vecs_read(o.gt, 1, &gt) || (o.gt_dist && bench_vecs_read(o.gt_dist, 0, &gtd)) ||
        bench_truth_init(&t, &base, &query, &gt, o.gt_dist ? &gtd : NULL, (size_t)o.k) ||
        (o.allow && (bench_vecs_read(o.allow, 1, &allow) || bench_truth_set_allow(&t, &allow))))
        return 1;
    printf("faiss_baseline: %s n=%zu d=%zu nq=%zu threads=%d\n", o.index, base.n, base.d, query.n,
           qv_faiss_num_threads());
    fflush(stdout);
    if (build(&o, &base, &idx, &build_s) != 0)
        goto done;
    printf("build %.2f s\n", build_s);
    for (size_t i = 0; i < o.nvalues; i++) {
        const char *pname = !strcmp(o.index, "HNSW") ? "ef" : "nprobe";
        int batches[2] = {1, o.batch};
        if (set_param(&o, idx, o.values[i]) != 0)
            goto done;
        for (int b = 0; b < 2; b++) {
            measure m = {0};
            if (run(&o, idx, &t, batches[b], &m) != 0)
                goto done;
            printf("result: index=%s %s=%d nq=%d build_s=%.3f qps=%.1f p50_ms=%.4f p99_ms=%.4f "
                   "recall=%.4f queries=%zu\n",
                   o.index, !strcmp(o.index, "FLAT") ? "param" : pname,
                   !strcmp(o.index, "FLAT") ? 0 : o.values[i], batches[b], build_s, m.qps, m.p50_ms,
                   m.p99_ms, m.recall, m.queries);
            fflush(stdout);
        }
    }
    rc = 0;
done:
    faiss_Index_free(idx);
    bench_truth_fini(&t);
    bench_vecs_free(&base);
    bench_vecs_free(&query);
    bench_vecs_free(&gt);
    bench_vecs_free(&gtd);
    bench_vecs_free(&allow);
    return rc;
}
