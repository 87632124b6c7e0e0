// mmllm/models/hparams.hpp — reading a model's hyper-parameters from GGUF metadata.
//
// `hparams_reader` reads `<arch>.…` keys with clear errors that name the key.
// `read_common_hparams` fills the parts of a `model_desc` that every decoder architecture
// reads the same way (the peer's llama_model::load_hparams before its per-architecture
// switch): sizes, head counts (a number or a per-layer array), head dims, RoPE base and
// scaling (none / linear / yarn / longrope), vocabulary size. Architecture types
// (architectures.hpp) then add what is theirs.
//
//   mmllm::models::hparams_reader h(reader, "llama");
//   auto eps = h.get<float>("attention.layer_norm_rms_epsilon");   // reads llama.attention.…
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../core/result.hpp"
#include "../io/gguf_reader.hpp"
#include "model_desc.hpp"

namespace mmllm::models {

/// Reads `<arch>.<suffix>` keys of one GGUF file.
class hparams_reader {
 public:
  hparams_reader(const gguf_reader& r, std::string_view arch) : r_(&r), arch_(arch) {}

  [[nodiscard]] const gguf_reader& file() const noexcept { return *r_; }
  [[nodiscard]] const std::string& arch() const noexcept { return arch_; }
  /// "<arch>.<suffix>".
  [[nodiscard]] std::string key(std::string_view suffix) const { return arch_ + "." + std::string(suffix); }

  /// The value of a required key, converted to T (integers range-checked).
  template <class T>
  [[nodiscard]] result<T> get(std::string_view suffix) const {
    const std::string k = key(suffix);
    if (!r_->contains(k))
      return make_error(errc::not_found, "model: required hyper-parameter '", k, "' is missing");
    return r_->get_as<T>(k);
  }
  /// The value of an optional key, or nullopt when absent.
  template <class T>
  [[nodiscard]] result<std::optional<T>> get_optional(std::string_view suffix) const {
    const std::string k = key(suffix);
    if (!r_->contains(k)) return std::optional<T>();
    MMLLM_TRY_ASSIGN(T v, r_->get_as<T>(k));
    return std::optional<T>(v);
  }
  /// A key that is either one unsigned number for all layers or an array with one per layer
  /// (the peer's get_key_or_arr); nullopt when absent.
  [[nodiscard]] result<std::optional<std::vector<std::uint32_t>>> get_per_layer(std::string_view suffix,
                                                                                std::uint32_t n_layer) const {
    using out_t = std::optional<std::vector<std::uint32_t>>;
    const std::string k = key(suffix);
    const gguf_value* v = r_->find(k);
    if (v == nullptr) return out_t();
    if (!v->is_array()) {
      MMLLM_TRY_ASSIGN(const std::uint32_t n, v->as<std::uint32_t>());
      return out_t(std::vector<std::uint32_t>(n_layer, n));
    }
    MMLLM_TRY_ASSIGN(const gguf_array a, v->get<gguf_array>());
    if (a.size() != n_layer)
      return make_error(errc::malformed, "model: '", k, "' has ", std::to_string(a.size()),
                        " entries, expected one per layer (", std::to_string(n_layer), ")");
    std::vector<std::uint32_t> out;
    out.reserve(n_layer);
    for (std::size_t i = 0; i < a.size(); ++i) {
      auto e = a[i].as<std::uint32_t>();
      if (!e)
        return make_error(e.error().code, "model: '", k, "'[", std::to_string(i), "]: ", e.error().message);
      out.push_back(*e);
    }
    return out_t(std::move(out));
  }

