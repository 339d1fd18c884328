/* SPDX-License-Identifier: Apache-2.0 */
/* store_write.c - WAL records and their application: insert, upsert, delete. */
#include <string.h>

#include "db/store_int.h"
#include "quiver/alloc.h"

/* ---- applying records (commit path and replay) ------------------------------------------ */

typedef struct pk_probe {
    const qv_rowbatch *rows; /* where the stored keys live */
    const qv_rowbatch *key_batch;
    size_t key_row;
    size_t pk_col;
} pk_probe;

static bool probe_eq(void *ctx, uint64_t row)
{
    const pk_probe *p = ctx;
    return store_row_pk_equal(p->rows, row, p->key_batch, p->key_row, p->pk_col);
}

bool store_shard_reserve(shard *sh, size_t rows)
{
    size_t cap = sh->meta_cap ? sh->meta_cap : 1024;
    int64_t *parts;
    uint64_t *lsns, *dead;

    if (rows <= sh->meta_cap)
        return true;
    while (cap < rows)
        cap *= 2;
    if (!(parts = qv_reallocarray(sh->part_ids, cap, sizeof *parts)))
        return false;
    sh->part_ids = parts;
    if (!(lsns = qv_reallocarray(sh->row_lsn, cap, sizeof *lsns)))
        return false;
    sh->row_lsn = lsns;
    if (!(lsns = qv_reallocarray(sh->row_ts, cap, sizeof *lsns)))
        return false;
    sh->row_ts = lsns;
    if (!(dead = qv_reallocarray(sh->dead, qv_filter_words(cap), sizeof *dead)))
        return false;
    memset(dead + qv_filter_words(sh->meta_cap), 0,
           (qv_filter_words(cap) - qv_filter_words(sh->meta_cap)) * sizeof *dead);
    sh->dead = dead;
    sh->meta_cap = cap;
    return true;
}

static void mark_dead(const qv_coll_data *c, shard *sh, uint64_t row)
{
    sh->dead[row / 64] |= 1ull << (row % 64);
    sh->live--;
    store_bm25_row(c, sh, row, -1);
}

void store_kill_row(qv_coll_data *c, shard *sh, uint64_t row)
{
    pk_probe p = {&sh->rows, &sh->rows, row, c->pk_col};

    if (sh->dead[row / 64] >> (row % 64) & 1)
        return;
    pkmap_remove(&sh->pk, store_row_hash(&sh->rows, c->pk_col, row), probe_eq, &p);
    mark_dead(c, sh, row);
}

qv_err store_apply_rows(qv_coll_data *c, shard *sh, const apply_src *src, const qv_rowbatch *b,
                        qv_error *err)
{
    size_t first = sh->rows.rows;
    qv_err rc;

    if (!store_shard_reserve(sh, first + b->rows))
        return qv_error_set(err, QV_ENOMEM, "out of memory applying %zu rows", b->rows);
    if ((rc = qv_rowbatch_append_rows(&sh->rows, b, NULL, 0, err)) != QV_OK)
        return rc;
    sh->segs[sh->nsegs - 1].rows += b->rows; /* the growing segment */
    sh->last_write_ns = store_now_ns();
    for (size_t i = 0; i < b->rows; i++) {
        uint64_t row = first + i, old;
        pk_probe p = {&sh->rows, &sh->rows, row, c->pk_col};
        sh->part_ids[row] = src->parts      ? (int64_t)qv_load_le64(src->parts + 8 * i)
                            : src->row_parts ? src->row_parts[i]
                                             : src->part;
        sh->row_lsn[row] = src->lsn;
        sh->row_ts[row] = src->ts;
        sh->live++;
        store_bm25_row(c, sh, row, 1);
        if (pkmap_put(&sh->pk, store_row_hash(&sh->rows, c->pk_col, row), row, probe_eq, &p,
                      &old) != QV_OK)
            return qv_error_set(err, QV_ENOMEM, "out of memory indexing keys");
        if (old != UINT64_MAX)
            mark_dead(c, sh, old);
    }
    return QV_OK;
}

