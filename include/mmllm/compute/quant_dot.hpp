// mmllm/compute/quant_dot.hpp — the kernel interface between storage formats and matmul.
//
// A matmul Y = X·Wᵀ with W in format Q works as ggml's CPU backend does:
//   1. each activation row x (f32) is converted to Q's activation format A = Q::activation
//      (`quantize_activation<A, I>::row`, bit-exact with what ggml's CPU backend produces,
//      and identical at every level);
//   2. dot products between weight rows and converted activation rows are computed in
//      tiles (`quant_dot<Q, I, E>::tile`), so a SIMD level can reuse loaded weights across
//      several activation rows and loaded activations across several weight rows.
//
// Interface (what a matmul driver calls):
//
//   using K = quant_dot<Q, I, E>;            // Q: fmt::*, I: isa level, E: isa_ext variant
//   K::max_rows, K::max_cols                 // largest tile (weight rows × activation rows)
//   K::tile(n, w, w_stride, nr, a, a_stride, nc, out, ldo);
//       // out[r*ldo + c] = Σ_k W[r][k]·A[c][k], r < nr ≤ max_rows, c < nc ≤ max_cols;
//       // n: elements per row (a multiple of Q::block_size); w / a: first weight / activation
//       // row (blocks of Q::block / Q::activation::block, aligned to the block's alignof — 2
//       // or 4 bytes — and otherwise at any address); strides in bytes.
//       // Kernels prefetch the rows two tiles below (w + 2·nr·w_stride …): walk the weight
//       // rows downwards tile by tile within a thread to stream them from memory.
//   quantize_activation<Q::activation, I>::row(x, y, n);   // n a multiple of the block size
//
// Levels and variants: `isa` (generic, avx2, avx512) comes from cpu_features::best();
// `isa_ext` refines avx512 with AVX512-VNNI (the 32-value block formats: vpdpbusd) and
// AVX512-BF16 (bf16 weights: vdpbf16ps) and comes from best_ext(level, cpu).
// `visit_kernel_level(cpu, f)` turns both into compile-time constants. A (level, variant)
// without its own kernel for a format inherits the next weaker one, so every combination is
// valid; formats whose weights ggml never dots (q8_1, q8_K) use the scalar reference at
// every level. Results differ between levels only by float summation order (≲1e-6 of
// Σ|w·a|), never in the integer parts.
//
// Changes to the first version of this interface: the third parameter `isa_ext E`
// (defaulted, so `quant_dot<Q, I>` still names the plain level), the alignment requirement
// and the prefetching described above; tile(), max_rows / max_cols and
// quantize_activation<A, I>::row are unchanged.
//
// This header includes every level (quant_dot_generic.hpp, quant_dot_avx2.hpp,
// quant_dot_avx512.hpp); include it rather than those, so all translation units see the
// same specializations.
#pragma once

#include <type_traits>

#include "isa.hpp"
#include "quant_dot_avx2.hpp"
#include "quant_dot_avx512.hpp"
#include "quant_dot_generic.hpp"

namespace mmllm::compute {

/// A kernel level and variant as compile-time constants.
template <isa I, isa_ext E = isa_ext::none>
struct kernel_level {
  static constexpr isa level = I;
  static constexpr isa_ext ext = E;
};

/// Calls f(kernel_level<I, E>{}) with the best level and variant this build has kernels for
/// that `cpu` can run, and returns what f returns.
///
///   auto run = [&](auto k) { using K = quant_dot<Q, decltype(k)::level, decltype(k)::ext>; ... };
///   visit_kernel_level(detect_cpu_features(), run);
template <class F>
decltype(auto) visit_kernel_level(const cpu_features& cpu, F&& f) {
#if MMLLM_HAVE_X86_KERNELS
  switch (cpu.best()) {
    case isa::avx512:
      switch (best_ext(isa::avx512, cpu)) {
        case isa_ext::vnni_bf16: return f(kernel_level<isa::avx512, isa_ext::vnni_bf16>{});
        case isa_ext::vnni: return f(kernel_level<isa::avx512, isa_ext::vnni>{});
        case isa_ext::none: break;
      }
      return f(kernel_level<isa::avx512>{});
    case isa::avx2: return f(kernel_level<isa::avx2>{});
    case isa::generic: break;
  }
#else
  (void)cpu;
#endif
  return f(kernel_level<isa::generic>{});
}

}  // namespace mmllm::compute
