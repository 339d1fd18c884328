// SPDX-License-Identifier: Apache-2.0
/* faiss_binary.cpp - qv_faiss_binary_* (quiver/faiss_extra.h): BIN_IVF_FLAT through
 * faiss::IndexBinaryIVF. FAISS trains the coarse quantizer (binary k-means) and keeps the
 * inverted lists; searching is done here, over the lists FAISS's quantizer picks, because
 * FAISS ranks binary codes by Hamming distance only (Milvus also offers JACCARD) and
 * IndexBinaryIVF in 1.7.3 takes no IDSelector: each probed list's codes, which are
 * contiguous, go through Quiver's popcount kernels in one batch call, ids outside the
 * allow bitmap are skipped, and a bounded max-heap keeps the k best (ties by id). */
#include <faiss/IndexBinaryFlat.h>
#include <faiss/IndexBinaryIVF.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <queue>
#include <vector>

#include "faiss_int.h"

using idx_t = faiss::Index::idx_t;

static faiss::IndexBinaryIVF *ivf_of(qv_faiss_binary *ix)
{
    return reinterpret_cast<faiss::IndexBinaryIVF *>(ix);
}

static const faiss::IndexBinaryIVF *ivf_of(const qv_faiss_binary *ix)
{
    return reinterpret_cast<const faiss::IndexBinaryIVF *>(ix);
}

extern "C" qv_err qv_faiss_binary_ivf_new(int d_bits, int nlist, qv_faiss_binary **out,
                                          qv_error *err)
{
    if (d_bits < 8 || d_bits % 8 || nlist < 1 || !out)
        return qv_error_set(err, QV_EINVAL, "binary IVF: bad dimension %d or nlist %d", d_bits,
                            nlist);
    return index_guard(err, QV_EINTERNAL, "binary IVF", [&] {
        auto quantizer = std::make_unique<faiss::IndexBinaryFlat>(d_bits);
        auto ivf = std::make_unique<faiss::IndexBinaryIVF>(quantizer.get(), d_bits,
                                                           (size_t)nlist);
        quantizer.release();
        ivf->own_fields = true;
        *out = reinterpret_cast<qv_faiss_binary *>(ivf.release());
        return QV_OK;
    });
}

extern "C" qv_err qv_faiss_binary_train(qv_faiss_binary *ix, int64_t n, const uint8_t *x,
                                        qv_error *err)
{
    return index_guard(err, QV_EINTERNAL, "binary IVF train", [&] {
        ivf_of(ix)->train((idx_t)n, x);
        return QV_OK;
    });
}

extern "C" qv_err qv_faiss_binary_add(qv_faiss_binary *ix, int64_t n, const uint8_t *x,
                                      qv_error *err)
{
    return index_guard(err, QV_EINTERNAL, "binary IVF add", [&] {
        ivf_of(ix)->add((idx_t)n, x);
        return QV_OK;
    });
}

extern "C" int64_t qv_faiss_binary_ntotal(const qv_faiss_binary *ix)
{
    return ix ? (int64_t)ivf_of(ix)->ntotal : 0;
}

namespace {

using hit = std::pair<float, idx_t>; /* (distance, id): the heap's top is the worst */

struct query_scan {
    const faiss::IndexBinaryIVF *ivf;
    const qv_faiss_binary_search_opts *o;
    const qv_distance_kernels *kr;
    std::vector<float> dist;

    bool allowed(idx_t id) const
    {
        return !o->allow ||
               ((size_t)id < o->allow_bits && (o->allow[(size_t)id / 64] >> ((size_t)id % 64) & 1));
    }

