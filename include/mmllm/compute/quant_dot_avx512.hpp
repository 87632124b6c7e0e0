// mmllm/compute/quant_dot_avx512.hpp — AVX-512 (F/BW/DQ/VL) quantized dot-product kernels:
// specializations of quant_dot<Q, isa::avx512, E> for E = none, vnni (AVX512-VNNI) and
// vnni_bf16 (+AVX512-BF16). Part of compute/quant_dot.hpp (include that instead).
//
// The engines are those of quant_dot_avx2.hpp at twice the width:
//   * 32-value blocks: two blocks per zmm (quant_dot_avx512_b32.hpp, compiled once per
//     variant; with VNNI every format becomes unsigned bytes for vpdpbusd, s8 weights
//     offset by 128 and corrected through the activation sums);
//   * super-blocks: 64-value chunks, the 16 sub-scales spread with vpermw;
//   * plain rows: 16 lanes, masked loads for the tail; bf16 with vdpbf16ps under vnni_bf16.
// Tiles go up to 4 weight rows × 4 activation rows (32 zmm registers). Activation
// quantization has no AVX-512 specialization: the AVX2 one is inherited (it is O(n) per
// activation row, next to O(n·rows) for the dots).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../core/quant_formats.hpp"
#include "quant_dot_avx2.hpp"
#include "quant_dot_generic.hpp"
#include "quant_dot_x86.hpp"

#if MMLLM_HAVE_X86_KERNELS

// GCC 12 false positives inside intrinsics (isa.hpp)
MMLLM_KERNELS_BEGIN

namespace mmllm::compute::detail::avx512 {
using x86::half_to_float;

/// Two f16 scales as floats in lanes 0 and 1.
MMLLM_TARGET_AVX512 inline __m128 halves_to_floats(mmllm::f16 h0, mmllm::f16 h1) noexcept {
  return _mm_cvtph_ps(
      _mm_cvtsi32_si128(static_cast<int>(h0.bits | (static_cast<std::uint32_t>(h1.bits) << 16))));
}

/// The per-lane scale vector of a block pair from [s0, s1, ·, ·]: interleaved layout
/// (128-bit quarters b0, b1, b0, b1) or sequential (halves b0, b1).
template <bool Interleaved>
MMLLM_TARGET_AVX512 inline __m512 scale_pair(__m128 s) noexcept {
  const __m512i idx = Interleaved ? _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1)
                                  : _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  return _mm512_permutexvar_ps(idx, _mm512_zextps128_ps512(s));
}

/// The 64 activation quants of two q8 blocks in the weights' layout: interleaved =
/// [a0 0..15, a1 0..15, a0 16..31, a1 16..31], sequential = [a0 | a1].
template <bool Interleaved>
MMLLM_TARGET_AVX512 inline __m512i load_act_pair(const std::int8_t* a0, const std::int8_t* a1) noexcept {
  const __m512i v =
      _mm512_inserti64x4(_mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a0))),
                         _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a1)), 1);
  if constexpr (Interleaved) return _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(3, 1, 2, 0));
  return v;
}

/// The nibbles of two 16-byte blocks, interleaved layout: low nibbles of b0, of b1, then
/// high nibbles of b0, of b1.
MMLLM_TARGET_AVX512 inline __m512i nibbles_pair(const std::uint8_t* q0, const std::uint8_t* q1) noexcept {
  const __m256i t = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q1)),
                                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(q0)));
  const __m512i v = _mm512_inserti64x4(_mm512_zextsi256_si512(t), _mm256_srli_epi16(t, 4), 1);
  return _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
}

/// The fifth bits (0x10) of two q5 blocks in the interleaved layout.
MMLLM_TARGET_AVX512 inline __mmask64 fifth_bits_pair(const std::uint8_t* h0,
                                                     const std::uint8_t* h1) noexcept {
  std::uint32_t b0 = 0, b1 = 0;
  std::memcpy(&b0, h0, 4);
  std::memcpy(&b1, h1, 4);
  return static_cast<__mmask64>((b0 & 0xffffu) | (static_cast<std::uint64_t>(b1 & 0xffffu) << 16) |
                                (static_cast<std::uint64_t>(b0 >> 16) << 32) |
                                (static_cast<std::uint64_t>(b1 >> 16) << 48));
}

