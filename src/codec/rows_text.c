/* SPDX-License-Identifier: Apache-2.0 */
/* rows_text.c - the text front end of the row decoder: rows are decoded straight from the
 * request body, without building a jansson tree (which costs more than the whole decode).
 *
 * Per row, members are first collected: a FloatVector value is parsed at once into a
 * per-field staging buffer (the hot path: rows_float.c's parser, one pass over the text);
 * any other value is only bracket-matched (scan_skip) and remembered as a span. Then the
 * fields are decoded from their spans in schema order and the remaining keys become the
 * dynamic object, all through the checks of rows_common.c, so the batch, and the first
 * error, are those of the jansson front end. A repeated key keeps its last value (as
 * jansson), after checking that the replaced one was valid JSON.
 *
 * Malformed text anywhere is QV_EBADJSON. Since a data error (QV_EBADDATA) can be found
 * before a syntax error later in the body, the error path validates the rest of the text
 * (scan_check) and reports the syntax error instead, as a parse-first decoder would. */
#include <math.h>
#include <string.h>

#include "codec/rows_int.h"
#include "quiver/alloc.h"

enum { SLOT_ABSENT, SLOT_SPAN, SLOT_VECTOR };

typedef struct slot {
    int state;
    size_t start, end, depth; /* the value's text */
    size_t count;             /* SLOT_VECTOR: elements parsed */
    float *vec;               /* FloatVector fields: dim floats of staging */
} slot;

typedef struct extra { /* a key that is not a field */
    size_t koff, klen;
    bool kbuf; /* the key is in tx.keys (it had escapes), else in the text */
    size_t start, end, depth;
} extra;

typedef struct tx {
    rows_ctx c;
    scan x;
    slot *slots;
    float *vecs;
    extra *extras;
    size_t nextra, extra_cap;
    qv_buf keys; /* a row's keys that needed unescaping */
} tx;

