/* SPDX-License-Identifier: Apache-2.0 */
/* scalar_index.c - sorted keys with posting lists over one sealed segment's column
 * (quiver/scalar_index.h): spec checks, build, lookups, (de)serialization. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "quiver/alloc.h"
#include "quiver/scalar_index.h"

#define EXACT_DOUBLE_INT (INT64_C(1) << 53)

struct qv_sindex {
    qv_skey_kind kind;
    bool exact;
    uint32_t rows, nkeys, npost;
    int64_t *ikeys;   /* INT, BOOL */
    double *dkeys;    /* DOUBLE */
    uint32_t *soff;   /* STR: nkeys + 1 offsets into sbytes */
    char *sbytes;
    uint32_t *start;  /* nkeys + 1: postings of key k are post[start[k] .. start[k+1]) */
    uint32_t *post;
};

/* ---- spec ------------------------------------------------------------------------------ */

static const char *const type_names[] = {"INVERTED", "STL_SORT", "BITMAP", "Trie", "AUTOINDEX"};

const char *qv_sindex_type_name(const char *t)
{
    for (size_t i = 0; t && i < sizeof type_names / sizeof *type_names; i++)
        if (strcasecmp(t, type_names[i]) == 0)
            return type_names[i];
    return NULL;
}

static qv_skey_kind kind_of(qv_type t)
{
    if (t == QV_TYPE_BOOL)
        return QV_SKEY_BOOL;
    if (t == QV_TYPE_FLOAT || t == QV_TYPE_DOUBLE)
        return QV_SKEY_DOUBLE;
    return t == QV_TYPE_VARCHAR ? QV_SKEY_STR : QV_SKEY_INT;
}

/* `name["a"]['b'][3]` -> steps; the leading name must be the field's. */
static qv_err parse_path(const char *field, const char *path, qv_sindex_spec *s, qv_error *err)
{
    size_t flen = strlen(field);
    const char *p = path;

    if (strncmp(p, field, flen) != 0)
        goto bad;
    for (p += flen; *p; s->nsteps++) {
        qv_json_step *st = &s->steps[s->nsteps];
        if (*p++ != '[' || s->nsteps == QV_SINDEX_MAX_PATH)
            goto bad;
        if (*p == '"' || *p == '\'') {
            char q = *p++, *key = qv_malloc(strlen(p) + 1);
            size_t n = 0;
            if (!key)
                return qv_error_set(err, QV_ENOMEM, "out of memory");
            while (*p && *p != q) {
                if (*p == '\\' && p[1])
                    p++;
                key[n++] = *p++;
            }
            key[n] = 0;
            st->key = key;
            st->klen = n;
            if (*p++ != q)
                goto bad;
        } else {
            char *end;
            long long v = strtoll(p, &end, 10);
            if (end == p || v < 0)
                goto bad;
            st->is_index = true;
            st->index = v;
            p = end;
        }
        if (*p++ != ']')
            goto bad;
    }
    return QV_OK;
bad:
    if (s->nsteps < QV_SINDEX_MAX_PATH) { /* the step being parsed is not counted yet */
        qv_free((char *)s->steps[s->nsteps].key);
        s->steps[s->nsteps].key = NULL;
    }
    return qv_error_set(err, QV_EINVAL,
                        "json_path %s is invalid: expected %s[\"key\"][index]...: invalid "
                        "parameter",
                        path, field);
}

static qv_err parse_cast(const char *cast, qv_sindex_spec *s, qv_error *err)
{
    if (!cast)
        return qv_error_set(err, QV_EINVAL,
                            "json index must specify cast type (json_cast_type: BOOL, DOUBLE "
                            "or VARCHAR): invalid parameter");
    if (strcasecmp(cast, "bool") == 0)
        s->kind = QV_SKEY_BOOL;
    else if (strcasecmp(cast, "double") == 0)
        s->kind = QV_SKEY_DOUBLE;
    else if (strcasecmp(cast, "varchar") == 0)
        s->kind = QV_SKEY_STR;
    else
        return qv_error_set(err, QV_EINVAL,
                            "json_cast_type %s is not supported, supported: [BOOL DOUBLE "
                            "VARCHAR]: invalid parameter",
                            cast);
    return QV_OK;
}

/* Milvus's rules: STL_SORT numeric (and VarChar), Trie VarChar, BITMAP not on floats,
 * JSON or the primary key, INVERTED and AUTOINDEX on every scalar type. */
