// mmllm/models/model_desc.hpp — the run-time, data-driven description of a decoder-only
// transformer: what every layer does, filled from GGUF metadata by an architecture type
// (architectures.hpp) and executed by the one decoder stack (decoder.hpp).
//
// A `model_desc` says, for the whole model and per layer: sizes (embedding, heads, KV heads,
// head dims, FFN width), how attention inputs are produced (fused QKV or separate, biases,
// per-head Q/K RMS norms), the rotary embedding of each layer (mode, base, scale, YaRN, per-
// dimension frequency factors, M-RoPE sections), which layers use a sliding window, the FFN
// (SwiGLU or GELU-gated, separate or fused gate/up), extra norms after attention / FFN, the
// embedding scale, Q pre-scaling and softmax scale, and logit soft-capping. Nothing here is
// architecture-specific code: adding an architecture means filling this struct.
//
//   auto desc = mmllm::models::describe_model(reader);   // architectures.hpp
//   desc->layers[5].sliding;                             // gemma3: false (global layer)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../compute/kernel_params.hpp"

namespace mmllm::models {

/// Whether a family of optional tensors (biases, …) must, may or must not be present.
enum class tensor_presence : std::uint8_t {
  absent,    ///< not loaded (ignored when present in the file)
  optional,  ///< loaded when present
  required,  ///< loading fails when missing
};

/// How the FFN combines its gate and up projections.
enum class ffn_kind : std::uint8_t {
  swiglu,  ///< silu(gate) · up
  /// gelu(gate) · up with the GELU evaluated as the peer does on the CPU: through llama.cpp's
  /// fp16 lookup table (compute policy `gelu_f16_table`) — gemma's "gelu_pytorch_tanh".
  geglu_f16_table,
};

/// How the sliding window masks keys (the peer's llama_swa_type; only what is supported).
enum class swa_kind : std::uint8_t {
  none,
  standard,  ///< a key at position p0 is hidden from a query at p1 when p1 − p0 ≥ n_swa
};

/// RoPE frequency-factor tensors used by a model (per-dimension divisors of θ).
enum class rope_factors_kind : std::uint8_t {
  none,
  freqs,       ///< `rope_freqs.weight` (Llama-3 style), used whatever the context size
  long_short,  ///< `rope_factors_long/short.weight` (LongRoPE): long when n_ctx > n_ctx_orig
};

/// One decoder layer.
struct layer_desc {
  std::uint32_t n_head = 0;
  std::uint32_t n_head_kv = 0;
  std::uint32_t n_ff = 0;
  bool sliding = false;       ///< attention restricted to the sliding window (model_desc::n_swa)
  compute::rope_params rope;  ///< everything but freq_factors (bound by the decoder)
};

/// A decoder-only transformer, as data.
struct model_desc {
  std::string arch;  ///< `general.architecture`
  std::string name;  ///< `general.name` (may be empty)

  // sizes
  std::uint32_t n_vocab = 0;
  std::uint32_t n_embd = 0;
  std::uint32_t n_layer = 0;
  std::uint32_t n_ctx_train = 0;
  std::uint32_t head_dim_k = 0;  ///< `attention.key_length`, default n_embd / n_head
  std::uint32_t head_dim_v = 0;  ///< `attention.value_length`, default n_embd / n_head
  float norm_eps = 1e-5f;        ///< RMSNorm epsilon

  // attention inputs
  bool qkv_fused = false;  ///< one `attn_qkv` matrix whose rows are Q, then K, then V
  tensor_presence qkv_bias = tensor_presence::absent;  ///< attn_q/k/v.bias
  tensor_presence out_bias = tensor_presence::absent;  ///< attn_output.bias
  bool qk_norm = false;  ///< RMSNorm of every Q and K head (attn_q_norm / attn_k_norm) before RoPE

  // attention
  float q_scale = 0.0f;       ///< when ≠ 0: Q is multiplied by it after RoPE (the peer's ggml_scale)
  float kq_scale = 1.0f;      ///< scale inside the softmax
  float attn_softcap = 0.0f;  ///< when ≠ 0: scores s → cap·tanh(s/cap) before the softmax
  swa_kind swa = swa_kind::none;
  std::uint32_t n_swa = 0;      ///< sliding window (keys), for layers with `sliding`
  bool post_attn_norm = false;  ///< `attn_post_norm` on the attention output before the residual
  rope_factors_kind rope_factors = rope_factors_kind::none;

  // feed-forward
  ffn_kind ffn = ffn_kind::swiglu;
  bool ffn_fused_gate_up = false;  ///< one `ffn_up` with 2·n_ff rows: [gate; up] (phi3)
  tensor_presence ffn_bias = tensor_presence::absent;
  bool post_ffn_norm = false;  ///< `ffn_post_norm` on the FFN output before the residual

  // embeddings and output
  float embd_scale = 0.0f;  ///< when ≠ 0: token embeddings (not embedding inputs) × it
  tensor_presence output_bias = tensor_presence::absent;  ///< output.bias
  float final_softcap = 0.0f;                             ///< when ≠ 0: logits → cap·tanh(logits/cap)

  /// Number of position streams per token: 1, or 4 for M-RoPE (t, y, x, extra).
  std::uint32_t n_pos_streams = 1;

  std::vector<layer_desc> layers;

  /// Largest per-layer sizes (for buffers).
  [[nodiscard]] std::uint32_t max_n_head() const noexcept { return max_of(&layer_desc::n_head); }
  [[nodiscard]] std::uint32_t max_n_head_kv() const noexcept { return max_of(&layer_desc::n_head_kv); }
  [[nodiscard]] std::uint32_t max_n_ff() const noexcept { return max_of(&layer_desc::n_ff); }
  /// True when any layer uses the sliding window.
  [[nodiscard]] bool any_sliding() const noexcept {
    for (const auto& l : layers)
      if (l.sliding) return true;
    return false;
  }

 private:
  [[nodiscard]] std::uint32_t max_of(std::uint32_t layer_desc::*m) const noexcept {
    std::uint32_t v = 0;
    for (const auto& l : layers) v = l.*m > v ? l.*m : v;
    return v;
  }
};

}  // namespace mmllm::models
