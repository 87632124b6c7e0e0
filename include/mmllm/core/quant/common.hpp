// mmllm/core/quant/common.hpp — helpers shared by the block-format headers in core/quant/.
//
// Internal (namespace mmllm::detail): ggml's rounding helpers re-expressed without undefined
// behaviour, half-precision scale conversions, the non-linear value tables, and the
// macros that keep reference arithmetic bit-exact with the peer. Include a format header
// (plain.hpp, legacy.hpp, k_quants.hpp, iq4.hpp, mxfp4.hpp) or core/quant_formats.hpp
// instead of this one.
//
// Bit-exactness and floating-point contraction: ggml's reference (de)quantization is
// compiled for the baseline target, so `a*b + c` is always two roundings. A compiler may
// fuse such expressions into one FMA when FMA is enabled (-march=native, or after inlining
// into an AVX2 kernel) — GCC even in ISO mode. Every function whose float results must be
// bit-exact is therefore marked MMLLM_QUANT_EXACT_FN (GCC: fp-contract=off for that
// function, which also keeps it from being inlined into code compiled otherwise) and
// starts its body with MMLLM_QUANT_EXACT_BODY (clang: `STDC FP_CONTRACT OFF`).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "../bf16.hpp"
#include "../dtype.hpp"
#include "../f16.hpp"

#if defined(__clang__)
#define MMLLM_QUANT_EXACT_FN
#define MMLLM_QUANT_EXACT_BODY _Pragma("STDC FP_CONTRACT OFF")
#elif defined(__GNUC__)
#define MMLLM_QUANT_EXACT_FN __attribute__((optimize("fp-contract=off")))
#define MMLLM_QUANT_EXACT_BODY
#else
#define MMLLM_QUANT_EXACT_FN
#define MMLLM_QUANT_EXACT_BODY
#endif

namespace mmllm::detail {

/// Elements per super-block of the k-quants, iq4_xs and q8_K.
inline constexpr std::size_t qk_k = 256;

/// x86 `cvttss2si` semantics: truncate toward zero; NaN and out-of-range give INT32_MIN.
/// ggml converts floats to small integers with plain C casts, which compile to this
/// instruction on x86; spelling it out keeps odd inputs (NaN, ±inf) defined and equal.
constexpr std::int32_t cvtt_i32(float v) noexcept {
  if (!(v > -2147483904.0f && v < 2147483648.0f)) return INT32_MIN;  // NaN or |v| ≥ 2^31
  return static_cast<std::int32_t>(v);
}

/// x86 `cvtss2si` under the default rounding mode: nearest, ties to even; NaN and
/// out-of-range give INT32_MIN.
constexpr std::int32_t cvtn_i32(float v) noexcept {
  if (!(v > -2147483904.0f && v < 2147483648.0f)) return INT32_MIN;
  // |v| < 2^23: the fraction matters; at or above it every float is an integer.
  if (v >= 8388608.0f || v <= -8388608.0f) return static_cast<std::int32_t>(v);
  const auto t = static_cast<std::int32_t>(v);   // toward zero
  const float frac = v - static_cast<float>(t);  // exact
  if (frac > 0.5f || (frac == 0.5f && (t & 1) != 0)) return t + 1;
  if (frac < -0.5f || (frac == -0.5f && (t & 1) != 0)) return t - 1;
  return t;
}

/// ggml's `nearest_int`: adds 1.5·2^23 and reads the low mantissa bits, i.e. rounds to
/// nearest (ties to even) for |v| ≤ 2^22; larger magnitudes wrap exactly as ggml's do.
constexpr int nearest_int(float v) noexcept {
  const float biased = v + 12582912.0f;
  const auto bits = std::bit_cast<std::int32_t>(biased);
  return (bits & 0x007fffff) - 0x00400000;
}

/// ggml's MAX(a, b): a if a > b, else b — also what `vmaxps a, b` does on one lane (a NaN
/// in either operand yields b).
constexpr float c_max(float a, float b) noexcept { return a > b ? a : b; }

/// C's roundf (half away from zero) followed by the float→int8 cast ggml writes as
/// `y.qs[j] = roundf(v)`, with x86 conversion semantics for out-of-range values.
constexpr std::int8_t round_away_to_i8(float v) noexcept {
  // roundf: |v| rounded half up, sign restored; every float at or above 2^23 is integral.
  const float a = v < 0.0f ? -v : v;
  float m = a;
  if (a < 8388608.0f) {
    const auto t = static_cast<std::int32_t>(a);
    m = static_cast<float>(a - static_cast<float>(t) >= 0.5f ? t + 1 : t);
  }
  return static_cast<std::int8_t>(cvtt_i32(v < 0.0f ? -m : m));
}

/// binary16 → float (scales are stored as f16).
constexpr float f16_to_f32(f16 h) noexcept { return to_f32(h); }

/// E8M0 exponent byte → 2^(e-128), i.e. half the MX scale (ggml's mxfp4 values are doubled).
constexpr float e8m0_to_f32_half(std::uint8_t e) noexcept {
  const std::uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<std::uint32_t>(e - 1) << 23);
  return std::bit_cast<float>(bits);
}

/// The 16 non-linear levels of iq4_nl / iq4_xs.
inline constexpr std::int8_t iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                                 1,    13,   25,  38,  53,  69,  89,  113};

/// The 16 E2M1 (fp4) values of mxfp4, doubled so they are integers.
inline constexpr std::int8_t mxfp4_values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

/// Unpacks the j-th (0..7) 6-bit scale and min of a q4_K / q5_K block's 12 scale bytes.
constexpr void scale_min_k4(int j, const std::uint8_t* q, std::uint8_t& d, std::uint8_t& m) noexcept {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = static_cast<std::uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    m = static_cast<std::uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
  }
}

/// Unpacks the 16 signed 6-bit scales (already minus 32) of a q3_K block's 12 scale bytes.
constexpr void q3k_scales(const std::uint8_t* s, std::int8_t out[16]) noexcept {
  for (int j = 0; j < 16; ++j) {
    const int lo = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
    const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    out[j] = static_cast<std::int8_t>((lo | (hi << 4)) - 32);
  }
}

}  // namespace mmllm::detail
