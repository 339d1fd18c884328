/* SPDX-License-Identifier: Apache-2.0 */
/* index_int.h - shared inside src/index/: the sparse inverted index behind the
 * SPARSE_INVERTED_INDEX and SPARSE_WAND kinds of qv_index (sparse_index.c). */
#ifndef QUIVER_INDEX_INDEX_INT_H
#define QUIVER_INDEX_INDEX_INT_H

#include "quiver/buf.h"
#include "quiver/err.h"
#include "quiver/sparse.h"

typedef struct sparse_index sparse_index;

/* Empty index. bm25: values are term frequencies scored with BM25 (documents keep their
 * lengths), else inner product. drop_ratio_build drops that share of each document's
 * smallest values at add (Milvus's drop_ratio_build; BM25 lengths use the whole
 * document). */
qv_err sparse_index_new(bool bm25, float drop_ratio_build, sparse_index **out, qv_error *err);
/* Append n documents; their ids continue from sparse_index_rows. */
qv_err sparse_index_add(sparse_index *ix, const qv_sparse_vec *docs, size_t n, qv_error *err);
size_t sparse_index_rows(const sparse_index *ix);

typedef struct sparse_query {
    qv_sparse_vec q;            /* IP: the query; BM25: values are w(t) * idf(t) */
    const qv_bm25_params *bm25; /* BM25 only */
    size_t k;
    bool wand;                  /* block-max WAND, else term-at-a-time accumulation */
    const uint64_t *allow;      /* optional bitmap over the rows */
} sparse_query;

/* The k best documents sharing a term with the query, scores descending (ties by id),
 * id -1 and score -INFINITY past the hits found. Both algorithms are exact. */
qv_err sparse_index_search(const sparse_index *ix, const sparse_query *q, float *dist,
                           int64_t *ids, qv_error *err);
qv_err sparse_index_serialize(const sparse_index *ix, qv_buf *out, qv_error *err);
qv_err sparse_index_deserialize(const void *p, size_t len, sparse_index **out, qv_error *err);
void sparse_index_free(sparse_index *ix); /* NULL is a no-op */

#endif
