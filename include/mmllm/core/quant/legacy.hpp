// mmllm/core/quant/legacy.hpp — ggml's 32-element block formats q4_0, q4_1, q5_0, q5_1,
// q8_0 and q8_1.
//
// Each format is a stateless struct modelling `mmllm::quant_format`: its `block` has ggml's
// exact layout, `quantize_row` is ggml's deterministic reference quantization
// (`quantize_row_*_ref`, what llama-quantize writes without an importance matrix),
// `dequantize_row` is ggml's `to_float`, and `dot` is the scalar dot product against the
// activation format ggml pairs the format with (q8_0 for q4_0/q5_0/q8_0, q8_1 for
// q4_1/q5_1): integer sums per block, then scaled. q8_0 and q8_1 are also activation
// formats: `quantize_activation_row` reproduces what ggml's x86 CPU backend produces.
//
//   std::vector<mmllm::fmt::q4_0::block> w(n / 32);
//   mmllm::fmt::q4_0::quantize_row(x, w.data(), n);
//   std::vector<mmllm::fmt::q8_0::block> a(n / 32);
//   mmllm::fmt::q8_0::quantize_activation_row(act, a.data(), n);
//   float s = mmllm::fmt::q4_0::dot(w.data(), a.data(), n);
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "common.hpp"

namespace mmllm::detail {

/// Peer quirk (ggml's x86 CPU backend, `quantize_row_q8_0` / `quantize_row_q8_1` in
/// ggml-cpu/arch/x86/quants.c): activations are quantized to 8 bits with the inverse scale
/// computed as 127/amax (the reference uses 1/d with d = amax/127) and rounded to nearest
/// with ties to EVEN (vroundps; the reference's roundf rounds ties away from zero), then
/// converted with cvtps2dq and saturating packs. amax is reduced in the order of the AVX
/// code (8 lanes over 4 vectors, then 4, 2, 1), so even NaN inputs give the same bytes.
/// Writes the 32 quants of one block and the (wrapping) sum of the 32-bit quants, which
/// q8_1 needs, and returns d = amax/127 before its rounding to f16.
MMLLM_QUANT_EXACT_FN inline float peer_quirk_x86_q8_block(const float* x, std::int8_t* qs,
                                                          int& sum) noexcept {
  MMLLM_QUANT_EXACT_BODY
  float lane[8];
  for (int l = 0; l < 8; ++l) {
    float m = std::fabs(x[l]);
    for (int k = 1; k < 4; ++k) m = c_max(m, std::fabs(x[8 * k + l]));
    lane[l] = m;
  }
  float half[4];
  for (int l = 0; l < 4; ++l) half[l] = c_max(lane[4 + l], lane[l]);  // upper 128 bits vs lower
  const float q0 = c_max(half[0], half[2]), q1 = c_max(half[1], half[3]);
  const float amax = c_max(q0, q1);
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  std::uint32_t total = 0;
  for (int j = 0; j < 32; ++j) {
    const std::int32_t v = cvtn_i32(x[j] * id);
    qs[j] = static_cast<std::int8_t>(std::clamp(v, -128, 127));  // packssdw + packsswb saturate
    total += static_cast<std::uint32_t>(v);                      // the sum is of the 32-bit values
  }
  sum = static_cast<std::int32_t>(total);
  return d;
}

}  // namespace mmllm::detail

namespace mmllm::fmt {

struct q8_0;
struct q8_1;

/// 8-bit quants with one f16 scale per 32 values: x ≈ d·q, q ∈ [-127, 127].
struct q8_0 {
  struct block {
    mmllm::f16 d;
    std::int8_t qs[32];
  };
  using activation = q8_0;
  static constexpr dtype id = dtype::q8_0;
  static constexpr std::size_t block_size = 32;

