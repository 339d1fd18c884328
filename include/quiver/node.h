/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/node.h - the state of one quiverd process, built by main.c and passed
 * to every handler: config, locked data directory, I/O backend, catalog, metrics. */
#ifndef QUIVER_NODE_H
#define QUIVER_NODE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "quiver/auth.h"
#include "quiver/catalog.h"
#include "quiver/cluster.h"
#include "quiver/config.h"
#include "quiver/idalloc.h"
#include "quiver/io.h"
#include "quiver/metrics.h"
#include "quiver/store.h"

typedef struct qv_node_metrics {
    qv_metric *http_requests;     /* route, code */
    qv_metric *http_duration;     /* route */
    qv_metric *http_inflight;
    qv_metric *http_body_rejected;
    qv_metric *http_admission_rejected; /* server.max_inflight reached */
    qv_metric *auth_failures;           /* reason: unauthenticated, denied */
    qv_metric *build_info;
    qv_metric *catalog_version;
    qv_metric *rows_inserted; /* rows written by insert and upsert */
    qv_metric *rows_deleted;
    qv_metric *index_builds;       /* read from the store at scrape */
    qv_metric *index_loads;
    qv_metric *index_build_seconds;
    qv_metric *index_failures;
    qv_metric *wal_appends, *wal_bytes, *wal_fsyncs, *wal_fsync_seconds, *wal_torn_tails,
        *wal_files; /* summed over open collections at scrape */
    qv_metric *segments, *segment_rows; /* state: sealed, growing */
    qv_metric *growing_bytes, *seals, *compactions, *rows_purged, *segment_files,
        *segment_bytes, *admit_waits, *admit_timeouts;
    qv_metric *peer_requests, *peer_duration; /* peer, code */
    qv_metric *s3_requests, *s3_failures; /* op; S3 offload, set at scrape (api_s3.c) */
    qv_metric *s3_retries, *s3_sent_bytes, *s3_received_bytes, *s3_degraded, *s3_backlog_files,
        *s3_backlog_bytes, *s3_uploads, *s3_deletes, *s3_fetches, *s3_evictions, *s3_cache_bytes,
        *s3_objects, *s3_synced;
} qv_node_metrics;

#define QV_COMPACTION_JOBS 256

/* A finished manual compaction, kept for collections/get_compaction_state. */
typedef struct qv_compaction_job {
    int64_t id;
    uint64_t purged;
} qv_compaction_job;

typedef struct qv_node {
    const qv_config *cfg; /* borrowed; outlives the node */
    char node_id[128];
    int lock_fd;          /* flock on <data_dir>/LOCK, released by the kernel on exit */
    qv_io *io;
    qv_catalog *catalog;
    qv_auth *auth;        /* users, roles, privileges (auth.qva) */
    qv_store *store;      /* rows of every collection */
    qv_s3 *s3;            /* S3 offload (s3.endpoint set); NULL when off */
    qv_cluster *cluster;  /* peers; NULL on a single node */
    qv_idalloc *ids;      /* autoID primary keys */
    qv_metrics *metrics;
    qv_node_metrics m;
    uint64_t start_ms;
    atomic_bool draining; /* set on SIGTERM: /readyz answers 503 */
    pthread_mutex_t jobs_lock; /* guards jobs, next_job */
    qv_compaction_job jobs[QV_COMPACTION_JOBS]; /* ring, by id % QV_COMPACTION_JOBS */
    int64_t next_job;
    struct api_importer *importer; /* import jobs (api/api_import.c) */
} qv_node;

/* Lock the data directory (QV_ELOCKED if another process holds it), open the I/O
 * backend and the catalog, register metrics. */
qv_err qv_node_open(const qv_config *cfg, qv_node **out, qv_error *err);
void qv_node_close(qv_node *n); /* NULL is a no-op */

#endif
