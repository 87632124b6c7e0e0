// mmllm/compute/quant_dot_avx2.hpp — AVX2 (+FMA, F16C) quantized dot-product kernels and
// activation quantizers: specializations of quant_dot<Q, isa::avx2> and
// quantize_activation<A, isa::avx2>. Part of compute/quant_dot.hpp (include that instead).
//
// Three engines cover every format:
//   * 32-value blocks (q4_0, q4_1, q5_0, q5_1, q8_0, iq4_nl, mxfp4 × q8_0/q8_1): a format
//     only says how to turn one block into 32 bytes (u8 with an offset, or s8) plus its
//     scale; the engine does vpmaddubsw/vpmaddwd per block and one FMA with dw·da.
//   * 256-value super-blocks (q2_K … q6_K, iq4_xs × q8_K): a format gives 32-value chunks,
//     16 int16 sub-scales and optional minima; integer sums run over the super-block, value
//     offsets and minima are applied once through q8_K's bsums.
//   * plain rows (f32, f16, bf16): FMA over converted lanes.
// Tiles go up to 4 weight rows × 2 activation rows (16 ymm registers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../core/quant_formats.hpp"
#include "quant_dot_generic.hpp"
#include "quant_dot_x86.hpp"

#if MMLLM_HAVE_X86_KERNELS

// GCC 12 false positives inside intrinsics (isa.hpp)
MMLLM_KERNELS_BEGIN

