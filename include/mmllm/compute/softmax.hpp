// mmllm/compute/softmax.hpp — numerically stable row softmax with scale and additive mask.
//
//   y = exp(t − max t) / Σ exp(t − max t),   t = x·scale + mask   (mask may be null)
// as ggml's soft_max_ext (without ALiBi or sinks). A row whose every t is −inf (fully
// masked) gives all zeros, where the peer would produce NaN. y may equal x.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

#include "isa.hpp"
#include "simd_math.hpp"

MMLLM_KERNELS_BEGIN
namespace mmllm::compute::detail {

inline void softmax_row_generic(const float* x, float* y, std::size_t n, float scale,
                                const float* mask) noexcept {
  float mx = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < n; ++i) {
    const float t = x[i] * scale + (mask != nullptr ? mask[i] : 0.0f);
    y[i] = t;
    mx = std::max(mx, t);
  }
  if (mx == -std::numeric_limits<float>::infinity()) {
    for (std::size_t i = 0; i < n; ++i) y[i] = 0.0f;
    return;
  }
  const gbatch m(mx);
  gbatch acc(0.0f);
  std::size_t i = 0;
  for (; i + glanes <= n; i += glanes) {
    const gbatch e = exp_generic(gbatch::load_unaligned(y + i) - m);
    e.store_unaligned(y + i);
    acc += e;
  }
  double s = static_cast<double>(xsimd::hadd(acc));
  if (i < n) {
    alignas(64) float tmp[glanes];
    for (std::size_t k = 0; k < glanes; ++k)
      tmp[k] = i + k < n ? y[i + k] : -std::numeric_limits<float>::infinity();
    (exp_generic(gbatch::load_aligned(tmp) - m)).store_aligned(tmp);
    for (std::size_t k = 0; i + k < n; ++k) {
      y[i + k] = tmp[k];
      s += static_cast<double>(tmp[k]);
    }
  }
  const auto inv = static_cast<float>(1.0 / s);
  const gbatch r(inv);
  for (i = 0; i + glanes <= n; i += glanes) (gbatch::load_unaligned(y + i) * r).store_unaligned(y + i);
  for (; i < n; ++i) y[i] *= inv;
}

#if MMLLM_HAVE_X86_KERNELS
MMLLM_TARGET_AVX2 inline void softmax_row_avx2(const float* x, float* y, std::size_t n, float scale,
                                               const float* mask) noexcept {
  const __m256 sc = _mm256_set1_ps(scale);
  const __m256 ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 vmax = ninf;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 t = _mm256_mul_ps(_mm256_loadu_ps(x + i), sc);
    if (mask != nullptr) t = _mm256_add_ps(t, _mm256_loadu_ps(mask + i));
    _mm256_storeu_ps(y + i, t);
    vmax = _mm256_max_ps(vmax, t);
  }
  float mx = hmax_avx2(vmax);
  for (; i < n; ++i) {
    const float t = x[i] * scale + (mask != nullptr ? mask[i] : 0.0f);
    y[i] = t;
    mx = std::max(mx, t);
  }
  if (mx == -std::numeric_limits<float>::infinity()) {
    for (i = 0; i < n; ++i) y[i] = 0.0f;
    return;
  }
  const __m256 m = _mm256_set1_ps(mx);
  __m256 acc = _mm256_setzero_ps();
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(y + i), m));
    _mm256_storeu_ps(y + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  if (i < n) {
    const __m256i msk = tail_mask_avx2(n - i);
    const __m256 v = _mm256_blendv_ps(ninf, _mm256_maskload_ps(y + i, msk), _mm256_castsi256_ps(msk));
    const __m256 e = exp_avx2(_mm256_sub_ps(v, m));
    _mm256_maskstore_ps(y + i, msk, e);
    acc = _mm256_add_ps(acc, e);
  }
  const auto inv = static_cast<float>(1.0 / static_cast<double>(hsum_avx2(acc)));
  const __m256 r = _mm256_set1_ps(inv);
  for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), r));
  for (; i < n; ++i) y[i] *= inv;
}

MMLLM_TARGET_AVX512 inline void softmax_row_avx512(const float* x, float* y, std::size_t n, float scale,
                                                   const float* mask) noexcept {
  const __m512 sc = _mm512_set1_ps(scale);
  const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __m512 vmax = ninf;
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask_avx512(n - i < 16 ? n - i : 16);
    __m512 t = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), sc);
    if (mask != nullptr) t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(k, mask + i));
    _mm512_mask_storeu_ps(y + i, k, t);
    vmax = _mm512_mask_max_ps(vmax, k, vmax, t);
  }
  const float mx = _mm512_reduce_max_ps(vmax);
  if (mx == -std::numeric_limits<float>::infinity()) {
    for (std::size_t i = 0; i < n; ++i) y[i] = 0.0f;
    return;
  }
  const __m512 m = _mm512_set1_ps(mx);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 e0 = exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(y + i), m));
    const __m512 e1 = exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(y + i + 16), m));
    _mm512_storeu_ps(y + i, e0);
    _mm512_storeu_ps(y + i + 16, e1);
    acc0 = _mm512_add_ps(acc0, e0);
    acc1 = _mm512_add_ps(acc1, e1);
  }
  for (; i < n; i += 16) {
    const __mmask16 k = tail_mask_avx512(n - i < 16 ? n - i : 16);
    const __m512 e = _mm512_maskz_mov_ps(k, exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, y + i), m)));
    _mm512_mask_storeu_ps(y + i, k, e);
    acc0 = _mm512_add_ps(acc0, e);
  }
  const auto inv =
      static_cast<float>(1.0 / static_cast<double>(_mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))));
  const __m512 r = _mm512_set1_ps(inv);
  for (i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask_avx512(n - i < 16 ? n - i : 16);
    _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, y + i), r));
  }
}
#endif

/// One softmax row at `level` (mask may be null; y may equal x).
inline void softmax_row(isa level, const float* x, float* y, std::size_t n, float scale,
                        const float* mask) noexcept {
  if (n == 0) return;
#if MMLLM_HAVE_X86_KERNELS
  if (level == isa::avx512) return softmax_row_avx512(x, y, n, scale, mask);
  if (level == isa::avx2) return softmax_row_avx2(x, y, n, scale, mask);
#endif
  (void)level;
  softmax_row_generic(x, y, n, scale, mask);
}

}  // namespace mmllm::compute::detail
MMLLM_KERNELS_END
