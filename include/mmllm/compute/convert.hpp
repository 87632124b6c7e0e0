// mmllm/compute/convert.hpp — f32 ↔ f16 / bf16 row conversions (F16C, AVX-512, portable).
//
// Bit-exact with core's scalar `to_f16` / `to_bf16` / `to_f32` at every level (round to
// nearest even; NaN stays NaN). Use through a compute policy's `convert`, or call
// `detail::convert_row(level, ...)` directly.
#pragma once

#include <cstddef>

#include "../core/bf16.hpp"
#include "../core/f16.hpp"
#include "isa.hpp"
#include "simd_math.hpp"

MMLLM_KERNELS_BEGIN
namespace mmllm::compute::detail {

// ---- generic ---------------------------------------------------------------------------
inline void f32_to_f16_generic(const float* x, f16* y, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] = to_f16(x[i]);
}
inline void f16_to_f32_generic(const f16* x, float* y, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] = to_f32(x[i]);
}
inline void f32_to_bf16_generic(const float* x, bf16* y, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] = to_bf16(x[i]);
}
inline void bf16_to_f32_generic(const bf16* x, float* y, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] = to_f32(x[i]);
}

#if MMLLM_HAVE_X86_KERNELS
// ---- avx2 (F16C) -------------------------------------------------------------------------
MMLLM_TARGET_AVX2 inline void f32_to_f16_avx2(const float* x, f16* y, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), h);
  }
  for (; i < n; ++i) y[i] = to_f16(x[i]);
}
MMLLM_TARGET_AVX2 inline void f16_to_f32_avx2(const f16* x, float* y, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
  for (; i < n; ++i) y[i] = to_f32(x[i]);
}
MMLLM_TARGET_AVX2 inline void f32_to_bf16_avx2(const float* x, bf16* y, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), to_bf16_avx2(_mm256_loadu_ps(x + i)));
  for (; i < n; ++i) y[i] = to_bf16(x[i]);
}
MMLLM_TARGET_AVX2 inline void bf16_to_f32_avx2(const bf16* x, float* y, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, from_bf16_avx2(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
  for (; i < n; ++i) y[i] = to_f32(x[i]);
}

// ---- avx512 ------------------------------------------------------------------------------
MMLLM_TARGET_AVX512 inline void f32_to_f16_avx512(const float* x, f16* y, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), h);
  }
  if (i < n) {
    const __mmask16 m = tail_mask_avx512(n - i);
    const __m256i h =
        _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_mask_storeu_epi16(y + i, m, h);
  }
}
MMLLM_TARGET_AVX512 inline void f16_to_f32_avx512(const f16* x, float* y, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i))));
  if (i < n) {
    const __mmask16 m = tail_mask_avx512(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i)));
  }
}
MMLLM_TARGET_AVX512 inline void f32_to_bf16_avx512(const float* x, bf16* y, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), to_bf16_avx512(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = tail_mask_avx512(n - i);
    _mm256_mask_storeu_epi16(y + i, m, to_bf16_avx512(_mm512_maskz_loadu_ps(m, x + i)));
  }
}
MMLLM_TARGET_AVX512 inline void bf16_to_f32_avx512(const bf16* x, float* y, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, from_bf16_avx512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i))));
  if (i < n) {
    const __mmask16 m = tail_mask_avx512(n - i);
    _mm512_mask_storeu_ps(y + i, m, from_bf16_avx512(_mm256_maskz_loadu_epi16(m, x + i)));
  }
}
#endif

// ---- dispatch ------------------------------------------------------------------------------
inline void convert_row(isa level, const float* x, f16* y, std::size_t n) noexcept {
#if MMLLM_HAVE_X86_KERNELS
  if (level == isa::avx512) return f32_to_f16_avx512(x, y, n);
  if (level == isa::avx2) return f32_to_f16_avx2(x, y, n);
#endif
  (void)level;
  f32_to_f16_generic(x, y, n);
}
inline void convert_row(isa level, const f16* x, float* y, std::size_t n) noexcept {
#if MMLLM_HAVE_X86_KERNELS
  if (level == isa::avx512) return f16_to_f32_avx512(x, y, n);
  if (level == isa::avx2) return f16_to_f32_avx2(x, y, n);
#endif
  (void)level;
  f16_to_f32_generic(x, y, n);
}
inline void convert_row(isa level, const float* x, bf16* y, std::size_t n) noexcept {
#if MMLLM_HAVE_X86_KERNELS
  if (level == isa::avx512) return f32_to_bf16_avx512(x, y, n);
  if (level == isa::avx2) return f32_to_bf16_avx2(x, y, n);
#endif
  (void)level;
  f32_to_bf16_generic(x, y, n);
}
inline void convert_row(isa level, const bf16* x, float* y, std::size_t n) noexcept {
#if MMLLM_HAVE_X86_KERNELS
  if (level == isa::avx512) return bf16_to_f32_avx512(x, y, n);
  if (level == isa::avx2) return bf16_to_f32_avx2(x, y, n);
#endif
  (void)level;
  bf16_to_f32_generic(x, y, n);
}

}  // namespace mmllm::compute::detail
MMLLM_KERNELS_END
