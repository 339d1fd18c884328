/* SPDX-License-Identifier: Apache-2.0 */
/* s3_http.c - the client's lifecycle and one signed S3 request over libcurl, with retries.
 *
 * Every attempt is signed afresh (x-amz-date changes). Retryable: connection errors and
 * timeouts (any CURLcode but an abort), HTTP 5xx (503 SlowDown included), 429 and S3's
 * 400 RequestTimeout. The wait before retry k (k = 0, 1, ...) is uniform in [d/2, d] with
 * d = min(retry_max_ms, retry_base_ms * 2^k) ("equal jitter", AWS Architecture Blog,
 * "Exponential Backoff And Jitter"), so throttled clients spread out. qv_s3_cancel makes
 * transfers abort through the progress callback and cuts waits short.
 *
 * Connections: the pool's worker threads each keep one easy handle, so their requests
 * reuse connections; other threads (fetches at open, the offloader's listing) use a fresh
 * handle per request. DNS and TLS sessions are shared through a CURLSH (libcurl does not
 * support sharing the connection cache between concurrent threads). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "quiver/alloc.h"
#include "quiver/crypto.h"
#include "storage/s3/s3_int.h"

#define MAX_HEADERS 16
#define WAIT_SLICE_MS 20

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static _Thread_local CURL *tl_easy; /* a pool worker's own handle (s3_pool.c) */

