/* SPDX-License-Identifier: Apache-2.0 */
/* io_posix.c - the POSIX backend: pwrite/pread loops, fdatasync, and the
 * metadata operations every backend shares (open, rename, list, ...).
 *
 * Short writes and reads are retried until done; EINTR and EAGAIN are retried,
 * any other errno ends the operation. fsync/fdatasync are issued once: after a
 * failure the kernel may already have dropped the dirty pages, so retrying
 * could report success for data that was lost (PostgreSQL's "fsyncgate"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quiver/alloc.h"
#include "storage/io/io_int.h"

/* Largest single syscall transfer; Linux caps at 0x7ffff000 anyway. */
#define POSIX_MAX_IO ((size_t)1 << 30)

qv_err io_posix_open(qv_io *io, const char *path, unsigned flags, qv_file **out, qv_error *err)
{
    int oflags = O_CLOEXEC | ((flags & QV_IO_WRITE) ? O_RDWR : O_RDONLY);
    qv_file *f;
    int fd;

    if (flags & QV_IO_CREATE)
        oflags |= O_CREAT;
    if (flags & QV_IO_TRUNC)
        oflags |= O_TRUNC;
    if (flags & QV_IO_EXCL)
        oflags |= O_EXCL;
    if (flags & QV_IO_APPEND)
        oflags |= O_APPEND;
    do
        fd = open(path, (flags & QV_IO_DIRECT) ? oflags | O_DIRECT : oflags, 0644);
    while (fd < 0 && errno == EINTR);
    if (fd < 0 && (flags & QV_IO_DIRECT) && errno == EINVAL) /* tmpfs and friends */
        fd = open(path, oflags, 0644);
    if (fd < 0)
        return io_sys_error(err, errno, "open %s", path);
    if ((f = qv_calloc(1, sizeof *f)) == NULL || (f->path = qv_strdup(path)) == NULL) {
        qv_free(f);
        close(fd);
        return qv_error_set(err, QV_ENOMEM, "open %s: out of memory", path);
    }
    f->io = io;
    f->fd = fd;
    *out = f;
    return QV_OK;
}

void io_posix_close(qv_file *f)
{
    close(f->fd);
    qv_free(f->path);
    qv_free(f);
}

static qv_err posix_pwrite(qv_file *f, const void *p, size_t n, uint64_t off, qv_error *err)
{
    const char *b = p;
    size_t done = 0;

    while (done < n) {
        size_t chunk = n - done < POSIX_MAX_IO ? n - done : POSIX_MAX_IO;
        ssize_t w = pwrite(f->fd, b + done, chunk, (off_t)(off + done));
        if (w < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (w < 0)
            return io_sys_error(err, errno, "write %s at %llu", f->path,
                                (unsigned long long)(off + done));
        if (w == 0)
            return io_sys_error(err, EIO, "write %s at %llu: no progress", f->path,
                                (unsigned long long)(off + done));
        done += (size_t)w;
    }
    return QV_OK;
}

static qv_err posix_pread(qv_file *f, void *p, size_t n, uint64_t off, size_t *got,
                          qv_error *err)
{
    char *b = p;
    size_t done = 0;

    while (done < n) {
        size_t chunk = n - done < POSIX_MAX_IO ? n - done : POSIX_MAX_IO;
        ssize_t r = pread(f->fd, b + done, chunk, (off_t)(off + done));
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0)
            return io_sys_error(err, errno, "read %s at %llu", f->path,
                                (unsigned long long)(off + done));
        if (r == 0)
            break;
        done += (size_t)r;
    }
    *got = done;
    return QV_OK;
}

static qv_err posix_sync(qv_file *f, bool datasync, qv_error *err)
{
    int rc;

    do
        rc = datasync ? fdatasync(f->fd) : fsync(f->fd);
    while (rc != 0 && errno == EINTR);
    if (rc != 0)
        return io_sys_error(err, errno, "%s %s", datasync ? "fdatasync" : "fsync", f->path);
    return QV_OK;
}

static qv_err posix_write_sync(qv_file *f, const void *p, size_t n, uint64_t off, qv_error *err)
{
    qv_err rc = posix_pwrite(f, p, n, off, err);
    return rc != QV_OK ? rc : posix_sync(f, true, err);
}

