/* SPDX-License-Identifier: Apache-2.0 */
/* testutil.h - helpers shared by the Check unit suites. */
#ifndef QUIVER_TESTUTIL_H
#define QUIVER_TESTUTIL_H

#include <check.h>
#include <stddef.h>

/* Create a fresh temp directory (mkdtemp under $TMPDIR or /tmp); path into buf. */
void test_mkdtemp(char *buf, size_t cap);
/* rm -rf path (best effort). */
void test_rmtree(const char *path);
struct qv_io;
/* I/O backend i (0 posix, 1 io_uring), or posix with a note when i cannot run here. */
struct qv_io *test_open_io(int i);
/* Run one suite with CK_NORMAL output; returns the process exit status. */
int test_run_suite(Suite *s);

#endif
