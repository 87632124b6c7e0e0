// f16 and bf16 (formats with block_size 1) against ggml's outputs in
// ../shared/fixtures/quant; f32 against exact arithmetic.
#include <mmllm/core/quant/plain.hpp>

#include <vector>

#include "catch.hpp"
#include "test_quant_fixture_check.hpp"

using namespace mmllm;

TEST_CASE("f16 matches ggml") { test::check_format_against_fixtures<fmt::f16>("f16"); }
TEST_CASE("bf16 matches ggml") { test::check_format_against_fixtures<fmt::bf16>("bf16"); }

TEST_CASE("f32 rows are copied and dotted exactly") {
  const std::vector<float> w = test::quant_weights();
  std::vector<float> q(w.size()), back(w.size());
  fmt::f32::quantize_row(w.data(), q.data(), w.size());
  fmt::f32::dequantize_row(q.data(), back.data(), w.size());
  CHECK(back == w);
  // Small integers: every product and partial sum is exact, so the dot is too.
  std::vector<float> a(1000), b(1000);
  double expect = 0;
  for (int i = 0; i < 1000; ++i) {
    a[i] = static_cast<float>(i % 17 - 8);
    b[i] = static_cast<float>(i % 13 - 6);
    expect += static_cast<double>(a[i]) * b[i];
  }
  CHECK(fmt::f32::dot(a.data(), b.data(), 1000) == static_cast<float>(expect));
}
