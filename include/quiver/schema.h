/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/schema.h - data types, typed scalar values and collection schemas.
 * Type numbers are Milvus's schema.proto DataType values; they are persisted. */
#ifndef QUIVER_SCHEMA_H
#define QUIVER_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum qv_type {
    QV_TYPE_NONE = 0,
    QV_TYPE_BOOL = 1,
    QV_TYPE_INT8 = 2,
    QV_TYPE_INT16 = 3,
    QV_TYPE_INT32 = 4,
    QV_TYPE_INT64 = 5,
    QV_TYPE_FLOAT = 10,
    QV_TYPE_DOUBLE = 11,
    QV_TYPE_VARCHAR = 21,
    QV_TYPE_ARRAY = 22,
    QV_TYPE_JSON = 23,
    QV_TYPE_BINARY_VECTOR = 100,
    QV_TYPE_FLOAT_VECTOR = 101,
    QV_TYPE_FLOAT16_VECTOR = 102,
    QV_TYPE_BFLOAT16_VECTOR = 103,
    QV_TYPE_SPARSE_FLOAT_VECTOR = 104,
} qv_type;

/* Milvus limits (paramtable defaults). */
#define QV_MAX_NAME_LEN 255
#define QV_MAX_FIELDS 64
#define QV_MIN_DIM 2
#define QV_MAX_DIM 32768
#define QV_MAX_VARCHAR_LEN 65535
#define QV_MAX_ARRAY_CAPACITY 4096
#define QV_MAX_VECTOR_FIELDS 4

/* Milvus's case-sensitive name ("Int64", "FloatVector"); NULL for unknown. */
const char *qv_type_name(qv_type t);
/* Parse a Milvus dataType name, case-sensitively; QV_TYPE_NONE if unknown. */
qv_type qv_type_from_name(const char *name);
bool qv_type_is_vector(qv_type t);
bool qv_type_is_integer(qv_type t); /* Int8..Int64 */
bool qv_type_is_numeric(qv_type t); /* integers, Float, Double */
/* Types Quiver stores (every type named above). */
bool qv_type_is_supported(qv_type t);
/* Dense vector types whose values are floats: FloatVector, Float16Vector, BFloat16Vector. */
bool qv_type_is_float_vector(qv_type t);
/* Bytes one row of a fixed-width vector field takes (0 for SparseFloatVector). */
size_t qv_vector_row_bytes(qv_type t, uint32_t dim);

/* A typed scalar: default values, filter literals, primary keys. */
typedef struct qv_value {
    qv_type type; /* QV_TYPE_NONE means null */
    union {
        bool b;
        int64_t i;
        double d;
        struct {
            char *s; /* owned, NUL-terminated */
            size_t len;
        } str;
    } u;
} qv_value;

void qv_value_fini(qv_value *v); /* frees an owned string */
qv_err qv_value_copy(qv_value *dst, const qv_value *src);

typedef struct qv_kv {
    char *key;
    char *value;
} qv_kv;

/* Ordered string map (properties, type params); small, linear search. */
typedef struct qv_kvlist {
    qv_kv *items;
    size_t count;
} qv_kvlist;

const char *qv_kvlist_get(const qv_kvlist *l, const char *key); /* NULL if absent */
qv_err qv_kvlist_set(qv_kvlist *l, const char *key, const char *value);
bool qv_kvlist_remove(qv_kvlist *l, const char *key);
qv_err qv_kvlist_copy(qv_kvlist *dst, const qv_kvlist *src);
void qv_kvlist_fini(qv_kvlist *l);

typedef struct qv_field {
    char *name;
    int64_t id;
    qv_type type;
    qv_type element_type; /* Array only */
    uint32_t dim;          /* vectors only */
    uint32_t max_length;   /* VarChar, or VarChar elements of an Array */
    uint32_t max_capacity; /* Array only */
    bool is_primary;
    bool auto_id;
    bool is_partition_key;
    bool is_clustering_key;
    bool nullable;
    bool has_default;
    qv_value default_value;
    char *description;
    qv_kvlist type_params; /* every elementTypeParam as given, for describe */
} qv_field;

/* Milvus's FunctionType numbers (schema.proto); only BM25 is run by Quiver. */
typedef enum qv_function_type {
    QV_FUNCTION_UNKNOWN = 0,
    QV_FUNCTION_BM25 = 1,
    QV_FUNCTION_TEXT_EMBEDDING = 2,
    QV_FUNCTION_RERANK = 3,
} qv_function_type;

/* A schema function: BM25 turns its input VarChar field (analyzed) into term frequencies
 * stored in its output SparseFloatVector field on every insert and upsert. */
typedef struct qv_function {
    char *name;
    int64_t id;
    qv_function_type type;
    char *description;
    char **inputs; /* field names */
    size_t ninputs;
    char **outputs;
    size_t noutputs;
    qv_kvlist params; /* as given, for describe */
} qv_function;

typedef struct qv_schema {
    qv_field *fields;
    size_t field_count;
    bool auto_id;
    bool enable_dynamic;
    char *description;
    qv_function *functions;
    size_t function_count;
} qv_schema;

/* "BM25" -> QV_FUNCTION_BM25 (case-insensitive); QV_FUNCTION_UNKNOWN if not a type. */
qv_function_type qv_function_type_from_name(const char *name);
const char *qv_function_type_name(qv_function_type t);
void qv_function_fini(qv_function *fn);
/* The function writing field f (one of s's fields), or NULL: such a field is never given
 * by clients. */
const qv_function *qv_schema_output_function(const qv_schema *s, const qv_field *f);
/* A field's analyzer settings (elementTypeParams enable_analyzer / enable_match, given as
 * true or "true"; analyzer_params as JSON text, NULL when absent). */
bool qv_field_analyzer_enabled(const qv_field *f);
bool qv_field_match_enabled(const qv_field *f);
const char *qv_field_analyzer_params(const qv_field *f);

void qv_field_fini(qv_field *f);
void qv_schema_fini(qv_schema *s);
qv_err qv_schema_copy(qv_schema *dst, const qv_schema *src);
const qv_field *qv_schema_field(const qv_schema *s, const char *name); /* NULL if absent */
const qv_field *qv_schema_primary(const qv_schema *s);
const qv_field *qv_schema_partition_key(const qv_schema *s); /* NULL if none */
/* Check the schema as Milvus does (one PK of Int64/VarChar, at least one vector field,
 * dims (BinaryVector: a multiple of 8), max_length, names unique, limits, analyzers,
 * functions: BM25 from one VarChar field with enable_analyzer to one SparseFloatVector
 * field); QV_EINVAL with a message otherwise. */
qv_err qv_schema_validate(const qv_schema *s, qv_error *err);

#ifdef __cplusplus
}
#endif

#endif
