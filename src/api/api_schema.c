/* SPDX-License-Identifier: Apache-2.0 */
/* api_schema.c - collections/create decoding (quick and custom setup, functions) and
 * index params (reference §3, §5); api_describe.c writes collections/describe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "quiver/alloc.h"
#include "quiver/index.h"
#include "quiver/names.h"
#include "quiver/scalar_index.h"

static const char *const consistency_levels[] = {"Strong", "Session", "Bounded", "Eventually",
                                                 "Customized"};
static const char *const metric_types[] = {"L2", "IP", "COSINE", "HAMMING", "JACCARD", "BM25"};
static const char *const index_types[] = {"AUTOINDEX",    "FLAT",         "HNSW",
                                          "IVF_FLAT",     "IVF_SQ8",      "IVF_PQ",
                                          "BIN_FLAT",     "BIN_IVF_FLAT", "SPARSE_INVERTED_INDEX",
                                          "SPARSE_WAND"};
#define N_METRICS (sizeof metric_types / sizeof *metric_types)
#define N_INDEX_TYPES (sizeof index_types / sizeof *index_types)

#define NOMEM(err) qv_error_set(err, QV_ENOMEM, "out of memory")

/* A number given as a JSON number or a numeric string (Milvus accepts both). */
static qv_err flexible_int(const qv_jval *v, const char *what, int64_t lo, int64_t hi,
                           int64_t *out, qv_error *err)
{
    const char *s;
    double d;
    char *end;

    if (qv_jval_int(v, out)) {
        /* fine */
    } else if (qv_jval_str(v, &s, NULL)) {
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (errno || end == s || *end)
            return qv_error_set(err, QV_EINVAL, "%s: '%s' is not an integer: invalid parameter",
                                what, s);
        *out = x;
    } else if (qv_jval_real(v, &d) && d == (double)(int64_t)d) {
        *out = (int64_t)d;
    } else {
        return qv_error_set(err, QV_EINVAL, "%s must be an integer: invalid parameter", what);
    }
    if (*out < lo || *out > hi)
        return qv_error_set(err, QV_EINVAL,
                            "%s %lld out of range [%lld, %lld]: invalid parameter", what,
                            (long long)*out, (long long)lo, (long long)hi);
    return QV_OK;
}

static qv_err flexible_bool(const qv_jval *v, const char *what, bool *out, qv_error *err)
{
    const char *s;

    if (qv_jval_bool(v, out))
        return QV_OK;
    if (qv_jval_str(v, &s, NULL)) {
        if (!strcasecmp(s, "true") || !strcmp(s, "1"))
            return (*out = true), QV_OK;
        if (!strcasecmp(s, "false") || !strcmp(s, "0"))
            return (*out = false), QV_OK;
    }
    return qv_error_set(err, QV_EINVAL, "%s must be a boolean: invalid parameter", what);
}

static const char *match_word(const char *s, const char *const *words, size_t n, bool any_case)
{
    for (size_t i = 0; s && i < n; i++)
        if (any_case ? !strcasecmp(s, words[i]) : !strcmp(s, words[i]))
            return words[i];
    return NULL;
}

/* ---- fields ------------------------------------------------------------------------- */

