/* SPDX-License-Identifier: Apache-2.0 */
/* test_wal.c - WAL framing, rolling, group commit, replay, torn tails,
 * corruption, checkpoints and fail-stop, under every I/O backend. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quiver/buf.h"
#include "quiver/crc32c.h"
#include "quiver/io.h"
#include "quiver/wal.h"
#include "testutil.h"

#define FIRST_FILE "wal-00000000000000000001.log"

static char tmpdir[PATH_MAX];

static void setup(void) { test_mkdtemp(tmpdir, sizeof tmpdir); }
static void teardown(void) { test_rmtree(tmpdir); }


static void join(char *out, const char *a, const char *b)
{
    ck_assert_int_lt(snprintf(out, PATH_MAX, "%s/%s", a, b), PATH_MAX);
}

/* --- deterministic payloads: the bytes of a record follow from its key ---------------- */
static size_t payload_len(uint64_t key) { return (size_t)(key * 7919 % 300); }

static void payload_fill(uint8_t *p, size_t n, uint64_t key)
{
    uint64_t x = key * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)x;
    }
    if (n >= 8)
        qv_store_le64(p, key);
}

/* --- replay collector -------------------------------------------------------------- */
typedef struct rec {
    uint64_t lsn;
    uint8_t type;
    size_t len;
    uint8_t *data;
} rec;

typedef struct collected {
    rec *v;
    size_t n, cap;
} collected;

static qv_err collect_cb(void *ctx, uint8_t type, const void *p, size_t len, uint64_t lsn)
{
    collected *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n].lsn = lsn;
    c->v[c->n].type = type;
    c->v[c->n].len = len;
    c->v[c->n].data = malloc(len ? len : 1);
    memcpy(c->v[c->n].data, p, len);
    c->n++;
    return QV_OK;
}

static void collected_free(collected *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].data);
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* Record with key k: type 1 + k % 200, payload_len(k) bytes. */
static qv_err append_key(qv_wal *w, uint64_t k, bool sync, uint64_t *lsn, qv_error *e)
{
    uint8_t buf[512];
    size_t n = payload_len(k);
    payload_fill(buf, n, k);
    return sync ? qv_wal_append_sync(w, (uint8_t)(1 + k % 200), buf, n, lsn, e)
                : qv_wal_append(w, (uint8_t)(1 + k % 200), buf, n, lsn, e);
}

static void check_key(const rec *r, uint64_t k)
{
    uint8_t buf[512];
    size_t n = payload_len(k);
    payload_fill(buf, n, k);
    ck_assert_uint_eq(r->type, 1 + k % 200);
    ck_assert_uint_eq(r->len, n);
    ck_assert_mem_eq(r->data, buf, n);
}

static qv_wal *wal_open_ok(qv_io *io, const char *dir, size_t file_bytes, collected *c)
{
    qv_wal_opts o = {.dir = dir, .file_bytes = file_bytes, .io = io};
    qv_error e = {0};
    qv_wal *w = NULL;
    qv_err rc = qv_wal_open(&o, c ? collect_cb : NULL, c, &w, &e);
    if (rc != QV_OK)
        ck_abort_msg("qv_wal_open: %s: %s", qv_err_name(rc), e.msg);
    return w;
}

static qv_err wal_open_rc(qv_io *io, const char *dir, collected *c, qv_error *e)
{
    qv_wal_opts o = {.dir = dir, .file_bytes = 1 << 20, .io = io};
    qv_wal *w = NULL;
    qv_err rc = qv_wal_open(&o, c ? collect_cb : NULL, c, &w, e);
    qv_wal_close(w);
    return rc;
}

/* --- raw file helpers ---------------------------------------------------------------- */
static uint8_t *read_all(const char *path, size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, &st), 0);
    uint8_t *p = malloc((size_t)st.st_size + 1);
    ck_assert_int_eq(pread(fd, p, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return p;
}

static void write_all(const char *path, const uint8_t *p, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, p, len, 0), (ssize_t)len);
    close(fd);
}

static size_t file_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (size_t)st.st_size;
}

/* Offsets of the records in a WAL file image. */
static size_t record_offsets(const uint8_t *p, size_t len, size_t *offs, size_t max)
{
    size_t n = 0;
    for (size_t pos = 32; pos + 17 <= len && n < max;
         pos += 17 + (qv_load_le32(p + pos) & 0x7fffffffu)) /* bit 31: batch start */
        offs[n++] = pos;
    return n;
}

static size_t count_wal_files(qv_io *io, const char *dir)
{
    char **names = NULL;
    size_t count = 0, n = 0;
    ck_assert_int_eq(qv_io_list_dir(io, dir, &names, &count, NULL), QV_OK);
    for (size_t i = 0; i < count; i++)
        n += strncmp(names[i], "wal-", 4) == 0;
    qv_io_free_names(names, count);
    return n;
}

/* ------------------------------------------------------------------------------------- */

