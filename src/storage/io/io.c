/* SPDX-License-Identifier: Apache-2.0 */
/* io.c - backend selection, dispatch through the ops table, error mapping and
 * the helpers built from ops (atomic file replacement, whole-file read).
 *
 * Selection (STYLE §6, as libuv does): "auto" tries io_uring once per call and
 * falls back to POSIX when setup is refused, logging the reason only the first
 * time in the process (the one-shot flag is the only mutable global here). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/log.h"
#include "storage/io/io_int.h"

static atomic_bool io_fallback_logged; /* once-logged flag */

qv_err io_sys_error(qv_error *err, int errnum, const char *fmt, ...)
{
    qv_err code = (errnum == ENOSPC || errnum == EDQUOT) ? QV_ENOSPC : QV_EIO;
    char ctx[sizeof err->msg];
    va_list ap;

    if (!err)
        return code;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    return qv_error_sys(err, code, errnum, "%s", ctx);
}

static qv_err io_open_uring(qv_io **out, qv_error *err)
{
#ifdef QV_HAVE_URING
    return io_ring_new(out, err);
#else
    (void)out;
    return qv_error_set(err, QV_EUNAVAIL, "io_uring backend not compiled in (liburing missing)");
#endif
}

qv_err qv_io_open_default(const char *backend, qv_io **out, qv_error *err)
{
    qv_error why = {0};
    qv_err rc;

    if (!backend || strcmp(backend, "auto") == 0) {
        if ((rc = io_open_uring(out, &why)) == QV_OK)
            return QV_OK;
        if (!atomic_exchange(&io_fallback_logged, true))
            qv_log_warn("io", "io_uring not usable (%s); using the posix backend", why.msg);
        return io_posix_new(out, err);
    }
    if (strcmp(backend, "uring") == 0 || strcmp(backend, "io_uring") == 0)
        return io_open_uring(out, err);
    if (strcmp(backend, "posix") == 0)
        return io_posix_new(out, err);
    return qv_error_set(err, QV_EINVAL, "unknown io backend '%s' (auto, uring, posix)", backend);
}

static const char *const backend_names[QV_IO_BACKEND_COUNT] = {"posix", "uring"};

const char *qv_io_backend_index_name(int i)
{
    return i >= 0 && i < QV_IO_BACKEND_COUNT ? backend_names[i] : NULL;
}

qv_err qv_io_open_backend_index(int i, qv_io **out, qv_error *err)
{
    if (i < 0 || i >= QV_IO_BACKEND_COUNT)
        return qv_error_set(err, QV_EINVAL, "io backend index %d out of range", i);
    return qv_io_open_default(backend_names[i], out, err);
}

const char *qv_io_backend_name(const qv_io *io) { return io->ops->name; }

void qv_io_free(qv_io *io)
{
    if (io)
        io->ops->destroy(io);
}

qv_err qv_io_open(qv_io *io, const char *path, unsigned flags, qv_file **out, qv_error *err)
{
    return io->ops->open(io, path, flags, out, err);
}

void qv_io_close(qv_file *f)
{
    if (f)
        f->io->ops->close(f);
}

const char *qv_io_file_path(const qv_file *f) { return f->path; }

qv_err qv_io_pwrite(qv_file *f, const void *p, size_t n, uint64_t off, qv_error *err)
{
    return f->io->ops->pwrite(f, p, n, off, err);
}

qv_err qv_io_pread(qv_file *f, void *p, size_t n, uint64_t off, size_t *got, qv_error *err)
{
    return f->io->ops->pread(f, p, n, off, got, err);
}

qv_err qv_io_write_sync(qv_file *f, const void *p, size_t n, uint64_t off, qv_error *err)
{
    return f->io->ops->write_sync(f, p, n, off, err);
}

qv_err qv_io_fsync(qv_file *f, qv_error *err) { return f->io->ops->sync(f, false, err); }
qv_err qv_io_fdatasync(qv_file *f, qv_error *err) { return f->io->ops->sync(f, true, err); }

qv_err qv_io_truncate(qv_file *f, uint64_t size, qv_error *err)
{
    return f->io->ops->truncate(f, size, err);
}

qv_err qv_io_file_size(qv_file *f, uint64_t *out, qv_error *err)
{
    return f->io->ops->size(f, out, err);
}

qv_err qv_io_rename(qv_io *io, const char *from, const char *to, qv_error *err)
{
    return io->ops->rename(io, from, to, err);
}

