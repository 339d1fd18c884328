/* SPDX-License-Identifier: Apache-2.0 */
/* test_io.c - the qv_io seam under every backend, and the faulty wrapper. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include "quiver/alloc.h"
#include "quiver/io.h"
#include "testutil.h"

static char tmpdir[PATH_MAX];

static void setup(void) { test_mkdtemp(tmpdir, sizeof tmpdir); }
static void teardown(void) { test_rmtree(tmpdir); }


static void path_of(char *out, const char *name)
{
    ck_assert_int_lt(snprintf(out, PATH_MAX, "%s/%s", tmpdir, name), PATH_MAX);
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

START_TEST(test_io_backend_selection)
{
    qv_error e = {0};
    qv_io *io = test_open_io(_i);

    if (strcmp(qv_io_backend_name(io), qv_io_backend_index_name(_i)) != 0)
        ck_assert_str_eq(qv_io_backend_name(io), "posix");
    qv_io_free(io);
    ck_assert_int_eq(qv_io_open_default("auto", &io, &e), QV_OK);
    ck_assert_ptr_nonnull(qv_io_backend_name(io));
    qv_io_free(io);
    ck_assert_int_eq(qv_io_open_default("bogus", &io, &e), QV_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "bogus"));
    ck_assert_int_eq(qv_io_open_backend_index(QV_IO_BACKEND_COUNT, &io, &e), QV_EINVAL);
    ck_assert_ptr_null(qv_io_backend_index_name(-1));
    qv_io_free(NULL);
}
END_TEST

START_TEST(test_io_read_write_roundtrip)
{
    qv_io *io = test_open_io(_i);
    char path[PATH_MAX];
    qv_error e = {0};
    qv_file *f = NULL;
    uint8_t buf[64], *big = malloc(1 << 20), *back = malloc(1 << 20);
    uint64_t size;
    size_t got;

    path_of(path, "data.bin");
    ck_assert_int_eq(qv_io_open(io, path, QV_IO_WRITE | QV_IO_CREATE, &f, &e), QV_OK);
    ck_assert_str_eq(qv_io_file_path(f), path);
    ck_assert_int_eq(qv_io_pwrite(f, "hello", 5, 0, &e), QV_OK);
    ck_assert_int_eq(qv_io_pwrite(f, "world", 5, 100, &e), QV_OK);
    ck_assert_int_eq(qv_io_file_size(f, &size, &e), QV_OK);
    ck_assert_uint_eq(size, 105);
    ck_assert_int_eq(qv_io_pread(f, buf, 5, 0, &got, &e), QV_OK);
    ck_assert_uint_eq(got, 5);
    ck_assert_mem_eq(buf, "hello", 5);
    ck_assert_int_eq(qv_io_pread(f, buf, 10, 5, &got, &e), QV_OK); /* the hole reads zeros */
    ck_assert_uint_eq(got, 10);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(buf[i], 0);
    ck_assert_int_eq(qv_io_pread(f, buf, sizeof buf, 100, &got, &e), QV_OK); /* short at EOF */
    ck_assert_uint_eq(got, 5);
    ck_assert_mem_eq(buf, "world", 5);
    ck_assert_int_eq(qv_io_pread(f, buf, sizeof buf, 500, &got, &e), QV_OK);
    ck_assert_uint_eq(got, 0);
    ck_assert_int_eq(qv_io_truncate(f, 50, &e), QV_OK);
    ck_assert_int_eq(qv_io_file_size(f, &size, &e), QV_OK);
    ck_assert_uint_eq(size, 50);

    fill(big, 1 << 20, 7);
    ck_assert_int_eq(qv_io_write_sync(f, big, 1 << 20, 50, &e), QV_OK);
    ck_assert_int_eq(qv_io_write_sync(f, NULL, 0, 0, &e), QV_OK); /* a bare fdatasync */
    ck_assert_int_eq(qv_io_fsync(f, &e), QV_OK);
    ck_assert_int_eq(qv_io_fdatasync(f, &e), QV_OK);
    qv_io_close(f);

    ck_assert_int_eq(qv_io_open(io, path, QV_IO_READ, &f, &e), QV_OK);
    ck_assert_int_eq(qv_io_pread(f, back, 1 << 20, 50, &got, &e), QV_OK);
    ck_assert_uint_eq(got, 1 << 20);
    ck_assert_mem_eq(back, big, 1 << 20);
    /* read-only: writes fail with a clear error */
    ck_assert_int_eq(qv_io_pwrite(f, "x", 1, 0, &e), QV_EIO);
    ck_assert_int_eq(e.sys_errno, EBADF);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    qv_io_close(f);
    qv_io_close(NULL);
    free(big);
    free(back);
    qv_io_free(io);
}
END_TEST

