/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/index.h - ANN indexes over a block of vectors. Float vectors (FloatVector, and
 * Float16/BFloat16Vector widened to float32 by the caller) go through FAISS: HNSW on
 * Quiver's SIMD storage, IVF_FLAT / IVF_SQ8 / IVF_PQ trained on the block itself. Binary
 * vectors: BIN_IVF_FLAT through FAISS's IndexBinaryIVF (HAMMING or JACCARD). Sparse
 * vectors: SPARSE_INVERTED_INDEX and SPARSE_WAND, Quiver's own inverted index (IP or
 * BM25). Vector i of the block is id i. COSINE is IP over normalised vectors (the caller
 * passes raw vectors; normalisation happens here, on a copy). FLAT and BIN_FLAT build
 * nothing, and a block too small to train an IVF yields no index (*out NULL): the
 * caller searches those exactly. FAISS runs one thread per call (parallelism comes
 * from concurrent requests). */
#ifndef QUIVER_INDEX_H
#define QUIVER_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/buf.h"
#include "quiver/err.h"
#include "quiver/schema.h"
#include "quiver/sparse.h"

typedef struct qv_index qv_index;

typedef enum qv_index_kind { /* persisted in index files: never renumber */
    QV_INDEX_FLAT = 0,
    QV_INDEX_HNSW = 1,
    QV_INDEX_IVF_FLAT = 2,
    QV_INDEX_IVF_SQ8 = 3,
    QV_INDEX_IVF_PQ = 4,
    QV_INDEX_BIN_FLAT = 5,
    QV_INDEX_BIN_IVF_FLAT = 6,
    QV_INDEX_SPARSE_INVERTED = 7,
    QV_INDEX_SPARSE_WAND = 8,
} qv_index_kind;

typedef struct qv_index_spec {
    qv_index_kind kind;
    bool cosine;   /* normalise vectors and queries; metric IP */
    bool l2;       /* else inner product */
    bool jaccard;  /* binary kinds: JACCARD, else HAMMING */
    bool bm25;     /* sparse kinds: BM25 over term frequencies, else IP */
    uint32_t dim;  /* dense: dimension; binary: bits; sparse: 0 */
    int M, ef_construction;  /* HNSW */
    int nlist, pq_m, pq_nbits; /* IVF, BIN_IVF_FLAT */
    float drop_ratio_build;  /* sparse kinds */
    float bm25_k1, bm25_b;   /* sparse kinds with BM25 */
} qv_index_spec;

/* The family of vectors a kind indexes. */
static inline bool qv_index_kind_binary(qv_index_kind k)
{
    return k == QV_INDEX_BIN_FLAT || k == QV_INDEX_BIN_IVF_FLAT;
}
static inline bool qv_index_kind_sparse(qv_index_kind k)
{
    return k == QV_INDEX_SPARSE_INVERTED || k == QV_INDEX_SPARSE_WAND;
}

/* Fill spec from Milvus names and params ("HNSW", "COSINE", {"M":"16",...}) for a field of
 * type vtype; AUTOINDEX is HNSW M=16 efConstruction=128 on float vectors, BIN_IVF_FLAT on
 * binary ones and SPARSE_INVERTED_INDEX on sparse ones. QV_EINVAL names what is wrong
 * (an index or metric that does not fit the vector type included). */
qv_err qv_index_spec_parse(const char *type, const char *metric, const qv_kvlist *params,
                           qv_type vtype, uint32_t dim, qv_index_spec *out, qv_error *err);

/* Build over n vectors (ids 0..n-1): float kinds take n x dim float32, binary kinds n x
 * dim/8 bytes, sparse kinds an array of n qv_sparse_vec. *out is NULL for FLAT, BIN_FLAT
 * or a block too small to train. */
qv_err qv_index_build(const qv_index_spec *spec, const void *vecs, size_t n, qv_index **out,
                      qv_error *err);
/* A deep copy (through FAISS's own format, which keeps the index type). */
qv_err qv_index_clone(const qv_index *ix, qv_index **out, qv_error *err);
/* Append n vectors (laid out as for qv_index_build); their ids continue from
 * qv_index_rows(ix). */
qv_err qv_index_add(qv_index *ix, const void *vecs, size_t n, qv_error *err);
size_t qv_index_rows(const qv_index *ix);
const qv_index_spec *qv_index_get_spec(const qv_index *ix);

typedef struct qv_index_query {
    const float *queries; /* float kinds: nq x dim, raw (normalised here for COSINE) */
    const uint8_t *bqueries;        /* binary kinds: nq x dim/8 bytes */
    const qv_sparse_vec *squeries;  /* sparse kinds: nq vectors (BM25: w(t) * idf(t)) */
    const qv_bm25_params *bm25;     /* sparse BM25: k1, b and the average length */
    size_t nq, k;
    int ef;               /* HNSW efSearch; 0 = max(64, k) */
    size_t nprobe;        /* IVF; 0 = 16 */
    const uint64_t *allow; /* ids allowed (bitmap over qv_index_rows bits), NULL = all */
} qv_index_query;

/* nq x k results: distances as Milvus reports them (L2 squared, IP, cosine, Hamming,
 * Jaccard distance, BM25 score) and ids (-1 where fewer than k were found). Sparse kinds
 * return only rows sharing a dimension with the query. */
qv_err qv_index_search(const qv_index *ix, const qv_index_query *q, float *dist, int64_t *ids,
                       qv_error *err);

/* Our header (kind, metric flags, dim, rows), then FAISS's own format (float kinds),
 * FAISS's binary format (BIN_IVF_FLAT) or the sparse index's (sparse_index.c); checked
 * on read. */
qv_err qv_index_serialize(const qv_index *ix, qv_buf *out, qv_error *err);
qv_err qv_index_deserialize(const void *p, size_t len, qv_index **out, qv_error *err);
void qv_index_free(qv_index *ix); /* NULL is a no-op */

#endif
