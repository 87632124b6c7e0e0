// mmllm/core/quant/k_quants.hpp — ggml's 256-element super-block formats q2_K, q3_K, q4_K,
// q5_K, q6_K and their activation format q8_K.
//
// Each format is a stateless struct modelling `mmllm::quant_format` (see legacy.hpp for the
// member contract). A super-block holds 256 values in sub-blocks of 16 (q2_K, q3_K, q6_K)
// or 32 (q4_K, q5_K) with quantized per-sub-block scales (and minima) under f16 super-scales.
// `quantize_row` reproduces ggml's `quantize_row_*_ref` bit for bit (what llama-quantize
// writes without an importance matrix); `dot` pairs each with q8_K, whose `bsums` (sums of
// 16 quants) let the minima be applied once per sub-block.
//
//   std::vector<mmllm::fmt::q4_K::block> w(n / 256);
//   mmllm::fmt::q4_K::quantize_row(x, w.data(), n);
//   std::vector<mmllm::fmt::q8_K::block> a(n / 256);
//   mmllm::fmt::q8_K::quantize_activation_row(act, a.data(), n);
//   float s = mmllm::fmt::q4_K::dot(w.data(), a.data(), n);
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common.hpp"
#include "k_quant_search.hpp"

namespace mmllm::fmt {

/// 8-bit quants with a float scale per 256 values and the sums of each 16 quants; used
/// only as the activation format of the k-quants and iq4_xs.
struct q8_K {
  struct block {
    float d;
    std::int8_t qs[256];
    std::int16_t bsums[16];
  };
  using activation = q8_K;
  static constexpr dtype id = dtype::q8_K;
  static constexpr std::size_t block_size = 256;

  static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n / 256; ++i) {
      for (int j = 0; j < 256; ++j) y[i * 256 + j] = x[i].d * static_cast<float>(x[i].qs[j]);
    }
  }

  /// ggml's quantize_row_q8_K_ref: iscale = −127/max (max = the first value of largest
  /// magnitude), q = nearest(iscale·x) capped at 127, d = 1/iscale. All-zero blocks get
  /// d = 0 and zero quants and sums (ggml leaves their bsums unwritten).
  MMLLM_QUANT_EXACT_FN static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    for (std::size_t i = 0; i < n / 256; ++i, x += 256) {
      float max = 0, amax = 0;
      for (int j = 0; j < 256; ++j) {
        const float ax = std::fabs(x[j]);
        if (ax > amax) {
          amax = ax;
          max = x[j];
        }
      }
      if (amax == 0.0f) {
        y[i] = block{};
        continue;
      }
      const float iscale = -127.0f / max;
      for (int j = 0; j < 256; ++j) {
        const int v = detail::nearest_int(iscale * x[j]);
        y[i].qs[j] = static_cast<std::int8_t>(std::min(127, v));
      }
      for (int j = 0; j < 16; ++j) {
        int sum = 0;
        for (int k = 0; k < 16; ++k) sum += y[i].qs[j * 16 + k];
        y[i].bsums[j] = static_cast<std::int16_t>(sum);
      }
      y[i].d = 1 / iscale;
    }
  }

  /// ggml's x86 CPU backend uses the reference quantization for q8_K.
  static void quantize_activation_row(const float* x, block* y, std::size_t n) noexcept {
    quantize_row(x, y, n);
  }

  /// Σ_blocks (Σ qw·qa)·dw·da (not a ggml weight type; defined so every format has a dot).
  static float dot(const block* w, const block* a, std::size_t n) noexcept {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n / 256; ++i) {
      int s = 0;
      for (int j = 0; j < 256; ++j) s += w[i].qs[j] * a[i].qs[j];
      sum += w[i].d * a[i].d * static_cast<float>(s);
    }
    return sum;
  }
};

