/* SPDX-License-Identifier: Apache-2.0 */
/* filter_eval.c - evaluates a compiled plan over a batch: every predicate node yields a
 * pair of bitmaps (TRUE rows, KNOWN rows) for the whole batch, combined with Kleene's
 * three-valued and/or/not; UNKNOWN rows (nulls) are dropped at the end. The recursion
 * follows the plan, whose height the parser bounded. */
#include <string.h>

#include "query/filter_int.h"
#include "quiver/alloc.h"

uint64_t *filter_bm_new(ectx *e)
{
    uint64_t *m = qv_malloc(e->words * sizeof *m);
    if (!m)
        qv_error_set(e->err, QV_ENOMEM, "out of memory evaluating a filter");
    return m;
}

void filter_pres_fini(pres *p)
{
    qv_free(p->t);
    qv_free(p->k);
    p->t = p->k = NULL;
}

static qv_err eval_pred(ectx *e, const fnode *n, pres *p);

static qv_err err_code(ectx *e) { return e->err ? e->err->code : QV_ENOMEM; }

/* Kleene and/or of acc with x, in place in acc (x is consumed). */
static qv_err combine(ectx *e, bool is_and, pres *acc, pres *x)
{
    const uint64_t ones = ~(uint64_t)0;

    if ((acc->k || x->k) && !acc->k) {
        if ((acc->k = filter_bm_new(e)) == NULL)
            return err_code(e);
        memset(acc->k, 0xff, e->words * sizeof *acc->k);
    }
    for (size_t w = 0; w < e->words; w++) {
        uint64_t t1 = acc->t[w], t2 = x->t[w];
        uint64_t k1 = acc->k ? acc->k[w] : ones, k2 = x->k ? x->k[w] : ones;
        if (is_and) {
            acc->t[w] = t1 & t2;
            if (acc->k) /* known: both known, or either known FALSE */
                acc->k[w] = (k1 & k2) | (k1 & ~t1) | (k2 & ~t2);
        } else {
            acc->t[w] = t1 | t2;
            if (acc->k) /* known: both known, or either TRUE */
                acc->k[w] = (k1 & k2) | t1 | t2;
        }
    }
    filter_pres_fini(x);
    return QV_OK;
}

/* The result can no longer change: all known FALSE (and) or all TRUE (or). */
static bool decided(ectx *e, bool is_and, const pres *p)
{
    for (size_t w = 0; w < e->words; w++) {
        uint64_t mask = (w + 1) * 64 <= e->n ? ~(uint64_t)0 : ((uint64_t)1 << (e->n % 64)) - 1;
        if (is_and ? (p->t[w] & mask) != 0 || (p->k && (~p->k[w] & mask) != 0)
                   : (~p->t[w] & mask) != 0)
            return false;
    }
    return true;
}

static qv_err eval_logic(ectx *e, const fnode *n, pres *p)
{
    bool is_and = n->kind == N_AND;
    qv_err rc;

    if ((rc = eval_pred(e, n->kids[0], p)) != QV_OK)
        return rc;
    for (size_t i = 1; i < n->nkids && !decided(e, is_and, p); i++) {
        pres x = {0};
        if ((rc = eval_pred(e, n->kids[i], &x)) != QV_OK ||
            (rc = combine(e, is_and, p, &x)) != QV_OK) {
            filter_pres_fini(&x);
            return rc;
        }
    }
    return QV_OK;
}

static qv_err fill(ectx *e, pres *p, bool v)
{
    if ((p->t = filter_bm_new(e)) == NULL)
        return err_code(e);
    memset(p->t, v ? 0xff : 0, e->words * sizeof *p->t);
    return QV_OK;
}

static void set_bit(uint64_t *m, size_t r) { m[r >> 6] |= (uint64_t)1 << (r & 63); }

/* is [not] null, exists, contains and truth tests: per-row over a value vector */
static qv_err eval_rowwise(ectx *e, const fnode *n, pres *p)
{
    const fnode *x = n->kids[0];
    fvec a;
    qv_err rc;

    if ((rc = filter_eval_value(e, x, &a)) != QV_OK)
        return rc;
    if ((p->t = filter_bm_new(e)) == NULL) {
        filter_vec_fini(&a);
        return err_code(e);
    }
    memset(p->t, 0, e->words * sizeof *p->t);
    for (size_t r = 0; r < e->n; r++) {
        bool valid = !a.valid || bm_get(a.valid, r), v = false;
        fcell c;
        if (!valid) {
            if (n->kind == N_ISNULL && !n->negate)
                set_bit(p->t, r);
            continue;
        }
        c = filter_vec_cell(&a, r);
        switch (n->kind) {
        case N_ISNULL:
            v = (c.t == CT_MISSING || c.t == CT_NULL) != n->negate;
            break;
        case N_EXISTS:
            v = c.t != CT_MISSING;
            break;
        case N_TRUTH:
            v = c.t == CT_BOOL && c.u.b;
            break;
        default: /* N_CONTAINS */
            if (c.t != CT_JSON || qv_jsonb_typeof(c.u.j) != QV_JSONB_ARRAY)
                break;
            if (n->cm == CM_ONE) {
                v = qv_jsonb_array_contains(c.u.j, n->cj);
            } else {
                qv_jsonb_iter it;
                qv_jsonb el;
                v = n->cm == CM_ALL;
                qv_jsonb_iter_init(&it, n->cj);
                while (qv_jsonb_iter_next(&it, NULL, NULL, &el))
                    if (qv_jsonb_array_contains(c.u.j, el) != (n->cm == CM_ALL)) {
                        v = n->cm != CM_ALL;
                        break;
                    }
            }
        }
        if (v)
            set_bit(p->t, r);
    }
    /* is null is never UNKNOWN; the others are UNKNOWN on null rows */
    if (n->kind != N_ISNULL && a.valid) {
        if ((p->k = filter_bm_new(e)) == NULL)
            rc = err_code(e);
        else
            memcpy(p->k, a.valid, e->words * sizeof *p->k);
    }
    filter_vec_fini(&a);
    return rc;
}

