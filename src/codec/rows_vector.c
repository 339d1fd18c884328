/* SPDX-License-Identifier: Apache-2.0 */
/* rows_vector.c - row values of the vector types other than FloatVector, and the columns
 * schema functions write. Both front ends hand such a value over as jsonb (the text front
 * end parses its span, the jansson one converts its tree), so one decoder serves both.
 *
 *   Float16Vector,   an array of dim numbers (each rounded from float32 to the type, to
 *   BFloat16Vector   nearest even; past the type's range is an error), or a base64
 *                    string of exactly dim x 2 bytes: little-endian halves, stored as is
 *   BinaryVector     a base64 string of exactly dim / 8 bytes, or an array of dim / 8
 *                    integers 0..255
 *   SparseFloatVector  {"<index>": value, ...} or {"indices": [...], "values": [...]}:
 *                    indices are integers in [0, 2^32 - 1) (decimal strings as keys),
 *                    distinct; values finite float32 numbers; stored sorted by index
 *   BM25 output      never given: computed from the input field after the batch is
 *                    decoded (term frequencies of the analyzed text) */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/rows_int.h"
#include "quiver/alloc.h"
#include "quiver/analyzer.h"
#include "quiver/base64.h"
#include "quiver/distance.h"
#include "quiver/sparse.h"

static qv_colbuf *col_of(rows_ctx *c, const qv_field *f) { return &c->b->cols[f - c->s->fields]; }

/* A number of a vector array as float32 (range-checked). */
static qv_err elem_float(rows_ctx *c, const qv_field *f, size_t i, qv_jsonb e, float *out)
{
    double d;

    if (!qv_jsonb_get_double(e, &d))
        return rows_fail(c, f, i, "expected a number");
    if (!isfinite(d) || fabs(d) >= 0x1.ffffffp127)
        return rows_fail(c, f, i, "value %g out of float32 range", d);
    *out = (float)d;
    return QV_OK;
}

/* base64 text of exactly want bytes into c->scratch. */
static qv_err base64_bytes(rows_ctx *c, const qv_field *f, const char *s, size_t n, size_t want)
{
    size_t got;

    c->scratch.len = 0;
    if (!qv_buf_reserve(&c->scratch, qv_base64_decoded_max(n)))
        return qv_error_set(c->err, QV_ENOMEM, "out of memory");
    if (!qv_base64_decode(s, n, c->scratch.data, qv_base64_decoded_max(n), &got))
        return rows_fail(c, f, ROWS_NO_ELEM, "invalid base64 data");
    if (got != want)
        return rows_fail(c, f, ROWS_NO_ELEM,
                         "dimension mismatch, expected %zu bytes (dim %u), got %zu", want,
                         f->dim, got);
    return QV_OK;
}

static qv_err half_vector(rows_ctx *c, const qv_field *f, qv_jsonb v)
{
    bool f16 = f->type == QV_TYPE_FLOAT16_VECTOR;
    size_t n = qv_jsonb_length(v);
    const char *s;
    uint16_t *h;
    qv_err rc;

    if (qv_jsonb_get_string(v, &s, &n)) {
        if ((rc = base64_bytes(c, f, s, n, (size_t)f->dim * 2)) != QV_OK)
            return rc;
        qv_colbuf_push_fixed(col_of(c, f), c->scratch.data);
        return QV_OK;
    }
    if (qv_jsonb_typeof(v) != QV_JSONB_ARRAY)
        return rows_fail(c, f, ROWS_NO_ELEM,
                         "expected %s (an array of %u numbers or a base64 string)",
                         qv_type_name(f->type), f->dim);
    if (n != f->dim)
        return rows_fail(c, f, ROWS_NO_ELEM, "dimension mismatch, expected %u floats, got %zu",
                         f->dim, n);
    c->scratch.len = 0;
    if (!qv_buf_reserve(&c->scratch, n * 2))
        return qv_error_set(c->err, QV_ENOMEM, "out of memory");
    h = (uint16_t *)c->scratch.data;
    for (size_t i = 0; i < n; i++) {
        float x;
        if ((rc = elem_float(c, f, i, qv_jsonb_index(v, i), &x)) != QV_OK)
            return rc;
        h[i] = f16 ? qv_f32_to_f16(x) : qv_f32_to_bf16(x);
        if (isinf(f16 ? qv_f16_to_f32(h[i]) : qv_bf16_to_f32(h[i])))
            return rows_fail(c, f, i, "value %g out of %s range", (double)x,
                             f16 ? "float16" : "bfloat16");
    }
    qv_colbuf_push_fixed(col_of(c, f), h);
    return QV_OK;
}

