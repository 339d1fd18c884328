/* SPDX-License-Identifier: Apache-2.0 */
/* filter_check_pred.c - the checker's predicate half: enforces the type rules of
 * quiver/filter.h for comparisons, in, like, is null, exists and the contains functions,
 * folds constant predicates (Kleene-safe: false and x = false, true or x = true) and
 * normalises comparisons for the evaluator's fast paths:
 *   - a constant operand is always kids[1] (operators mirrored);
 *   - a Float field/element compared with a constant gets the constant rounded to float;
 *   - an integer field compared with a Double constant gets an equivalent exact integer
 *     comparison (x > 2.5 -> x > 2; x == 2.5 -> never), so the kernel stays integral. */
#include <math.h>
#include <string.h>

#include "query/filter_int.h"

/* ---- comparisons ----------------------------------------------------------------------------- */

static fop mirror(fop op)
{
    switch (op) {
    case OP_LT:
        return OP_GT;
    case OP_LE:
        return OP_GE;
    case OP_GT:
        return OP_LT;
    case OP_GE:
        return OP_LE;
    default:
        return op;
    }
}

static qv_err cmp_types(fctx *c, const fnode *n, const fnode *l, const fnode *r)
{
    fty a = l->ty, b = r->ty;
    bool eq = n->op == OP_EQ || n->op == OP_NE;

    if (a == TY_PRED || b == TY_PRED)
        return filter_fail(c, n->pos, "comparing boolean expressions is not supported");
    if (a == TY_JSON || b == TY_JSON) {
        fty o = a == TY_JSON ? b : a;
        if ((o == TY_LIST || o == TY_ARRAY) && !eq)
            return filter_fail(c, n->pos, "arrays can only be compared with == and !=");
        return QV_OK;
    }
    if ((is_num(a) && is_num(b)) || (a == TY_STR && b == TY_STR))
        return QV_OK;
    if ((a == TY_BOOL && b == TY_BOOL) ||
        ((a == TY_ARRAY || a == TY_LIST) && (b == TY_ARRAY || b == TY_LIST))) {
        if (!eq)
            return filter_fail(c, n->pos, "%s values can only be compared with == and !=",
                               a == TY_BOOL ? "Bool" : "Array");
        return QV_OK;
    }
    return filter_fail(c, n->pos, "comparisons between %s and %s are not supported",
                       filter_ty_name(l), filter_ty_name(r));
}

/* x op d for an integer x and a Double constant d, as an exact integer comparison. */
static void exact_int_bound(fnode *n, fnode *k)
{
    const double two63 = 9223372036854775808.0;
    double d = k->c.d, fl = floor(d), ce = ceil(d);
    int always = -1; /* 0 = never, 1 = always, -1 = use (op, v) */
    int64_t v = 0;
    fop op = n->op;

    if (isnan(d)) {
        always = op == OP_NE;
    } else {
        switch (n->op) {
        case OP_GT:
            if (fl >= two63)
                always = 0;
            else if (fl < -two63)
                always = 1;
            else
                v = (int64_t)fl;
            break;
        case OP_GE:
            if (ce >= two63)
                always = 0;
            else if (ce <= -two63)
                always = 1;
            else
                v = (int64_t)ce;
            break;
        case OP_LT:
            if (ce >= two63)
                always = 1;
            else if (ce <= -two63)
                always = 0;
            else
                v = (int64_t)ce;
            break;
        case OP_LE:
            if (fl >= two63)
                always = 1;
            else if (fl < -two63)
                always = 0;
            else
                v = (int64_t)fl;
            break;
        default:
            if (fl != d || fl >= two63 || fl < -two63)
                always = n->op == OP_NE;
            else
                v = (int64_t)d;
        }
    }
    if (always == 1) { /* still UNKNOWN for null rows, so keep it a comparison */
        op = OP_LE;
        v = INT64_MAX;
    } else if (always == 0) {
        op = OP_GT;
        v = INT64_MAX;
    }
    n->op = op;
    k->c.kind = C_INT;
    k->c.i = v;
    k->ty = TY_INT;
}

