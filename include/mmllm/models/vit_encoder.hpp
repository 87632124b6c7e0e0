// mmllm/models/vit_encoder.hpp — the transformer stack shared by every vision and audio
// encoder of an mmproj file (clip.cpp's build_vit and its copies), configured by data.
//
// One block (pre-norm):
//   h = norm(x)·ln1 (+b);  q, k, v = h·Wᵀ (+b);  [q, k = norm(q)·q_norm, norm(k)·k_norm];
//   [rope(q, k)];  a = attention(q, k, v)·Woᵀ (+b);  [a ·= ls1];  x += a;
//   h = norm(x)·ln2 (+b);  f = ffn(h);  [f ·= ls2];  x += f
// with ffn(h) = down(act(up(h)))  or, with a gate, down(act(gate(h)) · up(h)).
// Norms are LayerNorm or RMSNorm (norm_kind); the activation comes from the file (ffn_activation).
// The caller applies the pre-/post-norms (vit_apply_norm) and anything between the blocks
// (positions, feature-layer taps, pooling), so every family keeps the peer's exact order.
//
//   MMLLM_TRY_ASSIGN(auto vit, load_vit_weights(file, hp, "v", {.norm = norm_kind::layer, ...}));
//   MMLLM_TRY(vit_forward(policy, vit, x, n_tokens, vit.layers.size(), no_rope, opt));
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../compute/compute_policy.hpp"
#include "../core/any_matrix_view.hpp"
#include "../core/result.hpp"
#include "../core/tensor_view.hpp"
#include "encoder_kernels.hpp"
#include "mmproj.hpp"

namespace mmllm::mm {

/// LayerNorm (mean and variance) or RMSNorm.
enum class norm_kind : std::uint8_t { layer, rms };

/// Weights of one transformer block (absent optional tensors: empty views / spans).
struct vit_layer_weights {
  any_matrix_view q, k, v, o;
  std::span<const float> q_b, k_b, v_b, o_b;
  std::span<const float> q_norm, k_norm;  ///< per-token norms of q / k over the whole row
  std::span<const float> ln1_w, ln1_b, ln2_w, ln2_b;
  std::span<const float> ls1, ls2;  ///< layer scales
  any_matrix_view ffn_up, ffn_gate, ffn_down;
  std::span<const float> ffn_up_b, ffn_gate_b, ffn_down_b;
};

/// A stack of blocks with its shape and numerics.
struct vit_weights {
  std::size_t n_embd = 0, n_head = 0;
  float eps = 1e-6f;
  norm_kind norm = norm_kind::layer;
  ffn_activation act = ffn_activation::gelu;
  std::span<const float> pre_ln_w, pre_ln_b, post_ln_w, post_ln_b;
  std::vector<vit_layer_weights> layers;