static qv_err field_type_params(const qv_jval *fo, qv_field *f, qv_error *err)
{
    const qv_jval *params, *v;
    int64_t x;
    qv_err rc;

    if ((rc = qv_jget_obj(fo, "elementTypeParams", false, &params, err)) != QV_OK)
        return rc;
    if (params && (rc = qv_jget_kv(fo, "elementTypeParams", &f->type_params, err)) != QV_OK)
        return rc;
    if ((v = qv_jobj_get(params, "dim")) &&
        (rc = flexible_int(v, "dim", 0, INT32_MAX, &x, err)) == QV_OK)
        f->dim = (uint32_t)x;
    if (rc == QV_OK && (v = qv_jobj_get(params, "max_length")) &&
        (rc = flexible_int(v, "max_length", 0, INT32_MAX, &x, err)) == QV_OK)
        f->max_length = (uint32_t)x;
    if (rc == QV_OK && (v = qv_jobj_get(params, "max_capacity")) &&
        (rc = flexible_int(v, "max_capacity", 0, INT32_MAX, &x, err)) == QV_OK)
        f->max_capacity = (uint32_t)x;
    if (rc != QV_OK)
        return rc;
    if (qv_type_is_vector(f->type) && f->type != QV_TYPE_SPARSE_FLOAT_VECTOR &&
        !qv_jobj_get(params, "dim"))
        return qv_error_set(err, QV_EINVAL,
                            "dimension is not defined in field type params of field %s, check "
                            "type param `dim` for vector field: invalid parameter",
                            f->name);
    if ((f->type == QV_TYPE_VARCHAR ||
         (f->type == QV_TYPE_ARRAY && f->element_type == QV_TYPE_VARCHAR)) &&
        !qv_jobj_get(params, "max_length"))
        return qv_error_set(err, QV_EINVAL,
                            "type param(max_length) should be specified for the field(%s) of "
                            "collection: invalid parameter",
                            f->name);
    if (f->type == QV_TYPE_ARRAY && !qv_jobj_get(params, "max_capacity"))
        return qv_error_set(err, QV_EINVAL,
                            "type param(max_capacity) should be specified for array field %s: "
                            "invalid parameter",
                            f->name);
    return QV_OK;
}

static qv_err parse_type(const char *name, const char *field, qv_type *out, qv_error *err)
{
    *out = qv_type_from_name(name);
    if (*out == QV_TYPE_NONE)
        return qv_error_set(err, QV_EINVAL, "data type %s is invalid(case sensitive): invalid "
                                            "parameter",
                            name);
    if (!qv_type_is_supported(*out))
        return qv_error_set(err, QV_EINVAL,
                            "data type %s of field %s is not supported by Quiver: invalid "
                            "parameter",
                            name, field);
    return QV_OK;
}

static qv_err field_default(const qv_jval *v, qv_field *f, qv_error *err)
{
    static const struct {
        qv_type t;
        int64_t lo, hi;
    } ranges[] = {{QV_TYPE_INT8, INT8_MIN, INT8_MAX},
                  {QV_TYPE_INT16, INT16_MIN, INT16_MAX},
                  {QV_TYPE_INT32, INT32_MIN, INT32_MAX},
                  {QV_TYPE_INT64, INT64_MIN, INT64_MAX}};
    qv_value *d = &f->default_value;
    const char *s;
    size_t n;
    bool ok = false;

    if (!v || qv_jval_type(v) == QV_J_NULL)
        return QV_OK;
    f->has_default = true;
    d->type = f->type;
    if (f->type == QV_TYPE_BOOL) {
        ok = qv_jval_bool(v, &d->u.b);
    } else if (qv_type_is_integer(f->type)) {
        ok = qv_jval_int(v, &d->u.i);
        for (size_t i = 0; ok && i < 4; i++)
            if (ranges[i].t == f->type)
                ok = d->u.i >= ranges[i].lo && d->u.i <= ranges[i].hi;
    } else if (f->type == QV_TYPE_FLOAT || f->type == QV_TYPE_DOUBLE) {
        ok = qv_jval_real(v, &d->u.d);
    } else if (f->type == QV_TYPE_VARCHAR && qv_jval_str(v, &s, &n)) {
        ok = (d->u.str.s = qv_strndup(s, n)) != NULL;
        d->u.str.len = n;
        if (ok && f->max_length && n > f->max_length)
            return qv_error_set(err, QV_EINVAL,
                                "the length (%zu) of default value of field %s exceeds "
                                "max_length (%u): invalid parameter",
                                n, f->name, f->max_length);
    } else {
        d->type = QV_TYPE_NONE;
        return qv_error_set(err, QV_EINVAL,
                            "%s field %s does not support default value: invalid parameter",
                            qv_type_name(f->type), f->name);
    }
    if (!ok) {
        d->type = QV_TYPE_NONE;
        return qv_error_set(err, QV_EINVAL,
                            "default value type mismatch for field %s of type %s: invalid "
                            "parameter",
                            f->name, qv_type_name(f->type));
    }
    return QV_OK;
}

