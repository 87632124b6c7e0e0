// mmllm/compute/scalar.hpp — `compute::scalar`, the reference compute policy.
//
// Plain loops that say what every kernel computes; the test oracle for `compute::simd` and
// any future policy. Single-threaded, no SIMD, sums in double where that makes the result
// closer to exact. Where a kernel's definition is the peer's (rope, the fp16-table GELUs,
// matmul's activation conversion) this file follows the peer's arithmetic step by step.
//
//   mmllm::compute::scalar ref;
//   ref.rmsnorm(x, y, 1e-6f, weight);
//   auto r = ref.matmul(x, w, y);     // result<void>: unsupported dtype / bad shape
#pragma once

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <span>
#include <vector>

#include "../core/any_matrix_view.hpp"
#include "../core/bf16.hpp"
#include "../core/f16.hpp"
#include "../core/quant_formats.hpp"
#include "../core/result.hpp"
#include "../core/tensor_view.hpp"
#include "compute_policy.hpp"
#include "kernel_params.hpp"

namespace mmllm::compute {

/// Reference policy: obvious loops, one thread.
struct scalar {
  /// y[t][o] = Q::dot(w[o], A(x[t])): the weight format's reference dot product (as ggml's
  /// CPU backend computes it; plain types sum in double) with the activation row converted
  /// to the format's activation type A exactly as the peer converts it (f32 weights: x
  /// itself; f16 / bf16: x rounded; quantized: q8_0 / q8_1 / q8_K blocks, whose f16 sums the
  /// q4_1 / q5_1 dots use).
  result<void> matmul(matrix_view<const float> x, const any_matrix_view& w, matrix_view<float> y) const {
    MMLLM_TRY(detail::check_matmul(x, w, y));
    const std::size_t n_tok = x.extent(0), n_out = w.rows, k = w.cols;
    if (k == 0) {
      for (std::size_t t = 0; t < n_tok; ++t)
        for (std::size_t o = 0; o < n_out; ++o) y(t, o) = 0.0f;
      return ok();
    }
    return visit_format(w.type, [&](auto tag) {
      using Q = typename decltype(tag)::type;
      using A = typename Q::activation;
      std::vector<typename A::block> act(n_tok * (k / A::block_size));
      for (std::size_t t = 0; t < n_tok; ++t)
        A::quantize_activation_row(&x(t, 0), &act[t * (k / A::block_size)], k);
      for (std::size_t o = 0; o < n_out; ++o) {
        const auto* wr = reinterpret_cast<const typename Q::block*>(w.row(o));
        for (std::size_t t = 0; t < n_tok; ++t) y(t, o) = Q::dot(wr, &act[t * (k / A::block_size)], k);
      }
    });
  }

  /// y = x / sqrt(mean(x²) + eps) · weight.
  void rmsnorm(matrix_view<const float> x, matrix_view<float> y, float eps,
               std::span<const float> weight = {}) const {
    assert_same_shape(x, y);
    const std::size_t n = x.extent(1);
    assert(weight.empty() || weight.size() == n);
    for (std::size_t r = 0; r < x.extent(0); ++r) {
      double ss = 0.0;
      for (std::size_t i = 0; i < n; ++i) ss += static_cast<double>(x(r, i)) * x(r, i);
      const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
      for (std::size_t i = 0; i < n; ++i)
        y(r, i) = static_cast<float>(x(r, i) * scale * (weight.empty() ? 1.0 : weight[i]));
    }
  }

  /// y = (x − mean) / sqrt(var + eps) · weight + bias (population variance).
  void layernorm(matrix_view<const float> x, matrix_view<float> y, float eps,
                 std::span<const float> weight = {}, std::span<const float> bias = {}) const {
    assert_same_shape(x, y);
    const std::size_t n = x.extent(1);
    assert(weight.empty() || weight.size() == n);
    assert(bias.empty() || bias.size() == n);
    for (std::size_t r = 0; r < x.extent(0); ++r) {
      double mean = 0.0;
      for (std::size_t i = 0; i < n; ++i) mean += x(r, i);
      mean /= static_cast<double>(n);
      double var = 0.0;
      for (std::size_t i = 0; i < n; ++i) var += (x(r, i) - mean) * (x(r, i) - mean);
      var /= static_cast<double>(n);
      const double scale = 1.0 / std::sqrt(var + eps);
      for (std::size_t i = 0; i < n; ++i)
        y(r, i) = static_cast<float>((x(r, i) - mean) * scale * (weight.empty() ? 1.0 : weight[i]) +
                                     (bias.empty() ? 0.0 : bias[i]));
    }
  }