MMLLM_TARGET_AVX512 inline __m512i table16_512(const std::int8_t* t) noexcept {
  return _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t)));
}

/// Two consecutive blocks of W 16-bit words each (2·W ≤ 32) in one masked load (masked-out
/// bytes are never read, so the pair may end at the last byte of a buffer).
template <int W>
MMLLM_TARGET_AVX512 inline __m512i load_block_pair(const void* p) noexcept {
  return _mm512_maskz_loadu_epi16(static_cast<__mmask32>((1ull << (2 * W)) - 1), p);
}

/// The 16-bit words `first`..`first+7` of each block of a pair loaded by load_block_pair<W>
/// (the 16 quant bytes of each block), as 32 bytes: block 0's, then block 1's.
template <int W, int First>
MMLLM_TARGET_AVX512 inline __m256i pair_quant_bytes(__m512i v) noexcept {
  const __m512i idx = _mm512_set_epi16(
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
      W + First + 7, W + First + 6, W + First + 5, W + First + 4, W + First + 3, W + First + 2, W + First + 1,
      W + First, First + 7, First + 6, First + 5, First + 4, First + 3, First + 2, First + 1, First);
  return _mm512_castsi512_si256(_mm512_permutexvar_epi16(idx, v));
}

/// Four f16 words of a loaded pair (word indices a, b, c, d) as floats.
template <int A, int B, int C, int D>
MMLLM_TARGET_AVX512 inline __m128 pair_halves(__m512i v) noexcept {
  const __m512i idx = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0, 0, 0, 0, D, C, B, A);
  return _mm_cvtph_ps(_mm512_castsi512_si128(_mm512_permutexvar_epi16(idx, v)));
}

/// 32 quant bytes of a pair (block 0's 16, block 1's 16) → 64 nibbles, interleaved layout.
MMLLM_TARGET_AVX512 inline __m512i pair_nibbles(__m256i t) noexcept {
  return _mm512_and_si512(_mm512_inserti64x4(_mm512_zextsi256_si512(t), _mm256_srli_epi16(t, 4), 1),
                          _mm512_set1_epi8(0x0F));
}

// AVX-512 unpackers: load2(p, q, d, m) reads blocks p[0] and p[1]: q = their 64 quants in
// the unpacker's layout (interleaved: 16-value quarters b0 lo, b1 lo, b0 hi, b1 hi;
// otherwise b0 then b1), d = [d0, d1, ·, ·], m = [m0, m1, ·, ·] for formats with minima.

