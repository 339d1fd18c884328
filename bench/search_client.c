/* SPDX-License-Identifier: Apache-2.0 */
/* search_client.c - REST search load generator for POST /v2/vectordb/entities/search,
 * and the loader bench/search.sh fills collections with.
 *
 * DESIGN. Search: every request body is encoded before the clock starts, one per group
 * of --nq consecutive queries of the query file (floats with %.9g, which round-trips
 * float32), so the send loop only hands bytes to libcurl. One libcurl multi handle
 * drives --clients easy handles, one keep-alive connection each; a finished handle is
 * re-armed at once with the next body in round-robin order, so --clients requests are
 * always in flight until --seconds elapse. A request is OK when the status is 200 and
 * the Milvus envelope says "code":0.
 *
 * Given the base and ground truth, the first answer to each body is checked: recall@k
 * as ann-benchmarks computes it (a hit is a returned id whose true distance is within
 * the k-th true distance + 1e-3, robust to ties), and as sanity checks on the server,
 * returned distances against exact squared L2 recomputed here (skipped with --lossy, for
 * IVF_SQ8 and IVF_PQ, which return quantized distances), duplicate ids in one list, and
 * lists shorter than --k. Ids must be row numbers of the base file, which is what --load
 * inserts. The exit status is 1 when a request failed or a check did not hold.
 *
 * Filtered search: --filter EXPR goes into every body as "filter"; then --gt/--gt-dist
 * must be the exact ground truth over the rows the filter allows, and --allow A.ivecs
 * lists those rows: a returned row outside them is a server error (filter_bad), never
 * a hit.
 *
 * Reported: queries/s (requests/s x nq), p50/p99/max request latency, this process's
 * CPU time during the send phase (getrusage), and a last line "result: key=value ...".
 *
 * Load: --load inserts every row of --base as {"id": <row>, "<field>": [...]} in
 * batches of --batch rows, pre-encoded, sent sequentially on one connection; it reports
 * the wall time of the inserts alone. --tag-mod M adds an Int64 "tag": row % M to each
 * row (for filtered search).
 *
 *   usage: search_client --url URL --collection C --query Q.fvecs [--nq 1] [--k 10]
 *          [--clients 1] [--seconds 5] [--params '{"ef":64}'] [--field v]
 *          [--base B.fvecs --gt G.ivecs [--gt-dist D.fvecs] [--lossy]]
 *          [--filter EXPR [--allow A.ivecs]]
 *          search_client --load --url URL --collection C --base B.fvecs [--batch 1000]
 *          [--field v] [--tag-mod M] */
#include <curl/curl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_vecs.h"

typedef struct opts {
    const char *url, *collection, *query, *base, *gt, *gt_dist, *params, *field, *filter, *allow;
    int nq, k, clients, batch, tag_mod;
    double seconds;
    bool load, lossy;
} opts;

typedef struct client {
    CURL *easy;
    size_t body;
    uint64_t start_ns;
    bench_text reply;
} client;

typedef struct run {
    const opts *o;
    const bench_truth *truth; /* NULL: no recall */
    bench_text *bodies;
    size_t nbodies, next_body;
    bool *scored; /* per body: first answer checked */
    client *clients;
    long long ok, failed;
    uint64_t deadline_ns;
    double *lat_ms;
    size_t nlat, lat_cap;
    size_t hits, scored_queries, dist_bad, dups, short_lists, filter_bad;
    double dist_max_rel;
    char first_error[256];
} run;

static void usage(FILE *f)
{
    fprintf(f, "usage: search_client --url URL --collection C --query Q.fvecs [--nq 1] [--k 10]\n"
               "       [--clients 1] [--seconds 5] [--params '{\"ef\":64}'] [--field v]\n"
               "       [--base B.fvecs --gt G.ivecs [--gt-dist D.fvecs] [--lossy]]\n"
               "       [--filter EXPR [--allow A.ivecs]]\n"
               "       search_client --load --url URL --collection C --base B.fvecs\n"
               "       [--batch 1000] [--field v] [--tag-mod M]\n");
}

