/* SPDX-License-Identifier: Apache-2.0 */
/* rowbatch.c - columnar row batches: building, copying, filter views, binary encoding. */
#include "quiver/rowbatch.h"

#include <string.h>

#include "quiver/alloc.h"
#include "quiver/sparse.h"

#define MAX_ROWS (1u << 28)

static uint32_t type_width(const qv_field *f)
{
    switch (f->type) {
    case QV_TYPE_BOOL:
    case QV_TYPE_INT8:
        return 1;
    case QV_TYPE_INT16:
        return 2;
    case QV_TYPE_INT32:
    case QV_TYPE_FLOAT:
        return 4;
    case QV_TYPE_INT64:
    case QV_TYPE_DOUBLE:
        return 8;
    case QV_TYPE_FLOAT_VECTOR:
    case QV_TYPE_FLOAT16_VECTOR:
    case QV_TYPE_BFLOAT16_VECTOR:
    case QV_TYPE_BINARY_VECTOR:
        return (uint32_t)qv_vector_row_bytes(f->type, f->dim);
    default:
        return 0; /* variable width */
    }
}

static void colbuf_init(qv_colbuf *c, qv_type t, uint32_t width)
{
    memset(c, 0, sizeof *c);
    c->type = t;
    c->width = width;
    qv_buf_init(&c->data);
}

static void colbuf_fini(qv_colbuf *c)
{
    qv_buf_fini(&c->data);
    qv_free(c->offsets);
    qv_free(c->valid);
    memset(c, 0, sizeof *c);
}

qv_err qv_rowbatch_init(qv_rowbatch *b, const qv_schema *s)
{
    memset(b, 0, sizeof *b);
    if (!(b->cols = qv_calloc(s->field_count ? s->field_count : 1, sizeof *b->cols)))
        return QV_ENOMEM;
    b->ncols = s->field_count;
    for (size_t i = 0; i < s->field_count; i++)
        colbuf_init(&b->cols[i], s->fields[i].type, type_width(&s->fields[i]));
    colbuf_init(&b->dynamic, QV_TYPE_JSON, 0);
    return QV_OK;
}

void qv_rowbatch_fini(qv_rowbatch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->ncols; i++)
        colbuf_fini(&b->cols[i]);
    colbuf_fini(&b->dynamic);
    qv_free(b->cols);
    memset(b, 0, sizeof *b);
}

static void colbuf_clear(qv_colbuf *c)
{
    c->data.len = 0;
    c->data.failed = false;
    c->rows = 0;
    if (c->valid)
        memset(c->valid, 0, c->valid_cap * sizeof *c->valid);
}

void qv_rowbatch_clear(qv_rowbatch *b)
{
    for (size_t i = 0; i < b->ncols; i++)
        colbuf_clear(&b->cols[i]);
    colbuf_clear(&b->dynamic);
    b->rows = 0;
}

/* Room for `rows` offsets+1 and, when present, the validity words. */
static bool colbuf_grow(qv_colbuf *c, size_t rows)
{
    if (!c->width && rows + 1 > c->offsets_cap) {
        size_t cap = c->offsets_cap ? c->offsets_cap * 2 : 64;
        uint64_t *o;
        while (cap < rows + 1)
            cap *= 2;
        if (!(o = qv_reallocarray(c->offsets, cap, sizeof *o)))
            return false;
        if (!c->offsets)
            o[0] = 0;
        c->offsets = o;
        c->offsets_cap = cap;
    }
    if (c->valid && qv_filter_words(rows) > c->valid_cap) {
        size_t cap = c->valid_cap * 2, old = c->valid_cap;
        uint64_t *v;
        while (cap < qv_filter_words(rows))
            cap *= 2;
        if (!(v = qv_reallocarray(c->valid, cap, sizeof *v)))
            return false;
        memset(v + old, 0, (cap - old) * sizeof *v);
        c->valid = v;
        c->valid_cap = cap;
    }
    return true;
}

static void mark_valid(qv_colbuf *c, size_t row, bool valid)
{
    if (!c->valid) {
        if (valid)
            return;
        /* first null: materialise the bitmap with every earlier row valid */
        size_t cap = qv_filter_words(row + 1) * 2;
        if (!(c->valid = qv_calloc(cap, sizeof *c->valid))) {
            c->data.failed = true;
            return;
        }
        c->valid_cap = cap;
        for (size_t i = 0; i < row; i++)
            c->valid[i / 64] |= 1ull << (i % 64);
    }
    if (valid)
        c->valid[row / 64] |= 1ull << (row % 64);
    else
        c->valid[row / 64] &= ~(1ull << (row % 64));
}

void qv_colbuf_push_fixed(qv_colbuf *c, const void *value)
{
    if (!colbuf_grow(c, c->rows + 1)) {
        c->data.failed = true;
        return;
    }
    qv_buf_put(&c->data, value, c->width);
    mark_valid(c, c->rows++, true);
}

