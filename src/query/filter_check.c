/* SPDX-License-Identifier: Apache-2.0 */
/* filter_check.c - the checker's value half: resolves identifiers against the schema
 * (bare unknown names become $meta keys when dynamic fields are on), substitutes
 * {templates}, folds lists and arithmetic into constants and assigns static types.
 * Predicates are checked in filter_check_pred.c. Recursion follows the tree, whose
 * height the parser bounded by max_depth. */
#include <string.h>
#include <strings.h>

#include "query/filter_int.h"

const char *filter_ty_name(const fnode *n)
{
    if (n->kind == N_FIELD)
        return qv_type_name(n->ftype);
    if (n->kind == N_PATH && n->field >= 0 && n->ftype == QV_TYPE_ARRAY)
        return qv_type_name(n->etype);
    switch (n->ty) {
    case TY_BOOL:
        return "Bool";
    case TY_INT:
        return "Int64";
    case TY_FLOAT:
        return "Double";
    case TY_STR:
        return "VarChar";
    case TY_JSON:
        return "JSON";
    case TY_ARRAY:
    case TY_LIST:
        return "Array";
    case TY_PRED:
        return "boolean expression";
    default:
        return "unknown";
    }
}

fnode *filter_new_const(fctx *c, uint32_t pos, const cval *v)
{
    fnode *n = filter_node(c, N_CONST, pos);
    if (n) {
        n->c = *v;
        switch (v->kind) {
        case C_BOOL:
            n->ty = TY_BOOL;
            break;
        case C_INT:
            n->ty = TY_INT;
            break;
        case C_FLOAT:
            n->ty = TY_FLOAT;
            break;
        case C_STR:
            n->ty = TY_STR;
            break;
        case C_JSON:
            n->ty = TY_LIST;
            break;
        }
        if (v->kind == C_JSON)
            n->cj = qv_jsonb_root(v->s, v->len);
    }
    return n;
}

fnode *filter_bool_const(fctx *c, uint32_t pos, bool b)
{
    cval v = {.kind = C_BOOL, .b = b};
    return filter_new_const(c, pos, &v);
}

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
    case C_BOOL:
        qv_jsonb_bool(b, v->b);
        break;
    case C_INT:
        if (float_prec)
            qv_jsonb_double(b, (double)(float)v->i);
        else
            qv_jsonb_int(b, v->i);
        break;
    case C_FLOAT:
        qv_jsonb_double(b, float_prec ? (double)(float)v->d : v->d);
        break;
    case C_STR:
        qv_jsonb_string(b, v->s, v->len);
        break;
    case C_JSON:
        qv_jsonb_value(b, qv_jsonb_root(v->s, v->len));
        break;
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
qv_err filter_encode_const(fctx *c, const cval *v, bool float_prec, qv_jsonb *out)
{
    qv_jsonb_builder b;
    const uint8_t *p;
    size_t n;
    qv_err rc;
    char *copy;

    qv_jsonb_builder_init(&b);
    if (v->kind == C_JSON && float_prec &&
        qv_jsonb_typeof(qv_jsonb_root(v->s, v->len)) == QV_JSONB_ARRAY) {
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
        if ((rc = filter_check_value(c, &n->kids[i])) != QV_OK)
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
    if (!(*pn = filter_new_const(c, n->pos, &v)))
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
        return filter_fail(c, n->pos,
                           "the value of expression template variable name {%.*s} is not found",
                           (int)n->nlen, n->name);
    if ((rc = cval_from_jsonb(c, v, n->pos, &cv)) != QV_OK)
        return rc;
    return (*pn = filter_new_const(c, n->pos, &cv)) ? QV_OK : c->code;
}

/* ---- identifiers -------------------------------------------------------------------------- */

fty filter_field_ty(qv_type t)
{
    switch (t) {
    case QV_TYPE_BOOL:
        return TY_BOOL;
    case QV_TYPE_INT8:
    case QV_TYPE_INT16:
    case QV_TYPE_INT32:
    case QV_TYPE_INT64:
        return TY_INT;
    case QV_TYPE_FLOAT:
    case QV_TYPE_DOUBLE:
        return TY_FLOAT;
    case QV_TYPE_VARCHAR:
        return TY_STR;
    case QV_TYPE_JSON:
        return TY_JSON;
    case QV_TYPE_ARRAY:
        return TY_ARRAY;
    default:
        return TY_NONE;
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
            return filter_fail(c, n->pos,
                               "field $meta not exist: the collection has no dynamic field");
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
    if (filter_field_ty(f->type) == TY_NONE)
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
        n->ty = filter_field_ty(f->type);
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
    n->ty = filter_field_ty(f->element_type);
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
        if ((rc = filter_check_value(c, &n->kids[i])) != QV_OK)
            return rc;
    for (size_t i = 0; i < n->nkids; i++) {
        fty t = n->kids[i]->ty;
        if (!is_num(t) && t != TY_JSON)
            return filter_fail(c, n->pos, "arithmetic operators need numbers, got %s",
                               filter_ty_name(n->kids[i]));
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
            return (*pn = filter_new_const(c, n->pos, &v)) ? QV_OK : c->code;
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
        return (*pn = filter_new_const(c, n->pos, &v)) ? QV_OK : c->code;
    }
    return QV_OK;
}

bool filter_name_is(const fnode *n, const char *s)
{
    return n->nlen == strlen(s) && strncasecmp(n->name, s, n->nlen) == 0;
}

qv_err filter_check_value(fctx *c, fnode **pn)
{
    fnode *n = *pn;
    qv_err rc;

    switch (n->kind) {
    case N_CONST:
        if (n->c.kind == C_INT && n->negate)
            return filter_fail(c, n->pos, "integer literal out of int64 range");
        n->ty = n->c.kind == C_BOOL    ? TY_BOOL
                : n->c.kind == C_INT   ? TY_INT
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
    case N_NAMED: /* text_match takes it itself; anywhere else it has no meaning */
        return filter_fail(c, n->pos, "a named argument (%.*s=...) is only allowed in "
                                      "text_match",
                           (int)n->nlen, n->name);
    case N_CALL:
        if (!filter_name_is(n, "array_length"))
            return filter_check_pred(c, pn);
        if (n->nkids != 1)
            return filter_fail(c, n->pos, "array_length takes one argument");
        if ((rc = filter_check_value(c, &n->kids[0])) != QV_OK)
            return rc;
        if (n->kids[0]->ty != TY_ARRAY && n->kids[0]->ty != TY_JSON)
            return filter_fail(c, n->pos, "array_length needs an Array or JSON field, got %s",
                               filter_ty_name(n->kids[0]));
        n->kind = N_ARRLEN;
        n->ty = TY_INT;
        return QV_OK;
    default:
        return filter_check_pred(c, pn);
    }
}
