/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/catalog.h - databases, collections (schema, properties, load state),
 * partitions, aliases and index definitions of this node; persisted atomically
 * to <data_dir>/catalog.qvc on every change and restored on open.
 *
 * Thread-safe: reads take a shared lock and return deep copies the caller owns;
 * each change takes the exclusive lock, applies, persists (temp, fsync, rename,
 * fsync dir) and rolls back in memory if persisting fails. Every change bumps
 * the catalog version. */
#ifndef QUIVER_CATALOG_H
#define QUIVER_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "quiver/buf.h"
#include "quiver/err.h"
#include "quiver/io.h"
#include "quiver/schema.h"

#define QV_DEFAULT_DB "default"
#define QV_DEFAULT_PARTITION "_default"
#define QV_MAX_DATABASES 64
#define QV_MAX_COLLECTIONS 65536
#define QV_MAX_PARTITIONS 1024
#define QV_DEFAULT_KEY_PARTITIONS 16 /* hidden partitions of a partition-key collection */

typedef struct qv_catalog qv_catalog;

typedef enum qv_load_state {
    QV_LOAD_NOT_LOAD = 0,
    QV_LOAD_LOADING = 1,
    QV_LOAD_LOADED = 2,
} qv_load_state;

typedef struct qv_names {
    char **items;
    size_t count;
} qv_names;

typedef struct qv_index_def {
    int64_t id;
    char *name;
    char *field;
    char *index_type;  /* "HNSW", "AUTOINDEX", ... as requested */
    char *metric_type; /* "L2", "IP", "COSINE" */
    qv_kvlist params;  /* build params as given (M, efConstruction, nlist, ...) */
    qv_kvlist properties;
} qv_index_def;

typedef struct qv_partition_info {
    int64_t id;
    char *name;
    bool loaded;
} qv_partition_info;

typedef struct qv_collection_info {
    int64_t id;
    char *db;
    char *name;
    qv_schema schema;
    qv_kvlist properties; /* collection.ttl.seconds, mmap.enabled, ... */
    int32_t shards_num;
    char *consistency_level; /* Strong, Session, Bounded, Eventually, Customized */
    qv_load_state load_state;
    uint64_t created_ms;
    qv_partition_info *partitions;
    size_t partition_count;
    qv_index_def *indexes;
    size_t index_count;
    qv_names aliases; /* filled by qv_catalog_get_collection */
} qv_collection_info;

typedef struct qv_database_info {
    int64_t id;
    char *name;
    qv_kvlist properties;
    uint64_t created_ms;
} qv_database_info;

typedef struct qv_alias_info {
    char *db;
    char *alias;
    char *collection;
} qv_alias_info;

void qv_names_fini(qv_names *n);
qv_err qv_names_add(qv_names *n, const char *s);
void qv_index_def_fini(qv_index_def *d);
void qv_collection_info_fini(qv_collection_info *c);
void qv_database_info_fini(qv_database_info *d);
void qv_alias_info_fini(qv_alias_info *a);

/* Open (or create with the "default" database) the catalog in dir. QV_ECORRUPT
 * when the file fails its checksum. io is borrowed and must outlive the catalog. */
qv_err qv_catalog_open(const char *dir, qv_io *io, qv_catalog **out, qv_error *err);
void qv_catalog_close(qv_catalog *c); /* NULL is a no-op */
uint64_t qv_catalog_version(qv_catalog *c);

/* Databases. Dropping "default" or a database holding collections is refused. */
qv_err qv_catalog_create_database(qv_catalog *c, const char *name, const qv_kvlist *props,
                                  qv_error *err);
qv_err qv_catalog_drop_database(qv_catalog *c, const char *name, qv_error *err);
qv_err qv_catalog_list_databases(qv_catalog *c, qv_names *out, qv_error *err);
qv_err qv_catalog_get_database(qv_catalog *c, const char *name, qv_database_info *out,
                               qv_error *err);
