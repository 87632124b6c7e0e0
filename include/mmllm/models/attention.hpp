// mmllm/models/attention.hpp — multi-head attention over the paged KV cache, for every compute
// policy (the compute layer has no attention kernel yet; this is the model layer's own).
//
// For each batch entry and KV head: the cells of the entry's sequence that it may see
// (causal by position, bidirectional spans, sliding window, M-RoPE (y, x) order) are
// collected; scores q·k for the group of query heads sharing that KV head are computed in
// tiles with the compute layer's dot-product kernels (`quant_dot`: K stored as f32, f16 or
// q8_0, with Q converted exactly as ggml converts the activations of that weight type: f16
// rounding, q8_0 quantization), optionally soft-capped, turned into probabilities by a
// softmax (sums in double, as ggml's soft_max), and the value rows are accumulated
// (dequantized once per cell for f16 / q8_0 V). This is what the peer computes without flash
// attention (mul_mat(k, q) → soft_max_ext → mul_mat(v, kq)); only the summation order
// differs. Work items (entry, KV head) are spread over the executor's threads; results do
// not depend on the thread count.
//
// Kernel sets: `reference_attention_kernels` (plain loops, for compute::scalar) and
// `simd_attention_kernels<level, ext>` (compute::simd's level). `with_attention_kernels(p, f)`
// picks the set for a policy.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "../compute/convert.hpp"
#include "../compute/executor_ref.hpp"
#include "../compute/isa.hpp"
#include "../compute/quant_dot.hpp"
#include "../compute/scalar.hpp"
#include "../compute/simd.hpp"
#include "../compute/simd_math.hpp"
#include "../compute/softmax.hpp"
#include "../compute/thread_pool.hpp"
#include "../core/f16.hpp"
#include "../core/quant_formats.hpp"
#include "../core/tensor_view.hpp"
#include "batch.hpp"
#include "kv_cache.hpp"

MMLLM_KERNELS_BEGIN
namespace mmllm::models::detail {

/// Plain-loop kernels (the reference; used with compute::scalar).
struct reference_attention_kernels {
  template <class Q>
  static constexpr int max_rows = 1;
  template <class Q>
  static constexpr int max_cols = 1;
  template <class Q>
  static void dot_tile(std::size_t n, const std::byte* w, std::size_t w_stride, int nr, const std::byte* a,
                       std::size_t a_stride, int nc, float* out, std::size_t ldo) noexcept {
    compute::quant_dot<Q, compute::isa::generic>::tile(n, w, w_stride, nr, a, a_stride, nc, out, ldo);
  }
  template <class A>
  static void quantize(const float* x, typename A::block* y, std::size_t n) noexcept {
    A::quantize_activation_row(x, y, n);
  }
  static void f16_to_f32(const f16* x, float* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = to_f32(x[i]);
  }
  /// y += a·x
  static void axpy(float* y, const float* x, float a, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = std::fma(x[i], a, y[i]);
  }
  /// x = softmax(x·scale) in place; sums in double (ggml's soft_max).
  static void softmax(float* x, std::size_t n, float scale) noexcept {
    float mx = -std::numeric_limits<float>::infinity();
    for (std::size_t i = 0; i < n; ++i) {
      x[i] *= scale;
      mx = std::max(mx, x[i]);
    }
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      x[i] = std::exp(x[i] - mx);
      sum += static_cast<double>(x[i]);
    }
    const auto inv = static_cast<float>(1.0 / sum);
    for (std::size_t i = 0; i < n; ++i) x[i] *= inv;
  }
};

#if MMLLM_HAVE_X86_KERNELS
MMLLM_TARGET_AVX2 inline void axpy_avx2(float* y, const float* x, float a, std::size_t n) noexcept {
  const __m256 va = _mm256_set1_ps(a);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), va, _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] = std::fma(x[i], a, y[i]);
}
MMLLM_TARGET_AVX512 inline void axpy_avx512(float* y, const float* x, float a, std::size_t n) noexcept {
  const __m512 va = _mm512_set1_ps(a);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(_mm512_loadu_ps(x + i), va, _mm512_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] = std::fma(x[i], a, y[i]);
}
#endif

