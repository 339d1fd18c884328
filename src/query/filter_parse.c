/* SPDX-License-Identifier: Apache-2.0 */
/* filter_parse.c - recursive-descent parser for Milvus filter expressions.
 *
 * Precedence, loosest first: or, and, not, comparison/like/in/is null, + -, * / %, unary
 * + -, ** (right-assoc), primary. Recursion happens only when nesting (parentheses,
 * unary operators, list and call arguments, ** exponents) and each such step is counted
 * against max_depth before descending, so a million '(' fail after max_depth frames.
 * Chains (a or b or ..., a + b + ...) are built by loops; and/or become one n-ary node,
 * and every node's height is checked against max_depth as it is made, so later recursive
 * passes (checker, evaluator) are bounded by the same limit. */
#include <string.h>
#include <strings.h>

#include "query/filter_int.h"
#include "quiver/alloc.h"

/* Make the window hold n tokens. A lexing error leaves T_EOF tokens behind; the error
 * was recorded first, so the parser's follow-up complaint does not replace it. */
static void fill(fctx *c, size_t n)
{
    while (c->nwin < n) {
        ftok *t = &c->win[c->nwin++];
        if (filter_lex_next(c, t) != QV_OK) {
            memset(t, 0, sizeof *t);
            t->kind = T_EOF;
            t->pos = (uint32_t)c->lexpos;
        }
    }
}

static ftok peek(fctx *c)
{
    fill(c, 1);
    return c->win[0];
}

static ftok peek2(fctx *c)
{
    fill(c, 2);
    return c->win[1];
}

static ftok next(fctx *c)
{
    ftok t;

    fill(c, 1);
    t = c->win[0];
    if (t.kind != T_EOF || c->nwin > 1) {
        c->win[0] = c->win[1];
        c->nwin--;
    }
    return t;
}

static bool is_kw(ftok t, const char *kw)
{
    return t.kind == T_IDENT && t.slen == strlen(kw) && strncasecmp(t.str, kw, t.slen) == 0;
}

static qv_err unexpected(fctx *c, ftok t, const char *want)
{
    if (t.kind == T_EOF)
        return filter_fail(c, t.pos, "unexpected end of expression%s%s", want ? ", expected " : "",
                           want ? want : "");
    if (t.kind == T_BITOP)
        return filter_fail(c, t.pos, "bitwise operators are not supported");
    if (t.kind == T_ASSIGN)
        return filter_fail(c, t.pos, "unexpected '=' (use '==' to compare)");
    return filter_fail(c, t.pos, "syntax error near '%.*s'%s%s", (int)(t.len > 40 ? 40 : t.len),
                       c->expr + t.pos, want ? ", expected " : "", want ? want : "");
}

fnode *filter_node(fctx *c, nkind kind, uint32_t pos)
{
    fnode *n;

    if (++c->nodes > c->lim.max_nodes) {
        filter_fail(c, pos, "expression has more than %u nodes", c->lim.max_nodes);
        return NULL;
    }
    if ((n = farena_alloc(c->arena, sizeof *n)) == NULL) {
        filter_nomem(c);
        return NULL;
    }
    n->kind = kind;
    n->pos = pos;
    n->height = 1;
    n->field = -1;
    return n;
}

qv_err filter_set_kids(fctx *c, fnode *n, fnode *const *kids, size_t nk, bool enforce)
{
    uint32_t h = 0;

    if (nk) {
        if ((n->kids = farena_alloc(c->arena, nk * sizeof *n->kids)) == NULL)
            return filter_nomem(c);
        memcpy(n->kids, kids, nk * sizeof *kids);
    }
    n->nkids = nk;
    for (size_t i = 0; i < nk; i++)
        if (kids[i]->height > h)
            h = kids[i]->height;
    n->height = h + 1;
    if (enforce && n->height > c->lim.max_depth)
        return filter_fail(c, n->pos, "expression is nested more than %u levels deep",
                           c->lim.max_depth);
    return QV_OK;
}

static qv_err make(fctx *c, nkind kind, uint32_t pos, fnode *a, fnode *b, fnode **out)
{
    fnode *kids[2] = {a, b};
    fnode *n = filter_node(c, kind, pos);
    qv_err rc;

    if (!n)
        return c->code;
    if ((rc = filter_set_kids(c, n, kids, b ? 2 : 1, true)) != QV_OK)
        return rc;
    *out = n;
    return QV_OK;
}

