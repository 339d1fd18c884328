/* SPDX-License-Identifier: Apache-2.0 */
/* store_import.c - bulk load (import jobs): rows become sealed segments directly, without
 * a WAL record.
 *
 * The rows are split by shard and cut into segments of at most segment_max_rows. Under
 * maint_lock (no seal, compaction or other import meanwhile, and no file is removed as
 * unlisted) their segment files are written first. Then, with seq_lock held (no record
 * is being applied), every shard's growing rows are sealed at the applied LSN as a seal
 * does, which leaves each growing segment empty, and each imported segment is applied
 * into it and relabeled as a sealed, stored segment with its new id, the (empty) growing
 * segment following it under its own id. The manifest written last (store_persist) lists
 * them, so its rule holds: every WAL record up to its LSN is in the sealed segments, and
 * the imported rows are in no WAL record at all. A crash before that manifest leaves only
 * unlisted files, removed at open: an import is all or nothing. Keys already stored are
 * replaced, as an upsert replaces them; imported rows carry the import's time (TTL) and
 * the applied LSN of the moment. */
#include <string.h>

#include "db/store_int.h"
#include "quiver/alloc.h"
#include "quiver/crc32c.h"
#include "quiver/log.h"

typedef struct import_seg {
    uint32_t shard;
    uint64_t id;
    uint32_t crc;
    seg_copy s;
} import_seg;

typedef struct import_plan {
    import_seg *segs;
    size_t n;
} import_plan;

static void plan_fini(import_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        qv_rowbatch_fini(&p->segs[i].s.rows);
        qv_free(p->segs[i].s.parts);
        qv_free(p->segs[i].s.lsns);
        qv_free(p->segs[i].s.times);
    }
    qv_free(p->segs);
}

/* Rows [from, from + n) of a shard's part (ids: their partitions) as one segment. */
static qv_err plan_segment(qv_coll_data *c, uint32_t si, const qv_rowbatch *part,
                           const int64_t *ids, size_t from, size_t n, uint64_t now_ms,
                           import_seg *g, qv_error *err)
{
    uint32_t *idx = qv_malloc((n + 1) * sizeof *idx);
    qv_err rc = QV_OK;

    g->shard = si;
    if (!idx || qv_rowbatch_init(&g->s.rows, &c->schema) != QV_OK ||
        !(g->s.parts = qv_malloc((n + 1) * sizeof *g->s.parts)) ||
        !(g->s.lsns = qv_calloc(n + 1, sizeof *g->s.lsns)) ||
        !(g->s.times = qv_malloc((n + 1) * sizeof *g->s.times)))
        rc = qv_error_set(err, QV_ENOMEM, "out of memory importing %zu rows", n);
    for (size_t i = 0; rc == QV_OK && i < n; i++) {
        idx[i] = (uint32_t)(from + i);
        g->s.parts[i] = ids[from + i];
        g->s.times[i] = now_ms;
    }
    if (rc == QV_OK)
        rc = qv_rowbatch_append_rows(&g->s.rows, part, idx, n, err);
    qv_free(idx);
    return rc;
}

/* Split rows by shard, then into segments of at most segment_max_rows. */
static qv_err make_plan(qv_coll_data *c, int64_t partition_id, const int64_t *partitions,
                        const qv_rowbatch *rows, import_plan *p, qv_error *err)
{
    size_t max_rows = c->store->opts.segment_max_rows ? c->store->opts.segment_max_rows : 1,
           total = 0, at = 0;
    qv_rowbatch *parts = qv_calloc(c->nshards, sizeof *parts);
    int64_t *all = qv_malloc((rows->rows + 1) * sizeof *all);
    int64_t *ids = qv_malloc((rows->rows + 1) * sizeof *ids);
    uint64_t now = store_now_ms();
    qv_err rc = parts && all && ids ? QV_OK : qv_error_set(err, QV_ENOMEM, "out of memory");

    for (size_t i = 0; rc == QV_OK && i < rows->rows; i++)
        all[i] = partitions ? partitions[i] : partition_id;
    if (rc == QV_OK)
        rc = store_split_by_shard(c, rows, all, parts, ids, err);
    for (size_t s = 0; rc == QV_OK && s < c->nshards; s++)
        total += (parts[s].rows + max_rows - 1) / max_rows;
    if (rc == QV_OK && !(p->segs = qv_calloc(total + 1, sizeof *p->segs)))
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t s = 0; rc == QV_OK && s < c->nshards; s++) {
        for (size_t from = 0; rc == QV_OK && from < parts[s].rows; from += max_rows) {
            size_t n = parts[s].rows - from < max_rows ? parts[s].rows - from : max_rows;
            rc = plan_segment(c, (uint32_t)s, &parts[s], ids + at, from, n, now,
                              &p->segs[p->n++], err);
        }
        at += parts[s].rows;
    }
    for (size_t s = 0; parts && s < c->nshards; s++)
        qv_rowbatch_fini(&parts[s]);
    qv_free(parts);
    qv_free(all);
    qv_free(ids);
    return rc;
}

