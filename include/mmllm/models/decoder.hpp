// mmllm/models/decoder.hpp — the decoder stack: one implementation, templated on the compute
// policy, that runs every text architecture from its `model_desc`.
//
//   auto model = mmllm::models::text_model::open("model.gguf");
//   mmllm::compute::thread_pool pool(4);
//   mmllm::models::decoder<mmllm::compute::simd> dec(*model, mmllm::compute::simd(pool));
//   auto kv = mmllm::models::kv_cache::create(model->desc(), {.n_ctx = 2048, .n_seq_max = 2});
//   mmllm::models::batch b;
//   b.add_token(1, 0, 0);  b.add_token(403, 0, 1, /*logits*/ true);     // prefill of sequence 0
//   b.add_token(1, 1, 0, true);                                         // sequence 1
//   auto logits = dec.forward(b, *kv);   // result<matrix_view<const float>>: 2 rows × n_vocab
//
// forward() appends every entry to its sequence's KV cache, runs all layers over all entries
// at once (matmuls over the whole batch on the policy's threads, attention per entry and KV
// head), and returns the logits of the entries that asked for them, in batch order; the
// view is valid until the next forward. The last layer only processes rows that need
// logits (as the peer does). Buffers only grow: a steady stream of same-sized steps does
// not allocate. On error the cache is left as before the call.
//
// Numerics follow the peer (llama.cpp, CPU, F32 KV cache, no flash attention): matmul
// activations are converted as ggml converts them for the weight type (the policy's
// matmul), GELU-gated FFNs use the fp16 GELU table, Q is pre-scaled where the peer does it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../compute/compute_policy.hpp"
#include "../core/quant_formats.hpp"
#include "../core/result.hpp"
#include "../core/tensor_view.hpp"
#include "attention.hpp"
#include "batch.hpp"
#include "kv_cache.hpp"
#include "model_desc.hpp"
#include "text_model.hpp"

namespace mmllm::models {

struct decoder_options {
  /// Context size the model runs with (picks LongRoPE long/short factors as the peer does:
  /// long when n_ctx > the original context). 0: the training context.
  std::uint32_t n_ctx = 0;
};

/// Runs a text_model's forward pass on policy P (see the header comment). Keeps a pointer to
/// the model, which must outlive the decoder. Not thread-safe (one decoder per thread).
template <compute::compute_policy P>
class decoder {
 public:
  decoder(const text_model& model, P policy, const decoder_options& o = {})
      : model_(&model), policy_(std::move(policy)) {
    const model_desc& d = model.desc();
    const std::uint32_t n_ctx = o.n_ctx != 0 ? o.n_ctx : d.n_ctx_train;
    const std::span<const float> ff = model.rope_factors(n_ctx);
    rope_.reserve(d.layers.size());
    for (const auto& l : d.layers) {
      compute::rope_params p = l.rope;
      p.freq_factors = ff;
      rope_.push_back(p);
    }
  }

  [[nodiscard]] P& policy() noexcept { return policy_; }
  [[nodiscard]] const text_model& model() const noexcept { return *model_; }
  [[nodiscard]] const model_desc& desc() const noexcept { return model_->desc(); }

  /// Runs one step (see the header comment).
  result<matrix_view<const float>> forward(const batch& b, kv_cache& kv) {
    const std::size_t N = b.size();
    if (N == 0) return matrix_view<const float>{};
    MMLLM_TRY(check(b, kv));
    MMLLM_TRY(apply_kv_shift(kv));

    // 1. KV cells (undone on error)
    cells_.resize(N);
    old_len_.assign(kv.n_seq_max(), 0);
    touched_.assign(kv.n_seq_max(), 0);
    for (std::size_t i = 0; i < N; ++i) {
      const auto s = static_cast<std::size_t>(b.seq(i));
      if (!touched_[s]) {
        touched_[s] = 1;
        old_len_[s] = kv.seq_length(b.seq(i));
      }
      auto c = kv.append(b.seq(i), b.pos(i));
      if (!c) {
        rollback(kv);
        return std::move(c).error();
      }
      cells_[i] = *c;
    }
    auto r = run(b, kv);
    if (!r) rollback(kv);
    return r;
  }

