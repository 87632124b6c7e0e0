// Activations, element-wise ops and row conversions of compute::simd at every level the CPU
// has, against compute::scalar (double-precision formulas) and core's scalar conversions.
#include <mmllm/compute/scalar.hpp>
#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "catch.hpp"
#include "compute_test_support.hpp"

using mmllm::compute::isa;
using mmllm::compute::scalar;
using mmllm::compute::simd;
using mmllm::compute::thread_pool;
using mmllm::test::test_matrix;

namespace {

const std::size_t sizes[] = {1, 7, 8, 15, 16, 17, 33, 100, 4097};

/// Inputs: N(0, 3) plus values that exercise the edges of the approximations.
test_matrix make_input(std::size_t rows, std::size_t cols, std::mt19937& rng) {
  test_matrix x(rows, cols);
  x.randomize(rng, 3.0f);
  const float special[] = {0.0f,  -0.0f,  1e-30f, -1e-30f, 9.99f, 10.0f,  10.01f, -9.99f,  -10.0f, -10.01f,
                           20.0f, -20.0f, 50.0f,  -50.0f,  88.0f, -88.0f, 120.0f, -120.0f, 1e-4f,  -1e-4f};
  std::size_t k = 0;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; c += 5) x.at(r, c) = special[k++ % std::size(special)];
  return x;
}

template <class RefFn, class SimdFn>
void check_unary(const char* name, RefFn ref_fn, SimdFn simd_fn, double rtol, double atol) {
  std::mt19937 rng(42);
  thread_pool pool(2);
  for (isa level : mmllm::test::available_levels()) {
    for (std::size_t n : sizes) {
      for (std::size_t rows : {std::size_t{1}, std::size_t{3}, std::size_t{40}}) {
        test_matrix x = make_input(rows, n, rng), want(rows, n), got(rows, n);
        scalar ref;
        ref_fn(ref, x.cview(), want.view());
        simd fast(level, rows == 40 ? mmllm::compute::executor_ref(pool) : mmllm::compute::executor_ref());
        simd_fn(fast, x.cview(), got.view());
        INFO(name << " level " << to_string(level) << " n " << n << " rows " << rows);
        CHECK(mmllm::test::compare(got, want, rtol, atol) == "");
        CHECK(got.padding_intact());
        // rows are independent: the same bits with or without threads
        if (rows == 40) {
          test_matrix alone(rows, n);
          simd single(level);
          simd_fn(single, x.cview(), alone.view());
          CHECK(mmllm::test::bitwise_equal(alone, got));
        }
        // in place
        test_matrix inplace = x;
        simd_fn(fast, inplace.cview(), inplace.view());
        CHECK(mmllm::test::bitwise_equal(inplace, got));
      }
    }
  }
}

}  // namespace

TEST_CASE("simd picks a level no higher than the CPU supports") {
  const auto best = mmllm::compute::detect_cpu_features().best();
  CHECK(simd().level() == best);
  CHECK(simd(isa::generic).level() == isa::generic);
  CHECK(simd(isa::avx512).level() <= best);
}

// Tolerances: the vector exp is within ~2 ulp and a division adds one rounding, but the
// float argument of exp carries rounding error that the function amplifies by its condition
// number κ = |x·f'(x)/f(x)|: about |x| for silu / gelu_quick (inputs reach |x| = 88 before
// the result underflows: ≤ 6e-6), about 0.27·|x|³ for gelu's tail (≤ 1.4e-5 at x = −10) and
// x²/2 for gelu_erf (plus erfc's 1.2e-7 fit). Results below 1e-30 (deep underflow, where
// float and double round differently) are compared absolutely.
TEST_CASE("silu matches the reference") {
  check_unary(
      "silu", [](scalar& r, auto x, auto y) { r.silu(x, y); }, [](simd& s, auto x, auto y) { s.silu(x, y); },
      1e-5, 1e-30);
}

TEST_CASE("gelu (tanh) matches the reference") {
  check_unary(
      "gelu", [](scalar& r, auto x, auto y) { r.gelu(x, y); }, [](simd& s, auto x, auto y) { s.gelu(x, y); },
      3e-5, 1e-30);
}

TEST_CASE("gelu_quick matches the reference") {
  check_unary(
      "gelu_quick", [](scalar& r, auto x, auto y) { r.gelu_quick(x, y); },
      [](simd& s, auto x, auto y) { s.gelu_quick(x, y); }, 1e-5, 1e-30);
}

TEST_CASE("gelu_erf matches the reference") {
  check_unary(
      "gelu_erf", [](scalar& r, auto x, auto y) { r.gelu_erf(x, y); },
      [](simd& s, auto x, auto y) { s.gelu_erf(x, y); }, 3e-5, 1e-30);
}

TEST_CASE("peer fp16-table GELUs are bit-exact with the reference") {
  check_unary(
      "gelu_f16_table", [](scalar& r, auto x, auto y) { r.gelu_f16_table(x, y); },
      [](simd& s, auto x, auto y) { s.gelu_f16_table(x, y); }, 0.0, 0.0);
  check_unary(
      "gelu_quick_f16_table", [](scalar& r, auto x, auto y) { r.gelu_quick_f16_table(x, y); },
      [](simd& s, auto x, auto y) { s.gelu_quick_f16_table(x, y); }, 0.0, 0.0);
}

