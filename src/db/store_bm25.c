/* SPDX-License-Identifier: Apache-2.0 */
/* store_bm25.c - BM25 statistics of the live rows, per shard and BM25 output field: the
 * number of documents, their total length (the sum of their term frequencies) and, per
 * term, how many documents hold it. They change exactly where a row becomes live or dies
 * (store_write.c), and compaction and open rebuild them with the key map, so they always
 * describe the rows a search can see, across segments, deletes, upserts and compaction.
 * A search sums them over the shards it reads (qv_coll_bm25_stats); a cluster
 * coordinator sums those of every shard once and sends the total along with the query.
 * Term counts sit in an open-addressing table (terms never leave it; a count may drop
 * to zero); a slot holds count + 1, so 0 marks an empty slot. */
#include <string.h>

#include "db/store_int.h"
#include "quiver/alloc.h"

typedef struct bm25_field {
    size_t field;
    uint64_t docs, tokens;
    uint32_t *terms;
    uint32_t *slots; /* count + 1; 0 = empty */
    size_t cap, used;
} bm25_field;

struct store_bm25 {
    bm25_field f[QV_MAX_VECTOR_FIELDS];
    size_t n;
};

static size_t slot_of(uint32_t term, size_t cap)
{
    return (size_t)((term * 0x9e3779b1u) ^ (term >> 16)) & (cap - 1);
}

static size_t find(const bm25_field *f, uint32_t term)
{
    size_t i = slot_of(term, f->cap);

    while (f->slots[i] && f->terms[i] != term)
        i = (i + 1) & (f->cap - 1);
    return i;
}

static bool grow(bm25_field *f)
{
    bm25_field g = {.cap = f->cap ? f->cap * 2 : 256, .used = f->used};

    if (!(g.terms = qv_calloc(g.cap, sizeof *g.terms)) ||
        !(g.slots = qv_calloc(g.cap, sizeof *g.slots))) {
        qv_free(g.terms);
        return false;
    }
    for (size_t i = 0; i < f->cap; i++) {
        if (!f->slots[i])
            continue;
        size_t j = find(&g, f->terms[i]);
        g.terms[j] = f->terms[i];
        g.slots[j] = f->slots[i];
    }
    qv_free(f->terms);
    qv_free(f->slots);
    f->terms = g.terms;
    f->slots = g.slots;
    f->cap = g.cap;
    return true;
}

static void count_terms(bm25_field *f, qv_sparse_vec v, int sign)
{
    for (size_t t = 0; t < v.nnz; t++) {
        size_t i;
        if ((f->used + 1) * 2 > f->cap && !grow(f))
            return; /* out of memory: this document's rarer terms go uncounted */
        i = find(f, v.idx[t]);
        if (!f->slots[i]) {
            f->terms[i] = v.idx[t];
            f->slots[i] = 1;
            f->used++;
        }
        if (sign > 0)
            f->slots[i]++;
        else if (f->slots[i] > 1)
            f->slots[i]--;
    }
}

static bm25_field *field_stats(shard *sh, size_t field)
{
    struct store_bm25 *b = sh->bm25;

    if (!b && !(b = sh->bm25 = qv_calloc(1, sizeof *b)))
        return NULL;
    for (size_t i = 0; i < b->n; i++)
        if (b->f[i].field == field)
            return &b->f[i];
    if (b->n == QV_MAX_VECTOR_FIELDS)
        return NULL;
    b->f[b->n].field = field;
    return &b->f[b->n++];
}

void store_bm25_row(const qv_coll_data *c, shard *sh, size_t row, int sign)
{
    for (size_t i = 0; i < c->schema.function_count; i++) {
        const qv_function *fn = &c->schema.functions[i];
        const qv_field *out;
        const qv_colbuf *col;
        bm25_field *f;
        size_t field, n;
        const uint8_t *p;
        qv_sparse_vec v;
        if (fn->type != QV_FUNCTION_BM25 || !(out = qv_schema_field(&c->schema, fn->outputs[0])))
            continue;
        field = (size_t)(out - c->schema.fields);
        col = &sh->rows.cols[field];
        if (row >= col->rows || !(f = field_stats(sh, field)))
            continue;
        p = qv_colbuf_var(col, row, &n);
        v = qv_sparse_view(p, n);
        f->docs += (uint64_t)(int64_t)sign;
        f->tokens += (uint64_t)(int64_t)sign * (uint64_t)(qv_sparse_sum(v) + 0.5f);
        count_terms(f, v, sign);
    }
}

void store_bm25_reset(shard *sh)
{
    store_bm25_free(sh);
}

void store_bm25_free(shard *sh)
{
    if (!sh->bm25)
        return;
    for (size_t i = 0; i < sh->bm25->n; i++) {
        qv_free(sh->bm25->f[i].terms);
        qv_free(sh->bm25->f[i].slots);
    }
    qv_free(sh->bm25);
    sh->bm25 = NULL;
}

void store_bm25_add_stats(const shard *sh, size_t field, const qv_sparse_vec *queries, size_t nq,
                          qv_bm25_stats *st)
{
    const bm25_field *f = NULL;

    for (size_t i = 0; sh->bm25 && i < sh->bm25->n; i++)
        if (sh->bm25->f[i].field == field)
            f = &sh->bm25->f[i];
    if (!f)
        return;
    st->docs += f->docs;
    st->tokens += f->tokens;
    for (size_t q = 0, t = 0; q < nq && f->cap; q++) {
        for (size_t j = 0; j < queries[q].nnz && t < st->nterms; j++, t++) {
            size_t k = find(f, queries[q].idx[j]);
            if (f->slots[k])
                st->df[t] += f->slots[k] - 1;
        }
    }
}

qv_err qv_coll_bm25_stats(qv_coll_data *c, size_t field, uint64_t shard_mask,
                          const qv_sparse_vec *queries, size_t nq, qv_bm25_stats *out,
                          qv_error *err)
{
    size_t nterms = 0;

    memset(out, 0, sizeof *out);
    for (size_t q = 0; q < nq; q++)
        nterms += queries[q].nnz;
    if (!(out->df = qv_calloc(nterms ? nterms : 1, sizeof *out->df)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    out->nterms = nterms;
    for (size_t si = 0; si < c->nshards; si++) {
        if (shard_mask && !(shard_mask >> si & 1))
            continue;
        pthread_rwlock_rdlock(&c->shards[si].lock);
        store_bm25_add_stats(&c->shards[si], field, queries, nq, out);
        pthread_rwlock_unlock(&c->shards[si].lock);
    }
    return QV_OK;
}

void qv_bm25_stats_fini(qv_bm25_stats *s)
{
    if (!s)
        return;
    qv_free(s->df);
    memset(s, 0, sizeof *s);
}
