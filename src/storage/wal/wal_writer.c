/* SPDX-License-Identifier: Apache-2.0 */
/* wal_writer.c - append, group commit, file rolling, checkpoint truncation.
 *
 * DESIGN. Appenders encode records into `pending` under mu, taking LSNs in
 * buffer order. qv_wal_sync is group commit (PostgreSQL's XLogFlush, LevelDB's
 * writer queue): a caller whose LSN is not yet durable either waits on cv while
 * another thread flushes, or becomes the flusher itself: it swaps `pending`
 * into `inflight`, drops mu, writes the whole batch with one linked
 * write+fdatasync (qv_io_write_sync), retakes mu, advances durable_lsn and wakes
 * everyone. Records appended meanwhile form the next batch, so under load
 * there is about one fsync per batch rather than per record. A batch is never
 * split across files: a file is rolled, before a batch, once it holds
 * file_bytes, so a file overshoots by at most one batch.
 *
 * FAIL-STOP (PostgreSQL after "fsyncgate"): when a batch's write, fsync or the
 * directory fsync of a new file fails, nothing is retried. The error sticks in
 * `failed`; every later append, and every sync not already covered by
 * durable_lsn, returns it. The file is truncated back to the end of the last
 * durable record (best effort) so that no later replay resurrects records
 * whose writers were told they failed. Replay of what was read at open is not
 * affected; reopening the WAL starts afresh from what is on disk.
 * One exception, disk full: qv_wal_resume clears a QV_ENOSPC failure once that
 * truncation succeeded. Nothing after durable_lsn was acknowledged and nothing
 * of it is left in the file, so LSNs simply continue after durable_lsn; earlier
 * records were fsynced before, so no lost page can hide among them.
 *
 * LOCKS. mu guards LSNs, buffers, the failure and counters; the flushing flag
 * makes the flusher sole owner of the file handle while it runs without mu.
 * files_mu guards the file list shared with qv_wal_truncate_before. mu and
 * files_mu are never held together. */
#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "quiver/alloc.h"
#include "quiver/log.h"
#include "storage/wal/wal_int.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

qv_err wal_path(const qv_wal *w, uint64_t first_lsn, char *out, qv_error *err)
{
    char name[WAL_NAME_MAX];

    wal_file_name(name, first_lsn);
    if (snprintf(out, PATH_MAX, "%s/%s", w->dir, name) >= PATH_MAX)
        return qv_error_set(err, QV_EINVAL, "WAL directory path too long: %s", w->dir);
    return QV_OK;
}

qv_err wal_files_push(qv_wal *w, uint64_t first_lsn)
{
    if (w->nfiles == w->files_cap) {
        size_t cap = w->files_cap ? w->files_cap * 2 : 16;
        uint64_t *files = qv_reallocarray(w->files, cap, sizeof *files);
        if (!files)
            return QV_ENOMEM;
        w->files = files;
        w->files_cap = cap;
    }
    w->files[w->nfiles++] = first_lsn;
    return QV_OK;
}

static void wal_free(qv_wal *w)
{
    qv_io_close(w->cur);
    qv_buf_fini(&w->pending);
    qv_buf_fini(&w->inflight);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->files_mu);
    qv_free(w->files);
    qv_free(w->dir);
    qv_free(w);
}

qv_err qv_wal_open(const qv_wal_opts *o, qv_wal_replay_fn fn, void *ctx, qv_wal **out,
                   qv_error *err)
{
    qv_wal *w;
    qv_err rc;

    if (!o || !o->dir || !*o->dir || !o->io)
        return qv_error_set(err, QV_EINVAL, "qv_wal_open: dir and io are required");
    if ((w = qv_calloc(1, sizeof *w)) == NULL || (w->dir = qv_strdup(o->dir)) == NULL) {
        qv_free(w);
        return qv_error_set(err, QV_ENOMEM, "open WAL %s: out of memory", o->dir);
    }
    w->io = o->io;
    w->file_bytes = o->file_bytes ? o->file_bytes : QV_WAL_DEFAULT_FILE_BYTES;
    w->buffer_bytes = o->buffer_bytes ? o->buffer_bytes : QV_WAL_DEFAULT_BUFFER_BYTES;
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->files_mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    qv_buf_init(&w->pending);
    qv_buf_init(&w->inflight);
    if ((rc = wal_recover(w, o->replay_from_lsn, fn, ctx, err)) != QV_OK) {
        wal_free(w);
        return rc;
    }
    w->durable_lsn = w->next_lsn - 1;
    w->pending_first_lsn = w->next_lsn;
    *out = w;
    return QV_OK;
}