/// 2-bit quants: 16 sub-blocks of 16 with 4-bit scale and 4-bit min each (low and high
/// nibble of `scales[j]`), x ≈ d·sc·q − dmin·m, q ∈ [0, 3]. Byte l of each 32-byte group
/// of `qs` holds values l, l+32, l+64, l+96 of a 128-value half in its 2-bit fields.
struct q2_K {
  struct block {
    std::uint8_t scales[16];
    std::uint8_t qs[64];
    mmllm::f16 d;
    mmllm::f16 dmin;
  };
  using activation = q8_K;
  static constexpr dtype id = dtype::q2_K;
  static constexpr std::size_t block_size = 256;

  MMLLM_QUANT_EXACT_FN static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    for (std::size_t i = 0; i < n / 256; ++i) {
      const float d = detail::f16_to_f32(x[i].d);
      const float min = detail::f16_to_f32(x[i].dmin);
      const std::uint8_t* q = x[i].qs;
      int is = 0;
      for (int half = 0; half < 2; ++half, q += 32) {
        for (int shift = 0; shift < 8; shift += 2) {
          for (int g = 0; g < 2; ++g) {
            const std::uint8_t sc = x[i].scales[is++];
            const float dl = d * static_cast<float>(sc & 0xF);
            const float ml = min * static_cast<float>(sc >> 4);
            for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[16 * g + l] >> shift) & 3) - ml;
          }
        }
      }
    }
  }

  /// ggml's quantize_row_q2_K_ref.
  MMLLM_QUANT_EXACT_FN static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    std::uint8_t L[256];
    std::uint8_t Laux[16];
    float weights[16];
    float mins[16];
    float scales[16];
    const float q4scale = 15.0f;
    for (std::size_t i = 0; i < n / 256; ++i, x += 256) {
      float max_scale = 0, max_min = 0;
      for (int j = 0; j < 16; ++j) {
        for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
        scales[j] = detail::search_scale_min(16, 3, x + 16 * j, weights, L + 16 * j, mins[j], Laux, -0.5f,
                                             0.1f, 15, true);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
      }
      if (max_scale > 0) {
        const float iscale = q4scale / max_scale;
        for (int j = 0; j < 16; ++j)
          y[i].scales[j] = static_cast<std::uint8_t>(detail::nearest_int(iscale * scales[j]));
        y[i].d = to_f16(max_scale / q4scale);
      } else {
        for (int j = 0; j < 16; ++j) y[i].scales[j] = 0;
        y[i].d = to_f16(0.0f);
      }
      if (max_min > 0) {
        const float iscale = q4scale / max_min;
        for (int j = 0; j < 16; ++j) {
          const int l = detail::nearest_int(iscale * mins[j]);
          y[i].scales[j] = static_cast<std::uint8_t>(y[i].scales[j] | (l << 4));
        }
        y[i].dmin = to_f16(max_min / q4scale);
      } else {
        y[i].dmin = to_f16(0.0f);
      }
      for (int j = 0; j < 16; ++j) {
        const float d = detail::f16_to_f32(y[i].d) * static_cast<float>(y[i].scales[j] & 0xF);
        if (d == 0.0f) continue;
        const float dm = detail::f16_to_f32(y[i].dmin) * static_cast<float>(y[i].scales[j] >> 4);
        for (int ii = 0; ii < 16; ++ii) {
          const int l = detail::nearest_int((x[16 * j + ii] + dm) / d);
          L[16 * j + ii] = static_cast<std::uint8_t>(std::clamp(l, 0, 3));
        }
      }
      for (int j = 0; j < 256; j += 128) {
        for (int l = 0; l < 32; ++l) {
          y[i].qs[j / 4 + l] = static_cast<std::uint8_t>(L[j + l] | (L[j + l + 32] << 2) |
                                                         (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
        }
      }
    }
  }

  /// d·da·Σ_g sc_g·(Σ q·a) − dmin·da·Σ_g m_g·bsum_g per super-block.
  static float dot(const block* w, const q8_K::block* a, std::size_t n) noexcept {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n / 256; ++i) {
      int summs = 0;
      for (int j = 0; j < 16; ++j) summs += a[i].bsums[j] * (w[i].scales[j] >> 4);
      const std::int8_t* q8 = a[i].qs;
      int isum = 0, is = 0;
      for (int half = 0; half < 2; ++half) {
        const std::uint8_t* q2 = w[i].qs + 32 * half;
        for (int shift = 0; shift < 8; shift += 2, q8 += 32) {
          for (int g = 0; g < 2; ++g) {
            int s = 0;
            for (int l = 0; l < 16; ++l) s += q8[16 * g + l] * ((q2[16 * g + l] >> shift) & 3);
            isum += (w[i].scales[is++] & 0xF) * s;
          }
        }
      }
      const float dall = a[i].d * detail::f16_to_f32(w[i].d);
      const float dmin = a[i].d * detail::f16_to_f32(w[i].dmin);
      sum += dall * static_cast<float>(isum) - dmin * static_cast<float>(summs);
    }
    return sum;
  }
};

