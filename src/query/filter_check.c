/* SPDX-License-Identifier: Apache-2.0 */
/* filter_check.c - turns the parse tree into the plan: resolves identifiers against the
 * schema (bare unknown names become $meta keys when dynamic fields are on), substitutes
 * {templates}, folds constants, enforces the type rules of quiver/filter.h and normalises
 * comparisons for the evaluator's fast paths:
 *   - a constant operand is always kids[1] (operators mirrored);
 *   - a Float field/element compared with a constant gets the constant rounded to float;
 *   - an integer field compared with a Double constant gets an equivalent exact integer
 *     comparison (x > 2.5 -> x > 2; x == 2.5 -> never), so the kernel stays integral.
 * Recursion follows the tree, whose height the parser bounded by max_depth. */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "quiver/alloc.h"
#include "query/filter_int.h"

static qv_err check_value(fctx *c, fnode **pn);
static qv_err check_pred(fctx *c, fnode **pn);


static const char *ty_name(const fnode *n)
{
    if (n->kind == N_FIELD)
        return qv_type_name(n->ftype);
    if (n->kind == N_PATH && n->field >= 0 && n->ftype == QV_TYPE_ARRAY)
        return qv_type_name(n->etype);
    switch (n->ty) {
    case TY_BOOL: return "Bool";
    case TY_INT: return "Int64";
    case TY_FLOAT: return "Double";
    case TY_STR: return "VarChar";
    case TY_JSON: return "JSON";
    case TY_ARRAY:
    case TY_LIST: return "Array";
    case TY_PRED: return "boolean expression";
    default: return "unknown";
    }
}

static bool is_num(fty t) { return t == TY_INT || t == TY_FLOAT; }
static bool is_const(const fnode *n) { return n->kind == N_CONST; }

static fnode *new_const(fctx *c, uint32_t pos, const cval *v)
{
    fnode *n = filter_node(c, N_CONST, pos);
    if (n) {
        n->c = *v;
        switch (v->kind) {
        case C_BOOL: n->ty = TY_BOOL; break;
        case C_INT: n->ty = TY_INT; break;
        case C_FLOAT: n->ty = TY_FLOAT; break;
        case C_STR: n->ty = TY_STR; break;
        case C_JSON: n->ty = TY_LIST; break;
        }
        if (v->kind == C_JSON)
            n->cj = qv_jsonb_root(v->s, v->len);
    }
    return n;
}

static fnode *bool_const(fctx *c, uint32_t pos, bool b)
{
    cval v = {.kind = C_BOOL, .b = b};
    return new_const(c, pos, &v);
}

static double cnum(const cval *v) { return v->kind == C_INT ? (double)v->i : v->d; }

/* ---- constants from jsonb (templates) and to jsonb (lists) ------------------------------- */

static qv_err cval_from_jsonb(fctx *c, qv_jsonb v, uint32_t pos, cval *out)
{
    const char *s;
    size_t n;

    memset(out, 0, sizeof *out);
    switch (qv_jsonb_typeof(v)) {
    case QV_JSONB_BOOL:
        out->kind = C_BOOL;
        (void)qv_jsonb_get_bool(v, &out->b);
        return QV_OK;
    case QV_JSONB_INT:
        out->kind = C_INT;
        (void)qv_jsonb_get_int(v, &out->i);
        return QV_OK;
    case QV_JSONB_DOUBLE:
        out->kind = C_FLOAT;
        (void)qv_jsonb_get_double(v, &out->d);
        return QV_OK;
    case QV_JSONB_STRING:
        (void)qv_jsonb_get_string(v, &s, &n);
        out->kind = C_STR;
        if (!(out->s = farena_strndup(c->arena, s, n)))
            return filter_nomem(c);
        out->len = n;
        return QV_OK;
    case QV_JSONB_ARRAY:
    case QV_JSONB_OBJECT:
        if (qv_jsonb_typeof(v) == QV_JSONB_ARRAY && qv_jsonb_length(v) > c->lim.max_in_list)
            return filter_fail(c, pos, "list has more than %u elements", c->lim.max_in_list);
        out->kind = C_JSON;
        if (!(out->s = farena_strndup(c->arena, (const char *)v.p, v.len)))
            return filter_nomem(c);
        out->len = v.len;
        return QV_OK;
    default:
        return filter_fail(c, pos, "template value is null or invalid");
    }
}

