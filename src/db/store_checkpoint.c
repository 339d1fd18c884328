/* SPDX-License-Identifier: Apache-2.0 */
/* store_checkpoint.c - checkpoints: every shard's rows written to one immutable file at an
 * LSN, so the WAL behind it can be deleted and a restart replays only the tail.
 *
 * File <collection dir>/checkpoint-<lsn, 20 digits>.qvk, written temp + fsync + rename +
 * directory fsync:
 *   offset 0   8  magic "QVCKPT01"
 *          8   8  LSN: every WAL record up to it is in the file
 *         16   4  shard count
 *         20   4  CRC32C of bytes 0..19
 *   then per shard: u64 block length, u32 CRC32C(block), block :=
 *     u64 epoch (row numbering generation), u64 rows, u64 n + n bytes of row batch (rowbatch.c), rows x i64 partition ids,
 *     rows x u64 row LSNs, ceil(rows/64) x u64 dead-row bitmap words
 * Rows keep their order (dead rows included), so index files built over row numbers stay
 * valid across a checkpoint and a restart. A damaged newest checkpoint refuses to open the
 * collection (naming the file); older ones are deleted only after a newer one is durable
 * and the WAL has been truncated behind it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/store_int.h"
#include "quiver/alloc.h"
#include "quiver/crc32c.h"
#include "quiver/log.h"

#define CKPT_MAGIC "QVCKPT01"
#define CKPT_PREFIX "checkpoint-"
#define CKPT_MAX_BYTES ((size_t)1 << 40)

static void encode_shard(const shard *sh, qv_buf *out)
{
    size_t start = out->len, len_at;
    uint64_t rows = sh->rows.rows;

    qv_buf_put_u64(out, 0); /* block length, patched below */
    qv_buf_put_u32(out, 0); /* CRC, patched below */
    qv_buf_put_u64(out, sh->epoch);
    qv_buf_put_u64(out, rows);
    len_at = out->len;
    qv_buf_put_u64(out, 0);
    qv_rowbatch_encode(&sh->rows, out);
    if (!out->failed)
        qv_store_le64(out->data + len_at, out->len - len_at - 8);
    for (uint64_t i = 0; i < rows; i++)
        qv_buf_put_u64(out, (uint64_t)sh->part_ids[i]);
    for (uint64_t i = 0; i < rows; i++)
        qv_buf_put_u64(out, sh->row_lsn[i]);
    for (size_t w = 0; w < qv_filter_words(rows); w++)
        qv_buf_put_u64(out, sh->dead[w]);
    if (out->failed)
        return;
    qv_store_le64(out->data + start, out->len - start - 12);
    qv_store_le32(out->data + start + 8, qv_crc32c(0, out->data + start + 12, out->len - start - 12));
}

static void ckpt_path(const qv_coll_data *c, uint64_t lsn, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/" CKPT_PREFIX "%020" PRIu64 ".qvk", c->dir, lsn);
}

/* Checkpoint LSNs present in the directory, via *lsns (caller frees). */
static qv_err list_checkpoints(const qv_coll_data *c, uint64_t **lsns, size_t *n, qv_error *err)
{
    char **names = NULL;
    size_t count = 0;
    qv_err rc = qv_io_list_dir(c->store->io, c->dir, &names, &count, err);

    *lsns = NULL;
    *n = 0;
    if (rc != QV_OK)
        return rc;
    if (!(*lsns = qv_calloc(count + 1, sizeof **lsns)))
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; rc == QV_OK && i < count; i++) {
        unsigned long long v;
        char tail[8];
        if (sscanf(names[i], CKPT_PREFIX "%20llu.%4s", &v, tail) == 2 && !strcmp(tail, "qvk"))
            (*lsns)[(*n)++] = v;
    }
    qv_io_free_names(names, count);
    return rc;
}

static void remove_older(qv_coll_data *c, uint64_t keep)
{
    uint64_t *lsns;
    size_t n;
    char path[4096];
    qv_error err = {0};

    if (list_checkpoints(c, &lsns, &n, &err) != QV_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        if (lsns[i] >= keep)
            continue;
        ckpt_path(c, lsns[i], path, sizeof path);
        if (qv_io_unlink(c->store->io, path, &err) != QV_OK)
            qv_log_warn("store", "%s", err.msg);
    }
    qv_free(lsns);
    qv_io_sync_dir(c->store->io, c->dir, &err);
}

/* Encode every shard at the applied LSN (caller holds seq_lock: nothing is appended or
 * applied meanwhile). */
static void encode_locked(qv_coll_data *c, qv_buf *b, uint64_t *lsn, qv_wal_counters *wc)
{
    uint8_t header[24] = CKPT_MAGIC;

    qv_buf_put(b, header, sizeof header);
    *lsn = c->applied_lsn;
    for (size_t si = 0; si < c->nshards; si++)
        encode_shard(&c->shards[si], b);
    qv_wal_stats(c->wal, wc);
}

