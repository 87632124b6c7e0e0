// mmllm/compute/blocked_attention.hpp — non-causal f32 attention of many queries over many keys
// for one head, blocked so that scores never leave L1/L2 (a flash-attention schedule for the
// vision / audio encoders, where Q·Kᵀ at 4096 tokens would otherwise stream through L3).
//
//   o[q] = Σ_t softmax_t(scale · q·k_t) · v_t      (one head, keys [0, len))
//
// Layout: K and V of a head are packed once (blocked_attention_pack) and shared by every query
// block: K as [key group of 8][d][8] (broadcast operands of the score micro-kernel), V as
// [d group of 8][key][8] (broadcast operands of the P·V micro-kernel). A query block is up to
// `panels` × 32 queries; queries sit in vector lanes throughout, so the running max and sum of
// the online softmax are per-lane vector operations:
//   for each block of 128 keys, for each panel of 32 queries:
//     Sᵀ[t][q] = scale · Σ_j K[t][j]·Q[q][j]     (8 keys × 32 queries register tile)
//     m' = max(m, max_t Sᵀ); α = exp(m − m'); l = α·l + Σ_t exp(Sᵀ − m'); Oᵀ = α·Oᵀ
//     Oᵀ[j][q] += Σ_t V[t][j]·exp(Sᵀ[t][q] − m')  (8 dims × 32 queries register tile)
//   o[q][j] = Oᵀ[j][q] / l[q]
// Every output depends only on its query and the keys, never on the block or thread layout.
// Levels: avx512 only (encoders fall back to GEMM + softmax elsewhere).
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>

#include "isa.hpp"
#include "simd_math.hpp"

