// mmllm/models/arch/llama.hpp — the `llama` architecture (Llama 1/2/3, TinyLlama, SmolLM,
// Mistral-style dense models, llama2.c exports such as stories260K).
//
// Pre-norm decoder: RMSNorm → Q, K, V (optional biases) → RoPE in the "normal" (adjacent
// pairs) mode, optionally with Llama-3 `rope_freqs` frequency divisors or LongRoPE factors
// → attention (scale 1/√head_dim) → output (optional bias) → residual; RMSNorm → SwiGLU FFN
// (optional biases) → residual. Untied or tied output. Refused: mixture of experts, a
// rotary dimension count different from the head size (the peer refuses it too).
#pragma once

#include <string>
#include <string_view>

#include "../../core/result.hpp"
#include "../hparams.hpp"
#include "../model_desc.hpp"

namespace mmllm::models::arch {

struct llama {
  static constexpr std::string_view name = "llama";

  static result<void> describe(const hparams_reader&, const common_hparams& c, model_desc& d) {
    if (c.n_rot != d.head_dim_k || d.head_dim_k != d.head_dim_v)
      return make_error(errc::unsupported,
                        "model: llama needs rope.dimension_count == key_length == value_length (got ",
                        std::to_string(c.n_rot), ", ", std::to_string(d.head_dim_k), ", ",
                        std::to_string(d.head_dim_v), ")");
    set_rope_mode(d, compute::rope_mode::normal);
    d.qkv_bias = tensor_presence::optional;
    d.out_bias = tensor_presence::optional;
    d.ffn_bias = tensor_presence::optional;
    if (d.rope_factors == rope_factors_kind::none) d.rope_factors = rope_factors_kind::freqs;
    return ok();
  }
};

}  // namespace mmllm::models::arch
