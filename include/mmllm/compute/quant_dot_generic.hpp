// mmllm/compute/quant_dot_generic.hpp — the primary templates of the quantized dot-product
// kernels (the `generic` level, built on each format's scalar reference) and the fallback
// rules between levels.
//
// Part of compute/quant_dot.hpp: include that header, not this one, so that every
// translation unit sees the same specializations (quant_dot_avx2.hpp, quant_dot_avx512.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../core/quant_format.hpp"
#include "isa.hpp"

namespace mmllm::compute {

/// Optional extensions a kernel variant may use on top of its `isa` level. Only the avx512
/// level has variants; `best_ext` says which one a CPU can run. Every CPU with AVX512-BF16
/// also has AVX512-VNNI, so the variants form a chain: vnni_bf16 ⊃ vnni ⊃ none.
enum class isa_ext : std::uint8_t {
  none = 0,       ///< the level's base instructions only
  vnni = 1,       ///< avx512 + AVX512-VNNI (vpdpbusd)
  vnni_bf16 = 2,  ///< avx512 + AVX512-VNNI + AVX512-BF16 (vdpbf16ps)
};

constexpr std::string_view to_string(isa_ext e) noexcept {
  switch (e) {
    case isa_ext::none: return "none";
    case isa_ext::vnni: return "vnni";
    case isa_ext::vnni_bf16: return "vnni_bf16";
  }
  return "?";
}

/// The richest kernel variant of `level` that a CPU with features `f` can run.
constexpr isa_ext best_ext(isa level, const cpu_features& f) noexcept {
  if (level != isa::avx512 || !f.avx512 || !f.avx512_vnni) return isa_ext::none;
  return f.avx512_bf16 ? isa_ext::vnni_bf16 : isa_ext::vnni;
}

namespace detail {
/// Where a (level, variant) without its own kernel for a format takes it from:
/// a weaker variant of the same level first, then the next lower level.
constexpr isa fallback_isa(isa i, isa_ext e) noexcept {
  if (e != isa_ext::none) return i;
  return i == isa::avx512 ? isa::avx2 : isa::generic;
}
constexpr isa_ext fallback_ext(isa_ext e) noexcept {
  return e == isa_ext::vnni_bf16 ? isa_ext::vnni : isa_ext::none;
}
}  // namespace detail

/// Tiled dot products of weight format Q with activations in Q::activation, at level I
/// (variant E). Levels and variants without their own kernel for Q inherit the next
/// weaker one (see detail::fallback_isa); the generic level is the scalar reference.
template <quant_format Q, isa I, isa_ext E = isa_ext::none>
struct quant_dot : quant_dot<Q, detail::fallback_isa(I, E), detail::fallback_ext(E)> {};

/// The generic level: the format's scalar reference, one dot product at a time.
template <quant_format Q>
struct quant_dot<Q, isa::generic, isa_ext::none> {
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
/// reference in rounding, which is why it is a separate function). Every level produces the
/// same bytes; levels without their own kernel inherit the next lower one.
template <class A, isa I>
struct quantize_activation : quantize_activation<A, detail::fallback_isa(I, isa_ext::none)> {};

template <class A>
struct quantize_activation<A, isa::generic> {
  static void row(const float* x, typename A::block* y, std::size_t n) noexcept {
    A::quantize_activation_row(x, y, n);
  }
};

}  // namespace mmllm::compute