qv_err qv_io_unlink(qv_io *io, const char *path, qv_error *err)
{
    return io->ops->unlink(io, path, err);
}

qv_err qv_io_mkdir(qv_io *io, const char *path, qv_error *err)
{
    return io->ops->mkdir(io, path, err);
}

qv_err qv_io_sync_dir(qv_io *io, const char *path, qv_error *err)
{
    return io->ops->sync_dir(io, path, err);
}

qv_err qv_io_exists(qv_io *io, const char *path, bool *out, qv_error *err)
{
    return io->ops->exists(io, path, out, err);
}

qv_err qv_io_list_dir(qv_io *io, const char *dir, char ***names_out, size_t *count_out,
                      qv_error *err)
{
    return io->ops->list_dir(io, dir, names_out, count_out, err);
}

void qv_io_free_names(char **names, size_t count)
{
    if (!names)
        return;
    for (size_t i = 0; i < count; i++)
        qv_free(names[i]);
    qv_free(names);
}

/* The directory holding path: "." for a bare name, "/" for "/x". */
static qv_err parent_dir(const char *path, char *dir, size_t cap, qv_error *err)
{
    const char *slash = strrchr(path, '/');
    size_t n;

    if (!slash) {
        memcpy(dir, ".", 2);
        return QV_OK;
    }
    n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= cap)
        return qv_error_set(err, QV_EINVAL, "path too long: %s", path);
    memcpy(dir, path, n);
    dir[n] = '\0';
    return QV_OK;
}

qv_err qv_io_write_file_atomic(qv_io *io, const char *path, const void *data, size_t len,
                               qv_error *err)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    qv_file *f = NULL;
    bool created = false;
    qv_err rc;

    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return qv_error_set(err, QV_EINVAL, "path too long: %s", path);
    if ((rc = parent_dir(path, dir, sizeof dir, err)) != QV_OK)
        return rc;
    if ((rc = qv_io_open(io, tmp, QV_IO_WRITE | QV_IO_CREATE | QV_IO_TRUNC, &f, err)) != QV_OK)
        goto done;
    created = true;
    if ((rc = qv_io_write_sync(f, data, len, 0, err)) != QV_OK)
        goto done;
    qv_io_close(f);
    f = NULL;
    if ((rc = qv_io_rename(io, tmp, path, err)) != QV_OK)
        goto done;
    created = false; /* tmp is gone: it is path now */
    rc = qv_io_sync_dir(io, dir, err);
done:
    qv_io_close(f);
    if (created)
        qv_io_unlink(io, tmp, NULL);
    return rc;
}

qv_err qv_io_mkdir_durable(qv_io *io, const char *path, qv_error *err)
{
    char dir[PATH_MAX];
    bool exists = false;
    qv_err rc;

    if ((rc = qv_io_exists(io, path, &exists, err)) != QV_OK || exists)
        return rc;
    if ((rc = parent_dir(path, dir, sizeof dir, err)) != QV_OK ||
        (rc = qv_io_mkdir(io, path, err)) != QV_OK)
        return rc;
    return qv_io_sync_dir(io, dir, err);
}

qv_err qv_io_read_file(qv_io *io, const char *path, size_t max_bytes, void **data_out,
                       size_t *len_out, qv_error *err)
{
    qv_file *f = NULL;
    char *buf = NULL;
    uint64_t size;
    size_t got = 0;
    qv_err rc;

    if ((rc = qv_io_open(io, path, QV_IO_READ, &f, err)) != QV_OK)
        return rc;
    if ((rc = qv_io_file_size(f, &size, err)) != QV_OK)
        goto done;
    if (size > max_bytes) {
        rc = qv_error_set(err, QV_ETOOBIG, "%s: %llu bytes exceeds the limit of %zu", path,
                          (unsigned long long)size, max_bytes);
        goto done;
    }
    if ((buf = qv_malloc((size_t)size + 1)) == NULL) {
        rc = qv_error_set(err, QV_ENOMEM, "read %s: out of memory", path);
        goto done;
    }
    if ((rc = qv_io_pread(f, buf, (size_t)size, 0, &got, err)) != QV_OK)
        goto done;
    buf[got] = '\0';
    *data_out = buf;
    *len_out = got;
    buf = NULL;
done:
    qv_free(buf);
    qv_io_close(f);
    return rc;
}
