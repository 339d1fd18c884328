/* SPDX-License-Identifier: Apache-2.0 */
/* rows_decode.c - the jansson front end of the row decoder: walks an already parsed `data`
 * array and feeds each value through the shared checks of rows_common.c. Used for upsert
 * partial updates and as the reference the text front end (rows_text.c) is tested
 * against. */
#include <jansson.h>
#include <string.h>

#include "codec/rows_int.h"

#define J(v) ((const json_t *)(v))

static void rv_of(const json_t *j, rv *v)
{
    memset(v, 0, sizeof *v);
    switch (json_typeof(j)) {
    case JSON_TRUE:
    case JSON_FALSE:
        v->kind = RV_BOOL;
        v->b = json_is_true(j);
        break;
    case JSON_INTEGER:
        v->kind = RV_INT;
        v->i = (int64_t)json_integer_value(j);
        v->d = (double)v->i;
        v->has_d = true;
        break;
    case JSON_REAL:
        v->kind = RV_REAL;
        v->d = json_real_value(j);
        v->has_d = true;
        break;
    case JSON_STRING:
        v->kind = RV_STRING;
        v->s = json_string_value(j);
        v->len = json_string_length(j);
        break;
    case JSON_ARRAY:
        v->kind = RV_ARRAY;
        break;
    case JSON_OBJECT:
        v->kind = RV_OBJECT;
        break;
    default:
        v->kind = RV_NULL;
    }
}

static void to_jsonb(qv_jsonb_builder *b, const json_t *j);

void rows_to_jsonb(qv_jsonb_builder *b, const qv_jval *v) { to_jsonb(b, J(v)); }