void qv_colbuf_push_var(qv_colbuf *c, const void *p, size_t n)
{
    if (!colbuf_grow(c, c->rows + 1)) {
        c->data.failed = true;
        return;
    }
    qv_buf_put(&c->data, p, n);
    c->offsets[c->rows + 1] = c->data.len;
    mark_valid(c, c->rows++, true);
}

void qv_colbuf_push_null(qv_colbuf *c)
{
    static const uint8_t zeros[64];
    size_t row = c->rows;

    if (c->width) {
        if (!colbuf_grow(c, c->rows + 1)) {
            c->data.failed = true;
            return;
        }
        for (uint32_t left = c->width; left;) {
            uint32_t n = left < sizeof zeros ? left : (uint32_t)sizeof zeros;
            qv_buf_put(&c->data, zeros, n);
            left -= n;
        }
        c->rows++;
    } else {
        qv_colbuf_push_var(c, NULL, 0);
    }
    mark_valid(c, row, false);
}

qv_err qv_rowbatch_end_row(qv_rowbatch *b, qv_error *err)
{
    size_t want = b->rows + 1;

    if (b->dynamic.rows < want)
        qv_colbuf_push_var(&b->dynamic, NULL, 0);
    for (size_t i = 0; i < b->ncols; i++) {
        if (b->cols[i].data.failed)
            return qv_error_set(err, QV_ENOMEM, "out of memory building a row batch");
        if (b->cols[i].rows != want)
            return qv_error_set(err, QV_EINTERNAL, "row %zu: column %zu has %zu values", b->rows,
                                i, b->cols[i].rows);
    }
    if (b->dynamic.data.failed)
        return qv_error_set(err, QV_ENOMEM, "out of memory building a row batch");
    b->rows = want;
    return QV_OK;
}

bool qv_colbuf_is_null(const qv_colbuf *c, size_t row)
{
    return c->valid && !(c->valid[row / 64] >> (row % 64) & 1);
}

const void *qv_colbuf_fixed(const qv_colbuf *c, size_t row)
{
    return c->data.data + (size_t)c->width * row;
}

const uint8_t *qv_colbuf_var(const qv_colbuf *c, size_t row, size_t *len)
{
    *len = (size_t)(c->offsets[row + 1] - c->offsets[row]);
    return c->data.data ? c->data.data + c->offsets[row] : (const uint8_t *)"";
}

int qv_colbuf_key_cmp(const qv_colbuf *a, size_t arow, const qv_colbuf *b, size_t brow)
{
    size_t na, nb;
    const uint8_t *x, *y;
    int r;

    if (a->width) {
        int64_t u, v;
        memcpy(&u, qv_colbuf_fixed(a, arow), sizeof u);
        memcpy(&v, qv_colbuf_fixed(b, brow), sizeof v);
        return u < v ? -1 : u > v;
    }
    x = qv_colbuf_var(a, arow, &na);
    y = qv_colbuf_var(b, brow, &nb);
    r = memcmp(x, y, na < nb ? na : nb);
    return r ? r : (na > nb) - (na < nb);
}

static void copy_value(qv_colbuf *dst, const qv_colbuf *src, size_t row)
{
    if (qv_colbuf_is_null(src, row)) {
        qv_colbuf_push_null(dst);
    } else if (src->width) {
        qv_colbuf_push_fixed(dst, qv_colbuf_fixed(src, row));
    } else {
        size_t n;
        const uint8_t *p = qv_colbuf_var(src, row, &n);
        qv_colbuf_push_var(dst, p, n);
    }
}

qv_err qv_rowbatch_append_rows(qv_rowbatch *dst, const qv_rowbatch *src, const uint32_t *idx,
                               size_t n, qv_error *err)
{
    qv_err rc = QV_OK;

    if (!idx)
        n = src->rows;
    for (size_t k = 0; k < n && rc == QV_OK; k++) {
        size_t row = idx ? idx[k] : k;
        for (size_t i = 0; i < dst->ncols; i++)
            copy_value(&dst->cols[i], &src->cols[i], row);
        copy_value(&dst->dynamic, &src->dynamic, row);
        rc = qv_rowbatch_end_row(dst, err);
    }
    return rc;
}

static void view_column(const qv_colbuf *c, size_t first, qv_column *out)
{
    out->type = c->type;
    out->data = c->width ? c->data.data + (size_t)c->width * first : c->data.data;
    out->offsets = c->width ? NULL : c->offsets + first;
    /* a window's bitmap must start at bit 0: windows are only taken at multiples of 64 */
    out->valid = c->valid ? c->valid + first / 64 : NULL;
}

void qv_rowbatch_view(const qv_rowbatch *b, size_t first, size_t count, qv_column *cols,
                      qv_column *dynamic, qv_filter_batch *out)
{
    for (size_t i = 0; i < b->ncols; i++)
        view_column(&b->cols[i], first, &cols[i]);
    view_column(&b->dynamic, first, dynamic);
    out->rows = count;
    out->cols = cols;
    out->col_count = b->ncols;
    out->dynamic = dynamic;
    out->pre = NULL;
    out->pre_offset = 0;
}

