/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/s3.h - a small S3 client (AWS S3, MinIO, any S3-compatible store) over libcurl:
 * PUT (single or multipart), GET, HEAD, DELETE, ListObjectsV2, signed with AWS Signature
 * Version 4 computed here (s3_sign.c), retried with exponential backoff and jitter on
 * 5xx, SlowDown, timeouts and connection errors, and a fixed pool of worker threads that
 * runs batches of uploads and deletes concurrently.
 *
 * Objects carry the CRC32C of their content as user metadata (x-amz-meta-crc32c, 8 hex
 * digits); qv_s3_get verifies it. Addressing is path-style (endpoint/bucket/key) or
 * virtual-host (bucket.endpoint-host/key). The secret key never leaves this module except
 * as HMAC output; nothing here logs a key or an Authorization header.
 *
 * Thread-safety: every call may be made from any thread at once; qv_s3_run_jobs batches
 * are serialized. Errors: QV_EUNAVAIL when the store could not be reached or kept failing
 * with retryable errors after the last retry, QV_EIO for other refusals (403, 400, ...),
 * QV_ECORRUPT when a download fails its checksum; the message names the operation, the
 * key, the HTTP status and the S3 error code. A missing object is not an error: info->found
 * is false. */
#ifndef QUIVER_S3_H
#define QUIVER_S3_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/buf.h"
#include "quiver/err.h"
#include "quiver/io.h"

typedef struct qv_s3 qv_s3; /* opaque */

#define QV_S3_MIN_PART_BYTES ((uint64_t)5 << 20) /* S3's smallest non-final part */
#define QV_S3_MAX_KEY 1024

typedef struct qv_s3_opts {
    const char *endpoint;   /* http(s)://host[:port], copied */
    const char *region;     /* "us-east-1" */
    const char *bucket;
    const char *access_key;
    const char *secret_key; /* copied; wiped on qv_s3_free */
    bool path_style;        /* false: virtual-host addressing */
    int timeout_ms;         /* per attempt, connect included */
    int retries;            /* attempts after the first, for retryable failures */
    int retry_base_ms;      /* backoff: random in [d/2, d], d = min(max, base * 2^attempt) */
    int retry_max_ms;
    int concurrency;        /* worker threads of qv_s3_run_jobs */
    uint64_t part_bytes;    /* files larger than this go up in parts of this size */
    qv_io *io;              /* borrowed: reads the files qv_s3_put_file uploads */
} qv_s3_opts;

/* Check the options (QV_EINVAL naming the bad one) and start the worker threads. */
qv_err qv_s3_new(const qv_s3_opts *o, qv_s3 **out, qv_error *err);
/* Stop the workers (after qv_s3_cancel or when idle) and free. NULL is a no-op. */
void qv_s3_free(qv_s3 *s);
/* From now on transfers abort and backoff waits end at once (shutdown). */
void qv_s3_cancel(qv_s3 *s);

typedef struct qv_s3_object {
    bool found;
    uint64_t size;
    bool has_crc; /* the object carries x-amz-meta-crc32c */
    uint32_t crc;
} qv_s3_object;

/* PUT data under key with its CRC32C as metadata. */
qv_err qv_s3_put(qv_s3 *s, const char *key, const void *data, size_t len, qv_error *err);
/* Upload a local file (read through opts.io; multipart past part_bytes, the parts read one
 * at a time). With check_crc, a file whose CRC32C is not expect_crc is not uploaded
 * (QV_ECORRUPT). *crc_out and *bytes_out (may be NULL) get the file's CRC and size. */
qv_err qv_s3_put_file(qv_s3 *s, const char *key, const char *path, bool check_crc,
                      uint32_t expect_crc, uint32_t *crc_out, uint64_t *bytes_out,
                      qv_error *err);
/* GET key into out (appended; at most max_bytes, QV_ETOOBIG beyond). With metadata
 * crc32c, the content must match it (QV_ECORRUPT). info may be NULL. */
qv_err qv_s3_get(qv_s3 *s, const char *key, size_t max_bytes, qv_buf *out, qv_s3_object *info,
                 qv_error *err);
qv_err qv_s3_head(qv_s3 *s, const char *key, qv_s3_object *info, qv_error *err);
/* DELETE key; deleting a missing object succeeds. */
qv_err qv_s3_delete(qv_s3 *s, const char *key, qv_error *err);
/* Every object whose key starts with prefix, in key order (ListObjectsV2, pages of up to
 * 1000); fn's non-QV_OK return stops the listing and is returned. */
