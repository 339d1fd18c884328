/* SPDX-License-Identifier: Apache-2.0 */
/* store.c - collections' data on this node: opening shards, WAL replay, the ordered
 * commit path (append -> group fsync -> apply in LSN order), dropping. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db/store_int.h"
#include "quiver/alloc.h"
#include "quiver/log.h"

#define BUILDER_STOP_MS 2000

uint64_t store_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* collection.ttl.seconds of the catalog (absent, 0, -1 or unparsable: no expiry). */
void store_sync_ttl(qv_coll_data *c, const qv_collection_info *ci)
{
    const char *v = qv_kvlist_get(&ci->properties, "collection.ttl.seconds");
    char *end;
    long long secs = v ? strtoll(v, &end, 10) : 0;

    if (!v || *end || secs <= 0)
        secs = 0;
    atomic_store(&c->ttl_ms, (uint64_t)secs > UINT64_MAX / 1000 ? UINT64_MAX
                                                                : (uint64_t)secs * 1000);
}

uint64_t store_ttl_cutoff(const qv_coll_data *c)
{
    uint64_t ttl = atomic_load(&c->ttl_ms), now;

    if (!ttl)
        return 0;
    now = store_now_ms();
    return now > ttl ? now - ttl : 0;
}

uint64_t qv_store_hash_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 14695981039346656037ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

uint64_t qv_store_hash_int64(int64_t pk)
{
    uint8_t le[8];
    qv_store_le64(le, (uint64_t)pk);
    return qv_store_hash_bytes(le, sizeof le);
}

uint64_t store_row_hash(const qv_rowbatch *b, size_t pk_col, size_t row)
{
    const qv_colbuf *col = &b->cols[pk_col];
    size_t n;

    if (col->width) {
        int64_t v;
        memcpy(&v, qv_colbuf_fixed(col, row), sizeof v);
        return qv_store_hash_int64(v);
    }
    const uint8_t *p = qv_colbuf_var(col, row, &n);
    return qv_store_hash_bytes(p, n);
}

bool store_row_pk_equal(const qv_rowbatch *a, size_t arow, const qv_rowbatch *b, size_t brow,
                        size_t pk_col)
{
    return qv_colbuf_key_cmp(&a->cols[pk_col], arow, &b->cols[pk_col], brow) == 0;
}

void store_timed_wait(pthread_cond_t *cond, pthread_mutex_t *lock, int ms)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cond, lock, &until);
}

qv_err qv_store_open(const char *data_dir, qv_io *io, const qv_store_opts *opts,
                     qv_store **out, qv_error *err)
{
    static const qv_store_opts defaults = QV_STORE_OPTS_DEFAULT;
    qv_store *s = qv_calloc(1, sizeof *s);
    size_t n = strlen(data_dir) + 16;

    if (!s || !(s->dir = qv_malloc(n))) {
        qv_free(s);
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    snprintf(s->dir, n, "%s/collections", data_dir);
    s->io = io;
    s->opts = opts ? *opts : defaults;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->maint_wake, NULL);
    pthread_cond_init(&s->room, NULL);
    if (qv_io_mkdir_durable(io, s->dir, err) != QV_OK || store_builder_start(s, err) != QV_OK ||
        store_maint_start(s, err) != QV_OK) {
        qv_store_close(s);
        return err ? err->code : QV_EIO;
    }
    *out = s;
    return QV_OK;
}

static void shard_fini(shard *sh)
{
    for (size_t i = 0; i < sh->nsegs; i++)
        store_free_segment_indexes(&sh->segs[i]);
    qv_free(sh->segs);
    qv_rowbatch_fini(&sh->rows);
    qv_free(sh->part_ids);
    qv_free(sh->row_lsn);
    qv_free(sh->row_ts);
    qv_free(sh->dead);
    pkmap_fini(&sh->pk);
    store_bm25_free(sh);
    pthread_rwlock_destroy(&sh->lock);
}

