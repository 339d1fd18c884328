/* SPDX-License-Identifier: Apache-2.0 */
/* io_uring.c - the io_uring backend (liburing); built when QV_HAVE_URING.
 *
 * Threads and rings: a fixed pool of URING_RINGS small rings. An operation
 * takes a free ring (waiting on a condition variable when all are busy),
 * queues its one or two SQEs, submits, reaps exactly as many CQEs and hands
 * the ring back. Because one operation owns a ring from its first submission
 * to its last completion, every CQE on it is ours: no completion dispatch, no
 * lock held across a syscall other than the ring's own ownership, and up to
 * URING_RINGS operations (say a WAL fsync and a segment write) in flight at once.
 *
 * Only data I/O uses the ring: write, read, fsync and the linked write+fsync
 * of qv_io_write_sync (the fsync SQE follows the write SQE with IOSQE_IO_LINK,
 * so the kernel starts it only after the write completes in full; a short or
 * failed write cancels it with -ECANCELED). Every cqe->res is checked: short
 * writes continue with the rest (and a new linked fsync), -EINTR/-EAGAIN are
 * resubmitted, a failed fsync is reported and never reissued. Opening,
 * renaming, listing and friends are the POSIX backend's, unchanged.
 *
 * Setup fails with QV_EUNAVAIL when io_uring_setup is refused (EPERM under a
 * seccomp profile, ENOSYS on old kernels, io_uring_disabled) or the kernel
 * lacks IORING_OP_READ/WRITE/FSYNC; qv_io_open_default then falls back. */
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/log.h"
#include "storage/io/io_int.h"

#define URING_RINGS 4
#define URING_DEPTH 8
#define URING_MAX_IO ((size_t)1 << 30) /* the SQE length is 32 bits */

typedef struct uring_io {
    qv_io base;
    pthread_mutex_t mu; /* guards busy[] and dead[] */
    pthread_cond_t cv;  /* signalled when a ring is handed back */
    int nrings;
    bool busy[URING_RINGS];
    bool dead[URING_RINGS]; /* broken mid-operation; never used or freed again */
    struct io_uring rings[URING_RINGS];
} uring_io;

static int ring_acquire(uring_io *u)
{
    int idx = -1;

    pthread_mutex_lock(&u->mu);
    for (;;) {
        int live = 0;
        for (int i = 0; i < u->nrings; i++) {
            live += !u->dead[i];
            if (!u->busy[i] && !u->dead[i]) {
                idx = i;
                break;
            }
        }
        if (idx >= 0 || live == 0)
            break;
        pthread_cond_wait(&u->cv, &u->mu);
    }
    if (idx >= 0)
        u->busy[idx] = true;
    pthread_mutex_unlock(&u->mu);
    return idx;
}

static void ring_release(uring_io *u, int idx, bool broken)
{
    pthread_mutex_lock(&u->mu);
    u->busy[idx] = false;
    u->dead[idx] = broken;
    pthread_cond_broadcast(&u->cv);
    pthread_mutex_unlock(&u->mu);
}

/* Submit what is queued and reap n CQEs into res[user_data]. A negative return
 * means the ring's state is unknown (SQEs may still be in flight). */
static int ring_run(struct io_uring *r, unsigned n, int *res)
{
    unsigned got = 0;
    int rc;

    while (io_uring_sq_ready(r) > 0) {
        rc = io_uring_submit_and_wait(r, n);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN)
            return rc;
    }
    while (got < n) {
        struct io_uring_cqe *cqe;
        rc = io_uring_wait_cqe(r, &cqe);
        if (rc == -EINTR || rc == -EAGAIN)
            continue;
        if (rc < 0)
            return rc;
        uint64_t slot = io_uring_cqe_get_data64(cqe);
        if (slot < n)
            res[slot] = cqe->res;
        io_uring_cqe_seen(r, cqe);
        got++;
    }
    return 0;
}

/* One operation: prep fills up to two SQEs on the ring, res receives results. */
typedef struct ring_op {
    int fd;
    const void *wbuf; /* write, or NULL */
    void *rbuf;       /* read, or NULL */
    size_t len;
    uint64_t off;
    int fsync_flags; /* -1: no fsync; else IORING_FSYNC_DATASYNC or 0 */
} ring_op;

/* Run op on a pool ring: returns 0 with per-SQE results in res (slot 0 the
 * write/read, then the fsync), or -errno when the ring itself failed. */