static qv_err descend(fctx *c, uint32_t pos)
{
    if (++c->depth > c->lim.max_depth)
        return filter_fail(c, pos, "expression is nested more than %u levels deep",
                           c->lim.max_depth);
    return QV_OK;
}

/* A growable temporary list of nodes (heap; moved into the arena by set_kids). */
typedef struct nvec {
    fnode **v;
    size_t n, cap;
} nvec;

static bool nvec_push(nvec *v, fnode *n)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        fnode **nv = qv_reallocarray(v->v, cap, sizeof *nv);
        if (!nv)
            return false;
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = n;
    return true;
}

static qv_err parse_or(fctx *c, fnode **out);
static qv_err parse_add(fctx *c, fnode **out);
static qv_err parse_unary(fctx *c, fnode **out);

static bool is_or(ftok t) { return t.kind == T_OROR || is_kw(t, "or"); }
static bool is_and(ftok t) { return t.kind == T_ANDAND || is_kw(t, "and"); }
static bool is_not(ftok t) { return t.kind == T_BANG || is_kw(t, "not"); }

typedef qv_err (*parse_fn)(fctx *c, fnode **out);

/* n-ary chain of one logical operator, built iteratively */
static qv_err parse_chain(fctx *c, nkind kind, bool (*is_op)(ftok), parse_fn sub, fnode **out)
{
    nvec v = {0};
    fnode *first, *n;
    uint32_t pos;
    qv_err rc;

    if ((rc = sub(c, &first)) != QV_OK)
        return rc;
    if (!is_op(peek(c))) {
        *out = first;
        return QV_OK;
    }
    pos = peek(c).pos;
    if (!nvec_push(&v, first))
        goto nomem;
    while (is_op(peek(c))) {
        fnode *k;
        next(c);
        if ((rc = sub(c, &k)) != QV_OK)
            goto done;
        if (!nvec_push(&v, k))
            goto nomem;
    }
    if ((n = filter_node(c, kind, pos)) == NULL) {
        rc = c->code;
        goto done;
    }
    if ((rc = filter_set_kids(c, n, v.v, v.n, true)) == QV_OK)
        *out = n;
    goto done;
nomem:
    rc = filter_nomem(c);
done:
    qv_free(v.v);
    return rc;
}

static bool relop(ftok t, fop *op)
{
    switch (t.kind) {
    case T_LT:
        *op = OP_LT;
        return true;
    case T_LE:
        *op = OP_LE;
        return true;
    case T_GT:
        *op = OP_GT;
        return true;
    case T_GE:
        *op = OP_GE;
        return true;
    case T_EQ:
        *op = OP_EQ;
        return true;
    case T_NE:
        *op = OP_NE;
        return true;
    default:
        return false;
    }
}

static bool ascending(fop op) { return op == OP_LT || op == OP_LE; }
static bool descending(fop op) { return op == OP_GT || op == OP_GE; }

