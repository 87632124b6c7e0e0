// mmllm/compute/gemm.hpp — cache-blocked GEMM for f32 / f16 / bf16 weights: Y = X·Wᵀ.
//
// Used by matmul when many activation rows meet plain-float weights (prefill, vision and
// audio encoders). Packed-panel design after Goto / BLIS, with fork-join phases only (no
// barriers inside a job, so any executor works):
//   for each block of nc output columns and each kc-deep slice of the reduction:
//     phase 1 (parallel): the W rows of the block are converted to f32 and packed once into
//       a shared buffer of nr-wide panels laid out [k][nr] (stays in L3);
//     phase 2 (parallel, work items handed out by an atomic counter): an item is mc rows of
//       X × a range of W panels; it packs its X rows into mr-wide panels [k][mr] (optionally
//       rounded to f16 / bf16: the peer quirk; stays in L2) and runs the mr × nr register-
//       blocked FMA micro-kernel with each W micro-panel held in L1 while the X panels stream
//       past it. Later slices accumulate into Y.
// Items write disjoint rectangles of Y whose column edges are multiples of nr (≥ 16 floats),
// so threads share no cache line of a 64-byte aligned Y. The order of the floating-point
// operations for an element of Y depends only on k and the level's kc, never on the thread
// count, the item shapes or the schedule: results are bit-identical for any executor.
// Levels: avx512 (8 × 32 micro-kernel; 16×16 transposes for W, 8×16 for X), avx2 (6 × 16,
// 8×8 transposes), generic (xsimd, 4 × 2 vectors, scalar packing).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../core/bf16.hpp"
#include "../core/f16.hpp"
#include "executor_ref.hpp"
#include "isa.hpp"
#include "simd_math.hpp"
#include "thread_pool.hpp"
#include "workspace.hpp"

