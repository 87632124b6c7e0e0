// mmllm/compute/quant_dot_x86.hpp — helpers shared by the AVX2 and AVX-512 quantized dot
// kernels: scale conversions, horizontal sums, and the run-time → compile-time tile-shape
// dispatch. Part of compute/quant_dot.hpp (include that instead).
//
// Every function here that uses intrinsics is marked MMLLM_TARGET_AVX2, so it can be
// inlined into AVX2 kernels and into AVX-512 kernels (whose target is a superset).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "../core/f16.hpp"
#include "isa.hpp"

#if MMLLM_HAVE_X86_KERNELS
#include <immintrin.h>
#endif

namespace mmllm::compute::detail {

template <int R, int C, int MC, class F>
void with_tile_cols(int nc, F& f) {
  if (nc == C) {
    f(std::integral_constant<int, R>{}, std::integral_constant<int, C>{});
  } else if constexpr (C < MC) {
    with_tile_cols<R, C + 1, MC>(nc, f);
  }
}
template <int R, int MR, int MC, class F>
void with_tile_rows(int nr, int nc, F& f) {
  if (nr == R) {
    with_tile_cols<R, 1, MC>(nc, f);
  } else if constexpr (R < MR) {
    with_tile_rows<R + 1, MR, MC>(nr, nc, f);
  }
}

/// Calls f(std::integral_constant<int, R>{}, std::integral_constant<int, C>{}) for the
/// compile-time tile shape R×C equal to the run-time (nr, nc), 1 ≤ nr ≤ MR, 1 ≤ nc ≤ MC
/// (nothing for other values).
template <int MR, int MC, class F>
void with_tile_shape(int nr, int nc, F&& f) {
  assert(nr >= 1 && nr <= MR && nc >= 1 && nc <= MC);
  with_tile_rows<1, MR, MC>(nr, nc, f);
}

/// Typed view of block b of a row starting at `row` (rows of blocks are unaligned bytes).
template <class B>
inline const B* block_row(const std::byte* base, std::size_t stride, int r) noexcept {
  return reinterpret_cast<const B*>(base + static_cast<std::size_t>(r) * stride);
}

}  // namespace mmllm::compute::detail

#if MMLLM_HAVE_X86_KERNELS

namespace mmllm::compute::detail::x86 {

/// binary16 → float with F16C (exact).
MMLLM_TARGET_AVX2 inline float half_to_float(mmllm::f16 h) noexcept {
  return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h.bits)));
}

/// v, opaque to the optimizer: a product passed through this is rounded on its own and is
/// never fused with a following addition into an FMA (GCC contracts intrinsics otherwise).
MMLLM_TARGET_AVX2 inline __m256 unfused(__m256 v) noexcept {
  __asm__("" : "+x"(v));
  return v;
}

/// Prefetch (into L2) for the tile two tiles ahead: a kernel working on nr rows starting at
/// `w` (`ws` bytes apart) calls this once per step with the bytes of each row it has
/// consumed so far (`done`) and consumes in this step (`step`); the matching share of the
/// nr rows that follow is prefetched, so a driver walking down the matrix tile by tile
/// finds them in cache. Quantized rows are short (a few KB) and read as nr interleaved
/// streams, which the hardware prefetchers follow poorly: without this a mat-vec keeps too
/// few cache lines in flight to stream from DRAM. Addresses are formed as integers, so
/// prefetching past the end of the matrix (harmless: prefetches never fault) is not
/// pointer arithmetic past it.
/// `Step` is the bytes per row of one step (a compile-time constant, so the prefetches
/// unroll: ⌈nr·Step/64⌉ + 1 lines per step cover the share wherever it starts).
template <std::size_t Step>
inline void prefetch_next_tile(const std::byte* w, std::size_t ws, int nr, std::size_t done) noexcept {
  const std::size_t n = static_cast<std::size_t>(nr);
  const std::uintptr_t at = reinterpret_cast<std::uintptr_t>(w) + 2 * n * ws + done * n;
  const std::size_t lines = (n * Step + 63) / 64 + 1;
  for (std::size_t k = 0; k < lines; ++k) {
    _mm_prefetch(reinterpret_cast<const char*>(at + 64 * k), _MM_HINT_T1);
  }
}

/// Sum of the 8 lanes.
MMLLM_TARGET_AVX2 inline float hsum(__m256 v) noexcept {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// Sum of the 8 int32 lanes (wrapping).
MMLLM_TARGET_AVX2 inline int hsum_i32(__m256i v) noexcept {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

/// 32 nibbles of 16 bytes in ggml's block order: low nibbles (values 0..15), then high
/// nibbles (values 16..31).
MMLLM_TARGET_AVX2 inline __m256i nibbles_32(const std::uint8_t* p) noexcept {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0F));
}

/// 32 bits (little endian) → 32 bytes, 0x10 where the bit is set (the fifth bit of q5_*).
MMLLM_TARGET_AVX2 inline __m256i fifth_bits_32(const std::uint8_t* p) noexcept {
  std::uint32_t bits = 0;
  std::memcpy(&bits, p, 4);
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000));
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ULL));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
}

/// A 16-entry int8 table replicated in both 128-bit lanes (for vpshufb lookups).
MMLLM_TARGET_AVX2 inline __m256i table16(const std::int8_t* t) noexcept {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t)));
}

}  // namespace mmllm::compute::detail::x86

#endif  // MMLLM_HAVE_X86_KERNELS
