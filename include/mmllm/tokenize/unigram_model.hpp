// mmllm/tokenize/unigram_model.hpp — Unigram language-model tokenization (Viterbi).
//
// Hugging Face's Unigram model (T5, XLM-R, ALBERT … tokenizer.json files): the best
// segmentation of a pre-tokenized word maximizes the sum of piece scores (log
// probabilities). A character no piece covers scores `unknown_score` (lowest score - 10) and
// becomes the unknown token; consecutive unknowns fuse into one; with byte_fallback an
// unknown character becomes its <0xXX> byte tokens instead (when they all exist).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "unicode.hpp"
#include "vocabulary.hpp"

namespace mmllm {

struct unigram_params {
  token_id unk = no_token;
  double unknown_score = 0.0;  ///< min score - 10
  bool byte_fallback = false;
};

/// Appends the Viterbi segmentation of `word` to `out`.
inline void unigram_tokenize(const vocabulary& vocab, const unigram_params& p,
                             const std::array<token_id, 256>& byte_tokens, std::string_view word,
                             std::vector<token_id>& out) {
  if (word.empty()) return;
  std::vector<std::size_t> bounds;
  for (std::size_t pos = 0; pos < word.size();) {
    bounds.push_back(pos);
    pos += utf8_decode(word, pos).length;
  }
  const std::size_t n = bounds.size();
  bounds.push_back(word.size());
  struct best {
    double score;
    std::size_t from;  // char index where the last piece starts
    token_id id;       // no_token: unknown character
  };
  std::vector<best> dp(n + 1, {-std::numeric_limits<double>::infinity(), 0, no_token});
  dp[0].score = 0;
  const std::size_t max_bytes = vocab.max_token_bytes();
  for (std::size_t i = 0; i < n; ++i) {
    if (dp[i].score == -std::numeric_limits<double>::infinity()) continue;
    bool single = false;
    for (std::size_t j = i + 1; j <= n && bounds[j] - bounds[i] <= max_bytes; ++j) {
      const token_id id = vocab.find(word.substr(bounds[i], bounds[j] - bounds[i]));
      if (id == no_token) continue;
      if ((vocab.attr(id) & (token_attr::control | token_attr::unknown)) != 0) continue;
      if (j == i + 1) single = true;
      const double s =
          dp[i].score + ((vocab.attr(id) & token_attr::user_defined) != 0 ? 0.0 : vocab.score(id));
      if (s > dp[j].score) dp[j] = {s, i, id};
    }
    if (!single) {
      const double s = dp[i].score + p.unknown_score;
      if (s > dp[i + 1].score) dp[i + 1] = {s, i, no_token};
    }
  }
  std::vector<std::pair<std::size_t, token_id>> pieces;  // (start char, id)
  for (std::size_t j = n; j > 0; j = dp[j].from) pieces.emplace_back(dp[j].from, dp[j].id);
  std::reverse(pieces.begin(), pieces.end());
  bool prev_unk = false;
  for (std::size_t k = 0; k < pieces.size(); ++k) {
    const auto [from, id] = pieces[k];
    if (id != no_token) {
      out.push_back(id);
      prev_unk = false;
      continue;
    }
    const std::size_t to = k + 1 < pieces.size() ? pieces[k + 1].first : n;
    const std::string_view chars = word.substr(bounds[from], bounds[to] - bounds[from]);
    if (p.byte_fallback && std::all_of(chars.begin(), chars.end(), [&](char c) {
          return byte_tokens[static_cast<unsigned char>(c)] != no_token;
        })) {
      for (const char c : chars) out.push_back(byte_tokens[static_cast<unsigned char>(c)]);
      prev_unk = false;
      continue;
    }
    if (!prev_unk) out.push_back(p.unk);
    prev_unk = true;
  }
}

}  // namespace mmllm
