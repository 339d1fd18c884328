/* SPDX-License-Identifier: Apache-2.0 */
/* test_sparse.c - sparse vectors and their indexes: the exact scores (inner product,
 * BM25, drop_ratio), SPARSE_INVERTED_INDEX and SPARSE_WAND (block-max WAND) against brute
 * force on generated data (with and without an allow bitmap, incremental adds,
 * serialization round trips); BIN_IVF_FLAT through the same qv_index API; the standard
 * analyzer (lowercase, Unicode word splitting, stop words, bad params). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/analyzer.h"
#include "quiver/index.h"
#include "quiver/sparse.h"
#include "testutil.h"

#define NDOCS 3000
#define VOCAB 400

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint32_t rnd32(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}

/* A corpus with Zipf-like term frequencies (common terms in long posting lists, so WAND
 * has something to skip) and values that are integer counts (BM25) or reals (IP). */
typedef struct corpus {
    qv_sparse_vec *docs;
    uint32_t *idx;
    float *val;
} corpus;

static void make_corpus(corpus *c, size_t n, bool counts)
{
    size_t cap = n * 40, at = 0;
    c->docs = qv_calloc(n, sizeof *c->docs);
    c->idx = qv_malloc(cap * sizeof *c->idx);
    c->val = qv_malloc(cap * sizeof *c->val);
    ck_assert(c->docs && c->idx && c->val);
    for (size_t d = 0; d < n; d++) {
        size_t nnz = 1 + rnd32() % 30, m = 0;
        uint32_t *ix = c->idx + at;
        for (size_t j = 0; j < nnz; j++) {
            uint32_t t = (uint32_t)((double)VOCAB * pow((rnd32() % 10000) / 10000.0, 2.5));
            bool dup = false;
            for (size_t k = 0; k < m; k++)
                dup |= ix[k] == t;
            if (!dup)
                ix[m++] = t;
        }
        for (size_t a = 1; a < m; a++) /* sort the indices */
            for (size_t b = a; b > 0 && ix[b - 1] > ix[b]; b--) {
                uint32_t t = ix[b];
                ix[b] = ix[b - 1];
                ix[b - 1] = t;
            }
        for (size_t j = 0; j < m; j++)
            c->val[at + j] = counts ? (float)(1 + rnd32() % 5) : (float)(rnd32() % 1000) / 100.0f;
        c->docs[d] = (qv_sparse_vec){c->idx + at, c->val + at, m};
        at += m;
    }
}

static void free_corpus(corpus *c)
{
    qv_free(c->docs);
    qv_free(c->idx);
    qv_free(c->val);
}

static bool allowed(const uint64_t *allow, size_t d)
{
    return !allow || (allow[d / 64] >> (d % 64) & 1);
}

/* Brute force: score of every document sharing a term, best k (ties by id). */
static size_t brute(const corpus *c, size_t n, qv_sparse_vec q, const qv_bm25_params *bm25,
                    const uint64_t *allow, size_t k, float *score, int64_t *ids)
{
    size_t found = 0;
    for (size_t d = 0; d < n; d++) {
        bool shared;
        float s = bm25 ? qv_sparse_bm25(q, c->docs[d], bm25, &shared)
                       : qv_sparse_dot(q, c->docs[d], &shared);
        size_t i;
        if (!shared || !allowed(allow, d))
            continue;
        if (found == k && !(s > score[k - 1]))
            continue;
        i = found < k ? found++ : k - 1;
        while (i > 0 && s > score[i - 1]) {
            score[i] = score[i - 1];
            ids[i] = ids[i - 1];
            i--;
        }
        score[i] = s;
        ids[i] = (int64_t)d;
    }
    return found;
}

