/* SPDX-License-Identifier: Apache-2.0 */
/* api_system.c - native endpoints: /, /livez, /healthz, /readyz, /metrics, /openapi.yaml. */
#include "api/api_int.h"
#include "quiver/alloc.h"
#include "quiver/schema.h"

extern const unsigned char qv_asset_openapi_yaml[];
extern const unsigned long qv_asset_openapi_yaml_len;

qv_err api_root(qv_req *req, qv_resp *resp)
{
    const qv_config *cfg = req->node->cfg;
    qv_jw w;

    api_ok_begin(resp, &w);
    qv_jw_obj_begin(&w);
    qv_jw_kstr(&w, "name", "quiver");
    qv_jw_kstr(&w, "version", QV_VERSION);
    qv_jw_kstr(&w, "nodeId", req->node->node_id);
    qv_jw_kstr(&w, "allocator", qv_alloc_name());
    qv_jw_kstr(&w, "ioBackend", qv_io_backend_name(req->node->io));
    qv_jw_key(&w, "limits");
    qv_jw_obj_begin(&w);
    qv_jw_kint(&w, "maxBodyBytes", (int64_t)cfg->server_body_limit_bytes);
    qv_jw_kint(&w, "maxDim", QV_MAX_DIM);
    qv_jw_kint(&w, "maxFields", QV_MAX_FIELDS);
    qv_jw_kint(&w, "maxNameLength", QV_MAX_NAME_LEN);
    qv_jw_kint(&w, "maxVarCharLength", QV_MAX_VARCHAR_LEN);
    qv_jw_kint(&w, "maxDatabases", QV_MAX_DATABASES);
    qv_jw_kint(&w, "maxPartitions", QV_MAX_PARTITIONS);
    qv_jw_obj_end(&w);
    qv_jw_obj_end(&w);
    api_ok_end(&w);
    return QV_OK;
}

static qv_err status_ok(qv_resp *resp, const char *key, const char *value)
{
    qv_jw w;

    api_ok_begin(resp, &w);
    qv_jw_obj_begin(&w);
    qv_jw_kstr(&w, key, value);
    qv_jw_obj_end(&w);
    api_ok_end(&w);
    return QV_OK;
}

qv_err api_livez(qv_req *req, qv_resp *resp) { return status_ok(resp, "status", "alive"); }

qv_err api_healthz(qv_req *req, qv_resp *resp)
{
    (void)qv_catalog_version(req->node->catalog); /* the catalog lock is not wedged */
    return status_ok(resp, "status", "healthy");
}

qv_err api_readyz(qv_req *req, qv_resp *resp)
{
    qv_jw w;

    if (atomic_load(&req->node->draining)) {
        resp->status = 503;
        return qv_error_set(&resp->err, QV_EUNAVAIL, "node is draining (shutting down)");
    }
    if (req->node->cluster) {
        qv_peer_state st;
        qv_cluster_peer_state(req->node->cluster, qv_cluster_self(req->node->cluster), &st);
        if (!st.ready) {
            resp->status = 503;
            return qv_error_set(&resp->err, QV_EUNAVAIL, "catching up with the cluster's peers");
        }
    }
    api_ok_begin(resp, &w);
    qv_jw_obj_begin(&w);
    qv_jw_kbool(&w, "ready", true);
    if (api_s3_state(req->node)) /* S3 trouble never makes a node unready: writes go on */
        qv_jw_kstr(&w, "s3", api_s3_state(req->node));
    qv_jw_obj_end(&w);
    api_ok_end(&w);
    return QV_OK;
}

static void set_segment_metrics(qv_node *n)
{
    const qv_store_seg_stats *st = qv_store_seg_counters(n->store);
    const char *sealed[] = {"sealed"}, *growing[] = {"growing"};
    qv_store_seg_totals t;

    qv_store_seg_totals_get(n->store, &t);
    qv_series_set(qv_metric_series(n->m.segments, sealed), (double)t.sealed);
    qv_series_set(qv_metric_series(n->m.segments, growing), (double)t.growing);
    qv_series_set(qv_metric_series(n->m.segment_rows, sealed), (double)t.sealed_rows);
    qv_series_set(qv_metric_series(n->m.segment_rows, growing), (double)t.growing_rows);
    qv_series_set(qv_metric_default(n->m.growing_bytes), (double)t.growing_bytes);
    qv_series_set(qv_metric_default(n->m.seals), (double)atomic_load(&st->seals));
    qv_series_set(qv_metric_default(n->m.segment_files), (double)atomic_load(&st->segments_written));
    qv_series_set(qv_metric_default(n->m.segment_bytes), (double)atomic_load(&st->bytes_written));
    qv_series_set(qv_metric_default(n->m.compactions), (double)atomic_load(&st->compactions));
    qv_series_set(qv_metric_default(n->m.rows_purged), (double)atomic_load(&st->rows_purged));
    qv_series_set(qv_metric_default(n->m.admit_waits), (double)atomic_load(&st->admit_waits));
    qv_series_set(qv_metric_default(n->m.admit_timeouts),
                  (double)atomic_load(&st->admit_timeouts));
}

qv_err api_metrics(qv_req *req, qv_resp *resp)
{
    qv_node *n = req->node;

    const qv_store_index_stats *is = qv_store_index_counters(n->store);
    qv_store_wal_totals wal;

    qv_series_set(qv_metric_default(n->m.catalog_version),
                  (double)qv_catalog_version(n->catalog));
    qv_series_set(qv_metric_default(n->m.index_builds), (double)atomic_load(&is->builds));
    qv_series_set(qv_metric_default(n->m.index_loads), (double)atomic_load(&is->loads));
    qv_series_set(qv_metric_default(n->m.index_failures), (double)atomic_load(&is->failures));
    qv_series_set(qv_metric_default(n->m.index_build_seconds),
                  (double)atomic_load(&is->build_ns) / 1e9);
    qv_store_wal_totals_get(n->store, &wal);
    qv_series_set(qv_metric_default(n->m.wal_appends), (double)wal.appends);
    qv_series_set(qv_metric_default(n->m.wal_bytes), (double)wal.write_bytes);
    qv_series_set(qv_metric_default(n->m.wal_fsyncs), (double)wal.fsyncs);
    qv_series_set(qv_metric_default(n->m.wal_fsync_seconds), (double)wal.fsync_ns / 1e9);
    qv_series_set(qv_metric_default(n->m.wal_torn_tails), (double)wal.torn_tails);
    qv_series_set(qv_metric_default(n->m.wal_files), (double)wal.files);
    set_segment_metrics(n);
    api_s3_metrics(n);
    qv_metrics_render(n->metrics, &resp->body);
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return qv_buf_status(&resp->body, &resp->err);
}

qv_err api_openapi(qv_req *req, qv_resp *resp)
{
    qv_buf_put(&resp->body, qv_asset_openapi_yaml, qv_asset_openapi_yaml_len);
    resp->content_type = "application/yaml";
    return qv_buf_status(&resp->body, &resp->err);
}
