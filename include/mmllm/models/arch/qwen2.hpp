// mmllm/models/arch/qwen2.hpp — the `qwen2` architecture (Qwen1.5, Qwen2, Qwen2.5) and its
// M-RoPE variant `qwen2vl` (the language model of Qwen2-VL / Qwen2.5-VL).
//
// Like llama, but Q, K and V always carry biases (required), RoPE uses the NEOX pairing
// (i, i + n_rot/2), the output may carry a bias, and the embeddings are often tied.
// qwen2vl: RoPE mode `mrope` with the four frequency sections of `rope.dimension_sections`;
// every token has 4 position streams (t, y, x, extra), text tokens the same value in all 4.
// Peer quirk (kept): the query size must equal n_embd (the peer loads attn_q as n_embd × n_embd).
#pragma once

#include <string>
#include <string_view>

#include "../../core/result.hpp"
#include "../hparams.hpp"
#include "../model_desc.hpp"

namespace mmllm::models::arch {

namespace detail {
inline result<void> describe_qwen2_common(const common_hparams& c, model_desc& d) {
  if (c.n_rot != d.head_dim_k || d.head_dim_k != d.head_dim_v ||
      d.head_dim_k * d.layers[0].n_head != d.n_embd)
    return make_error(errc::unsupported, "model: ", d.arch,
                      " needs head_dim · n_head == n_embd and rope.dimension_count == head_dim");
  d.qkv_bias = tensor_presence::required;
  d.output_bias = tensor_presence::optional;
  return ok();
}
}  // namespace detail

struct qwen2 {
  static constexpr std::string_view name = "qwen2";

  static result<void> describe(const hparams_reader&, const common_hparams& c, model_desc& d) {
    MMLLM_TRY(detail::describe_qwen2_common(c, d));
    set_rope_mode(d, compute::rope_mode::neox);
    return ok();
  }
};

struct qwen2vl {
  static constexpr std::string_view name = "qwen2vl";

  static result<void> describe(const hparams_reader& h, const common_hparams& c, model_desc& d) {
    MMLLM_TRY(detail::describe_qwen2_common(c, d));
    set_rope_mode(d, compute::rope_mode::mrope);
    const std::string key = h.key("rope.dimension_sections");
    const gguf_value* v = h.file().find(key);
    if (v == nullptr)
      return make_error(errc::not_found, "model: required hyper-parameter '", key, "' is missing");
    MMLLM_TRY_ASSIGN(const gguf_array a, v->get<gguf_array>());
    if (a.size() < 3 || a.size() > 4)
      return make_error(errc::malformed, "model: '", key, "' needs 3 or 4 entries");
    std::array<std::int32_t, 4> s{};
    std::int64_t total = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      MMLLM_TRY_ASSIGN(s[i], a[i].as<std::int32_t>());
      if (s[i] < 0) return make_error(errc::malformed, "model: '", key, "' has a negative entry");
      total += s[i];
    }
    if (total == 0 || total * 2 > static_cast<std::int64_t>(c.n_rot))
      return make_error(errc::malformed, "model: '", key, "' must sum to at most rope.dimension_count / 2");
    for (auto& l : d.layers) l.rope.sections = s;
    d.n_pos_streams = 4;
    return ok();
  }
};

}  // namespace mmllm::models::arch
