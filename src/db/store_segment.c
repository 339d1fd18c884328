/* SPDX-License-Identifier: Apache-2.0 */
/* store_segment.c - sealed segment files and the manifest that lists them.
 *
 * Segment file <collection dir>/seg-<id, 20 digits>.qvs, written once (temp + fsync +
 * rename + directory fsync) and never changed:
 *   offset 0   8  magic "QVSEGMT1"
 *          8   4  format version (2; version 1 files, without TIMES, still load)
 *         12   4  shard
 *         16   8  segment id
 *         24   8  rows
 *         32   4  block count (5; 4 in version 1)
 *         36   4  CRC32C of bytes 0..35
 *   then blocks: u32 kind, u32 CRC32C(payload), u64 payload length, payload
 *     1 ROWS        row batch encoding (rowbatch.c): every column, then $meta
 *     2 PARTITIONS  rows x i64 partition id
 *     3 LSNS        rows x u64 LSN of the record that wrote the row
 *     4 KEYS        rows x u32 row numbers in primary-key order (a sorted key index)
 *     5 TIMES       rows x u64 unix ms of the write that stored the row (TTL; 0: unknown,
 *                   as for every row of a version 1 file)
 *
 * Manifest <collection dir>/manifest.qvm, replaced atomically after every seal and
 * compaction:
 *   "QVMANIF1" | u32 CRC32C(payload) | u64 payload length | payload :=
 *   u64 LSN (every WAL record up to it is in the sealed segments) | u64 next segment id |
 *   u32 shards | per shard: u64 growing segment id, u32 sealed segments, per segment
 *   (u64 id, u64 rows, u32 CRC32C of its whole file), u64 words + words x u64 dead-row
 *   bitmap over the sealed rows.
 * Deletes after the LSN may already be in the bitmap: replaying them again is a no-op. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/store_int.h"
#include "quiver/alloc.h"
#include "quiver/crc32c.h"
#include "quiver/log.h"

#define MANIFEST_MAGIC "QVMANIF1"
#define MANIFEST_NAME "manifest.qvm"
#define MAX_FILE_BYTES ((size_t)1 << 40)

segment *store_find_segment(shard *sh, uint64_t id)
{
    for (size_t i = 0; i < sh->nsegs; i++)
        if (sh->segs[i].id == id)
            return &sh->segs[i];
    return NULL;
}

qv_err store_append_segment(shard *sh, uint64_t id, qv_error *err)
{
    size_t first = sh->nsegs ? sh->segs[sh->nsegs - 1].first + sh->segs[sh->nsegs - 1].rows : 0;

    if (sh->nsegs == sh->segs_cap) {
        size_t cap = sh->segs_cap ? sh->segs_cap * 2 : 8;
        segment *segs = qv_reallocarray(sh->segs, cap, sizeof *segs);
        if (!segs)
            return qv_error_set(err, QV_ENOMEM, "out of memory");
        sh->segs = segs;
        sh->segs_cap = cap;
    }
    sh->segs[sh->nsegs++] = (segment){.id = id, .first = first};
    return QV_OK;
}

void store_segment_path(const qv_coll_data *c, uint64_t id, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/seg-%020" PRIu64 ".qvs", c->dir, id);
}

/* ---- segment files ------------------------------------------------------------------- */

static size_t block_begin(qv_buf *b, uint32_t kind)
{
    size_t at = b->len;
    qv_buf_put_u32(b, kind);
    qv_buf_put_u32(b, 0);
    qv_buf_put_u64(b, 0);
    return at;
}

static void block_end(qv_buf *b, size_t at)
{
    if (b->failed)
        return;
    qv_store_le32(b->data + at + 4, qv_crc32c(0, b->data + at + 16, b->len - at - 16));
    qv_store_le64(b->data + at + 8, b->len - at - 16);
}

static const qv_rowbatch *tl_keys;
static size_t tl_pk_col;

static int key_order(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return qv_colbuf_key_cmp(&tl_keys->cols[tl_pk_col], x, &tl_keys->cols[tl_pk_col], y);
}