namespace mmllm::compute::detail::avx2 {
using x86::half_to_float;

// ---------------------------------------------------------------------------------------
// 32-value blocks
// ---------------------------------------------------------------------------------------

/// How a 32-value format presents its quants: `u8` values v ∈ [0, 63] meaning v − offset
/// (offset = 2^offset_shift, or 0 when offset_shift < 0), or `s8` signed values.
enum class qkind : std::uint8_t { u8, s8 };

struct q4_0_unpack {
  using format = fmt::q4_0;
  static constexpr qkind kind = qkind::u8;
  static constexpr int offset_shift = 3;  // v − 8
  static constexpr bool has_min = false;
  MMLLM_TARGET_AVX2 static __m256i quants(const format::block& b) noexcept { return x86::nibbles_32(b.qs); }
  MMLLM_TARGET_AVX2 static float scale(const format::block& b) noexcept { return half_to_float(b.d); }
};

struct q4_1_unpack {
  using format = fmt::q4_1;
  static constexpr qkind kind = qkind::u8;
  static constexpr int offset_shift = -1;
  static constexpr bool has_min = true;
  MMLLM_TARGET_AVX2 static __m256i quants(const format::block& b) noexcept { return x86::nibbles_32(b.qs); }
  MMLLM_TARGET_AVX2 static float scale(const format::block& b) noexcept { return half_to_float(b.d); }
  MMLLM_TARGET_AVX2 static float min(const format::block& b) noexcept { return half_to_float(b.m); }
};

struct q5_0_unpack {
  using format = fmt::q5_0;
  static constexpr qkind kind = qkind::u8;
  static constexpr int offset_shift = 4;  // v − 16
  static constexpr bool has_min = false;
  MMLLM_TARGET_AVX2 static __m256i quants(const format::block& b) noexcept {
    return _mm256_or_si256(x86::nibbles_32(b.qs), x86::fifth_bits_32(b.qh));
  }
  MMLLM_TARGET_AVX2 static float scale(const format::block& b) noexcept { return half_to_float(b.d); }
};

struct q5_1_unpack {
  using format = fmt::q5_1;
  static constexpr qkind kind = qkind::u8;
  static constexpr int offset_shift = -1;
  static constexpr bool has_min = true;
  MMLLM_TARGET_AVX2 static __m256i quants(const format::block& b) noexcept {
    return _mm256_or_si256(x86::nibbles_32(b.qs), x86::fifth_bits_32(b.qh));
  }
  MMLLM_TARGET_AVX2 static float scale(const format::block& b) noexcept { return half_to_float(b.d); }
  MMLLM_TARGET_AVX2 static float min(const format::block& b) noexcept { return half_to_float(b.m); }
};

struct q8_0_unpack {
  using format = fmt::q8_0;
  static constexpr qkind kind = qkind::s8;
  static constexpr int offset_shift = -1;
  static constexpr bool has_min = false;
  MMLLM_TARGET_AVX2 static __m256i quants(const format::block& b) noexcept {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
  }
  MMLLM_TARGET_AVX2 static float scale(const format::block& b) noexcept { return half_to_float(b.d); }
};

struct iq4_nl_unpack {
  using format = fmt::iq4_nl;
  static constexpr qkind kind = qkind::s8;
  static constexpr int offset_shift = -1;
  static constexpr bool has_min = false;
  MMLLM_TARGET_AVX2 static __m256i quants(const format::block& b) noexcept {
    return _mm256_shuffle_epi8(x86::table16(mmllm::detail::iq4nl_values), x86::nibbles_32(b.qs));
  }
  MMLLM_TARGET_AVX2 static float scale(const format::block& b) noexcept { return half_to_float(b.d); }
};

struct mxfp4_unpack {
  using format = fmt::mxfp4;
  static constexpr qkind kind = qkind::s8;
  static constexpr int offset_shift = -1;
  static constexpr bool has_min = false;
  MMLLM_TARGET_AVX2 static __m256i quants(const format::block& b) noexcept {
    return _mm256_shuffle_epi8(x86::table16(mmllm::detail::mxfp4_values), x86::nibbles_32(b.qs));
  }
  static float scale(const format::block& b) noexcept { return mmllm::detail::e8m0_to_f32_half(b.e); }
};

/// NR×NC dot products over nb 32-value blocks.
template <class U, int NR, int NC>
MMLLM_TARGET_AVX2 void tile_b32(std::size_t nb, const std::byte* w, std::size_t ws, const std::byte* a,
                                std::size_t as, float* out, std::size_t ldo) noexcept {
  using wblock = typename U::format::block;
  using ablock = typename U::format::activation::block;
  const wblock* wr[NR];
  const ablock* ac[NC];
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) wr[r] = block_row<wblock>(w, ws, r);
#pragma GCC unroll 8
  for (int c = 0; c < NC; ++c) ac[c] = block_row<ablock>(a, as, c);
  __m256 acc[NR][NC];
  float macc[NR][NC];
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) {
      acc[r][c] = _mm256_setzero_ps();
      macc[r][c] = 0.0f;
    }
  }
  const __m256i ones16 = _mm256_set1_epi16(1);
  for (std::size_t b = 0; b < nb; ++b) {
    x86::prefetch_next_tile<sizeof(wblock)>(w, ws, NR, b * sizeof(wblock));
    __m256i av[NC], aoff[NC];
    float da[NC], sa[NC];
#pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) {
      av[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ac[c][b].qs));
      da[c] = half_to_float(ac[c][b].d);
      if constexpr (U::offset_shift >= 0) {
        const __m256i sums = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), av[c]), ones16);
        aoff[c] = _mm256_slli_epi32(sums, U::offset_shift);
      }
      if constexpr (U::has_min) sa[c] = half_to_float(ac[c][b].s);
    }
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      const wblock& wb = wr[r][b];
      const __m256i q = U::quants(wb);
      const float dw = U::scale(wb);
      __m256i qabs = q;
      if constexpr (U::kind == qkind::s8) qabs = _mm256_sign_epi8(q, q);
#pragma GCC unroll 4
      for (int c = 0; c < NC; ++c) {
        __m256i p;
        if constexpr (U::kind == qkind::s8) {
          p = _mm256_maddubs_epi16(qabs, _mm256_sign_epi8(av[c], q));
        } else {
          p = _mm256_maddubs_epi16(q, av[c]);
        }
        __m256i s = _mm256_madd_epi16(p, ones16);
        if constexpr (U::offset_shift >= 0) s = _mm256_sub_epi32(s, aoff[c]);
        acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * da[c]), _mm256_cvtepi32_ps(s), acc[r][c]);
        if constexpr (U::has_min) macc[r][c] += U::min(wb) * sa[c];
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) {
      out[static_cast<std::size_t>(r) * ldo + static_cast<std::size_t>(c)] =
          x86::hsum(acc[r][c]) + macc[r][c];
    }
  }
}

// ---------------------------------------------------------------------------------------
// 256-value super-blocks × q8_K
// ---------------------------------------------------------------------------------------

