/* SPDX-License-Identifier: Apache-2.0 */
/* wal_replay.c - recovery at open: find the WAL files, verify and replay every
 * record, repair a torn tail, refuse mid-log damage (format: wal_format.c).
 *
 * Each file is read through a sliding window (1 MiB, grown for big records).
 * When a record of the newest file fails, the rest of the file is searched for
 * any valid record with a plausible LSN (>= the one expected, and no more than
 * one per 17 bytes beyond it): finding one means acknowledged data lies past
 * the damage, which is QV_ECORRUPT; finding none means a torn tail, truncated.
 * After recovery the newest file is fdatasync'ed and the directory fsynced,
 * so records replayed now (perhaps written, but never synced, by a process
 * that crashed) are durable before anything new is written after them. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/log.h"
#include "storage/wal/wal_int.h"

#define READ_WINDOW_BYTES ((size_t)1 << 20)

typedef struct wal_reader {
    qv_file *f;
    const char *path;
    uint64_t size;
    uint8_t *buf;
    size_t cap;
    uint64_t base; /* buf holds file bytes [base, base + len) */
    size_t len;
    uint32_t version; /* of the file's format */
} wal_reader;

typedef struct replay_state {
    qv_wal_replay_fn fn;
    void *ctx;
    uint64_t from;   /* replay LSNs >= from */
    uint64_t expect; /* next LSN expected; valid once have_expect */
    bool have_expect;
} replay_state;

/* Point *out at file bytes [off, off + n); the caller ensures off + n <= size. */
static qv_err rd_get(wal_reader *r, uint64_t off, size_t n, const uint8_t **out, qv_error *err)
{
    size_t want, got;
    qv_err rc;

    if (off >= r->base && off + n <= r->base + r->len) {
        *out = r->buf + (off - r->base);
        return QV_OK;
    }
    if (n > r->cap || !r->buf) {
        size_t cap = n > READ_WINDOW_BYTES ? n : READ_WINDOW_BYTES;
        uint8_t *buf = qv_realloc(r->buf, cap);
        if (!buf)
            return qv_error_set(err, QV_ENOMEM, "replay %s: out of memory", r->path);
        r->buf = buf;
        r->cap = cap;
    }
    want = r->size - off < r->cap ? (size_t)(r->size - off) : r->cap;
    r->len = 0;
    if ((rc = qv_io_pread(r->f, r->buf, want, off, &got, err)) != QV_OK)
        return rc;
    r->base = off;
    r->len = got;
    if (got < n)
        return qv_error_set(err, QV_EIO, "%s: file shrank while reading at offset %llu", r->path,
                            (unsigned long long)off);
    *out = r->buf;
    return QV_OK;
}

/* Check the record at pos; *why is NULL when intact (h, payload filled). */
static qv_err rec_read(wal_reader *r, uint64_t pos, wal_rec_hdr *h, const uint8_t **payload,
                       const char **why, qv_error *err)
{
    const uint8_t *p;
    qv_err rc;

    *why = NULL;
    if (r->size - pos < WAL_REC_HDR_BYTES) {
        *why = "incomplete record header";
        return QV_OK;
    }
    if ((rc = rd_get(r, pos, WAL_REC_HDR_BYTES, &p, err)) != QV_OK)
        return rc;
    wal_record_header_decode(p, h);
    if (h->len > QV_WAL_MAX_RECORD_BYTES)
        *why = "record length over the limit";
    else if (h->type == 0)
        *why = "record of type 0";
    else if (r->size - pos - WAL_REC_HDR_BYTES < h->len)
        *why = "record extends past the end of the file";
    if (*why)
        return QV_OK;
    if ((rc = rd_get(r, pos, WAL_REC_HDR_BYTES + h->len, &p, err)) != QV_OK)
        return rc;
    *payload = p + WAL_REC_HDR_BYTES;
    if (wal_record_crc(h, *payload) != h->crc)
        *why = "record checksum mismatch";
    return QV_OK;
}

/* Is there a valid record with LSN >= min_lsn anywhere in [from, size)? With
 * batch_first, only one that starts a batch counts. */
static qv_err find_valid_after(wal_reader *r, uint64_t from, uint64_t min_lsn, bool batch_first,
                               bool *found, uint64_t *at, uint64_t *lsn, qv_error *err)
{
    uint64_t max_lsn = min_lsn + (r->size - from) / WAL_REC_HDR_BYTES + 1;
    const uint8_t *p, *payload;
    const char *why;
    wal_rec_hdr h;
    qv_err rc;

    *found = false;
    for (uint64_t pos = from; pos + WAL_REC_HDR_BYTES <= r->size; pos++) {
        if ((rc = rd_get(r, pos, WAL_REC_HDR_BYTES, &p, err)) != QV_OK)
            return rc;
        wal_record_header_decode(p, &h);
        if (h.type == 0 || h.lsn < min_lsn || h.lsn > max_lsn ||
            h.len > r->size - pos - WAL_REC_HDR_BYTES || (batch_first && !h.batch_first))
            continue; /* cheap filters before reading a payload */
        if ((rc = rec_read(r, pos, &h, &payload, &why, err)) != QV_OK)
            return rc;
        if (!why) {
            *found = true;
            *at = pos;
            *lsn = h.lsn;
            return QV_OK;
        }
    }
    return QV_OK;
}

