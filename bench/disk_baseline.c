/* SPDX-License-Identifier: Apache-2.0 */
/* disk_baseline.c - what the filesystem under a data dir can do for a WAL, measured with
 * plain POSIX calls in a scratch file there (removed afterwards):
 *   1. sequential write: --mib MiB in 1 MiB write()s, then one fsync; MB/s over both;
 *   2. small sync: 4 KiB appended + fdatasync, in a loop for --sync-seconds; syncs/s
 *      and the latency of one write+fdatasync (p50/p99/max);
 *   3. group-commit sized sync: 1 MiB appended + fdatasync, for half of --sync-seconds
 *      (an insert of 1000 768-d rows is a ~3 MiB WAL batch, 1000 128-d rows ~0.5 MiB).
 * Appends, not overwrites, because the WAL appends: each fdatasync must also persist the
 * new file size. The last line is "result: key=value ..." for scripts.
 *   usage: disk_baseline [--dir .] [--mib 256] [--sync-seconds 2] */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_BYTES (1u << 20)

typedef struct sync_stats {
    double per_s, p50_ms, p99_ms, max_ms, mb_per_s;
    long n;
} sync_stats;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static int open_scratch(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        fprintf(stderr, "disk_baseline: open %s: %s\n", path, strerror(errno));
    return fd;
}

/* MB/s (10^6 bytes) of mib MiB written in 1 MiB chunks, including the final fsync. */
static int seq_write(const char *path, const char *buf, int mib, double *mb_per_s,
                     double *fsync_ms)
{
    int fd = open_scratch(path);
    uint64_t t0, t1;

    if (fd < 0)
        return -1;
    t0 = now_ns();
    for (int i = 0; i < mib; i++)
        if (!write_all(fd, buf, CHUNK_BYTES)) {
            fprintf(stderr, "disk_baseline: write: %s\n", strerror(errno));
            close(fd);
            return -1;
        }
    t1 = now_ns();
    if (fsync(fd) != 0) {
        fprintf(stderr, "disk_baseline: fsync: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    *fsync_ms = (double)(now_ns() - t1) / 1e6;
    *mb_per_s = (double)mib * CHUNK_BYTES / ((double)(now_ns() - t0) / 1e9) / 1e6;
    close(fd);
    return 0;
}

/* Append `bytes` + fdatasync in a loop for `seconds`. */
static int sync_loop(const char *path, const char *buf, size_t bytes, double seconds,
                     sync_stats *st)
{
    int fd = open_scratch(path);
    size_t cap = 1 << 16, n = 0;
    double *lat = malloc(cap * sizeof *lat);
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9), t;
    int rc = -1;

    if (fd < 0 || !lat)
        goto done;
    while ((t = now_ns()) < end) {
        if (!write_all(fd, buf, bytes) || fdatasync(fd) != 0) {
            fprintf(stderr, "disk_baseline: write/fdatasync: %s\n", strerror(errno));
            goto done;
        }
        if (n == cap) {
            double *p = realloc(lat, 2 * cap * sizeof *lat);
            if (!p)
                goto done;
            lat = p;
            cap *= 2;
        }
        lat[n++] = (double)(now_ns() - t) / 1e6;
    }
    qsort(lat, n, sizeof *lat, cmp_double);
    st->n = (long)n;
    st->per_s = (double)n / ((double)(now_ns() - t0) / 1e9);
    st->mb_per_s = st->per_s * (double)bytes / 1e6;
    st->p50_ms = n ? lat[n / 2] : 0;
    st->p99_ms = n ? lat[(size_t)((double)(n - 1) * 0.99)] : 0;
    st->max_ms = n ? lat[n - 1] : 0;
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    free(lat);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = ".";
    int mib = 256;
    double sync_s = 2.0, seq_mb_s = 0, seq_fsync_ms = 0;
    sync_stats small = {0}, big = {0};
    char path[4096];
    char *buf;
    int rc = 1;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
        else if (!strcmp(argv[i], "--mib"))
            mib = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--sync-seconds"))
            sync_s = atof(argv[i + 1]);
        else
            break;
    }
    if (argc % 2 == 0 || mib <= 0 || sync_s <= 0) {
        fprintf(stderr, "usage: disk_baseline [--dir .] [--mib 256] [--sync-seconds 2]\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/.disk_baseline.%ld.tmp", dir, (long)getpid());
    if (!(buf = malloc(CHUNK_BYTES)))
        return 1;
    for (size_t i = 0; i < CHUNK_BYTES; i++) /* not zeros, in case of compression */
        buf[i] = (char)(i * 2654435761u >> 13);

    if (seq_write(path, buf, mib, &seq_mb_s, &seq_fsync_ms) != 0 ||
        sync_loop(path, buf, 4096, sync_s, &small) != 0 ||
        sync_loop(path, buf, CHUNK_BYTES, sync_s / 2, &big) != 0)
        goto done;
    printf("disk baseline in %s\n", dir);
    printf("  sequential write %d MiB (1 MiB writes + fsync): %.0f MB/s (final fsync %.1f ms)\n",
           mib, seq_mb_s, seq_fsync_ms);
    printf("  4 KiB append + fdatasync: %.0f syncs/s, latency ms p50 %.3f p99 %.3f max %.3f\n",
           small.per_s, small.p50_ms, small.p99_ms, small.max_ms);
    printf("  1 MiB append + fdatasync: %.0f syncs/s = %.0f MB/s, latency ms p50 %.3f p99 %.3f\n",
           big.per_s, big.mb_per_s, big.p50_ms, big.p99_ms);
    printf("result: seq_mb_s=%.1f sync_per_s=%.1f sync_p50_ms=%.4f sync_p99_ms=%.4f "
           "sync1m_per_s=%.1f sync1m_mb_s=%.1f sync1m_p50_ms=%.3f\n",
           seq_mb_s, small.per_s, small.p50_ms, small.p99_ms, big.per_s, big.mb_per_s,
           big.p50_ms);
    rc = 0;
done:
    unlink(path);
    free(buf);
    return rc;
}
