// mmllm/sampling/grammar_vocabulary.hpp — a vocabulary prepared for grammar masking: every
// token's bytes, decoded once, in a code-point trie. Build it once per tokenizer and share it
// (immutable) between all grammar samplers and sequences.
//
//   auto vocab = mmllm::grammar_vocabulary::build(tok);   // shared_ptr<const grammar_vocabulary>
//
// A token's text is its piece (tokenizer::token_to_piece with special tokens rendered), which
// is what generation appends to the output. Tokens are classified once:
//  * end of generation (EOG): allowed exactly when the grammar can end;
//  * rejected: empty pieces, ill-formed UTF-8 (beyond an incomplete last character or
//    leading continuation bytes), and control / unknown tokens other than EOG unless
//    `special_tokens_as_text` (llama.cpp matches their text, e.g. "<|im_start|>", against
//    the grammar; here they are masked by default);
//  * starting with continuation bytes (they can only complete a pending character): kept in
//    a list checked one by one while a character is incomplete;
//  * all others: in the trie, keyed by their complete code points, with an optional
//    incomplete last character.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../tokenize/tokenizer.hpp"
#include "gbnf_grammar.hpp"
#include "grammar_matcher.hpp"

namespace mmllm {

struct grammar_vocabulary_options {
  /// Match the text of control tokens (other than EOG) against the grammar, as llama.cpp does.
  bool special_tokens_as_text = false;
};

class grammar_vocabulary {
 public:
  enum class token_kind : std::uint8_t { trie, continuation, eog, rejected };

  /// From a tokenizer: pieces, EOG ids and control tokens.
  static std::shared_ptr<const grammar_vocabulary> build(const tokenizer& tok,
                                                         const grammar_vocabulary_options& opt = {}) {
    const std::size_t n = tok.valid() ? tok.size() : 0;
    std::vector<std::string> pieces(n);
    std::vector<std::uint8_t> kind(n, 0);  // 0 text, 1 eog, 2 rejected
    for (std::size_t i = 0; i < n; ++i) {
      const auto id = static_cast<token_id>(i);
      if (tok.is_eog(id)) {
        kind[i] = 1;
      } else if (!opt.special_tokens_as_text && tok.is_special(id)) {
        kind[i] = 2;
      } else {
        pieces[i] = tok.token_to_piece(id, true);
      }
    }
    if (tok.valid() && tok.config().end_of_generation.empty() && tok.eos() != no_token &&
        static_cast<std::size_t>(tok.eos()) < n)
      kind[static_cast<std::size_t>(tok.eos())] = 1;
    return build_from(pieces, kind);
  }

  /// From explicit pieces: `kind[i]` 0 = text, 1 = end of generation, 2 = never allowed.
  static std::shared_ptr<const grammar_vocabulary> build_from(std::span<const std::string> pieces,
                                                              std::span<const std::uint8_t> kind) {
    auto v = std::make_shared<grammar_vocabulary>(private_tag{});
    v->init(pieces, kind);
    return v;
  }

  [[nodiscard]] std::size_t size() const noexcept { return kinds_.size(); }
  [[nodiscard]] token_kind kind(token_id id) const noexcept { return kinds_[static_cast<std::size_t>(id)]; }
  [[nodiscard]] bool contains(token_id id) const noexcept {
    return id >= 0 && static_cast<std::size_t>(id) < kinds_.size();
  }
  [[nodiscard]] std::string_view piece(token_id id) const noexcept {
    const auto i = static_cast<std::size_t>(id);
    return std::string_view(bytes_).substr(byte_offset_[i], byte_offset_[i + 1] - byte_offset_[i]);
  }
  [[nodiscard]] const std::vector<token_id>& eog_tokens() const noexcept { return eog_; }
  [[nodiscard]] const std::vector<token_id>& continuation_tokens() const noexcept { return continuation_; }

  // --- the trie (preorder arrays; node 0 is the root) ------------------------------------
  [[nodiscard]] std::size_t node_count() const noexcept { return node_cp_.size(); }
  [[nodiscard]] char32_t node_code_point(std::size_t n) const noexcept { return node_cp_[n]; }
  /// One past the last node of n's subtree.
  [[nodiscard]] std::uint32_t node_end(std::size_t n) const noexcept { return node_end_[n]; }
  /// Tokens whose code points end exactly at node n.
  [[nodiscard]] std::span<const token_id> node_tokens(std::size_t n) const noexcept {
    return {complete_.data() + complete_begin_[n], complete_begin_[n + 1] - complete_begin_[n]};
  }
  /// Tokens ending at node n with an incomplete character (see node_partials).
  [[nodiscard]] std::span<const token_id> node_partial_tokens(std::size_t n) const noexcept {
    return {partial_.data() + partial_begin_[n], partial_begin_[n + 1] - partial_begin_[n]};
  }
  [[nodiscard]] std::span<const utf8_partial> node_partials(std::size_t n) const noexcept {
    return {partial_tail_.data() + partial_begin_[n], partial_begin_[n + 1] - partial_begin_[n]};
  }

  struct private_tag {};
  explicit grammar_vocabulary(private_tag /*unused*/) {}

 private:
  std::vector<token_kind> kinds_;
  std::string bytes_;
  std::vector<std::size_t> byte_offset_;
  std::vector<token_id> eog_, continuation_;
  std::vector<char32_t> node_cp_;
  std::vector<std::uint32_t> node_end_, complete_begin_, partial_begin_;
  std::vector<token_id> complete_, partial_;
  std::vector<utf8_partial> partial_tail_;

