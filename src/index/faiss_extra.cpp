// SPDX-License-Identifier: Apache-2.0
/* faiss_extra.cpp - qv_faiss_* extras (quiver/faiss_extra.h) over libfaiss:
 * OpenMP thread control, exception -> qv_err mapping, HNSW parameters,
 * bitmap-filtered search and (de)serialization to memory.
 *
 * Filtered search passes a faiss::IDSelector through SearchParametersHNSW /
 * SearchParametersIVF / SearchParameters (FAISS >= 1.7.3 honours `sel` in
 * HNSW, IVF and Flat). IndexIDMap rejects search parameters in 1.7.3, so an
 * IDMap is searched through its sub-index with a selector that maps internal
 * ids to external ones, and the labels are mapped afterwards.
 *
 * Memory (de)serialization uses faiss::IOWriter/IOReader subclasses that
 * write straight into a qv_buf and read straight from the caller's bytes,
 * so an index is never held twice in memory. */
#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/c_api/error_c.h>
#include <faiss/clone_index.h>
#include <faiss/impl/HNSW.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <memory>

#include <omp.h>

#include "faiss_int.h"

using faiss::Index;
using idx_t = faiss::Index::idx_t;

/* ---- threads, errors -------------------------------------------------------------------- */

static std::atomic<int> omp_threads_wanted{1};
static thread_local int omp_threads_applied; /* 0: never applied on this thread */

void index_threads_apply() noexcept
{
    int want = omp_threads_wanted.load(std::memory_order_relaxed);
    if (omp_threads_applied != want) {
        omp_set_num_threads(want);
        omp_threads_applied = want;
    }
}

extern "C" void qv_faiss_init(void) { index_threads_apply(); }

extern "C" void qv_faiss_set_num_threads(int n)
{
    omp_threads_wanted.store(n < 1 ? 1 : n, std::memory_order_relaxed);
}

extern "C" int qv_faiss_num_threads(void)
{
    return omp_threads_wanted.load(std::memory_order_relaxed);
}

const char *index_faiss_reason(const char *what) noexcept
{
    const char *at, *p;

    if (!what || strncmp(what, "Error in ", 9) != 0 || (at = strstr(what, " at ")) == nullptr)
        return what ? what : "";
    /* skip "<file>:<line>: " */
    for (p = at + 4; (p = strchr(p, ':')) != nullptr; p++) {
        const char *q = p + 1;
        while (isdigit((unsigned char)*q))
            q++;
        if (q > p + 1 && q[0] == ':' && q[1] == ' ')
            return q + 2;
    }
    return what;
}

qv_err index_exception(qv_error *err, qv_err faiss_code, const char *what) noexcept
{
    try {
        throw;
    } catch (const std::bad_alloc &) {
        return qv_error_set(err, QV_ENOMEM, "%s: out of memory", what);
    } catch (const faiss::FaissException &e) {
        return qv_error_set(err, faiss_code, "%s: %s", what, index_faiss_reason(e.what()));
    } catch (const std::exception &e) {
        return qv_error_set(err, QV_EINTERNAL, "%s: %s", what, e.what());
    } catch (...) {
        return qv_error_set(err, QV_EINTERNAL, "%s: unknown exception", what);
    }
}

extern "C" qv_err qv_faiss_check(int faiss_rc, const char *what, qv_error *err)
{
    const char *msg;

    if (faiss_rc == 0)
        return QV_OK;
    msg = faiss_get_last_error();
    msg = msg ? index_faiss_reason(msg) : "unknown error";
    return qv_error_set(err, strstr(msg, "bad_alloc") ? QV_ENOMEM : QV_EINTERNAL, "%s: %s", what,
                        msg);
}

Index *index_unwrap(Index *idx) noexcept
{
    for (;;) {
        if (auto *m = dynamic_cast<faiss::IndexIDMap *>(idx))
            idx = m->index;
        else if (auto *t = dynamic_cast<faiss::IndexPreTransform *>(idx))
            idx = t->index;
        else
            return idx;
    }
}

/* ---- HNSW parameters -------------------------------------------------------------------- */

static faiss::IndexHNSW *as_hnsw(const FaissIndex *index)
{
    Index *idx = const_cast<Index *>(reinterpret_cast<const Index *>(index));
    return idx ? dynamic_cast<faiss::IndexHNSW *>(index_unwrap(idx)) : nullptr;
}

