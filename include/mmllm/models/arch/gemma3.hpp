// mmllm/models/arch/gemma3.hpp — the `gemma3` architecture (Gemma 3 text models and the
// language model of Gemma 3 vision models).
//
// Token embeddings × √n_embd (embedding inputs, e.g. image features, are NOT scaled);
// RMSNorm → Q, K, V → per-head RMSNorm of Q and K → NEOX RoPE → Q × attention scale →
// attention (softmax scale 1) → output → attn_post_norm → residual; RMSNorm → GELU-gated FFN
// (GELU through the peer's fp16 table) → ffn_post_norm → residual. Interleaved sliding-window
// layers. Norm weights are stored as used (the "+1" is folded in by the converter).
//
// Peer quirks (llama.cpp 583cb834 hard-codes these; GGUF keys do not describe them), all in
// this file:
//   - peer_quirk_gemma3_is_sliding: layer i uses the sliding window iff i % 6 < 5;
//   - peer_quirk_gemma3_swa_rope: sliding layers use RoPE base 10000 and scale 1, whatever
//     rope.freq_base / rope.scaling say (those apply to the global layers);
//   - peer_quirk_gemma3_attention_scale: 1/√key_length, except for the 27B model (62 layers),
//     which uses 1/√(n_embd / n_head);
//   - `final_logit_softcapping` / `attn_logit_softcapping` keys are not read (the peer's
//     gemma3 graph has no soft-capping).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "../../core/result.hpp"
#include "../hparams.hpp"
#include "../model_desc.hpp"

namespace mmllm::models::arch {

struct gemma3 {
  static constexpr std::string_view name = "gemma3";

  /// Peer quirk: the sliding-window layer pattern (5 sliding, then 1 global).
  static constexpr bool peer_quirk_gemma3_is_sliding(std::uint32_t layer) noexcept { return layer % 6 < 5; }
  /// Peer quirk: RoPE base and scale of sliding layers.
  static constexpr float peer_quirk_gemma3_swa_rope_base = 10000.0f;
  static constexpr float peer_quirk_gemma3_swa_rope_scale = 1.0f;
  /// Peer quirk: the query scale.
  static float peer_quirk_gemma3_attention_scale(const model_desc& d) noexcept {
    // NOLINTNEXTLINE(bugprone-integer-division): the peer divides n_embd by n_head in integers
    return d.n_layer == 62 ? 1.0f / std::sqrt(static_cast<float>(d.n_embd / d.layers[0].n_head))
                           : 1.0f / std::sqrt(static_cast<float>(d.head_dim_k));
  }

  static result<void> describe(const hparams_reader& h, const common_hparams&, model_desc& d) {
    set_rope_mode(d, compute::rope_mode::neox);
    d.qk_norm = true;
    d.post_attn_norm = true;
    d.post_ffn_norm = true;
    d.ffn = ffn_kind::geglu_f16_table;
    d.embd_scale = std::sqrt(static_cast<float>(d.n_embd));
    d.q_scale = peer_quirk_gemma3_attention_scale(d);
    d.kq_scale = 1.0f;
    MMLLM_TRY_ASSIGN(d.n_swa, h.get<std::uint32_t>("attention.sliding_window"));
    d.swa = swa_kind::standard;
    for (std::uint32_t i = 0; i < d.n_layer; ++i) {
      auto& l = d.layers[i];
      l.sliding = peer_quirk_gemma3_is_sliding(i);
      if (l.sliding) {
        l.rope.freq_base = peer_quirk_gemma3_swa_rope_base;
        l.rope.freq_scale = peer_quirk_gemma3_swa_rope_scale;
      }
    }
    return ok();
  }
};

}  // namespace mmllm::models::arch
