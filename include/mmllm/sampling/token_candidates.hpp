// mmllm/sampling/token_candidates.hpp — the candidate tokens samplers work on.
//
// A `candidate_list` is a view of (id, logit, p) triples plus the index a selecting sampler
// chose and whether the list is sorted by logit (descending). Samplers shrink it (top-k,
// top-p …), rescale logits (temperature, penalties) or select a token (dist, mirostat),
// as llama.cpp's llama_token_data_array is used by its samplers. `candidate_buffer` owns the
// storage and fills it from a row of logits:
//
//   mmllm::candidate_buffer buf;
//   mmllm::candidate_list& c = buf.fill(logits);   // ids 0..n-1, unsorted
//   mmllm::keep_top_k(c, 40);                       // partial selection, sorted
//   mmllm::softmax(c, false);                       // c.data[i].p
//
// Helpers avoid full sorts where a partial selection suffices: keep_top_k and select_top
// run in O(n) for small k (a running threshold over one pass, then a sort of k items).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "../tokenize/vocabulary.hpp"

namespace mmllm {

/// One candidate token: id, logit and (after a softmax) probability.
struct token_data {
  token_id id = 0;
  float logit = 0.0f;
  float p = 0.0f;
};

/// A view of candidate tokens (storage is owned elsewhere, e.g. by a candidate_buffer).
struct candidate_list {
  token_data* data = nullptr;
  std::size_t size = 0;
  /// Index (into data) of the token a selecting sampler chose; -1 when none yet.
  std::ptrdiff_t selected = -1;
  /// True when data is sorted by logit, highest first.
  bool sorted = false;

  [[nodiscard]] std::span<token_data> view() const noexcept { return {data, size}; }
  [[nodiscard]] token_data& operator[](std::size_t i) const noexcept { return data[i]; }
  [[nodiscard]] bool empty() const noexcept { return size == 0; }
  [[nodiscard]] token_data* begin() const noexcept { return data; }
  [[nodiscard]] token_data* end() const noexcept { return data + size; }
  /// The selected token's id, or no_token.
  [[nodiscard]] token_id selected_id() const noexcept {
    return selected >= 0 && static_cast<std::size_t>(selected) < size ? data[selected].id : no_token;
  }
};

/// Owning storage for a candidate_list.
class candidate_buffer {
 public:
  /// Resets the list to every token of `logits` (id = index), unsorted, nothing selected.
  /// NaN logits become -inf (sorting needs a strict weak order).
  candidate_list& fill(std::span<const float> logits) {
    storage_.resize(logits.size());
    for (std::size_t i = 0; i < logits.size(); ++i) {
      const float l = logits[i];
      storage_[i] = token_data{static_cast<token_id>(i), std::isnan(l) ? -INFINITY : l, 0.0f};
    }
    list_ = candidate_list{storage_.data(), storage_.size(), -1, false};
    return list_;
  }
  /// Resets the list to the given candidates.
  candidate_list& assign(std::span<const token_data> items) {
    storage_.assign(items.begin(), items.end());
    for (token_data& t : storage_)
      if (std::isnan(t.logit)) t.logit = -INFINITY;
    list_ = candidate_list{storage_.data(), storage_.size(), -1, false};
    return list_;
  }
  [[nodiscard]] candidate_list& list() noexcept { return list_; }
  [[nodiscard]] const candidate_list& list() const noexcept { return list_; }

  candidate_buffer() = default;
  candidate_buffer(const candidate_buffer& o) { copy_from(o); }
  candidate_buffer& operator=(const candidate_buffer& o) {
    if (this != &o) copy_from(o);
    return *this;
  }
  candidate_buffer(candidate_buffer&&) noexcept = default;
  candidate_buffer& operator=(candidate_buffer&&) noexcept = default;
  ~candidate_buffer() = default;

 private:
  std::vector<token_data> storage_;
  candidate_list list_;