START_TEST(test_wal_framing_roundtrip)
{
    qv_io *io = test_open_io(_i);
    collected c = {0};
    qv_wal_counters st;
    qv_error e = {0};
    char dir[PATH_MAX], path[PATH_MAX];
    uint64_t lsn = 0;
    uint8_t *img, b[13];
    size_t len;

    join(dir, tmpdir, "wal"); /* created by open */
    qv_wal *w = wal_open_ok(io, dir, 0, NULL);
    ck_assert_uint_eq(qv_wal_last_lsn(w), 0);
    ck_assert_int_eq(qv_wal_sync(w, UINT64_MAX, &e), QV_OK); /* nothing to do */
    for (uint64_t k = 1; k <= 100; k++) {
        ck_assert_int_eq(append_key(w, k, false, &lsn, &e), QV_OK);
        ck_assert_uint_eq(lsn, k);
    }
    ck_assert_uint_eq(qv_wal_durable_lsn(w), 0);
    ck_assert_int_eq(qv_wal_sync(w, UINT64_MAX, &e), QV_OK);
    ck_assert_uint_eq(qv_wal_durable_lsn(w), 100);
    qv_wal_stats(w, &st);
    ck_assert_uint_eq(st.appends, 100);
    ck_assert_uint_eq(st.fsyncs, 1);
    ck_assert_uint_eq(st.files, 1);
    ck_assert_uint_eq(st.last_lsn, 100);
    qv_wal_close(w);

    /* the bytes on disk, as documented in wal_format.c */
    join(path, dir, FIRST_FILE);
    img = read_all(path, &len);
    ck_assert_mem_eq(img, "QVWAL\r\n\x1a", 8);
    ck_assert_uint_eq(qv_load_le32(img + 8), 2);
    ck_assert_uint_eq(qv_load_le32(img + 12), 32);
    ck_assert_uint_eq(qv_load_le64(img + 16), 1);
    ck_assert_uint_eq(qv_load_le32(img + 28), qv_crc32c(0, img, 28));
    size_t pos = 32;
    for (uint64_t k = 1; k <= 100; k++) {
        uint32_t raw = qv_load_le32(img + pos), n = raw & 0x7fffffffu;
        ck_assert_uint_eq(n, payload_len(k));
        ck_assert_uint_eq(raw >> 31, k == 1); /* one write: only its first record marked */
        ck_assert_uint_eq(img[pos + 4], 1 + k % 200);
        ck_assert_uint_eq(qv_load_le64(img + pos + 5), k);
        b[0] = img[pos + 4];
        qv_store_le64(b + 1, k);
        qv_store_le32(b + 9, raw);
        ck_assert_uint_eq(qv_load_le32(img + pos + 13),
                          qv_crc32c(qv_crc32c(0, b, 13), img + pos + 17, n));
        pos += 17 + n;
    }
    ck_assert_uint_eq(pos, len);
    free(img);

    w = wal_open_ok(io, dir, 0, &c);
    ck_assert_uint_eq(c.n, 100);
    for (size_t i = 0; i < c.n; i++) {
        ck_assert_uint_eq(c.v[i].lsn, i + 1);
        check_key(&c.v[i], i + 1);
    }
    qv_wal_stats(w, &st);
    ck_assert_uint_eq(st.replayed_records, 100);
    ck_assert_uint_eq(st.torn_tails_repaired, 0);
    ck_assert_uint_eq(qv_wal_last_lsn(w), 100);
    ck_assert_int_eq(append_key(w, 101, true, &lsn, &e), QV_OK);
    ck_assert_uint_eq(lsn, 101);
    qv_wal_close(w);
    collected_free(&c);
    qv_io_free(io);
}
END_TEST

START_TEST(test_wal_rolls_across_files)
{
    qv_io *io = test_open_io(_i);
    char **names = NULL, path[PATH_MAX];
    size_t count = 0, len;
    collected c = {0};
    qv_wal_counters st;
    uint64_t prev = 0;

    qv_wal *w = wal_open_ok(io, tmpdir, 1024, NULL);
    for (uint64_t k = 1; k <= 200; k++)
        ck_assert_int_eq(append_key(w, k, true, NULL, NULL), QV_OK);
    qv_wal_stats(w, &st);
    ck_assert_uint_gt(st.files, 10);
    ck_assert_uint_eq(st.files, st.files_created);
    qv_wal_close(w);

    /* names are the first LSN, and each header agrees */
    ck_assert_int_eq(qv_io_list_dir(io, tmpdir, &names, &count, NULL), QV_OK);
    ck_assert_uint_eq(count, st.files);
    for (size_t i = 0; i < count; i++) {
        unsigned long long first;
        ck_assert_int_eq(sscanf(names[i], "wal-%20llu.log", &first), 1);
        ck_assert_uint_gt(first, prev);
        prev = first;
        join(path, tmpdir, names[i]);
        uint8_t *img = read_all(path, &len);
        ck_assert_uint_eq(qv_load_le64(img + 16), first);
        ck_assert_uint_eq(qv_load_le64(img + 32 + 5), first); /* first record */
        ck_assert(i + 1 == count || len >= 1024);               /* rolled past file_bytes */
        free(img);
    }
    qv_io_free_names(names, count);

    w = wal_open_ok(io, tmpdir, 1024, &c);
    ck_assert_uint_eq(c.n, 200);
    for (size_t i = 0; i < c.n; i++) {
        ck_assert_uint_eq(c.v[i].lsn, i + 1);
        check_key(&c.v[i], i + 1);
    }
    qv_wal_close(w);
    collected_free(&c);
    qv_io_free(io);
}
END_TEST