qv_err store_encode_segment(const qv_coll_data *c, uint32_t shard_ix, uint64_t id,
                            const seg_copy *s, qv_buf *b, qv_error *err)
{
    size_t n = s->rows.rows, at;
    uint32_t *order = qv_malloc((n ? n : 1) * sizeof *order);

    if (!order)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    qv_buf_put(b, SEG_MAGIC, 8);
    qv_buf_put_u32(b, SEG_VERSION);
    qv_buf_put_u32(b, shard_ix);
    qv_buf_put_u64(b, id);
    qv_buf_put_u64(b, n);
    qv_buf_put_u32(b, SEG_BLOCKS);
    qv_buf_put_u32(b, b->failed ? 0 : qv_crc32c(0, b->data, 36));
    at = block_begin(b, BLOCK_ROWS);
    qv_rowbatch_encode(&s->rows, b);
    block_end(b, at);
    at = block_begin(b, BLOCK_PARTITIONS);
    for (size_t i = 0; i < n; i++)
        qv_buf_put_u64(b, (uint64_t)s->parts[i]);
    block_end(b, at);
    at = block_begin(b, BLOCK_LSNS);
    for (size_t i = 0; i < n; i++)
        qv_buf_put_u64(b, s->lsns[i]);
    block_end(b, at);
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    tl_keys = &s->rows; /* one writer at a time: maint_lock */
    tl_pk_col = c->pk_col;
    qsort(order, n, sizeof *order, key_order);
    at = block_begin(b, BLOCK_KEYS);
    for (size_t i = 0; i < n; i++)
        qv_buf_put_u32(b, order[i]);
    block_end(b, at);
    at = block_begin(b, BLOCK_TIMES);
    for (size_t i = 0; i < n; i++)
        qv_buf_put_u64(b, s->times[i]);
    block_end(b, at);
    qv_free(order);
    return qv_buf_status(b, err);
}

/* Copy segment g of shard sh (rows are immutable once sealed; the read lock keeps the
 * shard's arrays in place while copying). */
static qv_err copy_segment(const qv_coll_data *c, shard *sh, uint64_t id, seg_copy *out,
                           qv_error *err)
{
    qv_err rc = QV_OK;
    segment *g;

    memset(out, 0, sizeof *out);
    if (qv_rowbatch_init(&out->rows, &c->schema) != QV_OK)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    pthread_rwlock_rdlock(&sh->lock);
    g = store_find_segment(sh, id);
    if (!(out->parts = qv_malloc((g->rows + 1) * sizeof *out->parts)) ||
        !(out->lsns = qv_malloc((g->rows + 1) * sizeof *out->lsns)) ||
        !(out->times = qv_malloc((g->rows + 1) * sizeof *out->times))) {
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    } else {
        uint32_t *idx = qv_malloc((g->rows + 1) * sizeof *idx);
        for (size_t i = 0; idx && i < g->rows; i++)
            idx[i] = (uint32_t)(g->first + i);
        rc = idx ? qv_rowbatch_append_rows(&out->rows, &sh->rows, idx, g->rows, err)
                 : qv_error_set(err, QV_ENOMEM, "out of memory");
        qv_free(idx);
        memcpy(out->parts, sh->part_ids + g->first, g->rows * sizeof *out->parts);
        memcpy(out->lsns, sh->row_lsn + g->first, g->rows * sizeof *out->lsns);
        memcpy(out->times, sh->row_ts + g->first, g->rows * sizeof *out->times);
    }
    pthread_rwlock_unlock(&sh->lock);
    return rc;
}

static qv_err write_segment(qv_coll_data *c, uint32_t si, uint64_t id, qv_error *err)
{
    shard *sh = &c->shards[si];
    char path[4096];
    seg_copy s;
    qv_buf b;
    qv_err rc = copy_segment(c, sh, id, &s, err);

    qv_buf_init(&b);
    if (rc == QV_OK)
        rc = store_encode_segment(c, si, id, &s, &b, err);
    store_seg_copy_fini(&s);
    store_segment_path(c, id, path, sizeof path);
    if (rc == QV_OK)
        rc = qv_io_write_file_atomic(c->store->io, path, b.data, b.len, err);
    if (rc == QV_OK) {
        pthread_rwlock_wrlock(&sh->lock);
        segment *g = store_find_segment(sh, id);
        g->file_crc = qv_crc32c(0, b.data, b.len);
        g->stored = true;
        pthread_rwlock_unlock(&sh->lock);
        atomic_fetch_add(&c->store->sstats.segments_written, 1);
        atomic_fetch_add(&c->store->sstats.bytes_written, b.len);
    }
    qv_buf_fini(&b);
    return rc;
}

