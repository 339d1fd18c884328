/* SPDX-License-Identifier: Apache-2.0 */
/* filter_index.c - predicates answered by scalar indexes (quiver/filter.h, "scalar
 * indexes"): which plan nodes qualify, their rows over a segment from an index, and
 * the window's slice of them during evaluation.
 *
 * Each shape reproduces the column kernel of filter_cmp.c / filter_eval.c exactly: the
 * same constant conversions, and whenever the index cannot tell (a constant of another
 * type than the keys, an inexact index, contains_all of an empty list) the node is left
 * to the column kernel. The bitmap holds the rows where the predicate is TRUE ignoring
 * nulls (or, complement set, where it is not); nulls and `not in` are applied per window
 * as the kernels do. */
#include <string.h>

#include "query/filter_int.h"
#include "quiver/alloc.h"

#define EXACT_DOUBLE_INT (INT64_C(1) << 53)

struct qv_filter_pre {
    size_t rows, n;
    uint64_t **bm;   /* [n], by pre_slot - 1; NULL = not answered */
    bool *complement;
};

/* ---- which nodes -------------------------------------------------------------------------- */

static bool candidate(const fnode *n)
{
    const fnode *x;

    if (n->kind != N_CMP && n->kind != N_IN && n->kind != N_LIKE && n->kind != N_CONTAINS)
        return false;
    x = n->kids[0];
    if (x->field < 0 || (x->kind != N_FIELD && x->kind != N_PATH))
        return false;
    if (n->kind == N_CONTAINS || x->ftype == QV_TYPE_ARRAY) /* an Array's keys are elements */
        return n->kind == N_CONTAINS && x->kind == N_FIELD && x->ftype == QV_TYPE_ARRAY;
    if (x->kind == N_PATH && x->ftype != QV_TYPE_JSON)
        return false;
    return n->kind != N_CMP || n->kids[1]->kind == N_CONST;
}

/* Number the candidates under the logic nodes (the plan's height is bounded). */
static void collect(fnode *n, const fnode **out, size_t *count)
{
    if (n->kind == N_AND || n->kind == N_OR || n->kind == N_NOT) {
        for (size_t i = 0; i < n->nkids; i++)
            collect(n->kids[i], out, count);
    } else if (candidate(n)) {
        if (out)
            out[*count] = n;
        n->pre_slot = (uint32_t)++*count;
    }
}

qv_err filter_index_prepare(qv_filter *f)
{
    size_t n = 0;

    if (!f->root)
        return QV_OK;
    collect(f->root, NULL, &n);
    if (!n)
        return QV_OK;
    if (!(f->pre_nodes = farena_alloc(&f->arena, n * sizeof *f->pre_nodes)))
        return QV_ENOMEM;
    f->npre = 0;
    collect(f->root, f->pre_nodes, &f->npre);
    return QV_OK;
}

bool qv_filter_indexable(const qv_filter *f) { return f && f->npre > 0; }

/* ---- answering a node from an index ---------------------------------------------------------- */

typedef struct answer {
    const qv_sindex *ix;
    uint64_t *bm;
    bool complement;
} answer;

static void mark_key(answer *a, const qv_skey *k)
{
    qv_sindex_mark(a->ix, qv_sindex_lower(a->ix, k), qv_sindex_upper(a->ix, k), a->bm);
}

/* The constant c as a key of the index's kind, as cmp_col_const converts it for the
 * column (or filter_cell_cmp for a JSON value); false: not answerable. */
static bool const_key(const fnode *x, const cval *c, qv_skey_kind kind, qv_skey *k)
{
    bool json = x->kind == N_PATH;

    memset(k, 0, sizeof *k);
    switch (kind) {
    case QV_SKEY_INT:
        k->i = c->i;
        return c->kind == C_INT;
    case QV_SKEY_BOOL:
        k->i = c->b;
        return c->kind == C_BOOL;
    case QV_SKEY_STR:
        k->s = c->s;
        k->len = c->len;
        return c->kind == C_STR;
    default:
        if (c->kind == C_FLOAT) {
            k->d = c->d;
            return true;
        }
        if (c->kind != C_INT)
            return false;
        k->d = (double)c->i;
        return (!json && x->ftype == QV_TYPE_FLOAT) ||
               (c->i >= -EXACT_DOUBLE_INT && c->i <= EXACT_DOUBLE_INT);
    }
}

static bool answer_cmp(const fnode *n, answer *a)
{
    const qv_sindex *ix = a->ix;
    size_t all = qv_sindex_keys(ix);
    qv_skey k;

    if (!const_key(n->kids[0], &n->kids[1]->c, qv_sindex_kind(ix), &k))
        return false;
    if (qv_sindex_kind(ix) == QV_SKEY_BOOL && n->op != OP_EQ && n->op != OP_NE)
        return false;
    switch (n->op) {
    case OP_NE:
        a->complement = true;
        /* fall through */
    case OP_EQ:
        mark_key(a, &k);
        return true;
    case OP_LT:
        qv_sindex_mark(ix, 0, qv_sindex_lower(ix, &k), a->bm);
        return true;
    case OP_LE:
        qv_sindex_mark(ix, 0, qv_sindex_upper(ix, &k), a->bm);
        return true;
    case OP_GT:
        qv_sindex_mark(ix, qv_sindex_upper(ix, &k), all, a->bm);
        return true;
    case OP_GE:
        qv_sindex_mark(ix, qv_sindex_lower(ix, &k), all, a->bm);
        return true;
    default:
        return false;
    }
}

