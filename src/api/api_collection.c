/* SPDX-License-Identifier: Apache-2.0 */
/* api_collection.c - /v2/vectordb/collections/... */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "quiver/dist.h"

qv_err api_coll_create(qv_req *req, qv_resp *resp)
{
    qv_collection_info spec;
    qv_err rc = api_decode_collection(req, &spec, &resp->err);

    if (rc == QV_OK && (rc = qv_catalog_create_collection(req->node->catalog, &spec,
                                                          &resp->err)) == QV_OK)
        api_ok_empty(resp);
    qv_collection_info_fini(&spec);
    return rc;
}

qv_err api_coll_describe(qv_req *req, qv_resp *resp)
{
    qv_collection_info ci;
    qv_err rc = api_get_collection(req, resp, &ci);
    qv_jw w;

    if (rc != QV_OK)
        return rc;
    api_ok_begin(resp, &w);
    api_write_collection(&w, &ci);
    qv_jw_kstr(&w, "message", "");
    api_ok_end(&w);
    qv_collection_info_fini(&ci);
    return QV_OK;
}

qv_err api_coll_list(qv_req *req, qv_resp *resp)
{
    qv_names names;
    qv_err rc = qv_catalog_list_collections(req->node->catalog, api_db(req), &names, &resp->err);

    if (rc == QV_OK)
        api_ok_names(resp, &names);
    qv_names_fini(&names);
    return rc;
}

qv_err api_coll_has(qv_req *req, qv_resp *resp)
{
    const char *name;
    bool has = false;
    qv_err rc;
    qv_jw w;

    if ((rc = api_req_str(req, "collectionName", &name, &resp->err)) != QV_OK ||
        (rc = qv_catalog_has_collection(req->node->catalog, api_db(req), name, &has,
                                        &resp->err)) != QV_OK)
        return rc;
    api_ok_begin(resp, &w);
    qv_jw_obj_begin(&w);
    qv_jw_kbool(&w, "has", has);
    qv_jw_obj_end(&w);
    api_ok_end(&w);
    return QV_OK;
}

qv_err api_coll_drop(qv_req *req, qv_resp *resp)
{
    qv_collection_info ci = {0};
    const char *name;
    bool exists = false;
    qv_err rc;

    if ((rc = api_req_str(req, "collectionName", &name, &resp->err)) != QV_OK ||
        (rc = qv_catalog_has_collection(req->node->catalog, api_db(req), name, &exists,
                                        &resp->err)) != QV_OK)
        return rc;
    if (exists && (rc = qv_catalog_get_collection(req->node->catalog, api_db(req), name, &ci,
                                                  &resp->err)) != QV_OK)
        return rc;
    rc = qv_catalog_drop_collection(req->node->catalog, api_db(req), name, &resp->err);
    /* the catalog no longer names it: its rows go (a crash here leaves only an orphan
     * directory keyed by the unused id) */
    if (rc == QV_OK && exists)
        rc = qv_store_drop(req->node->store, ci.id, &resp->err);
    qv_collection_info_fini(&ci);
    return rc != QV_OK ? rc : api_ok_empty(resp);
}

qv_err api_coll_rename(qv_req *req, qv_resp *resp)
{
    const char *name, *new_name, *new_db = NULL;
    qv_err rc;

    if ((rc = api_req_str(req, "collectionName", &name, &resp->err)) != QV_OK ||
        (rc = api_req_str(req, "newCollectionName", &new_name, &resp->err)) != QV_OK ||
        (rc = qv_jget_str(req->root, "newDbName", false, &new_db, NULL, &resp->err)) != QV_OK)
        return rc;
    rc = qv_catalog_rename_collection(req->node->catalog, api_db(req), name,
                                      new_db && *new_db ? new_db : api_db(req), new_name,
                                      &resp->err);
    return rc != QV_OK ? rc : api_ok_empty(resp);
}

