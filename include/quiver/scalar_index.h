/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/scalar_index.h - scalar indexes of a sealed segment: Milvus's INVERTED,
 * STL_SORT, BITMAP, Trie and AUTOINDEX on Bool, Int*, Float, Double, VarChar, Array and
 * JSON-path fields.
 *
 * One structure serves every type name: the distinct keys of the column sorted (int64,
 * double or bytes), each with the ascending list of segment rows holding it (a term
 * dictionary with posting lists, which is what INVERTED is; STL_SORT's sorted
 * (value, row) array, BITMAP's value -> rows map and Trie's prefix lookups are all
 * answered by it). The names differ only in the field types Milvus accepts for them,
 * which qv_sindex_spec_parse checks. Null rows, and JSON rows whose path is missing or
 * holds a value of another type than the cast type, have no key. An Array row has one
 * key per distinct element.
 *
 * A value the index cannot key exactly (a NaN, a JSON integer beyond 2^53 under the
 * DOUBLE cast) makes the whole index "inexact": the filter evaluator then scans that
 * segment, so an index never changes an answer.
 *
 * Serialized (inside the store's index file envelope; all little-endian):
 *   "QVSX" | u8 version 1 | u8 key kind | u8 exact | u8 0 | u32 rows | u32 nkeys |
 *   u32 npostings | keys (INT/BOOL: nkeys x i64; DOUBLE: nkeys x f64 bits;
 *   STR: (nkeys + 1) x u32 offsets, then the bytes) | (nkeys + 1) x u32 posting starts |
 *   npostings x u32 rows. */
#ifndef QUIVER_SCALAR_INDEX_H
#define QUIVER_SCALAR_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/buf.h"
#include "quiver/err.h"
#include "quiver/jsonb.h"
#include "quiver/schema.h"

#define QV_SINDEX_MAX_PATH 16   /* steps of a json_path */
#define QV_MAX_SCALAR_INDEXES 16 /* scalar index definitions per collection */

typedef enum qv_skey_kind { QV_SKEY_INT, QV_SKEY_BOOL, QV_SKEY_DOUBLE, QV_SKEY_STR } qv_skey_kind;

/* A key: i for INT and BOOL (0/1), d for DOUBLE, s/len for STR (borrowed). */
typedef struct qv_skey {
    int64_t i;
    double d;
    const char *s;
    size_t len;
} qv_skey;

/* One step of a JSON path: an object key or an array index (the filter's path steps
 * are the same struct). */
typedef struct qv_json_step {
    bool is_index;
    int64_t index;
    const char *key; /* in a spec: owned, NUL-terminated */
    size_t klen;
} qv_json_step;

/* What to index: the field, and for JSON a path and the cast of the value found there. */
typedef struct qv_sindex_spec {
    qv_type type, etype;   /* field type; Array element type */
    qv_skey_kind kind;     /* of the keys */
    qv_json_step steps[QV_SINDEX_MAX_PATH];
    size_t nsteps;         /* JSON: path below the field ([] = the whole value) */
} qv_sindex_spec;

/* Check an index type name (INVERTED, STL_SORT, BITMAP, Trie, AUTOINDEX; case-insensitive)
 * against field f and its params (JSON: json_cast_type BOOL|DOUBLE|VARCHAR, required;
 * json_path `field["a"][0]...`, default the whole field) and fill *out (may be NULL to
 * validate only). QV_EINVAL with Milvus's wording on a mismatch. */
qv_err qv_sindex_spec_parse(const char *index_type, const char *field_name, qv_type type,
                            qv_type etype, bool primary, const char *json_path,
                            const char *cast, qv_sindex_spec *out, qv_error *err);
void qv_sindex_spec_fini(qv_sindex_spec *s);
/* The canonical spelling of a scalar index type name (matched case-insensitively), or
 * NULL when it names none. */
const char *qv_sindex_type_name(const char *index_type);

typedef struct qv_sindex qv_sindex; /* immutable once built */

/* Index rows [0, rows) of one column laid out as quiver/filter.h's qv_column (data,
 * offsets, valid). */
qv_err qv_sindex_build(const qv_sindex_spec *spec, const void *data, const uint64_t *offsets,
                       const uint64_t *valid, size_t rows, qv_sindex **out, qv_error *err);
void qv_sindex_free(qv_sindex *ix); /* NULL is a no-op */

qv_err qv_sindex_serialize(const qv_sindex *ix, qv_buf *out, qv_error *err);
/* Checks every count and offset against len; never reads out of bounds. */
qv_err qv_sindex_deserialize(const void *p, size_t len, qv_sindex **out, qv_error *err);

size_t qv_sindex_rows(const qv_sindex *ix);
size_t qv_sindex_keys(const qv_sindex *ix);
bool qv_sindex_exact(const qv_sindex *ix);
qv_skey_kind qv_sindex_kind(const qv_sindex *ix);
size_t qv_sindex_bytes(const qv_sindex *ix); /* memory held */

/* Key positions: the first key >= k (lower) or > k (upper), in [0, keys]. */
size_t qv_sindex_lower(const qv_sindex *ix, const qv_skey *k);
size_t qv_sindex_upper(const qv_sindex *ix, const qv_skey *k);
/* Keys [from, to) that start with prefix (STR): *to set, returns from. */
size_t qv_sindex_prefix(const qv_sindex *ix, const char *prefix, size_t len, size_t *to);
/* OR the rows of keys [from, to) into bm (qv_sindex_rows bits). */
void qv_sindex_mark(const qv_sindex *ix, size_t from, size_t to, uint64_t *bm);
/* The rows of key position at, ascending; *n set. */
const uint32_t *qv_sindex_postings(const qv_sindex *ix, size_t at, size_t *n);

/* The value of a JSON row at spec's path as a key of spec's kind: 1 found, 0 absent or of
 * another type, -1 not keyable exactly (see "inexact"). */
int qv_sindex_json_key(const qv_sindex_spec *spec, qv_jsonb row, qv_skey *out);
/* A jsonb constant as a key of kind: 1 found, 0 it equals no key of this kind, -1 it
 * cannot be decided exactly. */
int qv_sindex_jsonb_key(qv_skey_kind kind, qv_jsonb v, qv_skey *out);
/* Canonical text of a path, for matching filter paths with index paths:
 * ["key"] per key step, [N] per index step. */
void qv_sindex_path_text(const qv_json_step *steps, size_t n, qv_buf *out);

#endif