  /// Rotates the keys of cells moved by kv_cache::seq_add (the peer's K shift). Done
  /// automatically at the start of forward().
  result<void> apply_kv_shift(kv_cache& kv) {
    if (!kv.has_pending_shift()) return ok();
    const model_desc& d = desc();
    if (kv.n_layers() != d.n_layer)
      return make_error(errc::invalid_argument, "decoder: the kv cache has the wrong layer count");
    std::vector<float> row;
    for (std::size_t l = 0; l < d.n_layer; ++l) {
      compute::rope_params p = rope_[l];
      // peer: M-RoPE keys are shifted with the NEOX rotation of the whole vector
      if (p.mode == compute::rope_mode::mrope || p.mode == compute::rope_mode::imrope)
        p.mode = compute::rope_mode::neox;
      const std::size_t nk = kv.dims(l).n_embd_k;
      row.resize(nk);
      visit_kv_type(kv.type_k(), [&](auto tag) {
        using Q = typename decltype(tag)::type;
        kv.for_each_pending_shift([&](std::uint32_t phys, std::int32_t shift) {
          Q::dequantize_row(reinterpret_cast<const typename Q::block*>(kv.k_row(l, phys)), row.data(), nk);
          const matrix_view<float> mv(row.data(), std::size_t{1}, nk);
          const std::int32_t pos[4] = {shift, shift, shift, shift};
          policy_.rope(mv, mv, d.head_dim_k, std::span<const std::int32_t>(pos, 4), p);
          store_row<Q>(row.data(), kv.k_row(l, phys), nk);
        });
      });
    }
    kv.clear_pending_shift();
    return ok();
  }

 private:
  result<void> check(const batch& b, const kv_cache& kv) const {
    const model_desc& d = desc();
    if (kv.n_layers() != d.n_layer)
      return make_error(errc::invalid_argument, "decoder: the kv cache has ", std::to_string(kv.n_layers()),
                        " layers, the model ", std::to_string(d.n_layer));
    for (std::size_t l = 0; l < d.n_layer; ++l)
      if (kv.dims(l).n_embd_k != d.layers[l].n_head_kv * d.head_dim_k ||
          kv.dims(l).n_embd_v != d.layers[l].n_head_kv * d.head_dim_v)
        return make_error(errc::invalid_argument, "decoder: the kv cache was made for another model");
    for (std::size_t i = 0; i < b.size(); ++i) {
      if (!kv.valid_seq(b.seq(i)))
        return make_error(errc::invalid_argument, "decoder: batch entry ", std::to_string(i),
                          " has sequence id ", std::to_string(b.seq(i)), " (the kv cache has ",
                          std::to_string(kv.n_seq_max()), ")");
      if (b.pos(i)[0] < 0)
        return make_error(errc::invalid_argument, "decoder: batch entry ", std::to_string(i),
                          " has a negative position");
      if (b.is_embedding(i)) {
        if (b.embedding(i).size() != d.n_embd)
          return make_error(errc::invalid_argument, "decoder: batch entry ", std::to_string(i),
                            " is an embedding row of the wrong length (the model's n_embd is ",
                            std::to_string(d.n_embd), ")");
      } else if (b.token(i) < 0 || static_cast<std::uint32_t>(b.token(i)) >= d.n_vocab) {
        return make_error(errc::invalid_argument, "decoder: batch entry ", std::to_string(i),
                          " has token id ", std::to_string(b.token(i)), ", outside the vocabulary (",
                          std::to_string(d.n_vocab), ")");
      }
    }
    return ok();
  }

  void rollback(kv_cache& kv) {
    for (std::size_t s = 0; s < touched_.size(); ++s)
      if (touched_[s]) kv.truncate(static_cast<seq_id>(s), old_len_[s]);
  }

  static matrix_view<float> view(std::vector<float>& buf, std::size_t rows, std::size_t cols) {
    if (buf.size() < rows * cols) buf.resize(rows * cols);
    return matrix_view<float>(buf.data(), rows, cols);
  }
  static matrix_view<float> cols_of(matrix_view<float> m, std::size_t begin, std::size_t end) {
    return matrix_view<float>(m.data() + begin, dextents<2>(m.extent(0), end - begin), {m.stride(0), 1});
  }
  static matrix_view<float> rows_of(matrix_view<float> m, std::size_t n) {
    return matrix_view<float>(m.data(), dextents<2>(n, m.extent(1)), {m.stride(0), 1});
  }
  static matrix_view<const float> one_row(std::span<const float> v) {
    return matrix_view<const float>(v.data(), std::size_t{1}, v.size());
  }

  template <class Q>
  void store_row(const float* x, std::byte* dst, std::size_t n) {
    detail::with_attention_kernels(policy_, [&](auto k) {
      using K = decltype(k);
      K::template quantize<Q>(x, reinterpret_cast<typename Q::block*>(dst), n);
    });
  }

  result<void> add_bias(matrix_view<float> m, std::span<const float> bias) {
    if (!bias.empty()) policy_.add(m, one_row(bias), m);
    return ok();
  }