MMLLM_KERNELS_BEGIN
namespace mmllm::compute::detail {

/// Keys per block of the online softmax (a multiple of 8).
inline constexpr std::size_t blocked_attention_key_block = 128;
/// Queries per panel (the lanes of two 16-float vectors).
inline constexpr std::size_t blocked_attention_panel = 32;

/// Keys rounded up to whole groups of 8.
constexpr std::size_t blocked_attention_keys_padded(std::size_t len) noexcept { return (len + 7) / 8 * 8; }

/// Floats of packed K (or V) for `len` keys of head size d.
constexpr std::size_t blocked_attention_packed_floats(std::size_t len, std::size_t d) noexcept {
  return blocked_attention_keys_padded(len) * ((d + 7) / 8 * 8);
}

/// Floats of per-thread scratch for query blocks of up to `panels` panels.
constexpr std::size_t blocked_attention_scratch_floats(std::size_t panels, std::size_t d) noexcept {
  const std::size_t dp = (d + 7) / 8 * 8;
  return panels * blocked_attention_panel * (d + dp + 2) +
         blocked_attention_key_block * blocked_attention_panel;
}

/// Packs `len` keys / values of one head (row t of k at k + t·ldk, d floats; likewise v) into
/// kp and vp (blocked_attention_packed_floats each); padding is zero.
inline void blocked_attention_pack(const float* k, std::size_t ldk, const float* v, std::size_t ldv,
                                   std::size_t len, std::size_t d, float* kp, float* vp) noexcept {
  const std::size_t lp = blocked_attention_keys_padded(len), dg = (d + 7) / 8;
  for (std::size_t g = 0; g < lp / 8; ++g) {
    float* dst = kp + g * d * 8;
    for (std::size_t r = 0; r < 8; ++r) {
      const std::size_t t = g * 8 + r;
      if (t < len) {
        const float* src = k + t * ldk;
        for (std::size_t j = 0; j < d; ++j) dst[j * 8 + r] = src[j];
      } else {
        for (std::size_t j = 0; j < d; ++j) dst[j * 8 + r] = 0.0f;
      }
    }
  }
  for (std::size_t t = 0; t < lp; ++t) {
    const float* src = v + t * ldv;
    for (std::size_t jg = 0; jg < dg; ++jg) {
      float* dst = vp + (jg * lp + t) * 8;
      for (std::size_t r = 0; r < 8; ++r) {
        const std::size_t j = jg * 8 + r;
        dst[r] = (t < len && j < d) ? src[j] : 0.0f;
      }
    }
  }
}

#if MMLLM_HAVE_X86_KERNELS
/// Attention of m ≤ panels·32 queries (row i at q + i·ldq, d floats) over the packed keys and
/// values of `len` keys; row i of the result goes to out + i·ldo. `scratch` holds
/// blocked_attention_scratch_floats(panels, d) floats, 64-byte aligned.
MMLLM_TARGET_AVX512 inline void blocked_attention_avx512(const float* q, std::size_t ldq, std::size_t m,
                                                         std::size_t d, const float* kp, const float* vp,
                                                         std::size_t len, float scale, float* out,
                                                         std::size_t ldo, float* scratch) noexcept {
  constexpr std::size_t P = blocked_attention_panel, KB = blocked_attention_key_block;
  if (m == 0) return;
  const std::size_t panels = (m + P - 1) / P;
  const std::size_t dp = (d + 7) / 8 * 8, dg = dp / 8, lp = blocked_attention_keys_padded(len);
  float* qp = scratch;                  // [panel][d][32]
  float* ot = qp + panels * P * d;      // [panel][dp][32]
  float* stat = ot + panels * P * dp;   // [panel][max 32 | sum 32]
  float* sbuf = stat + panels * P * 2;  // [KB][32]
  const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (std::size_t p = 0; p < panels; ++p) {
    float* dst = qp + p * P * d;
    for (std::size_t lane = 0; lane < P; ++lane) {
      const std::size_t i = p * P + lane;
      if (i < m) {
        const float* src = q + i * ldq;
        for (std::size_t j = 0; j < d; ++j) dst[j * P + lane] = src[j];
      } else {
        for (std::size_t j = 0; j < d; ++j) dst[j * P + lane] = 0.0f;
      }
    }
    for (std::size_t j = 0; j < dp * P; j += 16) _mm512_store_ps(ot + p * P * dp + j, _mm512_setzero_ps());
    _mm512_store_ps(stat + p * 2 * P, ninf);
    _mm512_store_ps(stat + p * 2 * P + 16, ninf);
    _mm512_store_ps(stat + p * 2 * P + 32, _mm512_setzero_ps());
    _mm512_store_ps(stat + p * 2 * P + 48, _mm512_setzero_ps());
  }
  const __m512 sc = _mm512_set1_ps(scale);
  for (std::size_t t0 = 0; t0 < len; t0 += KB) {
    const std::size_t kn = std::min(KB, len - t0), groups = (kn + 7) / 8;
    for (std::size_t p = 0; p < panels; ++p) {
      const float* qpp = qp + p * P * d;
      float* otp = ot + p * P * dp;
      float* st = stat + p * 2 * P;
      // scores of this key block, scaled, and their per-query max
      __m512 mx0 = ninf, mx1 = ninf;
      for (std::size_t g = 0; g < groups; ++g) {
        const float* a = kp + (t0 / 8 + g) * d * 8;
        __m512 acc[8][2];
#pragma GCC unroll 8
        for (int r = 0; r < 8; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
        const float* b = qpp;
        for (std::size_t j = 0; j < d; ++j) {
          const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 8
          for (int r = 0; r < 8; ++r) {
            const __m512 av = _mm512_set1_ps(a[r]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
          }
          a += 8;
          b += P;
        }
        const std::size_t valid = std::min<std::size_t>(8, kn - g * 8);
#pragma GCC unroll 8
        for (std::size_t r = 0; r < 8; ++r) {
          const __m512 s0 = _mm512_mul_ps(acc[r][0], sc), s1 = _mm512_mul_ps(acc[r][1], sc);
          _mm512_store_ps(sbuf + (g * 8 + r) * P, s0);
          _mm512_store_ps(sbuf + (g * 8 + r) * P + 16, s1);
          if (r < valid) {
            mx0 = _mm512_max_ps(mx0, s0);
            mx1 = _mm512_max_ps(mx1, s1);
          }
        }
      }
      // online softmax: new max, rescale of the running sum and accumulator
      const __m512 m_old0 = _mm512_load_ps(st), m_old1 = _mm512_load_ps(st + 16);
      const __m512 m0 = _mm512_max_ps(m_old0, mx0), m1 = _mm512_max_ps(m_old1, mx1);
      const __m512 al0 = exp_avx512(_mm512_sub_ps(m_old0, m0)), al1 = exp_avx512(_mm512_sub_ps(m_old1, m1));
      _mm512_store_ps(st, m0);
      _mm512_store_ps(st + 16, m1);
      for (std::size_t j = 0; j < dp; ++j) {
        _mm512_store_ps(otp + j * P, _mm512_mul_ps(_mm512_load_ps(otp + j * P), al0));
        _mm512_store_ps(otp + j * P + 16, _mm512_mul_ps(_mm512_load_ps(otp + j * P + 16), al1));
      }
      __m512 sum0 = _mm512_setzero_ps(), sum1 = _mm512_setzero_ps();
      for (std::size_t t = 0; t < kn; ++t) {
        const __m512 e0 = exp_avx512(_mm512_sub_ps(_mm512_load_ps(sbuf + t * P), m0));
        const __m512 e1 = exp_avx512(_mm512_sub_ps(_mm512_load_ps(sbuf + t * P + 16), m1));
        _mm512_store_ps(sbuf + t * P, e0);
        _mm512_store_ps(sbuf + t * P + 16, e1);
        sum0 = _mm512_add_ps(sum0, e0);
        sum1 = _mm512_add_ps(sum1, e1);
      }
      _mm512_store_ps(st + 32, _mm512_fmadd_ps(_mm512_load_ps(st + 32), al0, sum0));
      _mm512_store_ps(st + 48, _mm512_fmadd_ps(_mm512_load_ps(st + 48), al1, sum1));
      // Oᵀ += Vᵀ·Pᵀ over this key block
      for (std::size_t jg = 0; jg < dg; ++jg) {
        float* o = otp + jg * 8 * P;
        __m512 acc[8][2];
#pragma GCC unroll 8
        for (int r = 0; r < 8; ++r) {
          acc[r][0] = _mm512_load_ps(o + r * P);
          acc[r][1] = _mm512_load_ps(o + r * P + 16);
        }
        const float* a = vp + (jg * lp + t0) * 8;
        const float* b = sbuf;
        for (std::size_t t = 0; t < kn; ++t) {
          const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 8
          for (int r = 0; r < 8; ++r) {
            const __m512 av = _mm512_set1_ps(a[r]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
          }
          a += 8;
          b += P;
        }
#pragma GCC unroll 8
        for (int r = 0; r < 8; ++r) {
          _mm512_store_ps(o + r * P, acc[r][0]);
          _mm512_store_ps(o + r * P + 16, acc[r][1]);
        }
      }
    }
  }
  // o = Oᵀ / l, back to rows
  for (std::size_t p = 0; p < panels; ++p) {
    float* otp = ot + p * P * dp;
    const float* st = stat + p * 2 * P;
    const __m512 inv0 = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_load_ps(st + 32));
    const __m512 inv1 = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_load_ps(st + 48));
    for (std::size_t j = 0; j < d; ++j) {
      _mm512_store_ps(otp + j * P, _mm512_mul_ps(_mm512_load_ps(otp + j * P), inv0));
      _mm512_store_ps(otp + j * P + 16, _mm512_mul_ps(_mm512_load_ps(otp + j * P + 16), inv1));
    }
    const std::size_t rows = std::min(P, m - p * P);
    for (std::size_t lane = 0; lane < rows; ++lane) {
      float* dst = out + (p * P + lane) * ldo;
      for (std::size_t j = 0; j < d; ++j) dst[j] = otp[j * P + lane];
    }
  }
}
#endif  // MMLLM_HAVE_X86_KERNELS

}  // namespace mmllm::compute::detail
MMLLM_KERNELS_END