static void check_index(qv_index_kind kind, bool bm25, bool filtered)
{
    corpus c;
    qv_index_spec spec = {.kind = kind, .bm25 = bm25, .bm25_k1 = 1.2f, .bm25_b = 0.75f};
    qv_index *ix = NULL, *copy = NULL;
    qv_bm25_params p = {1.2f, 0.75f, 0};
    uint64_t allow[(NDOCS + 63) / 64];
    qv_buf b;
    qv_error err;
    double tokens = 0;

    make_corpus(&c, NDOCS, bm25);
    for (size_t w = 0; w < sizeof allow / sizeof *allow; w++)
        allow[w] = filtered ? ((uint64_t)rnd32() << 32 | rnd32()) : ~0ull;
    /* built in two steps: the builder adds a growing segment's tail later */
    ck_assert_int_eq(qv_index_build(&spec, c.docs, NDOCS / 2, &ix, &err), QV_OK);
    ck_assert_int_eq(qv_index_add(ix, c.docs + NDOCS / 2, NDOCS - NDOCS / 2, &err), QV_OK);
    ck_assert_uint_eq(qv_index_rows(ix), NDOCS);
    qv_buf_init(&b);
    ck_assert_int_eq(qv_index_serialize(ix, &b, &err), QV_OK);
    ck_assert_int_eq(qv_index_deserialize(b.data, b.len, &copy, &err), QV_OK);
    qv_buf_fini(&b);
    for (size_t d = 0; d < NDOCS; d++)
        tokens += qv_sparse_sum(c.docs[d]);
    p.avgdl = (float)(tokens / NDOCS);
    for (int qi = 0; qi < 40; qi++) {
        const qv_sparse_vec *q = &c.docs[rnd32() % NDOCS];
        float want_s[10], got_s[2][10];
        int64_t want_i[10], got_i[2][10];
        size_t k = qi % 2 ? 10 : 1 + (size_t)qi % 7;
        size_t found = brute(&c, NDOCS, *q, bm25 ? &p : NULL, filtered ? allow : NULL, k,
                             want_s, want_i);
        qv_index_query iq = {.squeries = q, .bm25 = &p, .nq = 1, .k = k,
                             .allow = filtered ? allow : NULL};
        ck_assert_int_eq(qv_index_search(ix, &iq, got_s[0], got_i[0], &err), QV_OK);
        ck_assert_int_eq(qv_index_search(copy, &iq, got_s[1], got_i[1], &err), QV_OK);
        for (int v = 0; v < 2; v++) {
            for (size_t i = 0; i < k; i++) {
                if (i >= found) {
                    ck_assert_int_eq(got_i[v][i], -1);
                    continue;
                }
                ck_assert_msg(got_i[v][i] == want_i[i] &&
                                  fabsf(got_s[v][i] - want_s[i]) <= 1e-4f * fabsf(want_s[i]),
                              "kind %d bm25 %d filtered %d q %d rank %zu: got %lld %g want "
                              "%lld %g",
                              (int)kind, bm25, filtered, qi, i, (long long)got_i[v][i],
                              got_s[v][i], (long long)want_i[i], want_s[i]);
            }
        }
    }
    qv_index_free(ix);
    qv_index_free(copy);
    free_corpus(&c);
}

START_TEST(test_inverted_ip) { check_index(QV_INDEX_SPARSE_INVERTED, false, _i); }
END_TEST
START_TEST(test_wand_ip) { check_index(QV_INDEX_SPARSE_WAND, false, _i); }
END_TEST
START_TEST(test_inverted_bm25) { check_index(QV_INDEX_SPARSE_INVERTED, true, _i); }
END_TEST
START_TEST(test_wand_bm25) { check_index(QV_INDEX_SPARSE_WAND, true, _i); }
END_TEST

START_TEST(test_scores_and_drop_ratio)
{
    uint32_t ai[] = {1, 5, 9}, bi[] = {2, 5, 9, 100};
    float av[] = {1, 2, 3}, bv[] = {7, 0.5f, 2, 1};
    qv_sparse_vec a = {ai, av, 3}, b = {bi, bv, 4}, none = {bi, bv, 1};
    uint32_t oi[4];
    float ov[4];
    bool shared;
    qv_bm25_params p = {1.2f, 0.75f, 4};

    ck_assert(fabsf(qv_sparse_dot(a, b, &shared) - 7.0f) < 1e-6f && shared);
    qv_sparse_dot(a, none, &shared);
    ck_assert(!shared);
    /* BM25 of doc b (length 10.5) for query a: terms 5 and 9 */
    float want = 2 * qv_bm25_tf(&p, 0.5f, 10.5f) + 3 * qv_bm25_tf(&p, 2, 10.5f);
    ck_assert(fabsf(qv_sparse_bm25(a, b, &p, &shared) - want) < 1e-5f);
    ck_assert(fabsf(qv_bm25_idf(10, 2) - (float)log(1 + 8.5 / 2.5)) < 1e-6f);
    /* drop_ratio 0.5 of 4 values: the two smallest magnitudes go, order kept */
    ck_assert_uint_eq(qv_sparse_drop_small(b, 0.5f, oi, ov), 2);
    ck_assert(oi[0] == 2 && ov[0] == 7 && oi[1] == 9 && ov[1] == 2);
    ck_assert_uint_eq(qv_sparse_drop_small(b, 0, oi, ov), 4);
    /* stored form checks */
    uint8_t raw[16];
    memcpy(raw, bi, 8);
    memcpy(raw + 8, bv, 8);
    ck_assert(qv_sparse_row_valid(raw, 16));
    ck_assert(!qv_sparse_row_valid(raw, 12));
    memcpy(raw, (uint32_t[]){5, 2}, 8); /* not ascending */
    ck_assert(!qv_sparse_row_valid(raw, 16));
}
END_TEST