static void put_cval(qv_jsonb_builder *b, const cval *v, bool float_prec)
{
    switch (v->kind) {
    case C_BOOL: qv_jsonb_bool(b, v->b); break;
    case C_INT:
        if (float_prec)
            qv_jsonb_double(b, (double)(float)v->i);
        else
            qv_jsonb_int(b, v->i);
        break;
    case C_FLOAT: qv_jsonb_double(b, float_prec ? (double)(float)v->d : v->d); break;
    case C_STR: qv_jsonb_string(b, v->s, v->len); break;
    case C_JSON: qv_jsonb_value(b, qv_jsonb_root(v->s, v->len)); break;
    }
}

/* qv_jsonb_finish with its errors in the filter's wording. */
static qv_err finish_blob(fctx *c, qv_jsonb_builder *b, uint32_t pos, const uint8_t **p, size_t *n)
{
    qv_error local;
    qv_err rc = qv_jsonb_finish(b, p, n, &local);

    if (rc == QV_ENOMEM)
        return filter_nomem(c);
    if (rc != QV_OK)
        return filter_fail(c, pos, "invalid constant: %s", local.msg);
    return QV_OK;
}

/* Encode a constant (or, with each_of_list, a list's elements) as a jsonb blob in the
 * arena, rounding numbers to float when float_prec. */
static qv_err encode_const(fctx *c, const cval *v, bool float_prec, qv_jsonb *out)
{
    qv_jsonb_builder b;
    const uint8_t *p;
    size_t n;
    qv_err rc;
    char *copy;

    qv_jsonb_builder_init(&b);
    if (v->kind == C_JSON && float_prec && qv_jsonb_typeof(qv_jsonb_root(v->s, v->len)) == QV_JSONB_ARRAY) {
        qv_jsonb_iter it;
        qv_jsonb e;
        qv_jsonb_begin_array(&b);
        qv_jsonb_iter_init(&it, qv_jsonb_root(v->s, v->len));
        while (qv_jsonb_iter_next(&it, NULL, NULL, &e)) {
            double d;
            if (qv_jsonb_get_double(e, &d))
                qv_jsonb_double(&b, (double)(float)d);
            else
                qv_jsonb_value(&b, e);
        }
        qv_jsonb_end_array(&b);
    } else {
        put_cval(&b, v, float_prec);
    }
    if ((rc = finish_blob(c, &b, 0, &p, &n)) == QV_OK) {
        if ((copy = farena_strndup(c->arena, (const char *)p, n)) == NULL)
            rc = filter_nomem(c);
        else
            *out = qv_jsonb_root(copy, n);
    }
    qv_jsonb_builder_fini(&b);
    return rc;
}

static qv_err fold_list(fctx *c, fnode **pn)
{
    fnode *n = *pn, *k;
    qv_jsonb_builder b;
    const uint8_t *p;
    size_t len;
    cval v = {.kind = C_JSON};
    qv_err rc = QV_OK;

    qv_jsonb_builder_init(&b);
    qv_jsonb_begin_array(&b);
    for (size_t i = 0; i < n->nkids; i++) {
        if ((rc = check_value(c, &n->kids[i])) != QV_OK)
            goto done;
        k = n->kids[i];
        if (!is_const(k)) {
            rc = filter_fail(c, k->pos, "list elements must be constants");
            goto done;
        }
        put_cval(&b, &k->c, false);
    }
    qv_jsonb_end_array(&b);
    if ((rc = finish_blob(c, &b, n->pos, &p, &len)) != QV_OK)
        goto done;
    if (!(v.s = farena_strndup(c->arena, (const char *)p, len))) {
        rc = filter_nomem(c);
        goto done;
    }
    v.len = len;
    if (!(*pn = new_const(c, n->pos, &v)))
        rc = c->code;
done:
    qv_jsonb_builder_fini(&b);
    return rc;
}

