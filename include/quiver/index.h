/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/index.h - ANN indexes over a block of float vectors, through FAISS: HNSW on
 * Quiver's SIMD storage, IVF_FLAT / IVF_SQ8 / IVF_PQ trained on the block itself.
 * Vector i of the block is id i. COSINE is IP over normalised vectors (the caller
 * passes raw vectors; normalisation happens here, on a copy). A block too small to
 * train an IVF yields no index (*out NULL): the caller searches it exactly. FAISS runs
 * one thread per call (parallelism comes from concurrent requests). */
#ifndef QUIVER_INDEX_H
#define QUIVER_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/buf.h"
#include "quiver/err.h"
#include "quiver/schema.h"

typedef struct qv_index qv_index;

typedef enum qv_index_kind {
    QV_INDEX_FLAT,
    QV_INDEX_HNSW,
    QV_INDEX_IVF_FLAT,
    QV_INDEX_IVF_SQ8,
    QV_INDEX_IVF_PQ,
} qv_index_kind;

typedef struct qv_index_spec {
    qv_index_kind kind;
    bool cosine;   /* normalise vectors and queries; metric IP */
    bool l2;       /* else inner product */
    uint32_t dim;
    int M, ef_construction;  /* HNSW */
    int nlist, pq_m, pq_nbits; /* IVF */
} qv_index_spec;

/* Fill spec from Milvus names and params ("HNSW", "COSINE", {"M":"16",...}); AUTOINDEX is
 * HNSW M=16 efConstruction=128. QV_EINVAL names what is wrong. */
qv_err qv_index_spec_parse(const char *type, const char *metric, const qv_kvlist *params,
                           uint32_t dim, qv_index_spec *out, qv_error *err);

/* Build over n vectors (ids 0..n-1). *out is NULL for FLAT or a block too small to train. */
qv_err qv_index_build(const qv_index_spec *spec, const float *vecs, size_t n, qv_index **out,
                      qv_error *err);
/* A deep copy (through FAISS's own format, which keeps the index type). */
qv_err qv_index_clone(const qv_index *ix, qv_index **out, qv_error *err);
/* Append n vectors; their ids continue from qv_index_rows(ix). */
qv_err qv_index_add(qv_index *ix, const float *vecs, size_t n, qv_error *err);
size_t qv_index_rows(const qv_index *ix);
const qv_index_spec *qv_index_get_spec(const qv_index *ix);

typedef struct qv_index_query {
    const float *queries; /* nq x dim, raw (normalised here for COSINE) */
    size_t nq, k;
    int ef;               /* HNSW efSearch; 0 = max(64, k) */
    size_t nprobe;        /* IVF; 0 = 16 */
    const uint64_t *allow; /* ids allowed (bitmap over qv_index_rows bits), NULL = all */
} qv_index_query;

/* nq x k results: distances as Milvus reports them (L2 squared, IP, cosine) and ids
 * (-1 where fewer than k were found). */
qv_err qv_index_search(const qv_index *ix, const qv_index_query *q, float *dist, int64_t *ids,
                       qv_error *err);

/* FAISS's own format with our header (kind, cosine, rows); checked on read. */
qv_err qv_index_serialize(const qv_index *ix, qv_buf *out, qv_error *err);
qv_err qv_index_deserialize(const void *p, size_t len, qv_index **out, qv_error *err);
void qv_index_free(qv_index *ix); /* NULL is a no-op */

#endif
