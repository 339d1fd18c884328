/* SPDX-License-Identifier: Apache-2.0 */
/* filter_vec.c - evaluates value expressions into column vectors (fvec): typed columns are
 * borrowed where the layout allows (Int64, Double, Bool, VarChar) and widened otherwise,
 * JSON/Array fields and paths become per-row cells, and arithmetic runs as one loop per
 * node (typed int64/double kernels, or cell-wise when a JSON operand makes the type
 * dynamic). Division or modulo by zero makes that row null. */
#include <string.h>

#include "query/filter_int.h"
#include "quiver/alloc.h"

static qv_err nomem(ectx *e)
{
    return qv_error_set(e->err, QV_ENOMEM, "out of memory evaluating a filter");
}

void filter_vec_fini(fvec *v)
{
    qv_free(v->own[0]);
    qv_free(v->own[1]);
    v->own[0] = v->own[1] = NULL;
}

qv_jsonb filter_col_jsonb(const qv_column *col, size_t i)
{
    qv_jsonb r = {NULL, 0};
    uint64_t a, b;

    if (!col || !col->offsets)
        return r;
    a = col->offsets[i];
    b = col->offsets[i + 1];
    if (b <= a || !col->data)
        return r;
    return qv_jsonb_root((const uint8_t *)col->data + a, (size_t)(b - a));
}

fcell filter_vec_cell(const fvec *v, size_t row)
{
    size_t r = row * v->stride;
    fcell c;

    memset(&c, 0, sizeof c);
    switch (v->kind) {
    case VK_I64:
        c.t = CT_INT;
        c.u.i = v->i[r];
        break;
    case VK_F64:
        c.t = CT_FLOAT;
        c.u.d = v->d[r];
        break;
    case VK_BOOL:
        c.t = CT_BOOL;
        c.u.b = v->b[r] != 0;
        break;
    case VK_STR:
        c.t = CT_STR;
        if (v->off) {
            uint64_t a = v->off[row], b = v->off[row + 1];
            c.u.s.p = v->s ? v->s + a : "";
            c.u.s.n = b > a ? (size_t)(b - a) : 0;
        } else {
            c.u.s.p = v->s;
            c.u.s.n = v->slen;
        }
        break;
    default:
        c = v->c[r];
    }
    return c;
}

static qv_err vec_const(ectx *e, const fnode *n, fvec *v)
{
    static const uint8_t bools[2] = {0, 1};
    fcell *c;

    v->stride = 0;
    switch (n->c.kind) {
    case C_INT:
        v->kind = VK_I64;
        v->i = &n->c.i;
        return QV_OK;
    case C_FLOAT:
        v->kind = VK_F64;
        v->d = &n->c.d;
        return QV_OK;
    case C_BOOL:
        v->kind = VK_BOOL;
        v->b = &bools[n->c.b];
        return QV_OK;
    case C_STR:
        v->kind = VK_STR;
        v->s = n->c.s;
        v->slen = n->c.len;
        return QV_OK;
    default:
        if ((c = v->own[0] = qv_malloc(sizeof *c)) == NULL)
            return nomem(e);
        *c = filter_cell_from_cval(&n->c);
        v->kind = VK_CELL;
        v->c = c;
        return QV_OK;
    }
}

#define WIDEN(T, OUT)                                                                              \
    do {                                                                                           \
        const T *src_ = col->data;                                                                 \
        for (size_t r_ = 0; r_ < e->n; r_++)                                                       \
            (OUT)[r_] = src_[r_];                                                                  \
    } while (0)

/* The column behind N_FIELD / N_PATH (NULL for an absent dynamic column). */
static const qv_column *node_col(ectx *e, const fnode *n)
{
    return n->field < 0 ? e->b->dynamic : &e->b->cols[n->field];
}

