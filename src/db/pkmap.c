/* SPDX-License-Identifier: Apache-2.0 */
/* pkmap.c - see pkmap.h. Load factor kept at or below 1/2. */
#include "db/pkmap.h"

#include <string.h>

#include "quiver/alloc.h"

#define EMPTY UINT64_MAX

void pkmap_init(pkmap *m) { memset(m, 0, sizeof *m); }

void pkmap_fini(pkmap *m)
{
    qv_free(m->slots);
    memset(m, 0, sizeof *m);
}

static size_t find_slot(const pkmap *m, uint64_t hash, pkmap_eq_fn eq, void *ctx, bool *found)
{
    size_t mask = m->cap - 1, i = hash & mask;

    for (;; i = (i + 1) & mask) {
        const pkmap_slot *s = &m->slots[i];
        if (s->row == EMPTY) {
            *found = false;
            return i;
        }
        if (s->hash == hash && eq(ctx, s->row)) {
            *found = true;
            return i;
        }
    }
}

uint64_t pkmap_get(const pkmap *m, uint64_t hash, pkmap_eq_fn eq, void *ctx)
{
    bool found;
    size_t i;

    if (!m->cap)
        return EMPTY;
    i = find_slot(m, hash, eq, ctx, &found);
    return found ? m->slots[i].row : EMPTY;
}

static qv_err grow(pkmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    pkmap_slot *slots = qv_malloc(cap * sizeof *slots), *old = m->slots;

    if (!slots)
        return QV_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        slots[i].row = EMPTY;
    for (size_t i = 0; i < m->cap; i++) {
        size_t j;
        if (old[i].row == EMPTY)
            continue;
        for (j = old[i].hash & (cap - 1); slots[j].row != EMPTY; j = (j + 1) & (cap - 1)) {
        }
        slots[j] = old[i];
    }
    qv_free(old);
    m->slots = slots;
    m->cap = cap;
    return QV_OK;
}

qv_err pkmap_put(pkmap *m, uint64_t hash, uint64_t row, pkmap_eq_fn eq, void *ctx,
                 uint64_t *old)
{
    bool found;
    size_t i;

    if ((m->count + 1) * 2 > m->cap && grow(m) != QV_OK)
        return QV_ENOMEM;
    i = find_slot(m, hash, eq, ctx, &found);
    *old = found ? m->slots[i].row : EMPTY;
    if (!found)
        m->count++;
    m->slots[i] = (pkmap_slot){.hash = hash, .row = row};
    return QV_OK;
}

uint64_t pkmap_remove(pkmap *m, uint64_t hash, pkmap_eq_fn eq, void *ctx)
{
    size_t mask = m->cap - 1, i, j;
    uint64_t row;
    bool found;

    if (!m->cap)
        return EMPTY;
    i = find_slot(m, hash, eq, ctx, &found);
    if (!found)
        return EMPTY;
    row = m->slots[i].row;
    m->count--;
    /* backward-shift deletion keeps probe chains intact without tombstones */
    for (j = (i + 1) & mask; m->slots[j].row != EMPTY; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].row = EMPTY;
    return row;
}
