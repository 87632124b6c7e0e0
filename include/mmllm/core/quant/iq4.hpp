// mmllm/core/quant/iq4.hpp — ggml's non-linear 4-bit formats iq4_nl and iq4_xs.
//
// Both store 4-bit indices into a fixed table of 16 levels (detail::iq4nl_values, from
// −127 to 113) times a scale: iq4_nl one f16 scale per 32 values (paired with q8_0
// activations), iq4_xs 6-bit sub-scales per 32 values under an f16 super-scale per 256
// (paired with q8_K). The member contract is described in legacy.hpp.
//
// `quantize_row` is what ggml_quantize_chunk (llama-quantize) writes without an importance
// matrix: for iq4_nl that is quantize_iq4_nl with a ±7-step scale search — NOT
// quantize_row_iq4_nl_ref, which skips the search and gives different bytes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common.hpp"
#include "k_quant_search.hpp"
#include "k_quants.hpp"
#include "legacy.hpp"

namespace mmllm::detail {

/// ggml's quantize_row_iq4_nl_impl without importance weights and with ntry = 7, for one
/// group of `super_size` values in sub-blocks of 32: fills L (level indices) and returns
/// each sub-block's scale in `scales`; for super_size > 32 also quantizes the sub-scales
/// to 6 bits (into scales_l / scales_h) under the super-scale written to `dh`.
MMLLM_QUANT_EXACT_FN inline void quantize_iq4_group(int super_size, const float* x, mmllm::f16& dh,
                                                    std::uint8_t* q4, std::uint16_t* scales_h,
                                                    std::uint8_t* scales_l, float* scales,
                                                    std::uint8_t* L) noexcept {
  MMLLM_QUANT_EXACT_BODY
  const std::int8_t* values = iq4nl_values;
  constexpr int ntry = 7;
  float weight[32];
  std::memset(q4, 0, static_cast<std::size_t>(super_size / 2));
  dh = to_f16(0.0f);
  float max_scale = 0, amax_scale = 0;
  for (int ib = 0; ib < super_size / 32; ++ib) {
    const float* xb = x + 32 * ib;
    std::uint8_t* Lb = L + 32 * ib;
    for (int j = 0; j < 32; ++j) weight[j] = xb[j] * xb[j];
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) {
        amax = ax;
        max = xb[j];
      }
    }
    if (amax < group_max_eps) {
      scales[ib] = 0;
      continue;
    }
    float d = -max / static_cast<float>(values[0]);
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < 32; ++j) {
      const int l = nearest_level(16, values, id * xb[j]);
      Lb[j] = static_cast<std::uint8_t>(l);
      const auto q = static_cast<float>(values[l]);
      sumqx += weight[j] * q * xb[j];
      sumq2 += weight[j] * q * q;
    }
    d = sumqx / sumq2;
    float best = d * sumqx;
    for (int itry = -ntry; itry <= ntry; ++itry) {
      id = static_cast<float>(itry + values[0]) / max;
      sumqx = sumq2 = 0;
      for (int j = 0; j < 32; ++j) {
        const auto q = static_cast<float>(values[nearest_level(16, values, id * xb[j])]);
        sumqx += weight[j] * q * xb[j];
        sumq2 += weight[j] * q * q;
      }
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
    scales[ib] = d;
    const float abs_d = std::fabs(d);
    if (abs_d > amax_scale) {
      amax_scale = abs_d;
      max_scale = d;
    }
  }

  if (super_size > 32) {
    const int nb = super_size / 32;
    std::memset(scales_h, 0, static_cast<std::size_t>((nb + 7) / 8) * sizeof(std::uint16_t));
    const float d = -max_scale / 32;
    dh = to_f16(d);
    const float id = d != 0.0f ? 1 / d : 0.0f;
    for (int ib = 0; ib < nb; ++ib) {
      int l = std::clamp(nearest_int(id * scales[ib]), -32, 31);
      const float dl = d * static_cast<float>(l);
      const float idl = dl != 0.0f ? 1 / dl : 0.0f;
      std::uint8_t* Lb = L + 32 * ib;
      const float* xb = x + 32 * ib;
      for (int j = 0; j < 32; ++j) Lb[j] = static_cast<std::uint8_t>(nearest_level(16, values, idl * xb[j]));
      l += 32;
      const auto l_l = static_cast<std::uint8_t>(l & 0xf);
      const auto l_h = static_cast<std::uint8_t>(l >> 4);
      if (ib % 2 == 0) {
        scales_l[ib / 2] = l_l;
      } else {
        scales_l[ib / 2] = static_cast<std::uint8_t>(scales_l[ib / 2] | (l_l << 4));
      }
      scales_h[ib / 8] = static_cast<std::uint16_t>(scales_h[ib / 8] | (l_h << 2 * (ib % 8)));
    }
  } else {
    dh = to_f16(scales[0]);
    const float id = scales[0] != 0.0f ? 1 / scales[0] : 0.0f;
    for (int j = 0; j < super_size; ++j)
      L[j] = static_cast<std::uint8_t>(nearest_level(16, values, id * x[j]));
  }

  for (int i = 0; i < super_size / 32; ++i) {
    for (int j = 0; j < 16; ++j)
      q4[16 * i + j] = static_cast<std::uint8_t>(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
  }
}

}  // namespace mmllm::detail