static qv_err parse_cmp(fctx *c, fnode **out)
{
    fnode *left, *right, *third, *n;
    ftok t, t2;
    fop op, op2;
    qv_err rc;

    if ((rc = parse_add(c, &left)) != QV_OK)
        return rc;
    t = peek(c);
    if (is_kw(t, "like")) {
        next(c);
        if ((rc = parse_add(c, &right)) != QV_OK)
            return rc;
        return make(c, N_LIKE, t.pos, left, right, out);
    }
    if (is_kw(t, "in") || (is_not(t) && is_kw(peek2(c), "in"))) {
        bool neg = !is_kw(t, "in");
        next(c);
        if (neg)
            next(c);
        if ((rc = parse_add(c, &right)) != QV_OK ||
            (rc = make(c, N_IN, t.pos, left, right, out)) != QV_OK)
            return rc;
        (*out)->negate = neg;
        return QV_OK;
    }
    if (is_kw(t, "is")) {
        bool neg = false;
        next(c);
        if (is_kw(peek(c), "not")) {
            next(c);
            neg = true;
        }
        if (!is_kw(peek(c), "null"))
            return unexpected(c, peek(c), "'null'");
        next(c);
        if ((rc = make(c, N_ISNULL, t.pos, left, NULL, out)) != QV_OK)
            return rc;
        (*out)->negate = neg;
        return QV_OK;
    }
    if (!relop(t, &op)) {
        *out = left;
        return QV_OK;
    }
    next(c);
    if ((rc = parse_add(c, &right)) != QV_OK)
        return rc;
    t2 = peek(c);
    if (!relop(t2, &op2)) {
        if ((rc = make(c, N_CMP, t.pos, left, right, out)) != QV_OK)
            return rc;
        (*out)->op = op;
        return QV_OK;
    }
    if (!((ascending(op) && ascending(op2)) || (descending(op) && descending(op2))))
        return filter_fail(c, t2.pos, "chained comparisons must form a range such as 1 < x <= 5");
    next(c);
    if ((rc = parse_add(c, &third)) != QV_OK)
        return rc;
    if (relop(peek(c), &op))
        return filter_fail(c, peek(c).pos, "a range takes exactly two comparison operators");
    if ((n = filter_node(c, N_RANGE, t.pos)) == NULL)
        return c->code;
    {
        fnode *kids[3] = {left, right, third};
        if ((rc = filter_set_kids(c, n, kids, 3, true)) != QV_OK)
            return rc;
    }
    n->op = op;
    n->op2 = op2;
    *out = n;
    return QV_OK;
}

/* not / ! prefixes: counted iteratively, applied after the operand is parsed */
static qv_err parse_not(fctx *c, fnode **out)
{
    uint32_t count = 0, pos[8];
    fnode *n = NULL;
    qv_err rc;

    while (is_not(peek(c)) && !is_kw(peek2(c), "in")) {
        if (count < 8)
            pos[count] = peek(c).pos;
        if (++count > c->lim.max_depth)
            return filter_fail(c, peek(c).pos, "expression is nested more than %u levels deep",
                               c->lim.max_depth);
        next(c);
    }
    if (count && (rc = descend(c, peek(c).pos)) != QV_OK)
        return rc;
    if ((rc = parse_cmp(c, &n)) != QV_OK)
        return rc;
    if (count)
        c->depth--;
    while (count--) {
        if ((rc = make(c, N_NOT, pos[count < 8 ? count : 7], n, NULL, &n)) != QV_OK)
            return rc;
    }
    *out = n;
    return QV_OK;
}

static qv_err parse_and(fctx *c, fnode **out)
{
    return parse_chain(c, N_AND, is_and, parse_not, out);
}
static qv_err parse_or(fctx *c, fnode **out) { return parse_chain(c, N_OR, is_or, parse_and, out); }

static qv_err parse_binary(fctx *c, fnode **out, bool additive)
{
    fnode *left, *right;
    qv_err rc;

    if ((rc = additive ? parse_binary(c, &left, false) : parse_unary(c, &left)) != QV_OK)
        return rc;
    for (;;) {
        ftok t = peek(c);
        fop op;
        if (additive && (t.kind == T_PLUS || t.kind == T_MINUS))
            op = t.kind == T_PLUS ? OP_ADD : OP_SUB;
        else if (!additive && (t.kind == T_STAR || t.kind == T_SLASH || t.kind == T_PERCENT))
            op = t.kind == T_STAR ? OP_MUL : t.kind == T_SLASH ? OP_DIV : OP_MOD;
        else
            break;
        next(c);
        if ((rc = additive ? parse_binary(c, &right, false) : parse_unary(c, &right)) != QV_OK)
            return rc;
        if ((rc = make(c, N_ARITH, t.pos, left, right, &left)) != QV_OK)
            return rc;
        left->op = op;
    }
    *out = left;
    return QV_OK;
}

static qv_err parse_add(fctx *c, fnode **out) { return parse_binary(c, out, true); }

static qv_err parse_primary(fctx *c, fnode **out);

/* primary ('**' unary)? -- right-associative through the unary exponent */
static qv_err parse_pow(fctx *c, fnode **out)
{
    fnode *base, *exp;
    ftok t;
    qv_err rc;

    if ((rc = parse_primary(c, &base)) != QV_OK)
        return rc;
    t = peek(c);
    if (t.kind != T_POW) {
        *out = base;
        return QV_OK;
    }
    next(c);
    if ((rc = descend(c, t.pos)) != QV_OK || (rc = parse_unary(c, &exp)) != QV_OK)
        return rc;
    c->depth--;
    if ((rc = make(c, N_ARITH, t.pos, base, exp, out)) != QV_OK)
        return rc;
    (*out)->op = OP_POW;
    return QV_OK;
}

