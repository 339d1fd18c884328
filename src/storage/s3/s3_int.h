/* SPDX-License-Identifier: Apache-2.0 */
/* s3_int.h - shared by s3_http.c (one signed request, retries), s3_client.c (operations)
 * and s3_pool.c (worker threads). */
#ifndef QUIVER_S3_INT_H
#define QUIVER_S3_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "quiver/s3.h"

struct s3_pool;

struct qv_s3 {
    char *scheme;   /* "http" or "https" */
    char *hostport; /* as written in the endpoint */
    char *region, *bucket, *access_key, *secret_key;
    bool path_style;
    int timeout_ms, retries, retry_base_ms, retry_max_ms, concurrency;
    uint64_t part_bytes;
    qv_io *io;
    void *share;            /* CURLSH: connections and DNS shared by every request */
    pthread_mutex_t share_locks[8];
    atomic_bool cancelled;
    atomic_int failing;     /* latest request's outcome: 1 failed, 0 succeeded */
    qv_s3_stats stats;
    struct s3_pool *pool;
};

/* One S3 request; s3_perform signs, sends and retries it. */
typedef struct s3_req {
    const char *method;
    const char *key;           /* object key, or NULL for the bucket */
    const qv_s3_pair *query;   /* raw parameters */
    size_t nquery;
    const void *body;
    size_t len;
    const qv_s3_pair *headers; /* extra headers, all signed (x-amz-meta-*, content-type) */
    size_t nheaders;
    qv_s3_op op;               /* stats label */
    size_t max_resp;           /* response body cap */
    /* results */
    long status;
    qv_buf resp;               /* response body (caller finis) */
    char etag[128];
    bool has_crc;
    uint32_t crc;
    uint64_t content_length;
    bool has_length;
} s3_req;

/* Send r, retrying retryable failures (connection errors, timeouts, 5xx, 429, SlowDown,
 * RequestTimeout) with exponential backoff and jitter. QV_OK means an HTTP answer arrived
 * whose status is r->status: 2xx, or 404 when ok_404; any other final status or failure
 * is an error. r->resp holds the last answer's body. */
qv_err s3_perform(qv_s3 *s, s3_req *r, bool ok_404, qv_error *err);
void s3_req_fini(s3_req *r);
/* The text of <tag>...</tag> at or after *from in xml (length into *len), or NULL; *from
 * moves past the closing tag. */
const char *s3_xml_find(const char *xml, size_t xml_len, size_t *from, const char *tag,
                        size_t *len);
/* XML text with the five predefined entities decoded, into out (NUL-terminated). */
void s3_xml_text(const char *p, size_t n, char *out, size_t cap);

/* s3_client.c: uploads that may be skipped. With remote (a HEAD of the key) holding the
 * same size and CRC32C as the content, nothing is sent and *skipped is set. */
typedef struct s3_put_check {
    bool check_crc;      /* the file's CRC32C must be expect_crc */
    uint32_t expect_crc;
    const qv_s3_object *remote;
} s3_put_check;
qv_err s3_put_file_ex(qv_s3 *s, const char *key, const char *path, const s3_put_check *chk,
                      uint32_t *crc_out, uint64_t *bytes_out, bool *skipped, qv_error *err);
qv_err s3_put_data_ex(qv_s3 *s, const char *key, const void *data, size_t len,
                      const qv_s3_object *remote, uint32_t *crc_out, bool *skipped,
                      qv_error *err);

/* Give the calling thread its own easy handle (start) or release it: pool workers keep
 * one for their life, so their requests reuse connections. */
void s3_pool_thread_easy(bool start);

/* s3_pool.c */
qv_err s3_pool_start(qv_s3 *s, qv_error *err);
void s3_pool_stop(qv_s3 *s);

#endif
