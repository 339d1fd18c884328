/* SPDX-License-Identifier: Apache-2.0 */
/* ingest_client.c - durable-ingest load generator for POST /v2/vectordb/entities/insert.
 *
 * DESIGN. Everything expensive happens before the clock starts: vectors come from a
 * seeded xorshift PRNG, and a pool of request bodies (--pool, default max(2, --clients)) is
 * encoded once as JSON text, floats with %.6g. Each row's "id" is a fixed-width slot of
 * 20 characters, right-aligned with spaces (JSON allows the whitespace), so before a
 * body is sent its ids are rewritten in place to id_base + seq * batch + row and every
 * request inserts fresh primary keys without re-encoding any float. A body is rewritten
 * only while no transfer references it (the free list below), so --pool must be at
 * least --clients.
 *
 * The send loop is one libcurl multi handle driving --clients easy handles, one per
 * keep-alive connection; a finished handle is re-armed with the next body at once, so
 * there are always --clients requests in flight until --seconds elapse or --batches
 * requests were issued. A request counts as done when the response arrives; it is OK
 * when the status is 200 and the Milvus envelope says "code":0. The first failure stops
 * new requests (the exit status is then 1, and the first error is printed).
 *
 * Reported: vectors/s and requests/s over the send phase, p50/p99/max latency, bytes
 * of request bodies sent, connections opened (keep-alive means = --clients), and this
 * process's CPU time during the send phase (getrusage), so one can check the client is
 * not the bottleneck. The last line is "result: key=value ..." for scripts.
 *
 *   usage: ingest_client --url http://127.0.0.1:19530 --collection c [--dim 128]
 *          [--batch 1000] [--clients 1] (--seconds S | --batches N) [--id-base 1]
 *          [--seed 1] [--pool P] */
#include <curl/curl.h>

#include "bench_vecs.h"
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define ID_SLOT_CHARS 20 /* "-9223372036854775808" */
#define REPLY_KEEP_BYTES 512

typedef struct bench_opts {
    const char *url; /* base, e.g. http://127.0.0.1:19530, or the full insert URL */
    const char *collection;
    int dim, batch, clients, pool;
    double seconds;   /* > 0: run for this long */
    long long batches; /* > 0: send exactly this many requests */
    long long id_base;
    uint64_t seed;
} bench_opts;

typedef struct body {
    char *text;
    size_t len;
    size_t *id_off; /* batch offsets of the id slots */
    int next_free;  /* free list link, -1 ends it */
} body;

typedef struct client {
    CURL *easy;
    int body;          /* index in the pool while a request is in flight */
    uint64_t start_ns; /* when the request was handed to curl */
    char reply[REPLY_KEEP_BYTES];
    size_t reply_len;
} client;

typedef struct run {
    const bench_opts *o;
    body *bodies;
    int free_head;
    client *clients;
    long long issued, ok, failed;
    uint64_t deadline_ns;
    double *lat_ms;
    size_t nlat, lat_cap;
    uint64_t bytes_sent;
    long connects;
    char first_error[256];
} run;

