/* SPDX-License-Identifier: Apache-2.0 */
/* api_index.c - /v2/vectordb/indexes/... (definitions in the catalog). */
#include <string.h>

#include "api/api_int.h"
#include "quiver/dist.h"
#include "quiver/alloc.h"

qv_err api_index_create(qv_req *req, qv_resp *resp)
{
    qv_collection_info ci;
    const qv_jval *arr;
    qv_index_def *defs = NULL;
    size_t n = 0;
    qv_err rc = api_get_collection(req, resp, &ci);

    if (rc == QV_OK && (rc = qv_jget_arr(req->root, "indexParams", true, &arr, &resp->err)) == QV_OK)
        rc = api_decode_index_params(arr, &ci.schema, &defs, &n, &resp->err);
    for (size_t i = 0; rc == QV_OK && i < n; i++)
        rc = qv_catalog_add_index(req->node->catalog, ci.db, ci.name, &defs[i], &resp->err);
    for (size_t i = 0; i < n; i++)
        qv_index_def_fini(&defs[i]);
    qv_free(defs);
    qv_collection_info_fini(&ci);
    return rc != QV_OK ? rc : api_ok_empty(resp);
}

qv_err api_index_list(qv_req *req, qv_resp *resp)
{
    qv_collection_info ci;
    qv_err rc = api_get_collection(req, resp, &ci);
    qv_jw w;

    if (rc != QV_OK)
        return rc;
    api_ok_begin(resp, &w);
    qv_jw_arr_begin(&w);
    for (size_t i = 0; i < ci.index_count; i++)
        qv_jw_str(&w, ci.indexes[i].name);
    qv_jw_arr_end(&w);
    api_ok_end(&w);
    qv_collection_info_fini(&ci);
    return QV_OK;
}

static void write_index(qv_jw *w, const qv_index_def *d, uint64_t indexed, uint64_t total)
{
    qv_jw_obj_begin(w);
    qv_jw_kstr(w, "indexName", d->name);
    qv_jw_kstr(w, "fieldName", d->field);
    qv_jw_kstr(w, "indexType", d->index_type);
    qv_jw_kstr(w, "metricType", d->metric_type);
    qv_jw_kint(w, "totalRows", (int64_t)total);
    qv_jw_kint(w, "pendingRows", (int64_t)(total - indexed));
    qv_jw_kint(w, "indexedRows", (int64_t)indexed);
    qv_jw_kstr(w, "indexState", indexed >= total ? "Finished" : "InProgress");
    qv_jw_kstr(w, "failReason", "");
    qv_jw_key(w, "params");
    api_write_kv_pairs(w, &d->params);
    qv_jw_key(w, "properties");
    api_write_kv_pairs(w, &d->properties);
    qv_jw_obj_end(w);
}

qv_err api_index_describe(qv_req *req, qv_resp *resp)
{
    qv_collection_info ci;
    const char *name;
    const qv_index_def *found = NULL;
    qv_err rc = api_get_collection(req, resp, &ci);
    qv_jw w;

    if (rc == QV_OK && (rc = api_req_str(req, "indexName", &name, &resp->err)) == QV_OK) {
        for (size_t i = 0; i < ci.index_count && !found; i++)
            if (strcmp(ci.indexes[i].name, name) == 0)
                found = &ci.indexes[i];
        if (!found)
            rc = qv_error_set(&resp->err, QV_ENOINDEX, "index not found[indexName=%s]", name);
    }
    if (rc == QV_OK) {
        qv_coll_data *data = NULL;
        uint64_t indexed = 0, total = 0;
        const qv_field *f = qv_schema_field(&ci.schema, found->field);
        if ((rc = qv_store_get(req->node->store, &ci, &data, &resp->err)) != QV_OK)
            goto done;
        {
            qv_dist_coll dc = {req->node, &ci, data};
            rc = qv_dist_index_progress(&dc, (size_t)(f - ci.schema.fields), &indexed, &total,
                                        &resp->err);
        }
        qv_coll_data_unref(data);
        if (rc != QV_OK)
            goto done;
        api_ok_begin(resp, &w);
        qv_jw_arr_begin(&w);
        write_index(&w, found, indexed, total);
        qv_jw_arr_end(&w);
        api_ok_end(&w);
    }
done:
    qv_collection_info_fini(&ci);
    return rc;
}

qv_err api_index_drop(qv_req *req, qv_resp *resp)
{
    const char *coll, *name;
    qv_err rc;

    if ((rc = api_req_str(req, "collectionName", &coll, &resp->err)) != QV_OK ||
        (rc = api_req_str(req, "indexName", &name, &resp->err)) != QV_OK ||
        (rc = qv_catalog_drop_index(req->node->catalog, api_db(req), coll, name, &resp->err)))
        return rc;
    return api_ok_empty(resp);
}

static qv_err alter(qv_req *req, qv_resp *resp, bool drop)
{
    const char *coll, *name;
    qv_kvlist props = {0};
    qv_names keys = {0};
    qv_err rc;

    if ((rc = api_req_str(req, "collectionName", &coll, &resp->err)) != QV_OK ||
        (rc = api_req_str(req, "indexName", &name, &resp->err)) != QV_OK)
        return rc;
    rc = drop ? api_str_list(req, "propertyKeys", true, &keys, &resp->err)
              : api_props(req, "properties", &props, &resp->err);
    if (rc == QV_OK)
        rc = qv_catalog_alter_index(req->node->catalog, api_db(req), coll, name,
                                    drop ? NULL : &props, drop ? &keys : NULL, &resp->err);
    qv_kvlist_fini(&props);
    qv_names_fini(&keys);
    return rc != QV_OK ? rc : api_ok_empty(resp);
}

qv_err api_index_alter_properties(qv_req *req, qv_resp *resp) { return alter(req, resp, false); }
qv_err api_index_drop_properties(qv_req *req, qv_resp *resp) { return alter(req, resp, true); }