/* Write an encoded checkpoint, truncate the WAL behind it, drop older checkpoints. */
static qv_err write_checkpoint(qv_coll_data *c, qv_buf *b, uint64_t lsn,
                               const qv_wal_counters *wc, bool force, qv_error *err)
{
    char path[4096];
    qv_err rc = qv_buf_status(b, err);

    if (rc != QV_OK || (lsn == c->ckpt_lsn && !force))
        return rc;
    qv_store_le64(b->data + 8, lsn);
    qv_store_le32(b->data + 16, (uint32_t)c->nshards);
    qv_store_le32(b->data + 20, qv_crc32c(0, b->data, 20));
    ckpt_path(c, lsn, path, sizeof path);
    if ((rc = qv_io_write_file_atomic(c->store->io, path, b->data, b->len, err)) != QV_OK ||
        (rc = qv_wal_truncate_before(c->wal, lsn + 1, err)) != QV_OK)
        return rc;
    c->ckpt_lsn = lsn;
    c->ckpt_wal_bytes = wc->append_bytes;
    remove_older(c, lsn);
    qv_log_info("store", "collection %lld: checkpoint at LSN %llu", (long long)c->id,
                (unsigned long long)lsn);
    return QV_OK;
}

qv_err store_checkpoint(qv_coll_data *c, qv_error *err)
{
    qv_wal_counters wc;
    qv_buf b;
    uint64_t lsn;
    qv_err rc;

    qv_buf_init(&b);
    pthread_mutex_lock(&c->seq_lock);
    encode_locked(c, &b, &lsn, &wc);
    pthread_mutex_unlock(&c->seq_lock);
    rc = write_checkpoint(c, &b, lsn, &wc, false, err);
    qv_buf_fini(&b);
    return rc;
}

/* Rewrite a shard with its live rows only (write lock held). */
static qv_err compact_shard(qv_coll_data *c, shard *sh, uint64_t *purged, qv_error *err)
{
    size_t rows = sh->rows.rows, live = 0;
    uint32_t *idx = qv_malloc((rows ? rows : 1) * sizeof *idx);
    qv_rowbatch fresh;
    qv_err rc;

    if (!idx || qv_rowbatch_init(&fresh, &c->schema) != QV_OK) {
        qv_free(idx);
        return qv_error_set(err, QV_ENOMEM, "out of memory compacting");
    }
    for (size_t r = 0; r < rows; r++)
        if (!(sh->dead[r / 64] >> (r % 64) & 1))
            idx[live++] = (uint32_t)r;
    if ((rc = qv_rowbatch_append_rows(&fresh, &sh->rows, idx, live, err)) != QV_OK) {
        qv_free(idx);
        qv_rowbatch_fini(&fresh);
        return rc; /* nothing changed */
    }
    for (size_t i = 0; i < live; i++) { /* idx is increasing: compacting in place is safe */
        sh->part_ids[i] = sh->part_ids[idx[i]];
        sh->row_lsn[i] = sh->row_lsn[idx[i]];
    }
    qv_free(idx);
    qv_rowbatch_fini(&sh->rows);
    sh->rows = fresh;
    memset(sh->dead, 0, qv_filter_words(sh->meta_cap) * sizeof *sh->dead);
    pkmap_fini(&sh->pk);
    pkmap_init(&sh->pk);
    for (size_t k = 0; k < QV_MAX_VECTOR_FIELDS; k++) {
        qv_index_free(sh->idx[k]); /* row numbers changed: rebuilt by the builder */
        sh->idx[k] = NULL;
        sh->tried[k] = 0;
    }
    sh->epoch++;
    *purged += rows - live;
    return store_reindex_keys(c, sh, err);
}

qv_err store_compact(qv_coll_data *c, uint64_t *purged, qv_error *err)
{
    qv_wal_counters wc;
    qv_buf b;
    uint64_t lsn;
    qv_err rc = QV_OK;

    *purged = 0;
    qv_buf_init(&b);
    pthread_mutex_lock(&c->seq_lock);
    for (size_t si = 0; si < c->nshards && rc == QV_OK; si++) {
        shard *sh = &c->shards[si];
        pthread_rwlock_wrlock(&sh->lock);
        if (sh->live < sh->rows.rows)
            rc = compact_shard(c, sh, purged, err);
        pthread_rwlock_unlock(&sh->lock);
    }
    if (rc == QV_OK)
        encode_locked(c, &b, &lsn, &wc);
    pthread_mutex_unlock(&c->seq_lock);
    if (rc == QV_OK && *purged)
        rc = write_checkpoint(c, &b, lsn, &wc, true, err);
    qv_buf_fini(&b);
    if (rc == QV_OK && *purged)
        qv_log_info("store", "collection %lld: compaction purged %llu rows", (long long)c->id,
                    (unsigned long long)*purged);
    return rc;
}

