/* SPDX-License-Identifier: Apache-2.0 */
/* filter_int.h - structures shared by the filter lexer, parser, checker and evaluator.
 *
 * Pipeline: filter_lex.c yields tokens on demand; filter_parse.c builds a tree
 * of fnode (recursion only per nesting level, and/or as n-ary nodes, every node counted
 * and its height bounded); filter_check.c resolves names against the schema, substitutes
 * templates, folds constants, type-checks and normalises comparisons (constant on the
 * right, Float constants rounded to float, Int-vs-Double constants made exact), which
 * turns the same tree into the plan; filter_eval*.c evaluate the plan column-wise.
 * All nodes, strings and constant blobs live in one arena owned by the qv_filter. */
#ifndef QUIVER_FILTER_INT_H
#define QUIVER_FILTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/filter.h"
#include "quiver/jsonb.h"
#include "quiver/scalar_index.h"

/* ---- arena ---------------------------------------------------------------------------- */

typedef struct arena_chunk arena_chunk;
typedef struct farena {
    arena_chunk *head;
    size_t used, cap; /* of head */
} farena;

void *farena_alloc(farena *a, size_t n); /* zeroed, 16-byte aligned; NULL on ENOMEM */
char *farena_strndup(farena *a, const char *s, size_t n);
void farena_fini(farena *a);

/* ---- tokens ----------------------------------------------------------------------------- */

typedef enum tok_kind {
    T_EOF,
    T_INT,    /* ival; big = the literal was 9223372036854775808 (only valid negated) */
    T_FLOAT,  /* fval */
    T_STRING, /* str/slen, unescaped */
    T_IDENT,  /* str/slen; keywords are identifiers matched case-insensitively */
    T_META,   /* $meta */
    T_LPAREN,
    T_RPAREN,
    T_LBRACK,
    T_RBRACK,
    T_LBRACE,
    T_RBRACE,
    T_COMMA,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_EQ,
    T_NE,
    T_PLUS,
    T_MINUS,
    T_STAR,
    T_SLASH,
    T_PERCENT,
    T_POW,
    T_ANDAND,
    T_OROR,
    T_BANG,
    T_BITOP, /* & | ^ ~ << >>: recognised only to refuse them clearly */
    T_ASSIGN, /* a lone '=': only in named call arguments (minimum_should_match=2) */
} tok_kind;

typedef struct ftok {
    tok_kind kind;
    bool big;
    uint32_t pos, len; /* byte span in the expression */
    int64_t ival;
    double fval;
    const char *str;
    size_t slen;
} ftok;

/* ---- constants ---------------------------------------------------------------------------- */

typedef enum cval_kind { C_BOOL, C_INT, C_FLOAT, C_STR, C_JSON } cval_kind;

typedef struct cval {
    cval_kind kind;
    bool b;
    int64_t i;
    double d;
    const char *s; /* C_STR: bytes; C_JSON: a jsonb array or object blob */
    size_t len;
} cval;

/* ---- nodes ---------------------------------------------------------------------------- */

typedef enum fop {
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE, /* comparisons */
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_MOD,
    OP_POW, /* arithmetic */
} fop;

typedef enum nkind {
    /* values */
    N_CONST,    /* c */
    N_IDENT,    /* parse only: name + path steps (kids are N_CONST int/string steps) */
    N_TEMPLATE, /* parse only: {name} */
    N_LIST,     /* parse only: [kids...], folded to a C_JSON constant */
    N_CALL,     /* parse only: name(kids...) */
    N_FIELD,    /* field: a schema column */
    N_PATH,     /* field (or -1 = $meta) then steps[] */
    N_ARITH,    /* op, kids[0] op kids[1] */
    N_NEG,      /* -kids[0] */
    N_ARRLEN,   /* array_length(kids[0]) */
    /* predicates */
    N_AND,
    N_OR,
    N_NOT,
    N_CMP,      /* kids[0] op kids[1]; after check a constant is always kids[1] */
    N_RANGE,    /* parse only: kids[0] op kids[1] op2 kids[2] */
    N_IN,       /* kids[0] [not] in kids[1] (list constant); negate */
    N_LIKE,     /* kids[0] like pattern */
    N_ISNULL,   /* kids[0] is [not] null; negate */
    N_EXISTS,   /* exists kids[0] */
    N_CONTAINS, /* json/array_contains[_all|_any](kids[0], kids[1]); cmode */
    N_TRUTH,    /* a Bool-valued field or JSON value used as a predicate */
    N_NAMED,    /* parse only: a call argument name=kids[0] */
    N_TEXTMATCH, /* text_match(kids[0], 'text'[, minimum_should_match=n]): terms, msm */
} nkind;

