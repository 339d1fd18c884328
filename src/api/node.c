/* SPDX-License-Identifier: Apache-2.0 */
/* node.c - one quiverd's state: data-directory lock, I/O backend, catalog, metrics. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api_int.h"
#include "quiver/alloc.h"
#include "quiver/log.h"
#include "quiver/node.h"

/* flock: released by the kernel when the process dies, so a restart right after
 * kill -9 succeeds, while a second live process is refused. */
static qv_err lock_data_dir(qv_node *n, const char *dir, qv_error *err)
{
    char path[4096];

    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return qv_error_sys(err, QV_EIO, errno, "create data directory %s", dir);
    snprintf(path, sizeof path, "%s/LOCK", dir);
    if ((n->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
        return qv_error_sys(err, QV_EIO, errno, "open %s", path);
    if (flock(n->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return qv_error_sys(err, QV_ELOCKED, errno,
                            "data directory %s is in use by another quiverd (lock %s)", dir, path);
    return QV_OK;
}

/* Every node-level metric family, once: where it lives, its kind, name, help, labels. */
typedef enum family_kind { FAMILY_COUNTER, FAMILY_GAUGE, FAMILY_LATENCY } family_kind;

static const struct {
    size_t offset; /* of the qv_metric * in qv_node_metrics */
    family_kind kind;
    const char *name, *help, *labels;
} node_families[] = {
#define F(field, kind, name, help, labels) {offsetof(qv_node_metrics, field), kind, name, help, labels}
    F(http_requests, FAMILY_COUNTER, "quiver_http_requests_total",
      "HTTP requests by route template and status code.", "route,code"),
    F(http_duration, FAMILY_LATENCY, "quiver_http_request_duration_seconds",
      "HTTP request latency by route template.", "route"),
    F(http_inflight, FAMILY_GAUGE, "quiver_http_requests_in_flight",
      "HTTP requests being served.", NULL),
    F(http_body_rejected, FAMILY_COUNTER, "quiver_http_bodies_rejected_total",
      "Request bodies refused for exceeding the limit.", NULL),
    F(http_admission_rejected, FAMILY_COUNTER, "quiver_http_requests_rejected_total",
      "Requests refused at once because server.max_inflight requests were in flight.", NULL),
    F(auth_failures, FAMILY_COUNTER, "quiver_auth_failures_total",
      "Requests refused by authentication (401) or authorization (403).", "reason"),
    F(build_info, FAMILY_GAUGE, "quiver_build_info", "Build information; the value is always 1.",
      "version,allocator,io_backend"),
    F(catalog_version, FAMILY_GAUGE, "quiver_catalog_version",
      "Version of the catalog (changes applied).", NULL),
    F(rows_inserted, FAMILY_COUNTER, "quiver_rows_inserted_total",
      "Rows written by insert and upsert.", NULL),
    F(rows_deleted, FAMILY_COUNTER, "quiver_rows_deleted_total", "Rows removed by delete.", NULL),
    F(index_builds, FAMILY_COUNTER, "quiver_index_builds_total", "Vector index builds completed.",
      NULL),
    F(index_loads, FAMILY_COUNTER, "quiver_index_loads_total",
      "Vector indexes loaded from disk instead of rebuilt.", NULL),
    F(index_build_seconds, FAMILY_COUNTER, "quiver_index_build_seconds_total",
      "Time spent building vector indexes.", NULL),
    F(index_failures, FAMILY_COUNTER, "quiver_index_build_failures_total",
      "Vector index builds that failed.", NULL),
    F(wal_appends, FAMILY_COUNTER, "quiver_wal_appends_total", "WAL records appended since start.",
      NULL),
    F(wal_bytes, FAMILY_COUNTER, "quiver_wal_written_bytes_total",
      "Bytes written to WAL files since start.", NULL),
    F(wal_fsyncs, FAMILY_COUNTER, "quiver_wal_fsyncs_total",
      "WAL group commits (linked write + fdatasync).", NULL),
    F(wal_fsync_seconds, FAMILY_COUNTER, "quiver_wal_fsync_seconds_total",
      "Time spent in WAL group commits.", NULL),
    F(wal_torn_tails, FAMILY_COUNTER, "quiver_wal_torn_tails_repaired_total",
      "Torn WAL tails truncated at open.", NULL),
    F(wal_files, FAMILY_GAUGE, "quiver_wal_files", "WAL files on disk.", NULL),
    F(peer_requests, FAMILY_COUNTER, "quiver_peer_requests_total",
      "Requests to cluster peers by peer and HTTP status (error: no response).", "peer,code"),
    F(peer_duration, FAMILY_LATENCY, "quiver_peer_request_duration_seconds",
      "Latency of requests to cluster peers.", "peer,code"),
    F(segments, FAMILY_GAUGE, "quiver_segments", "Segments of open collections by state.",
      "state"),
    F(segment_rows, FAMILY_GAUGE, "quiver_segment_rows",
      "Rows (dead ones included) in segments by state.", "state"),
    F(growing_bytes, FAMILY_GAUGE, "quiver_growing_bytes",
      "Encoded bytes of growing (unsealed) data, counted against the growing budget.", NULL),
    F(seals, FAMILY_COUNTER, "quiver_segment_seals_total",
      "Seals of growing segments (flush or threshold).", NULL),
    F(segment_files, FAMILY_COUNTER, "quiver_segment_files_written_total",
      "Segment files written by sealing and compaction.", NULL),
    F(segment_bytes, FAMILY_COUNTER, "quiver_segment_written_bytes_total",
      "Bytes of segment files written.", NULL),
    F(compactions, FAMILY_COUNTER, "quiver_compactions_total",
      "Compactions that rewrote segments.", NULL),
    F(rows_purged, FAMILY_COUNTER, "quiver_compaction_purged_rows_total",
      "Dead rows removed by compaction.", NULL),
    F(admit_waits, FAMILY_COUNTER, "quiver_write_admission_waits_total",
      "Writes that waited for growing data to fall under its budget.", NULL),
    F(admit_timeouts, FAMILY_COUNTER, "quiver_write_admission_timeouts_total",
      "Writes refused because growing data stayed over its budget.", NULL),
    F(s3_requests, FAMILY_COUNTER, "quiver_s3_requests_total",
      "S3 request attempts by operation (retries included).", "op"),
    F(s3_failures, FAMILY_COUNTER, "quiver_s3_request_failures_total",
      "S3 request attempts that failed (error, timeout, 5xx, SlowDown, refusal).", "op"),
    F(s3_retries, FAMILY_COUNTER, "quiver_s3_retries_total", "S3 requests retried after backoff.",
      NULL),
    F(s3_sent_bytes, FAMILY_COUNTER, "quiver_s3_sent_bytes_total",
      "Bytes of S3 request bodies that succeeded.", NULL),
    F(s3_received_bytes, FAMILY_COUNTER, "quiver_s3_received_bytes_total",
      "Bytes of S3 answers received.", NULL),
    F(s3_degraded, FAMILY_GAUGE, "quiver_s3_degraded",
      "1 while the latest S3 request failed after its retries, else 0.", NULL),
    F(s3_backlog_files, FAMILY_GAUGE, "quiver_s3_backlog_files",
      "Sealed files not yet in S3, as of the offloader's last pass.", NULL),
    F(s3_backlog_bytes, FAMILY_GAUGE, "quiver_s3_backlog_bytes",
      "Bytes of the sealed files not yet in S3.", NULL),
    F(s3_uploads, FAMILY_COUNTER, "quiver_s3_uploads_total", "Files uploaded to S3.", NULL),
    F(s3_deletes, FAMILY_COUNTER, "quiver_s3_deletes_total",
      "S3 objects deleted (compacted-away segments, dropped collections).", NULL),
    F(s3_fetches, FAMILY_COUNTER, "quiver_s3_fetches_total",
      "Sealed files downloaded from S3 because they were missing locally.", NULL),
    F(s3_evictions, FAMILY_COUNTER, "quiver_s3_evictions_total",
      "Local sealed files deleted under s3.cache_bytes (their S3 copy stays).", NULL),
    F(s3_cache_bytes, FAMILY_GAUGE, "quiver_s3_cache_bytes",
      "Local bytes of sealed segment and index files, counted against s3.cache_bytes.", NULL),
    F(s3_objects, FAMILY_GAUGE, "quiver_s3_objects", "This node's objects in S3.", NULL),
    F(s3_synced, FAMILY_GAUGE, "quiver_s3_last_sync_timestamp_seconds",
      "When S3 last held every sealed file of this node (0: not yet).", NULL),
#undef F
};

static qv_err register_metrics(qv_node *n, qv_error *err)
{
    const char *build[] = {QV_VERSION, qv_alloc_name(), qv_io_backend_name(n->io)};

    for (size_t i = 0; i < sizeof node_families / sizeof node_families[0]; i++) {
        qv_metric **slot = (qv_metric **)((char *)&n->m + node_families[i].offset);
        const char *name = node_families[i].name, *help = node_families[i].help,
                   *labels = node_families[i].labels;
        switch (node_families[i].kind) {
        case FAMILY_COUNTER:
            *slot = qv_metrics_counter(n->metrics, name, help, labels);
            break;
        case FAMILY_GAUGE:
            *slot = qv_metrics_gauge(n->metrics, name, help, labels);
            break;
        case FAMILY_LATENCY:
            *slot = qv_metrics_histogram(n->metrics, name, help, labels,
                                         qv_metrics_latency_buckets,
                                         qv_metrics_latency_bucket_count);
            break;
        }
        if (!*slot)
            return qv_error_set(err, QV_ENOMEM, "out of memory registering metric %s", name);
    }
    qv_series_set(qv_metric_series(n->m.build_info, build), 1);
    return QV_OK;
}

static void pick_node_id(qv_node *n)
{
    const char *colon = strrchr(n->cfg->server_listen, ':');

    if (n->cfg->node_id[0])
        snprintf(n->node_id, sizeof n->node_id, "%s", n->cfg->node_id);
    else
        snprintf(n->node_id, sizeof n->node_id, "node-%s", colon ? colon + 1 : "0");
}

/* Open every collection's shards now, replaying their WALs, so that a node answers
 * from all of its data as soon as it is ready. */
static qv_err open_collections(qv_node *n, qv_error *err)
{
    qv_names dbs = {0}, colls = {0};
    qv_err rc = qv_catalog_list_databases(n->catalog, &dbs, err);

    for (size_t d = 0; d < dbs.count && rc == QV_OK; d++) {
        rc = qv_catalog_list_collections(n->catalog, dbs.items[d], &colls, err);
        for (size_t i = 0; i < colls.count && rc == QV_OK; i++) {
            qv_collection_info ci;
            qv_coll_data *cd = NULL;
            if ((rc = qv_catalog_get_collection(n->catalog, dbs.items[d], colls.items[i], &ci,
                                                err)) == QV_OK)
                rc = qv_store_get(n->store, &ci, &cd, err);
            qv_coll_data_unref(cd);
            qv_collection_info_fini(&ci);
        }
        qv_names_fini(&colls);
    }
    qv_names_fini(&dbs);
    return rc;
}

static qv_err open_store(qv_node *n, qv_error *err)
{
    const qv_config *cfg = n->cfg;
    qv_store_opts o = {.segment_max_rows = (uint64_t)cfg->storage_segment_max_rows,
                       .segment_max_bytes = cfg->storage_segment_max_bytes,
                       .growing_budget_bytes = cfg->storage_growing_budget_bytes,
                       .admit_timeout_ms = (int)cfg->storage_admit_timeout_ms};

    return qv_store_open(cfg->server_data_dir, n->io, &o, &n->store, err);
}

/* Peers from cluster.peers (none: n->cluster stays NULL). */
static qv_err open_cluster(qv_node *n, qv_error *err)
{
    char url[300];

    snprintf(url, sizeof url, "%s://%s", n->cfg->server_tls_cert_file[0] ? "https" : "http",
             n->cfg->server_listen);
    return qv_cluster_open(n->cfg, n->node_id, url, &n->cluster, err);
}

/* The heartbeat starts once the metrics it counts into exist. */
static qv_err start_cluster(qv_node *n, qv_error *err)
{
    if (!n->cluster)
        return QV_OK;
    qv_cluster_set_metrics(n->cluster, n->m.peer_requests, n->m.peer_duration);
    return qv_cluster_start(n->cluster, api_cluster_tick, n, err);
}

static qv_err open_auth(qv_node *n, qv_error *err)
{
    const qv_config *cfg = n->cfg;
    qv_auth_opts o = {.data_dir = cfg->server_data_dir, .io = n->io, .enabled = cfg->auth_enabled,
                      .root_password = cfg->auth_root_password, .api_keys = cfg->auth_api_keys,
                      .kdf_iterations = (uint32_t)cfg->auth_kdf_iterations};

    return qv_auth_open(&o, &n->auth, err);
}

qv_err qv_node_open(const qv_config *cfg, qv_node **out, qv_error *err)
{
    qv_node *n = qv_calloc(1, sizeof *n);
    qv_err rc;

    if (!n)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    n->cfg = cfg;
    n->lock_fd = -1;
    atomic_init(&n->draining, false);
    pthread_mutex_init(&n->jobs_lock, NULL);
    n->next_job = 1;
    n->start_ms = (uint64_t)time(NULL) * 1000;
    pick_node_id(n);
    if ((rc = lock_data_dir(n, cfg->server_data_dir, err)) != QV_OK ||
        (rc = qv_io_open_default(cfg->storage_io_backend, &n->io, err)) != QV_OK ||
        (rc = api_s3_open(n, err)) != QV_OK || /* restores an empty data directory */
        (rc = qv_catalog_open(cfg->server_data_dir, n->io, &n->catalog, err)) != QV_OK ||
        (rc = open_store(n, err)) != QV_OK || (rc = api_s3_start(n, err)) != QV_OK ||
        (rc = qv_idalloc_open(cfg->server_data_dir, n->io, &n->ids, err)) != QV_OK ||
        (rc = open_auth(n, err)) != QV_OK ||
        (rc = open_collections(n, err)) != QV_OK || (rc = open_cluster(n, err)) != QV_OK ||
        (rc = api_import_start(n, err)) != QV_OK)
        goto fail;
    if (!(n->metrics = qv_metrics_new())) {
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = register_metrics(n, err)) != QV_OK || (rc = start_cluster(n, err)) != QV_OK)
        goto fail;
    qv_log_info("node", "node %s: data %s, io backend %s, allocator %s, catalog version %llu",
                n->node_id, cfg->server_data_dir, qv_io_backend_name(n->io), qv_alloc_name(),
                (unsigned long long)qv_catalog_version(n->catalog));
    *out = n;
    return QV_OK;
fail:
    qv_node_close(n);
    return rc;
}

void qv_node_close(qv_node *n)
{
    if (!n)
        return;
    api_import_stop(n);           /* the importer writes to the store */
    qv_cluster_close(n->cluster); /* its heartbeat uses the catalog and the store */
    bool store_closed = qv_store_close(n->store);

    qv_idalloc_close(n->ids);
    qv_auth_close(n->auth);
    qv_catalog_close(n->catalog);
    qv_metrics_free(n->metrics);
    qv_s3_free(n->s3); /* the store's offloader, its user, stopped first thing */
    if (store_closed) /* else a background build still uses the I/O backend */
        qv_io_free(n->io);
    if (n->lock_fd >= 0)
        close(n->lock_fd);
    qv_free(n);
}