static qv_err binary_vector(rows_ctx *c, const qv_field *f, qv_jsonb v)
{
    size_t want = f->dim / 8, n;
    const char *s;
    qv_err rc;

    if (qv_jsonb_get_string(v, &s, &n)) {
        if ((rc = base64_bytes(c, f, s, n, want)) != QV_OK)
            return rc;
        qv_colbuf_push_fixed(col_of(c, f), c->scratch.data);
        return QV_OK;
    }
    if (qv_jsonb_typeof(v) != QV_JSONB_ARRAY)
        return rows_fail(c, f, ROWS_NO_ELEM,
                         "expected BinaryVector (a base64 string of %zu bytes)", want);
    if ((n = qv_jsonb_length(v)) != want)
        return rows_fail(c, f, ROWS_NO_ELEM, "dimension mismatch, expected %zu bytes, got %zu",
                         want, n);
    c->scratch.len = 0;
    if (!qv_buf_reserve(&c->scratch, want))
        return qv_error_set(c->err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int64_t x;
        if (!qv_jsonb_get_int(qv_jsonb_index(v, i), &x) || x < 0 || x > 255)
            return rows_fail(c, f, i, "expected an integer in [0, 255]");
        c->scratch.data[i] = (uint8_t)x;
    }
    qv_colbuf_push_fixed(col_of(c, f), c->scratch.data);
    return QV_OK;
}

/* ---- sparse --------------------------------------------------------------------------- */

typedef struct pair {
    uint32_t idx;
    float val;
} pair;

static int pair_cmp(const void *a, const void *b)
{
    uint32_t x = ((const pair *)a)->idx, y = ((const pair *)b)->idx;
    return x < y ? -1 : x > y;
}

static bool index_of_text(const char *s, size_t n, uint32_t *out)
{
    uint64_t x = 0;

    if (n == 0 || n > 10)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    if (x >= QV_SPARSE_MAX_INDEX)
        return false;
    *out = (uint32_t)x;
    return true;
}

/* The pairs of either input form into p (room for qv_jsonb_length entries). */
static qv_err sparse_pairs(rows_ctx *c, const qv_field *f, qv_jsonb v, pair *p, size_t *np)
{
    qv_jsonb ind = qv_jsonb_find(v, "indices", 7), vals = qv_jsonb_find(v, "values", 6), e;
    qv_jsonb_iter it;
    const char *key;
    size_t klen, n = 0;
    qv_err rc;

    if (qv_jsonb_present(ind) || qv_jsonb_present(vals)) {
        if (qv_jsonb_typeof(ind) != QV_JSONB_ARRAY || qv_jsonb_typeof(vals) != QV_JSONB_ARRAY ||
            qv_jsonb_length(v) != 2)
            return rows_fail(c, f, ROWS_NO_ELEM,
                             "a sparse vector is {\"indices\": [...], \"values\": [...]} or "
                             "{\"<index>\": value, ...}");
        if (qv_jsonb_length(ind) != qv_jsonb_length(vals))
            return rows_fail(c, f, ROWS_NO_ELEM, "%zu indices but %zu values",
                             qv_jsonb_length(ind), qv_jsonb_length(vals));
        for (size_t i = 0; i < qv_jsonb_length(ind); i++, n++) {
            int64_t x;
            if (!qv_jsonb_get_int(qv_jsonb_index(ind, i), &x) || x < 0 ||
                x >= (int64_t)QV_SPARSE_MAX_INDEX)
                return rows_fail(c, f, i, "sparse index must be an integer in [0, %u)",
                                 QV_SPARSE_MAX_INDEX);
            p[n].idx = (uint32_t)x;
            if ((rc = elem_float(c, f, i, qv_jsonb_index(vals, i), &p[n].val)) != QV_OK)
                return rc;
        }
        *np = n;
        return QV_OK;
    }
    qv_jsonb_iter_init(&it, v);
    while (qv_jsonb_iter_next(&it, &key, &klen, &e)) {
        if (!index_of_text(key, klen, &p[n].idx))
            return rows_fail(c, f, ROWS_NO_ELEM,
                             "sparse index \"%.*s\" is not an integer in [0, %u)",
                             (int)(klen > 32 ? 32 : klen), key, QV_SPARSE_MAX_INDEX);
        if ((rc = elem_float(c, f, p[n].idx, e, &p[n].val)) != QV_OK)
            return rc;
        n++;
    }
    *np = n;
    return QV_OK;
}