inline void axpy_generic(float* y, const float* x, float a, std::size_t n) noexcept {
  using compute::detail::gbatch;
  using compute::detail::glanes;
  const gbatch va(a);
  std::size_t i = 0;
  for (; i + glanes <= n; i += glanes)
    xsimd::fma(gbatch::load_unaligned(x + i), va, gbatch::load_unaligned(y + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = std::fma(x[i], a, y[i]);
}

/// compute::simd's kernels at level I (variant E for the int8 dot products).
template <compute::isa I, compute::isa_ext E>
struct simd_attention_kernels {
  template <class Q>
  static constexpr int max_rows = compute::quant_dot<Q, I, E>::max_rows;
  template <class Q>
  static constexpr int max_cols = compute::quant_dot<Q, I, E>::max_cols;
  template <class Q>
  static void dot_tile(std::size_t n, const std::byte* w, std::size_t w_stride, int nr, const std::byte* a,
                       std::size_t a_stride, int nc, float* out, std::size_t ldo) noexcept {
    compute::quant_dot<Q, I, E>::tile(n, w, w_stride, nr, a, a_stride, nc, out, ldo);
  }
  template <class A>
  static void quantize(const float* x, typename A::block* y, std::size_t n) noexcept {
    compute::quantize_activation<A, I>::row(x, y, n);
  }
  static void f16_to_f32(const f16* x, float* y, std::size_t n) noexcept {
    compute::detail::convert_row(I, x, y, n);
  }
  static void axpy(float* y, const float* x, float a, std::size_t n) noexcept {
#if MMLLM_HAVE_X86_KERNELS
    if constexpr (I == compute::isa::avx512) {
      axpy_avx512(y, x, a, n);
      return;
    } else if constexpr (I == compute::isa::avx2) {
      axpy_avx2(y, x, a, n);
      return;
    }
#endif
    axpy_generic(y, x, a, n);
  }
  static void softmax(float* x, std::size_t n, float scale) noexcept {
    compute::detail::softmax_row(I, x, x, n, scale, nullptr);
  }
};

/// The executor of a policy (empty for policies without one).
template <class P>
compute::executor_ref policy_executor(P& p) noexcept {
  if constexpr (requires { p.executor(); }) {
    return p.executor();
  } else {
    return {};
  }
}

/// Calls f(kernels{}) with the kernel set for policy P.
template <class P, class F>
decltype(auto) with_attention_kernels(P& p, F&& f) {
  if constexpr (std::is_same_v<P, compute::simd>) {
    const compute::isa level = p.level();
    const compute::isa_ext ext = compute::best_ext(level, p.features());
#if MMLLM_HAVE_X86_KERNELS
    if (level == compute::isa::avx512) {
      if (ext != compute::isa_ext::none)
        return f(simd_attention_kernels<compute::isa::avx512, compute::isa_ext::vnni>{});
      return f(simd_attention_kernels<compute::isa::avx512, compute::isa_ext::none>{});
    }
    if (level == compute::isa::avx2)
      return f(simd_attention_kernels<compute::isa::avx2, compute::isa_ext::none>{});
#else
    (void)level;
    (void)ext;
#endif
    return f(simd_attention_kernels<compute::isa::generic, compute::isa_ext::none>{});
  } else {
    (void)p;
    return f(reference_attention_kernels{});
  }
}

}  // namespace mmllm::models::detail
MMLLM_KERNELS_END

namespace mmllm::models {

/// What one layer's attention needs besides the cache and the batch.
struct attention_args {
  std::size_t layer = 0;
  std::uint32_t n_head = 0, n_head_kv = 0, head_dim_k = 0, head_dim_v = 0;
  float kq_scale = 1.0f;
  float softcap = 0.0f;  ///< 0: none
  bool sliding = false;  ///< apply the window
  std::uint32_t n_swa = 0;
  bool mrope_2d = false;       ///< order equal-t cells by (y, x)
  matrix_view<const float> q;  ///< entries × n_head·head_dim_k (after RoPE and Q scaling)
  matrix_view<float> out;      ///< entries × n_head·head_dim_v
};

/// Per-thread scratch memory of the attention (grow-only).
struct attention_scratch {
  struct per_thread {
    std::vector<std::byte> qa;       // converted Q rows of one head group
    std::vector<float> scores;       // group × visible cells
    std::vector<std::uint32_t> vis;  // visible physical cells
    std::vector<float> o;            // group × head_dim_v
    std::vector<float> vrow;         // one dequantized V head row
  };
  std::vector<per_thread> threads;
};

namespace detail {

/// True when entry i may attend to cell c.
inline bool attention_visible(const kv_cell& c, std::int32_t p1, std::int32_t limit, std::int32_t qx,
                              std::int32_t qy, const attention_args& a) noexcept {
  if (c.pos < 0 || c.pos > limit) return false;
  if (a.sliding && static_cast<std::int64_t>(p1) - c.pos >= static_cast<std::int64_t>(a.n_swa)) return false;
  // peer: with causal attention, M-RoPE cells at the same t position are ordered by (y, x)
  if (a.mrope_2d && limit == p1 && c.pos == p1 && (c.y > qy || (c.y == qy && c.x > qx))) return false;
  return true;
}

template <class K, class Qk>
void attention_item(const K&, const kv_cache& kv, const batch& b, const attention_args& a, std::size_t i,
                    std::uint32_t g, attention_scratch::per_thread& s) {
  using A = typename Qk::activation;
  const std::uint32_t gqa = a.n_head / a.n_head_kv;
  const std::uint32_t hk = a.head_dim_k, hv = a.head_dim_v;
  const seq_id seq = b.seq(i);
  const std::int32_t p1 = b.pos(i)[0], limit = b.attend_limit(i);
  const std::int32_t qy = b.pos(i)[1], qx = b.pos(i)[2];
  const std::uint32_t len = kv.seq_length(seq);

  // visible cells
  s.vis.clear();
  for (std::uint32_t j = 0; j < len; ++j) {
    const std::uint32_t phys = kv.seq_cell(seq, j);
    if (attention_visible(kv.cell(phys), p1, limit, qx, qy, a)) s.vis.push_back(phys);
  }
  const std::size_t nv = s.vis.size();
  float* const out0 =
      a.out.data() + static_cast<std::ptrdiff_t>(i) * a.out.stride(0) + std::size_t{g} * gqa * hv;
  if (nv == 0) {  // nothing visible (cannot happen for a causal entry whose own cell is present)
    std::fill(out0, out0 + std::size_t{gqa} * hv, 0.0f);
    return;
  }

  // Q of the group in K's activation format
  const std::size_t a_row = hk / A::block_size * sizeof(typename A::block);
  s.qa.resize(std::size_t{gqa} * a_row);
  const float* q0 = a.q.data() + static_cast<std::ptrdiff_t>(i) * a.q.stride(0) + std::size_t{g} * gqa * hk;
  for (std::uint32_t h = 0; h < gqa; ++h)
    K::template quantize<A>(q0 + std::size_t{h} * hk,
                            reinterpret_cast<typename A::block*>(s.qa.data() + h * a_row), hk);

  // scores [h][k]
  s.scores.resize(std::size_t{gqa} * nv);
  const std::size_t k_head = hk / Qk::block_size * sizeof(typename Qk::block);
  const std::size_t k_stride = kv.k_row_bytes(a.layer);
  constexpr int mr = K::template max_rows<Qk>;
  constexpr int mc = K::template max_cols<Qk>;
  float tile[static_cast<std::size_t>(mr) * mc];
  for (std::size_t k = 0; k < nv;) {
    // a run of physically consecutive cells (≤ mr)
    int nr = 1;
    while (nr < mr && k + static_cast<std::size_t>(nr) < nv &&
           s.vis[k + static_cast<std::size_t>(nr)] == s.vis[k] + static_cast<std::uint32_t>(nr))
      ++nr;
    const std::byte* w = kv.k_row(a.layer, s.vis[k]) + std::size_t{g} * k_head;
    for (std::uint32_t h0 = 0; h0 < gqa; h0 += static_cast<std::uint32_t>(mc)) {
      const int nc = static_cast<int>(std::min<std::uint32_t>(static_cast<std::uint32_t>(mc), gqa - h0));
      K::template dot_tile<Qk>(hk, w, k_stride, nr, s.qa.data() + h0 * a_row, a_row, nc, tile,
                               static_cast<std::size_t>(mc));
      for (int r = 0; r < nr; ++r)
        for (int c = 0; c < nc; ++c)
          s.scores[(h0 + static_cast<std::size_t>(c)) * nv + k + static_cast<std::size_t>(r)] =
              tile[static_cast<std::size_t>(r) * mc + static_cast<std::size_t>(c)];
    }
    k += static_cast<std::size_t>(nr);
  }

  // probabilities
  for (std::uint32_t h = 0; h < gqa; ++h) {
    float* sc = s.scores.data() + std::size_t{h} * nv;
    if (a.softcap != 0.0f) {
      const float inv = 1.0f / a.softcap;
      for (std::size_t k = 0; k < nv; ++k) sc[k] = std::tanh(sc[k] * inv) * a.softcap;
    }
    K::softmax(sc, nv, a.kq_scale);
  }

  // weighted sum of values
  s.o.assign(std::size_t{gqa} * hv, 0.0f);
  s.vrow.resize(hv);
  const kv_type tv = kv.type_v();
  const std::size_t v_head = tv == kv_type::f32   ? hv * sizeof(float)
                             : tv == kv_type::f16 ? hv * sizeof(f16)
                                                  : hv / 32 * sizeof(fmt::q8_0::block);
  for (std::size_t k = 0; k < nv; ++k) {
    const std::byte* vr = kv.v_row(a.layer, s.vis[k]) + std::size_t{g} * v_head;
    const float* v = nullptr;
    switch (tv) {
      case kv_type::f32: v = reinterpret_cast<const float*>(vr); break;
      case kv_type::f16:
        K::f16_to_f32(reinterpret_cast<const f16*>(vr), s.vrow.data(), hv);
        v = s.vrow.data();
        break;
      case kv_type::q8_0:
        fmt::q8_0::dequantize_row(reinterpret_cast<const fmt::q8_0::block*>(vr), s.vrow.data(), hv);
        v = s.vrow.data();
        break;
    }
    for (std::uint32_t h = 0; h < gqa; ++h)
      K::axpy(s.o.data() + std::size_t{h} * hv, v, s.scores[h * nv + k], hv);
  }
  std::memcpy(out0, s.o.data(), std::size_t{gqa} * hv * sizeof(float));
}

}  // namespace detail

/// Attention of every entry of `b` for one layer (the K/V rows of the entries must already be
/// in the cache). Runs on the policy's executor.
template <class P>
void attention(P& policy, const kv_cache& kv, const batch& b, const attention_args& a,
               attention_scratch& scratch) {
  const compute::executor_ref ex = detail::policy_executor(policy);
  const unsigned nt = std::max(1u, ex.size());
  if (scratch.threads.size() < nt) scratch.threads.resize(nt);
  const std::size_t n_items = b.size() * a.n_head_kv;
  detail::with_attention_kernels(policy, [&](auto kernels) {
    using K = decltype(kernels);
    auto run = [&](auto qtag) {
      using Qk = typename decltype(qtag)::type;
      std::atomic<std::size_t> next{0};
      auto job = [&](unsigned t, unsigned) {
        for (std::size_t it = next.fetch_add(1, std::memory_order_relaxed); it < n_items;
             it = next.fetch_add(1, std::memory_order_relaxed))
          detail::attention_item<K, Qk>(kernels, kv, b, a, it / a.n_head_kv,
                                        static_cast<std::uint32_t>(it % a.n_head_kv), scratch.threads[t]);
      };
      if (nt > 1 && n_items > 1) {
        ex.run(job);
      } else {
        job(0u, 1u);
      }
    };
    switch (kv.type_k()) {
      case kv_type::f32: run(std::type_identity<fmt::f32>{}); break;
      case kv_type::f16: run(std::type_identity<fmt::f16>{}); break;
      case kv_type::q8_0: run(std::type_identity<fmt::q8_0>{}); break;
    }
  });
}

}  // namespace mmllm::models
