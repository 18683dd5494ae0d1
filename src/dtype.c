/* dtype.c: IEEE binary16 conversions. bf16 ones are inline in dtype.h. */
#include "dtype.h"

#include <math.h>

float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) & 1u, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    float v;
    if (exp == 0) v = ldexpf((float)man, -24);                       /* zero, subnormal */
    else if (exp == 31) v = man ? NAN : INFINITY;
    else v = ldexpf((float)(man | 0x400u), (int)exp - 25);           /* (1 + m/1024) 2^(e-15) */
    return sign ? -v : v;
}

uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return sign | 0x7e00u;                     /* NaN */
    if (ax >= 0x477ff000u) return sign | 0x7c00u;                    /* rounds past 65504: inf */
    if (ax < 0x38800000u) {                                          /* below 2^-14: subnormal */
        /* value / 2^-24, rounded to nearest even, as an integer mantissa */
        float a;
        memcpy(&a, &ax, 4);
        float scaled = a * 16777216.0f;                              /* exact: power of two */
        float r = nearbyintf(scaled);                                /* default mode: ties to even */
        return sign | (uint16_t)r;
    }
    uint32_t exp = (ax >> 23) - 127 + 15, man = ax & 0x7fffffu;
    uint32_t h = (exp << 10) | (man >> 13);
    uint32_t rest = man & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;        /* carries into exp correctly */
    return sign | (uint16_t)h;
}
