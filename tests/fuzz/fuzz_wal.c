/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_wal.c - libFuzzer target for WAL recovery (storage/wal): the input is the bytes of
 * a WAL file (wal-00000000000000000001.log) that qv_wal_open replays. Checks: no crash/UB/
 * leak on any bytes; replayed records have consecutive LSNs and lengths within the cap;
 * when the open succeeds (perhaps truncating a torn tail), the WAL takes a new record and
 * a second open replays exactly the same records plus that one, with nothing left to
 * repair; when it fails, the error is QV_ECORRUPT (or QV_EIO for an unreadable file). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quiver/alloc.h"
#include "quiver/io.h"
#include "quiver/log.h"
#include "quiver/wal.h"

static char dir[256], file[320];
static qv_io *io;

typedef struct seen {
    uint64_t n, last, sum;
} seen;

static qv_err on_record(void *ctx, uint8_t type, const void *rec, size_t len, uint64_t lsn)
{
    seen *s = ctx;
    const uint8_t *p = rec;

    if (type == 0 || len > QV_WAL_MAX_RECORD_BYTES || (s->n && lsn != s->last + 1))
        abort();
    for (size_t i = 0; i < len; i++) /* touch every byte: ASan checks the bounds */
        s->sum += p[i];
    s->n++;
    s->last = lsn;
    return QV_OK;
}

static void clear_dir(void);

static void remove_dir(void) /* at exit: libFuzzer leaves through exit() */
{
    clear_dir();
    rmdir(dir);
}

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    if (!base && access("/dev/shm", W_OK) == 0)
        base = "/dev/shm";
    snprintf(dir, sizeof dir, "%s/fuzzwal.XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(dir) || qv_io_open_default("posix", &io, NULL) != QV_OK)
        abort();
    snprintf(file, sizeof file, "%s/wal-00000000000000000001.log", dir);
    qv_log_setup("error", NULL);
    atexit(remove_dir);
}

static void clear_dir(void)
{
    char **names = NULL, path[512];
    size_t n = 0;

    if (qv_io_list_dir(io, dir, &names, &n, NULL) != QV_OK)
        abort();
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    qv_io_free_names(names, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    qv_wal_opts o;
    seen first = {0}, again = {0};
    qv_wal_counters st;
    qv_wal *w = NULL;
    qv_error err;
    uint64_t lsn;
    qv_err rc;
    int fd;

    if (!ready) {
        setup();
        ready = true;
    }
    o = (qv_wal_opts){.dir = dir, .io = io, .file_bytes = 1 << 20};
    clear_dir();
    if ((fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
        write(fd, data, size) != (ssize_t)size || close(fd) != 0)
        abort();
    rc = qv_wal_open(&o, on_record, &first, &w, &err);
    if (rc != QV_OK) {
        if (rc != QV_ECORRUPT && rc != QV_EIO) {
            fprintf(stderr, "unexpected error %d: %s\n", (int)rc, err.msg);
            abort();
        }
        return 0;
    }
    if (first.n && qv_wal_last_lsn(w) != first.last)
        abort();
    if (qv_wal_append_sync(w, 7, "fuzz", 4, &lsn, &err) != QV_OK || lsn != qv_wal_last_lsn(w))
        abort();
    qv_wal_close(w);
    if (qv_wal_open(&o, on_record, &again, &w, &err) != QV_OK)
        abort(); /* a repaired WAL must open cleanly */
    qv_wal_stats(w, &st);
    if (again.n != first.n + 1 || again.last != lsn || st.torn_tails_repaired != 0 ||
        again.sum != first.sum + 'f' + 'u' + 'z' + 'z')
        abort();
    qv_wal_close(w);
    return 0;
}