  static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n / 32; ++i) {
      const float d = detail::f16_to_f32(x[i].d);
      for (int j = 0; j < 32; ++j) y[i * 32 + j] = static_cast<float>(x[i].qs[j]) * d;
    }
  }

  /// ggml's quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d).
  MMLLM_QUANT_EXACT_FN static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    for (std::size_t i = 0; i < n / 32; ++i, x += 32) {
      float amax = 0.0f;
      for (int j = 0; j < 32; ++j) amax = detail::c_max(amax, std::fabs(x[j]));
      const float d = amax / 127.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      y[i].d = to_f16(d);
      for (int j = 0; j < 32; ++j) y[i].qs[j] = detail::round_away_to_i8(x[j] * id);
    }
  }

  /// What ggml's x86 CPU backend produces for q8_0 activations (see peer_quirk_x86_q8_block).
  static void quantize_activation_row(const float* x, block* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n / 32; ++i, x += 32) {
      int sum = 0;
      y[i].d = to_f16(detail::peer_quirk_x86_q8_block(x, y[i].qs, sum));
    }
  }

  /// Σ_blocks (Σ qw·qa)·dw·da, as ggml_vec_dot_q8_0_q8_0.
  static float dot(const block* w, const block* a, std::size_t n) noexcept {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n / 32; ++i) {
      int s = 0;
      for (int j = 0; j < 32; ++j) s += w[i].qs[j] * a[i].qs[j];
      sum += static_cast<float>(s) * (detail::f16_to_f32(w[i].d) * detail::f16_to_f32(a[i].d));
    }
    return sum;
  }
};

/// q8_0 plus the f16 product s = d·Σq per block (ggml's activation format for q4_1/q5_1).
struct q8_1 {
  struct block {
    mmllm::f16 d;
    mmllm::f16 s;
    std::int8_t qs[32];
  };
  using activation = q8_1;
  static constexpr dtype id = dtype::q8_1;
  static constexpr std::size_t block_size = 32;

  static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n / 32; ++i) {
      const float d = detail::f16_to_f32(x[i].d);
      for (int j = 0; j < 32; ++j) y[i * 32 + j] = static_cast<float>(x[i].qs[j]) * d;
    }
  }

  /// ggml's quantize_row_q8_1_ref: d = amax/127, q = roundf(x/d), s = Σq·d.
  MMLLM_QUANT_EXACT_FN static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    for (std::size_t i = 0; i < n / 32; ++i, x += 32) {
      float amax = 0.0f;
      for (int j = 0; j < 32; ++j) amax = detail::c_max(amax, std::fabs(x[j]));
      const float d = amax / 127.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      y[i].d = to_f16(d);
      int sum = 0;
      for (int j = 0; j < 32; ++j) {
        y[i].qs[j] = detail::round_away_to_i8(x[j] * id);
        sum += y[i].qs[j];
      }
      y[i].s = to_f16(static_cast<float>(sum) * d);
    }
  }

  /// What ggml's x86 CPU backend produces for q8_1 activations (see peer_quirk_x86_q8_block).
  MMLLM_QUANT_EXACT_FN static void quantize_activation_row(const float* x, block* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    for (std::size_t i = 0; i < n / 32; ++i, x += 32) {
      int sum = 0;
      const float d = detail::peer_quirk_x86_q8_block(x, y[i].qs, sum);
      y[i].d = to_f16(d);
      y[i].s = to_f16(d * static_cast<float>(sum));
    }
  }

  /// Σ_blocks (Σ qw·qa)·dw·da (not a ggml weight type; defined so every format has a dot).
  static float dot(const block* w, const block* a, std::size_t n) noexcept {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n / 32; ++i) {
      int s = 0;
      for (int j = 0; j < 32; ++j) s += w[i].qs[j] * a[i].qs[j];
      sum += static_cast<float>(s) * (detail::f16_to_f32(w[i].d) * detail::f16_to_f32(a[i].d));
    }
    return sum;
  }
};