struct q4_0_unpack : avx2::q4_0_unpack {
  using avx2_unpack = avx2::q4_0_unpack;
  static constexpr bool interleaved = true;
  MMLLM_TARGET_AVX512 static void load2(const format::block* p, __m512i& q, __m128& d,
                                        __m128& /*m*/) noexcept {
    const __m512i v = load_block_pair<9>(p);
    q = pair_nibbles(pair_quant_bytes<9, 1>(v));
    d = pair_halves<0, 9, 0, 0>(v);
  }
};
struct q4_1_unpack : avx2::q4_1_unpack {
  using avx2_unpack = avx2::q4_1_unpack;
  static constexpr bool interleaved = true;
  MMLLM_TARGET_AVX512 static void load2(const format::block* p, __m512i& q, __m128& d, __m128& m) noexcept {
    const __m512i v = load_block_pair<10>(p);
    q = pair_nibbles(pair_quant_bytes<10, 2>(v));
    const __m128 dm = pair_halves<0, 10, 1, 11>(v);
    d = dm;
    m = _mm_movehl_ps(dm, dm);
  }
};
struct q5_0_unpack : avx2::q5_0_unpack {
  using avx2_unpack = avx2::q5_0_unpack;
  static constexpr bool interleaved = true;
  MMLLM_TARGET_AVX512 static void load2(const format::block* p, __m512i& q, __m128& d,
                                        __m128& /*m*/) noexcept {
    const __m512i v = load_block_pair<11>(p);
    const __m512i n = pair_nibbles(pair_quant_bytes<11, 3>(v));
    q = _mm512_or_si512(n, _mm512_maskz_mov_epi8(fifth_bits_pair(p[0].qh, p[1].qh), _mm512_set1_epi8(0x10)));
    d = pair_halves<0, 11, 0, 0>(v);
  }
};
struct q5_1_unpack : avx2::q5_1_unpack {
  using avx2_unpack = avx2::q5_1_unpack;
  static constexpr bool interleaved = true;
  MMLLM_TARGET_AVX512 static void load2(const format::block* p, __m512i& q, __m128& d, __m128& m) noexcept {
    const __m512i v = load_block_pair<12>(p);
    const __m512i n = pair_nibbles(pair_quant_bytes<12, 4>(v));
    q = _mm512_or_si512(n, _mm512_maskz_mov_epi8(fifth_bits_pair(p[0].qh, p[1].qh), _mm512_set1_epi8(0x10)));
    const __m128 dm = pair_halves<0, 12, 1, 13>(v);
    d = dm;
    m = _mm_movehl_ps(dm, dm);
  }
};
struct q8_0_unpack : avx2::q8_0_unpack {
  using avx2_unpack = avx2::q8_0_unpack;
  static constexpr bool interleaved = false;
  MMLLM_TARGET_AVX512 static void load2(const format::block* p, __m512i& q, __m128& d,
                                        __m128& /*m*/) noexcept {
    q = _mm512_inserti64x4(
        _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[0].qs))),
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[1].qs)), 1);
    d = halves_to_floats(p[0].d, p[1].d);
  }
};
struct iq4_nl_unpack : avx2::iq4_nl_unpack {
  using avx2_unpack = avx2::iq4_nl_unpack;
  static constexpr bool interleaved = true;
  MMLLM_TARGET_AVX512 static void load2(const format::block* p, __m512i& q, __m128& d,
                                        __m128& /*m*/) noexcept {
    const __m512i v = load_block_pair<9>(p);
    q = _mm512_shuffle_epi8(table16_512(mmllm::detail::iq4nl_values),
                            pair_nibbles(pair_quant_bytes<9, 1>(v)));
    d = pair_halves<0, 9, 0, 0>(v);
  }
};
struct mxfp4_unpack : avx2::mxfp4_unpack {
  using avx2_unpack = avx2::mxfp4_unpack;
  static constexpr bool interleaved = true;
  MMLLM_TARGET_AVX512 static void load2(const format::block* p, __m512i& q, __m128& d,
                                        __m128& /*m*/) noexcept {
    q = _mm512_shuffle_epi8(table16_512(mmllm::detail::mxfp4_values), nibbles_pair(p[0].qs, p[1].qs));
    d = _mm_setr_ps(scale(p[0]), scale(p[1]), 0.0f, 0.0f);
  }
};

}  // namespace mmllm::compute::detail::avx512

// The 32-value-block engine, once per variant.
#define MMLLM_QD_B32_NS avx512_base
#define MMLLM_QD_B32_TARGET MMLLM_TARGET_AVX512
#define MMLLM_QD_B32_VNNI 0
#include "quant_dot_avx512_b32.hpp"  // IWYU pragma: keep
#undef MMLLM_QD_B32_NS
#undef MMLLM_QD_B32_TARGET
#undef MMLLM_QD_B32_VNNI
#define MMLLM_QD_B32_NS avx512_vnni
#define MMLLM_QD_B32_TARGET MMLLM_TARGET_AVX512_VNNI
#define MMLLM_QD_B32_VNNI 1
#include "quant_dot_avx512_b32.hpp"  // IWYU pragma: keep
#undef MMLLM_QD_B32_NS
#undef MMLLM_QD_B32_TARGET
#undef MMLLM_QD_B32_VNNI

