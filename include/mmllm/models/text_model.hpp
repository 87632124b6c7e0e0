// mmllm/models/text_model.hpp — a decoder-only language model loaded from a GGUF file: its
// description (model_desc) and its weights, used in place from the memory-mapped file.
//
// Matrices stay in the file's format (f32, f16, bf16, every quantized type the compute layer
// supports) and are never copied; 1-D tensors (norms, biases, RoPE factors) are used in place
// when stored as f32 and converted once otherwise. Every tensor is checked against the shape
// the description implies; a missing or mis-shaped tensor, an unsupported tensor type or an
// unsupported architecture gives an error naming it.
//
//   auto model = mmllm::models::text_model::open("model.gguf");   // result<text_model>
//   if (!model) { log(model.error().what()); return; }
//   model->desc().n_layer;  model->layers()[0].wq;  model->file();  // the reader
//
// A text_model is immutable after loading, movable, and may be shared by several decoders
// (each with its own compute policy and buffers) on different threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/any_matrix_view.hpp"
#include "../core/bf16.hpp"
#include "../core/dtype.hpp"
#include "../core/f16.hpp"
#include "../core/result.hpp"
#include "../io/gguf_reader.hpp"
#include "architectures.hpp"
#include "model_desc.hpp"

namespace mmllm::models {

/// The weights of one decoder layer (empty views / spans for absent tensors).
struct layer_weights {
  std::span<const float> attn_norm;
  any_matrix_view wq, wk, wv;  ///< separate projections (rows: n_head·hd_k, n_head_kv·hd_k, n_head_kv·hd_v)
  any_matrix_view wqkv;        ///< fused projection (rows Q, K, V) when model_desc::qkv_fused
  std::span<const float> bq, bk, bv;
  std::span<const float> q_norm, k_norm;  ///< per-head (head_dim_k values)
  any_matrix_view wo;
  std::span<const float> bo;
  std::span<const float> attn_post_norm;
  std::span<const float> ffn_norm;
  any_matrix_view ffn_gate, ffn_up, ffn_down;  ///< ffn_up has 2·n_ff rows when fused
  std::span<const float> ffn_gate_b, ffn_up_b, ffn_down_b;
  std::span<const float> ffn_post_norm;
};

/// A loaded model (see the header comment).
class text_model {
 public:
  text_model(text_model&&) noexcept = default;
  text_model& operator=(text_model&&) noexcept = default;
  text_model(const text_model&) = delete;
  text_model& operator=(const text_model&) = delete;
  ~text_model() = default;

  /// Maps and loads the file at `path`.
  static result<text_model> open(std::string_view path) {
    MMLLM_TRY_ASSIGN(gguf_reader r, gguf_reader::open(path));
    return load(std::move(r));
  }

  /// Loads a model from a parsed file (kept inside the model: weights point into it).
  template <class List = text_architectures>
  static result<text_model> load(gguf_reader reader) {
    MMLLM_TRY_ASSIGN(model_desc d, describe_model<List>(reader));
    text_model m(std::move(reader));
    m.desc_ = std::move(d);
    MMLLM_TRY(m.load_weights());
    return m;
  }

  [[nodiscard]] const model_desc& desc() const noexcept { return desc_; }
  [[nodiscard]] const gguf_reader& file() const noexcept { return reader_; }
  [[nodiscard]] std::span<const layer_weights> layers() const noexcept { return layers_; }
  [[nodiscard]] const any_matrix_view& token_embd() const noexcept { return token_embd_; }
  /// The output projection (token_embd when the embeddings are tied).
  [[nodiscard]] const any_matrix_view& output() const noexcept { return output_; }
  [[nodiscard]] bool tied_output() const noexcept { return tied_; }
  [[nodiscard]] std::span<const float> output_norm() const noexcept { return output_norm_; }
  [[nodiscard]] std::span<const float> output_bias() const noexcept { return output_b_; }
  /// Per-dimension RoPE divisors (n_rot/2 values) for a context of `n_ctx` tokens, or empty.
  [[nodiscard]] std::span<const float> rope_factors(std::uint32_t n_ctx) const noexcept {
    switch (desc_.rope_factors) {
      case rope_factors_kind::none: return {};
      case rope_factors_kind::freqs: return rope_freqs_;
      case rope_factors_kind::long_short:
        return n_ctx > static_cast<std::uint32_t>(desc_.layers[0].rope.n_ctx_orig) ? rope_long_ : rope_short_;
    }
    return {};
  }
  /// Bytes of all weight tensors used (each counted once).
  [[nodiscard]] std::uint64_t weight_bytes() const noexcept { return weight_bytes_; }
  /// Number of weight parameters (elements of all tensors used, each counted once).
  [[nodiscard]] std::uint64_t n_params() const noexcept { return n_params_; }

 private:
  explicit text_model(gguf_reader r) noexcept : reader_(std::move(r)) {}

