// mmllm/compute/rope.hpp — rotary position embedding with ggml's semantics, every level.
//
// Layout: one row per token holding n_heads heads of head_dim floats each. For every token
// a table of (cos θ_i, sin θ_i) is built exactly as ggml's CPU backend builds it (float
// arithmetic, θ advanced by repeated multiplication with freq_base^(−2/n_dims), optional
// freq_factors divisor, YaRN ramp with ggml's correction dims, attn_factor magnitude), then
// every head of the token is rotated with it:
//   normal: (x[2i], x[2i+1]);  neox / mrope / imrope: (x[i], x[i + n_dims/2]);
//   vision: (x[i], x[i + n_dims]) for all i < n_dims = head_dim/2.
// Dimensions ≥ n_dims are copied (except in vision mode, which rotates the whole head).
// Positions: one per token, or for mrope / vision / imrope four streams (t, h, w, e), stream s
// of token k at positions[s·n_tokens + k].
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <span>

#include "isa.hpp"
#include "kernel_params.hpp"
#include "simd_math.hpp"

MMLLM_KERNELS_BEGIN
namespace mmllm::compute::detail {

/// ggml_rope_yarn_corr_dims: the range of frequency indices over which YaRN ramps.
inline void rope_corr_dims(const rope_params& p, float dims[2]) noexcept {
  const auto n_dims = static_cast<float>(p.n_dims);
  auto corr_dim = [&](float n_rot) {
    return n_dims * std::log(static_cast<float>(p.n_ctx_orig) / (n_rot * 2.0f * std::numbers::pi_v<float>)) /
           (2.0f * std::log(p.freq_base));
  };
  dims[0] = std::max(0.0f, std::floor(corr_dim(p.beta_fast)));
  dims[1] = std::min(n_dims - 1.0f, std::ceil(corr_dim(p.beta_slow)));
}

/// Number of (cos, sin) entries a token's table holds.
inline std::size_t rope_table_size(const rope_params& p, std::size_t head_dim) noexcept {
  return p.mode == rope_mode::vision ? head_dim / 2 : p.n_dims / 2;
}

/// Builds the (cos, sin) table of token `k` of `n_tokens` (rope_table_size entries).
inline void rope_token_table(const rope_params& p, std::size_t head_dim, std::size_t n_tokens,
                             std::span<const std::int32_t> positions, std::size_t k, float* cos_out,
                             float* sin_out) noexcept {
  const std::size_t n = rope_table_size(p, head_dim);
  const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_dims));
  float corr[2];
  rope_corr_dims(p, corr);
  const bool multi = p.mode == rope_mode::mrope || p.mode == rope_mode::vision || p.mode == rope_mode::imrope;
  float theta_base[4] = {static_cast<float>(positions[k]), 0.0f, 0.0f, 0.0f};
  if (multi)
    for (std::size_t s = 1; s < 4; ++s) theta_base[s] = static_cast<float>(positions[s * n_tokens + k]);
  float theta[4] = {theta_base[0], theta_base[1], theta_base[2], theta_base[3]};
  const int s0 = p.sections[0], s1 = p.sections[1], s2 = p.sections[2];
  const int sect_dims = s0 + s1 + s2 + p.sections[3];
  const int sec_w = s0 + s1, sec_e = sec_w + s2;
  for (std::size_t i = 0; i < n; ++i) {
    float th = theta[0];
    if (multi && sect_dims > 0) {
      const int sector = static_cast<int>(i % static_cast<std::size_t>(sect_dims));
      if (p.mode == rope_mode::vision) {  // each section restarts its own θ
        if (sector == 0) theta[0] = theta_base[0];
        if (sector == s0) theta[1] = theta_base[1];
        if (sector == sec_w) theta[2] = theta_base[2];
        if (sector == sec_e) theta[3] = theta_base[3];
      }
      if (p.mode == rope_mode::imrope) {
        if (sector % 3 == 1 && sector < 3 * s1) {
          th = theta[1];
        } else if (sector % 3 == 2 && sector < 3 * s2) {
          th = theta[2];
        } else if (sector % 3 == 0 && sector < 3 * s0) {
          th = theta[0];
        } else {
          th = theta[3];
        }
      } else {
        th = theta[0];
        if (sector >= s0 && sector < sec_w) {
          th = theta[1];
        } else if (sector >= sec_w && sector < sec_w + s2) {
          th = theta[2];
        } else if (sector >= sec_w + s2) {
          th = theta[3];
        }
      }
    }
    const float ff = i < p.freq_factors.size() ? p.freq_factors[i] : 1.0f;
    const float theta_extrap = th / ff;
    const float theta_interp = p.freq_scale * theta_extrap;
    float t = theta_interp;
    float mscale = p.attn_factor;
    if (p.ext_factor != 0.0f) {
      const float y = (static_cast<float>(i) - corr[0]) / std::max(0.001f, corr[1] - corr[0]);
      const float ramp_mix = (1.0f - std::min(1.0f, std::max(0.0f, y))) * p.ext_factor;
      t = theta_interp * (1.0f - ramp_mix) + theta_extrap * ramp_mix;
      mscale *= 1.0f + 0.1f * std::log(1.0f / p.freq_scale);
    }
    cos_out[i] = std::cos(t) * mscale;
    sin_out[i] = std::sin(t) * mscale;
    for (float& v : theta) v *= theta_scale;
  }
}

