/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/io.h - the one file-I/O seam (SQLite's VFS, Valkey's rio). Every byte
 * the storage modules read or write goes through a qv_io handle whose backend
 * is io_uring, POSIX, or a test wrapper (faulty) around another handle.
 *
 * Errors: every call returns qv_err and fills an optional qv_error whose
 * message names the operation and the path; ENOSPC and EDQUOT become
 * QV_ENOSPC, every other failed syscall QV_EIO (err->sys_errno keeps errno,
 * e.g. ENOENT for a missing file). A qv_io handle and its files may be used
 * from many threads at once; concurrent writes to overlapping ranges of one
 * file are the caller's business, as with pwrite(2). */
#ifndef QUIVER_IO_H
#define QUIVER_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/err.h"

typedef struct qv_io qv_io;     /* opaque backend handle */
typedef struct qv_file qv_file; /* opaque open file */

/* Backends tests iterate over with qv_io_open_backend_index: 0 posix, 1 io_uring. */
#define QV_IO_BACKEND_COUNT 2

/* Open or pick a backend: "auto" tries io_uring and, when it is not compiled
 * in or cannot be set up here (EPERM/ENOSYS under seccomp, old kernel), logs
 * one warning per process and uses POSIX; "uring" fails with QV_EUNAVAIL
 * instead; "posix" always works. Unknown names are QV_EINVAL. Free with
 * qv_io_free. */
qv_err qv_io_open_default(const char *backend, qv_io **out, qv_error *err);
/* Backend i of QV_IO_BACKEND_COUNT (tests); QV_EUNAVAIL if i is unusable here. */
qv_err qv_io_open_backend_index(int i, qv_io **out, qv_error *err);
/* Name of backend i ("posix", "uring"), or NULL when i is out of range. */
const char *qv_io_backend_index_name(int i);
/* "posix", "uring", "faulty" or "crashsim". */
const char *qv_io_backend_name(const qv_io *io);
/* Release a handle whose files are all closed. NULL is a no-op. */
void qv_io_free(qv_io *io);

/* Open flags. Without QV_IO_WRITE a file is read-only. */
enum {
    QV_IO_READ = 0,
    QV_IO_WRITE = 1u << 0,  /* read-write */
    QV_IO_CREATE = 1u << 1, /* create if missing (mode 0644) */
    QV_IO_TRUNC = 1u << 2,  /* truncate to 0 on open */
    QV_IO_EXCL = 1u << 3,   /* with CREATE: fail if it exists (sys_errno EEXIST) */
    QV_IO_APPEND = 1u << 4, /* O_APPEND: every write lands at the end, its offset ignored */
    QV_IO_DIRECT = 1u << 5, /* O_DIRECT where the filesystem supports it, else buffered;
                               the caller must align buffers, offsets and sizes to 4 KiB */
};

/* Open path; *out is set on success and closed with qv_io_close. */
qv_err qv_io_open(qv_io *io, const char *path, unsigned flags, qv_file **out, qv_error *err);
/* Close without syncing (close(2) errors are ignored: only fsync reports). NULL is a no-op. */
void qv_io_close(qv_file *f);
/* The path the file was opened with (borrowed, lives as long as f). */
const char *qv_io_file_path(const qv_file *f);

/* Write all n bytes at off, retrying short writes; an error may leave a prefix written. */
qv_err qv_io_pwrite(qv_file *f, const void *p, size_t n, uint64_t off, qv_error *err);
/* Read up to n bytes at off, retrying short reads; *got < n only at end of file. */
qv_err qv_io_pread(qv_file *f, void *p, size_t n, uint64_t off, size_t *got, qv_error *err);
/* Write all n bytes at off, then fdatasync, as one operation: on io_uring one
 * write SQE linked (IOSQE_IO_LINK) to an fsync SQE, each completion checked.
 * QV_OK means the bytes are durable. A failed fsync is reported, never retried. */
qv_err qv_io_write_sync(qv_file *f, const void *p, size_t n, uint64_t off, qv_error *err);
qv_err qv_io_fsync(qv_file *f, qv_error *err);
qv_err qv_io_fdatasync(qv_file *f, qv_error *err);
qv_err qv_io_truncate(qv_file *f, uint64_t size, qv_error *err);
qv_err qv_io_file_size(qv_file *f, uint64_t *out, qv_error *err);

/* Path operations. rename replaces `to` atomically; mkdir succeeds when path
 * is already a directory; sync_dir fsyncs a directory so entries created,
 * renamed or removed in it survive a crash. */
qv_err qv_io_rename(qv_io *io, const char *from, const char *to, qv_error *err);
qv_err qv_io_unlink(qv_io *io, const char *path, qv_error *err);
qv_err qv_io_mkdir(qv_io *io, const char *path, qv_error *err);
qv_err qv_io_sync_dir(qv_io *io, const char *path, qv_error *err);
/* mkdir, and when the directory is new, fsync its parent so the entry survives a crash. */
qv_err qv_io_mkdir_durable(qv_io *io, const char *path, qv_error *err);
/* Whether path exists (any type); false on ENOENT, errors otherwise. */
qv_err qv_io_exists(qv_io *io, const char *path, bool *out, qv_error *err);
/* Entry names of dir except "." and "..", sorted by strcmp. The caller frees
 * the array with qv_io_free_names. */