static qv_err resolve_template(fctx *c, fnode **pn)
{
    fnode *n = *pn;
    qv_jsonb v = qv_jsonb_find(c->params, n->name, n->nlen);
    cval cv;
    qv_err rc;

    if (!qv_jsonb_present(v))
        return filter_fail(c, n->pos, "the value of expression template variable name {%.*s} is not found",
                           (int)n->nlen, n->name);
    if ((rc = cval_from_jsonb(c, v, n->pos, &cv)) != QV_OK)
        return rc;
    return (*pn = new_const(c, n->pos, &cv)) ? QV_OK : c->code;
}

/* ---- identifiers -------------------------------------------------------------------------- */

static fty field_ty(qv_type t)
{
    switch (t) {
    case QV_TYPE_BOOL: return TY_BOOL;
    case QV_TYPE_INT8: case QV_TYPE_INT16: case QV_TYPE_INT32: case QV_TYPE_INT64: return TY_INT;
    case QV_TYPE_FLOAT: case QV_TYPE_DOUBLE: return TY_FLOAT;
    case QV_TYPE_VARCHAR: return TY_STR;
    case QV_TYPE_JSON: return TY_JSON;
    case QV_TYPE_ARRAY: return TY_ARRAY;
    default: return TY_NONE;
    }
}

static qv_err resolve_ident(fctx *c, fnode *n)
{
    char *name = farena_strndup(c->arena, n->name, n->nlen);
    const qv_field *f;
    int idx;

    if (!name)
        return filter_nomem(c);
    if (strcmp(name, "$meta") == 0) {
        if (!c->schema->enable_dynamic)
            return filter_fail(c, n->pos, "field $meta not exist: the collection has no dynamic field");
        n->kind = N_PATH;
        n->field = -1;
        n->ftype = QV_TYPE_JSON;
        n->ty = TY_JSON;
        c->plan->uses_dynamic = true;
        if (n->nsteps == 0)
            n->kind = N_FIELD; /* the whole $meta object */
        return QV_OK;
    }
    if ((f = qv_schema_field(c->schema, name)) == NULL) {
        pstep *steps;
        if (!c->schema->enable_dynamic)
            return filter_fail(c, n->pos, "field %s not exist", name);
        if (!(steps = farena_alloc(c->arena, (n->nsteps + 1) * sizeof *steps)))
            return filter_nomem(c);
        steps[0].key = name;
        steps[0].klen = n->nlen;
        if (n->nsteps)
            memcpy(steps + 1, n->steps, n->nsteps * sizeof *steps);
        n->steps = steps;
        n->nsteps++;
        n->kind = N_PATH;
        n->field = -1;
        n->ftype = QV_TYPE_JSON;
        n->ty = TY_JSON;
        c->plan->uses_dynamic = true;
        return QV_OK;
    }
    idx = (int)(f - c->schema->fields);
    if (qv_type_is_vector(f->type))
        return filter_fail(c, n->pos, "filtering on vector field %s is not supported", name);
    if (field_ty(f->type) == TY_NONE)
        return filter_fail(c, n->pos, "field %s of type %s cannot be filtered on", name,
                           qv_type_name(f->type) ? qv_type_name(f->type) : "?");
    n->field = idx;
    n->ftype = f->type;
    n->etype = f->element_type;
    n->nullable = f->nullable;
    n->name = name;
    c->plan->field_mask |= (uint64_t)1 << idx;
    if (n->nsteps == 0) {
        n->kind = N_FIELD;
        n->ty = field_ty(f->type);
        n->float_prec = f->type == QV_TYPE_FLOAT;
        return QV_OK;
    }
    n->kind = N_PATH;
    if (f->type == QV_TYPE_JSON) {
        n->ty = TY_JSON;
        return QV_OK;
    }
    if (f->type != QV_TYPE_ARRAY)
        return filter_fail(c, n->pos, "field %s of type %s cannot be indexed", name,
                           qv_type_name(f->type));
    if (n->nsteps != 1 || !n->steps[0].is_index)
        return filter_fail(c, n->pos, "array field %s takes exactly one integer index", name);
    n->ty = field_ty(f->element_type);
    n->float_prec = f->element_type == QV_TYPE_FLOAT;
    if (n->ty == TY_NONE || n->ty == TY_JSON || n->ty == TY_ARRAY)
        return filter_fail(c, n->pos, "array field %s has an unsupported element type", name);
    return QV_OK;
}

/* ---- values ------------------------------------------------------------------------------- */