static void coll_free(qv_coll_data *c)
{
    qv_wal_close(c->wal);
    pthread_mutex_destroy(&c->maint_lock);
    pthread_mutex_destroy(&c->seq_lock);
    pthread_cond_destroy(&c->seq_cond);
    for (size_t i = 0; c->shards && i < c->nshards; i++)
        shard_fini(&c->shards[i]);
    qv_free(c->shards);
    qv_schema_fini(&c->schema);
    qv_free(c->dir);
    qv_free(c);
}

bool qv_store_close(qv_store *s)
{
    if (!s)
        return true;
    store_s3_stop(s); /* it reads the collections' files */
    store_maint_stop(s);
    if (!store_builder_stop(s, BUILDER_STOP_MS)) {
        /* the builder still uses the collections: leave them to the exiting process, but
         * make sure every WAL is synced first */
        qv_log_warn("store", "an index build is still running; exiting without waiting for it");
        pthread_mutex_lock(&s->lock);
        for (qv_coll_data *c = s->head; c; c = c->next)
            qv_wal_sync(c->wal, UINT64_MAX, NULL);
        pthread_mutex_unlock(&s->lock);
        return false;
    }
    for (qv_coll_data *c = s->head, *next; c; c = next) {
        next = c->next;
        coll_free(c);
    }
    pthread_cond_destroy(&s->maint_wake);
    pthread_cond_destroy(&s->room);
    pthread_mutex_destroy(&s->lock);
    qv_free(s->dir);
    qv_free(s);
    return true;
}

static qv_err replay_record(void *ctx, uint8_t type, const void *rec, size_t len, uint64_t lsn)
{
    qv_coll_data *c = ctx;
    qv_error err;
    qv_err rc = store_apply(c, type, rec, len, lsn, NULL, &err);

    c->applied_lsn = lsn;
    if (rc != QV_OK)
        qv_log_error("store", "collection %lld: WAL record %llu cannot be applied: %s",
                     (long long)c->id, (unsigned long long)lsn, err.msg);
    return rc;
}

static qv_err shard_init(qv_coll_data *c, shard *sh, qv_error *err)
{
    pthread_rwlock_init(&sh->lock, NULL);
    pkmap_init(&sh->pk);
    return qv_rowbatch_init(&sh->rows, &c->schema) == QV_OK
               ? QV_OK
               : qv_error_set(err, QV_ENOMEM, "out of memory");
}

/* Replay the collection's WAL into its shards. */
static qv_err coll_replay(qv_coll_data *c, qv_io *io, qv_error *err)
{
    char dir[4096];
    /* a buffer past the largest record: appends (under seq_lock) never flush themselves,
     * only the group commit after them does */
    qv_wal_opts o = {.dir = dir, .io = io, .buffer_bytes = 2 * QV_WAL_MAX_RECORD_BYTES};
    uint64_t sealed_lsn;
    qv_err rc;

    if ((rc = store_load_manifest(c, &sealed_lsn, err)) != QV_OK)
        return rc;
    o.replay_from_lsn = sealed_lsn + 1; /* sealed segments hold everything before */
    snprintf(dir, sizeof dir, "%s/wal", c->dir);
    if ((rc = qv_wal_open(&o, replay_record, c, &c->wal, err)) != QV_OK)
        return rc;
    for (size_t i = 0; i < c->nshards; i++)
        if (c->shards[i].rows.rows)
            qv_log_info("store", "collection %lld shard %zu: %zu rows (%llu live) after replay",
                        (long long)c->id, i, c->shards[i].rows.rows,
                        (unsigned long long)c->shards[i].live);
    return QV_OK;
}

