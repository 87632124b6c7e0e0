// mmllm/compute/quant_panel.hpp — the batched (prefill) kernel for q4_0 and q8_0 weights on
// AVX-512 VNNI: activations packed into 16-token panels, weights read in place.
//
// The dot kernels of quant_dot.hpp put 32 values of one weight row and one activation row in
// a vector and reduce across lanes, so every (row, token) pair pays for its own scale
// arithmetic. With several tokens it is cheaper to put 16 TOKENS in the lanes instead:
//   - each activation block (q8_0, as quantize_activation produced it) is repacked once per
//     matmul into a `panel_block`: the 32 quants of 16 tokens as 8 vectors of 4-byte groups
//     (vector j holds bytes 4j..4j+3 of every token), the 16 token scales as floats and the
//     16 token quant sums;
//   - a kernel broadcasts 4 weight bytes (read straight from the model's q4_0 / q8_0 block)
//     to all lanes and multiplies them with one panel vector in a single vpdpbusd, giving 4
//     multiply-adds for each of the 16 tokens. vpdpbusd takes unsigned weights: q4_0 nibbles
//     are 0..15 already (their −8 offset becomes −8·Σq of the token), q8_0 bytes are shifted
//     by +128 (−128·Σq). The block's integer sums are exact; per block and token the float
//     accumulator takes sum·(d_w·d_a), as ggml's reference dot does.
// The driver (matmul.hpp) cuts the output into tiles of weight rows × tokens, walks K in
// chunks that keep a tile's activations, weights and accumulators in L1, and scatters the
// accumulators to Y. Results differ from the dot kernels only by float summation order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../core/f16.hpp"
#include "../core/quant_formats.hpp"
#include "isa.hpp"

#if MMLLM_HAVE_X86_KERNELS
#include <immintrin.h>
#endif

namespace mmllm::compute::detail::panel {

/// Tokens per panel (the lanes of a 512-bit vector of int32).
inline constexpr std::size_t tokens = 16;

/// One q8_0 activation block of 16 tokens, repacked for the panel kernel (640 bytes).
struct alignas(64) panel_block {
  std::int8_t qs[8][64];     ///< qs[j][4t + i] = quant 4j + i of token t
  float d[tokens];           ///< token scales
  std::int32_t sum[tokens];  ///< Σ of each token's 32 quants
};
static_assert(sizeof(panel_block) == 640);

/// Repacks q8_0 activation rows [t0, t0 + n) (row t at a + t·a_stride, nb blocks each) into
/// one panel of nb blocks; tokens past n are zero (they contribute nothing).
inline void pack_panel(const std::byte* a, std::size_t a_stride, std::size_t t0, std::size_t n,
                       std::size_t nb, panel_block* out) noexcept {
  using ablock = fmt::q8_0::block;
  for (std::size_t b = 0; b < nb; ++b) {
    panel_block& p = out[b];
    std::memset(&p, 0, sizeof p);
    for (std::size_t t = 0; t < n; ++t) {
      const auto* blk = reinterpret_cast<const ablock*>(a + (t0 + t) * a_stride) + b;
      std::int32_t s = 0;
      for (int j = 0; j < 32; ++j) s += blk->qs[j];
      for (int j = 0; j < 8; ++j) std::memcpy(&p.qs[j][4 * t], blk->qs + 4 * j, 4);
      p.d[t] = mmllm::detail::f16_to_f32(blk->d);
      p.sum[t] = s;
    }
  }
}

/// Whether format Q has a panel kernel.
template <class Q>
inline constexpr bool has_kernel = std::is_same_v<Q, fmt::q4_0> || std::is_same_v<Q, fmt::q8_0>;

}  // namespace mmllm::compute::detail::panel

