/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/alloc.h - the allocator seam: mimalloc, or libc in sanitizer builds.
 * A failed allocation returns NULL; callers turn it into QV_ENOMEM. */
#ifndef QUIVER_ALLOC_H
#define QUIVER_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *qv_malloc(size_t n);
void *qv_calloc(size_t count, size_t size);
void *qv_realloc(void *p, size_t n);
/* Overflow-checked realloc of count*size bytes; NULL on overflow or failure. */
void *qv_reallocarray(void *p, size_t count, size_t size);
void *qv_aligned_alloc(size_t align, size_t n); /* free with qv_free */
void qv_free(void *p);                          /* NULL is a no-op */
char *qv_strdup(const char *s);                 /* NULL in, NULL out */
char *qv_strndup(const char *s, size_t n);
/* Name of the allocator in use ("mimalloc" or "libc"). */
const char *qv_alloc_name(void);

#ifdef __cplusplus
}
#endif

#endif