static const char *type_refusal(const char *it, qv_type t, qv_type et, bool primary)
{
    qv_type base = t == QV_TYPE_ARRAY ? et : t;

    if (strcasecmp(it, "STL_SORT") == 0 && !qv_type_is_numeric(t) && t != QV_TYPE_VARCHAR)
        return "STL_SORT are only supported on numeric or varchar field";
    if (strcasecmp(it, "Trie") == 0 && t != QV_TYPE_VARCHAR)
        return "TRIE are only supported on varchar field";
    if (strcasecmp(it, "BITMAP") == 0 &&
        (primary || t == QV_TYPE_JSON || base == QV_TYPE_FLOAT || base == QV_TYPE_DOUBLE))
        return "bitmap index are only supported on bool, int, string and array field";
    return NULL;
}

qv_err qv_sindex_spec_parse(const char *index_type, const char *field_name, qv_type type,
                            qv_type etype, bool primary, const char *json_path,
                            const char *cast, qv_sindex_spec *out, qv_error *err)
{
    qv_sindex_spec tmp;
    qv_sindex_spec *s = out ? out : &tmp;
    const char *why;
    qv_err rc = QV_OK;

    memset(s, 0, sizeof *s);
    if (!qv_sindex_type_name(index_type) || qv_type_is_vector(type))
        return qv_error_set(err, QV_EINVAL,
                            "invalid index type %s for %s field %s: invalid parameter",
                            index_type, qv_type_name(type), field_name);
    if ((why = type_refusal(index_type, type, etype, primary)))
        return qv_error_set(err, QV_EINVAL, "%s: invalid parameter", why);
    if ((json_path || cast) && type != QV_TYPE_JSON)
        return qv_error_set(err, QV_EINVAL,
                            "json_path and json_cast_type apply to JSON fields only: invalid "
                            "parameter");
    s->type = type;
    s->etype = etype;
    s->kind = kind_of(type == QV_TYPE_ARRAY ? etype : type);
    if (type == QV_TYPE_JSON && (rc = parse_cast(cast, s, err)) == QV_OK && json_path)
        rc = parse_path(field_name, json_path, s, err);
    if (rc != QV_OK || !out)
        qv_sindex_spec_fini(s);
    return rc;
}

void qv_sindex_spec_fini(qv_sindex_spec *s)
{
    for (size_t i = 0; i < s->nsteps; i++)
        qv_free((char *)s->steps[i].key);
    s->nsteps = 0;
}

void qv_sindex_path_text(const qv_json_step *steps, size_t n, qv_buf *out)
{
    char num[32];

    for (size_t i = 0; i < n; i++) {
        if (steps[i].is_index) {
            int len = snprintf(num, sizeof num, "[%lld]", (long long)steps[i].index);
            qv_buf_put(out, num, (size_t)len);
        } else {
            qv_buf_put(out, "[\"", 2);
            qv_buf_put(out, steps[i].key, steps[i].klen);
            qv_buf_put(out, "\"]", 2);
        }
    }
}

/* ---- keys ------------------------------------------------------------------------------ */

static int key_cmp(qv_skey_kind kind, const qv_skey *a, const qv_skey *b)
{
    if (kind == QV_SKEY_DOUBLE)
        return (a->d > b->d) - (a->d < b->d);
    if (kind != QV_SKEY_STR)
        return (a->i > b->i) - (a->i < b->i);
    int r = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    if (r)
        return r < 0 ? -1 : 1;
    return (a->len > b->len) - (a->len < b->len);
}

int qv_sindex_jsonb_key(qv_skey_kind kind, qv_jsonb v, qv_skey *out)
{
    qv_jsonb_type t = qv_jsonb_typeof(v);
    bool b;

    memset(out, 0, sizeof *out);
    switch (kind) {
    case QV_SKEY_BOOL:
        if (!qv_jsonb_get_bool(v, &b))
            return 0;
        out->i = b;
        return 1;
    case QV_SKEY_STR:
        return qv_jsonb_get_string(v, &out->s, &out->len) ? 1 : 0;
    case QV_SKEY_INT:
        if (t == QV_JSONB_INT)
            return qv_jsonb_get_int(v, &out->i) ? 1 : 0;
        if (t != QV_JSONB_DOUBLE || !qv_jsonb_get_double(v, &out->d))
            return 0;
        if (!(out->d >= -9223372036854775808.0 && out->d < 9223372036854775808.0) ||
            out->d != floor(out->d))
            return 0; /* a fraction (or NaN) equals no integer */
        out->i = (int64_t)out->d;
        return 1;
    default: /* DOUBLE */
        if (t == QV_JSONB_INT) {
            if (!qv_jsonb_get_int(v, &out->i))
                return 0;
            if (out->i < -EXACT_DOUBLE_INT || out->i > EXACT_DOUBLE_INT)
                return -1;
            out->d = (double)out->i;
            return 1;
        }
        if (t != QV_JSONB_DOUBLE || !qv_jsonb_get_double(v, &out->d))
            return 0;
        return isnan(out->d) ? -1 : 1;
    }
}

