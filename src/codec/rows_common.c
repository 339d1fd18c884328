/* SPDX-License-Identifier: Apache-2.0 */
/* rows_common.c - the row decoder's checks and column pushes, shared by the jansson and
 * the text front ends so that both build identical batches (see rows_int.h). Every rule of
 * quiver/rowcodec.h that concerns one value lives here. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/rows_int.h"
#include "quiver/alloc.h"

#define FLOAT_OVERFLOW 0x1.ffffffp127 /* the smallest double that rounds to float inf */
/* printf arguments for "%.*s" of a value's text (strings, number tokens), at most 64 bytes */
#define TOKEN_FMT(v) (int)((v)->s ? ((v)->len > 64 ? 64 : (v)->len) : 0), ((v)->s ? (v)->s : "")

qv_err rows_begin(rows_ctx *c, const qv_schema *s, const qv_rows_opts *o, qv_rowbatch *b,
                  qv_error *err)
{
    const qv_field *pk = qv_schema_primary(s);
    uint32_t dim = 1;

    memset(c, 0, sizeof *c);
    c->s = s;
    c->b = b;
    c->err = err;
    if (o)
        c->o = *o;
    if (!c->o.max_depth)
        c->o.max_depth = QV_CODEC_DEFAULT_MAX_DEPTH;
    c->pk = pk ? (size_t)(pk - s->fields) : SIZE_MAX;
    qv_jsonb_builder_init(&c->jb);
    qv_jsonb_builder_init(&c->tmp);
    qv_buf_init(&c->scratch);
    for (size_t i = 0; i < s->field_count; i++)
        if (s->fields[i].type == QV_TYPE_FLOAT_VECTOR && s->fields[i].dim > dim)
            dim = s->fields[i].dim;
    if (!(c->vec = qv_malloc(dim * sizeof *c->vec)) || qv_rowbatch_init(b, s) != QV_OK) {
        memset(b, 0, sizeof *b);
        return rows_end(c, qv_error_set(err, QV_ENOMEM, "out of memory"));
    }
    return QV_OK;
}

qv_err rows_end(rows_ctx *c, qv_err rc)
{
    if (rc == QV_OK && c->s->function_count)
        rc = rows_fill_functions(c);
    qv_jsonb_builder_fini(&c->jb);
    qv_jsonb_builder_fini(&c->tmp);
    qv_buf_fini(&c->scratch);
    qv_free(c->vec);
    c->vec = NULL;
    if (rc != QV_OK)
        qv_rowbatch_fini(c->b); /* nothing partial: fini leaves the batch zeroed */
    return rc;
}

qv_err rows_check_count(rows_ctx *c, size_t rows)
{
    if (c->o.max_rows && rows > c->o.max_rows)
        return qv_error_set(c->err, QV_ETOOBIG,
                            "fail to deal the insert data, error: too many rows, the limit is "
                            "%zu rows per request",
                            c->o.max_rows);
    return QV_OK;
}

qv_err rows_fail(rows_ctx *c, const qv_field *f, size_t elem, const char *fmt, ...)
{
    char where[QV_MAX_NAME_LEN + 64], what[384];
    va_list ap;
    int n = snprintf(where, sizeof where, "data[%zu]", c->row);

    if (f)
        n += snprintf(where + n, sizeof where - (size_t)n, ".%s", f->name);
    if (elem != ROWS_NO_ELEM)
        snprintf(where + n, sizeof where - (size_t)n, "[%zu]", elem);
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return qv_error_set(c->err, QV_EBADDATA, "fail to deal the insert data, error: %s: %s",
                        where, what);
}

const char *rows_kind_name(rv_kind k)
{
    static const char *const names[] = {"null",   "bool",  "number", "number",
                                        "number", "string", "array", "object"};
    return names[k];
}

static qv_err wrong_kind(rows_ctx *c, const qv_field *f, size_t elem, qv_type want,
                         const rv *v)
{
    if (v->kind == RV_REAL && qv_type_is_integer(want))
        return rows_fail(c, f, elem, "expected %s, got a number with a fraction or exponent",
                         qv_type_name(want));
    return rows_fail(c, f, elem, "expected %s, got %s", qv_type_name(want),
                     rows_kind_name(v->kind));
}