static int parse_opts(int argc, char **argv, opts *o)
{
    *o = (opts){.url = "http://127.0.0.1:19530",
                .field = "v",
                .params = "{}",
                .nq = 1,
                .k = 10,
                .clients = 1,
                .batch = 1000,
                .seconds = 5};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *num = !strcmp(k, "--nq")        ? &o->nq
                   : !strcmp(k, "--k")       ? &o->k
                   : !strcmp(k, "--clients") ? &o->clients
                   : !strcmp(k, "--batch")   ? &o->batch
                   : !strcmp(k, "--tag-mod") ? &o->tag_mod
                                             : NULL;
        const char **str = !strcmp(k, "--url")          ? &o->url
                           : !strcmp(k, "--collection") ? &o->collection
                           : !strcmp(k, "--query")      ? &o->query
                           : !strcmp(k, "--base")       ? &o->base
                           : !strcmp(k, "--gt")         ? &o->gt
                           : !strcmp(k, "--gt-dist")    ? &o->gt_dist
                           : !strcmp(k, "--params")     ? &o->params
                           : !strcmp(k, "--field")      ? &o->field
                           : !strcmp(k, "--filter")     ? &o->filter
                           : !strcmp(k, "--allow")      ? &o->allow
                                                        : NULL;
        if (!strcmp(k, "-h") || !strcmp(k, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(k, "--load") || !strcmp(k, "--lossy")) {
            if (!strcmp(k, "--load"))
                o->load = true;
            else
                o->lossy = true;
            continue;
        }
        if (!v)
            goto bad;
        if (num && (*num = atoi(v)) <= 0)
            goto bad;
        if (str)
            *str = v;
        if (!strcmp(k, "--seconds") && (o->seconds = atof(v)) <= 0)
            goto bad;
        if (!num && !str && strcmp(k, "--seconds") != 0)
            goto bad;
        i++;
        continue;
    bad:
        fprintf(stderr, "search_client: bad or missing value for %s\n", k);
        usage(stderr);
        return -1;
    }
    if (!o->collection || (o->load ? !o->base : !o->query) || (!o->load && o->gt && !o->base) ||
        (o->allow && !o->gt)) {
        usage(stderr);
        return -1;
    }
    return 0;
}

/* ---- text ---------------------------------------------------------------------------- */

static bool text_vec(bench_text *t, const float *x, size_t d)
{
    char num[32];
    bool ok = bench_text_put(t, "[", 1);
    for (size_t j = 0; ok && j < d; j++) {
        int n = snprintf(num, sizeof num, j ? ",%.9g" : "%.9g", (double)x[j]);
        ok = bench_text_put(t, num, (size_t)n);
    }
    return ok && bench_text_put(t, "]", 1);
}

/* s as a JSON string body (quotes, backslashes and control bytes escaped). */
static bool text_json_str(bench_text *t, const char *s)
{
    char esc[8];
    bool ok = true;

    for (; ok && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            ok = bench_text_put(t, "\\", 1) && bench_text_put(t, s, 1);
        else if (c < 0x20)
            ok = bench_text_put(t, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", c));
        else
            ok = bench_text_put(t, s, 1);
    }
    return ok;
}

static size_t on_reply(char *p, size_t size, size_t n, void *ctx)
{
    bench_text *t = ctx;
    return bench_text_put(t, p, size * n) ? size * n : 0;
}

static bool reply_ok(const char *s)
{
    const char *p = s ? strstr(s, "\"code\":") : NULL;
    if (!p)
        return false;
    p += 7;
    while (*p == ' ')
        p++;
    return p[0] == '0' && (p[1] == ',' || p[1] == '}' || p[1] == ' ');
}

static CURL *easy_new(const opts *o, const char *path, struct curl_slist *hdrs, bench_text *reply)
{
    char url[1024];
    CURL *e = curl_easy_init();

    if (!e)
        return NULL;
    snprintf(url, sizeof url, "%s%s", o->url, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_reply);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 600000L);
    return e;
}

/* ---- load ---------------------------------------------------------------------------- */