extern "C" qv_err qv_faiss_hnsw_get_info(const FaissIndex *index, qv_faiss_hnsw_info *out,
                                         qv_error *err)
{
    const faiss::IndexHNSW *h = as_hnsw(index);
    const qv_distance_kernels *k;

    if (!h || !out)
        return qv_error_set(err, QV_EINVAL, "hnsw info: not an HNSW index");
    k = index_hnsw_kernels(h);
    *out = qv_faiss_hnsw_info{};
    out->M = h->hnsw.nb_neighbors(1);
    out->ef_construction = h->hnsw.efConstruction;
    out->ef_search = h->hnsw.efSearch;
    out->max_level = h->hnsw.max_level;
    out->simd_storage = k != nullptr;
    out->isa = k ? k->isa : QV_DISTANCE_ISA_SCALAR;
    return QV_OK;
}

extern "C" qv_err qv_faiss_hnsw_set_ef(FaissIndex *index, int ef_construction, int ef_search,
                                       qv_error *err)
{
    faiss::IndexHNSW *h = as_hnsw(index);

    if (!h)
        return qv_error_set(err, QV_EINVAL, "hnsw set ef: not an HNSW index");
    if (ef_construction > 0)
        h->hnsw.efConstruction = ef_construction;
    if (ef_search > 0)
        h->hnsw.efSearch = ef_search;
    return QV_OK;
}

extern "C" qv_err qv_faiss_hnsw_use_kernels(FaissIndex *index, const qv_distance_kernels *k,
                                            qv_error *err)
{
    faiss::IndexHNSW *h = as_hnsw(index);

    if (!h)
        return qv_error_set(err, QV_EINVAL, "hnsw use kernels: not an HNSW index");
    return index_guard(err, QV_EINTERNAL, "hnsw use kernels",
                       [&] { return index_hnsw_set_storage(h, k, err); });
}

/* ---- filtered search -------------------------------------------------------------------- */

namespace {

/* Allowed iff the id's bit is set (when a bitmap is given) and fn agrees. */
struct BitmapSelector final : faiss::IDSelector {
    const uint64_t *bits = nullptr;
    size_t nbits = 0;
    qv_faiss_allow_fn fn = nullptr;
    void *ctx = nullptr;

    bool is_member(idx_t id) const override
    {
        if (bits && (id < 0 || (uint64_t)id >= nbits || !((bits[id >> 6] >> (id & 63)) & 1)))
            return false;
        return !fn || fn(ctx, id);
    }
};

/* Sees internal (sub-index) ids, asks `inner` about the external id. */
struct MappedSelector final : faiss::IDSelector {
    const idx_t *id_map = nullptr;
    const faiss::IDSelector *inner = nullptr;

    bool is_member(idx_t i) const override { return inner->is_member(id_map[i]); }
};

} // namespace

static qv_err search_filtered(const Index *top, idx_t n, const float *x, idx_t k,
                              const qv_faiss_search_opts *o, float *distances, idx_t *labels)
{
    const Index *target = top;
    const faiss::IndexIDMap *idmap = dynamic_cast<const faiss::IndexIDMap *>(top);
    const faiss::IDSelector *sel = nullptr;
    BitmapSelector bsel;
    MappedSelector msel;
    faiss::SearchParametersHNSW hp;
    faiss::SearchParametersIVF ip;
    faiss::SearchParameters fp;
    faiss::SearchParameters *params = &fp;

    if (o->allow || o->allow_fn) {
        bsel.bits = o->allow;
        bsel.nbits = o->allow ? o->allow_bits : 0;
        bsel.fn = o->allow_fn;
        bsel.ctx = o->allow_ctx;
        sel = &bsel;
    }
    if (idmap) {
        target = idmap->index;
        if (sel) {
            msel.id_map = idmap->id_map.data();
            msel.inner = sel;
            sel = &msel;
        }
    }
    if (auto *h = dynamic_cast<const faiss::IndexHNSW *>(target)) {
        hp.efSearch = o->ef_search > 0 ? o->ef_search : h->hnsw.efSearch;
        hp.check_relative_distance = h->hnsw.check_relative_distance;
        params = &hp;
    } else if (auto *v = dynamic_cast<const faiss::IndexIVF *>(target)) {
        ip.nprobe = o->nprobe > 0 ? o->nprobe : v->nprobe;
        ip.max_codes = v->max_codes;
        params = &ip;
    }
    params->sel = const_cast<faiss::IDSelector *>(sel); /* FAISS 1.7.3 declares it non-const */
    auto *hnsw = dynamic_cast<const faiss::IndexHNSW *>(target);
    if (!hnsw || !index_hnsw_search(hnsw, n, x, k, hp.efSearch, sel, distances, labels))
        target->search(n, x, k, distances, labels, params);
    if (idmap) {
        for (idx_t i = 0; i < n * k; i++)
            if (labels[i] >= 0)
                labels[i] = idmap->id_map[labels[i]];
    }
    return QV_OK;
}

