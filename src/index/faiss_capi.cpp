// SPDX-License-Identifier: Apache-2.0
/* faiss_capi.cpp - the FAISS C API (the headers in faiss/c_api/, FAISS 1.7.3) over the
 * static C++ libfaiss, for systems that ship the headers but no libfaiss_c.
 *
 * Only functions the shipped headers declare are defined here, with their
 * exact signatures (the headers are included, so the compiler checks them).
 * Conventions follow upstream c_api: opaque Faiss* handles are reinterpret_casts
 * of faiss:: objects; fallible calls return 0 or a FaissErrorCode (-2 FAISS
 * exception, -4 std::exception, -1 anything else) and record the message
 * for faiss_get_last_error() in thread-local storage. Unlike upstream, the
 * message is kept as a string (no slicing of std::exception subclasses) and
 * nothing is printed to stderr. Each fallible call also applies Quiver's
 * OpenMP thread count to the calling thread (see faiss_extra.h).
 *
 * Not compiled when meson finds a system libfaiss_c (-Dsystem_faiss_c). */
#include <faiss/AutoTune.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/clone_index.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/clone_index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/error_impl.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>

#include <algorithm>
#include <string>

#include "faiss_int.h"

using faiss::Index;

/* Declared in faiss/c_api/error_impl.h; upstream keeps the last exception here. */
thread_local std::exception_ptr faiss_last_exception;
static thread_local std::string capi_last_msg;

namespace {

int capi_record(std::exception_ptr ep) noexcept
{
    int code = UNKNOWN_EXCEPT;
    const char *what = "Unknown error";
    std::string *msg = &capi_last_msg;

    try {
        std::rethrow_exception(ep);
    } catch (const faiss::FaissException &e) {
        code = FAISS_EXCEPT;
        what = e.what();
    } catch (const std::exception &e) {
        code = STD_EXCEPT;
        what = e.what();
    } catch (...) {
    }
    faiss_last_exception = ep; /* keeps the exception, and so `what`, alive */
    try {
        msg->assign(what);
    } catch (...) {
        msg->clear(); /* out of memory for the message itself */
    }
    return code;
}

/* Run f() with the thread setup applied; 0 on success, else a FaissErrorCode. */
template <class F> int capi(F &&f) noexcept
{
    try {
        index_threads_apply();
        f();
        return OK;
    } catch (...) {
        return capi_record(std::current_exception());
    }
}

template <class T, class H> inline T *obj(H *h) { return reinterpret_cast<T *>(h); }
template <class T, class H> inline const T *obj(const H *h)
{
    return reinterpret_cast<const T *>(h);
}
template <class H, class T> inline H *handle(T *p) { return reinterpret_cast<H *>(p); }

/* For the few non-int C API functions that can throw: record and return dflt. */
template <class T, class F> T capi_value(T dflt, F &&f) noexcept
{
    try {
        return f();
    } catch (...) {
        capi_record(std::current_exception());
        return dflt;
    }
}

} // namespace

