// mmllm/compute/simd_math.hpp — vector building blocks shared by the SIMD kernels.
//
// Per level: exp (Cephes-style polynomial, ≤ 2 ulp over the normal range), erfc for
// z ≥ 0 (Chebyshev fit with relative error < 1.2e-7, evaluated in float), horizontal sums,
// f16 / bf16 conversions, and `map_*` loops that apply an element-wise operation with
// masked tails. `generic` uses xsimd at the compile-time architecture; `avx2` / `avx512`
// use intrinsics inside MMLLM_TARGET_* functions (xsimd's types follow compile-time flags,
// so they cannot be used there). Internal: everything is in mmllm::compute::detail.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <xsimd/xsimd.hpp>

#include "../core/bf16.hpp"
#include "../core/f16.hpp"
#include "isa.hpp"

#if MMLLM_HAVE_X86_KERNELS
#include <immintrin.h>
#endif

MMLLM_KERNELS_BEGIN
namespace mmllm::compute::detail {

// Shared constants (Cephes expf: ln 2 split in two, and the polynomial of e^r on |r| ≤ ln2/2).
inline constexpr float exp_hi = 89.0f;    // e^89 overflows float → +inf
inline constexpr float exp_lo = -104.0f;  // e^-104 is below the smallest subnormal → 0
inline constexpr float log2e = 1.44269504088896341f;
inline constexpr float ln2_hi = 0.693359375f;
inline constexpr float ln2_lo = -2.12194440e-4f;
inline constexpr float exp_p0 = 1.9875691500e-4f;
inline constexpr float exp_p1 = 1.3981999507e-3f;
inline constexpr float exp_p2 = 8.3334519073e-3f;
inline constexpr float exp_p3 = 4.1665795894e-2f;
inline constexpr float exp_p4 = 1.6666665459e-1f;
inline constexpr float exp_p5 = 5.0000001201e-1f;
// erfc(z) = t·exp(−z² + P(t)), t = 1/(1 + z/2), z ≥ 0 (Numerical Recipes' erfcc Chebyshev fit).
inline constexpr float erfc_c[10] = {-1.26551223f, 1.00002368f,  0.37409196f, 0.09678418f,  -0.18628806f,
                                     0.27886807f,  -1.13520398f, 1.48851587f, -0.82215223f, 0.17087277f};
inline constexpr float gelu_coef_a = 0.044715f;
inline constexpr float sqrt_2_over_pi = 0.79788456080286535587989211986876f;
inline constexpr float sqrt_half = 0.70710678118654752440084436210484f;
inline constexpr float gelu_quick_coef = 1.702f;

// ---------------------------------------------------------------------------------------
// generic (xsimd at the compile-time architecture)
// ---------------------------------------------------------------------------------------
using gbatch = xsimd::batch<float>;
inline constexpr std::size_t glanes = gbatch::size;

inline gbatch exp_generic(gbatch x) noexcept { return xsimd::exp(x); }

/// erfc(z) for z ≥ 0.
inline gbatch erfc_pos_generic(gbatch z) noexcept {
  const gbatch t = gbatch(1.0f) / xsimd::fma(gbatch(0.5f), z, gbatch(1.0f));
  gbatch p(erfc_c[9]);
  for (int i = 8; i >= 0; --i) p = xsimd::fma(p, t, gbatch(erfc_c[i]));
  return t * xsimd::exp(xsimd::fnma(z, z, p));
}

/// Applies op.generic(gbatch) to n floats (the tail goes through a padded copy, so every
/// element sees the same arithmetic).
template <class Op>
inline void map_generic(const Op& op, const float* x, float* y, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + glanes <= n; i += glanes) op.generic(gbatch::load_unaligned(x + i)).store_unaligned(y + i);
  if (i < n) {
    alignas(64) float tmp[glanes] = {};
    std::memcpy(tmp, x + i, (n - i) * sizeof(float));
    op.generic(gbatch::load_aligned(tmp)).store_aligned(tmp);
    std::memcpy(y + i, tmp, (n - i) * sizeof(float));
  }
}

/// y = op.generic(a, b) for n floats.
template <class Op>
inline void map2_generic(const Op& op, const float* a, const float* b, float* y, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + glanes <= n; i += glanes)
    op.generic(gbatch::load_unaligned(a + i), gbatch::load_unaligned(b + i)).store_unaligned(y + i);
  if (i < n) {
    alignas(64) float ta[glanes] = {}, tb[glanes] = {};
    std::memcpy(ta, a + i, (n - i) * sizeof(float));
    std::memcpy(tb, b + i, (n - i) * sizeof(float));
    op.generic(gbatch::load_aligned(ta), gbatch::load_aligned(tb)).store_aligned(ta);
    std::memcpy(y + i, ta, (n - i) * sizeof(float));
  }
}

#if MMLLM_HAVE_X86_KERNELS
// ---------------------------------------------------------------------------------------
// avx2 (+ FMA, F16C)
// ---------------------------------------------------------------------------------------
MMLLM_TARGET_AVX2 inline __m256 exp_avx2(__m256 x) noexcept {
  // max/min return their second operand when one is NaN: NaN propagates.
  x = _mm256_min_ps(_mm256_set1_ps(exp_hi), _mm256_max_ps(_mm256_set1_ps(exp_lo), x));
  const __m256 n =
      _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(log2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(ln2_hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(ln2_lo), r);
  __m256 p = _mm256_set1_ps(exp_p0);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_p1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_p2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_p3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_p4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_p5));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n as two normal powers of two (n ∈ [−150, 129]) so that subnormal and overflowing
  // results come out of the multiplications correctly.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  const __m256i n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/// erfc(z) for z ≥ 0.
