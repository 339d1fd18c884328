/* SPDX-License-Identifier: Apache-2.0 */
/* io_faulty.c - test backend: wraps another qv_io, counts operations and fails
 * the nth write, fsync or directory fsync with a chosen errno (SQLite's
 * test_vfs, LevelDB's FaultInjectionTestEnv). Compiled into the core library so
 * unit and fault suites can build WALs and segments on top of it.
 *
 * Counting: writes are pwrite and the write half of write_sync; fsyncs are
 * fsync, fdatasync and the sync half of write_sync. When the sync half fails,
 * the bytes were still handed to the inner file first, as with a real failed
 * fsync whose data sits, unpersisted, in the page cache. A torn write lands the
 * first half of its bytes before failing. The armed fault and its counter are
 * guarded by mu; counts are atomics. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "quiver/alloc.h"
#include "storage/io/io_int.h"

enum { CNT_OPEN, CNT_READ, CNT_WRITE, CNT_FSYNC, CNT_DIRSYNC, CNT_TRUNC, CNT_RENAME,
       CNT_UNLINK, CNT_FAULT, CNT_N };

typedef struct faulty_io {
    qv_io base;
    qv_io *inner;          /* borrowed */
    _Atomic uint64_t counts[CNT_N];
    pthread_mutex_t mu;    /* guards fault and seen */
    qv_io_fault fault;
    uint64_t seen;         /* ops of fault.op since arming */
} faulty_io;

typedef struct faulty_file {
    qv_file base;
    qv_file *inner;
} faulty_file;

static faulty_io *fio(qv_io *io) { return (faulty_io *)io; }
static qv_file *inner_of(qv_file *f) { return ((faulty_file *)f)->inner; }

/* Count one op of kind op; return the errno to inject, or 0. */
static int fault_check(faulty_io *fy, qv_io_fault_op op, bool *torn)
{
    int cnt = op == QV_IO_FAULT_WRITE ? CNT_WRITE : op == QV_IO_FAULT_FSYNC ? CNT_FSYNC
                                                                             : CNT_DIRSYNC;
    int errnum = 0;

    atomic_fetch_add(&fy->counts[cnt], 1);
    pthread_mutex_lock(&fy->mu);
    if (fy->fault.op == op && fy->fault.nth > 0) {
        fy->seen++;
        if (fy->seen == fy->fault.nth || (fy->fault.sticky && fy->seen > fy->fault.nth)) {
            errnum = fy->fault.errnum ? fy->fault.errnum : EIO;
            *torn = fy->fault.torn;
        }
    }
    pthread_mutex_unlock(&fy->mu);
    if (errnum)
        atomic_fetch_add(&fy->counts[CNT_FAULT], 1);
    return errnum;
}

static qv_err faulty_open(qv_io *io, const char *path, unsigned flags, qv_file **out,
                          qv_error *err)
{
    faulty_file *ff;
    qv_file *in;
    qv_err rc;

    atomic_fetch_add(&fio(io)->counts[CNT_OPEN], 1);
    if ((rc = qv_io_open(fio(io)->inner, path, flags, &in, err)) != QV_OK)
        return rc;
    if ((ff = qv_calloc(1, sizeof *ff)) == NULL || (ff->base.path = qv_strdup(path)) == NULL) {
        qv_free(ff);
        qv_io_close(in);
        return qv_error_set(err, QV_ENOMEM, "open %s: out of memory", path);
    }
    ff->base.io = io;
    ff->base.fd = -1;
    ff->inner = in;
    *out = &ff->base;
    return QV_OK;
}

static void faulty_close(qv_file *f)
{
    qv_io_close(inner_of(f));
    qv_free(f->path);
    qv_free(f);
}

/* An injected write failure, optionally landing the first half of the bytes. */
static qv_err inject_write(qv_file *f, int errnum, bool torn, const void *p, size_t n,
                           uint64_t off, qv_error *err)
{
    if (torn && n / 2 > 0)
        qv_io_pwrite(inner_of(f), p, n / 2, off, NULL);
    return io_sys_error(err, errnum, "write %s at %llu (injected)", f->path,
                        (unsigned long long)off);
}

static qv_err faulty_pwrite(qv_file *f, const void *p, size_t n, uint64_t off, qv_error *err)
{
    bool torn = false;
    int e = fault_check(fio(f->io), QV_IO_FAULT_WRITE, &torn);

    if (e)
        return inject_write(f, e, torn, p, n, off, err);
    return qv_io_pwrite(inner_of(f), p, n, off, err);
}

static qv_err faulty_pread(qv_file *f, void *p, size_t n, uint64_t off, size_t *got,
                           qv_error *err)
{
    atomic_fetch_add(&fio(f->io)->counts[CNT_READ], 1);
    return qv_io_pread(inner_of(f), p, n, off, got, err);
}

static qv_err faulty_write_sync(qv_file *f, const void *p, size_t n, uint64_t off,
                                qv_error *err)
{
    bool torn = false;
    qv_err rc;
    int e;

    if ((e = fault_check(fio(f->io), QV_IO_FAULT_WRITE, &torn)) != 0)
        return inject_write(f, e, torn, p, n, off, err);
    if ((e = fault_check(fio(f->io), QV_IO_FAULT_FSYNC, &torn)) != 0) {
        if ((rc = qv_io_pwrite(inner_of(f), p, n, off, err)) != QV_OK)
            return rc;
        return io_sys_error(err, e, "fdatasync %s (injected)", f->path);
    }
    return qv_io_write_sync(inner_of(f), p, n, off, err);
}