namespace mmllm::compute::detail::avx512 {

// ---------------------------------------------------------------------------------------
// 256-value super-blocks × q8_K, 64 values per step
// ---------------------------------------------------------------------------------------

/// Two 32-byte halves as one zmm.
MMLLM_TARGET_AVX512 inline __m512i join(__m256i lo, __m256i hi) noexcept {
  return _mm512_inserti64x4(_mm512_zextsi256_si512(lo), hi, 1);
}
MMLLM_TARGET_AVX512 inline __m256i load32(const void* p) noexcept {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

struct q2_K_unpack : avx2::q2_K_unpack {
  MMLLM_TARGET_AVX512 static __m512i chunk64(const format::block& b, int k) noexcept {
    const __m256i q = load32(b.qs + 32 * (k / 2));
    const __m512i v = join(q, _mm256_srli_epi16(q, 2));
    return _mm512_and_si512(_mm512_srl_epi16(v, _mm_cvtsi32_si128(4 * (k % 2))), _mm512_set1_epi8(3));
  }
};
struct q3_K_unpack : avx2::q3_K_unpack {
  MMLLM_TARGET_AVX512 static __m512i chunk64(const format::block& b, int k) noexcept {
    const __m256i q = load32(b.qs + 32 * (k / 2));
    const __m512i v = join(q, _mm256_srli_epi16(q, 2));
    const __m512i lo =
        _mm512_and_si512(_mm512_srl_epi16(v, _mm_cvtsi32_si128(4 * (k % 2))), _mm512_set1_epi8(3));
    const __m256i hm = load32(b.hmask);
    const __m512i bits = join(_mm256_set1_epi8(static_cast<char>(1 << (2 * k))),
                              _mm256_set1_epi8(static_cast<char>(1 << (2 * k + 1))));
    return _mm512_or_si512(
        lo, _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(join(hm, hm), bits), _mm512_set1_epi8(4)));
  }
};
struct q4_K_unpack : avx2::q4_K_unpack {
  MMLLM_TARGET_AVX512 static __m512i chunk64(const format::block& b, int k) noexcept {
    const __m256i q = load32(b.qs + 32 * k);
    return _mm512_and_si512(join(q, _mm256_srli_epi16(q, 4)), _mm512_set1_epi8(0x0F));
  }
};
struct q5_K_unpack : avx2::q5_K_unpack {
  MMLLM_TARGET_AVX512 static __m512i chunk64(const format::block& b, int k) noexcept {
    const __m256i q = load32(b.qs + 32 * k);
    const __m512i lo = _mm512_and_si512(join(q, _mm256_srli_epi16(q, 4)), _mm512_set1_epi8(0x0F));
    const __m256i qh = load32(b.qh);
    const __m512i bits = join(_mm256_set1_epi8(static_cast<char>(1 << (2 * k))),
                              _mm256_set1_epi8(static_cast<char>(1 << (2 * k + 1))));
    return _mm512_or_si512(
        lo, _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(join(qh, qh), bits), _mm512_set1_epi8(16)));
  }
};
struct q6_K_unpack : avx2::q6_K_unpack {
  MMLLM_TARGET_AVX512 static __m512i chunk64(const format::block& b, int k) noexcept {
    const int h = k / 2, odd = k % 2;
    const __m512i ql = _mm512_loadu_si512(b.ql + 64 * h);
    const __m512i lo =
        _mm512_and_si512(_mm512_srl_epi16(ql, _mm_cvtsi32_si128(4 * odd)), _mm512_set1_epi8(0x0F));
    const __m256i qh = load32(b.qh + 32 * h);
    const __m512i hv = join(qh, _mm256_srli_epi16(qh, 2));
    const __m512i hi =
        _mm512_and_si512(_mm512_srl_epi16(hv, _mm_cvtsi32_si128(4 * odd)), _mm512_set1_epi8(3));
    return _mm512_or_si512(lo, _mm512_slli_epi16(hi, 4));
  }
};
struct iq4_xs_unpack : avx2::iq4_xs_unpack {
  MMLLM_TARGET_AVX512 static __m512i chunk64(const format::block& b, int k) noexcept {
    const __m256i t = load32(b.qs + 32 * k);             // sub-blocks 2k (bytes 0..15) and 2k+1
    const __m512i v = join(t, _mm256_srli_epi16(t, 4));  // [A, B, A>>4, B>>4]
    const __m512i n =
        _mm512_and_si512(_mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(3, 1, 2, 0)), _mm512_set1_epi8(0x0F));
    return _mm512_shuffle_epi8(table16_512(mmllm::detail::iq4nl_values), n);
  }
};

