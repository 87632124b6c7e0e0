// mmllm/sampling/top_k_sampler.hpp — keep the k highest-logit candidates (llama.cpp "top_k").
//
// k <= 0 disables it. The result is sorted by logit; for k much smaller than the candidate
// count the selection is one pass plus a sort of k items (no full sort).
#pragma once

#include <cstdint>
#include <string_view>

#include "token_candidates.hpp"

namespace mmllm {

class top_k_sampler {
 public:
  explicit top_k_sampler(std::int32_t k = 40) : k_(k) {}
  [[nodiscard]] std::string_view name() const { return "top-k"; }
  void apply(candidate_list& c) {
    if (k_ <= 0) return;
    keep_top_k(c, static_cast<std::size_t>(k_));
  }
  void accept(token_id /*t*/) {}
  void reset() {}

 private:
  std::int32_t k_;
};

}  // namespace mmllm
