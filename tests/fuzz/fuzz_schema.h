/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_schema.h - a fixed schema for a fuzz target, from a table of fields (built once, in
 * the target's first run, and kept for the process). */
#ifndef QUIVER_FUZZ_SCHEMA_H
#define QUIVER_FUZZ_SCHEMA_H

#include <stdlib.h>

#include "quiver/schema.h"

typedef struct fuzz_field {
    const char *name;
    qv_type type, etype; /* etype: Array elements */
    uint32_t dim;
    bool nullable, pk;
} fuzz_field;

/* VarChar (and VarChar elements) take max_len bytes, Arrays 4 elements. */
static inline void fuzz_schema_init(qv_schema *s, const fuzz_field *defs, size_t n,
                                    uint32_t max_len)
{
    s->fields = calloc(n, sizeof *s->fields);
    s->field_count = n;
    s->enable_dynamic = true;
    for (size_t i = 0; i < n; i++) {
        qv_field *f = &s->fields[i];
        f->name = (char *)defs[i].name;
        f->type = defs[i].type;
        f->element_type = defs[i].etype;
        f->dim = defs[i].dim;
        f->nullable = defs[i].nullable;
        f->is_primary = defs[i].pk;
        f->max_length = max_len;
        f->max_capacity = 4;
    }
}

#endif