/// NR×NC dot products over nb super-blocks with q8_K activations.
template <class U, int NR, int NC>
MMLLM_TARGET_AVX512 void tile_k(std::size_t nb, const std::byte* w, std::size_t ws, const std::byte* a,
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
  // vpermw indices spreading sub-scales 4k..4k+3 over the 8 int16 pair sums of each group.
  const __m512i spread0 = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1,
                                           1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i four = _mm512_set1_epi16(4);
  for (std::size_t b = 0; b < nb; ++b) {
    x86::prefetch_next_tile<sizeof(wblock)>(w, ws, NR, b * sizeof(wblock));
    __m512i sc[NR];
    __m512i isum[NR][NC];
    [[maybe_unused]] __m256i mn[NR];
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      __m256i s16;
      if constexpr (U::has_min) {
        U::scales_mins16(wr[r][b], s16, mn[r]);
      } else {
        s16 = U::scales16(wr[r][b]);
      }
      sc[r] = _mm512_zextsi256_si512(s16);
#pragma GCC unroll 8
      for (int c = 0; c < NC; ++c) isum[r][c] = _mm512_setzero_si512();
    }
    __m512i idx = spread0;
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k, idx = _mm512_add_epi16(idx, four)) {
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        const __m512i q = U::chunk64(wr[r][b], k);
        const __m512i sp = _mm512_permutexvar_epi16(idx, sc[r]);
        __m512i qabs = q;
        __mmask64 neg = 0;
        if constexpr (U::kind == avx2::qkind::s8) {
          qabs = _mm512_abs_epi8(q);
          neg = _mm512_movepi8_mask(q);
        }
#pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) {
          __m512i av = _mm512_loadu_si512(ac[c][b].qs + 64 * k);
          if constexpr (U::kind == avx2::qkind::s8)
            av = _mm512_mask_sub_epi8(av, neg, _mm512_setzero_si512(), av);
          isum[r][c] = _mm512_add_epi32(isum[r][c], _mm512_madd_epi16(_mm512_maddubs_epi16(qabs, av), sp));
        }
      }
    }
#pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) {
      const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ac[c][b].bsums));
      const float da = ac[c][b].d;
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        // Fold the 16 int32 lanes to 8 so the per-sub-block terms (8 int32) line up.
        __m256i s =
            _mm256_add_epi32(_mm512_castsi512_si256(isum[r][c]), _mm512_extracti64x4_epi64(isum[r][c], 1));
        if constexpr (U::offset != 0) {
          const __m256i osc = _mm256_mullo_epi16(_mm512_castsi512_si256(sc[r]), _mm256_set1_epi16(U::offset));
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
// plain rows: f32, f16, bf16 (16 lanes; the tail through masked loads)
// ---------------------------------------------------------------------------------------

struct f32_lanes {
  using format = fmt::f32;
  MMLLM_TARGET_AVX512 static __m512 load16(const float* p, __mmask16 m) noexcept {
    return _mm512_maskz_loadu_ps(m, p);
  }
};
struct f16_lanes {
  using format = fmt::f16;
  MMLLM_TARGET_AVX512 static __m512 load16(const mmllm::f16* p, __mmask16 m) noexcept {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
  }
};
struct bf16_lanes {
  using format = fmt::bf16;
  MMLLM_TARGET_AVX512 static __m512 load16(const mmllm::bf16* p, __mmask16 m) noexcept {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
  }
};

/// NR×NC dot products of plain rows of n elements (any n).
template <class L, int NR, int NC>
MMLLM_TARGET_AVX512 void tile_plain(std::size_t n, const std::byte* w, std::size_t ws, const std::byte* a,
                                    std::size_t as, float* out, std::size_t ldo) noexcept {
  using elem = typename L::format::block;
  const elem* wr[NR];
  const elem* ac[NC];
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) wr[r] = block_row<elem>(w, ws, r);
#pragma GCC unroll 8
  for (int c = 0; c < NC; ++c) ac[c] = block_row<elem>(a, as, c);
  constexpr int sets = NR * NC <= 4 ? 2 : 1;  // hide FMA latency in small tiles
  __m512 acc[sets][NR][NC];
#pragma GCC unroll 8
  for (int s = 0; s < sets; ++s) {
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 8
      for (int c = 0; c < NC; ++c) acc[s][r][c] = _mm512_setzero_ps();
    }
  }
  constexpr std::size_t step = 16 * sets;
  const std::size_t full = n / step;
  for (std::size_t blk = 0; blk < full; ++blk) {
    const std::size_t i = blk * step;
    x86::prefetch_next_tile<step * sizeof(elem)>(w, ws, NR, i * sizeof(elem));
#pragma GCC unroll 2
    for (int s = 0; s < sets; ++s) {
      __m512 av[NC];
#pragma GCC unroll 4
      for (int c = 0; c < NC; ++c) av[c] = L::load16(ac[c] + i + 16 * s, 0xffff);
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        const __m512 wv = L::load16(wr[r] + i + 16 * s, 0xffff);
#pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) acc[s][r][c] = _mm512_fmadd_ps(wv, av[c], acc[s][r][c]);
      }
    }
  }
  for (std::size_t i = full * step; i < n; i += 16) {
    const auto m = static_cast<__mmask16>(n - i >= 16 ? 0xffff : (1u << (n - i)) - 1);
    __m512 av[NC];
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) av[c] = L::load16(ac[c] + i, m);
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) {
      const __m512 wv = L::load16(wr[r] + i, m);
#pragma GCC unroll 8
      for (int c = 0; c < NC; ++c) acc[0][r][c] = _mm512_fmadd_ps(wv, av[c], acc[0][r][c]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) {
      __m512 v = acc[0][r][c];
      if constexpr (sets == 2) v = _mm512_add_ps(v, acc[1][r][c]);
      out[static_cast<std::size_t>(r) * ldo + static_cast<std::size_t>(c)] = _mm512_reduce_add_ps(v);
    }
  }
}