#define GC_THREADS 8
#define GC_PER_THREAD 200

typedef struct gc_worker {
    qv_wal *w;
    int id;
    uint64_t acked[GC_PER_THREAD];
    int nacked;
    int errors;
} gc_worker;

static void *gc_run(void *arg)
{
    gc_worker *g = arg;
    for (int j = 0; j < GC_PER_THREAD; j++) {
        uint64_t key = (uint64_t)g->id * 100000 + (uint64_t)j + 1, lsn;
        if (append_key(g->w, key, true, &lsn, NULL) == QV_OK)
            g->acked[g->nacked++] = lsn;
        else
            g->errors++;
    }
    return NULL;
}

/* The record with LSN lsn in c (replayed in order from first_lsn), or NULL. */
static const rec *find_lsn(const collected *c, uint64_t lsn)
{
    if (c->n == 0 || lsn < c->v[0].lsn || lsn - c->v[0].lsn >= c->n)
        return NULL;
    return &c->v[lsn - c->v[0].lsn];
}

START_TEST(test_wal_group_commit_threads)
{
    qv_io *io = test_open_io(_i);
    pthread_t th[GC_THREADS];
    static gc_worker g[GC_THREADS];
    collected c = {0};
    qv_wal_counters st;

    qv_wal *w = wal_open_ok(io, tmpdir, 256 << 10, NULL);
    for (int t = 0; t < GC_THREADS; t++) {
        g[t] = (gc_worker){.w = w, .id = t + 1};
        ck_assert_int_eq(pthread_create(&th[t], NULL, gc_run, &g[t]), 0);
    }
    for (int t = 0; t < GC_THREADS; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(g[t].errors, 0);
        ck_assert_int_eq(g[t].nacked, GC_PER_THREAD);
    }
    qv_wal_stats(w, &st);
    printf("group commit (%s): %llu appends, %llu fsyncs, mean write+fsync %.3f ms\n",
           qv_io_backend_name(io), (unsigned long long)st.appends,
           (unsigned long long)st.fsyncs, st.fsync_ns_sum / 1e6 / (double)st.fsyncs);
    ck_assert_uint_eq(st.appends, GC_THREADS * GC_PER_THREAD);
    ck_assert_uint_le(st.fsyncs * 2, st.appends); /* at least two records per fsync */
    ck_assert_uint_eq(st.durable_lsn, GC_THREADS * GC_PER_THREAD);
    qv_wal_close(w);

    w = wal_open_ok(io, tmpdir, 256 << 10, &c);
    ck_assert_uint_eq(c.n, GC_THREADS * GC_PER_THREAD);
    for (int t = 0; t < GC_THREADS; t++)
        for (int j = 0; j < GC_PER_THREAD; j++) {
            const rec *r = find_lsn(&c, g[t].acked[j]);
            ck_assert_ptr_nonnull(r);
            check_key(r, (uint64_t)g[t].id * 100000 + (uint64_t)j + 1);
        }
    qv_wal_close(w);
    collected_free(&c);
    qv_io_free(io);
}
END_TEST

/* Ten records in one file; returns the file image and the last record's offset. */
/* Ten records: one write (group commit) of all ten, or (separate) one write each. */
static uint8_t *make_ten_as(qv_io *io, const char *path, size_t *len, size_t *last_off,
                            bool separate)
{
    size_t offs[16];
    qv_wal *w = wal_open_ok(io, tmpdir, 1 << 20, NULL);
    for (uint64_t k = 1; k <= 10; k++)
        ck_assert_int_eq(append_key(w, k, separate, NULL, NULL), QV_OK);
    ck_assert_int_eq(qv_wal_sync(w, UINT64_MAX, NULL), QV_OK);
    qv_wal_close(w);
    uint8_t *img = read_all(path, len);
    ck_assert_uint_eq(record_offsets(img, *len, offs, 16), 10);
    *last_off = offs[9];
    return img;
}

static uint8_t *make_ten(qv_io *io, const char *path, size_t *len, size_t *last_off)
{
    return make_ten_as(io, path, len, last_off, false);
}

START_TEST(test_wal_torn_tail_every_offset)
{
    qv_io *io = test_open_io(_i);
    char path[PATH_MAX];
    size_t len, last;
    qv_wal_counters st;
    qv_error e = {0};
    uint64_t lsn;

    join(path, tmpdir, FIRST_FILE);
    uint8_t *img = make_ten(io, path, &len, &last);
    ck_assert_uint_gt(len - last, 17);
    for (size_t cut = last; cut < len; cut++) {
        collected c = {0};
        write_all(path, img, cut);
        qv_wal *w = wal_open_ok(io, tmpdir, 1 << 20, &c);
        ck_assert_uint_eq(c.n, 9);
        for (size_t i = 0; i < 9; i++)
            check_key(&c.v[i], i + 1);
        qv_wal_stats(w, &st);
        ck_assert_uint_eq(st.torn_tails_repaired, cut > last ? 1 : 0);
        ck_assert_uint_eq(file_size(path), last);
        /* the log goes on from the repaired tail */
        ck_assert_int_eq(append_key(w, 1000 + cut, true, &lsn, &e), QV_OK);
        ck_assert_uint_eq(lsn, 10);
        qv_wal_close(w);
        collected_free(&c);

        w = wal_open_ok(io, tmpdir, 1 << 20, &c);
        ck_assert_uint_eq(c.n, 10);
        check_key(&c.v[9], 1000 + cut);
        qv_wal_stats(w, &st);
        ck_assert_uint_eq(st.torn_tails_repaired, 0);
        qv_wal_close(w);
        collected_free(&c);
    }
    free(img);
    qv_io_free(io);
}
END_TEST