/* Append a segment file's rows to shard sh as sealed segment id. */
static qv_err decode_segment(qv_coll_data *c, shard *sh, uint64_t id, uint64_t rows,
                             const uint8_t *p, size_t len, qv_error *err)
{
    size_t first = sh->rows.rows;
    seg_copy s;
    qv_err rc = store_decode_segment(&c->schema, id, rows, p, len, &s, err);

    if (rc == QV_OK)
        rc = qv_rowbatch_append_rows(&sh->rows, &s.rows, NULL, 0, err);
    if (rc == QV_OK && !store_shard_reserve(sh, first + rows))
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    if (rc == QV_OK && rows) { /* an empty segment leaves the arrays unallocated */
        memcpy(sh->part_ids + first, s.parts, rows * sizeof *s.parts);
        memcpy(sh->row_lsn + first, s.lsns, rows * sizeof *s.lsns);
        memcpy(sh->row_ts + first, s.times, rows * sizeof *s.times);
    }
    if (rc == QV_OK)
        rc = store_append_segment(sh, id, err);
    if (rc == QV_OK) {
        segment *g = &sh->segs[sh->nsegs - 1];
        g->rows = rows;
        g->sealed = g->stored = true;
        g->file_crc = qv_crc32c(0, p, len);
    }
    store_seg_copy_fini(&s);
    return rc;
}

static qv_err load_segment(qv_coll_data *c, shard *sh, uint64_t id, uint64_t rows,
                           uint32_t crc, qv_error *err)
{
    char path[4096];
    void *data = NULL;
    size_t len = 0;
    qv_err rc;

    store_segment_path(c, id, path, sizeof path);
    if ((rc = store_s3_fetch(c->store, path, true, crc, err)) != QV_OK || /* evicted, restored */
        (rc = qv_io_read_file(c->store->io, path, MAX_FILE_BYTES, &data, &len, err)) != QV_OK)
        return rc;
    if (qv_crc32c(0, data, len) != crc)
        rc = qv_error_set(err, QV_ECORRUPT, "%s: fails the checksum the manifest holds", path);
    else if ((rc = decode_segment(c, sh, id, rows, data, len, err)) != QV_OK)
        qv_error_prefix(err, "%s: ", path);
    qv_free(data);
    return rc;
}

/* ---- manifest ------------------------------------------------------------------------ */

static size_t sealed_count(const shard *sh)
{
    size_t n = 0;
    while (n < sh->nsegs && sh->segs[n].stored)
        n++;
    return n;
}

static void encode_shard_entry(shard *sh, qv_buf *b)
{
    size_t nsealed, rows = 0;

    pthread_rwlock_rdlock(&sh->lock);
    nsealed = sealed_count(sh);
    qv_buf_put_u64(b, sh->segs[nsealed].id); /* the first unstored one grows after replay */
    qv_buf_put_u32(b, (uint32_t)nsealed);
    for (size_t i = 0; i < nsealed; i++) {
        qv_buf_put_u64(b, sh->segs[i].id);
        qv_buf_put_u64(b, sh->segs[i].rows);
        qv_buf_put_u32(b, sh->segs[i].file_crc);
        rows += sh->segs[i].rows;
    }
    qv_buf_put_u64(b, qv_filter_words(rows));
    for (size_t w = 0; w < qv_filter_words(rows); w++) {
        uint64_t word = sh->dead[w];
        if (w == rows / 64 && rows % 64)
            word &= (1ull << (rows % 64)) - 1; /* growing rows are replayed from the WAL */
        qv_buf_put_u64(b, word);
    }
    pthread_rwlock_unlock(&sh->lock);
}