/// The eight 4-bit scale/min pairs of q4_K / q5_K → 16 int16 (each 32-value scale twice):
/// scales in the low half of the returned pair, mins in the high half.
MMLLM_TARGET_AVX2 inline __m256i k4_scales_mins(const std::uint8_t* s12) noexcept {
  std::uint32_t u[4];
  std::memcpy(u, s12, 12);
  const std::uint32_t m1 = 0x3f3f3f3f, m2 = 0x0f0f0f0f, m3 = 0x03030303;
  u[3] = ((u[2] >> 4) & m2) | (((u[1] >> 6) & m3) << 4);  // mins 4..7
  const std::uint32_t mins_lo = u[1] & m1;                // mins 0..3
  u[1] = (u[2] & m2) | (((u[0] >> 6) & m3) << 4);         // scales 4..7
  u[0] &= m1;                                             // scales 0..3
  u[2] = mins_lo;
  // bytes: scales 0..7, mins 0..7
  const __m128i b = _mm_set_epi32(static_cast<int>(u[3]), static_cast<int>(u[2]), static_cast<int>(u[1]),
                                  static_cast<int>(u[0]));
  return _mm256_set_m128i(_mm_unpackhi_epi8(b, b), _mm_unpacklo_epi8(b, b));  // each byte twice
}

struct q2_K_unpack {
  using format = fmt::q2_K;
  static constexpr qkind kind = qkind::u8;
  static constexpr int offset = 0;
  static constexpr bool has_min = true;
  MMLLM_TARGET_AVX2 static __m256i chunk(const format::block& b, int k) noexcept {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * (k / 4)));
    return _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * (k % 4))), _mm256_set1_epi8(3));
  }
  MMLLM_TARGET_AVX2 static void scales_mins16(const format::block& b, __m256i& sc, __m256i& mn) noexcept {
    const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
    sc = _mm256_cvtepu8_epi16(_mm_and_si128(s, _mm_set1_epi8(0x0F)));
    mn = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), _mm_set1_epi8(0x0F)));
  }
  MMLLM_TARGET_AVX2 static float d(const format::block& b) noexcept { return half_to_float(b.d); }
  MMLLM_TARGET_AVX2 static float dmin(const format::block& b) noexcept { return half_to_float(b.dmin); }
};

struct q3_K_unpack {
  using format = fmt::q3_K;
  static constexpr qkind kind = qkind::u8;
  static constexpr int offset = 4;  // v − 4
  static constexpr bool has_min = false;
  MMLLM_TARGET_AVX2 static __m256i chunk(const format::block& b, int k) noexcept {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * (k / 4)));
    const __m256i lo =
        _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * (k % 4))), _mm256_set1_epi8(3));
    const __m256i hm = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.hmask));
    const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << k));
    const __m256i hi =
        _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit), _mm256_set1_epi8(4));
    return _mm256_or_si256(lo, hi);
  }
  MMLLM_TARGET_AVX2 static __m256i scales16(const format::block& b) noexcept {
    std::int8_t sc[16];
    mmllm::detail::q3k_scales(b.scales, sc);
    return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
  }
  MMLLM_TARGET_AVX2 static float d(const format::block& b) noexcept { return half_to_float(b.d); }
};

struct q4_K_unpack {
  using format = fmt::q4_K;
  static constexpr qkind kind = qkind::u8;
  static constexpr int offset = 0;
  static constexpr bool has_min = true;
  MMLLM_TARGET_AVX2 static __m256i chunk(const format::block& b, int k) noexcept {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * (k / 2)));
    return _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(4 * (k % 2))), _mm256_set1_epi8(0x0F));
  }
  MMLLM_TARGET_AVX2 static void scales_mins16(const format::block& b, __m256i& sc, __m256i& mn) noexcept {
    const __m256i t = k4_scales_mins(b.scales);
    sc = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(t));
    mn = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(t, 1));
  }
  MMLLM_TARGET_AVX2 static float d(const format::block& b) noexcept { return half_to_float(b.d); }
  MMLLM_TARGET_AVX2 static float dmin(const format::block& b) noexcept { return half_to_float(b.dmin); }
};

struct q5_K_unpack {
  using format = fmt::q5_K;
  static constexpr qkind kind = qkind::u8;
  static constexpr int offset = 0;
  static constexpr bool has_min = true;
  MMLLM_TARGET_AVX2 static __m256i chunk(const format::block& b, int k) noexcept {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * (k / 2)));
    const __m256i lo =
        _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(4 * (k % 2))), _mm256_set1_epi8(0x0F));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh));
    const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << k));
    const __m256i hi =
        _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit), _mm256_set1_epi8(16));
    return _mm256_or_si256(lo, hi);
  }
  MMLLM_TARGET_AVX2 static void scales_mins16(const format::block& b, __m256i& sc, __m256i& mn) noexcept {
    const __m256i t = k4_scales_mins(b.scales);
    sc = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(t));
    mn = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(t, 1));
  }
  MMLLM_TARGET_AVX2 static float d(const format::block& b) noexcept { return half_to_float(b.d); }
  MMLLM_TARGET_AVX2 static float dmin(const format::block& b) noexcept { return half_to_float(b.dmin); }
};

