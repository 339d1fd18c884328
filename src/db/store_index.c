/* SPDX-License-Identifier: Apache-2.0 */
/* store_index.c - vector indexes of a collection's shards.
 *
 * Each index definition (from the catalog) gets a slot; each shard holds, per slot, an
 * index over its rows [0, n). Rows are append-only and replay rebuilds them in the same
 * order, so an index built before a restart still describes rows [0, n) after it: index
 * files are written after every build and loaded at start instead of rebuilding.
 *
 * The builder thread also takes a checkpoint of a collection (store_checkpoint.c) once
 * CHECKPOINT_WAL_BYTES of WAL were written since the last one.
 *
 * The builder thread wakes every BUILD_TICK_MS and, per shard and slot, builds when the
 * unindexed tail reaches BUILD_MIN_ROWS or has been quiet for BUILD_QUIET_MS: the first
 * time over every row, later by adding the tail to a copy of the current index (HNSW; an
 * IVF is retrained from scratch once the shard has doubled since its training). It copies
 * what it needs under the shard's read lock, builds and saves without any lock (writes go
 * on), and swaps the new index in under the write lock. Searches hold the read lock while they use
 * an index, so the old one is freed right after the swap.
 *
 * File: <collection dir>/index-<definition id>-<shard>.qvi =
 *   "QVIF" | u32 CRC32C(payload) | u64 payload length | u64 shard epoch |
 *   payload (qv_index_serialize). An epoch other than the shard's (rows were renumbered by
 *   a compaction since) makes the file stale: it is rebuilt. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db/store_int.h"
#include "quiver/alloc.h"
#include "quiver/crc32c.h"
#include "quiver/log.h"

#define BUILD_TICK_MS 100
#define BUILD_MIN_ROWS 4096
#define BUILD_QUIET_MS 300
#define MAX_INDEX_FILE_BYTES ((size_t)8 << 30)
#define AUTO_COMPACT_MIN_DEAD 4096
#define CHECKPOINT_WAL_BYTES ((uint64_t)256 << 20) /* WAL written since the last checkpoint */

static void index_path(const qv_coll_data *c, const index_slot *sl, size_t shard_ix, char *buf,
                       size_t cap)
{
    snprintf(buf, cap, "%s/index-%lld-%zu.qvi", c->dir, (long long)sl->def_id, shard_ix);
}

/* ---- files --------------------------------------------------------------------------- */

static qv_err save_index(qv_coll_data *c, const index_slot *sl, size_t si, const qv_index *ix,
                         uint64_t epoch, qv_error *err)
{
    char path[4096];
    qv_buf b;
    qv_err rc;

    qv_buf_init(&b);
    qv_buf_put(&b, "QVIF", 4);
    qv_buf_put_u32(&b, 0);
    qv_buf_put_u64(&b, 0);
    qv_buf_put_u64(&b, epoch);
    if ((rc = qv_index_serialize(ix, &b, err)) == QV_OK && (rc = qv_buf_status(&b, err)) == QV_OK) {
        qv_store_le32(b.data + 4, qv_crc32c(0, b.data + 24, b.len - 24));
        qv_store_le64(b.data + 8, b.len - 24);
        index_path(c, sl, si, path, sizeof path);
        rc = qv_io_write_file_atomic(c->store->io, path, b.data, b.len, err);
    }
    qv_buf_fini(&b);
    return rc;
}

/* The saved index of (slot, shard) if it exists, checks out and fits the shard. */
static qv_index *load_index(qv_coll_data *c, const index_slot *sl, size_t si)
{
    char path[4096];
    void *data = NULL;
    size_t len = 0;
    qv_index *ix = NULL;
    qv_error err = {0};
    const uint8_t *p;

    index_path(c, sl, si, path, sizeof path);
    if (qv_io_read_file(c->store->io, path, MAX_INDEX_FILE_BYTES, &data, &len, &err) != QV_OK)
        return NULL;
    p = data;
    if (len < 24 || memcmp(p, "QVIF", 4) || qv_load_le64(p + 8) != len - 24 ||
        qv_crc32c(0, p + 24, len - 24) != qv_load_le32(p + 4))
        qv_log_warn("index", "%s: checksum mismatch, rebuilding", path);
    else if (qv_load_le64(p + 16) != c->shards[si].epoch)
        qv_log_info("index", "%s: rows were renumbered since (compaction), rebuilding", path);
    else if (qv_index_deserialize(p + 24, len - 24, &ix, &err) != QV_OK)
        qv_log_warn("index", "%s: %s, rebuilding", path, err.msg);
    else if (qv_index_rows(ix) > c->shards[si].rows.rows) {
        qv_log_warn("index", "%s covers %zu rows but the shard has %zu, rebuilding", path,
                    qv_index_rows(ix), c->shards[si].rows.rows);
        qv_index_free(ix);
        ix = NULL;
    }
    qv_free(data);
    return ix;
}

