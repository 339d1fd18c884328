/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/idalloc.h - autoID primary keys, unique across restarts: ids are handed out
 * from blocks whose upper bound is persisted (atomically) before any id of the block is
 * used, so a restart continues above every id ever returned (Milvus's rootcoord
 * allocator does the same). The first block starts at (unix ms << 18), like Milvus's
 * TSO-derived ids. File: <data_dir>/IDALLOC (u64 bound + CRC32C). */
#ifndef QUIVER_IDALLOC_H
#define QUIVER_IDALLOC_H

#include <stdint.h>

#include "quiver/err.h"
#include "quiver/io.h"

typedef struct qv_idalloc qv_idalloc;

qv_err qv_idalloc_open(const char *data_dir, qv_io *io, qv_idalloc **out, qv_error *err);
void qv_idalloc_close(qv_idalloc *a); /* NULL is a no-op */
/* n consecutive new ids starting at *first. Thread-safe. */
qv_err qv_idalloc_next(qv_idalloc *a, uint64_t n, int64_t *first, qv_error *err);

#endif