qv_err io_posix_truncate(qv_file *f, uint64_t size, qv_error *err)
{
    int rc;

    do
        rc = ftruncate(f->fd, (off_t)size);
    while (rc != 0 && errno == EINTR);
    if (rc != 0)
        return io_sys_error(err, errno, "truncate %s to %llu", f->path, (unsigned long long)size);
    return QV_OK;
}

qv_err io_posix_size(qv_file *f, uint64_t *out, qv_error *err)
{
    struct stat st;

    if (fstat(f->fd, &st) != 0)
        return io_sys_error(err, errno, "stat %s", f->path);
    *out = (uint64_t)st.st_size;
    return QV_OK;
}

qv_err io_posix_rename(qv_io *io, const char *from, const char *to, qv_error *err)
{
    if (rename(from, to) != 0)
        return io_sys_error(err, errno, "rename %s to %s", from, to);
    return QV_OK;
}

qv_err io_posix_unlink(qv_io *io, const char *path, qv_error *err)
{
    if (unlink(path) != 0)
        return io_sys_error(err, errno, "unlink %s", path);
    return QV_OK;
}

qv_err io_posix_mkdir(qv_io *io, const char *path, qv_error *err)
{
    struct stat st;

    if (mkdir(path, 0755) == 0)
        return QV_OK;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return QV_OK;
    return io_sys_error(err, errno, "mkdir %s", path);
}

qv_err io_posix_sync_dir(qv_io *io, const char *path, qv_error *err)
{
    qv_err rc = QV_OK;
    int fd;

    if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return io_sys_error(err, errno, "open directory %s", path);
    if (fsync(fd) != 0)
        rc = io_sys_error(err, errno, "fsync directory %s", path);
    close(fd);
    return rc;
}

qv_err io_posix_exists(qv_io *io, const char *path, bool *out, qv_error *err)
{
    struct stat st;

    if (stat(path, &st) == 0) {
        *out = true;
        return QV_OK;
    }
    if (errno == ENOENT) {
        *out = false;
        return QV_OK;
    }
    return io_sys_error(err, errno, "stat %s", path);
}

static int names_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

qv_err io_posix_list_dir(qv_io *io, const char *dir, char ***names_out, size_t *count_out,
                         qv_error *err)
{
    char **names = NULL, **grown;
    size_t count = 0, cap = 0;
    struct dirent *de;
    qv_err rc = QV_OK;
    DIR *d;

    if ((d = opendir(dir)) == NULL)
        return io_sys_error(err, errno, "open directory %s", dir);
    for (;;) {
        errno = 0;
        if ((de = readdir(d)) == NULL) {
            if (errno != 0)
                rc = io_sys_error(err, errno, "read directory %s", dir);
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            if ((grown = qv_reallocarray(names, cap, sizeof *names)) == NULL)
                goto nomem;
            names = grown;
        }
        if ((names[count] = qv_strdup(de->d_name)) == NULL)
            goto nomem;
        count++;
    }
    closedir(d);
    if (rc != QV_OK) {
        qv_io_free_names(names, count);
        return rc;
    }
    if (count > 1)
        qsort(names, count, sizeof *names, names_cmp);
    *names_out = names;
    *count_out = count;
    return QV_OK;
nomem:
    closedir(d);
    qv_io_free_names(names, count);
    return qv_error_set(err, QV_ENOMEM, "list directory %s: out of memory", dir);
}

static void posix_destroy(qv_io *io) { qv_free(io); }

static const qv_io_ops posix_ops = {
    .name = "posix",
    .open = io_posix_open,
    .close = io_posix_close,
    .pwrite = posix_pwrite,
    .pread = posix_pread,
    .write_sync = posix_write_sync,
    .sync = posix_sync,
    .truncate = io_posix_truncate,
    .size = io_posix_size,
    .rename = io_posix_rename,
    .unlink = io_posix_unlink,
    .mkdir = io_posix_mkdir,
    .sync_dir = io_posix_sync_dir,
    .exists = io_posix_exists,
    .list_dir = io_posix_list_dir,
    .destroy = posix_destroy,
};

qv_err io_posix_new(qv_io **out, qv_error *err)
{
    qv_io *io = qv_calloc(1, sizeof *io);

    if (!io)
        return qv_error_set(err, QV_ENOMEM, "posix io: out of memory");
    io->ops = &posix_ops;
    *out = io;
    return QV_OK;
}
