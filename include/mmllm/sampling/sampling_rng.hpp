// mmllm/sampling/sampling_rng.hpp — the random source of the sampling layer.
//
// `sampling_rng` is a std::mt19937 (fully specified by the C++ standard) with its own
// conversions to uniform reals and discrete draws, written out so that a fixed seed gives
// the same tokens with every compiler and standard library. The conversions use the
// arithmetic that llama.cpp's samplers get from libstdc++ (std::uniform_real_distribution
// via generate_canonical, std::discrete_distribution), so for the same candidates the same
// token is drawn as by the peer built with g++.
//
//   mmllm::sampling_rng rng(42);
//   double u = rng.uniform_double();       // [0, 1)
//
// `default_seed` (0xFFFFFFFF, llama.cpp's LLAMA_DEFAULT_SEED) asks for a random seed.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace mmllm {

/// "Pick a random seed" (llama.cpp's LLAMA_DEFAULT_SEED).
inline constexpr std::uint32_t default_seed = 0xFFFFFFFFu;

/// The seed to use: `seed` itself, or a fresh random one for default_seed.
inline std::uint32_t resolve_seed(std::uint32_t seed) {
  if (seed != default_seed) return seed;
  std::random_device rd;
  if (rd.entropy() == 0)  // not a true random device: mix in the clock
    return static_cast<std::uint32_t>(
        rd() ^ static_cast<std::uint32_t>(std::chrono::system_clock::now().time_since_epoch().count()));
  return rd();
}

/// Mersenne twister with portable conversions (see the file comment).
class sampling_rng {
 public:
  explicit sampling_rng(std::uint32_t seed = 5489u) : engine_(seed) {}

  void seed(std::uint32_t s) { engine_.seed(s); }

  /// Uniform in [0, 1): two 32-bit draws a, b -> (a + b * 2^32) / 2^64 in double
  /// (libstdc++'s generate_canonical<double, 53>).
  double uniform_double() {
    const double a = static_cast<double>(engine_());
    const double b = static_cast<double>(engine_());
    const double r = (a + b * 4294967296.0) / 18446744073709551616.0;
    return r >= 1.0 ? std::nextafter(1.0, 0.0) : r;
  }

  /// Uniform in [0, 1) as float: one draw a -> float(a) / 2^32 (generate_canonical<float, 24>).
  float uniform_float() {
    const float a = static_cast<float>(engine_());
    const float r = a / 4294967296.0f;
    return r >= 1.0f ? std::nextafter(1.0f, 0.0f) : r;
  }

  /// Index drawn with probability proportional to `weights` (std::discrete_distribution's
  /// libstdc++ algorithm: normalized cumulative sums in double, last forced to 1, lower bound
  /// of one uniform double). Fewer than two weights draw nothing and give 0.
  std::size_t discrete(std::span<const float> weights) {
    if (weights.size() < 2) return 0;
    double sum = 0.0;
    for (const float w : weights) sum += static_cast<double>(w);
    cumulative_.resize(weights.size());
    double acc = 0.0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      acc += static_cast<double>(weights[i]) / sum;
      cumulative_[i] = acc;
    }
    cumulative_.back() = 1.0;
    const double u = uniform_double();
    const auto it = std::lower_bound(cumulative_.begin(), cumulative_.end(), u);
    return std::min(static_cast<std::size_t>(it - cumulative_.begin()), weights.size() - 1);
  }

  bool operator==(const sampling_rng& o) const { return engine_ == o.engine_; }

 private:
  std::mt19937 engine_;
  std::vector<double> cumulative_;  // scratch for discrete()
};

}  // namespace mmllm