static int ring_do(uring_io *u, const ring_op *op, int res[2])
{
    struct io_uring *r;
    unsigned n = 0;
    int idx, rc;

    if ((idx = ring_acquire(u)) < 0)
        return -EIO; /* every ring broke earlier */
    r = &u->rings[idx];
    if (io_uring_sq_space_left(r) < 2) { /* cannot happen: each op drains its ring */
        ring_release(u, idx, false);
        return -EBUSY;
    }
    if (op->wbuf || op->rbuf) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(r);
        if (op->wbuf)
            io_uring_prep_write(sqe, op->fd, op->wbuf, (unsigned)op->len, op->off);
        else
            io_uring_prep_read(sqe, op->fd, op->rbuf, (unsigned)op->len, op->off);
        io_uring_sqe_set_data64(sqe, n++);
        if (op->fsync_flags >= 0)
            sqe->flags |= IOSQE_IO_LINK;
    }
    if (op->fsync_flags >= 0) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(r);
        io_uring_prep_fsync(sqe, op->fd, (unsigned)op->fsync_flags);
        io_uring_sqe_set_data64(sqe, n++);
    }
    res[0] = res[1] = -ECANCELED;
    rc = ring_run(r, n, res);
    if (rc < 0) /* requests may still reference caller memory: retire the ring */
        qv_log_error("io", "io_uring ring %d unusable after error %d; retiring it", idx, -rc);
    ring_release(u, idx, rc < 0);
    return rc;
}

static qv_err uring_pwrite(qv_file *f, const void *p, size_t n, uint64_t off, qv_error *err)
{
    uring_io *u = (uring_io *)f->io;
    size_t done = 0;
    int res[2], rc;

    while (done < n) {
        ring_op op = {.fd = f->fd, .wbuf = (const char *)p + done, .off = off + done,
                      .len = n - done < URING_MAX_IO ? n - done : URING_MAX_IO,
                      .fsync_flags = -1};
        if ((rc = ring_do(u, &op, res)) < 0)
            return io_sys_error(err, -rc, "io_uring write %s", f->path);
        if (res[0] == -EINTR || res[0] == -EAGAIN)
            continue;
        if (res[0] < 0)
            return io_sys_error(err, -res[0], "write %s at %llu", f->path,
                                (unsigned long long)(off + done));
        if (res[0] == 0)
            return io_sys_error(err, EIO, "write %s at %llu: no progress", f->path,
                                (unsigned long long)(off + done));
        done += (size_t)res[0];
    }
    return QV_OK;
}

static qv_err uring_pread(qv_file *f, void *p, size_t n, uint64_t off, size_t *got,
                          qv_error *err)
{
    uring_io *u = (uring_io *)f->io;
    size_t done = 0;
    int res[2], rc;

    while (done < n) {
        ring_op op = {.fd = f->fd, .rbuf = (char *)p + done, .off = off + done,
                      .len = n - done < URING_MAX_IO ? n - done : URING_MAX_IO,
                      .fsync_flags = -1};
        if ((rc = ring_do(u, &op, res)) < 0)
            return io_sys_error(err, -rc, "io_uring read %s", f->path);
        if (res[0] == -EINTR || res[0] == -EAGAIN)
            continue;
        if (res[0] < 0)
            return io_sys_error(err, -res[0], "read %s at %llu", f->path,
                                (unsigned long long)(off + done));
        if (res[0] == 0)
            break;
        done += (size_t)res[0];
    }
    *got = done;
    return QV_OK;
}

static qv_err uring_sync(qv_file *f, bool datasync, qv_error *err)
{
    ring_op op = {.fd = f->fd, .fsync_flags = datasync ? (int)IORING_FSYNC_DATASYNC : 0};
    const char *what = datasync ? "fdatasync" : "fsync";
    int res[2], rc;

    do {
        if ((rc = ring_do((uring_io *)f->io, &op, res)) < 0)
            return io_sys_error(err, -rc, "io_uring %s %s", what, f->path);
    } while (res[0] == -EINTR); /* interrupted before it ran: not a failed fsync */
    if (res[0] < 0)
        return io_sys_error(err, -res[0], "%s %s", what, f->path);
    return QV_OK;
}

/* Write n bytes at off with a linked fdatasync behind each write SQE. The
 * bytes are durable once a full-length write is followed by a successful
 * fsync; a short write cancels its fsync, so the rest goes out with a new one. */
