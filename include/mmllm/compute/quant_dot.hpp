// mmllm/compute/quant_dot.hpp — the kernel interface between storage formats and matmul.
//
// A matmul Y = X·Wᵀ with W in format Q works as ggml's CPU backend does:
//   1. each activation row x (f32) is converted to Q's activation format A
//      (`quantize_activation<A, I>::row`, bit-exact with what ggml's CPU backend produces);
//   2. dot products between weight rows and converted activation rows are computed in
//      tiles (`quant_dot<Q, I>::tile`), so a SIMD level can reuse loaded weights across
//      several activation rows and loaded activations across several weight rows.
// The primary templates below are the `generic` level, built on the format's scalar
// reference; `compute/quant_dot_avx2.hpp` and `quant_dot_avx512.hpp` specialize them.
#pragma once

#include <cstddef>

#include "../core/quant_format.hpp"
#include "isa.hpp"

namespace mmllm::compute {

/// Tiled dot products of format Q at level I.
template <quant_format Q, isa I>
struct quant_dot {
  using weight_block = typename Q::block;
  using act_block = typename Q::activation::block;
  /// The largest tile one `tile` call computes (rows of W × rows of A).
  static constexpr int max_rows = 1;
  static constexpr int max_cols = 1;

  /// out[r * ldo + c] = Σ_k W[r][k]·A[c][k] over n elements (a multiple of Q::block_size),
  /// for r < nr ≤ max_rows and c < nc ≤ max_cols. `w`/`a` point at the first rows; rows
  /// are `w_stride`/`a_stride` bytes apart.
  static void tile(std::size_t n, const std::byte* w, std::size_t w_stride, int nr, const std::byte* a,
                   std::size_t a_stride, int nc, float* out, std::size_t ldo) noexcept {
    for (int r = 0; r < nr; ++r) {
      for (int c = 0; c < nc; ++c) {
        out[static_cast<std::size_t>(r) * ldo + static_cast<std::size_t>(c)] = static_cast<float>(
            Q::dot(reinterpret_cast<const weight_block*>(w + static_cast<std::size_t>(r) * w_stride),
                   reinterpret_cast<const act_block*>(a + static_cast<std::size_t>(c) * a_stride), n));
      }
    }
  }
};

/// Converts an f32 activation row into format A at level I, exactly as ggml's CPU backend
/// does on x86 (the format's `quantize_activation_row`; may differ from its `quantize_row`
/// reference in rounding, which is why it is a separate function).
template <class A, isa I>
struct quantize_activation {
  static void row(const float* x, typename A::block* y, std::size_t n) noexcept {
    A::quantize_activation_row(x, y, n);
  }
};

}  // namespace mmllm::compute
