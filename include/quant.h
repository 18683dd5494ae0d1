/* quant.h: ggml block formats to fp32 and back (FORMATS.md section 2). */
#pragma once
#include <stdint.h>

/* Dequantize n elements (a multiple of the type's block size) of one row. The type must be
 * readable (ggml_type_info(type)->readable). */
void dequantize_row(uint32_t type, const void *src, float *dst, int64_t n);
/* Encode n fp32 values as F32, F16, BF16 or Q8_0 (ggml's reference rounding). */
void quantize_row(uint32_t type, const float *src, void *dst, int64_t n);
