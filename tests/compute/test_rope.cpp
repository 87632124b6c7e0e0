// rope of compute::simd at every level against compute::scalar (ggml's float recipe), plus
// checks of the reference itself against closed-form rotations.
#include <mmllm/compute/scalar.hpp>
#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "catch.hpp"
#include "compute_test_support.hpp"

using mmllm::compute::isa;
using mmllm::compute::rope_mode;
using mmllm::compute::rope_params;
using mmllm::compute::scalar;
using mmllm::compute::simd;
using mmllm::compute::thread_pool;
using mmllm::test::test_matrix;

namespace {

struct rope_case {
  const char* name;
  std::size_t head_dim, n_heads;
  rope_params p;
};

std::vector<rope_case> cases(const std::vector<float>& ff) {
  std::vector<rope_case> out;
  auto add = [&](const char* name, std::size_t hd, std::size_t nh, rope_params p) {
    out.push_back({name, hd, nh, p});
  };
  rope_params p;
  p.n_dims = 64;
  add("normal", 64, 4, p);
  p.mode = rope_mode::neox;
  add("neox", 64, 4, p);
  p.n_dims = 32;
  p.mode = rope_mode::normal;
  add("normal partial", 80, 3, p);
  p.mode = rope_mode::neox;
  add("neox partial", 80, 3, p);
  p.n_dims = 6;
  add("neox tiny", 10, 2, p);
  p.mode = rope_mode::normal;
  add("normal tiny", 10, 2, p);
  rope_params y;
  y.n_dims = 128;
  y.mode = rope_mode::neox;
  y.freq_base = 1000000.0f;
  y.freq_scale = 0.25f;
  y.n_ctx_orig = 4096;
  y.ext_factor = 1.0f;
  y.attn_factor = 1.0f;
  y.beta_fast = 32.0f;
  y.beta_slow = 1.0f;
  add("neox yarn", 128, 2, y);
  y.mode = rope_mode::normal;
  y.freq_factors = ff;
  y.ext_factor = 0.5f;
  y.attn_factor = 0.9f;
  add("normal yarn freq_factors", 128, 2, y);
  rope_params m;
  m.n_dims = 64;
  m.mode = rope_mode::mrope;
  m.sections = {8, 12, 12, 0};
  add("mrope", 64, 3, m);
  m.mode = rope_mode::imrope;
  m.sections = {11, 11, 10, 0};
  add("imrope", 64, 3, m);
  rope_params v;
  v.n_dims = 32;
  v.mode = rope_mode::vision;
  v.sections = {16, 16, 0, 0};
  add("vision", 64, 2, v);
  return out;
}

std::vector<std::int32_t> positions(std::size_t n_tok, bool multi, std::mt19937& rng) {
  std::vector<std::int32_t> pos(multi ? 4 * n_tok : n_tok);
  std::uniform_int_distribution<std::int32_t> d(0, 40000);
  for (auto& v : pos) v = d(rng);
  if (!pos.empty()) pos[0] = 0;
  return pos;
}

}  // namespace

// Tolerance: both compute the same float (cos, sin) table; the simd rotation fuses one
// product into an FMA, so outputs differ by ≤ 1 ulp of |x|: 1e-6·(1 + |x|) absolute.
TEST_CASE("rope matches the reference for every mode") {
  std::mt19937 rng(21);
  thread_pool pool(2);
  std::vector<float> ff(64);
  for (std::size_t i = 0; i < ff.size(); ++i) ff[i] = 1.0f + 0.05f * static_cast<float>(i % 7);
  for (const rope_case& rc : cases(ff)) {
    const bool multi =
        rc.p.mode == rope_mode::mrope || rc.p.mode == rope_mode::vision || rc.p.mode == rope_mode::imrope;
    for (std::size_t n_tok : {std::size_t{1}, std::size_t{5}, std::size_t{300}}) {
      test_matrix x(n_tok, rc.head_dim * rc.n_heads), want(n_tok, rc.head_dim * rc.n_heads),
          got(n_tok, rc.head_dim * rc.n_heads);
      x.randomize(rng, 2.0f);
      const auto pos = positions(n_tok, multi, rng);
      scalar ref;
      ref.rope(x.cview(), want.view(), rc.head_dim, pos, rc.p);
      for (isa level : mmllm::test::available_levels()) {
        INFO(rc.name << " level " << to_string(level) << " tokens " << n_tok);
        simd fast(level, pool);
        fast.rope(x.cview(), got.view(), rc.head_dim, pos, rc.p);
        CHECK(mmllm::test::compare(got, want, 1e-6, 2e-6) == "");
        CHECK(got.padding_intact());
        test_matrix inplace = x;
        fast.rope(inplace.cview(), inplace.view(), rc.head_dim, pos, rc.p);
        CHECK(mmllm::test::bitwise_equal(inplace, got));
      }
    }
  }
}

TEST_CASE("reference rope: identity at position 0, closed-form rotation elsewhere") {
  // neox, 2 heads of 16 with 12 rotated dims: pair (i, i+6) rotates by p·base^(−2i/12);
  // dims 12..15 pass through. Small positions keep float θ within 1e-5 of exact.
  rope_params p;
  p.n_dims = 12;
  p.mode = rope_mode::neox;
  p.freq_base = 500.0f;
  std::mt19937 rng(5);
  test_matrix x(3, 32), y(3, 32);
  x.randomize(rng);
  const std::vector<std::int32_t> pos = {0, 3, 17};
  scalar ref;
  ref.rope(x.cview(), y.view(), 16, pos, p);
  for (std::size_t t = 0; t < 3; ++t)
    for (std::size_t h = 0; h < 2; ++h) {
      const std::size_t o = h * 16;
      for (std::size_t i = 0; i < 6; ++i) {
        const double th = pos[t] * std::pow(500.0, -2.0 * static_cast<double>(i) / 12.0);
        const double x0 = x.at(t, o + i), x1 = x.at(t, o + i + 6);
        CHECK(y.at(t, o + i) == Approx(x0 * std::cos(th) - x1 * std::sin(th)).margin(1e-4));
        CHECK(y.at(t, o + i + 6) == Approx(x0 * std::sin(th) + x1 * std::cos(th)).margin(1e-4));
      }
      for (std::size_t d = 12; d < 16; ++d) CHECK(y.at(t, o + d) == x.at(t, o + d));
      if (t == 0)
        for (std::size_t d = 0; d < 16; ++d) CHECK(y.at(t, o + d) == x.at(t, o + d));
    }
  // normal mode pairs adjacent dims
  p.mode = rope_mode::normal;
  ref.rope(x.cview(), y.view(), 16, pos, p);
  const double th = 3.0 * std::pow(500.0, -2.0 / 12.0);  // token 1, pair 1 = dims (2, 3)
  CHECK(y.at(1, 2) == Approx(x.at(1, 2) * std::cos(th) - x.at(1, 3) * std::sin(th)).margin(1e-4));
  CHECK(y.at(1, 3) == Approx(x.at(1, 2) * std::sin(th) + x.at(1, 3) * std::cos(th)).margin(1e-4));
}