int qv_sindex_json_key(const qv_sindex_spec *spec, qv_jsonb row, qv_skey *out)
{
    for (size_t s = 0; s < spec->nsteps && qv_jsonb_present(row); s++) {
        const qv_json_step *st = &spec->steps[s];
        row = st->is_index ? qv_jsonb_index(row, (size_t)st->index)
                           : qv_jsonb_find(row, st->key, st->klen);
    }
    if (!qv_jsonb_present(row)) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    return qv_sindex_jsonb_key(spec->kind, row, out);
}

/* ---- build ----------------------------------------------------------------------------- */

typedef struct entry {
    qv_skey k;
    uint32_t row;
} entry;

typedef struct entries {
    entry *v;
    size_t n, cap;
    qv_skey_kind kind;
    bool exact;
} entries;

static _Thread_local qv_skey_kind sort_kind;

static int entry_cmp(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    int r = key_cmp(sort_kind, &a->k, &b->k);
    return r ? r : (a->row > b->row) - (a->row < b->row);
}

static bool push(entries *e, const qv_skey *k, size_t row)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 1024;
        entry *v = qv_reallocarray(e->v, cap, sizeof *v);
        if (!v)
            return false;
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = (entry){*k, (uint32_t)row};
    return true;
}

/* push a key result: 1 keyed, 0 no key, -1 inexact */
static bool push_res(entries *e, int res, const qv_skey *k, size_t row)
{
    if (res < 0)
        e->exact = false;
    return res <= 0 || push(e, k, row);
}

static qv_jsonb row_jsonb(const void *data, const uint64_t *offsets, size_t r)
{
    qv_jsonb j = {NULL, 0};
    if (offsets[r + 1] > offsets[r] && data)
        j = qv_jsonb_root((const uint8_t *)data + offsets[r],
                          (size_t)(offsets[r + 1] - offsets[r]));
    return j;
}

static bool scalar_key(const qv_sindex_spec *s, const void *data, const uint64_t *offsets,
                       size_t r, qv_skey *k)
{
    memset(k, 0, sizeof *k);
    switch (s->type) {
    case QV_TYPE_BOOL: k->i = ((const uint8_t *)data)[r] != 0; return true;
    case QV_TYPE_INT8: k->i = ((const int8_t *)data)[r]; return true;
    case QV_TYPE_INT16: k->i = ((const int16_t *)data)[r]; return true;
    case QV_TYPE_INT32: k->i = ((const int32_t *)data)[r]; return true;
    case QV_TYPE_INT64: k->i = ((const int64_t *)data)[r]; return true;
    case QV_TYPE_FLOAT: k->d = ((const float *)data)[r]; return !isnan(k->d);
    case QV_TYPE_DOUBLE: k->d = ((const double *)data)[r]; return !isnan(k->d);
    default: /* VarChar */
        k->s = data ? (const char *)data + offsets[r] : "";
        k->len = offsets[r + 1] > offsets[r] ? (size_t)(offsets[r + 1] - offsets[r]) : 0;
        return true;
    }
}

static bool collect_row(const qv_sindex_spec *s, const void *data, const uint64_t *offsets,
                        size_t r, entries *e)
{
    qv_skey k;

    if (s->type == QV_TYPE_JSON)
        return push_res(e, qv_sindex_json_key(s, row_jsonb(data, offsets, r), &k), &k, r);
    if (s->type == QV_TYPE_ARRAY) {
        qv_jsonb arr = row_jsonb(data, offsets, r);
        size_t n = qv_jsonb_typeof(arr) == QV_JSONB_ARRAY ? qv_jsonb_length(arr) : 0;
        for (size_t i = 0; i < n; i++)
            if (!push_res(e, qv_sindex_jsonb_key(s->kind, qv_jsonb_index(arr, i), &k), &k, r))
                return false;
        return true;
    }
    return push_res(e, scalar_key(s, data, offsets, r, &k) ? 1 : -1, &k, r);
}

