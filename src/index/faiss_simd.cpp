// SPDX-License-Identifier: Apache-2.0
/* faiss_simd.cpp - HNSW whose distances run through Quiver's SIMD kernels.
 *
 * Debian's libfaiss is built for baseline x86-64 (SSE only), so its
 * fvec_L2sqr / fvec_inner_product leave AVX2 and AVX-512 unused. IndexHNSW
 * computes every distance through storage->get_distance_computer(), so
 * replacing the storage of an IndexHNSWFlat with an IndexFlat subclass whose
 * FlatCodesDistanceComputer calls our kernels speeds up both build and search
 * without touching the graph code.
 *
 * The object stays a faiss::IndexHNSWFlat and the storage a faiss::IndexFlat,
 * so faiss::write_index emits the stock "IHNf" + "IxF2"/"IxFI" records and any
 * FAISS can read the file; on load (QV_FAISS_LOAD_SIMD) or clone the stock
 * storage is swapped back onto our kernels by moving its code vector, without
 * copying the vectors. Distances differ from stock only by float summation
 * order (a few ulps), so results match except at exact near-ties. */
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>

#include <cstring>
#include <memory>
#include <typeinfo>

#include "faiss_int.h"

using idx_t = faiss::Index::idx_t;

namespace {

typedef float (*dist_fn)(const float *, const float *, size_t);

/* One query at a time; owned by one thread (FAISS makes one per search thread). */
struct SimdDistance final : faiss::FlatCodesDistanceComputer {
    dist_fn fn;
    size_t d;
    const float *base;
    const float *q = nullptr;

    SimdDistance(const faiss::IndexFlat &s, dist_fn f)
        : faiss::FlatCodesDistanceComputer(s.codes.data(), s.code_size), fn(f), d((size_t)s.d),
          base(s.get_xb())
    {
    }

    void set_query(const float *x) override { q = x; }
    float distance_to_code(const uint8_t *code) override
    {
        return fn(q, reinterpret_cast<const float *>(code), d);
    }
    float symmetric_dis(idx_t i, idx_t j) override { return fn(base + i * d, base + j * d, d); }
};

/* Flat float storage (same layout and file format as IndexFlat) whose
 * distance computer uses the kernels of one ISA. */
struct SimdFlatStorage final : faiss::IndexFlat {
    const qv_distance_kernels *kernels;

    SimdFlatStorage(idx_t dim, faiss::MetricType m, const qv_distance_kernels *k)
        : faiss::IndexFlat(dim, m), kernels(k)
    {
    }

    faiss::FlatCodesDistanceComputer *get_FlatCodesDistanceComputer() const override
    {
        return new SimdDistance(*this,
                                metric_type == faiss::METRIC_L2 ? kernels->l2sq : kernels->ip);
    }
};

bool is_plain_flat(const faiss::Index *s)
{
    const std::type_info &t = typeid(*s);
    return t == typeid(faiss::IndexFlat) || t == typeid(faiss::IndexFlatL2) ||
           t == typeid(faiss::IndexFlatIP) || t == typeid(SimdFlatStorage);
}

} // namespace

const qv_distance_kernels *index_hnsw_kernels(const faiss::IndexHNSW *h) noexcept
{
    auto *s = h && h->storage ? dynamic_cast<const SimdFlatStorage *>(h->storage) : nullptr;
    return s ? s->kernels : nullptr;
}

qv_err index_hnsw_set_storage(faiss::IndexHNSW *h, const qv_distance_kernels *k, qv_error *err)
{
    auto *old = h->storage ? dynamic_cast<faiss::IndexFlat *>(h->storage) : nullptr;
    std::unique_ptr<faiss::IndexFlat> repl;

    if (!old || !is_plain_flat(old))
        return qv_error_set(err, QV_EINVAL, "hnsw storage is not a flat index");
    if (!h->own_fields)
        return qv_error_set(err, QV_EINVAL, "hnsw storage is not owned by the index");
    if (old->metric_type != faiss::METRIC_L2 && old->metric_type != faiss::METRIC_INNER_PRODUCT)
        return qv_error_set(err, QV_EINVAL, "hnsw metric %d has no quiver kernel",
                            (int)old->metric_type);
    if (k == index_hnsw_kernels(h))
        return QV_OK; /* already there */
    if (k)
        repl.reset(new SimdFlatStorage(old->d, old->metric_type, k));
    else
        repl.reset(new faiss::IndexFlat(old->d, old->metric_type));
    repl->codes.swap(old->codes);
    repl->ntotal = old->ntotal;
    repl->is_trained = old->is_trained;
    repl->verbose = old->verbose;
    repl->metric_arg = old->metric_arg;
    delete old;
    h->storage = repl.release();
    return QV_OK;
}

extern "C" qv_err qv_faiss_hnsw_new(const qv_faiss_hnsw_opts *o, FaissIndex **out, qv_error *err)
{
    if (!o || !out)
        return qv_error_set(err, QV_EINVAL, "hnsw new: NULL argument");
    if (o->d < 1 || o->M < 2 || o->M > 512)
        return qv_error_set(err, QV_EINVAL,
                            "hnsw new: need d >= 1 and 2 <= M <= 512, not d=%d M=%d", o->d, o->M);
    /* C callers may pass any int; in C++ loading an out-of-range enum is UB */
    int metric;
    static_assert(sizeof metric == sizeof o->metric, "enum is int-sized");
    memcpy(&metric, &o->metric, sizeof metric);
    if (metric != QV_DISTANCE_L2 && metric != QV_DISTANCE_IP)
        return qv_error_set(err, QV_EINVAL, "hnsw new: unknown metric %d", metric);
    if (o->ef_construction < 0 || o->ef_search < 0)
        return qv_error_set(err, QV_EINVAL, "hnsw new: ef values must be >= 0");
    return index_guard(err, QV_EINTERNAL, "hnsw new", [&] {
        faiss::MetricType m =
            o->metric == QV_DISTANCE_L2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
        auto idx = std::make_unique<faiss::IndexHNSWFlat>(o->d, o->M, m);
        qv_err rc;
        if (o->ef_construction > 0)
            idx->hnsw.efConstruction = o->ef_construction;
        if (o->ef_search > 0)
            idx->hnsw.efSearch = o->ef_search;
        if (!o->stock_storage) {
            const qv_distance_kernels *k = o->kernels ? o->kernels : qv_distance_kernels_active();
            if ((rc = index_hnsw_set_storage(idx.get(), k, err)) != QV_OK)
                return rc;
        }
        *out = reinterpret_cast<FaissIndex *>(idx.release());
        return QV_OK;
    });
}