/* ---- loading -------------------------------------------------------------------------- */

static qv_err decode_shard(qv_coll_data *c, shard *sh, const uint8_t *p, size_t len,
                           qv_error *err)
{
    qv_reader r;
    uint64_t rows, n;
    const uint8_t *batch;
    qv_err rc;

    qv_reader_init(&r, p, len);
    sh->epoch = qv_reader_u64(&r);
    rows = qv_reader_u64(&r);
    n = qv_reader_u64(&r);
    if (r.failed || n > len || !(batch = qv_reader_bytes(&r, n)) ||
        rows > (len - r.pos) / 16)
        return qv_error_set(err, QV_ECORRUPT, "bad shard block");
    qv_rowbatch_fini(&sh->rows);
    if ((rc = qv_rowbatch_decode(&c->schema, batch, n, &sh->rows, err)) != QV_OK)
        return rc;
    if (sh->rows.rows != rows)
        return qv_error_set(err, QV_ECORRUPT, "row count mismatch");
    sh->meta_cap = rows ? rows : 1;
    if (!(sh->part_ids = qv_calloc(sh->meta_cap, sizeof *sh->part_ids)) ||
        !(sh->row_lsn = qv_calloc(sh->meta_cap, sizeof *sh->row_lsn)) ||
        !(sh->dead = qv_calloc(qv_filter_words(sh->meta_cap), sizeof *sh->dead)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (uint64_t i = 0; i < rows; i++)
        sh->part_ids[i] = (int64_t)qv_reader_u64(&r);
    for (uint64_t i = 0; i < rows; i++)
        sh->row_lsn[i] = qv_reader_u64(&r);
    for (size_t w = 0; w < qv_filter_words(rows); w++)
        sh->dead[w] = qv_reader_u64(&r);
    if (r.failed || r.pos != r.len)
        return qv_error_set(err, QV_ECORRUPT, "bad shard block length");
    return store_reindex_keys(c, sh, err);
}

static qv_err decode_checkpoint(qv_coll_data *c, const uint8_t *p, size_t len, uint64_t *lsn,
                                qv_error *err)
{
    qv_reader r;
    qv_err rc = QV_OK;

    if (len < 24 || memcmp(p, CKPT_MAGIC, 8) || qv_crc32c(0, p, 20) != qv_load_le32(p + 20))
        return qv_error_set(err, QV_ECORRUPT, "bad header");
    if (qv_load_le32(p + 16) != c->nshards)
        return qv_error_set(err, QV_ECORRUPT, "%u shards, the collection has %zu",
                            qv_load_le32(p + 16), c->nshards);
    *lsn = qv_load_le64(p + 8);
    qv_reader_init(&r, p + 24, len - 24);
    for (size_t si = 0; si < c->nshards && rc == QV_OK; si++) {
        uint64_t n = qv_reader_u64(&r);
        uint32_t crc = qv_reader_u32(&r);
        const uint8_t *block = n <= r.len - r.pos ? qv_reader_bytes(&r, n) : NULL;
        if (!block || r.failed || qv_crc32c(0, block, n) != crc)
            rc = qv_error_set(err, QV_ECORRUPT, "shard %zu block fails its checksum", si);
        else if ((rc = decode_shard(c, &c->shards[si], block, n, err)) != QV_OK)
            qv_error_prefix(err, "shard %zu: ", si);
    }
    if (rc == QV_OK && r.pos != r.len)
        rc = qv_error_set(err, QV_ECORRUPT, "%zu trailing bytes", r.len - r.pos);
    return rc;
}

qv_err store_load_checkpoint(qv_coll_data *c, uint64_t *lsn, qv_error *err)
{
    uint64_t *lsns = NULL, newest = 0;
    size_t n = 0;
    char path[4096];
    void *data = NULL;
    size_t len = 0;
    qv_err rc = list_checkpoints(c, &lsns, &n, err);

    *lsn = 0;
    for (size_t i = 0; i < n; i++)
        newest = lsns[i] > newest ? lsns[i] : newest;
    qv_free(lsns);
    if (rc != QV_OK || n == 0)
        return rc;
    ckpt_path(c, newest, path, sizeof path);
    if ((rc = qv_io_read_file(c->store->io, path, CKPT_MAX_BYTES, &data, &len, err)) != QV_OK)
        return rc;
    if ((rc = decode_checkpoint(c, data, len, lsn, err)) != QV_OK)
        qv_error_prefix(err, "%s: ", path);
    qv_free(data);
    if (rc == QV_OK) {
        c->ckpt_lsn = c->applied_lsn = *lsn;
        qv_log_info("store", "collection %lld: loaded checkpoint at LSN %llu", (long long)c->id,
                    (unsigned long long)*lsn);
    }
    return rc;
}
