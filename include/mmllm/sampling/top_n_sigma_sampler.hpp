// mmllm/sampling/top_n_sigma_sampler.hpp — top-n-sigma (llama.cpp "top_n_sigma").
//
// Masks (-inf) candidates whose logit is below max - n * sigma, where sigma is the standard
// deviation of the finite logits, then computes probabilities on the list sorted by logit.
// n <= 0 disables it. Masked candidates are moved to the end without sorting them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string_view>
#include <vector>

#include "token_candidates.hpp"

namespace mmllm {

class top_n_sigma_sampler {
 public:
  explicit top_n_sigma_sampler(float n = -1.0f) : n_(n) {}
  [[nodiscard]] std::string_view name() const { return "top-n-sigma"; }

  void apply(candidate_list& c) {
    if (n_ <= 0.0f || c.size <= 1) return;
    float max_l = c.data[0].logit;
    float sum = 0.0f;
    std::size_t count = 0;
    for (std::size_t i = 0; i < c.size; ++i) {
      const float l = c.data[i].logit;
      if (l != -INFINITY) {
        max_l = std::max(max_l, l);
        sum += l;
        ++count;
      }
    }
    const float mean = count > 0 ? sum / static_cast<float>(count) : 0.0f;
    float acc = 0.0f;
    for (std::size_t i = 0; i < c.size; ++i) {
      const float l = c.data[i].logit;
      if (l != -INFINITY) {
        const double d = static_cast<double>(l - mean);
        acc = static_cast<float>(static_cast<double>(acc) + d * d);
      }
    }
    const float sigma =
        count > 0 ? static_cast<float>(std::sqrt(static_cast<double>(acc / static_cast<float>(count))))
                  : 0.0f;
    const float cut = max_l - n_ * sigma;
    for (std::size_t i = 0; i < c.size; ++i)
      if (c.data[i].logit < cut) c.data[i].logit = -INFINITY;
    // softmax over the list sorted by logit; the -inf tail needs no sorting. The masked
    // candidates move to the end in their order (a stable partition through a reused scratch
    // buffer, no allocation per call), and only the finite head is sorted and normalized:
    // the tail's terms are exactly zero, so the probabilities equal a softmax of the whole list.
    std::size_t keep = 0;
    if (!c.sorted) {
      tail_.clear();
      for (std::size_t i = 0; i < c.size; ++i) {
        if (c.data[i].logit != -INFINITY) {
          c.data[keep++] = c.data[i];
        } else {
          tail_.push_back(c.data[i]);
        }
      }
      std::copy(tail_.begin(), tail_.end(), c.data + keep);
      std::sort(c.data, c.data + keep, detail::logit_greater);
      c.sorted = true;
    } else {
      while (keep < c.size && c.data[keep].logit != -INFINITY) ++keep;
    }
    if (keep == 0) {
      softmax(c, false);
      return;
    }
    candidate_list head{c.data, keep, -1, true};
    softmax(head, false);
    for (std::size_t i = keep; i < c.size; ++i) c.data[i].p = 0.0f;
  }
  void accept(token_id /*t*/) {}
  void reset() {}

 private:
  float n_;
  std::vector<token_data> tail_;  // scratch: the masked candidates during apply
};

}  // namespace mmllm
