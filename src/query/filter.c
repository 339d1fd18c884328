/* SPDX-License-Identifier: Apache-2.0 */
/* filter.c - the public face of the filter module: limits and defaults, the compile
 * pipeline (parse, lexing on demand -> check; see filter_int.h), plan accessors and the primary-key
 * point-lookup shortcut. */
#include <string.h>

#include "query/filter_int.h"
#include "quiver/alloc.h"
#include "quiver/analyzer.h"

static void apply_defaults(qv_filter_opts *o)
{
    if (!o->max_expr_bytes)
        o->max_expr_bytes = QV_FILTER_DEFAULT_MAX_EXPR_BYTES;
    if (!o->max_depth)
        o->max_depth = QV_FILTER_DEFAULT_MAX_DEPTH;
    if (!o->max_in_list)
        o->max_in_list = QV_FILTER_DEFAULT_MAX_IN_LIST;
    if (!o->max_nodes)
        o->max_nodes = QV_FILTER_DEFAULT_MAX_NODES;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return false;
    return true;
}

static qv_err copy_fields(fctx *c)
{
    qv_filter *f = c->plan;

    f->nfields = c->schema->field_count;
    if (f->nfields > 64)
        return qv_error_set(c->err, QV_EINVAL, "schema has more than 64 fields");
    if (!(f->fields = farena_alloc(&f->arena, (f->nfields + 1) * sizeof *f->fields)))
        return filter_nomem(c);
    for (size_t i = 0; i < f->nfields; i++) {
        const qv_field *sf = &c->schema->fields[i];
        f->fields[i].type = sf->type;
        f->fields[i].etype = sf->element_type;
        f->fields[i].nullable = sf->nullable;
        if (!(f->fields[i].name = farena_strndup(&f->arena, sf->name, strlen(sf->name))))
            return filter_nomem(c);
    }
    return QV_OK;
}

/* `pk == v` or `pk in [...]`: keep the literal keys for point lookups. */
static qv_err find_pk_values(fctx *c)
{
    qv_filter *f = c->plan;
    const fnode *r = f->root, *x;
    const qv_field *pk = qv_schema_primary(c->schema);
    in_set one, *s;
    size_t n;

    if (!r || !pk || r->nkids < 1)
        return QV_OK;
    x = r->kids[0];
    if (x->kind != N_FIELD || x->field < 0 || &c->schema->fields[x->field] != pk)
        return QV_OK;
    if (r->kind == N_CMP && r->op == OP_EQ && r->kids[1]->kind == N_CONST) {
        const cval *v = &r->kids[1]->c;
        memset(&one, 0, sizeof one);
        if (v->kind == C_INT) {
            one.ints = (int64_t *)&v->i;
            one.nints = 1;
        } else if (v->kind == C_STR) {
            one.strs = (cval *)v;
            one.nstrs = 1;
        } else {
            return QV_OK; /* Int64 pk == 2.5 matches nothing; not a point lookup */
        }
        s = &one;
    } else if (r->kind == N_IN && !r->negate) {
        s = (in_set *)&r->set;
    } else {
        return QV_OK;
    }
    n = pk->type == QV_TYPE_INT64 ? s->nints : s->nstrs;
    if (!(f->pk_vals = farena_alloc(&f->arena, (n + 1) * sizeof *f->pk_vals)))
        return filter_nomem(c);
    for (size_t i = 0; i < n; i++) {
        qv_value *v = &f->pk_vals[i];
        if (pk->type == QV_TYPE_INT64) {
            v->type = QV_TYPE_INT64;
            v->u.i = s->ints[i];
        } else {
            v->type = QV_TYPE_VARCHAR;
            v->u.str.s = (char *)s->strs[i].s;
            v->u.str.len = s->strs[i].len;
        }
    }
    f->npk = n;
    f->pk_only = true;
    return QV_OK;
}

qv_err qv_filter_compile(const qv_schema *schema, const char *expr, size_t expr_len,
                         const qv_filter_opts *o, qv_filter **out, qv_error *err)
{
    fctx c;
    qv_filter *f;
    fnode *root = NULL;
    qv_err rc;

    memset(&c, 0, sizeof c);
    if (o)
        c.lim = *o;
    apply_defaults(&c.lim);
    c.expr = expr ? expr : "";
    c.len = expr ? expr_len : 0;
    c.schema = schema;
    c.err = err;
    if (c.len > c.lim.max_expr_bytes)
        return filter_fail_nopos(&c, "expression is %zu bytes, more than the limit of %zu", c.len,
                                 c.lim.max_expr_bytes);
    if ((f = qv_calloc(1, sizeof *f)) == NULL)
        return qv_error_set(err, QV_ENOMEM, "out of memory compiling a filter");
    c.plan = f;
    c.arena = &f->arena;
    if ((rc = copy_fields(&c)) != QV_OK)
        goto fail;
    if (c.lim.params) {
        c.params = qv_jsonb_root(c.lim.params, c.lim.params_len);
        if (qv_jsonb_validate(c.lim.params, c.lim.params_len, NULL) != QV_OK ||
            qv_jsonb_typeof(c.params) != QV_JSONB_OBJECT) {
            rc = filter_fail_nopos(&c, "exprParams must be an object");
            goto fail;
        }
    }
    if (!blank(c.expr, c.len)) {
        if ((rc = filter_parse(&c, &root)) != QV_OK)
            goto fail;
        /* max_nodes bounds the syntax tree; the checker adds at most a few nodes per
         * syntax node (truth tests, range halves), so its own are not counted */
        c.lim.max_nodes = UINT32_MAX;
        if ((rc = filter_check(&c, &root)) != QV_OK)
            goto fail;
        if (!(root->kind == N_CONST && root->c.kind == C_BOOL && root->c.b))
            f->root = root;
        if ((rc = find_pk_values(&c)) != QV_OK)
            goto fail;
        if (filter_index_prepare(f) != QV_OK) {
            rc = qv_error_set(err, QV_ENOMEM, "out of memory compiling a filter");
            goto fail;
        }
    }
    *out = f;
    return QV_OK;
fail:
    qv_filter_free(f);
    return rc;
}

