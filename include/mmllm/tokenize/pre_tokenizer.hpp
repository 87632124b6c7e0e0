// mmllm/tokenize/pre_tokenizer.hpp — splitting text into words before BPE.
//
// A `split_rule` splits a span of text into pieces: by a `tokenizer_regex` (matches and the
// text between them both become pieces, or per Hugging Face's Split behaviours), or by one
// of the hand-written fast paths for the patterns almost every byte-level BPE model uses:
//   gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,K}
//           | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+     (K = 3 llama3, 1 qwen2)
// `split_rule::from_pattern` picks a fast path when the pattern is one of those (the tests
// check fast paths against the regex engine on random Unicode text).
// `peer_pre_tokenizer_patterns(name)` is the peer's table from `tokenizer.ggml.pre` names to
// the regex sequence it applies (each regex splits the pieces of the previous one).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/result.hpp"
#include "tokenizer_regex.hpp"
#include "unicode.hpp"

namespace mmllm {

/// A piece of text: byte offsets [begin, end).
struct text_span {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

/// Hugging Face Split behaviours for matched delimiters.
enum class split_behavior : std::uint8_t {
  isolated,
  removed,
  merged_with_previous,
  merged_with_next,
  contiguous
};

namespace detail {

/// Decodes the code point at `pos` leniently (ill-formed bytes are U+FFFD of length 1, as
/// the peer's decoder does) and returns its class bits.
struct cp_info {
  char32_t cp;
  std::uint16_t cls;
  std::uint8_t len;
};
inline cp_info cp_at(std::string_view t, std::size_t pos) noexcept {
  const auto b = static_cast<unsigned char>(t[pos]);
  if (b < 0x80) return {b, ascii_classes.bits[b], 1};
  utf8_decoded d = utf8_decode(t, pos);
  if (!d.valid) d.length = 1;
  return {d.code_point, unicode_class_of(d.code_point), d.length};
}

constexpr std::uint16_t cls_l = unicode_class::letter;
constexpr std::uint16_t cls_n = unicode_class::number;
constexpr std::uint16_t cls_s = unicode_class::white_space;

/// Length of an English contraction at pos ('s 't 'm 'd 're 've 'll), 0 if none.
inline std::size_t contraction_at(std::string_view t, std::size_t pos, std::size_t end, bool icase) noexcept {
  if (t[pos] != '\'' || pos + 1 >= end) return 0;
  auto lower = [&](std::size_t i) -> char {
    const char c = t[i];
    return (icase && c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  };
  const char c1 = lower(pos + 1);
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
  if (pos + 2 >= end) return 0;
  const char c2 = lower(pos + 2);
  if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
  return 0;
}

/// End of the white-space run starting at pos (pos itself is white space).
inline std::size_t space_run_end(std::string_view t, std::size_t pos, std::size_t end,
                                 std::size_t& last_char_start, std::size_t& after_last_newline) noexcept {
  last_char_start = pos;
  after_last_newline = 0;
  while (pos < end) {
    const cp_info c = cp_at(t, pos);
    if ((c.cls & cls_s) == 0) break;
    last_char_start = pos;
    pos += c.len;
    if (c.cp == '\r' || c.cp == '\n') after_last_newline = pos;
  }
  return pos;
}

/// GPT-2 pattern over [begin, end); appends pieces.
inline void split_gpt2(std::string_view t, std::size_t begin, std::size_t end, std::vector<text_span>& out) {
  std::size_t pos = begin;
  auto emit = [&](std::size_t to) {
    out.push_back({static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(to)});
    pos = to;
  };
  while (pos < end) {
    if (const std::size_t k = contraction_at(t, pos, end, false)) {
      emit(pos + k);
      continue;
    }
    const cp_info c = cp_at(t, pos);
    // " ?X+" for X in letters, numbers, other: the optional space belongs to the run.
    std::size_t q = pos;
    cp_info d = c;
    if (c.cp == ' ' && pos + 1 < end) {
      q = pos + 1;
      d = cp_at(t, q);
    }
    std::uint16_t run = 0;
    if ((d.cls & cls_l) != 0)
      run = cls_l;
    else if ((d.cls & cls_n) != 0)
      run = cls_n;
    else if ((d.cls & (cls_s | cls_l | cls_n)) == 0)
      run = 0xFFFF;
    if (run != 0) {
      std::size_t e = q + d.len;
      while (e < end) {
        const cp_info x = cp_at(t, e);
        const bool in = run == 0xFFFF ? (x.cls & (cls_s | cls_l | cls_n)) == 0 : (x.cls & run) != 0;
        if (!in) break;
        e += x.len;
      }
      emit(e);
      continue;
    }
    // \s+(?!\S) | \s+
    std::size_t last = 0, nl = 0;
    const std::size_t e = space_run_end(t, pos, end, last, nl);
    if (e < end && last > pos) {
      emit(last);  // leave the last white space for the next word
    } else {
      emit(e);
    }
  }
}

/// Llama-3 family pattern over [begin, end) with \p{N}{1,max_digits}; appends pieces.
inline void split_llama3(std::string_view t, std::size_t begin, std::size_t end, std::size_t max_digits,
                         std::vector<text_span>& out) {
  std::size_t pos = begin;
  auto emit = [&](std::size_t to) {
    out.push_back({static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(to)});
    pos = to;
  };
  while (pos < end) {
    if (const std::size_t k = contraction_at(t, pos, end, true)) {
      emit(pos + k);
      continue;
    }
    const cp_info c = cp_at(t, pos);
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if ((c.cls & cls_l) != 0 || (c.cp != '\r' && c.cp != '\n' && (c.cls & cls_n) == 0 && pos + c.len < end &&
                                 (cp_at(t, pos + c.len).cls & cls_l) != 0)) {
      std::size_t e = pos + c.len;
      while (e < end) {
        const cp_info x = cp_at(t, e);
        if ((x.cls & cls_l) == 0) break;
        e += x.len;
      }
      emit(e);
      continue;
    }
    // \p{N}{1,K}
    if ((c.cls & cls_n) != 0) {
      std::size_t e = pos + c.len;
      for (std::size_t k = 1; k < max_digits && e < end; ++k) {
        const cp_info x = cp_at(t, e);
        if ((x.cls & cls_n) == 0) break;
        e += x.len;
      }
      emit(e);
      continue;
    }
    // " ?[^\s\p{L}\p{N}]+[\r\n]*"
    {
      std::size_t q = pos;
      cp_info d = c;
      if (c.cp == ' ' && pos + 1 < end) {
        q = pos + 1;
        d = cp_at(t, q);
      }
      if ((d.cls & (cls_s | cls_l | cls_n)) == 0) {
        std::size_t e = q + d.len;
        while (e < end) {
          const cp_info x = cp_at(t, e);
          if ((x.cls & (cls_s | cls_l | cls_n)) != 0) break;
          e += x.len;
        }
        while (e < end && (t[e] == '\r' || t[e] == '\n')) ++e;
        emit(e);
        continue;
      }
    }
    // \s*[\r\n]+ | \s+(?!\S) | \s+
    std::size_t last = 0, nl = 0;
    const std::size_t e = space_run_end(t, pos, end, last, nl);
    if (nl != 0) {
      emit(nl);
    } else if (e < end && last > pos) {
      emit(last);
    } else {
      emit(e);
    }
  }
}

}  // namespace detail

/// One splitting step.
class split_rule {
 public:
  enum class kind : std::uint8_t { gpt2, llama3, regex, literal };