START_TEST(test_wal_torn_file_header)
{
    qv_io *io = test_open_io(_i);
    char path[PATH_MAX], name[64];
    uint8_t hdr[32];
    collected c = {0};
    qv_wal_counters st;
    uint64_t lsn;
    size_t len;

    qv_wal *w = wal_open_ok(io, tmpdir, 1 << 20, NULL);
    for (uint64_t k = 1; k <= 5; k++)
        ck_assert_int_eq(append_key(w, k, true, NULL, NULL), QV_OK);
    qv_wal_close(w);
    /* a crash while creating the next file: a prefix of a valid header */
    join(path, tmpdir, FIRST_FILE);
    uint8_t *img = read_all(path, &len);
    memcpy(hdr, img, 32);
    free(img);
    qv_store_le64(hdr + 16, 6);
    qv_store_le32(hdr + 28, qv_crc32c(0, hdr, 28));
    snprintf(name, sizeof name, "wal-%020llu.log", 6ull);
    join(path, tmpdir, name);
    for (size_t cut = 0; cut <= 32; cut++) {
        write_all(path, hdr, cut);
        w = wal_open_ok(io, tmpdir, 1 << 20, &c);
        ck_assert_uint_eq(c.n, 5);
        qv_wal_stats(w, &st);
        ck_assert_uint_eq(st.torn_tails_repaired, cut < 32 ? 1 : 0);
        ck_assert_uint_eq(st.files, cut < 32 ? 1 : 2);
        ck_assert_uint_eq(qv_wal_last_lsn(w), 5);
        qv_wal_close(w);
        collected_free(&c);
    }
    /* the empty but valid newest file takes the next records */
    w = wal_open_ok(io, tmpdir, 1 << 20, NULL);
    ck_assert_int_eq(append_key(w, 6, true, &lsn, NULL), QV_OK);
    ck_assert_uint_eq(lsn, 6);
    qv_wal_close(w);
    ck_assert_uint_eq(file_size(path), 32 + 17 + payload_len(6));
    w = wal_open_ok(io, tmpdir, 1 << 20, &c);
    ck_assert_uint_eq(c.n, 6);
    check_key(&c.v[5], 6);
    qv_wal_close(w);
    collected_free(&c);

    /* a whole header of another version is not a torn one: refuse, delete nothing */
    qv_store_le32(hdr + 8, 3);
    qv_store_le64(hdr + 16, 7);
    qv_store_le32(hdr + 28, qv_crc32c(0, hdr, 28));
    snprintf(name, sizeof name, "wal-%020llu.log", 7ull);
    join(path, tmpdir, name);
    write_all(path, hdr, 32);
    qv_error e = {0};
    ck_assert_int_eq(wal_open_rc(io, tmpdir, NULL, &e), QV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(e.msg, "unsupported WAL version"));
    ck_assert_ptr_nonnull(strstr(e.msg, name));
    ck_assert_uint_eq(file_size(path), 32);
    qv_io_free(io);
}
END_TEST

START_TEST(test_wal_bitflip_in_last_record_is_torn)
{
    qv_io *io = test_open_io(_i);
    char path[PATH_MAX];
    size_t len, last;
    qv_wal_counters st;

    join(path, tmpdir, FIRST_FILE);
    uint8_t *img = make_ten(io, path, &len, &last);
    for (size_t at = last; at < len; at++)
        for (int bit = 0; bit < 8; bit++) {
            collected c = {0};
            img[at] ^= (uint8_t)(1u << bit);
            write_all(path, img, len);
            img[at] ^= (uint8_t)(1u << bit);
            qv_wal *w = wal_open_ok(io, tmpdir, 1 << 20, &c);
            ck_assert_uint_eq(c.n, 9);
            qv_wal_stats(w, &st);
            ck_assert_uint_eq(st.torn_tails_repaired, 1);
            qv_wal_close(w);
            collected_free(&c);
            ck_assert_uint_eq(file_size(path), last);
        }
    free(img);
    qv_io_free(io);
}
END_TEST

/* Damage in a record followed by a later write: that write was only made after the
 * damaged one's fsync, so the damaged record was acknowledged: refuse to open. */
