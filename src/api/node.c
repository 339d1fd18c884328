/* SPDX-License-Identifier: Apache-2.0 */
/* node.c - one quiverd's state: data-directory lock, I/O backend, catalog, metrics. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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

static qv_err register_metrics(qv_node *n, qv_error *err)
{
    qv_metrics *m = n->metrics;
    const char *build[] = {QV_VERSION, qv_alloc_name(), qv_io_backend_name(n->io)};

    n->m.http_requests = qv_metrics_counter(m, "quiver_http_requests_total",
                                            "HTTP requests by route template and status code.",
                                            "route,code");
    n->m.http_duration = qv_metrics_histogram(
        m, "quiver_http_request_duration_seconds", "HTTP request latency by route template.",
        "route", qv_metrics_latency_buckets, qv_metrics_latency_bucket_count);
    n->m.http_inflight = qv_metrics_gauge(m, "quiver_http_requests_in_flight",
                                          "HTTP requests being served.", NULL);
    n->m.http_body_rejected = qv_metrics_counter(
        m, "quiver_http_bodies_rejected_total", "Request bodies refused for exceeding the limit.",
        NULL);
    n->m.build_info = qv_metrics_gauge(m, "quiver_build_info",
                                       "Build information; the value is always 1.",
                                       "version,allocator,io_backend");
    n->m.catalog_version = qv_metrics_gauge(m, "quiver_catalog_version",
                                            "Version of the catalog (changes applied).", NULL);
    n->m.rows_inserted = qv_metrics_counter(m, "quiver_rows_inserted_total",
                                            "Rows written by insert and upsert.", NULL);
    n->m.rows_deleted = qv_metrics_counter(m, "quiver_rows_deleted_total",
                                           "Rows removed by delete.", NULL);
    n->m.index_builds = qv_metrics_counter(m, "quiver_index_builds_total",
                                           "Vector index builds completed.", NULL);
    n->m.index_loads = qv_metrics_counter(m, "quiver_index_loads_total",
                                          "Vector indexes loaded from disk instead of rebuilt.",
                                          NULL);
    n->m.index_build_seconds = qv_metrics_counter(m, "quiver_index_build_seconds_total",
                                                  "Time spent building vector indexes.", NULL);
    n->m.index_failures = qv_metrics_counter(m, "quiver_index_build_failures_total",
                                             "Vector index builds that failed.", NULL);
    n->m.wal_appends = qv_metrics_counter(m, "quiver_wal_appends_total",
                                          "WAL records appended since start.", NULL);
    n->m.wal_bytes = qv_metrics_counter(m, "quiver_wal_written_bytes_total",
                                        "Bytes written to WAL files since start.", NULL);
    n->m.wal_fsyncs = qv_metrics_counter(m, "quiver_wal_fsyncs_total",
                                         "WAL group commits (linked write + fdatasync).", NULL);
    n->m.wal_fsync_seconds = qv_metrics_counter(m, "quiver_wal_fsync_seconds_total",
                                                "Time spent in WAL group commits.", NULL);
    n->m.wal_torn_tails = qv_metrics_counter(m, "quiver_wal_torn_tails_repaired_total",
                                             "Torn WAL tails truncated at open.", NULL);
    n->m.wal_files = qv_metrics_gauge(m, "quiver_wal_files", "WAL files on disk.", NULL);
    if (!n->m.http_requests || !n->m.http_duration || !n->m.http_inflight ||
        !n->m.http_body_rejected || !n->m.build_info || !n->m.catalog_version ||
        !n->m.rows_inserted || !n->m.rows_deleted || !n->m.index_builds || !n->m.index_loads ||
        !n->m.index_build_seconds || !n->m.index_failures || !n->m.wal_appends ||
        !n->m.wal_bytes || !n->m.wal_fsyncs || !n->m.wal_fsync_seconds || !n->m.wal_torn_tails ||
        !n->m.wal_files)
        return qv_error_set(err, QV_ENOMEM, "out of memory registering metrics");
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
    pick_node_id(n);
    if ((rc = lock_data_dir(n, cfg->server_data_dir, err)) != QV_OK ||
        (rc = qv_io_open_default(cfg->storage_io_backend, &n->io, err)) != QV_OK ||
        (rc = qv_catalog_open(cfg->server_data_dir, n->io, &n->catalog, err)) != QV_OK ||
        (rc = qv_store_open(cfg->server_data_dir, n->io, &n->store, err)) != QV_OK ||
        (rc = qv_idalloc_open(cfg->server_data_dir, n->io, &n->ids, err)) != QV_OK ||
        (rc = open_collections(n, err)) != QV_OK)
        goto fail;
    if (!(n->metrics = qv_metrics_new())) {
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = register_metrics(n, err)) != QV_OK)
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
    bool store_closed = qv_store_close(n->store);

    qv_idalloc_close(n->ids);
    qv_catalog_close(n->catalog);
    qv_metrics_free(n->metrics);
    if (store_closed) /* else a background build still uses the I/O backend */
        qv_io_free(n->io);
    if (n->lock_fd >= 0)
        close(n->lock_fd);
    qv_free(n);
}