/* Is every member of s of a kind the index holds? (A JSON value of another type could
 * match a member the index has no key for.) */
static bool set_fits(const fnode *x, const in_set *s, qv_skey_kind kind)
{
    bool json = x->kind == N_PATH, nums = s->nints || s->ndbls;
    bool bools = s->has_true || s->has_false, strs = s->nstrs > 0;

    if (!json)
        return true; /* a column's kernel looks only at members of its own type */
    if (s->nothers)
        return false;
    return kind == QV_SKEY_STR ? !nums && !bools : kind == QV_SKEY_BOOL ? !nums && !strs
                                                                        : !bools && !strs;
}

static bool answer_in(const fnode *n, answer *a)
{
    const in_set *s = &n->set;
    qv_skey_kind kind = qv_sindex_kind(a->ix);
    qv_skey k = {0};

    if (!set_fits(n->kids[0], s, kind))
        return false;
    switch (kind) {
    case QV_SKEY_BOOL:
        for (int v = 0; v < 2; v++)
            if (v ? s->has_true : s->has_false) {
                k.i = v;
                mark_key(a, &k);
            }
        return true;
    case QV_SKEY_STR:
        for (size_t i = 0; i < s->nstrs; i++) {
            k.s = s->strs[i].s;
            k.len = s->strs[i].len;
            mark_key(a, &k);
        }
        return true;
    case QV_SKEY_INT:
        for (size_t i = 0; i < s->nints; i++) {
            k.i = s->ints[i];
            mark_key(a, &k);
        }
        return true;
    default: /* a double equals an int member only when it holds it exactly */
        for (size_t i = 0; i < s->nints; i++) {
            k.d = (double)s->ints[i];
            if (k.d >= -9223372036854775808.0 && k.d < 9223372036854775808.0 &&
                (int64_t)k.d == s->ints[i])
                mark_key(a, &k);
        }
        for (size_t i = 0; i < s->ndbls; i++) {
            k.d = s->dbls[i];
            mark_key(a, &k);
        }
        return true;
    }
}

static bool answer_like(const fnode *n, answer *a)
{
    const like_pat *p = &n->like;
    qv_skey k = {.s = p->lit, .len = p->litlen};
    size_t to, from;

    if (qv_sindex_kind(a->ix) != QV_SKEY_STR)
        return false;
    if (p->shape == LK_EXACT) {
        mark_key(a, &k);
        return true;
    }
    if (p->shape != LK_PREFIX)
        return false;
    from = qv_sindex_prefix(a->ix, p->lit, p->litlen, &to);
    qv_sindex_mark(a->ix, from, to, a->bm);
    return true;
}

/* contains_all: rows holding every element = intersection of their postings. */
static bool answer_contains_all(const fnode *n, answer *a, size_t words)
{
    qv_jsonb_iter it;
    qv_jsonb el;
    qv_skey k;
    bool first = true;
    uint64_t *one = qv_calloc(words ? words : 1, sizeof *one);

    if (!one || qv_jsonb_length(n->cj) == 0) { /* [] holds for every array: scan */
        qv_free(one);
        return false;
    }
    qv_jsonb_iter_init(&it, n->cj);
    while (qv_jsonb_iter_next(&it, NULL, NULL, &el)) {
        int r = qv_sindex_jsonb_key(qv_sindex_kind(a->ix), el, &k);
        if (r < 0) {
            qv_free(one);
            return false;
        }
        memset(one, 0, words * sizeof *one);
        if (r > 0)
            mark_key(&(answer){a->ix, one, false}, &k);
        for (size_t w = 0; w < words; w++)
            a->bm[w] = first ? one[w] : a->bm[w] & one[w];
        first = false;
    }
    qv_free(one);
    return true;
}

static bool answer_contains(const fnode *n, answer *a, size_t words)
{
    qv_skey_kind kind = qv_sindex_kind(a->ix);
    qv_jsonb_iter it;
    qv_jsonb el;
    qv_skey k;
    int r;

    if (n->cm == CM_ALL)
        return answer_contains_all(n, a, words);
    if (n->cm == CM_ONE) {
        if ((r = qv_sindex_jsonb_key(kind, n->cj, &k)) > 0)
            mark_key(a, &k);
        return r >= 0;
    }
    qv_jsonb_iter_init(&it, n->cj);
    while (qv_jsonb_iter_next(&it, NULL, NULL, &el)) {
        if ((r = qv_sindex_jsonb_key(kind, el, &k)) < 0)
            return false;
        if (r > 0)
            mark_key(a, &k);
    }
    return true;
}