START_TEST(test_wal_bitflip_in_middle_record_is_corrupt)
{
    qv_io *io = test_open_io(_i);
    char path[PATH_MAX], off_s[64];
    size_t len, last, offs[16];
    qv_error e = {0};

    join(path, tmpdir, FIRST_FILE);
    uint8_t *img = make_ten_as(io, path, &len, &last, true);
    record_offsets(img, len, offs, 16);
    size_t mid = offs[4], mid_end = offs[5];
    snprintf(off_s, sizeof off_s, "offset %zu", mid);
    /* every header byte and a sample of payload bytes, one bit each */
    for (size_t at = mid; at < mid_end; at += at < mid + 17 ? 1 : 5) {
        collected c = {0};
        img[at] ^= (uint8_t)(1u << (at % 8));
        write_all(path, img, len);
        img[at] ^= (uint8_t)(1u << (at % 8));
        ck_assert_int_eq(wal_open_rc(io, tmpdir, &c, &e), QV_ECORRUPT);
        ck_assert_msg(strstr(e.msg, FIRST_FILE) && strstr(e.msg, off_s),
                      "flip at %zu: message '%s' lacks file or '%s'", at, e.msg, off_s);
        ck_assert_uint_eq(file_size(path), len); /* nothing truncated */
        collected_free(&c);
    }
    /* valid again once repaired by hand */
    write_all(path, img, len);
    ck_assert_int_eq(wal_open_rc(io, tmpdir, NULL, &e), QV_OK);
    free(img);
    qv_io_free(io);
}
END_TEST

/* A crash while the last write's pages were persisted out of order: a hole, then intact
 * records of that same never-acknowledged write. A torn tail, cut at the hole. */
START_TEST(test_wal_hole_in_last_write_is_torn)
{
    qv_io *io = test_open_io(_i);
    char path[PATH_MAX];
    size_t len, last, offs[16];
    qv_wal_counters st;

    join(path, tmpdir, FIRST_FILE);
    uint8_t *img = make_ten(io, path, &len, &last); /* one write of ten records */
    record_offsets(img, len, offs, 16);
    for (size_t victim = 1; victim < 9; victim++) {
        collected c = {0};
        size_t end = offs[victim + 1];
        uint8_t *copy = malloc(len);
        memcpy(copy, img, len);
        memset(copy + offs[victim], 0, end - offs[victim]); /* a page never written */
        write_all(path, copy, len);
        qv_wal *w = wal_open_ok(io, tmpdir, 1 << 20, &c);
        ck_assert_uint_eq(c.n, victim);
        qv_wal_stats(w, &st);
        ck_assert_uint_eq(st.torn_tails_repaired, 1);
        ck_assert_uint_eq(qv_wal_last_lsn(w), victim);
        qv_wal_close(w);
        collected_free(&c);
        ck_assert_uint_eq(file_size(path), offs[victim]);
        free(copy);
    }
    /* the same hole in the first of two writes is corruption */
    {
        qv_error e = {0};
        qv_wal *w;
        write_all(path, img, len);
        w = wal_open_ok(io, tmpdir, 1 << 20, NULL);
        ck_assert_int_eq(append_key(w, 11, true, NULL, NULL), QV_OK);
        qv_wal_close(w);
        free(img);
        img = read_all(path, &len);
        memset(img + offs[4], 0, offs[5] - offs[4]);
        write_all(path, img, len);
        ck_assert_int_eq(wal_open_rc(io, tmpdir, NULL, &e), QV_ECORRUPT);
        ck_assert_ptr_nonnull(strstr(e.msg, "later write"));
    }
    free(img);
    qv_io_free(io);
}
END_TEST

/* Files written before batch marks (version 1) are read, with the old rule: any valid
 * record after damage means corruption. */
START_TEST(test_wal_version1_file)
{
    qv_io *io = test_open_io(_i);
    char path[PATH_MAX];
    size_t len, last, offs[16];
    qv_error e = {0};
    collected c = {0};

    join(path, tmpdir, FIRST_FILE);
    uint8_t *img = make_ten(io, path, &len, &last);
    record_offsets(img, len, offs, 16);
    /* rewrite as version 1: header version, no marks (CRCs recomputed) */
    qv_store_le32(img + 8, 1);
    qv_store_le32(img + 28, qv_crc32c(0, img, 28));
    for (size_t i = 0; i < 10; i++) {
        uint8_t *r = img + offs[i], b[13];
        uint32_t n = qv_load_le32(r) & 0x7fffffffu;
        qv_store_le32(r, n);
        b[0] = r[4];
        memcpy(b + 1, r + 5, 8);
        qv_store_le32(b + 9, n);
        qv_store_le32(r + 13, qv_crc32c(qv_crc32c(0, b, 13), r + 17, n));
    }
    write_all(path, img, len);
    qv_wal *w = wal_open_ok(io, tmpdir, 1 << 20, &c);
    ck_assert_uint_eq(c.n, 10);
    qv_wal_close(w);
    collected_free(&c);
    write_all(path, img, len);
    img[offs[4] + 20] ^= 1;
    write_all(path, img, len);
    ck_assert_int_eq(wal_open_rc(io, tmpdir, NULL, &e), QV_ECORRUPT);
    free(img);
    qv_io_free(io);
}
END_TEST

