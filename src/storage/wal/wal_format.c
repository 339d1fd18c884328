/* SPDX-License-Identifier: Apache-2.0 */
/* wal_format.c - the WAL's on-disk format: file names, file header, record
 * framing. All integers are little-endian, written byte by byte (never raw
 * structs); CRC32C is quiver/crc32c.h (Castagnoli, zero seed, inverted).
 *
 * FILES. A shard's WAL is a directory of files named wal-%020llu.log after
 * the LSN of their first record ("wal-00000000000000000001.log"), so name
 * order is LSN order. A file is written only by appending whole records and
 * holds LSNs [its first LSN, next file's first LSN). Other names are ignored.
 *
 * FILE HEADER, 32 bytes at offset 0:
 *    0   8  magic "QVWAL\r\n\x1a" (51 56 57 41 4c 0d 0a 1a)
 *    8   4  version: 2 (files of version 1 are still read: the same layout, no batch
 *           marks)
 *   12   4  header size in bytes, 32
 *   16   8  first LSN: that of the file's first record; equals the name's number
 *   24   4  reserved, 0
 *   28   4  CRC32C of bytes 0..27
 *
 * RECORD, 17-byte header then the payload, starting at offset 32 and packed
 * back to back with no padding:
 *    0   4  bits 0..30 length: payload bytes, at most QV_WAL_MAX_RECORD_BYTES
 *           (64 MiB); bit 31 (version 2) set on the first record of each write, i.e.
 *           of each group commit batch (wal_writer.c)
 *    4   1  type, 1..255 (0 is never written, so zeroed space never parses)
 *    5   8  LSN: the previous record's LSN + 1 (the file's first LSN for the first)
 *   13   4  CRC32C over, in this order: type (1 byte), LSN (8 bytes), the 4 bytes
 *           at offset 0 (length and mark), payload (length bytes)
 *   17   n  payload
 *
 * INVARIANTS and recovery (wal_replay.c): in every file but the newest, the
 * header is valid and records fill the file exactly; LSNs run without gaps
 * across files. Writes are sequential: a batch is written only after the
 * previous one's fsync completed, so only the last batch of the newest file
 * can be partly on disk after a crash, and the disk may have persisted its
 * pages in any order. In the newest file, a record that is incomplete, fails
 * its CRC or has an impossible length or type is therefore a torn tail if no
 * valid record that starts a batch follows it (version 1: no valid record at
 * all): it lies in a write that never completed its fsync, hence was never
 * acknowledged, and the file is truncated there. A later batch start means
 * the damaged batch was fsynced (acknowledged): corruption, and recovery
 * refuses to open. (Damage inside the last batch by other causes than a crash,
 * e.g. bit rot, is indistinguishable and is truncated too.) A valid-CRC
 * record with the wrong LSN is always corruption. A newest file shorter than
 * its header, or whose header fails, is a torn file creation (the header is
 * made durable by the first record's fsync) and is deleted unless a valid
 * record follows. A header with a good CRC but another version or size is
 * never touched: recovery refuses to open (a newer format, not damage). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "quiver/buf.h"
#include "quiver/crc32c.h"
#include "storage/wal/wal_int.h"

static const uint8_t wal_magic[8] = {'Q', 'V', 'W', 'A', 'L', '\r', '\n', 0x1a};
#define WAL_VERSION 2
#define WAL_BATCH_FIRST 0x80000000u

void wal_file_header_encode(uint8_t out[WAL_FILE_HDR_BYTES], uint64_t first_lsn)
{
    memcpy(out, wal_magic, 8);
    qv_store_le32(out + 8, WAL_VERSION);
    qv_store_le32(out + 12, WAL_FILE_HDR_BYTES);
    qv_store_le64(out + 16, first_lsn);
    qv_store_le32(out + 24, 0);
    qv_store_le32(out + 28, qv_crc32c(0, out, 28));
}

const char *wal_file_header_check(const uint8_t *p, uint64_t *first_lsn, uint32_t *version,
                                  bool *intact)
{
    *intact = false;
    if (memcmp(p, wal_magic, 8) != 0)
        return "bad magic in file header";
    if (qv_load_le32(p + 28) != qv_crc32c(0, p, 28))
        return "file header checksum mismatch";
    *intact = true; /* a whole header, just not one we can read */
    *version = qv_load_le32(p + 8);
    if (*version != 1 && *version != WAL_VERSION)
        return "unsupported WAL version";
    if (qv_load_le32(p + 12) != WAL_FILE_HDR_BYTES)
        return "unexpected file header size";
    *first_lsn = qv_load_le64(p + 16);
    return NULL;
}

uint32_t wal_record_crc(const wal_rec_hdr *h, const void *payload)
{
    uint8_t b[13];

    b[0] = h->type;
    qv_store_le64(b + 1, h->lsn);
    qv_store_le32(b + 9, h->len | (h->batch_first ? WAL_BATCH_FIRST : 0));
    return qv_crc32c(qv_crc32c(0, b, sizeof b), payload, h->len);
}

void wal_record_encode(uint8_t *dst, uint8_t type, uint64_t lsn, const void *rec, uint32_t len,
                       bool batch_first)
{
    wal_rec_hdr h = {.len = len, .batch_first = batch_first, .type = type, .lsn = lsn};

    if (len)
        memcpy(dst + WAL_REC_HDR_BYTES, rec, len);
    h.crc = wal_record_crc(&h, dst + WAL_REC_HDR_BYTES);
    qv_store_le32(dst, len | (batch_first ? WAL_BATCH_FIRST : 0));
    dst[4] = type;
    qv_store_le64(dst + 5, lsn);
    qv_store_le32(dst + 13, h.crc);
}

void wal_record_header_decode(const uint8_t *p, wal_rec_hdr *h)
{
    uint32_t raw = qv_load_le32(p);

    h->len = raw & ~WAL_BATCH_FIRST;
    h->batch_first = (raw & WAL_BATCH_FIRST) != 0;
    h->type = p[4];
    h->lsn = qv_load_le64(p + 5);
    h->crc = qv_load_le32(p + 13);
}

void wal_file_name(char out[WAL_NAME_MAX], uint64_t first_lsn)
{
    snprintf(out, WAL_NAME_MAX, "wal-%020" PRIu64 ".log", first_lsn);
}

bool wal_file_name_parse(const char *name, uint64_t *first_lsn)
{
    uint64_t v = 0;

    if (strlen(name) != 28 || memcmp(name, "wal-", 4) != 0 || strcmp(name + 24, ".log") != 0)
        return false;
    for (int i = 4; i < 24; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v == 0)
        return false;
    *first_lsn = v;
    return true;
}
