/* SPDX-License-Identifier: Apache-2.0 */
/* routes.c - the route table, mirroring openapi.yaml (Valkey's command table). */
#include <string.h>

#include "api/api_int.h"

#define V2 "/v2/vectordb/"
#define POST(path, fn) {"POST", V2 path, api_##fn, QV_ROUTE_JSON}
#define POST_ROWS(path, fn) {"POST", V2 path, api_##fn, QV_ROUTE_ROWS}
#define GET(path, fn) {"GET", path, api_##fn, 0}

static const qv_route routes[] = {
    GET("/", root),
    GET("/livez", livez),
    GET("/healthz", healthz),
    GET("/readyz", readyz),
    GET("/metrics", metrics),
    GET("/openapi.yaml", openapi),

    POST("databases/create", db_create),
    POST("databases/list", db_list),
    POST("databases/describe", db_describe),
    POST("databases/drop", db_drop),
    POST("databases/alter", db_alter),
    POST("databases/alter_properties", db_alter),
    POST("databases/drop_properties", db_drop_properties),

    POST("collections/create", coll_create),
    POST("collections/describe", coll_describe),
    POST("collections/list", coll_list),
    POST("collections/has", coll_has),
    POST("collections/drop", coll_drop),
    POST("collections/rename", coll_rename),
    POST("collections/get_stats", coll_get_stats),
    POST("collections/load", coll_load),
    POST("collections/release", coll_release),
    POST("collections/refresh_load", coll_refresh_load),
    POST("collections/get_load_state", coll_get_load_state),
    POST("collections/alter_properties", coll_alter_properties),
    POST("collections/drop_properties", coll_drop_properties),
    POST("collections/flush", coll_flush),
    POST("collections/compact", coll_compact),
    POST("collections/get_compaction_state", coll_get_compaction_state),

    POST("partitions/create", part_create),
    POST("partitions/list", part_list),
    POST("partitions/has", part_has),
    POST("partitions/drop", part_drop),
    POST("partitions/load", part_load),
    POST("partitions/release", part_release),
    POST("partitions/get_stats", part_get_stats),

    POST("aliases/create", alias_create),
    POST("aliases/list", alias_list),
    POST("aliases/describe", alias_describe),
    POST("aliases/alter", alias_alter),
    POST("aliases/drop", alias_drop),

    POST("indexes/create", index_create),
    POST("indexes/list", index_list),
    POST("indexes/describe", index_describe),
    POST("indexes/drop", index_drop),
    POST("indexes/alter_properties", index_alter_properties),
    POST("indexes/drop_properties", index_drop_properties),

    POST_ROWS("entities/insert", entity_insert),
    POST_ROWS("entities/upsert", entity_upsert),
    POST("entities/delete", entity_delete),
    POST("entities/get", entity_get),
    POST("entities/query", entity_query),
    POST("entities/search", entity_search),
    POST("entities/hybrid_search", entity_hybrid_search),
    POST("entities/advanced_search", entity_hybrid_search),

    {NULL, NULL, NULL, 0},
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
