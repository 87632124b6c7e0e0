// mmllm/compute/matmul.hpp — the matmul driver: Y[t][o] = Σ_i X[t][i]·W[o][i] for weights of
// any supported dtype (a run-time fact of the model file).
//
// Two paths, chosen per call:
//  - dot path (every format; mat-vec and small batches): each activation row is converted
//    to the format's activation type with `quantize_activation<A, I>::row` into the
//    workspace, as ggml's CPU backend does; then `quant_dot<Q, I>::tile` computes blocks of
//    dot products. The output is cut into tiles of `dot_tile_rows()` (64-256) weight rows ×
//    `dot_cols_per_tile` activation rows, handed to threads through an atomic counter
//    (mat-vec therefore splits over weight rows; boundaries are multiples of 16 rows, so
//    threads never write the same cache line of a 64-byte aligned Y row).
//    With AVX-512 VNNI, q4_0 / q8_0 weights and at least `panel_min_tokens` rows, the tiles
//    run the panel kernel of quant_panel.hpp instead (16 tokens per vector).
//  - GEMM path (f32 / f16 / bf16 weights, at least `matmul_options::gemm_min_rows` rows):
//    the packed, cache-blocked GEMM of gemm.hpp.
// Each element of Y is computed by one tile call whose shape depends only on the problem,
// so results do not depend on the number of threads. Jobs never wait for each other.
//
// Separate compilation (optional): the dot path's dispatcher instantiates every block format
// for every ISA variant (about 1.5 MB of code, most of the compile time of a translation unit
// that multiplies matrices). A program that defines MMLLM_SEPARATE_KERNELS in every
// translation unit sees only a declaration of `detail::matmul` here and compiles it once, in
// the translation unit that also defines MMLLM_KERNELS_IMPLEMENTATION before including
// <mmllm/compute/simd.hpp> (the project's tests, examples and benchmarks do: examples/kernels.cpp).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>

#include "../core/any_matrix_view.hpp"
#include "../core/quant_formats.hpp"
#include "../core/result.hpp"
#include "../core/tensor_view.hpp"
#include "compute_policy.hpp"
#include "executor_ref.hpp"
#include "gemm.hpp"
#include "isa.hpp"
#include "kernel_params.hpp"
#include "quant_dot.hpp"
#include "quant_panel.hpp"
#include "workspace.hpp"

