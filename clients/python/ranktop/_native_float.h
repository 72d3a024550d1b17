/*
 * repr(float) without Python's dtoa: the shortest digits that read back as the same double (Ulf
 * Adams's Ryu, PLDI 2018; tables from tools/gen_ryu_table.py), laid out as float.__repr__ lays
 * them out.
 *
 * Why by hand: a `progress` with a loss metric spent 450-500 ns of its 1.6 us shared-memory emit
 * in `PyOS_double_to_string` (its bignum dtoa), on the training thread; this takes under 100 ns.
 * `test_the_c_float_text_is_reprs` compares the two on millions of doubles and their edge cases.
 */
#ifndef RANKTOP_NATIVE_FLOAT_H
#define RANKTOP_NATIVE_FLOAT_H

#include <stdint.h>
#include <string.h>

#include "_native_ryu_table.h"

#define RYU_MANTISSA_BITS 52
#define RYU_BIAS 1023
#define RYU_POW5_INV_BITS 125
#define RYU_POW5_BITS 125

/* ceil(log2(5^e)) for 0 <= e <= 3528; floor(log10(2^e)) and floor(log10(5^e)) for 0 <= e <= 1650. */
static inline int32_t ryu_pow5_bits(int32_t e) { return (int32_t)(((uint32_t)e * 1217359) >> 19) + 1; }
static inline uint32_t ryu_log10_pow2(int32_t e) { return ((uint32_t)e * 78913) >> 18; }
static inline uint32_t ryu_log10_pow5(int32_t e) { return ((uint32_t)e * 732923) >> 20; }

static inline uint32_t ryu_pow5_factor(uint64_t value) {
    uint32_t count = 0;
    while (value % 5 == 0) {
        value /= 5;
        count++;
    }
    return count;
}

static inline int ryu_multiple_of_pow5(uint64_t value, uint32_t p) { return ryu_pow5_factor(value) >= p; }
static inline int ryu_multiple_of_pow2(uint64_t value, uint32_t p) { return (value & ((1ULL << p) - 1)) == 0; }

static inline uint64_t ryu_mul_shift(uint64_t m, const uint64_t *mul, int32_t j) {
    unsigned __int128 low = (unsigned __int128)m * mul[0];
    unsigned __int128 high = (unsigned __int128)m * mul[1];
    return (uint64_t)(((low >> 64) + high) >> (j - 64));
}