/* Kids are checked; type-check, fold and normalise the comparison n. */
static qv_err finish_cmp(fctx *c, fnode **pn)
{
    fnode *n = *pn, *l = n->kids[0], *r = n->kids[1];
    qv_err rc;

    if ((rc = cmp_types(c, n, l, r)) != QV_OK)
        return rc;
    n->ty = TY_PRED;
    if (is_const(l) && is_const(r)) {
        fcell a = filter_cell_from_cval(&l->c), b = filter_cell_from_cval(&r->c);
        return (*pn = filter_bool_const(c, n->pos, filter_cell_cmp(&a, &b, n->op))) ? QV_OK
                                                                                    : c->code;
    }
    if (is_const(l)) {
        n->kids[0] = r;
        n->kids[1] = l;
        n->op = mirror(n->op);
        l = n->kids[0];
        r = n->kids[1];
    }
    if (!is_const(r) || !is_num(r->ty))
        return QV_OK;
    /* the constant may be shared by both halves of a range: rewrite a private copy */
    if ((r = n->kids[1] = filter_new_const(c, r->pos, &r->c)) == NULL)
        return c->code;
    if (l->float_prec) {
        r->c.d = (double)(float)cnum(&r->c);
        r->c.kind = C_FLOAT;
        r->ty = TY_FLOAT;
    } else if (l->kind == N_FIELD && l->ty == TY_INT && r->c.kind == C_FLOAT) {
        exact_int_bound(n, r);
    }
    return QV_OK;
}

static qv_err check_range(fctx *c, fnode **pn)
{
    fnode *n = *pn, *a, *b, *and;
    fnode *k[2];
    qv_err rc;

    for (size_t i = 0; i < 3; i++)
        if ((rc = filter_check_value(c, &n->kids[i])) != QV_OK)
            return rc;
    if (!(a = filter_node(c, N_CMP, n->pos)) || !(b = filter_node(c, N_CMP, n->pos)) ||
        !(and = filter_node(c, N_AND, n->pos)))
        return c->code;
    k[0] = n->kids[0];
    k[1] = n->kids[1];
    if ((rc = filter_set_kids(c, a, k, 2, false)) != QV_OK)
        return rc;
    k[0] = n->kids[1];
    k[1] = n->kids[2];
    if ((rc = filter_set_kids(c, b, k, 2, false)) != QV_OK)
        return rc;
    a->op = n->op;
    b->op = n->op2;
    if ((rc = finish_cmp(c, &a)) != QV_OK || (rc = finish_cmp(c, &b)) != QV_OK)
        return rc;
    k[0] = a;
    k[1] = b;
    if ((rc = filter_set_kids(c, and, k, 2, false)) != QV_OK)
        return rc;
    *pn = and;
    return filter_check_pred(c, pn); /* folds constant halves */
}

/* ---- in, like, is null, exists, contains -------------------------------------------------------
 */

static bool elem_fits(fty t, qv_jsonb e)
{
    switch (qv_jsonb_typeof(e)) {
    case QV_JSONB_INT:
    case QV_JSONB_DOUBLE:
        return is_num(t);
    case QV_JSONB_STRING:
        return t == TY_STR;
    case QV_JSONB_BOOL:
        return t == TY_BOOL;
    default:
        return false;
    }
}

static qv_err check_list_elems(fctx *c, const fnode *at, fty t, const char *what, qv_jsonb list)
{
    qv_jsonb_iter it;
    qv_jsonb e;
    size_t i = 0;

    if (t == TY_JSON)
        return QV_OK;
    qv_jsonb_iter_init(&it, list);
    while (qv_jsonb_iter_next(&it, NULL, NULL, &e)) {
        if (!elem_fits(t, e))
            return filter_fail(c, at->pos, "%s: element %zu of the list does not match type %s",
                               what, i, filter_ty_name(at));
        i++;
    }
    return QV_OK;
}

static bool is_list_const(const fnode *n)
{
    return is_const(n) && n->c.kind == C_JSON && n->cj.p && n->cj.p[0] == QV_JSONB_TAG_ARRAY;
}

static qv_err check_in(fctx *c, fnode **pn)
{
    fnode *n = *pn, *l, *r;
    qv_err rc;

    if ((rc = filter_check_value(c, &n->kids[0])) != QV_OK ||
        (rc = filter_check_value(c, &n->kids[1])) != QV_OK)
        return rc;
    l = n->kids[0];
    r = n->kids[1];
    if (!is_list_const(r))
        return filter_fail(c, r->pos, "the right side of 'in' must be a list");
    if (l->ty == TY_PRED || l->ty == TY_ARRAY || l->ty == TY_LIST)
        return filter_fail(c, n->pos, "'in' is not supported on %s", filter_ty_name(l));
    if (qv_jsonb_length(r->cj) > c->lim.max_in_list)
        return filter_fail(c, r->pos, "list has more than %u elements", c->lim.max_in_list);
    if ((rc = check_list_elems(c, l, l->ty, "in", r->cj)) != QV_OK)
        return rc;
    if ((rc = filter_in_build(c, r->cj, l->float_prec, &n->set)) != QV_OK)
        return rc;
    n->ty = TY_PRED;
    if (is_const(l)) {
        fcell v = filter_cell_from_cval(&l->c);
        *pn = filter_bool_const(c, n->pos, filter_cell_in(&n->set, &v) != n->negate);
        return *pn ? QV_OK : c->code;
    }
    return QV_OK;
}

