// mmllm/sampling/logit_bias_sampler.hpp — additive per-token logit biases (llama.cpp
// "logit-bias"; also how ignore_eos bans end-of-generation tokens, with bias -inf).
//
//   mmllm::logit_bias_sampler s({{15043, +1.0f}, {2, -INFINITY}});
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

#include "token_candidates.hpp"

namespace mmllm {

/// One bias: token id and the value added to its logit (-inf bans the token).
struct logit_bias_entry {
  token_id token = no_token;
  float bias = 0.0f;
  bool operator==(const logit_bias_entry&) const = default;
};

class logit_bias_sampler {
 public:
  explicit logit_bias_sampler(std::vector<logit_bias_entry> biases = {}) : biases_(std::move(biases)) {}
  logit_bias_sampler(const logit_bias_sampler& o) : biases_(o.biases_) {}
  logit_bias_sampler& operator=(const logit_bias_sampler& o) {
    biases_ = o.biases_;
    return *this;
  }
  logit_bias_sampler(logit_bias_sampler&&) noexcept = default;
  logit_bias_sampler& operator=(logit_bias_sampler&&) noexcept = default;
  ~logit_bias_sampler() = default;

  [[nodiscard]] std::string_view name() const { return "logit-bias"; }
  [[nodiscard]] const std::vector<logit_bias_entry>& biases() const noexcept { return biases_; }

  void apply(candidate_list& c) {
    if (biases_.empty()) return;
    search_.clear();
    for (const logit_bias_entry& b : biases_) {
      const auto i = static_cast<std::size_t>(b.token);
      if (b.token >= 0 && i < c.size && c.data[i].id == b.token) {
        c.data[i].logit += b.bias;
      } else {
        search_.push_back(b);
      }
    }
    if (search_.empty()) return;
    for (std::size_t i = 0; i < c.size; ++i) {
      for (const logit_bias_entry& b : search_) {
        if (c.data[i].id == b.token) {
          c.data[i].logit += b.bias;
          break;
        }
      }
    }
  }
  void accept(token_id /*t*/) {}
  void reset() {}

 private:
  std::vector<logit_bias_entry> biases_;
  std::vector<logit_bias_entry> search_;  // scratch
};

}  // namespace mmllm