/* Start the file for the batch beginning at first_lsn; its header becomes
 * durable with the batch's fsync, its directory entry with the dir fsync after. */
static qv_err wal_roll(qv_wal *w, uint64_t first_lsn, qv_error *err)
{
    uint8_t hdr[WAL_FILE_HDR_BYTES];
    char path[PATH_MAX];
    qv_file *f = NULL;
    qv_err rc;

    if ((rc = wal_path(w, first_lsn, path, err)) != QV_OK)
        return rc;
    if ((rc = qv_io_open(w->io, path, QV_IO_WRITE | QV_IO_CREATE | QV_IO_TRUNC, &f, err)) !=
        QV_OK)
        return rc;
    wal_file_header_encode(hdr, first_lsn);
    if ((rc = qv_io_pwrite(f, hdr, sizeof hdr, 0, err)) != QV_OK) {
        qv_io_close(f); /* a torn header in the newest file is removed at recovery */
        return rc;
    }
    pthread_mutex_lock(&w->files_mu);
    if ((rc = wal_files_push(w, first_lsn)) == QV_OK)
        w->files_created++;
    pthread_mutex_unlock(&w->files_mu);
    if (rc != QV_OK) {
        qv_io_close(f);
        return qv_error_set(err, rc, "WAL %s: out of memory", w->dir);
    }
    qv_io_close(w->cur); /* everything in it is durable already */
    w->cur = f;
    w->cur_size = WAL_FILE_HDR_BYTES;
    return QV_OK;
}

/* Write inflight (records from first_lsn on) and make it durable. Runs without
 * mu, as the only flusher. */
static qv_err wal_write_batch(qv_wal *w, uint64_t first_lsn, uint64_t *ns, bool *rolled,
                              qv_error *err)
{
    qv_err rc;
    uint64_t t0;

    *rolled = false;
    w->tail_clean = true; /* until something is written past cur_size */
    if (!w->cur || (w->cur_size >= w->file_bytes && w->cur_size > WAL_FILE_HDR_BYTES)) {
        if ((rc = wal_roll(w, first_lsn, err)) != QV_OK)
            return rc;
        *rolled = true;
        w->dir_dirty = true;
    }
    t0 = now_ns();
    rc = qv_io_write_sync(w->cur, w->inflight.data, w->inflight.len, w->cur_size, err);
    *ns = now_ns() - t0;
    if (rc == QV_OK && w->dir_dirty && (rc = qv_io_sync_dir(w->io, w->dir, err)) == QV_OK)
        w->dir_dirty = false;
    if (rc != QV_OK) {
        w->tail_clean = qv_io_truncate(w->cur, w->cur_size, NULL) == QV_OK;
        return rc;
    }
    w->cur_size += w->inflight.len;
    return QV_OK;
}

/* Flush everything pending as one batch. Called with mu held, !flushing, no
 * failure, pending non-empty; returns with mu held and waiters woken. On
 * failure err gets the I/O error itself (waiters get it through fail_err). */