static qv_err sparse_vector(rows_ctx *c, const qv_field *f, qv_jsonb v)
{
    size_t n = 0, cap = qv_jsonb_length(v);
    pair *p;
    uint8_t *out;
    qv_err rc;

    if (qv_jsonb_typeof(v) != QV_JSONB_OBJECT)
        return rows_fail(c, f, ROWS_NO_ELEM, "expected SparseFloatVector (an object), got %s",
                         qv_jsonb_typeof(v) == QV_JSONB_ARRAY ? "array" : "a scalar");
    if (qv_jsonb_present(qv_jsonb_find(v, "indices", 7)))
        cap = qv_jsonb_length(qv_jsonb_find(v, "indices", 7));
    if (cap > QV_SPARSE_MAX_NNZ)
        return rows_fail(c, f, ROWS_NO_ELEM, "more than %u non-zero entries", QV_SPARSE_MAX_NNZ);
    if (!(p = qv_malloc((cap + 1) * sizeof *p)))
        return qv_error_set(c->err, QV_ENOMEM, "out of memory");
    rc = sparse_pairs(c, f, v, p, &n);
    if (rc == QV_OK) {
        qsort(p, n, sizeof *p, pair_cmp);
        for (size_t i = 1; i < n && rc == QV_OK; i++)
            if (p[i].idx == p[i - 1].idx)
                rc = rows_fail(c, f, ROWS_NO_ELEM, "duplicate sparse index %u", p[i].idx);
    }
    c->scratch.len = 0;
    if (rc == QV_OK && !qv_buf_reserve(&c->scratch, 8 * n + 1))
        rc = qv_error_set(c->err, QV_ENOMEM, "out of memory");
    if (rc == QV_OK) {
        out = c->scratch.data;
        for (size_t i = 0; i < n; i++) {
            qv_store_le32(out + 4 * i, p[i].idx);
            memcpy(out + 4 * n + 4 * i, &p[i].val, 4);
        }
        qv_colbuf_push_var(col_of(c, f), out, 8 * n);
    }
    qv_free(p);
    return rc;
}

qv_err rows_push_vector_jsonb(rows_ctx *c, const qv_field *f, qv_jsonb v)
{
    switch (f->type) {
    case QV_TYPE_FLOAT16_VECTOR:
    case QV_TYPE_BFLOAT16_VECTOR:
        return half_vector(c, f, v);
    case QV_TYPE_BINARY_VECTOR:
        return binary_vector(c, f, v);
    case QV_TYPE_SPARSE_FLOAT_VECTOR:
        return sparse_vector(c, f, v);
    default:
        return qv_error_set(c->err, QV_EINTERNAL, "field %s: not a jsonb vector type", f->name);
    }
}