qv_err rows_pk_presence(rows_ctx *c, const qv_field *f, const rv *v, bool *decode)
{
    pk_mode mode;

    *decode = true;
    if (c->o.pk_auto) {
        *decode = false;
        return v ? rows_fail(c, NULL, ROWS_NO_ELEM,
                             "no need to pass pk field(%s) when autoid==true in insert", f->name)
                 : QV_OK;
    }
    if (!c->o.pk_optional)
        return QV_OK;
    mode = v && v->kind != RV_NULL ? PK_PRESENT : PK_ABSENT;
    if (c->pk_mode == PK_UNDECIDED)
        c->pk_mode = mode;
    if (c->pk_mode != mode)
        return rows_fail(c, f, ROWS_NO_ELEM,
                         "the primary key of an autoID collection must be passed in every row "
                         "or in none");
    *decode = mode == PK_PRESENT;
    return QV_OK;
}

static qv_colbuf *col_of(rows_ctx *c, const qv_field *f)
{
    return &c->b->cols[f - c->s->fields];
}

static void push_int(qv_colbuf *col, qv_type t, int64_t x)
{
    int8_t i8 = (int8_t)x;
    int16_t i16 = (int16_t)x;
    int32_t i32 = (int32_t)x;

    switch (t) {
    case QV_TYPE_INT8: qv_colbuf_push_fixed(col, &i8); break;
    case QV_TYPE_INT16: qv_colbuf_push_fixed(col, &i16); break;
    case QV_TYPE_INT32: qv_colbuf_push_fixed(col, &i32); break;
    default: qv_colbuf_push_fixed(col, &x); break;
    }
}

qv_err rows_missing(rows_ctx *c, const qv_field *f)
{
    qv_colbuf *col = col_of(c, f);
    const qv_value *d = &f->default_value;

    if (f->has_default && d->type != QV_TYPE_NONE) {
        switch (f->type) {
        case QV_TYPE_BOOL: {
            uint8_t u = d->u.b;
            qv_colbuf_push_fixed(col, &u);
            return QV_OK;
        }
        case QV_TYPE_INT8:
        case QV_TYPE_INT16:
        case QV_TYPE_INT32:
        case QV_TYPE_INT64:
            push_int(col, f->type, d->u.i);
            return QV_OK;
        case QV_TYPE_FLOAT: {
            float x = (float)d->u.d;
            qv_colbuf_push_fixed(col, &x);
            return QV_OK;
        }
        case QV_TYPE_DOUBLE:
            qv_colbuf_push_fixed(col, &d->u.d);
            return QV_OK;
        case QV_TYPE_VARCHAR:
            qv_colbuf_push_var(col, d->u.str.s, d->u.str.len);
            return QV_OK;
        default:
            break;
        }
    }
    if (f->nullable) {
        qv_colbuf_push_null(col);
        return QV_OK;
    }
    return rows_fail(c, f, ROWS_NO_ELEM,
                     "missing value: the field is not nullable and has no default value");
}

/* Integer range of an Int type. */
static void int_range(qv_type t, int64_t *lo, int64_t *hi)
{
    switch (t) {
    case QV_TYPE_INT8: *lo = INT8_MIN; *hi = INT8_MAX; break;
    case QV_TYPE_INT16: *lo = INT16_MIN; *hi = INT16_MAX; break;
    case QV_TYPE_INT32: *lo = INT32_MIN; *hi = INT32_MAX; break;
    default: *lo = INT64_MIN; *hi = INT64_MAX; break;
    }
}