static qv_err write_manifest(qv_coll_data *c, qv_error *err)
{
    char path[4096];
    qv_buf b;
    qv_err rc;

    qv_buf_init(&b);
    qv_buf_put(&b, MANIFEST_MAGIC, 8);
    qv_buf_put_u32(&b, 0);
    qv_buf_put_u64(&b, 0);
    qv_buf_put_u64(&b, c->manifest_lsn);
    qv_buf_put_u64(&b, c->next_seg_id);
    qv_buf_put_u32(&b, (uint32_t)c->nshards);
    for (size_t si = 0; si < c->nshards; si++)
        encode_shard_entry(&c->shards[si], &b);
    if ((rc = qv_buf_status(&b, err)) == QV_OK) {
        qv_store_le32(b.data + 8, qv_crc32c(0, b.data + 20, b.len - 20));
        qv_store_le64(b.data + 12, b.len - 20);
        snprintf(path, sizeof path, "%s/" MANIFEST_NAME, c->dir);
        rc = qv_io_write_file_atomic(c->store->io, path, b.data, b.len, err);
    }
    qv_buf_fini(&b);
    return rc;
}

static bool segment_live(qv_coll_data *c, uint64_t id)
{
    bool live = false;

    for (size_t si = 0; si < c->nshards && !live; si++) {
        pthread_rwlock_rdlock(&c->shards[si].lock);
        live = store_find_segment(&c->shards[si], id) != NULL;
        pthread_rwlock_unlock(&c->shards[si].lock);
    }
    return live;
}

static bool index_def_live(qv_coll_data *c, long long def)
{
    int64_t defs[QV_MAX_VECTOR_FIELDS + QV_MAX_SCALAR_INDEXES];
    bool live = false;
    size_t n;

    pthread_rwlock_rdlock(&c->shards[0].lock); /* slots change under every shard's lock */
    n = store_index_defs(c, defs, sizeof defs / sizeof *defs);
    pthread_rwlock_unlock(&c->shards[0].lock);
    for (size_t k = 0; k < n && !live; k++)
        live = defs[k] == def;
    return live;
}

/* Remove segment and index files of segments that are gone and, with check_defs, index
 * files of dropped index definitions; without it (at open, when nothing else writes
 * here), temp files too. */
static void remove_unlisted(qv_coll_data *c, bool check_defs)
{
    char **names = NULL, path[4096];
    size_t count = 0;
    qv_error err = {0};
    bool removed = false;

    if (qv_io_list_dir(c->store->io, c->dir, &names, &count, &err) != QV_OK)
        return;
    for (size_t i = 0; i < count; i++) {
        unsigned long long id;
        long long def;
        char tail[8];
        bool drop = false;
        if (sscanf(names[i], "seg-%20llu.%4s", &id, tail) == 2 && !strcmp(tail, "qvs"))
            drop = !segment_live(c, id);
        else if (sscanf(names[i], "index-%lld-%20llu.%4s", &def, &id, tail) == 3 &&
                 !strcmp(tail, "qvi"))
            drop = !segment_live(c, id) || (check_defs && !index_def_live(c, def));
        else if (!check_defs && strlen(names[i]) > 4)  /* at open: temp files of writes a */
            drop = !strcmp(names[i] + strlen(names[i]) - 4, ".tmp"); /* crash cut short */
        if (!drop)
            continue;
        snprintf(path, sizeof path, "%s/%s", c->dir, names[i]);
        if (qv_io_unlink(c->store->io, path, &err) != QV_OK)
            qv_log_warn("store", "%s", err.msg);
        removed = true;
    }
    qv_io_free_names(names, count);
    if (removed)
        qv_io_sync_dir(c->store->io, c->dir, &err);
}

qv_err store_persist(qv_coll_data *c, qv_error *err)
{
    qv_err rc = QV_OK;

    for (size_t si = 0; si < c->nshards && rc == QV_OK; si++) {
        shard *sh = &c->shards[si];
        for (size_t i = 0; rc == QV_OK;) {
            uint64_t id = 0;
            pthread_rwlock_rdlock(&sh->lock);
            while (i < sh->nsegs && (!sh->segs[i].sealed || sh->segs[i].stored))
                i++;
            if (i < sh->nsegs)
                id = sh->segs[i].id;
            pthread_rwlock_unlock(&sh->lock);
            if (!id)
                break;
            rc = write_segment(c, (uint32_t)si, id, err);
        }
    }
    if (rc == QV_OK && (rc = write_manifest(c, err)) == QV_OK &&
        (rc = qv_wal_truncate_before(c->wal, c->manifest_lsn + 1, err)) == QV_OK)
        remove_unlisted(c, true);
    return rc;
}