extern "C" {

/* ---- error_c.h -------------------------------------------------------------------------- */

const char *faiss_get_last_error()
{
    return faiss_last_exception ? capi_last_msg.c_str() : nullptr;
}

/* ---- Index_c.h -------------------------------------------------------------------------- */

void faiss_Index_free(FaissIndex *index) { delete obj<Index>(index); }
int faiss_Index_d(const FaissIndex *index) { return obj<Index>(index)->d; }
int faiss_Index_is_trained(const FaissIndex *index) { return obj<Index>(index)->is_trained; }
idx_t faiss_Index_ntotal(const FaissIndex *index) { return obj<Index>(index)->ntotal; }
FaissMetricType faiss_Index_metric_type(const FaissIndex *index)
{
    return static_cast<FaissMetricType>(obj<Index>(index)->metric_type);
}
int faiss_Index_verbose(const FaissIndex *index) { return obj<Index>(index)->verbose; }
void faiss_Index_set_verbose(FaissIndex *index, int verbose)
{
    obj<Index>(index)->verbose = verbose != 0;
}

int faiss_Index_train(FaissIndex *index, idx_t n, const float *x)
{
    return capi([&] { obj<Index>(index)->train(n, x); });
}

int faiss_Index_add(FaissIndex *index, idx_t n, const float *x)
{
    return capi([&] { obj<Index>(index)->add(n, x); });
}

int faiss_Index_add_with_ids(FaissIndex *index, idx_t n, const float *x, const idx_t *xids)
{
    return capi([&] { obj<Index>(index)->add_with_ids(n, x, xids); });
}

int faiss_Index_search(const FaissIndex *index, idx_t n, const float *x, idx_t k, float *distances,
                       idx_t *labels)
{
    return capi([&] { obj<Index>(index)->search(n, x, k, distances, labels); });
}

int faiss_Index_range_search(const FaissIndex *index, idx_t n, const float *x, float radius,
                             FaissRangeSearchResult *result)
{
    return capi([&] {
        obj<Index>(index)->range_search(n, x, radius, obj<faiss::RangeSearchResult>(result));
    });
}

int faiss_Index_assign(FaissIndex *index, idx_t n, const float *x, idx_t *labels, idx_t k)
{
    return capi([&] { obj<Index>(index)->assign(n, x, labels, k); });
}

int faiss_Index_reset(FaissIndex *index)
{
    return capi([&] { obj<Index>(index)->reset(); });
}

int faiss_Index_remove_ids(FaissIndex *index, const FaissIDSelector *sel, size_t *n_removed)
{
    return capi([&] {
        size_t n = obj<Index>(index)->remove_ids(*obj<faiss::IDSelector>(sel));
        if (n_removed)
            *n_removed = n;
    });
}

int faiss_Index_reconstruct(const FaissIndex *index, idx_t key, float *recons)
{
    return capi([&] { obj<Index>(index)->reconstruct(key, recons); });
}

int faiss_Index_reconstruct_n(const FaissIndex *index, idx_t i0, idx_t ni, float *recons)
{
    return capi([&] { obj<Index>(index)->reconstruct_n(i0, ni, recons); });
}

int faiss_Index_compute_residual(const FaissIndex *index, const float *x, float *residual,
                                 idx_t key)
{
    return capi([&] { obj<Index>(index)->compute_residual(x, residual, key); });
}

int faiss_Index_compute_residual_n(const FaissIndex *index, idx_t n, const float *x,
                                   float *residuals, const idx_t *keys)
{
    return capi([&] { obj<Index>(index)->compute_residual_n(n, x, residuals, keys); });
}

int faiss_Index_sa_code_size(const FaissIndex *index, size_t *size)
{
    return capi([&] { *size = obj<Index>(index)->sa_code_size(); });
}

int faiss_Index_sa_encode(const FaissIndex *index, idx_t n, const float *x, uint8_t *bytes)
{
    return capi([&] { obj<Index>(index)->sa_encode(n, x, bytes); });
}

int faiss_Index_sa_decode(const FaissIndex *index, idx_t n, const uint8_t *bytes, float *x)
{
    return capi([&] { obj<Index>(index)->sa_decode(n, bytes, x); });
}

/* ---- index_factory_c.h, index_io_c.h, clone_index_c.h ----------------------------------- */

int faiss_index_factory(FaissIndex **p_index, int d, const char *description,
                        FaissMetricType metric)
{
    return capi([&] {
        *p_index = handle<FaissIndex>(
            faiss::index_factory(d, description, static_cast<faiss::MetricType>(metric)));
    });
}

int faiss_write_index(const FaissIndex *idx, FILE *f)
{
    return capi([&] { faiss::write_index(obj<Index>(idx), f); });
}

int faiss_write_index_fname(const FaissIndex *idx, const char *fname)
{
    return capi([&] { faiss::write_index(obj<Index>(idx), fname); });
}

int faiss_read_index(FILE *f, int io_flags, FaissIndex **p_out)
{
    return capi([&] { *p_out = handle<FaissIndex>(faiss::read_index(f, io_flags)); });
}

int faiss_read_index_fname(const char *fname, int io_flags, FaissIndex **p_out)
{
    return capi([&] { *p_out = handle<FaissIndex>(faiss::read_index(fname, io_flags)); });
}

int faiss_clone_index(const FaissIndex *idx, FaissIndex **p_out)
{
    return capi([&] { *p_out = handle<FaissIndex>(faiss::clone_index(obj<Index>(idx))); });
}

/* ---- IndexFlat_c.h ---------------------------------------------------------------------- */

int faiss_IndexFlat_new(FaissIndexFlat **p_index)
{
    return capi([&] { *p_index = handle<FaissIndexFlat>(new faiss::IndexFlat()); });
}

int faiss_IndexFlat_new_with(FaissIndexFlat **p_index, idx_t d, FaissMetricType metric)
{
    return capi([&] {
        *p_index =
            handle<FaissIndexFlat>(new faiss::IndexFlat(d, static_cast<faiss::MetricType>(metric)));
    });
}

void faiss_IndexFlat_xb(FaissIndexFlat *index, float **p_xb, size_t *p_size)
{
    auto *f = obj<faiss::IndexFlat>(index);
    *p_xb = f->get_xb();
    if (p_size)
        *p_size = f->codes.size() / sizeof(float);
}

FaissIndexFlat *faiss_IndexFlat_cast(FaissIndex *index)
{
    return handle<FaissIndexFlat>(dynamic_cast<faiss::IndexFlat *>(obj<Index>(index)));
}

void faiss_IndexFlat_free(FaissIndexFlat *obj_) { delete obj<faiss::IndexFlat>(obj_); }

int faiss_IndexFlat_compute_distance_subset(FaissIndex *index, idx_t n, const float *x, idx_t k,
                                            float *distances, const idx_t *labels)
{
    return capi(
        [&] { obj<faiss::IndexFlat>(index)->compute_distance_subset(n, x, k, distances, labels); });
}

FaissIndexFlatIP *faiss_IndexFlatIP_cast(FaissIndex *index)
{
    return handle<FaissIndexFlatIP>(dynamic_cast<faiss::IndexFlatIP *>(obj<Index>(index)));
}

void faiss_IndexFlatIP_free(FaissIndexFlatIP *obj_) { delete obj<faiss::IndexFlatIP>(obj_); }

int faiss_IndexFlatIP_new(FaissIndexFlatIP **p_index)
{
    return capi([&] { *p_index = handle<FaissIndexFlatIP>(new faiss::IndexFlatIP()); });
}

int faiss_IndexFlatIP_new_with(FaissIndexFlatIP **p_index, idx_t d)
{
    return capi([&] { *p_index = handle<FaissIndexFlatIP>(new faiss::IndexFlatIP(d)); });
}

FaissIndexFlatL2 *faiss_IndexFlatL2_cast(FaissIndex *index)
{
    return handle<FaissIndexFlatL2>(dynamic_cast<faiss::IndexFlatL2 *>(obj<Index>(index)));
}

void faiss_IndexFlatL2_free(FaissIndexFlatL2 *obj_) { delete obj<faiss::IndexFlatL2>(obj_); }

int faiss_IndexFlatL2_new(FaissIndexFlatL2 **p_index)
{
    return capi([&] { *p_index = handle<FaissIndexFlatL2>(new faiss::IndexFlatL2()); });
}

int faiss_IndexFlatL2_new_with(FaissIndexFlatL2 **p_index, idx_t d)
{
    return capi([&] { *p_index = handle<FaissIndexFlatL2>(new faiss::IndexFlatL2(d)); });
}

/* ---- IndexIVF_c.h ----------------------------------------------------------------------- */

void faiss_IndexIVF_free(FaissIndexIVF *obj_) { delete obj<faiss::IndexIVF>(obj_); }

FaissIndexIVF *faiss_IndexIVF_cast(FaissIndex *index)
{
    return handle<FaissIndexIVF>(dynamic_cast<faiss::IndexIVF *>(obj<Index>(index)));
}

size_t faiss_IndexIVF_nlist(const FaissIndexIVF *index)
{
    return obj<faiss::IndexIVF>(index)->nlist;
}
size_t faiss_IndexIVF_nprobe(const FaissIndexIVF *index)
{
    return obj<faiss::IndexIVF>(index)->nprobe;
}
void faiss_IndexIVF_set_nprobe(FaissIndexIVF *index, size_t nprobe)
{
    obj<faiss::IndexIVF>(index)->nprobe = nprobe;
}
FaissIndex *faiss_IndexIVF_quantizer(const FaissIndexIVF *index)
{
    return handle<FaissIndex>(obj<faiss::IndexIVF>(index)->quantizer);
}
char faiss_IndexIVF_quantizer_trains_alone(const FaissIndexIVF *index)
{
    return obj<faiss::IndexIVF>(index)->quantizer_trains_alone;
}
int faiss_IndexIVF_own_fields(const FaissIndexIVF *index)
{
    return obj<faiss::IndexIVF>(index)->own_fields;
}
void faiss_IndexIVF_set_own_fields(FaissIndexIVF *index, int own)
{
    obj<faiss::IndexIVF>(index)->own_fields = own != 0;
}

int faiss_IndexIVF_merge_from(FaissIndexIVF *index, FaissIndexIVF *other, idx_t add_id)
{
    return capi(
        [&] { obj<faiss::IndexIVF>(index)->merge_from(*obj<faiss::IndexIVF>(other), add_id); });
}

size_t faiss_IndexIVF_get_list_size(const FaissIndexIVF *index, size_t list_no)
{
    return capi_value<size_t>(0,
                              [&] { return obj<faiss::IndexIVF>(index)->get_list_size(list_no); });
}

int faiss_IndexIVF_make_direct_map(FaissIndexIVF *index, int new_maintain_direct_map)
{
    return capi(
        [&] { obj<faiss::IndexIVF>(index)->make_direct_map(new_maintain_direct_map != 0); });
}

double faiss_IndexIVF_imbalance_factor(const FaissIndexIVF *index)
{
    return capi_value(0.0,
                      [&] { return obj<faiss::IndexIVF>(index)->invlists->imbalance_factor(); });
}

void faiss_IndexIVF_invlists_get_ids(const FaissIndexIVF *index, size_t list_no, idx_t *invlist)
{
    capi_value(0, [&] {
        const faiss::InvertedLists *il = obj<faiss::IndexIVF>(index)->invlists;
        size_t n = il->list_size(list_no);
        faiss::InvertedLists::ScopedIds ids(il, list_no);
        std::copy(ids.get(), ids.get() + n, invlist);
        return 0;
    });
}

/* ---- AutoTune_c.h ----------------------------------------------------------------------- */

int faiss_ParameterSpace_new(FaissParameterSpace **space)
{
    return capi([&] { *space = handle<FaissParameterSpace>(new faiss::ParameterSpace()); });
}

void faiss_ParameterSpace_free(FaissParameterSpace *space)
{
    delete obj<faiss::ParameterSpace>(space);
}

int faiss_ParameterSpace_set_index_parameters(const FaissParameterSpace *space, FaissIndex *index,
                                              const char *params)
{
    return capi([&] {
        obj<faiss::ParameterSpace>(space)->set_index_parameters(obj<Index>(index), params);
    });
}

int faiss_ParameterSpace_set_index_parameter(const FaissParameterSpace *space, FaissIndex *index,
                                             const char *name, double value)
{
    return capi([&] {
        obj<faiss::ParameterSpace>(space)->set_index_parameter(obj<Index>(index), name, value);
    });
}

/* ---- impl/AuxIndexStructures_c.h -------------------------------------------------------- */

size_t faiss_RangeSearchResult_nq(const FaissRangeSearchResult *r)
{
    return obj<faiss::RangeSearchResult>(r)->nq;
}

int faiss_RangeSearchResult_new(FaissRangeSearchResult **p_rsr, idx_t nq)
{
    return capi([&] { *p_rsr = handle<FaissRangeSearchResult>(new faiss::RangeSearchResult(nq)); });
}

int faiss_RangeSearchResult_new_with(FaissRangeSearchResult **p_rsr, idx_t nq, int alloc_lims)
{
    return capi([&] {
        *p_rsr = handle<FaissRangeSearchResult>(new faiss::RangeSearchResult(nq, alloc_lims != 0));
    });
}

int faiss_RangeSearchResult_do_allocation(FaissRangeSearchResult *rsr)
{
    return capi([&] { obj<faiss::RangeSearchResult>(rsr)->do_allocation(); });
}

void faiss_RangeSearchResult_free(FaissRangeSearchResult *obj_)
{
    delete obj<faiss::RangeSearchResult>(obj_);
}

size_t faiss_RangeSearchResult_buffer_size(const FaissRangeSearchResult *r)
{
    return obj<faiss::RangeSearchResult>(r)->buffer_size;
}

void faiss_RangeSearchResult_lims(FaissRangeSearchResult *rsr, size_t **lims)
{
    *lims = obj<faiss::RangeSearchResult>(rsr)->lims;
}

void faiss_RangeSearchResult_labels(FaissRangeSearchResult *rsr, idx_t **labels, float **distances)
{
    auto *r = obj<faiss::RangeSearchResult>(rsr);
    *labels = r->labels;
    *distances = r->distances;
}

void faiss_IDSelector_free(FaissIDSelector *obj_) { delete obj<faiss::IDSelector>(obj_); }

int faiss_IDSelector_is_member(const FaissIDSelector *sel, idx_t id)
{
    return obj<faiss::IDSelector>(sel)->is_member(id);
}

void faiss_IDSelectorRange_free(FaissIDSelectorRange *obj_)
{
    delete obj<faiss::IDSelectorRange>(obj_);
}

idx_t faiss_IDSelectorRange_imin(const FaissIDSelectorRange *sel)
{
    return obj<faiss::IDSelectorRange>(sel)->imin;
}

idx_t faiss_IDSelectorRange_imax(const FaissIDSelectorRange *sel)
{
    return obj<faiss::IDSelectorRange>(sel)->imax;
}

int faiss_IDSelectorRange_new(FaissIDSelectorRange **p_sel, idx_t imin, idx_t imax)
{
    return capi(
        [&] { *p_sel = handle<FaissIDSelectorRange>(new faiss::IDSelectorRange(imin, imax)); });
}

int faiss_IDSelectorBatch_nbits(const FaissIDSelectorBatch *sel)
{
    return obj<faiss::IDSelectorBatch>(sel)->nbits;
}

idx_t faiss_IDSelectorBatch_mask(const FaissIDSelectorBatch *sel)
{
    return obj<faiss::IDSelectorBatch>(sel)->mask;
}

int faiss_IDSelectorBatch_new(FaissIDSelectorBatch **p_sel, size_t n, const idx_t *indices)
{
    return capi(
        [&] { *p_sel = handle<FaissIDSelectorBatch>(new faiss::IDSelectorBatch(n, indices)); });
}

int faiss_DistanceComputer_set_query(FaissDistanceComputer *dc, const float *x)
{
    return capi([&] { obj<faiss::DistanceComputer>(dc)->set_query(x); });
}

int faiss_DistanceComputer_vector_to_query_dis(FaissDistanceComputer *dc, idx_t i, float *qd)
{
    return capi([&] { *qd = (*obj<faiss::DistanceComputer>(dc))(i); });
}

int faiss_DistanceComputer_symmetric_dis(FaissDistanceComputer *dc, idx_t i, idx_t j, float *vd)
{
    return capi([&] { *vd = obj<faiss::DistanceComputer>(dc)->symmetric_dis(i, j); });
}

void faiss_DistanceComputer_free(FaissDistanceComputer *obj_)
{
    delete obj<faiss::DistanceComputer>(obj_);
}

/* ---- MetaIndexes_c.h -------------------------------------------------------------------- */

int faiss_IndexIDMap_own_fields(const FaissIndexIDMap *index)
{
    return obj<faiss::IndexIDMap>(index)->own_fields;
}

void faiss_IndexIDMap_set_own_fields(FaissIndexIDMap *index, int own)
{
    obj<faiss::IndexIDMap>(index)->own_fields = own != 0;
}

int faiss_IndexIDMap_new(FaissIndexIDMap **p_index, FaissIndex *index)
{
    return capi(
        [&] { *p_index = handle<FaissIndexIDMap>(new faiss::IndexIDMap(obj<Index>(index))); });
}

FaissIndexIDMap *faiss_IndexIDMap_cast(FaissIndex *index)
{
    return handle<FaissIndexIDMap>(dynamic_cast<faiss::IndexIDMap *>(obj<Index>(index)));
}

void faiss_IndexIDMap_id_map(FaissIndexIDMap *index, idx_t **p_id_map, size_t *p_size)
{
    auto *m = obj<faiss::IndexIDMap>(index);
    *p_id_map = m->id_map.data();
    *p_size = m->id_map.size();
}

FaissIndex *faiss_IndexIDMap_sub_index(FaissIndexIDMap *index)
{
    return handle<FaissIndex>(obj<faiss::IndexIDMap>(index)->index);
}

int faiss_IndexIDMap2_own_fields(const FaissIndexIDMap2 *index)
{
    return obj<faiss::IndexIDMap2>(index)->own_fields;
}

void faiss_IndexIDMap2_set_own_fields(FaissIndexIDMap2 *index, int own)
{
    obj<faiss::IndexIDMap2>(index)->own_fields = own != 0;
}

int faiss_IndexIDMap2_new(FaissIndexIDMap2 **p_index, FaissIndex *index)
{
    return capi(
        [&] { *p_index = handle<FaissIndexIDMap2>(new faiss::IndexIDMap2(obj<Index>(index))); });
}

int faiss_IndexIDMap2_construct_rev_map(FaissIndexIDMap2 *index)
{
    return capi([&] { obj<faiss::IndexIDMap2>(index)->construct_rev_map(); });
}

FaissIndexIDMap2 *faiss_IndexIDMap2_cast(FaissIndex *index)
{
    return handle<FaissIndexIDMap2>(dynamic_cast<faiss::IndexIDMap2 *>(obj<Index>(index)));
}

void faiss_IndexIDMap2_id_map(FaissIndexIDMap2 *index, idx_t **p_id_map, size_t *p_size)
{
    auto *m = obj<faiss::IndexIDMap2>(index);
    *p_id_map = m->id_map.data();
    *p_size = m->id_map.size();
}

FaissIndex *faiss_IndexIDMap2_sub_index(FaissIndexIDMap2 *index)
{
    return handle<FaissIndex>(obj<faiss::IndexIDMap2>(index)->index);
}

} /* extern "C" */