/// bf16 rows with vdpbf16ps (AVX512-BF16): 32 products per instruction, pairs summed in
/// float. Like ggml's kernel it treats denormal bf16 inputs as zero.
template <int NR, int NC>
MMLLM_TARGET_AVX512_BF16 void tile_bf16_dp(std::size_t n, const std::byte* w, std::size_t ws,
                                           const std::byte* a, std::size_t as, float* out,
                                           std::size_t ldo) noexcept {
  const mmllm::bf16* wr[NR];
  const mmllm::bf16* ac[NC];
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) wr[r] = block_row<mmllm::bf16>(w, ws, r);
#pragma GCC unroll 8
  for (int c = 0; c < NC; ++c) ac[c] = block_row<mmllm::bf16>(a, as, c);
  constexpr int sets = NR * NC <= 4 ? 2 : 1;
  __m512 acc[sets][NR][NC];
#pragma GCC unroll 8
  for (int s = 0; s < sets; ++s) {
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 8
      for (int c = 0; c < NC; ++c) acc[s][r][c] = _mm512_setzero_ps();
    }
  }
  constexpr std::size_t step = 32 * sets;
  const std::size_t full = n / step;
  for (std::size_t blk = 0; blk < full; ++blk) {
    const std::size_t i = blk * step;
    x86::prefetch_next_tile<step * sizeof(mmllm::bf16)>(w, ws, NR, i * sizeof(mmllm::bf16));
#pragma GCC unroll 2
    for (int s = 0; s < sets; ++s) {
      __m512bh av[NC];
#pragma GCC unroll 4
      for (int c = 0; c < NC; ++c) av[c] = (__m512bh)_mm512_loadu_si512(ac[c] + i + 32 * s);
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        const auto wv = (__m512bh)_mm512_loadu_si512(wr[r] + i + 32 * s);
#pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) acc[s][r][c] = _mm512_dpbf16_ps(acc[s][r][c], wv, av[c]);
      }
    }
  }
  for (std::size_t i = full * step; i < n; i += 32) {
    const auto m = static_cast<__mmask32>(n - i >= 32 ? 0xffffffffu : (1u << (n - i)) - 1);
    __m512bh av[NC];
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) av[c] = (__m512bh)_mm512_maskz_loadu_epi16(m, ac[c] + i);
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) {
      const auto wv = (__m512bh)_mm512_maskz_loadu_epi16(m, wr[r] + i);
#pragma GCC unroll 8
      for (int c = 0; c < NC; ++c) acc[0][r][c] = _mm512_dpbf16_ps(acc[0][r][c], wv, av[c]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) {
      __m512 v = acc[0][r][c];
      if constexpr (sets == 2) v = _mm512_add_ps(v, acc[1][r][c]);
      out[static_cast<std::size_t>(r) * ldo + static_cast<std::size_t>(c)] = _mm512_reduce_add_ps(v);
    }
  }
}

