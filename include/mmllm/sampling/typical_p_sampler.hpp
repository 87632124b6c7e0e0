// mmllm/sampling/typical_p_sampler.hpp — locally typical sampling (llama.cpp "typ_p",
// parameter typical_p).
//
// With p_i the softmax and H = -sum p_i log p_i, candidates are ordered by |-log p_i - H|
// (most typical first) and the shortest prefix whose cumulative probability exceeds p (and
// has at least min_keep tokens) is kept, in that order (the list is then unsorted).
// p >= 1 disables it. Candidates with probability 0 count as least typical.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <string_view>
#include <vector>

#include "token_candidates.hpp"

namespace mmllm {

class typical_p_sampler {
 public:
  explicit typical_p_sampler(float p = 1.0f, std::size_t min_keep = 0) : p_(p), min_keep_(min_keep) {}
  [[nodiscard]] std::string_view name() const { return "typical"; }

  void apply(candidate_list& c) {
    if (p_ >= 1.0f || c.size == 0) return;
    softmax(c, true);
    // Zero-probability candidates (masked logits) add nothing to the entropy and are the
    // least typical (the peer would compute 0 * log 0 = NaN there).
    float entropy = 0.0f;
    for (std::size_t i = 0; i < c.size; ++i)
      if (c.data[i].p > 0.0f) entropy += -c.data[i].p * std::log(c.data[i].p);
    std::vector<float> shifted(c.size);
    for (std::size_t i = 0; i < c.size; ++i)
      shifted[i] = c.data[i].p > 0.0f ? std::fabs(-std::log(c.data[i].p) - entropy) : INFINITY;
    std::vector<std::size_t> order(c.size);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return shifted[a] < shifted[b]; });
    float cum = 0.0f;
    std::size_t last = order.size();
    for (std::size_t i = 0; i < order.size(); ++i) {
      cum += c.data[order[i]].p;
      if (cum > p_ && (min_keep_ == 0 || i >= min_keep_ - 1)) {
        last = i + 1;
        break;
      }
    }
    std::vector<token_data> kept(last);
    for (std::size_t i = 0; i < last; ++i) kept[i] = c.data[order[i]];
    std::copy(kept.begin(), kept.end(), c.data);
    c.size = last;
    c.sorted = false;
  }
  void accept(token_id /*t*/) {}
  void reset() {}

 private:
  float p_;
  std::size_t min_keep_;
};

}  // namespace mmllm