qv_err qv_io_list_dir(qv_io *io, const char *dir, char ***names_out, size_t *count_out,
                      qv_error *err);
void qv_io_free_names(char **names, size_t count); /* NULL is a no-op */

/* Make path hold exactly data, atomically across crashes: write path.tmp,
 * fsync it, rename over path, fsync the parent directory (Valkey's rdbSave).
 * On failure the temp file is removed and path is untouched. */
qv_err qv_io_write_file_atomic(qv_io *io, const char *path, const void *data, size_t len,
                               qv_error *err);
/* Read a whole file of at most max_bytes (QV_ETOOBIG beyond) into a buffer the
 * caller frees with qv_free; it is NUL-terminated after *len_out bytes. */
qv_err qv_io_read_file(qv_io *io, const char *path, size_t max_bytes, void **data_out,
                       size_t *len_out, qv_error *err);

/* --- faulty: a test backend wrapping another (compiled into the core library) ----------
 * Counts operations and fails the nth write, fsync or directory fsync with a
 * chosen errno. Writes are pwrite and the write half of write_sync; fsyncs are
 * fsync, fdatasync and the sync half of write_sync (whose write then reaches
 * the inner file before the sync fails, as a real failed fsync leaves it). */
typedef enum qv_io_fault_op {
    QV_IO_FAULT_NONE,
    QV_IO_FAULT_WRITE,
    QV_IO_FAULT_FSYNC,
    QV_IO_FAULT_DIRSYNC,
} qv_io_fault_op;

typedef struct qv_io_fault {
    qv_io_fault_op op;
    uint64_t nth; /* 1-based, counted from when the fault is armed */
    int errnum;   /* ENOSPC, EIO, ... */
    bool sticky;  /* every later op of that kind fails too (a dead disk) */
    bool torn;    /* writes: the first half of the bytes land before the failure */
} qv_io_fault;

typedef struct qv_io_faulty_counts {
    uint64_t opens, reads, writes, fsyncs, dirsyncs, truncates, renames, unlinks;
    uint64_t faults; /* operations failed on purpose */
} qv_io_faulty_counts;

/* Wrap inner (borrowed; must outlive the wrapper), arming fault if non-NULL.
 * Free with qv_io_free, which leaves inner open. */
qv_err qv_io_faulty_new(qv_io *inner, const qv_io_fault *fault, qv_io **out, qv_error *err);
/* Replace the armed fault (NULL disarms); nth counts from now. No-op unless io is faulty. */
void qv_io_faulty_arm(qv_io *io, const qv_io_fault *fault);
/* Operation counts since creation; zeros unless io is faulty. */
void qv_io_faulty_get_counts(qv_io *io, qv_io_faulty_counts *out);

/* --- crashsim: a test backend simulating power loss (compiled into the core library) ---
 * Wraps inner (borrowed; must outlive it) and models, for everything under root, what
 * a power loss would leave: file bytes not yet fsynced and directory entries (creates,
 * renames, unlinks, mkdirs) whose directory was not fsynced yet. At the crash_at_sync-th
 * sync point (fsync, fdatasync, write_sync, sync_dir; just before it takes effect), or
 * at qv_io_crashsim_crash, it rewrites root to the surviving state and calls on_crash
 * (the harness typically _exit()s there); afterwards every operation fails with EIO.
 * What is on disk under root when it is created counts as durable. io_crashsim.c has
 * the model in detail. Free with qv_io_free. */
typedef enum qv_io_crash_mode {
    QV_IO_CRASH_DROP, /* every unsynced write and directory operation is lost */
    QV_IO_CRASH_KEEP, /* all of them survive */
    QV_IO_CRASH_TEAR, /* a prefix of each directory's operations; per file the synced or
                         the current size, and each differing sector either version */
} qv_io_crash_mode;

typedef struct qv_io_crash_opts {
    const char *root;         /* copied; an existing directory */
    qv_io_crash_mode mode;
    uint64_t crash_at_sync;   /* 1-based; 0: only on qv_io_crashsim_crash */
    uint64_t seed;            /* TEAR choices */
    unsigned sector_bytes;    /* tear granularity; 0: 512 */
    bool garbage;             /* TEAR: a torn sector may also hold random bytes */
    bool skip_inner_sync;     /* do not pass syncs to inner (the model decides anyway) */
    void (*on_crash)(void *ctx, uint64_t syncs); /* syncs: sync points seen; mu held */
    void *ctx;
} qv_io_crash_opts;

qv_err qv_io_crashsim_new(qv_io *inner, const qv_io_crash_opts *o, qv_io **out,
                          qv_error *err);
/* Crash now (no-op unless io is crashsim, or when it has crashed already). */
void qv_io_crashsim_crash(qv_io *io);
/* Sync points seen so far; 0 unless io is crashsim. */
uint64_t qv_io_crashsim_syncs(qv_io *io);

#endif