struct q6_K_unpack {
  using format = fmt::q6_K;
  static constexpr qkind kind = qkind::u8;
  static constexpr int offset = 32;  // v − 32
  static constexpr bool has_min = false;
  MMLLM_TARGET_AVX2 static __m256i chunk(const format::block& b, int k) noexcept {
    const int h = k / 4, j = k % 4;
    const __m256i ql = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h + 32 * (j % 2)));
    const __m256i lo =
        _mm256_and_si256(_mm256_srl_epi16(ql, _mm_cvtsi32_si128(4 * (j / 2))), _mm256_set1_epi8(0x0F));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h));
    const __m256i hi = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * j)), _mm256_set1_epi8(3));
    return _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
  }
  MMLLM_TARGET_AVX2 static __m256i scales16(const format::block& b) noexcept {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
  }
  MMLLM_TARGET_AVX2 static float d(const format::block& b) noexcept { return half_to_float(b.d); }
};

struct iq4_xs_unpack {
  using format = fmt::iq4_xs;
  static constexpr qkind kind = qkind::s8;
  static constexpr int offset = 0;
  static constexpr bool has_min = false;
  MMLLM_TARGET_AVX2 static __m256i chunk(const format::block& b, int k) noexcept {
    return _mm256_shuffle_epi8(x86::table16(mmllm::detail::iq4nl_values), x86::nibbles_32(b.qs + 16 * k));
  }
  MMLLM_TARGET_AVX2 static __m256i scales16(const format::block& b) noexcept {
    alignas(16) std::int16_t s[16];
    for (int ib = 0; ib < 8; ++ib) {
      s[2 * ib] = s[2 * ib + 1] = static_cast<std::int16_t>(format::sub_scale(b, ib) - 32);
    }
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s));
  }
  MMLLM_TARGET_AVX2 static float d(const format::block& b) noexcept { return half_to_float(b.d); }
};

/// NR×NC dot products over nb super-blocks of 256 values with q8_K activations.
template <class U, int NR, int NC>
MMLLM_TARGET_AVX2 void tile_k(std::size_t nb, const std::byte* w, std::size_t ws, const std::byte* a,
                              std::size_t as, float* out, std::size_t ldo) noexcept {
  using wblock = typename U::format::block;
  using ablock = fmt::q8_K::block;
  const wblock* wr[NR];
  const ablock* ac[NC];
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) wr[r] = block_row<wblock>(w, ws, r);
#pragma GCC unroll 8
  for (int c = 0; c < NC; ++c) ac[c] = block_row<ablock>(a, as, c);
  __m256 acc[NR][NC];
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) acc[r][c] = _mm256_setzero_ps();
  }
  for (std::size_t b = 0; b < nb; ++b) {
    x86::prefetch_next_tile<sizeof(wblock)>(w, ws, NR, b * sizeof(wblock));
    alignas(32) std::int16_t sc[NR][16];
    __m256i isum[NR][NC];
    [[maybe_unused]] __m256i mn[NR];
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      __m256i s16;
      if constexpr (U::has_min) {
        U::scales_mins16(wr[r][b], s16, mn[r]);
      } else {
        s16 = U::scales16(wr[r][b]);
      }
      _mm256_store_si256(reinterpret_cast<__m256i*>(sc[r]), s16);
#pragma GCC unroll 8
      for (int c = 0; c < NC; ++c) isum[r][c] = _mm256_setzero_si256();
    }
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        const __m256i q = U::chunk(wr[r][b], k);
        const __m256i sp = _mm256_set_m128i(_mm_set1_epi16(sc[r][2 * k + 1]), _mm_set1_epi16(sc[r][2 * k]));
        __m256i qabs = q;
        if constexpr (U::kind == qkind::s8) qabs = _mm256_sign_epi8(q, q);
#pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) {
          const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ac[c][b].qs + 32 * k));
          __m256i p;
          if constexpr (U::kind == qkind::s8) {
            p = _mm256_maddubs_epi16(qabs, _mm256_sign_epi8(av, q));
          } else {
            p = _mm256_maddubs_epi16(q, av);
          }
          isum[r][c] = _mm256_add_epi32(isum[r][c], _mm256_madd_epi16(p, sp));
        }
      }
    }
#pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) {
      const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ac[c][b].bsums));
      const float da = ac[c][b].d;
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        __m256i s = isum[r][c];
        if constexpr (U::offset != 0) {
          const __m256i osc = _mm256_mullo_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(sc[r])),
                                                 _mm256_set1_epi16(U::offset));
          s = _mm256_sub_epi32(s, _mm256_madd_epi16(osc, bsums));
        }
        acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(U::d(wr[r][b]) * da), _mm256_cvtepi32_ps(s), acc[r][c]);
        if constexpr (U::has_min) {
          const __m256i m = _mm256_madd_epi16(mn[r], bsums);
          acc[r][c] =
              _mm256_fnmadd_ps(_mm256_set1_ps(U::dmin(wr[r][b]) * da), _mm256_cvtepi32_ps(m), acc[r][c]);
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c)
      out[static_cast<std::size_t>(r) * ldo + static_cast<std::size_t>(c)] = x86::hsum(acc[r][c]);
  }
}

// ---------------------------------------------------------------------------------------
// plain rows: f32, f16, bf16
// ---------------------------------------------------------------------------------------

struct f32_lanes {
  using format = fmt::f32;
  MMLLM_TARGET_AVX2 static __m256 load8(const float* p) noexcept { return _mm256_loadu_ps(p); }
};
struct f16_lanes {
  using format = fmt::f16;
  MMLLM_TARGET_AVX2 static __m256 load8(const mmllm::f16* p) noexcept {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
};
struct bf16_lanes {
  using format = fmt::bf16;
  MMLLM_TARGET_AVX2 static __m256 load8(const mmllm::bf16* p) noexcept {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
};

/// NR×NC dot products of plain rows of n elements (any n; the last n % 8 in scalar code).
template <class L, int NR, int NC>
MMLLM_TARGET_AVX2 void tile_plain(std::size_t n, const std::byte* w, std::size_t ws, const std::byte* a,
                                  std::size_t as, float* out, std::size_t ldo) noexcept {
  using elem = typename L::format::block;
  const elem* wr[NR];
  const elem* ac[NC];
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) wr[r] = block_row<elem>(w, ws, r);
#pragma GCC unroll 8
  for (int c = 0; c < NC; ++c) ac[c] = block_row<elem>(a, as, c);
  // Two accumulator sets hide FMA latency when the tile is small.
  constexpr int sets = NR * NC <= 4 ? 2 : 1;
  __m256 acc[sets][NR][NC];
#pragma GCC unroll 8
  for (int s = 0; s < sets; ++s) {
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 8
      for (int c = 0; c < NC; ++c) acc[s][r][c] = _mm256_setzero_ps();
    }
  }
  std::size_t i = 0;
  for (; i + 8 * sets <= n; i += 8 * sets) {
    x86::prefetch_next_tile<8 * sets * sizeof(elem)>(w, ws, NR, i * sizeof(elem));
#pragma GCC unroll 2
    for (int s = 0; s < sets; ++s) {
      __m256 av[NC];
#pragma GCC unroll 4
      for (int c = 0; c < NC; ++c) av[c] = L::load8(ac[c] + i + 8 * s);
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        const __m256 wv = L::load8(wr[r] + i + 8 * s);
#pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) acc[s][r][c] = _mm256_fmadd_ps(wv, av[c], acc[s][r][c]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) {
      __m256 v = acc[0][r][c];
      if constexpr (sets == 2) v = _mm256_add_ps(v, acc[1][r][c]);
      double tail = 0;
      for (std::size_t k = i; k < n; ++k) {
        float wf = 0, af = 0;
        L::format::dequantize_row(wr[r] + k, &wf, 1);
        L::format::dequantize_row(ac[c] + k, &af, 1);
        tail += static_cast<double>(wf * af);
      }
      out[static_cast<std::size_t>(r) * ldo + static_cast<std::size_t>(c)] =
          static_cast<float>(static_cast<double>(x86::hsum(v)) + tail);
    }
  }
}

// ---------------------------------------------------------------------------------------
// kernel structs
// ---------------------------------------------------------------------------------------

