/* SPDX-License-Identifier: Apache-2.0 */
/* schema.c - data type names, typed values, string maps and schema checks. */
#include "quiver/schema.h"

#include <strings.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/analyzer.h"

static const struct {
    qv_type type;
    const char *name;
} type_names[] = {
    {QV_TYPE_BOOL, "Bool"},
    {QV_TYPE_INT8, "Int8"},
    {QV_TYPE_INT16, "Int16"},
    {QV_TYPE_INT32, "Int32"},
    {QV_TYPE_INT64, "Int64"},
    {QV_TYPE_FLOAT, "Float"},
    {QV_TYPE_DOUBLE, "Double"},
    {QV_TYPE_VARCHAR, "VarChar"},
    {QV_TYPE_ARRAY, "Array"},
    {QV_TYPE_JSON, "JSON"},
    {QV_TYPE_BINARY_VECTOR, "BinaryVector"},
    {QV_TYPE_FLOAT_VECTOR, "FloatVector"},
    {QV_TYPE_FLOAT16_VECTOR, "Float16Vector"},
    {QV_TYPE_BFLOAT16_VECTOR, "BFloat16Vector"},
    {QV_TYPE_SPARSE_FLOAT_VECTOR, "SparseFloatVector"},
};

const char *qv_type_name(qv_type t)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (type_names[i].type == t)
            return type_names[i].name;
    return NULL;
}

qv_type qv_type_from_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof type_names / sizeof type_names[0]; i++)
        if (strcmp(type_names[i].name, name) == 0)
            return type_names[i].type;
    return QV_TYPE_NONE;
}

bool qv_type_is_vector(qv_type t) { return t >= QV_TYPE_BINARY_VECTOR && t <= QV_TYPE_SPARSE_FLOAT_VECTOR; }
bool qv_type_is_integer(qv_type t) { return t >= QV_TYPE_INT8 && t <= QV_TYPE_INT64; }
bool qv_type_is_numeric(qv_type t)
{
    return qv_type_is_integer(t) || t == QV_TYPE_FLOAT || t == QV_TYPE_DOUBLE;
}
bool qv_type_is_supported(qv_type t) { return qv_type_name(t) != NULL; }

bool qv_type_is_float_vector(qv_type t)
{
    return t == QV_TYPE_FLOAT_VECTOR || t == QV_TYPE_FLOAT16_VECTOR || t == QV_TYPE_BFLOAT16_VECTOR;
}

size_t qv_vector_row_bytes(qv_type t, uint32_t dim)
{
    switch (t) {
    case QV_TYPE_FLOAT_VECTOR: return (size_t)dim * 4;
    case QV_TYPE_FLOAT16_VECTOR:
    case QV_TYPE_BFLOAT16_VECTOR: return (size_t)dim * 2;
    case QV_TYPE_BINARY_VECTOR: return dim / 8;
    default: return 0;
    }
}

void qv_value_fini(qv_value *v)
{
    if (v && v->type == QV_TYPE_VARCHAR) {
        qv_free(v->u.str.s);
        v->u.str.s = NULL;
    }
}

qv_err qv_value_copy(qv_value *dst, const qv_value *src)
{
    *dst = *src;
    if (src->type == QV_TYPE_VARCHAR) {
        if ((dst->u.str.s = qv_strndup(src->u.str.s, src->u.str.len)) == NULL)
            return QV_ENOMEM;
    }
    return QV_OK;
}

const char *qv_kvlist_get(const qv_kvlist *l, const char *key)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i].key, key) == 0)
            return l->items[i].value;
    return NULL;
}