namespace mmllm::fmt {

/// Non-linear 4-bit quants, one f16 scale per 32 values: x ≈ d·v[q] with v the iq4 table;
/// byte j holds value j (low nibble) and j+16 (high nibble).
struct iq4_nl {
  struct block {
    mmllm::f16 d;
    std::uint8_t qs[16];
  };
  using activation = q8_0;
  static constexpr dtype id = dtype::iq4_nl;
  static constexpr std::size_t block_size = 32;

  static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n / 32; ++i, y += 32) {
      const float d = detail::f16_to_f32(x[i].d);
      for (int j = 0; j < 16; ++j) {
        y[j] = d * static_cast<float>(detail::iq4nl_values[x[i].qs[j] & 0xf]);
        y[j + 16] = d * static_cast<float>(detail::iq4nl_values[x[i].qs[j] >> 4]);
      }
    }
  }

  /// ggml's quantize_iq4_nl without importance matrix (see the header comment).
  static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    std::uint8_t L[32];
    float scale = 0;
    std::uint16_t unused_h = 0;
    for (std::size_t i = 0; i < n / 32; ++i) {
      detail::quantize_iq4_group(32, x + 32 * i, y[i].d, y[i].qs, &unused_h, nullptr, &scale, L);
    }
  }

  /// Σ_blocks (Σ v[qw]·qa)·dw·da, as ggml_vec_dot_iq4_nl_q8_0.
  static float dot(const block* w, const q8_0::block* a, std::size_t n) noexcept {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n / 32; ++i) {
      int s = 0;
      for (int j = 0; j < 16; ++j) {
        s += a[i].qs[j] * detail::iq4nl_values[w[i].qs[j] & 0xf];
        s += a[i].qs[j + 16] * detail::iq4nl_values[w[i].qs[j] >> 4];
      }
      sum += detail::f16_to_f32(a[i].d) * detail::f16_to_f32(w[i].d) * static_cast<float>(s);
    }
    return sum;
  }
};

/// Non-linear 4-bit quants in super-blocks of 256: 8 sub-blocks of 32 with 6-bit scales
/// (low 4 bits in scales_l nibbles, high 2 bits in scales_h), x ≈ d·(ls−32)·v[q].
struct iq4_xs {
  struct block {
    mmllm::f16 d;
    std::uint16_t scales_h;
    std::uint8_t scales_l[4];
    std::uint8_t qs[128];
  };
  using activation = q8_K;
  static constexpr dtype id = dtype::iq4_xs;
  static constexpr std::size_t block_size = 256;

  /// The 6-bit scale (0..63) of sub-block ib.
  static constexpr int sub_scale(const block& b, int ib) noexcept {
    return ((b.scales_l[ib / 2] >> 4 * (ib % 2)) & 0xf) | (((b.scales_h >> 2 * ib) & 3) << 4);
  }

  static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n / 256; ++i) {
      const float d = detail::f16_to_f32(x[i].d);
      const std::uint8_t* qs = x[i].qs;
      for (int ib = 0; ib < 8; ++ib, y += 32, qs += 16) {
        const float dl = d * static_cast<float>(sub_scale(x[i], ib) - 32);
        for (int j = 0; j < 16; ++j) {
          y[j] = dl * static_cast<float>(detail::iq4nl_values[qs[j] & 0xf]);
          y[j + 16] = dl * static_cast<float>(detail::iq4nl_values[qs[j] >> 4]);
        }
      }
    }
  }

  /// ggml's quantize_row_iq4_xs_ref (= quantize_iq4_xs without importance matrix).
  static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    std::uint8_t L[256];
    float scales[8];
    for (std::size_t i = 0; i < n / 256; ++i) {
      std::uint16_t scales_h = 0;
      detail::quantize_iq4_group(256, x + 256 * i, y[i].d, y[i].qs, &scales_h, y[i].scales_l, scales, L);
      y[i].scales_h = scales_h;
    }
  }

  /// d·da·Σ_ib (ls_ib−32)·Σ v[q]·a per super-block.
  static float dot(const block* w, const q8_K::block* a, std::size_t n) noexcept {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n / 256; ++i) {
      const std::uint8_t* qs = w[i].qs;
      const std::int8_t* q8 = a[i].qs;
      int isum = 0;
      for (int ib = 0; ib < 8; ++ib, qs += 16, q8 += 32) {
        int s = 0;
        for (int j = 0; j < 16; ++j) {
          s += q8[j] * detail::iq4nl_values[qs[j] & 0xf];
          s += q8[j + 16] * detail::iq4nl_values[qs[j] >> 4];
        }
        isum += (sub_scale(w[i], ib) - 32) * s;
      }
      sum += detail::f16_to_f32(w[i].d) * a[i].d * static_cast<float>(isum);
    }
    return sum;
  }
};

static_assert(sizeof(iq4_nl::block) == traits(dtype::iq4_nl).type_size);
static_assert(sizeof(iq4_xs::block) == traits(dtype::iq4_xs).type_size);

}  // namespace mmllm::fmt