static qv_err coll_open(qv_store *s, const qv_collection_info *ci, qv_coll_data **out,
                        qv_error *err)
{
    qv_coll_data *c = qv_calloc(1, sizeof *c);
    size_t n = strlen(s->dir) + 32;
    const qv_field *pk;
    qv_err rc;

    if (!c || !(c->dir = qv_malloc(n)) || qv_schema_copy(&c->schema, &ci->schema) != QV_OK ||
        !(c->shards = qv_calloc((size_t)ci->shards_num, sizeof *c->shards))) {
        if (c)
            coll_free(c);
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    }
    atomic_init(&c->refs, 1); /* the store's reference */
    pthread_mutex_init(&c->seq_lock, NULL);
    pthread_mutex_init(&c->maint_lock, NULL);
    pthread_cond_init(&c->seq_cond, NULL);
    c->id = ci->id;
    c->store = s;
    c->nshards = (size_t)ci->shards_num;
    pk = qv_schema_primary(&c->schema);
    c->pk_col = (size_t)(pk - c->schema.fields);
    snprintf(c->dir, n, "%s/%lld", s->dir, (long long)ci->id);
    if ((rc = qv_io_mkdir_durable(s->io, c->dir, err)) != QV_OK)
        goto fail;
    for (size_t i = 0; i < c->nshards; i++)
        if ((rc = shard_init(c, &c->shards[i], err)) != QV_OK)
            goto fail;
    if ((rc = coll_replay(c, s->io, err)) != QV_OK)
        goto fail;
    *out = c;
    return QV_OK;
fail:
    coll_free(c);
    return rc;
}

qv_err qv_store_get(qv_store *s, const qv_collection_info *ci, qv_coll_data **out,
                    qv_error *err)
{
    qv_coll_data *c;
    qv_err rc = QV_OK;

    pthread_mutex_lock(&s->lock);
    for (c = s->head; c && c->id != ci->id; c = c->next) {
    }
    if (!c && (rc = coll_open(s, ci, &c, err)) == QV_OK) {
        c->next = s->head;
        s->head = c;
    }
    if (rc == QV_OK)
        atomic_fetch_add(&c->refs, 1);
    pthread_mutex_unlock(&s->lock);
    if (rc == QV_OK) {
        store_sync_indexes(c, ci);
        store_sync_ttl(c, ci);
        *out = c;
    }
    return rc;
}

size_t store_open_collections(qv_store *s, qv_coll_data ***out)
{
    size_t n = 0, cap = 0;
    qv_coll_data **v = NULL;

    pthread_mutex_lock(&s->lock);
    for (qv_coll_data *c = s->head; c; c = c->next)
        cap++;
    if ((v = qv_calloc(cap + 1, sizeof *v)))
        for (qv_coll_data *c = s->head; c; c = c->next) {
            atomic_fetch_add(&c->refs, 1);
            v[n++] = c;
        }
    pthread_mutex_unlock(&s->lock);
    *out = v;
    return n;
}

void store_release_collections(qv_coll_data **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        qv_coll_data_unref(v[i]);
    qv_free(v);
}

void qv_coll_data_unref(qv_coll_data *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        coll_free(c);
}

/* rm -r of a collection directory through the I/O seam. */
static qv_err remove_tree(qv_io *io, const char *path, int depth, qv_error *err)
{
    char **names = NULL, child[4096];
    size_t n = 0;
    qv_err rc;

    if (depth > 4)
        return qv_error_set(err, QV_EINTERNAL, "unexpected nesting under %s", path);
    if ((rc = qv_io_list_dir(io, path, &names, &n, err)) != QV_OK)
        return qv_io_unlink(io, path, err); /* a file */
    for (size_t i = 0; i < n && rc == QV_OK; i++) {
        snprintf(child, sizeof child, "%s/%s", path, names[i]);
        rc = remove_tree(io, child, depth + 1, err);
    }
    qv_io_free_names(names, n);
    if (rc == QV_OK && rmdir(path) != 0)
        rc = qv_error_sys(err, QV_EIO, errno, "rmdir %s", path);
    return rc;
}