/* Static types after checking. */
typedef enum fty {
    TY_NONE,
    TY_BOOL,
    TY_INT,
    TY_FLOAT,
    TY_STR,
    TY_JSON,
    TY_ARRAY,
    TY_LIST,
    TY_PRED,
} fty;

typedef enum cmode { CM_ONE, CM_ALL, CM_ANY } cmode;

typedef qv_json_step pstep; /* a JSON path step, as scalar indexes name them */

/* Compiled like pattern: bytes with a kind per byte (0 literal, 1 any one char, 2 any
 * run) and a shape for the common fast cases. */
typedef enum like_shape { LK_EXACT, LK_PREFIX, LK_SUFFIX, LK_INFIX, LK_GENERAL } like_shape;
typedef struct like_pat {
    like_shape shape;
    const uint8_t *bytes, *kinds;
    size_t n;
    const char *lit; /* the literal for EXACT/PREFIX/SUFFIX/INFIX */
    size_t litlen;
} like_pat;

/* Membership set of an `in` list, normalised for lookup: integral numbers within int64 in
 * ints[], other numbers in dbls[], strings in strs[] (all sorted, unique), and the list's
 * bools and arrays/objects (compared by deep equality). */
typedef struct in_set {
    int64_t *ints;
    size_t nints;
    double *dbls;
    size_t ndbls;
    cval *strs;
    size_t nstrs;
    bool has_true, has_false;
    qv_jsonb *others;
    size_t nothers;
} in_set;

typedef struct fnode fnode;
struct fnode {
    nkind kind;
    fty ty;           /* after check */
    fop op, op2;      /* N_CMP/N_ARITH; op2 for N_RANGE */
    bool negate;      /* N_IN, N_ISNULL */
    bool float_prec;  /* value is a Float field/element: constants compared in float */
    cmode cm;         /* N_CONTAINS */
    uint32_t pos;     /* byte offset of the token that made the node */
    uint32_t height;  /* 1 + max height of kids */
    cval c;           /* N_CONST */
    const char *name; /* N_IDENT, N_TEMPLATE, N_CALL */
    size_t nlen;
    int field;     /* N_FIELD, N_PATH: schema index; -1 = $meta */
    qv_type ftype; /* N_FIELD, N_PATH base: the column type */
    qv_type etype; /* Array element type */
    bool nullable;
    pstep *steps; /* N_PATH */
    size_t nsteps;
    fnode **kids;
    size_t nkids;
    like_pat like; /* N_LIKE */
    in_set set;    /* N_IN */
    qv_jsonb cj;   /* N_CONTAINS: the constant as jsonb; N_CONST C_JSON view */
    /* N_TEXTMATCH: the query's distinct term ids (ascending), how many a row must hold,
     * and the field's analyzer (owned by the plan) */
    const uint32_t *terms;
    size_t nterms;
    uint32_t msm;
    const struct qv_analyzer *analyzer;
    uint32_t pre_slot; /* 1 + position in plan->pre_nodes: a scalar index may answer it */
};

/* Per-field info kept by the plan (the schema is not retained). */
typedef struct ffield {
    const char *name;
    qv_type type, etype;
    bool nullable;
} ffield;

