/* SPDX-License-Identifier: Apache-2.0 */
/* filter_cmp.c - comparison, `in` and `like` kernels. Each produces a whole bitmap per
 * node: the common shapes (a typed column against a constant) loop over the column's
 * native array without materialising anything; typed vectors (arithmetic results,
 * field-vs-field) use int64/double loops; anything involving a JSON value compares
 * per-row cells. Nulls are applied afterwards: t &= valid(a) & valid(b). */
#include <string.h>

#include "query/filter_int.h"

/* Build t bit by bit from COND, which may use the row index r. */
#define LOOP_BITS(E, T, COND)                                                                      \
    do {                                                                                           \
        for (size_t w_ = 0; w_ < (E)->words; w_++) {                                               \
            uint64_t m_ = 0;                                                                       \
            size_t base_ = w_ * 64, lim_ = (E)->n - base_ < 64 ? (E)->n - base_ : 64;              \
            for (size_t j_ = 0; j_ < lim_; j_++) {                                                 \
                size_t r = base_ + j_;                                                             \
                if (COND)                                                                          \
                    m_ |= (uint64_t)1 << j_;                                                       \
            }                                                                                      \
            (T)[w_] = m_;                                                                          \
        }                                                                                          \
    } while (0)

#define CMP_OPS(E, T, OP, A, B)                                                                    \
    do {                                                                                           \
        switch (OP) {                                                                              \
        case OP_EQ:                                                                                \
            LOOP_BITS(E, T, (A) == (B));                                                           \
            break;                                                                                 \
        case OP_NE:                                                                                \
            LOOP_BITS(E, T, (A) != (B));                                                           \
            break;                                                                                 \
        case OP_LT:                                                                                \
            LOOP_BITS(E, T, (A) < (B));                                                            \
            break;                                                                                 \
        case OP_LE:                                                                                \
            LOOP_BITS(E, T, (A) <= (B));                                                           \
            break;                                                                                 \
        case OP_GT:                                                                                \
            LOOP_BITS(E, T, (A) > (B));                                                            \
            break;                                                                                 \
        default:                                                                                   \
            LOOP_BITS(E, T, (A) >= (B));                                                           \
            break;                                                                                 \
        }                                                                                          \
    } while (0)

static int str_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int r = memcmp(a, b, an < bn ? an : bn);
    if (r)
        return r < 0 ? -1 : 1;
    return an < bn ? -1 : an > bn;
}

/* Row r of a VarChar column as (pointer, length). */
static inline const char *col_str(const qv_column *col, size_t r, size_t *len)
{
    uint64_t a = col->offsets[r], b = col->offsets[r + 1];
    *len = b > a ? (size_t)(b - a) : 0;
    return col->data ? (const char *)col->data + a : "";
}

static int col_str_cmp(const qv_column *col, size_t r, const char *s, size_t n)
{
    size_t len;
    const char *p = col_str(col, r, &len);
    return str_cmp(p, len, s, n);
}

/* p->k from the validity of up to two vectors, then p->t &= p->k. */
static qv_err apply_valid(ectx *e, pres *p, const uint64_t *va, const uint64_t *vb)
{
    if (!va && !vb)
        return QV_OK;
    if ((p->k = filter_bm_new(e)) == NULL)
        return e->err ? e->err->code : QV_ENOMEM;
    for (size_t w = 0; w < e->words; w++) {
        p->k[w] = (va ? va[w] : ~(uint64_t)0) & (vb ? vb[w] : ~(uint64_t)0);
        p->t[w] &= p->k[w];
    }
    return QV_OK;
}

static const qv_column *field_col(ectx *e, const fnode *n) { return &e->b->cols[n->field]; }

