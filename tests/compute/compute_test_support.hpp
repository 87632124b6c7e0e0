// Helpers shared by the compute tests: the kernel levels this CPU can run, random matrices
// with padded rows, and tolerance checks against the scalar reference.
#pragma once

#include <mmllm/compute/isa.hpp>
#include <mmllm/core/tensor_view.hpp>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"

namespace mmllm::test {

/// Every level up to the best this CPU supports (generic always).
inline std::vector<compute::isa> available_levels() {
  std::vector<compute::isa> out{compute::isa::generic};
  const auto best = compute::detect_cpu_features().best();
  if (best >= compute::isa::avx2) out.push_back(compute::isa::avx2);
  if (best >= compute::isa::avx512) out.push_back(compute::isa::avx512);
  return out;
}

/// A rows × cols float matrix whose rows are `pad` floats longer than needed (so kernels
/// must honour the row stride). Padding holds a sentinel that must never change.
struct test_matrix {
  static constexpr float sentinel = -12345.0f;
  std::size_t rows = 0, cols = 0, stride = 0;
  std::vector<float> data;

  test_matrix(std::size_t r, std::size_t c, std::size_t pad = 3)
      : rows(r), cols(c), stride(c + pad), data(r * (c + pad) + 1, sentinel) {}

  float& at(std::size_t r, std::size_t c) { return data[r * stride + c]; }
  float at(std::size_t r, std::size_t c) const { return data[r * stride + c]; }

  matrix_view<float> view() {
    return matrix_view<float>(data.data(), dextents<2>(rows, cols), {static_cast<std::ptrdiff_t>(stride), 1});
  }
  matrix_view<const float> cview() const {
    return matrix_view<const float>(data.data(), dextents<2>(rows, cols),
                                    {static_cast<std::ptrdiff_t>(stride), 1});
  }

  /// Fills the visible elements with N(mean, sd) values.
  void randomize(std::mt19937& rng, float sd = 1.0f, float mean = 0.0f) {
    std::normal_distribution<float> d(mean, sd);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < cols; ++c) at(r, c) = d(rng);
  }

  /// True when no padding element was written.
  bool padding_intact() const {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = cols; c < stride; ++c)
        if (data[r * stride + c] != sentinel) return false;
    return data.back() == sentinel;
  }
};

/// Empty when |a − b| ≤ rtol·|b| + atol for every visible element (NaN in the same place
/// counts as equal); otherwise a description of the worst element.
inline std::string compare(const test_matrix& a, const test_matrix& b, double rtol, double atol) {
  double worst = 0.0;
  std::string what;
  for (std::size_t r = 0; r < a.rows; ++r)
    for (std::size_t c = 0; c < a.cols; ++c) {
      const double x = a.at(r, c), y = b.at(r, c);
      if (std::isnan(x) && std::isnan(y)) continue;
      if ((std::isinf(x) || std::isinf(y)) && x == y) continue;
      const double v = std::fabs(x - y) - (rtol * std::fabs(y) + atol);
      if (v > worst || std::isnan(v)) {
        worst = std::isnan(v) ? 1e300 : v;
        char buf[160];
        std::snprintf(buf, sizeof buf, "row %zu col %zu: got %.9g want %.9g (excess %.3g)", r, c, x, y, v);
        what = buf;
      }
    }
  return what;
}

/// True when every visible element is bit-identical.
inline bool bitwise_equal(const test_matrix& a, const test_matrix& b) {
  for (std::size_t r = 0; r < a.rows; ++r)
    for (std::size_t c = 0; c < a.cols; ++c) {
      const float x = a.at(r, c), y = b.at(r, c);
      if (std::memcmp(&x, &y, sizeof x) != 0) return false;
    }
  return true;
}

}  // namespace mmllm::test
