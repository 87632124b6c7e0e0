// mmllm/sampling/dist_sampler.hpp — the final selection: a random draw from the softmax of the
// candidates (llama.cpp "dist"), and greedy argmax.
//
// dist_sampler computes p = softmax(logits) (float exp, double sum), draws u uniform in
// [0, 1) and selects the first candidate whose running probability sum reaches u * sum;
// probabilities are normalized in the same pass. Candidates with probability 0 (logit -inf)
// are never selected. A single candidate is selected without a draw.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "sampling_rng.hpp"
#include "token_candidates.hpp"

namespace mmllm {

class dist_sampler {
 public:
  explicit dist_sampler(std::uint32_t seed = default_seed)
      : seed_(seed), seed_cur_(resolve_seed(seed)), rng_(seed_cur_) {}

  [[nodiscard]] std::string_view name() const { return "dist"; }
  [[nodiscard]] std::uint32_t seed() const noexcept { return seed_cur_; }

  void apply(candidate_list& c) {
    if (c.size == 0) {
      c.selected = -1;
      return;
    }
    c.selected = 0;
    if (c.size == 1) {
      c.data[0].p = 1.0f;
      return;
    }
    float max_l = c.data[0].logit;
    if (!c.sorted)
      for (std::size_t i = 1; i < c.size; ++i) max_l = std::max(max_l, c.data[i].logit);
    double sum = 0.0;
    for (std::size_t i = 0; i < c.size; ++i) {
      const float p = std::exp(c.data[i].logit - max_l);
      c.data[i].p = p;
      sum += p;
    }
    const double target = sum * rng_.uniform_double();
    double run = 0.0;
    bool found = false;
    std::size_t last_nonzero = 0;
    for (std::size_t i = 0; i < c.size; ++i) {
      const float p = c.data[i].p;
      if (p > 0.0f) last_nonzero = i;
      if (!found) {
        run += p;
        if (p > 0.0f && run >= target) {
          c.selected = static_cast<std::ptrdiff_t>(i);
          found = true;
        }
      }
      c.data[i].p = static_cast<float>(p / sum);
    }
    if (!found) c.selected = static_cast<std::ptrdiff_t>(last_nonzero);
  }
  void accept(token_id /*t*/) {}
  void reset() {
    seed_cur_ = resolve_seed(seed_);
    rng_.seed(seed_cur_);
  }

 private:
  std::uint32_t seed_, seed_cur_;
  sampling_rng rng_;
};

/// Selects the highest logit (the first one on ties); probabilities are not computed.
class greedy_sampler {
 public:
  [[nodiscard]] std::string_view name() const { return "greedy"; }
  void apply(candidate_list& c) {
    if (c.size == 0) {
      c.selected = -1;
      return;
    }
    std::size_t best = 0;
    for (std::size_t i = 1; i < c.size; ++i)
      if (c.data[i].logit > c.data[best].logit) best = i;
    c.selected = static_cast<std::ptrdiff_t>(best);
  }
  void accept(token_id /*t*/) {}
  void reset() {}
};

}  // namespace mmllm
