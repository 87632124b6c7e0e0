// mmllm/compute/norm.hpp — RMSNorm and LayerNorm of one row, for every level.
//
//   rmsnorm:   y = x · 1/sqrt(mean(x²) + eps) [· w]
//   layernorm: y = (x − mean(x)) · 1/sqrt(mean((x − mean)²) + eps) [· w] [+ b]
// (ggml's rms_norm / norm followed by the usual mul / add; population variance.) Sums are
// accumulated in several f32 vector lanes and finished in double; `w` / `b` may be null.
#pragma once

#include <cmath>
#include <cstddef>

#include "isa.hpp"
#include "simd_math.hpp"

MMLLM_KERNELS_BEGIN
namespace mmllm::compute::detail {

// ---- generic -------------------------------------------------------------------------------
inline double sum_sq_generic(const float* x, std::size_t n, float center) noexcept {
  gbatch acc0(0.0f), acc1(0.0f);
  const gbatch c(center);
  std::size_t i = 0;
  for (; i + 2 * glanes <= n; i += 2 * glanes) {
    const gbatch d0 = gbatch::load_unaligned(x + i) - c, d1 = gbatch::load_unaligned(x + i + glanes) - c;
    acc0 = xsimd::fma(d0, d0, acc0);
    acc1 = xsimd::fma(d1, d1, acc1);
  }
  double s = static_cast<double>(xsimd::hadd(acc0 + acc1));
  for (; i < n; ++i) {
    const float d = x[i] - center;
    s += static_cast<double>(d * d);
  }
  return s;
}

inline double sum_generic(const float* x, std::size_t n) noexcept {
  gbatch acc0(0.0f), acc1(0.0f);
  std::size_t i = 0;
  for (; i + 2 * glanes <= n; i += 2 * glanes) {
    acc0 += gbatch::load_unaligned(x + i);
    acc1 += gbatch::load_unaligned(x + i + glanes);
  }
  double s = static_cast<double>(xsimd::hadd(acc0 + acc1));
  for (; i < n; ++i) s += static_cast<double>(x[i]);
  return s;
}

/// y = (x − center)·scale [· w] [+ b]
inline void norm_apply_generic(const float* x, float* y, std::size_t n, float center, float scale,
                               const float* w, const float* b) noexcept {
  const gbatch c(center), s(scale);
  std::size_t i = 0;
  for (; i + glanes <= n; i += glanes) {
    gbatch v = (gbatch::load_unaligned(x + i) - c) * s;
    if (w != nullptr) v *= gbatch::load_unaligned(w + i);
    if (b != nullptr) v += gbatch::load_unaligned(b + i);
    v.store_unaligned(y + i);
  }
  for (; i < n; ++i) {
    float v = (x[i] - center) * scale;
    if (w != nullptr) v *= w[i];
    if (b != nullptr) v += b[i];
    y[i] = v;
  }
}

#if MMLLM_HAVE_X86_KERNELS
// ---- avx2 ------------------------------------------------------------------------------------
MMLLM_TARGET_AVX2 inline double sum_sq_avx2(const float* x, std::size_t n, float center) noexcept {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  const __m256 c = _mm256_set1_ps(center);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), c),
                 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), c);
    acc0 = _mm256_fmadd_ps(d0, d0, acc0);
    acc1 = _mm256_fmadd_ps(d1, d1, acc1);
  }
  if (i + 8 <= n) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), c);
    acc0 = _mm256_fmadd_ps(d0, d0, acc0);
    i += 8;
  }
  if (i < n) {
    const __m256i m = tail_mask_avx2(n - i);
    const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), c), _mm256_castsi256_ps(m));
    acc1 = _mm256_fmadd_ps(d, d, acc1);
  }
  return static_cast<double>(hsum_avx2(_mm256_add_ps(acc0, acc1)));
}

MMLLM_TARGET_AVX2 inline double sum_avx2(const float* x, std::size_t n) noexcept {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_add_ps(acc0, _mm256_loadu_ps(x + i));
    acc1 = _mm256_add_ps(acc1, _mm256_loadu_ps(x + i + 8));
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_add_ps(acc0, _mm256_loadu_ps(x + i));
  if (i < n) acc1 = _mm256_add_ps(acc1, _mm256_maskload_ps(x + i, tail_mask_avx2(n - i)));
  return static_cast<double>(hsum_avx2(_mm256_add_ps(acc0, acc1)));
}

MMLLM_TARGET_AVX2 inline __m256 norm_elem_avx2(__m256 v, __m256 c, __m256 s, const float* w, const float* b,
                                               std::size_t i, __m256i m, bool masked) noexcept {
  v = _mm256_mul_ps(_mm256_sub_ps(v, c), s);
  if (w != nullptr) v = _mm256_mul_ps(v, masked ? _mm256_maskload_ps(w + i, m) : _mm256_loadu_ps(w + i));
  if (b != nullptr) v = _mm256_add_ps(v, masked ? _mm256_maskload_ps(b + i, m) : _mm256_loadu_ps(b + i));
  return v;
}