/// 3-bit quants: 16 sub-blocks of 16 with signed 6-bit scales, x ≈ d·(sc−32)·(q−4),
/// q ∈ [0, 7]: low 2 bits in `qs` (as q2_K), the third bit of value j in bit j/32 of
/// `hmask[j % 32]`; scales packed as 4 low bits (12 bytes: 8 of low nibbles, 4 of high pairs).
struct q3_K {
  struct block {
    std::uint8_t hmask[32];
    std::uint8_t qs[64];
    std::uint8_t scales[12];
    mmllm::f16 d;
  };
  using activation = q8_K;
  static constexpr dtype id = dtype::q3_K;
  static constexpr std::size_t block_size = 256;

  static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n / 256; ++i) {
      const float d_all = detail::f16_to_f32(x[i].d);
      std::int8_t sc[16];
      detail::q3k_scales(x[i].scales, sc);
      const std::uint8_t* q = x[i].qs;
      std::uint8_t m = 1;
      int is = 0;
      for (int half = 0; half < 2; ++half, q += 32) {
        for (int shift = 0; shift < 8; shift += 2, m = static_cast<std::uint8_t>(m << 1)) {
          for (int g = 0; g < 2; ++g) {
            const float dl = d_all * static_cast<float>(sc[is++]);
            for (int l = 0; l < 16; ++l) {
              const int v = ((q[16 * g + l] >> shift) & 3) - ((x[i].hmask[16 * g + l] & m) ? 0 : 4);
              *y++ = dl * static_cast<float>(v);
            }
          }
        }
      }
    }
  }

  /// ggml's quantize_row_q3_K_ref.
  MMLLM_QUANT_EXACT_FN static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    std::int8_t L[256];
    float scales[16];
    for (std::size_t i = 0; i < n / 256; ++i, x += 256) {
      float max_scale = 0, amax = 0;
      for (int j = 0; j < 16; ++j) {
        scales[j] = detail::search_q3_scale(16, 4, x + 16 * j, L + 16 * j);
        const float scale = std::fabs(scales[j]);
        if (scale > amax) {
          amax = scale;
          max_scale = scales[j];
        }
      }
      std::memset(y[i].scales, 0, 12);
      if (max_scale != 0.0f) {
        const float iscale = -32.0f / max_scale;
        for (int j = 0; j < 16; ++j) {
          auto l = static_cast<std::int8_t>(detail::nearest_int(iscale * scales[j]));
          l = static_cast<std::int8_t>(std::clamp<int>(l, -32, 31) + 32);
          if (j < 8) {
            y[i].scales[j] = static_cast<std::uint8_t>(l & 0xF);
          } else {
            y[i].scales[j - 8] = static_cast<std::uint8_t>(y[i].scales[j - 8] | ((l & 0xF) << 4));
          }
          l = static_cast<std::int8_t>(l >> 4);
          y[i].scales[j % 4 + 8] = static_cast<std::uint8_t>(y[i].scales[j % 4 + 8] | (l << (2 * (j / 4))));
        }
        y[i].d = to_f16(1 / iscale);
      } else {
        y[i].d = to_f16(0.0f);
      }
      std::int8_t sc[16];
      detail::q3k_scales(y[i].scales, sc);
      for (int j = 0; j < 16; ++j) {
        const float d = detail::f16_to_f32(y[i].d) * static_cast<float>(sc[j]);
        if (d == 0.0f) continue;
        for (int ii = 0; ii < 16; ++ii) {
          const int l = std::clamp(detail::nearest_int(x[16 * j + ii] / d), -4, 3);
          L[16 * j + ii] = static_cast<std::int8_t>(l + 4);
        }
      }
      std::memset(y[i].hmask, 0, 32);
      int m = 0;
      std::uint8_t hm = 1;
      for (int j = 0; j < 256; ++j) {
        if (L[j] > 3) {
          y[i].hmask[m] = static_cast<std::uint8_t>(y[i].hmask[m] | hm);
          L[j] = static_cast<std::int8_t>(L[j] - 4);
        }
        if (++m == 32) {
          m = 0;
          hm = static_cast<std::uint8_t>(hm << 1);
        }
      }
      for (int j = 0; j < 256; j += 128) {
        for (int l = 0; l < 32; ++l) {
          y[i].qs[j / 4 + l] = static_cast<std::uint8_t>(L[j + l] | (L[j + l + 32] << 2) |
                                                         (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
        }
      }
    }
  }

  /// d·da·Σ_g (sc_g−32)·Σ (q−4)·a per super-block.
  static float dot(const block* w, const q8_K::block* a, std::size_t n) noexcept {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n / 256; ++i) {
      std::int8_t sc[16];
      detail::q3k_scales(w[i].scales, sc);
      const std::int8_t* q8 = a[i].qs;
      std::uint8_t m = 1;
      int isum = 0, is = 0;
      for (int half = 0; half < 2; ++half) {
        const std::uint8_t* q3 = w[i].qs + 32 * half;
        for (int shift = 0; shift < 8; shift += 2, q8 += 32, m = static_cast<std::uint8_t>(m << 1)) {
          for (int g = 0; g < 2; ++g) {
            int s = 0;
            for (int l = 0; l < 16; ++l) {
              const int v = ((q3[16 * g + l] >> shift) & 3) - ((w[i].hmask[16 * g + l] & m) ? 0 : 4);
              s += q8[16 * g + l] * v;
            }
            isum += sc[is++] * s;
          }
        }
      }
      sum += detail::f16_to_f32(w[i].d) * a[i].d * static_cast<float>(isum);
    }
    return sum;
  }
};

}  // namespace mmllm::fmt

