/* SPDX-License-Identifier: Apache-2.0 */
/* rows_encode.c - output rows (query, get, search): Milvus outputFields resolution and one
 * row of a columnar batch written as JSON key/value pairs. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/base64.h"
#include "quiver/jsonb.h"
#include "quiver/rowcodec.h"
#include "quiver/sparse.h"

/* ---- outputFields ------------------------------------------------------------------- */

/* Dynamic keys are kept sorted and unique (byte order, shorter first), so a request naming
 * many of them costs n log n, not n^2 (tests/integration/test_hostile.py). */
static int key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int key_sort(const void *x, const void *y)
{
    const char *a = *(const char *const *)x, *b = *(const char *const *)y;
    return key_cmp(a, strlen(a), b, strlen(b));
}

static bool has_key(const qv_output_fields *of, const char *key, size_t n)
{
    size_t lo = 0, hi = of->dynamic_count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *k = of->dynamic_keys[mid];
        int c = key_cmp(k, strlen(k), key, n);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static qv_err add_key(qv_output_fields *of, const char *name, size_t *cap, qv_error *err)
{
    char **keys = of->dynamic_keys;

    if (of->dynamic_count == *cap) {
        size_t n = *cap ? *cap * 2 : 8;
        if (!(keys = qv_reallocarray(of->dynamic_keys, n, sizeof *keys)))
            return qv_error_set(err, QV_ENOMEM, "out of memory");
        of->dynamic_keys = keys;
        *cap = n;
    }
    if (!(keys[of->dynamic_count] = qv_strdup(name)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    of->dynamic_count++;
    return QV_OK;
}

/* Sort the keys and drop repeats. */
static void keys_unique(qv_output_fields *of)
{
    size_t n = 0;

    if (!of->dynamic_count)
        return;
    qsort(of->dynamic_keys, of->dynamic_count, sizeof *of->dynamic_keys, key_sort);
    for (size_t i = 0; i < of->dynamic_count; i++) {
        if (n && strcmp(of->dynamic_keys[n - 1], of->dynamic_keys[i]) == 0)
            qv_free(of->dynamic_keys[i]);
        else
            of->dynamic_keys[n++] = of->dynamic_keys[i];
    }
    of->dynamic_count = n;
}

qv_err qv_codec_output_fields(const qv_schema *s, const char *const *names, size_t n,
                              bool default_all, qv_output_fields *out, qv_error *err)
{
    qv_output_fields of = {0};
    const qv_field *pk = qv_schema_primary(s);
    bool star = n == 0 && default_all;
    size_t cap = 0;
    qv_err rc = QV_OK;

    for (size_t i = 0; i < n && rc == QV_OK; i++) {
        const qv_field *f = qv_schema_field(s, names[i]);
        if (strcmp(names[i], "*") == 0)
            star = true;
        else if (strcmp(names[i], "count(*)") == 0)
            of.count_star = true;
        else if (f)
            of.fields |= 1ull << (f - s->fields);
        else if (!s->enable_dynamic)
            rc = qv_error_set(err, QV_EINVAL, "field %s not exist", names[i]);
        else if (strcmp(names[i], "$meta") == 0)
            of.all_dynamic = true;
        else
            rc = add_key(&of, names[i], &cap, err);
    }
    if (rc != QV_OK) {
        qv_codec_output_fields_fini(&of);
        return rc;
    }
    keys_unique(&of);
    if (star) { /* function outputs (BM25 term frequencies) only when named */
        for (size_t i = 0; i < s->field_count; i++)
            if (!qv_schema_output_function(s, &s->fields[i]))
                of.fields |= 1ull << i;
        of.all_dynamic = s->enable_dynamic;
    }
    if (pk)
        of.fields |= 1ull << (pk - s->fields);
    *out = of;
    return QV_OK;
}

void qv_codec_output_fields_fini(qv_output_fields *of)
{
    if (!of)
        return;
    for (size_t i = 0; i < of->dynamic_count; i++)
        qv_free(of->dynamic_keys[i]);
    qv_free(of->dynamic_keys);
    memset(of, 0, sizeof *of);
}

/* ---- one row ------------------------------------------------------------------------ */

static void write_int64(qv_jw *w, int64_t v, bool as_string)
{
    char text[24];

    if (!as_string) {
        qv_jw_int(w, v);
        return;
    }
    snprintf(text, sizeof text, "%" PRId64, v);
    qv_jw_str(w, text);
}

/* A jsonb value (JSON field, dynamic key) as JSON text; an absent value as null. */
static void write_jsonb(qv_jw *w, qv_jsonb v)
{
    if (!qv_jsonb_present(v)) {
        qv_jw_null(w);
        return;
    }
    qv_jw_raw(w, "", 0); /* the separator, then the text straight into the buffer */
    qv_jsonb_write_json(w->out, v);
}

static void write_array(qv_jw *w, const qv_field *f, qv_jsonb arr, bool int64_as_string)
{
    qv_jsonb_iter it;
    qv_jsonb e;
    const char *s;
    size_t n;
    int64_t i;
    double d;
    bool b;

    if (qv_jsonb_typeof(arr) != QV_JSONB_ARRAY) {
        qv_jw_null(w);
        return;
    }
    qv_jw_arr_begin(w);
    qv_jsonb_iter_init(&it, arr);
    while (qv_jsonb_iter_next(&it, NULL, NULL, &e)) {
        switch (f->element_type) {
        case QV_TYPE_BOOL:
            qv_jsonb_get_bool(e, &b) ? qv_jw_bool(w, b) : qv_jw_null(w);
            break;
        case QV_TYPE_INT8:
        case QV_TYPE_INT16:
        case QV_TYPE_INT32:
            qv_jsonb_get_int(e, &i) ? qv_jw_int(w, i) : qv_jw_null(w);
            break;
        case QV_TYPE_INT64:
            qv_jsonb_get_int(e, &i) ? write_int64(w, i, int64_as_string) : qv_jw_null(w);
            break;
        case QV_TYPE_FLOAT:
            qv_jsonb_get_double(e, &d) ? qv_jw_float(w, (float)d) : qv_jw_null(w);
            break;
        case QV_TYPE_DOUBLE:
            qv_jsonb_get_double(e, &d) ? qv_jw_double(w, d) : qv_jw_null(w);
            break;
        case QV_TYPE_VARCHAR:
            qv_jsonb_get_string(e, &s, &n) ? qv_jw_strn(w, s, n) : qv_jw_null(w);
            break;
        default:
            write_jsonb(w, e);
        }
    }
    qv_jw_arr_end(w);
}

/* Binary and half-precision vectors: base64 of their stored bytes (Milvus's output). */
static void write_base64(qv_jw *w, const void *p, size_t n)
{
    char small[256], *text = qv_base64_encoded_len(n) <= sizeof small
                                 ? small
                                 : qv_malloc(qv_base64_encoded_len(n));

    if (!text) {
        w->out->failed = true;
        return;
    }
    qv_base64_encode(p, n, text);
    qv_jw_strn(w, text, qv_base64_encoded_len(n));
    if (text != small)
        qv_free(text);
}

/* A sparse vector as {"<index>": value, ...}, indices ascending. */
static void write_sparse(qv_jw *w, const uint8_t *p, size_t n)
{
    qv_sparse_vec v = qv_sparse_view(p, n);
    char key[16];

    qv_jw_obj_begin(w);
    for (size_t i = 0; i < v.nnz; i++) {
        snprintf(key, sizeof key, "%u", v.idx[i]);
        qv_jw_key(w, key);
        qv_jw_float(w, v.val[i]);
    }
    qv_jw_obj_end(w);
}

static void write_value(qv_jw *w, const qv_field *f, const qv_colbuf *c, size_t row,
                        bool int64_as_string)
{
    const uint8_t *p;
    size_t n;
    union {
        int8_t i8;
        int16_t i16;
        int32_t i32;
        int64_t i64;
        float f;
        double d;
    } v;

    if (row >= c->rows || qv_colbuf_is_null(c, row)) {
        qv_jw_null(w);
        return;
    }
    if (c->width && !qv_type_is_vector(f->type))
        memcpy(&v, qv_colbuf_fixed(c, row), c->width < sizeof v ? c->width : sizeof v);
    switch (f->type) {
    case QV_TYPE_BOOL: qv_jw_bool(w, *(const uint8_t *)qv_colbuf_fixed(c, row) != 0); break;
    case QV_TYPE_INT8: qv_jw_int(w, v.i8); break;
    case QV_TYPE_INT16: qv_jw_int(w, v.i16); break;
    case QV_TYPE_INT32: qv_jw_int(w, v.i32); break;
    case QV_TYPE_INT64: write_int64(w, v.i64, int64_as_string); break;
    case QV_TYPE_FLOAT: qv_jw_float(w, v.f); break;
    case QV_TYPE_DOUBLE: qv_jw_double(w, v.d); break;
    case QV_TYPE_VARCHAR:
        p = qv_colbuf_var(c, row, &n);
        qv_jw_strn(w, (const char *)p, n);
        break;
    case QV_TYPE_JSON:
        p = qv_colbuf_var(c, row, &n);
        write_jsonb(w, qv_jsonb_root(p, n));
        break;
    case QV_TYPE_ARRAY:
        p = qv_colbuf_var(c, row, &n);
        write_array(w, f, qv_jsonb_root(p, n), int64_as_string);
        break;
    case QV_TYPE_FLOAT_VECTOR: {
        const uint8_t *fp = qv_colbuf_fixed(c, row);
        qv_jw_arr_begin(w);
        for (uint32_t k = 0; k < f->dim; k++) {
            float x;
            memcpy(&x, fp + 4 * (size_t)k, sizeof x);
            qv_jw_float(w, x);
        }
        qv_jw_arr_end(w);
        break;
    }
    case QV_TYPE_FLOAT16_VECTOR:
    case QV_TYPE_BFLOAT16_VECTOR:
    case QV_TYPE_BINARY_VECTOR:
        write_base64(w, qv_colbuf_fixed(c, row), c->width);
        break;
    case QV_TYPE_SPARSE_FLOAT_VECTOR:
        p = qv_colbuf_var(c, row, &n);
        write_sparse(w, p, n);
        break;
    default:
        qv_jw_null(w);
    }
}

void qv_codec_write_row(qv_jw *w, const qv_schema *s, const qv_rowbatch *b, size_t row,
                        const qv_output_fields *of, bool int64_as_string)
{
    const uint8_t *p;
    size_t n, klen;
    const char *key;
    qv_jsonb_iter it;
    qv_jsonb v;

    for (size_t i = 0; i < s->field_count && i < b->ncols; i++) {
        if (!(of->fields >> i & 1))
            continue;
        qv_jw_key(w, s->fields[i].name);
        write_value(w, &s->fields[i], &b->cols[i], row, int64_as_string);
    }
    if ((!of->all_dynamic && !of->dynamic_count) || row >= b->dynamic.rows ||
        qv_colbuf_is_null(&b->dynamic, row))
        return;
    p = qv_colbuf_var(&b->dynamic, row, &n);
    if (qv_jsonb_typeof(qv_jsonb_root(p, n)) != QV_JSONB_OBJECT)
        return;
    qv_jsonb_iter_init(&it, qv_jsonb_root(p, n));
    while (qv_jsonb_iter_next(&it, &key, &klen, &v)) {
        if (!of->all_dynamic && !has_key(of, key, klen))
            continue;
        qv_jw_keyn(w, key, klen);
        write_jsonb(w, v);
    }
}