static qv_err decode_field(const qv_jval *fo, qv_field *f, qv_error *err)
{
    const char *name = NULL, *type = NULL, *elem = NULL, *desc = NULL;
    qv_err rc;

    if ((rc = qv_jget_str(fo, "fieldName", true, &name, NULL, err)) != QV_OK ||
        (rc = qv_name_validate(QV_NAME_FIELD, name, err)) != QV_OK ||
        !(f->name = qv_strdup(name)))
        return rc != QV_OK ? rc : NOMEM(err);
    if ((rc = qv_jget_str(fo, "dataType", true, &type, NULL, err)) != QV_OK ||
        (rc = parse_type(type, name, &f->type, err)) != QV_OK ||
        (rc = qv_jget_bool(fo, "isPrimary", false, &f->is_primary, NULL, err)) != QV_OK ||
        (rc = qv_jget_bool(fo, "isPartitionKey", false, &f->is_partition_key, NULL, err)) ||
        (rc = qv_jget_bool(fo, "isClusteringKey", false, &f->is_clustering_key, NULL, err)) ||
        (rc = qv_jget_bool(fo, "nullable", false, &f->nullable, NULL, err)) != QV_OK ||
        (rc = qv_jget_str(fo, "description", false, &desc, NULL, err)) != QV_OK)
        return rc;
    if (!(f->description = qv_strdup(desc ? desc : "")))
        return NOMEM(err);
    if (f->type == QV_TYPE_ARRAY) {
        if ((rc = qv_jget_str(fo, "elementDataType", true, &elem, NULL, err)) != QV_OK ||
            (rc = parse_type(elem, name, &f->element_type, err)) != QV_OK)
            return rc;
        if (qv_type_is_vector(f->element_type) || f->element_type == QV_TYPE_ARRAY ||
            f->element_type == QV_TYPE_JSON)
            return qv_error_set(err, QV_EINVAL,
                                "element type %s is not supported in Array field %s: invalid "
                                "parameter",
                                elem, name);
    }
    if ((rc = field_type_params(fo, f, err)) != QV_OK)
        return rc;
    return field_default(qv_jobj_get(fo, "defaultValue"), f, err);
}

static qv_err decode_fields(const qv_jval *schema, qv_schema *s, qv_error *err)
{
    const qv_jval *fields;
    size_t n;
    qv_err rc;

    if ((rc = qv_jget_arr(schema, "fields", false, &fields, err)) != QV_OK)
        return rc;
    n = fields ? qv_jarr_len(fields) : 0;
    if (n > QV_MAX_FIELDS)
        return qv_error_set(err, QV_EINVAL,
                            "maximum field's number should be limited to %d: invalid parameter",
                            QV_MAX_FIELDS);
    if (!(s->fields = qv_calloc(n ? n : 1, sizeof *s->fields)))
        return NOMEM(err);
    for (size_t i = 0; i < n; i++) {
        s->field_count = i + 1;
        if ((rc = decode_field(qv_jarr_at(fields, i), &s->fields[i], err)) != QV_OK)
            return rc;
    }
    for (size_t i = 0; i < n; i++)
        if (s->fields[i].is_primary)
            s->fields[i].auto_id = s->auto_id;
    return QV_OK;
}

/* ---- functions ------------------------------------------------------------------------ */

/* {name*, type* ("BM25" or its number 1), inputFieldNames*, outputFieldNames*, params,
 * description} (reference §3). */
