// mmllm/compute/kernel_params.hpp — parameter structs shared by every compute policy.
//
// Kept apart from the kernels so that the reference policy, the SIMD policy and the
// `compute_policy` concept can name them without pulling in any kernel code.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace mmllm::compute {

/// How rope pairs the dimensions of a head and where it takes positions from (ggml's modes).
enum class rope_mode : std::uint8_t {
  normal,  ///< pairs (2i, 2i+1) — GGML_ROPE_TYPE_NORMAL (llama)
  neox,    ///< pairs (i, i + n_dims/2) — GGML_ROPE_TYPE_NEOX (gpt-neox, qwen2, gemma …)
  mrope,   ///< neox pairing, 4 position streams chosen per frequency by `sections` (qwen2vl LM)
  vision,  ///< pairs (i, i + n_dims) over the whole head, n_dims = head_dim/2, sections reset theta
  imrope,  ///< interleaved M-RoPE (qwen3vl): stream chosen by frequency index modulo 3
};

/// Rotary position embedding parameters, with ggml's meanings (ggml_rope_ext / ggml_rope_multi).
struct rope_params {
  std::size_t n_dims = 0;  ///< rotated dimensions per head (even, ≤ head_dim); the rest are copied
  rope_mode mode = rope_mode::normal;
  float freq_base = 10000.0f;              ///< θ_i = pos · freq_base^(-2i/n_dims)
  float freq_scale = 1.0f;                 ///< position interpolation factor (1 / linear scaling)
  std::int32_t n_ctx_orig = 0;             ///< training context length (YaRN correction dims)
  float ext_factor = 0.0f;                 ///< YaRN extrapolation mix; 0 disables YaRN
  float attn_factor = 1.0f;                ///< multiplies cos and sin (YaRN magnitude scale)
  float beta_fast = 32.0f;                 ///< YaRN: rotations at which extrapolation starts
  float beta_slow = 1.0f;                  ///< YaRN: rotations at which interpolation is complete
  std::span<const float> freq_factors{};   ///< optional per-frequency divisors of θ (n_dims/2 values)
  std::array<std::int32_t, 4> sections{};  ///< M-RoPE / vision: frequencies per position stream
};

/// Options of the SIMD policy's matmul.
struct matmul_options {
  /// Peer quirk (llama.cpp): with f16 / bf16 weights the activations are rounded to f16 /
  /// bf16 before the products (ggml's vec_dot_type), in the GEMM path as in the dot path.
  /// On by default so results match the peer; off keeps f32 activations in the GEMM path
  /// (slightly more accurate). The quantized dot path always uses the format's activation type.
  bool peer_activation_rounding = true;
  /// f32/f16/bf16 weights with at least this many activation rows use the packed GEMM;
  /// fewer rows use the format's dot-product tiles (memory-bound mat-vec).
  std::size_t gemm_min_rows = 16;
};

}  // namespace mmllm::compute
