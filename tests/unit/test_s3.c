/* SPDX-License-Identifier: Apache-2.0 */
/* test_s3.c - the S3 client: Signature Version 4 against the worked examples of the S3 API
 * reference ("Signature Calculations for the Authorization Header: Transferring Payload in
 * a Single Chunk", examples GET Object, PUT Object, GET Bucket Lifecycle and GET Bucket
 * (List Objects), key AKIAIOSFODNN7EXAMPLE), URI encoding, and the request path (retries
 * with backoff on 5xx/SlowDown and timeouts, give-up, non-retryable errors, checksums,
 * multipart, listing pages, path-style and virtual-host addressing) against a scripted
 * HTTP server on a loopback port. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "quiver/alloc.h"
#include "quiver/crc32c.h"
#include "quiver/s3.h"
#include "testutil.h"

/* ---- Signature Version 4 known answers ------------------------------------------------ */

#define EX_KEY "AKIAIOSFODNN7EXAMPLE"
#define EX_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EX_DATE "20130524T000000Z"
#define EX_HOST "examplebucket.s3.amazonaws.com"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void check_sign(const qv_s3_sign_req *r, const char *canonical, const char *sts_hash,
                       const char *auth)
{
    qv_buf creq, sts;
    char got[1024], want_sts[256];

    qv_buf_init(&creq);
    qv_buf_init(&sts);
    ck_assert_int_eq(qv_s3_sign(r, &creq, &sts, got, sizeof got, NULL), QV_OK);
    qv_buf_put_u8(&creq, 0);
    qv_buf_put_u8(&sts, 0);
    ck_assert_str_eq((const char *)creq.data, canonical);
    snprintf(want_sts, sizeof want_sts,
             "AWS4-HMAC-SHA256\n" EX_DATE "\n20130524/us-east-1/s3/aws4_request\n%s", sts_hash);
    ck_assert_str_eq((const char *)sts.data, want_sts);
    ck_assert_str_eq(got, auth);
    qv_buf_fini(&creq);
    qv_buf_fini(&sts);
}

static qv_s3_sign_req example(const char *method, const char *uri, const qv_s3_pair *h,
                              size_t nh, const char *sha)
{
    return (qv_s3_sign_req){.method = method, .uri = uri, .headers = h, .nheaders = nh,
                            .payload_sha256 = sha, .amz_date = EX_DATE, .region = "us-east-1",
                            .service = "s3", .access_key = EX_KEY, .secret_key = EX_SECRET};
}