static qv_err tx_begin(tx *t, const char *body, size_t end, const qv_schema *s,
                       const qv_rows_opts *o, qv_rowbatch *out, qv_error *err)
{
    size_t dims = 0;
    qv_err rc;

    memset(t, 0, sizeof *t);
    qv_buf_init(&t->keys);
    qv_buf_init(&t->x.str);
    if ((rc = rows_begin(&t->c, s, o, out, err)) != QV_OK)
        return rc;
    t->x = (scan){.t = body, .end = end, .max_depth = t->c.o.max_depth, .err = err};
    qv_buf_init(&t->x.str);
    for (size_t i = 0; i < s->field_count; i++)
        if (s->fields[i].type == QV_TYPE_FLOAT_VECTOR)
            dims += s->fields[i].dim;
    if (!(t->slots = qv_calloc(s->field_count ? s->field_count : 1, sizeof *t->slots)) ||
        !(t->vecs = qv_malloc((dims ? dims : 1) * sizeof *t->vecs)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    dims = 0;
    for (size_t i = 0; i < s->field_count; i++) {
        if (s->fields[i].type == QV_TYPE_FLOAT_VECTOR) {
            t->slots[i].vec = t->vecs + dims;
            dims += s->fields[i].dim;
        }
    }
    return QV_OK;
}

static qv_err tx_end(tx *t, qv_err rc)
{
    qv_free(t->slots);
    qv_free(t->vecs);
    qv_free(t->extras);
    qv_buf_fini(&t->keys);
    qv_buf_fini(&t->x.str);
    return t->c.s ? rows_end(&t->c, rc) : rc;
}

/* ---- values ----------------------------------------------------------------------- */

/* A FloatVector at *pos into dst (its first dim elements), counting elements. Malformed
 * text is QV_EBADJSON; a value that is valid JSON but not an array of float32 numbers is
 * QV_EBADDATA, with the message only when `report` (the first pass defers it). */
static qv_err tx_vector(tx *t, const qv_field *f, size_t *pos, float *dst, size_t *count,
                        bool report)
{
    scan *x = &t->x;
    size_t p = *pos, k = 0;
    rv v;
    qv_err rc;

    if (scan_peek(x, p) != '[') {
        if ((rc = scan_scalar(x, &p, &v)) != QV_OK || !report)
            return rc != QV_OK ? rc : QV_EBADDATA;
        return rows_fail(&t->c, f, ROWS_NO_ELEM,
                         "expected FloatVector (an array of %u numbers), got %s", f->dim,
                         rows_kind_name(v.kind));
    }
    p = scan_ws(x, p + 1);
    if (scan_peek(x, p) == ']') {
        *pos = p + 1;
        *count = 0;
        return QV_OK;
    }
    for (;;) {
        float val;
        size_t used;
        int c;
        rc = qv_codec_parse_float(x->t + p, x->end - p, &val, &used);
        if (rc == QV_ENOMEM)
            return qv_error_set(x->err, rc, "out of memory");
        if (rc != QV_OK || isinf(val)) { /* not a number, or out of range */
            if ((rc = scan_scalar(x, &p, &v)) != QV_OK || !report)
                return rc != QV_OK ? rc : QV_EBADDATA;
            return rows_float(&t->c, f, k, &v, &val);
        }
        if (k < f->dim)
            dst[k] = val;
        k++;
        p = scan_ws(x, p + used);
        c = scan_peek(x, p);
        if (c == ',') {
            p = scan_ws(x, p + 1);
            continue;
        }
        if (c == ']')
            break;
        return scan_syntax(x, p, "expected ',' or ']'");
    }
    *pos = p + 1;
    *count = k;
    return QV_OK;
}

static qv_err tx_array(tx *t, const qv_field *f, size_t start, size_t end)
{
    scan *x = &t->x;
    size_t p = start, n = 0;
    rv v;
    qv_err rc;

    if (scan_peek(x, p) != '[') {
        if ((rc = scan_scalar(x, &p, &v)) != QV_OK)
            return rc;
        return rows_fail(&t->c, f, ROWS_NO_ELEM, "expected Array, got %s",
                         rows_kind_name(v.kind));
    }
    qv_jsonb_begin_array(&t->c.jb);
    p = scan_ws(x, p + 1);
    if (scan_peek(x, p) == ']') {
        p++;
    } else {
        for (;;) {
            int c;
            if ((rc = scan_scalar(x, &p, &v)) != QV_OK ||
                (rc = rows_array_elem(&t->c, f, n++, &v)) != QV_OK)
                return rc;
            p = scan_ws(x, p);
            c = scan_peek(x, p);
            if (c == ',') {
                p = scan_ws(x, p + 1);
                continue;
            }
            if (c == ']') {
                p++;
                break;
            }
            return scan_syntax(x, p, "expected ',' or ']'");
        }
    }
    if (p != end)
        return scan_syntax(x, p, "unexpected character after value");
    qv_jsonb_end_array(&t->c.jb);
    if ((rc = rows_check_array_len(&t->c, f, n)) != QV_OK)
        return rc;
    return rows_push_jb(&t->c, &t->c.b->cols[f - t->c.s->fields]);
}

/* Any JSON value as jsonb (t->c.tmp's bytes, valid until its next reset). */
static qv_err tx_jsonb(tx *t, size_t start, size_t end, size_t depth, const uint8_t **blob,
                       size_t *n)
{
    qv_error e;
    qv_err rc;

    if (ROWS_VALUE_DEPTH + depth > t->c.o.max_depth)
        return qv_error_set(t->x.err, QV_EBADJSON,
                            "can only accept json format request, error: nesting deeper than "
                            "%zu at offset %zu",
                            t->c.o.max_depth, start);
    qv_jsonb_builder_reset(&t->c.tmp);
    rc = qv_jsonb_parse_json(&t->c.tmp, t->x.t + start, end - start, &e);
    if (rc == QV_OK)
        rc = qv_jsonb_finish(&t->c.tmp, blob, n, &e);
    if (rc == QV_ENOMEM)
        return qv_error_set(t->x.err, rc, "out of memory");
    if (rc != QV_OK)
        return qv_error_set(t->x.err, QV_EBADJSON,
                            "can only accept json format request, error: %s (in the value at "
                            "offset %zu)",
                            e.msg, start);
    return QV_OK;
}

/* ---- rows ------------------------------------------------------------------------- */

static qv_err tx_member(tx *t, size_t *pos)
{
    scan *x = &t->x;
    size_t p = *pos, koff, klen, fi;
    bool kbuf;
    const char *key;
    slot *sl;
    qv_err rc;

    if (scan_peek(x, p) != '"')
        return scan_syntax(x, p, "expected a string key");
    if ((rc = scan_string(x, &p, &t->keys, &koff, &klen, &kbuf)) != QV_OK)
        return rc;
    key = kbuf ? (const char *)t->keys.data + koff : x->t + koff;
    p = scan_ws(x, p);
    if (scan_peek(x, p) != ':')
        return scan_syntax(x, p, "expected ':'");
    p = scan_ws(x, p + 1);
    if ((fi = rows_field_index(t->c.s, key, klen)) == SIZE_MAX) {
        extra *e;
        if (t->nextra == t->extra_cap) {
            size_t cap = t->extra_cap ? t->extra_cap * 2 : 8;
            if (!(e = qv_reallocarray(t->extras, cap, sizeof *e)))
                return qv_error_set(x->err, QV_ENOMEM, "out of memory");
            t->extras = e;
            t->extra_cap = cap;
        }
        e = &t->extras[t->nextra++];
        *e = (extra){.koff = koff, .klen = klen, .kbuf = kbuf, .start = p};
        rc = scan_skip(x, p, &e->end, &e->depth);
        *pos = e->end;
        return rc;
    }
    sl = &t->slots[fi];
    if (sl->state == SLOT_SPAN) { /* replaced by this one: must still be valid JSON */
        size_t q = sl->start;
        if ((rc = scan_check(x, &q, ROWS_VALUE_DEPTH)) != QV_OK)
            return rc;
    }
    sl->start = p;
    if (t->c.s->fields[fi].type == QV_TYPE_FLOAT_VECTOR && scan_peek(x, p) == '[') {
        rc = tx_vector(t, &t->c.s->fields[fi], &p, sl->vec, &sl->count, false);
        if (rc == QV_OK) {
            sl->state = SLOT_VECTOR;
            *pos = sl->end = p;
            return QV_OK;
        }
        if (rc != QV_EBADDATA)
            return rc;
    }
    sl->state = SLOT_SPAN;
    rc = scan_skip(x, sl->start, &sl->end, &sl->depth);
    *pos = sl->end;
    return rc;
}

static qv_err tx_field(tx *t, size_t i)
{
    static const rv null_value = {.kind = RV_NULL}, some_value = {.kind = RV_OBJECT};
    const qv_field *f = &t->c.s->fields[i];
    slot *sl = &t->slots[i];
    scan *x = &t->x;
    size_t p = sl->start, n;
    const uint8_t *blob;
    bool null = false, decode;
    rv v;
    qv_err rc;

    if (sl->state == SLOT_SPAN && scan_peek(x, p) == 'n') {
        if ((rc = scan_scalar(x, &p, &v)) != QV_OK)
            return rc;
        if (p != sl->end)
            return scan_syntax(x, p, "unexpected character after value");
        null = true;
    }
    if (t->c.s->function_count && qv_schema_output_function(t->c.s, f))
        return rows_function_input(&t->c, f, sl->state != SLOT_ABSENT && !null);
    if (i == t->c.pk && (t->c.o.pk_auto || t->c.o.pk_optional)) {
        const rv *pv = sl->state == SLOT_ABSENT ? NULL : null ? &null_value : &some_value;
        if ((rc = rows_pk_presence(&t->c, f, pv, &decode)) != QV_OK || !decode)
            return rc;
    }
    if (sl->state == SLOT_ABSENT || null)
        return rows_missing(&t->c, f);
    if (sl->state == SLOT_VECTOR)
        return rows_push_vector(&t->c, f, sl->vec, sl->count);
    p = sl->start;
    switch (f->type) {
    case QV_TYPE_FLOAT_VECTOR:
        if ((rc = tx_vector(t, f, &p, sl->vec, &sl->count, true)) != QV_OK)
            return rc;
        return rows_push_vector(&t->c, f, sl->vec, sl->count);
    case QV_TYPE_ARRAY:
        return tx_array(t, f, sl->start, sl->end);
    case QV_TYPE_FLOAT16_VECTOR:
    case QV_TYPE_BFLOAT16_VECTOR:
    case QV_TYPE_BINARY_VECTOR:
    case QV_TYPE_SPARSE_FLOAT_VECTOR:
        if ((rc = tx_jsonb(t, sl->start, sl->end, sl->depth, &blob, &n)) != QV_OK)
            return rc;
        return rows_push_vector_jsonb(&t->c, f, qv_jsonb_root(blob, n));
    case QV_TYPE_JSON:
        if ((rc = tx_jsonb(t, sl->start, sl->end, sl->depth, &blob, &n)) != QV_OK)
            return rc;
        qv_colbuf_push_var(&t->c.b->cols[i], blob, n);
        return QV_OK;
    default:
        if ((rc = scan_scalar(x, &p, &v)) != QV_OK)
            return rc;
        if (v.kind != RV_ARRAY && v.kind != RV_OBJECT && p != sl->end)
            return scan_syntax(x, p, "unexpected character after value");
        return rows_scalar(&t->c, f, &v);
    }
}

static qv_err tx_dynamic(tx *t)
{
    const uint8_t *blob;
    size_t n;
    qv_err rc;

    if (!t->nextra)
        return QV_OK;
    for (size_t k = 0; k < t->nextra; k++) {
        const extra *e = &t->extras[k];
        const char *key = e->kbuf ? (const char *)t->keys.data + e->koff : t->x.t + e->koff;
        if ((rc = rows_check_extra(&t->c, key, e->klen)) != QV_OK)
            return rc;
    }
    qv_jsonb_begin_object(&t->c.jb);
    for (size_t k = 0; k < t->nextra; k++) {
        const extra *e = &t->extras[k];
        const char *key = e->kbuf ? (const char *)t->keys.data + e->koff : t->x.t + e->koff;
        if ((rc = tx_jsonb(t, e->start, e->end, e->depth, &blob, &n)) != QV_OK)
            return rc;
        qv_jsonb_key(&t->c.jb, key, e->klen);
        qv_jsonb_value(&t->c.jb, qv_jsonb_root(blob, n));
    }
    qv_jsonb_end_object(&t->c.jb);
    return rows_push_jb(&t->c, NULL);
}

static qv_err tx_row(tx *t, size_t *pos)
{
    scan *x = &t->x;
    size_t p = *pos;
    rv v;
    qv_err rc;

    if (scan_peek(x, p) != '{') {
        if ((rc = scan_scalar(x, &p, &v)) != QV_OK)
            return rc;
        return rows_fail(&t->c, NULL, ROWS_NO_ELEM, "expected a row object, got %s",
                         rows_kind_name(v.kind));
    }
    for (size_t i = 0; i < t->c.s->field_count; i++)
        t->slots[i].state = SLOT_ABSENT;
    t->nextra = 0;
    t->keys.len = 0;
    p = scan_ws(x, p + 1);
    if (scan_peek(x, p) == '}') {
        p++;
    } else {
        for (;;) {
            int c;
            if ((rc = tx_member(t, &p)) != QV_OK)
                return rc;
            p = scan_ws(x, p);
            c = scan_peek(x, p);
            if (c == ',') {
                p = scan_ws(x, p + 1);
                continue;
            }
            if (c == '}') {
                p++;
                break;
            }
            return scan_syntax(x, p, "expected ',' or '}'");
        }
    }
    *pos = p;
    for (size_t i = 0; i < t->c.s->field_count; i++)
        if ((rc = tx_field(t, i)) != QV_OK)
            return rc;
    if ((rc = tx_dynamic(t)) != QV_OK)
        return rc;
    return rows_end_row(&t->c);
}

/* The data array at *pos (after whitespace). */
static qv_err tx_rows(tx *t, size_t *pos)
{
    scan *x = &t->x;
    size_t p = *pos;
    rv v;
    qv_err rc;

    if (scan_peek(x, p) != '[') {
        if ((rc = scan_scalar(x, &p, &v)) != QV_OK)
            return rc;
        return qv_error_set(x->err, QV_EBADJSON,
                            "can only accept json format request, error: json: cannot unmarshal "
                            "%s into Go struct field .data of type []interface {}",
                            rows_kind_name(v.kind));
    }
    p = scan_ws(x, p + 1);
    if (scan_peek(x, p) == ']') {
        *pos = p + 1;
        return QV_OK;
    }
    for (;;) {
        int c;
        if ((rc = rows_check_count(&t->c, t->c.row + 1)) != QV_OK ||
            (rc = tx_row(t, &p)) != QV_OK)
            return rc;
        p = scan_ws(x, p);
        c = scan_peek(x, p);
        if (c == ',') {
            p = scan_ws(x, p + 1);
            continue;
        }
        if (c == ']')
            break;
        return scan_syntax(x, p, "expected ',' or ']'");
    }
    *pos = p + 1;
    return QV_OK;
}

/* After a data error: a syntax error anywhere in [start, end) takes precedence. */
static qv_err tx_recheck(tx *t, size_t start, qv_err rc)
{
    size_t p = start;
    qv_err vrc = scan_check(&t->x, &p, 1);

    if (vrc != QV_OK)
        return vrc;
    p = scan_ws(&t->x, p);
    if (p != t->x.end)
        return scan_syntax(&t->x, p, "unexpected character after the data array");
    return rc;
}

qv_err qv_codec_decode_rows_text(const char *body, qv_text_span span, const qv_schema *s,
                                 const qv_rows_opts *o, qv_rowbatch *out, qv_error *err)
{
    tx t;
    size_t p;
    qv_err rc;

    if (!span.len) {
        memset(out, 0, sizeof *out);
        return qv_error_set(err, QV_EMISSING,
                            "missing required parameters, error: Key: 'data' Error:Field "
                            "validation for 'data' failed on the 'required' tag");
    }
    if ((rc = tx_begin(&t, body, span.off + span.len, s, o, out, err)) != QV_OK)
        return tx_end(&t, rc);
    p = scan_ws(&t.x, span.off);
    if ((rc = tx_rows(&t, &p)) == QV_OK && (p = scan_ws(&t.x, p)) != t.x.end)
        rc = scan_syntax(&t.x, p, "unexpected character after the data array");
    if (rc == QV_EBADDATA || rc == QV_ETOOBIG)
        rc = tx_recheck(&t, span.off, rc);
    return tx_end(&t, rc);
}

/* ---- the body --------------------------------------------------------------------- */

qv_err qv_codec_split_body(const char *body, size_t len, const char *key, size_t max_depth,
                           qv_jdoc **rest, qv_text_span *span, qv_error *err)
{
    scan x = {.t = body, .end = len, .max_depth = max_depth ? max_depth
                                                            : QV_CODEC_DEFAULT_MAX_DEPTH,
              .err = err};
    size_t p = scan_ws(&x, 0), keylen = strlen(key);
    qv_buf out;
    bool first = true, null = false;
    qv_err rc = QV_OK;

    *rest = NULL;
    *span = (qv_text_span){0, 0};
    if (scan_peek(&x, p) != '{') /* empty, null, not an object: jansson's answer */
        return qv_jdoc_parse(body, len, x.max_depth, rest, err);
    qv_buf_init(&x.str);
    qv_buf_init(&out);
    qv_buf_put_u8(&out, '{');
    p = scan_ws(&x, p + 1);
    if (scan_peek(&x, p) == '}')
        p++;
    else
        for (;;) {
            size_t kstart = p, koff, klen, vstart, vend, depth;
            bool kbuf;
            const char *k;
            int c;
            x.str.len = 0;
            if (scan_peek(&x, p) != '"') {
                rc = scan_syntax(&x, p, "expected a string key");
                break;
            }
            if ((rc = scan_string(&x, &p, &x.str, &koff, &klen, &kbuf)) != QV_OK)
                break;
            k = kbuf ? (const char *)x.str.data + koff : body + koff;
            if (klen == keylen && memcmp(k, key, klen) == 0) {
                size_t q = span->off;
                if (span->len && (rc = scan_check(&x, &q, 1)) != QV_OK)
                    break; /* a replaced value must still be valid */
                kstart = SIZE_MAX;
            }
            p = scan_ws(&x, p);
            if (scan_peek(&x, p) != ':') {
                rc = scan_syntax(&x, p, "expected ':'");
                break;
            }
            vstart = p = scan_ws(&x, p + 1);
            if ((rc = scan_skip(&x, p, &vend, &depth)) != QV_OK)
                break;
            if (kstart == SIZE_MAX) {
                *span = (qv_text_span){vstart, vend - vstart};
                null = vend - vstart == 4 && memcmp(body + vstart, "null", 4) == 0;
            } else {
                if (!first)
                    qv_buf_put_u8(&out, ',');
                first = false;
                qv_buf_put(&out, body + kstart, p - kstart); /* "key" : */
                qv_buf_put(&out, body + vstart, vend - vstart);
            }
            p = scan_ws(&x, vend);
            c = scan_peek(&x, p);
            if (c == ',') {
                p = scan_ws(&x, p + 1);
                continue;
            }
            if (c != '}')
                rc = scan_syntax(&x, p, "expected ',' or '}'");
            p++;
            break;
        }
    if (rc == QV_OK && (p = scan_ws(&x, p)) != len)
        rc = scan_syntax(&x, p, "unexpected character after the body");
    qv_buf_put_u8(&out, '}');
    if (rc == QV_OK && out.failed)
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    if (rc == QV_OK)
        rc = qv_jdoc_parse((const char *)out.data, out.len, x.max_depth, rest, err);
    if (rc != QV_OK || null)
        *span = (qv_text_span){0, 0};
    qv_buf_fini(&out);
    qv_buf_fini(&x.str);
    return rc;
}

qv_err qv_codec_decode_insert_body(const char *body, size_t len, const qv_schema *s,
                                   const qv_rows_opts *o, qv_rowbatch *out, qv_jdoc **rest,
                                   qv_error *err)
{
    qv_text_span span;
    qv_jdoc *doc = NULL;
    qv_err rc = qv_codec_split_body(body, len, "data", o ? o->max_depth : 0, &doc, &span, err);

    if (rest)
        *rest = NULL;
    if (rc != QV_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    rc = qv_codec_decode_rows_text(body, span, s, o, out, err);
    if (rc == QV_OK && rest)
        *rest = doc;
    else
        qv_jdoc_free(doc);
    return rc;
}