namespace mmllm::compute::detail {

/// Weight rows per dot-path tile (a multiple of 16, rounded up to the kernel's max_rows).
inline constexpr std::size_t dot_rows_per_tile = 64;
/// Largest weight rows per dot-path tile: tiles grow towards this while every thread still gets
/// about four of them (fewer tile starts, whose first rows are not prefetched by the kernel).
inline constexpr std::size_t dot_rows_per_tile_max = 256;

/// Weight rows per dot-path tile for n_out rows on n_threads threads (a multiple of 64 in
/// [dot_rows_per_tile, dot_rows_per_tile_max]). Only the partition depends on it: each row is
/// still computed by the same kernel call shape, so results do not depend on it.
constexpr std::size_t dot_tile_rows(std::size_t n_out, unsigned n_threads) noexcept {
  const std::size_t share = n_out / (4 * static_cast<std::size_t>(n_threads)) / 64 * 64;
  return std::clamp(share, dot_rows_per_tile, dot_rows_per_tile_max);
}
/// Activation rows per dot-path tile (their converted rows stay in L2 while a tile runs).
inline constexpr std::size_t dot_cols_per_tile = 64;

/// Panel path (quant_panel.hpp): weight rows per tile and 512-bit-block chunk of K per pass.
inline constexpr std::size_t panel_rows_per_tile = 64;
inline constexpr std::size_t panel_blocks_per_chunk = 8;
/// Activation rows from which q4_0 / q8_0 weights take the panel path (with VNNI).
inline constexpr std::size_t panel_min_tokens = 8;
/// Panels (16 tokens each) per tile; a kernel call covers panel_rows_per_call weight rows ×
/// this many panels.
inline constexpr std::size_t panel_panels_per_tile = 2;
/// Weight rows per panel-kernel call (16 vector accumulators with 2 panels).
inline constexpr std::size_t panel_rows_per_call = 4;

/// Whether format Q at level I, variant E multiplies batches through the panel kernel.
template <class Q, isa I, isa_ext E>
inline constexpr bool uses_panel =
    MMLLM_HAVE_X86_KERNELS&& I == isa::avx512&& E != isa_ext::none&& panel::has_kernel<Q>;

#if MMLLM_HAVE_X86_KERNELS
/// Panel path for q4_0 / q8_0 weights: `act` holds the n_tok q8_0 activation rows, `panels`
/// room for ⌈n_tok/16⌉·nb panel blocks.
template <class Q>
void matmul_panel(const std::byte* act, std::size_t act_stride, std::size_t n_tok, const any_matrix_view& w,
                  matrix_view<float> y, panel::panel_block* panels, executor_ref ex) {
  using panel::panel_block;
  const std::size_t n_out = w.rows, nb = w.cols / 32;
  const std::size_t n_panels = (n_tok + panel::tokens - 1) / panel::tokens;
  const unsigned n_threads = std::max(1u, ex.size());
  auto pack = [&](std::size_t b, std::size_t e) {
    for (std::size_t p = b; p < e; ++p)
      panel::pack_panel(act, act_stride, p * panel::tokens,
                        std::min(panel::tokens, n_tok - p * panel::tokens), nb, panels + p * nb);
  };
  if (n_threads > 1 && n_panels >= 2) {
    ex.run([&](unsigned i, unsigned nt) {
      const auto [b, e] = thread_pool::partition(n_panels, i, nt);
      pack(b, e);
    });
  } else {
    pack(0, n_panels);
  }

  constexpr std::size_t rows = panel_rows_per_tile, ppt = panel_panels_per_tile, tok = ppt * panel::tokens;
  const std::size_t tiles_o = (n_out + rows - 1) / rows, tiles_t = (n_panels + ppt - 1) / ppt;
  const std::size_t n_tiles = tiles_o * tiles_t;
  const std::size_t ldy = static_cast<std::size_t>(y.stride(0));
  const std::size_t panel_stride = nb * sizeof(panel_block);
  alignas(64) std::atomic<std::size_t> next{0};
  auto job = [&](unsigned, unsigned) {
    alignas(64) float acc[rows * tok];
    for (std::size_t t = next.fetch_add(1, std::memory_order_relaxed); t < n_tiles;
         t = next.fetch_add(1, std::memory_order_relaxed)) {
      const std::size_t o0 = (t / tiles_t) * rows, o1 = std::min(n_out, o0 + rows);
      const std::size_t p0 = (t % tiles_t) * ppt, np = std::min(ppt, n_panels - p0);
      std::fill(acc, acc + rows * tok, 0.0f);
      for (std::size_t b0 = 0; b0 < nb; b0 += panel_blocks_per_chunk) {
        const std::size_t nbc = std::min(panel_blocks_per_chunk, nb - b0);
        const std::byte* ap = reinterpret_cast<const std::byte*>(panels + p0 * nb + b0);
        for (std::size_t o = o0; o < o1; o += panel_rows_per_call) {
          const std::byte* wp = w.row(o) + b0 * sizeof(typename Q::block);
          float* accr = acc + (o - o0) * tok;
          with_tile_shape<static_cast<int>(panel_rows_per_call), static_cast<int>(ppt)>(
              static_cast<int>(std::min(panel_rows_per_call, o1 - o)), static_cast<int>(np),
              [&](auto R, auto P) {
                panel::tile<Q, decltype(R)::value, decltype(P)::value>(nbc, wp, w.row_stride, ap,
                                                                       panel_stride, accr, tok);
              });
        }
      }
      const std::size_t c0 = p0 * panel::tokens, nc = std::min(n_tok - c0, np * panel::tokens);
      for (std::size_t c = 0; c < nc; ++c) {
        float* yr = y.data() + (c0 + c) * ldy + o0;
        for (std::size_t r = 0; r < o1 - o0; ++r) yr[r] = acc[r * tok + c];
      }
    }
  };
  if (n_threads > 1 && n_tiles > 1) {
    ex.run(job);
  } else {
    job(0, 1);
  }
}
#endif

/// Prefetches (into L2) rows [o, o + n) of w, clipped to the matrix.
inline void prefetch_rows(const any_matrix_view& w, std::size_t o, std::size_t n,
                          std::size_t bytes) noexcept {
#if MMLLM_HAVE_X86_KERNELS
  const std::size_t end = std::min(w.rows, o + n);
  for (std::size_t r = o; r < end; ++r) {
    const std::byte* row = w.row(r);
    for (std::size_t b = 0; b < bytes; b += 64)
      _mm_prefetch(reinterpret_cast<const char*>(row + b), _MM_HINT_T1);
  }
#else
  (void)w, (void)o, (void)n, (void)bytes;
#endif
}

/// Dot path for format Q at level I, variant E (shapes already checked).
template <quant_format Q, isa I, isa_ext E>
result<void> matmul_dot(matrix_view<const float> x, const any_matrix_view& w, matrix_view<float> y,
                        workspace& ws, executor_ref ex) {
  using A = typename Q::activation;
  using kernel = quant_dot<Q, I, E>;
  const std::size_t n_tok = x.extent(0), n_out = w.rows, k = w.cols;
  if (n_tok == 0 || n_out == 0) return ok();
  const unsigned n_threads = std::max(1u, ex.size());

  // 1. activations in A's format
  const std::byte* act = nullptr;
  std::size_t act_stride = 0;
  if constexpr (A::id == dtype::f32) {
    act = reinterpret_cast<const std::byte*>(x.data());
    act_stride = static_cast<std::size_t>(x.stride(0)) * sizeof(float);
  } else {
    act_stride = workspace::round_up(k / A::block_size * sizeof(typename A::block));
    std::size_t panel_bytes = 0;
    if constexpr (uses_panel<Q, I, E>)
      if (n_tok >= panel_min_tokens)
        panel_bytes = (n_tok + panel::tokens - 1) / panel::tokens * (k / 32) * sizeof(panel::panel_block);
    std::byte* buf = ws.get(n_tok * act_stride + panel_bytes);
    if (buf == nullptr)
      return make_error(errc::resource_limit, "matmul: cannot allocate the activation workspace");
    auto convert_rows = [&](std::size_t b, std::size_t e) {
      for (std::size_t t = b; t < e; ++t)
        quantize_activation<A, I>::row(x.data() + t * static_cast<std::size_t>(x.stride(0)),
                                       reinterpret_cast<typename A::block*>(buf + t * act_stride), k);
    };
    if (n_threads > 1 && n_tok >= 2 * n_threads) {
      ex.run([&](unsigned i, unsigned nt) {
        const auto [b, e] = thread_pool::partition(n_tok, i, nt);
        convert_rows(b, e);
      });
    } else {
      convert_rows(0, n_tok);
    }
    act = buf;
#if MMLLM_HAVE_X86_KERNELS
    if constexpr (uses_panel<Q, I, E>) {
      if (panel_bytes != 0) {
        matmul_panel<Q>(act, act_stride, n_tok, w, y,
                        reinterpret_cast<panel::panel_block*>(buf + n_tok * act_stride), ex);
        return ok();
      }
    }
#endif
  }

  // 2. tiles of dot products
  constexpr auto kr = static_cast<std::size_t>(kernel::max_rows),
                 kc = static_cast<std::size_t>(kernel::max_cols);
  static_assert(kr >= 1 && kc >= 1);
  const std::size_t rows_per_tile = (dot_tile_rows(n_out, n_threads) + kr - 1) / kr * kr;
  constexpr std::size_t cols_per_tile = (dot_cols_per_tile + kc - 1) / kc * kc;
  const std::size_t tiles_o = (n_out + rows_per_tile - 1) / rows_per_tile;
  const std::size_t tiles_t = (n_tok + cols_per_tile - 1) / cols_per_tile;
  const std::size_t n_tiles = tiles_o * tiles_t;
  const std::size_t ldy = static_cast<std::size_t>(y.stride(0));
  float* const yd = y.data();
  alignas(64) std::atomic<std::size_t> next{0};

  const std::size_t row_bytes = k / Q::block_size * sizeof(typename Q::block);
  auto job = [&](unsigned, unsigned) {
    alignas(64) float out[kr * kc];
    // Tiles are claimed one ahead: the first rows of the next tile are prefetched before this
    // one runs (within a tile the kernel prefetches ahead itself), so a thread's first loads
    // of a tile do not wait for memory.
    std::size_t t = next.fetch_add(1, std::memory_order_relaxed);
    while (t < n_tiles) {
      const std::size_t t_next = next.fetch_add(1, std::memory_order_relaxed);
      if (t_next < n_tiles && (t_next % tiles_t) == 0)
        prefetch_rows(w, (t_next / tiles_t) * rows_per_tile, 2 * kr, row_bytes);
      const std::size_t o0 = (t / tiles_t) * rows_per_tile, o1 = std::min(n_out, o0 + rows_per_tile);
      const std::size_t c0 = (t % tiles_t) * cols_per_tile, c1 = std::min(n_tok, c0 + cols_per_tile);
      for (std::size_t o = o0; o < o1; o += kr) {
        const int nr = static_cast<int>(std::min(kr, o1 - o));
        const std::byte* wr = w.row(o);
        for (std::size_t c = c0; c < c1; c += kc) {
          const int nc = static_cast<int>(std::min(kc, c1 - c));
          if (nc == 1) {  // one activation row: results land in Y directly
            kernel::tile(k, wr, w.row_stride, nr, act + c * act_stride, act_stride, 1, yd + c * ldy + o, 1);
          } else {
            kernel::tile(k, wr, w.row_stride, nr, act + c * act_stride, act_stride, nc, out, kc);
            for (int r = 0; r < nr; ++r)
              for (int q = 0; q < nc; ++q)
                yd[(c + static_cast<std::size_t>(q)) * ldy + o + static_cast<std::size_t>(r)] =
                    out[static_cast<std::size_t>(r) * kc + static_cast<std::size_t>(q)];
          }
        }
      }
      t = t_next;
    }
  };
  if (n_threads > 1 && n_tiles > 1) {
    ex.run(job);
  } else {
    job(0, 1);
  }
  return ok();
}

/// GEMM path for f32 / f16 / bf16 weights (shapes already checked).
inline result<void> matmul_gemm(isa level, matrix_view<const float> x, const any_matrix_view& w,
                                matrix_view<float> y, workspace& ws, executor_ref ex,
                                const matmul_options& opt) {
  gemm_problem pr;
  pr.m = x.extent(0);
  pr.n = w.rows;
  pr.k = w.cols;
  pr.x = x.data();
  pr.ldx = static_cast<std::size_t>(x.stride(0));
  pr.w = w.data;
  pr.w_stride = w.row_stride;
  pr.y = y.data();
  pr.ldy = static_cast<std::size_t>(y.stride(0));
  switch (w.type) {
    case dtype::f16:
      pr.wtype = gemm_weight::f16;
      pr.round_x = opt.peer_activation_rounding ? gemm_rounding::f16 : gemm_rounding::none;
      break;
    case dtype::bf16:
      pr.wtype = gemm_weight::bf16;
      pr.round_x = opt.peer_activation_rounding ? gemm_rounding::bf16 : gemm_rounding::none;
      break;
    default: pr.wtype = gemm_weight::f32; break;
  }
  const unsigned n_threads = std::max(1u, ex.size());
  std::byte* scratch = ws.get(gemm_scratch_bytes(level, n_threads));
  if (scratch == nullptr)
    return make_error(errc::resource_limit, "matmul: cannot allocate the GEMM workspace");
  gemm(level, pr, scratch, ex);
  return ok();
}

#if defined(MMLLM_SEPARATE_KERNELS) && !defined(MMLLM_KERNELS_IMPLEMENTATION)
/// Y = X·Wᵀ at `level` (defined in the program's MMLLM_KERNELS_IMPLEMENTATION unit).
result<void> matmul(isa level, const cpu_features& cpu, matrix_view<const float> x, const any_matrix_view& w,
                    matrix_view<float> y, workspace& ws, executor_ref ex, const matmul_options& opt);
#else
#if defined(MMLLM_SEPARATE_KERNELS)
#define MMLLM_DETAIL_MATMUL_LINKAGE  // the one out-of-line definition
#else
#define MMLLM_DETAIL_MATMUL_LINKAGE inline
#endif
/// Y = X·Wᵀ at `level` (kernel variants as `cpu` allows): checks shapes, picks the path,
/// dispatches on W's dtype.
MMLLM_DETAIL_MATMUL_LINKAGE result<void> matmul(isa level, const cpu_features& cpu,
                                                matrix_view<const float> x, const any_matrix_view& w,
                                                matrix_view<float> y, workspace& ws, executor_ref ex,
                                                const matmul_options& opt) {
  MMLLM_TRY(check_matmul(x, w, y));
  const bool plain = w.type == dtype::f32 || w.type == dtype::f16 || w.type == dtype::bf16;
  if (plain && x.extent(0) >= std::max<std::size_t>(1, opt.gemm_min_rows))
    return matmul_gemm(level, x, w, y, ws, ex, opt);
  const isa_ext ext = best_ext(level, cpu);
  return visit_format(w.type, [&](auto tag) -> result<void> {
    using Q = typename decltype(tag)::type;
#if MMLLM_HAVE_X86_KERNELS
    if (level == isa::avx512) {
      if (ext == isa_ext::vnni_bf16) return matmul_dot<Q, isa::avx512, isa_ext::vnni_bf16>(x, w, y, ws, ex);
      if (ext == isa_ext::vnni) return matmul_dot<Q, isa::avx512, isa_ext::vnni>(x, w, y, ws, ex);
      return matmul_dot<Q, isa::avx512, isa_ext::none>(x, w, y, ws, ex);
    }
    if (level == isa::avx2) return matmul_dot<Q, isa::avx2, isa_ext::none>(x, w, y, ws, ex);
#else
    (void)ext;
#endif
    return matmul_dot<Q, isa::generic, isa_ext::none>(x, w, y, ws, ex);
  });
}
#undef MMLLM_DETAIL_MATMUL_LINKAGE
#endif

}  // namespace mmllm::compute::detail
