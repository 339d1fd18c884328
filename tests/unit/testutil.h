/* SPDX-License-Identifier: Apache-2.0 */
/* testutil.h - helpers shared by the Check unit suites. */
#ifndef QUIVER_TESTUTIL_H
#define QUIVER_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Create a fresh temp directory (mkdtemp under $TMPDIR or /tmp); path into buf. */
void test_mkdtemp(char *buf, size_t cap);
/* rm -rf path (best effort). */
void test_rmtree(const char *path);
struct qv_io;
/* I/O backend i (0 posix, 1 io_uring), or posix with a note when i cannot run here. */
struct qv_io *test_open_io(int i);
struct qv_collection_info;
/* Collection 42 of the store suites: id Int64 primary key, v FloatVector(dim) and, with
 * tag, tag Int32 (nullable); shards as given. Free with qv_collection_info_fini. */
void test_vector_collection(struct qv_collection_info *ci, int shards, uint32_t dim, bool tag);
struct qv_rowbatch;
struct qv_schema;
/* Rows first..first+n-1 of such a collection into b (initialised here): v = (id, tag) for
 * dim 2 (zeros past it), tag as given, or null when tag < 0 (when the schema has it). */
void test_make_rows(const struct qv_schema *s, struct qv_rowbatch *b, int64_t first, int n,
                    int32_t tag);
struct qv_coll_data;
/* Hits of an L2 search of such a collection for the origin, with k as given. */
size_t test_search_hits(struct qv_coll_data *c, const struct qv_schema *s, size_t k);
/* Run one suite with CK_NORMAL output; returns the process exit status. */
int test_run_suite(Suite *s);

#endif
