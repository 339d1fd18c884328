/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_stubs.c - symbols the fuzz targets link but never reach: half-precision conversions
 * (src/index/distance.c, which needs the SIMD kernel libraries) are used by the codec only
 * for Float16/BFloat16 vectors, which fuzz_rows's schema does not have. */
#include <stdint.h>
#include <stdlib.h>

#include "quiver/distance.h"

float qv_f16_to_f32(uint16_t h)
{
    (void)h;
    abort();
}

float qv_bf16_to_f32(uint16_t h)
{
    (void)h;
    abort();
}

uint16_t qv_f32_to_f16(float f)
{
    (void)f;
    abort();
}

uint16_t qv_f32_to_bf16(float f)
{
    (void)f;
    abort();
}