/* strconv.ParseInt(s, 10, 64): optional sign, one or more decimal digits, nothing else. */
static bool parse_int_text(const char *s, size_t n, int64_t *out, bool *range)
{
    size_t i = 0;
    bool neg = false;
    uint64_t acc = 0, lim;

    *range = false;
    if (n && (s[0] == '+' || s[0] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return false;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return false;
        if (acc > (lim - d) / 10)
            *range = true;
        else
            acc = acc * 10 + d;
    }
    if (*range)
        return false;
    *out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return true;
}

/* strconv.ParseBool. */
static bool parse_bool_text(const char *s, size_t n, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

    for (size_t i = 0; i < 6; i++) {
        if (strlen(yes[i]) == n && memcmp(yes[i], s, n) == 0)
            return *out = true;
        if (strlen(no[i]) == n && memcmp(no[i], s, n) == 0)
            return !(*out = false);
    }
    return false;
}

/* The int64 of an Int field's value (number or decimal string), range-checked. */
static qv_err int_of(rows_ctx *c, const qv_field *f, size_t elem, qv_type t, const rv *v,
                     bool strings, int64_t *out)
{
    int64_t lo, hi, x = 0;
    bool range = false;

    if (v->kind == RV_INT) {
        x = v->i;
    } else if (v->kind == RV_BIGINT) {
        return rows_fail(c, f, elem, "value %.*s out of range for %s", TOKEN_FMT(v),
                         qv_type_name(t));
    } else if (v->kind == RV_STRING && strings) {
        if (!parse_int_text(v->s, v->len, &x, &range))
            return rows_fail(c, f, elem, range ? "value \"%.*s\" out of range for %s"
                                               : "value \"%.*s\" is not a valid %s",
                             TOKEN_FMT(v), qv_type_name(t));
    } else {
        return wrong_kind(c, f, elem, t, v);
    }
    int_range(t, &lo, &hi);
    if (x < lo || x > hi)
        return rows_fail(c, f, elem, "value %" PRId64 " out of range for %s [%" PRId64
                                     ", %" PRId64 "]",
                         x, qv_type_name(t), lo, hi);
    *out = x;
    return QV_OK;
}

/* strtod of a number token (text front end); the token is a valid JSON number. */
static qv_err token_double(rows_ctx *c, const char *s, size_t n, double *out)
{
    char small[64], *tmp = small;

    if (n >= sizeof small && !(tmp = qv_malloc(n + 1)))
        return qv_error_set(c->err, QV_ENOMEM, "out of memory");
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, NULL);
    if (tmp != small)
        qv_free(tmp);
    return QV_OK;
}

/* The double of a number value. */
static qv_err double_of(rows_ctx *c, const qv_field *f, size_t elem, qv_type t, const rv *v,
                        double *out)
{
    qv_err rc;

    if (v->kind == RV_INT) {
        *out = (double)v->i;
        return QV_OK;
    }
    if (v->kind != RV_REAL && v->kind != RV_BIGINT)
        return wrong_kind(c, f, elem, t, v);
    if (v->has_d)
        *out = v->d;
    else if ((rc = token_double(c, v->s, v->len, out)) != QV_OK)
        return rc;
    if (!isfinite(*out))
        return rows_fail(c, f, elem, "value %.*s out of range for %s", TOKEN_FMT(v),
                         qv_type_name(t));
    return QV_OK;
}

qv_err rows_float(rows_ctx *c, const qv_field *f, size_t elem, const rv *v, float *out)
{
    qv_type want = f->type == QV_TYPE_FLOAT_VECTOR ? QV_TYPE_FLOAT
                   : f->type == QV_TYPE_ARRAY      ? f->element_type
                                                   : f->type;
    size_t used;
    qv_err rc;

    if (v->kind == RV_INT) {
        *out = (float)v->i; /* correctly rounded, as strtof of the same digits */
        return QV_OK;
    }
    if (v->kind != RV_REAL && v->kind != RV_BIGINT)
        return f->type == QV_TYPE_FLOAT_VECTOR
                   ? rows_fail(c, f, elem, "expected a number, got %s", rows_kind_name(v->kind))
                   : wrong_kind(c, f, elem, want, v);
    if (v->has_d) {
        if (fabs(v->d) >= FLOAT_OVERFLOW)
            return rows_fail(c, f, elem, "value %g out of float32 range", v->d);
        *out = (float)v->d;
        return QV_OK;
    }
    if ((rc = qv_codec_parse_float(v->s, v->len, out, &used)) != QV_OK)
        return rc == QV_ENOMEM ? qv_error_set(c->err, rc, "out of memory")
                               : qv_error_set(c->err, QV_EINTERNAL, "bad number token");
    if (isinf(*out))
        return rows_fail(c, f, elem, "value %.*s out of float32 range", TOKEN_FMT(v));
    return QV_OK;
}