// ---- rotations: half-split pairs (x[i], x[i+half]) for i < count, and adjacent pairs ----------
inline void rope_rotate_split_generic(const float* x, float* y, std::size_t half, std::size_t count,
                                      const float* c, const float* s) noexcept {
  for (std::size_t i = 0; i < count; ++i) {
    const float x0 = x[i], x1 = x[i + half];
    y[i] = x0 * c[i] - x1 * s[i];
    y[i + half] = x0 * s[i] + x1 * c[i];
  }
}

inline void rope_rotate_adjacent_generic(const float* x, float* y, std::size_t count, const float* c,
                                         const float* s) noexcept {
  for (std::size_t i = 0; i < count; ++i) {
    const float x0 = x[2 * i], x1 = x[2 * i + 1];
    y[2 * i] = x0 * c[i] - x1 * s[i];
    y[2 * i + 1] = x0 * s[i] + x1 * c[i];
  }
}

#if MMLLM_HAVE_X86_KERNELS
MMLLM_TARGET_AVX2 inline void rope_rotate_split_avx2(const float* x, float* y, std::size_t half,
                                                     std::size_t count, const float* c,
                                                     const float* s) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + half);
    const __m256 vc = _mm256_loadu_ps(c + i), vs = _mm256_loadu_ps(s + i);
    _mm256_storeu_ps(y + i, _mm256_fmsub_ps(x0, vc, _mm256_mul_ps(x1, vs)));
    _mm256_storeu_ps(y + i + half, _mm256_fmadd_ps(x0, vs, _mm256_mul_ps(x1, vc)));
  }
  rope_rotate_split_generic(x + i, y + i, half, count - i, c + i, s + i);
}

MMLLM_TARGET_AVX2 inline void rope_rotate_adjacent_avx2(const float* x, float* y, std::size_t count,
                                                        const float* c, const float* s) noexcept {
  std::size_t i = 0;
  for (; i + 4 <= count; i += 4) {
    // duplicate 4 cos / sin values to the 8 lanes of 4 pairs
    const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    const __m256 vc = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(c + i)), dup);
    const __m256 vs = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(s + i)), dup);
    const __m256 v = _mm256_loadu_ps(x + 2 * i);
    const __m256 sw = _mm256_permute_ps(v, 0xB1);  // (x1, x0) in every pair
    _mm256_storeu_ps(y + 2 * i, _mm256_fmaddsub_ps(v, vc, _mm256_mul_ps(sw, vs)));
  }
  rope_rotate_adjacent_generic(x + 2 * i, y + 2 * i, count - i, c + i, s + i);
}

