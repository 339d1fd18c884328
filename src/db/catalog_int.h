/* SPDX-License-Identifier: Apache-2.0 */
/* catalog_int.h - catalog state and its binary encoding (catalog_codec.c). */
#ifndef QUIVER_CATALOG_INT_H
#define QUIVER_CATALOG_INT_H

#include <pthread.h>

#include "quiver/buf.h"
#include "quiver/catalog.h"

typedef struct cat_state {
    uint64_t version; /* bumped by every change */
    int64_t next_id;  /* ids of databases, collections, partitions, indexes */
    qv_database_info *dbs;
    size_t db_count;
    qv_collection_info *colls;
    size_t coll_count;
    qv_alias_info *aliases;
    size_t alias_count;
} cat_state;

struct qv_catalog {
    pthread_rwlock_t lock; /* guards state and persisted */
    cat_state state;
    qv_buf persisted; /* encoding of the last state on disk: the rollback point */
    char *path;
    qv_io *io;
};

void catalog_state_fini(cat_state *s);
/* Whole-file encoding: header (magic, version, length, CRC32C) + payload. */
void catalog_encode(const cat_state *s, qv_buf *out);
qv_err catalog_decode(const uint8_t *p, size_t len, cat_state *out, qv_error *err);
/* Deep copy of one collection through its encoding. */
qv_err catalog_collection_copy(qv_collection_info *dst, const qv_collection_info *src);
/* Schema encoding; without ids for comparing a request with a stored schema. */
void catalog_encode_schema(qv_buf *b, const qv_schema *s, bool with_ids);

#endif