static qv_err check_like(fctx *c, fnode **pn)
{
    fnode *n = *pn, *l, *r;
    qv_err rc;

    if ((rc = filter_check_value(c, &n->kids[0])) != QV_OK ||
        (rc = filter_check_value(c, &n->kids[1])) != QV_OK)
        return rc;
    l = n->kids[0];
    r = n->kids[1];
    if (l->ty != TY_STR && l->ty != TY_JSON)
        return filter_fail(c, n->pos, "like is only supported on VarChar and JSON, got %s",
                           filter_ty_name(l));
    if (!is_const(r) || r->c.kind != C_STR)
        return filter_fail(c, r->pos, "the pattern of like must be a string");
    if ((rc = filter_like_compile(c, r->c.s, r->c.len, &n->like)) != QV_OK)
        return rc;
    n->ty = TY_PRED;
    if (is_const(l)) {
        *pn = filter_bool_const(c, n->pos, filter_like_match(&n->like, l->c.s, l->c.len));
        return *pn ? QV_OK : c->code;
    }
    return QV_OK;
}

static qv_err check_null_exists(fctx *c, fnode **pn)
{
    fnode *n = *pn, *k;
    qv_err rc;

    if ((rc = filter_check_value(c, &n->kids[0])) != QV_OK)
        return rc;
    k = n->kids[0];
    n->ty = TY_PRED;
    if (n->kind == N_EXISTS) {
        if (k->kind != N_PATH && !(k->kind == N_FIELD && k->ty == TY_JSON))
            return filter_fail(c, n->pos, "exists needs a JSON path or dynamic field");
        return QV_OK;
    }
    if (k->kind != N_PATH && k->kind != N_FIELD)
        return filter_fail(c, n->pos, "is null needs a field or JSON path, got %s",
                           filter_ty_name(k));
    if (k->kind == N_FIELD && !k->nullable && k->ty != TY_JSON)
        return (*pn = filter_bool_const(c, n->pos, n->negate)) ? QV_OK : c->code;
    return QV_OK;
}

static qv_err check_contains(fctx *c, fnode **pn, cmode cm)
{
    fnode *n = *pn, *x, *v;
    bool fprec;
    fty et;
    qv_err rc;

    if (n->nkids != 2)
        return filter_fail(c, n->pos, "%.*s takes two arguments", (int)n->nlen, n->name);
    if ((rc = filter_check_value(c, &n->kids[0])) != QV_OK ||
        (rc = filter_check_value(c, &n->kids[1])) != QV_OK)
        return rc;
    x = n->kids[0];
    v = n->kids[1];
    if (x->ty != TY_JSON && x->ty != TY_ARRAY)
        return filter_fail(c, n->pos, "%.*s needs an Array or JSON field, got %s", (int)n->nlen,
                           n->name, filter_ty_name(x));
    if (!is_const(v))
        return filter_fail(c, v->pos, "the second argument of %.*s must be a constant",
                           (int)n->nlen, n->name);
    if (cm != CM_ONE && !is_list_const(v))
        return filter_fail(c, v->pos, "the second argument of %.*s must be a list", (int)n->nlen,
                           n->name);
    et = x->ty == TY_ARRAY ? filter_field_ty(x->etype) : TY_JSON;
    fprec = x->ty == TY_ARRAY && x->etype == QV_TYPE_FLOAT;
    if (cm != CM_ONE) {
        if (qv_jsonb_length(v->cj) > c->lim.max_in_list)
            return filter_fail(c, v->pos, "list has more than %u elements", c->lim.max_in_list);
        if ((rc = check_list_elems(c, x, et, "contains", v->cj)) != QV_OK)
            return rc;
    } else if (et != TY_JSON &&
               !((is_num(et) && is_num(v->ty)) || (et == v->ty && et != TY_LIST))) {
        return filter_fail(c, v->pos, "%.*s: value of type %s does not match elements of type %s",
                           (int)n->nlen, n->name, filter_ty_name(v), qv_type_name(x->etype));
    }
    if ((rc = filter_encode_const(c, &v->c, fprec, &n->cj)) != QV_OK)
        return rc;
    n->kind = N_CONTAINS;
    n->cm = cm;
    n->ty = TY_PRED;
    return QV_OK;
}

