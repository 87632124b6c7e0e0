// mmllm/sampling/dry_sampler.hpp — DRY ("don't repeat yourself") repetition penalty
// (llama.cpp "dry": dry_multiplier, dry_base, dry_allowed_length, dry_penalty_last_n,
// dry_sequence_breakers).
//
// Over the last N accepted tokens (N = dry_penalty_last_n, bounded by the context size), a
// candidate that would extend a repeat of length L >= dry_allowed_length (the tokens before it
// reoccur earlier in the window, followed there by that candidate) loses
// dry_multiplier * dry_base^(L - dry_allowed_length) from its logit (the exponent is clamped
// so the power stays finite). Repeats do not extend past the most recent sequence breaker:
// breakers are token sequences (a head token plus tail tokens, built from breaker strings by
// make_dry_breakers in dry_breakers.hpp); single-token breakers are never penalized.
// Disabled when dry_multiplier == 0, dry_base < 1 or dry_penalty_last_n == 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "token_candidates.hpp"

namespace mmllm {

/// Sequence breakers as token sequences: head token -> tails (an empty tail means the head
/// alone is a breaker). Immutable and shared between copies of a sampler.
using dry_breaker_table = std::unordered_multimap<token_id, std::vector<token_id>>;

class dry_sampler {
 public:
  /// `context_size`: the largest window (llama.cpp passes the model's training context);
  /// `penalty_last_n` = -1 means the whole context.
  dry_sampler(std::int32_t context_size, float multiplier, float base, std::int32_t allowed_length,
              std::int32_t penalty_last_n, std::shared_ptr<const dry_breaker_table> breakers = nullptr)
      : context_size_(std::max(context_size, 0)),
        multiplier_(multiplier),
        base_(base),
        allowed_length_(allowed_length),
        penalty_last_n_(penalty_last_n),
        breakers_(std::move(breakers)) {
    if (enabled()) {
      const std::int32_t n = penalty_last_n_ == -1 ? context_size_ : std::max(penalty_last_n_, 0);
      ring_.resize(static_cast<std::size_t>(n));
    }
  }

  [[nodiscard]] std::string_view name() const { return "dry"; }
  [[nodiscard]] bool enabled() const noexcept {
    return multiplier_ != 0.0f && base_ >= 1.0f && penalty_last_n_ != 0;
  }

  void accept(token_id t) {
    if (!enabled() || ring_.empty()) return;
    ring_[head_] = t;
    head_ = (head_ + 1) % ring_.size();
    filled_ = std::min(filled_ + 1, ring_.size());
  }

  void reset() {
    filled_ = 0;
    head_ = 0;
  }

  void apply(candidate_list& c) {
    if (!enabled()) return;
    const std::int32_t eff = penalty_last_n_ == -1 ? context_size_ : std::max(penalty_last_n_, 0);
    const int n =
        std::min({static_cast<int>(filled_), static_cast<int>(eff), static_cast<int>(context_size_)});
    if (n <= allowed_length_) return;

    // 1. The most recent breaker limits how far back a repeat may reach.
    int rep_limit = n;
    if (breakers_) {
      for (int i = 0; i < n; ++i) {
        const auto range = breakers_->equal_range(back(i));
        if (range.first == range.second) continue;
        int longest = -1;
        for (auto it = range.first; it != range.second; ++it) {
          const int len = static_cast<int>(it->second.size());
          if (len > longest && len <= i) {
            bool match = true;
            for (int k = 0; k < len && match; ++k)
              match = it->second[static_cast<std::size_t>(k)] == back(i - k - 1);
            if (match) longest = len;
          }
        }
        if (longest >= 0) {
          rep_limit = i - longest;
          break;
        }
      }
    }
    if (rep_limit < allowed_length_) return;

    // 2. z[k] = length of the longest common prefix of the window read backwards from the
    //    newest token and from k tokens earlier (Z-function of the reversed window), capped.
    z_.assign(static_cast<std::size_t>(n), 0);
    for (int k = 1, l = 0, r = 0; k < n; ++k) {
      int len = 0;
      if (k < r) len = std::min(r - k, z_[static_cast<std::size_t>(k - l)]);
      while (k + len < n && back(len) == back(k + len)) ++len;
      z_[static_cast<std::size_t>(k)] = len;
      if (k + len > r) {
        l = k;
        r = k + len;
      }
    }

    // 3. The token that followed each repeat would extend it.
    max_repeat_.clear();
    for (int k = 1; k < n; ++k) {
      const int len = std::min(z_[static_cast<std::size_t>(k)], rep_limit);
      if (len >= allowed_length_) {
        const token_id next = back(k - 1);
        auto [it, inserted] = max_repeat_.try_emplace(next, len);
        if (!inserted && it->second < len) it->second = len;
      }
    }
    if (max_repeat_.empty()) return;

    // 4. Penalize.
    constexpr float float_max_log = 88.7228391f;  // log(FLT_MAX)
    int max_exponent = 0;
    if (base_ > 1.000001f) max_exponent = static_cast<int>(float_max_log / std::log(base_));
    auto penalize = [&](token_data& t, int len) {
      if (is_single_token_breaker(t.id)) return;
      int e = len - allowed_length_;
      if (max_exponent > 0 && e > max_exponent) e = max_exponent;
      t.logit -=
          static_cast<float>(static_cast<double>(multiplier_) * std::pow(static_cast<double>(base_), e));
    };
    bool need_search = false;
    for (const auto& [id, len] : max_repeat_) {
      const auto i = static_cast<std::size_t>(id);
      if (id >= 0 && i < c.size && c.data[i].id == id) {
        penalize(c.data[i], len);
      } else {
        need_search = true;
      }
    }
    if (need_search) {
      for (std::size_t i = 0; i < c.size; ++i) {
        const token_id id = c.data[i].id;
        if (id >= 0 && static_cast<std::size_t>(id) < c.size && c.data[static_cast<std::size_t>(id)].id == id)
          continue;
        const auto it = max_repeat_.find(id);
        if (it != max_repeat_.end()) penalize(c.data[i], it->second);
      }
    }
    c.sorted = false;
  }

 private:
  std::int32_t context_size_;
  float multiplier_, base_;
  std::int32_t allowed_length_, penalty_last_n_;
  std::shared_ptr<const dry_breaker_table> breakers_;
  std::vector<token_id> ring_;
  std::size_t filled_ = 0, head_ = 0;
  std::vector<int> z_;                            // scratch
  std::unordered_map<token_id, int> max_repeat_;  // scratch

  /// The i-th most recent accepted token (0 = newest).
  [[nodiscard]] token_id back(int i) const noexcept {
    const std::size_t cap = ring_.size();
    return ring_[(head_ + cap - 1 - static_cast<std::size_t>(i)) % cap];
  }
  [[nodiscard]] bool is_single_token_breaker(token_id id) const {
    if (!breakers_) return false;
    const auto range = breakers_->equal_range(id);
    for (auto it = range.first; it != range.second; ++it)
      if (it->second.empty()) return true;
    return false;
  }
};

}  // namespace mmllm
