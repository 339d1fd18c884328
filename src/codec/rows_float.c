/* SPDX-License-Identifier: Apache-2.0 */
/* rows_float.c - decimal text -> float32, correctly rounded (bit-identical to strtof),
 * fast for the numbers vectors are made of.
 *
 * The significant digits (at most 19) go into a uint64 mantissa m and the decimal point
 * into an exponent e, so the value is x = m * 10^e exactly. When |e| <= 22 we compute
 * d = double(m) * 10^e: one rounding when m <= 2^53 and e >= 0 (10^e is then an exact
 * double: Clinger's fast path), at most three otherwise (m rounded, 10^e for e < 0 taken
 * rounded so that we multiply instead of divide, the product), so d is within 3 ulps of
 * x. Rounding d to float gives float(x) unless a float rounding boundary (a midpoint
 * between two floats, where a double's 29 low mantissa bits are 1 followed by zeros) lies
 * within those 3 ulps: we check the low bits with a margin of 8 ulps and fall back to
 * strtof in that case, as for long mantissas, big exponents and results outside the
 * normal float range. The fallback is taken for a few numbers in a million. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quiver/alloc.h"
#include "quiver/rowcodec.h"

#define MAX_DIGITS 19         /* decimal digits that always fit a uint64 */
#define MIDPOINT (1u << 28)   /* a float midpoint's 29 low double mantissa bits */
#define LOW29 ((1u << 29) - 1)
#define MARGIN 8

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
/* 10^-k rounded to double (relative error <= 2^-53): multiplying by these instead of
 * dividing by 10^k adds at most one more rounding, well inside the margin. */
static const double pow10_neg[23] = {1e0,   1e-1,  1e-2,  1e-3,  1e-4,  1e-5,  1e-6,  1e-7,
                                     1e-8,  1e-9,  1e-10, 1e-11, 1e-12, 1e-13, 1e-14, 1e-15,
                                     1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22};

static inline bool is_digit(char c) { return (unsigned)(unsigned char)c - '0' < 10; }

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR_DIGITS 1
/* Eight ASCII digits at once (the SWAR trick of simdjson and fast_float): whether the 8
 * bytes of v (little-endian) are all digits, and their value. */
static inline bool eight_digits(uint64_t v)
{
    return ((v & 0xF0F0F0F0F0F0F0F0ull) |
            (((v + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) ==
           0x3333333333333333ull;
}

static inline uint32_t eight_digits_value(uint64_t v)
{
    const uint64_t mask = 0x000000FF000000FFull;
    const uint64_t mul1 = 100 + (1000000ull << 32), mul2 = 1 + (10000ull << 32);

    v -= 0x3030303030303030ull;
    v = v * 10 + (v >> 8);
    return (uint32_t)((((v & mask) * mul1) + (((v >> 16) & mask) * mul2)) >> 32);
}
#endif

/* strtof of the n-byte token s (a valid JSON number). */
static qv_err slow_float(const char *s, size_t n, float *out)
{
    char small[128], *tmp = small;

    if (n >= sizeof small && !(tmp = qv_malloc(n + 1)))
        return QV_ENOMEM;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtof(tmp, NULL);
    if (tmp != small)
        qv_free(tmp);
    return QV_OK;
}

qv_err qv_codec_parse_float(const char *s, size_t n, float *out, size_t *used)
{
    size_t i = 0;
    uint64_t m = 0;
    int digits = 0;
    int64_t e10 = 0, ex = 0;
    bool neg = false, inexact = false, eneg = false;

    if (i < n && s[i] == '-')
        neg = s[i++] == '-';
    if (i >= n || !is_digit(s[i]))
        return QV_EBADJSON;
    if (s[i] == '0') {
        i++;
    } else {
        for (; i < n && is_digit(s[i]); i++) {
            unsigned d = (unsigned)(s[i] - '0');
            if (digits < MAX_DIGITS) {
                m = m * 10 + d;
                digits++;
            } else {
                e10++; /* a dropped integer digit scales by 10; a nonzero one is lost */
                inexact |= d != 0;
            }
        }
    }
    if (i < n && s[i] == '.') {
        if (++i >= n || !is_digit(s[i]))
            return QV_EBADJSON;
#ifdef SWAR_DIGITS
        /* (leading zeros counted as digits here: conservative, m stays < 10^19) */
        while (n - i >= 8 && digits + 8 <= MAX_DIGITS) {
            uint64_t v;
            memcpy(&v, s + i, sizeof v);
            if (!eight_digits(v))
                break;
            m = m * 100000000u + eight_digits_value(v);
            digits = m ? digits + 8 : 0;
            e10 -= 8;
            i += 8;
        }
#endif
        for (; i < n && is_digit(s[i]); i++) {
            unsigned d = (unsigned)(s[i] - '0');
            if (digits < MAX_DIGITS && (m || d)) {
                m = m * 10 + d;
                digits++;
                e10--;
            } else if (!m) {
                e10--; /* a leading zero */
            } else {
                inexact |= d != 0;
            }
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i >= n || !is_digit(s[i]))
            return QV_EBADJSON;
        for (; i < n && is_digit(s[i]); i++)
            if (ex < 1000000)
                ex = ex * 10 + (s[i] - '0');
        e10 += eneg ? -ex : ex;
    }
    *used = i;
    if (m == 0) { /* all digits zero: exactly zero whatever the exponent */
        *out = neg ? -0.0f : 0.0f;
        return QV_OK;
    }
    if (!inexact && e10 >= -22 && e10 <= 22) {
        double d = (double)m;
        d *= e10 < 0 ? pow10_neg[-e10] : pow10_exact[e10];
        if (d >= 0x1p-126 && d < 0x1p127) {
            uint64_t bits;
            memcpy(&bits, &d, sizeof bits);
            int64_t dist = (int64_t)(bits & LOW29) - MIDPOINT;
            if (dist > MARGIN || dist < -MARGIN) {
                float f = (float)d;
                *out = neg ? -f : f;
                return QV_OK;
            }
        }
    }
    return slow_float(s, i, out);
}