static int load(const opts *o, struct curl_slist *hdrs)
{
    bench_vecs base;
    bench_text *bodies = NULL, reply = {0};
    size_t nb = 0, bytes = 0;
    CURL *e = NULL;
    uint64_t t0;
    double enc_s, send_s;
    int rc = 1;

    if (bench_vecs_read(o->base, 0, &base) != 0)
        return 1;
    t0 = bench_now_ns();
    nb = (base.n + (size_t)o->batch - 1) / (size_t)o->batch;
    if (!(bodies = calloc(nb ? nb : 1, sizeof *bodies)))
        goto oom;
    for (size_t b = 0; b < nb; b++) {
        bench_text *t = &bodies[b];
        char num[64];
        bool ok = bench_text_str(t, "{\"collectionName\":\"") && bench_text_str(t, o->collection) &&
                  bench_text_str(t, "\",\"data\":[");
        for (size_t r = b * (size_t)o->batch; ok && r < base.n && r < (b + 1) * (size_t)o->batch;
             r++) {
            snprintf(num, sizeof num, "%s{\"id\":%zu,\"", r % (size_t)o->batch ? "," : "", r);
            ok = bench_text_str(t, num);
            if (ok && o->tag_mod) {
                snprintf(num, sizeof num, "tag\":%zu,\"", r % (size_t)o->tag_mod);
                ok = bench_text_str(t, num);
            }
            ok = ok && bench_text_str(t, o->field) && bench_text_str(t, "\":") &&
                 text_vec(t, base.f + r * base.d, base.d) && bench_text_str(t, "}");
        }
        if (!ok || !bench_text_str(t, "]}"))
            goto oom;
        bytes += t->len;
    }
    enc_s = (double)(bench_now_ns() - t0) / 1e9;
    if (!(e = easy_new(o, "/v2/vectordb/entities/insert", hdrs, &reply)))
        goto done;
    t0 = bench_now_ns();
    for (size_t b = 0; b < nb; b++) {
        long status = 0;
        CURLcode cr;
        reply.len = 0;
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodies[b].len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, bodies[b].p);
        cr = curl_easy_perform(e);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        if (cr != CURLE_OK || status != 200 || !reply_ok(reply.p)) {
            fprintf(stderr, "search_client: insert batch %zu failed: curl=%s http=%ld %.300s\n", b,
                    curl_easy_strerror(cr), status, reply.p ? reply.p : "");
            goto done;
        }
    }
    send_s = (double)(bench_now_ns() - t0) / 1e9;
    printf("loaded %zu rows (%zu batches, %.1f MB of JSON, encoded in %.2f s) in %.2f s\n", base.n,
           nb, (double)bytes / 1e6, enc_s, send_s);
    printf("result: rows=%zu insert_s=%.3f rows_per_s=%.0f\n", base.n, send_s,
           (double)base.n / send_s);
    rc = 0;
    goto done;
oom:
    fprintf(stderr, "search_client: out of memory encoding %s\n", o->base);
done:
    curl_easy_cleanup(e);
    for (size_t b = 0; bodies && b < nb; b++)
        free(bodies[b].p);
    free(bodies);
    free(reply.p);
    bench_vecs_free(&base);
    return rc;
}

/* ---- search -------------------------------------------------------------------------- */

static int encode_bodies(run *r, const bench_vecs *q)
{
    const opts *o = r->o;
    char num[128];

    r->nbodies = q->n / (size_t)o->nq;
    if (!r->nbodies || !(r->bodies = calloc(r->nbodies, sizeof *r->bodies)) ||
        !(r->scored = calloc(r->nbodies, sizeof *r->scored)))
        return -1;
    for (size_t b = 0; b < r->nbodies; b++) {
        bench_text *t = &r->bodies[b];
        bool ok = bench_text_str(t, "{\"collectionName\":\"") && bench_text_str(t, o->collection) &&
                  bench_text_str(t, "\",\"annsField\":\"") && bench_text_str(t, o->field) &&
                  bench_text_str(t, "\",\"data\":[");
        for (int i = 0; ok && i < o->nq; i++)
            ok = (!i || bench_text_put(t, ",", 1)) &&
                 text_vec(t, q->f + (b * (size_t)o->nq + (size_t)i) * q->d, q->d);
        snprintf(num, sizeof num, "],\"limit\":%d,\"searchParams\":", o->k);
        if (!ok || !bench_text_str(t, num) || !bench_text_str(t, o->params))
            return -1;
        if (o->filter && (!bench_text_str(t, ",\"filter\":\"") || !text_json_str(t, o->filter) ||
                          !bench_text_str(t, "\"")))
            return -1;
        if (!bench_text_str(t, "}"))
            return -1;
    }
    return 0;
}

/* Check the first answer to body b: ids and distances in the flat "data" list, split
 * by "topks". A reply that cannot be parsed counts as missing results. */