START_TEST(test_io_large_write)
{
    size_t n = (size_t)24 << 20;
    qv_io *io = test_open_io(_i);
    uint8_t *big = malloc(n), *back = malloc(n);
    char path[PATH_MAX];
    qv_file *f = NULL;
    size_t got;

    fill(big, n, 99);
    path_of(path, "large.bin");
    ck_assert_int_eq(qv_io_open(io, path, QV_IO_WRITE | QV_IO_CREATE | QV_IO_TRUNC, &f, NULL),
                     QV_OK);
    ck_assert_int_eq(qv_io_write_sync(f, big, n, 4096, NULL), QV_OK);
    ck_assert_int_eq(qv_io_pread(f, back, n, 4096, &got, NULL), QV_OK);
    ck_assert_uint_eq(got, n);
    ck_assert_int_eq(memcmp(back, big, n), 0);
    qv_io_close(f);
    free(big);
    free(back);
    qv_io_free(io);
}
END_TEST

START_TEST(test_io_append_and_direct)
{
    qv_io *io = test_open_io(_i);
    char path[PATH_MAX];
    qv_file *f = NULL;
    uint64_t size;
    size_t got;
    uint8_t *al = qv_aligned_alloc(4096, 8192), *back = qv_aligned_alloc(4096, 8192);

    path_of(path, "append.log");
    ck_assert_int_eq(qv_io_open(io, path, QV_IO_WRITE | QV_IO_CREATE | QV_IO_APPEND, &f, NULL),
                     QV_OK);
    ck_assert_int_eq(qv_io_pwrite(f, "abc", 3, 0, NULL), QV_OK);
    ck_assert_int_eq(qv_io_write_sync(f, "def", 3, 0, NULL), QV_OK);
    ck_assert_int_eq(qv_io_file_size(f, &size, NULL), QV_OK);
    ck_assert_uint_eq(size, 6);
    qv_io_close(f);

    path_of(path, "direct.bin");
    fill(al, 8192, 3);
    ck_assert_int_eq(qv_io_open(io, path, QV_IO_WRITE | QV_IO_CREATE | QV_IO_DIRECT, &f, NULL),
                     QV_OK);
    ck_assert_int_eq(qv_io_write_sync(f, al, 8192, 0, NULL), QV_OK);
    ck_assert_int_eq(qv_io_pread(f, back, 8192, 0, &got, NULL), QV_OK);
    ck_assert_uint_eq(got, 8192);
    ck_assert_mem_eq(back, al, 8192);
    qv_io_close(f);
    qv_free(al);
    qv_free(back);
    qv_io_free(io);
}
END_TEST