qv_err qv_store_drop(qv_store *s, int64_t collection_id, qv_error *err)
{
    qv_coll_data **pp, *c = NULL;
    char path[4096];
    bool exists = false;
    qv_err rc;

    pthread_mutex_lock(&s->lock);
    for (pp = &s->head; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == collection_id) {
            c = *pp;
            *pp = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    qv_coll_data_unref(c);
    snprintf(path, sizeof path, "%s/%lld", s->dir, (long long)collection_id);
    if ((rc = qv_io_exists(s->io, path, &exists, err)) != QV_OK || !exists)
        return rc;
    if ((rc = remove_tree(s->io, path, 0, err)) != QV_OK)
        return rc;
    return qv_io_sync_dir(s->io, s->dir, err);
}

/* After a disk-full commit failure, let the WAL take writes again (space may have been
 * freed) once every writer of the failed batch has seen its error: no ticket in flight
 * (seq_lock held; new writers queue behind it). */
static void wal_resume_locked(qv_coll_data *c)
{
    qv_error e;

    while (atomic_load(&c->wal_full) && c->apply_ticket != c->next_ticket)
        pthread_cond_wait(&c->seq_cond, &c->seq_lock);
    if (atomic_exchange(&c->wal_full, false) && qv_wal_resume(c->wal, &e) != QV_OK)
        qv_log_error("store", "collection %lld: WAL stays stopped: %s", (long long)c->id, e.msg);
}

qv_err store_commit(qv_coll_data *c, uint8_t type, const qv_buf *rec, uint64_t *affected,
                    qv_error *err)
{
    uint64_t lsn = 0, ticket;
    qv_err rc;

    pthread_mutex_lock(&c->seq_lock);
    if (atomic_load(&c->wal_full))
        wal_resume_locked(c);
    rc = qv_wal_append(c->wal, type, rec->data, rec->len, &lsn, err);
    ticket = c->next_ticket++;
    pthread_mutex_unlock(&c->seq_lock);
    if (rc == QV_OK)
        rc = qv_wal_sync(c->wal, lsn, err); /* group commit: concurrent writers share it */
    pthread_mutex_lock(&c->seq_lock);
    while (c->apply_ticket != ticket)
        pthread_cond_wait(&c->seq_cond, &c->seq_lock);
    if (rc == QV_OK && (rc = store_apply(c, type, rec->data, rec->len, lsn, affected, err)) ==
                           QV_OK)
        c->applied_lsn = lsn;
    if (rc == QV_ENOSPC)
        atomic_store(&c->wal_full, true);
    c->apply_ticket++;
    pthread_cond_broadcast(&c->seq_cond);
    pthread_mutex_unlock(&c->seq_lock);
    return rc;
}

qv_err qv_coll_flush(qv_coll_data *c, qv_error *err)
{
    qv_err rc = qv_wal_sync(c->wal, UINT64_MAX, err);
    return rc != QV_OK ? rc : store_seal(c, err);
}

void qv_store_wal_totals_get(qv_store *s, qv_store_wal_totals *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->lock);
    for (qv_coll_data *c = s->head; c; c = c->next) {
        qv_wal_counters w;
        qv_wal_stats(c->wal, &w);
        out->appends += w.appends;
        out->append_bytes += w.append_bytes;
        out->write_bytes += w.write_bytes;
        out->fsyncs += w.fsyncs;
        out->fsync_ns += w.fsync_ns_sum;
        out->torn_tails += w.torn_tails_repaired;
        out->files += w.files;
    }
    pthread_mutex_unlock(&s->lock);
}

qv_err qv_coll_compact(qv_coll_data *c, uint64_t *purged, qv_error *err)
{
    qv_err rc = store_seal(c, err); /* compaction works on sealed segments */
    return rc != QV_OK ? rc : store_compact(c, true, purged, err);
}

const qv_store_seg_stats *qv_store_seg_counters(const qv_store *s) { return &s->sstats; }

void qv_store_seg_totals_get(qv_store *s, qv_store_seg_totals *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->lock);
    for (qv_coll_data *c = s->head; c; c = c->next) {
        for (size_t si = 0; si < c->nshards; si++) {
            shard *sh = &c->shards[si];
            pthread_rwlock_rdlock(&sh->lock);
            for (size_t i = 0; i < sh->nsegs; i++) {
                bool sealed = sh->segs[i].sealed;
                out->sealed += sealed;
                out->growing += !sealed;
                *(sealed ? &out->sealed_rows : &out->growing_rows) += sh->segs[i].rows;
            }
            pthread_rwlock_unlock(&sh->lock);
        }
        out->growing_bytes += atomic_load(&c->growing_bytes);
    }
    pthread_mutex_unlock(&s->lock);
}
