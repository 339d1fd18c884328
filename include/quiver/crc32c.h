/* SPDX-License-Identifier: Apache-2.0 */
/* quiver/crc32c.h - CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of iSCSI (RFC 3720), ext4 and LevelDB. SSE4.2 when the CPU has it,
 * slicing-by-8 tables otherwise; both give identical results. */
#ifndef QUIVER_CRC32C_H
#define QUIVER_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (0 to start) over n bytes at p and return the new CRC. Chaining
 * composes: qv_crc32c(qv_crc32c(0, a, na), b, nb) is the CRC of a || b. */
uint32_t qv_crc32c(uint32_t crc, const void *p, size_t n);
/* The portable table-driven path, whatever the CPU (tests, benchmarks). */
uint32_t qv_crc32c_sw(uint32_t crc, const void *p, size_t n);
/* Implementation qv_crc32c uses on this CPU: "sse4.2" or "sw". */
const char *qv_crc32c_impl(void);

#endif
