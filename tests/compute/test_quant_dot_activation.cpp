// quantize_activation<A, I>::row at every level this CPU runs is bit-exact with the scalar
// quantize_activation_row (which the core tests check against ggml's CPU backend), on
// random data, exact rounding ties, zeros, huge and tiny values, infinities and NaNs.
#include <mmllm/compute/quant_dot.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"
#include "test_quant_dot_support.hpp"

using namespace mmllm;

namespace {

/// Test rows of n values (n a multiple of 256), each stressing something different.
std::vector<std::vector<float>> activation_rows(std::size_t n) {
  std::mt19937 rng(99);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_int_distribution<int> small(-200, 200);
  std::vector<std::vector<float>> rows;
  auto add = [&](auto gen) {
    std::vector<float> x(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = gen(i);
    rows.push_back(std::move(x));
  };
  add([&](std::size_t) { return nd(rng); });
  add([&](std::size_t) { return nd(rng) * 1e-3f; });
  // Exact ties: half-integers in blocks whose largest magnitude is 127 (q8_0/q8_1: scale 1)
  // or −127 (q8_K: iscale = 1).
  add([&](std::size_t i) {
    if (i % 32 == 5) return i % 64 < 32 ? 127.0f : -127.0f;
    return static_cast<float>(small(rng)) * 0.5f * 0.6f;  // |x| ≤ 60
  });
  add([&](std::size_t i) { return i % 256 == 17 ? -127.0f : static_cast<float>(small(rng) % 120) + 0.5f; });
  // Values whose scaled form lands on .5 after the 127/amax scaling too.
  add([&](std::size_t i) { return static_cast<float>(static_cast<int>(i % 64) - 32) * 0.25f; });
  add([&](std::size_t) { return 0.0f; });
  add([&](std::size_t i) { return i % 3 == 0 ? -0.0f : 0.0f; });
  add([&](std::size_t) { return nd(rng) * 1e30f; });
  add([&](std::size_t i) { return i % 7 == 0 ? 3.0e38f : nd(rng); });
  add([&](std::size_t) { return nd(rng) * 1e-40f; });  // denormals
  add([&](std::size_t) { return nd(rng) * 1e-38f; });
  add([&](std::size_t i) { return i % 33 == 0 ? std::numeric_limits<float>::infinity() : nd(rng); });
  add([&](std::size_t i) { return i % 50 == 0 ? -std::numeric_limits<float>::infinity() : nd(rng); });
  add([&](std::size_t i) { return i % 41 == 0 ? std::numeric_limits<float>::quiet_NaN() : nd(rng); });
  add([&](std::size_t i) {  // NaNs with payloads and signs
    if (i % 29 != 0) return nd(rng);
    return std::bit_cast<float>(
        static_cast<std::uint32_t>(0x7fc00000u | (i * 2654435761u >> 9) | (i % 2 ? 0x80000000u : 0)));
  });
  add([&](std::size_t i) { return i % 64 == 0 ? 65504.0f * 2 : nd(rng) * 100.0f; });  // f16 overflow
  return rows;
}

template <class A>
void check_activation(const std::string& name) {
  const std::size_t n = 1024;
  const auto rows = activation_rows(n);
  for (const auto& lc : test::runnable_levels()) {
    test::with_level(lc, [&]<compute::isa I, compute::isa_ext>() {
      for (std::size_t k = 0; k < rows.size(); ++k) {
        std::vector<typename A::block> expect(n / A::block_size), got(n / A::block_size);
        A::quantize_activation_row(rows[k].data(), expect.data(), n);
        std::memset(static_cast<void*>(got.data()), 0x5a, got.size() * sizeof(typename A::block));
        compute::quantize_activation<A, I>::row(rows[k].data(), got.data(), n);
        std::size_t bad = 0;
        for (std::size_t b = 0; b < got.size(); ++b) {
          bad += std::memcmp(&got[b], &expect[b], sizeof(typename A::block)) != 0;
        }
        INFO(name << " at " << lc.name << ", test row " << k << ": " << bad << " blocks differ");
        CHECK(bad == 0);
      }
    });
  }
}

}  // namespace

TEST_CASE("q8_0 activations are bit-exact at every level") { check_activation<fmt::q8_0>("q8_0"); }
TEST_CASE("q8_1 activations are bit-exact at every level") { check_activation<fmt::q8_1>("q8_1"); }
TEST_CASE("q8_K activations are bit-exact at every level") { check_activation<fmt::q8_K>("q8_K"); }
TEST_CASE("f16 activations are bit-exact at every level") { check_activation<fmt::f16>("f16"); }
TEST_CASE("bf16 activations are bit-exact at every level") { check_activation<fmt::bf16>("bf16"); }
TEST_CASE("f32 activations are copied at every level") { check_activation<fmt::f32>("f32"); }

TEST_CASE("odd lengths of plain activations are converted completely") {
  std::vector<float> x(37);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.37f - 5.0f;
  for (const auto& lc : test::runnable_levels()) {
    test::with_level(lc, [&]<compute::isa I, compute::isa_ext>() {
      std::vector<mmllm::f16> h(x.size());
      std::vector<mmllm::bf16> b(x.size());
      compute::quantize_activation<fmt::f16, I>::row(x.data(), h.data(), x.size());
      compute::quantize_activation<fmt::bf16, I>::row(x.data(), b.data(), x.size());
      for (std::size_t i = 0; i < x.size(); ++i) {
        CHECK(h[i] == to_f16(x[i]));
        CHECK(b[i] == to_bf16(x[i]));
      }
    });
  }
}