/// quant_dot members for a 32-value-block format unpacked by U.
template <class U, int MR, int MC>
struct b32_kernel {
  static constexpr int max_rows = MR;
  static constexpr int max_cols = MC;
  static void tile(std::size_t n, const std::byte* w, std::size_t w_stride, int nr, const std::byte* a,
                   std::size_t a_stride, int nc, float* out, std::size_t ldo) noexcept {
    with_tile_shape<MR, MC>(nr, nc, [&](auto R, auto C) {
      tile_b32<U, decltype(R)::value, decltype(C)::value>(n / 32, w, w_stride, a, a_stride, out, ldo);
    });
  }
};

/// quant_dot members for a super-block format unpacked by U (chunk(b, k): 32 values;
/// scales16(b), or scales_mins16(b, sc, mn) when has_min: one int16 per 16 values).
template <class U, int MR, int MC>
struct k_kernel {
  static constexpr int max_rows = MR;
  static constexpr int max_cols = MC;
  static void tile(std::size_t n, const std::byte* w, std::size_t w_stride, int nr, const std::byte* a,
                   std::size_t a_stride, int nc, float* out, std::size_t ldo) noexcept {
    with_tile_shape<MR, MC>(nr, nc, [&](auto R, auto C) {
      tile_k<U, decltype(R)::value, decltype(C)::value>(n / 256, w, w_stride, a, a_stride, out, ldo);
    });
  }
};

/// quant_dot members for a plain format loaded by L.
template <class L, int MR, int MC>
struct plain_kernel {
  static constexpr int max_rows = MR;
  static constexpr int max_cols = MC;
  static void tile(std::size_t n, const std::byte* w, std::size_t w_stride, int nr, const std::byte* a,
                   std::size_t a_stride, int nc, float* out, std::size_t ldo) noexcept {
    with_tile_shape<MR, MC>(nr, nc, [&](auto R, auto C) {
      tile_plain<L, decltype(R)::value, decltype(C)::value>(n, w, w_stride, a, a_stride, out, ldo);
    });
  }
};

// ---------------------------------------------------------------------------------------
// activation quantization (bit-exact with the formats' quantize_activation_row)
// ---------------------------------------------------------------------------------------

/// One q8_0/q8_1 block the way ggml's AVX code does it (see detail::peer_quirk_x86_q8_block):
/// stores the 32 quants and returns d = amax/127; `sum` gets the sum of the quants.
MMLLM_TARGET_AVX2 inline float q8_block(const float* x, std::int8_t* qs, int& sum) noexcept {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8), v2 = _mm256_loadu_ps(x + 16),
         v3 = _mm256_loadu_ps(x + 24);
  __m256 m = _mm256_andnot_ps(sign, v0);
  m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v1));
  m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v2));
  m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v3));
  __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  const float amax = _mm_cvtss_f32(m4);
  const float d = amax / 127.0f;
  const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
  constexpr int rnd = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, id), rnd));
  __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, id), rnd));
  __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, id), rnd));
  __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, id), rnd));
  sum = x86::hsum_i32(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));
  i0 = _mm256_packs_epi32(i0, i1);
  i2 = _mm256_packs_epi32(i2, i3);
  i0 = _mm256_packs_epi16(i0, i2);
  i0 = _mm256_permutevar8x32_epi32(i0, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), i0);
  return d;
}

MMLLM_TARGET_AVX2 inline void quantize_q8_0_row(const float* x, fmt::q8_0::block* y, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n / 32; ++i) {
    int sum = 0;
    y[i].d = to_f16(q8_block(x + 32 * i, y[i].qs, sum));
  }
}

MMLLM_TARGET_AVX2 inline void quantize_q8_1_row(const float* x, fmt::q8_1::block* y, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n / 32; ++i) {
    int sum = 0;
    const float d = q8_block(x + 32 * i, y[i].qs, sum);
    y[i].d = to_f16(d);
    y[i].s = to_f16(d * static_cast<float>(sum));
  }
}

