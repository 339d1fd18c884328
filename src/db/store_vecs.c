/* SPDX-License-Identifier: Apache-2.0 */
/* store_vecs.c - what the search and the index builder need to know about each vector
 * type: copying a segment's vectors in the layout qv_index_build takes, preparing a
 * search's queries once (sparse drop_ratio_search; BM25 idf weights from the statistics
 * of the rows searched, or the cluster's), and exact distances of one query to a window
 * of rows through the SIMD kernels (float32, float16/bfloat16 widened in the kernels,
 * popcount for binary) or sparse merges. */
#include <math.h>
#include <string.h>

#include "db/store_vecs.h"
#include "quiver/alloc.h"
#include "quiver/distance.h"

/* ---- copies for the index builder ------------------------------------------------------ */

static qv_err copy_sparse(const qv_colbuf *col, size_t first, size_t n, store_vecs *out,
                          qv_error *err)
{
    uint64_t base = col->offsets[first], bytes = col->offsets[n] - base;
    uint8_t *data = qv_malloc(bytes + 8);

    out->data = data;
    if (!data || !(out->sparse = qv_calloc(n - first + 1, sizeof *out->sparse)))
        return qv_error_set(err, QV_ENOMEM, "out of memory copying vectors");
    if (bytes)
        memcpy(data, col->data.data + base, bytes);
    for (size_t r = first; r < n; r++)
        out->sparse[r - first] = qv_sparse_view(data + (col->offsets[r] - base),
                                                col->offsets[r + 1] - col->offsets[r]);
    return QV_OK;
}

qv_err store_copy_vectors(const shard *sh, const qv_field *f, size_t field, size_t first,
                          size_t n, store_vecs *out, qv_error *err)
{
    const qv_colbuf *col = &sh->rows.cols[field];
    const qv_distance_kernels *k = qv_distance_kernels_active();
    size_t rows = n - first, width = col->width;

    memset(out, 0, sizeof *out);
    if (f->type == QV_TYPE_SPARSE_FLOAT_VECTOR)
        return copy_sparse(col, first, n, out, err);
    if (f->type == QV_TYPE_FLOAT16_VECTOR || f->type == QV_TYPE_BFLOAT16_VECTOR) {
        /* FAISS indexes float32: HNSW over half-precision rows holds a widened copy */
        float *v = qv_malloc(rows * f->dim * sizeof *v + 1);
        const uint16_t *src = (const uint16_t *)(col->data.data + first * width);
        if (!(out->data = v))
            return qv_error_set(err, QV_ENOMEM, "out of memory copying vectors");
        (f->type == QV_TYPE_FLOAT16_VECTOR ? k->f16_to_f32 : k->bf16_to_f32)(src, rows * f->dim,
                                                                            v);
        return QV_OK;
    }
    if (!(out->data = qv_malloc(rows * width + 1)))
        return qv_error_set(err, QV_ENOMEM, "out of memory copying vectors");
    if (rows)
        memcpy(out->data, col->data.data + first * width, rows * width);
    return QV_OK;
}

const void *store_vecs_ptr(const store_vecs *v)
{
    return v->sparse ? (const void *)v->sparse : v->data;
}

void store_vecs_fini(store_vecs *v)
{
    qv_free(v->data);
    qv_free(v->sparse);
    memset(v, 0, sizeof *v);
}

/* ---- queries ---------------------------------------------------------------------------- */

/* Sum the BM25 statistics of the shards searched (their read locks held). */
static void local_stats(const qv_coll_data *c, const qv_search_opts *o, qv_bm25_stats *st)
{
    for (size_t si = 0; si < c->nshards; si++)
        if (!o->shard_mask || (o->shard_mask >> si & 1))
            store_bm25_add_stats(&c->shards[si], o->field, o->squeries, o->nq, st);
}

/* BM25: the query's term counts times their idf, and the corpus's average length. */
static qv_err prepare_bm25(const qv_coll_data *c, const qv_search_opts *o, store_query *sq,
                           qv_error *err)
{
    qv_bm25_stats local = {0};
    const qv_bm25_stats *st = o->bm25;
    size_t t = 0;

    sq->bm25 = (qv_bm25_params){1.2f, 0.75f, 1};
    for (size_t k = 0; k < QV_MAX_VECTOR_FIELDS; k++) {
        if (c->slots[k].used && c->slots[k].field == o->field && c->slots[k].spec.bm25) {
            sq->bm25.k1 = c->slots[k].spec.bm25_k1;
            sq->bm25.b = c->slots[k].spec.bm25_b;
        }
    }
    if (!st) {
        size_t nterms = 0;
        for (size_t q = 0; q < o->nq; q++)
            nterms += o->squeries[q].nnz;
        if (!(local.df = qv_calloc(nterms + 1, sizeof *local.df)))
            return qv_error_set(err, QV_ENOMEM, "out of memory");
        local.nterms = nterms;
        local_stats(c, o, &local);
        st = &local;
    }
    sq->empty = st->docs == 0 || st->tokens == 0;
    if (!sq->empty)
        sq->bm25.avgdl = (float)((double)st->tokens / (double)st->docs);
    for (size_t q = 0; q < o->nq; q++)
        for (size_t j = 0; j < o->squeries[q].nnz; j++, t++)
            sq->val[t] = sq->val[t] * qv_bm25_idf(st->docs, t < st->nterms ? st->df[t] : 0);
    qv_free(local.df);
    return QV_OK;
}