qv_err store_reindex_keys(qv_coll_data *c, shard *sh, qv_error *err)
{
    sh->live = 0;
    store_bm25_reset(sh);
    for (size_t row = 0; row < sh->rows.rows; row++) {
        pk_probe p = {&sh->rows, &sh->rows, row, c->pk_col};
        uint64_t old;
        if (sh->dead[row / 64] >> (row % 64) & 1)
            continue;
        if (pkmap_put(&sh->pk, store_row_hash(&sh->rows, c->pk_col, row), row, probe_eq, &p,
                      &old) != QV_OK)
            return qv_error_set(err, QV_ENOMEM, "out of memory indexing keys");
        sh->live++;
        store_bm25_row(c, sh, row, 1);
    }
    return QV_OK;
}

/* DELETE payload: the keys as a one-column batch of the primary key. */
static qv_err apply_delete(qv_coll_data *c, shard *sh, const uint8_t *p, size_t len,
                           uint64_t *affected, qv_error *err)
{
    qv_rowbatch keys;
    uint64_t n = 0;
    qv_err rc = qv_rowbatch_decode(&c->schema, p, len, &keys, err);

    if (rc != QV_OK)
        return rc;
    for (size_t i = 0; i < keys.rows; i++) {
        pk_probe probe = {&sh->rows, &keys, i, c->pk_col};
        uint64_t row = pkmap_remove(&sh->pk, store_row_hash(&keys, c->pk_col, i), probe_eq, &probe);
        if (row != UINT64_MAX) {
            mark_dead(c, sh, row);
            n++;
        }
    }
    qv_rowbatch_fini(&keys);
    if (affected)
        *affected += n;
    return QV_OK;
}

/* One part of a record: the shard and its encoded batch. */
static qv_err next_part(qv_reader *r, const qv_coll_data *c, uint32_t *shard_ix,
                        const void **p, size_t *len, qv_error *err)
{
    uint64_t n;

    *shard_ix = qv_reader_u32(r);
    n = qv_reader_u64(r);
    if (r->failed || *shard_ix >= c->nshards || n > r->len - r->pos)
        return qv_error_set(err, QV_ECORRUPT, "WAL record: bad part header");
    *p = qv_reader_bytes(r, n);
    *len = n;
    return QV_OK;
}

/* Apply one part: a shard's rows (src->parts, when set, is that part's per-row partition
 * ids, checked against the batch's row count here) or, for DELETE, its keys. */
static qv_err apply_part(qv_coll_data *c, uint8_t type, uint32_t si, const void *p, size_t len,
                         const apply_src *src, size_t nparts_ids, uint64_t *affected,
                         qv_error *err)
{
    shard *sh = &c->shards[si];
    qv_rowbatch rows;
    qv_err rc;

    if (type == REC_DELETE) {
        pthread_rwlock_wrlock(&sh->lock);
        rc = apply_delete(c, sh, p, len, affected, err);
        pthread_rwlock_unlock(&sh->lock);
        return rc;
    }
    if ((rc = qv_rowbatch_decode(&c->schema, p, len, &rows, err)) != QV_OK)
        return rc;
    if (src->parts && nparts_ids != rows.rows)
        rc = qv_error_set(err, QV_ECORRUPT, "WAL record: %zu partition ids for %zu rows",
                          nparts_ids, rows.rows);
    pthread_rwlock_wrlock(&sh->lock);
    if (rc == QV_OK)
        rc = store_apply_rows(c, sh, src, &rows, err);
    pthread_rwlock_unlock(&sh->lock);
    if (rc == QV_OK && affected)
        *affected += rows.rows;
    qv_rowbatch_fini(&rows);
    return rc;
}