  void init(std::span<const std::string> pieces, std::span<const std::uint8_t> kind) {
    const std::size_t n = pieces.size();
    kinds_.assign(n, token_kind::rejected);
    byte_offset_.assign(n + 1, 0);
    for (std::size_t i = 0; i < n; ++i) {
      byte_offset_[i] = bytes_.size();
      bytes_ += pieces[i];
    }
    byte_offset_[n] = bytes_.size();

    // decode: code points (flat) and an optional incomplete tail per trie token
    std::vector<std::uint32_t> cp_begin(n + 1, 0);
    std::vector<char32_t> cps;
    std::vector<utf8_partial> tail(n);
    for (std::size_t i = 0; i < n; ++i) {
      cp_begin[i] = static_cast<std::uint32_t>(cps.size());
      const std::uint8_t k = i < kind.size() ? kind[i] : 0;
      if (k == 1) {
        kinds_[i] = token_kind::eog;
        eog_.push_back(static_cast<token_id>(i));
        continue;
      }
      const std::string_view s = piece(static_cast<token_id>(i));
      if (k == 2 || s.empty()) continue;
      if ((static_cast<unsigned char>(s[0]) & 0xC0) == 0x80) {
        kinds_[i] = token_kind::continuation;
        continuation_.push_back(static_cast<token_id>(i));
        continue;
      }
      const std::size_t mark = cps.size();
      bool valid = true;
      for (std::size_t pos = 0; pos < s.size();) {
        char32_t c = 0;
        const std::size_t len = detail::utf8_decode_strict(s, pos, c);
        if (len > 0) {
          cps.push_back(c);
          pos += len;
          continue;
        }
        // an incomplete last character?
        const auto b0 = static_cast<unsigned char>(s[pos]);
        const std::size_t need = b0 >= 0xC2 && b0 <= 0xDF   ? 2
                                 : b0 >= 0xE0 && b0 <= 0xEF ? 3
                                 : b0 >= 0xF0 && b0 <= 0xF4 ? 4
                                                            : 0;
        std::uint32_t value = need == 2 ? (b0 & 0x1Fu) : need == 3 ? (b0 & 0x0Fu) : (b0 & 0x07u);
        const std::size_t have = s.size() - pos;
        bool ok = need != 0 && have < need;
        for (std::size_t j = 1; ok && j < have; ++j) {
          const auto b = static_cast<unsigned char>(s[pos + j]);
          ok = (b & 0xC0) == 0x80;
          value = (value << 6) | (b & 0x3Fu);
        }
        if (ok)
          tail[i] =
              utf8_partial{value, static_cast<std::uint8_t>(need - have), static_cast<std::uint8_t>(need)};
        valid = ok;
        break;
      }
      if (!valid) {
        cps.resize(mark);
        continue;
      }
      kinds_[i] = token_kind::trie;
    }
    cp_begin[n] = static_cast<std::uint32_t>(cps.size());

    std::vector<std::uint32_t> order;
    for (std::size_t i = 0; i < n; ++i)
      if (kinds_[i] == token_kind::trie) order.push_back(static_cast<std::uint32_t>(i));
    auto span_of = [&](std::uint32_t t) {
      return std::u32string_view(cps.data() + cp_begin[t], cp_begin[t + 1] - cp_begin[t]);
    };
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      const auto sa = span_of(a), sb = span_of(b);
      if (sa != sb) return sa < sb;
      if (tail[a].remain != tail[b].remain) return tail[a].remain < tail[b].remain;
      return a < b;
    });

    // preorder trie by a sweep over the sorted code point strings
    node_cp_.assign(1, 0);
    node_end_.assign(1, 0);
    complete_begin_.assign(1, 0);
    partial_begin_.assign(1, 0);
    std::vector<std::uint32_t> path = {0};
    std::u32string_view prev;
    for (const std::uint32_t t : order) {
      const auto s = span_of(t);
      std::size_t common = 0;
      while (common < s.size() && common < prev.size() && s[common] == prev[common]) ++common;
      while (path.size() > common + 1) {
        node_end_[path.back()] = static_cast<std::uint32_t>(node_cp_.size());
        path.pop_back();
      }
      for (std::size_t i = common; i < s.size(); ++i) {
        const auto id = static_cast<std::uint32_t>(node_cp_.size());
        node_cp_.push_back(s[i]);
        node_end_.push_back(0);
        complete_begin_.push_back(static_cast<std::uint32_t>(complete_.size()));
        partial_begin_.push_back(static_cast<std::uint32_t>(partial_.size()));
        path.push_back(id);
      }
      if (tail[t].empty()) {
        complete_.push_back(static_cast<token_id>(t));
      } else {
        partial_.push_back(static_cast<token_id>(t));
        partial_tail_.push_back(tail[t]);
      }
      prev = s;
    }
    while (!path.empty()) {
      node_end_[path.back()] = static_cast<std::uint32_t>(node_cp_.size());
      path.pop_back();
    }
    complete_begin_.push_back(static_cast<std::uint32_t>(complete_.size()));
    partial_begin_.push_back(static_cast<std::uint32_t>(partial_.size()));
  }
};

}  // namespace mmllm