qv_err api_coll_get_stats(qv_req *req, qv_resp *resp)
{
    qv_collection_info ci;
    qv_err rc = api_get_collection(req, resp, &ci);
    qv_jw w;

    if (rc != QV_OK)
        return rc;
    {
        qv_coll_data *data = NULL;
        qv_dist_coll dc = {req->node, &ci, NULL};
        uint64_t count = 0;
        if ((rc = qv_store_get(req->node->store, &ci, &data, &resp->err)) == QV_OK &&
            (dc.data = data, rc = qv_dist_count(&dc, -1, &count, &resp->err)) == QV_OK) {
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

qv_err api_coll_flush(qv_req *req, qv_resp *resp)
{
    qv_collection_info ci;
    qv_coll_data *data = NULL;
    qv_err rc = api_get_collection(req, resp, &ci);

    if (rc == QV_OK && (rc = qv_store_get(req->node->store, &ci, &data, &resp->err)) == QV_OK)
        rc = qv_coll_flush(data, &resp->err);
    qv_coll_data_unref(data);
    qv_collection_info_fini(&ci);
    return rc != QV_OK ? rc : api_ok_empty(resp);
}

static qv_err set_loaded(qv_req *req, qv_resp *resp, bool loaded)
{
    const char *name;
    qv_err rc;

    if ((rc = api_req_str(req, "collectionName", &name, &resp->err)) != QV_OK ||
        (rc = qv_catalog_set_loaded(req->node->catalog, api_db(req), name, NULL, loaded,
                                    &resp->err)) != QV_OK)
        return rc;
    return api_ok_empty(resp);
}

qv_err api_coll_load(qv_req *req, qv_resp *resp) { return set_loaded(req, resp, true); }
qv_err api_coll_release(qv_req *req, qv_resp *resp) { return set_loaded(req, resp, false); }

qv_err api_coll_refresh_load(qv_req *req, qv_resp *resp)
{
    qv_collection_info ci;
    qv_err rc = api_get_collection(req, resp, &ci);

    if (rc == QV_OK && ci.load_state == QV_LOAD_NOT_LOAD)
        rc = qv_error_set(&resp->err, QV_ENOTLOADED, "collection not loaded[collection=%s]",
                          ci.name);
    qv_collection_info_fini(&ci);
    return rc != QV_OK ? rc : api_ok_empty(resp);
}

/* Loaded when every asked partition (or the collection) is loaded. */
static qv_err partitions_state(const qv_collection_info *ci, const qv_names *parts,
                               qv_load_state *out, qv_error *err)
{
    *out = ci->load_state;
    for (size_t i = 0; i < parts->count; i++) {
        size_t j = 0;
        while (j < ci->partition_count && strcmp(ci->partitions[j].name, parts->items[i]) != 0)
            j++;
        if (j == ci->partition_count)
            return qv_error_set(err, QV_ENOPART, "partition not found[partition=%s]",
                                parts->items[i]);
        if (!ci->partitions[j].loaded)
            *out = QV_LOAD_NOT_LOAD;
    }
    return QV_OK;
}

qv_err api_coll_get_load_state(qv_req *req, qv_resp *resp)
{
    qv_collection_info ci;
    qv_names parts;
    qv_load_state state;
    qv_err rc = api_get_collection(req, resp, &ci);
    qv_jw w;

    if (rc != QV_OK)
        return rc;
    if ((rc = api_str_list(req, "partitionNames", false, &parts, &resp->err)) == QV_OK &&
        (rc = partitions_state(&ci, &parts, &state, &resp->err)) == QV_OK) {
        api_ok_begin(resp, &w);
        qv_jw_obj_begin(&w);
        qv_jw_kstr(&w, "loadState", api_load_state_name(state));
        if (state != QV_LOAD_NOT_LOAD)
            qv_jw_kint(&w, "loadProgress", state == QV_LOAD_LOADED ? 100 : 0);
        qv_jw_obj_end(&w);
        qv_jw_kstr(&w, "message", "");
        api_ok_end(&w);
    }
    qv_names_fini(&parts);
    qv_collection_info_fini(&ci);
    return rc;
}

/* Milvus's bounds of collection.ttl.seconds (validateCollectionTTL): an integer in [-1,
 * 100 years]; 0 and -1 mean no expiry. */
#define MAX_TTL_SECONDS 3155760000LL

static qv_err check_ttl(const qv_kvlist *props, qv_error *err)
{
    const char *v = qv_kvlist_get(props, "collection.ttl.seconds");
    char *end;
    long long x;

    if (!v)
        return QV_OK;
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || end == v || *end || !isdigit((unsigned char)end[-1]))
        return qv_error_set(err, QV_EINVAL,
                            "collection TTL is not a valid positive integer: invalid parameter");
    if (x < -1 || x > MAX_TTL_SECONDS)
        return qv_error_set(err, QV_EINVAL,
                            "collection TTL is out of range, expect [-1, %lld], got %lld: invalid "
                            "parameter",
                            MAX_TTL_SECONDS, x);
    return QV_OK;
}

qv_err api_coll_alter_properties(qv_req *req, qv_resp *resp)
{
    const char *name;
    qv_kvlist props;
    qv_err rc;

    if ((rc = api_req_str(req, "collectionName", &name, &resp->err)) != QV_OK)
        return rc;
    if ((rc = api_props(req, "properties", &props, &resp->err)) == QV_OK &&
        (rc = check_ttl(&props, &resp->err)) == QV_OK &&
        (rc = qv_catalog_alter_collection(req->node->catalog, api_db(req), name, &props, NULL,
                                          &resp->err)) == QV_OK)
        api_ok_empty(resp);
    qv_kvlist_fini(&props);
    return rc;
}

qv_err api_coll_drop_properties(qv_req *req, qv_resp *resp)
{
    const char *name;
    qv_names keys;
    qv_err rc;

    if ((rc = api_req_str(req, "collectionName", &name, &resp->err)) != QV_OK)
        return rc;
    /* 2.5's index copy used deleteKeys; both spellings are accepted */
    if ((rc = api_str_list(req, "propertyKeys", false, &keys, &resp->err)) == QV_OK &&
        (rc = qv_jget_str_list(req->root, "deleteKeys", false, &keys.items, &keys.count,
                               &resp->err)) == QV_OK &&
        (rc = qv_catalog_alter_collection(req->node->catalog, api_db(req), name, NULL, &keys,
                                          &resp->err)) == QV_OK)
        api_ok_empty(resp);
    qv_names_fini(&keys);
    return rc;
}

/* Compaction runs in the request (it holds the collection's writes for its duration); the
 * job id is kept so that get_compaction_state answers Completed. */
qv_err api_coll_compact(qv_req *req, qv_resp *resp)
{
    qv_collection_info ci;
    qv_coll_data *data = NULL;
    qv_node *n = req->node;
    uint64_t purged = 0;
    int64_t id = 0;
    qv_err rc = api_get_collection(req, resp, &ci);
    qv_jw w;

    if (rc == QV_OK && (rc = qv_store_get(n->store, &ci, &data, &resp->err)) == QV_OK)
        rc = qv_coll_compact(data, &purged, &resp->err);
    qv_coll_data_unref(data);
    qv_collection_info_fini(&ci);
    if (rc != QV_OK)
        return rc;
    pthread_mutex_lock(&n->jobs_lock);
    id = n->next_job++;
    n->jobs[id % QV_COMPACTION_JOBS] = (qv_compaction_job){id, purged};
    pthread_mutex_unlock(&n->jobs_lock);
    api_ok_begin(resp, &w);
    qv_jw_obj_begin(&w);
    qv_jw_kint(&w, "compactionID", id);
    qv_jw_obj_end(&w);
    api_ok_end(&w);
    return QV_OK;
}

qv_err api_coll_get_compaction_state(qv_req *req, qv_resp *resp)
{
    qv_node *n = req->node;
    int64_t id = 0;
    bool known;
    qv_err rc = qv_jget_int(req->root, "jobID", true, &id, NULL, &resp->err);
    qv_jw w;

    if (rc != QV_OK)
        return rc;
    pthread_mutex_lock(&n->jobs_lock);
    known = id > 0 && n->jobs[id % QV_COMPACTION_JOBS].id == id;
    pthread_mutex_unlock(&n->jobs_lock);
    api_ok_begin(resp, &w);
    qv_jw_obj_begin(&w);
    qv_jw_kint(&w, "compactionID", id);
    qv_jw_kstr(&w, "state", known ? "Completed" : "UndefiedState"); /* Milvus's enum spelling */
    qv_jw_kint(&w, "executingPlanNumber", 0);
    qv_jw_kint(&w, "timeoutPlanNumber", 0);
    qv_jw_kint(&w, "completedPlanNumber", known ? 1 : 0);
    qv_jw_obj_end(&w);
    api_ok_end(&w);
    return QV_OK;
}