qv_err qv_kvlist_set(qv_kvlist *l, const char *key, const char *value)
{
    char *v = qv_strdup(value);
    qv_kv *items;

    if (!v)
        return QV_ENOMEM;
    for (size_t i = 0; i < l->count; i++) {
        if (strcmp(l->items[i].key, key) == 0) {
            qv_free(l->items[i].value);
            l->items[i].value = v;
            return QV_OK;
        }
    }
    if ((items = qv_reallocarray(l->items, l->count + 1, sizeof *items)) == NULL) {
        qv_free(v);
        return QV_ENOMEM;
    }
    l->items = items;
    if ((items[l->count].key = qv_strdup(key)) == NULL) {
        qv_free(v);
        return QV_ENOMEM;
    }
    items[l->count++].value = v;
    return QV_OK;
}

bool qv_kvlist_remove(qv_kvlist *l, const char *key)
{
    for (size_t i = 0; i < l->count; i++) {
        if (strcmp(l->items[i].key, key) == 0) {
            qv_free(l->items[i].key);
            qv_free(l->items[i].value);
            memmove(&l->items[i], &l->items[i + 1], (l->count - i - 1) * sizeof *l->items);
            l->count--;
            return true;
        }
    }
    return false;
}

qv_err qv_kvlist_copy(qv_kvlist *dst, const qv_kvlist *src)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < src->count; i++) {
        if (qv_kvlist_set(dst, src->items[i].key, src->items[i].value) != QV_OK) {
            qv_kvlist_fini(dst);
            return QV_ENOMEM;
        }
    }
    return QV_OK;
}

void qv_kvlist_fini(qv_kvlist *l)
{
    for (size_t i = 0; i < l->count; i++) {
        qv_free(l->items[i].key);
        qv_free(l->items[i].value);
    }
    qv_free(l->items);
    memset(l, 0, sizeof *l);
}

/* ---- functions --------------------------------------------------------------------- */

static const char *const function_names[] = {"Unknown", "BM25", "TextEmbedding", "Rerank"};

qv_function_type qv_function_type_from_name(const char *name)
{
    for (int i = 1; name && i < 4; i++)
        if (strcasecmp(name, function_names[i]) == 0)
            return (qv_function_type)i;
    return QV_FUNCTION_UNKNOWN;
}

const char *qv_function_type_name(qv_function_type t)
{
    return t >= 0 && t < 4 ? function_names[t] : "Unknown";
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        qv_free(v[i]);
    qv_free(v);
}

void qv_function_fini(qv_function *fn)
{
    if (!fn)
        return;
    qv_free(fn->name);
    qv_free(fn->description);
    free_names(fn->inputs, fn->ninputs);
    free_names(fn->outputs, fn->noutputs);
    qv_kvlist_fini(&fn->params);
    memset(fn, 0, sizeof *fn);
}

static char **copy_names(char *const *v, size_t n)
{
    char **out = qv_calloc(n ? n : 1, sizeof *out);

    for (size_t i = 0; out && i < n; i++) {
        if (!(out[i] = qv_strdup(v[i]))) {
            free_names(out, i);
            return NULL;
        }
    }
    return out;
}

static qv_err function_copy(qv_function *dst, const qv_function *src)
{
    memset(dst, 0, sizeof *dst);
    dst->id = src->id;
    dst->type = src->type;
    dst->name = qv_strdup(src->name);
    dst->description = qv_strdup(src->description);
    if ((dst->inputs = copy_names(src->inputs, src->ninputs)))
        dst->ninputs = src->ninputs;
    if ((dst->outputs = copy_names(src->outputs, src->noutputs)))
        dst->noutputs = src->noutputs;
    if (!dst->name || (src->description && !dst->description) || !dst->inputs ||
        !dst->outputs || qv_kvlist_copy(&dst->params, &src->params) != QV_OK) {
        qv_function_fini(dst);
        return QV_ENOMEM;
    }
    return QV_OK;
}

const qv_function *qv_schema_output_function(const qv_schema *s, const qv_field *f)
{
    for (size_t i = 0; i < s->function_count; i++)
        for (size_t j = 0; j < s->functions[i].noutputs; j++)
            if (strcmp(s->functions[i].outputs[j], f->name) == 0)
                return &s->functions[i];
    return NULL;
}