/* A number's text for a VarChar: integers exactly, reals in shortest round-trip form. */
static qv_err number_text(rows_ctx *c, const rv *v, const char **s, size_t *n)
{
    char tmp[40];
    double d;
    qv_err rc;

    c->scratch.len = 0;
    if (v->kind == RV_INT) {
        qv_buf_printf(&c->scratch, "%" PRId64, v->i);
    } else if (v->kind == RV_BIGINT) {
        qv_buf_put(&c->scratch, v->s, v->len);
    } else {
        if (v->has_d)
            d = v->d;
        else if ((rc = token_double(c, v->s, v->len, &d)) != QV_OK)
            return rc;
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, d);
            if (strtod(tmp, NULL) == d)
                break;
        }
        qv_buf_puts(&c->scratch, tmp);
    }
    if (c->scratch.failed)
        return qv_error_set(c->err, QV_ENOMEM, "out of memory");
    *s = (const char *)c->scratch.data;
    *n = c->scratch.len;
    return QV_OK;
}

static qv_err varchar_check(rows_ctx *c, const qv_field *f, size_t elem, size_t n)
{
    if (f->max_length && n > f->max_length)
        return rows_fail(c, f, elem, "length %zu exceeds max_length %u", n, f->max_length);
    return QV_OK;
}

qv_err rows_scalar(rows_ctx *c, const qv_field *f, const rv *v)
{
    qv_colbuf *col = col_of(c, f);
    const char *s = NULL;
    size_t n = 0;
    int64_t x;
    double d;
    float fl;
    bool b;
    rv num;
    qv_err rc;

    if (!v || v->kind == RV_NULL)
        return rows_missing(c, f);
    switch (f->type) {
    case QV_TYPE_BOOL:
        if (v->kind == RV_BOOL)
            b = v->b;
        else if (v->kind == RV_INT && (v->i == 0 || v->i == 1))
            b = v->i == 1; /* Milvus parses the number's text with strconv.ParseBool */
        else if (v->kind != RV_STRING)
            return wrong_kind(c, f, ROWS_NO_ELEM, f->type, v);
        else if (!parse_bool_text(v->s, v->len, &b))
            return rows_fail(c, f, ROWS_NO_ELEM, "value \"%.*s\" is not a valid Bool",
                             TOKEN_FMT(v));
        qv_colbuf_push_fixed(col, &(uint8_t){b});
        return QV_OK;
    case QV_TYPE_INT8:
    case QV_TYPE_INT16:
    case QV_TYPE_INT32:
    case QV_TYPE_INT64:
        if ((rc = int_of(c, f, ROWS_NO_ELEM, f->type, v, true, &x)) != QV_OK)
            return rc;
        push_int(col, f->type, x);
        return QV_OK;
    case QV_TYPE_FLOAT:
        if (v->kind == RV_STRING && scan_numeric_string(v->s, v->len, &num))
            v = &num; /* a numeric string is cast, as Milvus's cast.ToFloat32E */
        if ((rc = rows_float(c, f, ROWS_NO_ELEM, v, &fl)) != QV_OK)
            return rc;
        qv_colbuf_push_fixed(col, &fl);
        return QV_OK;
    case QV_TYPE_DOUBLE:
        if (v->kind == RV_STRING && scan_numeric_string(v->s, v->len, &num))
            v = &num;
        if ((rc = double_of(c, f, ROWS_NO_ELEM, f->type, v, &d)) != QV_OK)
            return rc;
        qv_colbuf_push_fixed(col, &d);
        return QV_OK;
    case QV_TYPE_VARCHAR:
        if (v->kind == RV_STRING) {
            s = v->s;
            n = v->len;
        } else if (v->kind == RV_INT || v->kind == RV_REAL || v->kind == RV_BIGINT) {
            if ((rc = number_text(c, v, &s, &n)) != QV_OK)
                return rc;
        } else {
            return wrong_kind(c, f, ROWS_NO_ELEM, f->type, v);
        }
        if ((rc = varchar_check(c, f, ROWS_NO_ELEM, n)) != QV_OK)
            return rc;
        qv_colbuf_push_var(col, s, n);
        return QV_OK;
    default:
        return qv_error_set(c->err, QV_EINTERNAL, "field %s: type %d is not a scalar", f->name,
                            (int)f->type);
    }
}

qv_err rows_push_vector(rows_ctx *c, const qv_field *f, const float *v, size_t n)
{
    if (n != f->dim)
        return rows_fail(c, f, ROWS_NO_ELEM, "dimension mismatch, expected %u floats, got %zu",
                         f->dim, n);
    qv_colbuf_push_fixed(col_of(c, f), v);
    return QV_OK;
}