  result<matrix_view<const float>> run(const batch& b, kv_cache& kv) {
    const model_desc& d = desc();
    const text_model& m = *model_;
    const std::size_t N = b.size(), E = d.n_embd;

    // entries that need logits
    out_idx_.clear();
    for (std::size_t i = 0; i < N; ++i)
      if (b.logits(i)) out_idx_.push_back(i);
    const std::size_t n_out = out_idx_.size();

    // 2. input rows
    matrix_view<float> x = view(x_, N, E);
    const any_matrix_view& te = m.token_embd();
    for (std::size_t i = 0; i < N; ++i) {
      float* xr = x.data() + i * E;
      if (b.is_embedding(i)) {
        std::memcpy(xr, b.embedding(i).data(), E * sizeof(float));
        continue;
      }
      MMLLM_TRY(visit_format(te.type, [&](auto tag) {
        using Q = typename decltype(tag)::type;
        Q::dequantize_row(
            reinterpret_cast<const typename Q::block*>(te.row(static_cast<std::size_t>(b.token(i)))), xr, E);
      }));
      if (d.embd_scale != 0.0f)
        for (std::size_t e = 0; e < E; ++e) xr[e] *= d.embd_scale;
    }

    // positions, stream-major ([stream][entry]) as the rope kernel takes them
    pos_.resize(4 * N);
    for (std::size_t i = 0; i < N; ++i)
      for (std::size_t s = 0; s < 4; ++s) pos_[s * N + i] = b.pos(i)[s];

    std::size_t rows = N;  // rows still processed (shrinks to n_out in the last layer)
    for (std::size_t il = 0; il < d.n_layer; ++il) {
      const layer_desc& ld = d.layers[il];
      const layer_weights& w = m.layers()[il];
      const std::size_t hk = d.head_dim_k, hv = d.head_dim_v;
      const std::size_t nq = ld.n_head * hk, nk = ld.n_head_kv * hk, nv = ld.n_head_kv * hv,
                        no = ld.n_head * hv;
      const bool last = il + 1 == d.n_layer;

      // attention inputs
      matrix_view<float> h = view(h_, N, E);
      policy_.rmsnorm(x, h, d.norm_eps, w.attn_norm);
      matrix_view<float> q, k, v;
      if (d.qkv_fused) {
        matrix_view<float> qkv = view(qkv_, N, nq + nk + nv);
        MMLLM_TRY(policy_.matmul(h, w.wqkv, qkv));
        q = cols_of(qkv, 0, nq);
        k = cols_of(qkv, nq, nq + nk);
        v = cols_of(qkv, nq + nk, nq + nk + nv);
      } else {
        q = view(q_, N, nq);
        k = view(k_, N, nk);
        v = view(v_, N, nv);
        MMLLM_TRY(policy_.matmul(h, w.wq, q));
        MMLLM_TRY(policy_.matmul(h, w.wk, k));
        MMLLM_TRY(policy_.matmul(h, w.wv, v));
        MMLLM_TRY(add_bias(q, w.bq));
        MMLLM_TRY(add_bias(k, w.bk));
        MMLLM_TRY(add_bias(v, w.bv));
      }
      if (d.qk_norm) {
        head_norm(q, ld.n_head, hk, w.q_norm);
        head_norm(k, ld.n_head_kv, hk, w.k_norm);
      }
      const std::span<const std::int32_t> pos(pos_.data(), (d.n_pos_streams == 4 ? 4 : 1) * N);
      policy_.rope(q, q, hk, pos, rope_[il]);
      policy_.rope(k, k, hk, pos, rope_[il]);
      if (d.q_scale != 0.0f) policy_.scale(q, d.q_scale, q);

      // store K and V
      MMLLM_TRY(store_kv(kv, il, k, v));
      if (last && n_out == 0) break;  // nothing else is needed from the last layer

      // attention
      matrix_view<float> att = view(att_, N, no);
      attention_args aa;
      aa.layer = il;
      aa.n_head = ld.n_head;
      aa.n_head_kv = ld.n_head_kv;
      aa.head_dim_k = d.head_dim_k;
      aa.head_dim_v = d.head_dim_v;
      aa.kq_scale = d.kq_scale;
      aa.softcap = d.attn_softcap;
      aa.sliding = ld.sliding && d.swa == swa_kind::standard;
      aa.n_swa = d.n_swa;
      aa.mrope_2d = d.n_pos_streams == 4;
      aa.q = q;
      aa.out = att;
      attention(policy_, kv, b, aa, att_scratch_);

      if (last && n_out < N) {  // keep only the rows that need logits
        for (std::size_t r = 0; r < n_out; ++r) {
          if (out_idx_[r] == r) continue;
          std::memmove(att.data() + r * no, att.data() + out_idx_[r] * no, no * sizeof(float));
          std::memmove(x.data() + r * E, x.data() + out_idx_[r] * E, E * sizeof(float));
        }
        rows = n_out;
        x = rows_of(x, rows);
        att = rows_of(att, rows);
        h = rows_of(h, rows);
      }

      // output projection, residual
      MMLLM_TRY(policy_.matmul(att, w.wo, h));
      MMLLM_TRY(add_bias(h, w.bo));
      if (d.post_attn_norm) policy_.rmsnorm(h, h, d.norm_eps, w.attn_post_norm);
      policy_.add(x, h, x);

      // feed-forward
      policy_.rmsnorm(x, h, d.norm_eps, w.ffn_norm);
      const std::size_t F = ld.n_ff;
      matrix_view<float> act;
      if (d.ffn_fused_gate_up) {
        matrix_view<float> gu = view(ffa_, rows, 2 * F);
        MMLLM_TRY(policy_.matmul(h, w.ffn_up, gu));
        act = cols_of(gu, 0, F);
        activate(act, cols_of(gu, F, 2 * F));
      } else {
        act = view(ffa_, rows, F);
        matrix_view<float> up = view(ffb_, rows, F);
        MMLLM_TRY(policy_.matmul(h, w.ffn_gate, act));
        MMLLM_TRY(policy_.matmul(h, w.ffn_up, up));
        MMLLM_TRY(add_bias(act, w.ffn_gate_b));
        MMLLM_TRY(add_bias(up, w.ffn_up_b));
        activate(act, up);
      }
      MMLLM_TRY(policy_.matmul(act, w.ffn_down, h));
      MMLLM_TRY(add_bias(h, w.ffn_down_b));
      if (d.post_ffn_norm) policy_.rmsnorm(h, h, d.norm_eps, w.ffn_post_norm);
      policy_.add(x, h, x);
    }
    if (n_out == 0) return matrix_view<const float>{};

    // output
    matrix_view<float> h = view(h_, n_out, E);
    policy_.rmsnorm(rows_of(x, n_out), h, d.norm_eps, m.output_norm());
    matrix_view<float> logits = view(logits_, n_out, d.n_vocab);
    MMLLM_TRY(policy_.matmul(h, m.output(), logits));
    MMLLM_TRY(add_bias(logits, m.output_bias()));
    if (d.final_softcap != 0.0f) {
      policy_.scale(logits, 1.0f / d.final_softcap, logits);
      for (std::size_t r = 0; r < n_out; ++r)
        for (std::size_t c = 0; c < d.n_vocab; ++c) logits(r, c) = std::tanh(logits(r, c));
      policy_.scale(logits, d.final_softcap, logits);
    }
    return matrix_view<const float>(logits);
  }

