// mmllm/compute/quant_dot_avx512_b32.hpp — the AVX-512 engine for 32-value block formats,
// written once and compiled twice by quant_dot_avx512.hpp: as namespace `avx512_base`
// (MMLLM_TARGET_AVX512, vpmaddubsw + vpmaddwd) and as `avx512_vnni`
// (MMLLM_TARGET_AVX512_VNNI, vpdpbusd). A compiler may turn vpmaddwd + vpaddd into VNNI
// instructions in code compiled for VNNI, so the base variant cannot share that target;
// hence one source with the target and the dot primitive chosen by macros:
//   MMLLM_QD_B32_NS      namespace name under mmllm::compute::detail
//   MMLLM_QD_B32_TARGET  function attribute
//   MMLLM_QD_B32_VNNI    0 or 1
// Deliberately no include guard. Compiled on its own it includes quant_dot_avx512.hpp.
#if !defined(MMLLM_QD_B32_NS)
#include "quant_dot_avx512.hpp"
#else

namespace mmllm::compute::detail::MMLLM_QD_B32_NS {

/// NR×NC dot products over nb 32-value blocks, two blocks per 512-bit step (an odd last
/// block goes through the AVX2 engine). U is a detail::avx512 unpacker.
template <class U, int NR, int NC>
MMLLM_QD_B32_TARGET void tile_b32(std::size_t nb, const std::byte* w, std::size_t ws, const std::byte* a,
                                  std::size_t as, float* out, std::size_t ldo) noexcept {
  using wblock = typename U::format::block;
  using ablock = typename U::format::activation::block;
  [[maybe_unused]] constexpr bool vnni = MMLLM_QD_B32_VNNI != 0;
  // With VNNI every format is fed as unsigned bytes: s8 weights are offset by 128.
  constexpr bool as_u8 = vnni || U::kind == avx2::qkind::u8;
  // Offsets are powers of two: 8 (q4_0), 16 (q5_0), 128 (s8 formats under VNNI), or none.
  constexpr int offset_shift = U::kind == avx2::qkind::s8 ? (vnni ? 7 : -1) : U::offset_shift;
  const wblock* wr[NR];
  const ablock* ac[NC];
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) wr[r] = block_row<wblock>(w, ws, r);
#pragma GCC unroll 8
  for (int c = 0; c < NC; ++c) ac[c] = block_row<ablock>(a, as, c);
  __m512 acc[NR][NC];
  [[maybe_unused]] __m128 macc[NR][NC];  // Σ m·s terms of formats with minima (lanes 0, 1)
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) {
      acc[r][c] = _mm512_setzero_ps();
      macc[r][c] = _mm_setzero_ps();
    }
  }
  [[maybe_unused]] const __m512i ones8 = _mm512_set1_epi8(1);
  [[maybe_unused]] const __m512i ones16 = _mm512_set1_epi16(1);
  const std::size_t pairs = nb / 2;
  for (std::size_t p = 0; p < pairs; ++p) {
    const std::size_t b = 2 * p;
    x86::prefetch_next_tile<2 * sizeof(wblock)>(w, ws, NR, b * sizeof(wblock));
    __m512i av[NC], aoff[NC];
    __m512 da[NC];
    [[maybe_unused]] __m128 sa[NC];
#pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) {
      av[c] = avx512::load_act_pair<U::interleaved>(ac[c][b].qs, ac[c][b + 1].qs);
      da[c] = avx512::scale_pair<U::interleaved>(avx512::halves_to_floats(ac[c][b].d, ac[c][b + 1].d));
      if constexpr (offset_shift >= 0) {
#if MMLLM_QD_B32_VNNI
        const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones8, av[c]);
#else
        const __m512i sums = _mm512_madd_epi16(_mm512_maddubs_epi16(ones8, av[c]), ones16);
#endif
        aoff[c] =
            _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sums, offset_shift));  // −offset·Σa
      } else {
        aoff[c] = _mm512_setzero_si512();
      }
      if constexpr (U::has_min) sa[c] = avx512::halves_to_floats(ac[c][b].s, ac[c][b + 1].s);
    }
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      __m512i q;
      __m128 d2, m2 = _mm_setzero_ps();
      U::load2(&wr[r][b], q, d2, m2);
      if constexpr (vnni && U::kind == avx2::qkind::s8) q = _mm512_xor_si512(q, _mm512_set1_epi8(-128));
      const __m512 dw = avx512::scale_pair<U::interleaved>(d2);
      [[maybe_unused]] __m512i qabs = q;
      [[maybe_unused]] __mmask64 neg = 0;
      if constexpr (!as_u8) {
        qabs = _mm512_abs_epi8(q);
        neg = _mm512_movepi8_mask(q);
      }
#pragma GCC unroll 4
      for (int c = 0; c < NC; ++c) {
        __m512i s;
#if MMLLM_QD_B32_VNNI
        s = _mm512_dpbusd_epi32(aoff[c], q, av[c]);
#else
        if constexpr (as_u8) {
          s = _mm512_add_epi32(_mm512_madd_epi16(_mm512_maddubs_epi16(q, av[c]), ones16), aoff[c]);
        } else {
          const __m512i sa8 = _mm512_mask_sub_epi8(av[c], neg, _mm512_setzero_si512(), av[c]);
          s = _mm512_madd_epi16(_mm512_maddubs_epi16(qabs, sa8), ones16);
        }
#endif
        acc[r][c] = _mm512_fmadd_ps(_mm512_mul_ps(dw, da[c]), _mm512_cvtepi32_ps(s), acc[r][c]);
        if constexpr (U::has_min) macc[r][c] = _mm_fmadd_ps(m2, sa[c], macc[r][c]);
      }
    }
  }
  float tail[NR][NC] = {};
  if (nb % 2 != 0) {
    const std::size_t last = nb - 1;
    avx2::tile_b32<typename U::avx2_unpack, NR, NC>(1, reinterpret_cast<const std::byte*>(&wr[0][last]), ws,
                                                    reinterpret_cast<const std::byte*>(&ac[0][last]), as,
                                                    &tail[0][0], NC);
  }
#pragma GCC unroll 8
  for (int r = 0; r < NR; ++r) {
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) {
      float m = 0.0f;
      if constexpr (U::has_min) m = _mm_cvtss_f32(_mm_add_ss(macc[r][c], _mm_movehdup_ps(macc[r][c])));
      out[static_cast<std::size_t>(r) * ldo + static_cast<std::size_t>(c)] =
          _mm512_reduce_add_ps(acc[r][c]) + m + tail[r][c];
    }
  }
}

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

}  // namespace mmllm::compute::detail::MMLLM_QD_B32_NS

#endif  // MMLLM_QD_B32_NS
