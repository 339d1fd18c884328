/* SPDX-License-Identifier: Apache-2.0 */
/* pkmap.h - primary key -> row index of the live version, one per shard.
 * Open addressing with linear probing and tombstone-free deletion (backward shift).
 * Keys are not stored: a slot holds the key's 64-bit hash and the row index, and
 * equality is decided by the caller's compare callback against the row's key. */
#ifndef QUIVER_DB_PKMAP_H
#define QUIVER_DB_PKMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quiver/err.h"

typedef struct pkmap_slot {
    uint64_t hash;
    uint64_t row; /* UINT64_MAX = empty */
} pkmap_slot;

typedef struct pkmap {
    pkmap_slot *slots;
    size_t cap; /* power of two */
    size_t count;
} pkmap;

/* Is row's key equal to the key being looked up? */
typedef bool (*pkmap_eq_fn)(void *ctx, uint64_t row);

void pkmap_init(pkmap *m);
void pkmap_fini(pkmap *m);
/* Row of the key, or UINT64_MAX. */
uint64_t pkmap_get(const pkmap *m, uint64_t hash, pkmap_eq_fn eq, void *ctx);
/* Map the key to row (replacing); *old gets the previous row or UINT64_MAX. */
qv_err pkmap_put(pkmap *m, uint64_t hash, uint64_t row, pkmap_eq_fn eq, void *ctx,
                 uint64_t *old);
/* Remove the key; returns its row or UINT64_MAX. */
uint64_t pkmap_remove(pkmap *m, uint64_t hash, pkmap_eq_fn eq, void *ctx);

#endif
