/* SPDX-License-Identifier: Apache-2.0 */
/* filter_match.c - value-level matching shared by the checker (constant folding) and the
 * evaluator: exact number ordering, dynamically typed cell comparison, `in` sets and
 * `like` patterns.
 *
 * like: % matches any run, _ exactly one UTF-8 character, a backslash makes the next
 * character literal. Prefix/suffix/infix/exact patterns are recognised at compile time;
 * the rest use the classic greedy matcher that backtracks to the last % (O(n*m) worst
 * case, no recursion). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query/filter_int.h"
#include "quiver/alloc.h"

bool filter_arith_i64(fop op, int64_t a, int64_t b, int64_t *out)
{
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;

    switch (op) {
    case OP_ADD:
        *out = (int64_t)(ua + ub);
        return true;
    case OP_SUB:
        *out = (int64_t)(ua - ub);
        return true;
    case OP_MUL:
        *out = (int64_t)(ua * ub);
        return true;
    case OP_DIV:
        if (b == 0)
            return false;
        *out = b == -1 ? (int64_t)(0 - ua) : a / b;
        return true;
    case OP_MOD:
        if (b == 0)
            return false;
        *out = b == -1 ? 0 : a % b;
        return true;
    default:
        *out = 0;
        return true;
    }
}

bool filter_arith_f64(fop op, double a, double b, double *out)
{
    switch (op) {
    case OP_ADD:
        *out = a + b;
        return true;
    case OP_SUB:
        *out = a - b;
        return true;
    case OP_MUL:
        *out = a * b;
        return true;
    case OP_DIV:
        if (b == 0)
            return false;
        *out = a / b;
        return true;
    case OP_MOD:
        if (b == 0)
            return false;
        *out = fmod(a, b);
        return true;
    default:
        *out = pow(a, b);
        return true;
    }
}

int filter_num_cmp(bool ai, int64_t i1, double d1, bool bi, int64_t i2, double d2)
{
    int r;

    if (ai && bi)
        return i1 < i2 ? -1 : i1 > i2;
    if (ai) /* int vs double */
        return qv_jsonb_cmp_int_double(i1, d2);
    if (bi) {
        r = qv_jsonb_cmp_int_double(i2, d1);
        return r == 2 ? 2 : -r;
    }
    if (isnan(d1) || isnan(d2))
        return 2;
    return d1 < d2 ? -1 : d1 > d2;
}

bool filter_ord_holds(int r, fop op)
{
    switch (op) {
    case OP_EQ:
        return r == 0;
    case OP_NE:
        return r != 0; /* includes unordered (NaN) */
    case OP_LT:
        return r == -1;
    case OP_LE:
        return r == -1 || r == 0;
    case OP_GT:
        return r == 1;
    case OP_GE:
        return r == 1 || r == 0;
    default:
        return false;
    }
}

fcell filter_cell_from_jsonb(qv_jsonb v)
{
    fcell c;

    memset(&c, 0, sizeof c);
    switch (qv_jsonb_typeof(v)) {
    case QV_JSONB_NULL:
        c.t = CT_NULL;
        break;
    case QV_JSONB_BOOL:
        c.t = CT_BOOL;
        (void)qv_jsonb_get_bool(v, &c.u.b);
        break;
    case QV_JSONB_INT:
        c.t = CT_INT;
        (void)qv_jsonb_get_int(v, &c.u.i);
        break;
    case QV_JSONB_DOUBLE:
        c.t = CT_FLOAT;
        (void)qv_jsonb_get_double(v, &c.u.d);
        break;
    case QV_JSONB_STRING:
        c.t = CT_STR;
        (void)qv_jsonb_get_string(v, &c.u.s.p, &c.u.s.n);
        break;
    case QV_JSONB_ARRAY:
    case QV_JSONB_OBJECT:
        c.t = CT_JSON;
        c.u.j = v;
        break;
    default:
        c.t = CT_MISSING;
    }
    return c;
}

fcell filter_cell_from_cval(const cval *v)
{
    fcell c;

    memset(&c, 0, sizeof c);
    switch (v->kind) {
    case C_BOOL:
        c.t = CT_BOOL;
        c.u.b = v->b;
        break;
    case C_INT:
        c.t = CT_INT;
        c.u.i = v->i;
        break;
    case C_FLOAT:
        c.t = CT_FLOAT;
        c.u.d = v->d;
        break;
    case C_STR:
        c.t = CT_STR;
        c.u.s.p = v->s;
        c.u.s.n = v->len;
        break;
    case C_JSON:
        c.t = CT_JSON;
        c.u.j = qv_jsonb_root(v->s, v->len);
        break;
    }
    return c;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int r = memcmp(a, b, an < bn ? an : bn);
    if (r)
        return r < 0 ? -1 : 1;
    return an < bn ? -1 : an > bn;
}

