// mmllm/sampling/xtc_sampler.hpp — "exclude top choices" (llama.cpp "xtc").
//
// With probability xtc_probability (one uniform float draw per application), every candidate
// whose probability is at least xtc_threshold except the least likely of them is removed,
// provided at least min_keep candidates remain. xtc_probability <= 0, xtc_threshold > 0.5
// or fewer than two candidates disable it (no random draw then).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sampling_rng.hpp"
#include "token_candidates.hpp"

namespace mmllm {

class xtc_sampler {
 public:
  xtc_sampler(float probability, float threshold, std::size_t min_keep, std::uint32_t seed)
      : probability_(probability),
        threshold_(threshold),
        min_keep_(min_keep),
        seed_(seed),
        seed_cur_(resolve_seed(seed)),
        rng_(seed_cur_) {}

  [[nodiscard]] std::string_view name() const { return "xtc"; }
  [[nodiscard]] std::uint32_t seed() const noexcept { return seed_cur_; }

  void apply(candidate_list& c) {
    if (probability_ <= 0.0f || threshold_ > 0.5f || c.size < 2) return;
    const float chance = rng_.uniform_float();
    if (chance > probability_) return;
    softmax(c, true);
    std::size_t pos_last = 0;
    for (std::size_t i = 0; i < c.size; ++i) {
      if (c.data[i].p >= threshold_) {
        pos_last = i;
      } else {
        break;
      }
    }
    if (c.size - pos_last >= min_keep_ && pos_last > 0) {
      c.data += pos_last;
      c.size -= pos_last;
    }
  }
  void accept(token_id /*t*/) {}
  void reset() {
    seed_cur_ = resolve_seed(seed_);
    rng_.seed(seed_cur_);
  }

 private:
  float probability_, threshold_;
  std::size_t min_keep_;
  std::uint32_t seed_, seed_cur_;
  sampling_rng rng_;
};

}  // namespace mmllm