struct qv_filter {
    farena arena;
    fnode *root; /* NULL = match all */
    ffield *fields;
    size_t nfields;
    uint64_t field_mask;
    bool uses_dynamic;
    qv_value *pk_vals;
    size_t npk;
    bool pk_only;
    struct qv_analyzer **analyzers; /* of text_match nodes; freed with the plan */
    size_t nanalyzers;
    const fnode **pre_nodes; /* predicates a scalar index may answer (filter_index.c) */
    size_t npre;
};

/* Parser/checker context. */
typedef struct fctx {
    const char *expr;
    size_t len;
    farena *arena;
    size_t lexpos; /* next byte to lex */
    ftok win[2];   /* lookahead window, filled on demand */
    size_t nwin;
    bool failed; /* an error was reported; the first one wins */
    qv_err code; /* ... and its code */
    uint32_t depth;
    uint32_t nodes;
    qv_filter_opts lim;
    const qv_schema *schema;
    qv_filter *plan;
    qv_jsonb params;
    qv_error *err;
} fctx;

/* Errors in Milvus's wording; syntax errors append " at position N". */
qv_err filter_fail(fctx *c, uint32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
qv_err filter_fail_nopos(fctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
qv_err filter_nomem(fctx *c);

/* Lex the next token at c->lexpos into t (T_EOF at the end). */
qv_err filter_lex_next(fctx *c, ftok *t);
fnode *filter_node(fctx *c, nkind kind, uint32_t pos); /* NULL + error on limit/ENOMEM */
qv_err filter_parse(fctx *c, fnode **out);
/* Attach kids (copied into the arena) and set n->height; with enforce, fail past max_depth. */
qv_err filter_set_kids(fctx *c, fnode *n, fnode *const *kids, size_t nk, bool enforce);
qv_err filter_check(fctx *c, fnode **root);

/* Checker internals shared by filter_check.c (values) and filter_check_pred.c. */
qv_err filter_check_value(fctx *c, fnode **pn);
qv_err filter_check_pred(fctx *c, fnode **pn);
const char *filter_ty_name(const fnode *n); /* "Int64", "VarChar", ... for messages */
fnode *filter_new_const(fctx *c, uint32_t pos, const cval *v);
fnode *filter_bool_const(fctx *c, uint32_t pos, bool b);
/* A constant as a jsonb blob in the arena; numbers rounded to float when float_prec. */
qv_err filter_encode_const(fctx *c, const cval *v, bool float_prec, qv_jsonb *out);
fty filter_field_ty(qv_type t);
bool filter_name_is(const fnode *n, const char *s); /* case-insensitive name match */
static inline bool is_num(fty t) { return t == TY_INT || t == TY_FLOAT; }
static inline bool is_const(const fnode *n) { return n->kind == N_CONST; }
static inline double cnum(const cval *v) { return v->kind == C_INT ? (double)v->i : v->d; }

/* A dynamically typed value of one row: what JSON paths, JSON/Array fields and
 * arithmetic over them evaluate to. CT_MISSING and CT_NULL compare as "different from
 * everything" (Milvus's JSON rules). */
typedef enum cell_type {
    CT_MISSING,
    CT_NULL,
    CT_BOOL,
    CT_INT,
    CT_FLOAT,
    CT_STR,
    CT_JSON
} cell_type;
typedef struct fcell {
    uint8_t t;
    union {
        bool b;
        int64_t i;
        double d;
        struct {
            const char *p;
            size_t n;
        } s;
        qv_jsonb j; /* CT_JSON: an array or object */
    } u;
} fcell;

fcell filter_cell_from_jsonb(qv_jsonb v); /* absent -> CT_MISSING */
fcell filter_cell_from_cval(const cval *v);
/* a op b under the rules in quiver/filter.h (missing/mismatch: only != is true). */
bool filter_cell_cmp(const fcell *a, const fcell *b, fop op);
bool filter_cell_in(const in_set *s, const fcell *v);

/* like patterns and in-sets (filter_match.c) */
qv_err filter_like_compile(fctx *c, const char *pat, size_t n, like_pat *out);
bool filter_like_match(const like_pat *p, const char *s, size_t n);
qv_err filter_in_build(fctx *c, qv_jsonb list, bool float_prec, in_set *out);
bool filter_in_int(const in_set *s, int64_t v);
bool filter_in_double(const in_set *s, double v);
bool filter_in_str(const in_set *s, const char *p, size_t n);
bool filter_in_jsonb(const in_set *s, qv_jsonb v);
/* Exact numeric order of two numbers given as (is_int, i, d): -1, 0, 1, or 2 if NaN. */
/* Arithmetic with the evaluator's semantics (int64 wraps, / truncates, INT64_MIN / -1 is
 * INT64_MIN, x % -1 is 0; % on doubles is fmod). false = division or modulo by zero. */
bool filter_arith_i64(fop op, int64_t a, int64_t b, int64_t *out);
bool filter_arith_f64(fop op, double a, double b, double *out);
int filter_num_cmp(bool ai, int64_t i1, double d1, bool bi, int64_t i2, double d2);
/* Does ordering result r (-1, 0, 1, or 2 = unordered) satisfy op? */
bool filter_ord_holds(int r, fop op);

/* ---- evaluation (filter_eval.c, filter_vec.c, filter_cmp.c) -------------------------------- */

/* A column of values for every row of the batch, or one constant (stride 0). */
typedef enum vkind { VK_I64, VK_F64, VK_BOOL, VK_STR, VK_CELL } vkind;
typedef struct fvec {
    vkind kind;
    size_t stride;         /* 1, or 0 for a constant broadcast to every row */
    const int64_t *i;      /* VK_I64 */
    const double *d;       /* VK_F64 */
    const uint8_t *b;      /* VK_BOOL: 0/1 bytes */
    const fcell *c;        /* VK_CELL */
    const uint64_t *off;   /* VK_STR column offsets; NULL for a constant */
    const char *s;         /* VK_STR column bytes, or the constant */
    size_t slen;           /* VK_STR constant length */
    const uint64_t *valid; /* NULL = no nulls */
    void *own[2];          /* freed by filter_vec_fini */
} fvec;

typedef struct ectx {
    const qv_filter *f;
    const qv_filter_batch *b;
    size_t n, words;
    qv_error *err;
} ectx;

/* Three-valued predicate result: t = TRUE rows, k = known rows (NULL = all); t is a
 * subset of k. */
typedef struct pres {
    uint64_t *t, *k;
} pres;

static inline bool bm_get(const uint64_t *m, size_t i) { return (m[i >> 6] >> (i & 63)) & 1; }
uint64_t *filter_bm_new(ectx *e); /* words, uninitialised; NULL after setting e->err */
void filter_pres_fini(pres *p);

qv_err filter_eval_value(ectx *e, const fnode *n, fvec *v);
void filter_vec_fini(fvec *v);
fcell filter_vec_cell(const fvec *v, size_t row);
/* The jsonb value of row i of a JSON/Array column (absent when empty); col may be NULL. */
qv_jsonb filter_col_jsonb(const qv_column *col, size_t i);

/* Predicate kernels producing p (filter_cmp.c). */
qv_err filter_eval_cmp(ectx *e, const fnode *n, pres *p);
qv_err filter_eval_in(ectx *e, const fnode *n, pres *p);
qv_err filter_eval_like(ectx *e, const fnode *n, pres *p);
/* text_match (filter_text.c): check/compile the call n, and evaluate it. */
qv_err filter_check_text_match(fctx *c, fnode **pn);
qv_err filter_eval_text_match(ectx *e, const fnode *n, pres *p);
/* Scalar indexes (filter_index.c): number the plan's indexable predicates after
 * checking; whether the batch holds an index answer for n, and take it. */
qv_err filter_index_prepare(qv_filter *f);
bool filter_pre_answers(const ectx *e, const fnode *n);
qv_err filter_eval_pre(ectx *e, const fnode *n, pres *p);

#endif