static void score(run *r, size_t b, const char *s)
{
    const bench_truth *t = r->truth;
    size_t nq = (size_t)r->o->nq, k = (size_t)r->o->k, at = 0;
    const char *p = strstr(s, "\"data\":["), *end = strstr(s, "\"topks\":[");
    int64_t ids[1024];
    double dist[1024];
    size_t n = 0;

    r->scored[b] = true;
    r->scored_queries += nq;
    while (p && end && n < sizeof ids / sizeof ids[0]) {
        const char *id = strstr(p, "\"id\":"), *di = id ? strstr(id, "\"distance\":") : NULL;
        if (!di || di > end)
            break;
        ids[n] = strtoll(id + 5, NULL, 10);
        dist[n++] = strtod(di + 11, NULL);
        p = di + 11;
    }
    p = end ? end + 9 : NULL;
    for (size_t q = 0; p && q < nq; q++) {
        char *next;
        long cnt = strtol(p, &next, 10);
        size_t qi = b * nq + q;
        if (next == p || cnt < 0 || at + (size_t)cnt > n)
            break;
        r->short_lists += (size_t)cnt < k;
        r->hits += bench_recall_hits(t, qi, ids + at, (size_t)cnt);
        for (size_t i = at; i < at + (size_t)cnt; i++) {
            for (size_t j = at; j < i; j++)
                r->dups += ids[j] == ids[i];
            r->filter_bad += t->allow && !bench_truth_allowed(t, ids[i]);
            if (!r->o->lossy && ids[i] >= 0 && (size_t)ids[i] < t->base->n) {
                double exact = bench_l2sq(t, qi, (size_t)ids[i]);
                double rel = fabs(dist[i] - exact) / (exact > 1 ? exact : 1);
                r->dist_bad += rel > 1e-3;
                r->dist_max_rel = rel > r->dist_max_rel ? rel : r->dist_max_rel;
            }
        }
        at += (size_t)cnt;
        p = next + (*next == ',');
    }
}

static int client_arm(run *r, CURLM *multi, client *c)
{
    bench_text *b;

    c->body = r->next_body;
    r->next_body = (r->next_body + 1) % r->nbodies;
    b = &r->bodies[c->body];
    c->reply.len = 0;
    if (c->reply.p)
        c->reply.p[0] = '\0';
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, b->p);
    c->start_ns = bench_now_ns();
    return curl_multi_add_handle(multi, c->easy) == CURLM_OK ? 0 : -1;
}

static void client_done(run *r, client *c, CURLcode res)
{
    long status = 0;
    double ms = (double)(bench_now_ns() - c->start_ns) / 1e6;

    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    if (res != CURLE_OK || status != 200 || !reply_ok(c->reply.p)) {
        r->failed++;
        if (!r->first_error[0])
            snprintf(r->first_error, sizeof r->first_error, "curl=%s http=%ld reply=%.180s",
                     curl_easy_strerror(res), status, c->reply.p ? c->reply.p : "");
        return;
    }
    r->ok++;
    if (r->nlat == r->lat_cap) {
        size_t cap = r->lat_cap ? r->lat_cap * 2 : 4096;
        double *p = realloc(r->lat_ms, cap * sizeof *p);
        if (p) {
            r->lat_ms = p;
            r->lat_cap = cap;
        }
    }
    if (r->nlat < r->lat_cap)
        r->lat_ms[r->nlat++] = ms;
    if (r->truth && !r->scored[c->body])
        score(r, c->body, c->reply.p);
}

