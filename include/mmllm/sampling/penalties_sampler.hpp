// mmllm/sampling/penalties_sampler.hpp — repetition, frequency and presence penalties
// (llama.cpp "penalties": repeat_last_n, repeat_penalty, frequency_penalty, presence_penalty).
//
// For every candidate that occurs c > 0 times among the last repeat_last_n accepted tokens:
// logit <= 0 ? logit *= repeat_penalty : logit /= repeat_penalty, then
// logit -= c * frequency_penalty + presence_penalty. repeat_last_n = 0 disables it (resolve
// -1, "the context size", before constructing: make_sampler_chain does). Disabled as well
// when repeat = 1, frequency = presence = 0. Cost: O(distinct tokens in the window) when the
// candidate at index id has that id (a freshly filled list), else one pass over the list.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "token_candidates.hpp"

namespace mmllm {

class penalties_sampler {
 public:
  penalties_sampler(std::int32_t last_n, float repeat, float frequency, float presence)
      : last_n_(std::max(last_n, 0)), repeat_(repeat), frequency_(frequency), presence_(presence) {
    ring_.resize(static_cast<std::size_t>(last_n_));
  }

  [[nodiscard]] std::string_view name() const { return "penalties"; }

  void accept(token_id t) {
    if (last_n_ == 0) return;
    ++counts_[t];
    if (filled_ >= ring_.size()) {  // the oldest token leaves the window
      const token_id old = ring_[head_];
      auto it = counts_.find(old);
      if (it != counts_.end() && --it->second == 0) counts_.erase(it);
    } else {
      ++filled_;
    }
    ring_[head_] = t;
    head_ = (head_ + 1) % ring_.size();
  }

  void apply(candidate_list& c) {
    if (last_n_ == 0 || (repeat_ == 1.0f && frequency_ == 0.0f && presence_ == 0.0f) || counts_.empty())
      return;
    bool need_search = false;
    for (const auto& [id, count] : counts_) {
      const auto i = static_cast<std::size_t>(id);
      if (id >= 0 && i < c.size && c.data[i].id == id) {
        penalize(c.data[i], count);
      } else {
        need_search = true;
      }
    }
    if (need_search) {
      for (std::size_t i = 0; i < c.size; ++i) {
        const token_id id = c.data[i].id;
        if (static_cast<std::size_t>(id) < c.size && id >= 0 && c.data[static_cast<std::size_t>(id)].id == id)
          continue;  // handled above
        const auto it = counts_.find(id);
        if (it != counts_.end()) penalize(c.data[i], it->second);
      }
    }
    c.sorted = false;
  }

  void reset() {
    counts_.clear();
    filled_ = 0;
    head_ = 0;
  }

  /// Occurrences of `t` in the current window.
  [[nodiscard]] int count(token_id t) const {
    const auto it = counts_.find(t);
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  std::int32_t last_n_;
  float repeat_, frequency_, presence_;
  std::vector<token_id> ring_;
  std::size_t filled_ = 0, head_ = 0;
  std::unordered_map<token_id, int> counts_;

  void penalize(token_data& t, int count) const {
    if (t.logit <= 0) {
      t.logit *= repeat_;
    } else {
      t.logit /= repeat_;
    }
    t.logit -= static_cast<float>(count) * frequency_ + static_cast<float>(count > 0) * presence_;
  }
};

}  // namespace mmllm
