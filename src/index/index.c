/* SPDX-License-Identifier: Apache-2.0 */
/* index.c - qv_index over the FAISS C API and the qv_faiss_* extras (float and binary
 * kinds) and over sparse_index.c (sparse kinds); see quiver/index.h. */
#include "quiver/index.h"

#include <errno.h>
#include <pthread.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "quiver/alloc.h"
#include "quiver/distance.h"
#include "quiver/faiss_extra.h"
#include "index_int.h"

#define INDEX_MAGIC "QVIX"
#define MIN_TRAIN_PER_LIST 4 /* fewer rows than nlist * this: no IVF, exact search */

#define DEFAULT_EF 64

/* FAISS 1.7.3 sizes HNSW's search queue from the index's own efSearch, not from the
 * per-call parameters (fixed upstream in 1.8), so a search with another ef sets the
 * index's value: it takes ef_lock exclusively, searches at the default ef share it. */
struct qv_index {
    qv_index_spec spec;
    FaissIndex *faiss;    /* float kinds */
    qv_faiss_binary *bin; /* BIN_IVF_FLAT */
    sparse_index *sparse; /* sparse kinds */
    size_t rows;
    pthread_rwlock_t ef_lock;
};

/* Numeric build param `key` of p in [lo, hi] (an integer when whole), default def. */
static qv_err param_num(const qv_kvlist *p, const char *key, double def, double lo, double hi,
                        bool whole, double *out, qv_error *err)
{
    const char *v = p ? qv_kvlist_get(p, key) : NULL;
    char *end;
    double x;

    *out = def;
    if (!v)
        return QV_OK;
    errno = 0;
    x = whole ? (double)strtol(v, &end, 10) : strtod(v, &end);
    if (errno || end == v || *end || !(x >= lo && x <= hi))
        return qv_error_set(err, QV_EINVAL, "index param %s=%s must be in [%g, %g]", key, v, lo,
                            hi);
    *out = x;
    return QV_OK;
}

static qv_err param_int(const qv_kvlist *p, const char *key, int def, int lo, int hi, int *out,
                        qv_error *err)
{
    double x;
    qv_err rc = param_num(p, key, def, lo, hi, true, &x, err);
    *out = (int)x;
    return rc;
}

static qv_err param_float(const qv_kvlist *p, const char *key, float def, float lo, float hi,
                          float *out, qv_error *err)
{
    double x;
    qv_err rc = param_num(p, key, def, lo, hi, false, &x, err);
    *out = (float)x;
    return rc;
}


static const struct {
    const char *name;
    qv_index_kind kind;
} kinds[] = {{"FLAT", QV_INDEX_FLAT},
             {"HNSW", QV_INDEX_HNSW},
             {"IVF_FLAT", QV_INDEX_IVF_FLAT},
             {"IVF_SQ8", QV_INDEX_IVF_SQ8},
             {"IVF_PQ", QV_INDEX_IVF_PQ},
             {"BIN_FLAT", QV_INDEX_BIN_FLAT},
             {"BIN_IVF_FLAT", QV_INDEX_BIN_IVF_FLAT},
             {"SPARSE_INVERTED_INDEX", QV_INDEX_SPARSE_INVERTED},
             {"SPARSE_WAND", QV_INDEX_SPARSE_WAND}};