typedef qv_err (*qv_s3_list_fn)(void *ctx, const char *key, uint64_t size);
qv_err qv_s3_list(qv_s3 *s, const char *prefix, qv_s3_list_fn fn, void *ctx, qv_error *err);

/* ---- batches on the worker threads ---------------------------------------------------- */

typedef enum qv_s3_job_op {
    QV_S3_JOB_PUT_FILE, /* path -> key (qv_s3_put_file) */
    QV_S3_JOB_PUT,      /* data -> key (qv_s3_put) */
    QV_S3_JOB_DELETE,
} qv_s3_job_op;

typedef struct qv_s3_job {
    qv_s3_job_op op;
    const char *key;     /* borrowed for the batch */
    const char *path;    /* PUT_FILE */
    const void *data;    /* PUT */
    size_t len;
    bool check_crc;      /* PUT_FILE: expect_crc must match */
    uint32_t expect_crc;
    bool skip_same;      /* PUT, PUT_FILE: HEAD first; an object with this CRC is kept */
    /* results */
    qv_err rc;
    qv_error err;
    bool skipped;        /* skip_same found the object already there */
    uint32_t crc;
    uint64_t bytes;
} qv_s3_job;

/* Run n jobs on the worker threads (opts.concurrency at once) and return when every one
 * has finished; each job's rc tells how it went. One batch runs at a time. */
void qv_s3_run_jobs(qv_s3 *s, qv_s3_job *jobs, size_t n);

/* ---- state and counters --------------------------------------------------------------- */

typedef enum qv_s3_op {
    QV_S3_OP_PUT,
    QV_S3_OP_GET,
    QV_S3_OP_HEAD,
    QV_S3_OP_DELETE,
    QV_S3_OP_LIST,
    QV_S3_OP_MULTIPART, /* initiate, part, complete, abort */
    QV_S3_OP_COUNT
} qv_s3_op;

typedef struct qv_s3_stats {
    _Atomic uint64_t requests[QV_S3_OP_COUNT]; /* HTTP attempts */
    _Atomic uint64_t failures[QV_S3_OP_COUNT]; /* attempts that failed (not 404) */
    _Atomic uint64_t retries;
    _Atomic uint64_t bytes_up, bytes_down;
} qv_s3_stats;

const qv_s3_stats *qv_s3_counters(const qv_s3 *s);
const char *qv_s3_op_name(qv_s3_op op); /* "put", "get", ... */
/* True while the latest request (after its retries) failed: the store is down, slow,
 * refusing or throttling. Cleared by the next success. */
bool qv_s3_degraded(const qv_s3 *s);

/* ---- AWS Signature Version 4 (exposed for the known-answer tests) ---------------------- */

typedef struct qv_s3_pair {
    const char *name, *value;
} qv_s3_pair;

typedef struct qv_s3_sign_req {
    const char *method;
    const char *uri;            /* canonical URI: the path as sent, already URI-encoded */
    const qv_s3_pair *query;    /* raw (unencoded) parameters, any order; value "" for none */
    size_t nquery;
    const qv_s3_pair *headers;  /* every header to sign, any case and order */
    size_t nheaders;
    const char *payload_sha256; /* lowercase hex, as sent in x-amz-content-sha256 */
    const char *amz_date;       /* YYYYMMDDTHHMMSSZ, as sent in x-amz-date */
    const char *region, *service, *access_key, *secret_key;
} qv_s3_sign_req;

/* URI-encode s as SigV4 wants (RFC 3986 unreserved characters kept, the rest %XX upper
 * case), keeping '/' when keep_slash; appended to out. */
void qv_s3_uri_encode(const char *s, bool keep_slash, qv_buf *out);
/* The canonical query string: parameters encoded, sorted by name, joined by '&'. */
void qv_s3_canonical_query(const qv_s3_pair *q, size_t n, qv_buf *out);
/* The canonical request and the string to sign (both optional, appended), and the value
 * of the Authorization header into auth (NUL-terminated; QV_EINVAL if cap is too small). */
qv_err qv_s3_sign(const qv_s3_sign_req *r, qv_buf *canonical, qv_buf *string_to_sign,
                  char *auth, size_t cap, qv_error *err);
/* Lowercase hex SHA-256 of data, as x-amz-content-sha256 carries it. */
void qv_s3_sha256_hex(const void *data, size_t len, char out[65]);

#endif
