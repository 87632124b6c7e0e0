// mmllm/core/quant_format.hpp — the concept every storage format (f32, f16, q4_0, …) models.
//
// A format is a stateless type naming one `dtype`: its block struct (bit-exact with ggml),
// the reference row conversions, and the scalar dot product against the activation format
// ggml pairs it with. Plain types are formats with block_size 1.
#pragma once

#include <concepts>
#include <cstddef>

#include "dtype.hpp"

namespace mmllm {

/// A storage format: block layout + reference dequantize/quantize + paired dot product.
template <class Q>
concept quant_format = requires(const typename Q::block* b, typename Q::block* out, const float* x, float* y,
                                const typename Q::activation::block* a, std::size_t n) {
  typename Q::block;       // one block of `block_size` elements, `sizeof == type_size`
  typename Q::activation;  // format activations are converted to for `dot`
  { Q::id } -> std::convertible_to<dtype>;
  { Q::block_size } -> std::convertible_to<std::size_t>;
  Q::dequantize_row(b, y, n);                         // n elements (a multiple of block_size)
  Q::quantize_row(x, out, n);                         // reference quantization (ggml's `_ref`)
  { Q::dot(b, a, n) } -> std::convertible_to<float>;  // sum of dequant(b)*dequant(a), as ggml computes it
};

}  // namespace mmllm