static qv_sindex *alloc_index(qv_skey_kind kind, size_t rows, size_t nkeys, size_t npost,
                              size_t sbytes)
{
    qv_sindex *ix = qv_calloc(1, sizeof *ix);

    if (!ix)
        return NULL;
    ix->kind = kind;
    ix->rows = (uint32_t)rows;
    ix->nkeys = (uint32_t)nkeys;
    ix->npost = (uint32_t)npost;
    ix->start = qv_malloc((nkeys + 1) * sizeof *ix->start);
    ix->post = qv_malloc((npost ? npost : 1) * sizeof *ix->post);
    if (kind == QV_SKEY_DOUBLE)
        ix->dkeys = qv_malloc((nkeys ? nkeys : 1) * sizeof *ix->dkeys);
    else if (kind == QV_SKEY_STR)
        ix->soff = qv_malloc((nkeys + 1) * sizeof *ix->soff),
        ix->sbytes = qv_malloc(sbytes ? sbytes : 1);
    else
        ix->ikeys = qv_malloc((nkeys ? nkeys : 1) * sizeof *ix->ikeys);
    if (!ix->start || !ix->post || (kind == QV_SKEY_DOUBLE ? !ix->dkeys
                                    : kind == QV_SKEY_STR  ? !ix->soff || !ix->sbytes
                                                           : !ix->ikeys)) {
        qv_sindex_free(ix);
        return NULL;
    }
    return ix;
}

/* Sorted entries -> distinct keys and postings (a row listed once per key). */
static qv_sindex *from_entries(entries *e, size_t rows)
{
    size_t nkeys = 0, npost = 0, sbytes = 0;
    qv_sindex *ix;

    for (size_t i = 0; i < e->n; i++) {
        bool new_key = i == 0 || key_cmp(e->kind, &e->v[i - 1].k, &e->v[i].k) != 0;
        if (new_key) {
            nkeys++;
            sbytes += e->v[i].k.len;
        }
        if (new_key || e->v[i - 1].row != e->v[i].row)
            e->v[npost++] = e->v[i]; /* compact in place: keys stay borrowed */
    }
    if (sbytes > UINT32_MAX || !(ix = alloc_index(e->kind, rows, nkeys, npost, sbytes)))
        return NULL;
    ix->exact = e->exact;
    size_t k = 0, sb = 0;
    for (size_t i = 0; i < npost; i++) {
        if (i == 0 || key_cmp(e->kind, &e->v[i - 1].k, &e->v[i].k) != 0) {
            ix->start[k] = (uint32_t)i;
            if (e->kind == QV_SKEY_DOUBLE) {
                ix->dkeys[k] = e->v[i].k.d;
            } else if (e->kind == QV_SKEY_STR) {
                ix->soff[k] = (uint32_t)sb;
                memcpy(ix->sbytes + sb, e->v[i].k.s, e->v[i].k.len);
                sb += e->v[i].k.len;
            } else {
                ix->ikeys[k] = e->v[i].k.i;
            }
            k++;
        }
        ix->post[i] = e->v[i].row;
    }
    ix->start[nkeys] = (uint32_t)npost;
    if (e->kind == QV_SKEY_STR)
        ix->soff[nkeys] = (uint32_t)sb;
    return ix;
}

qv_err qv_sindex_build(const qv_sindex_spec *spec, const void *data, const uint64_t *offsets,
                       const uint64_t *valid, size_t rows, qv_sindex **out, qv_error *err)
{
    entries e = {.kind = spec->kind, .exact = true};
    bool var = spec->type == QV_TYPE_VARCHAR || spec->type == QV_TYPE_JSON ||
               spec->type == QV_TYPE_ARRAY;

    *out = NULL;
    if (rows > UINT32_MAX || (rows && (var ? !offsets : !data)))
        return qv_error_set(err, QV_EINVAL, "scalar index: bad column of %zu rows", rows);
    for (size_t r = 0; r < rows; r++) {
        if (valid && !(valid[r >> 6] >> (r & 63) & 1))
            continue;
        if (!collect_row(spec, data, offsets, r, &e)) {
            qv_free(e.v);
            return qv_error_set(err, QV_ENOMEM, "out of memory building a scalar index");
        }
    }
    sort_kind = e.kind;
    if (e.n)
        qsort(e.v, e.n, sizeof *e.v, entry_cmp);
    *out = from_entries(&e, rows);
    qv_free(e.v);
    return *out ? QV_OK : qv_error_set(err, QV_ENOMEM, "out of memory building a scalar index");
}