  [[nodiscard]] std::size_t d_head() const noexcept { return n_embd / n_head; }
  /// 1/sqrt(d_head), as the peer computes it (float).
  [[nodiscard]] float kq_scale() const noexcept { return 1.0f / std::sqrt(static_cast<float>(d_head())); }
  /// Largest FFN width of the stack (for scratch sizing).
  [[nodiscard]] std::size_t max_ff() const noexcept {
    std::size_t m = 0;
    for (const auto& l : layers) m = std::max({m, l.ffn_up.rows, l.ffn_gate.rows});
    return m;
  }
};

/// What load_vit_weights needs to know besides the file.
struct vit_load_options {
  norm_kind norm = norm_kind::layer;
  ffn_activation act = ffn_activation::gelu;
  /// Peer quirk (clip.cpp load_tensors): for the legacy projector types (mlp, qwen2vl, gemma3,
  /// idefics3, …) a block whose `ffn_down` maps n_embd → n_ff (ne[0] == n_embd) has up and
  /// down swapped (old converters wrote fc1 as ffn_down); the peer swaps them back.
  bool peer_quirk_ffn_swap = false;
};

/// Loads `<prefix>.blk.<i>.*` for i < hp.n_layer plus `<prefix>.pre_ln` / `<prefix>.post_ln`.
inline result<vit_weights> load_vit_weights(mmproj_file& f, const clip_hparams& hp, std::string_view prefix,
                                            const vit_load_options& o) {
  vit_weights w;
  w.n_embd = static_cast<std::size_t>(hp.n_embd);
  w.n_head = static_cast<std::size_t>(hp.n_head);
  w.eps = hp.eps;
  w.norm = o.norm;
  w.act = o.act;
  const std::string p(prefix);
  MMLLM_TRY_ASSIGN(w.pre_ln_w, f.optional_vector(p + ".pre_ln.weight"));
  MMLLM_TRY_ASSIGN(w.pre_ln_b, f.optional_vector(p + ".pre_ln.bias"));
  MMLLM_TRY_ASSIGN(w.post_ln_w, f.optional_vector(p + ".post_ln.weight"));
  MMLLM_TRY_ASSIGN(w.post_ln_b, f.optional_vector(p + ".post_ln.bias"));
  w.layers.resize(static_cast<std::size_t>(hp.n_layer));
  for (int il = 0; il < hp.n_layer; ++il) {
    vit_layer_weights& l = w.layers[static_cast<std::size_t>(il)];
    const std::string b = p + ".blk." + std::to_string(il) + ".";
    if (!f.contains(b + "attn_q.weight") && f.contains(b + "attn_qkv.weight"))
      return make_error(errc::unsupported, "mmproj: fused '", b, "attn_qkv' is not used by the peer's graph");
    MMLLM_TRY_ASSIGN(l.q, f.matrix(b + "attn_q.weight"));
    MMLLM_TRY_ASSIGN(l.k, f.matrix(b + "attn_k.weight"));
    MMLLM_TRY_ASSIGN(l.v, f.matrix(b + "attn_v.weight"));
    MMLLM_TRY_ASSIGN(l.o, f.matrix(b + "attn_out.weight"));
    MMLLM_TRY_ASSIGN(l.q_b, f.optional_vector(b + "attn_q.bias"));
    MMLLM_TRY_ASSIGN(l.k_b, f.optional_vector(b + "attn_k.bias"));
    MMLLM_TRY_ASSIGN(l.v_b, f.optional_vector(b + "attn_v.bias"));
    MMLLM_TRY_ASSIGN(l.o_b, f.optional_vector(b + "attn_out.bias"));
    MMLLM_TRY_ASSIGN(l.q_norm, f.optional_vector(b + "attn_q_norm.weight"));
    MMLLM_TRY_ASSIGN(l.k_norm, f.optional_vector(b + "attn_k_norm.weight"));
    MMLLM_TRY_ASSIGN(l.ln1_w, f.optional_vector(b + "ln1.weight"));
    MMLLM_TRY_ASSIGN(l.ln1_b, f.optional_vector(b + "ln1.bias"));
    MMLLM_TRY_ASSIGN(l.ln2_w, f.optional_vector(b + "ln2.weight"));
    MMLLM_TRY_ASSIGN(l.ln2_b, f.optional_vector(b + "ln2.bias"));
    MMLLM_TRY_ASSIGN(l.ls1, f.optional_vector(b + "ls1.weight"));
    MMLLM_TRY_ASSIGN(l.ls2, f.optional_vector(b + "ls2.weight"));
    MMLLM_TRY_ASSIGN(l.ffn_up, f.matrix(b + "ffn_up.weight"));
    MMLLM_TRY_ASSIGN(l.ffn_up_b, f.optional_vector(b + "ffn_up.bias"));
    MMLLM_TRY_ASSIGN(l.ffn_gate, f.optional_matrix(b + "ffn_gate.weight"));
    MMLLM_TRY_ASSIGN(l.ffn_gate_b, f.optional_vector(b + "ffn_gate.bias"));
    MMLLM_TRY_ASSIGN(l.ffn_down, f.matrix(b + "ffn_down.weight"));
    MMLLM_TRY_ASSIGN(l.ffn_down_b, f.optional_vector(b + "ffn_down.bias"));
    if (o.peer_quirk_ffn_swap && l.ffn_down.cols == w.n_embd) {
      std::swap(l.ffn_up, l.ffn_down);
      std::swap(l.ffn_up_b, l.ffn_down_b);
    }
    const std::size_t e = w.n_embd;
    auto bad = [&](std::string_view what) {
      return make_error(errc::malformed, "mmproj: '", b, what, "' has the wrong shape");
    };
    if (l.q.cols != e || l.q.rows != e) return bad("attn_q");
    if (l.k.cols != e || l.k.rows != e) return bad("attn_k");
    if (l.v.cols != e || l.v.rows != e) return bad("attn_v");
    if (l.o.cols != e || l.o.rows != e) return bad("attn_out");
    if (l.ffn_up.cols != e) return bad("ffn_up");
    if (l.ffn_gate.data != nullptr && (l.ffn_gate.cols != e || l.ffn_gate.rows != l.ffn_up.rows))
      return bad("ffn_gate");
    if (l.ffn_down.rows != e || l.ffn_down.cols != l.ffn_up.rows) return bad("ffn_down");
    for (auto [s, n, what] :
         {std::tuple{l.q_b, e, "attn_q.bias"}, std::tuple{l.k_b, e, "attn_k.bias"},
          std::tuple{l.v_b, e, "attn_v.bias"}, std::tuple{l.o_b, e, "attn_out.bias"},
          std::tuple{l.ln1_w, e, "ln1"}, std::tuple{l.ln1_b, e, "ln1.bias"}, std::tuple{l.ln2_w, e, "ln2"},
          std::tuple{l.ln2_b, e, "ln2.bias"}, std::tuple{l.ls1, e, "ls1"}, std::tuple{l.ls2, e, "ls2"},
          std::tuple{l.q_norm, e, "attn_q_norm"}, std::tuple{l.k_norm, e, "attn_k_norm"},
          std::tuple{l.ffn_up_b, l.ffn_up.rows, "ffn_up.bias"},
          std::tuple{l.ffn_gate_b, l.ffn_up.rows, "ffn_gate.bias"},
          std::tuple{l.ffn_down_b, e, "ffn_down.bias"}})
      if (!s.empty() && s.size() != n) return bad(what);
  }
  for (auto s : {w.pre_ln_w, w.pre_ln_b, w.post_ln_w, w.post_ln_b})
    if (!s.empty() && s.size() != w.n_embd)
      return make_error(errc::malformed, "mmproj: bad pre/post norm size");
  return w;
}

namespace detail {

inline matrix_view<const float> row_vector(std::span<const float> v) noexcept {
  return matrix_view<const float>(v.data(), std::size_t{1}, v.size());
}

/// y = x·Wᵀ (+ bias).
template <compute::compute_policy P>
result<void> linear(P& p, matrix_view<const float> x, const any_matrix_view& w, std::span<const float> bias,
                    matrix_view<float> y) {
  MMLLM_TRY(p.matmul(x, w, y));
  if (!bias.empty()) p.add(y, row_vector(bias), y);
  return ok();
}

/// The activation of a feed-forward block (peer tables for GELU / quick-GELU when asked).
template <compute::compute_policy P>
void activate(P& p, ffn_activation a, matrix_view<const float> x, matrix_view<float> y,
              const encode_options& o) {
  switch (a) {
    case ffn_activation::gelu: o.peer_gelu_tables ? p.gelu_f16_table(x, y) : p.gelu(x, y); break;
    case ffn_activation::gelu_quick:
      o.peer_gelu_tables ? p.gelu_quick_f16_table(x, y) : p.gelu_quick(x, y);
      break;
    case ffn_activation::gelu_erf: p.gelu_erf(x, y); break;
    case ffn_activation::silu: p.silu(x, y); break;
  }
}

}  // namespace detail

/// y = norm(x)·w (+ b) with the stack's norm kind (x may equal y). Empty w and b: plain norm.
template <compute::compute_policy P>
void vit_apply_norm(P& p, norm_kind kind, float eps, matrix_view<const float> x, matrix_view<float> y,
                    std::span<const float> w, std::span<const float> b) {
  if (kind == norm_kind::layer) {
    p.layernorm(x, y, eps, w, b);
  } else {
    p.rmsnorm(x, y, eps, w);
    if (!b.empty()) p.add(y, detail::row_vector(b), y);
  }
}

/// No positional hook between the projections and attention.
struct no_rope {
  template <class P>
  result<void> operator()(P&, matrix_view<float>, matrix_view<float>, std::size_t) const {
    return ok();
  }
};

/// Runs blocks [0, n_run) on x ([n][n_embd], updated in place). `rope(p, q, k, layer)` may
/// rotate q and k; `segments(layer)` gives the attention segment ends of a layer (empty:
/// full attention); `tap(layer, x)` is called with the input of every block (feature layers).
template <compute::compute_policy P, class Rope, class Segments, class Tap>
result<void> vit_forward(P& p, const vit_weights& w, std::span<float> x, std::size_t n, std::size_t n_run,
                         Rope&& rope, Segments&& segments, Tap&& tap, const encode_options& opt) {
  const std::size_t e = w.n_embd;
  if (x.size() != n * e) return make_error(errc::invalid_argument, "vit: input size does not match");
  if (n_run > w.layers.size()) return make_error(errc::invalid_argument, "vit: too many blocks requested");
  const std::size_t ff = w.max_ff();
  std::vector<float> h(n * e), q(n * e), k(n * e), v(n * e), a(n * e), up(n * ff), gate;
  auto mat = [n](std::vector<float>& b, std::size_t cols) { return matrix_view<float>(b.data(), n, cols); };
  const matrix_view<float> xv(x.data(), n, e);
  for (std::size_t il = 0; il < n_run; ++il) {
    const vit_layer_weights& l = w.layers[il];
    tap(il, matrix_view<const float>(xv));
    vit_apply_norm(p, w.norm, w.eps, xv, mat(h, e), l.ln1_w, l.ln1_b);
    MMLLM_TRY(detail::linear(p, mat(h, e), l.q, l.q_b, mat(q, e)));
    MMLLM_TRY(detail::linear(p, mat(h, e), l.k, l.k_b, mat(k, e)));
    MMLLM_TRY(detail::linear(p, mat(h, e), l.v, l.v_b, mat(v, e)));
    if (!l.q_norm.empty()) vit_apply_norm(p, w.norm, w.eps, mat(q, e), mat(q, e), l.q_norm, {});
    if (!l.k_norm.empty()) vit_apply_norm(p, w.norm, w.eps, mat(k, e), mat(k, e), l.k_norm, {});
    MMLLM_TRY(rope(p, mat(q, e), mat(k, e), il));
    const std::span<const std::size_t> segs = segments(il);
    MMLLM_TRY(multi_head_attention(p, mat(q, e), mat(k, e), mat(v, e), mat(a, e), w.n_head, w.kq_scale(),
                                   segs, opt));
    MMLLM_TRY(detail::linear(p, mat(a, e), l.o, l.o_b, mat(h, e)));
    if (!l.ls1.empty()) p.mul(mat(h, e), detail::row_vector(l.ls1), mat(h, e));
    p.add(mat(h, e), xv, xv);
    // feed-forward
    vit_apply_norm(p, w.norm, w.eps, xv, mat(h, e), l.ln2_w, l.ln2_b);
    const std::size_t nf = l.ffn_up.rows;
    const matrix_view<float> upv(up.data(), n, nf);
    MMLLM_TRY(detail::linear(p, mat(h, e), l.ffn_up, l.ffn_up_b, upv));
    if (l.ffn_gate.data != nullptr) {
      gate.resize(n * nf);
      const matrix_view<float> gv(gate.data(), n, nf);
      MMLLM_TRY(detail::linear(p, mat(h, e), l.ffn_gate, l.ffn_gate_b, gv));
      detail::activate(p, w.act, gv, gv, opt);
      p.mul(gv, upv, upv);
    } else {
      detail::activate(p, w.act, upv, upv, opt);
    }
    MMLLM_TRY(detail::linear(p, upv, l.ffn_down, l.ffn_down_b, mat(h, e)));
    if (!l.ls2.empty()) p.mul(mat(h, e), detail::row_vector(l.ls2), mat(h, e));
    p.add(xv, mat(h, e), xv);
  }
  return ok();
}

/// vit_forward without segments or taps.
template <compute::compute_policy P, class Rope>
result<void> vit_forward(P& p, const vit_weights& w, std::span<float> x, std::size_t n, std::size_t n_run,
                         Rope&& rope, const encode_options& opt) {
  return vit_forward(
      p, w, x, n, n_run, rope, [](std::size_t) { return std::span<const std::size_t>{}; },
      [](std::size_t, matrix_view<const float>) {}, opt);
}

}  // namespace mmllm::mm
