// mmllm/tokenize/hf_pipeline.hpp — Hugging Face tokenizer.json pipeline stages.
//
// The run-time form of a tokenizer.json: normalizer steps (NFC/NFD/NFKC/NFKD, Lowercase,
// Strip, StripAccents, Replace, Prepend, BertNormalizer), pre-tokenizer steps (Split,
// ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit, Punctuation,
// BertPreTokenizer), decoder steps (ByteLevel, Replace, ByteFallback, Fuse, Strip,
// Metaspace, WordPiece, BPEDecoder) and the added-token splitter. `tokenizer_json.hpp`
// builds these from JSON; `tokenizer` runs them. Semantics follow the Hugging Face
// `tokenizers` library as transformers.js implements it (the reference the fixtures were
// produced with); differences between the two are noted where they matter.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pre_tokenizer.hpp"
#include "unicode.hpp"
#include "vocabulary.hpp"
#include "wordpiece_model.hpp"

namespace mmllm::hf {

// --- normalizers ------------------------------------------------------------------------------

struct normalizer_step {
  enum class kind : std::uint8_t {
    nfc,
    nfd,
    nfkc,
    nfkd,
    lowercase,
    strip,
    strip_accents,
    replace,
    prepend,
    bert
  } type = kind::nfc;
  bool left = false, right = false;                // strip
  std::shared_ptr<const tokenizer_regex> pattern;  // replace (regex); null: literal `from`
  std::string from, to;                            // replace literal / content; prepend string
  bool clean_text = true, handle_chinese_chars = true, lowercase = true;  // bert
  int strip_accents = -1;                                                 // bert: -1 unset
};

namespace detail {

inline std::string replace_all_literal(std::string_view text, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (std::size_t at = text.find(from); at != std::string_view::npos; at = text.find(from, pos)) {
    out.append(text.substr(pos, at - pos));
    out.append(to);
    pos = at + from.size();
  }
  out.append(text.substr(pos));
  return out;
}

inline std::string replace_all_regex(std::string_view text, const tokenizer_regex& re, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  std::size_t prev = 0;
  re.for_each_match(text, [&](std::size_t b, std::size_t e) {
    out.append(text.substr(prev, b - prev));
    out.append(to);
    prev = e;
  });
  out.append(text.substr(prev));
  return out;
}

inline std::string strip_white_space(std::string_view text, bool left, bool right) {
  std::size_t b = 0, e = text.size();
  if (left) {
    while (b < e) {
      const utf8_decoded d = utf8_decode(text, b);
      if (!d.valid || !unicode_is_white_space(d.code_point)) break;
      b += d.length;
    }
  }
  if (right) {
    while (e > b) {
      std::size_t s = e - 1;
      while (s > b && (static_cast<unsigned char>(text[s]) & 0xC0) == 0x80) --s;
      const utf8_decoded d = utf8_decode(text, s);
      if (!d.valid || s + d.length != e || !unicode_is_white_space(d.code_point)) break;
      e = s;
    }
  }
  return std::string(text.substr(b, e - b));
}

inline std::string remove_marks(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const utf8_decoded d = utf8_decode(text, pos);
    if (!d.valid || (unicode_class_of(d.code_point) & unicode_class::mark) == 0)
      out.append(text.substr(pos, d.length));
    pos += d.length;
  }
  return out;
}

inline std::string bert_normalize(std::string_view text, const normalizer_step& s) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const utf8_decoded d = utf8_decode(text, pos);
    const std::string_view raw = text.substr(pos, d.length);
    pos += d.length;
    const char32_t c = d.code_point;
    if (s.clean_text) {
      if (c == 0 || c == replacement_character) continue;
      const std::uint16_t cls = unicode_class_of(c);
      if (c != '\t' && c != '\n' && c != '\r' && (cls & unicode_class::other) != 0) continue;
      if ((cls & unicode_class::white_space) != 0) {
        out.push_back(' ');
        continue;
      }
    }
    if (s.handle_chinese_chars && is_bert_chinese_char(c)) {
      out.push_back(' ');
      out.append(raw);
      out.push_back(' ');
      continue;
    }
    out.append(raw);
  }
  if (s.lowercase) out = unicode_to_lower(out);
  const bool strip = s.strip_accents < 0 ? s.lowercase : s.strip_accents > 0;
  if (strip) out = unicode_strip_nonspacing_marks(unicode_normalize(out, normalization_form::nfd));
  return out;
}

}  // namespace detail