static void files_remove_last(qv_wal *w)
{
    pthread_mutex_lock(&w->files_mu);
    w->nfiles--;
    pthread_mutex_unlock(&w->files_mu);
}

/* The newest file's header is torn (a crash while creating it): unless valid
 * records follow, delete it. */
static qv_err repair_torn_header(qv_wal *w, wal_reader *r, uint64_t name_lsn, const char *why,
                                 replay_state *rs, qv_error *err)
{
    uint64_t at = 0, lsn = 0;
    bool found;
    qv_err rc;

    if ((rc = find_valid_after(r, 0, name_lsn, false, &found, &at, &lsn, err)) != QV_OK)
        return rc;
    if (found)
        return qv_error_set(err, QV_ECORRUPT,
                            "WAL file %s: %s at offset 0, but a valid record (LSN %llu) "
                            "follows at offset %llu",
                            r->path, why, (unsigned long long)lsn, (unsigned long long)at);
    qv_log_warn("wal", "%s: torn file header (%s) at offset 0, %llu bytes; removing the file",
                r->path, why, (unsigned long long)r->size);
    qv_io_close(r->f);
    r->f = NULL;
    if ((rc = qv_io_unlink(w->io, r->path, err)) != QV_OK)
        return rc;
    files_remove_last(w);
    w->st.torn_tails_repaired++;
    if (!rs->have_expect) { /* keep LSNs increasing even with no file left */
        rs->expect = name_lsn;
        rs->have_expect = true;
    }
    return QV_OK;
}

/* The newest file fails at pos: truncate it there unless a later batch (version 1: any
 * valid record) follows, which proves the damaged one was fsynced (wal_format.c). */
static qv_err repair_torn_tail(qv_wal *w, wal_reader *r, uint64_t pos, const char *why,
                               uint64_t expect, qv_error *err)
{
    uint64_t at = 0, lsn = 0;
    bool found;
    qv_err rc;

    if ((rc = find_valid_after(r, pos + 1, expect, r->version >= 2, &found, &at, &lsn, err)) !=
        QV_OK)
        return rc;
    if (found)
        return qv_error_set(err, QV_ECORRUPT,
                            "WAL file %s: %s at offset %llu (LSN %llu expected), but a valid "
                            "record (LSN %llu) of a later write follows at offset %llu",
                            r->path, why, (unsigned long long)pos, (unsigned long long)expect,
                            (unsigned long long)lsn, (unsigned long long)at);
    qv_log_warn("wal", "%s: torn tail at offset %llu (%s); truncating %llu bytes", r->path,
                (unsigned long long)pos, why, (unsigned long long)(r->size - pos));
    if ((rc = qv_io_truncate(r->f, pos, err)) != QV_OK)
        return rc;
    w->st.torn_tails_repaired++;
    return QV_OK;
}

/* Replay the records of one file from pos 32; *end gets the end of the last intact one. */
static qv_err replay_records(qv_wal *w, wal_reader *r, replay_state *rs, uint64_t *end,
                             const char **why, qv_error *err)
{
    const uint8_t *payload = NULL;
    uint64_t pos = WAL_FILE_HDR_BYTES;
    wal_rec_hdr h;
    qv_err rc;

    while (pos < r->size) {
        if ((rc = rec_read(r, pos, &h, &payload, why, err)) != QV_OK)
            return rc;
        if (*why)
            break;
        if (h.lsn != rs->expect)
            return qv_error_set(err, QV_ECORRUPT,
                                "WAL file %s: record at offset %llu has LSN %llu, expected %llu",
                                r->path, (unsigned long long)pos, (unsigned long long)h.lsn,
                                (unsigned long long)rs->expect);
        if (h.lsn >= rs->from) {
            if (rs->fn && (rc = rs->fn(rs->ctx, h.type, payload, h.len, h.lsn)) != QV_OK)
                return qv_error_set(err, rc, "WAL replay callback failed at LSN %llu (%s)",
                                    (unsigned long long)h.lsn, r->path);
            w->st.replayed_records++;
        }
        rs->expect++;
        pos += WAL_REC_HDR_BYTES + h.len;
    }
    *end = pos;
    return QV_OK;
}

