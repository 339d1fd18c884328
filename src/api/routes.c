/* SPDX-License-Identifier: Apache-2.0 */
/* routes.c - the route table, mirroring openapi.yaml (Valkey's command table). */
#include <string.h>

#include "api/api_int.h"

#define V2 "/v2/vectordb/"
/* Columns: method, path, handler, flags, then what a caller needs when auth is enabled:
 * Milvus's object type and privilege name (its proto's privilege_ext_obj for the gRPC
 * method behind each REST path, handler_v2.go's routeToMethod). NONE: any authenticated
 * user. GET routes are the probes, this spec and static files: public, except /metrics. */
#define POST(path, fn, obj, priv) {"POST", V2 path, api_##fn, QV_ROUTE_JSON, QV_AUTH_OBJ_##obj, priv}
#define POST_ROWS(path, fn, obj, priv)                                                             \
    {"POST", V2 path, api_##fn, QV_ROUTE_ROWS, QV_AUTH_OBJ_##obj, priv}
#define POST_DDL(path, fn, obj, priv)                                                              \
    {"POST", V2 path, api_##fn, QV_ROUTE_JSON | QV_ROUTE_DDL, QV_AUTH_OBJ_##obj, priv}
#define POST_ALL(path, fn, obj, priv)                                                              \
    {"POST", V2 path, api_##fn, QV_ROUTE_JSON | QV_ROUTE_BROADCAST, QV_AUTH_OBJ_##obj, priv}
#define LEADER(path, fn, obj, priv)                                                                \
    {"POST", V2 path, api_##fn, QV_ROUTE_JSON | QV_ROUTE_LEADER, QV_AUTH_OBJ_##obj, priv}
#define INTERNAL(method, path, fn)                                                                 \
    {method, "/internal/v1/" path, api_internal_##fn, QV_ROUTE_INTERNAL, QV_AUTH_OBJ_NONE, NULL}
#define GET(path, fn) {"GET", path, api_##fn, QV_ROUTE_PUBLIC, QV_AUTH_OBJ_NONE, NULL}
#define GET_METRICS(path, fn) {"GET", path, api_##fn, QV_ROUTE_METRICS, QV_AUTH_OBJ_NONE, NULL}

static const qv_route routes[] = {
    GET("/", root),
    GET("/livez", livez),
    GET("/healthz", healthz),
    GET("/readyz", readyz),
    GET_METRICS("/metrics", metrics),
    GET("/openapi.yaml", openapi),
    GET("/ui", ui), /* web console (api_ui.c): public static files */
    GET("/ui/", ui),
    GET("/ui/app.js", ui),
    GET("/ui/style.css", ui),

    POST_DDL("databases/create", db_create, GLOBAL, "CreateDatabase"),
    POST("databases/list", db_list, GLOBAL, "ListDatabases"),
    POST("databases/describe", db_describe, GLOBAL, "DescribeDatabase"),
    POST_DDL("databases/drop", db_drop, GLOBAL, "DropDatabase"),
    POST_DDL("databases/alter", db_alter, GLOBAL, "AlterDatabase"),
    POST_DDL("databases/alter_properties", db_alter, GLOBAL, "AlterDatabase"),
    POST_DDL("databases/drop_properties", db_drop_properties, GLOBAL, "AlterDatabase"),

    POST_DDL("collections/create", coll_create, GLOBAL, "CreateCollection"),
    POST("collections/describe", coll_describe, COLLECTION, "DescribeCollection"),
    POST("collections/list", coll_list, GLOBAL, "ShowCollections"),
    POST("collections/has", coll_has, NONE, NULL),
    POST_DDL("collections/drop", coll_drop, GLOBAL, "DropCollection"),
    POST_DDL("collections/rename", coll_rename, GLOBAL, "RenameCollection"),
    POST("collections/get_stats", coll_get_stats, COLLECTION, "GetStatistics"),
    POST_DDL("collections/load", coll_load, COLLECTION, "Load"),
    POST_DDL("collections/release", coll_release, COLLECTION, "Release"),
    POST_DDL("collections/refresh_load", coll_refresh_load, COLLECTION, "Load"),
    POST("collections/get_load_state", coll_get_load_state, COLLECTION, "GetLoadState"),
    POST_DDL("collections/alter_properties", coll_alter_properties, GLOBAL, "CreateCollection"),
    POST_DDL("collections/drop_properties", coll_drop_properties, GLOBAL, "CreateCollection"),
    POST_ALL("collections/flush", coll_flush, COLLECTION, "Flush"),
    POST_ALL("collections/compact", coll_compact, COLLECTION, "Compaction"),
    POST("collections/get_compaction_state", coll_get_compaction_state, NONE, NULL),

    POST_DDL("partitions/create", part_create, COLLECTION, "CreatePartition"),
    POST("partitions/list", part_list, COLLECTION, "ShowPartitions"),
    POST("partitions/has", part_has, COLLECTION, "HasPartition"),
    POST_DDL("partitions/drop", part_drop, COLLECTION, "DropPartition"),
    POST_DDL("partitions/load", part_load, COLLECTION, "Load"),
    POST_DDL("partitions/release", part_release, COLLECTION, "Release"),
    POST("partitions/get_stats", part_get_stats, COLLECTION, "GetStatistics"),

    POST_DDL("aliases/create", alias_create, GLOBAL, "CreateAlias"),
    POST("aliases/list", alias_list, GLOBAL, "ListAliases"),
    POST("aliases/describe", alias_describe, GLOBAL, "DescribeAlias"),
    POST_DDL("aliases/alter", alias_alter, GLOBAL, "CreateAlias"),
    POST_DDL("aliases/drop", alias_drop, GLOBAL, "DropAlias"),

    POST_DDL("indexes/create", index_create, COLLECTION, "CreateIndex"),
    POST("indexes/list", index_list, COLLECTION, "IndexDetail"),
    POST("indexes/describe", index_describe, COLLECTION, "IndexDetail"),
    POST_DDL("indexes/drop", index_drop, COLLECTION, "DropIndex"),
    POST_DDL("indexes/alter_properties", index_alter_properties, COLLECTION, "CreateIndex"),
    POST_DDL("indexes/drop_properties", index_drop_properties, COLLECTION, "CreateIndex"),

    POST_ROWS("entities/insert", entity_insert, COLLECTION, "Insert"),
    POST_ROWS("entities/upsert", entity_upsert, COLLECTION, "Upsert"),
    POST("entities/delete", entity_delete, COLLECTION, "Delete"),
    POST("entities/get", entity_get, COLLECTION, "Query"),
    POST("entities/query", entity_query, COLLECTION, "Query"),
    POST("entities/search", entity_search, COLLECTION, "Search"),
    POST("entities/hybrid_search", entity_hybrid_search, COLLECTION, "Search"),
    POST("entities/advanced_search", entity_hybrid_search, COLLECTION, "Search"),

    LEADER("jobs/import/create", import_create, COLLECTION, "Import"),
    LEADER("jobs/import/list", import_list, COLLECTION, "Import"),
    LEADER("jobs/import/get_progress", import_describe, COLLECTION, "Import"),
    LEADER("jobs/import/describe", import_describe, COLLECTION, "Import"),

    POST("users/create", user_create, GLOBAL, "CreateOwnership"),
    POST("users/list", user_list, GLOBAL, "SelectOwnership"),
    POST("users/describe", user_describe, USER, "SelectUser"),
    POST("users/drop", user_drop, GLOBAL, "DropOwnership"),
    POST("users/update_password", user_update_password, USER, "UpdateUser"),
    POST("users/grant_role", user_grant_role, GLOBAL, "ManageOwnership"),
    POST("users/revoke_role", user_revoke_role, GLOBAL, "ManageOwnership"),

    POST("roles/create", role_create, GLOBAL, "CreateOwnership"),
    POST("roles/list", role_list, GLOBAL, "SelectOwnership"),
    POST("roles/describe", role_describe, GLOBAL, "SelectOwnership"),
    POST("roles/drop", role_drop, GLOBAL, "DropOwnership"),
    POST("roles/grant_privilege", role_grant_privilege, GLOBAL, "ManageOwnership"),
    POST("roles/revoke_privilege", role_revoke_privilege, GLOBAL, "ManageOwnership"),
    POST("roles/grant_privilege_v2", role_grant_privilege_v2, GLOBAL, "ManageOwnership"),
    POST("roles/revoke_privilege_v2", role_revoke_privilege_v2, GLOBAL, "ManageOwnership"),

    POST("privilege_groups/create", group_create, GLOBAL, "CreatePrivilegeGroup"),
    POST("privilege_groups/drop", group_drop, GLOBAL, "DropPrivilegeGroup"),
    POST("privilege_groups/list", group_list, GLOBAL, "ListPrivilegeGroups"),
    POST("privilege_groups/add_privileges_to_group", group_add, GLOBAL, "OperatePrivilegeGroup"),
    POST("privilege_groups/remove_privileges_from_group", group_remove, GLOBAL,
         "OperatePrivilegeGroup"),

    {"GET", "/cluster", api_cluster_status, 0, QV_AUTH_OBJ_NONE, NULL},
    INTERNAL("GET", "ping", ping),
    INTERNAL("GET", "catalog", catalog_get),
    INTERNAL("POST", "catalog", catalog_put),
    INTERNAL("POST", "run", run),
    INTERNAL("POST", "write", write),
    INTERNAL("POST", "replicate", replicate),
    INTERNAL("POST", "delete", delete),
    INTERNAL("POST", "query", query),
    INTERNAL("POST", "search", search),
    INTERNAL("POST", "bm25_stats", bm25_stats),
    INTERNAL("POST", "progress", progress),
    INTERNAL("POST", "sync", sync),
    INTERNAL("POST", "install", install),

    {NULL, NULL, NULL, 0, QV_AUTH_OBJ_NONE, NULL},
};

const qv_route *qv_api_routes(void) { return routes; }

const qv_route *qv_api_route_find(const char *method, const char *path, bool *path_known)
{
    *path_known = false;
    for (const qv_route *r = routes; r->path; r++) {
        if (strcmp(r->path, path) != 0)
            continue;
        *path_known = true;
        if (strcmp(r->method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0))
            return r;
    }
    return NULL;
}

bool qv_api_route_needs_auth(const qv_route *r, const qv_node *node)
{
    if (!qv_auth_enabled(node->auth) || (r->flags & (QV_ROUTE_PUBLIC | QV_ROUTE_INTERNAL)))
        return false;
    return !(r->flags & QV_ROUTE_METRICS) || node->cfg->auth_protect_metrics;
}
