/* SPDX-License-Identifier: Apache-2.0 */
/* api_int.h - helpers shared by the handler files. */
#ifndef QUIVER_API_INT_H
#define QUIVER_API_INT_H

#include "quiver/api.h"
#include "quiver/catalog.h"
#include "quiver/filter.h"
#include "quiver/json.h"
#include "quiver/rowbatch.h"

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
/* ids (one primary key or an array of them) -> the filter `<pk> in {ids}`; a key of the
 * wrong type is QV_EBADPK. */
qv_err api_pk_filter(const qv_schema *s, const qv_jval *ids, qv_filter **out, qv_error *err);
/* The same filter described for peers (quiver/dist.h); returns the text to free. */
struct qv_dist_filter;
char *api_pk_filter_source(const qv_jval *ids, struct qv_dist_filter *src);

/* Cluster (api_cluster.c, api_internal.c). A public route's work after authentication:
 * DDL goes to the leader (run here when this node leads or from_peer, then the catalog is
 * replicated), broadcast routes also run on every other live peer (unless from_peer). */
qv_err api_run_public(const qv_route *r, qv_req *req, qv_resp *resp, bool from_peer);
/* DDL and broadcast routes on a cluster (api_cluster.c). */
qv_err api_cluster_run(const qv_route *r, qv_req *req, qv_resp *resp, bool from_peer);
/* Install a catalog snapshot from a peer, dropping the rows of collections it lacks. */
qv_err api_install_catalog(qv_node *n, const void *p, size_t len, qv_error *err);
/* The heartbeat thread's work after each round (catalog catch-up, readiness). */
void api_cluster_tick(void *node);
qv_err api_cluster_status(qv_req *req, qv_resp *resp);
qv_err api_internal_ping(qv_req *req, qv_resp *resp);
qv_err api_internal_catalog_get(qv_req *req, qv_resp *resp);
qv_err api_internal_catalog_put(qv_req *req, qv_resp *resp);
qv_err api_internal_run(qv_req *req, qv_resp *resp);
qv_err api_internal_write(qv_req *req, qv_resp *resp);
qv_err api_internal_replicate(qv_req *req, qv_resp *resp);
qv_err api_internal_delete(qv_req *req, qv_resp *resp);
qv_err api_internal_query(qv_req *req, qv_resp *resp);
qv_err api_internal_search(qv_req *req, qv_resp *resp);
qv_err api_internal_bm25_stats(qv_req *req, qv_resp *resp);
qv_err api_internal_progress(qv_req *req, qv_resp *resp);
qv_err api_internal_sync(qv_req *req, qv_resp *resp);
qv_err api_internal_install(qv_req *req, qv_resp *resp);

/* Partition-key collections (api_partkey.c): row i's partition into (*out)[i] (caller
 * frees); the partitions filter f can reach (*out NULL: all; else *n ids, maybe 0; caller
 * frees); refusal of explicit partition names (named > 0) as Milvus words it. */
qv_err api_route_rows(const qv_collection_info *ci, const qv_rowbatch *rows, int64_t **out,
                      qv_error *err);
qv_err api_prune_partitions(const qv_collection_info *ci, const qv_filter *f, int64_t **out,
                            size_t *n, qv_error *err);
qv_err api_check_partition_names(const qv_collection_info *ci, size_t named, bool write,
                                 qv_error *err);
/* Insert or upsert rows of a partition-key collection, each into its key's partition. */
struct qv_dist_coll;
qv_err api_write_routed(const struct qv_dist_coll *dc, bool upsert, const qv_rowbatch *rows,
                        qv_error *err);

/* The rows of an upsert with partialUpdate (api_partial.c): the request's `data` merged
 * over the stored rows of its keys, decoded with o into out (initialised here). */
struct qv_rows_opts;
qv_err api_partial_rows(qv_req *req, const qv_collection_info *ci, qv_coll_data *cd,
                        const struct qv_rows_opts *o, qv_rowbatch *out, qv_error *err);

/* Import jobs (api_import.c): the background importer of a node, its handlers. */
typedef struct api_importer api_importer;
qv_err api_import_start(qv_node *n, qv_error *err);
void api_import_stop(qv_node *n); /* waits for a file being imported */
qv_err api_import_create(qv_req *req, qv_resp *resp);
qv_err api_import_list(qv_req *req, qv_resp *resp);
qv_err api_import_describe(qv_req *req, qv_resp *resp); /* also get_progress */

/* S3 offload (api_s3.c), on when s3.endpoint is set: the client and the restore of an
 * empty data directory (before the catalog opens), the store's offloader (before the
 * collections open), metrics at scrape, and "ok"/"degraded" for /readyz (NULL: off). */
qv_err api_s3_open(qv_node *n, qv_error *err);
qv_err api_s3_start(qv_node *n, qv_error *err);
void api_s3_metrics(qv_node *n);
const char *api_s3_state(const qv_node *n);

/* Route handlers, by group. */
#define API_HANDLERS(X)                                                                            \
    X(root) X(livez) X(healthz) X(readyz) X(metrics) X(openapi) X(ui)                                \
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

/* Users, roles and privilege groups (api_auth.c). */
#define API_AUTH_HANDLERS(X)                                                                       \
    X(user_create) X(user_list) X(user_describe) X(user_drop) X(user_update_password)              \
    X(user_grant_role) X(user_revoke_role)                                                         \
    X(role_create) X(role_list) X(role_describe) X(role_drop) X(role_grant_privilege)              \
    X(role_revoke_privilege) X(role_grant_privilege_v2) X(role_revoke_privilege_v2)                \
    X(group_create) X(group_drop) X(group_list) X(group_add) X(group_remove)

#define API_DECLARE(name) qv_err api_##name(qv_req *req, qv_resp *resp);
API_HANDLERS(API_DECLARE)
API_AUTH_HANDLERS(API_DECLARE)
#undef API_DECLARE

/* The privilege check of a route (api_auth.c): QV_OK when auth is off, the route needs no
 * privilege, or the request's user holds it on the object its body names. */
qv_err api_authorize(const qv_route *r, qv_req *req, qv_resp *resp);

#endif
