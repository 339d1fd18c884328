/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/filter.h - Milvus boolean filter expressions (query, delete, search): parse,
 * type-check against a schema, compile into an immutable plan, evaluate column-wise over a
 * batch of rows into a bitmap.
 *
 * LANGUAGE (a superset of Milvus's Plan.g4), loosest binding first:
 *   or  ||                  n-ary
 *   and &&                  n-ary
 *   not !                   prefix; binds looser than comparisons, so `not a > 1` is
 *                           `not (a > 1)` (Milvus only accepts this on Bool operands)
 *   == != < <= > >=         also chained ranges `1 < a <= 5`, `10+20 <= uid < 20+30`
 *                           (both operators of the same direction); either side may be any
 *                           value expression, incl. another field
 *   like, [not] in, is [not] null     postfix on a value
 *   + -                     arithmetic on numbers (ints wrap as int64, / truncates,
 *   * / %                   division or modulo by zero yields null); Int op Int stays Int,
 *   **                      otherwise Double; ** is right-associative, always Double
 *                           and binds tighter than unary minus (-2 ** 2 == -4)
 *   unary + - , exists      `exists path` is true when the JSON path is present
 *   primaries               literals, fields, paths, (expr), [list], {template}, calls
 * Literals: int64 (decimal, 0x hex, 0 octal, 0b binary; exact), floats, true/false in any
 * case, strings in '...' or "..." with C escapes (\n \t \" \' \\ \xHH \uXXXX \UXXXXXXXX,
 * \ooo; an unknown escape such as \% is kept as the two characters so like can see it),
 * r"raw" strings, lists [a, b, ...]. String literals must be valid UTF-8. Keywords (and
 * or not in like is null exists true false) are case-insensitive.
 * Fields: schema names; `$meta` and `$meta["k"]`; bare names not in the schema are
 * `$meta["name"]` when the schema enables dynamic fields, else an error.
 * Paths: `f["a"]["b"]`, `f["arr"][0]` on JSON fields and $meta, `arr[2]` on Array fields.
 * Functions (name case-insensitive): json_contains / array_contains (x, value),
 * json_contains_all / array_contains_all (x, list), json_contains_any /
 * array_contains_any (x, list), array_length(x), text_match(f, 'text'[,
 * minimum_should_match=n]) on a VarChar field with enable_match: rows whose text, analyzed
 * with the field's analyzer, holds at least n (default 1) of the text's distinct terms
 * (a null row is UNKNOWN). like: % any run, _ one character,
 * \% \_ \\ literal. Templates: {name} is replaced by the exprParams value `name`.
 *
 * SEMANTICS
 *   Null (a nullable field's null, a null JSON/Array row, arithmetic on a null or a
 *   division by zero) makes a predicate UNKNOWN. Logic is three-valued (Kleene): NOT
 *   UNKNOWN = UNKNOWN, FALSE AND UNKNOWN = FALSE, TRUE OR UNKNOWN = TRUE; rows whose final
 *   value is UNKNOWN are not selected. So `not (age > 1)` excludes rows where age is null,
 *   as in Milvus 2.5.
 *   A JSON value that is missing (absent key, index out of range, JSON null) or of another
 *   type than the other operand compares as "different from everything": ==, <, <=, >, >=,
 *   in, like are FALSE and != , not in are TRUE (Milvus's JSON rules). This is a known
 *   FALSE, not UNKNOWN, so `not (meta["x"] == 1)` selects rows without x.
 *   `x is null` is TRUE for a null field value and, for JSON paths, also when the path is
 *   missing or holds JSON null; it is never UNKNOWN. `exists p` is TRUE when the path is
 *   present (even holding JSON null) and UNKNOWN on a null JSON row.
 *   Numbers compare exactly across Int64 and Double (no rounding of the int). A Float
 *   field compared directly with a constant compares in float precision (the constant is
 *   rounded to float first), so `f == 0.1` matches a row inserted as 0.1 (as Milvus).
 *   Strings compare bytewise. Bool supports == and != only. Arrays/objects compare with
 *   == / != against list literals (deep equality, 1 == 1.0).
 *
 * ERRORS are QV_EINVAL with Milvus's wording: "failed to create query plan: cannot parse
 * expression: <expr>, error: <detail>" where syntax details end in "at position N" (a
 * byte offset). Vector fields cannot be filtered on. Limits (qv_filter_opts) are checked
 * before work that could recurse or allocate without bound: parsing recurses only per
 * nesting level and and/or chains are built iteratively as n-ary nodes.
 *
 * THREADS: a compiled qv_filter is immutable; any number of threads may evaluate it
 * concurrently. Evaluation allocates its temporaries per call.
 */
#ifndef QUIVER_FILTER_H
#define QUIVER_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/err.h"
#include "quiver/schema.h"

typedef struct qv_filter qv_filter; /* opaque compiled plan */

#define QV_FILTER_DEFAULT_MAX_EXPR_BYTES (64u * 1024u)
#define QV_FILTER_DEFAULT_MAX_DEPTH 100u
#define QV_FILTER_DEFAULT_MAX_IN_LIST 16384u
#define QV_FILTER_DEFAULT_MAX_NODES 65536u

typedef struct qv_filter_opts {
    size_t max_expr_bytes; /* 0 = QV_FILTER_DEFAULT_MAX_EXPR_BYTES */
    uint32_t max_depth;    /* nesting of parentheses/operators; 0 = default */
    uint32_t max_in_list;  /* elements of one list literal or template list; 0 = default */
    uint32_t max_nodes;    /* syntax tree nodes in total; 0 = default */
    /* exprParams as one jsonb object {name: value, ...}; NULL = none. Borrowed during
     * compile only. Integers stay int64, other numbers Double, arrays become lists. */
    const void *params;
    size_t params_len;
} qv_filter_opts;

/* Compile expr (expr_len bytes, need not be NUL-terminated) against schema. An empty or
 * all-whitespace expression compiles to "match every row". The schema is read during the
 * call only; the plan keeps field positions, so evaluate batches laid out for the same
 * schema. o may be NULL for defaults. */
qv_err qv_filter_compile(const qv_schema *schema, const char *expr, size_t expr_len,
                         const qv_filter_opts *o, qv_filter **out, qv_error *err);
void qv_filter_free(qv_filter *f); /* NULL is a no-op */

/* True when the plan selects every row without looking at data (empty expression or one
 * that folded to true). */
bool qv_filter_matches_all(const qv_filter *f);
/* Bit i set = schema field i is read by the plan (QV_MAX_FIELDS <= 64). */
uint64_t qv_filter_field_mask(const qv_filter *f);
/* True when the plan reads the dynamic ($meta) column. */
bool qv_filter_uses_dynamic(const qv_filter *f);

/* Point-lookup shortcut: when the whole expression is `pk == v`, `v == pk` or
 * `pk in [v, ...]` on the primary key, set *vals (borrowed from the plan, Int64 or VarChar
 * qv_values, sorted ascending, duplicates removed) and *n and return true; otherwise
 * return false. */
bool qv_filter_pk_values(const qv_filter *f, const qv_value **vals, size_t *n);

/* Partition-key pruning: when the plan only selects rows whose Int64 or VarChar field
 * `field` holds one of a finite set of values (the expression, or one conjunct of a
 * top-level `and`, is `field == v` or `field in [...]`, or an `or` of such), set *vals
 * (an array the caller frees with qv_free; strings borrowed from the plan, duplicates
 * possible; n may be 0: no row can match) and return true; otherwise return false. */
bool qv_filter_field_values(const qv_filter *f, size_t field, qv_value **vals, size_t *n);

/* ---- the columnar batch the evaluator reads ---------------------------------------------
 *
 * A batch is `rows` consecutive rows of one segment (growing or sealed), one qv_column per
 * schema field, indexed like schema->fields. Only the fields in qv_filter_field_mask()
 * need data; others may be left zeroed, and vector columns are never read.
 *
 *   type      the field's qv_type (checked against the plan; QV_EINTERNAL on mismatch)
 *   data      fixed-width types: an array of `rows` values in native byte order
 *               Bool -> uint8_t (0 or 1), Int8 -> int8_t, Int16 -> int16_t,
 *               Int32 -> int32_t, Int64 -> int64_t, Float -> float, Double -> double
 *             variable-width types: the bytes all values point into
 *               VarChar -> UTF-8 bytes (not NUL-terminated)
 *               JSON    -> one jsonb blob per row (quiver/jsonb.h), any JSON value
 *               Array   -> one jsonb blob per row holding a jsonb ARRAY whose elements
 *                          have the schema's element type: Bool as jsonb bool, Int* as
 *                          jsonb int, Double as jsonb double, Float as the jsonb double
 *                          of the float32 value ((double)f, so 0.1 is 0.10000000149...),
 *                          VarChar as jsonb string
 *   offsets   variable-width only: rows+1 uint64_t; value i is
 *             data[offsets[i] .. offsets[i+1]) (offsets need not start at 0, so a batch
 *             may be a window into a larger column; they must be non-decreasing)
 *   valid     null bitmap: bit (i % 64) of word i / 64 set = row i is not null. NULL
 *             means no row is null. Read only for fields the schema marks nullable.
 *             The content of a null row's value is ignored (offsets must still be
 *             non-decreasing). An empty (0-byte) JSON/Array value in a valid row reads
 *             as missing. A window that starts mid-word needs its own bitmap copy.
 *
 * The dynamic column ($meta) has type JSON and holds one jsonb OBJECT per row (an empty
 * or 0-byte value means no dynamic keys); batch.dynamic == NULL means no row has any. The
 * evaluator trusts jsonb produced by our writer but still bounds-checks every read, so a
 * damaged blob yields wrong answers, never a crash.
 */
typedef struct qv_column {
    qv_type type;
    const void *data;
    const uint64_t *offsets;
    const uint64_t *valid;
} qv_column;

typedef struct qv_filter_pre qv_filter_pre;

typedef struct qv_filter_batch {
    size_t rows;
    const qv_column *cols; /* [col_count], indexed like schema->fields */
    size_t col_count;
    const qv_column *dynamic; /* $meta; NULL = no dynamic data */
    /* optional: scalar-index answers over the segment holding this batch, whose rows
     * [pre_offset, pre_offset + rows) the batch is (qv_filter_pre_compute) */
    const qv_filter_pre *pre;
    size_t pre_offset;
} qv_filter_batch;

/* Number of uint64_t words in a bitmap of n rows. */
static inline size_t qv_filter_words(size_t n) { return (n + 63) / 64; }

/* Evaluate f over batch b into out (qv_filter_words(b->rows) words, fully overwritten;
 * bit i set = row i matches; bits past rows are 0). QV_ENOMEM if temporaries cannot be
 * allocated, QV_EINTERNAL if a column the plan needs is missing or of the wrong type. */
qv_err qv_filter_eval(const qv_filter *f, const qv_filter_batch *b, uint64_t *out, qv_error *err);

/* ---- scalar indexes ----------------------------------------------------------------------
 *
 * A sealed segment may hold scalar indexes (quiver/scalar_index.h). Before evaluating its
 * windows, qv_filter_pre_compute asks them for the rows of every predicate they can
 * answer exactly - a Bool, Int*, Float, Double or VarChar field (or a JSON path of the
 * index's cast type) compared with a constant, `in` a list, `like` an exact or prefix
 * pattern, array_contains[_any|_all] on an Array field - giving one bitmap per predicate
 * over the segment. qv_filter_eval then takes those predicates' rows from it instead of
 * reading the column; everything else (and, or, not, nulls, other predicates) is
 * evaluated as usual, so the answer is the same with or without indexes. */

typedef struct qv_filter_index {
    size_t field;      /* schema index */
    const char *path;  /* JSON: qv_sindex_path_text of the index's path; else "" */
    size_t path_len;
    const struct qv_sindex *ix;
} qv_filter_index;

/* True when some predicate of f could be answered by a scalar index. */
bool qv_filter_indexable(const qv_filter *f);
/* The answers of the indexes ix[0..nix) (each over a segment of `rows` rows) for f's
 * predicates; *out is NULL when none applies. Free with qv_filter_pre_free. */
qv_err qv_filter_pre_compute(const qv_filter *f, const qv_filter_index *ix, size_t nix,
                             size_t rows, qv_filter_pre **out, qv_error *err);
void qv_filter_pre_free(qv_filter_pre *p); /* NULL is a no-op */

#endif