#if MMLLM_HAVE_X86_KERNELS
// GCC 12 false positives inside intrinsics (isa.hpp)
MMLLM_KERNELS_BEGIN
namespace mmllm::compute::detail::panel {
/// acc[r][16p + t] += Σ over nb blocks of W row r · token t of panel p, for NR weight
/// rows (row r at w + r·w_stride, starting at the chunk's first block) and NP panels
/// (panel p's chunk at a + p·a_panel_stride bytes). acc rows are ldacc floats apart,
/// 64-byte aligned.
template <class Q, int NR, int NP>
MMLLM_TARGET_AVX512_VNNI void tile(std::size_t nb, const std::byte* w, std::size_t w_stride,
                                   const std::byte* a, std::size_t a_panel_stride, float* acc,
                                   std::size_t ldacc) noexcept {
  using wblock = typename Q::block;
  constexpr bool q4 = std::is_same_v<Q, fmt::q4_0>;
  constexpr int offset_shift = q4 ? 3 : 7;  // q4_0: −8·Σq; q8_0 (+128): −128·Σq
  const wblock* wr[NR];
  const panel_block* ap[NP];
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r)
    wr[r] = reinterpret_cast<const wblock*>(w + static_cast<std::size_t>(r) * w_stride);
#pragma GCC unroll 4
  for (int p = 0; p < NP; ++p)
    ap[p] = reinterpret_cast<const panel_block*>(a + static_cast<std::size_t>(p) * a_panel_stride);
  __m512 f[NR][NP];
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r)
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) f[r][p] = _mm512_load_ps(acc + static_cast<std::size_t>(r) * ldacc + 16 * p);
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  [[maybe_unused]] const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (std::size_t b = 0; b < nb; ++b) {
    __m512i s[NR][NP];
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) {
      const __m512i corr = _mm512_sub_epi32(
          _mm512_setzero_si512(),
          _mm512_slli_epi32(_mm512_load_si512(reinterpret_cast<const void*>(ap[p][b].sum)), offset_shift));
#pragma GCC unroll 8
      for (int r = 0; r < NR; ++r) s[r][p] = corr;
    }
    if constexpr (q4) {
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) {
        __m512i lo[NR], hi[NR];
#pragma GCC unroll 8
        for (int r = 0; r < NR; ++r) {
          std::int32_t v;
          std::memcpy(&v, wr[r][b].qs + 4 * i, 4);
          const __m512i x = _mm512_set1_epi32(v);
          lo[r] = _mm512_and_si512(x, low4);
          hi[r] = _mm512_and_si512(_mm512_srli_epi16(x, 4), low4);
        }
#pragma GCC unroll 4
        for (int p = 0; p < NP; ++p) {
          const __m512i al = _mm512_load_si512(reinterpret_cast<const void*>(ap[p][b].qs[i]));
          const __m512i ah = _mm512_load_si512(reinterpret_cast<const void*>(ap[p][b].qs[i + 4]));
#pragma GCC unroll 8
          for (int r = 0; r < NR; ++r) {
            s[r][p] = _mm512_dpbusd_epi32(s[r][p], lo[r], al);
            s[r][p] = _mm512_dpbusd_epi32(s[r][p], hi[r], ah);
          }
        }
      }
    } else {
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        __m512i q[NR];
#pragma GCC unroll 8
        for (int r = 0; r < NR; ++r) {
          std::int32_t v;
          std::memcpy(&v, wr[r][b].qs + 4 * j, 4);
          q[r] = _mm512_xor_si512(_mm512_set1_epi32(v), flip);
        }
#pragma GCC unroll 4
        for (int p = 0; p < NP; ++p) {
          const __m512i av = _mm512_load_si512(reinterpret_cast<const void*>(ap[p][b].qs[j]));
#pragma GCC unroll 8
          for (int r = 0; r < NR; ++r) s[r][p] = _mm512_dpbusd_epi32(s[r][p], q[r], av);
        }
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) {
      const __m512 dw = _mm512_broadcastss_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(wr[r][b].d.bits)));
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p)
        f[r][p] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[r][p]), _mm512_mul_ps(dw, _mm512_load_ps(ap[p][b].d)),
                                  f[r][p]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r)
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) _mm512_store_ps(acc + static_cast<std::size_t>(r) * ldacc + 16 * p, f[r][p]);
}
}  // namespace mmllm::compute::detail::panel
MMLLM_KERNELS_END
#endif