MMLLM_KERNELS_BEGIN
namespace mmllm::compute::detail {

/// Storage type of the GEMM's W operand.
enum class gemm_weight : std::uint8_t { f32, f16, bf16 };

/// How X is rounded while it is packed.
enum class gemm_rounding : std::uint8_t { none, f16, bf16 };

/// One Y = X·Wᵀ problem: X is m×k (row stride ldx floats), W is n×k rows `w_stride` bytes
/// apart, Y is m×n (row stride ldy floats).
struct gemm_problem {
  std::size_t m = 0, n = 0, k = 0;
  const float* x = nullptr;
  std::size_t ldx = 0;
  const std::byte* w = nullptr;
  std::size_t w_stride = 0;
  gemm_weight wtype = gemm_weight::f32;
  float* y = nullptr;
  std::size_t ldy = 0;
  gemm_rounding round_x = gemm_rounding::none;
};

/// Blocking of one level: micro-tile mr × nr, reduction slice kc, X rows per item mc, W
/// columns per shared block nc (multiples of mr / nr).
struct gemm_blocking {
  int mr, nr;
  std::size_t kc, mc, nc;
};

inline constexpr gemm_blocking gemm_blocking_generic{4, static_cast<int>(2 * glanes), 256, 64, 1024};
inline constexpr gemm_blocking gemm_blocking_avx2{6, 16, 256, 120, 2048};
inline constexpr gemm_blocking gemm_blocking_avx512{8, 32, 256, 128, 2048};

constexpr const gemm_blocking& gemm_blocking_of(isa level) noexcept {
  return level == isa::avx512 ? gemm_blocking_avx512
         : level == isa::avx2 ? gemm_blocking_avx2
                              : gemm_blocking_generic;
}

/// Scratch bytes one thread needs for its packed X block and an edge tile.
constexpr std::size_t gemm_scratch_per_thread(isa level) noexcept {
  const auto& b = gemm_blocking_of(level);
  return workspace::round_up(b.mc * b.kc * sizeof(float)) +
         workspace::round_up(static_cast<std::size_t>(b.mr * b.nr) * sizeof(float));
}

/// Scratch bytes of the shared packed W block.
constexpr std::size_t gemm_scratch_shared(isa level) noexcept {
  const auto& b = gemm_blocking_of(level);
  return workspace::round_up(b.nc * b.kc * sizeof(float));
}

/// Total scratch bytes for `n_threads` threads.
constexpr std::size_t gemm_scratch_bytes(isa level, unsigned n_threads) noexcept {
  return gemm_scratch_shared(level) + n_threads * gemm_scratch_per_thread(level);
}

inline float gemm_round(float v, gemm_rounding r) noexcept {
  switch (r) {
    case gemm_rounding::none: return v;
    case gemm_rounding::f16: return to_f32(to_f16(v));
    case gemm_rounding::bf16: return to_f32(to_bf16(v));
  }
  return v;
}

inline float gemm_load_weight(const std::byte* row, std::size_t i, gemm_weight t) noexcept {
  switch (t) {
    case gemm_weight::f32: {
      float v;
      std::memcpy(&v, row + i * sizeof(float), sizeof v);
      return v;
    }
    case gemm_weight::f16: {
      f16 h;
      std::memcpy(&h, row + i * sizeof(f16), sizeof h);
      return to_f32(h);
    }
    case gemm_weight::bf16: {
      bf16 h;
      std::memcpy(&h, row + i * sizeof(bf16), sizeof h);
      return to_f32(h);
    }
  }
  return 0.0f;
}

// ---- portable packers (generic level; edges of the vector packers) --------------------------
/// X rows [r0, r0+rows) × cols [p0, p0+kc) → panels of mr rows, [k][mr], zero-padded rows.
inline void gemm_pack_x_scalar(const gemm_problem& pr, std::size_t r0, std::size_t rows, std::size_t p0,
                               std::size_t kc, int mr, float* dst) noexcept {
  const auto umr = static_cast<std::size_t>(mr);
  for (std::size_t pb = 0; pb < rows; pb += umr) {
    float* panel = dst + pb * kc;
    for (std::size_t r = 0; r < umr; ++r) {
      if (pb + r < rows) {
        const float* src = pr.x + (r0 + pb + r) * pr.ldx + p0;
        for (std::size_t k = 0; k < kc; ++k) panel[k * umr + r] = gemm_round(src[k], pr.round_x);
      } else {
        for (std::size_t k = 0; k < kc; ++k) panel[k * umr + r] = 0.0f;
      }
    }
  }
}

/// W rows [c0, c0+cols) × [p0, p0+kc) → panels of nr rows, [k][nr], zero-padded.
inline void gemm_pack_w_scalar(const gemm_problem& pr, std::size_t c0, std::size_t cols, std::size_t p0,
                               std::size_t kc, int nr, float* dst) noexcept {
  const auto unr = static_cast<std::size_t>(nr);
  for (std::size_t pb = 0; pb < cols; pb += unr) {
    float* panel = dst + pb * kc;
    for (std::size_t j = 0; j < unr; ++j) {
      if (pb + j < cols) {
        const std::byte* src = pr.w + (c0 + pb + j) * pr.w_stride;
        for (std::size_t k = 0; k < kc; ++k) panel[k * unr + j] = gemm_load_weight(src, p0 + k, pr.wtype);
      } else {
        for (std::size_t k = 0; k < kc; ++k) panel[k * unr + j] = 0.0f;
      }
    }
  }
}

// ---- generic micro-kernel (xsimd) -----------------------------------------------------------
/// c[r][j] (+)= Σ_k a[k][r]·b[k][j] for a full mr × nr tile.
inline void gemm_ukernel_generic(std::size_t kc, const float* a, const float* b, float* c, std::size_t ldc,
                                 bool accumulate) noexcept {
  constexpr int mr = gemm_blocking_generic.mr;
  gbatch acc[mr][2];
  for (auto& row : acc) row[0] = row[1] = gbatch(0.0f);
  for (std::size_t k = 0; k < kc; ++k) {
    const gbatch b0 = gbatch::load_aligned(b), b1 = gbatch::load_aligned(b + glanes);
    for (int r = 0; r < mr; ++r) {
      const gbatch av(a[r]);
      acc[r][0] = xsimd::fma(av, b0, acc[r][0]);
      acc[r][1] = xsimd::fma(av, b1, acc[r][1]);
    }
    a += mr;
    b += 2 * glanes;
  }
  for (int r = 0; r < mr; ++r) {
    float* cr = c + static_cast<std::size_t>(r) * ldc;
    if (accumulate) {
      acc[r][0] += gbatch::load_unaligned(cr);
      acc[r][1] += gbatch::load_unaligned(cr + glanes);
    }
    acc[r][0].store_unaligned(cr);
    acc[r][1].store_unaligned(cr + glanes);
  }
}

#if MMLLM_HAVE_X86_KERNELS
// ---- avx2 --------------------------------------------------------------------------------------
/// 8 × 8 transpose of r[0..7] in place.
MMLLM_TARGET_AVX2 inline void transpose8_avx2(__m256 r[8]) noexcept {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 2; ++g) {
    u[4 * g + 0] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    u[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
    u[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    u[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
  }
  for (int c = 0; c < 4; ++c) {
    r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
    r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
  }
}

/// Up to 8 values of a row (k from `k`, `cnt` ≤ 8 of them), converted to f32, zero-filled.
MMLLM_TARGET_AVX2 inline __m256 gemm_load8_avx2(const std::byte* row, std::size_t k, std::size_t cnt,
                                                gemm_weight t) noexcept {
  if (cnt == 8) {
    switch (t) {
      case gemm_weight::f32: return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + k);
      case gemm_weight::f16:
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + k * sizeof(f16))));
      case gemm_weight::bf16:
        return from_bf16_avx2(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + k * sizeof(bf16))));
    }
  }
  alignas(32) float tmp[8] = {};
  for (std::size_t i = 0; i < cnt; ++i) tmp[i] = gemm_load_weight(row, k + i, t);
  return _mm256_load_ps(tmp);
}