static qv_err check_arith(fctx *c, fnode **pn)
{
    fnode *n = *pn, *l, *r;
    qv_err rc;

    for (size_t i = 0; i < n->nkids; i++)
        if ((rc = check_value(c, &n->kids[i])) != QV_OK)
            return rc;
    for (size_t i = 0; i < n->nkids; i++) {
        fty t = n->kids[i]->ty;
        if (!is_num(t) && t != TY_JSON)
            return filter_fail(c, n->pos, "arithmetic operators need numbers, got %s",
                               ty_name(n->kids[i]));
    }
    l = n->kids[0];
    if (n->kind == N_NEG) {
        n->ty = l->ty;
        if (is_const(l)) {
            cval v = l->c;
            if (v.kind == C_INT)
                v.i = (int64_t)(0 - (uint64_t)v.i);
            else
                v.d = -v.d;
            return (*pn = new_const(c, n->pos, &v)) ? QV_OK : c->code;
        }
        return QV_OK;
    }
    r = n->kids[1];
    if ((n->op == OP_DIV || n->op == OP_MOD) && is_const(r) && cnum(&r->c) == 0)
        return filter_fail(c, r->pos, "division by zero");
    if (l->ty == TY_JSON || r->ty == TY_JSON)
        n->ty = TY_JSON;
    else
        n->ty = l->ty == TY_INT && r->ty == TY_INT && n->op != OP_POW ? TY_INT : TY_FLOAT;
    if (is_const(l) && is_const(r)) {
        cval v = {.kind = n->ty == TY_INT ? C_INT : C_FLOAT};
        if (n->ty == TY_INT)
            (void)filter_arith_i64(n->op, l->c.i, r->c.i, &v.i);
        else
            (void)filter_arith_f64(n->op, cnum(&l->c), cnum(&r->c), &v.d);
        return (*pn = new_const(c, n->pos, &v)) ? QV_OK : c->code;
    }
    return QV_OK;
}

static bool name_is(const fnode *n, const char *s)
{
    return n->nlen == strlen(s) && strncasecmp(n->name, s, n->nlen) == 0;
}

static qv_err check_value(fctx *c, fnode **pn)
{
    fnode *n = *pn;
    qv_err rc;

    switch (n->kind) {
    case N_CONST:
        if (n->c.kind == C_INT && n->negate)
            return filter_fail(c, n->pos, "integer literal out of int64 range");
        n->ty = n->c.kind == C_BOOL  ? TY_BOOL
                : n->c.kind == C_INT ? TY_INT
                : n->c.kind == C_FLOAT ? TY_FLOAT
                : n->c.kind == C_STR   ? TY_STR
                                       : TY_LIST;
        return QV_OK;
    case N_FIELD:
    case N_PATH:
    case N_ARRLEN:
        return QV_OK; /* already resolved */
    case N_TEMPLATE:
        return resolve_template(c, pn);
    case N_LIST:
        return fold_list(c, pn);
    case N_IDENT:
        return resolve_ident(c, n);
    case N_ARITH:
    case N_NEG:
        return check_arith(c, pn);
    case N_CALL:
        if (!name_is(n, "array_length"))
            return check_pred(c, pn);
        if (n->nkids != 1)
            return filter_fail(c, n->pos, "array_length takes one argument");
        if ((rc = check_value(c, &n->kids[0])) != QV_OK)
            return rc;
        if (n->kids[0]->ty != TY_ARRAY && n->kids[0]->ty != TY_JSON)
            return filter_fail(c, n->pos, "array_length needs an Array or JSON field, got %s",
                               ty_name(n->kids[0]));
        n->kind = N_ARRLEN;
        n->ty = TY_INT;
        return QV_OK;
    default:
        return check_pred(c, pn);
    }
}

/* ---- comparisons ----------------------------------------------------------------------------- */