MMLLM_TARGET_AVX2 inline __m256 erfc_pos_avx2(__m256 z) noexcept {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.5f), z, one));
  __m256 p = _mm256_set1_ps(erfc_c[9]);
  for (int i = 8; i >= 0; --i) p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(erfc_c[i]));
  return _mm256_mul_ps(t, exp_avx2(_mm256_fnmadd_ps(z, z, p)));
}

MMLLM_TARGET_AVX2 inline float hsum_avx2(__m256 v) noexcept {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

MMLLM_TARGET_AVX2 inline float hmax_avx2(__m256 v) noexcept {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// Lane mask selecting the first `n` (< 8) of 8 lanes, for maskload/maskstore.
MMLLM_TARGET_AVX2 inline __m256i tail_mask_avx2(std::size_t n) noexcept {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <class Op>
MMLLM_TARGET_AVX2 inline void map_avx2(const Op& op, const float* x, float* y, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, op.avx2(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = tail_mask_avx2(n - i);
    _mm256_maskstore_ps(y + i, m, op.avx2(_mm256_maskload_ps(x + i, m)));
  }
}

template <class Op>
MMLLM_TARGET_AVX2 inline void map2_avx2(const Op& op, const float* a, const float* b, float* y,
                                        std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, op.avx2(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  if (i < n) {
    const __m256i m = tail_mask_avx2(n - i);
    _mm256_maskstore_ps(y + i, m, op.avx2(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m)));
  }
}

/// 8 floats → 8 bf16 (round to nearest even, NaN made quiet), as core's to_bf16.
MMLLM_TARGET_AVX2 inline __m128i to_bf16_avx2(__m256 v) noexcept {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i rounded =
      _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb), 16);
  const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  const __m256i is_nan =
      _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
  const __m256i r = _mm256_blendv_epi8(rounded, quiet, is_nan);
  // pack the low 16 bits of each 32-bit lane (all values < 2^16, so unsigned saturation is exact)
  const __m256i packed = _mm256_packus_epi32(r, r);
  return _mm256_castsi256_si128(_mm256_permute4x64_epi64(packed, 0x08));
}

MMLLM_TARGET_AVX2 inline __m256 from_bf16_avx2(__m128i h) noexcept {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// ---------------------------------------------------------------------------------------
// avx512 (F, BW, DQ, VL)
// ---------------------------------------------------------------------------------------
MMLLM_TARGET_AVX512 inline __m512 exp_avx512(__m512 x) noexcept {
  x = _mm512_min_ps(_mm512_set1_ps(exp_hi), _mm512_max_ps(_mm512_set1_ps(exp_lo), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(log2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(ln2_hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(ln2_lo), r);
  __m512 p = _mm512_set1_ps(exp_p0);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_p1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_p2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_p3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_p4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_p5));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);  // p·2^n with correct overflow / subnormal results
}

/// erfc(z) for z ≥ 0.
MMLLM_TARGET_AVX512 inline __m512 erfc_pos_avx512(__m512 z) noexcept {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(0.5f), z, one));
  __m512 p = _mm512_set1_ps(erfc_c[9]);
  for (int i = 8; i >= 0; --i) p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(erfc_c[i]));
  return _mm512_mul_ps(t, exp_avx512(_mm512_fnmadd_ps(z, z, p)));
}

/// Mask of the first `n` (≤ 16) lanes.
MMLLM_TARGET_AVX512 inline __mmask16 tail_mask_avx512(std::size_t n) noexcept {
  return static_cast<__mmask16>((1u << n) - 1u);
}

template <class Op>
MMLLM_TARGET_AVX512 inline void map_avx512(const Op& op, const float* x, float* y, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, op.avx512(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = tail_mask_avx512(n - i);
    _mm512_mask_storeu_ps(y + i, m, op.avx512(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

template <class Op>
MMLLM_TARGET_AVX512 inline void map2_avx512(const Op& op, const float* a, const float* b, float* y,
                                            std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, op.avx512(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
  if (i < n) {
    const __mmask16 m = tail_mask_avx512(n - i);
    _mm512_mask_storeu_ps(y + i, m,
                          op.avx512(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
  }
}

/// 16 floats → 16 bf16 (round to nearest even, NaN made quiet), as core's to_bf16.
MMLLM_TARGET_AVX512 inline __m256i to_bf16_avx512(__m512 v) noexcept {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i rounded =
      _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), 16);
  const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
  const __mmask16 is_nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                                   _mm512_set1_epi32(0x7f800000));
  return _mm512_cvtepi32_epi16(_mm512_mask_mov_epi32(rounded, is_nan, quiet));
}

MMLLM_TARGET_AVX512 inline __m512 from_bf16_avx512(__m256i h) noexcept {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
#endif  // MMLLM_HAVE_X86_KERNELS

// ---- dispatch of element-wise maps ------------------------------------------------------------
/// y[i] = op(x[i]) at `level` (op provides generic / avx2 / avx512 members).
template <class Op>
inline void map(isa level, const Op& op, const float* x, float* y, std::size_t n) noexcept {
#if MMLLM_HAVE_X86_KERNELS
  if (level == isa::avx512) return map_avx512(op, x, y, n);
  if (level == isa::avx2) return map_avx2(op, x, y, n);
#endif
  (void)level;
  map_generic(op, x, y, n);
}

/// y[i] = op(a[i], b[i]) at `level`.
template <class Op>
inline void map2(isa level, const Op& op, const float* a, const float* b, float* y, std::size_t n) noexcept {
#if MMLLM_HAVE_X86_KERNELS
  if (level == isa::avx512) return map2_avx512(op, a, b, y, n);
  if (level == isa::avx2) return map2_avx2(op, a, b, y, n);
#endif
  (void)level;
  map2_generic(op, a, b, y, n);
}

}  // namespace mmllm::compute::detail
MMLLM_KERNELS_END
