/* SPDX-License-Identifier: Apache-2.0 */
/* store_index.c - vector indexes of a collection's segments.
 *
 * Each index definition (from the catalog) gets a slot; each segment holds, per slot, an
 * index over its rows [0, n) (numbered within the segment). A growing segment's rows are
 * append-only and replay rebuilds them in the same order, and a sealed segment never
 * changes, so an index file describes the same rows after a restart: index files are
 * written after every build and loaded at start instead of rebuilding.
 *
 * The builder thread wakes every BUILD_TICK_MS and, per segment and slot, builds when the
 * segment is sealed, or its unindexed tail reaches BUILD_MIN_ROWS, or it has been quiet
 * for BUILD_QUIET_MS: the first time over every row, later by adding the tail to a copy
 * of the current index (HNSW; an IVF is retrained from scratch, on the segment's own
 * rows, once the segment has doubled since its training). It copies what it needs under
 * the shard's read lock, builds and saves without any lock (writes go on), and swaps the
 * new index in under the write lock. Searches hold the read lock while they use an index,
 * so the old one is freed right after the swap.
 *
 * File: <collection dir>/index-<definition id>-<segment id>.qvi =
 *   "QVIF" | u32 CRC32C(payload) | u64 payload length | u64 segment id |
 *   payload (qv_index_serialize; for scalar indexes, store_sindex.c, qv_sindex_serialize). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db/store_vecs.h"
#include "quiver/alloc.h"
#include "quiver/crc32c.h"
#include "quiver/log.h"

#define BUILD_TICK_MS 100
#define BUILD_MIN_ROWS 4096
#define BUILD_QUIET_MS 300
#define MAX_INDEX_FILE_BYTES ((size_t)8 << 30)

static void index_path(const qv_coll_data *c, int64_t def_id, uint64_t seg_id, char *buf,
                       size_t cap)
{
    snprintf(buf, cap, "%s/index-%lld-%llu.qvi", c->dir, (long long)def_id,
             (unsigned long long)seg_id);
}

/* ---- files --------------------------------------------------------------------------- */

void store_index_file_begin(qv_buf *b, uint64_t seg_id)
{
    qv_buf_init(b);
    qv_buf_put(b, "QVIF", 4);
    qv_buf_put_u32(b, 0);
    qv_buf_put_u64(b, 0);
    qv_buf_put_u64(b, seg_id);
}

qv_err store_index_file_write(qv_coll_data *c, int64_t def_id, uint64_t seg_id, qv_buf *b,
                              qv_error *err)
{
    char path[4096];
    qv_err rc;

    if ((rc = qv_buf_status(b, err)) != QV_OK)
        return rc;
    qv_store_le32(b->data + 4, qv_crc32c(0, b->data + 24, b->len - 24));
    qv_store_le64(b->data + 8, b->len - 24);
    index_path(c, def_id, seg_id, path, sizeof path);
    return qv_io_write_file_atomic(c->store->io, path, b->data, b->len, err);
}

static qv_err save_index(qv_coll_data *c, const index_slot *sl, uint64_t seg_id,
                         const qv_index *ix, qv_error *err)
{
    qv_buf b;
    qv_err rc;

    store_index_file_begin(&b, seg_id);
    if ((rc = qv_index_serialize(ix, &b, err)) == QV_OK)
        rc = store_index_file_write(c, sl->def_id, seg_id, &b, err);
    qv_buf_fini(&b);
    return rc;
}

bool store_index_file_read(qv_coll_data *c, int64_t def_id, const segment *g, void **data,
                           const uint8_t **payload, size_t *plen, char *path, size_t cap)
{
    size_t len = 0;
    qv_error err = {0};
    const uint8_t *p;

    *data = NULL;
    index_path(c, def_id, g->id, path, cap);
    if (store_s3_fetch(c->store, path, false, 0, &err) != QV_OK) /* evicted or restored */
        qv_log_warn("index", "%s, rebuilding", err.msg);
    if (qv_io_read_file(c->store->io, path, MAX_INDEX_FILE_BYTES, data, &len, &err) != QV_OK)
        return false;
    p = *data;
    if (len < 24 || memcmp(p, "QVIF", 4) || qv_load_le64(p + 8) != len - 24 ||
        qv_crc32c(0, p + 24, len - 24) != qv_load_le32(p + 4))
        qv_log_warn("index", "%s: checksum mismatch, rebuilding", path);
    else if (qv_load_le64(p + 16) != g->id)
        qv_log_warn("index", "%s: belongs to another segment, rebuilding", path);
    else {
        *payload = p + 24;
        *plen = len - 24;
        return true;
    }
    qv_free(*data);
    *data = NULL;
    return false;
}