bool filter_cell_cmp(const fcell *a, const fcell *b, fop op)
{
    bool an = a->t == CT_INT || a->t == CT_FLOAT, bn = b->t == CT_INT || b->t == CT_FLOAT;

    if (an && bn)
        return filter_ord_holds(
            filter_num_cmp(a->t == CT_INT, a->u.i, a->u.d, b->t == CT_INT, b->u.i, b->u.d), op);
    if (a->t != b->t || a->t == CT_MISSING || a->t == CT_NULL)
        return op == OP_NE;
    switch (a->t) {
    case CT_STR:
        return filter_ord_holds(bytes_cmp(a->u.s.p, a->u.s.n, b->u.s.p, b->u.s.n), op);
    case CT_BOOL:
        if (op == OP_EQ || op == OP_NE)
            return (a->u.b == b->u.b) == (op == OP_EQ);
        return false;
    default: /* CT_JSON */
        if (op == OP_EQ || op == OP_NE)
            return qv_jsonb_equal(a->u.j, b->u.j) == (op == OP_EQ);
        return false;
    }
}

/* ---- in sets ---------------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}
static int cmp_f64(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static int cmp_str(const void *a, const void *b)
{
    const cval *x = a, *y = b;
    return bytes_cmp(x->s, x->len, y->s, y->len);
}

static bool integral_i64(double d, int64_t *out)
{
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || trunc(d) != d)
        return false;
    *out = (int64_t)d;
    return true;
}

qv_err filter_in_build(fctx *c, qv_jsonb list, bool float_prec, in_set *s)
{
    size_t n = qv_jsonb_length(list), k;
    qv_jsonb_iter it;
    qv_jsonb e;

    memset(s, 0, sizeof *s);
    if (!(s->ints = farena_alloc(c->arena, (n + 1) * sizeof *s->ints)) ||
        !(s->dbls = farena_alloc(c->arena, (n + 1) * sizeof *s->dbls)) ||
        !(s->strs = farena_alloc(c->arena, (n + 1) * sizeof *s->strs)) ||
        !(s->others = farena_alloc(c->arena, (n + 1) * sizeof *s->others)))
        return filter_nomem(c);
    qv_jsonb_iter_init(&it, list);
    while (qv_jsonb_iter_next(&it, NULL, NULL, &e)) {
        fcell v = filter_cell_from_jsonb(e);
        double d;
        int64_t i;
        switch (v.t) {
        case CT_INT:
        case CT_FLOAT:
            d = v.t == CT_INT ? (double)v.u.i : v.u.d;
            if (float_prec)
                d = (double)(float)d;
            if (v.t == CT_INT && !float_prec)
                s->ints[s->nints++] = v.u.i;
            else if (integral_i64(d, &i))
                s->ints[s->nints++] = i;
            else if (!isnan(d))
                s->dbls[s->ndbls++] = d;
            break;
        case CT_STR:
            s->strs[s->nstrs].s = v.u.s.p;
            s->strs[s->nstrs++].len = v.u.s.n;
            break;
        case CT_BOOL:
            if (v.u.b)
                s->has_true = true;
            else
                s->has_false = true;
            break;
        case CT_JSON:
            s->others[s->nothers++] = e;
            break;
        default:
            break; /* null never matches */
        }
    }
    qsort(s->ints, s->nints, sizeof *s->ints, cmp_i64);
    qsort(s->dbls, s->ndbls, sizeof *s->dbls, cmp_f64);
    qsort(s->strs, s->nstrs, sizeof *s->strs, cmp_str);
    for (k = 0, n = 0; k < s->nints; k++)
        if (n == 0 || s->ints[n - 1] != s->ints[k])
            s->ints[n++] = s->ints[k];
    s->nints = n;
    for (k = 0, n = 0; k < s->ndbls; k++)
        if (n == 0 || s->dbls[n - 1] != s->dbls[k])
            s->dbls[n++] = s->dbls[k];
    s->ndbls = n;
    for (k = 0, n = 0; k < s->nstrs; k++)
        if (n == 0 || cmp_str(&s->strs[n - 1], &s->strs[k]) != 0)
            s->strs[n++] = s->strs[k];
    s->nstrs = n;
    return QV_OK;
}