/// 4-bit quants, one f16 scale per 32 values: x ≈ d·(q − 8), q ∈ [0, 15]. Byte j holds
/// value j (low nibble) and value j+16 (high nibble).
struct q4_0 {
  struct block {
    mmllm::f16 d;
    std::uint8_t qs[16];
  };
  using activation = q8_0;
  static constexpr dtype id = dtype::q4_0;
  static constexpr std::size_t block_size = 32;

  static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n / 32; ++i, y += 32) {
      const float d = detail::f16_to_f32(x[i].d);
      for (int j = 0; j < 16; ++j) {
        y[j] = static_cast<float>((x[i].qs[j] & 0x0F) - 8) * d;
        y[j + 16] = static_cast<float>((x[i].qs[j] >> 4) - 8) * d;
      }
    }
  }

  /// ggml's quantize_row_q4_0_ref: d = max/−8 where max is the value of largest magnitude.
  MMLLM_QUANT_EXACT_FN static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    for (std::size_t i = 0; i < n / 32; ++i, x += 32) {
      float amax = 0.0f, max = 0.0f;
      for (int j = 0; j < 32; ++j) {
        if (amax < std::fabs(x[j])) {
          amax = std::fabs(x[j]);
          max = x[j];
        }
      }
      const float d = max / -8.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      y[i].d = to_f16(d);
      for (int j = 0; j < 16; ++j) {
        const int q0 =
            std::min(15, static_cast<int>(static_cast<std::int8_t>(detail::cvtt_i32(x[j] * id + 8.5f))));
        const int q1 =
            std::min(15, static_cast<int>(static_cast<std::int8_t>(detail::cvtt_i32(x[j + 16] * id + 8.5f))));
        y[i].qs[j] =
            static_cast<std::uint8_t>(static_cast<std::uint8_t>(q0) | (static_cast<std::uint8_t>(q1) << 4));
      }
    }
  }

  /// Σ_blocks (Σ (qw−8)·qa)·dw·da, as ggml_vec_dot_q4_0_q8_0.
  static float dot(const block* w, const q8_0::block* a, std::size_t n) noexcept {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n / 32; ++i) {
      int s = 0;
      for (int j = 0; j < 16; ++j) {
        s += ((w[i].qs[j] & 0x0F) - 8) * a[i].qs[j];
        s += ((w[i].qs[j] >> 4) - 8) * a[i].qs[j + 16];
      }
      sum += static_cast<float>(s) * detail::f16_to_f32(w[i].d) * detail::f16_to_f32(a[i].d);
    }
    return sum;
  }
};

/// 4-bit quants with scale and minimum: x ≈ d·q + m, q ∈ [0, 15].
struct q4_1 {
  struct block {
    mmllm::f16 d;
    mmllm::f16 m;
    std::uint8_t qs[16];
  };
  using activation = q8_1;
  static constexpr dtype id = dtype::q4_1;
  static constexpr std::size_t block_size = 32;

  MMLLM_QUANT_EXACT_FN static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    for (std::size_t i = 0; i < n / 32; ++i, y += 32) {
      const float d = detail::f16_to_f32(x[i].d);
      const float m = detail::f16_to_f32(x[i].m);
      for (int j = 0; j < 16; ++j) {
        y[j] = static_cast<float>(x[i].qs[j] & 0x0F) * d + m;
        y[j + 16] = static_cast<float>(x[i].qs[j] >> 4) * d + m;
      }
    }
  }

  /// ggml's quantize_row_q4_1_ref: d = (max − min)/15, m = min.
  MMLLM_QUANT_EXACT_FN static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    for (std::size_t i = 0; i < n / 32; ++i, x += 32) {
      float min = std::numeric_limits<float>::max(), max = std::numeric_limits<float>::lowest();
      for (int j = 0; j < 32; ++j) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
      }
      const float d = (max - min) / 15.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      y[i].d = to_f16(d);
      y[i].m = to_f16(min);
      for (int j = 0; j < 16; ++j) {
        const int q0 = std::min(
            15, static_cast<int>(static_cast<std::int8_t>(detail::cvtt_i32((x[j] - min) * id + 0.5f))));
        const int q1 = std::min(
            15, static_cast<int>(static_cast<std::int8_t>(detail::cvtt_i32((x[j + 16] - min) * id + 0.5f))));
        y[i].qs[j] =
            static_cast<std::uint8_t>(static_cast<std::uint8_t>(q0) | (static_cast<std::uint8_t>(q1) << 4));
      }
    }
  }

  /// Σ_blocks (Σ qw·qa)·dw·da + mw·sa, as ggml_vec_dot_q4_1_q8_1.
  static float dot(const block* w, const q8_1::block* a, std::size_t n) noexcept {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n / 32; ++i) {
      int s = 0;
      for (int j = 0; j < 16; ++j) {
        s += (w[i].qs[j] & 0x0F) * a[i].qs[j];
        s += (w[i].qs[j] >> 4) * a[i].qs[j + 16];
      }
      sum += (detail::f16_to_f32(w[i].d) * detail::f16_to_f32(a[i].d)) * static_cast<float>(s) +
             detail::f16_to_f32(w[i].m) * detail::f16_to_f32(a[i].s);
    }
    return sum;
  }
};