/// q8_K as ggml's quantize_row_q8_K_ref, vectorized with identical arithmetic: the first
/// value of largest magnitude sets iscale = −127/max; q = nearest_int(iscale·x) (the same
/// 1.5·2^23 trick) capped at 127 and truncated to 8 bits; bsums of 16.
MMLLM_TARGET_AVX2 inline void quantize_q8_K_row(const float* x, fmt::q8_K::block* y, std::size_t n) noexcept {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (std::size_t i = 0; i < n / 256; ++i, x += 256) {
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < 256; j += 8) m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), m);
    __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    if (amax == 0.0f) {
      y[i] = fmt::q8_K::block{};
      continue;
    }
    const __m256 am = _mm256_set1_ps(amax);
    float max = 0.0f;
    for (int j = 0; j < 256; j += 8) {
      const int hit =
          _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), am, _CMP_EQ_OQ));
      if (hit != 0) {
        max = x[j + __builtin_ctz(static_cast<unsigned>(hit))];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const __m256 is = _mm256_set1_ps(iscale);
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    const __m256i low23 = _mm256_set1_epi32(0x007fffff), bias = _mm256_set1_epi32(0x00400000);
    const __m256i cap = _mm256_set1_epi32(127), byte = _mm256_set1_epi32(0xff);
    for (int j = 0; j < 256; j += 32) {
      __m256i q[4];
#pragma GCC unroll 8
      for (int k = 0; k < 4; ++k) {
        // nearest_int(iscale·x): the product must be rounded before the 1.5·2^23 is added
        // (x86::unfused keeps the compiler from forming an FMA, as the reference is built).
        const __m256 v =
            _mm256_add_ps(x86::unfused(_mm256_mul_ps(is, _mm256_loadu_ps(x + j + 8 * k))), magic);
        const __m256i t = _mm256_sub_epi32(_mm256_and_si256(_mm256_castps_si256(v), low23), bias);
        q[k] = _mm256_and_si256(_mm256_min_epi32(t, cap), byte);  // MIN(127, v), then the low byte
      }
      __m256i p = _mm256_packus_epi16(_mm256_packus_epi32(q[0], q[1]), _mm256_packus_epi32(q[2], q[3]));
      p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs + j), p);
      // bsums of the two 16-value groups: byte sums of the stored (signed) quants
      const __m256i s16 =
          _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), p), _mm256_set1_epi16(1));
      // s16: 8 int32, lanes 0-3 sum values 0..15, lanes 4-7 values 16..31
      const __m128i lo = _mm256_castsi256_si128(s16), hi = _mm256_extracti128_si256(s16, 1);
      const __m128i h = _mm_hadd_epi32(lo, hi);  // [0+1, 2+3, 4+5, 6+7]
      const __m128i g = _mm_hadd_epi32(h, h);    // [group 0, group 1, ...]
      y[i].bsums[j / 16] = static_cast<std::int16_t>(_mm_cvtsi128_si32(g));
      y[i].bsums[j / 16 + 1] = static_cast<std::int16_t>(_mm_extract_epi32(g, 1));
    }
    y[i].d = 1 / iscale;
  }
}

/// f32 → f16 with F16C (nearest even, as to_f16).
MMLLM_TARGET_AVX2 inline void quantize_f16_row(const float* x, mmllm::f16* y, std::size_t n) noexcept {
  const std::size_t full = n / 8;
  for (std::size_t b = 0; b < full; ++b) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + 8 * b),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + 8 * b), _MM_FROUND_TO_NEAREST_INT));
  }
  for (std::size_t i = 8 * full; i < n; ++i) y[i] = to_f16(x[i]);
}

/// f32 → bf16 with ggml's rule (nearest even; NaN kept quiet), in integer arithmetic.
MMLLM_TARGET_AVX2 inline void quantize_bf16_row(const float* x, mmllm::bf16* y, std::size_t n) noexcept {
  const std::size_t full = n / 16;
  const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
  const __m256i one = _mm256_set1_epi32(1), half = _mm256_set1_epi32(0x7fff), quiet = _mm256_set1_epi32(0x40);
  for (std::size_t blk = 0; blk < full; ++blk) {
    const std::size_t i = 16 * blk;
    __m256i h[2];
#pragma GCC unroll 8
    for (int k = 0; k < 2; ++k) {
      const __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i + 8 * k));
      const __m256i rounded = _mm256_srli_epi32(
          _mm256_add_epi32(u, _mm256_add_epi32(half, _mm256_and_si256(_mm256_srli_epi32(u, 16), one))), 16);
      const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs_mask), inf);
      const __m256i quieted = _mm256_or_si256(_mm256_srli_epi32(u, 16), quiet);
      h[k] = _mm256_blendv_epi8(rounded, quieted, nan);
    }
    const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(h[0], h[1]), 0xD8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), p);
  }
  for (std::size_t i = 16 * full; i < n; ++i) y[i] = to_bf16(x[i]);
}

}  // namespace mmllm::compute::detail::avx2