/* ---- definitions ----------------------------------------------------------------------- */

static void drop_slot(qv_coll_data *c, size_t k)
{
    for (size_t si = 0; si < c->nshards; si++) {
        qv_index_free(c->shards[si].idx[k]);
        c->shards[si].idx[k] = NULL;
        c->shards[si].tried[k] = 0;
    }
    memset(&c->slots[k], 0, sizeof c->slots[k]);
}

static bool slot_current(const qv_coll_data *c, const qv_collection_info *ci, size_t k)
{
    for (size_t i = 0; i < ci->index_count; i++)
        if (ci->indexes[i].id == c->slots[k].def_id)
            return true;
    return false;
}

static void add_slot(qv_coll_data *c, const qv_index_def *d, const qv_field *f, size_t field)
{
    index_slot sl = {.used = true, .def_id = d->id, .field = field};
    qv_error err;
    size_t k;

    if (qv_index_spec_parse(d->index_type, d->metric_type, &d->params, f->dim, &sl.spec, &err)) {
        qv_log_warn("index", "index %s: %s", d->name, err.msg);
        return;
    }
    for (k = 0; k < QV_MAX_VECTOR_FIELDS && c->slots[k].used; k++) {
    }
    if (k == QV_MAX_VECTOR_FIELDS)
        return;
    c->slots[k] = sl;
    for (size_t si = 0; si < c->nshards; si++)
        if ((c->shards[si].idx[k] = load_index(c, &sl, si)))
            atomic_fetch_add(&c->store->istats.loads, 1);
}

void store_sync_indexes(qv_coll_data *c, const qv_collection_info *ci)
{
    bool same = true;
    size_t used = 0;

    for (size_t k = 0; k < QV_MAX_VECTOR_FIELDS; k++)
        if (c->slots[k].used) {
            used++;
            same &= slot_current(c, ci, k);
        }
    if (same && used == ci->index_count)
        return; /* the common case: nothing changed, no lock taken */
    for (size_t si = 0; si < c->nshards; si++)
        pthread_rwlock_wrlock(&c->shards[si].lock);
    for (size_t k = 0; k < QV_MAX_VECTOR_FIELDS; k++)
        if (c->slots[k].used && !slot_current(c, ci, k))
            drop_slot(c, k);
    for (size_t i = 0; i < ci->index_count; i++) {
        const qv_field *f = qv_schema_field(&c->schema, ci->indexes[i].field);
        bool have = false;
        for (size_t k = 0; k < QV_MAX_VECTOR_FIELDS; k++)
            have |= c->slots[k].used && c->slots[k].def_id == ci->indexes[i].id;
        if (!have && f && f->type == QV_TYPE_FLOAT_VECTOR)
            add_slot(c, &ci->indexes[i], f, (size_t)(f - c->schema.fields));
    }
    for (size_t si = c->nshards; si-- > 0;)
        pthread_rwlock_unlock(&c->shards[si].lock);
}

void store_free_indexes(qv_coll_data *c)
{
    for (size_t k = 0; k < QV_MAX_VECTOR_FIELDS; k++)
        for (size_t si = 0; si < c->nshards; si++)
            qv_index_free(c->shards[si].idx[k]);
}

/* ---- building -------------------------------------------------------------------------- */

/* Copy the field's vectors of rows [first, n) (read lock held by the caller). */
static float *copy_vectors(const shard *sh, size_t field, size_t dim, size_t first, size_t n)
{
    float *v = qv_malloc((n - first) * dim * sizeof(float) + 1);
    if (v)
        memcpy(v, (const float *)sh->rows.cols[field].data.data + first * dim,
               (n - first) * dim * sizeof(float));
    return v;
}