static qv_err decode_function(const qv_jval *fo, size_t i, qv_function *fn, qv_error *err)
{
    const char *name, *type = NULL, *desc = NULL;
    const qv_jval *tv = qv_jobj_get(fo, "type");
    int64_t tnum;
    qv_err rc;

    if ((rc = qv_jget_str(fo, "name", true, &name, NULL, err)) != QV_OK ||
        (rc = qv_name_validate(QV_NAME_FIELD, name, err)) != QV_OK ||
        (rc = qv_jget_str(fo, "description", false, &desc, NULL, err)) != QV_OK ||
        (rc = qv_jget_str_list(fo, "inputFieldNames", true, &fn->inputs, &fn->ninputs, err)) ||
        (rc = qv_jget_str_list(fo, "outputFieldNames", true, &fn->outputs, &fn->noutputs,
                               err)) ||
        (rc = qv_jget_kv(fo, "params", &fn->params, err)) != QV_OK)
        return rc;
    if (!tv)
        return qv_error_set(err, QV_EMISSING, "missing required parameters, error: function "
                                              "type");
    if (qv_jval_str(tv, &type, NULL))
        fn->type = qv_function_type_from_name(type);
    else if (qv_jval_int(tv, &tnum) && tnum > 0 && tnum <= QV_FUNCTION_RERANK)
        fn->type = (qv_function_type)tnum;
    if (fn->type == QV_FUNCTION_UNKNOWN)
        return qv_error_set(err, QV_EINVAL, "function %s: unknown function type: invalid "
                                            "parameter",
                            name);
    fn->id = 100 + (int64_t)i;
    if (!(fn->name = qv_strdup(name)) || !(fn->description = qv_strdup(desc ? desc : "")))
        return NOMEM(err);
    return QV_OK;
}

static qv_err decode_functions(const qv_jval *arr, qv_schema *s, qv_error *err)
{
    size_t n = arr ? qv_jarr_len(arr) : 0;
    qv_err rc = QV_OK;

    if (n > QV_MAX_FIELDS)
        return qv_error_set(err, QV_EINVAL, "too many functions: invalid parameter");
    if (n && !(s->functions = qv_calloc(n, sizeof *s->functions)))
        return NOMEM(err);
    for (size_t i = 0; i < n && rc == QV_OK; i++) {
        s->function_count = i + 1;
        if ((rc = decode_function(qv_jarr_at(arr, i), i, &s->functions[i], err)) != QV_OK)
            qv_error_prefix(err, "functions[%zu]: ", i);
    }
    return rc;
}

/* ---- quick setup ---------------------------------------------------------------------- */

static qv_err quick_field(qv_field *f, const char *name, qv_type t)
{
    if (!(f->name = qv_strdup(name)) || !(f->description = qv_strdup("")))
        return QV_ENOMEM;
    f->type = t;
    return QV_OK;
}

static qv_err quick_schema(const qv_req *req, qv_collection_info *spec, int64_t max_length,
                           qv_error *err)
{
    const char *id_type = "Int64", *pk = "id", *vec = "vector";
    const qv_jval *root = req->root, *v;
    int64_t dim;
    char text[32];
    qv_err rc;
    qv_schema *s = &spec->schema;

    if (!(v = qv_jobj_get(root, "dimension")) || qv_jval_type(v) == QV_J_NULL)
        return qv_error_set(err, QV_EINVAL,
                            "dimension is required for quickly create collection(default metric "
                            "type: COSINE): invalid parameter[expected=collectionName & "
                            "dimension][actual=collectionName]");
    if ((rc = flexible_int(v, "dimension", 0, INT32_MAX, &dim, err)) != QV_OK ||
        (rc = qv_jget_str(root, "idType", false, &id_type, NULL, err)) != QV_OK ||
        (rc = qv_jget_str(root, "primaryFieldName", false, &pk, NULL, err)) != QV_OK ||
        (rc = qv_jget_str(root, "vectorFieldName", false, &vec, NULL, err)) != QV_OK ||
        (rc = qv_name_validate(QV_NAME_FIELD, pk, err)) != QV_OK ||
        (rc = qv_name_validate(QV_NAME_FIELD, vec, err)) != QV_OK)
        return rc;
    if (strcmp(id_type, "Int64") != 0 && strcmp(id_type, "VarChar") != 0)
        return qv_error_set(err, QV_EINVAL,
                            "idType can only be [Int64, VarChar], default: Int64: invalid "
                            "parameter[expected=Int64, VarChar][actual=idType=%s]",
                            id_type);
    if (!(s->fields = qv_calloc(2, sizeof *s->fields)))
        return NOMEM(err);
    s->field_count = 2;
    if (quick_field(&s->fields[0], pk, qv_type_from_name(id_type)) != QV_OK ||
        quick_field(&s->fields[1], vec, QV_TYPE_FLOAT_VECTOR) != QV_OK)
        return NOMEM(err);
    s->fields[0].is_primary = true;
    s->fields[0].auto_id = s->auto_id;
    if (s->fields[0].type == QV_TYPE_VARCHAR) {
        s->fields[0].max_length = (uint32_t)max_length;
        snprintf(text, sizeof text, "%lld", (long long)max_length);
        if (qv_kvlist_set(&s->fields[0].type_params, "max_length", text) != QV_OK)
            return NOMEM(err);
    }
    s->fields[1].dim = (uint32_t)dim;
    snprintf(text, sizeof text, "%lld", (long long)dim);
    return qv_kvlist_set(&s->fields[1].type_params, "dim", text) == QV_OK ? QV_OK : NOMEM(err);
}

