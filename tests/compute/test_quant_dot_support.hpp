// Checks shared by tests/compute/test_quant_dot_*.cpp: every tile shape of a kernel against
// the format's scalar dot (random rows, odd block counts, unaligned strides), and the
// kernel against ggml's vec_dot fixtures.
#pragma once

#include <mmllm/compute/quant_dot.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../core/test_quant_support.hpp"
#include "catch.hpp"

namespace mmllm::test {

/// The levels/variants this CPU can run, as (level, ext, name).
struct level_case {
  compute::isa level;
  compute::isa_ext ext;
  const char* name;
};
inline std::vector<level_case> runnable_levels() {
  const auto cpu = compute::detect_cpu_features();
  std::vector<level_case> v{{compute::isa::generic, compute::isa_ext::none, "generic"}};
  if (cpu.avx2) v.push_back({compute::isa::avx2, compute::isa_ext::none, "avx2"});
  if (cpu.avx512) v.push_back({compute::isa::avx512, compute::isa_ext::none, "avx512"});
  if (cpu.avx512 && cpu.avx512_vnni)
    v.push_back({compute::isa::avx512, compute::isa_ext::vnni, "avx512_vnni"});
  if (cpu.avx512 && cpu.avx512_vnni && cpu.avx512_bf16) {
    v.push_back({compute::isa::avx512, compute::isa_ext::vnni_bf16, "avx512_vnni_bf16"});
  }
  return v;
}

/// Calls f.template operator()<I, E>() for the compile-time (level, ext) matching `lc`.
template <class F>
void with_level(const level_case& lc, F&& f) {
  using compute::isa;
  using compute::isa_ext;
  if (lc.level == isa::generic) f.template operator()<isa::generic, isa_ext::none>();
  if (lc.level == isa::avx2) f.template operator()<isa::avx2, isa_ext::none>();
  if (lc.level == isa::avx512 && lc.ext == isa_ext::none) f.template operator()<isa::avx512, isa_ext::none>();
  if (lc.level == isa::avx512 && lc.ext == isa_ext::vnni) f.template operator()<isa::avx512, isa_ext::vnni>();
  if (lc.level == isa::avx512 && lc.ext == isa_ext::vnni_bf16) {
    f.template operator()<isa::avx512, isa_ext::vnni_bf16>();
  }
}

/// Rows of n values quantized from N(0, σ) data with a few outliers; row r starts at byte
/// alignof(block) + r·stride of the buffer. With a stride that is not a multiple of 16,
/// rows sit at addresses aligned for their blocks only (the kernels' contract), not for SIMD.
template <class F, bool Activation>
std::vector<std::byte> random_rows(std::mt19937& rng, std::size_t rows, std::size_t n, std::size_t stride) {
  using block = typename F::block;
  std::vector<std::byte> buf(rows * stride + 64);
  std::normal_distribution<float> nd(0.0f, Activation ? 1.0f : 0.05f);
  std::uniform_int_distribution<int> pick(0, 40);
  std::vector<float> x(n);
  std::vector<block> q(n / F::block_size);
  for (std::size_t r = 0; r < rows; ++r) {
    for (auto& v : x) v = nd(rng) * (pick(rng) == 0 ? 8.0f : 1.0f);
    if constexpr (Activation) {
      F::quantize_activation_row(x.data(), q.data(), n);
    } else {
      F::quantize_row(x.data(), q.data(), n);
    }
    std::memcpy(buf.data() + alignof(block) + r * stride, q.data(), q.size() * sizeof(block));
  }
  return buf;
}

/// Like random_rows, but every quant bit is random (all code values, including ones the
/// quantizers never produce, e.g. −128 in q8_0) and the scales are random positive values.
template <class F>
std::vector<std::byte> random_raw_rows(std::mt19937& rng, std::size_t rows, std::size_t n,
                                       std::size_t stride) {
  using block = typename F::block;
  std::vector<std::byte> buf(rows * stride + 64);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(0.001f, 0.1f);
  std::uniform_int_distribution<int> exponent(110, 130);
  std::vector<block> q(n / F::block_size);
  for (std::size_t r = 0; r < rows; ++r) {
    for (auto& b : q) {
      auto* bytes = reinterpret_cast<unsigned char*>(&b);
      for (std::size_t i = 0; i < sizeof(block); ++i) bytes[i] = static_cast<unsigned char>(byte(rng));
      if constexpr (requires { b.d.bits; }) b.d = to_f16(scale(rng));
      if constexpr (requires { b.dmin.bits; }) b.dmin = to_f16(scale(rng));
      if constexpr (requires { b.m.bits; }) b.m = to_f16(-scale(rng));
      if constexpr (requires { b.e; }) b.e = static_cast<std::uint8_t>(exponent(rng));
    }
    std::memcpy(buf.data() + alignof(block) + r * stride, q.data(), q.size() * sizeof(block));
  }
  return buf;
}

/// Σ_k |W[k]·A[k]| from the dequantized rows: the scale of a dot product's rounding error.
template <class Q>
double abs_dot(const std::byte* w, const std::byte* a, std::size_t n) {
  std::vector<float> wf(n), af(n);
  Q::dequantize_row(reinterpret_cast<const typename Q::block*>(w), wf.data(), n);
  Q::activation::dequantize_row(reinterpret_cast<const typename Q::activation::block*>(a), af.data(), n);
  double s = 0;
  for (std::size_t k = 0; k < n; ++k) s += std::fabs(static_cast<double>(wf[k]) * af[k]);
  return s;
}

/// Every tile shape nr × nc of quant_dot<Q, I, E> against Q::dot, for several row lengths
/// (odd numbers of blocks). Returns the largest error relative to Σ|w·a|.
template <class Q, compute::isa I, compute::isa_ext E, bool RawWeights = false>
double check_tiles_against_scalar(std::uint32_t seed) {
  using K = compute::quant_dot<Q, I, E>;
  std::mt19937 rng(seed);
  const std::size_t bs = Q::block_size;
  std::vector<std::size_t> lengths;
  if (bs == 1) {
    lengths = {1, 7, 8, 15, 33, 64, 100, 257};
  } else {
    lengths = {bs, 3 * bs, 5 * bs};
    if (bs == 32) lengths.push_back(11 * bs);
  }
  double worst = 0;
  for (std::size_t n : lengths) {
    const std::size_t wbytes = n / bs * sizeof(typename Q::block);
    const std::size_t abytes = n / bs * sizeof(typename Q::activation::block);
    const std::size_t ws = wbytes + 3 * alignof(typename Q::block);
    const std::size_t as = abytes + 5 * alignof(typename Q::activation::block);
    const auto wbuf = RawWeights ? random_raw_rows<Q>(rng, static_cast<std::size_t>(K::max_rows), n, ws)
                                 : random_rows<Q, false>(rng, static_cast<std::size_t>(K::max_rows), n, ws);
    const auto abuf =
        random_rows<typename Q::activation, true>(rng, static_cast<std::size_t>(K::max_cols), n, as);
    const std::byte* w = wbuf.data() + alignof(typename Q::block);
    const std::byte* a = abuf.data() + alignof(typename Q::activation::block);
    for (int nr = 1; nr <= K::max_rows; ++nr) {
      for (int nc = 1; nc <= K::max_cols; ++nc) {
        const std::size_t ldo = static_cast<std::size_t>(nc) + 3;
        std::vector<float> out(static_cast<std::size_t>(nr) * ldo, -12345.0f);
        K::tile(n, w, ws, nr, a, as, nc, out.data(), ldo);
        for (int r = 0; r < nr; ++r) {
          for (std::size_t c = 0; c < ldo; ++c) {
            const float got = out[static_cast<std::size_t>(r) * ldo + c];
            INFO("n " << n << " tile " << nr << "x" << nc << " r " << r << " c " << c);
            if (c >= static_cast<std::size_t>(nc)) {
              CHECK(got == -12345.0f);  // nothing written outside the tile
              continue;
            }
            const std::byte* wr = w + static_cast<std::size_t>(r) * ws;
            const std::byte* ar = a + c * as;
            const double expect = Q::dot(reinterpret_cast<const typename Q::block*>(wr),
                                         reinterpret_cast<const typename Q::activation::block*>(ar), n);
            const double scale = abs_dot<Q>(wr, ar, n) + 1e-30;
            const double err = std::fabs(got - expect) / scale;
            worst = err > worst ? err : worst;
            INFO("got " << got << " scalar " << expect << " Σ|w·a| " << scale);
            CHECK(err <= 1e-5);
          }
        }
      }
    }
  }
  return worst;
}

/// quant_dot<Q, I, E> over the 8 fixture rows against ggml's vec_dot (1e-4 relative);
/// returns the largest relative error.
template <class Q, compute::isa I, compute::isa_ext E>
double check_kernel_against_fixture(const std::string& name) {
  using K = compute::quant_dot<Q, I, E>;
  const quant_reference ref = load_quant_reference(name);
  const auto w = read_bytes(fixture_path("quant/" + name + ".blocks"));
  const auto a = read_bytes(fixture_path("quant/" + ref.activation_blocks));
  const std::size_t n = quant_cols;
  std::vector<float> out(quant_rows);
  for (std::size_t r0 = 0; r0 < quant_rows; r0 += static_cast<std::size_t>(K::max_rows)) {
    const int nr =
        static_cast<int>(std::min<std::size_t>(quant_rows - r0, static_cast<std::size_t>(K::max_rows)));
    K::tile(n, reinterpret_cast<const std::byte*>(w.data()) + r0 * ref.row_bytes, ref.row_bytes, nr,
            reinterpret_cast<const std::byte*>(a.data()), 0, 1, out.data() + r0, 1);
  }
  double worst = 0;
  for (std::size_t r = 0; r < quant_rows; ++r) {
    const double rel = rel_diff(out[r], ref.vec_dot[r]);
    worst = rel > worst ? rel : worst;
    INFO(name << " row " << r << ": " << out[r] << " vs ggml " << ref.vec_dot[r]);
    CHECK(rel <= 1e-4);
  }
  return worst;
}

/// Both checks for format Q at every level this CPU runs; prints the errors.
template <class Q>
void check_format_kernels(const std::string& name, std::uint32_t seed) {
  for (const level_case& lc : runnable_levels()) {
    with_level(lc, [&]<compute::isa I, compute::isa_ext E>() {
      INFO(name << " at " << lc.name);
      double tile_err = check_tiles_against_scalar<Q, I, E>(seed);
      if constexpr (Q::block_size > 1) {
        const double raw_err = check_tiles_against_scalar<Q, I, E, true>(seed + 1000);
        tile_err = raw_err > tile_err ? raw_err : tile_err;
      }
      double fixture_err = -1;
      if (name != "f32") fixture_err = check_kernel_against_fixture<Q, I, E>(name);
      std::printf(
          "%-7s %-17s tiles ≤ %dx%d: max err/Σ|w·a| vs scalar %.2g; max rel err vs ggml vec_dot %.2g\n",
          name.c_str(), lc.name, compute::quant_dot<Q, I, E>::max_rows, compute::quant_dot<Q, I, E>::max_cols,
          tile_err, fixture_err);
    });
  }
}

}  // namespace mmllm::test