/* The index for node n's field and path, or NULL. */
static const qv_sindex *index_for(const fnode *n, const qv_filter_index *ix, size_t nix,
                                  qv_buf *path)
{
    const fnode *x = n->kids[0];

    path->len = 0;
    if (x->kind == N_PATH)
        qv_sindex_path_text(x->steps, x->nsteps, path);
    for (size_t i = 0; i < nix; i++)
        if (ix[i].field == (size_t)x->field && ix[i].path_len == path->len &&
            (!path->len || memcmp(ix[i].path, path->data, path->len) == 0) &&
            qv_sindex_exact(ix[i].ix))
            return ix[i].ix;
    return NULL;
}

static bool answer_node(const fnode *n, answer *a, size_t words)
{
    switch (n->kind) {
    case N_CMP:
        return answer_cmp(n, a);
    case N_IN:
        return answer_in(n, a);
    case N_LIKE:
        return answer_like(n, a);
    default:
        return answer_contains(n, a, words);
    }
}

qv_err qv_filter_pre_compute(const qv_filter *f, const qv_filter_index *ix, size_t nix,
                             size_t rows, qv_filter_pre **out, qv_error *err)
{
    size_t words = qv_filter_words(rows), used = 0;
    qv_filter_pre *p;
    qv_buf path;

    *out = NULL;
    if (!f->npre || !nix)
        return QV_OK;
    if (!(p = qv_calloc(1, sizeof *p)) || !(p->bm = qv_calloc(f->npre, sizeof *p->bm)) ||
        !(p->complement = qv_calloc(f->npre, sizeof *p->complement))) {
        qv_filter_pre_free(p);
        return qv_error_set(err, QV_ENOMEM, "out of memory evaluating a filter");
    }
    p->rows = rows;
    p->n = f->npre;
    qv_buf_init(&path);
    for (size_t i = 0; i < f->npre; i++) {
        answer a = {index_for(f->pre_nodes[i], ix, nix, &path), NULL, false};
        if (!a.ix || qv_sindex_rows(a.ix) != rows)
            continue;
        if (!(a.bm = qv_calloc(words ? words : 1, sizeof *a.bm))) {
            qv_buf_fini(&path);
            qv_filter_pre_free(p);
            return qv_error_set(err, QV_ENOMEM, "out of memory evaluating a filter");
        }
        if (!answer_node(f->pre_nodes[i], &a, words)) {
            qv_free(a.bm);
            continue;
        }
        p->bm[i] = a.bm;
        p->complement[i] = a.complement;
        used++;
    }
    qv_buf_fini(&path);
    if (!used)
        qv_filter_pre_free(p);
    else
        *out = p;
    return QV_OK;
}

void qv_filter_pre_free(qv_filter_pre *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->bm && i < p->n; i++)
        qv_free(p->bm[i]);
    qv_free(p->bm);
    qv_free(p->complement);
    qv_free(p);
}

/* ---- evaluation -------------------------------------------------------------------------------- */

/* 64 bits of bm (rows bits) starting at bit `at`. */
static uint64_t bits_at(const uint64_t *bm, size_t rows, size_t at)
{
    size_t w = at >> 6, s = at & 63;
    uint64_t v = bm[w] >> s;

    if (s && w + 1 < qv_filter_words(rows))
        v |= bm[w + 1] << (64 - s);
    return v;
}

bool filter_pre_answers(const ectx *e, const fnode *n)
{
    const qv_filter_pre *p = e->b->pre;
    return n->pre_slot && p && n->pre_slot <= p->n && p->bm[n->pre_slot - 1] &&
           e->b->pre_offset + e->n <= p->rows;
}

qv_err filter_eval_pre(ectx *e, const fnode *n, pres *p)
{
    const qv_filter_pre *pre = e->b->pre;
    const uint64_t *bm = pre->bm[n->pre_slot - 1];
    const fnode *x = n->kids[0];
    const uint64_t *valid = x->nullable ? e->b->cols[x->field].valid : NULL;
    uint64_t flip = pre->complement[n->pre_slot - 1] ? ~(uint64_t)0 : 0;

    if ((p->t = filter_bm_new(e)) == NULL)
        return e->err ? e->err->code : QV_ENOMEM;
    for (size_t w = 0; w < e->words; w++)
        p->t[w] = bits_at(bm, pre->rows, e->b->pre_offset + w * 64) ^ flip;
    if (valid) {
        if ((p->k = filter_bm_new(e)) == NULL)
            return e->err ? e->err->code : QV_ENOMEM;
        for (size_t w = 0; w < e->words; w++) {
            p->k[w] = valid[w];
            p->t[w] &= valid[w];
        }
    }
    if (n->kind == N_IN && n->negate)
        for (size_t w = 0; w < e->words; w++)
            p->t[w] = ~p->t[w] & (p->k ? p->k[w] : ~(uint64_t)0);
    return QV_OK;
}
