/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/rowcodec.h - Milvus REST row objects <-> columnar row batches (quiver/rowbatch.h).
 *
 * DECODE (insert, upsert): `data` is an array of row objects keyed by field name; each row
 * becomes one value per schema column plus one dynamic ($meta) value. Two front ends
 * produce byte-identical batches:
 *   qv_codec_decode_rows       from a jansson-parsed array (upsert partial updates, tests);
 *   qv_codec_decode_rows_text  straight from the request text (the ingest path): a
 *                              streaming scanner with a dedicated float-array parser,
 *                              several times faster than building a jansson tree.
 * (The only intended difference: the jansson path sees Float values as doubles and rounds
 * them to float32, the text path rounds the decimal text directly like strtof; the two
 * differ only for the rare decimals whose double lies exactly on a float32 tie.)
 *
 * Value rules (Milvus RESTful v2, reference §4). A field's JSON null counts as absent.
 *   Bool         true/false, 0/1, or a string strconv.ParseBool accepts ("true", "False",
 *                "1"), as Milvus parses the value's text
 *   Int8..Int32  integer, or a string holding a decimal integer; range-checked
 *   Int64        integer, exact over the whole int64 range, or a decimal string; 1.5 or
 *                1e3 are refused
 *   Float/Double any number, or a string holding exactly one JSON number; Float is
 *                rounded to float32 (from the decimal text) and must fit its range
 *   VarChar      string, or a number coerced to its text; at most max_length BYTES
 *   JSON         any JSON value, stored as jsonb ("{\"a\":1}" stays a JSON string)
 *   Array        JSON array of at most max_capacity elements of element_type (strict:
 *                no string casts), stored as a jsonb array: Bool, Int* as jsonb int,
 *                Float (rounded to float32) and Double as jsonb double, VarChar as string
 *   FloatVector  JSON array of exactly dim numbers, each within float32 range
 *   Float16Vector, BFloat16Vector, BinaryVector, SparseFloatVector: see the top of
 *                codec/rows_vector.c (base64 or arrays; both sparse forms)
 *   the output field of a schema function (BM25): never given (an error naming the
 *                function); filled from its input field once every row is decoded
 * Missing/null: the default value when the field has one, else null when nullable, else an
 * error naming the field. Keys that are not fields go into the dynamic column as one jsonb
 * object per row (0 bytes when the row has none) when the schema enables dynamic fields,
 * else they are an error; the key "$meta" itself is always refused. Milvus's wording is
 * kept where it has one ("has pass more field without dynamic schema, please check it",
 * "use the invalid field name($meta) when enable dynamicField"). An empty `data` array
 * decodes to 0 rows (Milvus answers 1802 for it: the caller decides).
 *
 * ERRORS: the whole batch is refused on the first error (out is left zeroed, so
 * qv_rowbatch_fini on it is harmless). Row errors are QV_EBADDATA (Milvus 1804) worded
 * "fail to deal the insert data, error: data[3].vector: dimension mismatch, expected 4
 * floats, got 3"; malformed text anywhere in the data is QV_EBADJSON (1801) worded "can
 * only accept json format request, error: ... at offset N" (byte offset in the body); more
 * rows than max_rows is QV_ETOOBIG; allocation failure QV_ENOMEM.
 *
 * PRIMARY KEY of an autoID collection (pk_auto, or pk_optional when no row carries it):
 * the decoded batch has b->rows rows in every column EXCEPT the primary key column, which
 * is left EMPTY (b->cols[pk].rows == 0). The caller then appends exactly b->rows generated
 * ids with qv_colbuf_push_fixed (Int64 keys) before using the batch anywhere else.
 * With pk_optional, either every row carries the key (column complete) or none does
 * (column empty); a mix is an error.
 *
 * ENCODE (query, get, search): qv_codec_write_row writes one row's key/value pairs into
 * an open JSON object. JSON fields are written as JSON values (a deliberate deviation:
 * Milvus sends a string holding the JSON text) and Array fields as plain arrays. */
#ifndef QUIVER_ROWCODEC_H
#define QUIVER_ROWCODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/err.h"
#include "quiver/json.h"
#include "quiver/rowbatch.h"
#include "quiver/schema.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QV_CODEC_DEFAULT_MAX_DEPTH 64 /* the REST layer's JSON nesting limit */

typedef struct qv_rows_opts {
    bool pk_auto;     /* autoID insert: the primary key must be absent from every row */
    bool pk_optional; /* autoID upsert: the key may be in every row or in none */
    size_t max_rows;  /* refuse more rows than this (QV_ETOOBIG); 0 = no limit */
    /* text front end: nesting limit of the whole body, counted as qv_jdoc_parse does
     * (a row's value sits at depth 3: body, data array, row); 0 = QV_CODEC_DEFAULT_... */
    size_t max_depth;
} qv_rows_opts;

/* Decode data (a jansson array of row objects, borrowed) for schema s into out, which
 * this initialises (qv_rowbatch_init); o may be NULL for defaults. */