static qv_err parse_unary(fctx *c, fnode **out)
{
    ftok t = peek(c);
    fnode *e;
    qv_err rc;

    if (t.kind != T_PLUS && t.kind != T_MINUS)
        return parse_pow(c, out);
    next(c);
    if ((rc = descend(c, t.pos)) != QV_OK || (rc = parse_unary(c, &e)) != QV_OK)
        return rc;
    c->depth--;
    if (t.kind == T_PLUS) {
        *out = e;
        return QV_OK;
    }
    if (e->kind == N_CONST && e->c.kind == C_INT) { /* fold now: -9223372036854775808 */
        e->c.i = e->negate ? INT64_MIN : (int64_t)(0 - (uint64_t)e->c.i);
        e->negate = false;
        e->pos = t.pos;
        *out = e;
        return QV_OK;
    }
    return make(c, N_NEG, t.pos, e, NULL, out);
}

/* Path steps after an identifier: ["key"] or [index]. */
static qv_err parse_steps(fctx *c, fnode *id)
{
    size_t cap = 0;
    pstep *steps = NULL;
    qv_err rc = QV_OK;

    while (peek(c).kind == T_LBRACK) {
        ftok open = next(c), k = next(c);
        pstep st;
        memset(&st, 0, sizeof st);
        if (k.kind == T_STRING) {
            st.key = k.str;
            st.klen = k.slen;
        } else if (k.kind == T_INT && !k.big) {
            st.is_index = true;
            st.index = k.ival;
        } else {
            rc = unexpected(c, k, "a string key or an integer index");
            break;
        }
        if (peek(c).kind != T_RBRACK) {
            rc = unexpected(c, peek(c), "']'");
            break;
        }
        next(c);
        if (id->nsteps == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            pstep *ns = farena_alloc(c->arena, ncap * sizeof *ns);
            if (!ns) {
                rc = filter_nomem(c);
                break;
            }
            if (id->nsteps)
                memcpy(ns, steps, id->nsteps * sizeof *ns);
            steps = ns;
            cap = ncap;
        }
        steps[id->nsteps++] = st;
        id->steps = steps;
        if (++c->nodes > c->lim.max_nodes) {
            rc = filter_fail(c, open.pos, "expression has more than %u nodes", c->lim.max_nodes);
            break;
        }
    }
    return rc;
}

/* Comma-separated expressions up to the closing token (a trailing comma is allowed). */
static qv_err parse_list(fctx *c, tok_kind close, bool is_list, fnode *n)
{
    nvec v = {0};
    qv_err rc = QV_OK;

    while (peek(c).kind != close) {
        fnode *e;
        if (is_list && v.n >= c->lim.max_in_list) {
            rc = filter_fail(c, peek(c).pos, "list has more than %u elements", c->lim.max_in_list);
            goto done;
        }
        if (!is_list && peek(c).kind == T_IDENT && peek2(c).kind == T_ASSIGN) {
            ftok name = next(c); /* a named argument: name = value */
            fnode *val;
            next(c);
            if ((rc = parse_add(c, &val)) != QV_OK)
                goto done;
            if ((e = filter_node(c, N_NAMED, name.pos)) == NULL ||
                (rc = filter_set_kids(c, e, &val, 1, false)) != QV_OK) {
                rc = e ? rc : c->code;
                goto done;
            }
            e->name = name.str;
            e->nlen = name.slen;
        } else if ((rc = is_list ? parse_add(c, &e) : parse_or(c, &e)) != QV_OK) {
            goto done;
        }
        if (!nvec_push(&v, e)) {
            rc = filter_nomem(c);
            goto done;
        }
        if (peek(c).kind == T_COMMA) {
            next(c);
            continue;
        }
        if (peek(c).kind != close) {
            rc = unexpected(c, peek(c), close == T_RBRACK ? "',' or ']'" : "',' or ')'");
            goto done;
        }
    }
    next(c);
    rc = filter_set_kids(c, n, v.v, v.n, true);
done:
    qv_free(v.v);
    return rc;
}