MMLLM_TARGET_AVX2 inline __m256 gemm_round_avx2(__m256 v, gemm_rounding r) noexcept {
  switch (r) {
    case gemm_rounding::none: return v;
    case gemm_rounding::f16:
      return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    case gemm_rounding::bf16: return from_bf16_avx2(to_bf16_avx2(v));
  }
  return v;
}

/// W rows → [k][16] panels: two 8-row groups per panel, 8×8 transposes.
MMLLM_TARGET_AVX2 inline void gemm_pack_w_avx2(const gemm_problem& pr, std::size_t c0, std::size_t cols,
                                               std::size_t p0, std::size_t kc, float* dst) noexcept {
  constexpr std::size_t nr = 16;
  for (std::size_t pb = 0; pb < cols; pb += nr) {
    float* panel = dst + pb * kc;
    for (std::size_t g = 0; g < nr; g += 8) {
      for (std::size_t k = 0; k < kc; k += 8) {
        const std::size_t cnt = std::min<std::size_t>(8, kc - k);
        __m256 r[8];
        for (std::size_t j = 0; j < 8; ++j) {
          const std::size_t col = pb + g + j;
          r[j] = col < cols ? gemm_load8_avx2(pr.w + (c0 + col) * pr.w_stride, p0 + k, cnt, pr.wtype)
                            : _mm256_setzero_ps();
        }
        transpose8_avx2(r);
        for (std::size_t i = 0; i < cnt; ++i) _mm256_storeu_ps(panel + (k + i) * nr + g, r[i]);
      }
    }
  }
}

/// X rows → [k][6] panels (8×8 transposes, 6 lanes stored).
MMLLM_TARGET_AVX2 inline void gemm_pack_x_avx2(const gemm_problem& pr, std::size_t r0, std::size_t rows,
                                               std::size_t p0, std::size_t kc, float* dst) noexcept {
  constexpr std::size_t mr = 6;
  const __m256i m6 = tail_mask_avx2(6);
  for (std::size_t pb = 0; pb < rows; pb += mr) {
    float* panel = dst + pb * kc;
    for (std::size_t k = 0; k < kc; k += 8) {
      const std::size_t cnt = std::min<std::size_t>(8, kc - k);
      __m256 r[8];
      for (std::size_t j = 0; j < 8; ++j) {
        if (j < mr && pb + j < rows) {
          const float* src = pr.x + (r0 + pb + j) * pr.ldx + p0 + k;
          r[j] = gemm_round_avx2(
              cnt == 8 ? _mm256_loadu_ps(src) : _mm256_maskload_ps(src, tail_mask_avx2(cnt)), pr.round_x);
        } else {
          r[j] = _mm256_setzero_ps();
        }
      }
      transpose8_avx2(r);
      for (std::size_t i = 0; i < cnt; ++i) _mm256_maskstore_ps(panel + (k + i) * mr, m6, r[i]);
    }
  }
}

