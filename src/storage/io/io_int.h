/* SPDX-License-Identifier: Apache-2.0 */
/* io_int.h - the backend contract behind quiver/io.h, shared by io/ files only.
 *
 * A backend is an ops table plus a struct whose first member is a qv_io. Data
 * operations (pwrite, pread, write_sync, sync) are the backend's own; the
 * metadata operations of the POSIX backend (io_posix_*) are reused by io_uring,
 * since opening, renaming or listing gain nothing from a ring. Ops fill err via
 * io_sys_error so messages always name the operation and the path. */
#ifndef QUIVER_IO_INT_H
#define QUIVER_IO_INT_H

#include "quiver/io.h"

typedef struct qv_io_ops {
    const char *name;
    qv_err (*open)(qv_io *io, const char *path, unsigned flags, qv_file **out, qv_error *err);
    void (*close)(qv_file *f);
    qv_err (*pwrite)(qv_file *f, const void *p, size_t n, uint64_t off, qv_error *err);
    qv_err (*pread)(qv_file *f, void *p, size_t n, uint64_t off, size_t *got, qv_error *err);
    qv_err (*write_sync)(qv_file *f, const void *p, size_t n, uint64_t off, qv_error *err);
    qv_err (*sync)(qv_file *f, bool datasync, qv_error *err);
    qv_err (*truncate)(qv_file *f, uint64_t size, qv_error *err);
    qv_err (*size)(qv_file *f, uint64_t *out, qv_error *err);
    qv_err (*rename)(qv_io *io, const char *from, const char *to, qv_error *err);
    qv_err (*unlink)(qv_io *io, const char *path, qv_error *err);
    qv_err (*mkdir)(qv_io *io, const char *path, qv_error *err);
    qv_err (*sync_dir)(qv_io *io, const char *path, qv_error *err);
    qv_err (*exists)(qv_io *io, const char *path, bool *out, qv_error *err);
    qv_err (*list_dir)(qv_io *io, const char *dir, char ***names, size_t *count, qv_error *err);
    void (*destroy)(qv_io *io);
} qv_io_ops;

struct qv_io {
    const qv_io_ops *ops;
};

/* Backends that wrap another file embed this as their first member. */
struct qv_file {
    qv_io *io;  /* the backend that opened it; its ops serve the file */
    int fd;     /* -1 for wrapper files */
    char *path; /* owned copy */
};

/* Fill err from errno-style errnum: ENOSPC/EDQUOT -> QV_ENOSPC, else QV_EIO;
 * the message is the formatted context (op and path) plus strerror. */
qv_err io_sys_error(qv_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* POSIX implementations, also used by io_uring for everything but data I/O. */
qv_err io_posix_new(qv_io **out, qv_error *err);
qv_err io_posix_open(qv_io *io, const char *path, unsigned flags, qv_file **out, qv_error *err);
void io_posix_close(qv_file *f);
qv_err io_posix_truncate(qv_file *f, uint64_t size, qv_error *err);
qv_err io_posix_size(qv_file *f, uint64_t *out, qv_error *err);
qv_err io_posix_rename(qv_io *io, const char *from, const char *to, qv_error *err);
qv_err io_posix_unlink(qv_io *io, const char *path, qv_error *err);
qv_err io_posix_mkdir(qv_io *io, const char *path, qv_error *err);
qv_err io_posix_sync_dir(qv_io *io, const char *path, qv_error *err);
qv_err io_posix_exists(qv_io *io, const char *path, bool *out, qv_error *err);
qv_err io_posix_list_dir(qv_io *io, const char *dir, char ***names, size_t *count,
                         qv_error *err);

#ifdef QV_HAVE_URING
/* QV_EUNAVAIL (with the reason) when rings cannot be set up or lack an opcode. */
qv_err io_ring_new(qv_io **out, qv_error *err);
#endif

#endif
