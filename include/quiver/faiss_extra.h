/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/faiss_extra.h - qv_faiss_* additions to the FAISS C API.
 *
 * The FAISS C API itself (the headers under faiss/c_api/) is provided by src/index/faiss_capi.cpp
 * over Debian's static libfaiss, or by a system libfaiss_c when one is found.
 * These extras cover what that API lacks: thread control, HNSW parameters,
 * filtered search with a bitmap, (de)serialization to memory, and HNSW over
 * Quiver's SIMD distance kernels. Only src/index/ includes this header.
 *
 * Every function converts C++ exceptions into a qv_err; none escapes.
 * FaissIndex handles are the C API's: free them with faiss_Index_free. */
#ifndef QUIVER_FAISS_EXTRA_H
#define QUIVER_FAISS_EXTRA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
/* err.h and buf.h carry no extern "C" of their own */
#include "quiver/buf.h"
#include "quiver/distance.h"
#include "quiver/err.h"

/* Same opaque type as faiss/c_api/Index_c.h declares (a repeated typedef is fine). */
typedef struct FaissIndex_H FaissIndex;

/* ---- threads and errors ----------------------------------------------------------------- */

/* Apply the OpenMP thread count (default 1) to the calling thread. Every
 * faiss_* and qv_faiss_* entry point also applies it lazily per thread, so
 * calling this is optional; it exists for startup wiring. */
void qv_faiss_init(void);
/* OpenMP threads per FAISS call, process-wide (n < 1 means 1). On a small
 * host keep 1: searches run one per request thread, and nested OpenMP teams
 * only add overhead. Takes effect on each thread at its next FAISS call. */
void qv_faiss_set_num_threads(int n);
int qv_faiss_num_threads(void);

/* Turn a faiss_* C API return code into a qv_err: 0 is QV_OK; a failure
 * fills err with "what: <faiss_get_last_error()>" and returns QV_ENOMEM for an
 * allocation failure, else QV_EINTERNAL. */
qv_err qv_faiss_check(int faiss_rc, const char *what, qv_error *err);

/* ---- HNSW ------------------------------------------------------------------------------- */

typedef struct qv_faiss_hnsw_opts {
    int d;                              /* dimension, >= 1 */
    int M;                              /* graph degree (level 0 has 2*M), >= 2 */
    qv_distance_metric metric;          /* L2 or IP */
    int ef_construction;                /* 0: FAISS default (40) */
    int ef_search;                      /* 0: FAISS default (16) */
    bool stock_storage;                 /* true: FAISS's own flat storage and distances */
    const qv_distance_kernels *kernels; /* NULL: qv_distance_kernels_active() */
} qv_faiss_hnsw_opts;

/* New empty HNSW-flat index. Unless stock_storage, vectors live in a flat
 * storage whose distance computer calls Quiver's kernels; the index is still a
 * faiss::IndexHNSWFlat, so faiss_* functions, serialization and the FAISS file
 * format work unchanged. QV_EINVAL on bad options. */
qv_err qv_faiss_hnsw_new(const qv_faiss_hnsw_opts *o, FaissIndex **out, qv_error *err);

typedef struct qv_faiss_hnsw_info {
    int M;
    int ef_construction;
    int ef_search;
    int max_level;
    bool simd_storage;   /* distances run through Quiver's kernels */
    qv_distance_isa isa; /* meaningful when simd_storage */
} qv_faiss_hnsw_info;

/* The HNSW inside index (looking through IDMap and PreTransform wrappers).
 * QV_EINVAL when index has no HNSW. */
qv_err qv_faiss_hnsw_get_info(const FaissIndex *index, qv_faiss_hnsw_info *out, qv_error *err);
/* Set efConstruction / efSearch; a value <= 0 leaves that one unchanged. Not
 * safe concurrently with searches or adds on the same index. */
qv_err qv_faiss_hnsw_set_ef(FaissIndex *index, int ef_construction, int ef_search, qv_error *err);
/* Move the vectors of an HNSW-flat index (metric L2 or IP, e.g. from
 * faiss_index_factory "HNSW32" or a file) into storage using kernels k, or
 * back to FAISS's stock flat storage when k is NULL. No copy of the vectors;
 * not safe concurrently with other use of the index. QV_EINVAL when the index
 * is not HNSW over flat storage it owns. */
qv_err qv_faiss_hnsw_use_kernels(FaissIndex *index, const qv_distance_kernels *k, qv_error *err);

/* ---- filtered search -------------------------------------------------------------------- */