static int send_loop(run *r, CURLM *multi)
{
    int running = 0, inflight = 0;

    for (int i = 0; i < r->o->clients; i++, inflight++)
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
            if (bench_now_ns() < r->deadline_ns) {
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

static void report(run *r, double wall_s, double cpu_s)
{
    const opts *o = r->o;
    double qps = (double)r->ok * o->nq / wall_s, pmax = 0, p50, p99;
    double recall = r->scored_queries ? (double)r->hits / (double)(r->scored_queries * o->k) : -1;

    p50 = bench_percentile(r->lat_ms, r->nlat, 50);
    p99 = bench_percentile(r->lat_ms, r->nlat, 99);
    pmax = r->nlat ? r->lat_ms[r->nlat - 1] : 0;
    printf("nq=%d clients=%d params=%s: %lld ok, %lld failed requests in %.2f s\n", o->nq,
           o->clients, o->params, r->ok, r->failed, wall_s);
    printf("  %.1f queries/s, latency ms p50 %.3f p99 %.3f max %.3f, client CPU %.2f s (%.0f%%)\n",
           qps, p50, p99, pmax, cpu_s, 100 * cpu_s / wall_s);
    if (r->truth)
        printf("  recall@%d %.4f over %zu queries; distance mismatches %zu (max rel %.2g), "
               "duplicate ids %zu, short lists %zu, rows outside the filter %zu\n",
               o->k, recall, r->scored_queries, r->dist_bad, r->dist_max_rel, r->dups,
               r->short_lists, r->filter_bad);
    if (r->first_error[0])
        printf("  first error: %s\n", r->first_error);
    printf("result: nq=%d clients=%d ok=%lld failed=%lld seconds=%.3f qps=%.1f p50_ms=%.3f "
           "p99_ms=%.3f max_ms=%.3f recall=%.4f scored=%zu dist_bad=%zu dups=%zu short=%zu "
           "cpu_s=%.3f filter_bad=%zu\n",
           o->nq, o->clients, r->ok, r->failed, wall_s, qps, p50, p99, pmax, recall,
           r->scored_queries, r->dist_bad, r->dups, r->short_lists, cpu_s, r->filter_bad);
}

static int search(const opts *o, struct curl_slist *hdrs)
{
    bench_vecs query = {0}, base = {0}, gt = {0}, gtd = {0}, allow = {0};
    bench_truth truth = {0};
    run r = {.o = o};
    CURLM *multi = NULL;
    uint64_t t0;
    double cpu0;
    int rc = 1;

    if (bench_vecs_read(o->query, 0, &query) != 0)
        return 1;
    if (o->gt &&
        (bench_vecs_read(o->base, 0, &base) || bench_vecs_read(o->gt, 1, &gt) ||
         (o->gt_dist && bench_vecs_read(o->gt_dist, 0, &gtd)) ||
         bench_truth_init(&truth, &base, &query, &gt, o->gt_dist ? &gtd : NULL, (size_t)o->k) ||
         (o->allow &&
          (bench_vecs_read(o->allow, 1, &allow) || bench_truth_set_allow(&truth, &allow)))))
        goto done;
    r.truth = o->gt ? &truth : NULL;
    if (o->nq * o->k > 1024 || encode_bodies(&r, &query) != 0 ||
        !(r.clients = calloc((size_t)o->clients, sizeof *r.clients)) ||
        !(multi = curl_multi_init())) {
        fprintf(stderr, "search_client: setup failed (nq x k must be <= 1024, nq <= queries)\n");
        goto done;
    }
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o->clients);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)o->clients);
    for (int i = 0; i < o->clients; i++) {
        client *c = &r.clients[i];
        if (!(c->easy = easy_new(o, "/v2/vectordb/entities/search", hdrs, &c->reply)))
            goto done;
        curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    }
    cpu0 = bench_cpu_seconds();
    t0 = bench_now_ns();
    r.deadline_ns = t0 + (uint64_t)(o->seconds * 1e9);
    if (send_loop(&r, multi) != 0) {
        fprintf(stderr, "search_client: libcurl multi failed\n");
        goto done;
    }
    report(&r, (double)(bench_now_ns() - t0) / 1e9, bench_cpu_seconds() - cpu0);
    rc = r.failed || r.dist_bad || r.dups || r.filter_bad ? 1 : 0;
done:
    for (int i = 0; r.clients && i < o->clients; i++) {
        curl_easy_cleanup(r.clients[i].easy);
        free(r.clients[i].reply.p);
    }
    curl_multi_cleanup(multi);
    for (size_t b = 0; r.bodies && b < r.nbodies; b++)
        free(r.bodies[b].p);
    free(r.bodies);
    free(r.scored);
    free(r.clients);
    free(r.lat_ms);
    bench_truth_fini(&truth);
    bench_vecs_free(&query);
    bench_vecs_free(&base);
    bench_vecs_free(&gt);
    bench_vecs_free(&gtd);
    bench_vecs_free(&allow);
    return rc;
}

int main(int argc, char **argv)
{
    opts o;
    struct curl_slist *hdrs = NULL;
    int rc;

    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    rc = !hdrs ? 1 : o.load ? load(&o, hdrs) : search(&o, hdrs);
    curl_slist_free_all(hdrs);
    curl_global_cleanup();
    return rc;
}