START_TEST(test_wal_damage_in_older_file_is_corrupt)
{
    qv_io *io = test_open_io(_i);
    char **names = NULL, older[PATH_MAX], middle[PATH_MAX];
    size_t count = 0, len;
    qv_error e = {0};

    qv_wal *w = wal_open_ok(io, tmpdir, 1024, NULL);
    for (uint64_t k = 1; k <= 60; k++)
        ck_assert_int_eq(append_key(w, k, true, NULL, NULL), QV_OK);
    qv_wal_close(w);
    ck_assert_int_eq(qv_io_list_dir(io, tmpdir, &names, &count, NULL), QV_OK);
    ck_assert_uint_ge(count, 3);
    join(older, tmpdir, names[0]);
    join(middle, tmpdir, names[1]);
    uint8_t *img = read_all(older, &len);

    write_all(older, img, len - 1); /* an older file may not have a torn tail */
    ck_assert_int_eq(wal_open_rc(io, tmpdir, NULL, &e), QV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(e.msg, names[0]));
    ck_assert_ptr_nonnull(strstr(e.msg, "offset"));
    img[len - 1] ^= 0x40; /* nor a bad last record */
    write_all(older, img, len);
    ck_assert_int_eq(wal_open_rc(io, tmpdir, NULL, &e), QV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(e.msg, names[0]));
    img[len - 1] ^= 0x40;
    img[3] ^= 1; /* nor a bad header */
    write_all(older, img, len);
    ck_assert_int_eq(wal_open_rc(io, tmpdir, NULL, &e), QV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(e.msg, "offset 0"));
    img[3] ^= 1;
    write_all(older, img, len);
    ck_assert_int_eq(wal_open_rc(io, tmpdir, NULL, &e), QV_OK);

    ck_assert_int_eq(unlink(middle), 0); /* a missing file is a gap in the LSNs */
    ck_assert_int_eq(wal_open_rc(io, tmpdir, NULL, &e), QV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(e.msg, names[2]));
    free(img);
    qv_io_free_names(names, count);
    qv_io_free(io);
}
END_TEST

START_TEST(test_wal_truncate_before)
{
    qv_io *io = test_open_io(_i);
    collected c = {0};
    qv_wal_counters st;
    uint64_t lsn;

    qv_wal *w = wal_open_ok(io, tmpdir, 1024, NULL);
    for (uint64_t k = 1; k <= 200; k++)
        ck_assert_int_eq(append_key(w, k, true, NULL, NULL), QV_OK);
    qv_wal_stats(w, &st);
    uint64_t files_before = st.files;
    ck_assert_int_eq(qv_wal_truncate_before(w, 1, NULL), QV_OK); /* nothing below 1 */
    ck_assert_int_eq(qv_wal_truncate_before(w, 100, NULL), QV_OK);
    qv_wal_stats(w, &st);
    ck_assert_uint_lt(st.files, files_before);
    ck_assert_uint_eq(st.files_deleted, files_before - st.files);
    ck_assert_uint_eq(count_wal_files(io, tmpdir), st.files);
    qv_wal_close(w);

    w = wal_open_ok(io, tmpdir, 1024, &c);
    ck_assert_uint_le(c.v[0].lsn, 100);
    ck_assert_uint_gt(c.v[0].lsn, 100 - 20); /* files hold far fewer than 20 records */
    ck_assert_uint_eq(c.v[c.n - 1].lsn, 200);
    for (size_t i = 0; i < c.n; i++)
        check_key(&c.v[i], c.v[0].lsn + i);
    collected_free(&c);
    /* everything: the newest file stays, so LSNs go on */
    ck_assert_int_eq(qv_wal_truncate_before(w, UINT64_MAX, NULL), QV_OK);
    ck_assert_uint_eq(count_wal_files(io, tmpdir), 1);
    qv_wal_close(w);

    qv_wal_opts o = {.dir = tmpdir, .file_bytes = 1024, .io = io, .replay_from_lsn = 200};
    ck_assert_int_eq(qv_wal_open(&o, collect_cb, &c, &w, NULL), QV_OK);
    ck_assert_uint_eq(c.n, 1); /* 200 replayed, the rest of the file only checked */
    ck_assert_uint_eq(c.v[0].lsn, 200);
    ck_assert_int_eq(append_key(w, 201, true, &lsn, NULL), QV_OK);
    ck_assert_uint_eq(lsn, 201);
    qv_wal_close(w);
    collected_free(&c);
    qv_io_free(io);
}
END_TEST

/* A WAL whose files are gone (a shard restored from sealed segments) continues after
 * replay_from_lsn, so its records are replayed after a restart. */
START_TEST(test_wal_empty_continues_at_replay_from)
{
    qv_io *io = test_open_io(_i);
    qv_wal_opts o = {.dir = tmpdir, .file_bytes = 1024, .io = io, .replay_from_lsn = 501};
    collected c = {0};
    qv_wal *w = NULL;
    uint64_t lsn = 0;

    ck_assert_int_eq(qv_wal_open(&o, collect_cb, &c, &w, NULL), QV_OK);
    ck_assert_uint_eq(c.n, 0);
    ck_assert_int_eq(append_key(w, 7, true, &lsn, NULL), QV_OK);
    ck_assert_uint_eq(lsn, 501);
    qv_wal_close(w);
    ck_assert_int_eq(qv_wal_open(&o, collect_cb, &c, &w, NULL), QV_OK);
    ck_assert_uint_eq(c.n, 1);
    ck_assert_uint_eq(c.v[0].lsn, 501);
    check_key(&c.v[0], 7);
    qv_wal_close(w);
    collected_free(&c);
    qv_io_free(io);
}
END_TEST