namespace mmllm::detail {
/// Packs the 8 (scale, min) pairs of q4_K / q5_K (6 bits each) into their 12 bytes.
inline void pack_scale_min_k4(const std::uint8_t ls[8], const std::uint8_t lm[8], std::uint8_t* s) noexcept {
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      s[j] = ls[j];
      s[j + 4] = lm[j];
    } else {
      s[j + 4] = static_cast<std::uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      s[j - 4] = static_cast<std::uint8_t>(s[j - 4] | ((ls[j] >> 4) << 6));
      s[j - 0] = static_cast<std::uint8_t>(s[j - 0] | ((lm[j] >> 4) << 6));
    }
  }
}

/// The common part of q4_K / q5_K quantization: per 32-value sub-block scale/min search
/// (nmax 15 or 31), 6-bit scales under f16 d/dmin, then the final levels in L.
MMLLM_QUANT_EXACT_FN inline void quantize_scale_min_super_block(const float* x, int nmax, float rmin,
                                                                int nstep, std::uint8_t* scales12,
                                                                mmllm::f16& d_out, mmllm::f16& dmin_out,
                                                                std::uint8_t* L) noexcept {
  MMLLM_QUANT_EXACT_BODY
  std::uint8_t Laux[32];
  float weights[32];
  float mins[8];
  float scales[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] =
        search_scale_min(32, nmax, x + 32 * j, weights, L + 32 * j, mins[j], Laux, rmin, 0.1f, nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  std::uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = std::min<std::uint8_t>(63, static_cast<std::uint8_t>(nearest_int(inv_scale * scales[j])));
    lm[j] = std::min<std::uint8_t>(63, static_cast<std::uint8_t>(nearest_int(inv_min * mins[j])));
  }
  pack_scale_min_k4(ls, lm, scales12);
  d_out = to_f16(max_scale / 63.0f);
  dmin_out = to_f16(max_min / 63.0f);
  for (int j = 0; j < 8; ++j) {
    std::uint8_t sc = 0, m = 0;
    scale_min_k4(j, scales12, sc, m);
    const float d = f16_to_f32(d_out) * static_cast<float>(sc);
    if (d == 0.0f) continue;
    const float dm = f16_to_f32(dmin_out) * static_cast<float>(m);
    for (int ii = 0; ii < 32; ++ii) {
      const int l = nearest_int((x[32 * j + ii] + dm) / d);
      L[32 * j + ii] = static_cast<std::uint8_t>(std::clamp(l, 0, nmax));
    }
  }
}

