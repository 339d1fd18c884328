/* SPDX-License-Identifier: Apache-2.0 */
/* test_faiss_capi.c - the FAISS C API shim and the qv_faiss_* extras: Flat,
 * HNSW and IVF built through faiss_index_factory, answers checked against
 * brute force (qv_distance_knn_flat); range search; errors from C++
 * exceptions; file and memory round trips; bitmap-filtered search; HNSW on
 * Quiver's kernels vs stock. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/clone_index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
/* FAISS 1.7.3's read_index leaks the partly read objects when it throws on
 * damaged input; that is FAISS's, not ours, so LSan ignores those calls. */
#define FAISS_LEAKS_BEGIN() __lsan_disable()
#define FAISS_LEAKS_END() __lsan_enable()
#else
#define FAISS_LEAKS_BEGIN() ((void)0)
#define FAISS_LEAKS_END() ((void)0)
#endif

#include "quiver/alloc.h"
#include "quiver/buf.h"
#include "quiver/distance.h"
#include "quiver/faiss_extra.h"
#include "testutil.h"

#define D 16
#define NB 2000
#define NQ 20
#define K 10

static float *xb, *xq;

static uint64_t rng_state;
static float rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (float)((rng_state * 2685821657736338717ull) >> 40) / (float)(1u << 24);
}

static void setup(void)
{
    rng_state = 0x2545F4914F6CDD1Dull;
    xb = qv_malloc(sizeof(float) * NB * D);
    xq = qv_malloc(sizeof(float) * NQ * D);
    ck_assert(xb && xq);
    for (int i = 0; i < NB * D; i++)
        xb[i] = rnd();
    for (int i = 0; i < NQ * D; i++)
        xq[i] = rnd();
    qv_faiss_init();
}

static void teardown(void)
{
    qv_free(xb);
    qv_free(xq);
}

/* Exact top-K for query q among rows allowed by `allow` (NULL: all). */
static void brute(int q, qv_distance_metric m, const uint64_t *allow, float *dist, int64_t *ids)
{
    qv_distance_knn a = {
        .query = xq + q * D, .base = xb, .n = NB, .d = D, .k = K, .metric = m, .allow = allow};
    ck_assert_int_eq(qv_distance_knn_flat(&a, dist, ids, NULL, NULL), QV_OK);
}

/* Fraction of the exact top-K found in labels (NQ queries). */
static double recall(const int64_t *labels, qv_distance_metric m, const uint64_t *allow)
{
    int hit = 0;
    for (int q = 0; q < NQ; q++) {
        float dist[K];
        int64_t ids[K];
        brute(q, m, allow, dist, ids);
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++)
                hit += labels[q * K + j] == ids[i];
    }
    return (double)hit / (NQ * K);
}

static FaissIndex *build(const char *desc, FaissMetricType m)
{
    FaissIndex *idx = NULL;
    ck_assert_int_eq(faiss_index_factory(&idx, D, desc, m), 0);
    ck_assert_ptr_nonnull(idx);
    if (!faiss_Index_is_trained(idx))
        ck_assert_int_eq(faiss_Index_train(idx, NB, xb), 0);
    ck_assert_int_eq(faiss_Index_add(idx, NB, xb), 0);
    ck_assert_int_eq(faiss_Index_ntotal(idx), NB);
    return idx;
}

START_TEST(test_flat_equals_brute_force)
{
    for (int mi = 0; mi < 2; mi++) {
        FaissMetricType fm = mi ? METRIC_INNER_PRODUCT : METRIC_L2;
        qv_distance_metric qm = mi ? QV_DISTANCE_IP : QV_DISTANCE_L2;
        FaissIndex *idx = build("Flat", fm);
        float dist[NQ * K], bd[K];
        int64_t labels[NQ * K], bi[K];

        ck_assert_int_eq(faiss_Index_d(idx), D);
        ck_assert_int_eq(faiss_Index_metric_type(idx), fm);
        ck_assert_ptr_nonnull(faiss_IndexFlat_cast(idx));
        ck_assert_ptr_null(faiss_IndexIVF_cast(idx));
        ck_assert_int_eq(faiss_Index_search(idx, NQ, xq, K, dist, labels), 0);
        for (int q = 0; q < NQ; q++) {
            brute(q, qm, NULL, bd, bi);
            for (int i = 0; i < K; i++) {
                ck_assert_int_eq(labels[q * K + i], bi[i]);
                ck_assert_float_eq_tol(dist[q * K + i], bd[i], 1e-4f);
            }
        }
        float *data;
        size_t nfloats;
        faiss_IndexFlat_xb(faiss_IndexFlat_cast(idx), &data, &nfloats);
        ck_assert_uint_eq(nfloats, (size_t)NB * D);
        ck_assert(memcmp(data, xb, sizeof(float) * NB * D) == 0);
        float rec[D];
        ck_assert_int_eq(faiss_Index_reconstruct(idx, 77, rec), 0);
        ck_assert(memcmp(rec, xb + 77 * D, sizeof rec) == 0);
        ck_assert_int_eq(faiss_Index_reset(idx), 0);
        ck_assert_int_eq(faiss_Index_ntotal(idx), 0);
        faiss_Index_free(idx);
    }
}
END_TEST