/* The index quick setup creates: AUTOINDEX on the vector field, named after it. */
static qv_err quick_index(const qv_req *req, qv_collection_info *spec, qv_error *err)
{
    const char *metric = "COSINE", *m;
    qv_index_def *d;
    qv_err rc;

    if ((rc = qv_jget_str(req->root, "metricType", false, &metric, NULL, err)) != QV_OK)
        return rc;
    if (!(m = match_word(metric, metric_types, 3, true)))
        return qv_error_set(err, QV_EINVAL,
                            "metric type %s not found or not supported, supported: [L2 IP "
                            "COSINE]: invalid parameter",
                            metric);
    if (!(d = spec->indexes = qv_calloc(1, sizeof *d)))
        return NOMEM(err);
    spec->index_count = 1;
    if (!(d->name = qv_strdup(spec->schema.fields[1].name)) ||
        !(d->field = qv_strdup(spec->schema.fields[1].name)) ||
        !(d->index_type = qv_strdup("AUTOINDEX")) || !(d->metric_type = qv_strdup(m)))
        return NOMEM(err);
    return QV_OK;
}

/* ---- index params ------------------------------------------------------------------- */

static qv_err check_index_param(const qv_index_def *d, const qv_field *f, qv_error *err)
{
    static const struct {
        const char *key;
        int64_t lo, hi;
    } bounds[] = {{"M", 2, 2048},  {"efConstruction", 1, 2147483647}, {"nlist", 1, 65536},
                  {"m", 1, 65536}, {"nbits", 1, 16}};

    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
        const char *v = qv_kvlist_get(&d->params, bounds[i].key);
        char *end;
        long long x;
        if (!v)
            continue;
        errno = 0;
        x = strtoll(v, &end, 10);
        if (errno || end == v || *end || x < bounds[i].lo || x > bounds[i].hi)
            return qv_error_set(err, QV_EINVAL,
                                "param '%s' (%s) should be in range [%lld, %lld]: invalid "
                                "parameter",
                                bounds[i].key, v, (long long)bounds[i].lo,
                                (long long)bounds[i].hi);
        if (!strcmp(bounds[i].key, "m") && f->dim % x != 0)
            return qv_error_set(err, QV_EINVAL,
                                "dimension must be able to be divided by `m`, dimension: %u, m: "
                                "%lld: invalid parameter",
                                f->dim, x);
    }
    return QV_OK;
}

/* The metric of an index given without one: Milvus's defaults per vector type. */
static const char *default_metric(const qv_schema *s, const qv_field *f)
{
    if (f->type == QV_TYPE_BINARY_VECTOR)
        return "HAMMING";
    if (f->type == QV_TYPE_SPARSE_FLOAT_VECTOR)
        return qv_schema_output_function(s, f) ? "BM25" : "IP";
    return "COSINE";
}

/* Index type, metric and params must fit the field's type; BM25 is the metric of a BM25
 * function's output field and of nothing else. */
static qv_err check_index_fits(const qv_schema *s, const qv_field *f, const char *type,
                               const char *metric, const qv_kvlist *params, qv_error *err)
{
    bool bm25_out = qv_schema_output_function(s, f) != NULL;
    qv_index_spec spec;
    qv_error e;

    if (qv_index_spec_parse(type, metric, params, f->type, f->dim, &spec, &e) != QV_OK)
        return qv_error_set(err, QV_EINVAL, "field %s: %s: invalid parameter", f->name, e.msg);
    if (bm25_out != spec.bm25)
        return qv_error_set(err, QV_EINVAL,
                            bm25_out ? "field %s is the output of a BM25 function: its index "
                                       "metric must be BM25: invalid parameter"
                                     : "metric BM25 is only for the output field of a BM25 "
                                       "function, not %s: invalid parameter",
                            f->name);
    return QV_OK;
}