void qv_sindex_free(qv_sindex *ix)
{
    if (!ix)
        return;
    qv_free(ix->ikeys);
    qv_free(ix->dkeys);
    qv_free(ix->soff);
    qv_free(ix->sbytes);
    qv_free(ix->start);
    qv_free(ix->post);
    qv_free(ix);
}

/* ---- accessors and lookups ---------------------------------------------------------------- */

size_t qv_sindex_rows(const qv_sindex *ix) { return ix->rows; }
size_t qv_sindex_keys(const qv_sindex *ix) { return ix->nkeys; }
bool qv_sindex_exact(const qv_sindex *ix) { return ix->exact; }
qv_skey_kind qv_sindex_kind(const qv_sindex *ix) { return ix->kind; }

size_t qv_sindex_bytes(const qv_sindex *ix)
{
    size_t key = ix->kind == QV_SKEY_STR ? 4 : 8;
    return sizeof *ix + (size_t)ix->nkeys * (key + 4) + (size_t)ix->npost * 4 +
           (ix->kind == QV_SKEY_STR ? ix->soff[ix->nkeys] : 0);
}

static qv_skey key_at(const qv_sindex *ix, size_t i)
{
    qv_skey k = {0};
    if (ix->kind == QV_SKEY_DOUBLE) {
        k.d = ix->dkeys[i];
    } else if (ix->kind == QV_SKEY_STR) {
        k.s = ix->sbytes + ix->soff[i];
        k.len = ix->soff[i + 1] - ix->soff[i];
    } else {
        k.i = ix->ikeys[i];
    }
    return k;
}