/* ---- binary encoding ------------------------------------------------------------------ */

static void encode_column(const qv_colbuf *c, size_t rows, qv_buf *out)
{
    size_t words = qv_filter_words(rows);

    qv_buf_put_u16(out, (uint16_t)c->type);
    qv_buf_put_u32(out, c->width);
    qv_buf_put_u8(out, c->valid != NULL);
    for (size_t i = 0; c->valid && i < words; i++)
        qv_buf_put_u64(out, c->valid[i]);
    qv_buf_put_u64(out, c->data.len);
    qv_buf_put(out, c->data.data, c->data.len);
    for (size_t i = 0; !c->width && i <= rows; i++)
        qv_buf_put_u64(out, c->offsets ? c->offsets[i] : 0);
}

void qv_rowbatch_encode(const qv_rowbatch *b, qv_buf *out)
{
    qv_buf_put_u32(out, (uint32_t)b->rows);
    qv_buf_put_u32(out, (uint32_t)b->ncols);
    for (size_t i = 0; i < b->ncols; i++)
        encode_column(&b->cols[i], b->rows, out);
    encode_column(&b->dynamic, b->rows, out);
}

static qv_err decode_column(qv_reader *r, qv_colbuf *c, size_t rows, qv_error *err)
{
    size_t words = qv_filter_words(rows);
    uint64_t nbytes, prev = 0;
    const void *bytes;

    if (qv_reader_u16(r) != (uint16_t)c->type || qv_reader_u32(r) != c->width)
        return qv_error_set(err, QV_ECORRUPT, "row batch: column type or width mismatch");
    if (qv_reader_u8(r)) {
        if (!(c->valid = qv_calloc(words ? words : 1, sizeof *c->valid)))
            return qv_error_set(err, QV_ENOMEM, "out of memory");
        c->valid_cap = words ? words : 1;
        for (size_t i = 0; i < words; i++)
            c->valid[i] = qv_reader_u64(r);
    }
    nbytes = qv_reader_u64(r);
    if (r->failed || nbytes > r->len - r->pos ||
        (c->width && nbytes != (uint64_t)c->width * rows))
        return qv_error_set(err, QV_ECORRUPT, "row batch: column length %llu is wrong",
                            (unsigned long long)nbytes);
    bytes = qv_reader_bytes(r, nbytes);
    qv_buf_put(&c->data, bytes, nbytes);
    if (!c->width) {
        if (!colbuf_grow(c, rows))
            return qv_error_set(err, QV_ENOMEM, "out of memory");
        for (size_t i = 0; i <= rows; i++) {
            uint64_t o = qv_reader_u64(r);
            if (o < prev || o > nbytes || (i == 0 && o != 0))
                return qv_error_set(err, QV_ECORRUPT, "row batch: bad offset at row %zu", i);
            c->offsets[i] = prev = o;
        }
        if (prev != nbytes)
            return qv_error_set(err, QV_ECORRUPT, "row batch: offsets do not cover the data");
        if (c->type == QV_TYPE_SPARSE_FLOAT_VECTOR) {
            for (size_t i = 0; i < rows; i++)
                if (!qv_sparse_row_valid(c->data.data + c->offsets[i],
                                         c->offsets[i + 1] - c->offsets[i]))
                    return qv_error_set(err, QV_ECORRUPT, "row batch: bad sparse vector at row "
                                                          "%zu", i);
        }
    }
    c->rows = rows;
    if (r->failed || c->data.failed)
        return qv_error_set(err, r->failed ? QV_ECORRUPT : QV_ENOMEM, "row batch: truncated");
    return QV_OK;
}

qv_err qv_rowbatch_decode(const qv_schema *s, const void *p, size_t len, qv_rowbatch *out,
                          qv_error *err)
{
    qv_reader r;
    uint32_t rows, ncols;
    qv_err rc;

    if ((rc = qv_rowbatch_init(out, s)) != QV_OK)
        return qv_error_set(err, rc, "out of memory");
    qv_reader_init(&r, p, len);
    rows = qv_reader_u32(&r);
    ncols = qv_reader_u32(&r);
    if (r.failed || ncols != s->field_count || rows > MAX_ROWS) {
        rc = qv_error_set(err, QV_ECORRUPT, "row batch: %u columns for a %zu-field schema",
                          ncols, s->field_count);
        goto fail;
    }
    for (size_t i = 0; i < ncols; i++)
        if ((rc = decode_column(&r, &out->cols[i], rows, err)) != QV_OK)
            goto fail;
    if ((rc = decode_column(&r, &out->dynamic, rows, err)) != QV_OK)
        goto fail;
    if (r.pos != r.len) {
        rc = qv_error_set(err, QV_ECORRUPT, "row batch: %zu trailing bytes", r.len - r.pos);
        goto fail;
    }
    out->rows = rows;
    return QV_OK;
fail:
    qv_rowbatch_fini(out);
    return rc;
}