START_TEST(test_io_paths_and_errors)
{
    qv_io *io = test_open_io(_i);
    char dir[PATH_MAX], a[PATH_MAX], b[PATH_MAX], missing[PATH_MAX];
    qv_error e = {0};
    qv_file *f = NULL;
    char **names = NULL;
    size_t count = 0;
    bool exists;

    path_of(dir, "sub");
    ck_assert_int_eq(qv_io_mkdir(io, dir, &e), QV_OK);
    ck_assert_int_eq(qv_io_mkdir(io, dir, &e), QV_OK); /* idempotent */
    ck_assert_int_eq(qv_io_sync_dir(io, dir, &e), QV_OK);
    ck_assert_int_lt(snprintf(a, sizeof a, "%s/b-file", dir), PATH_MAX);
    ck_assert_int_lt(snprintf(b, sizeof b, "%s/a-file", dir), PATH_MAX);
    ck_assert_int_eq(qv_io_write_file_atomic(io, a, "1", 1, &e), QV_OK);
    ck_assert_int_eq(qv_io_write_file_atomic(io, b, "2", 1, &e), QV_OK);
    path_of(missing, "sub/c-dir");
    ck_assert_int_eq(qv_io_mkdir(io, missing, &e), QV_OK);
    ck_assert_int_eq(qv_io_list_dir(io, dir, &names, &count, &e), QV_OK);
    ck_assert_uint_eq(count, 3);
    ck_assert_str_eq(names[0], "a-file");
    ck_assert_str_eq(names[1], "b-file");
    ck_assert_str_eq(names[2], "c-dir");
    qv_io_free_names(names, count);
    qv_io_free_names(NULL, 0);

    ck_assert_int_eq(qv_io_rename(io, a, missing, &e), QV_EIO); /* file over a directory */
    ck_assert_int_eq(qv_io_exists(io, a, &exists, &e), QV_OK);
    ck_assert(exists);
    ck_assert_int_lt(snprintf(missing, sizeof missing, "%s/renamed", dir), PATH_MAX);
    ck_assert_int_eq(qv_io_rename(io, a, missing, &e), QV_OK);
    ck_assert_int_eq(qv_io_exists(io, a, &exists, &e), QV_OK);
    ck_assert(!exists);
    ck_assert_int_eq(qv_io_unlink(io, missing, &e), QV_OK);

    /* errors name the operation and the path, and keep errno */
    ck_assert_int_eq(qv_io_open(io, missing, QV_IO_READ, &f, &e), QV_EIO);
    ck_assert_int_eq(e.sys_errno, ENOENT);
    ck_assert_ptr_nonnull(strstr(e.msg, missing));
    ck_assert_ptr_nonnull(strstr(e.msg, "open"));
    ck_assert_int_eq(qv_io_unlink(io, missing, &e), QV_EIO);
    ck_assert_ptr_nonnull(strstr(e.msg, missing));
    ck_assert_int_eq(qv_io_rename(io, missing, a, &e), QV_EIO);
    ck_assert_ptr_nonnull(strstr(e.msg, missing));
    ck_assert_int_eq(qv_io_list_dir(io, missing, &names, &count, &e), QV_EIO);
    ck_assert_int_eq(qv_io_open(io, b, QV_IO_WRITE | QV_IO_CREATE | QV_IO_EXCL, &f, &e), QV_EIO);
    ck_assert_int_eq(e.sys_errno, EEXIST);
    ck_assert_int_eq(qv_io_open(io, missing, QV_IO_READ, &f, NULL), QV_EIO); /* NULL err ok */
    qv_io_free(io);
}
END_TEST

START_TEST(test_io_write_file_atomic)
{
    qv_io *io = test_open_io(_i), *fio = NULL;
    qv_io_fault fault = {.op = QV_IO_FAULT_FSYNC, .nth = 1, .errnum = EIO};
    char path[PATH_MAX], **names = NULL;
    qv_error e = {0};
    size_t count = 0, len = 0;
    void *data = NULL;

    path_of(path, "manifest.json");
    ck_assert_int_eq(qv_io_write_file_atomic(io, path, "{\"v\":1}", 7, &e), QV_OK);
    ck_assert_int_eq(qv_io_read_file(io, path, 1024, &data, &len, &e), QV_OK);
    ck_assert_uint_eq(len, 7);
    ck_assert_str_eq(data, "{\"v\":1}");
    qv_free(data);
    ck_assert_int_eq(qv_io_write_file_atomic(io, path, "{\"v\":22}", 8, &e), QV_OK);
    ck_assert_int_eq(qv_io_read_file(io, path, 1024, &data, &len, &e), QV_OK);
    ck_assert_str_eq(data, "{\"v\":22}");
    qv_free(data);
    ck_assert_int_eq(qv_io_read_file(io, path, 4, &data, &len, &e), QV_ETOOBIG);

    /* a failed fsync leaves the old content and no temp file */
    ck_assert_int_eq(qv_io_faulty_new(io, &fault, &fio, &e), QV_OK);
    ck_assert_int_eq(qv_io_write_file_atomic(fio, path, "{\"v\":333}", 9, &e), QV_EIO);
    ck_assert_ptr_nonnull(strstr(e.msg, "manifest.json.tmp"));
    ck_assert_int_eq(qv_io_read_file(io, path, 1024, &data, &len, &e), QV_OK);
    ck_assert_str_eq(data, "{\"v\":22}");
    qv_free(data);
    ck_assert_int_eq(qv_io_list_dir(io, tmpdir, &names, &count, &e), QV_OK);
    ck_assert_uint_eq(count, 1);
    ck_assert_str_eq(names[0], "manifest.json");
    qv_io_free_names(names, count);
    qv_io_free(fio);
    qv_io_free(io);
}
END_TEST