    void scan_list(const uint8_t *q, idx_t list, size_t k, std::priority_queue<hit> &heap)
    {
        const faiss::InvertedLists *il = ivf->invlists;
        size_t n = il->list_size((size_t)list), cs = ivf->code_size;
        if (n == 0)
            return;
        faiss::InvertedLists::ScopedCodes codes(il, (size_t)list);
        faiss::InvertedLists::ScopedIds ids(il, (size_t)list);
        dist.resize(n);
        if (o->jaccard)
            kr->jaccard_batch(q, codes.get(), n, cs, dist.data());
        else
            kr->hamming_batch(q, codes.get(), n, cs, dist.data());
        for (size_t j = 0; j < n; j++) {
            hit h{dist[j], ids[j]};
            if (!allowed(h.second))
                continue;
            if (heap.size() < k)
                heap.push(h);
            else if (h < heap.top()) {
                heap.pop();
                heap.push(h);
            }
        }
    }
};

} // namespace

extern "C" qv_err qv_faiss_binary_search(const qv_faiss_binary *ix, int64_t n, const uint8_t *x,
                                         int64_t k, const qv_faiss_binary_search_opts *o,
                                         float *distances, int64_t *labels, qv_error *err)
{
    static const qv_faiss_binary_search_opts none = {};

    if (!ix || n < 0 || k < 1 || (n > 0 && (!x || !distances || !labels)))
        return qv_error_set(err, QV_EINVAL, "binary search: bad arguments");
    if (!o)
        o = &none;
    return index_guard(err, QV_EINTERNAL, "binary search", [&] {
        const faiss::IndexBinaryIVF *ivf = ivf_of(ix);
        size_t nprobe = o->nprobe ? o->nprobe : 16;
        if (nprobe > ivf->nlist)
            nprobe = ivf->nlist;
        std::vector<idx_t> lists((size_t)n * nprobe);
        std::vector<int32_t> coarse((size_t)n * nprobe);
        ivf->quantizer->search((idx_t)n, x, (idx_t)nprobe, coarse.data(), lists.data());
        query_scan scan{ivf, o, qv_distance_kernels_active(), {}};
        for (int64_t q = 0; q < n; q++) {
            std::priority_queue<hit> heap;
            const uint8_t *qv = x + (size_t)q * ivf->code_size;
            for (size_t p = 0; p < nprobe; p++) {
                idx_t list = lists[(size_t)q * nprobe + p];
                if (list >= 0)
                    scan.scan_list(qv, list, (size_t)k, heap);
            }
            size_t found = heap.size();
            for (size_t i = (size_t)k; i-- > 0;) { /* best last out of the heap */
                hit h = i < found ? heap.top() : hit{INFINITY, -1};
                if (i < found)
                    heap.pop();
                distances[(size_t)q * (size_t)k + i] = h.first;
                labels[(size_t)q * (size_t)k + i] = h.second;
            }
        }
        return QV_OK;
    });
}

extern "C" qv_err qv_faiss_binary_serialize(const qv_faiss_binary *ix, qv_buf *out,
                                            qv_error *err)
{
    size_t start = out->len;
    qv_err rc = index_guard(err, QV_EINTERNAL, "binary serialize", [&] {
        BufWriter w(out);
        faiss::write_index_binary(ivf_of(ix), &w);
        return QV_OK;
    });
    if (rc != QV_OK && !out->failed)
        out->len = start;
    return rc;
}

extern "C" qv_err qv_faiss_binary_deserialize(const void *data, size_t len,
                                              qv_faiss_binary **out, qv_error *err)
{
    return index_guard(err, QV_ECORRUPT, "binary deserialize", [&] {
        MemReader r(data, len);
        std::unique_ptr<faiss::IndexBinary> idx(faiss::read_index_binary(&r, 0));
        if (r.pos != len)
            return qv_error_set(err, QV_ECORRUPT, "binary deserialize: %zu trailing bytes",
                                len - r.pos);
        if (!dynamic_cast<faiss::IndexBinaryIVF *>(idx.get()))
            return qv_error_set(err, QV_ECORRUPT, "binary deserialize: not a binary IVF");
        *out = reinterpret_cast<qv_faiss_binary *>(idx.release());
        return QV_OK;
    });
}

extern "C" void qv_faiss_binary_free(qv_faiss_binary *ix)
{
    delete reinterpret_cast<faiss::IndexBinaryIVF *>(ix);
}
