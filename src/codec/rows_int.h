/* SPDX-License-Identifier: Apache-2.0 */
/* rows_int.h - the row decoder's shared core (rows_common.c), used by the jansson front end
 * (rows_decode.c) and the text front end (rows_text.c). A front end turns each JSON value
 * into an `rv` (a scalar view; containers are walked by the front end) and calls the
 * rows_* helpers, which do every check and every push, so both front ends build the same
 * bytes and say the same things. Not part of the public API. */
#ifndef QUIVER_CODEC_ROWS_INT_H
#define QUIVER_CODEC_ROWS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/buf.h"
#include "quiver/jsonb.h"
#include "quiver/rowbatch.h"
#include "quiver/rowcodec.h"

#define ROWS_NO_ELEM ((size_t)-1)
#define ROWS_VALUE_DEPTH 3 /* a row value sits under the body, data array and row */

typedef enum rv_kind {
    RV_NULL,
    RV_BOOL,
    RV_INT,    /* fits int64 */
    RV_BIGINT, /* an integer literal beyond int64 (text front end only; jansson refuses) */
    RV_REAL,   /* a number with a fraction or exponent */
    RV_STRING,
    RV_ARRAY,
    RV_OBJECT,
} rv_kind;

/* One JSON value as the checks see it. Numbers from text carry their token in s/len so
 * Float is rounded from the decimal text; from jansson s is NULL and d is set. */
typedef struct rv {
    rv_kind kind;
    bool b;
    bool has_d; /* d is valid (jansson numbers, or text reals once converted) */
    int64_t i;
    double d;
    const char *s; /* RV_STRING: decoded UTF-8 bytes; numbers from text: the token */
    size_t len;
} rv;

typedef enum pk_mode { PK_UNDECIDED, PK_PRESENT, PK_ABSENT } pk_mode;

typedef struct rows_ctx {
    const qv_schema *s;
    qv_rows_opts o;
    qv_rowbatch *b;
    qv_error *err;
    size_t row;            /* index of the row being decoded */
    size_t pk;             /* index of the primary key field */
    pk_mode pk_mode;       /* whether rows carry the key (pk_auto/pk_optional) */
    qv_jsonb_builder jb;   /* Array values, JSON values, the dynamic object */
    qv_jsonb_builder tmp;  /* text front end: one JSON value parsed from its text */
    float *vec;            /* max dim floats of scratch */
    qv_buf scratch;        /* numbers rendered as text for VarChar */
} rows_ctx;

/* Initialise the batch and the context; o may be NULL. */
qv_err rows_begin(rows_ctx *c, const qv_schema *s, const qv_rows_opts *o, qv_rowbatch *b,
                  qv_error *err);
/* Fill the function outputs (on success), release scratch; on failure also finalise
 * (zero) the batch. Returns rc, or the error of a function. */
qv_err rows_end(rows_ctx *c, qv_err rc);
/* Refuse row index `row` beyond max_rows. */
qv_err rows_check_count(rows_ctx *c, size_t rows);

/* "fail to deal the insert data, error: data[row].<field>[elem]: <fmt>" as QV_EBADDATA;
 * f may be NULL (no field), elem ROWS_NO_ELEM (no index). */