/* The kind a type/metric pair means for a field of type vtype (AUTOINDEX resolved). */
static qv_err pick_kind(const char *type, const char *metric, qv_type vtype, qv_index_spec *out,
                        qv_error *err)
{
    bool binary = vtype == QV_TYPE_BINARY_VECTOR, sparse = vtype == QV_TYPE_SPARSE_FLOAT_VECTOR;
    size_t i;

    if (!strcasecmp(type, "AUTOINDEX")) {
        out->kind = binary ? QV_INDEX_BIN_IVF_FLAT : sparse ? QV_INDEX_SPARSE_INVERTED
                                                            : QV_INDEX_HNSW;
    } else {
        for (i = 0; i < sizeof kinds / sizeof kinds[0] && strcasecmp(type, kinds[i].name); i++) {
        }
        if (i == sizeof kinds / sizeof kinds[0])
            return qv_error_set(err, QV_EINVAL, "invalid index type: %s", type);
        out->kind = kinds[i].kind;
    }
    if (binary != qv_index_kind_binary(out->kind) || sparse != qv_index_kind_sparse(out->kind))
        return qv_error_set(err, QV_EINVAL, "index type %s is not supported for a %s field",
                            type, qv_type_name(vtype));
    out->l2 = !strcasecmp(metric, "L2");
    out->cosine = !strcasecmp(metric, "COSINE");
    out->jaccard = !strcasecmp(metric, "JACCARD");
    out->bm25 = !strcasecmp(metric, "BM25");
    if (binary ? !out->jaccard && strcasecmp(metric, "HAMMING")
               : sparse ? !out->bm25 && strcasecmp(metric, "IP")
                        : !out->l2 && !out->cosine && strcasecmp(metric, "IP"))
        return qv_error_set(err, QV_EINVAL,
                            "metric type %s not found or not supported for a %s field, "
                            "supported: [%s]",
                            metric, qv_type_name(vtype),
                            binary ? "HAMMING, JACCARD" : sparse ? "IP, BM25" : "L2, IP, COSINE");
    return QV_OK;
}

qv_err qv_index_spec_parse(const char *type, const char *metric, const qv_kvlist *params,
                           qv_type vtype, uint32_t dim, qv_index_spec *out, qv_error *err)
{
    bool auto_index = !strcasecmp(type, "AUTOINDEX");
    qv_err rc;

    memset(out, 0, sizeof *out);
    if ((rc = pick_kind(type, metric, vtype, out, err)) != QV_OK)
        return rc;
    out->dim = dim;
    if ((rc = param_int(auto_index ? NULL : params, "M", 16, 2, 2048, &out->M, err)) ||
        (rc = param_int(auto_index ? NULL : params, "efConstruction", 128, 1, 1 << 20,
                        &out->ef_construction, err)) ||
        (rc = param_int(params, "nlist", 128, 1, 65536, &out->nlist, err)) ||
        (rc = param_int(params, "m", 8, 1, 65536, &out->pq_m, err)) ||
        (rc = param_int(params, "nbits", 8, 1, 16, &out->pq_nbits, err)) ||
        (rc = param_float(params, "drop_ratio_build", 0, 0, 0.99f, &out->drop_ratio_build, err)) ||
        (rc = param_float(params, "bm25_k1", 1.2f, 0, 3, &out->bm25_k1, err)) ||
        (rc = param_float(params, "bm25_b", 0.75f, 0, 1, &out->bm25_b, err)))
        return rc;
    if (out->kind == QV_INDEX_IVF_PQ && dim % (uint32_t)out->pq_m)
        return qv_error_set(err, QV_EINVAL, "dimension %u is not a multiple of m=%d", dim,
                            out->pq_m);
    return QV_OK;
}

/* vecs, or a normalised copy for COSINE (*owned set when a copy was made). */
static const float *prepared(const qv_index_spec *s, const float *vecs, size_t n, float **owned)
{
    *owned = NULL;
    if (!s->cosine)
        return vecs;
    if (!(*owned = qv_malloc(n * s->dim * sizeof(float) + 1)))
        return NULL;
    memcpy(*owned, vecs, n * s->dim * sizeof(float));
    for (size_t i = 0; i < n; i++)
        qv_distance_normalize(*owned + i * s->dim, s->dim);
    return *owned;
}

