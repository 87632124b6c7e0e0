// mmllm/compute/compute_policy.hpp — the `compute_policy` concept: the kernels a model runs on.
//
// A compute policy is an object that runs the numeric kernels of a forward pass. mmllm has
// two: `compute::scalar` (plain loops, the reference every other implementation is tested
// against) and `compute::simd` (run-time dispatched AVX-512 / AVX2 / portable kernels,
// optionally multi-threaded through a caller-owned executor). Models are templates over
// the policy, so a program picks one at compile time.
//
// Conventions for every kernel:
//  - matrices are `matrix_view`s of float, rows × columns, with unit column stride (any row
//    stride); a kernel's output may be the same view as its (first) input (in place), but
//    must not otherwise overlap an input;
//  - element-wise kernels (`y = f(x)`) require x and y of the same shape; `add`/`mul` also
//    accept a one-row `b` that is broadcast over all rows of `a`;
//  - shapes are preconditions (checked with assert); only `matmul`, which depends on a
//    run-time weight type, reports errors.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <string>

#include "../core/any_matrix_view.hpp"
#include "../core/bf16.hpp"
#include "../core/f16.hpp"
#include "../core/result.hpp"
#include "../core/tensor_view.hpp"
#include "kernel_params.hpp"

namespace mmllm::compute {

/// The kernels a model needs; modelled by `compute::scalar` and `compute::simd`.
template <class P>
concept compute_policy = requires(P& p, matrix_view<const float> x, matrix_view<const float> b,
                                  matrix_view<float> y, const any_matrix_view& w, std::span<const float> v,
                                  std::span<const std::int32_t> pos, const rope_params& rp, float s,
                                  std::span<const float> xf, std::span<float> yf, std::span<const f16> xh,
                                  std::span<f16> yh, std::span<const bf16> xb, std::span<bf16> yb) {
  // y[t][o] = Σ_i x[t][i]·w[o][i] for weights of any supported dtype; error on an unsupported dtype or shape.
  { p.matmul(x, w, y) } -> std::same_as<result<void>>;
  // y = x / sqrt(mean(x²) + eps) · weight (per row; empty weight = 1).
  p.rmsnorm(x, y, s, v);
  // y = (x − mean) / sqrt(var + eps) · weight + bias (per row, population variance; empty = 1 / 0).
  p.layernorm(x, y, s, v, v);
  // y = softmax(x·scale + mask) per row; mask row r % mask.rows applies to row r (empty = none).
  p.softmax(x, y, s, b);
  // Rotary embedding of rows [token][head·head_dim] with ggml semantics; y may be x.
  p.rope(x, y, std::size_t{}, pos, rp);
  // y = x·sigmoid(x).
  p.silu(x, y);
  // y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
  p.gelu(x, y);
  // y = x·sigmoid(1.702·x).
  p.gelu_quick(x, y);
  // y = 0.5·x·(1 + erf(x/√2)).
  p.gelu_erf(x, y);
  // Peer quirk: GELU through llama.cpp's fp16 lookup table (x rounded to f16; x if x ≥ 10, 0 if x ≤ −10).
  p.gelu_f16_table(x, y);
  // Peer quirk: quick-GELU through llama.cpp's fp16 lookup table (x rounded to f16).
  p.gelu_quick_f16_table(x, y);
  // y = silu(a)·b.
  p.swiglu(x, b, y);
  // y = a + b (b: same shape, or one row broadcast).
  p.add(x, b, y);
  // y = a·b element-wise (b: same shape, or one row broadcast).
  p.mul(x, b, y);
  // y = x·s.
  p.scale(x, s, y);
  // y += x·s.
  p.add_scaled(x, s, y);
  // Row conversions f32 ↔ f16 / bf16 (round to nearest even; spans of equal length).
  p.convert(xf, yh);
  p.convert(xh, yf);
  p.convert(xf, yb);
  p.convert(xb, yf);
};

namespace detail {

/// Shape checks shared by every policy's matmul.
inline result<void> check_matmul(matrix_view<const float> x, const any_matrix_view& w, matrix_view<float> y) {
  const auto tr = traits_of(static_cast<std::uint32_t>(w.type));
  if (!tr || !tr->supported) {
    return make_error(errc::unsupported, "matmul: weight dtype ", name_of(w.type), " is not supported");
  }
  if (x.extent(1) != w.cols || y.extent(0) != x.extent(0) || y.extent(1) != w.rows) {
    return make_error(errc::invalid_argument, "matmul: shapes do not match: x ", std::to_string(x.extent(0)),
                      "x", std::to_string(x.extent(1)), ", w ", std::to_string(w.rows), "x",
                      std::to_string(w.cols), ", y ", std::to_string(y.extent(0)), "x",
                      std::to_string(y.extent(1)));
  }
  if (w.cols % tr->block_size != 0) {
    return make_error(errc::invalid_argument, "matmul: ", std::to_string(w.cols),
                      " columns are not a multiple of ", name_of(w.type), "'s block size ",
                      std::to_string(tr->block_size));
  }
  if ((x.extent(0) > 0 && x.extent(1) > 1 && x.stride(1) != 1) ||
      (y.extent(0) > 0 && y.extent(1) > 1 && y.stride(1) != 1)) {
    return make_error(errc::invalid_argument, "matmul: x and y need unit column stride");
  }
  if (w.rows > 0 && w.data == nullptr)
    return make_error(errc::invalid_argument, "matmul: weights without data");
  return ok();
}

}  // namespace detail

}  // namespace mmllm::compute
