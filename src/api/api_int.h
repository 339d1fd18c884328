/* SPDX-License-Identifier: Apache-2.0 */
/* api_int.h - helpers shared by the handler files. */
#ifndef QUIVER_API_INT_H
#define QUIVER_API_INT_H

#include "quiver/api.h"
#include "quiver/catalog.h"
#include "quiver/filter.h"
#include "quiver/json.h"

#define API_MAX_JSON_DEPTH 64

/* Begin {"code":0,"data": ... ; the handler writes the data value, then api_ok_end. */
void api_ok_begin(qv_resp *resp, qv_jw *w);
void api_ok_end(qv_jw *w);
/* {"code":0,"data":{}} */
qv_err api_ok_empty(qv_resp *resp);
/* {"code":0,"data":[names...]} */
qv_err api_ok_names(qv_resp *resp, const qv_names *names);

/* [{"key":k,"value":v},...] (Milvus's KeyValuePair list). */
void api_write_kv_pairs(qv_jw *w, const qv_kvlist *kv);

/* dbName from the body, then the DB-Name header, then "default". */
const char *api_db(const qv_req *req);
/* The collection named by the body's collectionName (or an alias): a deep copy. */
qv_err api_get_collection(qv_req *req, qv_resp *resp, qv_collection_info *ci);
/* A required, non-empty string field of the body. */
qv_err api_req_str(const qv_req *req, const char *key, const char **out, qv_error *err);
/* An optional string list; absent leaves out empty. */
qv_err api_str_list(const qv_req *req, const char *key, bool required, qv_names *out,
                    qv_error *err);
/* Read {key:value} properties; numbers and bools become their text. */
qv_err api_props(const qv_req *req, const char *key, qv_kvlist *out, qv_error *err);

/* Schema and collection (api_schema.c). */
qv_err api_decode_collection(const qv_req *req, qv_collection_info *spec, qv_error *err);
qv_err api_decode_index_params(const qv_jval *arr, const qv_schema *schema, qv_index_def **out,
                               size_t *count, qv_error *err);
void api_write_collection(qv_jw *w, const qv_collection_info *ci);
const char *api_load_state_name(qv_load_state s);

/* Entities (api_entity.c): a partition's id by name (QV_ENOPART), and a filter with
 * its exprParams object (may be NULL) compiled against s. */
qv_err api_partition_id(const qv_collection_info *ci, const char *name, int64_t *out,
                        qv_error *err);
qv_err api_compile_filter(const qv_req *req, const qv_schema *s, const char *expr,
                          const qv_jval *params_obj, qv_filter **out, qv_error *err);

/* Route handlers, by group. */
#define API_HANDLERS(X)                                                                            \
    X(root) X(livez) X(healthz) X(readyz) X(metrics) X(openapi)                                    \
    X(db_create) X(db_list) X(db_describe) X(db_drop) X(db_alter) X(db_drop_properties)            \
    X(coll_create) X(coll_describe) X(coll_list) X(coll_has) X(coll_drop) X(coll_rename)           \
    X(coll_get_stats) X(coll_load) X(coll_release) X(coll_refresh_load) X(coll_get_load_state)     \
    X(coll_alter_properties) X(coll_drop_properties) X(coll_flush) X(coll_compact)                                \
    X(coll_get_compaction_state)                                \
    X(part_create) X(part_list) X(part_has) X(part_drop) X(part_load) X(part_release)              \
    X(part_get_stats)                                                                              \
    X(alias_create) X(alias_list) X(alias_describe) X(alias_alter) X(alias_drop)                   \
    X(index_create) X(index_list) X(index_describe) X(index_drop) X(index_alter_properties)        \
    X(index_drop_properties)                                                                       \
    X(entity_insert) X(entity_upsert) X(entity_delete) X(entity_get) X(entity_query)               \
    X(entity_search) X(entity_hybrid_search)

#define API_DECLARE(name) qv_err api_##name(qv_req *req, qv_resp *resp);
API_HANDLERS(API_DECLARE)
#undef API_DECLARE

#endif