START_TEST(test_wal_rejects_bad_input)
{
    qv_io *io = test_open_io(_i);
    qv_wal_opts o = {.dir = NULL, .io = io};
    qv_error e = {0};
    qv_wal *w = NULL;
    uint8_t one = 1;

    ck_assert_int_eq(qv_wal_open(&o, NULL, NULL, &w, &e), QV_EINVAL);
    w = wal_open_ok(io, tmpdir, 0, NULL);
    ck_assert_int_eq(qv_wal_append(w, 0, &one, 1, NULL, &e), QV_EINVAL);
    ck_assert_int_eq(qv_wal_append(w, 1, &one, QV_WAL_MAX_RECORD_BYTES + 1, NULL, &e),
                     QV_ETOOBIG);
    ck_assert_int_eq(qv_wal_append(w, 1, NULL, 5, NULL, &e), QV_EINVAL);
    ck_assert_int_eq(qv_wal_append_sync(w, 1, NULL, 0, NULL, &e), QV_OK); /* empty payload */
    ck_assert_uint_eq(qv_wal_last_lsn(w), 1);
    ck_assert_int_eq(qv_wal_status(w, &e), QV_OK);
    qv_wal_close(w);
    qv_wal_close(NULL);
    qv_io_free(io);
}
END_TEST

static qv_err failing_cb(void *ctx, uint8_t type, const void *p, size_t len, uint64_t lsn)
{
    (void)ctx, (void)type, (void)p, (void)len;
    return lsn == 3 ? QV_EBADDATA : QV_OK;
}

START_TEST(test_wal_large_records_and_buffer_flush)
{
    qv_io *io = test_open_io(_i);
    size_t big = (size_t)5 << 20;
    uint8_t *p = malloc(big), blk[4096] = {0};
    qv_wal_opts o = {.dir = tmpdir, .io = io, .buffer_bytes = 64 << 10};
    collected c = {0};
    qv_wal_counters st;
    qv_error e = {0};
    qv_wal *w = NULL;

    payload_fill(p, big, 42);
    ck_assert_int_eq(qv_wal_open(&o, NULL, NULL, &w, &e), QV_OK);
    ck_assert_int_eq(qv_wal_append_sync(w, 9, p, big, NULL, &e), QV_OK);
    for (int i = 0; i < 100; i++) /* no sync: the buffer limit forces flushes */
        ck_assert_int_eq(qv_wal_append(w, 2, blk, sizeof blk, NULL, &e), QV_OK);
    qv_wal_stats(w, &st);
    ck_assert_uint_ge(st.fsyncs, 1 + 4);
    qv_wal_close(w); /* syncs the rest */

    ck_assert_int_eq(qv_wal_open(&o, collect_cb, &c, &w, &e), QV_OK);
    ck_assert_uint_eq(c.n, 101);
    ck_assert_uint_eq(c.v[0].len, big);
    ck_assert_int_eq(memcmp(c.v[0].data, p, big), 0);
    qv_wal_close(w);
    collected_free(&c);
    ck_assert_int_eq(qv_wal_open(&o, failing_cb, NULL, &w, &e), QV_EBADDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "LSN 3"));
    free(p);
    qv_io_free(io);
}
END_TEST

/* --- fail-stop under injected faults ---------------------------------------------------- */

typedef struct fault_case {
    qv_io_fault_op op;
    int errnum;
    uint64_t nth;
    bool torn;
} fault_case;

static void run_fault_case(int backend, const fault_case *fc, const char *sub)
{
    qv_io *inner = test_open_io(backend), *io = NULL;
    qv_io_fault fault = {.op = fc->op, .nth = fc->nth, .errnum = fc->errnum, .torn = fc->torn};
    qv_err want = fc->errnum == ENOSPC ? QV_ENOSPC : QV_EIO;
    qv_io_faulty_counts before, after;
    uint64_t acked[64], lsn = 0, k;
    int nacked = 0;
    char dir[PATH_MAX];
    collected c = {0};
    qv_error e = {0};
    qv_err rc = QV_OK;

    join(dir, tmpdir, sub);
    ck_assert_int_eq(qv_io_faulty_new(inner, NULL, &io, &e), QV_OK);
    qv_wal *w = wal_open_ok(io, dir, 2048, NULL);
    for (k = 1; k <= 5; k++) {
        ck_assert_int_eq(append_key(w, k, true, &lsn, &e), QV_OK);
        acked[nacked++] = k;
    }
    qv_io_faulty_arm(io, &fault);
    for (; k <= 40; k++) {
        if ((rc = append_key(w, k, true, &lsn, &e)) != QV_OK)
            break;
        acked[nacked++] = k;
    }
    ck_assert_msg(rc == want, "case %s: got %s (%s)", sub, qv_err_name(rc), e.msg);
    ck_assert_ptr_nonnull(strstr(e.msg, "injected"));
    ck_assert_ptr_nonnull(strstr(e.msg, dir));
    ck_assert_uint_eq(qv_wal_durable_lsn(w), acked[nacked - 1]);

    /* fail-stop: nothing is retried, nothing new is accepted */
    qv_io_faulty_get_counts(io, &before);
    ck_assert_uint_eq(before.faults, 1);
    ck_assert_int_eq(qv_wal_sync(w, qv_wal_last_lsn(w), &e), want);
    ck_assert_int_eq(qv_wal_sync(w, UINT64_MAX, &e), want);
    ck_assert_int_eq(append_key(w, 100, false, NULL, &e), want);
    ck_assert_ptr_nonnull(strstr(e.msg, "earlier failure"));
    ck_assert_int_eq(append_key(w, 101, true, NULL, &e), want);
    ck_assert_int_eq(qv_wal_status(w, &e), want);
    ck_assert_int_eq(qv_wal_sync(w, acked[nacked - 1], &e), QV_OK); /* durable stays durable */
    qv_wal_close(w);
    qv_io_faulty_get_counts(io, &after);
    ck_assert_uint_eq(after.writes, before.writes);
    ck_assert_uint_eq(after.fsyncs, before.fsyncs);

    /* a healthy reopen replays exactly the acknowledged records */
    w = wal_open_ok(inner, dir, 2048, &c);
    ck_assert_uint_eq(c.n, (size_t)nacked);
    for (int i = 0; i < nacked; i++) {
        ck_assert_uint_eq(c.v[i].lsn, acked[i]);
        check_key(&c.v[i], acked[i]);
    }
    ck_assert_int_eq(append_key(w, 500, true, &lsn, &e), QV_OK);
    ck_assert_uint_eq(lsn, (uint64_t)nacked + 1);
    qv_wal_close(w);
    collected_free(&c);
    qv_io_free(io);
    qv_io_free(inner);
}