MMLLM_TARGET_AVX2 inline void gemm_ukernel_avx2(std::size_t kc, const float* a, const float* b, float* c,
                                                std::size_t ldc, bool accumulate) noexcept {
  constexpr int mr = 6;
  __m256 acc[mr][2];
#pragma GCC unroll 8
  for (int r = 0; r < mr; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (std::size_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 8
    for (int r = 0; r < mr; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
    a += mr;
    b += 16;
  }
#pragma GCC unroll 8
  for (int r = 0; r < mr; ++r) {
    float* cr = c + static_cast<std::size_t>(r) * ldc;
    if (accumulate) {
      acc[r][0] = _mm256_add_ps(acc[r][0], _mm256_loadu_ps(cr));
      acc[r][1] = _mm256_add_ps(acc[r][1], _mm256_loadu_ps(cr + 8));
    }
    _mm256_storeu_ps(cr, acc[r][0]);
    _mm256_storeu_ps(cr + 8, acc[r][1]);
  }
}

// ---- avx512 ------------------------------------------------------------------------------------
/// 16 × 16 transpose of r[0..15] in place.
MMLLM_TARGET_AVX512 inline void transpose16_avx512(__m512 r[16]) noexcept {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 4; ++g) {
    u[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
    u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
  }
  // u[4g + c], 128-bit lane L: rows 4g..4g+3 at column 4L + c.
  for (int c = 0; c < 4; ++c) {
    const __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
    const __m512 v2 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
    const __m512 w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
    const __m512 w2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
    r[c] = _mm512_shuffle_f32x4(v1, w1, 0x88);
    r[8 + c] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
    r[4 + c] = _mm512_shuffle_f32x4(v2, w2, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(v2, w2, 0xDD);
  }
}

/// Up to 16 values of a W row from index k (`cnt` ≤ 16), converted to f32, zero-filled.
MMLLM_TARGET_AVX512 inline __m512 gemm_load16_avx512(const std::byte* row, std::size_t k, std::size_t cnt,
                                                     gemm_weight t) noexcept {
  const __mmask16 m = tail_mask_avx512(cnt);
  switch (t) {
    case gemm_weight::f32: return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + k);
    case gemm_weight::f16: return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + k * sizeof(f16)));
    case gemm_weight::bf16: return from_bf16_avx512(_mm256_maskz_loadu_epi16(m, row + k * sizeof(bf16)));
  }
  return _mm512_setzero_ps();
}

MMLLM_TARGET_AVX512 inline __m512 gemm_round_avx512(__m512 v, gemm_rounding r) noexcept {
  switch (r) {
    case gemm_rounding::none: return v;
    case gemm_rounding::f16:
      return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    case gemm_rounding::bf16: return from_bf16_avx512(to_bf16_avx512(v));
  }
  return v;
}

/// W rows → [k][32] panels: two 16-row groups per panel, 16×16 transposes.
MMLLM_TARGET_AVX512 inline void gemm_pack_w_avx512(const gemm_problem& pr, std::size_t c0, std::size_t cols,
                                                   std::size_t p0, std::size_t kc, float* dst) noexcept {
  constexpr std::size_t nr = 32;
  for (std::size_t pb = 0; pb < cols; pb += nr) {
    float* panel = dst + pb * kc;
    for (std::size_t g = 0; g < nr; g += 16) {
      for (std::size_t k = 0; k < kc; k += 16) {
        const std::size_t cnt = std::min<std::size_t>(16, kc - k);
        __m512 r[16];
        for (std::size_t j = 0; j < 16; ++j) {
          const std::size_t col = pb + g + j;
          r[j] = col < cols ? gemm_load16_avx512(pr.w + (c0 + col) * pr.w_stride, p0 + k, cnt, pr.wtype)
                            : _mm512_setzero_ps();
        }
        transpose16_avx512(r);
        for (std::size_t i = 0; i < cnt; ++i) _mm512_store_ps(panel + (k + i) * nr + g, r[i]);
      }
    }
  }
}

/// 8 rows × 16 columns → 8 vectors holding columns (c, c+8) of all 8 rows, for c = 0..7 in
/// the order 0, 1, 2, 3, 4, 5, 6, 7 of out[]: out[c] = [rows at column c | rows at column c+8].
MMLLM_TARGET_AVX512 inline void transpose8x16_avx512(__m512 r[8]) noexcept {
  __m512 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 2; ++g) {
    u[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
    u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
  }
  // u[4g + c], 128-bit lane L: rows 4g..4g+3 at column 4L + c.
  for (int c = 0; c < 4; ++c) {
    const __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);  // lanes (0, 2) of each
    const __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);  // lanes (1, 3) of each
    r[c] = _mm512_shuffle_f32x4(v0, v0, 0xD8);                     // columns c | c + 8
    r[4 + c] = _mm512_shuffle_f32x4(v1, v1, 0xD8);                 // columns c + 4 | c + 12
  }
}