qv_err store_apply(qv_coll_data *c, uint8_t type, const void *rec, size_t len, uint64_t lsn,
                   uint64_t *affected, qv_error *err)
{
    apply_src src = {.lsn = lsn};
    bool per_row = false;
    qv_reader r;
    uint32_t nparts;
    qv_err rc = QV_OK;

    if (type < REC_INSERT_V1 || type > REC_UPSERT)
        return qv_error_set(err, QV_ECORRUPT, "unknown WAL record type %u", type);
    qv_reader_init(&r, rec, len);
    if (type == REC_INSERT || type == REC_UPSERT)
        src.ts = qv_reader_u64(&r);
    if (type != REC_DELETE)
        src.part = (int64_t)qv_reader_u64(&r);
    per_row = (type == REC_INSERT || type == REC_UPSERT) && src.part == REC_PART_PER_ROW;
    nparts = qv_reader_u32(&r);
    if (r.failed || nparts > c->nshards)
        return qv_error_set(err, QV_ECORRUPT, "WAL record: bad header");
    for (uint32_t i = 0; i < nparts && rc == QV_OK; i++) {
        uint32_t si = 0;
        const void *p = NULL;
        size_t n = 0, ids = 0;
        if ((rc = next_part(&r, c, &si, &p, &n, err)) != QV_OK)
            break;
        if (per_row) { /* the part's row count leads its batch encoding */
            ids = n >= 4 ? qv_load_le32(p) : 0;
            if (!(src.parts = qv_reader_bytes(&r, ids * 8)))
                return qv_error_set(err, QV_ECORRUPT, "WAL record: short partition ids");
        }
        rc = apply_part(c, type, si, p, n, &src, ids, affected, err);
    }
    if (type != REC_DELETE) { /* the memory budget of growing data counts encoded bytes */
        atomic_fetch_add(&c->growing_bytes, len);
        atomic_fetch_add(&c->store->growing_bytes, len);
    }
    return rc;
}

/* ---- writing ------------------------------------------------------------------------- */

size_t store_shard_of(const qv_coll_data *c, const qv_rowbatch *b, size_t row)
{
    return c->nshards == 1 ? 0 : store_row_hash(b, c->pk_col, row) % c->nshards;
}

qv_err store_split_by_shard(qv_coll_data *c, const qv_rowbatch *b, const int64_t *row_parts,
                            qv_rowbatch *parts, int64_t *ids, qv_error *err)
{
    uint32_t *idx = qv_malloc((b->rows ? b->rows : 1) * sizeof *idx);
    qv_err rc = idx ? QV_OK : qv_error_set(err, QV_ENOMEM, "out of memory");
    size_t at = 0;

    for (size_t s = 0; s < c->nshards; s++)
        qv_rowbatch_init(&parts[s], &c->schema);
    for (size_t s = 0; s < c->nshards && rc == QV_OK; s++) {
        size_t n = 0;
        for (size_t i = 0; i < b->rows; i++)
            if (store_shard_of(c, b, i) == s)
                idx[n++] = (uint32_t)i;
        for (size_t i = 0; row_parts && i < n; i++)
            ids[at++] = row_parts[idx[i]];
        if (n)
            rc = qv_rowbatch_append_rows(&parts[s], b, idx, n, err);
    }
    qv_free(idx);
    return rc;
}

/* Encode parts[nshards] (empty ones skipped) after the record's header, each followed by
 * its rows' partition ids when ids is non-NULL (as store_split_by_shard laid them out). */
static void encode_parts(const qv_coll_data *c, const qv_rowbatch *parts, const int64_t *ids,
                         qv_buf *rec)
{
    uint32_t n = 0;

    for (size_t sh = 0; sh < c->nshards; sh++)
        n += parts[sh].rows > 0;
    qv_buf_put_u32(rec, n);
    for (size_t sh = 0; sh < c->nshards; sh++) {
        size_t len_at;
        if (!parts[sh].rows)
            continue;
        qv_buf_put_u32(rec, (uint32_t)sh);
        len_at = rec->len;
        qv_buf_put_u64(rec, 0);
        qv_rowbatch_encode(&parts[sh], rec);
        if (!rec->failed)
            qv_store_le64(rec->data + len_at, rec->len - len_at - 8);
        for (size_t i = 0; ids && i < parts[sh].rows; i++)
            qv_buf_put_u64(rec, (uint64_t)*ids++);
    }
}