  void copy_from(const candidate_buffer& o) {
    storage_ = o.storage_;
    list_ = o.list_;
    if (o.list_.data != nullptr) list_.data = storage_.data() + (o.list_.data - o.storage_.data());
  }
};

namespace detail {
inline bool logit_greater(const token_data& a, const token_data& b) noexcept { return a.logit > b.logit; }
}  // namespace detail

/// Writes the `k` highest-logit candidates of `src` into `out`, sorted (highest first), without
/// changing `src`. One pass with a running threshold plus sorts of O(k) items.
inline void select_top(std::span<const token_data> src, std::size_t k, std::vector<token_data>& out) {
  out.clear();
  k = std::min(k, src.size());
  if (k == 0) return;
  if (k == src.size() || src.size() <= 256) {
    out.assign(src.begin(), src.end());
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(),
                      detail::logit_greater);
    out.resize(k);
    return;
  }
  const std::size_t cap = std::max<std::size_t>(4 * k, 128);
  out.reserve(cap + 1);
  float threshold = -INFINITY;
  bool have_threshold = false;
  for (const token_data& t : src) {
    if (have_threshold && !(t.logit > threshold)) continue;
    out.push_back(t);
    if (out.size() >= cap) {
      std::nth_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k - 1), out.end(),
                       detail::logit_greater);
      out.resize(k);
      threshold = out[k - 1].logit;  // the k-th highest so far; equal logits add nothing
      have_threshold = true;
    }
  }
  const std::size_t n = std::min(k, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), out.end(),
                    detail::logit_greater);
  out.resize(n);
}

/// Keeps the `k` highest-logit candidates (sorted, highest first); k >= size sorts the list.
/// In place and allocation-free: a running-threshold filter compacts survivors to the front.
inline void keep_top_k(candidate_list& c, std::size_t k) {
  k = std::min(k, c.size);
  if (k == 0) {
    c.size = 0;
    c.sorted = true;
    return;
  }
  token_data* d = c.data;
  if (c.sorted) {
    c.size = k;
    return;
  }
  if (k == c.size || c.size <= 256) {
    std::partial_sort(d, d + k, d + c.size, detail::logit_greater);
  } else {
    const std::size_t cap = std::max<std::size_t>(4 * k, 128);
    std::size_t w = 0;
    float threshold = -INFINITY;
    bool have_threshold = false;
    for (std::size_t i = 0; i < c.size; ++i) {
      if (have_threshold && !(d[i].logit > threshold)) continue;
      d[w++] = d[i];
      if (w >= cap) {
        std::nth_element(d, d + (k - 1), d + w, detail::logit_greater);
        w = k;
        threshold = d[k - 1].logit;
        have_threshold = true;
      }
    }
    k = std::min(k, w);
    std::partial_sort(d, d + k, d + w, detail::logit_greater);
  }
  c.size = k;
  c.sorted = true;
}

/// Sorts the whole list by logit (highest first) unless it already is.
inline void sort_candidates(candidate_list& c) {
  if (!c.sorted) std::sort(c.data, c.data + c.size, detail::logit_greater);
  c.sorted = true;
}

/// Softmax over the list's logits into p (float arithmetic as the peer: p = expf(l - max),
/// normalized by the float sum in list order); `sort` sorts by logit first.
inline void softmax(candidate_list& c, bool sort) {
  if (c.size == 0) return;
  if (sort) sort_candidates(c);
  float max_l = c.data[0].logit;
  if (!c.sorted)
    for (std::size_t i = 1; i < c.size; ++i) max_l = std::max(max_l, c.data[i].logit);
  float sum = 0.0f;
  for (std::size_t i = 0; i < c.size; ++i) {
    const float p = std::exp(c.data[i].logit - max_l);
    c.data[i].p = p;
    sum += p;
  }
  for (std::size_t i = 0; i < c.size; ++i) c.data[i].p /= sum;
}

}  // namespace mmllm