bool filter_in_int(const in_set *s, int64_t v)
{
    size_t lo = 0, hi = s->nints;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ints[mid] == v)
            return true;
        if (s->ints[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool filter_in_double(const in_set *s, double v)
{
    int64_t i;
    size_t lo = 0, hi = s->ndbls;

    if (integral_i64(v, &i))
        return filter_in_int(s, i);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->dbls[mid] == v)
            return true;
        if (s->dbls[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool filter_in_str(const in_set *s, const char *p, size_t n)
{
    size_t lo = 0, hi = s->nstrs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = bytes_cmp(p, n, s->strs[mid].s, s->strs[mid].len);
        if (r == 0)
            return true;
        if (r > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool filter_in_jsonb(const in_set *s, qv_jsonb v)
{
    for (size_t i = 0; i < s->nothers; i++)
        if (qv_jsonb_equal(s->others[i], v))
            return true;
    return false;
}

bool filter_cell_in(const in_set *s, const fcell *v)
{
    switch (v->t) {
    case CT_INT:
        return filter_in_int(s, v->u.i);
    case CT_FLOAT:
        return filter_in_double(s, v->u.d);
    case CT_STR:
        return filter_in_str(s, v->u.s.p, v->u.s.n);
    case CT_BOOL:
        return v->u.b ? s->has_true : s->has_false;
    case CT_JSON:
        return filter_in_jsonb(s, v->u.j);
    default:
        return false;
    }
}

/* ---- like ------------------------------------------------------------------------------- */

enum { LK_LIT = 0, LK_ONE = 1, LK_ANY = 2 };

qv_err filter_like_compile(fctx *c, const char *pat, size_t n, like_pat *out)
{
    uint8_t *bytes = farena_alloc(c->arena, n + 1), *kinds = farena_alloc(c->arena, n + 1);
    size_t m = 0, lead = 0, trail = 0, lits = 0, ones = 0;

    if (!bytes || !kinds)
        return filter_nomem(c);
    for (size_t i = 0; i < n; i++) {
        char ch = pat[i];
        if (ch == '\\' && i + 1 < n) {
            bytes[m] = (uint8_t)pat[++i];
            kinds[m++] = LK_LIT;
        } else if (ch == '%') {
            if (m == 0 || kinds[m - 1] != LK_ANY) { /* collapse runs of % */
                bytes[m] = '%';
                kinds[m++] = LK_ANY;
            }
        } else {
            bytes[m] = (uint8_t)ch;
            kinds[m++] = ch == '_' ? LK_ONE : LK_LIT;
        }
    }
    memset(out, 0, sizeof *out);
    out->bytes = bytes;
    out->kinds = kinds;
    out->n = m;
    for (size_t i = 0; i < m; i++) {
        lits += kinds[i] == LK_LIT;
        ones += kinds[i] == LK_ONE;
    }
    lead = m && kinds[0] == LK_ANY;
    trail = m > lead && kinds[m - 1] == LK_ANY;
    out->shape = LK_GENERAL;
    if (ones == 0 && lits + lead + trail == m) {
        out->lit = (const char *)bytes + lead;
        out->litlen = lits;
        out->shape = lead && trail ? LK_INFIX : lead ? LK_SUFFIX : trail ? LK_PREFIX : LK_EXACT;
        if (m == 1 && lead) /* "%" alone */
            out->shape = LK_PREFIX;
    }
    return QV_OK;
}

/* bytes in the UTF-8 character at s (1 for stray continuation/invalid bytes) */
static size_t char_len(const unsigned char *s, size_t n)
{
    size_t k = 1;
    if (s[0] >= 0xC0)
        while (k < n && k < 4 && (s[k] & 0xC0) == 0x80)
            k++;
    return k;
}

static bool like_general(const like_pat *p, const unsigned char *s, size_t n)
{
    size_t si = 0, pi = 0, star_p = SIZE_MAX, star_s = 0;

    while (si < n) {
        if (pi < p->n && p->kinds[pi] == LK_ONE) {
            si += char_len(s + si, n - si);
            pi++;
        } else if (pi < p->n && p->kinds[pi] == LK_LIT && p->bytes[pi] == s[si]) {
            si++;
            pi++;
        } else if (pi < p->n && p->kinds[pi] == LK_ANY) {
            star_p = pi++;
            star_s = si;
        } else if (star_p != SIZE_MAX) {
            pi = star_p + 1;
            star_s += char_len(s + star_s, n - star_s);
            si = star_s;
        } else {
            return false;
        }
    }
    while (pi < p->n && p->kinds[pi] == LK_ANY)
        pi++;
    return pi == p->n;
}

bool filter_like_match(const like_pat *p, const char *s, size_t n)
{
    switch (p->shape) {
    case LK_EXACT:
        return n == p->litlen && memcmp(s, p->lit, n) == 0;
    case LK_PREFIX:
        return n >= p->litlen && memcmp(s, p->lit, p->litlen) == 0;
    case LK_SUFFIX:
        return n >= p->litlen && memcmp(s + n - p->litlen, p->lit, p->litlen) == 0;
    case LK_INFIX:
        return p->litlen == 0 || memmem(s, n, p->lit, p->litlen) != NULL;
    default:
        return like_general(p, (const unsigned char *)s, n);
    }
}
