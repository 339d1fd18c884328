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

static qv_err nomem(fctx *c) { return qv_error_set(c->err, QV_ENOMEM, "out of memory compiling a filter"); }

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
            return nomem(c);
        out->len = n;
        return QV_OK;
    case QV_JSONB_ARRAY:
    case QV_JSONB_OBJECT:
        if (qv_jsonb_typeof(v) == QV_JSONB_ARRAY && qv_jsonb_length(v) > c->lim.max_in_list)
            return filter_fail(c, pos, "list has more than %u elements", c->lim.max_in_list);
        out->kind = C_JSON;
        if (!(out->s = farena_strndup(c->arena, (const char *)v.p, v.len)))
            return nomem(c);
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
    if ((rc = qv_jsonb_finish(&b, &p, &n, c->err)) == QV_OK) {
        if ((copy = farena_strndup(c->arena, (const char *)p, n)) == NULL)
            rc = nomem(c);
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
    if ((rc = qv_jsonb_finish(&b, &p, &len, c->err)) != QV_OK)
        goto done;
    if (!(v.s = farena_strndup(c->arena, (const char *)p, len))) {
        rc = nomem(c);
        goto done;
    }
    v.len = len;
    if (!(*pn = new_const(c, n->pos, &v)))
        rc = c->err ? c->err->code : QV_ENOMEM;
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
    return (*pn = new_const(c, n->pos, &cv)) ? QV_OK : c->err ? c->err->code : QV_ENOMEM;
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
        return nomem(c);
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
            return nomem(c);
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