START_TEST(test_hnsw_recall)
{
    FaissIndex *idx = build("HNSW32", METRIC_L2);
    FaissParameterSpace *ps = NULL;
    qv_faiss_hnsw_info info;
    float dist[NQ * K];
    int64_t labels[NQ * K];

    ck_assert_int_eq(qv_faiss_hnsw_get_info(idx, &info, NULL), QV_OK);
    ck_assert_int_eq(info.M, 32);
    ck_assert(!info.simd_storage);
    ck_assert_int_eq(faiss_ParameterSpace_new(&ps), 0);
    ck_assert_int_eq(faiss_ParameterSpace_set_index_parameter(ps, idx, "efSearch", 128), 0);
    ck_assert_int_eq(qv_faiss_hnsw_get_info(idx, &info, NULL), QV_OK);
    ck_assert_int_eq(info.ef_search, 128);
    ck_assert_int_eq(faiss_Index_search(idx, NQ, xq, K, dist, labels), 0);
    ck_assert_double_ge(recall(labels, QV_DISTANCE_L2, NULL), 0.95);
    /* an unknown parameter is a FAISS exception turned into -2 */
    ck_assert_int_eq(faiss_ParameterSpace_set_index_parameter(ps, idx, "nosuch", 1), -2);
    ck_assert_ptr_nonnull(strstr(faiss_get_last_error(), "nosuch"));
    faiss_ParameterSpace_free(ps);
    faiss_Index_free(idx);
}
END_TEST

START_TEST(test_ivf_untrained_then_exact)
{
    FaissIndex *idx = NULL;
    float dist[NQ * K];
    int64_t labels[NQ * K];
    qv_error e;

    ck_assert_int_eq(faiss_index_factory(&idx, D, "IVF16,Flat", METRIC_L2), 0);
    ck_assert(!faiss_Index_is_trained(idx));
    /* exception path: adding to / searching an untrained IVF */
    ck_assert_int_eq(faiss_Index_add(idx, NB, xb), -2);
    ck_assert_ptr_nonnull(faiss_get_last_error());
    ck_assert_ptr_nonnull(strstr(faiss_get_last_error(), "is_trained"));
    ck_assert_int_eq(qv_faiss_check(-2, "ivf add", &e), QV_EINTERNAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "ivf add: "));
    ck_assert_ptr_null(strstr(e.msg, "Error in")); /* the C++ location prefix is stripped */
    /* FAISS 1.7.3 lets an untrained IVF search (an empty quantizer: no results) */
    ck_assert_int_eq(faiss_Index_search(idx, 1, xq, K, dist, labels), 0);
    ck_assert_int_eq(labels[0], -1);
    /* while an untrained PQ throws from search */
    FaissIndex *pq = NULL;
    ck_assert_int_eq(faiss_index_factory(&pq, D, "PQ4", METRIC_L2), 0);
    ck_assert_int_eq(faiss_Index_search(pq, 1, xq, K, dist, labels), -2);
    ck_assert_ptr_nonnull(strstr(faiss_get_last_error(), "is_trained"));
    faiss_Index_free(pq);

    ck_assert_int_eq(faiss_Index_train(idx, NB, xb), 0);
    ck_assert_int_eq(faiss_Index_add(idx, NB, xb), 0);
    FaissIndexIVF *ivf = faiss_IndexIVF_cast(idx);
    ck_assert_ptr_nonnull(ivf);
    ck_assert_uint_eq(faiss_IndexIVF_nlist(ivf), 16);
    size_t total = 0;
    for (size_t l = 0; l < 16; l++)
        total += faiss_IndexIVF_get_list_size(ivf, l);
    ck_assert_uint_eq(total, NB);
    faiss_IndexIVF_set_nprobe(ivf, 16); /* every list: exact */
    ck_assert_int_eq(faiss_Index_search(idx, NQ, xq, K, dist, labels), 0);
    ck_assert_double_ge(recall(labels, QV_DISTANCE_L2, NULL), 0.999);
    faiss_IndexIVF_set_nprobe(ivf, 1);
    ck_assert_int_eq(faiss_Index_search(idx, NQ, xq, K, dist, labels), 0);
    ck_assert_double_lt(recall(labels, QV_DISTANCE_L2, NULL), 0.999);
    faiss_Index_free(idx);
}
END_TEST

