/* SPDX-License-Identifier: Apache-2.0 */
/* store_segfile.c - parsing a segment file's bytes (the format is documented atop
 * store_segment.c, which writes it). Nothing here touches a collection or the disk, so the
 * parser runs alone under the fuzzer (tests/fuzz/fuzz_segment.c). Every length is checked
 * against the bytes at hand before anything is allocated from it. */
#include <string.h>

#include "db/store_int.h"
#include "quiver/alloc.h"
#include "quiver/crc32c.h"

void store_seg_copy_fini(seg_copy *s)
{
    qv_rowbatch_fini(&s->rows);
    qv_free(s->parts);
    qv_free(s->lsns);
    qv_free(s->times);
    memset(s, 0, sizeof *s);
}

static qv_err read_block(qv_reader *r, uint32_t kind, const uint8_t **p, size_t *len,
                         qv_error *err)
{
    uint32_t k = qv_reader_u32(r), crc = qv_reader_u32(r);
    uint64_t n = qv_reader_u64(r);

    if (r->failed || k != kind || n > r->len - r->pos)
        return qv_error_set(err, QV_ECORRUPT, "block %u: bad header", kind);
    *p = qv_reader_bytes(r, n);
    *len = n;
    if (qv_crc32c(0, *p, n) != crc)
        return qv_error_set(err, QV_ECORRUPT, "block %u fails its checksum", kind);
    return QV_OK;
}

/* A block of rows x 8-byte little-endian values into a fresh array. */
static qv_err read_u64s(qv_reader *r, uint32_t kind, uint64_t rows, uint64_t **out,
                        qv_error *err)
{
    const uint8_t *blk = NULL;
    size_t n = 0;
    qv_err rc = kind ? read_block(r, kind, &blk, &n, err) : QV_OK;

    if (rc != QV_OK)
        return rc;
    if (kind && n != rows * 8)
        return qv_error_set(err, QV_ECORRUPT, "block %u: %zu bytes for %llu rows", kind, n,
                            (unsigned long long)rows);
    if ((*out = qv_calloc(rows + 1, sizeof **out)) == NULL)
        return qv_error_set(err, QV_ENOMEM, "out of memory");
    for (uint64_t i = 0; kind && i < rows; i++)
        (*out)[i] = qv_load_le64(blk + 8 * i);
    return QV_OK;
}

qv_err store_decode_segment(const qv_schema *s, uint64_t id, uint64_t rows, const uint8_t *p,
                            size_t len, seg_copy *out, qv_error *err)
{
    const uint8_t *blk;
    size_t n;
    uint32_t version;
    qv_reader r;
    qv_err rc;

    memset(out, 0, sizeof *out);
    if (len < SEG_HEADER || memcmp(p, SEG_MAGIC, 8) || qv_crc32c(0, p, 36) != qv_load_le32(p + 36))
        return qv_error_set(err, QV_ECORRUPT, "bad header");
    version = qv_load_le32(p + 8);
    if ((version != 1 && version != SEG_VERSION) || qv_load_le64(p + 16) != id ||
        qv_load_le64(p + 24) != rows || qv_load_le32(p + 32) != (version == 1 ? 4 : SEG_BLOCKS))
        return qv_error_set(err, QV_ECORRUPT, "header does not match the manifest");
    qv_reader_init(&r, p + SEG_HEADER, len - SEG_HEADER);
    if ((rc = read_block(&r, BLOCK_ROWS, &blk, &n, err)) != QV_OK ||
        (rc = qv_rowbatch_decode(s, blk, n, &out->rows, err)) != QV_OK)
        goto done;
    if (out->rows.rows != rows) {
        rc = qv_error_set(err, QV_ECORRUPT, "row count mismatch");
        goto done;
    }
    if ((rc = read_u64s(&r, BLOCK_PARTITIONS, rows, (uint64_t **)&out->parts, err)) != QV_OK ||
        (rc = read_u64s(&r, BLOCK_LSNS, rows, &out->lsns, err)) != QV_OK)
        goto done;
    if ((rc = read_block(&r, BLOCK_KEYS, &blk, &n, err)) != QV_OK)
        goto done;
    if (n != rows * 4) {
        rc = qv_error_set(err, QV_ECORRUPT, "bad key block");
        goto done;
    }
    /* version 1 files have no TIMES block: their rows get 0 (never expire) */
    if ((rc = read_u64s(&r, version > 1 ? BLOCK_TIMES : 0, rows, &out->times, err)) != QV_OK)
        goto done;
    if (r.pos != r.len)
        rc = qv_error_set(err, QV_ECORRUPT, "%zu trailing bytes", r.len - r.pos);
done:
    if (rc != QV_OK)
        store_seg_copy_fini(out);
    return rc;
}