/// Σ_g m_g·(bsum_2g + bsum_2g+1) for the 8 mins of a q4_K / q5_K block.
inline int mins_dot_bsums(const std::uint8_t* scales12, const std::int16_t* bsums) noexcept {
  int s = 0;
  for (int j = 0; j < 8; ++j) {
    std::uint8_t sc = 0, m = 0;
    scale_min_k4(j, scales12, sc, m);
    s += m * (bsums[2 * j] + bsums[2 * j + 1]);
  }
  return s;
}
}  // namespace mmllm::detail

namespace mmllm::fmt {

/// 4-bit quants: 8 sub-blocks of 32 with 6-bit scale and min, x ≈ d·sc·q − dmin·m,
/// q ∈ [0, 15]. Each 32-byte group of `qs` holds 64 values: low nibbles first.
struct q4_K {
  struct block {
    mmllm::f16 d;
    mmllm::f16 dmin;
    std::uint8_t scales[12];
    std::uint8_t qs[128];
  };
  using activation = q8_K;
  static constexpr dtype id = dtype::q4_K;
  static constexpr std::size_t block_size = 256;

  MMLLM_QUANT_EXACT_FN static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    for (std::size_t i = 0; i < n / 256; ++i) {
      const float d = detail::f16_to_f32(x[i].d);
      const float min = detail::f16_to_f32(x[i].dmin);
      const std::uint8_t* q = x[i].qs;
      for (int j = 0; j < 8; j += 2, q += 32) {
        std::uint8_t sc = 0, m = 0;
        detail::scale_min_k4(j, x[i].scales, sc, m);
        const float d1 = d * static_cast<float>(sc), m1 = min * static_cast<float>(m);
        detail::scale_min_k4(j + 1, x[i].scales, sc, m);
        const float d2 = d * static_cast<float>(sc), m2 = min * static_cast<float>(m);
        for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
        for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
      }
    }
  }

