/* SPDX-License-Identifier: Apache-2.0 */
/* store_sync.c - a shard's live rows as peers compare and copy them: an order-independent
 * digest of their contents, and a copy of every live row with its partition. */
#include <string.h>

#include "db/store_int.h"
#include "quiver/alloc.h"

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* Hash of a row's values (every column, $meta included) and its partition. */
static uint64_t row_hash(const shard *sh, size_t row)
{
    uint64_t h = fnv(14695981039346656037ull, &sh->part_ids[row], sizeof sh->part_ids[row]);

    for (size_t c = 0; c <= sh->rows.ncols; c++) {
        const qv_colbuf *col = c < sh->rows.ncols ? &sh->rows.cols[c] : &sh->rows.dynamic;
        size_t n = col->width;
        const void *p;
        if (qv_colbuf_is_null(col, row)) {
            h = fnv(h, "\0n", 2);
            continue;
        }
        p = col->width ? qv_colbuf_fixed(col, row) : qv_colbuf_var(col, row, &n);
        h = fnv(fnv(h, &n, sizeof n), p, n);
    }
    return h;
}

static bool row_live(const shard *sh, size_t r) { return !(sh->dead[r / 64] >> (r % 64) & 1); }

void qv_coll_shard_digest(qv_coll_data *c, uint32_t si, uint64_t *count, uint64_t *digest)
{
    shard *sh = &c->shards[si];

    *count = *digest = 0;
    pthread_rwlock_rdlock(&sh->lock);
    for (size_t r = 0; r < sh->rows.rows; r++) {
        if (!row_live(sh, r))
            continue;
        (*count)++;
        *digest ^= row_hash(sh, r);
    }
    pthread_rwlock_unlock(&sh->lock);
}

qv_err qv_coll_shard_rows(qv_coll_data *c, uint32_t si, qv_rowbatch *out, int64_t **parts,
                          qv_error *err)
{
    shard *sh = &c->shards[si];
    uint32_t *idx;
    size_t n = 0;
    qv_err rc;

    *parts = NULL;
    if (qv_rowbatch_init(out, &c->schema) != QV_OK)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    pthread_rwlock_rdlock(&sh->lock);
    idx = qv_malloc((sh->rows.rows + 1) * sizeof *idx);
    *parts = qv_malloc((sh->rows.rows + 1) * sizeof **parts);
    for (size_t r = 0; idx && *parts && r < sh->rows.rows; r++) {
        if (!row_live(sh, r))
            continue;
        (*parts)[n] = sh->part_ids[r];
        idx[n++] = (uint32_t)r;
    }
    rc = idx && *parts ? qv_rowbatch_append_rows(out, &sh->rows, idx, n, err)
                       : qv_error_set(err, QV_ENOMEM, "out of memory");
    pthread_rwlock_unlock(&sh->lock);
    qv_free(idx);
    return rc;
}