// ---------------------------------------------------------------------------------------
// kernel structs
// ---------------------------------------------------------------------------------------

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

template <int MR, int MC>
struct bf16_dp_kernel {
  static constexpr int max_rows = MR;
  static constexpr int max_cols = MC;
  static void tile(std::size_t n, const std::byte* w, std::size_t w_stride, int nr, const std::byte* a,
                   std::size_t a_stride, int nc, float* out, std::size_t ldo) noexcept {
    with_tile_shape<MR, MC>(nr, nc, [&](auto R, auto C) {
      tile_bf16_dp<decltype(R)::value, decltype(C)::value>(n, w, w_stride, a, a_stride, out, ldo);
    });
  }
};

}  // namespace mmllm::compute::detail::avx512

namespace mmllm::compute {

// 32-value blocks: 4 × 4 tiles; the vnni variant uses vpdpbusd.
#define MMLLM_QD_AVX512_B32(F)                                                \
  template <>                                                                 \
  struct quant_dot<fmt::F, isa::avx512>                                       \
      : detail::avx512_base::b32_kernel<detail::avx512::F##_unpack, 4, 4> {}; \
  template <>                                                                 \
  struct quant_dot<fmt::F, isa::avx512, isa_ext::vnni>                        \
      : detail::avx512_vnni::b32_kernel<detail::avx512::F##_unpack, 4, 4> {};
MMLLM_QD_AVX512_B32(q4_0)
MMLLM_QD_AVX512_B32(q4_1)
MMLLM_QD_AVX512_B32(q5_0)
MMLLM_QD_AVX512_B32(q5_1)
MMLLM_QD_AVX512_B32(q8_0)
MMLLM_QD_AVX512_B32(iq4_nl)
MMLLM_QD_AVX512_B32(mxfp4)
#undef MMLLM_QD_AVX512_B32

// Super-blocks: 4 × 4 tiles (VNNI would not help: the sub-scales are applied per 16 values).
template <>
struct quant_dot<fmt::q2_K, isa::avx512> : detail::avx512::k_kernel<detail::avx512::q2_K_unpack, 4, 4> {};
template <>
struct quant_dot<fmt::q3_K, isa::avx512> : detail::avx512::k_kernel<detail::avx512::q3_K_unpack, 4, 4> {};
template <>
struct quant_dot<fmt::q4_K, isa::avx512> : detail::avx512::k_kernel<detail::avx512::q4_K_unpack, 4, 4> {};
template <>
struct quant_dot<fmt::q5_K, isa::avx512> : detail::avx512::k_kernel<detail::avx512::q5_K_unpack, 4, 4> {};
template <>
struct quant_dot<fmt::q6_K, isa::avx512> : detail::avx512::k_kernel<detail::avx512::q6_K_unpack, 4, 4> {};
template <>
struct quant_dot<fmt::iq4_xs, isa::avx512> : detail::avx512::k_kernel<detail::avx512::iq4_xs_unpack, 4, 4> {};

// Plain rows: 4 × 4 tiles; bf16 with vdpbf16ps in the vnni_bf16 variant.
template <>
struct quant_dot<fmt::f32, isa::avx512> : detail::avx512::plain_kernel<detail::avx512::f32_lanes, 4, 4> {};
template <>
struct quant_dot<fmt::f16, isa::avx512> : detail::avx512::plain_kernel<detail::avx512::f16_lanes, 4, 4> {};
template <>
struct quant_dot<fmt::bf16, isa::avx512> : detail::avx512::plain_kernel<detail::avx512::bf16_lanes, 4, 4> {};
template <>
struct quant_dot<fmt::bf16, isa::avx512, isa_ext::vnni_bf16> : detail::avx512::bf16_dp_kernel<4, 4> {};

}  // namespace mmllm::compute

MMLLM_KERNELS_END

#endif  // MMLLM_HAVE_X86_KERNELS