static qv_err faulty_sync(qv_file *f, bool datasync, qv_error *err)
{
    bool torn = false;
    int e = fault_check(fio(f->io), QV_IO_FAULT_FSYNC, &torn);

    if (e)
        return io_sys_error(err, e, "%s %s (injected)", datasync ? "fdatasync" : "fsync",
                            f->path);
    return datasync ? qv_io_fdatasync(inner_of(f), err) : qv_io_fsync(inner_of(f), err);
}

static qv_err faulty_truncate(qv_file *f, uint64_t size, qv_error *err)
{
    atomic_fetch_add(&fio(f->io)->counts[CNT_TRUNC], 1);
    return qv_io_truncate(inner_of(f), size, err);
}

static qv_err faulty_size(qv_file *f, uint64_t *out, qv_error *err)
{
    return qv_io_file_size(inner_of(f), out, err);
}

static qv_err faulty_rename(qv_io *io, const char *from, const char *to, qv_error *err)
{
    atomic_fetch_add(&fio(io)->counts[CNT_RENAME], 1);
    return qv_io_rename(fio(io)->inner, from, to, err);
}

static qv_err faulty_unlink(qv_io *io, const char *path, qv_error *err)
{
    atomic_fetch_add(&fio(io)->counts[CNT_UNLINK], 1);
    return qv_io_unlink(fio(io)->inner, path, err);
}

static qv_err faulty_mkdir(qv_io *io, const char *path, qv_error *err)
{
    return qv_io_mkdir(fio(io)->inner, path, err);
}

static qv_err faulty_sync_dir(qv_io *io, const char *path, qv_error *err)
{
    bool torn = false;
    int e = fault_check(fio(io), QV_IO_FAULT_DIRSYNC, &torn);

    if (e)
        return io_sys_error(err, e, "fsync directory %s (injected)", path);
    return qv_io_sync_dir(fio(io)->inner, path, err);
}

static qv_err faulty_exists(qv_io *io, const char *path, bool *out, qv_error *err)
{
    return qv_io_exists(fio(io)->inner, path, out, err);
}

static qv_err faulty_list_dir(qv_io *io, const char *dir, char ***names, size_t *count,
                              qv_error *err)
{
    return qv_io_list_dir(fio(io)->inner, dir, names, count, err);
}

static void faulty_destroy(qv_io *io)
{
    pthread_mutex_destroy(&fio(io)->mu);
    qv_free(io);
}

static const qv_io_ops faulty_ops = {
    .name = "faulty",
    .open = faulty_open,
    .close = faulty_close,
    .pwrite = faulty_pwrite,
    .pread = faulty_pread,
    .write_sync = faulty_write_sync,
    .sync = faulty_sync,
    .truncate = faulty_truncate,
    .size = faulty_size,
    .rename = faulty_rename,
    .unlink = faulty_unlink,
    .mkdir = faulty_mkdir,
    .sync_dir = faulty_sync_dir,
    .exists = faulty_exists,
    .list_dir = faulty_list_dir,
    .destroy = faulty_destroy,
};

qv_err qv_io_faulty_new(qv_io *inner, const qv_io_fault *fault, qv_io **out, qv_error *err)
{
    faulty_io *fy;

    if (!inner)
        return qv_error_set(err, QV_EINVAL, "faulty io: no inner backend");
    if ((fy = qv_calloc(1, sizeof *fy)) == NULL)
        return qv_error_set(err, QV_ENOMEM, "faulty io: out of memory");
    fy->base.ops = &faulty_ops;
    fy->inner = inner;
    pthread_mutex_init(&fy->mu, NULL);
    for (int i = 0; i < CNT_N; i++)
        atomic_init(&fy->counts[i], 0);
    qv_io_faulty_arm(&fy->base, fault);
    *out = &fy->base;
    return QV_OK;
}

void qv_io_faulty_arm(qv_io *io, const qv_io_fault *fault)
{
    faulty_io *fy;

    if (!io || io->ops != &faulty_ops)
        return;
    fy = fio(io);
    pthread_mutex_lock(&fy->mu);
    if (fault)
        fy->fault = *fault;
    else
        memset(&fy->fault, 0, sizeof fy->fault);
    fy->seen = 0;
    pthread_mutex_unlock(&fy->mu);
}

void qv_io_faulty_get_counts(qv_io *io, qv_io_faulty_counts *out)
{
    memset(out, 0, sizeof *out);
    if (!io || io->ops != &faulty_ops)
        return;
    faulty_io *fy = fio(io);
    out->opens = atomic_load(&fy->counts[CNT_OPEN]);
    out->reads = atomic_load(&fy->counts[CNT_READ]);
    out->writes = atomic_load(&fy->counts[CNT_WRITE]);
    out->fsyncs = atomic_load(&fy->counts[CNT_FSYNC]);
    out->dirsyncs = atomic_load(&fy->counts[CNT_DIRSYNC]);
    out->truncates = atomic_load(&fy->counts[CNT_TRUNC]);
    out->renames = atomic_load(&fy->counts[CNT_RENAME]);
    out->unlinks = atomic_load(&fy->counts[CNT_UNLINK]);
    out->faults = atomic_load(&fy->counts[CNT_FAULT]);
}
