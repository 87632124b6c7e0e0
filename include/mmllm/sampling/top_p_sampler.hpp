// mmllm/sampling/top_p_sampler.hpp — nucleus sampling (llama.cpp "top_p").
//
// Keeps the smallest highest-probability prefix whose cumulative probability reaches p (and
// at least min_keep tokens); p >= 1 disables it. Probabilities are a softmax over the current
// candidates. An unsorted list larger than 1024 is first searched among its 256 best
// candidates (partial selection); only when they do not reach p is everything sorted.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

#include "token_candidates.hpp"

namespace mmllm {

class top_p_sampler {
 public:
  explicit top_p_sampler(float p = 0.95f, std::size_t min_keep = 0) : p_(p), min_keep_(min_keep) {}
  top_p_sampler(const top_p_sampler& o) : p_(o.p_), min_keep_(o.min_keep_) {}  // scratch is not state
  top_p_sampler& operator=(const top_p_sampler& o) {
    p_ = o.p_;
    min_keep_ = o.min_keep_;
    return *this;
  }
  top_p_sampler(top_p_sampler&&) noexcept = default;
  top_p_sampler& operator=(top_p_sampler&&) noexcept = default;
  ~top_p_sampler() = default;

  [[nodiscard]] std::string_view name() const { return "top-p"; }

  void apply(candidate_list& c) {
    if (p_ >= 1.0f || c.size == 0) return;
    softmax(c, false);
    const token_data* sorted = c.data;
    std::size_t have = c.size;  // how many of `sorted` are in order
    const bool was_sorted = c.sorted;
    if (!c.sorted) {
      if (c.size > 1024) {
        select_top({c.data, c.size}, 256, scratch_);
      } else {
        scratch_.assign(c.data, c.data + c.size);
        std::sort(scratch_.begin(), scratch_.end(), detail::logit_greater);
      }
      sorted = scratch_.data();
      have = scratch_.size();
    }
    float cum = 0.0f;
    std::size_t last = c.size;
    for (std::size_t i = 0; i < c.size; ++i) {
      if (i == have) {  // the partial selection was not enough: sort everything
        scratch_.assign(c.data, c.data + c.size);
        std::sort(scratch_.begin(), scratch_.end(), detail::logit_greater);
        sorted = scratch_.data();
        have = scratch_.size();
      }
      cum += sorted[i].p;
      if (cum >= p_ && i + 1 >= min_keep_) {
        last = i + 1;
        break;
      }
    }
    if (!was_sorted) {
      std::copy(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(last), c.data);
      c.sorted = true;
    }
    c.size = last;
  }
  void accept(token_id /*t*/) {}
  void reset() {}

 private:
  float p_;
  std::size_t min_keep_;
  std::vector<token_data> scratch_;
};

}  // namespace mmllm