static size_t bound(const qv_sindex *ix, const qv_skey *k, bool upper)
{
    size_t lo = 0, hi = ix->nkeys;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        qv_skey m = key_at(ix, mid);
        int r = key_cmp(ix->kind, &m, k);
        if (r < 0 || (upper && r == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t qv_sindex_lower(const qv_sindex *ix, const qv_skey *k) { return bound(ix, k, false); }
size_t qv_sindex_upper(const qv_sindex *ix, const qv_skey *k) { return bound(ix, k, true); }

size_t qv_sindex_prefix(const qv_sindex *ix, const char *prefix, size_t len, size_t *to)
{
    qv_skey k = {.s = prefix, .len = len};
    size_t from = bound(ix, &k, false), i = from;

    while (i < ix->nkeys) {
        qv_skey m = key_at(ix, i);
        if (m.len < len || memcmp(m.s, prefix, len) != 0)
            break;
        i++;
    }
    *to = i;
    return from;
}

void qv_sindex_mark(const qv_sindex *ix, size_t from, size_t to, uint64_t *bm)
{
    if (to > ix->nkeys)
        to = ix->nkeys;
    for (size_t p = from < to ? ix->start[from] : 0; from < to && p < ix->start[to]; p++)
        bm[ix->post[p] >> 6] |= (uint64_t)1 << (ix->post[p] & 63);
}

const uint32_t *qv_sindex_postings(const qv_sindex *ix, size_t at, size_t *n)
{
    *n = at < ix->nkeys ? ix->start[at + 1] - ix->start[at] : 0;
    return ix->post + (at < ix->nkeys ? ix->start[at] : 0);
}

/* ---- serialization ------------------------------------------------------------------------ */

qv_err qv_sindex_serialize(const qv_sindex *ix, qv_buf *out, qv_error *err)
{
    qv_buf_put(out, "QVSX", 4);
    qv_buf_put_u8(out, 1);
    qv_buf_put_u8(out, (uint8_t)ix->kind);
    qv_buf_put_u8(out, ix->exact);
    qv_buf_put_u8(out, 0);
    qv_buf_put_u32(out, ix->rows);
    qv_buf_put_u32(out, ix->nkeys);
    qv_buf_put_u32(out, ix->npost);
    for (size_t i = 0; i < ix->nkeys; i++) {
        if (ix->kind == QV_SKEY_DOUBLE) {
            uint64_t bits;
            memcpy(&bits, &ix->dkeys[i], 8);
            qv_buf_put_u64(out, bits);
        } else if (ix->kind != QV_SKEY_STR) {
            qv_buf_put_u64(out, (uint64_t)ix->ikeys[i]);
        }
    }
    if (ix->kind == QV_SKEY_STR) {
        for (size_t i = 0; i <= ix->nkeys; i++)
            qv_buf_put_u32(out, ix->soff[i]);
        qv_buf_put(out, ix->sbytes, ix->soff[ix->nkeys]);
    }
    for (size_t i = 0; i <= ix->nkeys; i++)
        qv_buf_put_u32(out, ix->start[i]);
    for (size_t i = 0; i < ix->npost; i++)
        qv_buf_put_u32(out, ix->post[i]);
    return qv_buf_status(out, err);
}

/* Offsets and starts ascending, ending at their totals; keys strictly ascending; rows
 * ascending per key and below rows. */
static bool well_formed(const qv_sindex *ix)
{
    for (size_t i = 0; i < ix->nkeys; i++) {
        if (ix->start[i] > ix->start[i + 1])
            return false;
        if (ix->kind == QV_SKEY_STR && ix->soff[i] > ix->soff[i + 1])
            return false;
    }
    if (ix->start[0] != 0 || ix->start[ix->nkeys] != ix->npost ||
        (ix->kind == QV_SKEY_STR && ix->soff[0] != 0))
        return false;
    for (size_t i = 1; i < ix->nkeys; i++) {
        qv_skey a = key_at(ix, i - 1), b = key_at(ix, i);
        if (key_cmp(ix->kind, &a, &b) >= 0)
            return false;
    }
    for (size_t k = 0; k < ix->nkeys; k++)
        for (size_t p = ix->start[k]; p < ix->start[k + 1]; p++)
            if (ix->post[p] >= ix->rows || (p > ix->start[k] && ix->post[p - 1] >= ix->post[p]))
                return false;
    return true;
}

qv_err qv_sindex_deserialize(const void *p, size_t len, qv_sindex **out, qv_error *err)
{
    qv_reader r;
    const void *magic;
    uint8_t version, kind, exact, zero;
    uint32_t rows, nkeys, npost;
    qv_sindex *ix;

    *out = NULL;
    qv_reader_init(&r, p, len);
    magic = qv_reader_bytes(&r, 4);
    version = qv_reader_u8(&r);
    kind = qv_reader_u8(&r);
    exact = qv_reader_u8(&r);
    zero = qv_reader_u8(&r);
    rows = qv_reader_u32(&r);
    nkeys = qv_reader_u32(&r);
    npost = qv_reader_u32(&r);
    if (r.failed || memcmp(magic, "QVSX", 4) || version != 1 || kind > QV_SKEY_STR ||
        exact > 1 || zero || nkeys > len || npost > len)
        return qv_error_set(err, QV_ECORRUPT, "scalar index: bad header");
    if (!(ix = alloc_index((qv_skey_kind)kind, rows, nkeys, npost, len)))
        return qv_error_set(err, QV_ENOMEM, "out of memory loading a scalar index");
    ix->exact = exact != 0;
    for (size_t i = 0; i < nkeys && kind != QV_SKEY_STR; i++) {
        uint64_t v = qv_reader_u64(&r);
        if (kind == QV_SKEY_DOUBLE)
            memcpy(&ix->dkeys[i], &v, 8);
        else
            ix->ikeys[i] = (int64_t)v;
    }
    if (kind == QV_SKEY_STR) {
        const void *bytes;
        for (size_t i = 0; i <= nkeys; i++)
            ix->soff[i] = qv_reader_u32(&r);
        if (!r.failed && (bytes = qv_reader_bytes(&r, ix->soff[nkeys])))
            memcpy(ix->sbytes, bytes, ix->soff[nkeys]);
    }
    for (size_t i = 0; i <= nkeys; i++)
        ix->start[i] = qv_reader_u32(&r);
    for (size_t i = 0; i < npost; i++)
        ix->post[i] = qv_reader_u32(&r);
    if (r.failed || r.pos != len || !well_formed(ix)) {
        qv_sindex_free(ix);
        return qv_error_set(err, QV_ECORRUPT, "scalar index: damaged body");
    }
    *out = ix;
    return QV_OK;
}
