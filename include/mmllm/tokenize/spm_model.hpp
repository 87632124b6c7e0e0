// mmllm/tokenize/spm_model.hpp — SentencePiece-style merging by token scores (the peer's SPM).
//
// The peer (llama.cpp) tokenizes "llama"-model GGUF vocabularies (LLaMA 1/2, Mistral, Phi-3,
// Gemma …) with this algorithm: split the text into UTF-8 characters, then repeatedly merge
// the adjacent pair whose concatenation is a token with the highest score (leftmost on
// ties); finally emit each symbol's token id, or, for a symbol that is not a token, one
// byte token per byte (<0xXX>, else the single-byte token). `spm_tokenize` reproduces it
// exactly (including that a character is as long as its lead byte announces, unvalidated).
//
//   std::vector<mmllm::token_id> out;
//   mmllm::spm_tokenize(vocab, "\xe2\x96\x81Hello", out, scratch);
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "unicode.hpp"
#include "vocabulary.hpp"

namespace mmllm {

/// Reusable buffers for spm_tokenize.
struct spm_scratch {
  struct symbol {
    std::uint32_t begin;
    std::uint32_t size;  // 0 once merged into the left neighbour
    std::int32_t prev;
    std::int32_t next;
  };
  struct bigram {
    float score;
    std::int32_t left;
    std::int32_t right;
    std::uint32_t size;
  };
  // Highest score first; on equal scores the smaller left index.
  struct lower_priority {
    bool operator()(const bigram& a, const bigram& b) const noexcept {
      return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
  };
  std::vector<symbol> symbols;
  std::vector<bigram> heap;
  detail::word_cache cache;  // pieces already tokenized in this call
};

/// Byte-fallback tokens of a vocabulary: <0xXX>, else the one-byte token, else no_token.
inline std::array<token_id, 256> byte_fallback_tokens(const vocabulary& vocab) {
  std::array<token_id, 256> t{};
  constexpr std::string_view hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    const char name[6] = {
        '<', '0', 'x', hex[static_cast<std::size_t>(b >> 4)], hex[static_cast<std::size_t>(b & 15)], '>'};
    token_id id = vocab.find(std::string_view(name, 6));
    if (id == no_token) {
      const char one = static_cast<char>(b);
      id = vocab.find(std::string_view(&one, 1));
    }
    t[static_cast<std::size_t>(b)] = id;
  }
  return t;
}

namespace detail {
inline void spm_tokenize_piece(const vocabulary& vocab, const std::array<token_id, 256>& byte_tokens,
                               std::string_view text, std::vector<token_id>& out, spm_scratch& s) {
  s.symbols.clear();
  s.heap.clear();
  for (std::size_t offs = 0; offs < text.size();) {
    const std::size_t len =
        std::min(utf8_sequence_length(static_cast<unsigned char>(text[offs])), text.size() - offs);
    const auto idx = static_cast<std::int32_t>(s.symbols.size());
    s.symbols.push_back({static_cast<std::uint32_t>(offs), static_cast<std::uint32_t>(len), idx - 1,
                         offs + len == text.size() ? -1 : idx + 1});
    offs += len;
  }
  auto try_add = [&](std::int32_t l, std::int32_t r) {
    if (l < 0 || r < 0) return;
    const spm_scratch::symbol& a = s.symbols[static_cast<std::size_t>(l)];
    const spm_scratch::symbol& b = s.symbols[static_cast<std::size_t>(r)];
    const std::uint32_t size = a.size + b.size;
    const token_id id = vocab.find(text.substr(a.begin, size));
    if (id == no_token) return;
    s.heap.push_back({vocab.score(id), l, r, size});
    std::push_heap(s.heap.begin(), s.heap.end(), spm_scratch::lower_priority{});
  };
  for (std::size_t i = 1; i < s.symbols.size(); ++i)
    try_add(static_cast<std::int32_t>(i - 1), static_cast<std::int32_t>(i));
  while (!s.heap.empty()) {
    std::pop_heap(s.heap.begin(), s.heap.end(), spm_scratch::lower_priority{});
    const spm_scratch::bigram bg = s.heap.back();
    s.heap.pop_back();
    spm_scratch::symbol& left = s.symbols[static_cast<std::size_t>(bg.left)];
    spm_scratch::symbol& right = s.symbols[static_cast<std::size_t>(bg.right)];
    if (left.size == 0 || right.size == 0 || left.size + right.size != bg.size) continue;
    left.size += right.size;
    right.size = 0;
    left.next = right.next;
    if (right.next >= 0) s.symbols[static_cast<std::size_t>(right.next)].prev = bg.left;
    try_add(left.prev, bg.left);
    try_add(bg.left, left.next);
  }
  if (s.symbols.empty()) return;
  for (std::int32_t i = 0; i != -1; i = s.symbols[static_cast<std::size_t>(i)].next) {
    const spm_scratch::symbol& sym = s.symbols[static_cast<std::size_t>(i)];
    const std::string_view piece = text.substr(sym.begin, sym.size);
    const token_id id = vocab.find(piece);
    if (id != no_token) {
      out.push_back(id);
      continue;
    }
    for (const char c : piece) {
      const token_id b = byte_tokens[static_cast<unsigned char>(c)];
      if (b != no_token) out.push_back(b);
    }
  }
}
}  // namespace detail

/// Appends the tokens of `text` (already space-escaped with U+2581) to `out`. Bytes
/// without a byte token are skipped (the peer would fail on them). With `pairs` (the
/// adjacent-character pairs of all tokens), the text is first cut where no token can span
/// and the pieces are merged independently: the same result, in near-linear time.
inline void spm_tokenize(const vocabulary& vocab, const std::array<token_id, 256>& byte_tokens,
                         std::string_view text, std::vector<token_id>& out, spm_scratch& s,
                         const detail::adjacency_set* pairs = nullptr) {
  if (pairs == nullptr || pairs->empty() || text.size() < 16) {
    detail::spm_tokenize_piece(vocab, byte_tokens, text, out, s);
    return;
  }
  std::vector<std::size_t> cuts;
  pairs->cut_points(text, cuts);
  cuts.push_back(text.size());
  std::size_t begin = 0;
  for (const std::size_t c : cuts) {
    const std::string_view piece = text.substr(begin, c - begin);
    begin = c;
    if (piece.size() > detail::word_cache::max_word) {
      detail::spm_tokenize_piece(vocab, byte_tokens, piece, out, s);
      continue;
    }
    const std::uint64_t h = detail::hash_bytes(piece);
    if (s.cache.find(piece, h, out)) continue;
    const std::size_t start = out.size();
    detail::spm_tokenize_piece(vocab, byte_tokens, piece, out, s);
    s.cache.insert(piece, h, out.data() + start, out.data() + out.size());
  }
}

}  // namespace mmllm