START_TEST(test_range_search)
{
    FaissIndex *idx = build("Flat", METRIC_L2);
    FaissRangeSearchResult *res = NULL;
    size_t *lims;
    int64_t *labels;
    float *dist, bd[K];
    int64_t bi[K];

    /* radius just above the 5th neighbour of query 0: exactly 5 hits */
    brute(0, QV_DISTANCE_L2, NULL, bd, bi);
    float radius = (bd[4] + bd[5]) / 2;
    ck_assert_int_eq(faiss_RangeSearchResult_new(&res, 1), 0);
    ck_assert_int_eq(faiss_Index_range_search(idx, 1, xq, radius, res), 0);
    ck_assert_uint_eq(faiss_RangeSearchResult_nq(res), 1);
    faiss_RangeSearchResult_lims(res, &lims);
    faiss_RangeSearchResult_labels(res, &labels, &dist);
    ck_assert_uint_eq(lims[1] - lims[0], 5);
    for (size_t i = lims[0]; i < lims[1]; i++) {
        int found = 0;
        for (int j = 0; j < 5; j++)
            found |= labels[i] == bi[j];
        ck_assert(found);
        ck_assert(dist[i] < radius);
    }
    faiss_RangeSearchResult_free(res);
    /* HNSW has no range search: an error, not a crash */
    FaissIndex *h = build("HNSW16", METRIC_L2);
    ck_assert_int_eq(faiss_RangeSearchResult_new(&res, 1), 0);
    ck_assert_int_ne(faiss_Index_range_search(h, 1, xq, radius, res), 0);
    ck_assert_ptr_nonnull(faiss_get_last_error());
    faiss_RangeSearchResult_free(res);
    faiss_Index_free(h);
    faiss_Index_free(idx);
}
END_TEST

START_TEST(test_errors_carry_messages)
{
    FaissIndex *idx = NULL;
    qv_error e;

    ck_assert_int_eq(faiss_index_factory(&idx, D, "NoSuchIndex42", METRIC_L2), -2);
    ck_assert_ptr_nonnull(strstr(faiss_get_last_error(), "NoSuchIndex42"));
    ck_assert_int_eq(faiss_read_index_fname("/nonexistent/q.faiss", 0, &idx), -2);
    ck_assert_int_eq(qv_faiss_check(-2, "read", &e), QV_EINTERNAL);
    ck_assert_int_eq(qv_faiss_check(0, "read", &e), QV_OK);
    /* HNSW does not support add_with_ids */
    idx = build("HNSW16", METRIC_L2);
    int64_t id = 5;
    ck_assert_int_eq(faiss_Index_add_with_ids(idx, 1, xb, &id), -2);
    faiss_Index_free(idx);
}
END_TEST