/* a Bool column as a predicate, straight from its bytes */
static qv_err eval_bool_col(ectx *e, const fnode *x, pres *p)
{
    const qv_column *col = &e->b->cols[x->field];
    const uint8_t *d = col->data;

    if ((p->t = filter_bm_new(e)) == NULL)
        return err_code(e);
    memset(p->t, 0, e->words * sizeof *p->t);
    for (size_t r = 0; r < e->n; r++)
        if (d[r])
            set_bit(p->t, r);
    if (x->nullable && col->valid) {
        if ((p->k = filter_bm_new(e)) == NULL)
            return err_code(e);
        for (size_t w = 0; w < e->words; w++) {
            p->k[w] = col->valid[w];
            p->t[w] &= p->k[w];
        }
    }
    return QV_OK;
}

static qv_err eval_pred(ectx *e, const fnode *n, pres *p)
{
    qv_err rc;

    if (filter_pre_answers(e, n))
        return filter_eval_pre(e, n, p);
    switch (n->kind) {
    case N_CONST:
        return fill(e, p, n->c.kind == C_BOOL && n->c.b);
    case N_AND:
    case N_OR:
        return eval_logic(e, n, p);
    case N_NOT:
        if ((rc = eval_pred(e, n->kids[0], p)) != QV_OK)
            return rc;
        for (size_t w = 0; w < e->words; w++)
            p->t[w] = ~p->t[w] & (p->k ? p->k[w] : ~(uint64_t)0);
        return QV_OK;
    case N_CMP:
        return filter_eval_cmp(e, n, p);
    case N_IN:
        return filter_eval_in(e, n, p);
    case N_LIKE:
        return filter_eval_like(e, n, p);
    case N_TRUTH:
        if (n->kids[0]->kind == N_FIELD && n->kids[0]->ftype == QV_TYPE_BOOL)
            return eval_bool_col(e, n->kids[0], p);
        return eval_rowwise(e, n, p);
    case N_ISNULL:
    case N_EXISTS:
    case N_CONTAINS:
        return eval_rowwise(e, n, p);
    case N_TEXTMATCH:
        return filter_eval_text_match(e, n, p);
    default:
        return qv_error_set(e->err, QV_EINTERNAL, "filter: node %d is not a predicate",
                            (int)n->kind);
    }
}

static bool var_width(qv_type t)
{
    return t == QV_TYPE_VARCHAR || t == QV_TYPE_JSON || t == QV_TYPE_ARRAY;
}

static qv_err check_batch(const qv_filter *f, const qv_filter_batch *b, qv_error *err)
{
    for (size_t i = 0; i < f->nfields; i++) {
        const qv_column *col;
        if (!(f->field_mask >> i & 1))
            continue;
        if (i >= b->col_count || !b->cols)
            return qv_error_set(err, QV_EINTERNAL, "filter: batch has no column for field %s",
                                f->fields[i].name);
        col = &b->cols[i];
        if (col->type != f->fields[i].type)
            return qv_error_set(err, QV_EINTERNAL, "filter: column %s has type %d, plan wants %d",
                                f->fields[i].name, (int)col->type, (int)f->fields[i].type);
        if (b->rows && (var_width(col->type) ? !col->offsets : !col->data))
            return qv_error_set(err, QV_EINTERNAL, "filter: column %s has no data",
                                f->fields[i].name);
    }
    if (f->uses_dynamic && b->dynamic && b->rows &&
        (b->dynamic->type != QV_TYPE_JSON || !b->dynamic->offsets))
        return qv_error_set(err, QV_EINTERNAL,
                            "filter: the dynamic column must be JSON with offsets");
    return QV_OK;
}

qv_err qv_filter_eval(const qv_filter *f, const qv_filter_batch *b, uint64_t *out, qv_error *err)
{
    ectx e = {f, b, b->rows, qv_filter_words(b->rows), err};
    pres p = {0};
    qv_err rc;

    if (e.words == 0)
        return QV_OK;
    if (!f->root) {
        memset(out, 0xff, e.words * sizeof *out);
    } else {
        if ((rc = check_batch(f, b, err)) != QV_OK)
            return rc;
        if ((rc = eval_pred(&e, f->root, &p)) != QV_OK) {
            filter_pres_fini(&p);
            return rc;
        }
        memcpy(out, p.t, e.words * sizeof *out);
        filter_pres_fini(&p);
    }
    if (e.n % 64)
        out[e.words - 1] &= ((uint64_t)1 << (e.n % 64)) - 1;
    return QV_OK;
}