  /// y = softmax(x·scale + mask) per row; row r uses mask row r % mask.rows; a fully masked
  /// row (all −inf) gives zeros.
  void softmax(matrix_view<const float> x, matrix_view<float> y, float scale = 1.0f,
               matrix_view<const float> mask = {}) const {
    assert_same_shape(x, y);
    const std::size_t n = x.extent(1);
    assert(mask.empty() || mask.extent(1) == n);
    std::vector<double> t(n);
    for (std::size_t r = 0; r < x.extent(0); ++r) {
      double mx = -std::numeric_limits<double>::infinity();
      for (std::size_t i = 0; i < n; ++i) {
        t[i] = static_cast<double>(x(r, i)) * scale + (mask.empty() ? 0.0 : mask(r % mask.extent(0), i));
        mx = std::max(mx, t[i]);
      }
      double sum = 0.0;
      for (std::size_t i = 0; i < n; ++i) {
        t[i] = mx == -std::numeric_limits<double>::infinity() ? 0.0 : std::exp(t[i] - mx);
        sum += t[i];
      }
      for (std::size_t i = 0; i < n; ++i) y(r, i) = sum > 0.0 ? static_cast<float>(t[i] / sum) : 0.0f;
    }
  }

  /// Rotary embedding, ggml semantics (see rope_params and rope.hpp); x rows hold heads of
  /// head_dim floats. Follows the peer's float arithmetic literally.
  void rope(matrix_view<const float> x, matrix_view<float> y, std::size_t head_dim,
            std::span<const std::int32_t> positions, const rope_params& p) const {
    assert_same_shape(x, y);
    const std::size_t n_tok = x.extent(0);
    assert(head_dim > 0 && x.extent(1) % head_dim == 0 && p.n_dims % 2 == 0 && p.n_dims <= head_dim);
    const bool multi =
        p.mode == rope_mode::mrope || p.mode == rope_mode::vision || p.mode == rope_mode::imrope;
    assert(positions.size() >= (multi ? 4 : 1) * n_tok);
    assert(p.mode != rope_mode::vision || 2 * p.n_dims == head_dim);
    const std::size_t n_heads = x.extent(1) / head_dim;
    // ggml_rope_yarn_corr_dims
    const auto nd = static_cast<float>(p.n_dims);
    const float pi = std::numbers::pi_v<float>;
    const float corr_lo =
        std::floor(nd * std::log(static_cast<float>(p.n_ctx_orig) / (p.beta_fast * 2.0f * pi)) /
                   (2.0f * std::log(p.freq_base)));
    const float corr_hi =
        std::ceil(nd * std::log(static_cast<float>(p.n_ctx_orig) / (p.beta_slow * 2.0f * pi)) /
                  (2.0f * std::log(p.freq_base)));
    const float low = std::max(0.0f, corr_lo), high = std::min(nd - 1.0f, corr_hi);
    const float theta_scale = std::pow(p.freq_base, -2.0f / nd);
    const int s0 = p.sections[0], s1 = p.sections[1], s2 = p.sections[2], s3 = p.sections[3];
    std::vector<float> cache(head_dim);  // (cos, sin) at [2i], [2i+1] as ggml's cache
    for (std::size_t tok = 0; tok < n_tok; ++tok) {
      float th[4] = {static_cast<float>(positions[tok]), 0, 0, 0};
      if (multi)
        for (std::size_t s = 1; s < 4; ++s) th[s] = static_cast<float>(positions[s * n_tok + tok]);
      const float base[4] = {th[0], th[1], th[2], th[3]};
      for (std::size_t i0 = 0; i0 < head_dim; i0 += 2) {
        const std::size_t i = i0 / 2;
        float theta = th[0];
        if (multi) {
          const int sect_dims = s0 + s1 + s2 + s3;
          const int sector = static_cast<int>(i) % sect_dims;
          if (p.mode == rope_mode::vision) {
            if (sector == 0) th[0] = base[0];
            if (sector == s0) th[1] = base[1];
            if (sector == s0 + s1) th[2] = base[2];
            if (sector == s0 + s1 + s2) th[3] = base[3];
          }
          if (p.mode == rope_mode::imrope) {
            theta = (sector % 3 == 1 && sector < 3 * s1)   ? th[1]
                    : (sector % 3 == 2 && sector < 3 * s2) ? th[2]
                    : (sector % 3 == 0 && sector < 3 * s0) ? th[0]
                                                           : th[3];
          } else {
            theta = sector < s0 ? th[0] : sector < s0 + s1 ? th[1] : sector < s0 + s1 + s2 ? th[2] : th[3];
          }
        }
        const float ff = i < p.freq_factors.size() ? p.freq_factors[i] : 1.0f;
        const float extrap = theta / ff;
        const float interp = p.freq_scale * extrap;
        float angle = interp, mscale = p.attn_factor;
        if (p.ext_factor != 0.0f) {
          const float ramp =
              1.0f -
              std::min(1.0f, std::max(0.0f, (static_cast<float>(i) - low) / std::max(0.001f, high - low)));
          const float mix = ramp * p.ext_factor;
          angle = interp * (1.0f - mix) + extrap * mix;
          mscale *= 1.0f + 0.1f * std::log(1.0f / p.freq_scale);
        }
        cache[i0] = std::cos(angle) * mscale;
        cache[i0 + 1] = std::sin(angle) * mscale;
        for (float& v : th) v *= theta_scale;
      }
      for (std::size_t h = 0; h < n_heads; ++h) {
        const std::size_t off = h * head_dim;
        std::vector<float> src(head_dim);
        for (std::size_t d = 0; d < head_dim; ++d) src[d] = x(tok, off + d);
        std::vector<float> dst(src);
        // pairs: (a, b) rotated with cache entry c
        auto rot = [&](std::size_t a, std::size_t b, std::size_t c) {
          const float x0 = src[a], x1 = src[b], cs = cache[2 * c], sn = cache[2 * c + 1];
          dst[a] = x0 * cs - x1 * sn;
          dst[b] = x0 * sn + x1 * cs;
        };
        switch (p.mode) {
          case rope_mode::normal:
            for (std::size_t i = 0; i < p.n_dims / 2; ++i) rot(2 * i, 2 * i + 1, i);
            break;
          case rope_mode::neox:
          case rope_mode::mrope:
          case rope_mode::imrope:
            for (std::size_t i = 0; i < p.n_dims / 2; ++i) rot(i, i + p.n_dims / 2, i);
            break;
          case rope_mode::vision:
            for (std::size_t i = 0; i < head_dim / 2; ++i) rot(i, i + p.n_dims, i);
            break;
        }
        for (std::size_t d = 0; d < head_dim; ++d) y(tok, off + d) = dst[d];
      }
    }
  }

