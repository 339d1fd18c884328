/* SPDX-License-Identifier: Apache-2.0 */
/* dist_msg.c - encoding and decoding of the peer protocol's binary bodies (dist_msg.h). */
#include <string.h>

#include "api/dist_msg.h"
#include "quiver/alloc.h"

#define MAX_STR ((size_t)1 << 24)

void dist_put_str(qv_buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    qv_buf_put_u32(b, (uint32_t)n);
    qv_buf_put(b, s ? s : "", n);
}

void dist_put_batch(qv_buf *b, const qv_rowbatch *rows)
{
    size_t at = b->len;
    qv_buf_put_u64(b, 0);
    qv_rowbatch_encode(rows, b);
    if (!b->failed)
        qv_store_le64(b->data + at, b->len - at - 8);
}

static void put_target(qv_buf *b, const char *magic, const dist_target *t)
{
    qv_buf_put(b, magic, 4);
    dist_put_str(b, t->db);
    dist_put_str(b, t->coll);
}

static void put_parts(qv_buf *b, const int64_t *parts, size_t n)
{
    qv_buf_put_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        qv_buf_put_u64(b, (uint64_t)parts[i]);
}

static void put_filter(qv_buf *b, const qv_dist_filter *f)
{
    dist_put_str(b, f ? f->expr : NULL);
    dist_put_str(b, f ? f->params : NULL);
}

void dist_encode_write(qv_buf *b, const dist_target *t, uint8_t op, int64_t partition,
                       const int64_t *row_parts, uint32_t shard, const qv_rowbatch *rows)
{
    put_target(b, "QVW1", t);
    qv_buf_put_u8(b, op);
    qv_buf_put_u64(b, (uint64_t)(row_parts ? -1 : partition));
    qv_buf_put_u32(b, shard);
    dist_put_batch(b, rows);
    for (size_t i = 0; row_parts && i < rows->rows; i++)
        qv_buf_put_u64(b, (uint64_t)row_parts[i]);
}

void dist_encode_delete(qv_buf *b, const dist_target *t, uint32_t shard, const int64_t *parts,
                        size_t nparts, const qv_dist_filter *f)
{
    put_target(b, "QVD1", t);
    qv_buf_put_u32(b, shard);
    put_parts(b, parts, nparts);
    put_filter(b, f);
}

void dist_encode_query(qv_buf *b, const dist_target *t, const qv_query_opts *o,
                       const qv_dist_filter *f)
{
    put_target(b, "QVQ1", t);
    qv_buf_put_u64(b, o->shard_mask);
    qv_buf_put_u64(b, o->count_only ? 0 : o->offset + o->limit < o->limit ? UINT64_MAX
                                                                          : o->offset + o->limit);
    qv_buf_put_u8(b, o->count_only);
    put_parts(b, o->partitions, o->partitions ? o->npartitions : 0);
    put_filter(b, f);
}

static void put_f32(qv_buf *b, float v)
{
    uint32_t x;
    memcpy(&x, &v, 4);
    qv_buf_put_u32(b, x);
}

static void put_stats(qv_buf *b, const qv_bm25_stats *st);

static void put_sparse(qv_buf *b, const qv_sparse_vec *v, size_t n)
{
    for (size_t q = 0; q < n; q++) {
        qv_buf_put_u32(b, (uint32_t)v[q].nnz);
        for (size_t j = 0; j < v[q].nnz; j++)
            qv_buf_put_u32(b, v[q].idx[j]);
        for (size_t j = 0; j < v[q].nnz; j++)
            put_f32(b, v[q].val[j]);
    }
}