static qv_err parse_primary(fctx *c, fnode **out)
{
    ftok t = next(c);
    fnode *n;
    qv_err rc;

    switch (t.kind) {
    case T_INT:
    case T_FLOAT:
    case T_STRING:
        if ((n = filter_node(c, N_CONST, t.pos)) == NULL)
            return c->code;
        if (t.kind == T_INT) {
            n->c.kind = C_INT;
            n->c.i = t.ival;
            n->negate = t.big; /* marks 2^63, valid only under unary minus */
        } else if (t.kind == T_FLOAT) {
            n->c.kind = C_FLOAT;
            n->c.d = t.fval;
        } else {
            n->c.kind = C_STR;
            n->c.s = t.str;
            n->c.len = t.slen;
        }
        *out = n;
        return QV_OK;
    case T_LPAREN:
        if ((rc = descend(c, t.pos)) != QV_OK || (rc = parse_or(c, out)) != QV_OK)
            return rc;
        c->depth--;
        if (peek(c).kind != T_RPAREN)
            return unexpected(c, peek(c), "')'");
        next(c);
        return QV_OK;
    case T_LBRACK:
        if ((n = filter_node(c, N_LIST, t.pos)) == NULL)
            return c->code;
        if ((rc = descend(c, t.pos)) != QV_OK || (rc = parse_list(c, T_RBRACK, true, n)) != QV_OK)
            return rc;
        c->depth--;
        *out = n;
        return QV_OK;
    case T_LBRACE: {
        ftok id = next(c);
        if (id.kind != T_IDENT)
            return unexpected(c, id, "a template variable name");
        if (peek(c).kind != T_RBRACE)
            return unexpected(c, peek(c), "'}'");
        next(c);
        if ((n = filter_node(c, N_TEMPLATE, t.pos)) == NULL)
            return c->code;
        n->name = id.str;
        n->nlen = id.slen;
        *out = n;
        return QV_OK;
    }
    case T_META:
    case T_IDENT:
        if (t.kind == T_IDENT) {
            if (is_kw(t, "true") || is_kw(t, "false")) {
                if ((n = filter_node(c, N_CONST, t.pos)) == NULL)
                    return c->code;
                n->c.kind = C_BOOL;
                n->c.b = is_kw(t, "true");
                *out = n;
                return QV_OK;
            }
            if (is_kw(t, "exists")) {
                fnode *e;
                if ((rc = descend(c, t.pos)) != QV_OK || (rc = parse_primary(c, &e)) != QV_OK)
                    return rc;
                c->depth--;
                return make(c, N_EXISTS, t.pos, e, NULL, out);
            }
            if (is_kw(t, "null"))
                return filter_fail(c, t.pos, "null is only valid in 'is null' / 'is not null'");
            if (is_kw(t, "and") || is_kw(t, "or") || is_kw(t, "not") || is_kw(t, "in") ||
                is_kw(t, "like") || is_kw(t, "is"))
                return unexpected(c, t, "an operand");
            if (peek(c).kind == T_LPAREN) {
                if ((n = filter_node(c, N_CALL, t.pos)) == NULL)
                    return c->code;
                n->name = t.str;
                n->nlen = t.slen;
                next(c);
                if ((rc = descend(c, t.pos)) != QV_OK ||
                    (rc = parse_list(c, T_RPAREN, false, n)) != QV_OK)
                    return rc;
                c->depth--;
                *out = n;
                return QV_OK;
            }
        }
        if ((n = filter_node(c, N_IDENT, t.pos)) == NULL)
            return c->code;
        n->name = t.str;
        n->nlen = t.slen;
        if ((rc = parse_steps(c, n)) != QV_OK)
            return rc;
        *out = n;
        return QV_OK;
    default:
        return unexpected(c, t, "an operand");
    }
}

qv_err filter_parse(fctx *c, fnode **out)
{
    qv_err rc;

    c->depth = 0;
    rc = parse_or(c, out);
    if (rc == QV_OK && peek(c).kind != T_EOF)
        rc = unexpected(c, peek(c), NULL);
    /* a lexing error seen only through lookahead reads as the end of input: report it */
    return c->failed ? c->code : rc;
}
