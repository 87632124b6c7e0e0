// rmsnorm, layernorm and softmax of compute::simd at every level against compute::scalar
// (double-precision sums), with odd widths, padded rows, weights/bias/mask, and threads.
#include <mmllm/compute/scalar.hpp>
#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>

#include <cmath>
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
const std::size_t widths[] = {1, 7, 16, 33, 64, 100, 4097};
const std::size_t row_counts[] = {1, 3, 50};
}  // namespace

// Tolerances: the simd sums are float lane sums (relative error ≲ √n·2^-24 of Σx²), the
// reference sums in double; a scale of 1/sqrt(mean+eps) inherits half of that, and the
// final products one rounding each: 1e-5 relative (plus 1e-6 absolute for layernorm's
// cancellation in x − mean) catches any wrong term for n up to 4097.
TEST_CASE("rmsnorm matches the reference") {
  std::mt19937 rng(11);
  thread_pool pool(2);
  for (isa level : mmllm::test::available_levels())
    for (std::size_t n : widths)
      for (std::size_t rows : row_counts) {
        INFO("level " << to_string(level) << " n " << n << " rows " << rows);
        test_matrix x(rows, n), want(rows, n), got(rows, n);
        x.randomize(rng, 2.0f, 0.3f);
        std::vector<float> w(n);
        std::normal_distribution<float> d(1.0f, 0.2f);
        for (float& v : w) v = d(rng);
        simd fast(level, pool);
        scalar ref;
        ref.rmsnorm(x.cview(), want.view(), 1e-6f, w);
        fast.rmsnorm(x.cview(), got.view(), 1e-6f, w);
        CHECK(mmllm::test::compare(got, want, 1e-5, 1e-7) == "");
        ref.rmsnorm(x.cview(), want.view(), 1e-5f);
        fast.rmsnorm(x.cview(), got.view(), 1e-5f);
        CHECK(mmllm::test::compare(got, want, 1e-5, 1e-7) == "");
        CHECK(got.padding_intact());
        test_matrix inplace = x;
        fast.rmsnorm(inplace.cview(), inplace.view(), 1e-5f);
        CHECK(mmllm::test::bitwise_equal(inplace, got));
      }
}

TEST_CASE("layernorm matches the reference") {
  std::mt19937 rng(12);
  thread_pool pool(2);
  for (isa level : mmllm::test::available_levels())
    for (std::size_t n : widths)
      for (std::size_t rows : row_counts) {
        INFO("level " << to_string(level) << " n " << n << " rows " << rows);
        test_matrix x(rows, n), want(rows, n), got(rows, n);
        x.randomize(rng, 1.5f, 4.0f);  // a large mean: tests the two-pass variance
        std::vector<float> w(n), b(n);
        std::normal_distribution<float> d(0.0f, 1.0f);
        for (float& v : w) v = d(rng);
        for (float& v : b) v = d(rng);
        simd fast(level, pool);
        scalar ref;
        ref.layernorm(x.cview(), want.view(), 1e-5f, w, b);
        fast.layernorm(x.cview(), got.view(), 1e-5f, w, b);
        CHECK(mmllm::test::compare(got, want, 1e-5, 1e-5) == "");
        ref.layernorm(x.cview(), want.view(), 1e-6f);
        fast.layernorm(x.cview(), got.view(), 1e-6f);
        CHECK(mmllm::test::compare(got, want, 1e-5, 1e-5) == "");
        CHECK(got.padding_intact());
      }
}

// softmax: exp within ~2 ulp, sums in float lanes vs double: 1e-5 relative, 1e-9 absolute
// (the smallest probabilities are computed with the same relative accuracy).
TEST_CASE("softmax matches the reference, with scale and broadcast additive mask") {
  std::mt19937 rng(13);
  thread_pool pool(2);
  const float ninf = -std::numeric_limits<float>::infinity();
  for (isa level : mmllm::test::available_levels())
    for (std::size_t n : widths)
      for (std::size_t rows : row_counts) {
        INFO("level " << to_string(level) << " n " << n << " rows " << rows);
        test_matrix x(rows, n), want(rows, n), got(rows, n);
        x.randomize(rng, 4.0f);
        simd fast(level, pool);
        scalar ref;
        ref.softmax(x.cview(), want.view(), 0.125f);
        fast.softmax(x.cview(), got.view(), 0.125f);
        CHECK(mmllm::test::compare(got, want, 1e-5, 1e-9) == "");
        // causal mask over 3 query rows, broadcast over the rest (row r uses mask row r % 3)
        test_matrix mask(3, n);
        for (std::size_t q = 0; q < 3; ++q)
          for (std::size_t c = 0; c < n; ++c)
            mask.at(q, c) = c > q + n / 2 ? ninf : 0.1f * static_cast<float>(q);
        ref.softmax(x.cview(), want.view(), 1.0f, mask.cview());
        fast.softmax(x.cview(), got.view(), 1.0f, mask.cview());
        CHECK(mmllm::test::compare(got, want, 1e-5, 1e-9) == "");
        for (std::size_t r = 0; r < rows; ++r) {
          double s = 0;
          for (std::size_t c = 0; c < n; ++c) {
            s += got.at(r, c);
            if (mask.at(r % 3, c) == ninf) CHECK(got.at(r, c) == 0.0f);
          }
          CHECK(std::fabs(s - 1.0) < 1e-5);
        }
        CHECK(got.padding_intact());
        test_matrix inplace = x;
        fast.softmax(inplace.cview(), inplace.view(), 1.0f, mask.cview());
        CHECK(mmllm::test::bitwise_equal(inplace, got));
      }
}

TEST_CASE("softmax of a fully masked row is zero, large inputs do not overflow") {
  const float ninf = -std::numeric_limits<float>::infinity();
  for (isa level : mmllm::test::available_levels()) {
    simd fast(level);
    test_matrix x(2, 37), y(2, 37);
    for (std::size_t c = 0; c < 37; ++c) {
      x.at(0, c) = ninf;
      x.at(1, c) = 1000.0f + static_cast<float>(c);
    }
    fast.softmax(x.cview(), y.view());
    for (std::size_t c = 0; c < 37; ++c) CHECK(y.at(0, c) == 0.0f);
    CHECK(y.at(1, 36) == Approx(1.0 / (1.0 + 1.0 / (std::exp(1.0) - 1.0))).epsilon(1e-5));
  }
}
