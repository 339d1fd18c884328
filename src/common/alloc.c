/* SPDX-License-Identifier: Apache-2.0 */
/* alloc.c - mimalloc by default; libc when built with -Dlibc_alloc=true
 * (sanitizer builds: ASan cannot see mimalloc's heaps). */
#include "quiver/alloc.h"

#include <stdint.h>
#include <string.h>

#ifdef QV_USE_MIMALLOC
#include <mimalloc.h>
#define RAW_MALLOC mi_malloc
#define RAW_CALLOC mi_calloc
#define RAW_REALLOC mi_realloc
#define RAW_FREE mi_free
#define RAW_ALIGNED(a, n) mi_malloc_aligned((n), (a))
#define ALLOC_NAME "mimalloc"
#else
#include <stdlib.h>
#define RAW_MALLOC malloc
#define RAW_CALLOC calloc
#define RAW_REALLOC realloc
#define RAW_FREE free
#define ALLOC_NAME "libc"
static void *raw_aligned(size_t a, size_t n)
{
    void *p = NULL;
    return posix_memalign(&p, a, n ? n : 1) == 0 ? p : NULL;
}
#define RAW_ALIGNED(a, n) raw_aligned((a), (n))
#endif

void *qv_malloc(size_t n) { return RAW_MALLOC(n ? n : 1); }
void *qv_calloc(size_t count, size_t size) { return RAW_CALLOC(count ? count : 1, size ? size : 1); }
void *qv_realloc(void *p, size_t n) { return RAW_REALLOC(p, n ? n : 1); }
void *qv_aligned_alloc(size_t align, size_t n) { return RAW_ALIGNED(align, n); }
void qv_free(void *p) { RAW_FREE(p); }
const char *qv_alloc_name(void) { return ALLOC_NAME; }

void *qv_reallocarray(void *p, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return qv_realloc(p, count * size);
}

char *qv_strndup(const char *s, size_t n)
{
    char *d;

    if (!s)
        return NULL;
    if ((d = qv_malloc(n + 1)) == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *qv_strdup(const char *s) { return s ? qv_strndup(s, strlen(s)) : NULL; }