/// Applies normalizer steps in order.
inline std::string normalize(std::string_view text, const std::vector<normalizer_step>& steps) {
  std::string s(text);
  for (const normalizer_step& n : steps) {
    switch (n.type) {
      case normalizer_step::kind::nfc: s = unicode_normalize(s, normalization_form::nfc); break;
      case normalizer_step::kind::nfd: s = unicode_normalize(s, normalization_form::nfd); break;
      case normalizer_step::kind::nfkc: s = unicode_normalize(s, normalization_form::nfkc); break;
      case normalizer_step::kind::nfkd: s = unicode_normalize(s, normalization_form::nfkd); break;
      case normalizer_step::kind::lowercase: s = unicode_to_lower(s); break;
      case normalizer_step::kind::strip: s = detail::strip_white_space(s, n.left, n.right); break;
      case normalizer_step::kind::strip_accents: s = detail::remove_marks(s); break;
      case normalizer_step::kind::replace:
        if (n.pattern) {
          s = detail::replace_all_regex(s, *n.pattern, n.to);
        } else {
          s = detail::replace_all_literal(s, n.from, n.to);
        }
        break;
      case normalizer_step::kind::prepend:
        if (!s.empty()) s.insert(0, n.from);
        break;
      case normalizer_step::kind::bert: s = detail::bert_normalize(s, n); break;
    }
  }
  return s;
}

// --- pre-tokenizers ---------------------------------------------------------------------------

struct pre_tokenizer_step {
  enum class kind : std::uint8_t {
    split,
    byte_level,
    metaspace,
    digits,
    whitespace,
    whitespace_split,
    punctuation,
    bert
  } type = kind::split;
  std::shared_ptr<const split_rule> rule;    // split; byte_level with use_regex; whitespace; digits …
  bool add_prefix_space = false;             // byte_level
  std::string replacement = "\xE2\x96\x81";  // metaspace
  enum class prepend : std::uint8_t { always, first, never } prepend_scheme = prepend::always;
  bool metaspace_split = true;
  split_behavior behavior = split_behavior::isolated;  // punctuation
  bool individual_digits = false;
};

/// Pieces of a section: spans into `buf`.
struct pre_tokenized {
  std::string buf;
  std::vector<text_span> spans;
};

namespace detail {

/// Splits every span with a predicate on code points (Hugging Face "split by char").
template <class Pred>
void split_by_char(pre_tokenized& p, Pred is_delim, split_behavior behavior) {
  std::vector<text_span> out;
  for (const text_span sp : p.spans) {
    struct piece {
      std::uint32_t b, e;
      bool match;
    };
    std::vector<piece> pieces;
    std::uint32_t prev = sp.begin;
    for (std::size_t pos = sp.begin; pos < sp.end;) {
      const utf8_decoded d = utf8_decode(p.buf, pos);
      const std::size_t len = d.valid ? d.length : 1;
      if (is_delim(d.code_point)) {
        if (prev != pos) pieces.push_back({prev, static_cast<std::uint32_t>(pos), false});
        pieces.push_back({static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(pos + len), true});
        prev = static_cast<std::uint32_t>(pos + len);
      }
      pos += len;
    }
    if (prev != sp.end) pieces.push_back({prev, sp.end, false});
    std::vector<piece> merged;
    bool previous_match = false;
    for (const piece& pc : pieces) {
      switch (behavior) {
        case split_behavior::removed:
          if (!pc.match) merged.push_back(pc);
          break;
        case split_behavior::isolated: merged.push_back(pc); break;
        case split_behavior::merged_with_previous:
          if (pc.match && !previous_match && !merged.empty())
            merged.back().e = pc.e;
          else
            merged.push_back(pc);
          break;
        case split_behavior::contiguous:
          if (pc.match == previous_match && !merged.empty())
            merged.back().e = pc.e;
          else
            merged.push_back(pc);
          break;
        case split_behavior::merged_with_next: merged.push_back(pc); break;  // handled below
      }
      previous_match = pc.match;
    }
    if (behavior == split_behavior::merged_with_next) {
      merged.clear();
      previous_match = false;
      for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
        if (it->match && !previous_match && !merged.empty())
          merged.back().b = it->b;
        else
          merged.push_back(*it);
        previous_match = it->match;
      }
      std::reverse(merged.begin(), merged.end());
    }
    for (const piece& pc : merged)
      if (pc.e > pc.b) out.push_back({pc.b, pc.e});
  }
  p.spans = std::move(out);
}

inline bool is_hf_punctuation(char32_t c) {
  if (c < 128)
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  return (unicode_class_of(c) & unicode_class::punctuation) != 0;
}