/* The shortest `digits` x 10^`exponent` that reads back as the finite, nonzero double of these bits. */
static inline void ryu_shortest(uint64_t mantissa, uint32_t exponent_bits, uint64_t *digits, int32_t *exponent) {
    int32_t e2;
    uint64_t m2;
    if (exponent_bits == 0) {
        e2 = 1 - RYU_BIAS - RYU_MANTISSA_BITS - 2;
        m2 = mantissa;
    } else {
        e2 = (int32_t)exponent_bits - RYU_BIAS - RYU_MANTISSA_BITS - 2;
        m2 = (1ULL << RYU_MANTISSA_BITS) | mantissa;
    }
    const int accept_bounds = (m2 & 1) == 0;
    const uint64_t mv = 4 * m2;
    const uint32_t mm_shift = mantissa != 0 || exponent_bits <= 1;

    uint64_t vr, vp, vm;
    int32_t e10;
    int vm_trailing_zeros = 0, vr_trailing_zeros = 0;
    if (e2 >= 0) {
        const uint32_t q = ryu_log10_pow2(e2) - (e2 > 3);
        e10 = (int32_t)q;
        const int32_t k = RYU_POW5_INV_BITS + ryu_pow5_bits((int32_t)q) - 1;
        const int32_t i = -e2 + (int32_t)q + k;
        vr = ryu_mul_shift(4 * m2, RYU_POW5_INV[q], i);
        vp = ryu_mul_shift(4 * m2 + 2, RYU_POW5_INV[q], i);
        vm = ryu_mul_shift(4 * m2 - 1 - mm_shift, RYU_POW5_INV[q], i);
        if (q <= 21) {
            if (mv % 5 == 0) {
                vr_trailing_zeros = ryu_multiple_of_pow5(mv, q);
            } else if (accept_bounds) {
                vm_trailing_zeros = ryu_multiple_of_pow5(mv - 1 - mm_shift, q);
            } else {
                vp -= ryu_multiple_of_pow5(mv + 2, q);
            }
        }
    } else {
        const uint32_t q = ryu_log10_pow5(-e2) - (-e2 > 1);
        e10 = (int32_t)q + e2;
        const int32_t i = -e2 - (int32_t)q;
        const int32_t k = ryu_pow5_bits(i) - RYU_POW5_BITS;
        const int32_t j = (int32_t)q - k;
        vr = ryu_mul_shift(4 * m2, RYU_POW5[i], j);
        vp = ryu_mul_shift(4 * m2 + 2, RYU_POW5[i], j);
        vm = ryu_mul_shift(4 * m2 - 1 - mm_shift, RYU_POW5[i], j);
        if (q <= 1) {
            vr_trailing_zeros = 1;
            if (accept_bounds) {
                vm_trailing_zeros = mm_shift == 1;
            } else {
                --vp;
            }
        } else if (q < 63) {
            vr_trailing_zeros = ryu_multiple_of_pow2(mv, q);
        }
    }

    int32_t removed = 0;
    uint32_t last_removed = 0;
    uint64_t output;
    if (vm_trailing_zeros || vr_trailing_zeros) {
        while (vp / 10 > vm / 10) {
            vm_trailing_zeros &= vm % 10 == 0;
            vr_trailing_zeros &= last_removed == 0;
            last_removed = (uint32_t)(vr % 10);
            vr /= 10;
            vp /= 10;
            vm /= 10;
            removed++;
        }
        if (vm_trailing_zeros) {
            while (vm % 10 == 0) {
                vr_trailing_zeros &= last_removed == 0;
                last_removed = (uint32_t)(vr % 10);
                vr /= 10;
                vp /= 10;
                vm /= 10;
                removed++;
            }
        }
        if (vr_trailing_zeros && last_removed == 5 && vr % 2 == 0) last_removed = 4;  /* exactly .5: to even */
        output = vr + ((vr == vm && (!accept_bounds || !vm_trailing_zeros)) || last_removed >= 5);
    } else {
        int round_up = 0;
        if (vp / 100 > vm / 100) {
            round_up = vr % 100 >= 50;
            vr /= 100;
            vp /= 100;
            vm /= 100;
            removed += 2;
        }
        while (vp / 10 > vm / 10) {
            round_up = vr % 10 >= 5;
            vr /= 10;
            vp /= 10;
            vm /= 10;
            removed++;
        }
        output = vr + (vr == vm || round_up);
    }
    *digits = output;
    *exponent = e10 + removed;
}

/* float.__repr__ of a finite double into `out` (at least 32 bytes); returns the length. */
static inline int write_float_repr(char *out, double value) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    char *at = out;
    if (bits >> 63) *at++ = '-';
    const uint64_t mantissa = bits & ((1ULL << RYU_MANTISSA_BITS) - 1);
    const uint32_t exponent_bits = (uint32_t)((bits >> RYU_MANTISSA_BITS) & 0x7FF);
    if (mantissa == 0 && exponent_bits == 0) {
        memcpy(at, "0.0", 3);
        return (int)(at - out) + 3;
    }
    uint64_t digits;
    int32_t exponent;
    ryu_shortest(mantissa, exponent_bits, &digits, &exponent);
    char text[20];
    int n = write_digits(text, digits);
    /* repr's rule (format_float_short): value = 0.DIGITS x 10^point; fixed notation while
     * -4 < point <= 16, else d.ddde+XX with at least two exponent digits. */
    const int point = n + exponent;
    if (point > -4 && point <= 16) {
        if (point <= 0) {
            memcpy(at, "0.", 2);
            at += 2;
            memset(at, '0', -point);
            at += -point;
            memcpy(at, text, n);
            at += n;
        } else if (point >= n) {
            memcpy(at, text, n);
            at += n;
            memset(at, '0', point - n);
            at += point - n;
            memcpy(at, ".0", 2);
            at += 2;
        } else {
            memcpy(at, text, point);
            at += point;
            *at++ = '.';
            memcpy(at, text + point, n - point);
            at += n - point;
        }
    } else {
        *at++ = text[0];
        if (n > 1) {
            *at++ = '.';
            memcpy(at, text + 1, n - 1);
            at += n - 1;
        }
        int e = point - 1;
        *at++ = 'e';
        *at++ = e < 0 ? '-' : '+';
        if (e < 0) e = -e;
        if (e < 10) *at++ = '0';
        at += write_digits(at, (unsigned long long)e);
    }
    return (int)(at - out);
}

#endif
