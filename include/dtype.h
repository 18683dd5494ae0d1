/* dtype.h: the 16-bit float formats weights arrive in, converted exactly (FORMATS.md 2.1). */
#pragma once
#include <stdint.h>
#include <string.h>

static inline float bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Round to nearest even; NaN stays a (quiet) NaN. The same rule as PyTorch and ggml. */
static inline uint16_t f32_to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 64);
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

float f16_to_f32(uint16_t h);   /* full subnormal / inf / NaN handling */
uint16_t f32_to_f16(float f);   /* round to nearest even, overflow to inf */
