/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_sindex.c - libFuzzer target for the scalar index reader (qv_sindex_deserialize,
 * src/index/scalar_index.c): the input is an index file's payload (what follows the
 * 24-byte QVIF envelope). Checks: no crash/UB/leak on any bytes; an accepted index
 * serializes back to exactly the input, and its lookups (every key, prefixes, ranges)
 * only mark rows below its row count. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/scalar_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const qv_sindex *ix, const uint8_t *data, size_t size, uint64_t *bm)
{
    size_t keys = qv_sindex_keys(ix), to, n;
    qv_skey k = {0};

    memcpy(&k.i, data, size < 8 ? size : 8);
    memcpy(&k.d, data, size < 8 ? size : 8);
    k.s = (const char *)data;
    k.len = size < 4 ? size : 4;
    qv_sindex_mark(ix, qv_sindex_lower(ix, &k), qv_sindex_upper(ix, &k), bm);
    qv_sindex_mark(ix, 0, keys, bm);
    if (qv_sindex_kind(ix) == QV_SKEY_STR)
        qv_sindex_mark(ix, qv_sindex_prefix(ix, k.s, k.len, &to), to, bm);
    for (size_t i = 0; i < keys; i++) {
        const uint32_t *p = qv_sindex_postings(ix, i, &n);
        for (size_t j = 0; j < n; j++)
            if (p[j] >= qv_sindex_rows(ix))
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qv_sindex *ix = NULL;
    qv_error err;
    qv_buf back;

    if (qv_sindex_deserialize(data, size, &ix, &err) != QV_OK)
        return 0;
    qv_buf_init(&back);
    if (qv_sindex_serialize(ix, &back, &err) != QV_OK || back.len != size ||
        memcmp(back.data, data, size) != 0)
        abort(); /* the form is canonical: what loads writes back identically */
    if (qv_sindex_rows(ix) <= (1u << 20)) {
        uint64_t *bm = qv_calloc((qv_sindex_rows(ix) + 63) / 64 + 1, sizeof *bm);
        if (bm)
            probe(ix, data, size, bm);
        qv_free(bm);
    }
    qv_buf_fini(&back);
    qv_sindex_free(ix);
    return 0;
}