static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ctx)
{
    qv_s3 *s = ctx;
    (void)h, (void)access;
    pthread_mutex_lock(&s->share_locks[(unsigned)data % 8]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
    qv_s3 *s = ctx;
    (void)h;
    pthread_mutex_unlock(&s->share_locks[(unsigned)data % 8]);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static qv_err parse_endpoint(qv_s3 *s, const char *ep, qv_error *err)
{
    const char *sep = strstr(ep, "://");
    size_t n;

    if (!sep || (strncmp(ep, "http", 4) != 0) || (sep - ep != 4 && sep - ep != 5) ||
        (sep - ep == 5 && ep[4] != 's'))
        return qv_error_set(err, QV_EINVAL, "s3.endpoint '%s' is not http(s)://host[:port]", ep);
    n = strcspn(sep + 3, "/?#");
    if (n == 0 || (sep[3 + n] && strcmp(sep + 3 + n, "/") != 0))
        return qv_error_set(err, QV_EINVAL, "s3.endpoint '%s' is not http(s)://host[:port]", ep);
    s->scheme = qv_strndup(ep, (size_t)(sep - ep));
    s->hostport = qv_strndup(sep + 3, n);
    return s->scheme && s->hostport ? QV_OK : qv_error_set(err, QV_ENOMEM, "out of memory");
}

static qv_err check_opts(const qv_s3_opts *o, qv_error *err)
{
    if (!o->bucket || !*o->bucket || strchr(o->bucket, '/'))
        return qv_error_set(err, QV_EINVAL, "s3.bucket must be set (a bucket name, no '/')");
    if (!o->region || !*o->region)
        return qv_error_set(err, QV_EINVAL, "s3.region must be set");
    if (!o->access_key || !*o->access_key || !o->secret_key || !*o->secret_key)
        return qv_error_set(err, QV_EINVAL,
                            "S3 credentials missing: set s3.access_key and s3.secret_key "
                            "(or their _file options)");
    if (o->part_bytes < QV_S3_MIN_PART_BYTES)
        return qv_error_set(err, QV_EINVAL, "s3.part_bytes must be at least 5 MiB");
    if (o->concurrency < 1 || o->timeout_ms < 1)
        return qv_error_set(err, QV_EINVAL, "s3.concurrency and s3.timeout_ms must be positive");
    return QV_OK;
}

qv_err qv_s3_new(const qv_s3_opts *o, qv_s3 **out, qv_error *err)
{
    qv_s3 *s;
    qv_err rc;

    if ((rc = check_opts(o, err)) != QV_OK)
        return rc;
    pthread_once(&curl_once, curl_init_once);
    if (!(s = qv_calloc(1, sizeof *s)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (size_t i = 0; i < 8; i++)
        pthread_mutex_init(&s->share_locks[i], NULL);
    s->path_style = o->path_style;
    s->timeout_ms = o->timeout_ms;
    s->retries = o->retries;
    s->retry_base_ms = o->retry_base_ms > 0 ? o->retry_base_ms : 1;
    s->retry_max_ms = o->retry_max_ms > s->retry_base_ms ? o->retry_max_ms : s->retry_base_ms;
    s->concurrency = o->concurrency;
    s->part_bytes = o->part_bytes;
    s->io = o->io;
    if ((rc = parse_endpoint(s, o->endpoint ? o->endpoint : "", err)) != QV_OK)
        goto fail;
    if (!(s->region = qv_strdup(o->region)) || !(s->bucket = qv_strdup(o->bucket)) ||
        !(s->access_key = qv_strdup(o->access_key)) ||
        !(s->secret_key = qv_strdup(o->secret_key)) || !(s->share = curl_share_init())) {
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
        goto fail;
    }
    curl_share_setopt(s->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(s->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(s->share, CURLSHOPT_USERDATA, s);
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if ((rc = s3_pool_start(s, err)) != QV_OK)
        goto fail;
    *out = s;
    return QV_OK;
fail:
    qv_s3_free(s);
    return rc;
}

void qv_s3_cancel(qv_s3 *s)
{
    if (s)
        atomic_store(&s->cancelled, true);
}

void qv_s3_free(qv_s3 *s)
{
    if (!s)
        return;
    s3_pool_stop(s);
    if (s->share)
        curl_share_cleanup(s->share);
    for (size_t i = 0; i < 8; i++)
        pthread_mutex_destroy(&s->share_locks[i]);
    if (s->secret_key)
        qv_crypto_wipe(s->secret_key, strlen(s->secret_key));
    qv_free(s->scheme);
    qv_free(s->hostport);
    qv_free(s->region);
    qv_free(s->bucket);
    qv_free(s->access_key);
    qv_free(s->secret_key);
    qv_free(s);
}

const qv_s3_stats *qv_s3_counters(const qv_s3 *s) { return &s->stats; }

bool qv_s3_degraded(const qv_s3 *s) { return atomic_load(&s->failing) != 0; }

const char *qv_s3_op_name(qv_s3_op op)
{
    static const char *const names[QV_S3_OP_COUNT] = {"put",    "get",  "head",
                                                      "delete", "list", "multipart"};
    return op < QV_S3_OP_COUNT ? names[op] : "?";
}

/* ---- one attempt ---------------------------------------------------------------------- */

void s3_req_fini(s3_req *r) { qv_buf_fini(&r->resp); }

typedef struct attempt {
    qv_s3 *s;
    s3_req *r;
    bool too_big;
} attempt;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    attempt *a = ctx;
    size_t len = size * n;

    if (a->r->resp.len + len > a->r->max_resp) {
        a->too_big = true;
        return 0;
    }
    qv_buf_put(&a->r->resp, p, len);
    return a->r->resp.failed ? 0 : len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    attempt *a = ctx;
    size_t len = size * n, vl;
    const char *colon = memchr(p, ':', len), *v;
    char tmp[32];

    if (len >= 5 && !memcmp(p, "HTTP/", 5)) { /* a new header block (after 100 Continue) */
        a->r->etag[0] = 0;
        a->r->has_crc = a->r->has_length = false;
        return len;
    }
    if (!colon)
        return len;
    for (v = colon + 1; v < p + len && (*v == ' ' || *v == '\t'); v++) {
    }
    vl = (size_t)(p + len - v);
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
    snprintf(tmp, sizeof tmp, "%.*s", (int)(vl < sizeof tmp ? vl : sizeof tmp - 1), v);
    if ((size_t)(colon - p) == 4 && !strncasecmp(p, "etag", 4)) {
        snprintf(a->r->etag, sizeof a->r->etag, "%.*s", (int)vl, v);
    } else if ((size_t)(colon - p) == 17 && !strncasecmp(p, "x-amz-meta-crc32c", 17)) {
        char *end;
        unsigned long crc = strtoul(tmp, &end, 16);
        a->r->has_crc = vl == 8 && !*end;
        a->r->crc = (uint32_t)crc;
    } else if ((size_t)(colon - p) == 14 && !strncasecmp(p, "content-length", 14)) {
        a->r->content_length = strtoull(tmp, NULL, 10);
        a->r->has_length = true;
    }
    return len;
}

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    attempt *a = ctx;
    (void)dt, (void)dn, (void)ut, (void)un;
    return atomic_load(&a->s->cancelled) ? 1 : 0;
}

static void amz_now(char out[17])
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* Host, path and query of r as sent (path and query already encoded). */
static void target(const qv_s3 *s, const s3_req *r, qv_buf *host, qv_buf *path, qv_buf *query)
{
    if (s->path_style) {
        qv_buf_puts(host, s->hostport);
        qv_buf_put_u8(path, '/');
        qv_s3_uri_encode(s->bucket, false, path);
        if (r->key)
            qv_buf_put_u8(path, '/');
    } else {
        qv_buf_printf(host, "%s.%s", s->bucket, s->hostport);
        qv_buf_put_u8(path, '/');
    }
    if (r->key)
        qv_s3_uri_encode(r->key, true, path);
    qv_s3_canonical_query(r->query, r->nquery, query);
    qv_buf_put_u8(host, 0);
    qv_buf_put_u8(path, 0);
    qv_buf_put_u8(query, 0);
}

static bool has_content_type(const s3_req *r)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (!strcasecmp(r->headers[i].name, "content-type"))
            return true;
    return false;
}

/* Signed header list: host, x-amz-*, the request's own; as curl header lines in *lines. */
static qv_err sign_headers(qv_s3 *s, const s3_req *r, const char *host, const char *path,
                           struct curl_slist **lines, qv_error *err)
{
    char date[17], sha[65], auth[1024], line[1200];
    qv_s3_pair h[MAX_HEADERS + 3];
    size_t n = 0;
    qv_err rc;

    if (r->nheaders > MAX_HEADERS)
        return qv_error_set(err, QV_EINTERNAL, "S3: too many headers");
    amz_now(date);
    qv_s3_sha256_hex(r->body, r->len, sha);
    h[n++] = (qv_s3_pair){"host", host};
    h[n++] = (qv_s3_pair){"x-amz-content-sha256", sha};
    h[n++] = (qv_s3_pair){"x-amz-date", date};
    for (size_t i = 0; i < r->nheaders; i++)
        h[n++] = r->headers[i];
    qv_s3_sign_req sr = {.method = r->method, .uri = path, .query = r->query,
                         .nquery = r->nquery, .headers = h, .nheaders = n,
                         .payload_sha256 = sha, .amz_date = date, .region = s->region,
                         .service = "s3", .access_key = s->access_key,
                         .secret_key = s->secret_key};
    if ((rc = qv_s3_sign(&sr, NULL, NULL, auth, sizeof auth, err)) != QV_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        snprintf(line, sizeof line, "%s: %s", h[i].name, h[i].value);
        *lines = curl_slist_append(*lines, line);
    }
    snprintf(line, sizeof line, "Authorization: %s", auth);
    *lines = curl_slist_append(*lines, line);
    qv_crypto_wipe(line, sizeof line);
    *lines = curl_slist_append(*lines, "Expect:");
    if ((!strcmp(r->method, "PUT") || !strcmp(r->method, "POST")) && !has_content_type(r))
        /* else curl sends a form type with a body */
        *lines = curl_slist_append(*lines, "Content-Type: application/octet-stream");
    return *lines ? QV_OK : qv_error_set(err, QV_ENOMEM, "out of memory");
}

static void set_method(CURL *e, const s3_req *r)
{
    if (!strcmp(r->method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(r->method, "GET")) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
        if (strcmp(r->method, "DELETE") != 0) { /* PUT, POST: the body, even empty */
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
        }
    }
}

/* One attempt: *code gets the transport result, r->status the HTTP status. */
static qv_err attempt_once(qv_s3 *s, s3_req *r, CURLcode *code, bool *too_big, qv_error *err)
{
    qv_buf host, path, query, url;
    struct curl_slist *lines = NULL;
    attempt a = {.s = s, .r = r};
    CURL *e = tl_easy ? tl_easy : curl_easy_init();
    qv_err rc;

    qv_buf_init(&host);
    qv_buf_init(&path);
    qv_buf_init(&query);
    qv_buf_init(&url);
    target(s, r, &host, &path, &query);
    qv_buf_printf(&url, "%s://%s%s%s%s", s->scheme, (char *)host.data, (char *)path.data,
                  query.len > 1 ? "?" : "", (char *)query.data);
    qv_buf_put_u8(&url, 0);
    if (!e || url.failed || host.failed || path.failed || query.failed) {
        rc = qv_error_set(err, QV_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = sign_headers(s, r, (char *)host.data, (char *)path.data, &lines, err)) != QV_OK)
        goto done;
    if (tl_easy)
        curl_easy_reset(e);
    qv_buf_fini(&r->resp);
    qv_buf_init(&r->resp);
    curl_easy_setopt(e, CURLOPT_URL, (char *)url.data);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, lines);
    curl_easy_setopt(e, CURLOPT_SHARE, s->share);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(s->timeout_ms < 10000 ? s->timeout_ms
                                                                                : 10000));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, &a);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    set_method(e, r);
    r->status = 0;
    *code = curl_easy_perform(e);
    *too_big = a.too_big;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    rc = QV_OK;
done:
    curl_slist_free_all(lines);
    if (e && e != tl_easy)
        curl_easy_cleanup(e);
    qv_buf_fini(&host);
    qv_buf_fini(&path);
    qv_buf_fini(&query);
    qv_buf_fini(&url);
    return rc;
}

