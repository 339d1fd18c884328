/* SPDX-License-Identifier: Apache-2.0 */
/* api_partition.c - /v2/vectordb/partitions/... */
#include <string.h>

#include "api/api_int.h"
#include "quiver/dist.h"

/* collectionName and partitionName, both required. */
static qv_err names(qv_req *req, qv_resp *resp, const char **coll, const char **part)
{
    qv_err rc = api_req_str(req, "collectionName", coll, &resp->err);
    return rc != QV_OK ? rc : api_req_str(req, "partitionName", part, &resp->err);
}

qv_err api_part_create(qv_req *req, qv_resp *resp)
{
    const char *coll, *part;
    qv_err rc;

    if ((rc = names(req, resp, &coll, &part)) != QV_OK ||
        (rc = qv_catalog_create_partition(req->node->catalog, api_db(req), coll, part,
                                          &resp->err)) != QV_OK)
        return rc;
    return api_ok_empty(resp);
}

qv_err api_part_drop(qv_req *req, qv_resp *resp)
{
    const char *coll, *part;
    qv_err rc;

    if ((rc = names(req, resp, &coll, &part)) != QV_OK ||
        (rc = qv_catalog_drop_partition(req->node->catalog, api_db(req), coll, part,
                                        &resp->err)) != QV_OK)
        return rc;
    return api_ok_empty(resp);
}

qv_err api_part_list(qv_req *req, qv_resp *resp)
{
    qv_collection_info ci;
    qv_err rc = api_get_collection(req, resp, &ci);
    qv_jw w;

    if (rc != QV_OK)
        return rc;
    api_ok_begin(resp, &w);
    qv_jw_arr_begin(&w);
    for (size_t i = 0; i < ci.partition_count; i++)
        qv_jw_str(&w, ci.partitions[i].name);
    qv_jw_arr_end(&w);
    api_ok_end(&w);
    qv_collection_info_fini(&ci);
    return QV_OK;
}

static bool has_partition(const qv_collection_info *ci, const char *name)
{
    for (size_t i = 0; i < ci->partition_count; i++)
        if (strcmp(ci->partitions[i].name, name) == 0)
            return true;
    return false;
}

qv_err api_part_has(qv_req *req, qv_resp *resp)
{
    qv_collection_info ci;
    const char *part;
    qv_err rc = api_get_collection(req, resp, &ci);
    qv_jw w;

    if (rc == QV_OK && (rc = api_req_str(req, "partitionName", &part, &resp->err)) == QV_OK) {
        api_ok_begin(resp, &w);
        qv_jw_obj_begin(&w);
        qv_jw_kbool(&w, "has", has_partition(&ci, part));
        qv_jw_obj_end(&w);
        api_ok_end(&w);
    }
    qv_collection_info_fini(&ci);
    return rc;
}

qv_err api_part_get_stats(qv_req *req, qv_resp *resp)
{
    qv_collection_info ci;
    const char *part;
    qv_err rc = api_get_collection(req, resp, &ci);
    qv_jw w;

    if (rc == QV_OK && (rc = api_req_str(req, "partitionName", &part, &resp->err)) == QV_OK &&
        !has_partition(&ci, part))
        rc = qv_error_set(&resp->err, QV_ENOPART, "partition not found[partition=%s]", part);
    if (rc == QV_OK) {
        qv_coll_data *data = NULL;
        int64_t id = -1;
        for (size_t i = 0; i < ci.partition_count; i++)
            if (strcmp(ci.partitions[i].name, part) == 0)
                id = ci.partitions[i].id;
        qv_dist_coll dc = {req->node, &ci, NULL};
        uint64_t count = 0;
        if ((rc = qv_store_get(req->node->store, &ci, &data, &resp->err)) == QV_OK &&
            (dc.data = data, rc = qv_dist_count(&dc, id, &count, &resp->err)) == QV_OK) {
            api_ok_begin(resp, &w);
            qv_jw_obj_begin(&w);
            qv_jw_kint(&w, "rowCount", (int64_t)count);
            qv_jw_obj_end(&w);
            api_ok_end(&w);
        }
        qv_coll_data_unref(data);
    }
    qv_collection_info_fini(&ci);
    return rc;
}

static qv_err set_loaded(qv_req *req, qv_resp *resp, bool loaded)
{
    const char *coll;
    qv_names parts;
    qv_err rc;

    if ((rc = api_req_str(req, "collectionName", &coll, &resp->err)) != QV_OK)
        return rc;
    if ((rc = api_str_list(req, "partitionNames", true, &parts, &resp->err)) == QV_OK &&
        (rc = qv_catalog_set_loaded(req->node->catalog, api_db(req), coll, &parts, loaded,
                                    &resp->err)) == QV_OK)
        api_ok_empty(resp);
    qv_names_fini(&parts);
    return rc;
}

qv_err api_part_load(qv_req *req, qv_resp *resp) { return set_loaded(req, resp, true); }
qv_err api_part_release(qv_req *req, qv_resp *resp) { return set_loaded(req, resp, false); }