/// X rows → [k][8] panels (8×16 transposes).
MMLLM_TARGET_AVX512 inline void gemm_pack_x_avx512(const gemm_problem& pr, std::size_t r0, std::size_t rows,
                                                   std::size_t p0, std::size_t kc, float* dst) noexcept {
  constexpr std::size_t mr = 8;
  for (std::size_t pb = 0; pb < rows; pb += mr) {
    float* panel = dst + pb * kc;
    const std::size_t valid = std::min(mr, rows - pb);
    for (std::size_t k = 0; k < kc; k += 16) {
      const std::size_t cnt = std::min<std::size_t>(16, kc - k);
      const __mmask16 m = tail_mask_avx512(cnt);
      __m512 r[8];
      for (std::size_t j = 0; j < mr; ++j)
        r[j] = j < valid ? gemm_round_avx512(_mm512_maskz_loadu_ps(m, pr.x + (r0 + pb + j) * pr.ldx + p0 + k),
                                             pr.round_x)
                         : _mm512_setzero_ps();
      transpose8x16_avx512(r);
      for (std::size_t c = 0; c < 8; ++c) {
        if (c < cnt) _mm256_store_ps(panel + (k + c) * mr, _mm512_castps512_ps256(r[c]));
        if (c + 8 < cnt) _mm256_store_ps(panel + (k + c + 8) * mr, _mm512_extractf32x8_ps(r[c], 1));
      }
    }
  }
}

MMLLM_TARGET_AVX512 inline void gemm_ukernel_avx512(std::size_t kc, const float* a, const float* b, float* c,
                                                    std::size_t ldc, bool accumulate) noexcept {
  constexpr int mr = 8;
  __m512 acc[mr][2];
#pragma GCC unroll 8
  for (int r = 0; r < mr; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (std::size_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 8
    for (int r = 0; r < mr; ++r) {
      const __m512 av = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
    a += mr;
    b += 32;
  }
#pragma GCC unroll 8
  for (int r = 0; r < mr; ++r) {
    float* cr = c + static_cast<std::size_t>(r) * ldc;
    if (accumulate) {
      acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_loadu_ps(cr));
      acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_loadu_ps(cr + 16));
    }
    _mm512_storeu_ps(cr, acc[r][0]);
    _mm512_storeu_ps(cr + 16, acc[r][1]);
  }
}
#endif  // MMLLM_HAVE_X86_KERNELS

// ---- driver -------------------------------------------------------------------------------------
/// Packing and micro-kernel entry points of one level.
struct gemm_level_fns {
  void (*pack_x)(const gemm_problem&, std::size_t, std::size_t, std::size_t, std::size_t, float*) noexcept;
  void (*pack_w)(const gemm_problem&, std::size_t, std::size_t, std::size_t, std::size_t, float*) noexcept;
  void (*ukernel)(std::size_t, const float*, const float*, float*, std::size_t, bool) noexcept;
};

inline void gemm_pack_x_generic(const gemm_problem& pr, std::size_t r0, std::size_t rows, std::size_t p0,
                                std::size_t kc, float* dst) noexcept {
  gemm_pack_x_scalar(pr, r0, rows, p0, kc, gemm_blocking_generic.mr, dst);
}
inline void gemm_pack_w_generic(const gemm_problem& pr, std::size_t c0, std::size_t cols, std::size_t p0,
                                std::size_t kc, float* dst) noexcept {
  gemm_pack_w_scalar(pr, c0, cols, p0, kc, gemm_blocking_generic.nr, dst);
}

inline gemm_level_fns gemm_fns(isa level) noexcept {
#if MMLLM_HAVE_X86_KERNELS
  if (level == isa::avx512) return {&gemm_pack_x_avx512, &gemm_pack_w_avx512, &gemm_ukernel_avx512};
  if (level == isa::avx2) return {&gemm_pack_x_avx2, &gemm_pack_w_avx2, &gemm_ukernel_avx2};
#endif
  (void)level;
  return {&gemm_pack_x_generic, &gemm_pack_w_generic, &gemm_ukernel_generic};
}

/// Runs fn(begin, end) over a static split of [0, n) on the executor (or the caller).
template <class F>
inline void gemm_split(executor_ref ex, std::size_t n, F&& fn) {
  if (ex.size() <= 1 || n <= 1) {
    fn(std::size_t{0}, n);
    return;
  }
  ex.run([&](unsigned i, unsigned nt) {
    const auto [b, e] = thread_pool::partition(n, i, nt);
    if (b < e) fn(b, e);
  });
}