/// 5-bit quants, one f16 scale per 32 values: x ≈ d·(q − 16), q ∈ [0, 31]; the fifth bits
/// of values 0..31 are bits 0..31 of `qh` (little endian).
struct q5_0 {
  struct block {
    mmllm::f16 d;
    std::uint8_t qh[4];
    std::uint8_t qs[16];
  };
  using activation = q8_0;
  static constexpr dtype id = dtype::q5_0;
  static constexpr std::size_t block_size = 32;

  static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n / 32; ++i, y += 32) {
      const float d = detail::f16_to_f32(x[i].d);
      std::uint32_t qh = 0;
      std::memcpy(&qh, x[i].qh, 4);
      for (int j = 0; j < 16; ++j) {
        const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
        const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
        y[j] = static_cast<float>(((x[i].qs[j] & 0x0F) | h0) - 16) * d;
        y[j + 16] = static_cast<float>(((x[i].qs[j] >> 4) | h1) - 16) * d;
      }
    }
  }

  /// ggml's quantize_row_q5_0_ref: d = max/−16 where max is the value of largest magnitude.
  MMLLM_QUANT_EXACT_FN static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    for (std::size_t i = 0; i < n / 32; ++i, x += 32) {
      float amax = 0.0f, max = 0.0f;
      for (int j = 0; j < 32; ++j) {
        if (amax < std::fabs(x[j])) {
          amax = std::fabs(x[j]);
          max = x[j];
        }
      }
      const float d = max / -16.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      y[i].d = to_f16(d);
      std::uint32_t qh = 0;
      for (int j = 0; j < 16; ++j) {
        const auto q0 = static_cast<std::uint8_t>(
            std::min(31, static_cast<int>(static_cast<std::int8_t>(detail::cvtt_i32(x[j] * id + 16.5f)))));
        const auto q1 = static_cast<std::uint8_t>(std::min(
            31, static_cast<int>(static_cast<std::int8_t>(detail::cvtt_i32(x[j + 16] * id + 16.5f)))));
        y[i].qs[j] = static_cast<std::uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
        qh |= ((q0 & 0x10u) >> 4) << j;
        qh |= ((q1 & 0x10u) >> 4) << (j + 16);
      }
      std::memcpy(y[i].qh, &qh, 4);
    }
  }

  /// Σ_blocks (Σ (qw−16)·qa)·dw·da, as ggml_vec_dot_q5_0_q8_0.
  static float dot(const block* w, const q8_0::block* a, std::size_t n) noexcept {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n / 32; ++i) {
      std::uint32_t qh = 0;
      std::memcpy(&qh, w[i].qh, 4);
      int s = 0;
      for (int j = 0; j < 16; ++j) {
        const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
        const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
        s += (((w[i].qs[j] & 0x0F) | h0) - 16) * a[i].qs[j];
        s += (((w[i].qs[j] >> 4) | h1) - 16) * a[i].qs[j + 16];
      }
      sum += (detail::f16_to_f32(w[i].d) * detail::f16_to_f32(a[i].d)) * static_cast<float>(s);
    }
    return sum;
  }
};

