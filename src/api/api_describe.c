/* SPDX-License-Identifier: Apache-2.0 */
/* api_describe.c - the collections/describe encoding in Milvus's exact shapes (reference
 * §8.1): fields with their type params, default values and isFunctionOutput, functions,
 * aliases, indexes, load state and properties. */
#include "api/api_int.h"

const char *api_load_state_name(qv_load_state s)
{
    switch (s) {
    case QV_LOAD_LOADED:
        return "LoadStateLoaded";
    case QV_LOAD_LOADING:
        return "LoadStateLoading";
    default:
        return "LoadStateNotLoad";
    }
}

/* Milvus renders a field's default as a Go proto ValueField: {"Data":{"LongData":5}}. */
static void write_default(qv_jw *w, const qv_field *f)
{
    const qv_value *v = &f->default_value;

    qv_jw_obj_begin(w);
    qv_jw_key(w, "Data");
    qv_jw_obj_begin(w);
    switch (v->type) {
    case QV_TYPE_BOOL:
        qv_jw_kbool(w, "BoolData", v->u.b);
        break;
    case QV_TYPE_INT64:
        qv_jw_kint(w, "LongData", v->u.i);
        break;
    case QV_TYPE_INT8:
    case QV_TYPE_INT16:
    case QV_TYPE_INT32:
        qv_jw_kint(w, "IntData", v->u.i);
        break;
    case QV_TYPE_FLOAT:
        qv_jw_key(w, "FloatData");
        qv_jw_float(w, (float)v->u.d);
        break;
    case QV_TYPE_DOUBLE:
        qv_jw_key(w, "DoubleData");
        qv_jw_double(w, v->u.d);
        break;
    case QV_TYPE_VARCHAR:
        qv_jw_key(w, "StringData");
        qv_jw_strn(w, v->u.str.s, v->u.str.len);
        break;
    default:
        break;
    }
    qv_jw_obj_end(w);
    qv_jw_obj_end(w);
}

static void write_field(qv_jw *w, const qv_schema *s, const qv_field *f)
{
    qv_jw_obj_begin(w);
    qv_jw_kstr(w, "name", f->name);
    qv_jw_kint(w, "id", f->id);
    qv_jw_kstr(w, "type", qv_type_name(f->type));
    qv_jw_kbool(w, "primaryKey", f->is_primary);
    qv_jw_kbool(w, "partitionKey", f->is_partition_key);
    qv_jw_kbool(w, "clusteringKey", f->is_clustering_key);
    qv_jw_kbool(w, "autoId", f->auto_id);
    qv_jw_kstr(w, "description", f->description ? f->description : "");
    qv_jw_kbool(w, "nullable", f->nullable);
    if (f->type_params.count) {
        qv_jw_key(w, "params");
        api_write_kv_pairs(w, &f->type_params);
    }
    if (f->type == QV_TYPE_ARRAY)
        qv_jw_kstr(w, "elementType", qv_type_name(f->element_type));
    if (f->has_default) {
        qv_jw_key(w, "defaultValue");
        write_default(w, f);
    }
    if (qv_schema_output_function(s, f))
        qv_jw_kbool(w, "isFunctionOutput", true);
    qv_jw_obj_end(w);
}

static void write_strings(qv_jw *w, const char *key, char *const *v, size_t n)
{
    qv_jw_key(w, key);
    qv_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        qv_jw_str(w, v[i]);
    qv_jw_arr_end(w);
}

static void write_functions(qv_jw *w, const qv_schema *s)
{
    qv_jw_key(w, "functions");
    qv_jw_arr_begin(w);
    for (size_t i = 0; i < s->function_count; i++) {
        const qv_function *fn = &s->functions[i];
        qv_jw_obj_begin(w);
        qv_jw_kstr(w, "name", fn->name);
        qv_jw_kint(w, "id", fn->id);
        qv_jw_kint(w, "type", (int64_t)fn->type);
        qv_jw_kstr(w, "description", fn->description ? fn->description : "");
        write_strings(w, "inputFieldNames", fn->inputs, fn->ninputs);
        write_strings(w, "outputFieldNames", fn->outputs, fn->noutputs);
        qv_jw_key(w, "params");
        api_write_kv_pairs(w, &fn->params);
        qv_jw_obj_end(w);
    }
    qv_jw_arr_end(w);
}

static void write_names_array(qv_jw *w, const qv_names *names)
{
    qv_jw_arr_begin(w);
    for (size_t i = 0; i < names->count; i++)
        qv_jw_str(w, names->items[i]);
    qv_jw_arr_end(w);
}

void api_write_collection(qv_jw *w, const qv_collection_info *ci)
{
    const qv_field *pk = qv_schema_primary(&ci->schema);

    qv_jw_obj_begin(w);
    qv_jw_kstr(w, "collectionName", ci->name);
    qv_jw_kint(w, "collectionID", ci->id);
    qv_jw_kstr(w, "description", ci->schema.description ? ci->schema.description : "");
    qv_jw_kbool(w, "autoId", pk && pk->auto_id);
    qv_jw_key(w, "fields");
    qv_jw_arr_begin(w);
    for (size_t i = 0; i < ci->schema.field_count; i++)
        write_field(w, &ci->schema, &ci->schema.fields[i]);
    qv_jw_arr_end(w);
    write_functions(w, &ci->schema);
    qv_jw_key(w, "aliases");
    write_names_array(w, &ci->aliases);
    qv_jw_key(w, "indexes");
    qv_jw_arr_begin(w);
    for (size_t i = 0; i < ci->index_count; i++) {
        qv_jw_obj_begin(w);
        qv_jw_kstr(w, "indexName", ci->indexes[i].name);
        qv_jw_kstr(w, "fieldName", ci->indexes[i].field);
        qv_jw_kstr(w, "metricType", ci->indexes[i].metric_type);
        qv_jw_obj_end(w);
    }
    qv_jw_arr_end(w);
    qv_jw_kstr(w, "load", api_load_state_name(ci->load_state));
    qv_jw_kint(w, "shardsNum", ci->shards_num);
    qv_jw_kint(w, "partitionsNum", (int64_t)ci->partition_count);
    qv_jw_kstr(w, "consistencyLevel", ci->consistency_level);
    qv_jw_kbool(w, "enableDynamicField", ci->schema.enable_dynamic);
    qv_jw_key(w, "properties");
    api_write_kv_pairs(w, &ci->properties);
    qv_jw_obj_end(w);
}
