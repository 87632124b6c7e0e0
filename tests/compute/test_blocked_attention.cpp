// compute's blocked (online-softmax) attention kernel against a double-precision reference:
// head sizes that are and are not multiples of 8, key counts around the 8-key groups and the
// 128-key blocks, partial query panels, several panels per block, strided rows; and the
// result of a query never depends on how the queries are blocked.
#include <mmllm/compute/blocked_attention.hpp>
#include <mmllm/compute/isa.hpp>

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

#include "catch.hpp"

#if MMLLM_HAVE_X86_KERNELS
namespace {

namespace cd = mmllm::compute::detail;

struct aligned_floats {
  struct alignas(64) line {
    float f[16];
  };
  std::vector<line> lines;
  explicit aligned_floats(std::size_t n) : lines((n + 15) / 16) {}
  float* data() { return lines.empty() ? nullptr : lines[0].f; }
};

/// Runs the kernel for queries [0, m) in blocks of `block` queries (panels of 32).
std::vector<float> run_kernel(const std::vector<float>& q, const std::vector<float>& k,
                              const std::vector<float>& v, std::size_t m, std::size_t len, std::size_t d,
                              std::size_t ld, float scale, std::size_t block) {
  aligned_floats kp(cd::blocked_attention_packed_floats(len, d)),
      vp(cd::blocked_attention_packed_floats(len, d));
  cd::blocked_attention_pack(k.data(), ld, v.data(), ld, len, d, kp.data(), vp.data());
  const std::size_t panels = (block + cd::blocked_attention_panel - 1) / cd::blocked_attention_panel;
  aligned_floats scratch(cd::blocked_attention_scratch_floats(panels, d));
  std::vector<float> out(m * ld, -7.0f);
  for (std::size_t q0 = 0; q0 < m; q0 += block)
    cd::blocked_attention_avx512(q.data() + q0 * ld, ld, std::min(block, m - q0), d, kp.data(), vp.data(),
                                 len, scale, out.data() + q0 * ld, ld, scratch.data());
  return out;
}

}  // namespace

TEST_CASE("blocked attention matches a double-precision reference") {
  if (mmllm::compute::detect_cpu_features().best() < mmllm::compute::isa::avx512) {
    WARN("no AVX-512: blocked attention not tested");
    return;
  }
  std::mt19937 rng(21);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  struct shape {
    std::size_t m, len, d;
  };
  for (const shape s : {shape{1, 1, 8}, shape{5, 7, 24}, shape{33, 37, 72}, shape{70, 129, 64},
                        shape{130, 300, 72}, shape{64, 257, 20}, shape{40, 1000, 80}}) {
    INFO("m " << s.m << " len " << s.len << " d " << s.d);
    const std::size_t ld = s.d + 5, n = std::max(s.m, s.len);
    std::vector<float> q(n * ld), k(n * ld), v(n * ld);
    for (auto* a : {&q, &k, &v})
      for (float& x : *a) x = 2.0f * nd(rng);
    const float scale = 1.0f / std::sqrt(static_cast<float>(s.d));
    const std::vector<float> out = run_kernel(q, k, v, s.m, s.len, s.d, ld, scale, 128);
    for (std::size_t i = 0; i < s.m; ++i) {
      std::vector<double> p(s.len);
      double mx = -1e300, sum = 0.0;
      for (std::size_t t = 0; t < s.len; ++t) {
        double dot = 0.0;
        for (std::size_t j = 0; j < s.d; ++j) dot += static_cast<double>(q[i * ld + j]) * k[t * ld + j];
        p[t] = static_cast<double>(scale) * dot;
        mx = std::max(mx, p[t]);
      }
      for (double& x : p) sum += (x = std::exp(x - mx));
      for (std::size_t j = 0; j < s.d; ++j) {
        double o = 0.0;
        for (std::size_t t = 0; t < s.len; ++t) o += p[t] / sum * v[t * ld + j];
        CHECK(std::fabs(o - out[i * ld + j]) < 2e-5 * (1.0 + std::fabs(o)));
      }
      for (std::size_t j = s.d; j < ld; ++j) CHECK(out[i * ld + j] == -7.0f);  // row padding untouched
    }
    // blocking of the queries does not change any result
    for (std::size_t block : {std::size_t{1}, std::size_t{32}, std::size_t{96}})
      CHECK(run_kernel(q, k, v, s.m, s.len, s.d, ld, scale, block) == out);
  }
}
#endif