MMLLM_TARGET_AVX2 inline void norm_apply_avx2(const float* x, float* y, std::size_t n, float center,
                                              float scale, const float* w, const float* b) noexcept {
  const __m256 c = _mm256_set1_ps(center), s = _mm256_set1_ps(scale);
  const __m256i all = _mm256_set1_epi32(-1);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, norm_elem_avx2(_mm256_loadu_ps(x + i), c, s, w, b, i, all, false));
  if (i < n) {
    const __m256i m = tail_mask_avx2(n - i);
    _mm256_maskstore_ps(y + i, m, norm_elem_avx2(_mm256_maskload_ps(x + i, m), c, s, w, b, i, m, true));
  }
}

// ---- avx512 ----------------------------------------------------------------------------------
MMLLM_TARGET_AVX512 inline double sum_sq_avx512(const float* x, std::size_t n, float center) noexcept {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  const __m512 c = _mm512_set1_ps(center);
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(x + i), c),
                 d1 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 16), c);
    acc0 = _mm512_fmadd_ps(d0, d0, acc0);
    acc1 = _mm512_fmadd_ps(d1, d1, acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = tail_mask_avx512(n - i < 16 ? n - i : 16);
    const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, x + i), c);
    acc0 = _mm512_fmadd_ps(d, d, acc0);
  }
  return static_cast<double>(_mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)));
}

MMLLM_TARGET_AVX512 inline double sum_avx512(const float* x, std::size_t n) noexcept {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_add_ps(acc0, _mm512_loadu_ps(x + i));
    acc1 = _mm512_add_ps(acc1, _mm512_loadu_ps(x + i + 16));
  }
  for (; i < n; i += 16)
    acc0 = _mm512_add_ps(acc0, _mm512_maskz_loadu_ps(tail_mask_avx512(n - i < 16 ? n - i : 16), x + i));
  return static_cast<double>(_mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)));
}

MMLLM_TARGET_AVX512 inline void norm_apply_avx512(const float* x, float* y, std::size_t n, float center,
                                                  float scale, const float* w, const float* b) noexcept {
  const __m512 c = _mm512_set1_ps(center), s = _mm512_set1_ps(scale);
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask_avx512(n - i < 16 ? n - i : 16);
    __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), c), s);
    if (w != nullptr) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, w + i));
    if (b != nullptr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, b + i));
    _mm512_mask_storeu_ps(y + i, m, v);
  }
}
#endif

// ---- dispatch ----------------------------------------------------------------------------------
inline double sum_sq(isa level, const float* x, std::size_t n, float center) noexcept {
#if MMLLM_HAVE_X86_KERNELS
  if (level == isa::avx512) return sum_sq_avx512(x, n, center);
  if (level == isa::avx2) return sum_sq_avx2(x, n, center);
#endif
  (void)level;
  return sum_sq_generic(x, n, center);
}

inline double sum(isa level, const float* x, std::size_t n) noexcept {
#if MMLLM_HAVE_X86_KERNELS
  if (level == isa::avx512) return sum_avx512(x, n);
  if (level == isa::avx2) return sum_avx2(x, n);
#endif
  (void)level;
  return sum_generic(x, n);
}

inline void norm_apply(isa level, const float* x, float* y, std::size_t n, float center, float scale,
                       const float* w, const float* b) noexcept {
#if MMLLM_HAVE_X86_KERNELS
  if (level == isa::avx512) return norm_apply_avx512(x, y, n, center, scale, w, b);
  if (level == isa::avx2) return norm_apply_avx2(x, y, n, center, scale, w, b);
#endif
  (void)level;
  norm_apply_generic(x, y, n, center, scale, w, b);
}

/// One row of RMSNorm (w may be null). y may equal x.
inline void rmsnorm_row(isa level, const float* x, float* y, std::size_t n, float eps,
                        const float* w) noexcept {
  if (n == 0) return;
  const auto mean = static_cast<float>(sum_sq(level, x, n, 0.0f) / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  norm_apply(level, x, y, n, 0.0f, scale, w, nullptr);
}

/// One row of LayerNorm (w, b may be null). y may equal x.
inline void layernorm_row(isa level, const float* x, float* y, std::size_t n, float eps, const float* w,
                          const float* b) noexcept {
  if (n == 0) return;
  const auto mean = static_cast<float>(sum(level, x, n) / static_cast<double>(n));
  const auto var = static_cast<float>(sum_sq(level, x, n, mean) / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(var + eps);
  norm_apply(level, x, y, n, mean, scale, w, b);
}

}  // namespace mmllm::compute::detail
MMLLM_KERNELS_END