TEST_CASE("peer GELU table: rules at the cut-offs and f16 outputs") {
  std::vector<float> xs = {10.0f, 12.5f, -10.0f, -11.0f, 9.999f, -9.999f, 0.5f, -0.5f};
  test_matrix x(1, xs.size()), y(1, xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) x.at(0, i) = xs[i];
  for (isa level : mmllm::test::available_levels()) {
    simd s(level);
    s.gelu_f16_table(x.cview(), y.view());
    CHECK(y.at(0, 0) == 10.0f);
    CHECK(y.at(0, 1) == 12.5f);
    CHECK(y.at(0, 2) == 0.0f);
    CHECK(y.at(0, 3) == 0.0f);
    for (std::size_t i = 4; i < xs.size(); ++i) {
      const float v = y.at(0, i);
      CHECK(mmllm::to_f32(mmllm::to_f16(v)) == v);  // an f16 value
      CHECK(std::fabs(v - 0.5f * xs[i] * (1.0f + std::erf(xs[i] / std::sqrt(2.0f)))) <
            2e-3f * (1 + std::fabs(xs[i])));
    }
  }
}

TEST_CASE("swiglu, add, mul, scale, add_scaled match the reference (with row broadcast)") {
  std::mt19937 rng(7);
  thread_pool pool(2);
  for (isa level : mmllm::test::available_levels()) {
    for (std::size_t n : sizes) {
      for (std::size_t rows : {std::size_t{1}, std::size_t{5}, std::size_t{40}}) {
        INFO("level " << to_string(level) << " n " << n << " rows " << rows);
        test_matrix a = make_input(rows, n, rng), b(rows, n), b1(1, n);
        b.randomize(rng);
        b1.randomize(rng);
        simd fast(level, pool);
        scalar ref;
        test_matrix want(rows, n), got(rows, n);

        ref.swiglu(a.cview(), b.cview(), want.view());
        fast.swiglu(a.cview(), b.cview(), got.view());
        CHECK(mmllm::test::compare(got, want, 1e-5, 1e-30) == "");  // silu's κ, see above

        for (const test_matrix* bb : {&b, &b1}) {
          ref.add(a.cview(), bb->cview(), want.view());
          fast.add(a.cview(), bb->cview(), got.view());
          CHECK(mmllm::test::bitwise_equal(got, want));
          ref.mul(a.cview(), bb->cview(), want.view());
          fast.mul(a.cview(), bb->cview(), got.view());
          CHECK(mmllm::test::bitwise_equal(got, want));
        }
        ref.scale(a.cview(), -0.37f, want.view());
        fast.scale(a.cview(), -0.37f, got.view());
        CHECK(mmllm::test::bitwise_equal(got, want));

        // add_scaled: one rounding where the level has FMA; the portable level may round the
        // product first (xsimd emulates fma on SSE2), so allow one ulp of |x·s| (inputs reach
        // |x| = 120: ulp(97) = 7.6e-6).
        test_matrix acc_want = b, acc_got = b;
        ref.add_scaled(a.cview(), 0.81f, acc_want.view());
        fast.add_scaled(a.cview(), 0.81f, acc_got.view());
        CHECK(mmllm::test::compare(acc_got, acc_want, 0.0, level == isa::generic ? 1e-5 : 0.0) == "");
        CHECK(got.padding_intact());
        CHECK(acc_got.padding_intact());
      }
    }
  }
}

TEST_CASE("row conversions are bit-exact with core's scalar conversions") {
  // Every f16 / bf16 bit pattern round-trips through f32, and f32 inputs that hit every
  // rounding case (ties, subnormals, overflow, NaN payloads) convert as core does.
  std::vector<float> xs;
  std::mt19937 rng(3);
  for (std::uint32_t i = 0; i < 70000; ++i)
    xs.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(rng())));
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float f = mmllm::to_f32(mmllm::f16::from_bits(static_cast<std::uint16_t>(h)));
    xs.push_back(f);
    xs.push_back(std::bit_cast<float>(std::bit_cast<std::uint32_t>(f) + 0x1000u));      // f16 ties
    xs.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16 | 0x8000u));  // bf16 ties
  }
  xs.push_back(65520.0f);
  xs.push_back(std::numeric_limits<float>::infinity());
  xs.push_back(-std::numeric_limits<float>::quiet_NaN());
  thread_pool pool(2);
  for (isa level : mmllm::test::available_levels()) {
    for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{33}, xs.size()}) {
      INFO("level " << to_string(level) << " n " << n);
      simd s(level, pool);
      std::span<const float> in(xs.data(), n);
      std::vector<mmllm::f16> h(n);
      std::vector<mmllm::bf16> b(n);
      std::vector<float> back(n);
      s.convert(in, std::span<mmllm::f16>(h));
      s.convert(in, std::span<mmllm::bf16>(b));
      std::size_t bad_h = 0, bad_b = 0, bad_hb = 0, bad_bb = 0;
      for (std::size_t i = 0; i < n; ++i) {
        bad_h += h[i] != mmllm::to_f16(in[i]);
        bad_b += b[i] != mmllm::to_bf16(in[i]);
      }
      s.convert(std::span<const mmllm::f16>(h), std::span<float>(back));
      for (std::size_t i = 0; i < n; ++i)
        bad_hb += std::bit_cast<std::uint32_t>(back[i]) != std::bit_cast<std::uint32_t>(mmllm::to_f32(h[i]));
      s.convert(std::span<const mmllm::bf16>(b), std::span<float>(back));
      for (std::size_t i = 0; i < n; ++i)
        bad_bb += std::bit_cast<std::uint32_t>(back[i]) != std::bit_cast<std::uint32_t>(mmllm::to_f32(b[i]));
      CHECK(bad_h == 0);
      CHECK(bad_b == 0);
      CHECK(bad_hb == 0);
      CHECK(bad_bb == 0);
    }
  }
}