  result<void> load_weights() {
    const model_desc& d = desc_;
    const std::uint64_t E = d.n_embd;
    // token embeddings decide the vocabulary size when metadata does not
    MMLLM_TRY_ASSIGN(const gguf_tensor_info te, find("token_embd.weight", true));
    if (te.n_dims != 2 || te.ne[0] != E) return shape_error(te, {E, d.n_vocab});
    if (desc_.n_vocab == 0) desc_.n_vocab = static_cast<std::uint32_t>(te.ne[1]);
    const std::uint64_t V = desc_.n_vocab;
    MMLLM_TRY_ASSIGN(token_embd_, matrix("token_embd.weight", E, V, true));
    MMLLM_TRY_ASSIGN(output_norm_, vector("output_norm.weight", E, tensor_presence::required));
    MMLLM_TRY_ASSIGN(output_, matrix("output.weight", E, V, false));
    tied_ = output_.data == nullptr;
    if (tied_) output_ = token_embd_;
    MMLLM_TRY_ASSIGN(output_b_, vector("output.bias", V, d.output_bias));
    const std::uint64_t n_rot_half = d.layers[0].rope.n_dims / 2;
    if (d.rope_factors == rope_factors_kind::freqs) {
      MMLLM_TRY_ASSIGN(rope_freqs_, vector("rope_freqs.weight", n_rot_half, tensor_presence::optional));
    } else if (d.rope_factors == rope_factors_kind::long_short) {
      MMLLM_TRY_ASSIGN(rope_long_, vector("rope_factors_long.weight", n_rot_half, tensor_presence::optional));
      MMLLM_TRY_ASSIGN(rope_short_,
                       vector("rope_factors_short.weight", n_rot_half, tensor_presence::optional));
    }

    layers_.resize(d.n_layer);
    for (std::uint32_t i = 0; i < d.n_layer; ++i) {
      const layer_desc& l = d.layers[i];
      layer_weights& w = layers_[i];
      const std::string p = "blk." + std::to_string(i) + ".";
      const std::uint64_t nq = std::uint64_t{l.n_head} * d.head_dim_k,
                          nk = std::uint64_t{l.n_head_kv} * d.head_dim_k,
                          nv = std::uint64_t{l.n_head_kv} * d.head_dim_v,
                          no = std::uint64_t{l.n_head} * d.head_dim_v, F = l.n_ff;
      MMLLM_TRY_ASSIGN(w.attn_norm, vector(p + "attn_norm.weight", E, tensor_presence::required));
      if (d.qkv_fused) {
        MMLLM_TRY_ASSIGN(w.wqkv, matrix(p + "attn_qkv.weight", E, nq + nk + nv, true));
      } else {
        MMLLM_TRY_ASSIGN(w.wq, matrix(p + "attn_q.weight", E, nq, true));
        MMLLM_TRY_ASSIGN(w.wk, matrix(p + "attn_k.weight", E, nk, true));
        MMLLM_TRY_ASSIGN(w.wv, matrix(p + "attn_v.weight", E, nv, true));
        MMLLM_TRY_ASSIGN(w.bq, vector(p + "attn_q.bias", nq, d.qkv_bias));
        MMLLM_TRY_ASSIGN(w.bk, vector(p + "attn_k.bias", nk, d.qkv_bias));
        MMLLM_TRY_ASSIGN(w.bv, vector(p + "attn_v.bias", nv, d.qkv_bias));
      }
      if (d.qk_norm) {
        MMLLM_TRY_ASSIGN(w.q_norm, vector(p + "attn_q_norm.weight", d.head_dim_k, tensor_presence::required));
        MMLLM_TRY_ASSIGN(w.k_norm, vector(p + "attn_k_norm.weight", d.head_dim_k, tensor_presence::required));
      }
      MMLLM_TRY_ASSIGN(w.wo, matrix(p + "attn_output.weight", no, E, true));
      MMLLM_TRY_ASSIGN(w.bo, vector(p + "attn_output.bias", E, d.out_bias));
      if (d.post_attn_norm) {
        MMLLM_TRY_ASSIGN(w.attn_post_norm,
                         vector(p + "post_attention_norm.weight", E, tensor_presence::required));
      }
      MMLLM_TRY_ASSIGN(w.ffn_norm, vector(p + "ffn_norm.weight", E, tensor_presence::required));
      if (d.ffn_fused_gate_up) {
        MMLLM_TRY_ASSIGN(w.ffn_up, matrix(p + "ffn_up.weight", E, 2 * F, true));
      } else {
        MMLLM_TRY_ASSIGN(w.ffn_gate, matrix(p + "ffn_gate.weight", E, F, true));
        MMLLM_TRY_ASSIGN(w.ffn_up, matrix(p + "ffn_up.weight", E, F, true));
        MMLLM_TRY_ASSIGN(w.ffn_gate_b, vector(p + "ffn_gate.bias", F, d.ffn_bias));
        MMLLM_TRY_ASSIGN(w.ffn_up_b, vector(p + "ffn_up.bias", F, d.ffn_bias));
      }
      MMLLM_TRY_ASSIGN(w.ffn_down, matrix(p + "ffn_down.weight", F, E, true));
      MMLLM_TRY_ASSIGN(w.ffn_down_b, vector(p + "ffn_down.bias", E, d.ffn_bias));
      if (d.post_ffn_norm) {
        MMLLM_TRY_ASSIGN(w.ffn_post_norm, vector(p + "post_ffw_norm.weight", E, tensor_presence::required));
      }
    }
    return ok();
  }