/* A scalar index (quiver/scalar_index.h): no metric; JSON fields take json_path and
 * json_cast_type in params. */
static qv_err decode_scalar_index(const qv_field *f, const char *type, const char *name,
                                  qv_index_def *d, qv_error *err)
{
    const char *canon = qv_sindex_type_name(type);
    qv_err rc;

    if (!canon && !match_word(type, index_types, N_INDEX_TYPES, true))
        return qv_error_set(err, QV_EINVAL, "invalid index type: %s: invalid parameter", type);
    if ((rc = qv_sindex_spec_parse(canon ? canon : type, f->name, f->type, f->element_type,
                                   f->is_primary, qv_kvlist_get(&d->params, "json_path"),
                                   qv_kvlist_get(&d->params, "json_cast_type"), NULL, err)) !=
        QV_OK)
        return rc;
    qv_kvlist_remove(&d->params, "index_type");
    qv_kvlist_remove(&d->params, "metric_type");
    if (!(d->name = qv_strdup(name && *name ? name : f->name)) ||
        !(d->field = qv_strdup(f->name)) || !(d->index_type = qv_strdup(canon)) ||
        !(d->metric_type = qv_strdup("")))
        return NOMEM(err);
    return qv_name_validate(QV_NAME_INDEX, d->name, err);
}

static qv_err decode_index(const qv_jval *io, const qv_schema *schema, qv_index_def *d,
                           qv_error *err)
{
    const char *field, *name = NULL, *metric = NULL, *type = NULL, *m, *t;
    const qv_jval *params;
    const qv_field *f;
    qv_err rc;

    if ((rc = qv_jget_str(io, "fieldName", true, &field, NULL, err)) != QV_OK ||
        (rc = qv_jget_str(io, "indexName", false, &name, NULL, err)) != QV_OK ||
        (rc = qv_jget_str(io, "metricType", false, &metric, NULL, err)) != QV_OK ||
        (rc = qv_jget_str(io, "indexType", false, &type, NULL, err)) != QV_OK ||
        (rc = qv_jget_obj(io, "params", false, &params, err)) != QV_OK ||
        (rc = qv_jget_kv(io, "params", &d->params, err)) != QV_OK)
        return rc;
    if (!(f = qv_schema_field(schema, field)))
        return qv_error_set(err, QV_EMISSING,
                            "missing required parameters, error: `%s` hasn't defined in schema",
                            field);
    if (!type && params && qv_jval_str(qv_jobj_get(params, "index_type"), &t, NULL))
        type = t;
    if (!qv_type_is_vector(f->type))
        return decode_scalar_index(f, type ? type : "AUTOINDEX", name, d, err);
    if (!(t = match_word(type ? type : "AUTOINDEX", index_types, N_INDEX_TYPES, true)))
        return qv_error_set(err, QV_EINVAL, "invalid index type: %s: invalid parameter", type);
    if (!(m = match_word(metric ? metric : default_metric(schema, f), metric_types, N_METRICS,
                         true)))
        return qv_error_set(err, QV_EINVAL,
                            "metric type %s not found or not supported, supported: [L2 IP "
                            "COSINE HAMMING JACCARD BM25]: invalid parameter",
                            metric);
    if ((rc = check_index_fits(schema, f, t, m, &d->params, err)) != QV_OK)
        return rc;
    qv_kvlist_remove(&d->params, "index_type");
    qv_kvlist_remove(&d->params, "metric_type");
    if (!(d->name = qv_strdup(name && *name ? name : field)) || !(d->field = qv_strdup(field)) ||
        !(d->index_type = qv_strdup(t)) || !(d->metric_type = qv_strdup(m)))
        return NOMEM(err);
    if ((rc = qv_name_validate(QV_NAME_INDEX, d->name, err)) != QV_OK)
        return rc;
    return check_index_param(d, f, err);
}

