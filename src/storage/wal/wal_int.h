/* SPDX-License-Identifier: Apache-2.0 */
/* wal_int.h - the qv_wal struct and framing helpers shared by wal_*.c. */
#ifndef QUIVER_WAL_INT_H
#define QUIVER_WAL_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "quiver/buf.h"
#include "quiver/wal.h"

#define WAL_FILE_HDR_BYTES 32
#define WAL_REC_HDR_BYTES 17
#define WAL_NAME_MAX 64 /* "wal-" + 20 digits + ".log" + NUL fits */

typedef struct wal_rec_hdr {
    uint32_t len;
    bool batch_first; /* version 2: the first record of a write (group commit) */
    uint8_t type;
    uint64_t lsn;
    uint32_t crc;
} wal_rec_hdr;

/* wal_format.c */
void wal_file_header_encode(uint8_t out[WAL_FILE_HDR_BYTES], uint64_t first_lsn);
/* NULL if valid (first LSN in *first_lsn, format version in *version), else why not;
 * *intact tells a whole header of another version or size from a torn or damaged one. */
const char *wal_file_header_check(const uint8_t *p, uint64_t *first_lsn, uint32_t *version,
                                  bool *intact);
/* Header and payload of one record into dst (WAL_REC_HDR_BYTES + len bytes); batch_first
 * marks the first record of a write. */
void wal_record_encode(uint8_t *dst, uint8_t type, uint64_t lsn, const void *rec, uint32_t len,
                       bool batch_first);
void wal_record_header_decode(const uint8_t *p, wal_rec_hdr *h);
uint32_t wal_record_crc(const wal_rec_hdr *h, const void *payload);
void wal_file_name(char out[WAL_NAME_MAX], uint64_t first_lsn);
bool wal_file_name_parse(const char *name, uint64_t *first_lsn);

struct qv_wal {
    char *dir;        /* owned copy of opts.dir */
    qv_io *io;        /* borrowed */
    size_t file_bytes;
    size_t buffer_bytes;

    pthread_mutex_t mu; /* guards the fields down to `st` */
    pthread_cond_t cv;  /* broadcast when a flush ends (durable_lsn or failed changed) */
    uint64_t next_lsn;  /* next LSN append assigns */
    uint64_t durable_lsn;
    qv_buf pending;             /* encoded records after durable_lsn not yet taken by a flush */
    uint64_t pending_first_lsn; /* LSN of the first record in pending */
    bool flushing;              /* one thread is writing `inflight`; it owns the writer fields */
    qv_err failed;              /* sticky fail-stop code; QV_OK while healthy */
    qv_error fail_err;
    qv_wal_counters st; /* guarded by mu, except its file counts (always 0 here) */

    /* writer fields: touched only by the flushing thread, open and close */
    qv_buf inflight;
    qv_file *cur;      /* newest file, open for writing; NULL until the first roll */
    uint64_t cur_size; /* bytes of cur that are durable (the end of its last synced record) */
    bool dir_dirty;    /* cur's directory entry is not fsynced yet (a roll whose batch failed) */
    bool tail_clean;   /* after a failed batch: cur was cut back to cur_size */

    pthread_mutex_t files_mu; /* guards the fields below */
    uint64_t *files;          /* first LSNs of the files on disk, ascending */
    size_t nfiles, files_cap;
    uint64_t files_created, files_deleted;
};

/* wal_writer.c */
qv_err wal_files_push(qv_wal *w, uint64_t first_lsn); /* caller holds files_mu */
/* Full path of the file starting at first_lsn into out (PATH_MAX). */
qv_err wal_path(const qv_wal *w, uint64_t first_lsn, char *out, qv_error *err);

/* wal_replay.c: scan dir, replay, repair a torn tail, open the newest file for
 * writing; fills next_lsn, durable_lsn, files[], cur, cur_size. */
qv_err wal_recover(qv_wal *w, uint64_t replay_from, qv_wal_replay_fn fn, void *ctx,
                   qv_error *err);

#endif
