/* SPDX-License-Identifier: Apache-2.0 */
/* sparse.c - exact scores of sparse vectors (quiver/sparse.h): merges of two ascending
 * index lists, galloping through the longer one when the other is much shorter (a short
 * query against a long document). */
#include "quiver/sparse.h"

#include <stdlib.h>

#include "quiver/alloc.h"

float qv_sparse_sum(qv_sparse_vec v)
{
    float s = 0;
    for (size_t i = 0; i < v.nnz; i++)
        s += v.val[i];
    return s;
}

/* First position >= from in idx[0, n) whose index is >= key (exponential then binary). */
static size_t seek(const uint32_t *idx, size_t n, size_t from, uint32_t key)
{
    size_t step = 1, lo = from, hi;

    while (lo + step < n && idx[lo + step] < key) {
        lo += step;
        step *= 2;
    }
    hi = lo + step < n ? lo + step : n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (idx[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Merge: body runs for each common index with av, bv the two values; sets *shared. */
#define MERGE(a, b, shared, body)                                                           \
    do {                                                                                    \
        size_t i = 0, j = 0;                                                                \
        bool any_ = false;                                                                  \
        bool gallop = (a).nnz * 8 < (b).nnz;                                                \
        while (i < (a).nnz && j < (b).nnz) {                                                \
            uint32_t x = (a).idx[i], y = (b).idx[j];                                        \
            if (x == y) {                                                                   \
                float av = (a).val[i++], bv = (b).val[j++];                                 \
                any_ = true;                                                                \
                body;                                                                       \
            } else if (x < y) {                                                             \
                i++;                                                                        \
            } else {                                                                        \
                j = gallop ? seek((b).idx, (b).nnz, j, x) : j + 1;                          \
            }                                                                               \
        }                                                                                   \
        if (shared)                                                                         \
            *(shared) = any_;                                                               \
    } while (0)

float qv_sparse_dot(qv_sparse_vec a, qv_sparse_vec b, bool *shared)
{
    float s = 0;
    MERGE(a, b, shared, s += av * bv);
    return s;
}

float qv_sparse_bm25(qv_sparse_vec q, qv_sparse_vec d, const qv_bm25_params *p, bool *shared)
{
    float s = 0, dl = qv_sparse_sum(d);
    MERGE(q, d, shared, s += av * qv_bm25_tf(p, bv, dl));
    return s;
}

static int cmp_abs_desc(const void *pa, const void *pb)
{
    float a = fabsf(*(const float *)pa), b = fabsf(*(const float *)pb);
    return a < b ? 1 : a > b ? -1 : 0;
}

size_t qv_sparse_drop_small(qv_sparse_vec v, float ratio, uint32_t *idx, float *val)
{
    size_t drop = ratio > 0 ? (size_t)((double)v.nnz * ratio) : 0, keep = v.nnz - drop, m = 0;
    float cut = 0, *sorted;
    size_t at_cut = 0;

    if (drop == 0 || !(sorted = qv_malloc(v.nnz * sizeof *sorted))) {
        if (v.nnz) { /* may be in place */
            memmove(idx, v.idx, v.nnz * sizeof *idx);
            memmove(val, v.val, v.nnz * sizeof *val);
        }
        return v.nnz;
    }
    if (keep == 0) {
        qv_free(sorted);
        return 0;
    }
    memcpy(sorted, v.val, v.nnz * sizeof *sorted);
    qsort(sorted, v.nnz, sizeof *sorted, cmp_abs_desc);
    cut = fabsf(sorted[keep - 1]); /* the smallest magnitude kept */
    for (size_t i = 0; i < keep; i++)
        at_cut += fabsf(sorted[i]) == cut;
    qv_free(sorted);
    /* keep every value above the cut, and the first at_cut values equal to it */
    for (size_t i = 0; i < v.nnz; i++) {
        float a = fabsf(v.val[i]);
        if (a > cut || (a == cut && at_cut && at_cut--)) {
            idx[m] = v.idx[i];
            val[m++] = v.val[i];
        }
    }
    return m;
}