/* One record for the whole batch, split by shard inside; row_parts (INSERT/UPSERT only)
 * routes row i to partition row_parts[i] instead of part. */
static qv_err write_record(qv_coll_data *c, uint8_t type, int64_t part, const int64_t *row_parts,
                           const qv_rowbatch *b, uint64_t *affected, qv_error *err)
{
    qv_rowbatch *parts = qv_calloc(c->nshards, sizeof *parts);
    int64_t *ids = row_parts ? qv_malloc((b->rows + 1) * sizeof *ids) : NULL;
    qv_buf rec;
    qv_err rc = parts && (ids || !row_parts) ? QV_OK
                                              : qv_error_set(err, QV_ENOMEM, "out of memory");

    qv_buf_init(&rec);
    if (rc == QV_OK)
        rc = store_split_by_shard(c, b, row_parts, parts, ids, err);
    if (rc == QV_OK) {
        if (type != REC_DELETE) {
            qv_buf_put_u64(&rec, store_now_ms());
            qv_buf_put_u64(&rec, (uint64_t)(row_parts ? REC_PART_PER_ROW : part));
        }
        encode_parts(c, parts, ids, &rec);
        rc = qv_buf_status(&rec, err);
    }
    if (rc == QV_OK && rec.len > QV_WAL_MAX_RECORD_BYTES)
        rc = qv_error_set(err, QV_EINVAL,
                          "batch of %zu rows encodes to %zu bytes, over the %zu-byte record "
                          "limit; send smaller batches",
                          b->rows, rec.len, QV_WAL_MAX_RECORD_BYTES);
    if (rc == QV_OK && type != REC_DELETE)
        rc = store_admit(c, err);
    if (rc == QV_OK)
        rc = store_commit(c, type, &rec, affected, err);
    for (size_t sh = 0; parts && sh < c->nshards; sh++)
        qv_rowbatch_fini(&parts[sh]);
    qv_free(parts);
    qv_free(ids);
    qv_buf_fini(&rec);
    return rc;
}

qv_err qv_coll_insert(qv_coll_data *c, int64_t partition_id, const qv_rowbatch *rows,
                      qv_error *err)
{
    return write_record(c, REC_INSERT, partition_id, NULL, rows, NULL, err);
}

qv_err qv_coll_upsert(qv_coll_data *c, int64_t partition_id, const qv_rowbatch *rows,
                      qv_error *err)
{
    return write_record(c, REC_UPSERT, partition_id, NULL, rows, NULL, err);
}

qv_err qv_coll_write_routed(qv_coll_data *c, bool upsert, const int64_t *partitions,
                            const qv_rowbatch *rows, qv_error *err)
{
    return write_record(c, upsert ? REC_UPSERT : REC_INSERT, 0, partitions, rows, NULL, err);
}

qv_err qv_coll_delete_keys(qv_coll_data *c, const qv_rowbatch *keys, uint64_t *deleted,
                           qv_error *err)
{
    *deleted = 0;
    return keys->rows ? write_record(c, REC_DELETE, 0, NULL, keys, deleted, err) : QV_OK;
}

qv_err qv_coll_delete(qv_coll_data *c, const qv_filter *f, const int64_t *partitions,
                      size_t npartitions, uint64_t *deleted, qv_error *err)
{
    qv_query_opts q = {.filter = f, .partitions = partitions, .npartitions = npartitions,
                       .limit = UINT64_MAX};
    qv_rowbatch hits;
    qv_err rc;

    *deleted = 0;
    if ((rc = qv_coll_query(c, &c->schema, &q, &hits, NULL, err)) != QV_OK)
        return rc;
    if (hits.rows)
        rc = write_record(c, REC_DELETE, 0, NULL, &hits, deleted, err);
    qv_rowbatch_fini(&hits);
    return rc;
}
