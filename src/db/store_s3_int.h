/* SPDX-License-Identifier: Apache-2.0 */
/* store_s3_int.h - shared by store_s3.c (the offloader thread: uploads, manifests,
 * deletes) and store_s3_cache.c (what S3 holds, the local disk cache, fetches, restore). */
#ifndef QUIVER_STORE_S3_INT_H
#define QUIVER_STORE_S3_INT_H

#include <pthread.h>
#include <sys/stat.h>

#include "db/store_int.h"
#include "quiver/s3.h"

/* A local file's identity as last verified equal to its object (a replaced file gets a
 * new inode, a rewritten one a new size or mtime). */
typedef struct file_sig {
    uint64_t ino, size;
    int64_t mtime_ns;
} file_sig;

/* One object of this node, by its key relative to the node's root, which is also its path
 * relative to the data directory ("catalog.qvc", "collections/7/seg-...qvs"). */
typedef struct s3_entry {
    char *rel;
    bool in_s3;         /* the object exists (listed, uploaded or fetched) */
    uint64_t s3_size;
    bool crc_known;     /* s3_crc is the object's x-amz-meta-crc32c */
    uint32_t s3_crc;
    bool verified;      /* the local file with signature sig equals the object */
    file_sig sig;
    uint64_t last_use_ms; /* LRU clock of the local copy: written, fetched or first seen */
} s3_entry;

typedef struct store_s3 {
    qv_store *store;
    qv_s3 *client;            /* borrowed; outlives the store */
    qv_io *io;
    char *data_dir;
    char *root;               /* "<s3.prefix><node id>/" */
    uint64_t cache_bytes;     /* 0: no limit */
    int interval_ms;
    pthread_t thread;
    bool running;
    pthread_mutex_t lock;     /* guards everything below */
    pthread_cond_t wake;
    bool stopping;
    bool listed;              /* entries hold the S3 listing */
    bool failing;             /* the last pass failed (logged once per episode) */
    s3_entry *entries;        /* sorted by rel */
    size_t n, cap;
    qv_store_s3_stats st;
    struct s3_pass_state *pass; /* the thread's working memory (store_s3.c) */
} store_s3;

/* store_s3_cache.c (callers hold o->lock for the entry functions) */
s3_entry *s3_entry_find(store_s3 *o, const char *rel);
s3_entry *s3_entry_get(store_s3 *o, const char *rel); /* found or added; NULL: no memory */
void s3_entry_remove(store_s3 *o, s3_entry *e);
/* Replace the entries with the objects under the root (a fresh listing). */
qv_err s3_list_objects(store_s3 *o, qv_error *err);
/* The key of rel ("<root><rel>") into key; false when it does not fit. */
bool s3_key_of(const store_s3 *o, const char *rel, char *key, size_t cap);
bool s3_file_sig(const char *path, file_sig *out); /* false: no such file */
uint64_t s3_now_ms(void);

/* A local sealed file of an open collection that counts against s3.cache_bytes. */
typedef struct cache_file {
    char rel[128];
    uint64_t bytes, last_use_ms;
    bool evictable; /* its object is in S3 and equal to it */
} cache_file;
/* Delete the least recently used evictable files until the cached bytes fit the budget. */
void s3_evict(store_s3 *o, cache_file *files, size_t n);

#endif