/* typed column op constant; false when this shape has no fast path */
static bool cmp_col_const(ectx *e, const fnode *n, uint64_t *t)
{
    const fnode *f = n->kids[0], *k = n->kids[1];
    const qv_column *col;
    fop op = n->op;

    if (f->kind != N_FIELD || f->field < 0 || k->kind != N_CONST)
        return false;
    col = field_col(e, f);
    switch (f->ftype) {
    case QV_TYPE_INT8:
    case QV_TYPE_INT16:
    case QV_TYPE_INT32:
    case QV_TYPE_INT64: {
        int64_t v = k->c.i;
        if (k->c.kind != C_INT)
            return false;
        if (f->ftype == QV_TYPE_INT8) {
            const int8_t *d = col->data;
            CMP_OPS(e, t, op, (int64_t)d[r], v);
        } else if (f->ftype == QV_TYPE_INT16) {
            const int16_t *d = col->data;
            CMP_OPS(e, t, op, (int64_t)d[r], v);
        } else if (f->ftype == QV_TYPE_INT32) {
            const int32_t *d = col->data;
            CMP_OPS(e, t, op, (int64_t)d[r], v);
        } else {
            const int64_t *d = col->data;
            CMP_OPS(e, t, op, d[r], v);
        }
        return true;
    }
    case QV_TYPE_FLOAT: {
        const float *d = col->data;
        double v = k->c.kind == C_INT ? (double)k->c.i : k->c.d;
        if (k->c.kind != C_INT && k->c.kind != C_FLOAT)
            return false;
        CMP_OPS(e, t, op, (double)d[r], v);
        return true;
    }
    case QV_TYPE_DOUBLE: {
        const double *d = col->data;
        double v;
        if (k->c.kind == C_FLOAT)
            v = k->c.d;
        else if (k->c.kind == C_INT && k->c.i >= -(INT64_C(1) << 53) &&
                 k->c.i <= (INT64_C(1) << 53))
            v = (double)k->c.i; /* exact */
        else
            return false;
        CMP_OPS(e, t, op, d[r], v);
        return true;
    }
    case QV_TYPE_BOOL: {
        const uint8_t *d = col->data;
        bool v = k->c.b;
        if (k->c.kind != C_BOOL || (op != OP_EQ && op != OP_NE))
            return false;
        CMP_OPS(e, t, op, d[r] != 0, v);
        return true;
    }
    case QV_TYPE_VARCHAR: {
        if (k->c.kind != C_STR)
            return false;
        CMP_OPS(e, t, op, col_str_cmp(col, r, k->c.s, k->c.len), 0);
        return true;
    }
    default:
        return false;
    }
}

static bool cell_cmp_row(const fvec *a, const fvec *b, size_t r, fop op)
{
    fcell x = filter_vec_cell(a, r), y = filter_vec_cell(b, r);
    return filter_cell_cmp(&x, &y, op);
}

/* a op b over two vectors */
static void cmp_vecs(ectx *e, fop op, const fvec *a, const fvec *b, uint64_t *t)
{
    size_t sa = a->stride, sb = b->stride;

    if (a->kind == VK_I64 && b->kind == VK_I64) {
        CMP_OPS(e, t, op, a->i[r * sa], b->i[r * sb]);
    } else if (a->kind == VK_F64 && b->kind == VK_F64) {
        CMP_OPS(e, t, op, a->d[r * sa], b->d[r * sb]);
    } else if (a->kind == VK_I64 && b->kind == VK_F64) {
        LOOP_BITS(e, t, filter_ord_holds(qv_jsonb_cmp_int_double(a->i[r * sa], b->d[r * sb]), op));
    } else if (a->kind == VK_F64 && b->kind == VK_I64) {
        LOOP_BITS(
            e, t,
            filter_ord_holds(filter_num_cmp(false, 0, a->d[r * sa], true, b->i[r * sb], 0), op));
    } else if (a->kind == VK_BOOL && b->kind == VK_BOOL && (op == OP_EQ || op == OP_NE)) {
        CMP_OPS(e, t, op, a->b[r * sa] != 0, b->b[r * sb] != 0);
    } else {
        LOOP_BITS(e, t, cell_cmp_row(a, b, r, op));
    }
}

qv_err filter_eval_cmp(ectx *e, const fnode *n, pres *p)
{
    const fnode *f = n->kids[0];
    fvec a, b;
    qv_err rc;

    if ((p->t = filter_bm_new(e)) == NULL)
        return e->err ? e->err->code : QV_ENOMEM;
    if (cmp_col_const(e, n, p->t))
        return apply_valid(e, p, f->nullable ? field_col(e, f)->valid : NULL, NULL);
    memset(&b, 0, sizeof b);
    if ((rc = filter_eval_value(e, n->kids[0], &a)) != QV_OK)
        return rc;
    if ((rc = filter_eval_value(e, n->kids[1], &b)) == QV_OK) {
        cmp_vecs(e, n->op, &a, &b, p->t);
        rc = apply_valid(e, p, a.valid, b.valid);
    }
    filter_vec_fini(&a);
    filter_vec_fini(&b);
    return rc;
}

