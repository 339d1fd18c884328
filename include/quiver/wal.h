/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/wal.h - write-ahead log of one shard, atop qv_io; the on-disk format
 * is documented in src/storage/wal/wal_format.c.
 *
 * Records get consecutive LSNs from 1. qv_wal_append buffers a record;
 * qv_wal_sync makes it durable with group commit: one caller writes and
 * fsyncs everything pending while the others wait for the fsync that covers
 * their LSN. A record is durable (and may be acknowledged) only once a sync
 * covering it returned QV_OK. A failed write or fsync is fail-stop: it is
 * never retried and every later append or sync returns that error, until the
 * WAL is closed and reopened. All calls but open/close are thread-safe. */
#ifndef QUIVER_WAL_H
#define QUIVER_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "quiver/err.h"
#include "quiver/io.h"

#define QV_WAL_MAX_RECORD_BYTES ((size_t)64 << 20)   /* payload cap */
#define QV_WAL_DEFAULT_FILE_BYTES ((size_t)64 << 20)
#define QV_WAL_DEFAULT_BUFFER_BYTES ((size_t)4 << 20)

typedef struct qv_wal qv_wal; /* opaque */

/* Called once per intact record during qv_wal_open, in LSN order; rec is
 * borrowed for the call. A non-QV_OK return aborts the open with that code. */
typedef qv_err (*qv_wal_replay_fn)(void *ctx, uint8_t type, const void *rec, size_t len,
                                   uint64_t lsn);

typedef struct qv_wal_opts {
    const char *dir;          /* copied; created (and its parent fsynced) if missing */
    size_t file_bytes;        /* roll to a new file past this size; 0: default */
    qv_io *io;                /* borrowed; must outlive the wal */
    uint64_t replay_from_lsn; /* records below this are verified but not replayed; an
                                 empty WAL's first record gets this LSN (at least 1) */
    size_t buffer_bytes;      /* an append flushes once this much is pending; 0: default */
} qv_wal_opts;

typedef struct qv_wal_counters {
    uint64_t appends;             /* records appended since open */
    uint64_t append_bytes;        /* their payload bytes */
    uint64_t write_bytes;         /* bytes written to WAL files, framing included */
    uint64_t fsyncs;              /* group commits: one linked write+fdatasync each */
    uint64_t fsync_ns_sum;        /* time spent in those, summed */
    uint64_t fsync_ns_max;
    uint64_t dir_fsyncs;
    uint64_t files_created;
    uint64_t files_deleted;
    uint64_t files;               /* WAL files on disk now */
    uint64_t replayed_records;    /* passed to the replay callback at open */
    uint64_t torn_tails_repaired; /* 0 or 1 per open */
    uint64_t last_lsn;            /* last LSN assigned */
    uint64_t durable_lsn;         /* every LSN up to this one is fsynced */
} qv_wal_counters;

/* Open or create the WAL in o->dir, replaying intact records through fn (may
 * be NULL). A torn tail (a partial or bad-checksum record, or a partial file
 * header, at the end of the newest file with nothing valid after it) is
 * truncated, logged and counted. Damage before the tail, or anywhere in an
 * older file, is QV_ECORRUPT naming the file and offset; fn may then have seen
 * a prefix of the records. */
qv_err qv_wal_open(const qv_wal_opts *o, qv_wal_replay_fn fn, void *ctx, qv_wal **out,
                   qv_error *err);
/* Buffer a record (type 1..255, len <= QV_WAL_MAX_RECORD_BYTES) and assign
 * its LSN (lsn_out may be NULL). Not durable until qv_wal_sync covers it.
 * QV_EINVAL/QV_ETOOBIG for bad input, the fail-stop error once failed. */
qv_err qv_wal_append(qv_wal *w, uint8_t type, const void *rec, size_t len, uint64_t *lsn_out,
                     qv_error *err);
/* Return once every record up to upto_lsn (UINT64_MAX: all appended so far)
 * is durable, writing and fsyncing pending records, or waiting for the thread
 * that does. QV_EIO or QV_ENOSPC if that write or fsync failed. */
qv_err qv_wal_sync(qv_wal *w, uint64_t upto_lsn, qv_error *err);
/* qv_wal_append then qv_wal_sync of that record; QV_OK means durable. */
qv_err qv_wal_append_sync(qv_wal *w, uint8_t type, const void *rec, size_t len,
                          uint64_t *lsn_out, qv_error *err);
/* Checkpoint: delete whole files whose records all have LSN < lsn (never the
 * newest file), then fsync the directory. */
qv_err qv_wal_truncate_before(qv_wal *w, uint64_t lsn, qv_error *err);
uint64_t qv_wal_last_lsn(qv_wal *w);    /* last assigned; 0 when empty */
uint64_t qv_wal_durable_lsn(qv_wal *w); /* last fsynced */
/* After a disk-full failure (QV_ENOSPC) whose batch was cut off the file again, accept
 * writes again: records after the durable LSN (never acknowledged) are dropped and LSNs
 * continue after it. The caller makes sure no appended record still waits for its sync
 * (its writer must have been told of the failure). QV_OK when writable; any other
 * failure stays fail-stop and is returned. */
qv_err qv_wal_resume(qv_wal *w, qv_error *err);
/* QV_OK while writable, else the fail-stop error (with its message). */
qv_err qv_wal_status(qv_wal *w, qv_error *err);
void qv_wal_stats(qv_wal *w, qv_wal_counters *out);
/* Sync what is pending (best effort, logged on failure), then release. NULL is a no-op. */
void qv_wal_close(qv_wal *w);

#endif
