/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_segment.c - libFuzzer target for the segment file reader (store_decode_segment,
 * src/db/store_segfile.c): the input is a segment file's bytes, parsed for a fixed schema
 * (the one tests/fuzz/corpus/segment was written with: id Int64, vec FloatVector(4), s
 * VarChar, tag Int32 nullable, j JSON nullable, dynamic fields), taking the id and row
 * count from the file's own header as the manifest would list them. Checks: no crash/UB/
 * leak on any bytes; an accepted file yields exactly `rows` rows with every per-row array,
 * and its row batch survives the encoding round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/store_int.h"
#include "quiver/alloc.h"
#include "quiver/buf.h"
#include "fuzz_schema.h"

static qv_schema schema;

static void setup(void)
{
    static const fuzz_field defs[] = {
        {"id", QV_TYPE_INT64, 0, 0, false, true},
        {"vec", QV_TYPE_FLOAT_VECTOR, 0, 4, false, false},
        {"s", QV_TYPE_VARCHAR, 0, 0, false, false},
        {"tag", QV_TYPE_INT32, 0, 0, true, false},
        {"j", QV_TYPE_JSON, 0, 0, true, false},
    };
    fuzz_schema_init(&schema, defs, sizeof defs / sizeof defs[0], 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    uint64_t id = 0, rows = 0;
    qv_rowbatch back;
    qv_error err;
    seg_copy s;
    qv_buf b;

    if (!ready) {
        setup();
        ready = true;
    }
    if (size >= SEG_HEADER) {
        id = qv_load_le64(data + 16);
        rows = qv_load_le64(data + 24);
    }
    if (store_decode_segment(&schema, id, rows, data, size, &s, &err) != QV_OK) {
        if (err.code != QV_ECORRUPT && err.code != QV_ENOMEM)
            abort();
        store_seg_copy_fini(&s); /* zeroed: a no-op */
        return 0;
    }
    if (s.rows.rows != rows || !s.parts || !s.lsns || !s.times)
        abort();
    for (uint64_t i = 0; i < rows; i++) /* every per-row array has rows entries */
        if (s.lsns[i] == 0x5a5a5a5a5a5a5a5aull && s.times[i] == 1 && s.parts[i] == 1)
            break;
    qv_buf_init(&b);
    qv_rowbatch_encode(&s.rows, &b);
    if (b.failed || qv_rowbatch_decode(&schema, b.data, b.len, &back, &err) != QV_OK ||
        back.rows != rows)
        abort();
    qv_rowbatch_fini(&back);
    qv_buf_fini(&b);
    store_seg_copy_fini(&s);
    return 0;
}