qv_err rows_array_elem(rows_ctx *c, const qv_field *f, size_t i, const rv *v)
{
    qv_type t = f->element_type;
    int64_t x;
    double d;
    float fl;
    qv_err rc;

    switch (t) {
    case QV_TYPE_BOOL:
        if (v->kind != RV_BOOL)
            return wrong_kind(c, f, i, t, v);
        qv_jsonb_bool(&c->jb, v->b);
        return QV_OK;
    case QV_TYPE_INT8:
    case QV_TYPE_INT16:
    case QV_TYPE_INT32:
    case QV_TYPE_INT64:
        if ((rc = int_of(c, f, i, t, v, false, &x)) != QV_OK)
            return rc;
        qv_jsonb_int(&c->jb, x);
        return QV_OK;
    case QV_TYPE_FLOAT:
        if ((rc = rows_float(c, f, i, v, &fl)) != QV_OK)
            return rc;
        qv_jsonb_double(&c->jb, (double)fl);
        return QV_OK;
    case QV_TYPE_DOUBLE:
        if ((rc = double_of(c, f, i, t, v, &d)) != QV_OK)
            return rc;
        qv_jsonb_double(&c->jb, d);
        return QV_OK;
    case QV_TYPE_VARCHAR:
        if (v->kind != RV_STRING)
            return wrong_kind(c, f, i, t, v);
        if ((rc = varchar_check(c, f, i, v->len)) != QV_OK)
            return rc;
        qv_jsonb_string(&c->jb, v->s, v->len);
        return QV_OK;
    default:
        return qv_error_set(c->err, QV_EINTERNAL, "field %s: unsupported element type %d",
                            f->name, (int)t);
    }
}

qv_err rows_check_array_len(rows_ctx *c, const qv_field *f, size_t n)
{
    if (f->max_capacity && n > f->max_capacity)
        return rows_fail(c, f, ROWS_NO_ELEM, "array length %zu exceeds max_capacity %u", n,
                         f->max_capacity);
    return QV_OK;
}

qv_err rows_push_jb(rows_ctx *c, qv_colbuf *col)
{
    const uint8_t *p;
    size_t n;
    qv_error e;
    qv_err rc = qv_jsonb_finish(&c->jb, &p, &n, &e);

    if (rc == QV_ENOMEM)
        return qv_error_set(c->err, rc, "out of memory");
    if (rc != QV_OK)
        return rows_fail(c, NULL, ROWS_NO_ELEM, "%s", e.msg);
    qv_colbuf_push_var(col ? col : &c->b->dynamic, p, n);
    qv_jsonb_builder_reset(&c->jb);
    return QV_OK;
}

qv_err rows_check_extra(rows_ctx *c, const char *key, size_t klen)
{
    if (!c->s->enable_dynamic)
        return rows_fail(c, NULL, ROWS_NO_ELEM,
                         "has pass more field without dynamic schema, please check it: %.*s",
                         (int)(klen > 255 ? 255 : klen), key);
    if (klen == 5 && memcmp(key, "$meta", 5) == 0)
        return rows_fail(c, NULL, ROWS_NO_ELEM,
                         "use the invalid field name($meta) when enable dynamicField");
    return QV_OK;
}

size_t rows_field_index(const qv_schema *s, const char *key, size_t klen)
{
    for (size_t i = 0; i < s->field_count; i++) {
        const char *name = s->fields[i].name;
        if (name[0] == (klen ? key[0] : '\0') && strlen(name) == klen &&
            memcmp(name, key, klen) == 0)
            return i;
    }
    return SIZE_MAX;
}

qv_err rows_end_row(rows_ctx *c)
{
    qv_rowbatch *b = c->b;

    if (b->dynamic.rows == b->rows)
        qv_colbuf_push_var(&b->dynamic, NULL, 0);
    for (size_t i = 0; i < b->ncols; i++)
        if (b->cols[i].data.failed)
            return qv_error_set(c->err, QV_ENOMEM, "out of memory building a row batch");
    if (b->dynamic.data.failed)
        return qv_error_set(c->err, QV_ENOMEM, "out of memory building a row batch");
    b->rows++;
    c->row++;
    return QV_OK;
}
