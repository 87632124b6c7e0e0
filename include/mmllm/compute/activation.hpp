// mmllm/compute/activation.hpp — silu, gelu (tanh), gelu_quick, gelu_erf, swiglu, and the
// peer's fp16-table GELU variants, for every level.
//
// Formulas (x a float, results within a few ulp of the exact function):
//   silu(x)       = x / (1 + e^−x)
//   gelu(x)       = 0.5·x·(1 + tanh(u)) = x / (1 + e^−2u),  u = √(2/π)·(x + 0.044715·x³)
//   gelu_quick(x) = x / (1 + e^−1.702x)
//   gelu_erf(x)   = 0.5·x·(1 + erf(x/√2)), computed through erfc so that negative x keeps
//                   its relative accuracy
//   swiglu(a, b)  = silu(a)·b
// The peer-table variants are in the "peer quirk" section at the end.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "../core/f16.hpp"
#include "isa.hpp"
#include "simd_math.hpp"

MMLLM_KERNELS_BEGIN
namespace mmllm::compute::detail {

struct silu_op {
  gbatch generic(gbatch x) const noexcept { return x / (gbatch(1.0f) + exp_generic(-x)); }
#if MMLLM_HAVE_X86_KERNELS
  MMLLM_TARGET_AVX2 __m256 avx2(__m256 x) const noexcept {
    const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
  }
  MMLLM_TARGET_AVX512 __m512 avx512(__m512 x) const noexcept {
    const __m512 e = exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), x));
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
  }
#endif
};

struct gelu_op {
  gbatch generic(gbatch x) const noexcept {
    const gbatch u = gbatch(sqrt_2_over_pi) * x * xsimd::fma(gbatch(gelu_coef_a) * x, x, gbatch(1.0f));
    return x / (gbatch(1.0f) + exp_generic(gbatch(-2.0f) * u));
  }
#if MMLLM_HAVE_X86_KERNELS
  MMLLM_TARGET_AVX2 __m256 avx2(__m256 x) const noexcept {
    const __m256 inner =
        _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(gelu_coef_a), x), x, _mm256_set1_ps(1.0f));
    const __m256 m2u = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(-2.0f * sqrt_2_over_pi), x), inner);
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), exp_avx2(m2u)));
  }
  MMLLM_TARGET_AVX512 __m512 avx512(__m512 x) const noexcept {
    const __m512 inner =
        _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(gelu_coef_a), x), x, _mm512_set1_ps(1.0f));
    const __m512 m2u = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(-2.0f * sqrt_2_over_pi), x), inner);
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), exp_avx512(m2u)));
  }
#endif
};

struct gelu_quick_op {
  gbatch generic(gbatch x) const noexcept {
    return x / (gbatch(1.0f) + exp_generic(gbatch(-gelu_quick_coef) * x));
  }
#if MMLLM_HAVE_X86_KERNELS
  MMLLM_TARGET_AVX2 __m256 avx2(__m256 x) const noexcept {
    const __m256 e = exp_avx2(_mm256_mul_ps(_mm256_set1_ps(-gelu_quick_coef), x));
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
  }
  MMLLM_TARGET_AVX512 __m512 avx512(__m512 x) const noexcept {
    const __m512 e = exp_avx512(_mm512_mul_ps(_mm512_set1_ps(-gelu_quick_coef), x));
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
  }
#endif
};

/// h = 0.5·x·erfc(|x|/√2); gelu_erf(x) = x − h for x ≥ 0, h for x < 0.
struct gelu_erf_op {
  gbatch generic(gbatch x) const noexcept {
    const gbatch h = gbatch(0.5f) * x * erfc_pos_generic(xsimd::abs(x) * gbatch(sqrt_half));
    return xsimd::select(x >= gbatch(0.0f), x - h, h);
  }
#if MMLLM_HAVE_X86_KERNELS
  MMLLM_TARGET_AVX2 __m256 avx2(__m256 x) const noexcept {
    const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    const __m256 h = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x),
                                   erfc_pos_avx2(_mm256_mul_ps(ax, _mm256_set1_ps(sqrt_half))));
    return _mm256_blendv_ps(h, _mm256_sub_ps(x, h), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
  }
  MMLLM_TARGET_AVX512 __m512 avx512(__m512 x) const noexcept {
    const __m512 ax = _mm512_abs_ps(x);
    const __m512 h = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x),
                                   erfc_pos_avx512(_mm512_mul_ps(ax, _mm512_set1_ps(sqrt_half))));
    return _mm512_mask_sub_ps(h, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ), x, h);
  }
