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
                       uint32_t shard, const qv_rowbatch *rows)
{
    put_target(b, "QVW1", t);
    qv_buf_put_u8(b, op);
    qv_buf_put_u64(b, (uint64_t)partition);
    qv_buf_put_u32(b, shard);
    dist_put_batch(b, rows);
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

void dist_encode_search(qv_buf *b, const dist_target *t, const qv_search_opts *o, size_t dim,
                        const qv_dist_filter *f)
{
    put_target(b, "QVS1", t);
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
    put_parts(b, o->partitions, o->partitions ? o->npartitions : 0);
    put_filter(b, f);
    for (size_t i = 0; i < o->nq * dim; i++)
        put_f32(b, o->queries[i]);
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
    if (r->failed || m->op < DIST_INSERT || m->op > DIST_DELETE)
        return qv_error_set(err, QV_EINVAL, "peer message: bad write header");
    return dist_decode_batch(r, s, &m->rows, err);
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

static qv_err get_search(qv_reader *r, const qv_schema *s, dist_read_msg *m, qv_error *err)
{
    qv_search_opts *o = &m->so;
    size_t dim;
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
    if (r->failed || o->field >= s->field_count || s->fields[o->field].type != QV_TYPE_FLOAT_VECTOR ||
        o->metric > QV_METRIC_COSINE || !o->nq || o->nq > 16384 || !o->k || o->k > 1 << 24)
        return qv_error_set(err, QV_EINVAL, "peer message: bad search header");
    if ((rc = get_parts_filter(r, m, err)) != QV_OK)
        return rc;
    dim = s->fields[o->field].dim;
    if (o->nq * dim > (r->len - r->pos) / 4)
        return qv_error_set(err, QV_EINVAL, "peer message: short query vectors");
    if (!(m->queries = qv_malloc(o->nq * dim * sizeof(float))))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; i < o->nq * dim; i++)
        m->queries[i] = get_f32(r);
    o->queries = m->queries;
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
    if (!memcmp(magic, "QVS1", 4))
        return get_search(r, s, m, err);
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
