/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/sparse.h - SparseFloatVector values: their stored form, checks, and the exact
 * scores (inner product, BM25) brute-force search and the sparse indexes share.
 *
 * STORED FORM (a row of a SparseFloatVector column; part of the row batch encoding, so
 * of WAL records and segment files): nnz little-endian u32 indices, strictly ascending,
 * each below QV_SPARSE_MAX_INDEX, then nnz little-endian float32 values, finite; 8*nnz
 * bytes (0 bytes: the empty vector). Row batches keep these rows 4-byte aligned (every
 * row is a multiple of 8 bytes and column buffers are malloc'd), so a view points into
 * them directly.
 *
 * BM25 (Robertson/Sparck Jones, as Lucene and Milvus): a document's vector holds its
 * term frequencies (the BM25 function's output) and its length dl is their sum; with N
 * documents of average length avgdl and df(t) of them holding t,
 *   idf(t)   = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
 *   score    = sum over query terms t of  w(t) * idf(t) * tf*(k1+1) / (tf + k1*(1-b+b*dl/avgdl))
 * where w(t) is how often t occurs in the query text. Callers fold w(t) * idf(t) into
 * the query vector's values, so qv_sparse_bm25 needs only k1, b and avgdl. */
#ifndef QUIVER_SPARSE_H
#define QUIVER_SPARSE_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QV_SPARSE_MAX_INDEX 4294967295u /* indices are in [0, 2^32 - 1) (Milvus) */
#define QV_SPARSE_MAX_NNZ (1u << 24)

typedef struct qv_sparse_vec {
    const uint32_t *idx; /* nnz indices, strictly ascending */
    const float *val;    /* nnz values */
    size_t nnz;
} qv_sparse_vec;

/* The vector stored in bytes [p, p + n) (n a multiple of 8, p 4-byte aligned). */
static inline qv_sparse_vec qv_sparse_view(const void *p, size_t n)
{
    qv_sparse_vec v = {(const uint32_t *)p, (const float *)p, n / 8};
    if (n) /* p may be NULL for the empty vector */
        v.val = (const float *)((const uint8_t *)p + n / 2);
    return v;
}

/* Whether [p, p + n) is a valid stored vector (length, order, range, finite values). */
static inline bool qv_sparse_row_valid(const void *p, size_t n)
{
    const uint8_t *b = (const uint8_t *)p;
    uint32_t prev = 0, x;
    float f;

    if (n % 8 || n / 8 > QV_SPARSE_MAX_NNZ)
        return false;
    for (size_t i = 0; i < n / 8; i++) {
        memcpy(&x, b + 4 * i, 4);
        memcpy(&f, b + n / 2 + 4 * i, 4);
        if ((i && x <= prev) || x == QV_SPARSE_MAX_INDEX || !isfinite(f))
            return false;
        prev = x;
    }
    return true;
}

typedef struct qv_bm25_params {
    float k1, b;  /* Milvus's bm25_k1 (1.2) and bm25_b (0.75) */
    float avgdl;  /* average document length (> 0) */
} qv_bm25_params;

/* The BM25 idf of a term held by df of n documents (formula above). */
static inline float qv_bm25_idf(uint64_t n, uint64_t df)
{
    return (float)log(1.0 + ((double)n - (double)df + 0.5) / ((double)df + 0.5));
}

/* One term's saturated frequency: tf*(k1+1) / (tf + k1*(1-b+b*dl/avgdl)). */
static inline float qv_bm25_tf(const qv_bm25_params *p, float tf, float dl)
{
    return tf * (p->k1 + 1) / (tf + p->k1 * (1 - p->b + p->b * dl / p->avgdl));
}

/* Sum of a vector's values (a BM25 document's length). */
float qv_sparse_sum(qv_sparse_vec v);
/* Inner product (a merge over both index lists); *shared (may be NULL) tells whether the
 * two have an index in common (search only returns rows that do). */
float qv_sparse_dot(qv_sparse_vec a, qv_sparse_vec b, bool *shared);
/* BM25 score of document d for a query q whose values are w(t) * idf(t). */
float qv_sparse_bm25(qv_sparse_vec q, qv_sparse_vec d, const qv_bm25_params *p, bool *shared);
/* Milvus's drop_ratio: copy v without its floor(nnz * ratio) values of smallest magnitude
 * into idx/val (nnz entries of room; may be v's own arrays), keeping index order; returns
 * the kept count. */
size_t qv_sparse_drop_small(qv_sparse_vec v, float ratio, uint32_t *idx, float *val);

#ifdef __cplusplus
}
#endif

#endif