 private:
  const gguf_reader* r_;
  std::string arch_;
};

/// Rope scaling types (the peer's llama_rope_scaling_type).
enum class rope_scaling : std::uint8_t { none, linear, yarn, longrope };

/// What read_common_hparams learns besides the model_desc fields.
struct common_hparams {
  rope_scaling scaling = rope_scaling::linear;
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;   ///< 1 / scaling factor (1 when no factor or type none)
  std::uint32_t n_rot = 0;        ///< rotated dims (`rope.dimension_count`, default head_dim_k)
  std::uint32_t n_ctx_orig = 0;   ///< `rope.scaling.original_context_length`, default n_ctx_train
  float rope_attn_factor = 1.0f;  ///< `rope.scaling.attn_factor`
};

/// Fills sizes, per-layer head counts and FFN widths, head dims, norm epsilon and the RoPE
/// parameters every layer starts from (mode `normal`; architectures change what differs).
inline result<common_hparams> read_common_hparams(const hparams_reader& h, model_desc& d) {
  common_hparams c;
  d.arch = h.arch();
  if (auto n = h.file().get_optional<std::string_view>("general.name"); n && *n) d.name = std::string(**n);
  MMLLM_TRY_ASSIGN(d.n_ctx_train, h.get<std::uint32_t>("context_length"));
  MMLLM_TRY_ASSIGN(d.n_embd, h.get<std::uint32_t>("embedding_length"));
  MMLLM_TRY_ASSIGN(d.n_layer, h.get<std::uint32_t>("block_count"));
  if (d.n_embd == 0 || d.n_layer == 0)
    return make_error(errc::malformed, "model: embedding_length and block_count must be positive");
  if (d.n_layer > 4096)
    return make_error(errc::out_of_range, "model: block_count ", std::to_string(d.n_layer),
                      " is implausible");
  MMLLM_TRY_ASSIGN(const auto n_expert, h.get_optional<std::uint32_t>("expert_count"));
  if (n_expert && *n_expert > 0)
    return make_error(errc::unsupported, "model: ", h.arch(),
                      " with experts (mixture of experts, expert_count > 0) is not supported");

  MMLLM_TRY_ASSIGN(const auto n_head, h.get_per_layer("attention.head_count", d.n_layer));
  if (!n_head)
    return make_error(errc::not_found, "model: required hyper-parameter '", h.key("attention.head_count"),
                      "' is missing");
  MMLLM_TRY_ASSIGN(const auto n_head_kv, h.get_per_layer("attention.head_count_kv", d.n_layer));
  MMLLM_TRY_ASSIGN(const auto n_ff, h.get_per_layer("feed_forward_length", d.n_layer));
  if (!n_ff)
    return make_error(errc::not_found, "model: required hyper-parameter '", h.key("feed_forward_length"),
                      "' is missing");
  d.layers.assign(d.n_layer, layer_desc{});
  for (std::uint32_t i = 0; i < d.n_layer; ++i) {
    auto& l = d.layers[i];
    l.n_head = (*n_head)[i];
    l.n_head_kv = n_head_kv ? (*n_head_kv)[i] : l.n_head;
    l.n_ff = (*n_ff)[i];
    if (l.n_head == 0 || l.n_head_kv == 0 || l.n_head % l.n_head_kv != 0)
      return make_error(errc::unsupported, "model: layer ", std::to_string(i), " has ",
                        std::to_string(l.n_head), " heads and ", std::to_string(l.n_head_kv),
                        " KV heads (attention-free layers or head counts that are not a multiple of the KV "
                        "head count are not supported)");
    if (l.n_ff == 0)
      return make_error(errc::unsupported, "model: layer ", std::to_string(i),
                        " has no feed-forward network");
  }
  const std::uint32_t head0 = d.layers[0].n_head;
  MMLLM_TRY_ASSIGN(const auto hk, h.get_optional<std::uint32_t>("attention.key_length"));
  MMLLM_TRY_ASSIGN(const auto hv, h.get_optional<std::uint32_t>("attention.value_length"));
  d.head_dim_k = hk.value_or(d.n_embd / head0);
  d.head_dim_v = hv.value_or(d.n_embd / head0);
  if (d.head_dim_k == 0 || d.head_dim_v == 0 || d.head_dim_k % 2 != 0)
    return make_error(errc::malformed, "model: bad head dimensions (key ", std::to_string(d.head_dim_k),
                      ", value ", std::to_string(d.head_dim_v), ")");
  MMLLM_TRY_ASSIGN(d.norm_eps, h.get<float>("attention.layer_norm_rms_epsilon"));

  // vocabulary size: <arch>.vocab_size, else the tokenizer's token count
  MMLLM_TRY_ASSIGN(const auto nv, h.get_optional<std::uint32_t>("vocab_size"));
  if (nv) {
    d.n_vocab = *nv;
  } else if (const gguf_value* t = h.file().find("tokenizer.ggml.tokens"); t != nullptr && t->is_array()) {
    MMLLM_TRY_ASSIGN(const gguf_array a, t->get<gguf_array>());
    d.n_vocab = static_cast<std::uint32_t>(a.size());
  }  // else: taken from token_embd's shape when the weights are loaded

  // RoPE
  MMLLM_TRY_ASSIGN(const auto base, h.get_optional<float>("rope.freq_base"));
  c.rope_freq_base = base.value_or(10000.0f);
  MMLLM_TRY_ASSIGN(const auto type, h.get_optional<std::string>("rope.scaling.type"));
  const std::string t = type.value_or("linear");
  if (t == "none")
    c.scaling = rope_scaling::none;
  else if (t == "linear")
    c.scaling = rope_scaling::linear;
  else if (t == "yarn")
    c.scaling = rope_scaling::yarn;
  else if (t == "longrope")
    c.scaling = rope_scaling::longrope;
  else
    return make_error(errc::unsupported, "model: rope scaling type '", t, "' (", h.key("rope.scaling.type"),
                      ") is not supported");
  MMLLM_TRY_ASSIGN(auto factor, h.get_optional<float>("rope.scaling.factor"));
  if (!factor) {
    MMLLM_TRY_ASSIGN(factor, h.get_optional<float>("rope.scale_linear"));
  }
  c.rope_freq_scale = factor && *factor != 0.0f ? 1.0f / *factor : 1.0f;
  if (c.scaling == rope_scaling::none) c.rope_freq_scale = 1.0f;
  MMLLM_TRY_ASSIGN(const auto attn_factor, h.get_optional<float>("rope.scaling.attn_factor"));
  c.rope_attn_factor = attn_factor.value_or(1.0f);
  MMLLM_TRY_ASSIGN(const auto orig, h.get_optional<std::uint32_t>("rope.scaling.original_context_length"));
  c.n_ctx_orig = orig.value_or(d.n_ctx_train);
  MMLLM_TRY_ASSIGN(const auto n_rot, h.get_optional<std::uint32_t>("rope.dimension_count"));
  c.n_rot = n_rot.value_or(d.head_dim_k);
  if (c.n_rot % 2 != 0 || c.n_rot > d.head_dim_k)
    return make_error(errc::unsupported, "model: rope.dimension_count ", std::to_string(c.n_rot),
                      " must be even and at most the head dimension ", std::to_string(d.head_dim_k));

  for (auto& l : d.layers) {
    compute::rope_params& p = l.rope;
    p.n_dims = c.n_rot;
    p.mode = compute::rope_mode::normal;
    p.freq_base = c.rope_freq_base;
    p.freq_scale = c.rope_freq_scale;
    p.n_ctx_orig = static_cast<std::int32_t>(c.n_ctx_orig);
    // peer (llama_context): ext_factor 1 for YaRN, else 0; attn_factor = 1 · rope attn factor
    p.ext_factor = c.scaling == rope_scaling::yarn ? 1.0f : 0.0f;
    p.attn_factor = c.rope_attn_factor;
    p.beta_fast = 32.0f;
    p.beta_slow = 1.0f;
  }
  d.kq_scale = 1.0f / std::sqrt(static_cast<float>(d.head_dim_v));
  if (c.scaling == rope_scaling::longrope) d.rope_factors = rope_factors_kind::long_short;
  return c;
}

/// Sets every layer's RoPE mode.
inline void set_rope_mode(model_desc& d, compute::rope_mode m) {
  for (auto& l : d.layers) l.rope.mode = m;
}

}  // namespace mmllm::models