static qv_err check_call(fctx *c, fnode **pn)
{
    fnode *n = *pn;
    static const struct {
        const char *name;
        cmode cm;
    } fns[] = {{"json_contains", CM_ONE},     {"array_contains", CM_ONE},
               {"json_contains_all", CM_ALL}, {"array_contains_all", CM_ALL},
               {"json_contains_any", CM_ANY}, {"array_contains_any", CM_ANY}};

    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (filter_name_is(n, fns[i].name))
            return check_contains(c, pn, fns[i].cm);
    if (filter_name_is(n, "text_match"))
        return filter_check_text_match(c, pn);
    if (filter_name_is(n, "array_length"))
        return filter_fail(c, n->pos, "array_length(...) is a number, not a boolean expression");
    return filter_fail(c, n->pos, "function %.*s is not supported", (int)n->nlen, n->name);
}

/* ---- predicates -------------------------------------------------------------------------------
 */

static bool const_bool(const fnode *n, bool *b)
{
    if (!is_const(n) || n->c.kind != C_BOOL)
        return false;
    *b = n->c.b;
    return true;
}

static qv_err check_logic(fctx *c, fnode **pn)
{
    fnode *n = *pn;
    bool is_and = n->kind == N_AND, b;
    size_t m = 0;
    qv_err rc;

    for (size_t i = 0; i < n->nkids; i++) {
        if ((rc = filter_check_pred(c, &n->kids[i])) != QV_OK)
            return rc;
        if (const_bool(n->kids[i], &b)) {
            if (b != is_and) /* false in and / true in or decides the whole node */
                return (*pn = filter_bool_const(c, n->pos, b)) ? QV_OK : c->code;
            continue; /* neutral element */
        }
        n->kids[m++] = n->kids[i];
    }
    n->nkids = m;
    n->ty = TY_PRED;
    if (m == 0)
        return (*pn = filter_bool_const(c, n->pos, is_and)) ? QV_OK : c->code;
    if (m == 1)
        *pn = n->kids[0];
    return QV_OK;
}

static qv_err to_pred(fctx *c, fnode **pn)
{
    fnode *n = *pn, *t;
    qv_err rc;

    if (n->ty == TY_PRED || (is_const(n) && n->c.kind == C_BOOL))
        return QV_OK;
    if (n->ty != TY_BOOL && n->ty != TY_JSON)
        return filter_fail(c, n->pos, "expression of type %s is not a boolean expression",
                           filter_ty_name(n));
    if ((t = filter_node(c, N_TRUTH, n->pos)) == NULL)
        return c->code;
    if ((rc = filter_set_kids(c, t, &n, 1, false)) != QV_OK)
        return rc;
    t->ty = TY_PRED;
    *pn = t;
    return QV_OK;
}

qv_err filter_check_pred(fctx *c, fnode **pn)
{
    fnode *n = *pn;
    bool b;
    qv_err rc;

    if (n->ty == TY_PRED) /* already checked: a rewritten range half */
        return QV_OK;
    switch (n->kind) {
    case N_AND:
    case N_OR:
        return check_logic(c, pn);
    case N_NOT:
        if ((rc = filter_check_pred(c, &n->kids[0])) != QV_OK)
            return rc;
        n->ty = TY_PRED;
        if (const_bool(n->kids[0], &b))
            *pn = filter_bool_const(c, n->pos, !b);
        return *pn ? QV_OK : c->code;
    case N_CMP:
        if ((rc = filter_check_value(c, &n->kids[0])) != QV_OK ||
            (rc = filter_check_value(c, &n->kids[1])) != QV_OK)
            return rc;
        return finish_cmp(c, pn);
    case N_RANGE:
        return check_range(c, pn);
    case N_IN:
        return check_in(c, pn);
    case N_LIKE:
        return check_like(c, pn);
    case N_ISNULL:
    case N_EXISTS:
        return check_null_exists(c, pn);
    case N_CALL:
        if (!filter_name_is(n, "array_length"))
            return check_call(c, pn);
        break; /* a number used as a predicate: refused by to_pred */
    default:
        break;
    }
    if ((rc = filter_check_value(c, pn)) != QV_OK)
        return rc;
    return to_pred(c, pn);
}

qv_err filter_check(fctx *c, fnode **root) { return filter_check_pred(c, root); }