START_TEST(test_sigv4_get_object)
{
    /* headers in another order and case than canonical, with padding to trim */
    qv_s3_pair h[] = {{"X-Amz-Date", EX_DATE}, {"Range", " bytes=0-9 "}, {"Host", EX_HOST},
                      {"x-amz-content-sha256", EMPTY_SHA}};
    qv_s3_sign_req r = example("GET", "/test.txt", h, 4, EMPTY_SHA);

    check_sign(&r,
               "GET\n/test.txt\n\nhost:" EX_HOST "\nrange:bytes=0-9\nx-amz-content-sha256:"
               EMPTY_SHA "\nx-amz-date:" EX_DATE "\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
               EMPTY_SHA,
               "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
               "AWS4-HMAC-SHA256 Credential=" EX_KEY "/20130524/us-east-1/s3/aws4_request,"
               "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
               "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}
END_TEST

START_TEST(test_sigv4_put_object)
{
    static const char body[] = "Welcome to Amazon S3.";
    char sha[65];
    qv_buf uri;

    qv_s3_sha256_hex(body, strlen(body), sha);
    ck_assert_str_eq(sha, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    qv_buf_init(&uri);
    qv_s3_uri_encode("/test$file.text", true, &uri);
    qv_buf_put_u8(&uri, 0);
    ck_assert_str_eq((const char *)uri.data, "/test%24file.text");
    qv_s3_pair h[] = {{"Host", EX_HOST},
                      {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                      {"x-amz-date", EX_DATE},
                      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                      {"x-amz-content-sha256", sha}};
    qv_s3_sign_req r = example("PUT", (const char *)uri.data, h, 5, sha);
    check_sign(&r,
               "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\nhost:" EX_HOST
               "\nx-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b8"
               "03f8b072\nx-amz-date:" EX_DATE "\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
               "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
               "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
               "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
               "AWS4-HMAC-SHA256 Credential=" EX_KEY "/20130524/us-east-1/s3/aws4_request,"
               "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
               "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    qv_buf_fini(&uri);
}
END_TEST

/* GET on the bucket with query q: the examples GET Bucket Lifecycle and List Objects. */
static void check_bucket_get(const qv_s3_pair *q, size_t nq, const char *canonical_query,
                             const char *sts_hash, const char *signature)
{
    qv_s3_pair h[] = {{"host", EX_HOST}, {"x-amz-date", EX_DATE},
                      {"x-amz-content-sha256", EMPTY_SHA}};
    qv_s3_sign_req r = example("GET", "/", h, 3, EMPTY_SHA);
    char canonical[512], auth[512];

    r.query = q;
    r.nquery = nq;
    snprintf(canonical, sizeof canonical,
             "GET\n/\n%s\nhost:" EX_HOST "\nx-amz-content-sha256:" EMPTY_SHA
             "\nx-amz-date:" EX_DATE "\n\nhost;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA,
             canonical_query);
    snprintf(auth, sizeof auth,
             "AWS4-HMAC-SHA256 Credential=" EX_KEY "/20130524/us-east-1/s3/aws4_request,"
             "SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=%s", signature);
    check_sign(&r, canonical, sts_hash, auth);
}

START_TEST(test_sigv4_get_bucket_lifecycle)
{
    qv_s3_pair q[] = {{"lifecycle", ""}};

    check_bucket_get(q, 1, "lifecycle=",
                     "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
                     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}
END_TEST

START_TEST(test_sigv4_list_objects)
{
    qv_s3_pair q[] = {{"prefix", "J"}, {"max-keys", "2"}}; /* unsorted on purpose */

    check_bucket_get(q, 2, "max-keys=2&prefix=J",
                     "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
                     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}
END_TEST

START_TEST(test_uri_encoding)
{
    qv_buf b;
    qv_s3_pair q[] = {{"prefix", "a b/c"}, {"continuation-token", "x+y=="}, {"list-type", "2"}};

    qv_buf_init(&b);
    qv_s3_uri_encode("node a/collections/7/seg-1.qvs~_-", true, &b);
    qv_buf_put_u8(&b, 0);
    ck_assert_str_eq((const char *)b.data, "node%20a/collections/7/seg-1.qvs~_-");
    b.len = 0;
    qv_s3_uri_encode("a/b\xc3\xa9", false, &b);
    qv_buf_put_u8(&b, 0);
    ck_assert_str_eq((const char *)b.data, "a%2Fb%C3%A9");
    b.len = 0;
    qv_s3_canonical_query(q, 3, &b);
    qv_buf_put_u8(&b, 0);
    ck_assert_str_eq((const char *)b.data,
                     "continuation-token=x%2By%3D%3D&list-type=2&prefix=a%20b%2Fc");
    qv_buf_fini(&b);
}
END_TEST

/* ---- a scripted HTTP server ----------------------------------------------------------- */

#define MAX_EXCHANGES 16
#define SLOW "(no answer)"

typedef struct fake_server {
    int fd, port;
    pthread_t thread;
    const char *answers[MAX_EXCHANGES]; /* raw HTTP answers, in order; NULL ends */
    char *requests[MAX_EXCHANGES];      /* request line and headers as received */
    size_t body_len[MAX_EXCHANGES];
    uint32_t body_crc[MAX_EXCHANGES];
    int served;
    int held; /* a connection left unanswered (SLOW), closed at the end */
} fake_server;

static size_t content_length(const char *head)
{
    const char *p = strcasestr(head, "\r\ncontent-length:");
    return p ? (size_t)strtoull(p + 17, NULL, 10) : 0;
}

static void serve_one(fake_server *f, int c)
{
    size_t cap = 1 << 16, len = 0, need = 0, hl = 0;
    char *buf = malloc(cap + 1);
    char *end = NULL;
    ssize_t got;

    while ((got = recv(c, buf + len, cap - len, 0)) > 0) {
        len += (size_t)got;
        buf[len] = 0;
        if (!end && (end = strstr(buf, "\r\n\r\n"))) {
            hl = (size_t)(end - buf) + 4;
            need = hl + content_length(buf);
            if (need + 1 > cap)
                buf = realloc(buf, (cap = need) + 1), end = buf + hl - 4;
        }
        if (end && len >= need)
            break;
        if (len == cap)
            buf = realloc(buf, (cap *= 2) + 1), end = end ? buf + hl - 4 : NULL;
    }
    if (end) {
        f->requests[f->served] = strndup(buf, hl);
        f->body_len[f->served] = need - hl;
        f->body_crc[f->served] = qv_crc32c(0, buf + hl, need - hl);
        /* the answer's head, then Content-Length of its body (not sent to a HEAD) */
        const char *a = f->answers[f->served++], *body = strstr(a, "\r\n\r\n");
        if (!strcmp(a, SLOW)) { /* a store that never answers: the connection stays open */
            f->held = c;
            free(buf);
            return;
        }
        char framing[128];
        size_t blen = body ? strlen(body + 4) : 0;
        size_t alen = body ? (size_t)(body - a) + 2 : strlen(a);
        int fl = snprintf(framing, sizeof framing,
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n", blen);
        if (send(c, a, alen, MSG_NOSIGNAL) < 0 || send(c, framing, (size_t)fl, MSG_NOSIGNAL) < 0 ||
            (strncmp(buf, "HEAD ", 5) && blen && send(c, body + 4, blen, MSG_NOSIGNAL) < 0))
            perror("send");
    }
    free(buf);
}

static void *server_main(void *arg)
{
    fake_server *f = arg;

    while (f->served < MAX_EXCHANGES && f->answers[f->served]) {
        int c = accept(f->fd, NULL, NULL);
        if (c < 0)
            break;
        serve_one(f, c);
        if (c != f->held)
            close(c);
    }
    return NULL;
}

static void server_start(fake_server *f)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;

    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(f->fd, 0);
    ck_assert_int_eq(bind(f->fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(f->fd, 16), 0);
    getsockname(f->fd, (struct sockaddr *)&a, &al);
    f->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&f->thread, NULL, server_main, f), 0);
}

static void server_stop(fake_server *f)
{
    shutdown(f->fd, SHUT_RDWR);
    close(f->fd);
    pthread_join(f->thread, NULL);
    if (f->held > 0)
        close(f->held);
    for (int i = 0; i < f->served; i++)
        free(f->requests[i]);
}

static qv_io *tio;

/* A client of the fake server; virtual-host addressing goes through b.localhost, which
 * libcurl resolves to the loopback itself (RFC 6761). */
static qv_s3 *client_opts(int port, int retries, int timeout_ms, bool path_style)
{
    char ep[64];
    qv_s3 *s = NULL;
    qv_error e = {0};

    snprintf(ep, sizeof ep, "http://%s:%d", path_style ? "127.0.0.1" : "localhost", port);
    qv_s3_opts o = {.endpoint = ep, .region = "us-east-1", .bucket = "b", .access_key = "AK",
                    .secret_key = "SK", .path_style = path_style, .timeout_ms = timeout_ms,
                    .retries = retries, .retry_base_ms = 5, .retry_max_ms = 20,
                    .concurrency = 2, .part_bytes = QV_S3_MIN_PART_BYTES, .io = tio};
    if (!tio)
        ck_assert_int_eq(qv_io_open_default("posix", &tio, NULL), QV_OK);
    o.io = tio;
    ck_assert_msg(qv_s3_new(&o, &s, &e) == QV_OK, "%s", e.msg);
    return s;
}

static qv_s3 *client(int port, int retries) { return client_opts(port, retries, 5000, true); }

#define OK_EMPTY "HTTP/1.1 200 OK\r\n\r\n"
#define SLOWDOWN                                                                           \
    "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n\r\n"                     \
    "<Error><Code>SlowDown</Code><Message>x</Message></Error>\n"
#define E500 "HTTP/1.1 500 Internal\r\n\r\n"

START_TEST(test_retries_5xx_then_succeeds)
{
    fake_server f = {.answers = {SLOWDOWN, E500, OK_EMPTY}};
    qv_s3 *s;
    qv_error e = {0};

    server_start(&f);
    s = client(f.port, 3);
    ck_assert_msg(qv_s3_put(s, "dir/a b.bin", "hello", 5, &e) == QV_OK, "%s", e.msg);
    ck_assert_int_eq(f.served, 3);
    ck_assert_uint_eq(qv_s3_counters(s)->requests[QV_S3_OP_PUT], 3);
    ck_assert_uint_eq(qv_s3_counters(s)->failures[QV_S3_OP_PUT], 2);
    ck_assert_uint_eq(qv_s3_counters(s)->retries, 2);
    ck_assert(!qv_s3_degraded(s));
    /* path-style, key encoded, signed, checksum and payload hash as sent */
    ck_assert_ptr_nonnull(strstr(f.requests[2], "PUT /b/dir/a%20b.bin HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strcasestr(f.requests[2], "\r\nAuthorization: AWS4-HMAC-SHA256 "
                                                    "Credential=AK/"));
    ck_assert_ptr_nonnull(strcasestr(f.requests[2], "\r\nx-amz-meta-crc32c: "));
    ck_assert_ptr_nonnull(strcasestr(f.requests[2], "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa"
                                                    "7425e73043362938b9824")); /* "hello" */
    ck_assert_uint_eq(f.body_len[2], 5);
    qv_s3_free(s);
    server_stop(&f);
}
END_TEST

START_TEST(test_gives_up_then_recovers)
{
    fake_server f = {.answers = {E500, E500, E500, OK_EMPTY}};
    qv_s3 *s;
    qv_error e = {0};

    server_start(&f);
    s = client(f.port, 2);
    ck_assert_int_eq(qv_s3_delete(s, "k", &e), QV_EUNAVAIL);
    ck_assert_ptr_nonnull(strstr(e.msg, "HTTP 500"));
    ck_assert(qv_s3_degraded(s));
    ck_assert_int_eq(qv_s3_delete(s, "k", &e), QV_OK);
    ck_assert(!qv_s3_degraded(s));
    qv_s3_free(s);
    server_stop(&f);
}
END_TEST

START_TEST(test_slow_store_times_out_and_is_retried)
{
    fake_server f = {.answers = {SLOW, OK_EMPTY}};
    qv_s3 *s;
    qv_error e = {0};

    server_start(&f);
    s = client_opts(f.port, 2, 200, true);
    ck_assert_msg(qv_s3_put(s, "k", "x", 1, &e) == QV_OK, "%s", e.msg);
    ck_assert_int_eq(f.served, 2);
    ck_assert_uint_eq(qv_s3_counters(s)->failures[QV_S3_OP_PUT], 1);
    ck_assert_uint_eq(qv_s3_counters(s)->retries, 1);
    qv_s3_free(s);
    server_stop(&f);
}
END_TEST

START_TEST(test_virtual_host_addressing)
{
    fake_server f = {.answers = {OK_EMPTY}};
    char host[64];
    qv_s3 *s;
    qv_error e = {0};

    server_start(&f);
    s = client_opts(f.port, 0, 5000, false);
    ck_assert_msg(qv_s3_put(s, "dir/k", "x", 1, &e) == QV_OK, "%s", e.msg);
    ck_assert_ptr_nonnull(strstr(f.requests[0], "PUT /dir/k HTTP/1.1\r\n"));
    snprintf(host, sizeof host, "\r\nhost: b.localhost:%d\r\n", f.port);
    ck_assert_ptr_nonnull(strcasestr(f.requests[0], host));
    qv_s3_free(s);
    server_stop(&f);
}
END_TEST

START_TEST(test_refusal_not_retried)
{
    fake_server f = {
        .answers = {"HTTP/1.1 403 Forbidden\r\n\r\n<Error><Code>AccessDenied</Code></Error>\n"}};
    qv_s3 *s;
    qv_error e = {0};

    server_start(&f);
    s = client(f.port, 3);
    ck_assert_int_eq(qv_s3_put(s, "k", "x", 1, &e), QV_EIO);
    ck_assert_ptr_nonnull(strstr(e.msg, "HTTP 403 AccessDenied"));
    ck_assert_int_eq(f.served, 1);
    qv_s3_free(s);
    server_stop(&f);
}
END_TEST

START_TEST(test_connection_refused_is_unavailable)
{
    fake_server f = {0};
    qv_s3 *s;
    qv_error e = {0};
    int port;

    server_start(&f); /* a port nobody listens on once closed */
    port = f.port;
    server_stop(&f);
    s = client(port, 2);
    ck_assert_int_eq(qv_s3_put(s, "k", "x", 1, &e), QV_EUNAVAIL);
    ck_assert_uint_eq(qv_s3_counters(s)->requests[QV_S3_OP_PUT], 3);
    ck_assert(qv_s3_degraded(s));
    qv_s3_free(s);
}
END_TEST

START_TEST(test_get_checks_crc_and_404)
{
    fake_server f = {.answers = {
        "HTTP/1.1 200 OK\r\nx-amz-meta-crc32c: 00000000\r\n"
        "\r\nhello",
        "HTTP/1.1 200 OK\r\nx-amz-meta-crc32c: 9a71bb4c\r\n"
        "\r\nhello",
        "HTTP/1.1 404 Not Found\r\n\r\n",
        "HTTP/1.1 200 OK\r\nx-amz-meta-crc32c: 9a71bb4c\r\n"
        "\r\nhello"}};
    qv_s3_object info;
    qv_buf b;
    qv_s3 *s;
    qv_error e = {0};

    ck_assert_uint_eq(qv_crc32c(0, "hello", 5), 0x9a71bb4c);
    server_start(&f);
    s = client(f.port, 0);
    qv_buf_init(&b);
    ck_assert_int_eq(qv_s3_get(s, "k", 1 << 20, &b, &info, &e), QV_ECORRUPT);
    ck_assert_int_eq(qv_s3_get(s, "k", 1 << 20, &b, &info, &e), QV_OK);
    ck_assert(info.found && info.has_crc && info.size == 5);
    ck_assert_mem_eq(b.data, "hello", 5);
    ck_assert_int_eq(qv_s3_head(s, "gone", &info, &e), QV_OK);
    ck_assert(!info.found);
    ck_assert_int_eq(qv_s3_head(s, "k", &info, &e), QV_OK);
    ck_assert(info.found && info.size == 5 && info.crc == 0x9a71bb4c);
    ck_assert_ptr_nonnull(strstr(f.requests[3], "HEAD /b/k HTTP/1.1"));
    qv_buf_fini(&b);
    qv_s3_free(s);
    server_stop(&f);
}
END_TEST

START_TEST(test_multipart_upload)
{
    fake_server f = {.answers = {
        "HTTP/1.1 200 OK\r\n\r\n"
        "<InitiateMultipartUploadResult><UploadId>up&amp;1</UploadId></InitiateMultipartUpl"
        "oadResult>\n",
        "HTTP/1.1 200 OK\r\nETag: \"e1\"\r\n\r\n",
        "HTTP/1.1 200 OK\r\nETag: \"e2\"\r\n\r\n",
        OK_EMPTY}};
    char dir[256], path[300];
    size_t n = QV_S3_MIN_PART_BYTES + 1000;
    uint8_t *data = malloc(n);
    uint32_t crc = 0;
    uint64_t bytes = 0;
    qv_s3 *s;
    qv_error e = {0};
    FILE *fp;

    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 13));
    test_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/big", dir);
    fp = fopen(path, "wb");
    fwrite(data, 1, n, fp);
    fclose(fp);
    server_start(&f);
    s = client(f.port, 0);
    ck_assert_int_eq(qv_s3_put_file(s, "big", path, true, 1234, NULL, NULL, &e), QV_ECORRUPT);
    ck_assert_int_eq(f.served, 0); /* a file that fails its expected CRC is never sent */
    ck_assert_msg(qv_s3_put_file(s, "big", path, false, 0, &crc, &bytes, &e) == QV_OK, "%s",
                  e.msg);
    ck_assert_uint_eq(crc, qv_crc32c(0, data, n));
    ck_assert_uint_eq(bytes, n);
    ck_assert_int_eq(f.served, 4);
    ck_assert_ptr_nonnull(strstr(f.requests[0], "POST /b/big?uploads= HTTP/1.1"));
    ck_assert_ptr_nonnull(strstr(f.requests[1], "PUT /b/big?partNumber=1&uploadId=up%261 "));
    ck_assert_ptr_nonnull(strstr(f.requests[2], "PUT /b/big?partNumber=2&uploadId=up%261 "));
    ck_assert_uint_eq(f.body_len[1], QV_S3_MIN_PART_BYTES);
    ck_assert_uint_eq(f.body_len[2], 1000);
    ck_assert_uint_eq(f.body_crc[1], qv_crc32c(0, data, QV_S3_MIN_PART_BYTES));
    ck_assert_ptr_nonnull(strstr(f.requests[3], "POST /b/big?uploadId=up%261 HTTP/1.1"));
    qv_s3_free(s);
    server_stop(&f);
    free(data);
    test_rmtree(dir);
}
END_TEST

static qv_err collect_key(void *ctx, const char *key, uint64_t size)
{
    qv_buf *b = ctx;
    qv_buf_printf(b, "%s=%llu;", key, (unsigned long long)size);
    return QV_OK;
}

START_TEST(test_list_pages)
{
    fake_server f = {.answers = {
        "HTTP/1.1 200 OK\r\n\r\n"
        "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t+1"
        "</NextContinuationToken><Contents><Key>p/a&amp;b</Key><Size>3</Size></Contents>"
        "</ListBucketResult>             \n",
        "HTTP/1.1 200 OK\r\n\r\n"
        "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/c</Key><Size>"
        "12</Size></Contents></ListBucketResult>\n"}};
    qv_buf got;
    qv_s3 *s;
    qv_error e = {0};

    server_start(&f);
    s = client(f.port, 0);
    qv_buf_init(&got);
    ck_assert_msg(qv_s3_list(s, "p/", collect_key, &got, &e) == QV_OK, "%s", e.msg);
    qv_buf_put_u8(&got, 0);
    ck_assert_str_eq((const char *)got.data, "p/a&b=3;p/c=12;");
    ck_assert_ptr_nonnull(strstr(f.requests[0], "GET /b?list-type=2&prefix=p%2F HTTP/1.1"));
    ck_assert_ptr_nonnull(
        strstr(f.requests[1], "GET /b?continuation-token=t%2B1&list-type=2&prefix=p%2F "));
    qv_buf_fini(&got);
    qv_s3_free(s);
    server_stop(&f);
}
END_TEST

START_TEST(test_options_checked)
{
    qv_s3 *s = NULL;
    qv_error e = {0};
    qv_s3_opts o = {.endpoint = "ftp://x", .region = "r", .bucket = "b", .access_key = "a",
                    .secret_key = "s", .timeout_ms = 1, .concurrency = 1,
                    .part_bytes = QV_S3_MIN_PART_BYTES};

    ck_assert_int_eq(qv_s3_new(&o, &s, &e), QV_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "s3.endpoint"));
    o.endpoint = "http://h:1/path";
    ck_assert_int_eq(qv_s3_new(&o, &s, &e), QV_EINVAL);
    o.endpoint = "https://h:1/";
    o.secret_key = "";
    ck_assert_int_eq(qv_s3_new(&o, &s, &e), QV_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "credentials"));
    o.secret_key = "s";
    o.part_bytes = 1 << 20;
    ck_assert_int_eq(qv_s3_new(&o, &s, &e), QV_EINVAL);
    o.part_bytes = QV_S3_MIN_PART_BYTES;
    ck_assert_int_eq(qv_s3_new(&o, &s, &e), QV_OK);
    qv_s3_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("s3");
    TCase *sig = tcase_create("sigv4"), *req = tcase_create("requests");

    tcase_add_test(sig, test_sigv4_get_object);
    tcase_add_test(sig, test_sigv4_put_object);
    tcase_add_test(sig, test_sigv4_get_bucket_lifecycle);
    tcase_add_test(sig, test_sigv4_list_objects);
    tcase_add_test(sig, test_uri_encoding);
    tcase_add_test(req, test_retries_5xx_then_succeeds);
    tcase_add_test(req, test_gives_up_then_recovers);
    tcase_add_test(req, test_slow_store_times_out_and_is_retried);
    tcase_add_test(req, test_virtual_host_addressing);
    tcase_add_test(req, test_refusal_not_retried);
    tcase_add_test(req, test_connection_refused_is_unavailable);
    tcase_add_test(req, test_get_checks_crc_and_404);
    tcase_add_test(req, test_multipart_upload);
    tcase_add_test(req, test_list_pages);
    tcase_add_test(req, test_options_checked);
    suite_add_tcase(s, sig);
    suite_add_tcase(s, req);
    return test_run_suite(s);
}
