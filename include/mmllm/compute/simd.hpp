// mmllm/compute/simd.hpp — `compute::simd`, the fast CPU compute policy.
//
// Picks the best kernel level for the running CPU at construction (AVX-512, AVX2, or the
// portable xsimd level), runs kernels on the caller's executor when one is given, and
// keeps a grow-only workspace for converted activations and packed GEMM panels (no
// allocation per call once the largest step has run).
//
//   mmllm::compute::thread_pool pool(2);            // caller-owned threads (optional)
//   mmllm::compute::simd cpu(pool);                  // best level, 2 threads
//   mmllm::compute::simd avx2(mmllm::compute::isa::avx2);  // force a lower level (tests)
//   auto r = cpu.matmul(x, w, y);                    // any supported weight dtype
//
// Executor: held as an `executor_ref` (type-erased, non-owning), so mmllm's `thread_pool`
// and adapters over other job systems work alike; the executor must outlive the policy's
// use of it. Without one every kernel runs on the calling thread. Jobs never wait for one
// another, so an executor may run them in any order or sequentially.
// A policy object is not thread-safe: use one per thread that issues kernels.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>

#include "../core/any_matrix_view.hpp"
#include "../core/bf16.hpp"
#include "../core/f16.hpp"
#include "../core/result.hpp"
#include "../core/tensor_view.hpp"
#include "activation.hpp"
#include "compute_policy.hpp"
#include "convert.hpp"
#include "elementwise.hpp"
#include "executor_ref.hpp"
#include "isa.hpp"
#include "kernel_params.hpp"
#include "matmul.hpp"
#include "norm.hpp"
#include "rope.hpp"
#include "simd_math.hpp"
#include "softmax.hpp"
#include "thread_pool.hpp"
#include "workspace.hpp"

namespace mmllm::compute {

/// SIMD policy: run-time dispatched kernels, optional caller-owned threads.
class simd {
 public:
  /// Element count below which a row-wise kernel stays on the calling thread.
  static constexpr std::size_t parallel_min_elements = std::size_t{1} << 15;

  /// Best level of this CPU, kernels on the calling thread.
  simd() noexcept : simd(executor_ref{}) {}
  /// Best level of this CPU, kernels on `ex`'s threads.
  explicit simd(executor_ref ex) noexcept
      : features_(detect_cpu_features()), level_(features_.best()), ex_(ex) {}
  /// At most `level` (clamped to what this CPU supports), kernels on `ex` (empty: caller).
  explicit simd(isa level, executor_ref ex = {}) noexcept
      : features_(detect_cpu_features()), level_(std::min(level, features_.best())), ex_(ex) {}

  /// The kernel level in use.
  [[nodiscard]] isa level() const noexcept { return level_; }
  /// What the CPU supports.
  [[nodiscard]] const cpu_features& features() const noexcept { return features_; }
  /// Threads kernels run on (1 without an executor).
  [[nodiscard]] unsigned n_threads() const noexcept { return std::max(1u, ex_.size()); }
  /// The executor (empty: the calling thread).
  [[nodiscard]] executor_ref executor() const noexcept { return ex_; }
  /// Replaces the executor (empty: the calling thread).
  void set_executor(executor_ref ex) noexcept { ex_ = ex; }
  /// Matmul options (peer activation rounding, GEMM threshold).
  [[nodiscard]] matmul_options& options() noexcept { return opts_; }
  [[nodiscard]] const matmul_options& options() const noexcept { return opts_; }
  /// Bytes of scratch memory held.
  [[nodiscard]] std::size_t workspace_bytes() const noexcept { return ws_.capacity(); }
  /// Frees the scratch memory (it grows again on demand).
  void release_workspace() noexcept { ws_.release(); }

  /// y[t][o] = Σ_i x[t][i]·w[o][i]; see matmul.hpp. Errors: unsupported dtype, bad shape,
  /// workspace allocation failure.
  result<void> matmul(matrix_view<const float> x, const any_matrix_view& w, matrix_view<float> y) {
    return detail::matmul(level_, features_, x, w, y, ws_, ex_, opts_);
  }

  /// y = x / sqrt(mean(x²) + eps) · weight.
  void rmsnorm(matrix_view<const float> x, matrix_view<float> y, float eps,
               std::span<const float> weight = {}) {
    check_same(x, y);
    assert(weight.empty() || weight.size() == x.extent(1));
    const float* w = weight.empty() ? nullptr : weight.data();
    for_rows(x.extent(0), x.extent(1), [&](std::size_t r, unsigned) {
      detail::rmsnorm_row(level_, row(x, r), row(y, r), x.extent(1), eps, w);
    });
  }

