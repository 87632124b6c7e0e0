// mmllm/core/f16.hpp — IEEE 754 binary16 storage type and exact conversions.
//
// `f16` is a 2-byte storage type (no arithmetic): convert to float, compute, convert
// back. Conversions are exact and round to nearest even, matching ggml's
// GGML_FP32_TO_FP16 / GGML_FP16_TO_FP32 bit for bit (ggml uses F16C on x86, whose
// results these equal). Bulk row conversions with F16C/AVX-512 live in compute/.
#pragma once

#include <bit>
#include <cstdint>

namespace mmllm {

/// IEEE binary16 value stored as its bit pattern.
struct f16 {
  std::uint16_t bits = 0;

  static constexpr f16 from_bits(std::uint16_t b) noexcept { return f16{b}; }
  friend constexpr bool operator==(f16, f16) noexcept = default;
};

/// binary16 → binary32 (exact; every f16 is representable as a float).
constexpr float to_f32(f16 h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h.bits & 0x8000u) << 16;
  const std::uint32_t exp = (h.bits >> 10) & 0x1fu;
  std::uint32_t mant = h.bits & 0x3ffu;
  if (exp == 0x1f) {  // inf, or NaN made quiet with its payload kept (as F16C does)
    return std::bit_cast<float>(sign | 0x7f800000u | (mant != 0 ? 0x400000u : 0u) | (mant << 13));
  }
  if (exp != 0) {  // normal
    return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
  }
  if (mant == 0) return std::bit_cast<float>(sign);  // ±0
  // subnormal: value = mant * 2^-24; normalise into a float
  std::uint32_t e = 113;  // exponent of 2^-14 in float bias
  while ((mant & 0x400u) == 0) {
    mant <<= 1;
    --e;
  }
  mant &= 0x3ffu;
  return std::bit_cast<float>(sign | (e << 23) | (mant << 13));
}

/// binary32 → binary16, round to nearest even; overflow gives ±inf, NaN stays NaN.
constexpr f16 to_f16(float f) noexcept {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t a = x & 0x7fffffffu;
  if (a > 0x7f800000u) return f16{static_cast<std::uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x3ffu))};
  if (a >= 0x477ff000u) return f16{static_cast<std::uint16_t>(sign | 0x7c00u)};  // ≥ 65520 → inf
  if (a < 0x38800000u) {  // result is a binary16 subnormal (or zero)
    const std::uint32_t e = a >> 23;
    const std::uint32_t shift = 126u - e;  // value = m * 2^-shift in units of 2^-24
    if (shift > 24) return f16{sign};
    const std::uint32_t m = (a & 0x7fffffu) | 0x800000u;
    std::uint32_t h = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1u);
    const std::uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (h & 1u))) ++h;
    return f16{static_cast<std::uint16_t>(sign | h)};
  }
  std::uint32_t h = ((a >> 13) - (112u << 10));
  const std::uint32_t rem = a & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // carry may reach inf: correct
  return f16{static_cast<std::uint16_t>(sign | h)};
}

}  // namespace mmllm