namespace mmllm::compute {

// 32-value blocks: up to 4 weight rows × 2 activation rows.
template <>
struct quant_dot<fmt::q4_0, isa::avx2> : detail::avx2::b32_kernel<detail::avx2::q4_0_unpack, 4, 2> {};
template <>
struct quant_dot<fmt::q4_1, isa::avx2> : detail::avx2::b32_kernel<detail::avx2::q4_1_unpack, 4, 2> {};
template <>
struct quant_dot<fmt::q5_0, isa::avx2> : detail::avx2::b32_kernel<detail::avx2::q5_0_unpack, 4, 2> {};
template <>
struct quant_dot<fmt::q5_1, isa::avx2> : detail::avx2::b32_kernel<detail::avx2::q5_1_unpack, 4, 2> {};
template <>
struct quant_dot<fmt::q8_0, isa::avx2> : detail::avx2::b32_kernel<detail::avx2::q8_0_unpack, 4, 2> {};
template <>
struct quant_dot<fmt::iq4_nl, isa::avx2> : detail::avx2::b32_kernel<detail::avx2::iq4_nl_unpack, 4, 2> {};
template <>
struct quant_dot<fmt::mxfp4, isa::avx2> : detail::avx2::b32_kernel<detail::avx2::mxfp4_unpack, 4, 2> {};

// Super-blocks: up to 4 weight rows × 2 activation rows.
template <>
struct quant_dot<fmt::q2_K, isa::avx2> : detail::avx2::k_kernel<detail::avx2::q2_K_unpack, 4, 2> {};
template <>
struct quant_dot<fmt::q3_K, isa::avx2> : detail::avx2::k_kernel<detail::avx2::q3_K_unpack, 4, 2> {};
template <>
struct quant_dot<fmt::q4_K, isa::avx2> : detail::avx2::k_kernel<detail::avx2::q4_K_unpack, 4, 2> {};
template <>
struct quant_dot<fmt::q5_K, isa::avx2> : detail::avx2::k_kernel<detail::avx2::q5_K_unpack, 4, 2> {};
template <>
struct quant_dot<fmt::q6_K, isa::avx2> : detail::avx2::k_kernel<detail::avx2::q6_K_unpack, 4, 2> {};
template <>
struct quant_dot<fmt::iq4_xs, isa::avx2> : detail::avx2::k_kernel<detail::avx2::iq4_xs_unpack, 4, 2> {};

// Plain rows: up to 4 × 2.
template <>
struct quant_dot<fmt::f32, isa::avx2> : detail::avx2::plain_kernel<detail::avx2::f32_lanes, 4, 2> {};
template <>
struct quant_dot<fmt::f16, isa::avx2> : detail::avx2::plain_kernel<detail::avx2::f16_lanes, 4, 2> {};
template <>
struct quant_dot<fmt::bf16, isa::avx2> : detail::avx2::plain_kernel<detail::avx2::bf16_lanes, 4, 2> {};

template <>
struct quantize_activation<fmt::q8_0, isa::avx2> {
  static void row(const float* x, fmt::q8_0::block* y, std::size_t n) noexcept {
    detail::avx2::quantize_q8_0_row(x, y, n);
  }
};
template <>
struct quantize_activation<fmt::q8_1, isa::avx2> {
  static void row(const float* x, fmt::q8_1::block* y, std::size_t n) noexcept {
    detail::avx2::quantize_q8_1_row(x, y, n);
  }
};
template <>
struct quantize_activation<fmt::q8_K, isa::avx2> {
  static void row(const float* x, fmt::q8_K::block* y, std::size_t n) noexcept {
    detail::avx2::quantize_q8_K_row(x, y, n);
  }
};
template <>
struct quantize_activation<fmt::f16, isa::avx2> {
  static void row(const float* x, mmllm::f16* y, std::size_t n) noexcept {
    detail::avx2::quantize_f16_row(x, y, n);
  }
};
template <>
struct quantize_activation<fmt::bf16, isa::avx2> {
  static void row(const float* x, mmllm::bf16* y, std::size_t n) noexcept {
    detail::avx2::quantize_bf16_row(x, y, n);
  }
};

}  // namespace mmllm::compute

MMLLM_KERNELS_END

#endif  // MMLLM_HAVE_X86_KERNELS
