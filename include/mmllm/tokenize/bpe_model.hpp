// mmllm/tokenize/bpe_model.hpp — byte-pair-encoding merges over symbol ids.
//
// `bpe_model` holds a merge table (pair of symbols → rank and merged symbol) built from a
// vocabulary and its ranked merge list, and applies it to a word: repeatedly merge the
// adjacent pair with the lowest rank, the leftmost one on ties (what the peer, Hugging Face
// tokenizers and transformers.js all do). Symbols are vocabulary ids; strings that occur in
// merges but are not tokens get extra symbol ids >= vocabulary size, so merging follows the
// merge list exactly even for inconsistent vocabularies.
//
//   mmllm::bpe_model m;
//   m.build(vocab, merges /* vector<pair<string_view,string_view>> in rank order */, true);
//   std::vector<std::int32_t> syms = {...};   // one symbol per initial character
//   m.apply(syms, scratch);                     // syms now holds the merged symbols
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <queue>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vocabulary.hpp"

namespace mmllm {

/// Per-call cache of tokenized words (see detail::word_cache).
using bpe_word_cache = detail::word_cache;

/// Reusable buffers for bpe_model::apply (one per thread / call site).
struct bpe_scratch {
  bpe_word_cache cache;
  std::vector<std::uint32_t> ranks;
  std::vector<std::int32_t> results;
  struct node {
    std::int32_t symbol;
    std::int32_t prev;
    std::int32_t next;
  };
  std::vector<node> nodes;
  struct candidate {
    std::uint32_t rank;
    std::int32_t left;
    std::int32_t right;
    std::int32_t left_symbol;
    std::int32_t right_symbol;
    std::int32_t result;
  };
  struct worse {
    bool operator()(const candidate& a, const candidate& b) const noexcept {
      return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
    }
  };
  std::vector<candidate> heap;
};

class bpe_model {
 public:
  static constexpr std::uint32_t no_rank = 0xFFFFFFFFu;

