/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/buf.h - growable byte buffer with little-endian put/get helpers.
 * Used for wire bodies, on-disk encodings and text assembly. */
#ifndef QUIVER_BUF_H
#define QUIVER_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qv_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool failed; /* sticky: an allocation failed; contents are incomplete */
} qv_buf;

void qv_buf_init(qv_buf *b);
void qv_buf_fini(qv_buf *b);          /* frees data; b may be reused after init */
bool qv_buf_reserve(qv_buf *b, size_t extra);
void qv_buf_put(qv_buf *b, const void *p, size_t n);
void qv_buf_puts(qv_buf *b, const char *s);
void qv_buf_printf(qv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qv_buf_put_u8(qv_buf *b, uint8_t v);
void qv_buf_put_u16(qv_buf *b, uint16_t v);
void qv_buf_put_u32(qv_buf *b, uint32_t v);
void qv_buf_put_u64(qv_buf *b, uint64_t v);
/* The UTF-8 encoding of code point cp (<= 0x10FFFF). */
void qv_buf_put_utf8(qv_buf *b, uint32_t cp);
/* u32 length + bytes; s may be NULL (written as length 0). */
void qv_buf_put_str(qv_buf *b, const char *s);
void qv_buf_put_bytes(qv_buf *b, const void *p, uint32_t n);
/* Take the data (NUL-terminated, caller frees with qv_free); leaves b empty. */
uint8_t *qv_buf_take(qv_buf *b, size_t *len_out);
/* QV_ENOMEM if any append failed, else QV_OK. */
qv_err qv_buf_status(const qv_buf *b, qv_error *err);

/* Bounds-checked reader over a byte range; `failed` is sticky on overrun. */
typedef struct qv_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
    bool failed;
} qv_reader;

void qv_reader_init(qv_reader *r, const void *p, size_t len);
uint8_t qv_reader_u8(qv_reader *r);
uint16_t qv_reader_u16(qv_reader *r);
uint32_t qv_reader_u32(qv_reader *r);
uint64_t qv_reader_u64(qv_reader *r);
/* Borrowed pointer to n bytes, or NULL (and failed) on overrun. */
const void *qv_reader_bytes(qv_reader *r, size_t n);
/* Newly allocated NUL-terminated copy of a qv_buf_put_str string, or NULL. */
char *qv_reader_strdup(qv_reader *r);

static inline void qv_store_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void qv_store_le64(uint8_t *p, uint64_t v)
{
    qv_store_le32(p, (uint32_t)v);
    qv_store_le32(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t qv_load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t qv_load_le64(const uint8_t *p)
{
    return (uint64_t)qv_load_le32(p) | (uint64_t)qv_load_le32(p + 4) << 32;
}

#ifdef __cplusplus
}
#endif

#endif