START_TEST(test_binary_ivf)
{
    enum { N = 1200, BYTES = 8 };
    uint8_t *x = qv_malloc(N * BYTES);
    qv_index_spec spec = {.kind = QV_INDEX_BIN_IVF_FLAT, .dim = BYTES * 8, .nlist = 8,
                          .jaccard = false};
    qv_index *ix = NULL, *copy = NULL;
    float d[5];
    int64_t ids[5];
    qv_error err;

    for (size_t i = 0; i < N * BYTES; i++)
        x[i] = (uint8_t)rnd32();
    ck_assert_int_eq(qv_index_build(&spec, x, N, &ix, &err), QV_OK);
    ck_assert_ptr_nonnull(ix);
    ck_assert_int_eq(qv_index_clone(ix, &copy, &err), QV_OK);
    /* a stored vector finds itself at distance 0 when all lists are probed */
    qv_index_query q = {.bqueries = x + 77 * BYTES, .nq = 1, .k = 5, .nprobe = 8};
    ck_assert_int_eq(qv_index_search(copy, &q, d, ids, &err), QV_OK);
    ck_assert(d[0] == 0 && ids[0] == 77);
    for (int i = 1; i < 5; i++)
        ck_assert(d[i] >= d[i - 1]);
    /* a filter keeps row 77 out */
    uint64_t allow[(N + 63) / 64];
    memset(allow, 0xff, sizeof allow);
    allow[77 / 64] &= ~(1ull << (77 % 64));
    q.allow = allow;
    ck_assert_int_eq(qv_index_search(ix, &q, d, ids, &err), QV_OK);
    for (int i = 0; i < 5; i++)
        ck_assert(ids[i] != 77);
    /* too few rows to train: no index (searched exactly) */
    qv_index_free(copy);
    ck_assert_int_eq(qv_index_build(&spec, x, 10, &copy, &err), QV_OK);
    ck_assert_ptr_null(copy);
    qv_index_free(ix);
    qv_free(x);
}
END_TEST

typedef struct toks {
    char buf[512];
    size_t n;
} toks;

static bool join(void *ctx, const char *t, size_t n)
{
    toks *x = ctx;
    if (x->n)
        x->buf[x->n++] = '|';
    memcpy(x->buf + x->n, t, n);
    x->n += n;
    x->buf[x->n] = 0;
    return true;
}

static const char *run(const char *params, const char *text)
{
    static toks x;
    qv_analyzer *a;
    qv_error err;

    x.n = 0;
    x.buf[0] = 0;
    ck_assert_int_eq(qv_analyzer_new(params, &a, &err), QV_OK);
    qv_analyzer_run(a, text, strlen(text), join, &x);
    qv_analyzer_free(a);
    return x.buf;
}

START_TEST(test_analyzer)
{
    qv_analyzer *a;
    qv_term_freqs tf;
    qv_error err;

    ck_assert_str_eq(run(NULL, "The Milvus vector-database, built for SCALE!"),
                     "the|milvus|vector|database|built|for|scale");
    ck_assert_str_eq(run("{\"type\":\"standard\"}", "Grüße aus Köln; ΣΟΦΙΑ 東京 x2y"),
                     "grüße|aus|köln|σοφια|東京|x2y");
    ck_assert_str_eq(run("{\"type\":\"standard\",\"stop_words\":[\"of\",\"_english_\"]}",
                         "The art of the deal is a book"),
                     "art|deal|book");
    ck_assert_str_eq(run("{\"tokenizer\":\"whitespace\"}", "Keep CASE, punct."),
                     "Keep|CASE,|punct.");
    ck_assert_str_eq(run("{\"tokenizer\":\"standard\",\"filter\":[\"lowercase\",{\"type\":"
                         "\"stop\",\"stop_words\":[\"b\"]}]}",
                         "A b C"),
                     "a|c");
    ck_assert_str_eq(run(NULL, "bad\xff\xfeutf8"), "bad|utf8");
    ck_assert_int_eq(qv_analyzer_new("{\"type\":\"chinese\"}", &a, &err), QV_EINVAL);
    ck_assert(strstr(err.msg, "chinese"));
    ck_assert_int_eq(qv_analyzer_new("{\"tokenizer\":\"jieba\"}", &a, &err), QV_EINVAL);
    ck_assert_int_eq(qv_analyzer_new("{\"type\":\"standard\",\"stop_words\":\"x\"}", &a, &err),
                     QV_EINVAL);
    ck_assert_int_eq(qv_analyzer_new("{bad", &a, &err), QV_EINVAL);
    ck_assert_int_eq(qv_analyzer_new(NULL, &a, &err), QV_OK);
    ck_assert_int_eq(qv_analyzer_term_freqs(a, "b a b c b", 9, &tf), QV_OK);
    ck_assert_uint_eq(tf.n, 3);
    ck_assert_uint_eq(tf.tokens, 5);
    for (size_t i = 0; i < tf.n; i++) {
        if (i)
            ck_assert_uint_lt(tf.ids[i - 1], tf.ids[i]);
        if (tf.ids[i] == qv_analyzer_term_id("b", 1))
            ck_assert(tf.counts[i] == 3);
    }
    qv_term_freqs_fini(&tf);
    qv_analyzer_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sparse");
    TCase *tc = tcase_create("sparse");

    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_inverted_ip, 0, 2);
    tcase_add_loop_test(tc, test_wand_ip, 0, 2);
    tcase_add_loop_test(tc, test_inverted_bm25, 0, 2);
    tcase_add_loop_test(tc, test_wand_bm25, 0, 2);
    tcase_add_test(tc, test_scores_and_drop_ratio);
    tcase_add_test(tc, test_binary_ivf);
    tcase_add_test(tc, test_analyzer);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
