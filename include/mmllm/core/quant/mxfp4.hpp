// mmllm/core/quant/mxfp4.hpp — the OCP microscaling fp4 format as ggml stores it (mxfp4).
//
// A block holds 32 E2M1 values (4 bits each; byte j: value j low nibble, j+16 high) and one
// E8M0 exponent byte `e`: x = 2^(e−127)·fp4(q). ggml keeps the fp4 values doubled as
// integers (detail::mxfp4_values) and halves the scale instead. Paired with q8_0
// activations. The member contract is described in legacy.hpp.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "common.hpp"
#include "legacy.hpp"

namespace mmllm::detail {

/// ggml's best_index_mxfp4: the level k minimizing |v[k]·d − x| (the first on ties).
MMLLM_QUANT_EXACT_FN inline int nearest_mxfp4_level(float x, float d) noexcept {
  MMLLM_QUANT_EXACT_BODY
  int best = 0;
  float best_err = std::fabs(static_cast<float>(mxfp4_values[0]) * d - x);
  for (int k = 1; k < 16; ++k) {
    const float err = std::fabs(static_cast<float>(mxfp4_values[k]) * d - x);
    if (err < best_err) {
      best = k;
      best_err = err;
    }
  }
  return best;
}

}  // namespace mmllm::detail

namespace mmllm::fmt {

/// MX fp4: 32 E2M1 values sharing one E8M0 scale.
struct mxfp4 {
  struct block {
    std::uint8_t e;
    std::uint8_t qs[16];
  };
  using activation = q8_0;
  static constexpr dtype id = dtype::mxfp4;
  static constexpr std::size_t block_size = 32;

  static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n / 32; ++i, y += 32) {
      const float d = detail::e8m0_to_f32_half(x[i].e);
      for (int j = 0; j < 16; ++j) {
        y[j] = static_cast<float>(detail::mxfp4_values[x[i].qs[j] & 0x0F]) * d;
        y[j + 16] = static_cast<float>(detail::mxfp4_values[x[i].qs[j] >> 4]) * d;
      }
    }
  }

  /// ggml's quantize_row_mxfp4_ref: e = floor(log2(amax)) − 2 + 127 (so the largest value
  /// maps near fp4's maximum 6), then each value takes the nearest of the 16 levels (the
  /// first on ties).
  MMLLM_QUANT_EXACT_FN static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    for (std::size_t i = 0; i < n / 32; ++i, x += 32) {
      float amax = 0.0f;
      for (int j = 0; j < 32; ++j) {
        if (amax < std::fabs(x[j])) amax = std::fabs(x[j]);
      }
      const std::uint8_t e =
          amax > 0.0f ? static_cast<std::uint8_t>(detail::cvtt_i32(std::floor(std::log2(amax)) - 2 + 127))
                      : 0;
      const float d = detail::e8m0_to_f32_half(e);
      y[i].e = e;
      for (int j = 0; j < 16; ++j)
        y[i].qs[j] = static_cast<std::uint8_t>(detail::nearest_mxfp4_level(x[j], d) |
                                               (detail::nearest_mxfp4_level(x[j + 16], d) << 4));
    }
  }

  /// Σ_blocks (Σ v[qw]·qa)·da·2^(e−128), as ggml_vec_dot_mxfp4_q8_0.
  static float dot(const block* w, const q8_0::block* a, std::size_t n) noexcept {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n / 32; ++i) {
      const float d = detail::f16_to_f32(a[i].d) * detail::e8m0_to_f32_half(w[i].e);
      int s = 0;
      for (int j = 0; j < 16; ++j) {
        s += a[i].qs[j] * detail::mxfp4_values[w[i].qs[j] & 0xf];
        s += a[i].qs[j + 16] * detail::mxfp4_values[w[i].qs[j] >> 4];
      }
      sum += d * static_cast<float>(s);
    }
    return sum;
  }
};

static_assert(sizeof(mxfp4::block) == traits(dtype::mxfp4).type_size);

}  // namespace mmllm::fmt