/* ---- loading ------------------------------------------------------------------------- */

static qv_err load_shard_entry(qv_coll_data *c, shard *sh, qv_reader *r, qv_error *err)
{
    uint64_t growing = qv_reader_u64(r), words;
    uint32_t nsegs = qv_reader_u32(r);
    qv_err rc = QV_OK;

    if (r->failed || nsegs > (r->len - r->pos) / 20)
        return qv_error_set(err, QV_ECORRUPT, "bad shard entry");
    for (uint32_t i = 0; i < nsegs && rc == QV_OK; i++) {
        uint64_t id = qv_reader_u64(r), rows = qv_reader_u64(r);
        uint32_t crc = qv_reader_u32(r);
        rc = load_segment(c, sh, id, rows, crc, err);
    }
    words = qv_reader_u64(r);
    if (rc == QV_OK && (r->failed || words != qv_filter_words(sh->rows.rows) ||
                        words > (r->len - r->pos) / 8))
        rc = qv_error_set(err, QV_ECORRUPT, "bad dead-row bitmap");
    for (uint64_t w = 0; rc == QV_OK && w < words; w++)
        sh->dead[w] = qv_reader_u64(r);
    if (rc == QV_OK && (rc = store_reindex_keys(c, sh, err)) == QV_OK)
        rc = store_append_segment(sh, growing, err);
    return rc;
}

static qv_err decode_manifest(qv_coll_data *c, const uint8_t *p, size_t len, qv_error *err)
{
    qv_reader r;
    qv_err rc = QV_OK;

    if (len < 20 || memcmp(p, MANIFEST_MAGIC, 8) || qv_load_le64(p + 12) != len - 20 ||
        qv_crc32c(0, p + 20, len - 20) != qv_load_le32(p + 8))
        return qv_error_set(err, QV_ECORRUPT, "fails its checksum");
    qv_reader_init(&r, p + 20, len - 20);
    c->manifest_lsn = qv_reader_u64(&r);
    c->next_seg_id = qv_reader_u64(&r);
    if (qv_reader_u32(&r) != c->nshards || r.failed)
        return qv_error_set(err, QV_ECORRUPT, "shard count differs from the collection's");
    for (size_t si = 0; si < c->nshards && rc == QV_OK; si++)
        rc = load_shard_entry(c, &c->shards[si], &r, err);
    if (rc == QV_OK && r.pos != r.len)
        rc = qv_error_set(err, QV_ECORRUPT, "%zu trailing bytes", r.len - r.pos);
    return rc;
}

qv_err store_load_manifest(qv_coll_data *c, uint64_t *lsn, qv_error *err)
{
    char path[4096];
    void *data = NULL;
    size_t len = 0;
    bool exists = false;
    qv_err rc;

    snprintf(path, sizeof path, "%s/" MANIFEST_NAME, c->dir);
    *lsn = 0;
    if ((rc = qv_io_exists(c->store->io, path, &exists, err)) != QV_OK)
        return rc;
    if (!exists) { /* a new collection: growing segments 1..shards */
        for (size_t si = 0; si < c->nshards && rc == QV_OK; si++)
            rc = store_append_segment(&c->shards[si], si + 1, err);
        c->next_seg_id = c->nshards + 1;
        if (rc == QV_OK)
            remove_unlisted(c, false); /* files of a first seal a crash cut short */
        return rc;
    }
    if ((rc = qv_io_read_file(c->store->io, path, MAX_FILE_BYTES, &data, &len, err)) != QV_OK)
        return rc;
    if ((rc = decode_manifest(c, data, len, err)) != QV_OK)
        qv_error_prefix(err, "%s: ", path);
    qv_free(data);
    if (rc == QV_OK) {
        *lsn = c->applied_lsn = c->manifest_lsn;
        remove_unlisted(c, false); /* files of a seal or compaction the crash interrupted */
        qv_log_info("store", "collection %lld: manifest at LSN %llu", (long long)c->id,
                    (unsigned long long)*lsn);
    }
    return rc;
}