  /// Builds the merge table. `merges` are (left, right) strings in rank order; with
  /// duplicate pairs the first (peer) or the last (Hugging Face, transformers.js) wins.
  void build(const vocabulary& vocab,
             const std::vector<std::pair<std::string_view, std::string_view>>& merges,
             bool first_duplicate_wins) {
    vocab_ = &vocab;
    n_vocab_ = static_cast<std::int32_t>(vocab.size());
    table_.reserve(merges.size());
    std::string joined;
    for (std::size_t r = 0; r < merges.size(); ++r) {
      const std::int32_t a = intern(merges[r].first);
      const std::int32_t b = intern(merges[r].second);
      joined.assign(merges[r].first);
      joined.append(merges[r].second);
      const std::int32_t c = intern(joined);
      const std::uint64_t key =
          (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
      const std::uint64_t value = (static_cast<std::uint64_t>(r) << 32) | static_cast<std::uint32_t>(c);
      table_.insert(key, value, !first_duplicate_wins);
    }
  }

  /// Number of merges.
  [[nodiscard]] std::size_t size() const noexcept { return table_.size(); }

  /// Symbol of a string: its token id, an extra id, or -1 when it takes part in no merge
  /// and is not a token.
  [[nodiscard]] std::int32_t symbol_of(std::string_view s) const noexcept {
    const token_id id = vocab_->find(s);
    if (id != no_token) return id;
    const std::int32_t e = extras_.find(s);
    return e < 0 ? -1 : n_vocab_ + e;
  }
  /// True when the symbol is a vocabulary token.
  [[nodiscard]] bool is_token(std::int32_t sym) const noexcept { return sym >= 0 && sym < n_vocab_; }
  /// The text of a symbol (>= 0).
  [[nodiscard]] std::string_view symbol_text(std::int32_t sym) const noexcept {
    return sym < n_vocab_ ? vocab_->text(sym) : extras_.at(sym - n_vocab_);
  }

  /// Rank and result of merging (a, b), or no_rank.
  [[nodiscard]] std::pair<std::uint32_t, std::int32_t> lookup(std::int32_t a, std::int32_t b) const noexcept {
    if (a < 0 || b < 0) return {no_rank, -1};
    const std::uint64_t* v = table_.find((static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
                                         static_cast<std::uint32_t>(b));
    if (v == nullptr) return {no_rank, -1};
    return {static_cast<std::uint32_t>(*v >> 32), static_cast<std::int32_t>(*v & 0xFFFFFFFFu)};
  }

  /// Merges `syms` in place. Symbols < 0 (unknown characters) never merge.
  void apply(std::vector<std::int32_t>& syms, bpe_scratch& s) const {
    const std::size_t n = syms.size();
    if (n < 2) return;
    if (n <= 48) {
      apply_small(syms, s);
    } else {
      apply_heap(syms, s);
    }
  }

 private:
  const vocabulary* vocab_ = nullptr;
  std::int32_t n_vocab_ = 0;
  detail::u64_map table_;
  detail::string_table extras_;

  std::int32_t intern(std::string_view s) {
    const token_id id = vocab_->find(s);
    if (id != no_token) return id;
    const std::int32_t e = extras_.find(s);
    if (e >= 0) return n_vocab_ + e;
    return n_vocab_ + extras_.push_indexed(s);
  }

  // O(n^2) scan with cached pair ranks: fastest for the short words of pre-tokenized text.
  void apply_small(std::vector<std::int32_t>& syms, bpe_scratch& s) const {
    std::size_t n = syms.size();
    s.ranks.resize(n);
    s.results.resize(n);
    std::vector<std::int32_t>& results = s.results;
    for (std::size_t i = 0; i + 1 < n; ++i) {
      const auto [r, c] = lookup(syms[i], syms[i + 1]);
      s.ranks[i] = r;
      results[i] = c;
    }
    for (;;) {
      std::uint32_t best = no_rank;
      std::size_t at = 0;
      for (std::size_t i = 0; i + 1 < n; ++i) {
        if (s.ranks[i] < best) {
          best = s.ranks[i];
          at = i;
        }
      }
      if (best == no_rank) break;
      syms[at] = results[at];
      for (std::size_t i = at + 1; i + 1 < n; ++i) {
        syms[i] = syms[i + 1];
        s.ranks[i] = s.ranks[i + 1];
        results[i] = results[i + 1];
      }
      --n;
      if (at > 0) {
        const auto [r, c] = lookup(syms[at - 1], syms[at]);
        s.ranks[at - 1] = r;
        results[at - 1] = c;
      }
      if (at + 1 < n) {
        const auto [r, c] = lookup(syms[at], syms[at + 1]);
        s.ranks[at] = r;
        results[at] = c;
      }
    }
    syms.resize(n);
  }

  // Linked list + priority queue: O(n log n) for long words (SentencePiece-style models
  // without pre-tokenization merge whole paragraphs).
  void apply_heap(std::vector<std::int32_t>& syms, bpe_scratch& s) const {
    const std::size_t n = syms.size();
    s.nodes.resize(n);
    for (std::size_t i = 0; i < n; ++i)
      s.nodes[i] = {syms[i], static_cast<std::int32_t>(i) - 1,
                    i + 1 < n ? static_cast<std::int32_t>(i + 1) : -1};
    s.heap.clear();
    auto push = [&](std::int32_t l, std::int32_t r) {
      if (l < 0 || r < 0) return;
      const auto [rank, c] =
          lookup(s.nodes[static_cast<std::size_t>(l)].symbol, s.nodes[static_cast<std::size_t>(r)].symbol);
      if (rank == no_rank) return;
      s.heap.push_back({rank, l, r, s.nodes[static_cast<std::size_t>(l)].symbol,
                        s.nodes[static_cast<std::size_t>(r)].symbol, c});
      std::push_heap(s.heap.begin(), s.heap.end(), bpe_scratch::worse{});
    };
    for (std::size_t i = 0; i + 1 < n; ++i)
      push(static_cast<std::int32_t>(i), static_cast<std::int32_t>(i + 1));
    while (!s.heap.empty()) {
      std::pop_heap(s.heap.begin(), s.heap.end(), bpe_scratch::worse{});
      const bpe_scratch::candidate c = s.heap.back();
      s.heap.pop_back();
      bpe_scratch::node& L = s.nodes[static_cast<std::size_t>(c.left)];
      // Stale: the left node was absorbed, its neighbour changed, or a side was re-merged.
      if (L.symbol < -1 || L.next != c.right || L.symbol != c.left_symbol) continue;
      bpe_scratch::node& R = s.nodes[static_cast<std::size_t>(c.right)];
      if (R.symbol != c.right_symbol) continue;
      L.symbol = c.result;
      L.next = R.next;
      if (R.next >= 0) s.nodes[static_cast<std::size_t>(R.next)].prev = c.left;
      R.symbol = -2;  // dead
      R.next = -1;
      push(L.prev, c.left);
      push(c.left, L.next);
    }
    std::size_t k = 0;
    for (std::int32_t i = 0; i >= 0; i = s.nodes[static_cast<std::size_t>(i)].next)
      syms[k++] = s.nodes[static_cast<std::size_t>(i)].symbol;
    syms.resize(k);
  }
};

}  // namespace mmllm
