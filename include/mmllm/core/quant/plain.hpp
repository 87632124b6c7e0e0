// mmllm/core/quant/plain.hpp — the unquantized formats f32, f16 and bf16 as quant_formats.
//
// Plain types are formats with block_size 1 whose block is the element itself
// (`float`, `mmllm::f16`, `mmllm::bf16`). As in ggml's CPU backend, each is paired with
// itself for dot products: activations are rounded to f16 (bf16) before they meet f16
// (bf16) weights.
//
//   float x[64]; mmllm::f16 h[64];
//   mmllm::fmt::f16::quantize_row(x, h, 64);
//   float s = mmllm::fmt::f16::dot(h, h, 64);
#pragma once

#include <cstddef>
#include <cstring>

#include "common.hpp"

namespace mmllm::fmt {

/// IEEE binary32 rows (no conversion).
struct f32 {
  using block = float;
  using activation = f32;
  static constexpr dtype id = dtype::f32;
  static constexpr std::size_t block_size = 1;

  static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    if (n != 0) std::memcpy(y, x, n * sizeof(float));
  }
  static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    if (n != 0) std::memcpy(y, x, n * sizeof(float));
  }
  /// ggml's CPU backend copies f32 activations unchanged.
  static void quantize_activation_row(const float* x, block* y, std::size_t n) noexcept {
    quantize_row(x, y, n);
  }
  /// Σ w·a: float products summed in double (ggml's scalar order; its SIMD sums in float).
  static float dot(const block* w, const block* a, std::size_t n) noexcept {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(w[i] * a[i]);
    return static_cast<float>(s);
  }
};

/// IEEE binary16 rows; conversions round to nearest even (ggml's, and F16C's, rounding).
struct f16 {
  using block = mmllm::f16;
  using activation = f16;
  static constexpr dtype id = dtype::f16;
  static constexpr std::size_t block_size = 1;

  static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = to_f32(x[i]);
  }
  static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = to_f16(x[i]);
  }
  /// ggml's CPU backend converts with F16C (vcvtps2ph, nearest even): the same as quantize_row.
  static void quantize_activation_row(const float* x, block* y, std::size_t n) noexcept {
    quantize_row(x, y, n);
  }
  /// Σ w·a: the products of two halves are exact in float; summed in double.
  static float dot(const block* w, const block* a, std::size_t n) noexcept {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(to_f32(w[i]) * to_f32(a[i]));
    return static_cast<float>(s);
  }
};

/// bfloat16 rows; conversions round to nearest even and keep NaNs quiet (ggml's rule).
struct bf16 {
  using block = mmllm::bf16;
  using activation = bf16;
  static constexpr dtype id = dtype::bf16;
  static constexpr std::size_t block_size = 1;

  static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = to_f32(x[i]);
  }
  static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = to_bf16(x[i]);
  }
  /// ggml's CPU backend converts bf16 activations with the scalar rule (not vcvtneps2bf16,
  /// which would flush denormals): the same as quantize_row.
  static void quantize_activation_row(const float* x, block* y, std::size_t n) noexcept {
    quantize_row(x, y, n);
  }
  /// Σ w·a: the products of two bfloat16s are exact in float; summed in double.
  static float dot(const block* w, const block* a, std::size_t n) noexcept {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(to_f32(w[i]) * to_f32(a[i]));
    return static_cast<float>(s);
  }
};

static_assert(sizeof(f32::block) == 4 && sizeof(f16::block) == 2 && sizeof(bf16::block) == 2);

}  // namespace mmllm::fmt
