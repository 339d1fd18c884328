/* SPDX-License-Identifier: Apache-2.0 */
/* filter_text.c - text_match(field, 'text'[, minimum_should_match=n]) (Milvus 2.5; the
 * named argument is 2.6): the field is a VarChar field with enable_match; the text is
 * analyzed with the field's analyzer when the plan is compiled, and a row matches when
 * its own text, analyzed the same way, holds at least n (default 1) of the query's
 * distinct terms. A null row is UNKNOWN. Rows are analyzed while evaluating (no
 * inverted index: the cost is one tokenizer pass over each candidate row's text). */
#include <stdlib.h>
#include <string.h>

#include "query/filter_int.h"
#include "quiver/alloc.h"
#include "quiver/analyzer.h"

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The plan keeps the analyzer (freed by qv_filter_free). */
static qv_err keep_analyzer(fctx *c, qv_analyzer *a)
{
    qv_filter *f = c->plan;
    qv_analyzer **v = qv_reallocarray(f->analyzers, f->nanalyzers + 1, sizeof *v);

    if (!v) {
        qv_analyzer_free(a);
        return filter_nomem(c);
    }
    f->analyzers = v;
    v[f->nanalyzers++] = a;
    return QV_OK;
}

/* minimum_should_match=n, the optional third argument. */
static qv_err check_msm(fctx *c, fnode *n, uint32_t *msm)
{
    fnode *k = n->nkids > 2 ? n->kids[2] : NULL;
    qv_err rc;

    *msm = 1;
    if (!k)
        return QV_OK;
    if (k->kind != N_NAMED || k->nlen != 20 || strncmp(k->name, "minimum_should_match", 20))
        return filter_fail(c, k->pos, "text_match takes a field, a string and "
                                      "minimum_should_match=<n>");
    if ((rc = filter_check_value(c, &k->kids[0])) != QV_OK)
        return rc;
    if (!is_const(k->kids[0]) || k->kids[0]->c.kind != C_INT || k->kids[0]->c.i < 1 ||
        k->kids[0]->c.i > 1000)
        return filter_fail(c, k->pos, "minimum_should_match must be an integer in [1, 1000]");
    *msm = (uint32_t)k->kids[0]->c.i;
    return QV_OK;
}

qv_err filter_check_text_match(fctx *c, fnode **pn)
{
    fnode *n = *pn, *x, *t;
    const qv_field *f;
    qv_analyzer *a = NULL;
    qv_term_freqs terms;
    uint32_t *ids;
    qv_error e;
    qv_err rc;

    if (n->nkids < 2 || n->nkids > 3)
        return filter_fail(c, n->pos, "text_match takes a field and a string");
    if ((rc = filter_check_value(c, &n->kids[0])) != QV_OK ||
        (rc = filter_check_value(c, &n->kids[1])) != QV_OK || (rc = check_msm(c, n, &n->msm)))
        return rc;
    x = n->kids[0];
    t = n->kids[1];
    if (x->kind != N_FIELD || x->ftype != QV_TYPE_VARCHAR)
        return filter_fail(c, n->pos, "text_match needs a VarChar field, got %s",
                           filter_ty_name(x));
    f = &c->schema->fields[x->field];
    if (!qv_field_match_enabled(f))
        return filter_fail(c, n->pos, "field %s does not enable match (enable_match)", f->name);
    if (!is_const(t) || t->c.kind != C_STR)
        return filter_fail(c, t->pos, "the second argument of text_match must be a string");
    if (qv_analyzer_new(qv_field_analyzer_params(f), &a, &e) != QV_OK)
        return filter_fail(c, n->pos, "field %s: %s", f->name, e.msg);
    if ((rc = keep_analyzer(c, a)) != QV_OK)
        return rc;
    if (qv_analyzer_term_freqs(a, t->c.s, t->c.len, &terms) != QV_OK)
        return filter_nomem(c);
    if ((ids = farena_alloc(c->arena, (terms.n + 1) * sizeof *ids)) != NULL && terms.n)
        memcpy(ids, terms.ids, terms.n * sizeof *ids); /* distinct, ascending */
    n->nterms = terms.n;
    qv_term_freqs_fini(&terms);
    if (!ids)
        return filter_nomem(c);
    n->kind = N_TEXTMATCH;
    n->ty = TY_PRED;
    n->terms = ids;
    n->analyzer = a;
    return QV_OK;
}

/* ---- evaluation ------------------------------------------------------------------------- */

typedef struct row_match {
    const fnode *n;
    uint64_t seen[4]; /* which query terms the row holds (the first 256 are tracked) */
    uint32_t hits;
} row_match;

static bool see_term(void *ctx, const char *tok, size_t len)
{
    row_match *m = ctx;
    uint32_t id = qv_analyzer_term_id(tok, len);
    const uint32_t *p = bsearch(&id, m->n->terms, m->n->nterms, sizeof id, cmp_u32);
    size_t i;

    if (!p)
        return true;
    i = (size_t)(p - m->n->terms);
    if (i < 256 && (m->seen[i / 64] >> (i % 64) & 1))
        return true;
    if (i < 256)
        m->seen[i / 64] |= 1ull << (i % 64);
    return ++m->hits < m->n->msm; /* enough: stop reading the row */
}

qv_err filter_eval_text_match(ectx *e, const fnode *n, pres *p)
{
    const fnode *x = n->kids[0];
    const qv_column *col = &e->b->cols[x->field];
    bool nullable = e->f->fields[x->field].nullable && col->valid;

    if ((p->t = filter_bm_new(e)) == NULL)
        return e->err ? e->err->code : QV_ENOMEM;
    memset(p->t, 0, e->words * sizeof *p->t);
    if (nullable) {
        if ((p->k = filter_bm_new(e)) == NULL)
            return e->err ? e->err->code : QV_ENOMEM;
        memcpy(p->k, col->valid, e->words * sizeof *p->k);
    }
    for (size_t r = 0; r < e->n && n->nterms; r++) {
        row_match m = {.n = n};
        if (nullable && !bm_get(col->valid, r))
            continue;
        qv_analyzer_run(n->analyzer, (const char *)col->data + col->offsets[r],
                        col->offsets[r + 1] - col->offsets[r], see_term, &m);
        if (m.hits >= n->msm)
            p->t[r >> 6] |= 1ull << (r & 63);
    }
    return QV_OK;
}
