// mmllm/core/bf16.hpp — bfloat16 storage type and conversions.
//
// Rounding follows ggml: round to nearest even; NaN inputs keep their top bits and are
// forced quiet (so conversions of model files agree with ggml bit for bit).
#pragma once

#include <bit>
#include <cstdint>

namespace mmllm {

/// bfloat16 (the top 16 bits of a binary32) stored as its bit pattern.
struct bf16 {
  std::uint16_t bits = 0;

  static constexpr bf16 from_bits(std::uint16_t b) noexcept { return bf16{b}; }
  friend constexpr bool operator==(bf16, bf16) noexcept = default;
};

/// bfloat16 → binary32 (exact).
constexpr float to_f32(bf16 h) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(h.bits) << 16);
}

/// binary32 → bfloat16, round to nearest even; NaN becomes a quiet NaN.
constexpr bf16 to_bf16(float f) noexcept {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) {
    return bf16{static_cast<std::uint16_t>((u >> 16) | 0x40u)};
  }
  return bf16{static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16)};
}

}  // namespace mmllm