  /// y = (x − mean) / sqrt(var + eps) · weight + bias.
  void layernorm(matrix_view<const float> x, matrix_view<float> y, float eps,
                 std::span<const float> weight = {}, std::span<const float> bias = {}) {
    check_same(x, y);
    assert(weight.empty() || weight.size() == x.extent(1));
    assert(bias.empty() || bias.size() == x.extent(1));
    const float* w = weight.empty() ? nullptr : weight.data();
    const float* b = bias.empty() ? nullptr : bias.data();
    for_rows(x.extent(0), x.extent(1), [&](std::size_t r, unsigned) {
      detail::layernorm_row(level_, row(x, r), row(y, r), x.extent(1), eps, w, b);
    });
  }

  /// y = softmax(x·scale + mask) per row (mask row r % mask.rows; fully masked rows → 0).
  void softmax(matrix_view<const float> x, matrix_view<float> y, float scale = 1.0f,
               matrix_view<const float> mask = {}) {
    check_same(x, y);
    assert(mask.empty() || (mask.extent(1) == x.extent(1) && (mask.extent(1) <= 1 || mask.stride(1) == 1)));
    for_rows(x.extent(0), x.extent(1), [&](std::size_t r, unsigned) {
      const float* m = mask.empty() ? nullptr : &mask(r % mask.extent(0), 0);
      detail::softmax_row(level_, row(x, r), row(y, r), x.extent(1), scale, m);
    });
  }

  /// Rotary embedding with ggml semantics (rope.hpp); rows [token][head·head_dim].
  void rope(matrix_view<const float> x, matrix_view<float> y, std::size_t head_dim,
            std::span<const std::int32_t> positions, const rope_params& p) {
    check_same(x, y);
    const std::size_t n_tok = x.extent(0);
    if (n_tok == 0 || head_dim == 0) return;
    const bool multi =
        p.mode == rope_mode::mrope || p.mode == rope_mode::vision || p.mode == rope_mode::imrope;
    assert(x.extent(1) % head_dim == 0 && p.n_dims % 2 == 0 && p.n_dims <= head_dim);
    assert(positions.size() >= (multi ? 4 : 1) * n_tok);
    assert(p.mode != rope_mode::vision || 2 * p.n_dims == head_dim);
    (void)multi;
    const std::size_t n_heads = x.extent(1) / head_dim;
    const std::size_t table = detail::rope_table_size(p, head_dim);
    const std::size_t slice = workspace::round_up(2 * table * sizeof(float));
    std::byte* buf = ws_.get(n_threads() * slice);
    if (buf == nullptr) return;  // cannot happen for sane head sizes; leaves y untouched
    for_rows(n_tok, x.extent(1), [&](std::size_t t, unsigned thread) {
      auto* c = reinterpret_cast<float*>(buf + thread * slice);
      float* s = c + table;
      detail::rope_token_table(p, head_dim, n_tok, positions, t, c, s);
      detail::rope_token(level_, p, head_dim, n_heads, row(x, t), row(y, t), c, s);
    });
  }

  /// y = x·sigmoid(x).
  void silu(matrix_view<const float> x, matrix_view<float> y) { map(detail::silu_op{}, x, y); }
  /// y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
  void gelu(matrix_view<const float> x, matrix_view<float> y) { map(detail::gelu_op{}, x, y); }
  /// y = x·sigmoid(1.702·x).
  void gelu_quick(matrix_view<const float> x, matrix_view<float> y) { map(detail::gelu_quick_op{}, x, y); }
  /// y = 0.5·x·(1 + erf(x/√2)).
  void gelu_erf(matrix_view<const float> x, matrix_view<float> y) { map(detail::gelu_erf_op{}, x, y); }

  /// Peer quirk: llama.cpp's fp16-table GELU (activation.hpp).
  void gelu_f16_table(matrix_view<const float> x, matrix_view<float> y) {
    check_same(x, y);
    for_rows(x.extent(0), x.extent(1), [&](std::size_t r, unsigned) {
      detail::gelu_f16_table_row(level_, row(x, r), row(y, r), x.extent(1));
    });
  }
  /// Peer quirk: llama.cpp's fp16-table quick-GELU (activation.hpp).
  void gelu_quick_f16_table(matrix_view<const float> x, matrix_view<float> y) {
    check_same(x, y);
    for_rows(x.extent(0), x.extent(1), [&](std::size_t r, unsigned) {
      detail::gelu_quick_f16_table_row(level_, row(x, r), row(y, r), x.extent(1));
    });
  }