/* The saved index of (slot, segment) if it exists, checks out and fits the segment. */
static qv_index *load_index(qv_coll_data *c, const index_slot *sl, const segment *g)
{
    char path[4096];
    void *data;
    const uint8_t *p;
    size_t len;
    qv_index *ix = NULL;
    qv_error err = {0};

    if (!store_index_file_read(c, sl->def_id, g, &data, &p, &len, path, sizeof path))
        return NULL;
    if (qv_index_deserialize(p, len, &ix, &err) != QV_OK)
        qv_log_warn("index", "%s: %s, rebuilding", path, err.msg);
    else if (qv_index_rows(ix) > g->rows) {
        qv_log_warn("index", "%s covers %zu rows but the segment has %zu, rebuilding", path,
                    qv_index_rows(ix), g->rows);
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
        for (size_t i = 0; i < c->shards[si].nsegs; i++) {
            segment *g = &c->shards[si].segs[i];
            qv_index_free(g->idx[k]);
            g->idx[k] = NULL;
            g->tried[k] = 0;
        }
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

    if (qv_index_spec_parse(d->index_type, d->metric_type, &d->params, f->type, f->dim, &sl.spec,
                            &err)) {
        qv_log_warn("index", "index %s: %s", d->name, err.msg);
        return;
    }
    for (k = 0; k < QV_MAX_VECTOR_FIELDS && c->slots[k].used; k++) {
    }
    if (k == QV_MAX_VECTOR_FIELDS)
        return;
    c->slots[k] = sl;
    for (size_t si = 0; si < c->nshards; si++) {
        for (size_t i = 0; i < c->shards[si].nsegs; i++) {
            segment *g = &c->shards[si].segs[i];
            if ((g->idx[k] = load_index(c, &sl, g)))
                atomic_fetch_add(&c->store->istats.loads, 1);
        }
    }
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
    same &= store_sindex_current(c, ci, &used);
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
        if (!have && f && qv_type_is_vector(f->type))
            add_slot(c, &ci->indexes[i], f, (size_t)(f - c->schema.fields));
    }
    store_sindex_resync(c, ci);
    for (size_t si = c->nshards; si-- > 0;)
        pthread_rwlock_unlock(&c->shards[si].lock);
}

void store_free_segment_indexes(segment *g)
{
    for (size_t k = 0; k < QV_MAX_VECTOR_FIELDS; k++) {
        qv_index_free(g->idx[k]);
        g->idx[k] = NULL;
        g->tried[k] = 0;
    }
    store_sindex_free_segment(g);
}

/* ---- building -------------------------------------------------------------------------- */

size_t store_covered_rows(const qv_coll_data *c, const segment *g, size_t k)
{
    if (c->slots[k].spec.kind == QV_INDEX_FLAT || c->slots[k].spec.kind == QV_INDEX_BIN_FLAT)
        return g->rows;
    return g->idx[k] ? qv_index_rows(g->idx[k]) : g->tried[k];
}

static bool wants_build(const qv_coll_data *c, const shard *sh, const segment *g, size_t k,
                        uint64_t now)
{
    size_t have = store_covered_rows(c, g, k);

    if (g->rows <= have)
        return false;
    return g->sealed || g->rows - have >= BUILD_MIN_ROWS ||
           now - sh->last_write_ns >= BUILD_QUIET_MS * 1000000ull;
}

/* The rows' vectors the next build needs, copied under the shard's read lock: for an
 * existing index a copy of it plus the tail rows, else every row of the segment. */
typedef struct build_input {
    index_slot sl;
    size_t n, first; /* segment rows [first, n) are in vecs */
    store_vecs vecs;
    qv_index *base;  /* copy of the current index, or NULL */
} build_input;

static qv_err take_input(qv_coll_data *c, shard *sh, uint64_t seg_id, size_t k, build_input *in,
                         qv_error *err)
{
    qv_err rc = QV_OK;
    segment *g;

    memset(in, 0, sizeof *in);
    pthread_rwlock_rdlock(&sh->lock);
    in->sl = c->slots[k];
    if (!(g = store_find_segment(sh, seg_id))) { /* compacted away meanwhile */
        pthread_rwlock_unlock(&sh->lock);
        return QV_OK;
    }
    in->n = g->rows;
    /* HNSW and sparse indexes grow incrementally; an IVF is retrained (rebuilt) once the
     * segment has doubled since its training, else its lists would keep the centroids of
     * the first rows */
    if (g->idx[k] &&
        (in->sl.spec.kind == QV_INDEX_HNSW || qv_index_kind_sparse(in->sl.spec.kind) ||
         qv_index_rows(g->idx[k]) * 2 > in->n) &&
        (rc = qv_index_clone(g->idx[k], &in->base, err)) == QV_OK)
        in->first = qv_index_rows(in->base);
    if (rc == QV_OK)
        rc = store_copy_vectors(sh, &c->schema.fields[in->sl.field], in->sl.field,
                                g->first + in->first, g->first + in->n, &in->vecs, err);
    pthread_rwlock_unlock(&sh->lock);
    return rc;
}