/* Append j to b as jsonb: the same calls qv_jsonb_parse_json makes for j's text. */
static void to_jsonb(qv_jsonb_builder *b, const json_t *j)
{
    const char *key;
    size_t klen, i;
    json_t *v;

    switch (json_typeof(j)) {
    case JSON_OBJECT:
        qv_jsonb_begin_object(b);
        json_object_keylen_foreach((json_t *)j, key, klen, v)
        {
            qv_jsonb_key(b, key, klen);
            to_jsonb(b, v);
        }
        qv_jsonb_end_object(b);
        break;
    case JSON_ARRAY:
        qv_jsonb_begin_array(b);
        json_array_foreach(j, i, v) to_jsonb(b, v);
        qv_jsonb_end_array(b);
        break;
    case JSON_STRING:
        qv_jsonb_string(b, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        qv_jsonb_int(b, (int64_t)json_integer_value(j));
        break;
    case JSON_REAL:
        qv_jsonb_double(b, json_real_value(j));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        qv_jsonb_bool(b, json_is_true(j));
        break;
    default:
        qv_jsonb_null(b);
    }
}

static qv_err vector_field(rows_ctx *c, const qv_field *f, const json_t *j, const rv *v)
{
    size_t n = json_array_size(j);
    qv_err rc;

    if (v->kind != RV_ARRAY)
        return rows_fail(c, f, ROWS_NO_ELEM, "expected FloatVector (an array of %u numbers), "
                                             "got %s",
                         f->dim, rows_kind_name(v->kind));
    for (size_t i = 0; i < n; i++) {
        rv e;
        float x;
        rv_of(json_array_get(j, i), &e);
        if ((rc = rows_float(c, f, i, &e, &x)) != QV_OK)
            return rc;
        if (i < f->dim)
            c->vec[i] = x;
    }
    return rows_push_vector(c, f, c->vec, n);
}

static qv_err array_field(rows_ctx *c, const qv_field *f, const json_t *j, const rv *v)
{
    size_t n = json_array_size(j);
    qv_err rc;

    if (v->kind != RV_ARRAY)
        return rows_fail(c, f, ROWS_NO_ELEM, "expected Array, got %s", rows_kind_name(v->kind));
    qv_jsonb_begin_array(&c->jb);
    for (size_t i = 0; i < n; i++) {
        rv e;
        rv_of(json_array_get(j, i), &e);
        if ((rc = rows_array_elem(c, f, i, &e)) != QV_OK) {
            qv_jsonb_builder_reset(&c->jb);
            return rc;
        }
    }
    qv_jsonb_end_array(&c->jb);
    if ((rc = rows_check_array_len(c, f, n)) != QV_OK) {
        qv_jsonb_builder_reset(&c->jb);
        return rc;
    }
    return rows_push_jb(c, &c->b->cols[f - c->s->fields]);
}

/* A vector of another type than FloatVector: through jsonb, as the text front end. */
static qv_err jsonb_vector(rows_ctx *c, const qv_field *f, const json_t *j)
{
    const uint8_t *blob;
    size_t n;
    qv_error e;
    qv_err rc;

    qv_jsonb_builder_reset(&c->tmp);
    to_jsonb(&c->tmp, j);
    if ((rc = qv_jsonb_finish(&c->tmp, &blob, &n, &e)) != QV_OK)
        return rc == QV_ENOMEM ? qv_error_set(c->err, rc, "out of memory")
                               : rows_fail(c, f, ROWS_NO_ELEM, "%s", e.msg);
    return rows_push_vector_jsonb(c, f, qv_jsonb_root(blob, n));
}

static qv_err field_value(rows_ctx *c, const qv_field *f, const json_t *j)
{
    rv v;
    bool decode;
    qv_err rc;

    if (c->s->function_count && qv_schema_output_function(c->s, f))
        return rows_function_input(c, f, j && !json_is_null(j));
    if (j)
        rv_of(j, &v);
    if ((size_t)(f - c->s->fields) == c->pk && (c->o.pk_auto || c->o.pk_optional)) {
        if ((rc = rows_pk_presence(c, f, j ? &v : NULL, &decode)) != QV_OK || !decode)
            return rc;
    }
    if (!j || v.kind == RV_NULL)
        return rows_missing(c, f);
    switch (f->type) {
    case QV_TYPE_FLOAT_VECTOR:
        return vector_field(c, f, j, &v);
    case QV_TYPE_FLOAT16_VECTOR:
    case QV_TYPE_BFLOAT16_VECTOR:
    case QV_TYPE_BINARY_VECTOR:
    case QV_TYPE_SPARSE_FLOAT_VECTOR:
        return jsonb_vector(c, f, j);
    case QV_TYPE_ARRAY:
        return array_field(c, f, j, &v);
    case QV_TYPE_JSON:
        to_jsonb(&c->jb, j);
        return rows_push_jb(c, &c->b->cols[f - c->s->fields]);
    default:
        return rows_scalar(c, f, &v);
    }
}

static qv_err decode_row(rows_ctx *c, const json_t *row)
{
    const char *key;
    size_t klen;
    json_t *v;
    bool any = false;
    qv_err rc;

    if (!json_is_object(row)) {
        rv k;
        rv_of(row, &k);
        return rows_fail(c, NULL, ROWS_NO_ELEM, "expected a row object, got %s",
                         rows_kind_name(k.kind));
    }
    for (size_t i = 0; i < c->s->field_count; i++)
        if ((rc = field_value(c, &c->s->fields[i],
                              json_object_get(row, c->s->fields[i].name))) != QV_OK)
            return rc;
    json_object_keylen_foreach((json_t *)row, key, klen, v)
    {
        if (rows_field_index(c->s, key, klen) != SIZE_MAX)
            continue;
        if ((rc = rows_check_extra(c, key, klen)) != QV_OK) {
            qv_jsonb_builder_reset(&c->jb);
            return rc;
        }
        if (!any)
            qv_jsonb_begin_object(&c->jb);
        any = true;
        qv_jsonb_key(&c->jb, key, klen);
        to_jsonb(&c->jb, v);
    }
    if (any) {
        qv_jsonb_end_object(&c->jb);
        if ((rc = rows_push_jb(c, NULL)) != QV_OK)
            return rc;
    }
    return rows_end_row(c);
}

qv_err qv_codec_decode_rows(const qv_jval *data, const qv_schema *s, const qv_rows_opts *o,
                            qv_rowbatch *out, qv_error *err)
{
    const json_t *arr = J(data);
    rows_ctx c;
    qv_err rc;
    size_t n;

    if (!json_is_array(arr)) {
        memset(out, 0, sizeof *out);
        return qv_error_set(err, QV_EBADJSON,
                            "can only accept json format request, error: json: cannot unmarshal "
                            "%s into Go struct field .data of type []interface {}",
                            arr ? qv_jtype_name(qv_jval_type(data)) : "null");
    }
    if ((rc = rows_begin(&c, s, o, out, err)) != QV_OK)
        return rc;
    n = json_array_size(arr);
    if ((rc = rows_check_count(&c, n)) != QV_OK)
        return rows_end(&c, rc);
    for (size_t i = 0; i < n && rc == QV_OK; i++)
        rc = decode_row(&c, json_array_get(arr, i));
    return rows_end(&c, rc);
}