typedef struct worker {
    qv_file *f;
    int id;
    int failures;
} worker;

/* Each thread owns a 1 MiB region: writes 4 KiB blocks, reads them back. */
static void *io_worker(void *arg)
{
    worker *wk = arg;
    uint8_t blk[4096], back[4096];
    size_t got;

    for (int j = 0; j < 200; j++) {
        uint64_t off = (uint64_t)wk->id * (1 << 20) + (uint64_t)(j % 256) * 4096;
        fill(blk, sizeof blk, (uint32_t)(wk->id * 1000 + j));
        qv_err rc = (j % 10 == 0) ? qv_io_write_sync(wk->f, blk, sizeof blk, off, NULL)
                                  : qv_io_pwrite(wk->f, blk, sizeof blk, off, NULL);
        if (rc != QV_OK || qv_io_pread(wk->f, back, sizeof back, off, &got, NULL) != QV_OK ||
            got != sizeof back || memcmp(blk, back, sizeof blk) != 0)
            wk->failures++;
    }
    return NULL;
}

START_TEST(test_io_concurrent_threads)
{
    qv_io *io = test_open_io(_i);
    pthread_t th[8];
    worker wk[8];
    char path[PATH_MAX];
    qv_file *f = NULL;

    path_of(path, "shared.bin");
    ck_assert_int_eq(qv_io_open(io, path, QV_IO_WRITE | QV_IO_CREATE, &f, NULL), QV_OK);
    for (int t = 0; t < 8; t++) {
        wk[t] = (worker){.f = f, .id = t};
        ck_assert_int_eq(pthread_create(&th[t], NULL, io_worker, &wk[t]), 0);
    }
    for (int t = 0; t < 8; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(wk[t].failures, 0);
    }
    qv_io_close(f);
    qv_io_free(io);
}
END_TEST

