/* SPDX-License-Identifier: Apache-2.0 */
/* api_s3.c - S3 offload on a node: the client from the s3.* options, the restore of an
 * empty data directory (before the catalog opens), the store's offloader (before the
 * collections open), the /metrics families and the /readyz state. Offload is on when
 * s3.endpoint is set; every object of this node lives under "<s3.prefix><node id>/". */
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "quiver/alloc.h"
#include "quiver/crypto.h"
#include "quiver/log.h"
#include "quiver/node.h"

#define KEY_FILE_MAX 4096

/* The content of a key file, surrounding whitespace removed, into out. */
static qv_err read_key_file(qv_node *n, const char *opt, const char *path, char *out, size_t cap,
                            qv_error *err)
{
    void *data = NULL;
    size_t len = 0, a = 0;
    const char *p;
    qv_err rc = qv_io_read_file(n->io, path, KEY_FILE_MAX, &data, &len, err);

    if (rc != QV_OK) {
        qv_error_prefix(err, "%s: ", opt);
        return rc;
    }
    p = data;
    while (a < len && (p[a] == ' ' || p[a] == '\t' || p[a] == '\r' || p[a] == '\n'))
        a++;
    while (len > a && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r' ||
                       p[len - 1] == '\n'))
        len--;
    if (len - a >= cap || len == a)
        rc = qv_error_set(err, QV_EINVAL, "%s: %s holds no key (or one too long)", opt, path);
    else
        snprintf(out, cap, "%.*s", (int)(len - a), p + a);
    qv_crypto_wipe(data, len);
    qv_free(data);
    return rc;
}

static void node_root(const qv_node *n, char *out, size_t cap)
{
    const char *prefix = n->cfg->s3_prefix;
    size_t pl = strlen(prefix);

    snprintf(out, cap, "%s%s%s/", prefix, pl && prefix[pl - 1] != '/' ? "/" : "", n->node_id);
}

static void store_opts(const qv_node *n, char *root, size_t cap, qv_store_s3_opts *o)
{
    node_root(n, root, cap);
    *o = (qv_store_s3_opts){.data_dir = n->cfg->server_data_dir, .root = root,
                            .cache_bytes = n->cfg->s3_cache_bytes,
                            .interval_ms = (int)n->cfg->s3_interval_ms};
}

qv_err api_s3_open(qv_node *n, qv_error *err)
{
    const qv_config *cfg = n->cfg;
    char access[512], secret[512], root[1024];
    qv_store_s3_opts so;
    bool restored = false;
    qv_err rc = QV_OK;

    if (!cfg->s3_endpoint[0])
        return QV_OK;
    snprintf(access, sizeof access, "%s", cfg->s3_access_key);
    snprintf(secret, sizeof secret, "%s", cfg->s3_secret_key);
    if (cfg->s3_access_key_file[0])
        rc = read_key_file(n, "s3.access_key_file", cfg->s3_access_key_file, access,
                           sizeof access, err);
    if (rc == QV_OK && cfg->s3_secret_key_file[0])
        rc = read_key_file(n, "s3.secret_key_file", cfg->s3_secret_key_file, secret,
                           sizeof secret, err);
    qv_s3_opts o = {.endpoint = cfg->s3_endpoint, .region = cfg->s3_region,
                    .bucket = cfg->s3_bucket, .access_key = access, .secret_key = secret,
                    .path_style = cfg->s3_path_style, .timeout_ms = (int)cfg->s3_timeout_ms,
                    .retries = (int)cfg->s3_retries, .retry_base_ms = (int)cfg->s3_retry_base_ms,
                    .retry_max_ms = (int)cfg->s3_retry_max_ms,
                    .concurrency = (int)cfg->s3_concurrency, .part_bytes = cfg->s3_part_bytes,
                    .io = n->io};
    if (rc == QV_OK)
        rc = qv_s3_new(&o, &n->s3, err);
    qv_crypto_wipe(access, sizeof access);
    qv_crypto_wipe(secret, sizeof secret);
    if (rc != QV_OK)
        return rc;
    store_opts(n, root, sizeof root, &so);
    if (!cfg->node_id[0])
        qv_log_warn("s3", "node.id is not set: this node's objects go under %s, which "
                    "changes with the port", root);
    if ((rc = qv_store_s3_restore(n->s3, n->io, &so, &restored, err)) != QV_OK)
        qv_error_prefix(err, "S3 %s bucket %s: ", cfg->s3_endpoint, cfg->s3_bucket);
    return rc;
}

qv_err api_s3_start(qv_node *n, qv_error *err)
{
    char root[1024];
    qv_store_s3_opts so;

    if (!n->s3)
        return QV_OK;
    store_opts(n, root, sizeof root, &so);
    return qv_store_s3_start(n->store, n->s3, &so, err);
}

const char *api_s3_state(const qv_node *n)
{
    if (!n->s3)
        return NULL;
    return qv_s3_degraded(n->s3) ? "degraded" : "ok";
}

void api_s3_metrics(qv_node *n)
{
    const qv_s3_stats *st;
    qv_store_s3_stats ss;

    if (!n->s3 || !qv_store_s3_stats_get(n->store, &ss))
        return;
    st = qv_s3_counters(n->s3);
    for (int op = 0; op < QV_S3_OP_COUNT; op++) {
        const char *label[] = {qv_s3_op_name((qv_s3_op)op)};
        qv_series_set(qv_metric_series(n->m.s3_requests, label),
                      (double)atomic_load(&st->requests[op]));
        qv_series_set(qv_metric_series(n->m.s3_failures, label),
                      (double)atomic_load(&st->failures[op]));
    }
    qv_series_set(qv_metric_default(n->m.s3_retries), (double)atomic_load(&st->retries));
    qv_series_set(qv_metric_default(n->m.s3_sent_bytes), (double)atomic_load(&st->bytes_up));
    qv_series_set(qv_metric_default(n->m.s3_received_bytes),
                  (double)atomic_load(&st->bytes_down));
    qv_series_set(qv_metric_default(n->m.s3_degraded), qv_s3_degraded(n->s3) ? 1 : 0);
    qv_series_set(qv_metric_default(n->m.s3_backlog_files), (double)ss.backlog_files);
    qv_series_set(qv_metric_default(n->m.s3_backlog_bytes), (double)ss.backlog_bytes);
    qv_series_set(qv_metric_default(n->m.s3_uploads), (double)ss.uploads);
    qv_series_set(qv_metric_default(n->m.s3_deletes), (double)ss.deletes);
    qv_series_set(qv_metric_default(n->m.s3_fetches), (double)ss.fetches);
    qv_series_set(qv_metric_default(n->m.s3_evictions), (double)ss.evictions);
    qv_series_set(qv_metric_default(n->m.s3_cache_bytes), (double)ss.cache_bytes);
    qv_series_set(qv_metric_default(n->m.s3_objects), (double)ss.objects);
    qv_series_set(qv_metric_default(n->m.s3_synced), (double)ss.synced_ms / 1e3);
}
