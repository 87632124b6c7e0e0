// mmllm/media/audio_resample.hpp — band-limited sample-rate conversion.
//
// A windowed-sinc resampler (Kaiser window): output sample n sits at input time n·in/out and
// is the sum of the input weighted by h(t) = fc·sinc(fc·t)·kaiser(t / half_width), with the
// cutoff fc (relative to the input Nyquist frequency) at `rolloff` × the lower Nyquist
// frequency, so downsampling removes what the new rate cannot represent instead of folding
// it back (aliasing). Rational ratios with a small numerator (44.1 k → 16 k is 160/441) use
// precomputed polyphase filters; other ratios interpolate a finely tabulated kernel. Every
// output's weights are normalised to sum to 1 (exact DC gain). Defaults: 64 zero crossings
// each side, Kaiser β = 9 (about −90 dB stop band), passband to 95 % of the lower Nyquist.
//
// llama.cpp uses miniaudio's linear resampler instead (aliasing, no fixtures depend on it).
//
//   auto pcm16k = mmllm::media::resample(pcm, 16000);
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <numeric>
#include <string>
#include <vector>

#include "mmllm/core/result.hpp"
#include "mmllm/media/audio.hpp"

namespace mmllm::media {

struct resample_options {
  int zero_crossings = 64;   ///< kernel half-width in zero crossings of the sinc
  double kaiser_beta = 9.0;  ///< window shape (stop-band attenuation)
  double rolloff = 0.95;     ///< cutoff as a fraction of the lower Nyquist frequency
  /// Largest polyphase numerator (output rate / gcd) before switching to the tabulated kernel.
  int max_polyphase_phases = 1024;
};

namespace detail {

inline double bessel_i0(double x) noexcept {
  double sum = 1, term = 1;
  const double q = x * x / 4;
  for (int k = 1; k < 500; ++k) {
    term *= q / (static_cast<double>(k) * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

struct sinc_kernel {
  double fc = 1;          ///< cutoff relative to the input Nyquist frequency
  double half_width = 0;  ///< in input samples
  double beta = 9;
  double inv_i0_beta = 1;

  [[nodiscard]] double operator()(double t) const noexcept {
    const double u = t / half_width;
    if (u <= -1 || u >= 1) return 0;
    const double x = fc * t;
    const double s = x == 0 ? 1.0 : std::sin(std::numbers::pi * x) / (std::numbers::pi * x);
    return fc * s * bessel_i0(beta * std::sqrt(1 - u * u)) * inv_i0_beta;
  }
};

}  // namespace detail

/// `in` at `out_rate` (a copy when the rates match).
inline result<audio_pcm> resample(const audio_pcm& in, int out_rate, const resample_options& opt = {}) {
  if (in.sample_rate <= 0 || out_rate <= 0)
    return make_error(errc::invalid_argument, "resample: sample rates must be positive");
  if (opt.zero_crossings < 2 || opt.zero_crossings > 1024 || !(opt.rolloff > 0 && opt.rolloff <= 1))
    return make_error(errc::invalid_argument, "resample: bad options");
  if (in.sample_rate == out_rate) return in;
  const std::int64_t g = std::gcd(in.sample_rate, out_rate);
  const std::int64_t L = out_rate / g, M = in.sample_rate / g;  // output n ↔ input n·M/L
  detail::sinc_kernel k;
  k.fc = std::min(1.0, static_cast<double>(out_rate) / in.sample_rate) * opt.rolloff;
  k.half_width = opt.zero_crossings / k.fc;
  k.beta = opt.kaiser_beta;
  k.inv_i0_beta = 1.0 / detail::bessel_i0(opt.kaiser_beta);
  const auto K = static_cast<std::int64_t>(std::ceil(k.half_width));
  const auto taps = static_cast<std::size_t>(2 * K);  // input offsets −K+1 … K around floor(t)

  const auto n_in = static_cast<std::int64_t>(in.samples.size());
  const std::int64_t n_out = (n_in * L + M - 1) / M;
  audio_pcm out;
  out.sample_rate = out_rate;
  out.samples.resize(static_cast<std::size_t>(n_out));
  const float* x = in.samples.data();
  std::vector<float> w(taps);

  // Weights of one output at fractional input position `frac` (0 ≤ frac < 1), normalised.
  auto weights_at = [&](double frac, float* dst, const std::vector<float>* table, double table_step) {
    double sum = 0;
    for (std::size_t j = 0; j < taps; ++j) {
      const double t = static_cast<double>(static_cast<std::int64_t>(j) - K + 1) - frac;
      double v = 0;
      if (table == nullptr) {
        v = k(t);
      } else {  // linear interpolation in the tabulated |t|
        const double pos = std::abs(t) / table_step;
        const auto i = static_cast<std::size_t>(pos);
        if (i + 1 < table->size()) {
          const double f = pos - static_cast<double>(i);
          v = (*table)[i] + f * ((*table)[i + 1] - (*table)[i]);
        }
      }
      dst[j] = static_cast<float>(v);
      sum += v;
    }
    if (sum != 0)
      for (std::size_t j = 0; j < taps; ++j) dst[j] = static_cast<float>(dst[j] / sum);
  };
  auto dot = [&](std::int64_t base, const float* wt) {
    const std::int64_t first = base - K + 1;
    const std::int64_t lo = std::max<std::int64_t>(0, -first);
    const std::int64_t hi = std::min<std::int64_t>(static_cast<std::int64_t>(taps), n_in - first);
    if (lo == 0 && hi == static_cast<std::int64_t>(taps)) {  // interior: 8 partial sums (vectorizable)
      const float* xs = x + first;
      float acc[8] = {};
      std::size_t j = 0;
      for (; j + 8 <= taps; j += 8)
        for (std::size_t q = 0; q < 8; ++q) acc[q] += xs[j + q] * wt[j + q];
      for (; j < taps; ++j) acc[0] += xs[j] * wt[j];
      return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    }
    float acc = 0;
    for (std::int64_t j = lo; j < hi; ++j) acc += x[first + j] * wt[j];
    return acc;
  };

  if (L <= opt.max_polyphase_phases) {
    std::vector<float> bank(static_cast<std::size_t>(L) * taps);
    for (std::int64_t p = 0; p < L; ++p)
      weights_at(static_cast<double>(p) / static_cast<double>(L),
                 bank.data() + static_cast<std::size_t>(p) * taps, nullptr, 0);
    for (std::int64_t n = 0; n < n_out; ++n) {
      const std::int64_t pos = n * M;
      out.samples[static_cast<std::size_t>(n)] =
          dot(pos / L, bank.data() + static_cast<std::size_t>(pos % L) * taps);
    }
  } else {
    constexpr int per_sample = 512;  // table points per input sample
    const double step = 1.0 / per_sample;
    std::vector<float> table(static_cast<std::size_t>(std::ceil(k.half_width * per_sample)) + 2);
    for (std::size_t i = 0; i < table.size(); ++i)
      table[i] = static_cast<float>(k(static_cast<double>(i) * step));
    for (std::int64_t n = 0; n < n_out; ++n) {
      const std::int64_t pos = n * M;
      weights_at(static_cast<double>(pos % L) / static_cast<double>(L), w.data(), &table, step);
      out.samples[static_cast<std::size_t>(n)] = dot(pos / L, w.data());
    }
  }
  return out;
}

}  // namespace mmllm::media
