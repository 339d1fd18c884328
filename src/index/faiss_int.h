/* SPDX-License-Identifier: Apache-2.0 */
/* faiss_int.h - C++ helpers shared by the FAISS shim files (faiss_capi.cpp,
 * faiss_extra.cpp, faiss_simd.cpp). C++ only; never included from C.
 *
 * Invariant: every extern "C" function in these files runs its FAISS work
 * inside index_guard() or the C API's own guard, so no exception crosses
 * into C. */
#ifndef QUIVER_INDEX_FAISS_INT_H
#define QUIVER_INDEX_FAISS_INT_H

#ifndef __cplusplus
#error "faiss_int.h is C++ only"
#endif

#include <exception>
#include <new>
#include <stdexcept>

#include <faiss/Index.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>

#include <cstdint>
#include <cstring>

#include "quiver/distance.h"
#include "quiver/faiss_extra.h" /* also quiver/err.h and quiver/buf.h, as extern "C" */

/* Apply the process-wide OpenMP thread count to the calling thread if it has
 * not been applied yet (one thread-local compare on the fast path). */
void index_threads_apply() noexcept;

/* The part of a FAISS exception message after "Error in <function> at
 * <file>:<line>: ", which is what a user can act on. */
const char *index_faiss_reason(const char *what) noexcept;

/* Run f, mapping exceptions to qv_err with "what: reason" in err:
 * bad_alloc -> QV_ENOMEM, FaissException -> faiss_code, others -> QV_EINTERNAL. */
qv_err index_exception(qv_error *err, qv_err faiss_code, const char *what) noexcept;

template <class F>
inline qv_err index_guard(qv_error *err, qv_err faiss_code, const char *what, F &&f) noexcept
{
    try {
        index_threads_apply();
        return f();
    } catch (...) {
        return index_exception(err, faiss_code, what);
    }
}

/* Memory (de)serialization: a faiss::IOWriter appending to a qv_buf (throws bad_alloc
 * when it fails) and a faiss::IOReader over the caller's bytes. */
struct BufWriter final : faiss::IOWriter {
    qv_buf *out;
    explicit BufWriter(qv_buf *b) : out(b) { name = "qv_buf"; }

    size_t operator()(const void *ptr, size_t size, size_t nitems) override
    {
        if (nitems && size > SIZE_MAX / nitems)
            throw std::length_error("serialize: size overflow");
        qv_buf_put(out, ptr, size * nitems);
        if (out->failed)
            throw std::bad_alloc();
        return nitems;
    }
};

struct MemReader final : faiss::IOReader {
    const uint8_t *p;
    size_t len, pos = 0;
    MemReader(const void *data, size_t n) : p(static_cast<const uint8_t *>(data)), len(n)
    {
        name = "memory";
    }

    size_t operator()(void *ptr, size_t size, size_t nitems) override
    {
        if (size == 0)
            return nitems;
        size_t avail = (len - pos) / size, m = nitems < avail ? nitems : avail;
        if (m)
            memcpy(ptr, p + pos, m * size);
        pos += m * size;
        return m;
    }
};

/* Peel IndexIDMap(2) and IndexPreTransform wrappers; the innermost index. */
faiss::Index *index_unwrap(faiss::Index *idx) noexcept;

/* faiss_simd.cpp: swap the flat storage of an HNSW onto kernels k (NULL: stock). */
qv_err index_hnsw_set_storage(faiss::IndexHNSW *h, const qv_distance_kernels *k, qv_error *err);
/* Kernels behind h's storage, or NULL when it is FAISS's own. */
const qv_distance_kernels *index_hnsw_kernels(const faiss::IndexHNSW *h) noexcept;

/* faiss_hnsw_search.cpp: search an HNSW whose storage runs on Quiver's kernels, with the
 * neighbours' vectors prefetched; false (nothing done) for stock storage. ef 0: the
 * index's efSearch. */
namespace faiss {
struct IDSelector;
}
bool index_hnsw_search(const faiss::IndexHNSW *h, faiss::Index::idx_t n, const float *x,
                       faiss::Index::idx_t k, int ef, const faiss::IDSelector *sel,
                       float *distances, faiss::Index::idx_t *labels);

#endif