  result<gguf_tensor_info> find(std::string_view name, bool required) const {
    const gguf_tensor_info* t = reader_.find_tensor(name);
    if (t == nullptr) {
      if (required)
        return make_error(errc::not_found, "model: ", desc_.arch, " needs tensor '", name,
                          "', which the file does not have");
      return gguf_tensor_info{};
    }
    return *t;
  }

  static error shape_error(const gguf_tensor_info& t, std::initializer_list<std::uint64_t> want) {
    std::string have, expect;
    for (std::uint32_t i = 0; i < t.n_dims; ++i) have += (i ? ", " : "") + std::to_string(t.ne[i]);
    for (const std::uint64_t v : want) expect += (expect.empty() ? "" : ", ") + std::to_string(v);
    return make_error(errc::malformed, "model: tensor '", t.name, "' has shape [", have, "], expected [",
                      expect, "]");
  }

  void count(const gguf_tensor_info& t) {
    for (const auto& s : counted_)
      if (s == t.name) return;
    counted_.push_back(t.name);
    weight_bytes_ += t.size;
    n_params_ += t.n_elements();
  }

  /// A 2-D weight of `rows` × `cols` (ggml ne = [cols, rows]); empty view when absent and optional.
  result<any_matrix_view> matrix(const std::string& name, std::uint64_t cols, std::uint64_t rows,
                                 bool required) {
    MMLLM_TRY_ASSIGN(const gguf_tensor_info t, find(name, required));
    if (t.name.empty()) return any_matrix_view{};
    if (t.n_dims != 2 || t.ne[0] != cols || t.ne[1] != rows) return shape_error(t, {cols, rows});
    const auto& tr = traits(t.type);
    if (!tr.supported || t.type == dtype::q8_1 || t.type == dtype::q8_K)
      return make_error(errc::unsupported, "model: tensor '", name, "' has type ", name_of(t.type),
                        ", which mmllm cannot multiply with");
    const std::span<const std::byte> data = reader_.tensor_data(t);
    if (data.size() != t.size || (t.size > 0 && data.data() == nullptr))
      return make_error(errc::truncated, "model: tensor '", name, "' has no data in the file");
    count(t);
    return reader_.tensor_matrix(t);
  }

  /// A 1-D tensor of n values as f32 (converted once when stored as f16 / bf16).
  result<std::span<const float>> vector(const std::string& name, std::uint64_t n, tensor_presence presence) {
    if (presence == tensor_presence::absent) return std::span<const float>{};
    MMLLM_TRY_ASSIGN(const gguf_tensor_info t, find(name, presence == tensor_presence::required));
    if (t.name.empty()) return std::span<const float>{};
    if (t.n_elements() != n || t.ne[0] != n) return shape_error(t, {n});
    const std::span<const std::byte> data = reader_.tensor_data(t);
    if (data.size() != t.size)
      return make_error(errc::truncated, "model: tensor '", name, "' has no data in the file");
    count(t);
    const auto nn = static_cast<std::size_t>(n);
    if (t.type == dtype::f32 && reinterpret_cast<std::uintptr_t>(data.data()) % alignof(float) == 0)
      return std::span<const float>(reinterpret_cast<const float*>(data.data()), nn);
    std::vector<float>& out = owned_.emplace_back(nn);
    switch (t.type) {
      case dtype::f32: std::memcpy(out.data(), data.data(), nn * sizeof(float)); break;
      case dtype::f16:
        for (std::size_t i = 0; i < nn; ++i) {
          f16 h;
          std::memcpy(&h, data.data() + i * sizeof(f16), sizeof(f16));
          out[i] = to_f32(h);
        }
        break;
      case dtype::bf16:
        for (std::size_t i = 0; i < nn; ++i) {
          bf16 h;
          std::memcpy(&h, data.data() + i * sizeof(bf16), sizeof(bf16));
          out[i] = to_f32(h);
        }
        break;
      default:
        owned_.pop_back();
        return make_error(errc::unsupported, "model: 1-D tensor '", name, "' has type ", name_of(t.type),
                          " (expected f32, f16 or bf16)");
    }
    return std::span<const float>(out);
  }

  gguf_reader reader_;
  model_desc desc_;
  std::vector<layer_weights> layers_;
  any_matrix_view token_embd_, output_;
  bool tied_ = false;
  std::span<const float> output_norm_, output_b_, rope_freqs_, rope_long_, rope_short_;
  std::vector<std::vector<float>> owned_;  // converted 1-D tensors (spans above may point here)
  std::vector<std::string_view> counted_;
  std::uint64_t weight_bytes_ = 0, n_params_ = 0;
};

}  // namespace mmllm::models
