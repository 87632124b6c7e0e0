// mmllm/tokenize/wordpiece_model.hpp — WordPiece (BERT) greedy longest-match tokenization.
//
// Two variants:
//  * `peer_wordpiece_tokenize`: the peer's (llama.cpp "bert" GGUF vocabularies, whose word-
//    initial pieces start with U+2581 and continuation pieces have no "##"): its own
//    pre-processing (see peer_wordpiece_words) then, per word, "▁" + word matched greedily
//    by bytes; a word that cannot be covered becomes the unknown token.
//  * `wordpiece_tokenize`: Hugging Face's model (continuation pieces prefixed with "##",
//    words longer than max_input_chars_per_word become [UNK]).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "unicode.hpp"
#include "vocabulary.hpp"

namespace mmllm {

/// CJK ideograph ranges as BERT's "Chinese character" test (and the peer) define them.
constexpr bool is_bert_chinese_char(char32_t c) noexcept {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/// Peer quirk (llama.cpp WPM pre-processing): each code point is mapped through the peer's
/// "NFD" (first code point of the canonical decomposition); white space separates words;
/// NUL, U+FFFD and Cc/Cf/Co/Cs code points are dropped; the rest is lowercased (simple
/// mapping); punctuation, ASCII symbols and CJK ideographs become one-character words.
/// Calls f(word) for each non-empty word.
template <class F>
void peer_wordpiece_for_each_word(std::string_view text, F&& f) {
  std::string word;
  auto flush = [&] {
    if (!word.empty()) f(std::string_view(word));
    word.clear();
  };
  for (std::size_t pos = 0; pos < text.size();) {
    const utf8_decoded d = utf8_decode(text, pos);
    pos += d.length;
    const char32_t cp = peer_quirk_nfd_first_code_point(d.valid ? d.code_point : replacement_character);
    const std::uint16_t cls = unicode_class_of(cp);
    if ((cls & unicode_class::white_space) != 0) {
      flush();
      continue;
    }
    if (cp == 0 || cp == replacement_character || (cls & unicode_class::other) != 0) continue;
    const char32_t lower = unicode_to_lower_simple(cp);
    if ((cls & unicode_class::punctuation) != 0 || (cp < 0x7F && (cls & unicode_class::symbol) != 0) ||
        is_bert_chinese_char(cp)) {
      flush();
      utf8_append(word, lower);
      flush();
    } else {
      utf8_append(word, lower);
    }
  }
  flush();
}

/// The words of peer_wordpiece_for_each_word as strings.
inline std::vector<std::string> peer_wordpiece_words(std::string_view text) {
  std::vector<std::string> words;
  peer_wordpiece_for_each_word(text, [&](std::string_view w) { words.emplace_back(w); });
  return words;
}

/// The peer's WordPiece (see the header comment); appends to `out`.
inline void peer_wordpiece_tokenize(const vocabulary& vocab, token_id unk, std::string_view text,
                                    std::vector<token_id>& out) {
  const std::size_t max_len = vocab.max_token_bytes();
  std::string word1;
  peer_wordpiece_for_each_word(text, [&](std::string_view word) {
    word1.assign("\xE2\x96\x81");
    word1.append(word);
    const std::size_t n = word1.size();
    const std::size_t start_size = out.size();
    for (std::size_t i = 0; i < n; ++i) {
      bool match = false;
      for (std::size_t j = std::min(n, i + max_len + 1); j > i; --j) {
        const token_id id = vocab.find(std::string_view(word1).substr(i, j - i));
        if (id != no_token) {
          out.push_back(id);
          match = true;
          i = j - 1;
          break;
        }
      }
      if (!match) {
        out.resize(start_size);
        break;
      }
    }
    if (out.size() == start_size) out.push_back(unk);
  });
}

/// Hugging Face WordPiece over one pre-tokenized word; appends to `out`.
inline void wordpiece_tokenize(const vocabulary& vocab, std::string_view word, std::string_view prefix,
                               std::size_t max_input_chars, token_id unk, std::vector<token_id>& out) {
  std::vector<std::size_t> bounds;  // byte offset of each character, plus the end
  for (std::size_t pos = 0; pos < word.size();) {
    bounds.push_back(pos);
    pos += utf8_decode(word, pos).length;
  }
  if (bounds.size() > max_input_chars) {
    out.push_back(unk);
    return;
  }
  bounds.push_back(word.size());
  const std::size_t n_chars = bounds.size() - 1;
  const std::size_t start_size = out.size();
  std::string candidate;
  std::size_t start = 0;
  while (start < n_chars) {
    std::size_t end = n_chars;
    token_id found = no_token;
    while (start < end) {
      const std::string_view sub = word.substr(bounds[start], bounds[end] - bounds[start]);
      if (start > 0) {
        candidate.assign(prefix);
        candidate.append(sub);
        found = vocab.find(candidate);
      } else {
        found = vocab.find(sub);
      }
      if (found != no_token) break;
      --end;
    }
    if (found == no_token) {
      out.resize(start_size);
      out.push_back(unk);
      return;
    }
    out.push_back(found);
    start = end;
  }
}

}  // namespace mmllm