MMLLM_TARGET_AVX512 inline void rope_rotate_split_avx512(const float* x, float* y, std::size_t half,
                                                         std::size_t count, const float* c,
                                                         const float* s) noexcept {
  for (std::size_t i = 0; i < count; i += 16) {
    const __mmask16 k = tail_mask_avx512(count - i < 16 ? count - i : 16);
    const __m512 x0 = _mm512_maskz_loadu_ps(k, x + i), x1 = _mm512_maskz_loadu_ps(k, x + i + half);
    const __m512 vc = _mm512_maskz_loadu_ps(k, c + i), vs = _mm512_maskz_loadu_ps(k, s + i);
    _mm512_mask_storeu_ps(y + i, k, _mm512_fmsub_ps(x0, vc, _mm512_mul_ps(x1, vs)));
    _mm512_mask_storeu_ps(y + i + half, k, _mm512_fmadd_ps(x0, vs, _mm512_mul_ps(x1, vc)));
  }
}

MMLLM_TARGET_AVX512 inline void rope_rotate_adjacent_avx512(const float* x, float* y, std::size_t count,
                                                            const float* c, const float* s) noexcept {
  const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  for (std::size_t i = 0; i < count; i += 8) {
    const std::size_t m = count - i < 8 ? count - i : 8;
    const auto k8 = static_cast<__mmask8>((1u << m) - 1u);
    const __mmask16 k16 = tail_mask_avx512(2 * m);
    const __m512 vc = _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(_mm256_maskz_loadu_ps(k8, c + i)));
    const __m512 vs = _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(_mm256_maskz_loadu_ps(k8, s + i)));
    const __m512 v = _mm512_maskz_loadu_ps(k16, x + 2 * i);
    const __m512 sw = _mm512_permute_ps(v, 0xB1);
    _mm512_mask_storeu_ps(y + 2 * i, k16, _mm512_fmaddsub_ps(v, vc, _mm512_mul_ps(sw, vs)));
  }
}
#endif

inline void rope_rotate_split(isa level, const float* x, float* y, std::size_t half, std::size_t count,
                              const float* c, const float* s) noexcept {
#if MMLLM_HAVE_X86_KERNELS
  if (level == isa::avx512) return rope_rotate_split_avx512(x, y, half, count, c, s);
  if (level == isa::avx2) return rope_rotate_split_avx2(x, y, half, count, c, s);
#endif
  (void)level;
  rope_rotate_split_generic(x, y, half, count, c, s);
}

inline void rope_rotate_adjacent(isa level, const float* x, float* y, std::size_t count, const float* c,
                                 const float* s) noexcept {
#if MMLLM_HAVE_X86_KERNELS
  if (level == isa::avx512) return rope_rotate_adjacent_avx512(x, y, count, c, s);
  if (level == isa::avx2) return rope_rotate_adjacent_avx2(x, y, count, c, s);
#endif
  (void)level;
  rope_rotate_adjacent_generic(x, y, count, c, s);
}

/// Rotates every head of one token row with its (cos, sin) table; y may equal x.
inline void rope_token(isa level, const rope_params& p, std::size_t head_dim, std::size_t n_heads,
                       const float* x, float* y, const float* c, const float* s) noexcept {
  for (std::size_t h = 0; h < n_heads; ++h) {
    const float* xh = x + h * head_dim;
    float* yh = y + h * head_dim;
    switch (p.mode) {
      case rope_mode::normal: rope_rotate_adjacent(level, xh, yh, p.n_dims / 2, c, s); break;
      case rope_mode::vision: rope_rotate_split(level, xh, yh, p.n_dims, p.n_dims, c, s); break;
      case rope_mode::neox:
      case rope_mode::mrope:
      case rope_mode::imrope: rope_rotate_split(level, xh, yh, p.n_dims / 2, p.n_dims / 2, c, s); break;
    }
    if (p.mode != rope_mode::vision && xh != yh) std::copy(xh + p.n_dims, xh + head_dim, yh + p.n_dims);
  }
}

}  // namespace mmllm::compute::detail
MMLLM_KERNELS_END