/* xorshift64*; uniform in [-1, 1). */
static float rnd_float(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    x *= 0x2545F4914F6CDD1Dull;
    return (float)((double)(x >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
}

/* ---- options ------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: ingest_client --url URL --collection NAME [--dim 128] [--batch 1000]\n"
               "       [--clients 1] (--seconds S | --batches N) [--id-base 1] [--seed 1]\n"
               "       [--pool P (bodies pre-encoded, >= clients; default max(2, clients))]\n");
}

static bool parse_ll(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static int parse_opts(int argc, char **argv, bench_opts *o)
{
    *o = (bench_opts){.url = "http://127.0.0.1:19530", .collection = NULL, .dim = 128,
                      .batch = 1000, .clients = 1, .id_base = 1, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long n = 0;
        bool ok = v != NULL;

        if (!strcmp(k, "-h") || !strcmp(k, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!ok)
            goto bad;
        if (!strcmp(k, "--url"))
            o->url = v;
        else if (!strcmp(k, "--collection"))
            o->collection = v;
        else if (!strcmp(k, "--dim") && (ok = parse_ll(v, 1, 32768, &n)))
            o->dim = (int)n;
        else if (!strcmp(k, "--batch") && (ok = parse_ll(v, 1, 1000000, &n)))
            o->batch = (int)n;
        else if (!strcmp(k, "--clients") && (ok = parse_ll(v, 1, 1024, &n)))
            o->clients = (int)n;
        else if (!strcmp(k, "--pool") && (ok = parse_ll(v, 1, 4096, &n)))
            o->pool = (int)n;
        else if (!strcmp(k, "--batches") && (ok = parse_ll(v, 1, INT64_MAX / 2, &n)))
            o->batches = n;
        else if (!strcmp(k, "--id-base") && (ok = parse_ll(v, INT64_MIN / 2, INT64_MAX / 2, &n)))
            o->id_base = n;
        else if (!strcmp(k, "--seed") && (ok = parse_ll(v, 0, INT64_MAX, &n)))
            o->seed = (uint64_t)n;
        else if (!strcmp(k, "--seconds")) {
            char *end;
            o->seconds = strtod(v, &end);
            ok = end != v && !*end && o->seconds > 0;
        } else
            ok = false;
        if (!ok)
            goto bad;
        i++;
        continue;
    bad:
        fprintf(stderr, "ingest_client: bad or missing value for %s\n", k);
        usage(stderr);
        return -1;
    }
    if (!o->collection || (o->seconds > 0) == (o->batches > 0)) {
        fprintf(stderr, "ingest_client: need --collection and one of --seconds, --batches\n");
        usage(stderr);
        return -1;
    }
    if (!o->pool) /* one body per connection is enough: ids are rewritten per request */
        o->pool = o->clients < 2 ? 2 : o->clients;
    if (o->pool < o->clients) {
        fprintf(stderr, "ingest_client: --pool %d < --clients %d\n", o->pool, o->clients);
        return -1;
    }
    return 0;
}

/* ---- bodies ------------------------------------------------------------------------ */

/* One body of o->batch rows: {"collectionName":..,"data":[{"id":<slot>,"vector":[..]},..]} */
static int body_encode(const bench_opts *o, uint64_t *rng, body *b)
{
    bench_text t = {0};
    char num[48];
    bool ok = bench_text_str(&t, "{\"collectionName\":\"") && bench_text_str(&t, o->collection) &&
              bench_text_str(&t, "\",\"data\":[");

    if (!(b->id_off = calloc((size_t)o->batch, sizeof *b->id_off)))
        ok = false;
    for (int r = 0; ok && r < o->batch; r++) {
        ok = bench_text_str(&t, r ? ",{\"id\":" : "{\"id\":");
        b->id_off[r] = t.len;
        snprintf(num, sizeof num, "%*d", ID_SLOT_CHARS, 0);
        ok = ok && bench_text_str(&t, num) && bench_text_str(&t, ",\"vector\":[");
        for (int d = 0; ok && d < o->dim; d++) {
            int n = snprintf(num, sizeof num, d ? ",%.6g" : "%.6g", (double)rnd_float(rng));
            ok = bench_text_put(&t, num, (size_t)n);
        }
        ok = ok && bench_text_str(&t, "]}");
    }
    ok = ok && bench_text_str(&t, "]}");
    if (!ok) {
        free(t.p);
        free(b->id_off);
        return -1;
    }
    b->text = t.p;
    b->len = t.len;
    return 0;
}

static void body_set_ids(const bench_opts *o, body *b, long long seq)
{
    char num[ID_SLOT_CHARS + 1];
    long long first = o->id_base + seq * o->batch;

    for (int r = 0; r < o->batch; r++) {
        snprintf(num, sizeof num, "%*lld", ID_SLOT_CHARS, first + r);
        memcpy(b->text + b->id_off[r], num, ID_SLOT_CHARS);
    }
}

/* ---- the send loop --------------------------------------------------------------------- */

static size_t on_reply(char *p, size_t size, size_t n, void *ctx)
{
    client *c = ctx;
    size_t len = size * n, keep = sizeof c->reply - 1 - c->reply_len;

    if (keep > len)
        keep = len;
    memcpy(c->reply + c->reply_len, p, keep);
    c->reply_len += keep;
    c->reply[c->reply_len] = '\0';
    return len;
}

static bool want_more(const run *r)
{
    if (r->failed) /* a failed insert ends the run: error replies are not ingest */
        return false;
    if (r->o->batches > 0)
        return r->issued < r->o->batches;
    return bench_now_ns() < r->deadline_ns;
}

static int client_arm(run *r, CURLM *multi, client *c)
{
    int bi = r->free_head;
    body *b = &r->bodies[bi];

    r->free_head = b->next_free;
    c->body = bi;
    body_set_ids(r->o, b, r->issued++);
    c->reply_len = 0;
    c->reply[0] = '\0';
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, b->text);
    c->start_ns = bench_now_ns();
    return curl_multi_add_handle(multi, c->easy) == CURLM_OK ? 0 : -1;
}