qv_err qv_codec_decode_query_vector(const qv_schema *s, const qv_field *f, const qv_jval *v,
                                    size_t q, qv_buf *out, qv_error *err)
{
    qv_jsonb_builder jb;
    const uint8_t *blob;
    qv_rowbatch b;
    rows_ctx c;
    size_t n;
    const char *detail;
    qv_error e;
    qv_err rc;

    if ((rc = rows_begin(&c, s, NULL, &b, &e)) != QV_OK)
        return qv_error_set(err, rc, "out of memory");
    c.row = q;
    qv_jsonb_builder_init(&jb);
    rows_to_jsonb(&jb, v);
    if ((rc = qv_jsonb_finish(&jb, &blob, &n, &e)) == QV_OK &&
        (rc = rows_push_vector_jsonb(&c, f, qv_jsonb_root(blob, n))) == QV_OK) {
        const qv_colbuf *col = col_of(&c, f);
        const uint8_t *p = col->width ? qv_colbuf_fixed(col, 0) : qv_colbuf_var(col, 0, &n);
        qv_buf_put(out, p, col->width ? col->width : n);
        rc = qv_buf_status(out, &e);
    }
    qv_jsonb_builder_fini(&jb);
    rows_end(&c, QV_EINTERNAL); /* frees the one-row batch (and fills nothing) */
    if (rc == QV_ENOMEM)
        return qv_error_set(err, rc, "out of memory");
    if (rc != QV_OK) { /* "fail to deal the insert data, error: data[q].f: what" */
        detail = strstr(e.msg, ": ") ? strstr(e.msg, ": ") + 2 : e.msg;
        detail = strstr(detail, ": ") ? strstr(detail, ": ") + 2 : detail;
        return qv_error_set(err, QV_EBADJSON, "data[%zu]: %s", q, detail);
    }
    return QV_OK;
}

/* ---- functions ------------------------------------------------------------------------ */

qv_err rows_function_input(rows_ctx *c, const qv_field *f, bool present)
{
    const qv_function *fn = qv_schema_output_function(c->s, f);

    if (present)
        return rows_fail(c, f, ROWS_NO_ELEM,
                         "the field is the output of function %s and cannot be given",
                         fn ? fn->name : "?");
    return QV_OK;
}

/* The BM25 output column: the term frequencies of each row's input text. */
static qv_err fill_bm25(rows_ctx *c, const qv_function *fn)
{
    const qv_field *in = qv_schema_field(c->s, fn->inputs[0]);
    const qv_field *out = qv_schema_field(c->s, fn->outputs[0]);
    qv_colbuf *src = col_of(c, in), *dst = col_of(c, out);
    qv_analyzer *a = NULL;
    qv_err rc = qv_analyzer_new(qv_field_analyzer_params(in), &a, c->err);

    for (size_t r = 0; rc == QV_OK && r < c->b->rows; r++) {
        qv_term_freqs tf;
        size_t n = 0;
        const uint8_t *text = qv_colbuf_is_null(src, r) ? NULL : qv_colbuf_var(src, r, &n);
        if (qv_analyzer_term_freqs(a, (const char *)text, text ? n : 0, &tf) != QV_OK) {
            rc = qv_error_set(c->err, QV_ENOMEM, "out of memory");
            break;
        }
        c->scratch.len = 0;
        for (size_t i = 0; i < tf.n; i++)
            qv_buf_put_u32(&c->scratch, tf.ids[i]);
        qv_buf_put(&c->scratch, tf.counts, tf.n * sizeof *tf.counts);
        qv_term_freqs_fini(&tf);
        if (c->scratch.failed)
            rc = qv_error_set(c->err, QV_ENOMEM, "out of memory");
        else
            qv_colbuf_push_var(dst, c->scratch.data, c->scratch.len);
    }
    if (rc == QV_OK && dst->data.failed)
        rc = qv_error_set(c->err, QV_ENOMEM, "out of memory building a row batch");
    qv_analyzer_free(a);
    return rc;
}

qv_err rows_fill_functions(rows_ctx *c)
{
    qv_err rc = QV_OK;

    for (size_t i = 0; i < c->s->function_count && rc == QV_OK; i++)
        if (c->s->functions[i].type == QV_FUNCTION_BM25)
            rc = fill_bm25(c, &c->s->functions[i]);
    return rc;
}