  /// ggml's quantize_row_q4_K_ref.
  static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    std::uint8_t L[256];
    for (std::size_t i = 0; i < n / 256; ++i, x += 256) {
      detail::quantize_scale_min_super_block(x, 15, -1.0f, 20, y[i].scales, y[i].d, y[i].dmin, L);
      std::uint8_t* q = y[i].qs;
      for (int j = 0; j < 256; j += 64, q += 32) {
        for (int l = 0; l < 32; ++l) q[l] = static_cast<std::uint8_t>(L[j + l] | (L[j + l + 32] << 4));
      }
    }
  }

  /// d·da·Σ_j sc_j·Σ q·a − dmin·da·Σ_j m_j·(bsums of sub-block j) per super-block.
  static float dot(const block* w, const q8_K::block* a, std::size_t n) noexcept {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n / 256; ++i) {
      const std::uint8_t* q4 = w[i].qs;
      const std::int8_t* q8 = a[i].qs;
      int isum = 0;
      for (int j = 0; j < 8; j += 2, q4 += 32, q8 += 64) {
        std::uint8_t sc0 = 0, sc1 = 0, m = 0;
        detail::scale_min_k4(j, w[i].scales, sc0, m);
        detail::scale_min_k4(j + 1, w[i].scales, sc1, m);
        int s0 = 0, s1 = 0;
        for (int l = 0; l < 32; ++l) {
          s0 += (q4[l] & 0xF) * q8[l];
          s1 += (q4[l] >> 4) * q8[l + 32];
        }
        isum += sc0 * s0 + sc1 * s1;
      }
      const int summs = detail::mins_dot_bsums(w[i].scales, a[i].bsums);
      const float d = detail::f16_to_f32(w[i].d) * a[i].d;
      const float dmin = detail::f16_to_f32(w[i].dmin) * a[i].d;
      sum += d * static_cast<float>(isum) - dmin * static_cast<float>(summs);
    }
    return sum;
  }
};

/// 5-bit quants: as q4_K plus a fifth bit per value: value l (low nibble) and l+32 (high
/// nibble) of 64-value group k take bits 2k and 2k+1 of `qh[l]`.
struct q5_K {
  struct block {
    mmllm::f16 d;
    mmllm::f16 dmin;
    std::uint8_t scales[12];
    std::uint8_t qh[32];
    std::uint8_t qs[128];
  };
  using activation = q8_K;
  static constexpr dtype id = dtype::q5_K;
  static constexpr std::size_t block_size = 256;

  MMLLM_QUANT_EXACT_FN static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    for (std::size_t i = 0; i < n / 256; ++i) {
      const float d = detail::f16_to_f32(x[i].d);
      const float min = detail::f16_to_f32(x[i].dmin);
      const std::uint8_t* ql = x[i].qs;
      std::uint8_t u1 = 1, u2 = 2;
      for (int j = 0; j < 8; j += 2, ql += 32) {
        std::uint8_t sc = 0, m = 0;
        detail::scale_min_k4(j, x[i].scales, sc, m);
        const float d1 = d * static_cast<float>(sc), m1 = min * static_cast<float>(m);
        detail::scale_min_k4(j + 1, x[i].scales, sc, m);
        const float d2 = d * static_cast<float>(sc), m2 = min * static_cast<float>(m);
        for (int l = 0; l < 32; ++l) {
          *y++ = d1 * static_cast<float>((ql[l] & 0xF) + ((x[i].qh[l] & u1) ? 16 : 0)) - m1;
        }
        for (int l = 0; l < 32; ++l) {
          *y++ = d2 * static_cast<float>((ql[l] >> 4) + ((x[i].qh[l] & u2) ? 16 : 0)) - m2;
        }
        u1 = static_cast<std::uint8_t>(u1 << 2);
        u2 = static_cast<std::uint8_t>(u2 << 2);
      }
    }
  }

  /// ggml's quantize_row_q5_K_ref.
  static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    std::uint8_t L[256];
    for (std::size_t i = 0; i < n / 256; ++i, x += 256) {
      detail::quantize_scale_min_super_block(x, 31, -0.5f, 15, y[i].scales, y[i].d, y[i].dmin, L);
      std::uint8_t* qh = y[i].qh;
      std::uint8_t* ql = y[i].qs;
      std::memset(qh, 0, 32);
      std::uint8_t m1 = 1, m2 = 2;
      for (int k = 0; k < 256; k += 64, ql += 32) {
        for (int j = 0; j < 32; ++j) {
          int l1 = L[k + j];
          if (l1 > 15) {
            l1 -= 16;
            qh[j] = static_cast<std::uint8_t>(qh[j] | m1);
          }
          int l2 = L[k + j + 32];
          if (l2 > 15) {
            l2 -= 16;
            qh[j] = static_cast<std::uint8_t>(qh[j] | m2);
          }
          ql[j] = static_cast<std::uint8_t>(l1 | (l2 << 4));
        }
        m1 = static_cast<std::uint8_t>(m1 << 2);
        m2 = static_cast<std::uint8_t>(m2 << 2);
      }
    }
  }

  /// As q4_K's dot with 5-bit values.
  static float dot(const block* w, const q8_K::block* a, std::size_t n) noexcept {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n / 256; ++i) {
      const std::uint8_t* ql = w[i].qs;
      const std::int8_t* q8 = a[i].qs;
      int isum = 0;
      for (int j = 0; j < 8; j += 2, ql += 32, q8 += 64) {
        std::uint8_t sc0 = 0, sc1 = 0, m = 0;
        detail::scale_min_k4(j, w[i].scales, sc0, m);
        detail::scale_min_k4(j + 1, w[i].scales, sc1, m);
        const int b0 = 1 << j, b1 = 2 << j;
        int s0 = 0, s1 = 0;
        for (int l = 0; l < 32; ++l) {
          s0 += ((ql[l] & 0xF) + ((w[i].qh[l] & b0) ? 16 : 0)) * q8[l];
          s1 += ((ql[l] >> 4) + ((w[i].qh[l] & b1) ? 16 : 0)) * q8[l + 32];
        }
        isum += sc0 * s0 + sc1 * s1;
      }
      const int summs = detail::mins_dot_bsums(w[i].scales, a[i].bsums);
      const float d = detail::f16_to_f32(w[i].d) * a[i].d;
      const float dmin = detail::f16_to_f32(w[i].dmin) * a[i].d;
      sum += d * static_cast<float>(isum) - dmin * static_cast<float>(summs);
    }
    return sum;
  }
};