/* Set props and remove drop_keys (either may be NULL). */
qv_err qv_catalog_alter_database(qv_catalog *c, const char *name, const qv_kvlist *props,
                                 const qv_names *drop_keys, qv_error *err);

/* Collections. spec: db, name, schema, properties, shards_num, consistency_level,
 * indexes and load_state are used; ids and the _default partition are assigned.
 * Creating an existing collection with an identical schema succeeds (as Milvus). */
qv_err qv_catalog_create_collection(qv_catalog *c, const qv_collection_info *spec,
                                    qv_error *err);
/* Idempotent: a missing collection is not an error (Milvus). A collection that
 * still has aliases is refused, as Milvus does. */
qv_err qv_catalog_drop_collection(qv_catalog *c, const char *db, const char *name,
                                  qv_error *err);
qv_err qv_catalog_has_collection(qv_catalog *c, const char *db, const char *name, bool *out,
                                 qv_error *err);
qv_err qv_catalog_list_collections(qv_catalog *c, const char *db, qv_names *out, qv_error *err);
/* Deep copy of a collection found by name or alias. QV_ENODB / QV_ENOCOLL. */
qv_err qv_catalog_get_collection(qv_catalog *c, const char *db, const char *name_or_alias,
                                 qv_collection_info *out, qv_error *err);
qv_err qv_catalog_rename_collection(qv_catalog *c, const char *db, const char *name,
                                    const char *new_db, const char *new_name, qv_error *err);
qv_err qv_catalog_alter_collection(qv_catalog *c, const char *db, const char *name,
                                   const qv_kvlist *props, const qv_names *drop_keys,
                                   qv_error *err);
/* Load or release a collection (partitions NULL: all of them) or some partitions. */
qv_err qv_catalog_set_loaded(qv_catalog *c, const char *db, const char *name,
                             const qv_names *partitions, bool loaded, qv_error *err);

/* Partitions. */
qv_err qv_catalog_create_partition(qv_catalog *c, const char *db, const char *coll,
                                   const char *name, qv_error *err);
qv_err qv_catalog_drop_partition(qv_catalog *c, const char *db, const char *coll,
                                 const char *name, qv_error *err);

/* Aliases: unique per database and distinct from collection names. */
qv_err qv_catalog_create_alias(qv_catalog *c, const char *db, const char *alias,
                               const char *coll, qv_error *err);
qv_err qv_catalog_alter_alias(qv_catalog *c, const char *db, const char *alias,
                              const char *coll, qv_error *err);
qv_err qv_catalog_drop_alias(qv_catalog *c, const char *db, const char *alias, qv_error *err);
/* Aliases of db, of one collection when coll is non-NULL. */
qv_err qv_catalog_list_aliases(qv_catalog *c, const char *db, const char *coll, qv_names *out,
                               qv_error *err);
qv_err qv_catalog_get_alias(qv_catalog *c, const char *db, const char *alias,
                            qv_alias_info *out, qv_error *err);

/* Index definitions (the build itself belongs to the index module). */
qv_err qv_catalog_add_index(qv_catalog *c, const char *db, const char *coll,
                            const qv_index_def *def, qv_error *err);
qv_err qv_catalog_drop_index(qv_catalog *c, const char *db, const char *coll,
                             const char *index_name, qv_error *err);
qv_err qv_catalog_alter_index(qv_catalog *c, const char *db, const char *coll,
                              const char *index_name, const qv_kvlist *props,
                              const qv_names *drop_keys, qv_error *err);

/* Replication to peers: the whole catalog as its file encoding, and installing such a
 * snapshot when its version is newer than ours (else *installed false, nothing changes).
 * *dropped gets the ids of collections the snapshot no longer has (caller frees). */
qv_err qv_catalog_snapshot(qv_catalog *c, qv_buf *out, qv_error *err);
qv_err qv_catalog_install(qv_catalog *c, const void *p, size_t len, bool *installed,
                          int64_t **dropped, size_t *ndropped, qv_error *err);

#endif
