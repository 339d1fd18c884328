/* SPDX-License-Identifier: Apache-2.0 */
/* test_crc32c.c - CRC32C against RFC 3720 vectors and a bitwise reference,
 * hardware and software paths alike. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "quiver/crc32c.h"
#include "testutil.h"

/* The definition, one bit at a time (reflected polynomial 0x82F63B78). */
static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint8_t rnd8(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint8_t)rng_state;
}

START_TEST(test_rfc3720_vectors)
{
    /* RFC 3720 appendix B.4 */
    static const uint8_t read_pdu[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    uint8_t b[32];

    printf("crc32c implementation: %s\n", qv_crc32c_impl());
    for (int sw = 0; sw < 2; sw++) {
        uint32_t (*f)(uint32_t, const void *, size_t) = sw ? qv_crc32c_sw : qv_crc32c;
        memset(b, 0, sizeof b);
        ck_assert_uint_eq(f(0, b, 32), 0x8a9136aau);
        memset(b, 0xff, sizeof b);
        ck_assert_uint_eq(f(0, b, 32), 0x62a8ab43u);
        for (int i = 0; i < 32; i++)
            b[i] = (uint8_t)i;
        ck_assert_uint_eq(f(0, b, 32), 0x46dd794eu);
        for (int i = 0; i < 32; i++)
            b[i] = (uint8_t)(31 - i);
        ck_assert_uint_eq(f(0, b, 32), 0x113fdb5cu);
        ck_assert_uint_eq(f(0, read_pdu, sizeof read_pdu), 0xd9963a56u);
        ck_assert_uint_eq(f(0, "123456789", 9), 0xe3069283u);
        ck_assert_uint_eq(f(0, "", 0), 0u);
    }
}
END_TEST

START_TEST(test_matches_bitwise_reference)
{
    static uint8_t buf[4096 + 16];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = rnd8();
    /* every length to 300, every alignment to 16: tables, head/tail loops */
    for (size_t off = 0; off < 16; off++)
        for (size_t n = 0; n <= 300; n++) {
            uint32_t want = crc_bitwise(buf + off, n);
            ck_assert_uint_eq(qv_crc32c_sw(0, buf + off, n), want);
            ck_assert_uint_eq(qv_crc32c(0, buf + off, n), want);
        }
    ck_assert_uint_eq(qv_crc32c(0, buf, 4096), crc_bitwise(buf, 4096));
    ck_assert_uint_eq(qv_crc32c_sw(0, buf + 3, 4093), crc_bitwise(buf + 3, 4093));
}
END_TEST

START_TEST(test_chaining_equals_whole)
{
    uint8_t buf[1000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = rnd8();
    uint32_t whole = qv_crc32c(0, buf, sizeof buf);
    for (size_t cut = 0; cut <= sizeof buf; cut += 7) {
        ck_assert_uint_eq(qv_crc32c(qv_crc32c(0, buf, cut), buf + cut, sizeof buf - cut), whole);
        ck_assert_uint_eq(qv_crc32c_sw(qv_crc32c(0, buf, cut), buf + cut, sizeof buf - cut),
                          whole);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crc32c");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_rfc3720_vectors);
    tcase_add_test(tc, test_matches_bitwise_reference);
    tcase_add_test(tc, test_chaining_equals_whole);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