static qv_err recover_file(qv_wal *w, uint64_t name_lsn, bool newest, replay_state *rs,
                           qv_error *err)
{
    char path[PATH_MAX];
    wal_reader r = {.path = path};
    const char *why = NULL;
    const uint8_t *p;
    uint64_t hdr_lsn = 0, end = 0;
    bool intact = false;
    qv_err rc;

    if ((rc = wal_path(w, name_lsn, path, err)) != QV_OK)
        return rc;
    if ((rc = qv_io_open(w->io, path, newest ? QV_IO_WRITE : QV_IO_READ, &r.f, err)) != QV_OK ||
        (rc = qv_io_file_size(r.f, &r.size, err)) != QV_OK)
        goto done;
    if (r.size < WAL_FILE_HDR_BYTES) {
        why = "file shorter than its header";
    } else {
        if ((rc = rd_get(&r, 0, WAL_FILE_HDR_BYTES, &p, err)) != QV_OK)
            goto done;
        why = wal_file_header_check(p, &hdr_lsn, &r.version, &intact);
    }
    if (why) {
        rc = newest && !intact
                 ? repair_torn_header(w, &r, name_lsn, why, rs, err)
                    : qv_error_set(err, QV_ECORRUPT, "WAL file %s: %s at offset 0", path, why);
        goto done;
    }
    if (hdr_lsn != name_lsn) {
        rc = qv_error_set(err, QV_ECORRUPT, "WAL file %s: header at offset 0 names LSN %llu",
                          path, (unsigned long long)hdr_lsn);
        goto done;
    }
    if (rs->have_expect && name_lsn != rs->expect) {
        rc = qv_error_set(err, QV_ECORRUPT,
                          "WAL file %s: starts at LSN %llu but the previous file ends at LSN "
                          "%llu (offset 0)", path, (unsigned long long)name_lsn,
                          (unsigned long long)(rs->expect - 1));
        goto done;
    }
    rs->expect = name_lsn;
    rs->have_expect = true;
    if ((rc = replay_records(w, &r, rs, &end, &why, err)) != QV_OK)
        goto done;
    if (why && !newest) {
        rc = qv_error_set(err, QV_ECORRUPT, "WAL file %s: %s at offset %llu (LSN %llu expected)",
                          path, why, (unsigned long long)end, (unsigned long long)rs->expect);
        goto done;
    }
    if (why && (rc = repair_torn_tail(w, &r, end, why, rs->expect, err)) != QV_OK)
        goto done;
    if (newest) {
        if ((rc = qv_io_fdatasync(r.f, err)) != QV_OK)
            goto done;
        w->cur = r.f;
        w->cur_size = end;
        r.f = NULL;
    }
done:
    qv_io_close(r.f);
    qv_free(r.buf);
    return rc;
}

/* Create dir if missing, making its entry durable in the parent. */
static qv_err ensure_dir(qv_wal *w, qv_error *err)
{
    char parent[PATH_MAX];
    const char *slash;
    bool exists;
    qv_err rc;

    if ((rc = qv_io_exists(w->io, w->dir, &exists, err)) != QV_OK || exists)
        return rc;
    if ((rc = qv_io_mkdir(w->io, w->dir, err)) != QV_OK)
        return rc;
    slash = strrchr(w->dir, '/');
    if (!slash || strlen(w->dir) >= sizeof parent)
        return qv_io_sync_dir(w->io, ".", err);
    if (slash == w->dir)
        return qv_io_sync_dir(w->io, "/", err);
    memcpy(parent, w->dir, (size_t)(slash - w->dir));
    parent[slash - w->dir] = '\0';
    return qv_io_sync_dir(w->io, parent, err);
}

qv_err wal_recover(qv_wal *w, uint64_t replay_from, qv_wal_replay_fn fn, void *ctx,
                   qv_error *err)
{
    replay_state rs = {.fn = fn, .ctx = ctx, .from = replay_from};
    char **names = NULL;
    size_t count = 0, nfiles;
    uint64_t lsn;
    qv_err rc;

    if ((rc = ensure_dir(w, err)) != QV_OK ||
        (rc = qv_io_list_dir(w->io, w->dir, &names, &count, err)) != QV_OK)
        return rc;
    for (size_t i = 0; i < count; i++) /* sorted by name, which is LSN order */
        if (wal_file_name_parse(names[i], &lsn) && wal_files_push(w, lsn) != QV_OK) {
            rc = qv_error_set(err, QV_ENOMEM, "open WAL %s: out of memory", w->dir);
            goto done;
        }
    nfiles = w->nfiles;
    for (size_t i = 0; i < nfiles; i++)
        if ((rc = recover_file(w, w->files[i], i + 1 == nfiles, &rs, err)) != QV_OK)
            goto done;
    /* an empty WAL continues after what the caller already holds (a shard restored from
     * its sealed segments, e.g. from S3, whose WAL is gone) */
    w->next_lsn = rs.have_expect ? rs.expect : replay_from > 1 ? replay_from : 1;
    if ((rc = qv_io_sync_dir(w->io, w->dir, err)) != QV_OK)
        goto done;
    w->st.dir_fsyncs++;
done:
    qv_io_free_names(names, count);
    return rc;
}