static bool param_true(const qv_field *f, const char *key)
{
    const char *v = qv_kvlist_get(&f->type_params, key);
    return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

bool qv_field_analyzer_enabled(const qv_field *f) { return param_true(f, "enable_analyzer"); }
bool qv_field_match_enabled(const qv_field *f) { return param_true(f, "enable_match"); }
const char *qv_field_analyzer_params(const qv_field *f)
{
    return qv_kvlist_get(&f->type_params, "analyzer_params");
}

void qv_field_fini(qv_field *f)
{
    if (!f)
        return;
    qv_free(f->name);
    qv_free(f->description);
    qv_value_fini(&f->default_value);
    qv_kvlist_fini(&f->type_params);
    memset(f, 0, sizeof *f);
}

void qv_schema_fini(qv_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->field_count; i++)
        qv_field_fini(&s->fields[i]);
    qv_free(s->fields);
    qv_free(s->description);
    for (size_t i = 0; i < s->function_count; i++)
        qv_function_fini(&s->functions[i]);
    qv_free(s->functions);
    memset(s, 0, sizeof *s);
}

static qv_err field_copy(qv_field *dst, const qv_field *src)
{
    *dst = *src;
    dst->name = qv_strdup(src->name);
    dst->description = qv_strdup(src->description);
    memset(&dst->default_value, 0, sizeof dst->default_value);
    memset(&dst->type_params, 0, sizeof dst->type_params);
    if (!dst->name || (src->description && !dst->description) ||
        qv_value_copy(&dst->default_value, &src->default_value) != QV_OK ||
        qv_kvlist_copy(&dst->type_params, &src->type_params) != QV_OK) {
        qv_field_fini(dst);
        return QV_ENOMEM;
    }
    return QV_OK;
}

qv_err qv_schema_copy(qv_schema *dst, const qv_schema *src)
{
    memset(dst, 0, sizeof *dst);
    dst->auto_id = src->auto_id;
    dst->enable_dynamic = src->enable_dynamic;
    if ((src->description && !(dst->description = qv_strdup(src->description))) ||
        !(dst->fields = qv_calloc(src->field_count ? src->field_count : 1, sizeof(qv_field))))
        goto fail;
    for (size_t i = 0; i < src->field_count; i++) {
        if (field_copy(&dst->fields[i], &src->fields[i]) != QV_OK)
            goto fail;
        dst->field_count = i + 1;
    }
    if (src->function_count &&
        !(dst->functions = qv_calloc(src->function_count, sizeof *dst->functions)))
        goto fail;
    for (size_t i = 0; i < src->function_count; i++) {
        if (function_copy(&dst->functions[i], &src->functions[i]) != QV_OK)
            goto fail;
        dst->function_count = i + 1;
    }
    return QV_OK;
fail:
    qv_schema_fini(dst);
    return QV_ENOMEM;
}

const qv_field *qv_schema_field(const qv_schema *s, const char *name)
{
    for (size_t i = 0; i < s->field_count; i++)
        if (strcmp(s->fields[i].name, name) == 0)
            return &s->fields[i];
    return NULL;
}

const qv_field *qv_schema_primary(const qv_schema *s)
{
    for (size_t i = 0; i < s->field_count; i++)
        if (s->fields[i].is_primary)
            return &s->fields[i];
    return NULL;
}

const qv_field *qv_schema_partition_key(const qv_schema *s)
{
    for (size_t i = 0; i < s->field_count; i++)
        if (s->fields[i].is_partition_key)
            return &s->fields[i];
    return NULL;
}

