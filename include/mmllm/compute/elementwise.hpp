// mmllm/compute/elementwise.hpp — add, mul, scale, add-scaled on rows of floats.
//
// Row operations for every level; the compute policies loop them over matrix rows (and
// threads). Each op is a small struct with `generic` / `avx2` / `avx512` members, applied
// by `detail::map` / `map2` (simd_math.hpp).
#pragma once

#include <cstddef>

#include "isa.hpp"
#include "simd_math.hpp"

MMLLM_KERNELS_BEGIN
namespace mmllm::compute::detail {

/// a + b
struct add_op {
  gbatch generic(gbatch a, gbatch b) const noexcept { return a + b; }
#if MMLLM_HAVE_X86_KERNELS
  MMLLM_TARGET_AVX2 __m256 avx2(__m256 a, __m256 b) const noexcept { return _mm256_add_ps(a, b); }
  MMLLM_TARGET_AVX512 __m512 avx512(__m512 a, __m512 b) const noexcept { return _mm512_add_ps(a, b); }
#endif
};

/// a · b
struct mul_op {
  gbatch generic(gbatch a, gbatch b) const noexcept { return a * b; }
#if MMLLM_HAVE_X86_KERNELS
  MMLLM_TARGET_AVX2 __m256 avx2(__m256 a, __m256 b) const noexcept { return _mm256_mul_ps(a, b); }
  MMLLM_TARGET_AVX512 __m512 avx512(__m512 a, __m512 b) const noexcept { return _mm512_mul_ps(a, b); }
#endif
};

/// x · s
struct scale_op {
  float s;
  gbatch generic(gbatch x) const noexcept { return x * gbatch(s); }
#if MMLLM_HAVE_X86_KERNELS
  MMLLM_TARGET_AVX2 __m256 avx2(__m256 x) const noexcept { return _mm256_mul_ps(x, _mm256_set1_ps(s)); }
  MMLLM_TARGET_AVX512 __m512 avx512(__m512 x) const noexcept { return _mm512_mul_ps(x, _mm512_set1_ps(s)); }
#endif
};

/// x · s + y (one rounding: fused multiply-add)
struct add_scaled_op {
  float s;
  gbatch generic(gbatch x, gbatch y) const noexcept { return xsimd::fma(x, gbatch(s), y); }
#if MMLLM_HAVE_X86_KERNELS
  MMLLM_TARGET_AVX2 __m256 avx2(__m256 x, __m256 y) const noexcept {
    return _mm256_fmadd_ps(x, _mm256_set1_ps(s), y);
  }
  MMLLM_TARGET_AVX512 __m512 avx512(__m512 x, __m512 y) const noexcept {
    return _mm512_fmadd_ps(x, _mm512_set1_ps(s), y);
  }
#endif
};

}  // namespace mmllm::compute::detail
MMLLM_KERNELS_END