static qv_err wal_flush_locked(qv_wal *w, qv_error *err)
{
    uint64_t first = w->pending_first_lsn, last = w->next_lsn - 1, ns = 0;
    qv_buf spare = w->inflight;
    qv_error e = {0};
    bool rolled = false;
    qv_err rc;

    assert(!w->flushing && w->failed == QV_OK && w->pending.len > 0);
    w->inflight = w->pending;
    w->pending = spare;
    w->pending.len = 0;
    w->pending_first_lsn = w->next_lsn;
    w->flushing = true;
    pthread_mutex_unlock(&w->mu);

    rc = wal_write_batch(w, first, &ns, &rolled, &e);

    pthread_mutex_lock(&w->mu);
    w->flushing = false;
    if (rc != QV_OK) {
        w->failed = rc;
        w->fail_err = e;
        if (err)
            *err = e;
        qv_log_error("wal", "%s: batch of LSN %llu..%llu failed, WAL stops accepting writes "
                     "(%s): %s", w->dir, (unsigned long long)first, (unsigned long long)last,
                     rc == QV_ENOSPC ? "until space is freed" : "fail-stop", e.msg);
    } else {
        w->durable_lsn = last;
        w->st.fsyncs++;
        w->st.fsync_ns_sum += ns;
        if (ns > w->st.fsync_ns_max)
            w->st.fsync_ns_max = ns;
        w->st.write_bytes += w->inflight.len + (rolled ? WAL_FILE_HDR_BYTES : 0);
        w->st.dir_fsyncs += rolled;
    }
    w->inflight.len = 0;
    if (w->inflight.cap > 2 * w->buffer_bytes) /* do not keep a huge batch's memory */
        qv_buf_fini(&w->inflight);
    pthread_cond_broadcast(&w->cv);
    return rc;
}

static qv_err wal_fail_report(const qv_wal *w, qv_error *err)
{
    qv_err rc = qv_error_set(err, w->failed, "WAL %s stopped after an earlier failure: %s",
                             w->dir, w->fail_err.msg);
    if (err)
        err->sys_errno = w->fail_err.sys_errno;
    return rc;
}

