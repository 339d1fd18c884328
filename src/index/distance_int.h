/* SPDX-License-Identifier: Apache-2.0 */
/* distance_int.h - kernel tables shared between the dispatcher (distance.c) and
 * the per-ISA translation units, each compiled with its own -m flags. Nothing
 * here may be called before the CPU has been checked for the ISA. */
#ifndef QUIVER_INDEX_DISTANCE_INT_H
#define QUIVER_INDEX_DISTANCE_INT_H

#include "quiver/distance.h"

extern const qv_distance_kernels distance_kernels_scalar;
#if defined(__x86_64__)
#define DISTANCE_HAVE_X86 1
extern const qv_distance_kernels distance_kernels_avx2;   /* distance_avx2.c */
extern const qv_distance_kernels distance_kernels_avx512; /* distance_avx512.c */
#endif

#endif