START_TEST(test_idmap_remove_and_reconstruct)
{
    FaissIndex *idx = NULL;
    FaissIDSelectorRange *range = NULL;
    FaissIDSelectorBatch *batch = NULL;
    int64_t *ids = qv_malloc(sizeof(int64_t) * NB), *map, labels[K];
    size_t nmap, removed = 0;
    float dist[K];

    for (int i = 0; i < NB; i++)
        ids[i] = 100000 + 3 * i;
    ck_assert_int_eq(faiss_index_factory(&idx, D, "IDMap2,Flat", METRIC_L2), 0);
    ck_assert_int_eq(faiss_Index_add_with_ids(idx, NB, xb, ids), 0);
    faiss_IndexIDMap2_id_map(faiss_IndexIDMap2_cast(idx), &map, &nmap);
    ck_assert_uint_eq(nmap, NB);
    ck_assert_int_eq(map[7], 100021);
    ck_assert_int_eq(faiss_Index_search(idx, 1, xb + 7 * D, K, dist, labels), 0);
    ck_assert_int_eq(labels[0], 100021);
    ck_assert_int_eq(faiss_IDSelectorRange_new(&range, 100000, 100030), 0); /* 10 ids */
    ck_assert_int_eq(faiss_Index_remove_ids(idx, (FaissIDSelector *)range, &removed), 0);
    ck_assert_uint_eq(removed, 10);
    ck_assert_int_eq(faiss_IDSelectorBatch_new(&batch, 2, (int64_t[]){100030, 100033}), 0);
    ck_assert(faiss_IDSelector_is_member((FaissIDSelector *)batch, 100033));
    ck_assert(!faiss_IDSelector_is_member((FaissIDSelector *)batch, 100036));
    ck_assert_int_eq(faiss_Index_remove_ids(idx, (FaissIDSelector *)batch, &removed), 0);
    ck_assert_uint_eq(removed, 2);
    ck_assert_int_eq(faiss_Index_ntotal(idx), NB - 12);
    ck_assert_int_eq(faiss_IndexIDMap2_construct_rev_map(faiss_IndexIDMap2_cast(idx)), 0);
    float rec[D];
    ck_assert_int_eq(faiss_Index_reconstruct(idx, 100000 + 3 * 50, rec), 0);
    ck_assert(memcmp(rec, xb + 50 * D, sizeof rec) == 0);
    ck_assert_int_ne(faiss_Index_reconstruct(idx, 100000, rec), 0); /* removed */
    faiss_IDSelector_free((FaissIDSelector *)range);
    faiss_IDSelector_free((FaissIDSelector *)batch);
    faiss_Index_free(idx);
    qv_free(ids);
}
END_TEST

/* Search results of a and b agree (labels, and distances to rounding). */
static void assert_same_results(FaissIndex *a, FaissIndex *b, double min_overlap)
{
    float da[NQ * K], db[NQ * K];
    int64_t la[NQ * K], lb[NQ * K];
    int same = 0;

    ck_assert_int_eq(faiss_Index_search(a, NQ, xq, K, da, la), 0);
    ck_assert_int_eq(faiss_Index_search(b, NQ, xq, K, db, lb), 0);
    for (int i = 0; i < NQ * K; i++) {
        same += la[i] == lb[i];
        if (la[i] == lb[i])
            ck_assert_float_eq_tol(da[i], db[i], 1e-4f);
    }
    ck_assert_msg(same >= min_overlap * NQ * K, "only %d of %d results agree", same, NQ * K);
}