/// 6-bit quants: 16 sub-blocks of 16 with signed 8-bit scales, x ≈ d·sc·(q−32),
/// q ∈ [0, 63]: low nibbles in `ql`, high 2 bits in `qh` (per 128-value half: value l, l+32,
/// l+64, l+96 use ql[l] low, ql[l+32] low, ql[l] high, ql[l+32] high nibble and bits
/// 0-1, 2-3, 4-5, 6-7 of qh[l]).
struct q6_K {
  struct block {
    std::uint8_t ql[128];
    std::uint8_t qh[64];
    std::int8_t scales[16];
    mmllm::f16 d;
  };
  using activation = q8_K;
  static constexpr dtype id = dtype::q6_K;
  static constexpr std::size_t block_size = 256;

  /// The 6-bit value (0..63) of element l + 32·k (k < 4) of a 128-value half.
  static constexpr int level(const std::uint8_t* ql, const std::uint8_t* qh, int l, int k) noexcept {
    const int lo = k < 2 ? (ql[l + 32 * k] & 0xF) : (ql[l + 32 * (k - 2)] >> 4);
    return lo | (((qh[l] >> (2 * k)) & 3) << 4);
  }

  static void dequantize_row(const block* x, float* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n / 256; ++i) {
      const float d = detail::f16_to_f32(x[i].d);
      for (int half = 0; half < 2; ++half, y += 128) {
        const std::uint8_t* ql = x[i].ql + 64 * half;
        const std::uint8_t* qh = x[i].qh + 32 * half;
        const std::int8_t* sc = x[i].scales + 8 * half;
        for (int l = 0; l < 32; ++l) {
          const int is = l / 16;
          for (int k = 0; k < 4; ++k) {
            const int q = level(ql, qh, l, k) - 32;
            y[l + 32 * k] = d * static_cast<float>(sc[is + 2 * k]) * static_cast<float>(q);
          }
        }
      }
    }
  }

  /// ggml's quantize_row_q6_K_ref.
  MMLLM_QUANT_EXACT_FN static void quantize_row(const float* x, block* y, std::size_t n) noexcept {
    MMLLM_QUANT_EXACT_BODY
    std::int8_t L[256];
    float scales[16];
    for (std::size_t i = 0; i < n / 256; ++i, x += 256) {
      float max_scale = 0, max_abs_scale = 0;
      for (int ib = 0; ib < 16; ++ib) {
        const float scale = detail::search_symmetric_scale(16, 32, x + 16 * ib, L + 16 * ib);
        scales[ib] = scale;
        const float abs_scale = std::fabs(scale);
        if (abs_scale > max_abs_scale) {
          max_abs_scale = abs_scale;
          max_scale = scale;
        }
      }
      if (max_abs_scale < detail::group_max_eps) {
        y[i] = block{};
        continue;
      }
      const float iscale = -128.0f / max_scale;
      y[i].d = to_f16(1 / iscale);
      for (int ib = 0; ib < 16; ++ib) {
        y[i].scales[ib] = static_cast<std::int8_t>(std::min(127, detail::nearest_int(iscale * scales[ib])));
      }
      for (int j = 0; j < 16; ++j) {
        const float d = detail::f16_to_f32(y[i].d) * static_cast<float>(y[i].scales[j]);
        if (d == 0.0f) continue;
        for (int ii = 0; ii < 16; ++ii) {
          const int l = std::clamp(detail::nearest_int(x[16 * j + ii] / d), -32, 31);
          L[16 * j + ii] = static_cast<std::int8_t>(l + 32);
        }
      }
      std::uint8_t* ql = y[i].ql;
      std::uint8_t* qh = y[i].qh;
      for (int j = 0; j < 256; j += 128, ql += 64, qh += 32) {
        for (int l = 0; l < 32; ++l) {
          const int q1 = L[j + l + 0] & 0xF, q2 = L[j + l + 32] & 0xF;
          const int q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
          ql[l + 0] = static_cast<std::uint8_t>(q1 | (q3 << 4));
          ql[l + 32] = static_cast<std::uint8_t>(q2 | (q4 << 4));
          qh[l] = static_cast<std::uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                                            ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
        }
      }
    }
  }

  /// d·da·Σ_g sc_g·Σ (q−32)·a per super-block.
  static float dot(const block* w, const q8_K::block* a, std::size_t n) noexcept {
    float sum = 0.0f;
    for (std::size_t i = 0; i < n / 256; ++i) {
      int isum = 0;
      for (int half = 0; half < 2; ++half) {
        const std::uint8_t* ql = w[i].ql + 64 * half;
        const std::uint8_t* qh = w[i].qh + 32 * half;
        const std::int8_t* q8 = a[i].qs + 128 * half;
        for (int k = 0; k < 4; ++k) {
          for (int g = 0; g < 2; ++g) {
            int s = 0;
            for (int l = 16 * g; l < 16 * g + 16; ++l) s += (level(ql, qh, l, k) - 32) * q8[l + 32 * k];
            isum += w[i].scales[8 * half + 2 * k + g] * s;
          }
        }
      }
      sum += detail::f16_to_f32(w[i].d) * a[i].d * static_cast<float>(isum);
    }
    return sum;
  }
};

static_assert(sizeof(q8_K::block) == traits(dtype::q8_K).type_size);
static_assert(sizeof(q2_K::block) == traits(dtype::q2_K).type_size);
static_assert(sizeof(q3_K::block) == traits(dtype::q3_K).type_size);
static_assert(sizeof(q4_K::block) == traits(dtype::q4_K).type_size);
static_assert(sizeof(q5_K::block) == traits(dtype::q5_K).type_size);
static_assert(sizeof(q6_K::block) == traits(dtype::q6_K).type_size);

}  // namespace mmllm::fmt