qv_err api_decode_index_params(const qv_jval *arr, const qv_schema *schema, qv_index_def **out,
                               size_t *count, qv_error *err)
{
    size_t n = arr ? qv_jarr_len(arr) : 0;
    qv_err rc = QV_OK;

    *out = NULL;
    *count = 0;
    if (n == 0)
        return QV_OK;
    if (n > QV_MAX_FIELDS)
        return qv_error_set(err, QV_EINVAL, "too many indexParams (%zu): invalid parameter", n);
    if (!(*out = qv_calloc(n, sizeof **out)))
        return NOMEM(err);
    for (size_t i = 0; i < n && rc == QV_OK; i++) {
        *count = i + 1;
        if ((rc = decode_index(qv_jarr_at(arr, i), schema, &(*out)[i], err)) != QV_OK)
            qv_error_prefix(err, "indexParams[%zu]: ", i);
    }
    return rc;
}

/* ---- collection params ---------------------------------------------------------------- */

/* A partition-key collection gets partitions_num hidden partitions named as Milvus names
 * them, _default_0 .. _default_{n-1} (default 16); rows go to the one at index
 * FNV-1a-64(key) % n (api_partkey.c). Without a partition key, partitionsNum is refused. */
static qv_err partition_key_setup(qv_collection_info *spec, int64_t partitions_num,
                                  qv_error *err)
{
    char name[32];

    if (!qv_schema_partition_key(&spec->schema))
        return partitions_num ? qv_error_set(err, QV_EUNEXPECTED,
                                             "num_partitions should only be specified with "
                                             "partition key field enabled")
                              : QV_OK;
    if (!partitions_num)
        partitions_num = QV_DEFAULT_KEY_PARTITIONS;
    if (!(spec->partitions = qv_calloc((size_t)partitions_num, sizeof *spec->partitions)))
        return NOMEM(err);
    for (int64_t i = 0; i < partitions_num; i++) {
        snprintf(name, sizeof name, "%s_%lld", QV_DEFAULT_PARTITION, (long long)i);
        if (!(spec->partitions[i].name = qv_strdup(name)))
            return NOMEM(err);
        spec->partition_count = (size_t)i + 1;
    }
    return QV_OK;
}

static qv_err decode_params(const qv_jval *params, qv_collection_info *spec, bool *dynamic,
                            int64_t *max_length, int64_t *partitions_num, qv_error *err)
{
    const qv_jval *v;
    const char *level = "Bounded";
    int64_t x;
    qv_err rc = QV_OK;
    char text[32];

    if ((v = qv_jobj_get(params, "shardsNum")) &&
        (rc = flexible_int(v, "shardsNum", 1, 64, &x, err)) == QV_OK)
        spec->shards_num = (int32_t)x;
    if (rc == QV_OK && (v = qv_jobj_get(params, "consistencyLevel")) &&
        (!qv_jval_str(v, &level, NULL) || !match_word(level, consistency_levels, 5, false)))
        rc = qv_error_set(err, QV_EINVAL,
                          "consistencyLevel can only be [Strong, Session, Bounded, Eventually, "
                          "Customized], default: Bounded: invalid parameter");
    if (rc == QV_OK && (v = qv_jobj_get(params, "ttlSeconds")) &&
        (rc = flexible_int(v, "ttlSeconds", -1, 3155760000LL, &x, err)) == QV_OK) {
        snprintf(text, sizeof text, "%lld", (long long)x);
        rc = qv_kvlist_set(&spec->properties, "collection.ttl.seconds", text);
    }
    if (rc == QV_OK && (v = qv_jobj_get(params, "partitionsNum")))
        rc = flexible_int(v, "partitionsNum", 1, QV_MAX_PARTITIONS, partitions_num, err);
    if (rc == QV_OK && (v = qv_jobj_get(params, "mmap.enabled"))) {
        bool on;
        if ((rc = flexible_bool(v, "mmap.enabled", &on, err)) == QV_OK)
            rc = qv_kvlist_set(&spec->properties, "mmap.enabled", on ? "true" : "false");
    }
    if (rc == QV_OK && (v = qv_jobj_get(params, "enableDynamicField")))
        rc = flexible_bool(v, "enableDynamicField", dynamic, err);
    if (rc == QV_OK && (v = qv_jobj_get(params, "max_length")))
        rc = flexible_int(v, "max_length", 1, QV_MAX_VARCHAR_LEN, max_length, err);
    if (rc == QV_OK && !(spec->consistency_level = qv_strdup(level)))
        rc = NOMEM(err);
    return rc;
}