static qv_err validate_analyzer(const qv_field *f, qv_error *err)
{
    qv_analyzer *a = NULL;
    qv_err rc;

    if (!qv_field_analyzer_enabled(f)) {
        if (qv_field_match_enabled(f))
            return qv_error_set(err, QV_EINVAL,
                                "field %s: enable_match needs enable_analyzer", f->name);
        return QV_OK;
    }
    if (f->type != QV_TYPE_VARCHAR)
        return qv_error_set(err, QV_EINVAL,
                            "field %s: enable_analyzer is only for VarChar fields, not %s",
                            f->name, qv_type_name(f->type));
    if ((rc = qv_analyzer_new(qv_field_analyzer_params(f), &a, err)) != QV_OK) {
        qv_error_prefix(err, "field %s: ", f->name);
        return rc;
    }
    qv_analyzer_free(a);
    return QV_OK;
}

static qv_err validate_field(const qv_field *f, qv_error *err)
{
    qv_err rc;

    if (qv_type_is_vector(f->type) && f->type != QV_TYPE_SPARSE_FLOAT_VECTOR &&
        (f->dim < QV_MIN_DIM || f->dim > QV_MAX_DIM))
        return qv_error_set(err, QV_EINVAL,
                            "invalid dimension: %u of field %s. should be in range %d ~ %d",
                            f->dim, f->name, QV_MIN_DIM, QV_MAX_DIM);
    if (f->type == QV_TYPE_BINARY_VECTOR && f->dim % 8)
        return qv_error_set(err, QV_EINVAL,
                            "invalid dimension: %u of field %s. binary vector dimension should "
                            "be multiple of 8",
                            f->dim, f->name);
    if ((rc = validate_analyzer(f, err)) != QV_OK)
        return rc;
    if ((f->type == QV_TYPE_VARCHAR ||
         (f->type == QV_TYPE_ARRAY && f->element_type == QV_TYPE_VARCHAR)) &&
        (f->max_length == 0 || f->max_length > QV_MAX_VARCHAR_LEN))
        return qv_error_set(err, QV_EINVAL,
                            "the maximum length specified for the field(%s) should be in (0, "
                            "%d], but got %u instead",
                            f->name, QV_MAX_VARCHAR_LEN, f->max_length);
    if (f->type == QV_TYPE_ARRAY &&
        (f->max_capacity == 0 || f->max_capacity > QV_MAX_ARRAY_CAPACITY))
        return qv_error_set(err, QV_EINVAL,
                            "the maximum capacity specified for a Array should be in (0, %d], "
                            "but got %u of field %s",
                            QV_MAX_ARRAY_CAPACITY, f->max_capacity, f->name);
    if (f->is_primary && f->nullable)
        return qv_error_set(err, QV_EINVAL, "primary field not support null");
    if (qv_type_is_vector(f->type) && f->nullable)
        return qv_error_set(err, QV_EINVAL, "vector type not support null, type:%s, name:%s",
                            qv_type_name(f->type), f->name);
    /* Milvus returns these partition-key errors unwrapped (code 65535), except nullable */
    if (f->is_partition_key && f->is_primary)
        return qv_error_set(err, QV_EUNEXPECTED,
                            "the partition key field must not be primary field");
    if (f->is_partition_key && f->nullable)
        return qv_error_set(err, QV_EINVAL, "partition key field not support nullable");
    if (f->is_partition_key && f->type != QV_TYPE_INT64 && f->type != QV_TYPE_VARCHAR)
        return qv_error_set(err, QV_EUNEXPECTED,
                            "the data type of partition key should be Int64 or VarChar");
    if (f->has_default && (f->is_primary || f->type == QV_TYPE_JSON || qv_type_is_vector(f->type)))
        return qv_error_set(err, QV_EINVAL, "%s field %s does not support default value",
                            qv_type_name(f->type), f->name);
    return QV_OK;
}

/* BM25: one VarChar input with enable_analyzer, one SparseFloatVector output that is no
 * other function's output and not the primary or partition key. */