static fop mirror(fop op)
{
    switch (op) {
    case OP_LT: return OP_GT;
    case OP_LE: return OP_GE;
    case OP_GT: return OP_LT;
    case OP_GE: return OP_LE;
    default: return op;
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
    return filter_fail(c, n->pos, "comparisons between %s and %s are not supported", ty_name(l),
                       ty_name(r));
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
            if (fl >= two63) always = 0; else if (fl < -two63) always = 1; else v = (int64_t)fl;
            break;
        case OP_GE:
            if (ce >= two63) always = 0; else if (ce <= -two63) always = 1; else v = (int64_t)ce;
            break;
        case OP_LT:
            if (ce >= two63) always = 1; else if (ce <= -two63) always = 0; else v = (int64_t)ce;
            break;
        case OP_LE:
            if (fl >= two63) always = 1; else if (fl < -two63) always = 0; else v = (int64_t)fl;
            break;
        default:
            if (fl != d || fl >= two63 || fl < -two63) always = n->op == OP_NE;
            else v = (int64_t)d;
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
        return (*pn = bool_const(c, n->pos, filter_cell_cmp(&a, &b, n->op))) ? QV_OK
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
    if ((r = n->kids[1] = new_const(c, r->pos, &r->c)) == NULL)
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
        if ((rc = check_value(c, &n->kids[i])) != QV_OK)
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
    return check_pred(c, pn); /* folds constant halves */
}

/* ---- in, like, is null, exists, contains ------------------------------------------------------- */

static bool elem_fits(fty t, qv_jsonb e)
{
    switch (qv_jsonb_typeof(e)) {
    case QV_JSONB_INT:
    case QV_JSONB_DOUBLE: return is_num(t);
    case QV_JSONB_STRING: return t == TY_STR;
    case QV_JSONB_BOOL: return t == TY_BOOL;
    default: return false;
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
                               what, i, ty_name(at));
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

    if ((rc = check_value(c, &n->kids[0])) != QV_OK || (rc = check_value(c, &n->kids[1])) != QV_OK)
        return rc;
    l = n->kids[0];
    r = n->kids[1];
    if (!is_list_const(r))
        return filter_fail(c, r->pos, "the right side of 'in' must be a list");
    if (l->ty == TY_PRED || l->ty == TY_ARRAY || l->ty == TY_LIST)
        return filter_fail(c, n->pos, "'in' is not supported on %s", ty_name(l));
    if (qv_jsonb_length(r->cj) > c->lim.max_in_list)
        return filter_fail(c, r->pos, "list has more than %u elements", c->lim.max_in_list);
    if ((rc = check_list_elems(c, l, l->ty, "in", r->cj)) != QV_OK)
        return rc;
    if ((rc = filter_in_build(c, r->cj, l->float_prec, &n->set)) != QV_OK)
        return rc;
    n->ty = TY_PRED;
    if (is_const(l)) {
        fcell v = filter_cell_from_cval(&l->c);
        *pn = bool_const(c, n->pos, filter_cell_in(&n->set, &v) != n->negate);
        return *pn ? QV_OK : c->code;
    }
    return QV_OK;
}

static qv_err check_like(fctx *c, fnode **pn)
{
    fnode *n = *pn, *l, *r;
    qv_err rc;

    if ((rc = check_value(c, &n->kids[0])) != QV_OK || (rc = check_value(c, &n->kids[1])) != QV_OK)
        return rc;
    l = n->kids[0];
    r = n->kids[1];
    if (l->ty != TY_STR && l->ty != TY_JSON)
        return filter_fail(c, n->pos, "like is only supported on VarChar and JSON, got %s",
                           ty_name(l));
    if (!is_const(r) || r->c.kind != C_STR)
        return filter_fail(c, r->pos, "the pattern of like must be a string");
    if ((rc = filter_like_compile(c, r->c.s, r->c.len, &n->like)) != QV_OK)
        return rc;
    n->ty = TY_PRED;
    if (is_const(l)) {
        *pn = bool_const(c, n->pos, filter_like_match(&n->like, l->c.s, l->c.len));
        return *pn ? QV_OK : c->code;
    }
    return QV_OK;
}

static qv_err check_null_exists(fctx *c, fnode **pn)
{
    fnode *n = *pn, *k;
    qv_err rc;

    if ((rc = check_value(c, &n->kids[0])) != QV_OK)
        return rc;
    k = n->kids[0];
    n->ty = TY_PRED;
    if (n->kind == N_EXISTS) {
        if (k->kind != N_PATH && !(k->kind == N_FIELD && k->ty == TY_JSON))
            return filter_fail(c, n->pos, "exists needs a JSON path or dynamic field");
        return QV_OK;
    }
    if (k->kind != N_PATH && k->kind != N_FIELD)
        return filter_fail(c, n->pos, "is null needs a field or JSON path, got %s", ty_name(k));
    if (k->kind == N_FIELD && !k->nullable && k->ty != TY_JSON)
        return (*pn = bool_const(c, n->pos, n->negate)) ? QV_OK : c->code;
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
    if ((rc = check_value(c, &n->kids[0])) != QV_OK || (rc = check_value(c, &n->kids[1])) != QV_OK)
        return rc;
    x = n->kids[0];
    v = n->kids[1];
    if (x->ty != TY_JSON && x->ty != TY_ARRAY)
        return filter_fail(c, n->pos, "%.*s needs an Array or JSON field, got %s", (int)n->nlen,
                           n->name, ty_name(x));
    if (!is_const(v))
        return filter_fail(c, v->pos, "the second argument of %.*s must be a constant",
                           (int)n->nlen, n->name);
    if (cm != CM_ONE && !is_list_const(v))
        return filter_fail(c, v->pos, "the second argument of %.*s must be a list", (int)n->nlen,
                           n->name);
    et = x->ty == TY_ARRAY ? field_ty(x->etype) : TY_JSON;
    fprec = x->ty == TY_ARRAY && x->etype == QV_TYPE_FLOAT;
    if (cm != CM_ONE) {
        if (qv_jsonb_length(v->cj) > c->lim.max_in_list)
            return filter_fail(c, v->pos, "list has more than %u elements", c->lim.max_in_list);
        if ((rc = check_list_elems(c, x, et, "contains", v->cj)) != QV_OK)
            return rc;
    } else if (et != TY_JSON &&
               !((is_num(et) && is_num(v->ty)) || (et == v->ty && et != TY_LIST))) {
        return filter_fail(c, v->pos, "%.*s: value of type %s does not match elements of type %s",
                           (int)n->nlen, n->name, ty_name(v), qv_type_name(x->etype));
    }
    if ((rc = encode_const(c, &v->c, fprec, &n->cj)) != QV_OK)
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
        if (name_is(n, fns[i].name))
            return check_contains(c, pn, fns[i].cm);
    if (name_is(n, "array_length"))
        return filter_fail(c, n->pos, "array_length(...) is a number, not a boolean expression");
    return filter_fail(c, n->pos, "function %.*s is not supported", (int)n->nlen, n->name);
}

/* ---- predicates ------------------------------------------------------------------------------- */

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
        if ((rc = check_pred(c, &n->kids[i])) != QV_OK)
            return rc;
        if (const_bool(n->kids[i], &b)) {
            if (b != is_and) /* false in and / true in or decides the whole node */
                return (*pn = bool_const(c, n->pos, b)) ? QV_OK : c->code;
            continue; /* neutral element */
        }
        n->kids[m++] = n->kids[i];
    }
    n->nkids = m;
    n->ty = TY_PRED;
    if (m == 0)
        return (*pn = bool_const(c, n->pos, is_and)) ? QV_OK : c->code;
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
                           ty_name(n));
    if ((t = filter_node(c, N_TRUTH, n->pos)) == NULL)
        return c->code;
    if ((rc = filter_set_kids(c, t, &n, 1, false)) != QV_OK)
        return rc;
    t->ty = TY_PRED;
    *pn = t;
    return QV_OK;
}

static qv_err check_pred(fctx *c, fnode **pn)
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
        if ((rc = check_pred(c, &n->kids[0])) != QV_OK)
            return rc;
        n->ty = TY_PRED;
        if (const_bool(n->kids[0], &b))
            *pn = bool_const(c, n->pos, !b);
        return *pn ? QV_OK : c->code;
    case N_CMP:
        if ((rc = check_value(c, &n->kids[0])) != QV_OK || (rc = check_value(c, &n->kids[1])) != QV_OK)
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
        if (!name_is(n, "array_length"))
            return check_call(c, pn);
        break; /* a number used as a predicate: refused by to_pred */
    default:
        break;
    }
    if ((rc = check_value(c, pn)) != QV_OK)
        return rc;
    return to_pred(c, pn);
}

qv_err filter_check(fctx *c, fnode **root)
{
    return check_pred(c, root);
}