qv_err api_decode_collection(const qv_req *req, qv_collection_info *spec, qv_error *err)
{
    const qv_jval *schema, *params, *index_params, *fields = NULL, *functions = NULL;
    const char *name, *desc = "";
    bool quick, dynamic = true, dynamic_given = false, auto_id = false;
    int64_t max_length = QV_MAX_VARCHAR_LEN, partitions_num = 0;
    qv_err rc;

    memset(spec, 0, sizeof *spec);
    spec->shards_num = (int32_t)req->node->cfg->catalog_default_shards;
    if ((rc = api_req_str(req, "collectionName", &name, err)) != QV_OK ||
        (rc = qv_jget_str(req->root, "description", false, &desc, NULL, err)) != QV_OK ||
        (rc = qv_jget_obj(req->root, "schema", false, &schema, err)) != QV_OK ||
        (rc = qv_jget_obj(req->root, "params", false, &params, err)) != QV_OK ||
        (rc = qv_jget_arr(req->root, "indexParams", false, &index_params, err)) != QV_OK)
        return rc;
    if (!(spec->db = qv_strdup(api_db(req))) || !(spec->name = qv_strdup(name)) ||
        !(spec->schema.description = qv_strdup(desc)))
        return NOMEM(err);
    if ((rc = qv_jget_arr(schema, "fields", false, &fields, err)) != QV_OK ||
        (rc = qv_jget_arr(schema, "functions", false, &functions, err)) != QV_OK)
        return rc;
    quick = qv_jarr_len(fields) == 0;
    if (quick && functions && qv_jarr_len(functions) > 0)
        return qv_error_set(err, QV_EINVAL, "functions are not allowed in quick setup (give "
                                            "schema.fields): invalid parameter");
    /* Go's decoder matches keys case-insensitively: the docs and TS send schema.autoId */
    if ((rc = qv_jget_bool(req->root, "autoID", false, &auto_id, NULL, err)) != QV_OK ||
        (rc = qv_jget_bool(req->root, "autoId", false, &auto_id, NULL, err)) != QV_OK ||
        (rc = qv_jget_bool(schema, "autoID", false, &auto_id, NULL, err)) != QV_OK ||
        (rc = qv_jget_bool(schema, "autoId", false, &auto_id, NULL, err)) != QV_OK ||
        (rc = qv_jget_bool(schema, "enableDynamicField", false, &dynamic, &dynamic_given, err)))
        return rc;
    spec->schema.auto_id = auto_id;
    if (!quick && !dynamic_given)
        dynamic = false; /* custom setup: dynamic field off unless asked */
    if ((rc = decode_params(params, spec, &dynamic, &max_length, &partitions_num, err)) != QV_OK)
        return rc;
    spec->schema.enable_dynamic = dynamic;
    if (quick) {
        if ((rc = partition_key_setup(spec, partitions_num, err)) != QV_OK ||
            (rc = quick_schema(req, spec, max_length, err)) != QV_OK ||
            (rc = qv_schema_validate(&spec->schema, err)) != QV_OK ||
            (rc = quick_index(req, spec, err)) != QV_OK)
            return rc;
        spec->load_state = QV_LOAD_LOADED;
        return QV_OK;
    }
    if ((rc = decode_fields(schema, &spec->schema, err)) != QV_OK ||
        (rc = decode_functions(functions, &spec->schema, err)) != QV_OK ||
        (rc = qv_schema_validate(&spec->schema, err)) != QV_OK ||
        (rc = partition_key_setup(spec, partitions_num, err)) != QV_OK ||
        (rc = api_decode_index_params(index_params, &spec->schema, &spec->indexes,
                                      &spec->index_count, err)) != QV_OK)
        return rc;
    spec->load_state = spec->index_count ? QV_LOAD_LOADED : QV_LOAD_NOT_LOAD;
    return QV_OK;
}