/* Publish a build result (or, fresh NULL, remember the rows tried). */
static void swap_in(qv_coll_data *c, shard *sh, uint64_t seg_id, size_t k, const build_input *in,
                    qv_index *fresh)
{
    qv_index *old = NULL;
    segment *g;

    pthread_rwlock_wrlock(&sh->lock);
    g = store_find_segment(sh, seg_id);
    if (g && c->slots[k].used && c->slots[k].def_id == in->sl.def_id) {
        if (fresh) {
            old = g->idx[k];
            g->idx[k] = fresh;
            fresh = NULL;
        } else {
            g->tried[k] = in->n; /* not retried before the segment grows */
        }
    }
    pthread_rwlock_unlock(&sh->lock);
    qv_index_free(old);
    qv_index_free(fresh); /* non-NULL: the definition or the segment is gone */
}

static void build_one(qv_coll_data *c, size_t si, uint64_t seg_id, size_t k)
{
    shard *sh = &c->shards[si];
    build_input in;
    qv_index *fresh = NULL;
    qv_error err = {0};
    qv_err rc;
    uint64_t t0 = store_now_ns();

    if ((rc = take_input(c, sh, seg_id, k, &in, &err)) == QV_OK && in.vecs.data) {
        if (in.base) /* HNSW, IVF and sparse take new vectors incrementally */
            rc = qv_index_add(fresh = in.base, store_vecs_ptr(&in.vecs), in.n - in.first, &err);
        else
            rc = qv_index_build(&in.sl.spec, store_vecs_ptr(&in.vecs), in.n, &fresh, &err);
    }
    store_vecs_fini(&in.vecs);
    if (rc != QV_OK) {
        atomic_fetch_add(&c->store->istats.failures, 1);
        qv_log_warn("index", "collection %lld segment %llu: build failed: %s", (long long)c->id,
                    (unsigned long long)seg_id, err.msg);
        qv_index_free(fresh);
        fresh = NULL;
    }
    if (!in.n)
        return;
    /* saved before it is published, while this thread alone owns it */
    if (fresh && save_index(c, &in.sl, seg_id, fresh, &err) != QV_OK)
        qv_log_warn("index", "collection %lld segment %llu: saving the index failed: %s",
                    (long long)c->id, (unsigned long long)seg_id, err.msg);
    swap_in(c, sh, seg_id, k, &in, fresh); /* NULL: too small to index, searched exactly */
    if (!fresh)
        return;
    atomic_fetch_add(&c->store->istats.builds, 1);
    atomic_fetch_add(&c->store->istats.build_ns, store_now_ns() - t0);
    qv_log_debug("index", "collection %lld segment %llu: index over %zu rows", (long long)c->id,
                 (unsigned long long)seg_id, in.n);
}

/* The id of the first segment of shard si wanting a build for slot k, or 0. */
static uint64_t next_to_build(qv_coll_data *c, size_t si, size_t k, uint64_t now)
{
    shard *sh = &c->shards[si];
    uint64_t id = 0;

    pthread_rwlock_rdlock(&sh->lock);
    for (size_t i = 0; c->slots[k].used && i < sh->nsegs && !id; i++)
        if (wants_build(c, sh, &sh->segs[i], k, now))
            id = sh->segs[i].id;
    pthread_rwlock_unlock(&sh->lock);
    return id;
}

static void build_pass(qv_store *s)
{
    uint64_t now = store_now_ns();
    qv_coll_data **colls;
    size_t n = store_open_collections(s, &colls);

    for (size_t i = 0; i < n; i++) {
        qv_coll_data *c = colls[i];
        for (size_t k = 0; k < QV_MAX_VECTOR_FIELDS; k++) {
            for (size_t si = 0; si < c->nshards; si++) {
                uint64_t id = next_to_build(c, si, k, now);
                if (id)
                    build_one(c, si, id, k);
            }
        }
        store_sindex_build_pass(c);
    }
    store_release_collections(colls, n);
}

static void *builder_main(void *arg)
{
    qv_store *s = arg;

    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->lock);
        build_pass(s);
        pthread_mutex_lock(&s->lock);
        if (!s->stopping)
            store_timed_wait(&s->wake, &s->lock, BUILD_TICK_MS);
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

void qv_coll_index_progress(qv_coll_data *c, size_t field, uint64_t shard_mask,
                            uint64_t *indexed, uint64_t *total)
{
    *indexed = *total = 0;
    if (store_sindex_progress(c, field, shard_mask, indexed, total))
        return;
    for (size_t si = 0; si < c->nshards; si++) {
        shard *sh = &c->shards[si];
        if (shard_mask && !(shard_mask >> si & 1))
            continue;
        pthread_rwlock_rdlock(&sh->lock);
        for (size_t k = 0; k < QV_MAX_VECTOR_FIELDS; k++)
            for (size_t i = 0; c->slots[k].used && c->slots[k].field == field && i < sh->nsegs; i++)
                *indexed += store_covered_rows(c, &sh->segs[i], k); /* FLAT or too small: exact */
        *total += sh->rows.rows;
        pthread_rwlock_unlock(&sh->lock);
    }
}

const qv_store_index_stats *qv_store_index_counters(const qv_store *s) { return &s->istats; }
