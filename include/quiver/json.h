/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/json.h - the JSON codec seam (the only module that uses jansson):
 * a parsed request document with typed getters whose errors are Milvus's
 * (1801 for malformed JSON or a wrong type, 1802 for a missing required key,
 * both naming the key), and a streaming writer for responses.
 *
 * Integers are kept exact (never through a double). Values are borrowed from
 * their document and live until qv_jdoc_free. */
#ifndef QUIVER_JSON_H
#define QUIVER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/buf.h"
#include "quiver/err.h"
#include "quiver/schema.h"

typedef struct qv_jdoc qv_jdoc;
typedef struct qv_jval qv_jval; /* a node inside a qv_jdoc (opaque) */

typedef enum qv_jtype {
    QV_J_NULL,
    QV_J_BOOL,
    QV_J_INT,
    QV_J_REAL,
    QV_J_STRING,
    QV_J_ARRAY,
    QV_J_OBJECT,
} qv_jtype;

/* Parse a request body. An empty body is 1801 (as Milvus); `null` is read as {}.
 * max_depth caps nesting (QV_EBADJSON beyond it). */
qv_err qv_jdoc_parse(const char *text, size_t len, size_t max_depth, qv_jdoc **out,
                     qv_error *err);
void qv_jdoc_free(qv_jdoc *d); /* NULL is a no-op */
const qv_jval *qv_jdoc_root(const qv_jdoc *d);

qv_jtype qv_jval_type(const qv_jval *v);
const char *qv_jtype_name(qv_jtype t); /* Go's words: "string", "number", "bool", ... */
const qv_jval *qv_jobj_get(const qv_jval *obj, const char *key); /* NULL if absent */
size_t qv_jobj_size(const qv_jval *obj);
/* Iterate: i from 0 to size-1; key and value borrowed. */
bool qv_jobj_at(const qv_jval *obj, size_t i, const char **key, const qv_jval **val);
size_t qv_jarr_len(const qv_jval *arr);
const qv_jval *qv_jarr_at(const qv_jval *arr, size_t i);

/* Scalar accessors on a node (false when the type does not fit). */
bool qv_jval_str(const qv_jval *v, const char **s, size_t *len);
bool qv_jval_int(const qv_jval *v, int64_t *out);   /* JSON integers only */
bool qv_jval_real(const qv_jval *v, double *out);   /* integers or reals */
bool qv_jval_bool(const qv_jval *v, bool *out);
/* A scalar rendered as text, the way Milvus forwards params ("16", "0.5", "true",
 * "abc"); objects and arrays as compact JSON. Caller frees with qv_free. */
char *qv_jval_to_text(const qv_jval *v);

/* Typed getters of obj[key] for request binding. Missing and not required: QV_OK
 * with *out untouched and *present false (present may be NULL). Missing and
 * required: 1802 naming the key. Present with the wrong JSON type (null counts as
 * absent): 1801 naming the key and the types. */
qv_err qv_jget_str(const qv_jval *obj, const char *key, bool required, const char **out,
                   bool *present, qv_error *err);
qv_err qv_jget_int(const qv_jval *obj, const char *key, bool required, int64_t *out,
                   bool *present, qv_error *err);
qv_err qv_jget_bool(const qv_jval *obj, const char *key, bool required, bool *out,
                    bool *present, qv_error *err);
qv_err qv_jget_real(const qv_jval *obj, const char *key, bool required, double *out,
                    bool *present, qv_error *err);
qv_err qv_jget_obj(const qv_jval *obj, const char *key, bool required, const qv_jval **out,
                   qv_error *err); /* *out NULL when absent */
qv_err qv_jget_arr(const qv_jval *obj, const char *key, bool required, const qv_jval **out,
                   qv_error *err); /* *out NULL when absent */
/* An array of strings into names (appended; copies). */
qv_err qv_jget_str_list(const qv_jval *obj, const char *key, bool required, char ***items,
                        size_t *count, qv_error *err);
/* A {key: scalar} object into a list of key/text pairs (values via qv_jval_to_text). */
qv_err qv_jget_kv(const qv_jval *obj, const char *key, qv_kvlist *out, qv_error *err);

/* ---- streaming writer ----------------------------------------------------------------- */

#define QV_JW_MAX_DEPTH 64

typedef struct qv_jw {
    qv_buf *out;
    int depth;
    bool need_comma[QV_JW_MAX_DEPTH];
    bool after_key;
} qv_jw;

void qv_jw_init(qv_jw *w, qv_buf *out);
void qv_jw_obj_begin(qv_jw *w);
void qv_jw_obj_end(qv_jw *w);
void qv_jw_arr_begin(qv_jw *w);
void qv_jw_arr_end(qv_jw *w);
void qv_jw_key(qv_jw *w, const char *key);
void qv_jw_keyn(qv_jw *w, const char *key, size_t n); /* key need not be NUL-terminated */
void qv_jw_str(qv_jw *w, const char *s);
void qv_jw_strn(qv_jw *w, const char *s, size_t n);
void qv_jw_int(qv_jw *w, int64_t v);
void qv_jw_uint(qv_jw *w, uint64_t v);
void qv_jw_bool(qv_jw *w, bool v);
void qv_jw_null(qv_jw *w);
void qv_jw_double(qv_jw *w, double v); /* 17 significant digits; NaN/Inf as null */
void qv_jw_float(qv_jw *w, float v);   /* shortest text that reads back as the same float */
void qv_jw_raw(qv_jw *w, const char *json, size_t n); /* a pre-encoded JSON value */
/* A parsed value written back as compact JSON (integers exact, reals with 17 digits). */
void qv_jw_jval(qv_jw *w, const qv_jval *v);
/* Shorthands: key + value. */
void qv_jw_kstr(qv_jw *w, const char *key, const char *s);
void qv_jw_kint(qv_jw *w, const char *key, int64_t v);
void qv_jw_kbool(qv_jw *w, const char *key, bool v);

#endif