/* Rows of shard sh searched through slot k without a brute-force tail. */
static size_t covered_rows(const qv_coll_data *c, const shard *sh, size_t k)
{
    if (c->slots[k].spec.kind == QV_INDEX_FLAT)
        return sh->rows.rows;
    return sh->idx[k] ? qv_index_rows(sh->idx[k]) : sh->tried[k];
}

static bool wants_build(const qv_coll_data *c, const shard *sh, size_t k, uint64_t now)
{
    size_t have = covered_rows(c, sh, k), rows = sh->rows.rows;

    if (rows <= have)
        return false;
    return rows - have >= BUILD_MIN_ROWS || now - sh->last_write_ns >= BUILD_QUIET_MS * 1000000ull;
}

/* The rows' vectors the next build needs, copied under the shard's read lock: for an
 * existing index a copy of it plus the tail rows, else every row. */
typedef struct build_input {
    index_slot sl;
    uint64_t epoch;
    size_t n, first; /* rows [first, n) are in vecs */
    float *vecs;
    qv_index *base;  /* copy of the current index, or NULL */
} build_input;

static qv_err take_input(qv_coll_data *c, shard *sh, size_t k, build_input *in, qv_error *err)
{
    size_t dim;
    qv_err rc = QV_OK;

    memset(in, 0, sizeof *in);
    pthread_rwlock_rdlock(&sh->lock);
    in->sl = c->slots[k];
    in->epoch = sh->epoch;
    in->n = sh->rows.rows;
    dim = c->schema.fields[in->sl.field].dim;
    /* HNSW grows incrementally; an IVF is retrained (rebuilt) once the shard has doubled
     * since its training, else its lists would keep the centroids of the first rows */
    if (sh->idx[k] && (in->sl.spec.kind == QV_INDEX_HNSW || qv_index_rows(sh->idx[k]) * 2 > in->n) &&
        (rc = qv_index_clone(sh->idx[k], &in->base, err)) == QV_OK)
        in->first = qv_index_rows(in->base);
    if (rc == QV_OK && !(in->vecs = copy_vectors(sh, in->sl.field, dim, in->first, in->n)))
        rc = qv_error_set(err, QV_ENOMEM, "out of memory copying vectors");
    pthread_rwlock_unlock(&sh->lock);
    return rc;
}

static void build_one(qv_coll_data *c, size_t si, size_t k)
{
    shard *sh = &c->shards[si];
    build_input in;
    qv_index *old = NULL, *fresh = NULL;
    qv_error err = {0};
    qv_err rc;
    uint64_t t0 = store_now_ns();

    if ((rc = take_input(c, sh, k, &in, &err)) == QV_OK) {
        if (in.base) /* HNSW and IVF take new vectors incrementally */
            rc = qv_index_add(fresh = in.base, in.vecs, in.n - in.first, &err);
        else
            rc = qv_index_build(&in.sl.spec, in.vecs, in.n, &fresh, &err);
    }
    qv_free(in.vecs);
    if (rc != QV_OK) {
        atomic_fetch_add(&c->store->istats.failures, 1);
        qv_log_warn("index", "collection %lld shard %zu: build failed: %s", (long long)c->id, si,
                    err.msg);
        qv_index_free(fresh);
        fresh = NULL;
    }
    if (!fresh) {
        pthread_rwlock_wrlock(&sh->lock);
        if (sh->epoch == in.epoch)
            sh->tried[k] = in.n; /* not retried before the shard grows */
        pthread_rwlock_unlock(&sh->lock);
        return; /* a block too small to index is searched exactly */
    }
    /* saved before it is published, while this thread alone owns it */
    if (save_index(c, &in.sl, si, fresh, in.epoch, &err) != QV_OK)
        qv_log_warn("index", "collection %lld shard %zu: saving the index failed: %s",
                    (long long)c->id, si, err.msg);
    pthread_rwlock_wrlock(&sh->lock);
    if (c->slots[k].used && c->slots[k].def_id == in.sl.def_id && sh->epoch == in.epoch) {
        old = sh->idx[k];
        sh->idx[k] = fresh;
        fresh = NULL;
    }
    pthread_rwlock_unlock(&sh->lock);
    qv_index_free(old);
    qv_index_free(fresh); /* non-NULL: the definition or the row numbering changed meanwhile */
    atomic_fetch_add(&c->store->istats.builds, 1);
    atomic_fetch_add(&c->store->istats.build_ns, store_now_ns() - t0);
    qv_log_debug("index", "collection %lld shard %zu: index over %zu rows", (long long)c->id, si,
                 in.n);
}

