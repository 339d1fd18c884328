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

/* Peel IndexIDMap(2) and IndexPreTransform wrappers; the innermost index. */
faiss::Index *index_unwrap(faiss::Index *idx) noexcept;

/* faiss_simd.cpp: swap the flat storage of an HNSW onto kernels k (NULL: stock). */
qv_err index_hnsw_set_storage(faiss::IndexHNSW *h, const qv_distance_kernels *k, qv_error *err);
/* Kernels behind h's storage, or NULL when it is FAISS's own. */
const qv_distance_kernels *index_hnsw_kernels(const faiss::IndexHNSW *h) noexcept;

#endif
