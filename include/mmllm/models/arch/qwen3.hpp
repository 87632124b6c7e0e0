// mmllm/models/arch/qwen3.hpp — the `qwen3` architecture (dense Qwen3).
//
// Like qwen2 without biases, plus an RMSNorm of every Q and K head (attn_q_norm /
// attn_k_norm, applied before RoPE); the head size comes from `attention.key_length` and may
// differ from n_embd / n_head. NEOX RoPE, attention scale 1/√head_dim.
#pragma once

#include <string>
#include <string_view>

#include "../../core/result.hpp"
#include "../hparams.hpp"
#include "../model_desc.hpp"

namespace mmllm::models::arch {

struct qwen3 {
  static constexpr std::string_view name = "qwen3";

  static result<void> describe(const hparams_reader&, const common_hparams& c, model_desc& d) {
    if (c.n_rot != d.head_dim_k || d.head_dim_k != d.head_dim_v)
      return make_error(errc::unsupported,
                        "model: qwen3 needs rope.dimension_count == key_length == value_length");
    set_rope_mode(d, compute::rope_mode::neox);
    d.qk_norm = true;
    return ok();
  }
};

}  // namespace mmllm::models::arch