qv_err qv_codec_decode_rows(const qv_jval *data, const qv_schema *s, const qv_rows_opts *o,
                            qv_rowbatch *out, qv_error *err);

/* A byte range of a request body. */
typedef struct qv_text_span {
    size_t off;
    size_t len; /* 0 = absent */
} qv_text_span;

/* Split a request body without parsing the value of `key` (e.g. "data"): every other
 * top-level member is parsed with jansson into *rest (qv_jdoc_parse semantics: an empty
 * body is 1801, `null` is {}, max_depth 0 = default), and *span is set to the raw text of
 * key's value (len 0 when absent or null; the last one when repeated). The value's text is
 * only bracket-matched here, not validated. QV_EBADJSON on malformed text. */
qv_err qv_codec_split_body(const char *body, size_t len, const char *key, size_t max_depth,
                           qv_jdoc **rest, qv_text_span *span, qv_error *err);

/* Decode the array of row objects at body[span.off, span.off + span.len) (as found by
 * qv_codec_split_body) into out, which this initialises. Error offsets are relative to
 * body. Produces exactly the batch qv_codec_decode_rows makes from the same text. A
 * value that is not an array is QV_EBADJSON, as jansson binding would say. */
qv_err qv_codec_decode_rows_text(const char *body, qv_text_span span, const qv_schema *s,
                                 const qv_rows_opts *o, qv_rowbatch *out, qv_error *err);

/* Both of the above for a body whose schema is already known: decode the top-level "data"
 * array into out (initialised here) and, when rest is non-NULL, parse the other top-level
 * members with jansson into *rest (caller frees with qv_jdoc_free). A missing or null
 * "data" is QV_EMISSING (1802). On error nothing is returned (*rest stays NULL). */
qv_err qv_codec_decode_insert_body(const char *body, size_t len, const qv_schema *s,
                                   const qv_rows_opts *o, qv_rowbatch *out, qv_jdoc **rest,
                                   qv_error *err);

/* Parse the JSON number at s[0, n) as float32, correctly rounded: the result is
 * bit-identical to strtof on the same text (±inf past the float range, subnormals, -0).
 * *used is the length of the number. QV_EBADJSON (no message) when s does not start with
 * an RFC 8259 number; QV_ENOMEM only for numbers longer than 128 bytes. Usable for any
 * float array on a request path (search vectors). */
qv_err qv_codec_parse_float(const char *s, size_t n, float *out, size_t *used);

/* One search query for vector field f of s (an element of a search's `data`): a
 * Float16/BFloat16Vector or BinaryVector as a base64 string (or an array, as on insert),
 * a SparseFloatVector in either input form. The value is checked as an insert value is
 * and its stored form (quiver/rowbatch.h: width bytes, or a sparse vector's 8*nnz bytes)
 * appended to out. A bad value is QV_EBADJSON (Milvus 1801) "data[q]: <what is wrong>". */
qv_err qv_codec_decode_query_vector(const qv_schema *s, const qv_field *f, const qv_jval *v,
                                    size_t q, qv_buf *out, qv_error *err);

/* ---- encode ----------------------------------------------------------------------- */

typedef struct qv_output_fields {
    uint64_t fields;     /* bit i = schema field i (QV_MAX_FIELDS <= 64) */
    bool all_dynamic;    /* every dynamic key of each row */
    char **dynamic_keys; /* or these dynamic keys only (owned) */
    size_t dynamic_count;
    bool count_star;     /* "count(*)" was asked for: the caller counts instead */
} qv_output_fields;

/* Resolve Milvus outputFields for schema s: `*` = every scalar, vector and dynamic field
 * except function outputs (a BM25 output field must be named); the primary key is always included; "$meta" = every dynamic key; a name that is not a
 * field is a dynamic key when the schema enables dynamic fields, else QV_EINVAL (1100)
 * "field %s not exist"; "count(*)" only sets count_star. With n == 0, default_all picks
 * `*`, else only the primary key. Release with qv_codec_output_fields_fini. */
qv_err qv_codec_output_fields(const qv_schema *s, const char *const *names, size_t n,
                              bool default_all, qv_output_fields *out, qv_error *err);
void qv_codec_output_fields_fini(qv_output_fields *of);

/* Write row `row` of b (laid out for s) as key/value pairs into the JSON object open in w,
 * in schema order and then the selected dynamic keys (flattened, in document order). Int64
 * values (fields and Int64 array elements) are strings when int64_as_string (Milvus's
 * Accept-Type-Allow-Int64: false); Float as the shortest float text, Double with 17
 * significant digits, JSON fields as JSON values, Array fields as arrays, FloatVector as
 * an array of floats, Binary/Float16/BFloat16 vectors as base64 of their stored bytes,
 * SparseFloatVector as {"<index>": value}, nulls as null. The caller adds its own keys and closes the object. */
void qv_codec_write_row(qv_jw *w, const qv_schema *s, const qv_rowbatch *b, size_t row,
                        const qv_output_fields *of, bool int64_as_string);

#ifdef __cplusplus
}
#endif

#endif