START_TEST(test_wal_fault_fail_stop)
{
    static const fault_case cases[] = {
        {QV_IO_FAULT_WRITE, ENOSPC, 1, false}, {QV_IO_FAULT_WRITE, EIO, 1, false},
        {QV_IO_FAULT_WRITE, ENOSPC, 4, true},  {QV_IO_FAULT_WRITE, EIO, 7, true},
        {QV_IO_FAULT_FSYNC, ENOSPC, 1, false}, {QV_IO_FAULT_FSYNC, EIO, 1, false},
        {QV_IO_FAULT_FSYNC, EIO, 6, false},    {QV_IO_FAULT_FSYNC, ENOSPC, 9, false},
        {QV_IO_FAULT_DIRSYNC, EIO, 1, false},  /* the directory fsync of a rolled file */
    };
    char sub[32];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(sub, sizeof sub, "case%zu", i);
        run_fault_case(_i, &cases[i], sub);
    }
}
END_TEST

#define FT_THREADS 4
#define FT_PER_THREAD 100

START_TEST(test_wal_fault_under_concurrency)
{
    qv_io *inner = test_open_io(_i), *io = NULL;
    qv_io_fault fault = {.op = QV_IO_FAULT_FSYNC, .nth = 25, .errnum = EIO};
    static gc_worker g[FT_THREADS];
    pthread_t th[FT_THREADS];
    collected c = {0};
    size_t nacked = 0, errors = 0;

    ck_assert_int_eq(qv_io_faulty_new(inner, &fault, &io, NULL), QV_OK);
    qv_wal *w = wal_open_ok(io, tmpdir, 8192, NULL);
    for (int t = 0; t < FT_THREADS; t++) {
        g[t] = (gc_worker){.w = w, .id = t + 1};
        ck_assert_int_eq(pthread_create(&th[t], NULL, gc_run, &g[t]), 0);
    }
    for (int t = 0; t < FT_THREADS; t++) {
        pthread_join(th[t], NULL);
        nacked += (size_t)g[t].nacked;
        errors += (size_t)g[t].errors;
    }
    ck_assert_uint_gt(errors, 0);
    qv_wal_close(w);

    /* replay == acknowledged, as sets of LSN -> payload */
    w = wal_open_ok(inner, tmpdir, 8192, &c);
    ck_assert_uint_eq(c.n, nacked);
    for (int t = 0; t < FT_THREADS; t++)
        for (int j = 0; j < g[t].nacked; j++) {
            const rec *r = find_lsn(&c, g[t].acked[j]);
            ck_assert_ptr_nonnull(r); /* fail-stop: the acked ones are a prefix of j */
            check_key(r, (uint64_t)g[t].id * 100000 + (uint64_t)j + 1);
        }
    qv_wal_close(w);
    collected_free(&c);
    qv_io_free(io);
    qv_io_free(inner);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wal");
    TCase *tc = tcase_create("backends");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_wal_framing_roundtrip, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wal_rolls_across_files, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wal_group_commit_threads, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wal_torn_tail_every_offset, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wal_torn_file_header, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wal_bitflip_in_last_record_is_torn, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wal_bitflip_in_middle_record_is_corrupt, 0,
                        QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wal_hole_in_last_write_is_torn, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wal_version1_file, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wal_damage_in_older_file_is_corrupt, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wal_truncate_before, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wal_rejects_bad_input, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wal_empty_continues_at_replay_from, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wal_large_records_and_buffer_flush, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wal_fault_fail_stop, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_wal_fault_under_concurrency, 0, QV_IO_BACKEND_COUNT);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