void dist_encode_search(qv_buf *b, const dist_target *t, const qv_search_opts *o,
                        const qv_field *f, const qv_dist_filter *flt)
{
    put_target(b, "QVS2", t);
    qv_buf_put_u64(b, o->shard_mask);
    qv_buf_put_u32(b, (uint32_t)o->field);
    qv_buf_put_u8(b, (uint8_t)o->metric);
    qv_buf_put_u32(b, (uint32_t)o->nq);
    qv_buf_put_u32(b, (uint32_t)o->k);
    qv_buf_put_u32(b, (uint32_t)o->ef);
    qv_buf_put_u32(b, (uint32_t)o->nprobe);
    qv_buf_put_u8(b, o->has_radius);
    put_f32(b, o->radius);
    qv_buf_put_u8(b, o->has_range_filter);
    put_f32(b, o->range_filter);
    put_f32(b, o->drop_ratio);
    put_parts(b, o->partitions, o->partitions ? o->npartitions : 0);
    put_filter(b, flt);
    if (f->type == QV_TYPE_SPARSE_FLOAT_VECTOR)
        put_sparse(b, o->squeries, o->nq);
    else if (f->type == QV_TYPE_BINARY_VECTOR)
        qv_buf_put(b, o->bqueries, o->nq * (f->dim / 8));
    else
        for (size_t i = 0; i < o->nq * f->dim; i++)
            put_f32(b, o->queries[i]);
    qv_buf_put_u8(b, o->bm25 != NULL);
    if (o->bm25)
        put_stats(b, o->bm25);
}

void dist_encode_bm25_stats(qv_buf *b, const dist_target *t, uint64_t shard_mask, size_t field,
                            const qv_sparse_vec *queries, size_t nq)
{
    put_target(b, "QVB1", t);
    qv_buf_put_u64(b, shard_mask);
    qv_buf_put_u32(b, (uint32_t)field);
    qv_buf_put_u32(b, (uint32_t)nq);
    for (size_t q = 0; q < nq; q++) {
        qv_buf_put_u32(b, (uint32_t)queries[q].nnz);
        for (size_t j = 0; j < queries[q].nnz; j++)
            qv_buf_put_u32(b, queries[q].idx[j]);
    }
}

/* The statistics, without the "QVT1" magic when inside a search message. */
static void put_stats(qv_buf *b, const qv_bm25_stats *st)
{
    qv_buf_put_u64(b, st->docs);
    qv_buf_put_u64(b, st->tokens);
    qv_buf_put_u32(b, (uint32_t)st->nterms);
    for (size_t i = 0; i < st->nterms; i++)
        qv_buf_put_u64(b, st->df[i]);
}

void dist_encode_bm25_answer(qv_buf *b, const qv_bm25_stats *st)
{
    qv_buf_put(b, "QVT1", 4);
    put_stats(b, st);
}

void dist_encode_count_answer(qv_buf *b, uint64_t count, const qv_rowbatch *rows)
{
    qv_buf_put(b, "QVA1", 4);
    qv_buf_put_u64(b, count);
    if (rows)
        dist_put_batch(b, rows);
}

void dist_encode_search_answer(qv_buf *b, const qv_search_result *r, size_t nq)
{
    qv_buf_put(b, "QVR1", 4);
    qv_buf_put_u32(b, (uint32_t)nq);
    for (size_t q = 0; q <= nq; q++)
        qv_buf_put_u64(b, r->first[q]);
    for (size_t i = 0; i < r->first[nq]; i++)
        put_f32(b, r->distance[i]);
    dist_put_batch(b, &r->rows);
}

/* ---- decoding ------------------------------------------------------------------------ */