static qv_err make_faiss(const qv_index_spec *s, FaissIndex **out, qv_error *err)
{
    char desc[64];
    FaissMetricType metric = s->l2 ? METRIC_L2 : METRIC_INNER_PRODUCT;

    if (s->kind == QV_INDEX_HNSW) {
        qv_faiss_hnsw_opts o = {.d = (int)s->dim, .M = s->M,
                                .metric = s->l2 ? QV_DISTANCE_L2 : QV_DISTANCE_IP,
                                .ef_construction = s->ef_construction,
                                .ef_search = DEFAULT_EF};
        return qv_faiss_hnsw_new(&o, out, err);
    }
    if (s->kind == QV_INDEX_IVF_FLAT)
        snprintf(desc, sizeof desc, "IVF%d,Flat", s->nlist);
    else if (s->kind == QV_INDEX_IVF_SQ8)
        snprintf(desc, sizeof desc, "IVF%d,SQ8", s->nlist);
    else
        snprintf(desc, sizeof desc, "IVF%d,PQ%dx%dnp", s->nlist, s->pq_m, s->pq_nbits); /* np: no
                                                                      polysemous training */
    qv_faiss_init();
    return qv_faiss_check(faiss_index_factory(out, (int)s->dim, desc, metric), desc, err);
}

static qv_index *index_new(const qv_index_spec *spec)
{
    qv_index *ix = qv_calloc(1, sizeof *ix);

    if (ix) {
        ix->spec = *spec;
        pthread_rwlock_init(&ix->ef_lock, NULL);
    }
    return ix;
}

/* Too few rows to train this kind's lists (such blocks are searched exactly). */
static bool too_small(const qv_index_spec *spec, size_t n)
{
    if (spec->kind == QV_INDEX_IVF_FLAT || spec->kind == QV_INDEX_IVF_SQ8 ||
        spec->kind == QV_INDEX_IVF_PQ || spec->kind == QV_INDEX_BIN_IVF_FLAT)
        if (n < (size_t)spec->nlist * MIN_TRAIN_PER_LIST)
            return true;
    return spec->kind == QV_INDEX_IVF_PQ && n < (size_t)1 << spec->pq_nbits;
}

static qv_err build_float(qv_index *ix, const float *vecs, size_t n, qv_error *err)
{
    const qv_index_spec *spec = &ix->spec;
    float *copy;
    const float *x = prepared(spec, vecs, n, &copy);
    qv_err rc;

    if (!x)
        return qv_error_set(err, QV_ENOMEM, "out of memory building an index");
    if ((rc = make_faiss(spec, &ix->faiss, err)) == QV_OK && spec->kind != QV_INDEX_HNSW)
        rc = qv_faiss_check(faiss_Index_train(ix->faiss, (idx_t)n, x), "train", err);
    if (rc == QV_OK)
        rc = qv_faiss_check(faiss_Index_add(ix->faiss, (idx_t)n, x), "add", err);
    qv_free(copy);
    return rc;
}

static qv_err build_binary(qv_index *ix, const uint8_t *vecs, size_t n, qv_error *err)
{
    qv_err rc = qv_faiss_binary_ivf_new((int)ix->spec.dim, ix->spec.nlist, &ix->bin, err);

    if (rc == QV_OK)
        rc = qv_faiss_binary_train(ix->bin, (int64_t)n, vecs, err);
    if (rc == QV_OK)
        rc = qv_faiss_binary_add(ix->bin, (int64_t)n, vecs, err);
    return rc;
}

qv_err qv_index_build(const qv_index_spec *spec, const void *vecs, size_t n, qv_index **out,
                      qv_error *err)
{
    qv_index *ix;
    qv_err rc;

    *out = NULL;
    if (spec->kind == QV_INDEX_FLAT || spec->kind == QV_INDEX_BIN_FLAT || n == 0 ||
        too_small(spec, n))
        return QV_OK; /* searched exactly, counts as indexed */
    if (!(ix = index_new(spec)))
        return qv_error_set(err, QV_ENOMEM, "out of memory building an index");
    if (qv_index_kind_sparse(spec->kind)) {
        if ((rc = sparse_index_new(spec->bm25, spec->drop_ratio_build, &ix->sparse, err)) ==
            QV_OK)
            rc = sparse_index_add(ix->sparse, vecs, n, err);
    } else if (qv_index_kind_binary(spec->kind)) {
        rc = build_binary(ix, vecs, n, err);
    } else {
        rc = build_float(ix, vecs, n, err);
    }
    if (rc != QV_OK) {
        qv_index_free(ix);
        return rc;
    }
    ix->rows = n;
    *out = ix;
    return QV_OK;
}