  /// A rule from a regex pattern; fast paths for the GPT-2 and Llama-3 family patterns.
  static result<split_rule> from_pattern(std::string_view pattern,
                                         split_behavior behavior = split_behavior::isolated,
                                         bool invert = false, regex_flavor flavor = regex_flavor::unicode) {
    split_rule r;
    r.behavior_ = behavior;
    r.invert_ = invert;
    if (behavior == split_behavior::isolated && !invert && flavor != regex_flavor::peer_wide) {
      if (pattern == gpt2_pattern || pattern == gpt2_pattern_without_final_space_run) {
        r.kind_ = kind::gpt2;
        return r;
      }
      for (const auto& [p, digits] : llama3_patterns()) {
        if (pattern == p) {
          r.kind_ = kind::llama3;
          r.max_digits_ = digits;
          return r;
        }
      }
    }
    MMLLM_TRY_ASSIGN(tokenizer_regex re, tokenizer_regex::compile(pattern, flavor));
    r.kind_ = kind::regex;
    r.regex_ = std::make_shared<const tokenizer_regex>(std::move(re));
    return r;
  }
  /// A rule splitting on a literal string (Hugging Face Split with a String pattern).
  static split_rule from_literal(std::string_view s, split_behavior behavior, bool invert) {
    split_rule r;
    r.kind_ = kind::literal;
    r.literal_ = std::string(s);
    r.behavior_ = behavior;
    r.invert_ = invert;
    return r;
  }
  /// The same rule evaluated by the regex engine even where a fast path exists (tests).
  static result<split_rule> regex_only(std::string_view pattern) {
    split_rule r;
    MMLLM_TRY_ASSIGN(tokenizer_regex re, tokenizer_regex::compile(pattern));
    r.kind_ = kind::regex;
    r.regex_ = std::make_shared<const tokenizer_regex>(std::move(re));
    return r;
  }

