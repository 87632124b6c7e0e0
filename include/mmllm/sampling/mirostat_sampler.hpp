// mmllm/sampling/mirostat_sampler.hpp — Mirostat 1 and 2 (llama.cpp mirostat = 1 / 2).
//
// Both select the token themselves (they end a chain) and steer the observed surprise
// -log2 p(token) toward tau with learning rate eta: mu <- mu - eta * (surprise - tau), mu
// starting at 2 tau.
//  * mirostat_sampler (v1): estimates the Zipf exponent s from the m = 100 most likely
//    candidates, keeps the top k = ((s-1) 2^mu / (1 - n_vocab^-(s-1)))^(1/s) and draws.
//  * mirostat_v2_sampler: keeps the candidates with surprise <= mu (at least one) and draws.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "sampling_rng.hpp"
#include "token_candidates.hpp"

namespace mmllm {

namespace detail {
/// Draws an index with probability proportional to the candidates' p.
inline std::size_t draw_from_probabilities(const candidate_list& c, sampling_rng& rng,
                                           std::vector<float>& w) {
  w.resize(c.size);
  for (std::size_t i = 0; i < c.size; ++i) w[i] = c.data[i].p;
  return rng.discrete(w);
}
}  // namespace detail

class mirostat_sampler {
 public:
  mirostat_sampler(std::int32_t n_vocab, std::uint32_t seed, float tau, float eta, std::int32_t m = 100)
      : n_vocab_(n_vocab),
        seed_(seed),
        seed_cur_(resolve_seed(seed)),
        tau_(tau),
        eta_(eta),
        m_(m),
        mu_(2.0f * tau),
        rng_(seed_cur_) {}

  [[nodiscard]] std::string_view name() const { return "mirostat"; }
  [[nodiscard]] std::uint32_t seed() const noexcept { return seed_cur_; }
  [[nodiscard]] float mu() const noexcept { return mu_; }

  void apply(candidate_list& c) {
    if (c.size == 0) {
      c.selected = -1;
      return;
    }
    softmax(c, true);
    float sum_ti_bi = 0.0f, sum_ti_sq = 0.0f;
    for (std::size_t i = 0; i + 1 < static_cast<std::size_t>(std::max(m_, 1)) && i + 1 < c.size; ++i) {
      const float t_i = std::log(static_cast<float>(i + 2) / static_cast<float>(i + 1));
      const float b_i = std::log(c.data[i].p / c.data[i + 1].p);
      sum_ti_bi += t_i * b_i;
      sum_ti_sq += t_i * t_i;
    }
    const float s_hat = sum_ti_bi / sum_ti_sq;
    const float epsilon_hat = s_hat - 1;
    const float k = std::pow(
        (epsilon_hat * std::pow(2.0f, mu_)) / (1 - std::pow(static_cast<float>(n_vocab_), -epsilon_hat)),
        1 / s_hat);
    // int(k) of NaN / huge values is undefined: clamp first (k = 1 for NaN, as no top-k).
    const float k_clamped = std::isnan(k) ? 1.0f : std::min(k, static_cast<float>(c.size));
    keep_top_k(c, static_cast<std::size_t>(std::max(static_cast<int>(k_clamped), 1)));
    softmax(c, true);
    const std::size_t idx = detail::draw_from_probabilities(c, rng_, weights_);
    c.selected = static_cast<std::ptrdiff_t>(idx);
    const float surprise = -std::log2(c.data[idx].p);
    mu_ = mu_ - eta_ * (surprise - tau_);
  }
  void accept(token_id /*t*/) {}
  void reset() {
    mu_ = 2.0f * tau_;
    seed_cur_ = resolve_seed(seed_);
    rng_.seed(seed_cur_);
  }

 private:
  std::int32_t n_vocab_;
  std::uint32_t seed_, seed_cur_;
  float tau_, eta_;
  std::int32_t m_;
  float mu_;
  sampling_rng rng_;
  std::vector<float> weights_;
};

class mirostat_v2_sampler {
 public:
  mirostat_v2_sampler(std::uint32_t seed, float tau, float eta)
      : seed_(seed), seed_cur_(resolve_seed(seed)), tau_(tau), eta_(eta), mu_(2.0f * tau), rng_(seed_cur_) {}

  [[nodiscard]] std::string_view name() const { return "mirostat-v2"; }
  [[nodiscard]] std::uint32_t seed() const noexcept { return seed_cur_; }
  [[nodiscard]] float mu() const noexcept { return mu_; }

  void apply(candidate_list& c) {
    if (c.size == 0) {
      c.selected = -1;
      return;
    }
    softmax(c, true);
    std::size_t n = 0;
    while (n < c.size && !(-std::log2(c.data[n].p) > mu_)) ++n;
    c.size = std::max<std::size_t>(n, 1);
    softmax(c, true);
    const std::size_t idx = detail::draw_from_probabilities(c, rng_, weights_);
    c.selected = static_cast<std::ptrdiff_t>(idx);
    const float surprise = -std::log2(c.data[idx].p);
    mu_ = mu_ - eta_ * (surprise - tau_);
  }
  void accept(token_id /*t*/) {}
  void reset() {
    mu_ = 2.0f * tau_;
    seed_cur_ = resolve_seed(seed_);
    rng_.seed(seed_cur_);
  }

 private:
  std::uint32_t seed_, seed_cur_;
  float tau_, eta_;
  float mu_;
  sampling_rng rng_;
  std::vector<float> weights_;
};

}  // namespace mmllm
