/* SPDX-License-Identifier: Apache-2.0 */
/* store_vecs.h - per-vector-type helpers of the builder (store_index.c) and the search
 * (store_search.c), implemented in store_vecs.c. */
#ifndef QUIVER_STORE_VECS_H
#define QUIVER_STORE_VECS_H

#include "db/store_int.h"

/* The vectors of a shard's rows [first, n) of vector field f (schema index field), copied
 * in the layout qv_index_build takes: float32 (FloatVector; Float16 and BFloat16
 * widened), dim/8 bytes (BinaryVector), or views into a copy of the rows
 * (SparseFloatVector). Read lock held by the caller. */
typedef struct store_vecs {
    void *data;
    qv_sparse_vec *sparse;
} store_vecs;
qv_err store_copy_vectors(const shard *sh, const qv_field *f, size_t field, size_t first,
                          size_t n, store_vecs *out, qv_error *err);
const void *store_vecs_ptr(const store_vecs *v);
void store_vecs_fini(store_vecs *v);

/* A search's queries as the kernels and indexes take them, prepared once per search with
 * the shards read-locked: sparse queries without their drop_ratio_search share, BM25
 * query values weighted by idf (from o->bm25, or from the shards searched). */
typedef struct store_query {
    const qv_search_opts *o;
    const qv_field *f;
    qv_sparse_vec *vecs; /* sparse: nq prepared queries */
    uint32_t *idx;
    float *val;
    qv_bm25_params bm25;
    bool empty; /* BM25 over no documents: nothing can be found */
} store_query;

qv_err store_query_prepare(const qv_coll_data *c, const qv_search_opts *o, store_query *sq,
                           qv_error *err);
void store_query_fini(store_query *sq);
/* The index query of a prepared search (k hits, allow bitmap). */
void store_query_index(const store_query *sq, size_t k, const uint64_t *allow,
                       qv_index_query *out);
/* Distances of query q to rows [first, first + n) of col, as Milvus reports them; NaN for
 * a sparse row sharing no dimension with the query (not a hit). */
void store_score_rows(const store_query *sq, const qv_colbuf *col, size_t first, size_t n,
                      size_t q, float *dist);

#endif
