/* SPDX-License-Identifier: Apache-2.0 */
/* api_search_int.h - shared by api_search.c (search, grouping, hybrid fusion) and
 * api_search_query.c (the searched field, its metric and the query vectors). */
#ifndef QUIVER_API_SEARCH_INT_H
#define QUIVER_API_SEARCH_INT_H

#include "api/api_int.h"
#include "quiver/dist.h"
#include "quiver/rowcodec.h"

#define MAX_TOPK 16384
#define MAX_NQ 16384
#define MAX_SUBSEARCHES 16

/* One ANN request: the top-level search, or one entry of hybrid_search's "search". The
 * query buffers are owned; o points into them. */
typedef struct sub_search {
    qv_search_opts o;
    float *queries;          /* Float, Float16, BFloat16 fields: nq x dim */
    uint8_t *bqueries;       /* BinaryVector: nq x dim/8 */
    qv_sparse_vec *squeries; /* SparseFloatVector: nq views into sparse_data */
    qv_buf sparse_data;      /* their stored forms, one after the other */
    qv_filter *filter;
    int64_t limit, offset;
    qv_search_result r;
    bool has_result;
    qv_dist_filter src; /* the filter's text, for peers */
    char *src_params;
    int64_t *pruned; /* partition-key collections: the partitions the filter can reach */
} sub_search;

typedef struct search_req {
    const qv_req *req;
    size_t group_field; /* SIZE_MAX: no grouping */
    int64_t group_size;
    qv_collection_info ci;
    qv_coll_data *data;
    qv_dist_coll dc; /* the collection across the cluster */
    int64_t *partitions;
    size_t npartitions;
    qv_output_fields of;
    bool of_ready;
    sub_search subs[MAX_SUBSEARCHES];
    size_t nsubs;
} search_req;

/* The vector field searched: annsField, or the only vector field. */
qv_err search_pick_field(const search_req *s, const qv_jval *obj, sub_search *sub,
                         qv_error *err);
/* Search params: keys flat in obj[key] or nested under its "params" (both accepted, as
 * Milvus 2.5.2+): ef, nprobe, radius, range_filter, drop_ratio_search, metricType (checked
 * against the index's when check_metric). */
qv_err search_params(const search_req *s, const qv_jval *obj, const char *key,
                     bool check_metric, sub_search *sub, qv_error *err);
/* The queries: `data` (vectors as the field's type takes them; raw text for a BM25
 * function's output field) or `ids` (the stored vectors of those primary keys). */
qv_err search_parse_queries(const search_req *s, const qv_jval *obj, sub_search *sub,
                            qv_error *err);
void search_sub_fini(sub_search *sub);

#endif