  /// y = x·sigmoid(x).
  void silu(matrix_view<const float> x, matrix_view<float> y) const {
    unary(x, y, [](double v) { return v / (1.0 + std::exp(-v)); });
  }
  /// y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
  void gelu(matrix_view<const float> x, matrix_view<float> y) const {
    // 0.5·(1 + tanh(u)) = 1/(1 + e^−2u), written so that large negative x does not cancel
    unary(x, y, [](double v) {
      const double u = std::sqrt(2.0 / std::numbers::pi) * (v + 0.044715 * v * v * v);
      return v / (1.0 + std::exp(-2.0 * u));
    });
  }
  /// y = x·sigmoid(1.702·x).
  void gelu_quick(matrix_view<const float> x, matrix_view<float> y) const {
    unary(x, y, [](double v) { return v / (1.0 + std::exp(-1.702 * v)); });
  }
  /// y = 0.5·x·(1 + erf(x/√2)).
  void gelu_erf(matrix_view<const float> x, matrix_view<float> y) const {
    unary(x, y, [](double v) { return 0.5 * v * std::erfc(-v / std::numbers::sqrt2); });
  }
  /// Peer quirk (see activation.hpp): f16(gelu_f32(f16(x))) in the peer's float arithmetic
  /// (0.5f·h·(1 + tanhf(√(2/π)·h·(1 + 0.044715·h·h))), one rounding per operation);
  /// x for x ≥ 10, 0 for x ≤ −10.
  void gelu_f16_table(matrix_view<const float> x, matrix_view<float> y) const {
    unary_f(x, y, [](float v) {
      if (v <= -10.0f) return 0.0f;
      if (v >= 10.0f) return v;
      const float h = to_f32(to_f16(v));
      const float a = 0.044715f * h;
      const float b = a * h;
      const float c = 1.0f + b;
      const float d = 0.79788456080286535587989211986876f * h;
      const float e = d * c;
      const float f = 1.0f + std::tanh(e);
      const float g = 0.5f * h;
      return to_f32(to_f16(g * f));
    });
  }
  /// Peer quirk: f16(h·(1/(1 + expf(−1.702·h)))), h = f16(x).
  void gelu_quick_f16_table(matrix_view<const float> x, matrix_view<float> y) const {
    unary_f(x, y, [](float v) {
      const float h = to_f32(to_f16(v));
      const float e = std::exp(-1.702f * h);
      const float d = 1.0f + e;
      const float r = 1.0f / d;
      return to_f32(to_f16(h * r));
    });
  }
  /// y = silu(a)·b.
  void swiglu(matrix_view<const float> a, matrix_view<const float> b, matrix_view<float> y) const {
    assert_same_shape(a, y);
    assert_same_shape(b, y);
    for (std::size_t r = 0; r < a.extent(0); ++r)
      for (std::size_t i = 0; i < a.extent(1); ++i) {
        const double v = a(r, i);
        y(r, i) = static_cast<float>(v / (1.0 + std::exp(-v)) * b(r, i));
      }
  }
  /// y = a + b (b: same shape or one row).
  void add(matrix_view<const float> a, matrix_view<const float> b, matrix_view<float> y) const {
    binary(a, b, y, [](float u, float v) { return u + v; });
  }
  /// y = a·b (b: same shape or one row).
  void mul(matrix_view<const float> a, matrix_view<const float> b, matrix_view<float> y) const {
    binary(a, b, y, [](float u, float v) { return u * v; });
  }
  /// y = x·s.
  void scale(matrix_view<const float> x, float s, matrix_view<float> y) const {
    unary_f(x, y, [s](float v) { return v * s; });
  }
  /// y += x·s (rounded once, as a fused multiply-add).
  void add_scaled(matrix_view<const float> x, float s, matrix_view<float> y) const {
    assert_same_shape(x, y);
    for (std::size_t r = 0; r < x.extent(0); ++r)
      for (std::size_t i = 0; i < x.extent(1); ++i) y(r, i) = std::fma(x(r, i), s, y(r, i));
  }
  /// f32 → f16 (round to nearest even).
  void convert(std::span<const float> x, std::span<f16> y) const {
    assert(x.size() == y.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = to_f16(x[i]);
  }
  /// f16 → f32.
  void convert(std::span<const f16> x, std::span<float> y) const {
    assert(x.size() == y.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = to_f32(x[i]);
  }
  /// f32 → bf16 (round to nearest even, NaN quiet).
  void convert(std::span<const float> x, std::span<bf16> y) const {
    assert(x.size() == y.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = to_bf16(x[i]);
  }
  /// bf16 → f32.
  void convert(std::span<const bf16> x, std::span<float> y) const {
    assert(x.size() == y.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = to_f32(x[i]);
  }

 private:
  static void assert_same_shape([[maybe_unused]] matrix_view<const float> a,
                                [[maybe_unused]] matrix_view<const float> b) {
    assert(a.extent(0) == b.extent(0) && a.extent(1) == b.extent(1));
  }
  template <class F>
  static void unary(matrix_view<const float> x, matrix_view<float> y, F f) {
    assert_same_shape(x, y);
    for (std::size_t r = 0; r < x.extent(0); ++r)
      for (std::size_t i = 0; i < x.extent(1); ++i)
        y(r, i) = static_cast<float>(f(static_cast<double>(x(r, i))));
  }
  template <class F>
  static void unary_f(matrix_view<const float> x, matrix_view<float> y, F f) {
    assert_same_shape(x, y);
    for (std::size_t r = 0; r < x.extent(0); ++r)
      for (std::size_t i = 0; i < x.extent(1); ++i) y(r, i) = f(x(r, i));
  }
  template <class F>
  static void binary(matrix_view<const float> a, matrix_view<const float> b, matrix_view<float> y, F f) {
    assert_same_shape(a, y);
    assert(b.extent(1) == a.extent(1) && (b.extent(0) == a.extent(0) || b.extent(0) == 1));
    for (std::size_t r = 0; r < a.extent(0); ++r)
      for (std::size_t i = 0; i < a.extent(1); ++i) y(r, i) = f(a(r, i), b(b.extent(0) == 1 ? 0 : r, i));
  }
};

static_assert(compute_policy<scalar>);

}  // namespace mmllm::compute
