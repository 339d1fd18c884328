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
/* Types Quiver stores today; the rest of Milvus's are refused with 1100. */
bool qv_type_is_supported(qv_type t);

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

typedef struct qv_schema {
    qv_field *fields;
    size_t field_count;
    bool auto_id;
    bool enable_dynamic;
    char *description;
} qv_schema;

void qv_field_fini(qv_field *f);
void qv_schema_fini(qv_schema *s);
qv_err qv_schema_copy(qv_schema *dst, const qv_schema *src);
const qv_field *qv_schema_field(const qv_schema *s, const char *name); /* NULL if absent */
const qv_field *qv_schema_primary(const qv_schema *s);
const qv_field *qv_schema_partition_key(const qv_schema *s); /* NULL if none */
/* Check the schema as Milvus does (one PK of Int64/VarChar, at least one vector field,
 * dims, max_length, names unique, limits); QV_EINVAL with a message otherwise. */
qv_err qv_schema_validate(const qv_schema *s, qv_error *err);

#ifdef __cplusplus
}
#endif

#endif