/// Y = X·Wᵀ on the executor's threads. `scratch` holds gemm_scratch_bytes(level, ex.size()).
inline void gemm(isa level, const gemm_problem& pr, std::byte* scratch, executor_ref ex) noexcept {
  if (pr.m == 0 || pr.n == 0) return;
  if (pr.k == 0) {
    for (std::size_t r = 0; r < pr.m; ++r) std::fill(pr.y + r * pr.ldy, pr.y + r * pr.ldy + pr.n, 0.0f);
    return;
  }
  const gemm_blocking& bl = gemm_blocking_of(level);
  const gemm_level_fns fns = gemm_fns(level);
  const auto mr = static_cast<std::size_t>(bl.mr), nr = static_cast<std::size_t>(bl.nr);
  const unsigned nt = std::max(1u, ex.size());
  auto* wp = reinterpret_cast<float*>(scratch);
  std::byte* per_thread = scratch + gemm_scratch_shared(level);
  const std::size_t per_thread_bytes = gemm_scratch_per_thread(level);

  for (std::size_t j0 = 0; j0 < pr.n; j0 += bl.nc) {
    const std::size_t ncur = std::min(bl.nc, pr.n - j0);
    const std::size_t panels = (ncur + nr - 1) / nr;
    // Work items: X row blocks × ranges of W panels, enough for every thread to get several.
    const std::size_t row_blocks = (pr.m + bl.mc - 1) / bl.mc;
    const std::size_t splits =
        std::min(panels, std::max<std::size_t>(1, (4 * nt + row_blocks - 1) / row_blocks));
    const std::size_t per_split = (panels + splits - 1) / splits;
    const std::size_t items = row_blocks * splits;
    for (std::size_t p0 = 0; p0 < pr.k; p0 += bl.kc) {
      const std::size_t kc = std::min(bl.kc, pr.k - p0);
      const bool accumulate = p0 != 0;
      // phase 1: the shared W block
      gemm_split(ex, panels, [&](std::size_t b, std::size_t e) {
        const std::size_t c0 = b * nr, c1 = std::min(ncur, e * nr);
        fns.pack_w(pr, j0 + c0, c1 - c0, p0, kc, wp + c0 * kc);
      });
      // phase 2: items
      alignas(64) std::atomic<std::size_t> next{0};
      auto job = [&](unsigned thread, unsigned) {
        auto* xp = reinterpret_cast<float*>(per_thread + thread * per_thread_bytes);
        float* edge = xp + workspace::round_up(bl.mc * bl.kc * sizeof(float)) / sizeof(float);
        for (std::size_t it = next.fetch_add(1, std::memory_order_relaxed); it < items;
             it = next.fetch_add(1, std::memory_order_relaxed)) {
          const std::size_t i0 = (it / splits) * bl.mc, mcur = std::min(bl.mc, pr.m - i0);
          const std::size_t pb = (it % splits) * per_split, pe = std::min(panels, pb + per_split);
          if (pb >= pe) continue;
          fns.pack_x(pr, i0, mcur, p0, kc, xp);
          for (std::size_t jp = pb; jp < pe; ++jp) {
            const float* b = wp + jp * nr * kc;
            const std::size_t cols = std::min(nr, ncur - jp * nr);
            for (std::size_t i = 0; i < mcur; i += mr) {
              const float* a = xp + i * kc;
              const std::size_t rows = std::min(mr, mcur - i);
              float* c = pr.y + (i0 + i) * pr.ldy + j0 + jp * nr;
              if (rows == mr && cols == nr) {
                fns.ukernel(kc, a, b, c, pr.ldy, accumulate);
              } else {
                fns.ukernel(kc, a, b, edge, nr, false);
                for (std::size_t r = 0; r < rows; ++r)
                  for (std::size_t q = 0; q < cols; ++q)
                    c[r * pr.ldy + q] = accumulate ? c[r * pr.ldy + q] + edge[r * nr + q] : edge[r * nr + q];
              }
            }
          }
        }
      };
      if (nt <= 1 || items <= 1) {
        job(0, 1);
      } else {
        ex.run(job);
      }
    }
  }
}

}  // namespace mmllm::compute::detail
MMLLM_KERNELS_END