qv_err qv_index_clone(const qv_index *ix, qv_index **out, qv_error *err)
{
    qv_buf bytes;
    qv_err rc;

    /* faiss::clone_index (1.7.3) turns an IndexHNSWFlat into a plain IndexHNSW, which
     * write_index then refuses: copy through the serialized form instead (every kind) */
    qv_buf_init(&bytes);
    if ((rc = qv_index_serialize(ix, &bytes, err)) == QV_OK)
        rc = qv_index_deserialize(bytes.data, bytes.len, out, err);
    qv_buf_fini(&bytes);
    return rc;
}

qv_err qv_index_add(qv_index *ix, const void *vecs, size_t n, qv_error *err)
{
    float *copy = NULL;
    const float *x;
    qv_err rc;

    if (ix->sparse) {
        rc = sparse_index_add(ix->sparse, vecs, n, err);
    } else if (ix->bin) {
        rc = qv_faiss_binary_add(ix->bin, (int64_t)n, vecs, err);
    } else if (!(x = prepared(&ix->spec, vecs, n, &copy))) {
        rc = qv_error_set(err, QV_ENOMEM, "out of memory extending an index");
    } else {
        rc = qv_faiss_check(faiss_Index_add(ix->faiss, (idx_t)n, x), "add", err);
        qv_free(copy);
    }
    if (rc == QV_OK)
        ix->rows += n;
    return rc;
}

size_t qv_index_rows(const qv_index *ix) { return ix ? ix->rows : 0; }
const qv_index_spec *qv_index_get_spec(const qv_index *ix) { return &ix->spec; }

static qv_err search_sparse(const qv_index *ix, const qv_index_query *q, float *dist,
                            int64_t *ids, qv_error *err)
{
    qv_err rc = QV_OK;

    for (size_t i = 0; i < q->nq && rc == QV_OK; i++) {
        sparse_query sq = {.q = q->squeries[i], .bm25 = q->bm25, .k = q->k,
                           .wand = ix->spec.kind == QV_INDEX_SPARSE_WAND, .allow = q->allow};
        rc = sparse_index_search(ix->sparse, &sq, dist + i * q->k, ids + i * q->k, err);
    }
    return rc;
}

qv_err qv_index_search(const qv_index *ix, const qv_index_query *q, float *dist, int64_t *ids,
                       qv_error *err)
{
    if (ix->sparse)
        return search_sparse(ix, q, dist, ids, err);
    if (ix->bin) {
        qv_faiss_binary_search_opts bo = {.nprobe = q->nprobe, .jaccard = ix->spec.jaccard,
                                          .allow = q->allow, .allow_bits = ix->rows};
        return qv_faiss_binary_search(ix->bin, (int64_t)q->nq, q->bqueries, (int64_t)q->k, &bo,
                                      dist, ids, err);
    }
    qv_faiss_search_opts o = {.ef_search = q->ef ? q->ef : DEFAULT_EF,
                              .nprobe = q->nprobe ? q->nprobe : 16,
                              .allow = q->allow, .allow_bits = ix->rows};
    float *copy;
    const float *x = prepared(&ix->spec, q->queries, q->nq, &copy);
    qv_err rc;

    if (!x)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    bool custom;

    if ((size_t)o.ef_search < q->k)
        o.ef_search = (int)q->k;
    custom = ix->spec.kind == QV_INDEX_HNSW && o.ef_search != DEFAULT_EF;
    if (custom) {
        pthread_rwlock_wrlock((pthread_rwlock_t *)&ix->ef_lock);
        rc = qv_faiss_hnsw_set_ef(ix->faiss, 0, o.ef_search, err);
    } else {
        pthread_rwlock_rdlock((pthread_rwlock_t *)&ix->ef_lock);
        rc = QV_OK;
    }
    if (rc == QV_OK)
        rc = qv_faiss_search_with_selector(ix->faiss, (int64_t)q->nq, x, (int64_t)q->k, &o,
                                           dist, ids, err);
    if (custom)
        qv_faiss_hnsw_set_ef(ix->faiss, 0, DEFAULT_EF, NULL);
    pthread_rwlock_unlock((pthread_rwlock_t *)&ix->ef_lock);
    qv_free(copy);
    return rc;
}