qv_err store_query_prepare(const qv_coll_data *c, const qv_search_opts *o, store_query *sq,
                           qv_error *err)
{
    size_t nterms = 0, at = 0;

    memset(sq, 0, sizeof *sq);
    sq->o = o;
    sq->f = &c->schema.fields[o->field];
    if (sq->f->type != QV_TYPE_SPARSE_FLOAT_VECTOR)
        return QV_OK;
    for (size_t q = 0; q < o->nq; q++)
        nterms += o->squeries[q].nnz;
    if (!(sq->vecs = qv_calloc(o->nq + 1, sizeof *sq->vecs)) ||
        !(sq->idx = qv_malloc((nterms + 1) * sizeof *sq->idx)) ||
        !(sq->val = qv_malloc((nterms + 1) * sizeof *sq->val)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t q = 0; q < o->nq; q++) { /* copied whole: BM25 weights line up with df */
        if (!o->squeries[q].nnz)
            continue;
        memcpy(sq->idx + at, o->squeries[q].idx, o->squeries[q].nnz * sizeof *sq->idx);
        memcpy(sq->val + at, o->squeries[q].val, o->squeries[q].nnz * sizeof *sq->val);
        at += o->squeries[q].nnz;
    }
    if (o->metric == QV_METRIC_BM25) {
        qv_err rc = prepare_bm25(c, o, sq, err);
        if (rc != QV_OK)
            return rc;
    }
    at = 0;
    for (size_t q = 0; q < o->nq; q++) {
        qv_sparse_vec v = {sq->idx + at, sq->val + at, o->squeries[q].nnz};
        /* in place: the kept entries never overtake the ones still to read */
        sq->vecs[q] = (qv_sparse_vec){v.idx, v.val,
                                      qv_sparse_drop_small(v, o->drop_ratio, sq->idx + at,
                                                           sq->val + at)};
        at += o->squeries[q].nnz;
    }
    return QV_OK;
}

void store_query_fini(store_query *sq)
{
    qv_free(sq->vecs);
    qv_free(sq->idx);
    qv_free(sq->val);
    memset(sq, 0, sizeof *sq);
}

void store_query_index(const store_query *sq, size_t k, const uint64_t *allow,
                       qv_index_query *out)
{
    const qv_search_opts *o = sq->o;

    *out = (qv_index_query){.queries = o->queries, .bqueries = o->bqueries,
                            .squeries = sq->vecs, .bm25 = &sq->bm25, .nq = o->nq, .k = k,
                            .ef = o->ef, .nprobe = o->nprobe, .allow = allow};
}

/* ---- exact distances -------------------------------------------------------------------- */

static void score_dense(const store_query *sq, const qv_colbuf *col, size_t first, size_t n,
                        size_t q, float *dist)
{
    const qv_distance_kernels *k = qv_distance_kernels_active();
    const qv_search_opts *o = sq->o;
    size_t dim = sq->f->dim;
    const float *query = o->queries + q * dim;
    const uint8_t *base = col->data.data + first * col->width;
    bool f16 = sq->f->type == QV_TYPE_FLOAT16_VECTOR, bf16 = sq->f->type == QV_TYPE_BFLOAT16_VECTOR;
    const uint16_t *half = (const uint16_t *)base;

    if (o->metric == QV_METRIC_L2)
        f16    ? k->l2sq_f16_batch(query, half, n, dim, dist)
        : bf16 ? k->l2sq_bf16_batch(query, half, n, dim, dist)
               : k->l2sq_batch(query, (const float *)base, n, dim, dist);
    else
        f16    ? k->ip_f16_batch(query, half, n, dim, dist)
        : bf16 ? k->ip_bf16_batch(query, half, n, dim, dist)
               : k->ip_batch(query, (const float *)base, n, dim, dist);
    if (o->metric != QV_METRIC_COSINE)
        return;
    for (size_t i = 0; i < n; i++) { /* queries arrive normalised */
        float nsq = f16    ? k->norm_sq_f16(half + i * dim, dim)
                    : bf16 ? k->norm_sq_bf16(half + i * dim, dim)
                           : k->norm_sq((const float *)base + i * dim, dim);
        dist[i] = nsq > 0 ? dist[i] / sqrtf(nsq) : 0;
    }
}

void store_score_rows(const store_query *sq, const qv_colbuf *col, size_t first, size_t n,
                      size_t q, float *dist)
{
    const qv_search_opts *o = sq->o;

    if (sq->f->type == QV_TYPE_BINARY_VECTOR) {
        const qv_distance_kernels *k = qv_distance_kernels_active();
        const uint8_t *query = o->bqueries + q * col->width;
        (o->metric == QV_METRIC_JACCARD ? k->jaccard_batch : k->hamming_batch)(
            query, col->data.data + first * col->width, n, col->width, dist);
    } else if (sq->f->type == QV_TYPE_SPARSE_FLOAT_VECTOR) {
        for (size_t i = 0; i < n; i++) {
            size_t len;
            const uint8_t *p = qv_colbuf_var(col, first + i, &len);
            qv_sparse_vec d = qv_sparse_view(p, len);
            bool shared;
            float s = o->metric == QV_METRIC_BM25
                          ? (sq->empty ? 0 : qv_sparse_bm25(sq->vecs[q], d, &sq->bm25, &shared))
                          : qv_sparse_dot(sq->vecs[q], d, &shared);
            dist[i] = shared && !sq->empty ? s : NAN;
        }
    } else {
        score_dense(sq, col, first, n, q, dist);
    }
}
