// mmllm/sampling/min_p_sampler.hpp — min-p sampling (llama.cpp "min_p").
//
// Keeps candidates whose probability is at least p times the highest probability, i.e.
// logit >= max_logit + log(p), and at least min_keep of them; p <= 0 disables it. An
// unsorted list is filtered in place without sorting (order kept); only when that leaves
// fewer than min_keep tokens is the list sorted and cut.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <string_view>

#include "token_candidates.hpp"

namespace mmllm {

class min_p_sampler {
 public:
  explicit min_p_sampler(float p = 0.05f, std::size_t min_keep = 0) : p_(p), min_keep_(min_keep) {}
  [[nodiscard]] std::string_view name() const { return "min-p"; }

  void apply(candidate_list& c) {
    if (p_ <= 0.0f || c.size == 0) return;
    if (!c.sorted) {
      float max_l = -FLT_MAX;
      for (std::size_t i = 0; i < c.size; ++i) max_l = std::max(max_l, c.data[i].logit);
      const float min_l = max_l + std::log(p_);
      std::size_t n = 0;
      for (std::size_t i = 0; i < c.size; ++i)
        if (c.data[i].logit >= min_l) ++n;
      if (n > 0 && n >= min_keep_) {
        std::size_t w = 0;
        for (std::size_t i = 0; i < c.size; ++i)
          if (c.data[i].logit >= min_l) c.data[w++] = c.data[i];
        c.size = w;
        return;
      }
      sort_candidates(c);
    }
    const float min_l = c.data[0].logit + std::log(p_);
    std::size_t i = 1;  // the best token always stays
    for (; i < c.size; ++i)
      if (c.data[i].logit < min_l && i >= min_keep_) break;
    c.size = i;
  }
  void accept(token_id /*t*/) {}
  void reset() {}

 private:
  float p_;
  std::size_t min_keep_;
};

}  // namespace mmllm