static qv_err vec_field(ectx *e, const fnode *n, fvec *v)
{
    const qv_column *col = node_col(e, n);
    int64_t *iv;
    double *dv;
    fcell *cv;

    v->valid = n->nullable && col ? col->valid : NULL;
    switch (n->ftype) {
    case QV_TYPE_INT64:
        v->kind = VK_I64;
        v->i = col->data;
        return QV_OK;
    case QV_TYPE_INT8:
    case QV_TYPE_INT16:
    case QV_TYPE_INT32:
        if ((iv = v->own[0] = qv_malloc(e->n * sizeof *iv)) == NULL)
            return nomem(e);
        if (n->ftype == QV_TYPE_INT8)
            WIDEN(int8_t, iv);
        else if (n->ftype == QV_TYPE_INT16)
            WIDEN(int16_t, iv);
        else
            WIDEN(int32_t, iv);
        v->kind = VK_I64;
        v->i = iv;
        return QV_OK;
    case QV_TYPE_FLOAT:
        if ((dv = v->own[0] = qv_malloc(e->n * sizeof *dv)) == NULL)
            return nomem(e);
        WIDEN(float, dv);
        v->kind = VK_F64;
        v->d = dv;
        return QV_OK;
    case QV_TYPE_DOUBLE:
        v->kind = VK_F64;
        v->d = col->data;
        return QV_OK;
    case QV_TYPE_BOOL:
        v->kind = VK_BOOL;
        v->b = col->data;
        return QV_OK;
    case QV_TYPE_VARCHAR:
        v->kind = VK_STR;
        v->off = col->offsets;
        v->s = col->data;
        return QV_OK;
    default: /* JSON, Array, $meta: one cell per row */
        if ((cv = v->own[0] = qv_malloc(e->n * sizeof *cv)) == NULL)
            return nomem(e);
        for (size_t r = 0; r < e->n; r++) {
            qv_jsonb j = filter_col_jsonb(col, r);
            cv[r] = filter_cell_from_jsonb(j);
            if (n->ftype == QV_TYPE_ARRAY && qv_jsonb_typeof(j) != QV_JSONB_ARRAY)
                cv[r].t = CT_MISSING;
        }
        v->kind = VK_CELL;
        v->c = cv;
        return QV_OK;
    }
}

static qv_err vec_path(ectx *e, const fnode *n, fvec *v)
{
    const qv_column *col = node_col(e, n);
    fcell *cv;

    if ((cv = v->own[0] = qv_malloc(e->n * sizeof *cv)) == NULL)
        return nomem(e);
    for (size_t r = 0; r < e->n; r++) {
        qv_jsonb j = filter_col_jsonb(col, r);
        for (size_t s = 0; s < n->nsteps && qv_jsonb_present(j); s++) {
            const pstep *st = &n->steps[s];
            j = st->is_index ? qv_jsonb_index(j, (size_t)st->index)
                             : qv_jsonb_find(j, st->key, st->klen);
        }
        cv[r] = filter_cell_from_jsonb(j);
    }
    v->kind = VK_CELL;
    v->c = cv;
    v->valid = n->nullable && col ? col->valid : NULL;
    return QV_OK;
}

/* valid = a & b (either may be NULL = all valid); allocates only when needed. */
static qv_err and_valid(ectx *e, const fvec *a, const fvec *b, fvec *out, bool force)
{
    uint64_t *m;

    if (!a->valid && !(b && b->valid) && !force)
        return QV_OK;
    if ((m = out->own[1] = qv_malloc(e->words * sizeof *m)) == NULL)
        return nomem(e);
    for (size_t w = 0; w < e->words; w++)
        m[w] =
            (a->valid ? a->valid[w] : ~(uint64_t)0) & (b && b->valid ? b->valid[w] : ~(uint64_t)0);
    out->valid = m;
    return QV_OK;
}

static void clear_valid(fvec *v, size_t r)
{
    ((uint64_t *)v->own[1])[r >> 6] &= ~((uint64_t)1 << (r & 63));
}

static qv_err arith_typed(ectx *e, fop op, const fvec *a, const fvec *b, fvec *v)
{
    bool ints = a->kind == VK_I64 && b->kind == VK_I64 && op != OP_POW;
    bool divides = op == OP_DIV || op == OP_MOD;
    size_t sa = a->stride, sb = b->stride;
    qv_err rc;

    if ((rc = and_valid(e, a, b, v, divides)) != QV_OK)
        return rc;
    if (ints) {
        int64_t *o = v->own[0] = qv_malloc(e->n * sizeof *o);
        if (!o)
            return nomem(e);
        v->kind = VK_I64;
        v->i = o;
        if (op == OP_ADD)
            for (size_t r = 0; r < e->n; r++)
                o[r] = (int64_t)((uint64_t)a->i[r * sa] + (uint64_t)b->i[r * sb]);
        else if (op == OP_SUB)
            for (size_t r = 0; r < e->n; r++)
                o[r] = (int64_t)((uint64_t)a->i[r * sa] - (uint64_t)b->i[r * sb]);
        else if (op == OP_MUL)
            for (size_t r = 0; r < e->n; r++)
                o[r] = (int64_t)((uint64_t)a->i[r * sa] * (uint64_t)b->i[r * sb]);
        else
            for (size_t r = 0; r < e->n; r++)
                if (!filter_arith_i64(op, a->i[r * sa], b->i[r * sb], &o[r]))
                    clear_valid(v, r);
        return QV_OK;
    }
    {
        double *o = v->own[0] = qv_malloc(e->n * sizeof *o);
        if (!o)
            return nomem(e);
        v->kind = VK_F64;
        v->d = o;
        for (size_t r = 0; r < e->n; r++) {
            double x = a->kind == VK_I64 ? (double)a->i[r * sa] : a->d[r * sa];
            double y = b->kind == VK_I64 ? (double)b->i[r * sb] : b->d[r * sb];
            if (!filter_arith_f64(op, x, y, &o[r]))
                clear_valid(v, r);
        }
        return QV_OK;
    }
}