/* At least AUTO_COMPACT_MIN_DEAD dead rows making up a fifth of a shard. */
static bool wants_compaction(qv_coll_data *c)
{
    bool want = false;

    for (size_t si = 0; si < c->nshards && !want; si++) {
        shard *sh = &c->shards[si];
        pthread_rwlock_rdlock(&sh->lock);
        want = sh->rows.rows - sh->live >= AUTO_COMPACT_MIN_DEAD &&
               (sh->rows.rows - sh->live) * 5 >= sh->rows.rows;
        pthread_rwlock_unlock(&sh->lock);
    }
    return want;
}

static void build_pass(qv_store *s)
{
    uint64_t now = store_now_ns();
    qv_coll_data *c;

    pthread_mutex_lock(&s->lock);
    for (c = s->head; c; c = c->next)
        atomic_fetch_add(&c->refs, 1);
    c = s->head;
    pthread_mutex_unlock(&s->lock);
    /* each collection was referenced above; walk and release (the list may change) */
    while (c) {
        qv_coll_data *next;
        qv_wal_counters wc;
        qv_wal_stats(c->wal, &wc);
        if (wants_compaction(c)) {
            qv_error err = {0};
            uint64_t purged;
            if (store_compact(c, &purged, &err) != QV_OK)
                qv_log_warn("store", "collection %lld: compaction failed: %s", (long long)c->id,
                            err.msg);
        } else if (wc.append_bytes - c->ckpt_wal_bytes >= CHECKPOINT_WAL_BYTES) {
            qv_error err = {0};
            if (store_checkpoint(c, &err) != QV_OK)
                qv_log_warn("store", "collection %lld: checkpoint failed: %s", (long long)c->id,
                            err.msg);
        }
        for (size_t k = 0; k < QV_MAX_VECTOR_FIELDS; k++) {
            for (size_t si = 0; si < c->nshards; si++) {
                bool go;
                pthread_rwlock_rdlock(&c->shards[si].lock);
                go = c->slots[k].used && wants_build(c, &c->shards[si], k, now);
                pthread_rwlock_unlock(&c->shards[si].lock);
                if (go)
                    build_one(c, si, k);
            }
        }
        pthread_mutex_lock(&s->lock);
        next = c->next;
        pthread_mutex_unlock(&s->lock);
        qv_coll_data_unref(c);
        c = next;
    }
}

static void *builder_main(void *arg)
{
    qv_store *s = arg;
    struct timespec until;

    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->lock);
        build_pass(s);
        pthread_mutex_lock(&s->lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += BUILD_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (!s->stopping)
            pthread_cond_timedwait(&s->wake, &s->lock, &until);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

qv_err store_builder_start(qv_store *s, qv_error *err)
{
    pthread_cond_init(&s->wake, NULL);
    if (pthread_create(&s->builder, NULL, builder_main, s) != 0)
        return qv_error_set(err, QV_EINTERNAL, "cannot start the index builder thread");
    s->builder_running = true;
    return QV_OK;
}

bool store_builder_stop(qv_store *s, int timeout_ms)
{
    struct timespec until;

    if (!s->builder_running)
        return true;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    /* a FAISS build cannot be interrupted: past the timeout the process leaves it running
     * (every acknowledged write is already durable; index files are replaced atomically) */
    if (pthread_timedjoin_np(s->builder, NULL, &until) != 0)
        return false;
    pthread_cond_destroy(&s->wake);
    s->builder_running = false;
    return true;
}

void qv_coll_index_progress(qv_coll_data *c, size_t field, uint64_t *indexed, uint64_t *total)
{
    *indexed = *total = 0;
    for (size_t si = 0; si < c->nshards; si++) {
        shard *sh = &c->shards[si];
        size_t have = 0;
        pthread_rwlock_rdlock(&sh->lock);
        for (size_t k = 0; k < QV_MAX_VECTOR_FIELDS; k++)
            if (c->slots[k].used && c->slots[k].field == field)
                have = covered_rows(c, sh, k); /* FLAT or too small: exact, counts as indexed */
        *indexed += have;
        *total += sh->rows.rows;
        pthread_rwlock_unlock(&sh->lock);
    }
}

const qv_store_index_stats *qv_store_index_counters(const qv_store *s) { return &s->istats; }