static bool reply_ok(const client *c)
{
    const char *p = strstr(c->reply, "\"code\":");
    if (!p)
        return false;
    p += 7;
    while (*p == ' ')
        p++;
    return p[0] == '0' && (p[1] == ',' || p[1] == '}' || p[1] == ' ');
}

static void client_done(run *r, client *c, CURLcode res)
{
    long status = 0, connects = 0;
    body *b = &r->bodies[c->body];

    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &connects);
    r->connects += connects;
    if (res == CURLE_OK && status == 200 && reply_ok(c)) {
        r->ok++;
        r->bytes_sent += b->len;
        if (r->nlat == r->lat_cap) {
            size_t cap = r->lat_cap ? r->lat_cap * 2 : 4096;
            double *p = realloc(r->lat_ms, cap * sizeof *p);
            if (p) {
                r->lat_ms = p;
                r->lat_cap = cap;
            }
        }
        if (r->nlat < r->lat_cap)
            r->lat_ms[r->nlat++] = (double)(bench_now_ns() - c->start_ns) / 1e6;
    } else {
        r->failed++;
        if (!r->first_error[0])
            snprintf(r->first_error, sizeof r->first_error, "curl=%s http=%ld reply=%.180s",
                     curl_easy_strerror(res), status, c->reply);
    }
    b->next_free = r->free_head;
    r->free_head = c->body;
    c->body = -1;
}