qv_err qv_index_serialize(const qv_index *ix, qv_buf *out, qv_error *err)
{
    qv_buf_put(out, INDEX_MAGIC, 4);
    qv_buf_put_u8(out, (uint8_t)ix->spec.kind);
    qv_buf_put_u8(out, (uint8_t)(ix->spec.cosine | ix->spec.l2 << 1 | ix->spec.jaccard << 2 |
                                 ix->spec.bm25 << 3));
    qv_buf_put_u32(out, ix->spec.dim);
    qv_buf_put_u64(out, ix->rows);
    if (ix->sparse)
        return sparse_index_serialize(ix->sparse, out, err);
    if (ix->bin)
        return qv_faiss_binary_serialize(ix->bin, out, err);
    return qv_faiss_serialize(ix->faiss, out, err);
}

qv_err qv_index_deserialize(const void *p, size_t len, qv_index **out, qv_error *err)
{
    qv_index *ix;
    qv_reader r;
    const void *magic;
    uint8_t flags;
    qv_err rc;

    qv_reader_init(&r, p, len);
    magic = qv_reader_bytes(&r, 4);
    if (!magic || memcmp(magic, INDEX_MAGIC, 4) != 0)
        return qv_error_set(err, QV_ECORRUPT, "index: bad magic");
    if (!(ix = qv_calloc(1, sizeof *ix)))
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    pthread_rwlock_init(&ix->ef_lock, NULL);
    ix->spec.kind = (qv_index_kind)qv_reader_u8(&r);
    flags = qv_reader_u8(&r);
    ix->spec.cosine = flags & 1;
    ix->spec.l2 = flags & 2;
    ix->spec.jaccard = flags & 4;
    ix->spec.bm25 = flags & 8;
    ix->spec.dim = qv_reader_u32(&r);
    ix->rows = qv_reader_u64(&r);
    if (r.failed || ix->spec.kind > QV_INDEX_SPARSE_WAND || ix->spec.kind == QV_INDEX_FLAT ||
        ix->spec.kind == QV_INDEX_BIN_FLAT) {
        qv_index_free(ix);
        return qv_error_set(err, QV_ECORRUPT, "index: bad header");
    }
    p = (const uint8_t *)p + r.pos;
    len -= r.pos;
    if (qv_index_kind_sparse(ix->spec.kind))
        rc = sparse_index_deserialize(p, len, &ix->sparse, err);
    else if (qv_index_kind_binary(ix->spec.kind))
        rc = qv_faiss_binary_deserialize(p, len, &ix->bin, err);
    else
        rc = qv_faiss_deserialize(p, len, QV_FAISS_LOAD_SIMD, &ix->faiss, err);
    if (rc == QV_OK && (ix->sparse ? sparse_index_rows(ix->sparse)
                        : ix->bin  ? (size_t)qv_faiss_binary_ntotal(ix->bin)
                                   : (size_t)faiss_Index_ntotal(ix->faiss)) != ix->rows)
        rc = qv_error_set(err, QV_ECORRUPT, "index: row count mismatch");
    if (rc != QV_OK) {
        qv_index_free(ix);
        return rc;
    }
    *out = ix;
    return QV_OK;
}

void qv_index_free(qv_index *ix)
{
    if (!ix)
        return;
    if (ix->faiss)
        faiss_Index_free(ix->faiss);
    qv_faiss_binary_free(ix->bin);
    sparse_index_free(ix->sparse);
    pthread_rwlock_destroy(&ix->ef_lock);
    qv_free(ix);
}
