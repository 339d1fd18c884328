/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/jsonb.h - compact binary JSON: rows' JSON documents, Array field values and
 * dynamic ($meta) fields are parsed once (by codec/) into this form; storage and the
 * filter evaluator read it without a JSON text parser.
 *
 * FORMAT (persisted inside segment files; change only with a segment format bump)
 *
 * A blob is exactly one encoded value. All integers are little-endian, unaligned.
 * A value starts with a one-byte tag:
 *
 *   0x00 null          (1 byte)
 *   0x01 false         (1 byte)
 *   0x02 true          (1 byte)
 *   0x03 int8          tag + 1 byte       } an integer is stored in the narrowest
 *   0x04 int16         tag + 2 bytes      } of these that holds it; readers accept
 *   0x05 int32         tag + 4 bytes      } any width and always widen to int64
 *   0x06 int64         tag + 8 bytes      }
 *   0x07 double        tag + 8 bytes, IEEE-754 binary64 bits
 *   0x08 string        tag + u32 len + len bytes of UTF-8 (may contain NUL)
 *   0x09 array         container, see below; children are the elements
 *   0x0A object        container, see below; children are (key, value) pairs
 *
 * A container is
 *
 *   tag | u32 count | u32 size | children ... | u32 table[count]
 *
 * where size is the byte length of the whole container (tag to the end of the table),
 * children are laid out contiguously in document order starting at byte 9, and the table
 * occupies the last 4*count bytes. Table entries are byte offsets relative to the tag:
 *   - array:  table[i] is the offset of element i (so element access is O(1));
 *   - object: a child is a pair "u32 keylen | key bytes | value"; table[] holds the pair
 *             offsets sorted by key (bytewise, shorter key first on a common prefix),
 *             so lookup is a binary search, while the pairs themselves keep document
 *             order for iteration and output. Keys are unique (the builder keeps the
 *             last value of a duplicated key, at the key's first position).
 * Putting the table last lets the builder append children in one pass without moving
 * them. Containers are limited to 4 GiB and QV_JSONB_MAX_DEPTH levels of nesting.
 *
 * qv_jsonb_validate() accepts exactly the canonical layout above (children contiguous,
 * table consistent, keys sorted and unique, strings valid UTF-8), so a validated blob can
 * be walked without further checks. The reader functions nevertheless bound-check every
 * access against the view's length and return "absent"/false on damage, so reading an
 * unvalidated blob is memory-safe too (it may just return garbage values).
 */
#ifndef QUIVER_JSONB_H
#define QUIVER_JSONB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/buf.h"
#include "quiver/err.h"

#define QV_JSONB_MAX_DEPTH 512 /* nesting of arrays/objects; jansson's own limit is 2048 */

enum {
    QV_JSONB_TAG_NULL = 0x00,
    QV_JSONB_TAG_FALSE = 0x01,
    QV_JSONB_TAG_TRUE = 0x02,
    QV_JSONB_TAG_INT8 = 0x03,
    QV_JSONB_TAG_INT16 = 0x04,
    QV_JSONB_TAG_INT32 = 0x05,
    QV_JSONB_TAG_INT64 = 0x06,
    QV_JSONB_TAG_DOUBLE = 0x07,
    QV_JSONB_TAG_STRING = 0x08,
    QV_JSONB_TAG_ARRAY = 0x09,
    QV_JSONB_TAG_OBJECT = 0x0A,
};

typedef enum qv_jsonb_type {
    QV_JSONB_INVALID = 0, /* absent (missing key, index out of range) or damaged */
    QV_JSONB_NULL,
    QV_JSONB_BOOL,
    QV_JSONB_INT, /* fits int64 exactly */
    QV_JSONB_DOUBLE,
    QV_JSONB_STRING,
    QV_JSONB_ARRAY,
    QV_JSONB_OBJECT,
} qv_jsonb_type;

/* A borrowed view of one encoded value: p points at its tag, len is its exact size
 * (for a root, the blob length). p == NULL means "absent". */
typedef struct qv_jsonb {
    const uint8_t *p;
    size_t len;
} qv_jsonb;

/* ---- builder ------------------------------------------------------------------------ */

/* Caller-storage builder (init/fini); reuse it across rows with qv_jsonb_builder_reset.
 * Calls form one JSON value: a scalar, or begin ... end with a key before each object
 * member. Misuse (a value without a key inside an object, unbalanced end, a second root,
 * nesting past QV_JSONB_MAX_DEPTH, > 4 GiB) and allocation failure are sticky and
 * reported by qv_jsonb_finish; the individual calls never fail loudly. Fields are
 * private. */
typedef struct qv_jsonb_builder {
    qv_buf out;
    struct qv_jsonb_frame *frames; /* open containers */
    size_t depth, frames_cap;
    uint32_t *kids; /* child offsets of all open containers, relative to their tag */
    size_t nkids, kids_cap;
    qv_err status;
    char why[96];
    bool have_root;
} qv_jsonb_builder;

void qv_jsonb_builder_init(qv_jsonb_builder *b);
void qv_jsonb_builder_fini(qv_jsonb_builder *b);
void qv_jsonb_builder_reset(qv_jsonb_builder *b); /* keep the memory, drop the content */

void qv_jsonb_begin_object(qv_jsonb_builder *b);
void qv_jsonb_end_object(qv_jsonb_builder *b);
void qv_jsonb_begin_array(qv_jsonb_builder *b);
void qv_jsonb_end_array(qv_jsonb_builder *b);
/* Strings and keys must be valid UTF-8 (anything else is a sticky QV_EINVAL). */
void qv_jsonb_key(qv_jsonb_builder *b, const char *key, size_t len); /* inside an object */
void qv_jsonb_null(qv_jsonb_builder *b);
void qv_jsonb_bool(qv_jsonb_builder *b, bool v);
void qv_jsonb_int(qv_jsonb_builder *b, int64_t v); /* exact */
void qv_jsonb_double(qv_jsonb_builder *b, double v);
void qv_jsonb_string(qv_jsonb_builder *b, const char *s, size_t len);
/* Append an already encoded value (for instance one found by a lookup) as a value. */
void qv_jsonb_value(qv_jsonb_builder *b, qv_jsonb v);

/* Finish the value. On success *out borrows the builder's bytes (valid until the next
 * reset/fini); copy them or use qv_jsonb_take. QV_EINVAL on misuse, QV_ENOMEM. */
qv_err qv_jsonb_finish(qv_jsonb_builder *b, const uint8_t **out, size_t *len, qv_error *err);
/* As qv_jsonb_finish, but hand the bytes over (free with qv_free); the builder is reset. */
qv_err qv_jsonb_take(qv_jsonb_builder *b, uint8_t **out, size_t *len, qv_error *err);

/* ---- reader ------------------------------------------------------------------------- */

static inline qv_jsonb qv_jsonb_root(const void *blob, size_t len)
{
    qv_jsonb v = {len ? (const uint8_t *)blob : NULL, len};
    return v;
}
static inline bool qv_jsonb_present(qv_jsonb v) { return v.p != NULL; }

qv_jsonb_type qv_jsonb_typeof(qv_jsonb v);
/* Scalar getters: true and *out set when v has that type. get_double also accepts an
 * integer (converted); get_int accepts only integers. Strings are not NUL-terminated. */
bool qv_jsonb_get_bool(qv_jsonb v, bool *out);
bool qv_jsonb_get_int(qv_jsonb v, int64_t *out);
bool qv_jsonb_get_double(qv_jsonb v, double *out);
bool qv_jsonb_get_string(qv_jsonb v, const char **s, size_t *len);
/* Number of elements of an array or members of an object; 0 for anything else. */
size_t qv_jsonb_length(qv_jsonb v);
/* Element i of an array; absent if v is not an array or i is out of range. */
qv_jsonb qv_jsonb_index(qv_jsonb v, size_t i);
/* Member of an object by key (binary search); absent if v is not an object or no key. */
qv_jsonb qv_jsonb_find(qv_jsonb v, const char *key, size_t klen);

/* Iterate an array's elements or an object's members in document order:
 *   qv_jsonb_iter it; qv_jsonb_iter_init(&it, v);
 *   while (qv_jsonb_iter_next(&it, &key, &klen, &val)) ...
 * key/klen are set to NULL/0 for array elements (both may be NULL pointers). */
typedef struct qv_jsonb_iter {
    qv_jsonb c;
    size_t i, n, pos, end;
    bool object;
} qv_jsonb_iter;
void qv_jsonb_iter_init(qv_jsonb_iter *it, qv_jsonb v);
bool qv_jsonb_iter_next(qv_jsonb_iter *it, const char **key, size_t *klen, qv_jsonb *val);

/* Deep equality as json_contains needs it: numbers compare numerically across int and
 * double (1 == 1.0; int64 vs double exactly, without rounding the int), strings bytewise,
 * arrays element-wise in order, objects by key set and values. Absent equals nothing. */
bool qv_jsonb_equal(qv_jsonb a, qv_jsonb b);
/* true when v is an array with an element qv_jsonb_equal to x. */
bool qv_jsonb_array_contains(qv_jsonb v, qv_jsonb x);
/* Exact comparison of an int64 with a double: <0, 0, >0; NaN compares as unordered (2). */
int qv_jsonb_cmp_int_double(int64_t i, double d);

/* RFC 3629 UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
bool qv_jsonb_utf8_valid(const char *s, size_t n);

/* Check untrusted bytes: exactly one canonical value filling [blob, blob+len).
 * QV_ECORRUPT with the offset of the first problem otherwise. Never reads out of bounds;
 * recursion is bounded by QV_JSONB_MAX_DEPTH. */
qv_err qv_jsonb_validate(const void *blob, size_t len, qv_error *err);

/* ---- text --------------------------------------------------------------------------- */

/* Append v as compact JSON text (members in document order, integers exact, doubles in
 * shortest round-trip form with a ".0" or exponent so they stay doubles). Absent or
 * damaged parts are written as null. */
void qv_jsonb_write_json(qv_buf *out, qv_jsonb v);
/* Parse strict RFC 8259 JSON text into b (which must be fresh or reset). Integers that fit
 * int64 stay exact, larger ones become doubles. For tests, tools and fuzzing; the server's
 * request path parses with jansson in codec/. QV_EINVAL with the offset on bad input. */
qv_err qv_jsonb_parse_json(qv_jsonb_builder *b, const char *text, size_t len, qv_error *err);

#endif
