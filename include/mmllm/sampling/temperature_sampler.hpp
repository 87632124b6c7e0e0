// mmllm/sampling/temperature_sampler.hpp — temperature and dynamic temperature (llama.cpp
// "temperature" / temp-ext).
//
// temperature_sampler(t, dynatemp_range, dynatemp_exponent):
//  * range <= 0: logits are divided by t; t <= 0 keeps only the first highest logit (all
//    others become -inf), i.e. greedy decoding whose probabilities can still be reported.
//  * range > 0 (dynamic temperature): the softmax entropy H of the candidates, normalized by
//    log(n), maps to T = min_t + (max_t - min_t) * (H / log n)^exponent with
//    min_t = max(0, t - range) and max_t = t + range; logits are divided by T and p recomputed.
#pragma once

#include <algorithm>
#include <cmath>
#include <string_view>

#include "token_candidates.hpp"

namespace mmllm {

namespace detail {
/// Divides logits by `t`; t <= 0 keeps only the first maximum (others -inf).
inline void apply_temperature(candidate_list& c, float t) {
  if (c.size == 0) return;
  if (t <= 0.0f) {
    std::size_t max_i = 0;
    float max_l = c.data[0].logit;
    for (std::size_t i = 1; i < c.size; ++i) {
      if (c.data[i].logit > max_l) {
        c.data[max_i].logit = -INFINITY;
        max_i = i;
        max_l = c.data[i].logit;
      } else {
        c.data[i].logit = -INFINITY;
      }
    }
    return;
  }
  for (std::size_t i = 0; i < c.size; ++i) c.data[i].logit /= t;
}
}  // namespace detail

class temperature_sampler {
 public:
  explicit temperature_sampler(float temperature = 0.8f, float dynatemp_range = 0.0f,
                               float dynatemp_exponent = 1.0f)
      : temp_(temperature), range_(dynatemp_range), exponent_(dynatemp_exponent) {}

  [[nodiscard]] std::string_view name() const { return range_ > 0.0f ? "temp-ext" : "temp"; }
  [[nodiscard]] float temperature() const noexcept { return temp_; }

  void apply(candidate_list& c) {
    if (!(range_ > 0.0f)) {
      detail::apply_temperature(c, temp_);
      return;
    }
    if (c.size <= 1) return;
    const float min_t = std::max(0.0f, temp_ - range_);
    const float max_t = temp_ + range_;
    const float max_entropy = -std::log(1.0f / static_cast<float>(c.size));
    softmax(c, true);
    float entropy = 0.0f;
    for (std::size_t i = 0; i < c.size; ++i) {
      const float p = c.data[i].p;
      if (p > 0.0f) entropy -= p * std::log(p);
    }
    const float normalized = entropy / max_entropy;
    const float dyn_t = min_t + (max_t - min_t) * std::pow(normalized, exponent_);
    detail::apply_temperature(c, dyn_t);
    // Probabilities after the dynamic temperature, in double (the list is sorted).
    const double max_l = c.data[0].logit;
    double sum = 0.0;
    for (std::size_t i = 0; i < c.size; ++i) {
      const double p = std::exp(static_cast<double>(c.data[i].logit) - max_l);
      c.data[i].p = static_cast<float>(p);
      sum += p;
    }
    for (std::size_t i = 0; i < c.size; ++i) c.data[i].p = static_cast<float>(c.data[i].p / sum);
  }
  void accept(token_id /*t*/) {}
  void reset() {}

 private:
  float temp_, range_, exponent_;
};

}  // namespace mmllm