/// 5-bit quants with scale and minimum: x ≈ d·q + m, q ∈ [0, 31] (fifth bits as in q5_0).
struct q5_1 {
  struct block {
    mmllm::f16 d;
    mmllm::f16 m;
    std::uint8_t qh[4];
    std::uint8_t qs[16];
  };
  using activation = q8_1;
  static constexpr dtype id = dtype::q5_1;
  static constexpr std::size_t block_size = 32;

  MMLLM_QUANT_EXACT_FN static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    for (std::size_t i = 0; i < n / 32; ++i, y += 32) {
      const float d = detail::f16_to_f32(x[i].d);
      const float m = detail::f16_to_f32(x[i].m);
      std::uint32_t qh = 0;
      std::memcpy(&qh, x[i].qh, 4);
      for (int j = 0; j < 16; ++j) {
        const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
        const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
        y[j] = static_cast<float>((x[i].qs[j] & 0x0F) | h0) * d + m;
        y[j + 16] = static_cast<float>((x[i].qs[j] >> 4) | h1) * d + m;
      }
    }
  }

  /// ggml's quantize_row_q5_1_ref: d = (max − min)/31, m = min.
  MMLLM_QUANT_EXACT_FN static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    for (std::size_t i = 0; i < n / 32; ++i, x += 32) {
      float min = std::numeric_limits<float>::max(), max = std::numeric_limits<float>::lowest();
      for (int j = 0; j < 32; ++j) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
      }
      const float d = (max - min) / 31.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      y[i].d = to_f16(d);
      y[i].m = to_f16(min);
      std::uint32_t qh = 0;
      for (int j = 0; j < 16; ++j) {
        const auto q0 = static_cast<std::uint8_t>(detail::cvtt_i32((x[j] - min) * id + 0.5f));
        const auto q1 = static_cast<std::uint8_t>(detail::cvtt_i32((x[j + 16] - min) * id + 0.5f));
        y[i].qs[j] = static_cast<std::uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
        qh |= ((q0 & 0x10u) >> 4) << j;
        qh |= ((q1 & 0x10u) >> 4) << (j + 16);
      }
      std::memcpy(y[i].qh, &qh, 4);
    }
  }

  /// Σ_blocks (Σ qw·qa)·dw·da + mw·sa, as ggml_vec_dot_q5_1_q8_1.
  static float dot(const block* w, const q8_1::block* a, std::size_t n) noexcept {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n / 32; ++i) {
      std::uint32_t qh = 0;
      std::memcpy(&qh, w[i].qh, 4);
      int s = 0;
      for (int j = 0; j < 16; ++j) {
        const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
        const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
        s += ((w[i].qs[j] & 0x0F) | h0) * a[i].qs[j];
        s += ((w[i].qs[j] >> 4) | h1) * a[i].qs[j + 16];
      }
      sum += (detail::f16_to_f32(w[i].d) * detail::f16_to_f32(a[i].d)) * static_cast<float>(s) +
             detail::f16_to_f32(w[i].m) * detail::f16_to_f32(a[i].s);
    }
    return sum;
  }
};

static_assert(sizeof(q4_0::block) == 18 && sizeof(q4_0::block) == traits(dtype::q4_0).type_size);
static_assert(sizeof(q4_1::block) == traits(dtype::q4_1).type_size);
static_assert(sizeof(q5_0::block) == traits(dtype::q5_0).type_size);
static_assert(sizeof(q5_1::block) == traits(dtype::q5_1).type_size);
static_assert(sizeof(q8_0::block) == traits(dtype::q8_0).type_size);
static_assert(sizeof(q8_1::block) == traits(dtype::q8_1).type_size);

}  // namespace mmllm::fmt