void qv_filter_free(qv_filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nanalyzers; i++)
        qv_analyzer_free(f->analyzers[i]);
    qv_free(f->analyzers);
    farena_fini(&f->arena);
    qv_free(f);
}

bool qv_filter_matches_all(const qv_filter *f) { return f->root == NULL; }
uint64_t qv_filter_field_mask(const qv_filter *f) { return f->field_mask; }
bool qv_filter_uses_dynamic(const qv_filter *f) { return f->uses_dynamic; }

bool qv_filter_pk_values(const qv_filter *f, const qv_value **vals, size_t *n)
{
    if (!f->pk_only)
        return false;
    *vals = f->pk_vals;
    *n = f->npk;
    return true;
}

/* ---- partition-key pruning ------------------------------------------------------------ */

typedef struct key_vals {
    size_t field;
    qv_type type;
    qv_value *vals;
    size_t n, cap;
} key_vals;

static bool key_push(key_vals *k, int64_t i, const char *s, size_t len)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 8;
        qv_value *v = qv_reallocarray(k->vals, cap, sizeof *v);
        if (!v)
            return false;
        k->vals = v;
        k->cap = cap;
    }
    k->vals[k->n].type = k->type;
    if (k->type == QV_TYPE_INT64) {
        k->vals[k->n].u.i = i;
    } else {
        k->vals[k->n].u.str.s = (char *)s;
        k->vals[k->n].u.str.len = len;
    }
    k->n++;
    return true;
}

/* Add the values node n restricts the field to; false when it does not restrict it to a
 * finite set (or memory ran out: no pruning is always safe). */
static bool key_values(const fnode *n, key_vals *k)
{
    const fnode *x = n->nkids ? n->kids[0] : NULL;

    switch (n->kind) {
    case N_AND: /* any one restricting conjunct bounds the whole */
        for (size_t i = 0; i < n->nkids; i++) {
            size_t mark = k->n;
            if (key_values(n->kids[i], k))
                return true;
            k->n = mark;
        }
        return false;
    case N_OR: /* every alternative must restrict: the union */
        for (size_t i = 0; i < n->nkids; i++)
            if (!key_values(n->kids[i], k))
                return false;
        return n->nkids > 0;
    case N_CMP:
        if (n->op != OP_EQ || x->kind != N_FIELD || x->field != (int)k->field ||
            n->kids[1]->kind != N_CONST)
            return false;
        if (k->type == QV_TYPE_INT64 && n->kids[1]->c.kind == C_INT)
            return key_push(k, n->kids[1]->c.i, NULL, 0);
        if (k->type == QV_TYPE_VARCHAR && n->kids[1]->c.kind == C_STR)
            return key_push(k, 0, n->kids[1]->c.s, n->kids[1]->c.len);
        return false;
    case N_IN:
        if (n->negate || x->kind != N_FIELD || x->field != (int)k->field)
            return false;
        for (size_t i = 0; k->type == QV_TYPE_INT64 && i < n->set.nints; i++)
            if (!key_push(k, n->set.ints[i], NULL, 0))
                return false;
        for (size_t i = 0; k->type == QV_TYPE_VARCHAR && i < n->set.nstrs; i++)
            if (!key_push(k, 0, n->set.strs[i].s, n->set.strs[i].len))
                return false;
        return true; /* other kinds in the list cannot match the field */
    default:
        return false;
    }
}

bool qv_filter_field_values(const qv_filter *f, size_t field, qv_value **vals, size_t *n)
{
    key_vals k = {.field = field};

    if (!f || !f->root || field >= f->nfields)
        return false;
    k.type = f->fields[field].type;
    if ((k.type != QV_TYPE_INT64 && k.type != QV_TYPE_VARCHAR) || !key_values(f->root, &k)) {
        qv_free(k.vals);
        return false;
    }
    *vals = k.vals;
    *n = k.n;
    return true;
}
