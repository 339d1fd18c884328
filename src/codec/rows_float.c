/* SPDX-License-Identifier: Apache-2.0 */
/* rows_float.c - decimal text -> float32, correctly rounded (bit-identical to strtof),
 * fast for the numbers vectors are made of.
 *
 * The significant digits (at most 19) go into a uint64 mantissa m and the decimal point
 * into an exponent e, so the value is x = m * 10^e exactly. When |e| <= 22, 10^|e| is an
 * exact double and d = double(m) * 10^e (or / 10^-e) is within 2 ulps of x (one rounding
 * when m <= 2^53, as in Clinger's fast path; two otherwise). Rounding d to float then
 * gives float(x) unless a float rounding boundary (a midpoint between two floats, which
 * has the 29 low mantissa bits of a double equal to 1 followed by zeros) lies within
 * those 2 ulps: we check the low bits with a margin of 8 ulps and fall back to strtof in
 * that case, as for long mantissas, big exponents and results outside the normal float
 * range. The fallback is taken for well under one number in a million of typical input. */
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

static inline bool is_digit(char c) { return (unsigned)(unsigned char)c - '0' < 10; }

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
        d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
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