START_TEST(test_serialize_round_trips)
{
    static const char *descs[] = {"Flat", "HNSW16", "IVF16,Flat", "IDMap,HNSW16"};
    char dir[256], path[300];

    test_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/i.faiss", dir);
    for (size_t di = 0; di < sizeof descs / sizeof descs[0]; di++) {
        FaissIndex *idx = NULL, *back = NULL, *file = NULL;
        qv_buf b;
        qv_error e;

        ck_assert_int_eq(faiss_index_factory(&idx, D, descs[di], METRIC_L2), 0);
        if (!faiss_Index_is_trained(idx))
            ck_assert_int_eq(faiss_Index_train(idx, NB, xb), 0);
        if (faiss_IndexIDMap_cast(idx)) {
            int64_t *ids = qv_malloc(sizeof(int64_t) * NB);
            for (int i = 0; i < NB; i++)
                ids[i] = 7 * i + 1;
            ck_assert_int_eq(faiss_Index_add_with_ids(idx, NB, xb, ids), 0);
            qv_free(ids);
        } else {
            ck_assert_int_eq(faiss_Index_add(idx, NB, xb), 0);
        }
        qv_buf_init(&b);
        qv_buf_put_u32(&b, 0xABCD); /* serialize appends after existing bytes */
        ck_assert_int_eq(qv_faiss_serialize(idx, &b, &e), QV_OK);
        ck_assert_uint_gt(b.len, (size_t)NB * D * 4);
        ck_assert_int_eq(qv_faiss_deserialize(b.data + 4, b.len - 4, 0, &back, &e), QV_OK);
        ck_assert_int_eq(faiss_Index_ntotal(back), NB);
        assert_same_results(idx, back, 1.0);
        /* damage: truncated, trailing garbage, flipped magic */
        FaissIndex *bad = NULL;
        FAISS_LEAKS_BEGIN();
        ck_assert_int_eq(qv_faiss_deserialize(b.data + 4, b.len - 40, 0, &bad, &e), QV_ECORRUPT);
        ck_assert_ptr_null(bad);
        qv_buf_put_u8(&b, 0);
        ck_assert_int_eq(qv_faiss_deserialize(b.data + 4, b.len - 4, 0, &bad, &e), QV_ECORRUPT);
        ck_assert_ptr_nonnull(strstr(e.msg, "trailing"));
        b.data[4] ^= 0x55;
        ck_assert_int_eq(qv_faiss_deserialize(b.data + 4, b.len - 5, 0, &bad, &e), QV_ECORRUPT);
        ck_assert_int_eq(qv_faiss_deserialize(b.data, 0, 0, &bad, &e), QV_ECORRUPT);
        FAISS_LEAKS_END();
        /* through a file with the C API */
        ck_assert_int_eq(faiss_write_index_fname(idx, path), 0);
        ck_assert_int_eq(faiss_read_index_fname(path, 0, &file), 0);
        assert_same_results(idx, file, 1.0);
        qv_buf_fini(&b);
        faiss_Index_free(file);
        faiss_Index_free(back);
        faiss_Index_free(idx);
    }
    test_rmtree(dir);
}
END_TEST

static bool allow_odd(void *ctx, int64_t id)
{
    (*(int *)ctx)++;
    return id % 2 == 1;
}

START_TEST(test_search_with_bitmap)
{
    static const char *descs[] = {"Flat", "HNSW32", "IVF16,Flat", "IDMap,HNSW32", "IDMap,Flat"};
    uint64_t allow[(NB + 63) / 64] = {0};
    float dist[NQ * K];
    int64_t labels[NQ * K];
    qv_error e;

    for (int i = 0; i < NB; i += 3) /* every third row */
        allow[i / 64] |= 1ull << (i % 64);
    for (size_t di = 0; di < sizeof descs / sizeof descs[0]; di++) {
        FaissIndex *idx = NULL;
        bool idmap = strncmp(descs[di], "IDMap", 5) == 0;
        ck_assert_int_eq(faiss_index_factory(&idx, D, descs[di], METRIC_L2), 0);
        if (!faiss_Index_is_trained(idx))
            ck_assert_int_eq(faiss_Index_train(idx, NB, xb), 0);
        if (idmap) { /* identity ids, added in reverse: the filter must see external ids */
            int64_t *ids = qv_malloc(sizeof(int64_t) * NB);
            float *rev = qv_malloc(sizeof(float) * NB * D);
            for (int i = 0; i < NB; i++) {
                ids[i] = NB - 1 - i;
                memcpy(rev + i * D, xb + (NB - 1 - i) * D, sizeof(float) * D);
            }
            ck_assert_int_eq(faiss_Index_add_with_ids(idx, NB, rev, ids), 0);
            qv_free(ids);
            qv_free(rev);
        } else {
            ck_assert_int_eq(faiss_Index_add(idx, NB, xb), 0);
        }
        qv_faiss_search_opts o = {.ef_search = 200, .nprobe = 16, .allow = allow, .allow_bits = NB};
        ck_assert_int_eq(qv_faiss_search_with_selector(idx, NQ, xq, K, &o, dist, labels, &e),
                         QV_OK);
        for (int i = 0; i < NQ * K; i++)
            ck_assert_msg(labels[i] >= 0 && labels[i] % 3 == 0, "%s: label %lld not allowed",
                          descs[di], (long long)labels[i]);
        ck_assert_double_ge(recall(labels, QV_DISTANCE_L2, allow), 0.95);
        /* callback filter, combined with the bitmap: ids divisible by 3 and odd */
        int calls = 0;
        o.allow_fn = allow_odd;
        o.allow_ctx = &calls;
        ck_assert_int_eq(qv_faiss_search_with_selector(idx, 1, xq, K, &o, dist, labels, &e), QV_OK);
        ck_assert_int_gt(calls, 0);
        for (int i = 0; i < K; i++)
            ck_assert(labels[i] % 6 == 3);
        /* no options: plain search */
        ck_assert_int_eq(qv_faiss_search_with_selector(idx, NQ, xq, K, NULL, dist, labels, &e),
                         QV_OK);
        faiss_Index_free(idx);
    }
}
END_TEST