  /// RMSNorm of every head of every row.
  void head_norm(matrix_view<float> m, std::size_t n_head, std::size_t hd, std::span<const float> weight) {
    const model_desc& d = desc();
    if (m.stride(0) == static_cast<std::ptrdiff_t>(n_head * hd)) {
      const matrix_view<float> heads(m.data(), m.extent(0) * n_head, hd);
      policy_.rmsnorm(heads, heads, d.norm_eps, weight);
      return;
    }
    for (std::size_t r = 0; r < m.extent(0); ++r) {
      const matrix_view<float> heads(m.data() + static_cast<std::ptrdiff_t>(r) * m.stride(0), n_head, hd);
      policy_.rmsnorm(heads, heads, d.norm_eps, weight);
    }
  }

  /// gate = act(gate) · up.
  void activate(matrix_view<float> gate, matrix_view<const float> up) {
    switch (desc().ffn) {
      case ffn_kind::swiglu: policy_.swiglu(gate, up, gate); break;
      case ffn_kind::geglu_f16_table:
        policy_.gelu_f16_table(gate, gate);
        policy_.mul(gate, up, gate);
        break;
    }
  }

  result<void> store_kv(kv_cache& kv, std::size_t il, matrix_view<const float> k,
                        matrix_view<const float> v) {
    const std::size_t nk = k.extent(1), nv = v.extent(1);
    auto store = [&](kv_type t, matrix_view<const float> src, std::size_t n, bool is_k) {
      for (std::size_t i = 0; i < src.extent(0); ++i) {
        const float* row = src.data() + static_cast<std::ptrdiff_t>(i) * src.stride(0);
        std::byte* dst = is_k ? kv.k_row(il, cells_[i]) : kv.v_row(il, cells_[i]);
        visit_kv_type(t, [&](auto tag) { store_row<typename decltype(tag)::type>(row, dst, n); });
      }
    };
    store(kv.type_k(), k, nk, true);
    store(kv.type_v(), v, nv, false);
    return ok();
  }

  const text_model* model_;
  P policy_;
  std::vector<compute::rope_params> rope_;
  std::vector<float> x_, h_, q_, k_, v_, qkv_, att_, ffa_, ffb_, logits_;
  std::vector<std::int32_t> pos_;
  std::vector<std::uint32_t> cells_, old_len_;
  std::vector<std::uint8_t> touched_;
  std::vector<std::size_t> out_idx_;
  attention_scratch att_scratch_;
};

}  // namespace mmllm::models