/* Ids for the planned segments (next_seg_id changes under maint_lock and seq_lock), then
 * their files. */
static qv_err write_files(qv_coll_data *c, import_plan *p, qv_error *err)
{
    char path[4096];
    qv_err rc = QV_OK;

    pthread_mutex_lock(&c->seq_lock);
    for (size_t i = 0; i < p->n; i++) {
        p->segs[i].id = c->next_seg_id++;
        for (size_t r = 0; r < p->segs[i].s.rows.rows; r++)
            p->segs[i].s.lsns[r] = c->applied_lsn;
    }
    pthread_mutex_unlock(&c->seq_lock);
    for (size_t i = 0; i < p->n && rc == QV_OK; i++) {
        qv_buf b;
        qv_buf_init(&b);
        if ((rc = store_encode_segment(c, p->segs[i].shard, p->segs[i].id, &p->segs[i].s, &b,
                                       err)) == QV_OK) {
            store_segment_path(c, p->segs[i].id, path, sizeof path);
            rc = qv_io_write_file_atomic(c->store->io, path, b.data, b.len, err);
        }
        if (rc == QV_OK) {
            p->segs[i].crc = qv_crc32c(0, b.data, b.len);
            atomic_fetch_add(&c->store->sstats.segments_written, 1);
            atomic_fetch_add(&c->store->sstats.bytes_written, b.len);
        }
        qv_buf_fini(&b);
    }
    return rc;
}

/* Apply segment g into sh's (empty) growing segment and relabel it as g (write lock). */
static qv_err install_one(qv_coll_data *c, shard *sh, const import_seg *g, qv_error *err)
{
    segment *grow = &sh->segs[sh->nsegs - 1];
    uint64_t growing_id = grow->id;
    apply_src src = {.lsn = g->s.lsns[0], .ts = g->s.times[0], .row_parts = g->s.parts};
    qv_err rc;

    if (grow->rows)
        return qv_error_set(err, QV_EINTERNAL, "import: the growing segment is not empty");
    if ((rc = store_apply_rows(c, sh, &src, &g->s.rows, err)) != QV_OK)
        return rc;
    grow = &sh->segs[sh->nsegs - 1];
    store_free_segment_indexes(grow);
    memset(grow->idx, 0, sizeof grow->idx);
    memset(grow->tried, 0, sizeof grow->tried);
    grow->id = g->id;
    grow->sealed = grow->stored = true;
    grow->file_crc = g->crc;
    return store_append_segment(sh, growing_id, err);
}

/* Seal the growing rows, then append the imported segments (maint_lock held). */
static qv_err install(qv_coll_data *c, const import_plan *p, qv_error *err)
{
    qv_err rc;

    pthread_mutex_lock(&c->seq_lock);
    rc = store_cut_locked(c, err);
    for (size_t i = 0; i < p->n && rc == QV_OK; i++) {
        shard *sh = &c->shards[p->segs[i].shard];
        pthread_rwlock_wrlock(&sh->lock);
        rc = install_one(c, sh, &p->segs[i], err);
        sh->last_write_ns = store_now_ns();
        pthread_rwlock_unlock(&sh->lock);
    }
    pthread_mutex_unlock(&c->seq_lock);
    store_release_growing(c);
    return rc;
}

qv_err qv_coll_import(qv_coll_data *c, int64_t partition_id, const int64_t *partitions,
                      const qv_rowbatch *rows, qv_error *err)
{
    import_plan p = {0};
    qv_err rc;

    if (!rows->rows)
        return QV_OK;
    if ((rc = make_plan(c, partition_id, partitions, rows, &p, err)) != QV_OK) {
        plan_fini(&p);
        return rc;
    }
    pthread_mutex_lock(&c->maint_lock);
    if ((rc = write_files(c, &p, err)) == QV_OK && (rc = install(c, &p, err)) == QV_OK)
        rc = store_persist(c, err); /* the manifest that makes them durable */
    pthread_mutex_unlock(&c->maint_lock);
    if (rc == QV_OK)
        qv_log_info("store", "collection %lld: imported %zu rows as %zu sealed segments",
                    (long long)c->id, rows->rows, p.n);
    plan_fini(&p);
    return rc;
}