#endif
};

/// silu(a)·b
struct swiglu_op {
  gbatch generic(gbatch a, gbatch b) const noexcept { return silu_op{}.generic(a) * b; }
#if MMLLM_HAVE_X86_KERNELS
  MMLLM_TARGET_AVX2 __m256 avx2(__m256 a, __m256 b) const noexcept {
    return _mm256_mul_ps(silu_op{}.avx2(a), b);
  }
  MMLLM_TARGET_AVX512 __m512 avx512(__m512 a, __m512 b) const noexcept {
    return _mm512_mul_ps(silu_op{}.avx512(a), b);
  }
#endif
};

// =========================================================================================
// Peer quirk: llama.cpp's fp16 lookup-table GELU and quick-GELU.
//
// ggml's CPU backend (GGML_GELU_FP16 / GGML_GELU_QUICK_FP16, ggml-cpu/vec.h) does not
// evaluate GELU in f32: it rounds x to f16 and returns an f16 value from a 65536-entry
// table, table[h] = f16(gelu_f32(f32(h))), with gelu_f32 evaluated in float as
// 0.5f·x·(1 + tanhf(√(2/π)·x·(1 + 0.044715·x²))). GELU additionally returns x for
// x ≥ 10 and 0 for x ≤ −10 (before any rounding); quick-GELU has no such cut-offs and its
// table holds f16(x·(1/(1 + expf(−1.702·x)))). Vision encoders (CLIP/SigLIP, projectors)
// run through these functions in the peer, so mmllm offers them to reproduce its outputs.
// The tables here hold the f16 values widened to float (exact), 256 KiB each, built once.
// =========================================================================================

// One operation per statement: no compiler may fuse them into FMAs, so the tables are the
// same whatever the flags of the translation unit that builds them.

/// The peer's GELU in float, the value its table is filled from.
inline float peer_gelu_f32(float x) noexcept {
  const float x2 = gelu_coef_a * x;
  const float x3 = x2 * x;
  const float inner = 1.0f + x3;
  const float u0 = sqrt_2_over_pi * x;
  const float u = u0 * inner;
  const float t = 1.0f + std::tanh(u);
  const float h = 0.5f * x;
  return h * t;
}

/// The peer's quick-GELU in float, the value its table is filled from.
inline float peer_gelu_quick_f32(float x) noexcept {
  const float e = std::exp(-gelu_quick_coef * x);
  const float d = 1.0f + e;
  const float r = 1.0f / d;
  return x * r;
}

/// Both peer tables, indexed by the f16 bit pattern of the rounded input.
struct peer_gelu_tables {
  static constexpr std::size_t size = 1u << 16;
  float gelu[size];
  float gelu_quick[size];

  peer_gelu_tables() noexcept {
    for (std::size_t i = 0; i < size; ++i) {
      const float x = to_f32(f16::from_bits(static_cast<std::uint16_t>(i)));
      gelu[i] = to_f32(to_f16(peer_gelu_f32(x)));
      gelu_quick[i] = to_f32(to_f16(peer_gelu_quick_f32(x)));
    }
  }
};

/// The tables (built on first use; immutable afterwards).
inline const peer_gelu_tables& peer_gelu_f16_tables() noexcept {
  static const peer_gelu_tables tables;
  return tables;
}

inline void gelu_f16_table_generic(const float* x, float* y, std::size_t n) noexcept {
  const float* t = peer_gelu_f16_tables().gelu;
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = v <= -10.0f ? 0.0f : v >= 10.0f ? v : t[to_f16(v).bits];
  }
}