static qv_err validate_function(const qv_schema *s, size_t i, qv_error *err)
{
    const qv_function *fn = &s->functions[i];
    const qv_field *in, *out;

    for (size_t j = 0; j < i; j++)
        if (strcmp(s->functions[j].name, fn->name) == 0)
            return qv_error_set(err, QV_EINVAL, "duplicate function name: %s", fn->name);
    if (fn->type != QV_FUNCTION_BM25)
        return qv_error_set(err, QV_EINVAL,
                            "function %s: type %s is not supported (Quiver runs BM25 functions)",
                            fn->name, qv_function_type_name(fn->type));
    if (fn->ninputs != 1 || fn->noutputs != 1)
        return qv_error_set(err, QV_EINVAL,
                            "BM25 function %s needs exactly one input field and one output "
                            "field",
                            fn->name);
    if (!(in = qv_schema_field(s, fn->inputs[0])))
        return qv_error_set(err, QV_EINVAL, "function %s: input field %s not found", fn->name,
                            fn->inputs[0]);
    if (!(out = qv_schema_field(s, fn->outputs[0])))
        return qv_error_set(err, QV_EINVAL, "function %s: output field %s not found", fn->name,
                            fn->outputs[0]);
    if (in->type != QV_TYPE_VARCHAR || !qv_field_analyzer_enabled(in))
        return qv_error_set(err, QV_EINVAL,
                            "BM25 function %s: input field %s must be a VarChar field with "
                            "enable_analyzer",
                            fn->name, in->name);
    if (out->type != QV_TYPE_SPARSE_FLOAT_VECTOR)
        return qv_error_set(err, QV_EINVAL,
                            "BM25 function %s: output field %s must be a SparseFloatVector, not "
                            "%s",
                            fn->name, out->name, qv_type_name(out->type));
    if (out->is_primary || out->is_partition_key)
        return qv_error_set(err, QV_EINVAL, "function %s: output field %s cannot be a key",
                            fn->name, out->name);
    for (size_t j = 0; j < i; j++)
        if (strcmp(s->functions[j].outputs[0], out->name) == 0)
            return qv_error_set(err, QV_EINVAL, "field %s is the output of two functions",
                                out->name);
    return QV_OK;
}

qv_err qv_schema_validate(const qv_schema *s, qv_error *err)
{
    size_t primaries = 0, vectors = 0;
    const qv_field *part_key = NULL;

    if (s->field_count > QV_MAX_FIELDS)
        return qv_error_set(err, QV_EINVAL,
                            "maximum field's number should be limited to %d", QV_MAX_FIELDS);
    for (size_t i = 0; i < s->field_count; i++) {
        const qv_field *f = &s->fields[i];
        qv_err rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->fields[j].name, f->name) == 0)
                return qv_error_set(err, QV_EINVAL, "duplicated field name %s found", f->name);
        if ((rc = validate_field(f, err)) != QV_OK)
            return rc;
        if (f->is_partition_key && part_key)
            return qv_error_set(err, QV_EUNEXPECTED,
                                "there are more than one partition key, field name = %s, %s",
                                part_key->name, f->name);
        if (f->is_partition_key)
            part_key = f;
        primaries += f->is_primary;
        vectors += qv_type_is_vector(f->type);
        if (f->is_primary && f->type != QV_TYPE_INT64 && f->type != QV_TYPE_VARCHAR)
            return qv_error_set(err, QV_EINVAL,
                                "the data type of primary key should be Int64 or VarChar");
    }
    if (primaries == 0)
        return qv_error_set(err, QV_EINVAL, "primary key is not specified");
    if (primaries > 1)
        return qv_error_set(err, QV_EINVAL, "there are more than one primary key");
    if (vectors == 0)
        return qv_error_set(err, QV_EINVAL, "schema does not contain vector field");
    for (size_t i = 0; i < s->function_count; i++) {
        qv_err rc = validate_function(s, i, err);
        if (rc != QV_OK)
            return rc;
    }
    if (vectors > QV_MAX_VECTOR_FIELDS)
        return qv_error_set(err, QV_EINVAL,
                            "maximum vector field's number should be limited to %d",
                            QV_MAX_VECTOR_FIELDS);
    return QV_OK;
}
