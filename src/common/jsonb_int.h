/* SPDX-License-Identifier: Apache-2.0 */
/* jsonb_int.h - helpers shared by jsonb.c (reader, validator), jsonb_build.c and
 * jsonb_text.c. Not part of the public API. */
#ifndef QUIVER_JSONB_INT_H
#define QUIVER_JSONB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HDR 9u /* container header: tag + u32 count + u32 size */

/* Size of the value at p given avail readable bytes; 0 if malformed or truncated. */
size_t jsonb_value_size(const uint8_t *p, size_t avail);
/* Bytewise key order, shorter first on a common prefix. */
int jsonb_key_cmp(const char *a, size_t alen, const char *b, size_t blen);
/* Length (1..4) of the valid UTF-8 sequence at s, or 0. */
size_t jsonb_utf8_seq(const uint8_t *s, size_t n);
/* Canonical-layout check of the value at p (depth = its nesting level); *size on success. */
bool jsonb_valid_at(const uint8_t *p, size_t avail, int depth, size_t *size);

#endif