/* One row of arithmetic on dynamically typed values; false = division by zero. */
static bool arith_cell(fop op, const fcell *x, const fcell *y, fcell *out)
{
    bool xn = x->t == CT_INT || x->t == CT_FLOAT, yn = y->t == CT_INT || y->t == CT_FLOAT;

    memset(out, 0, sizeof *out);
    if (!xn || !yn) {
        out->t = CT_MISSING;
        return true;
    }
    if (x->t == CT_INT && y->t == CT_INT && op != OP_POW) {
        out->t = CT_INT;
        return filter_arith_i64(op, x->u.i, y->u.i, &out->u.i);
    }
    out->t = CT_FLOAT;
    return filter_arith_f64(op, x->t == CT_INT ? (double)x->u.i : x->u.d,
                            y->t == CT_INT ? (double)y->u.i : y->u.d, &out->u.d);
}

static qv_err vec_arith(ectx *e, const fnode *n, fvec *v)
{
    static const int64_t zero = 0;
    fop op = n->kind == N_NEG ? OP_SUB : n->op; /* -x is 0 - x (wrapping for ints) */
    fvec a, b;
    qv_err rc;

    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (n->kind == N_NEG) {
        a.kind = VK_I64;
        a.i = &zero;
        rc = filter_eval_value(e, n->kids[0], &b);
    } else if ((rc = filter_eval_value(e, n->kids[0], &a)) == QV_OK) {
        rc = filter_eval_value(e, n->kids[1], &b);
    }
    if (rc != QV_OK)
        goto done;
    v->stride = 1;
    if ((a.kind == VK_I64 || a.kind == VK_F64) && (b.kind == VK_I64 || b.kind == VK_F64)) {
        rc = arith_typed(e, op, &a, &b, v);
    } else {
        fcell *o = v->own[0] = qv_malloc(e->n * sizeof *o);
        if (!o) {
            rc = nomem(e);
            goto done;
        }
        if ((rc = and_valid(e, &a, &b, v, op == OP_DIV || op == OP_MOD)) != QV_OK)
            goto done;
        for (size_t r = 0; r < e->n; r++) {
            fcell x = filter_vec_cell(&a, r), y = filter_vec_cell(&b, r);
            if (!arith_cell(op, &x, &y, &o[r]))
                clear_valid(v, r);
        }
        v->kind = VK_CELL;
        v->c = o;
    }
done:
    filter_vec_fini(&a);
    filter_vec_fini(&b);
    return rc;
}

static qv_err vec_arrlen(ectx *e, const fnode *n, fvec *v)
{
    fvec a;
    fcell *o;
    qv_err rc;

    if ((rc = filter_eval_value(e, n->kids[0], &a)) != QV_OK)
        return rc;
    if ((o = v->own[0] = qv_malloc(e->n * sizeof *o)) == NULL) {
        filter_vec_fini(&a);
        return nomem(e);
    }
    for (size_t r = 0; r < e->n; r++) {
        fcell x = filter_vec_cell(&a, r);
        memset(&o[r], 0, sizeof o[r]);
        if (x.t == CT_JSON && qv_jsonb_typeof(x.u.j) == QV_JSONB_ARRAY) {
            o[r].t = CT_INT;
            o[r].u.i = (int64_t)qv_jsonb_length(x.u.j);
        }
    }
    v->kind = VK_CELL;
    v->c = o;
    rc = and_valid(e, &a, NULL, v, false);
    filter_vec_fini(&a);
    return rc;
}

qv_err filter_eval_value(ectx *e, const fnode *n, fvec *v)
{
    memset(v, 0, sizeof *v);
    v->stride = 1;
    switch (n->kind) {
    case N_CONST:
        return vec_const(e, n, v);
    case N_FIELD:
        return vec_field(e, n, v);
    case N_PATH:
        return vec_path(e, n, v);
    case N_ARITH:
    case N_NEG:
        return vec_arith(e, n, v);
    case N_ARRLEN:
        return vec_arrlen(e, n, v);
    default:
        return qv_error_set(e->err, QV_EINTERNAL, "filter: node %d is not a value", (int)n->kind);
    }
}