qv_err rows_fail(rows_ctx *c, const qv_field *f, size_t elem, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *rows_kind_name(rv_kind k);

/* The primary key's value v (NULL when the key is absent) checked against pk_auto /
 * pk_optional. On success *decode says whether to decode it (false: leave the column). */
qv_err rows_pk_presence(rows_ctx *c, const qv_field *f, const rv *v, bool *decode);
/* Push field f's value v (any kind; RV_NULL = absent) into its column. Not for
 * FloatVector, JSON or Array values, which go through the helpers below. */
qv_err rows_scalar(rows_ctx *c, const qv_field *f, const rv *v);
/* A field with no value (absent or null): default, null, or an error naming it. */
qv_err rows_missing(rows_ctx *c, const qv_field *f);
/* Convert a vector or Float value to float32 (range-checked). elem names the index. */
qv_err rows_float(rows_ctx *c, const qv_field *f, size_t elem, const rv *v, float *out);
/* FloatVector: the caller parsed n elements into v (the first dim of them); check n, push. */
qv_err rows_push_vector(rows_ctx *c, const qv_field *f, const float *v, size_t n);
/* A jansson value as jsonb (rows_decode.c; the calls qv_jsonb_parse_json makes). */
void rows_to_jsonb(qv_jsonb_builder *b, const qv_jval *v);
/* Float16/BFloat16/Binary/SparseFloatVector: the value as jsonb (rows_vector.c). */
qv_err rows_push_vector_jsonb(rows_ctx *c, const qv_field *f, qv_jsonb v);
/* A function's output field: never given by the client (present: the value is there and
 * not null); its column is filled by rows_fill_functions once every row is decoded. */
qv_err rows_function_input(rows_ctx *c, const qv_field *f, bool present);
qv_err rows_fill_functions(rows_ctx *c);
/* Array: the caller opens c->jb with qv_jsonb_begin_array, calls rows_array_elem for each
 * element, closes it and calls rows_push_jb. */
qv_err rows_array_elem(rows_ctx *c, const qv_field *f, size_t i, const rv *v);
qv_err rows_check_array_len(rows_ctx *c, const qv_field *f, size_t n);
/* Finish c->jb (reset afterwards) and push its bytes into column col (dynamic: NULL). */
qv_err rows_push_jb(rows_ctx *c, qv_colbuf *col);
/* Reject a non-field key (the $meta key, or any when the schema has no dynamic field). */
qv_err rows_check_extra(rows_ctx *c, const char *key, size_t klen);
/* Index of the field named key[0, klen), or SIZE_MAX. */
size_t rows_field_index(const qv_schema *s, const char *key, size_t klen);
/* Complete the row: push an empty dynamic value if none was pushed, check allocations,
 * advance. */
qv_err rows_end_row(rows_ctx *c);

/* ---- text scanning (rows_scan.c) --------------------------------------------------- */

/* A window of JSON text: scanning never reads t[end] or beyond. Offsets are absolute
 * (relative to the body), so error messages point into the request. */
typedef struct scan {
    const char *t;
    size_t end;
    size_t max_depth; /* nesting limit for scan_check */
    qv_error *err;
    qv_buf str; /* decoded string values (reset per value) */
} scan;

/* QV_EBADJSON "can only accept json format request, error: <what> at offset <pos>". */
qv_err scan_syntax(scan *x, size_t pos, const char *what);
size_t scan_ws(const scan *x, size_t p);
/* The byte at p, or -1 at the end. */
static inline int scan_peek(const scan *x, size_t p)
{
    return p < x->end ? (unsigned char)x->t[p] : -1;
}
/* Decode the string whose opening quote is at *pos, advancing past its closing quote. If
 * it has no escapes, *off and *len locate it in the text and *in_buf is false; otherwise
 * its decoded bytes are appended to buf at *off. Checks escapes and UTF-8 as jansson does. */
qv_err scan_string(scan *x, size_t *pos, qv_buf *buf, size_t *off, size_t *len, bool *in_buf);
/* The scalar at *pos as an rv, advancing past it; strings are decoded into x->str (valid
 * until the next call). A '[' or '{' yields RV_ARRAY / RV_OBJECT without advancing. */
qv_err scan_scalar(scan *x, size_t *pos, rv *v);
/* Whether s[0, n) is exactly one JSON number; if so *v is that number (its token is s). */
bool scan_numeric_string(const char *s, size_t n, rv *v);
/* End of the value at pos, following only strings and bracket nesting (not a validation:
 * every span found this way is later parsed strictly or handed to jansson); *depth is its
 * nesting (0 for a scalar). */
qv_err scan_skip(scan *x, size_t pos, size_t *end, size_t *depth);
/* Strictly validate the value at *pos (RFC 8259, as jansson reads it), advancing past it;
 * level is the number of containers around it (checked against max_depth). */
qv_err scan_check(scan *x, size_t *pos, size_t level);

#endif