/* Return true when id may appear in results. Called from inside the search,
 * possibly from several threads; must not block or call back into FAISS. */
typedef bool (*qv_faiss_allow_fn)(void *ctx, int64_t id);

typedef struct qv_faiss_search_opts {
    int ef_search;         /* HNSW: 0 = the index's efSearch */
    size_t nprobe;         /* IVF: 0 = the index's nprobe */
    const uint64_t *allow; /* optional bitmap: id allowed iff id < allow_bits and
                              bit id%64 of allow[id/64] is set */
    size_t allow_bits;
    qv_faiss_allow_fn allow_fn; /* optional, checked after the bitmap */
    void *allow_ctx;
} qv_faiss_search_opts;

/* k-NN search of n queries like faiss_Index_search (distances and labels hold
 * n*k; missing results are label -1), restricted to allowed ids and with
 * per-call ef_search / nprobe. opts may be NULL. Ids are the labels the
 * index returns: for an IDMap index the filter sees the mapped ids. Supported:
 * Flat, HNSW, IVF and an IDMap over them. A tight filter on HNSW may yield
 * fewer than k results unless ef_search is raised. */
qv_err qv_faiss_search_with_selector(const FaissIndex *index, int64_t n, const float *x, int64_t k,
                                     const qv_faiss_search_opts *opts, float *distances,
                                     int64_t *labels, qv_error *err);

/* ---- memory serialization and cloning --------------------------------------------------- */

/* Append index in FAISS's file format to out. On failure out->len is restored. */
qv_err qv_faiss_serialize(const FaissIndex *index, qv_buf *out, qv_error *err);

#define QV_FAISS_LOAD_SIMD 1u /* move HNSW-flat storage onto the active kernels */

/* Read an index from exactly len bytes (trailing bytes are an error). Damage
 * yields QV_ECORRUPT (or QV_ENOMEM); flags is 0 or QV_FAISS_LOAD_SIMD.
 * FAISS 1.7.3 leaks the partly read objects when it rejects damaged input,
 * so verify the bytes (checksum) before calling this. */
qv_err qv_faiss_deserialize(const void *data, size_t len, unsigned flags, FaissIndex **out,
                            qv_error *err);

/* Deep copy (faiss::clone_index) that keeps Quiver kernel storage. */
qv_err qv_faiss_clone(const FaissIndex *index, FaissIndex **out, qv_error *err);

/* ---- binary IVF (faiss::IndexBinaryIVF over an IndexBinaryFlat quantizer) ------------- */

/* FAISS's C API has no binary indexes; these wrap the one Quiver uses. Vectors are
 * d_bits / 8 bytes; list assignment uses Hamming distance (FAISS's binary k-means). */
typedef struct qv_faiss_binary qv_faiss_binary; /* opaque */

qv_err qv_faiss_binary_ivf_new(int d_bits, int nlist, qv_faiss_binary **out, qv_error *err);
qv_err qv_faiss_binary_train(qv_faiss_binary *ix, int64_t n, const uint8_t *x, qv_error *err);
qv_err qv_faiss_binary_add(qv_faiss_binary *ix, int64_t n, const uint8_t *x, qv_error *err);
int64_t qv_faiss_binary_ntotal(const qv_faiss_binary *ix);

typedef struct qv_faiss_binary_search_opts {
    size_t nprobe;         /* lists scanned per query; 0: 16 (at most nlist) */
    bool jaccard;          /* rank by Jaccard distance, else by Hamming distance */
    const uint64_t *allow; /* optional bitmap of allowed ids (as qv_faiss_search_opts) */
    size_t allow_bits;
} qv_faiss_binary_search_opts;

/* k nearest of n queries: the nprobe closest lists (by Hamming distance to their
 * centroids) are scanned with Quiver's popcount kernels under the metric asked for;
 * distances ascending, ties by id, label -1 past the hits found. */
qv_err qv_faiss_binary_search(const qv_faiss_binary *ix, int64_t n, const uint8_t *x, int64_t k,
                              const qv_faiss_binary_search_opts *o, float *distances,
                              int64_t *labels, qv_error *err);
/* FAISS's binary file format (write_index_binary / read_index_binary), in memory. */
qv_err qv_faiss_binary_serialize(const qv_faiss_binary *ix, qv_buf *out, qv_error *err);
qv_err qv_faiss_binary_deserialize(const void *data, size_t len, qv_faiss_binary **out,
                                   qv_error *err);
void qv_faiss_binary_free(qv_faiss_binary *ix); /* NULL is a no-op */

#ifdef __cplusplus
}
#endif

#endif