  [[nodiscard]] kind rule_kind() const noexcept { return kind_; }

  /// Splits t[span] and appends the non-empty pieces to `out`.
  void split(std::string_view t, text_span span, std::vector<text_span>& out) const {
    if (span.begin >= span.end) return;
    switch (kind_) {
      case kind::gpt2: detail::split_gpt2(t, span.begin, span.end, out); return;
      case kind::llama3: detail::split_llama3(t, span.begin, span.end, max_digits_, out); return;
      case kind::regex:
      case kind::literal: split_matches(t, span, out); return;
    }
  }

  static constexpr std::string_view gpt2_pattern =
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
  static constexpr std::string_view gpt2_pattern_without_final_space_run =
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";

 private:
  kind kind_ = kind::gpt2;
  split_behavior behavior_ = split_behavior::isolated;
  bool invert_ = false;
  std::size_t max_digits_ = 3;
  std::shared_ptr<const tokenizer_regex> regex_;
  std::string literal_;

  static const std::vector<std::pair<std::string_view, std::size_t>>& llama3_patterns() {
    static const std::vector<std::pair<std::string_view, std::size_t>> p = {
        {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
         3},
        {R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
         3},
        {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
         1},
        {R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
         1},
    };
    return p;
  }

  void split_matches(std::string_view t, text_span span, std::vector<text_span>& out) const {
    const std::string_view sub = t.substr(span.begin, span.end - span.begin);
    struct piece {
      std::uint32_t b, e;
      bool match;
    };
    std::vector<piece> pieces;
    std::uint32_t prev = 0;
    auto on_match = [&](std::size_t b, std::size_t e) {
      if (prev != b) pieces.push_back({prev, static_cast<std::uint32_t>(b), false});
      pieces.push_back({static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(e), true});
      prev = static_cast<std::uint32_t>(e);
    };
    if (kind_ == kind::regex) {
      regex_->for_each_match(sub, on_match);
    } else if (!literal_.empty()) {
      for (std::size_t at = sub.find(literal_); at != std::string_view::npos;
           at = sub.find(literal_, at + literal_.size()))
        on_match(at, at + literal_.size());
    }
    if (prev != sub.size()) pieces.push_back({prev, static_cast<std::uint32_t>(sub.size()), false});
    if (invert_)
      for (piece& p : pieces) p.match = !p.match;
    std::vector<piece> merged;
    bool previous_match = false;
    switch (behavior_) {
      case split_behavior::isolated: merged = pieces; break;
      case split_behavior::removed:
        for (const piece& p : pieces)
          if (!p.match) merged.push_back(p);
        break;
      case split_behavior::merged_with_previous:
        for (const piece& p : pieces) {
          if (p.match && !previous_match && !merged.empty())
            merged.back().e = p.e;
          else
            merged.push_back(p);
          previous_match = p.match;
        }
        break;
      case split_behavior::merged_with_next:
        for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
          if (it->match && !previous_match && !merged.empty())
            merged.back().b = it->b;
          else
            merged.push_back(*it);
          previous_match = it->match;
        }
        std::reverse(merged.begin(), merged.end());
        break;
      case split_behavior::contiguous:
        for (const piece& p : pieces) {
          if (p.match == previous_match && !merged.empty())
            merged.back().e = p.e;
          else
            merged.push_back(p);
          previous_match = p.match;
        }
        break;
    }
    for (const piece& p : merged)
      if (p.e > p.b) out.push_back({span.begin + p.b, span.begin + p.e});
  }
};

/// Applies rules in sequence: each splits every piece the previous one produced.
inline void apply_split_rules(std::string_view t, text_span span, const std::vector<split_rule>& rules,
                              std::vector<text_span>& out, std::vector<text_span>& tmp) {
  out.clear();
  if (span.begin >= span.end) return;
  if (rules.empty()) {
    out.push_back(span);
    return;
  }
  rules.front().split(t, span, out);
  for (std::size_t r = 1; r < rules.size(); ++r) {
    tmp.clear();
    for (const text_span& s : out) rules[r].split(t, s, tmp);
    out.swap(tmp);
  }
}

/// The peer's regex sequence for a `tokenizer.ggml.pre` name (llama.cpp's llm_tokenizer_bpe
/// table); an unknown name gives errc::unsupported. An empty name is the peer's "default".
inline result<std::vector<std::string_view>> peer_pre_tokenizer_patterns(std::string_view pre_type) {
  // Patterns as the peer writes them (its adaptations of the tokenizer.json originals).
  static constexpr std::string_view llama3 =
      R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static constexpr std::string_view qwen2 =
      R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static constexpr std::string_view gpt2 = split_rule::gpt2_pattern_without_final_space_run;
  static constexpr std::string_view deepseek3_main =
      R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  static constexpr std::string_view bloom = " ?[^(\\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+";
  static constexpr std::string_view gpt4o =
      R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  using list = std::vector<std::string_view>;
  auto is = [&](std::initializer_list<std::string_view> names) {
    for (const std::string_view n : names)
      if (pre_type == n) return true;
    return false;
  };
  if (is({"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "dbrx",
          "smaug-bpe", "glm4", "chatglm-bpe"}))
    return list{llama3};
  if (is({"deepseek-llm"}))
    return list{
        "[\r\n]",
        "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-"
        "\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-"
        "\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-"
        "\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-"
        "\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-"
        "\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-"
        "\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-"
        "\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-"
        "\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-"
        "\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-"
        "\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-"
        "\U000118DF\U0001E900-\U0001E943]+",
        "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
        "\\s+$",
        "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
        "\\p{N}+",
    };
  if (is({"deepseek-v3", "hunyuan-dense"}))
    return list{"\\p{N}{1,3}", "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+", deepseek3_main};
  if (is({"deepseek-coder"}))
    return list{"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
                "\\p{N}"};
  if (is({"falcon"})) return list{"[\\p{P}\\$\\+<=>\\^~\\|`]+", gpt2, "[0-9][0-9][0-9]"};
  if (is({"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"}))
    return list{"\\p{N}", gpt2};
  if (is({"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
          "jina-v1-en", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "trillion", "granite-docling",
          "exaone4"}))
    return list{gpt2};
  if (is({"qwen2", "deepseek-r1-qwen", "stablelm2", "hunyuan", "megrez", "grok-2"})) return list{qwen2};
  if (is({"poro-chat", "bloom", "gpt3-finnish"})) return list{bloom};
  if (is({"viking"})) return list{bloom, "\\p{N}"};
  if (is({"tekken"}))
    return list{
        R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};
  if (is({"chameleon"}))
    return list{"<sentinel:[0-9]+>",      "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
                "([\\t\\n]|    |  )",     "\\p{N}",
                "[\\p{P}!-/:-@\\[-`{-~]", gpt2};
  if (is({"gpt-4o", "llama4", "minimax-m2"})) return list{gpt4o};
  if (is({"superbpe"})) return list{"\\p{N}+", "(?=(\\d{3})+(?!\\d))"};
  if (is({"bailingmoe", "bailingmoe2", "llada-moe"}))
    return list{
        R"('(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)"};
  if (is({"seed-coder"}))
    return list{
        R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)"};
  if (is({"afmoe"}))
    return list{
        "\\p{AFMoE_digits}",
        "[\u4E00-\u9FFF\u3400-\u4DBF\u8C48-\uFAFF\u3040-\u309F\u30A0-\u30FF\uFF65-\uFF9F\u2F00-\u2FDF\u0E40-"
        "\u0E7F\u0E80-\u0EFF\u1780-\u17FF\u1000-\u109F\uAA60-\uAA7F\uA9E0-\uA9FF\uAC00-\uD7AF\u1100-\u11FF]+",
        deepseek3_main};
  if (is({"kimi-k2"})) return list{"\\p{Han}+"};
  if (pre_type.empty() || pre_type == "default")
    return list{"[\\p{P}\\$\\+<=>\\^~\\|]+", gpt2, "\\p{N}+", "[0-9][0-9][0-9]"};
  return make_error(errc::unsupported, "tokenizer: unknown pre-tokenizer type '", pre_type, "'");
}

/// Peer quirk: the peer evaluates a pattern with one of two std::regex set-ups. Patterns that
/// mention \p{N}, \p{L}, \p{P}, \p{M} or \p{S} run over "collapsed" text (each non-ASCII code
/// point replaced by one byte standing for its category, so \p{S} misses '~', and \d, \w
/// are ASCII); the others run over wide text in which non-ASCII white space reads as U+000B
/// (so a pattern's literal U+3000 never matches). This picks the matching flavor.
inline regex_flavor peer_regex_flavor(std::string_view pattern) {
  for (const std::string_view cat : {"\\p{N}", "\\p{L}", "\\p{P}", "\\p{M}", "\\p{S}"})
    if (pattern.find(cat) != std::string_view::npos) return regex_flavor::peer_collapsed;
  return regex_flavor::peer_wide;
}

}  // namespace mmllm