/// Rewrites every span through f(span text) → new text (may prepend / replace).
template <class F>
void rewrite_spans(pre_tokenized& p, F f) {
  std::string nb;
  nb.reserve(p.buf.size() + p.spans.size() * 3);
  for (text_span& sp : p.spans) {
    const auto b = static_cast<std::uint32_t>(nb.size());
    nb += f(std::string_view(p.buf).substr(sp.begin, sp.end - sp.begin));
    sp = {b, static_cast<std::uint32_t>(nb.size())};
  }
  p.buf = std::move(nb);
}

}  // namespace detail

/// Runs pre-tokenizer steps over a normalized section (`section_index` counts the sections
/// of the input, added tokens included, as Metaspace's "first" scheme needs).
inline void pre_tokenize(pre_tokenized& p, const std::vector<pre_tokenizer_step>& steps,
                         std::size_t section_index) {
  std::vector<text_span> out;
  std::vector<text_span> tmp;
  for (const pre_tokenizer_step& s : steps) {
    switch (s.type) {
      case pre_tokenizer_step::kind::split:
      case pre_tokenizer_step::kind::whitespace:
        out.clear();
        for (const text_span sp : p.spans) s.rule->split(p.buf, sp, out);
        p.spans.swap(out);
        break;
      case pre_tokenizer_step::kind::byte_level:
        if (s.add_prefix_space) {
          detail::rewrite_spans(p, [](std::string_view t) {
            if (!t.empty() && t.front() == ' ') return std::string(t);
            std::string r;  // appended, not `" " + string`: g++ 12 -O3 warns falsely (-Wrestrict)
            r.reserve(t.size() + 1);
            r += ' ';
            r += t;
            return r;
          });
        }
        if (s.rule) {
          out.clear();
          for (const text_span sp : p.spans) s.rule->split(p.buf, sp, out);
          p.spans.swap(out);
        }
        break;
      case pre_tokenizer_step::kind::metaspace: {
        const bool prepend = s.prepend_scheme == pre_tokenizer_step::prepend::always ||
                             (s.prepend_scheme == pre_tokenizer_step::prepend::first && section_index == 0);
        detail::rewrite_spans(p, [&](std::string_view t) {
          std::string r = detail::replace_all_literal(t, " ", s.replacement);
          if (prepend && r.compare(0, s.replacement.size(), s.replacement) != 0) r.insert(0, s.replacement);
          return r;
        });
        if (s.metaspace_split) {
          const std::string rep = s.replacement;
          const split_rule rule = split_rule::from_literal(rep, split_behavior::merged_with_next, false);
          out.clear();
          for (const text_span sp : p.spans) rule.split(p.buf, sp, out);
          p.spans.swap(out);
        }
        break;
      }
      case pre_tokenizer_step::kind::digits:
        detail::split_by_char(
            p, [](char32_t c) { return (unicode_class_of(c) & unicode_class::number) != 0; },
            s.individual_digits ? split_behavior::isolated : split_behavior::contiguous);
        break;
      case pre_tokenizer_step::kind::whitespace_split:
        detail::split_by_char(
            p, [](char32_t c) { return unicode_is_white_space(c); }, split_behavior::removed);
        break;
      case pre_tokenizer_step::kind::punctuation:
        detail::split_by_char(p, detail::is_hf_punctuation, s.behavior);
        break;
      case pre_tokenizer_step::kind::bert:
        detail::split_by_char(
            p, [](char32_t c) { return unicode_is_white_space(c); }, split_behavior::removed);
        detail::split_by_char(p, detail::is_hf_punctuation, split_behavior::isolated);
        break;
    }
  }
  (void)tmp;
}

// --- decoders ---------------------------------------------------------------------------------

struct decoder_step {
  enum class kind : std::uint8_t {
    byte_level,
    replace,
    byte_fallback,
    fuse,
    strip,
    metaspace,
    wordpiece,
    bpe
  } type = kind::byte_level;
  std::string from, to;  // replace (literal); metaspace replacement; wordpiece prefix; bpe suffix
  std::shared_ptr<const tokenizer_regex> pattern;  // replace with a regex
  char32_t strip_content = ' ';
  std::size_t strip_start = 0, strip_stop = 0;
  bool metaspace_strip_first = true;
  bool wordpiece_cleanup = true;
};

/// Clean-up of simple English tokenization artifacts (transformers' clean_up_tokenization).
inline std::string clean_up_tokenization(std::string_view text) {
  std::string s(text);
  static constexpr std::pair<std::string_view, std::string_view> rules[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };
  for (const auto& [from, to] : rules) s = detail::replace_all_literal(s, from, to);
  return s;
}

}  // namespace mmllm::hf