START_TEST(test_io_faulty_counts_and_faults)
{
    qv_io *inner = test_open_io(_i), *io = NULL;
    qv_io_fault fault = {.op = QV_IO_FAULT_WRITE, .nth = 2, .errnum = ENOSPC};
    qv_io_faulty_counts c;
    char path[PATH_MAX];
    qv_error e = {0};
    qv_file *f = NULL;
    uint8_t buf[16];
    uint64_t size;
    size_t got;

    ck_assert_int_eq(qv_io_faulty_new(inner, &fault, &io, &e), QV_OK);
    ck_assert_str_eq(qv_io_backend_name(io), "faulty");
    path_of(path, "f.bin");
    ck_assert_int_eq(qv_io_open(io, path, QV_IO_WRITE | QV_IO_CREATE, &f, &e), QV_OK);
    ck_assert_int_eq(qv_io_pwrite(f, "aaaa", 4, 0, &e), QV_OK);
    ck_assert_int_eq(qv_io_pwrite(f, "bbbb", 4, 4, &e), QV_ENOSPC); /* the 2nd write */
    ck_assert_int_eq(e.sys_errno, ENOSPC);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    ck_assert_int_eq(qv_io_pwrite(f, "cccc", 4, 4, &e), QV_OK); /* not sticky */
    ck_assert_int_eq(qv_io_pread(f, buf, 8, 0, &got, &e), QV_OK);
    ck_assert_mem_eq(buf, "aaaacccc", 8);

    /* the fsync half of write_sync: the bytes reach the file, the sync fails */
    fault = (qv_io_fault){.op = QV_IO_FAULT_FSYNC, .nth = 1, .errnum = EIO};
    qv_io_faulty_arm(io, &fault);
    ck_assert_int_eq(qv_io_write_sync(f, "dddd", 4, 8, &e), QV_EIO);
    ck_assert_ptr_nonnull(strstr(e.msg, "fdatasync"));
    ck_assert_int_eq(qv_io_file_size(f, &size, &e), QV_OK);
    ck_assert_uint_eq(size, 12);
    ck_assert_int_eq(qv_io_fdatasync(f, &e), QV_OK);

    /* sticky fsync failure, through fsync and fdatasync */
    fault = (qv_io_fault){.op = QV_IO_FAULT_FSYNC, .nth = 2, .errnum = EIO, .sticky = true};
    qv_io_faulty_arm(io, &fault);
    ck_assert_int_eq(qv_io_fsync(f, &e), QV_OK);
    ck_assert_int_eq(qv_io_fsync(f, &e), QV_EIO);
    ck_assert_int_eq(qv_io_fdatasync(f, &e), QV_EIO);

    /* a torn write lands half its bytes */
    fault = (qv_io_fault){.op = QV_IO_FAULT_WRITE, .nth = 1, .errnum = EIO, .torn = true};
    qv_io_faulty_arm(io, &fault);
    ck_assert_int_eq(qv_io_truncate(f, 0, &e), QV_OK);
    ck_assert_int_eq(qv_io_write_sync(f, "12345678", 8, 0, &e), QV_EIO);
    ck_assert_int_eq(qv_io_file_size(f, &size, &e), QV_OK);
    ck_assert_uint_eq(size, 4);

    fault = (qv_io_fault){.op = QV_IO_FAULT_DIRSYNC, .nth = 1, .errnum = EIO};
    qv_io_faulty_arm(io, &fault);
    ck_assert_int_eq(qv_io_sync_dir(io, tmpdir, &e), QV_EIO);
    qv_io_faulty_arm(io, NULL);
    ck_assert_int_eq(qv_io_sync_dir(io, tmpdir, &e), QV_OK);

    qv_io_faulty_get_counts(io, &c);
    ck_assert_uint_eq(c.opens, 1);
    ck_assert_uint_eq(c.writes, 5);  /* 3 pwrite + 2 write_sync */
    ck_assert_uint_eq(c.fsyncs, 5);  /* write_sync's, fdatasync, fsync x2, fdatasync */
    ck_assert_uint_eq(c.dirsyncs, 2);
    ck_assert_uint_eq(c.reads, 1);
    ck_assert_uint_eq(c.truncates, 1);
    ck_assert_uint_eq(c.faults, 6);
    qv_io_close(f);
    qv_io_faulty_get_counts(inner, &c); /* not faulty: zeros */
    ck_assert_uint_eq(c.writes, 0);
    qv_io_free(io);
    qv_io_free(inner);
}
END_TEST

/* Docker's default seccomp profile answers io_uring_setup with EPERM: "auto"
 * must fall back to posix, "uring" must say it is unavailable. */
START_TEST(test_io_auto_falls_back_under_seccomp)
{
#if defined(__linux__) && defined(__NR_io_uring_setup)
    struct sock_filter filt[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof filt / sizeof filt[0], .filter = filt};
    qv_error e = {0};
    qv_io *io = NULL;

    if (getenv("CK_FORK") && strcmp(getenv("CK_FORK"), "no") == 0)
        return; /* the filter would outlive this test */
    ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    ck_assert_int_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
    ck_assert_int_eq(qv_io_open_default("auto", &io, &e), QV_OK);
    ck_assert_str_eq(qv_io_backend_name(io), "posix");
    qv_io_free(io);
    ck_assert_int_eq(qv_io_open_default("auto", &io, &e), QV_OK); /* warns only once */
    qv_io_free(io);
    ck_assert_int_eq(qv_io_open_default("uring", &io, &e), QV_EUNAVAIL);
    ck_assert_ptr_nonnull(strstr(e.msg, "io_uring"));
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("backends");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_io_backend_selection, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_io_read_write_roundtrip, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_io_large_write, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_io_append_and_direct, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_io_paths_and_errors, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_io_write_file_atomic, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_io_concurrent_threads, 0, QV_IO_BACKEND_COUNT);
    tcase_add_loop_test(tc, test_io_faulty_counts_and_faults, 0, QV_IO_BACKEND_COUNT);
    suite_add_tcase(s, tc);
    TCase *sec = tcase_create("seccomp");
    tcase_add_test(sec, test_io_auto_falls_back_under_seccomp);
    suite_add_tcase(s, sec);
    return test_run_suite(s);
}