static bool cell_in_row(const fvec *a, size_t r, const in_set *s)
{
    fcell x = filter_vec_cell(a, r);
    return filter_cell_in(s, &x);
}

static bool in_str_row(const qv_column *col, size_t r, const in_set *s)
{
    size_t len;
    const char *p = col_str(col, r, &len);
    return filter_in_str(s, p, len);
}

/* typed column in set; false when this shape has no fast path */
static bool in_col(ectx *e, const fnode *f, const in_set *s, uint64_t *t)
{
    const qv_column *col;

    if (f->kind != N_FIELD || f->field < 0)
        return false;
    col = field_col(e, f);
    switch (f->ftype) {
    case QV_TYPE_INT8: {
        const int8_t *d = col->data;
        LOOP_BITS(e, t, filter_in_int(s, d[r]));
        return true;
    }
    case QV_TYPE_INT16: {
        const int16_t *d = col->data;
        LOOP_BITS(e, t, filter_in_int(s, d[r]));
        return true;
    }
    case QV_TYPE_INT32: {
        const int32_t *d = col->data;
        LOOP_BITS(e, t, filter_in_int(s, d[r]));
        return true;
    }
    case QV_TYPE_INT64: {
        const int64_t *d = col->data;
        LOOP_BITS(e, t, filter_in_int(s, d[r]));
        return true;
    }
    case QV_TYPE_FLOAT: {
        const float *d = col->data;
        LOOP_BITS(e, t, filter_in_double(s, (double)d[r]));
        return true;
    }
    case QV_TYPE_DOUBLE: {
        const double *d = col->data;
        LOOP_BITS(e, t, filter_in_double(s, d[r]));
        return true;
    }
    case QV_TYPE_BOOL: {
        const uint8_t *d = col->data;
        LOOP_BITS(e, t, d[r] ? s->has_true : s->has_false);
        return true;
    }
    case QV_TYPE_VARCHAR:
        LOOP_BITS(e, t, in_str_row(col, r, s));
        return true;
    default:
        return false;
    }
}

qv_err filter_eval_in(ectx *e, const fnode *n, pres *p)
{
    const fnode *f = n->kids[0];
    qv_err rc = QV_OK;
    fvec a;

    if ((p->t = filter_bm_new(e)) == NULL)
        return e->err ? e->err->code : QV_ENOMEM;
    if (in_col(e, f, &n->set, p->t)) {
        rc = apply_valid(e, p, f->nullable ? field_col(e, f)->valid : NULL, NULL);
    } else {
        if ((rc = filter_eval_value(e, f, &a)) != QV_OK)
            return rc;
        LOOP_BITS(e, p->t, cell_in_row(&a, r, &n->set));
        rc = apply_valid(e, p, a.valid, NULL);
        filter_vec_fini(&a);
    }
    if (rc == QV_OK && n->negate)
        for (size_t w = 0; w < e->words; w++)
            p->t[w] = ~p->t[w] & (p->k ? p->k[w] : ~(uint64_t)0);
    return rc;
}

static bool like_row(const fvec *a, size_t r, const like_pat *pat)
{
    fcell x = filter_vec_cell(a, r);
    return x.t == CT_STR && filter_like_match(pat, x.u.s.p, x.u.s.n);
}

static bool like_col_row(const qv_column *col, size_t r, const like_pat *pat)
{
    size_t len;
    const char *s = col_str(col, r, &len);
    return filter_like_match(pat, s, len);
}

qv_err filter_eval_like(ectx *e, const fnode *n, pres *p)
{
    const fnode *f = n->kids[0];
    qv_err rc;
    fvec a;

    if ((p->t = filter_bm_new(e)) == NULL)
        return e->err ? e->err->code : QV_ENOMEM;
    if (f->kind == N_FIELD && f->field >= 0 && f->ftype == QV_TYPE_VARCHAR) {
        const qv_column *col = field_col(e, f);
        LOOP_BITS(e, p->t, like_col_row(col, r, &n->like));
        return apply_valid(e, p, f->nullable ? col->valid : NULL, NULL);
    }
    if ((rc = filter_eval_value(e, f, &a)) != QV_OK)
        return rc;
    LOOP_BITS(e, p->t, like_row(&a, r, &n->like));
    rc = apply_valid(e, p, a.valid, NULL);
    filter_vec_fini(&a);
    return rc;
}