  /// y = silu(a)·b.
  void swiglu(matrix_view<const float> a, matrix_view<const float> b, matrix_view<float> y) {
    check_same(a, y);
    check_same(b, y);
    map2(detail::swiglu_op{}, a, b, y);
  }
  /// y = a + b (b: same shape, or one row broadcast).
  void add(matrix_view<const float> a, matrix_view<const float> b, matrix_view<float> y) {
    map2(detail::add_op{}, a, b, y);
  }
  /// y = a·b (b: same shape, or one row broadcast).
  void mul(matrix_view<const float> a, matrix_view<const float> b, matrix_view<float> y) {
    map2(detail::mul_op{}, a, b, y);
  }
  /// y = x·s.
  void scale(matrix_view<const float> x, float s, matrix_view<float> y) { map(detail::scale_op{s}, x, y); }
  /// y += x·s (fused multiply-add).
  void add_scaled(matrix_view<const float> x, float s, matrix_view<float> y) {
    map2(detail::add_scaled_op{s}, x, y, y);
  }

  /// f32 → f16 (round to nearest even).
  void convert(std::span<const float> x, std::span<f16> y) { convert_span(x, y); }
  /// f16 → f32.
  void convert(std::span<const f16> x, std::span<float> y) { convert_span(x, y); }
  /// f32 → bf16 (round to nearest even, NaN quiet).
  void convert(std::span<const float> x, std::span<bf16> y) { convert_span(x, y); }
  /// bf16 → f32.
  void convert(std::span<const bf16> x, std::span<float> y) { convert_span(x, y); }

 private:
  static const float* row(matrix_view<const float> m, std::size_t r) noexcept {
    return m.data() + static_cast<std::ptrdiff_t>(r) * m.stride(0);
  }
  static float* row(matrix_view<float> m, std::size_t r) noexcept {
    return m.data() + static_cast<std::ptrdiff_t>(r) * m.stride(0);
  }
  static void check_same([[maybe_unused]] matrix_view<const float> a,
                         [[maybe_unused]] matrix_view<const float> b) {
    assert(a.extent(0) == b.extent(0) && a.extent(1) == b.extent(1));
    assert(a.extent(1) <= 1 || a.stride(1) == 1);
    assert(b.extent(1) <= 1 || b.stride(1) == 1);
  }

  /// Calls fn(row, thread) for every row, on the executor when the work is large enough.
  template <class F>
  void for_rows(std::size_t rows, std::size_t cols, F&& fn) {
    const unsigned nt = n_threads();
    if (nt <= 1 || rows < 2 || rows * cols < parallel_min_elements) {
      for (std::size_t r = 0; r < rows; ++r) fn(r, 0u);
      return;
    }
    ex_.run([&](unsigned i, unsigned n) {
      const auto [b, e] = thread_pool::partition(rows, i, n);
      for (std::size_t r = b; r < e; ++r) fn(r, i);
    });
  }

  template <class Op>
  void map(const Op& op, matrix_view<const float> x, matrix_view<float> y) {
    check_same(x, y);
    for_rows(x.extent(0), x.extent(1),
             [&](std::size_t r, unsigned) { detail::map(level_, op, row(x, r), row(y, r), x.extent(1)); });
  }

  template <class Op>
  void map2(const Op& op, matrix_view<const float> a, matrix_view<const float> b, matrix_view<float> y) {
    check_same(a, y);
    assert(b.extent(1) == a.extent(1) && (b.extent(0) == a.extent(0) || b.extent(0) == 1));
    assert(b.extent(1) <= 1 || b.stride(1) == 1);
    const bool broadcast = b.extent(0) == 1 && a.extent(0) != 1;
    for_rows(a.extent(0), a.extent(1), [&](std::size_t r, unsigned) {
      detail::map2(level_, op, row(a, r), row(b, broadcast ? 0 : r), row(y, r), a.extent(1));
    });
  }

  template <class S, class D>
  void convert_span(std::span<const S> x, std::span<D> y) {
    assert(x.size() == y.size());
    const std::size_t n = std::min(x.size(), y.size());
    const unsigned nt = n_threads();
    if (nt <= 1 || n < 4 * parallel_min_elements) {
      detail::convert_row(level_, x.data(), y.data(), n);
      return;
    }
    ex_.run([&](unsigned i, unsigned k) {
      const auto [b, e] = thread_pool::partition(n, i, k, 64);
      if (b < e) detail::convert_row(level_, x.data() + b, y.data() + b, e - b);
    });
  }

  cpu_features features_;
  isa level_;
  executor_ref ex_;
  matmul_options opts_{};
  workspace ws_;
};

static_assert(compute_policy<simd>);

}  // namespace mmllm::compute
