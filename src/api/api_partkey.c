/* SPDX-License-Identifier: Apache-2.0 */
/* api_partkey.c - partition-key collections (multi-tenancy): routing rows to their hidden
 * partition and pruning the partitions a filter can reach.
 *
 * A collection whose schema has a partition-key field (Int64 or VarChar, not nullable)
 * owns partitionsNum hidden partitions named _default_0 .. _default_{n-1}, created with it
 * (api_schema.c). A row goes to the partition at index FNV-1a-64(key) % n, where the key
 * bytes are those of shard placement: an Int64 as 8 little-endian bytes, a VarChar as its
 * UTF-8 bytes (qv_store_hash_int64, qv_store_hash_bytes). This is part of the on-disk
 * contract: changing it would misplace stored rows. A filter that pins the key
 * (`key == v`, `key in [...]`, or such a conjunct) reads only those values' partitions,
 * which is exact because every row of a value lives in that value's partition.
 *
 * A routed batch is written like any other (qv_dist_write with each row's partition): on a
 * single node one WAL record (qv_coll_write_routed), so it survives a crash whole or not
 * at all; on a cluster one write message per shard, carrying its rows' partitions, so
 * each shard's part is as atomic as an unrouted write's. */
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "quiver/alloc.h"
#include "quiver/dist.h"
#include "quiver/store.h"

/* Ids of the hidden partitions in index order: (*ids)[i] is _default_i's. */
static qv_err key_partitions(const qv_collection_info *ci, int64_t **ids, size_t *n,
                             qv_error *err)
{
    char name[32];

    *n = ci->partition_count;
    if (!*n || !(*ids = qv_calloc(*n, sizeof **ids)))
        return *n ? qv_error_set(err, QV_ENOMEM, "out of memory")
                  : qv_error_set(err, QV_EINTERNAL, "partition-key collection %s has no "
                                                    "partitions", ci->name);
    for (size_t i = 0; i < *n; i++) {
        snprintf(name, sizeof name, "%s_%zu", QV_DEFAULT_PARTITION, i);
        if (api_partition_id(ci, name, &(*ids)[i], err) != QV_OK) {
            qv_free(*ids);
            *ids = NULL;
            return qv_error_set(err, QV_EINTERNAL, "partition-key collection %s lacks %s",
                                ci->name, name);
        }
    }
    return QV_OK;
}

static uint64_t key_hash_col(const qv_colbuf *c, size_t row)
{
    size_t len;
    const uint8_t *p;
    int64_t v;

    if (c->width) {
        memcpy(&v, qv_colbuf_fixed(c, row), sizeof v);
        return qv_store_hash_int64(v);
    }
    p = qv_colbuf_var(c, row, &len);
    return qv_store_hash_bytes(p, len);
}

qv_err api_route_rows(const qv_collection_info *ci, const qv_rowbatch *rows, int64_t **out,
                      qv_error *err)
{
    const qv_field *key = qv_schema_partition_key(&ci->schema);
    const qv_colbuf *col = &rows->cols[key - ci->schema.fields];
    int64_t *ids = NULL;
    size_t n = 0;
    qv_err rc = key_partitions(ci, &ids, &n, err);

    *out = NULL;
    if (rc == QV_OK && !(*out = qv_malloc((rows->rows + 1) * sizeof **out)))
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; rc == QV_OK && i < rows->rows; i++)
        (*out)[i] = ids[key_hash_col(col, i) % n];
    qv_free(ids);
    return rc;
}

qv_err api_prune_partitions(const qv_collection_info *ci, const qv_filter *f, int64_t **out,
                            size_t *nout, qv_error *err)
{
    const qv_field *key = qv_schema_partition_key(&ci->schema);
    qv_value *vals = NULL;
    int64_t *ids = NULL;
    size_t nvals = 0, n = 0;
    qv_err rc = QV_OK;

    *out = NULL;
    *nout = 0;
    if (!key || !f ||
        !qv_filter_field_values(f, (size_t)(key - ci->schema.fields), &vals, &nvals))
        return QV_OK;
    if ((rc = key_partitions(ci, &ids, &n, err)) == QV_OK &&
        !(*out = qv_malloc((nvals + 1) * sizeof **out)))
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; rc == QV_OK && i < nvals; i++) {
        uint64_t h = vals[i].type == QV_TYPE_INT64
                         ? qv_store_hash_int64(vals[i].u.i)
                         : qv_store_hash_bytes(vals[i].u.str.s, vals[i].u.str.len);
        int64_t id = ids[h % n];
        size_t j = 0;
        while (j < *nout && (*out)[j] != id)
            j++;
        if (j == *nout)
            (*out)[(*nout)++] = id;
    }
    qv_free(vals);
    qv_free(ids);
    if (rc != QV_OK) {
        qv_free(*out);
        *out = NULL;
        *nout = 0;
    }
    return rc;
}

qv_err api_check_partition_names(const qv_collection_info *ci, size_t named, bool write,
                                 qv_error *err)
{
    if (!named || !qv_schema_partition_key(&ci->schema))
        return QV_OK;
    /* Milvus: a plain error on writes (65535), ParameterInvalid on reads (1100) */
    if (write)
        return qv_error_set(err, QV_EUNEXPECTED,
                            "not support manually specifying the partition names if partition "
                            "key mode is used");
    return qv_error_set(err, QV_EINVAL,
                        "not support manually specifying the partition names if partition key "
                        "mode is used: invalid parameter");
}

qv_err api_write_routed(const qv_dist_coll *dc, bool upsert, const qv_rowbatch *rows,
                        qv_error *err)
{
    int64_t *parts = NULL;
    qv_err rc = api_route_rows(dc->ci, rows, &parts, err);

    if (rc == QV_OK)
        rc = qv_dist_write(dc, upsert, 0, parts, rows, err);
    qv_free(parts);
    return rc;
}