char *dist_get_str(qv_reader *r)
{
    uint32_t n = qv_reader_u32(r);
    const char *p = !r->failed && n <= MAX_STR && n <= r->len - r->pos ? qv_reader_bytes(r, n)
                                                                        : NULL;
    char *s = p ? qv_malloc((size_t)n + 1) : NULL;

    if (!p)
        r->failed = true;
    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

static float get_f32(qv_reader *r)
{
    uint32_t x = qv_reader_u32(r);
    float v;
    memcpy(&v, &x, 4);
    return v;
}

qv_err dist_decode_batch(qv_reader *r, const qv_schema *s, qv_rowbatch *out, qv_error *err)
{
    uint64_t n = qv_reader_u64(r);
    const void *p;

    if (r->failed || n > r->len - r->pos || !(p = qv_reader_bytes(r, n)))
        return qv_error_set(err, QV_ECORRUPT, "peer message: bad row batch");
    return qv_rowbatch_decode(s, p, n, out, err);
}

qv_err dist_decode_target(const void *p, size_t len, const char magic[4], dist_target *t,
                          qv_reader *r, char **db, char **coll, qv_error *err)
{
    qv_reader_init(r, p, len);
    *db = *coll = NULL;
    if (len < 4 || memcmp(qv_reader_bytes(r, 4), magic, 4) != 0)
        return qv_error_set(err, QV_EINVAL, "peer message: expected %.4s", magic);
    *db = dist_get_str(r);
    *coll = dist_get_str(r);
    if (r->failed || !*db || !*coll)
        return qv_error_set(err, QV_EINVAL, "peer message: bad target");
    t->db = *db;
    t->coll = *coll;
    return QV_OK;
}

qv_err dist_decode_write(qv_reader *r, const qv_schema *s, dist_write_msg *m, qv_error *err)
{
    m->op = qv_reader_u8(r);
    m->partition = (int64_t)qv_reader_u64(r);
    m->shard = qv_reader_u32(r);
    qv_err rc;

    if (r->failed || m->op < DIST_INSERT || m->op > DIST_DELETE)
        return qv_error_set(err, QV_EINVAL, "peer message: bad write header");
    if ((rc = dist_decode_batch(r, s, &m->rows, err)) != QV_OK || m->partition != -1)
        return rc;
    if (m->op == DIST_DELETE || m->rows.rows > (r->len - r->pos) / 8)
        return qv_error_set(err, QV_EINVAL, "peer message: bad row partitions");
    if (!(m->row_parts = qv_malloc((m->rows.rows + 1) * sizeof *m->row_parts)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->rows.rows; i++)
        m->row_parts[i] = (int64_t)qv_reader_u64(r);
    return r->failed ? qv_error_set(err, QV_EINVAL, "peer message: bad row partitions") : QV_OK;
}

static qv_err get_parts_filter(qv_reader *r, dist_read_msg *m, qv_error *err)
{
    uint32_t n = qv_reader_u32(r);

    if (r->failed || n > (r->len - r->pos) / 8)
        return qv_error_set(err, QV_EINVAL, "peer message: bad partitions");
    if (n && !(m->partitions = qv_calloc(n, sizeof *m->partitions)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++)
        m->partitions[i] = (int64_t)qv_reader_u64(r);
    m->npartitions = n;
    m->expr = dist_get_str(r);
    m->params = dist_get_str(r);
    if (r->failed || !m->expr || !m->params)
        return qv_error_set(err, QV_EINVAL, "peer message: bad filter");
    if (!m->params[0]) {
        qv_free(m->params);
        m->params = NULL;
    }
    return QV_OK;
}

/* nq sparse vectors (u32 nnz, indices, values: values absent when with_values is false)
 * into m's owned arrays. */
static qv_err get_sparse(qv_reader *r, size_t nq, bool with_values, dist_read_msg *m,
                         qv_error *err)
{
    size_t total = 0, at = 0, start = r->pos;

    for (size_t q = 0; q < nq && !r->failed; q++) { /* first pass: sizes */
        uint32_t nnz = qv_reader_u32(r);
        size_t bytes = (size_t)nnz * (with_values ? 8 : 4);
        if (r->failed || nnz > QV_SPARSE_MAX_NNZ || bytes > r->len - r->pos)
            return qv_error_set(err, QV_EINVAL, "peer message: bad sparse queries");
        r->pos += bytes;
        total += nnz;
    }
    r->pos = start;
    if (!(m->squeries = qv_calloc(nq + 1, sizeof *m->squeries)) ||
        !(m->sidx = qv_malloc((total + 1) * sizeof *m->sidx)) ||
        !(m->sval = qv_calloc(total + 1, sizeof *m->sval)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t q = 0; q < nq; q++) {
        uint32_t nnz = qv_reader_u32(r);
        for (uint32_t j = 0; j < nnz; j++)
            m->sidx[at + j] = qv_reader_u32(r);
        for (uint32_t j = 0; with_values && j < nnz; j++)
            m->sval[at + j] = get_f32(r);
        for (uint32_t j = 1; j < nnz; j++)
            if (m->sidx[at + j] <= m->sidx[at + j - 1])
                return qv_error_set(err, QV_EINVAL, "peer message: unsorted sparse query");
        m->squeries[q] = (qv_sparse_vec){m->sidx + at, m->sval + at, nnz};
        at += nnz;
    }
    return r->failed ? qv_error_set(err, QV_EINVAL, "peer message: short sparse queries") : QV_OK;
}

static qv_err get_stats(qv_reader *r, qv_bm25_stats *st, qv_error *err)
{
    st->docs = qv_reader_u64(r);
    st->tokens = qv_reader_u64(r);
    st->nterms = qv_reader_u32(r);
    if (r->failed || st->nterms > (r->len - r->pos) / 8)
        return qv_error_set(err, QV_EINVAL, "peer message: bad BM25 statistics");
    if (!(st->df = qv_calloc(st->nterms + 1, sizeof *st->df)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; i < st->nterms; i++)
        st->df[i] = qv_reader_u64(r);
    return QV_OK;
}

/* The queries of a search for field f. */
static qv_err get_queries(qv_reader *r, const qv_field *f, dist_read_msg *m, qv_error *err)
{
    qv_search_opts *o = &m->so;
    size_t bytes = qv_vector_row_bytes(f->type, f->dim);

    if (f->type == QV_TYPE_SPARSE_FLOAT_VECTOR) {
        qv_err rc = get_sparse(r, o->nq, true, m, err);
        o->squeries = m->squeries;
        return rc;
    }
    if (f->type == QV_TYPE_BINARY_VECTOR) {
        const void *p = o->nq * bytes <= r->len - r->pos ? qv_reader_bytes(r, o->nq * bytes) : NULL;
        if (!p)
            return qv_error_set(err, QV_EINVAL, "peer message: short query vectors");
        if (!(m->bqueries = qv_malloc(o->nq * bytes)))
            return qv_error_set(err, QV_ENOMEM, "out of memory");
        memcpy(m->bqueries, p, o->nq * bytes);
        o->bqueries = m->bqueries;
        return QV_OK;
    }
    if (o->nq * f->dim > (r->len - r->pos) / 4)
        return qv_error_set(err, QV_EINVAL, "peer message: short query vectors");
    if (!(m->queries = qv_malloc(o->nq * f->dim * sizeof(float))))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; i < o->nq * f->dim; i++)
        m->queries[i] = get_f32(r);
    o->queries = m->queries;
    return QV_OK;
}

static qv_err get_search(qv_reader *r, const qv_schema *s, dist_read_msg *m, qv_error *err)
{
    qv_search_opts *o = &m->so;
    qv_err rc;

    o->shard_mask = m->shard_mask;
    o->field = qv_reader_u32(r);
    o->metric = (qv_metric_kind)qv_reader_u8(r);
    o->nq = qv_reader_u32(r);
    o->k = qv_reader_u32(r);
    o->ef = (int)qv_reader_u32(r);
    o->nprobe = qv_reader_u32(r);
    o->has_radius = qv_reader_u8(r);
    o->radius = get_f32(r);
    o->has_range_filter = qv_reader_u8(r);
    o->range_filter = get_f32(r);
    o->drop_ratio = get_f32(r);
    if (r->failed || o->field >= s->field_count || !qv_type_is_vector(s->fields[o->field].type) ||
        o->metric > QV_METRIC_BM25 || !o->nq || o->nq > 16384 || !o->k || o->k > 1 << 24 ||
        !(o->drop_ratio >= 0 && o->drop_ratio < 1))
        return qv_error_set(err, QV_EINVAL, "peer message: bad search header");
    if ((rc = get_parts_filter(r, m, err)) != QV_OK ||
        (rc = get_queries(r, &s->fields[o->field], m, err)) != QV_OK)
        return rc;
    if (qv_reader_u8(r)) {
        if ((rc = get_stats(r, &m->bm25, err)) != QV_OK)
            return rc;
        o->bm25 = &m->bm25;
    }
    if (r->failed)
        return qv_error_set(err, QV_EINVAL, "peer message: truncated search");
    o->partitions = m->partitions;
    o->npartitions = m->npartitions;
    return QV_OK;
}

qv_err dist_decode_read(qv_reader *r, const char magic[4], const qv_schema *s,
                        dist_read_msg *m, qv_error *err)
{
    if (!memcmp(magic, "QVD1", 4)) {
        m->shard = qv_reader_u32(r);
        return r->failed ? qv_error_set(err, QV_EINVAL, "peer message: bad delete")
                         : get_parts_filter(r, m, err);
    }
    m->shard_mask = qv_reader_u64(r);
    if (!memcmp(magic, "QVS2", 4))
        return get_search(r, s, m, err);
    if (!memcmp(magic, "QVB1", 4)) { /* BM25 statistics: field and the queries' terms */
        m->so.field = qv_reader_u32(r);
        m->so.nq = qv_reader_u32(r);
        if (r->failed || m->so.field >= s->field_count || m->so.nq > 16384)
            return qv_error_set(err, QV_EINVAL, "peer message: bad statistics request");
        return get_sparse(r, m->so.nq, false, m, err);
    }
    m->limit = qv_reader_u64(r);
    m->count_only = qv_reader_u8(r);
    return r->failed ? qv_error_set(err, QV_EINVAL, "peer message: bad query")
                     : get_parts_filter(r, m, err);
}

void dist_read_msg_fini(dist_read_msg *m)
{
    qv_free(m->partitions);
    qv_free(m->expr);
    qv_free(m->params);
    qv_free(m->queries);
    qv_free(m->bqueries);
    qv_free(m->squeries);
    qv_free(m->sidx);
    qv_free(m->sval);
    qv_bm25_stats_fini(&m->bm25);
}

qv_err dist_decode_bm25_answer(const void *p, size_t len, qv_bm25_stats *st, qv_error *err)
{
    qv_reader r;
    qv_err rc;

    memset(st, 0, sizeof *st);
    qv_reader_init(&r, p, len);
    if (len < 4 || memcmp(qv_reader_bytes(&r, 4), "QVT1", 4) != 0)
        return qv_error_set(err, QV_ECORRUPT, "peer answer: bad statistics header");
    if ((rc = get_stats(&r, st, err)) != QV_OK || r.pos != r.len) {
        qv_bm25_stats_fini(st);
        return rc != QV_OK ? rc : qv_error_set(err, QV_ECORRUPT, "peer answer: bad statistics");
    }
    return QV_OK;
}

qv_err dist_decode_count_answer(const void *p, size_t len, const qv_schema *s, uint64_t *count,
                                qv_rowbatch *rows, qv_error *err)
{
    qv_reader r;

    qv_reader_init(&r, p, len);
    if (len < 12 || memcmp(qv_reader_bytes(&r, 4), "QVA1", 4) != 0)
        return qv_error_set(err, QV_ECORRUPT, "peer answer: bad header");
    *count = qv_reader_u64(&r);
    return rows ? dist_decode_batch(&r, s, rows, err) : QV_OK;
}

qv_err dist_decode_search_answer(const void *p, size_t len, const qv_schema *s, size_t nq,
                                 qv_search_result *out, qv_error *err)
{
    qv_reader r;
    size_t total;

    memset(out, 0, sizeof *out);
    qv_reader_init(&r, p, len);
    if (len < 8 || memcmp(qv_reader_bytes(&r, 4), "QVR1", 4) != 0 || qv_reader_u32(&r) != nq ||
        (nq + 1) * 8 > r.len - r.pos)
        return qv_error_set(err, QV_ECORRUPT, "peer answer: bad search header");
    if (!(out->first = qv_calloc(nq + 1, sizeof *out->first)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t q = 0; q <= nq; q++)
        out->first[q] = qv_reader_u64(&r);
    total = out->first[nq];
    for (size_t q = 0; q < nq; q++)
        if (out->first[q] > out->first[q + 1])
            return qv_error_set(err, QV_ECORRUPT, "peer answer: bad hit offsets");
    if (total > (r.len - r.pos) / 4 || !(out->distance = qv_calloc(total + 1, sizeof(float))))
        return qv_error_set(err, QV_ECORRUPT, "peer answer: bad distances");
    for (size_t i = 0; i < total; i++)
        out->distance[i] = get_f32(&r);
    return dist_decode_batch(&r, s, &out->rows, err);
}