qv_err qv_wal_sync(qv_wal *w, uint64_t upto_lsn, qv_error *err)
{
    qv_err rc = QV_OK;

    pthread_mutex_lock(&w->mu);
    if (upto_lsn >= w->next_lsn)
        upto_lsn = w->next_lsn - 1;
    for (;;) {
        if (w->durable_lsn >= upto_lsn) /* before `failed`: durable is durable */
            break;
        if (w->failed != QV_OK) {
            rc = wal_fail_report(w, err);
            break;
        }
        if (w->flushing)
            pthread_cond_wait(&w->cv, &w->mu);
        else if ((rc = wal_flush_locked(w, err)) != QV_OK)
            break; /* the batch held upto_lsn: it ends at next_lsn - 1 */
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

qv_err qv_wal_append(qv_wal *w, uint8_t type, const void *rec, size_t len, uint64_t *lsn_out,
                     qv_error *err)
{
    size_t need = WAL_REC_HDR_BYTES + len;
    bool flush;
    uint64_t lsn;

    if (type == 0)
        return qv_error_set(err, QV_EINVAL, "WAL record type 0 is reserved");
    if (len > QV_WAL_MAX_RECORD_BYTES)
        return qv_error_set(err, QV_ETOOBIG, "WAL record of %zu bytes exceeds the limit of %zu",
                            len, QV_WAL_MAX_RECORD_BYTES);
    if (len && !rec)
        return qv_error_set(err, QV_EINVAL, "WAL record of %zu bytes has no data", len);
    pthread_mutex_lock(&w->mu);
    if (w->failed != QV_OK) {
        qv_err rc = wal_fail_report(w, err);
        pthread_mutex_unlock(&w->mu);
        return rc;
    }
    if (!qv_buf_reserve(&w->pending, need)) {
        w->pending.failed = false; /* nothing was changed; later appends may fit */
        pthread_mutex_unlock(&w->mu);
        return qv_error_set(err, QV_ENOMEM, "WAL %s: no memory to buffer %zu bytes", w->dir,
                            need);
    }
    lsn = w->next_lsn++;
    /* a flush writes all of pending at once: its first record starts a batch */
    wal_record_encode(w->pending.data + w->pending.len, type, lsn, rec, (uint32_t)len,
                      w->pending.len == 0);
    w->pending.len += need;
    w->st.appends++;
    w->st.append_bytes += len;
    flush = w->pending.len >= w->buffer_bytes;
    pthread_mutex_unlock(&w->mu);
    if (lsn_out)
        *lsn_out = lsn;
    return flush ? qv_wal_sync(w, lsn, err) : QV_OK;
}

qv_err qv_wal_append_sync(qv_wal *w, uint8_t type, const void *rec, size_t len,
                          uint64_t *lsn_out, qv_error *err)
{
    uint64_t lsn;
    qv_err rc;

    if ((rc = qv_wal_append(w, type, rec, len, &lsn, err)) != QV_OK)
        return rc;
    if ((rc = qv_wal_sync(w, lsn, err)) != QV_OK)
        return rc;
    if (lsn_out)
        *lsn_out = lsn;
    return QV_OK;
}

qv_err qv_wal_truncate_before(qv_wal *w, uint64_t lsn, qv_error *err)
{
    char path[PATH_MAX];
    size_t del = 0;
    qv_err rc = QV_OK;

    pthread_mutex_lock(&w->files_mu);
    /* files[i] holds LSNs [files[i], files[i + 1]); the newest file always stays */
    while (del + 1 < w->nfiles && w->files[del + 1] <= lsn) {
        if ((rc = wal_path(w, w->files[del], path, err)) != QV_OK ||
            (rc = qv_io_unlink(w->io, path, err)) != QV_OK)
            break;
        del++;
    }
    if (del) /* files is NULL while the WAL has none */
        memmove(w->files, w->files + del, (w->nfiles - del) * sizeof *w->files);
    w->nfiles -= del;
    w->files_deleted += del;
    pthread_mutex_unlock(&w->files_mu);
    if (del > 0) {
        qv_err drc = qv_io_sync_dir(w->io, w->dir, rc == QV_OK ? err : NULL);
        if (rc == QV_OK)
            rc = drc;
        pthread_mutex_lock(&w->mu);
        w->st.dir_fsyncs++;
        pthread_mutex_unlock(&w->mu);
    }
    return rc;
}

qv_err qv_wal_resume(qv_wal *w, qv_error *err)
{
    qv_err rc = QV_OK;

    pthread_mutex_lock(&w->mu);
    if (w->failed == QV_ENOSPC && w->tail_clean && !w->flushing) {
        qv_log_warn("wal", "%s: accepting writes again after running out of space; records "
                    "of LSN %llu..%llu were never acknowledged and are dropped", w->dir,
                    (unsigned long long)w->durable_lsn + 1,
                    (unsigned long long)w->next_lsn - 1);
        w->pending.len = 0;
        w->pending.failed = false;
        w->next_lsn = w->durable_lsn + 1;
        w->pending_first_lsn = w->next_lsn;
        w->failed = QV_OK;
        memset(&w->fail_err, 0, sizeof w->fail_err);
    } else if (w->failed != QV_OK) {
        rc = wal_fail_report(w, err);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

uint64_t qv_wal_last_lsn(qv_wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t lsn = w->next_lsn - 1;
    pthread_mutex_unlock(&w->mu);
    return lsn;
}

uint64_t qv_wal_durable_lsn(qv_wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t lsn = w->durable_lsn;
    pthread_mutex_unlock(&w->mu);
    return lsn;
}

qv_err qv_wal_status(qv_wal *w, qv_error *err)
{
    qv_err rc = QV_OK;

    pthread_mutex_lock(&w->mu);
    if (w->failed != QV_OK)
        rc = wal_fail_report(w, err);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void qv_wal_stats(qv_wal *w, qv_wal_counters *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    out->last_lsn = w->next_lsn - 1;
    out->durable_lsn = w->durable_lsn;
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_lock(&w->files_mu);
    out->files = w->nfiles;
    out->files_created = w->files_created;
    out->files_deleted = w->files_deleted;
    pthread_mutex_unlock(&w->files_mu);
}

void qv_wal_close(qv_wal *w)
{
    qv_error e = {0};

    if (!w)
        return;
    if (qv_wal_status(w, NULL) == QV_OK && qv_wal_sync(w, UINT64_MAX, &e) != QV_OK)
        qv_log_error("wal", "%s: final sync at close failed: %s", w->dir, e.msg);
    wal_free(w);
}