static qv_err uring_write_sync(qv_file *f, const void *p, size_t n, uint64_t off, qv_error *err)
{
    uring_io *u = (uring_io *)f->io;
    size_t done = 0;
    int res[2], rc;

    if (n == 0)
        return uring_sync(f, true, err);
    while (done < n) {
        size_t len = n - done < URING_MAX_IO ? n - done : URING_MAX_IO;
        ring_op op = {.fd = f->fd, .wbuf = (const char *)p + done, .off = off + done,
                      .len = len, .fsync_flags = (int)IORING_FSYNC_DATASYNC};
        if ((rc = ring_do(u, &op, res)) < 0)
            return io_sys_error(err, -rc, "io_uring write+fdatasync %s", f->path);
        if (res[0] == -EINTR || res[0] == -EAGAIN)
            continue;
        if (res[0] < 0)
            return io_sys_error(err, -res[0], "write %s at %llu", f->path,
                                (unsigned long long)(off + done));
        if (res[0] == 0)
            return io_sys_error(err, EIO, "write %s at %llu: no progress", f->path,
                                (unsigned long long)(off + done));
        /* An fsync that ran and failed is final, whatever the write did. */
        if (res[1] < 0 && res[1] != -ECANCELED && res[1] != -EINTR)
            return io_sys_error(err, -res[1], "fdatasync %s", f->path);
        done += (size_t)res[0];
        if (done == n && res[1] != 0) /* full write but its fsync did not run */
            return uring_sync(f, true, err);
    }
    return QV_OK;
}

static void uring_destroy(qv_io *io)
{
    uring_io *u = (uring_io *)io;

    for (int i = 0; i < u->nrings; i++)
        if (!u->dead[i])
            io_uring_queue_exit(&u->rings[i]);
    pthread_cond_destroy(&u->cv);
    pthread_mutex_destroy(&u->mu);
    qv_free(u);
}

static const qv_io_ops uring_ops = {
    .name = "uring",
    .open = io_posix_open,
    .close = io_posix_close,
    .pwrite = uring_pwrite,
    .pread = uring_pread,
    .write_sync = uring_write_sync,
    .sync = uring_sync,
    .truncate = io_posix_truncate,
    .size = io_posix_size,
    .rename = io_posix_rename,
    .unlink = io_posix_unlink,
    .mkdir = io_posix_mkdir,
    .sync_dir = io_posix_sync_dir,
    .exists = io_posix_exists,
    .list_dir = io_posix_list_dir,
    .destroy = uring_destroy,
};

/* Set up one ring and prove it works: the opcodes we use exist and a NOP
 * completes (some sandboxes allow io_uring_setup but not io_uring_enter). */
static int ring_setup(struct io_uring *r)
{
    struct io_uring_probe *probe;
    struct io_uring_sqe *sqe;
    int res[2], rc;

    if ((rc = io_uring_queue_init(URING_DEPTH, r, 0)) < 0)
        return rc;
    if ((probe = io_uring_get_probe_ring(r)) == NULL) {
        rc = -ENOSYS;
        goto fail;
    }
    if (!io_uring_opcode_supported(probe, IORING_OP_READ) ||
        !io_uring_opcode_supported(probe, IORING_OP_WRITE) ||
        !io_uring_opcode_supported(probe, IORING_OP_FSYNC))
        rc = -EOPNOTSUPP;
    io_uring_free_probe(probe);
    if (rc < 0)
        goto fail;
    sqe = io_uring_get_sqe(r);
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, 0);
    if ((rc = ring_run(r, 1, res)) < 0)
        goto fail; /* nothing else was queued: safe to tear down */
    if (res[0] < 0) {
        rc = res[0];
        goto fail;
    }
    return 0;
fail:
    io_uring_queue_exit(r);
    return rc;
}

qv_err io_ring_new(qv_io **out, qv_error *err)
{
    uring_io *u = qv_calloc(1, sizeof *u);
    int rc = 0;

    if (!u)
        return qv_error_set(err, QV_ENOMEM, "io_uring backend: out of memory");
    u->base.ops = &uring_ops;
    pthread_mutex_init(&u->mu, NULL);
    pthread_cond_init(&u->cv, NULL);
    while (u->nrings < URING_RINGS && (rc = ring_setup(&u->rings[u->nrings])) == 0)
        u->nrings++;
    if (u->nrings == 0) {
        uring_destroy(&u->base);
        return qv_error_sys(err, QV_EUNAVAIL, -rc, "io_uring unavailable");
    }
    *out = &u->base;
    return QV_OK;
}