static int send_loop(run *r, CURLM *multi)
{
    int running = 0, inflight = 0;

    for (int i = 0; i < r->o->clients && want_more(r); i++, inflight++)
        if (client_arm(r, multi, &r->clients[i]) != 0)
            return -1;
    while (inflight > 0) {
        CURLMsg *m;
        int left;

        if (curl_multi_perform(multi, &running) != CURLM_OK)
            return -1;
        while ((m = curl_multi_info_read(multi, &left))) {
            client *c;
            if (m->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            curl_multi_remove_handle(multi, c->easy);
            client_done(r, c, m->data.result);
            inflight--;
            if (want_more(r)) {
                if (client_arm(r, multi, c) != 0)
                    return -1;
                inflight++;
            }
        }
        if (inflight > 0 && curl_multi_poll(multi, NULL, 0, 100, NULL) != CURLM_OK)
            return -1;
    }
    return 0;
}

/* ---- setup and report ----------------------------------------------------------------- */

static void report(const run *r, double wall_s, double cpu_s, double gen_s, size_t pool_bytes)
{
    const bench_opts *o = r->o;
    double vectors = (double)r->ok * o->batch;
    double p50 = 0, p99 = 0, pmax = 0;

    p50 = bench_percentile(r->lat_ms, r->nlat, 50); /* sorts lat_ms */
    p99 = bench_percentile(r->lat_ms, r->nlat, 99);
    pmax = r->nlat ? r->lat_ms[r->nlat - 1] : 0;
    printf("pre-encoded %d bodies (%.1f MiB) in %.2f s\n", o->pool,
           (double)pool_bytes / 1048576.0, gen_s);
    printf("dim=%d batch=%d clients=%d: %lld ok, %lld failed requests in %.2f s\n", o->dim,
           o->batch, o->clients, r->ok, r->failed, wall_s);
    printf("  %.0f vectors/s, %.1f requests/s, %.1f MB/s of request bodies\n", vectors / wall_s,
           (double)r->ok / wall_s, (double)r->bytes_sent / wall_s / 1e6);
    printf("  latency ms: p50 %.2f, p99 %.2f, max %.2f\n", p50, p99, pmax);
    printf("  bytes sent %" PRIu64 ", connections opened %ld\n", r->bytes_sent, r->connects);
    printf("  client CPU %.2f s = %.0f%% of one core\n", cpu_s, 100.0 * cpu_s / wall_s);
    if (r->first_error[0])
        printf("  first error: %s\n", r->first_error);
    printf("result: dim=%d batch=%d clients=%d ok=%lld failed=%lld seconds=%.3f "
           "vectors_per_s=%.0f requests_per_s=%.2f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
           "bytes=%" PRIu64 " connects=%ld cpu_s=%.3f cpu_pct=%.1f\n",
           o->dim, o->batch, o->clients, r->ok, r->failed, wall_s, vectors / wall_s,
           (double)r->ok / wall_s, p50, p99, pmax, r->bytes_sent, r->connects, cpu_s,
           100.0 * cpu_s / wall_s);
}

static int clients_init(run *r, CURLM *multi, struct curl_slist *hdrs, const char *url)
{
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)r->o->clients);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)r->o->clients);
    for (int i = 0; i < r->o->clients; i++) {
        client *c = &r->clients[i];
        if (!(c->easy = curl_easy_init()))
            return -1;
        c->body = -1;
        curl_easy_setopt(c->easy, CURLOPT_URL, url);
        curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_reply);
        curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
        curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, 120000L);
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts o;
    run r = {0};
    CURLM *multi = NULL;
    struct curl_slist *hdrs = NULL;
    char url[1024];
    uint64_t rng, t0;
    size_t pool_bytes = 0;
    double gen_s, cpu0, wall_s;
    int rc = 1;

    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    r.o = &o;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(url, sizeof url, "%s%s", o.url,
             strstr(o.url, "/v2/") ? "" : "/v2/vectordb/entities/insert");
    rng = o.seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    if (!(r.bodies = calloc((size_t)o.pool, sizeof *r.bodies)) ||
        !(r.clients = calloc((size_t)o.clients, sizeof *r.clients))) {
        fprintf(stderr, "ingest_client: out of memory\n");
        goto done;
    }
    t0 = bench_now_ns();
    for (int i = 0; i < o.pool; i++) {
        if (body_encode(&o, &rng, &r.bodies[i]) != 0) {
            fprintf(stderr, "ingest_client: out of memory encoding body %d\n", i);
            goto done;
        }
        r.bodies[i].next_free = i + 1 < o.pool ? i + 1 : -1;
        pool_bytes += r.bodies[i].len;
    }
    gen_s = (double)(bench_now_ns() - t0) / 1e9;

    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    if (!hdrs || !(multi = curl_multi_init()) || clients_init(&r, multi, hdrs, url) != 0) {
        fprintf(stderr, "ingest_client: libcurl setup failed\n");
        goto done;
    }
    cpu0 = bench_cpu_seconds();
    t0 = bench_now_ns();
    r.deadline_ns = t0 + (uint64_t)(o.seconds * 1e9);
    if (send_loop(&r, multi) != 0) {
        fprintf(stderr, "ingest_client: libcurl multi failed\n");
        goto done;
    }
    wall_s = (double)(bench_now_ns() - t0) / 1e9;
    report(&r, wall_s, bench_cpu_seconds() - cpu0, gen_s, pool_bytes);
    rc = r.failed ? 1 : 0;
done:
    for (int i = 0; r.clients && i < o.clients; i++)
        if (r.clients[i].easy) {
            curl_multi_remove_handle(multi, r.clients[i].easy);
            curl_easy_cleanup(r.clients[i].easy);
        }
    curl_multi_cleanup(multi);
    curl_slist_free_all(hdrs);
    for (int i = 0; r.bodies && i < o.pool; i++) {
        free(r.bodies[i].text);
        free(r.bodies[i].id_off);
    }
    free(r.bodies);
    free(r.clients);
    free(r.lat_ms);
    curl_global_cleanup();
    return rc;
}
