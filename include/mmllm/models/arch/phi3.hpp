// mmllm/models/arch/phi3.hpp — the `phi3` architecture (Phi-3 / Phi-3.5 / Phi-4-mini).
//
// Fused `attn_qkv` (rows: Q, then K, then V) and fused `ffn_up` holding [gate; up] (2·n_ff
// rows; SwiGLU = silu(first half) · second half). NEOX RoPE with optional LongRoPE factors
// (`rope_factors_long/short.weight`, long ones when the context exceeds the original one).
// Q is scaled by 1/√head_dim after RoPE and the softmax scale is 1 (the peer's order).
// Peer quirks (kept, see the functions below): a `sliding_window` key is ignored (the peer
// disables phi3 SWA), and the query block of attn_qkv is n_embd wide.
#pragma once

#include <cmath>
#include <string>
#include <string_view>

#include "../../core/result.hpp"
#include "../hparams.hpp"
#include "../model_desc.hpp"

namespace mmllm::models::arch {

struct phi3 {
  static constexpr std::string_view name = "phi3";

  /// Peer quirk: llama.cpp 583cb834 reads phi3's sliding window and then turns SWA off
  /// ("Phi SWA is currently disabled"), so every layer attends to the whole context.
  static constexpr bool peer_quirk_phi3_swa_disabled = true;

  static result<void> describe(const hparams_reader&, const common_hparams& c, model_desc& d) {
    if (d.head_dim_k != d.head_dim_v || d.head_dim_k * d.layers[0].n_head != d.n_embd)
      return make_error(errc::unsupported, "model: phi3 needs head_dim · n_head == n_embd");
    (void)c;
    set_rope_mode(d, compute::rope_mode::neox);
    d.qkv_fused = true;
    d.ffn_fused_gate_up = true;
    d.q_scale = 1.0f / std::sqrt(static_cast<float>(d.head_dim_k));
    d.kq_scale = 1.0f;
    d.output_bias = tensor_presence::optional;
    d.rope_factors = rope_factors_kind::long_short;
    if (peer_quirk_phi3_swa_disabled) d.swa = swa_kind::none;
    return ok();
  }
};

}  // namespace mmllm::models::arch