START_TEST(test_search_with_selector_errors)
{
    FaissIndex *idx = NULL;
    float dist[K];
    int64_t labels[K];
    qv_error e;
    qv_faiss_search_opts o = {.ef_search = -1};

    uint64_t allow = 0xff;
    ck_assert_int_eq(faiss_index_factory(&idx, D, "LSH", METRIC_L2), 0);
    ck_assert_int_eq(faiss_Index_add(idx, NB, xb), 0);
    ck_assert_int_eq(qv_faiss_search_with_selector(idx, 1, xq, 0, NULL, dist, labels, &e),
                     QV_EINVAL);
    ck_assert_int_eq(qv_faiss_search_with_selector(idx, 1, xq, K, &o, dist, labels, &e), QV_EINVAL);
    o.ef_search = 0;
    o.allow = &allow;
    o.allow_bits = 64;
    /* LSH takes no search parameters: the FAISS exception becomes QV_EINTERNAL */
    ck_assert_int_eq(qv_faiss_search_with_selector(idx, 1, xq, K, &o, dist, labels, &e),
                     QV_EINTERNAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "search: "));
    ck_assert_ptr_nonnull(strstr(e.msg, "not supported"));
    ck_assert_ptr_null(strstr(e.msg, "Error in"));
    ck_assert_int_eq(qv_faiss_hnsw_set_ef(idx, 10, 10, &e), QV_EINVAL);
    faiss_Index_free(idx);
}
END_TEST

START_TEST(test_simd_hnsw_matches_stock)
{
    for (int mi = 0; mi < 2; mi++) {
        qv_faiss_hnsw_opts o = {.d = D,
                                .M = 16,
                                .metric = mi ? QV_DISTANCE_IP : QV_DISTANCE_L2,
                                .ef_construction = 80,
                                .ef_search = 64,
                                .stock_storage = true};
        FaissIndex *stock = NULL, *simd = NULL, *back = NULL, *clone = NULL;
        qv_faiss_hnsw_info info;
        qv_buf b;
        qv_error e;
        float dist[NQ * K];
        int64_t labels[NQ * K];

        ck_assert_int_eq(qv_faiss_hnsw_new(&o, &stock, &e), QV_OK);
        o.stock_storage = false;
        ck_assert_int_eq(qv_faiss_hnsw_new(&o, &simd, &e), QV_OK);
        ck_assert_int_eq(qv_faiss_hnsw_get_info(simd, &info, &e), QV_OK);
        ck_assert(info.simd_storage);
        ck_assert_int_eq(info.isa, qv_distance_kernels_active()->isa);
        ck_assert_int_eq(info.ef_construction, 80);
        ck_assert_int_eq(faiss_Index_add(stock, NB, xb), 0);
        ck_assert_int_eq(faiss_Index_add(simd, NB, xb), 0);
        assert_same_results(stock, simd, 0.97);
        ck_assert_int_eq(faiss_Index_search(simd, NQ, xq, K, dist, labels), 0);
        ck_assert_double_ge(recall(labels, mi ? QV_DISTANCE_IP : QV_DISTANCE_L2, NULL), 0.9);

        /* serialized as a stock IndexHNSWFlat; QV_FAISS_LOAD_SIMD puts it back */
        qv_buf_init(&b);
        ck_assert_int_eq(qv_faiss_serialize(simd, &b, &e), QV_OK);
        ck_assert_int_eq(qv_faiss_deserialize(b.data, b.len, 0, &back, &e), QV_OK);
        ck_assert_int_eq(qv_faiss_hnsw_get_info(back, &info, &e), QV_OK);
        ck_assert(!info.simd_storage);
        assert_same_results(simd, back, 0.97);
        faiss_Index_free(back);
        ck_assert_int_eq(qv_faiss_deserialize(b.data, b.len, QV_FAISS_LOAD_SIMD, &back, &e), QV_OK);
        ck_assert_int_eq(qv_faiss_hnsw_get_info(back, &info, &e), QV_OK);
        ck_assert(info.simd_storage);
        assert_same_results(simd, back, 1.0);
        ck_assert_int_eq(qv_faiss_deserialize(b.data, b.len, 0x80, &back, &e), QV_EINVAL);

        /* clone keeps the kernels; switching storage back and forth keeps vectors */
        ck_assert_int_eq(qv_faiss_clone(simd, &clone, &e), QV_OK);
        ck_assert_int_eq(qv_faiss_hnsw_get_info(clone, &info, &e), QV_OK);
        ck_assert(info.simd_storage);
        assert_same_results(simd, clone, 1.0);
        ck_assert_int_eq(qv_faiss_hnsw_use_kernels(clone, NULL, &e), QV_OK);
        ck_assert_int_eq(qv_faiss_hnsw_get_info(clone, &info, &e), QV_OK);
        ck_assert(!info.simd_storage);
        ck_assert_int_eq(faiss_Index_ntotal(clone), NB);
        assert_same_results(simd, clone, 0.97);
        ck_assert_int_eq(
            qv_faiss_hnsw_use_kernels(clone, qv_distance_kernels_for(QV_DISTANCE_ISA_SCALAR), &e),
            QV_OK);
        assert_same_results(simd, clone, 0.97);
        float rec[D];
        ck_assert_int_eq(faiss_Index_reconstruct(clone, 9, rec), 0);
        ck_assert(memcmp(rec, xb + 9 * D, sizeof rec) == 0);

        qv_buf_fini(&b);
        faiss_Index_free(clone);
        faiss_Index_free(back);
        faiss_Index_free(simd);
        faiss_Index_free(stock);
    }
}
END_TEST