inline void gelu_quick_f16_table_generic(const float* x, float* y, std::size_t n) noexcept {
  const float* t = peer_gelu_f16_tables().gelu_quick;
  for (std::size_t i = 0; i < n; ++i) y[i] = t[to_f16(x[i]).bits];
}

#if MMLLM_HAVE_X86_KERNELS
MMLLM_TARGET_AVX2 inline __m256 f16_table_lookup_avx2(const float* table, __m256 x) noexcept {
  const __m128i h = _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return _mm256_i32gather_ps(table, _mm256_cvtepu16_epi32(h), 4);
}

MMLLM_TARGET_AVX2 inline void gelu_f16_table_avx2(const float* x, float* y, std::size_t n) noexcept {
  const float* t = peer_gelu_f16_tables().gelu;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    __m256 r = f16_table_lookup_avx2(t, v);
    r = _mm256_blendv_ps(r, v, _mm256_cmp_ps(v, _mm256_set1_ps(10.0f), _CMP_GE_OQ));
    r = _mm256_blendv_ps(r, _mm256_setzero_ps(), _mm256_cmp_ps(v, _mm256_set1_ps(-10.0f), _CMP_LE_OQ));
    _mm256_storeu_ps(y + i, r);
  }
  gelu_f16_table_generic(x + i, y + i, n - i);
}

MMLLM_TARGET_AVX2 inline void gelu_quick_f16_table_avx2(const float* x, float* y, std::size_t n) noexcept {
  const float* t = peer_gelu_f16_tables().gelu_quick;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f16_table_lookup_avx2(t, _mm256_loadu_ps(x + i)));
  gelu_quick_f16_table_generic(x + i, y + i, n - i);
}

MMLLM_TARGET_AVX512 inline __m512 f16_table_lookup_avx512(const float* table, __m512 x) noexcept {
  const __m256i h = _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return _mm512_i32gather_ps(_mm512_cvtepu16_epi32(h), table, 4);
}

MMLLM_TARGET_AVX512 inline void gelu_f16_table_avx512(const float* x, float* y, std::size_t n) noexcept {
  const float* t = peer_gelu_f16_tables().gelu;
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    __m512 r = f16_table_lookup_avx512(t, v);
    r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(v, _mm512_set1_ps(10.0f), _CMP_GE_OQ), v);
    r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(v, _mm512_set1_ps(-10.0f), _CMP_LE_OQ), _mm512_setzero_ps());
    _mm512_storeu_ps(y + i, r);
  }
  gelu_f16_table_generic(x + i, y + i, n - i);
}

MMLLM_TARGET_AVX512 inline void gelu_quick_f16_table_avx512(const float* x, float* y,
                                                            std::size_t n) noexcept {
  const float* t = peer_gelu_f16_tables().gelu_quick;
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, f16_table_lookup_avx512(t, _mm512_loadu_ps(x + i)));
  gelu_quick_f16_table_generic(x + i, y + i, n - i);
}
#endif

inline void gelu_f16_table_row(isa level, const float* x, float* y, std::size_t n) noexcept {
#if MMLLM_HAVE_X86_KERNELS
  if (level == isa::avx512) return gelu_f16_table_avx512(x, y, n);
  if (level == isa::avx2) return gelu_f16_table_avx2(x, y, n);
#endif
  (void)level;
  gelu_f16_table_generic(x, y, n);
}

inline void gelu_quick_f16_table_row(isa level, const float* x, float* y, std::size_t n) noexcept {
#if MMLLM_HAVE_X86_KERNELS
  if (level == isa::avx512) return gelu_quick_f16_table_avx512(x, y, n);
  if (level == isa::avx2) return gelu_quick_f16_table_avx2(x, y, n);
#endif
  (void)level;
  gelu_quick_f16_table_generic(x, y, n);
}

}  // namespace mmllm::compute::detail
MMLLM_KERNELS_END