extern "C" qv_err qv_faiss_search_with_selector(const FaissIndex *index, int64_t n, const float *x,
                                                int64_t k, const qv_faiss_search_opts *opts,
                                                float *distances, int64_t *labels, qv_error *err)
{
    const Index *idx = reinterpret_cast<const Index *>(index);
    static const qv_faiss_search_opts no_opts{};
    const qv_faiss_search_opts *o = opts ? opts : &no_opts;

    if (!idx || n < 0 || k < 1 || (n > 0 && (!x || !distances || !labels)))
        return qv_error_set(err, QV_EINVAL, "search: bad arguments (n=%lld, k=%lld)", (long long)n,
                            (long long)k);
    if (o->ef_search < 0)
        return qv_error_set(err, QV_EINVAL, "search: ef_search must be >= 0, not %d", o->ef_search);
    return index_guard(err, QV_EINTERNAL, "search", [&] {
        if (!o->allow && !o->allow_fn && o->ef_search == 0 && o->nprobe == 0) {
            idx->search(n, x, k, distances, labels);
            return QV_OK;
        }
        return search_filtered(idx, n, x, k, o, distances, labels);
    });
}

/* ---- serialization ---------------------------------------------------------------------- */


extern "C" qv_err qv_faiss_serialize(const FaissIndex *index, qv_buf *out, qv_error *err)
{
    const Index *idx = reinterpret_cast<const Index *>(index);
    size_t start;
    qv_err rc;

    if (!idx || !out)
        return qv_error_set(err, QV_EINVAL, "serialize: NULL argument");
    if (out->failed)
        return qv_buf_status(out, err);
    start = out->len;
    rc = index_guard(err, QV_EINTERNAL, "serialize", [&] {
        BufWriter w(out);
        faiss::write_index(idx, &w);
        return QV_OK;
    });
    if (rc != QV_OK && !out->failed) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return rc;
}

/* After a load or clone: put an HNSW-flat onto kernels k, if there is one. */
static qv_err maybe_use_kernels(Index *idx, const qv_distance_kernels *k, qv_error *err)
{
    auto *h = dynamic_cast<faiss::IndexHNSW *>(index_unwrap(idx));
    auto *flat = h ? dynamic_cast<faiss::IndexFlat *>(h->storage) : nullptr;

    if (!k || !flat || !h->own_fields ||
        (flat->metric_type != faiss::METRIC_L2 && flat->metric_type != faiss::METRIC_INNER_PRODUCT))
        return QV_OK;
    return index_hnsw_set_storage(h, k, err);
}

extern "C" qv_err qv_faiss_deserialize(const void *data, size_t len, unsigned flags,
                                       FaissIndex **out, qv_error *err)
{
    if (!data || !out)
        return qv_error_set(err, QV_EINVAL, "deserialize: NULL argument");
    if (flags & ~QV_FAISS_LOAD_SIMD)
        return qv_error_set(err, QV_EINVAL, "deserialize: unknown flags 0x%x", flags);
    return index_guard(err, QV_ECORRUPT, "deserialize", [&] {
        MemReader r(data, len);
        std::unique_ptr<Index> idx(faiss::read_index(&r, 0));
        qv_err rc;
        if (r.pos != len)
            return qv_error_set(err, QV_ECORRUPT, "deserialize: %zu trailing bytes after index",
                                len - r.pos);
        if (flags & QV_FAISS_LOAD_SIMD) {
            if ((rc = maybe_use_kernels(idx.get(), qv_distance_kernels_active(), err)) != QV_OK)
                return rc;
        }
        *out = reinterpret_cast<FaissIndex *>(idx.release());
        return QV_OK;
    });
}

extern "C" qv_err qv_faiss_clone(const FaissIndex *index, FaissIndex **out, qv_error *err)
{
    const Index *idx = reinterpret_cast<const Index *>(index);

    if (!idx || !out)
        return qv_error_set(err, QV_EINVAL, "clone: NULL argument");
    return index_guard(err, QV_EINTERNAL, "clone", [&] {
        auto *h = dynamic_cast<const faiss::IndexHNSW *>(index_unwrap(const_cast<Index *>(idx)));
        std::unique_ptr<Index> copy(faiss::clone_index(idx));
        qv_err rc;
        if (h && (rc = maybe_use_kernels(copy.get(), index_hnsw_kernels(h), err)) != QV_OK)
            return rc;
        *out = reinterpret_cast<FaissIndex *>(copy.release());
        return QV_OK;
    });
}
