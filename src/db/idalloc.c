/* SPDX-License-Identifier: Apache-2.0 */
/* idalloc.c - see quiver/idalloc.h. */
#include "quiver/idalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "quiver/alloc.h"
#include "quiver/buf.h"
#include "quiver/crc32c.h"

#define BLOCK_IDS (1ull << 20)

struct qv_idalloc {
    pthread_mutex_t lock; /* guards next, bound */
    int64_t next;
    int64_t bound; /* persisted: no id >= bound was handed out */
    char path[4096];
    qv_io *io;
};

static qv_err persist_bound(qv_idalloc *a, int64_t bound, qv_error *err)
{
    uint8_t rec[12];

    qv_store_le64(rec, (uint64_t)bound);
    qv_store_le32(rec + 8, qv_crc32c(0, rec, 8));
    return qv_io_write_file_atomic(a->io, a->path, rec, sizeof rec, err);
}

qv_err qv_idalloc_open(const char *data_dir, qv_io *io, qv_idalloc **out, qv_error *err)
{
    qv_idalloc *a = qv_calloc(1, sizeof *a);
    void *data = NULL;
    size_t len = 0;
    qv_err rc;

    if (!a)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    pthread_mutex_init(&a->lock, NULL);
    a->io = io;
    snprintf(a->path, sizeof a->path, "%s/IDALLOC", data_dir);
    rc = qv_io_read_file(io, a->path, 64, &data, &len, err);
    if (rc == QV_OK) {
        const uint8_t *p = data;
        if (len != 12 || qv_crc32c(0, p, 8) != qv_load_le32(p + 8))
            rc = qv_error_set(err, QV_ECORRUPT, "%s: checksum mismatch", a->path);
        else
            a->next = a->bound = (int64_t)qv_load_le64(p);
        qv_free(data);
    } else if (err && err->sys_errno == ENOENT) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        a->next = a->bound = (int64_t)(((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) << 18);
        rc = QV_OK;
    }
    if (rc != QV_OK) {
        qv_idalloc_close(a);
        return rc;
    }
    *out = a;
    return QV_OK;
}

void qv_idalloc_close(qv_idalloc *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->lock);
    qv_free(a);
}

qv_err qv_idalloc_next(qv_idalloc *a, uint64_t n, int64_t *first, qv_error *err)
{
    qv_err rc = QV_OK;

    pthread_mutex_lock(&a->lock);
    if (a->next + (int64_t)n > a->bound) {
        int64_t bound = a->next + (int64_t)(n > BLOCK_IDS ? n : BLOCK_IDS);
        if ((rc = persist_bound(a, bound, err)) == QV_OK)
            a->bound = bound;
    }
    if (rc == QV_OK) {
        *first = a->next;
        a->next += (int64_t)n;
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}
