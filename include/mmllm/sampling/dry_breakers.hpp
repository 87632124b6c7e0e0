// mmllm/sampling/dry_breakers.hpp — DRY sequence breakers from strings (dry_sequence_breakers).
//
// A breaker string (at most 40 bytes kept) becomes token sequences for the DRY sampler: every
// token whose text contains the string is a single-token breaker; every token whose text ends
// with a proper prefix of the string becomes a head whose tail is the tokenization of the rest
// (at most 20 tokens). Token texts are single-token decodes with special tokens rendered.
//
//   auto table = mmllm::make_dry_breakers(tok, {"\n", ":", "\"", "*"});
//   mmllm::dry_sampler dry(n_ctx, 0.8f, 1.75f, 2, -1, table);
#pragma once

#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../tokenize/tokenizer.hpp"
#include "dry_sampler.hpp"

namespace mmllm {

/// Builds the breaker table (one pass over the vocabulary per breaker). Empty strings are skipped.
inline std::shared_ptr<const dry_breaker_table> make_dry_breakers(const tokenizer& tok,
                                                                  std::span<const std::string> breakers) {
  constexpr std::size_t max_chars = 40, max_tail = 20;
  auto table = std::make_shared<dry_breaker_table>();
  if (!tok.valid()) return table;
  const auto n = static_cast<token_id>(tok.size());
  std::vector<std::string> words(static_cast<std::size_t>(n));
  for (token_id id = 0; id < n; ++id) {
    const token_id one[1] = {id};
    words[static_cast<std::size_t>(id)] = tok.decode(one);
  }
  for (std::string b : breakers) {
    if (b.empty()) continue;
    if (b.size() > max_chars) b.resize(max_chars);
    for (token_id id = 0; id < n; ++id) {
      const std::string& w = words[static_cast<std::size_t>(id)];
      if (w.find(b) != std::string::npos) {
        bool dup = false;
        const auto r = table->equal_range(id);
        for (auto it = r.first; it != r.second && !dup; ++it) dup = it->second.empty();
        if (!dup) table->emplace(id, std::vector<token_id>{});
        continue;
      }
      // the token's text ends with b[0 .. k) for some 0 < k < |b|
      for (std::size_t pos = w.find(b[0]); pos != std::string::npos; pos = w.find(b[0], pos + 1)) {
        const std::size_t k = w.size() - pos;
        if (k >= b.size() || std::string_view(w).substr(pos) != std::string_view(b).substr(0, k)) continue;
        std::vector<token_id> tail = tok.encode(std::string_view(b).substr(k), {false, false});
        if (tail.size() > max_tail) tail.resize(max_tail);
        bool dup = false;
        const auto r = table->equal_range(id);
        for (auto it = r.first; it != r.second && !dup; ++it) dup = it->second == tail;
        if (!dup) table->emplace(id, std::move(tail));
      }
    }
  }
  return table;
}

}  // namespace mmllm