void s3_pool_thread_easy(bool start)
{
    if (start && !tl_easy) {
        tl_easy = curl_easy_init();
    } else if (!start && tl_easy) {
        curl_easy_cleanup(tl_easy);
        tl_easy = NULL;
    }
}

/* ---- retries -------------------------------------------------------------------------- */

static uint64_t rng_next(void)
{
    static _Thread_local uint64_t x;

    if (!x) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = (((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)&x ^ (uint64_t)ts.tv_sec) | 1;
    }
    x ^= x >> 12; /* xorshift64* (Vigna) */
    x ^= x << 25;
    x ^= x >> 27;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Sleep before retry k; false if cancelled meanwhile. */
static bool backoff(qv_s3 *s, int k)
{
    uint64_t d = (uint64_t)s->retry_base_ms << (k < 20 ? k : 20), ms;
    struct timespec slice = {0, WAIT_SLICE_MS * 1000000L};

    if (d > (uint64_t)s->retry_max_ms)
        d = (uint64_t)s->retry_max_ms;
    ms = d / 2 + rng_next() % (d / 2 + 1);
    for (uint64_t waited = 0; waited < ms; waited += WAIT_SLICE_MS) {
        if (atomic_load(&s->cancelled))
            return false;
        nanosleep(&slice, NULL);
    }
    return !atomic_load(&s->cancelled);
}

/* The S3 error code of an error body ("SlowDown", ...), or "". */
static void error_code(const s3_req *r, char *out, size_t cap)
{
    size_t from = 0, n = 0;
    const char *c = r->resp.data ? s3_xml_find((const char *)r->resp.data, r->resp.len, &from,
                                               "Code", &n)
                                 : NULL;
    snprintf(out, cap, "%.*s", c ? (int)n : 0, c ? c : "");
}

static bool retryable(long status, const char *code)
{
    return status >= 500 || status == 429 || !strcmp(code, "SlowDown") ||
           !strcmp(code, "RequestTimeout");
}

qv_err s3_perform(qv_s3 *s, s3_req *r, bool ok_404, qv_error *err)
{
    const char *what = r->key ? r->key : "(bucket)";
    char code[64] = "", why[160] = "";
    bool again = false;
    qv_err rc = QV_OK;

    for (int k = 0; k <= s->retries; k++) {
        CURLcode cc = CURLE_OK;
        bool too_big = false;
        if (k) {
            if (!backoff(s, k - 1))
                return qv_error_set(err, QV_EUNAVAIL, "S3 %s %s: cancelled", r->method, what);
            atomic_fetch_add(&s->stats.retries, 1);
        }
        atomic_fetch_add(&s->stats.requests[r->op], 1);
        if ((rc = attempt_once(s, r, &cc, &too_big, err)) != QV_OK)
            return rc;
        code[0] = 0;
        if (cc == CURLE_OK && ((r->status >= 200 && r->status < 300) ||
                               (ok_404 && r->status == 404))) {
            atomic_store(&s->failing, 0);
            if (r->status < 300)
                atomic_fetch_add(&s->stats.bytes_up, r->len);
            atomic_fetch_add(&s->stats.bytes_down, r->resp.len);
            return QV_OK;
        }
        atomic_fetch_add(&s->stats.failures[r->op], 1);
        if (too_big)
            return qv_error_set(err, QV_ETOOBIG, "S3 %s %s: answer over %zu bytes", r->method,
                                what, r->max_resp);
        if (cc == CURLE_ABORTED_BY_CALLBACK || atomic_load(&s->cancelled))
            return qv_error_set(err, QV_EUNAVAIL, "S3 %s %s: cancelled", r->method, what);
        if (cc != CURLE_OK) {
            snprintf(why, sizeof why, "%s", curl_easy_strerror(cc));
            again = true;
            continue;
        }
        error_code(r, code, sizeof code);
        snprintf(why, sizeof why, "HTTP %ld%s%s", r->status, code[0] ? " " : "", code);
        if (!(again = retryable(r->status, code)))
            break;
    }
    atomic_store(&s->failing, 1);
    return qv_error_set(err, again ? QV_EUNAVAIL : QV_EIO, "S3 %s %s: %s%s", r->method, what,
                        why, again ? " (retries exhausted)" : "");
}