START_TEST(test_hnsw_new_rejects_bad_opts)
{
    FaissIndex *idx = NULL;
    qv_error e;
    qv_faiss_hnsw_opts o = {.d = 0, .M = 16};

    ck_assert_int_eq(qv_faiss_hnsw_new(&o, &idx, &e), QV_EINVAL);
    o.d = 8;
    o.M = 1;
    ck_assert_int_eq(qv_faiss_hnsw_new(&o, &idx, &e), QV_EINVAL);
    o.M = 8;
    o.metric = (qv_distance_metric)9;
    ck_assert_int_eq(qv_faiss_hnsw_new(&o, &idx, &e), QV_EINVAL);
    ck_assert_ptr_null(idx);
    /* storage swap needs an HNSW over flat storage */
    ck_assert_int_eq(faiss_index_factory(&idx, D, "HNSW16,SQ8", METRIC_L2), 0);
    ck_assert_int_eq(qv_faiss_hnsw_use_kernels(idx, qv_distance_kernels_active(), &e), QV_EINVAL);
    faiss_Index_free(idx);
}
END_TEST

START_TEST(test_threads_setting)
{
    ck_assert_int_eq(qv_faiss_num_threads(), 1);
    qv_faiss_set_num_threads(0);
    ck_assert_int_eq(qv_faiss_num_threads(), 1);
    qv_faiss_set_num_threads(2);
    ck_assert_int_eq(qv_faiss_num_threads(), 2);
    FaissIndex *idx = build("HNSW16", METRIC_L2); /* builds fine with 2 threads too */
    faiss_Index_free(idx);
    qv_faiss_set_num_threads(1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("faiss_capi");
    TCase *tc = tcase_create("capi");
    TCase *tx = tcase_create("extras");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_checked_fixture(tx, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_set_timeout(tx, 120);
    tcase_add_test(tc, test_flat_equals_brute_force);
    tcase_add_test(tc, test_hnsw_recall);
    tcase_add_test(tc, test_ivf_untrained_then_exact);
    tcase_add_test(tc, test_range_search);
    tcase_add_test(tc, test_errors_carry_messages);
    tcase_add_test(tc, test_idmap_remove_and_reconstruct);
    tcase_add_test(tx, test_serialize_round_trips);
    tcase_add_test(tx, test_search_with_bitmap);
    tcase_add_test(tx, test_search_with_selector_errors);
    tcase_add_test(tx, test_simd_hnsw_matches_stock);
    tcase_add_test(tx, test_hnsw_new_rejects_bad_opts);
    tcase_add_test(tx, test_threads_setting);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tx);
    return test_run_suite(s);
}
