// mmllm/sampling/regex_grammar.hpp — a practical regex subset translated to GBNF, for JSON
// Schema "pattern": the grammar generates the JSON-encoded string body whose decoded value
// matches the regex.
//
//   auto expr = mmllm::regex_to_json_string_gbnf("^[a-z]{3}-\\d+$", "char");  // result<regex_gbnf>
//
// Supported (ECMAScript syntax): literals (UTF-8), escapes \t \n \r \f \v \0 \xHH \uHHHH and
// escaped punctuation, classes \d \D \w \W \s \S (ASCII meanings), `.` (any character but
// \n \r U+2028 U+2029), bracket classes with ranges and negation (and the escapes above
// inside), groups ( ), (?: ), (?<name> ), alternation |, quantifiers * + ? {n} {n,} {n,m}
// and their lazy forms (same language), anchors ^ at the start and $ at the end of a
// top-level alternative (a side without an anchor matches any text there, as a regex search).
// Not supported (an error naming the position): backreferences, lookaround, \b \B, \p{…},
// anchors elsewhere, inline flags. Quantifier bounds above max_repetition: a lower bound is an
// error, an upper bound is dropped (unbounded) with a warning.
//
// Characters that JSON must escape (", \, U+0000..U+001F) become their escaped forms, so the
// output is always a valid JSON string body.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/result.hpp"
#include "gbnf_grammar.hpp"

namespace mmllm {

/// A set of code points as sorted, disjoint, inclusive ranges.
class code_point_set {
 public:
  code_point_set() = default;
  code_point_set(char32_t lo, char32_t hi) { add(lo, hi); }

  void add(char32_t lo, char32_t hi) {
    ranges_.emplace_back(lo, hi);
    normalize();
  }
  void add(const code_point_set& o) {
    ranges_.insert(ranges_.end(), o.ranges_.begin(), o.ranges_.end());
    normalize();
  }
  /// Everything in [0, U+10FFFF] not in this set (surrogates excluded).
  [[nodiscard]] code_point_set complement() const {
    code_point_set out;
    char32_t next = 0;
    for (const auto& [lo, hi] : ranges_) {
      if (lo > next) out.ranges_.emplace_back(next, lo - 1);
      next = hi + 1;
    }
    if (next <= 0x10FFFF) out.ranges_.emplace_back(next, 0x10FFFF);
    return out.minus(code_point_set(0xD800, 0xDFFF));
  }
  [[nodiscard]] code_point_set minus(const code_point_set& o) const {
    code_point_set out;
    for (auto [lo, hi] : ranges_) {
      for (const auto& [olo, ohi] : o.ranges_) {
        if (ohi < lo || olo > hi) continue;
        if (olo > lo) out.ranges_.emplace_back(lo, olo - 1);
        if (ohi >= hi) {
          lo = 1;
          hi = 0;
          break;
        }
        lo = ohi + 1;
      }
      if (lo <= hi) out.ranges_.emplace_back(lo, hi);
    }
    out.normalize();
    return out;
  }
  [[nodiscard]] code_point_set intersect(const code_point_set& o) const { return minus(o.complement()); }
  [[nodiscard]] bool contains(char32_t c) const {
    for (const auto& [lo, hi] : ranges_)
      if (c >= lo && c <= hi) return true;
    return false;
  }
  [[nodiscard]] bool empty() const noexcept { return ranges_.empty(); }
  [[nodiscard]] const std::vector<std::pair<char32_t, char32_t>>& ranges() const noexcept { return ranges_; }

 private:
  std::vector<std::pair<char32_t, char32_t>> ranges_;
  void normalize() {
    std::sort(ranges_.begin(), ranges_.end());
    std::vector<std::pair<char32_t, char32_t>> m;
    for (const auto& r : ranges_) {
      if (!m.empty() && r.first <= m.back().second + 1) {
        m.back().second = std::max(m.back().second, r.second);
      } else {
        m.push_back(r);
      }
    }
    ranges_ = std::move(m);
  }
};

namespace detail {

/// A code point as a GBNF escape (\xHH, \uHHHH or \UHHHHHHHH).
inline std::string gbnf_escape_code_point(char32_t c) {
  char buf[16];
  if (c < 0x100) {
    std::snprintf(buf, sizeof(buf), "\\x%02X", static_cast<unsigned>(c));
  } else if (c < 0x10000) {
    std::snprintf(buf, sizeof(buf), "\\u%04X", static_cast<unsigned>(c));
  } else {
    std::snprintf(buf, sizeof(buf), "\\U%08X", static_cast<unsigned>(c));
  }
  return buf;
}

/// A GBNF string literal for `text` (UTF-8): quotes, backslashes and control characters escaped.
inline std::string gbnf_literal(std::string_view text) {
  std::string out = "\"";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '"') {
      out += "\\\"";
    } else if (ch == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c == 0x7F) {
      out += gbnf_escape_code_point(c);
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

/// How JSON writes code point c inside a string, when it must be escaped ("" otherwise).
inline std::string json_escape_of(char32_t c) {
  switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\b': return "\\b";
    case '\f': return "\\f";
    default: break;
  }
  if (c < 0x20) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
    return buf;
  }
  return {};
}

}  // namespace detail

/// GBNF for "one JSON-encoded character whose decoded value is in `set`": a class of the
/// characters JSON writes as they are, plus the escaped forms of the others.
inline std::string json_char_set_gbnf(const code_point_set& set) {
  code_point_set special(0, 0x1F);
  special.add('"', '"');
  special.add('\\', '\\');
  const code_point_set raw = set.minus(special);
  std::vector<std::string> alts;
  if (!raw.empty()) {
    std::string cls = "[";
    for (const auto& [lo, hi] : raw.ranges()) {
      cls += detail::gbnf_escape_code_point(lo);
      if (hi != lo) {
        cls += '-';
        cls += detail::gbnf_escape_code_point(hi);
      }
    }
    cls += ']';
    alts.push_back(std::move(cls));
  }
  const code_point_set escaped = set.intersect(special);
  for (const auto& [lo, hi] : escaped.ranges())
    for (char32_t c = lo; c <= hi; ++c) alts.push_back(detail::gbnf_literal(detail::json_escape_of(c)));
  if (alts.empty()) return {};
  if (alts.size() == 1) return alts[0];
  std::string out = "(";
  for (std::size_t i = 0; i < alts.size(); ++i) {
    if (i > 0) out += " | ";
    out += alts[i];
  }
  return out + ")";
}

/// Result of a pattern translation: a GBNF expression and notes about what was relaxed.
struct regex_gbnf {
  std::string expression;
  std::vector<std::string> warnings;
};

namespace detail {

class regex_translator {
 public:
  regex_translator(std::string_view pattern, std::uint32_t max_repetition)
      : p_(pattern), max_rep_(max_repetition) {}

  result<regex_gbnf> run() {
    // top-level alternatives, each with optional ^ / $ anchors
    std::vector<std::string> alts;
    const std::string any = json_char_set_gbnf(any_char()) + "*";
    for (;;) {
      bool start_anchor = false;
      if (peek() == '^') {
        ++pos_;
        start_anchor = true;
      }
      MMLLM_TRY_ASSIGN(std::string seq, sequence(true));
      bool end_anchor = false;
      if (peek() == '$') {
        ++pos_;
        end_anchor = true;
      }
      std::string a;
      if (!start_anchor) a += any + " ";
      a += seq.empty() ? std::string("\"\"") : seq;
      if (!end_anchor) a += " " + any;
      alts.push_back(std::move(a));
      if (peek() == '|') {
        ++pos_;
        continue;
      }
      if (pos_ < p_.size()) {
        if (peek() == ')') return fail("unbalanced ')'");
        if (peek() == '^' || peek() == '$')
          return fail("anchors are only supported at the ends of the pattern");
        return fail("unexpected character");
      }
      break;
    }
    regex_gbnf out;
    if (alts.size() == 1) {
      out.expression = alts[0];
    } else {
      out.expression = "(";
      for (std::size_t i = 0; i < alts.size(); ++i) {
        if (i > 0) out.expression += " | ";
        out.expression += alts[i];
      }
      out.expression += ")";
    }
    out.warnings = std::move(warnings_);
    return out;
  }

 private:
  std::string_view p_;
  std::size_t pos_ = 0;
  std::uint32_t max_rep_;
  int depth_ = 0;
  bool atom_nullable_ = false;  // the last atom (after its quantifier) can match ""
  bool seq_nullable_ = false;   // the last sequence can match ""
  bool alt_nullable_ = false;   // the last alternation can match ""
  std::vector<std::string> warnings_;

  [[nodiscard]] char peek(std::size_t off = 0) const noexcept {
    return pos_ + off < p_.size() ? p_[pos_ + off] : '\0';
  }
  [[nodiscard]] error fail(std::string_view what) const {
    return make_error(errc::unsupported, "pattern: ", what, " at position ", std::to_string(pos_), " of \"",
                      std::string(p_), "\"");
  }
  static code_point_set any_char() {
    code_point_set all(0, 0x10FFFF);
    code_point_set no;
    no.add('\n', '\n');
    no.add('\r', '\r');
    no.add(0x2028, 0x2029);
    no.add(0xD800, 0xDFFF);
    return all.minus(no);
  }
  static code_point_set digit() { return {'0', '9'}; }
  static code_point_set word() {
    code_point_set s('0', '9');
    s.add('A', 'Z');
    s.add('a', 'z');
    s.add('_', '_');
    return s;
  }
  static code_point_set space() {
    code_point_set s('\t', '\r');  // \t \n \v \f \r
    s.add(' ', ' ');
    return s;
  }

  // alternation inside a group
  result<std::string> alternation() {
    std::vector<std::string> alts;
    bool nullable = false;
    for (;;) {
      MMLLM_TRY_ASSIGN(std::string s, sequence(false));
      nullable = nullable || seq_nullable_;
      alts.push_back(s.empty() ? std::string("\"\"") : s);
      if (peek() != '|') break;
      ++pos_;
    }
    alt_nullable_ = nullable;
    if (alts.size() == 1) return alts[0];
    std::string out;
    for (std::size_t i = 0; i < alts.size(); ++i) {
      if (i > 0) out += " | ";
      out += alts[i];
    }
    return out;
  }

  result<std::string> sequence(bool top) {
    std::string out;
    bool nullable = true;
    seq_nullable_ = true;
    while (pos_ < p_.size()) {
      const char c = peek();
      if (c == '|' || c == ')') break;
      if (c == '$') {
        if (top && (pos_ + 1 == p_.size() || peek(1) == '|')) break;
        return fail("anchors are only supported at the ends of the pattern");
      }
      if (c == '^') return fail("anchors are only supported at the ends of the pattern");
      MMLLM_TRY_ASSIGN(std::string atom, parse_atom());
      MMLLM_TRY_ASSIGN(atom, quantify(std::move(atom)));
      nullable = nullable && atom_nullable_;
      if (!out.empty()) out += ' ';
      out += atom;
    }
    seq_nullable_ = nullable;
    return out;
  }

  /// One atom; sets atom_nullable_ (whether it can match the empty string).
  result<std::string> parse_atom() {
    atom_nullable_ = false;
    const char c = peek();
    if (c == '(') {
      if (++depth_ > 64) return fail("groups nested too deeply");
      ++pos_;
      if (peek() == '?') {
        if (peek(1) == ':') {
          pos_ += 2;
        } else if (peek(1) == '<' && peek(2) != '=' && peek(2) != '!') {
          const std::size_t close = p_.find('>', pos_);
          if (close == std::string_view::npos) return fail("unterminated group name");
          pos_ = close + 1;
        } else if (peek(1) == 'P' && peek(2) == '<') {
          const std::size_t close = p_.find('>', pos_);
          if (close == std::string_view::npos) return fail("unterminated group name");
          pos_ = close + 1;
        } else {
          return fail("lookaround and inline flags are not supported");
        }
      }
      MMLLM_TRY_ASSIGN(std::string inner, alternation());
      if (peek() != ')') return fail("unbalanced '('");
      ++pos_;
      --depth_;
      atom_nullable_ = alt_nullable_;
      return "(" + inner + ")";
    }
    if (c == '[') return bracket();
    if (c == '.') {
      ++pos_;
      return json_char_set_gbnf(any_char());
    }
    if (c == '*' || c == '+' || c == '?') return fail("quantifier without an item");
    if (c == '{' && is_quantifier_brace()) return fail("quantifier without an item");
    if (c == '\\') {
      MMLLM_TRY_ASSIGN(const code_point_set s, escape(false));
      return json_char_set_gbnf(s);
    }
    char32_t cp = 0;
    const std::size_t len = utf8_decode_strict(p_, pos_, cp);
    if (len == 0) return fail("invalid UTF-8");
    pos_ += len;
    return json_char_set_gbnf(code_point_set(cp, cp));
  }

  [[nodiscard]] bool is_quantifier_brace() const {
    std::size_t i = pos_ + 1;
    if (i >= p_.size() || !(p_[i] >= '0' && p_[i] <= '9')) return false;
    while (i < p_.size() && p_[i] >= '0' && p_[i] <= '9') ++i;
    if (i < p_.size() && p_[i] == ',') {
      ++i;
      while (i < p_.size() && p_[i] >= '0' && p_[i] <= '9') ++i;
    }
    return i < p_.size() && p_[i] == '}';
  }

  result<std::uint64_t> number() {
    std::uint64_t v = 0;
    const std::size_t start = pos_;
    while (peek() >= '0' && peek() <= '9') {
      v = std::min<std::uint64_t>(v * 10 + static_cast<std::uint64_t>(peek() - '0'), 1u << 30);
      ++pos_;
    }
    if (pos_ == start) return fail("expecting a number");
    return v;
  }

  result<std::string> quantify(std::string atom) {
    std::uint64_t min = 0, max = 0;
    bool unbounded = false;
    const char c = peek();
    if (c == '*') {
      ++pos_;
      unbounded = true;
    } else if (c == '+') {
      ++pos_;
      min = 1;
      unbounded = true;
    } else if (c == '?') {
      ++pos_;
      max = 1;
    } else if (c == '{' && is_quantifier_brace()) {
      ++pos_;
      MMLLM_TRY_ASSIGN(min, number());
      if (peek() == ',') {
        ++pos_;
        if (peek() == '}') {
          unbounded = true;
        } else {
          MMLLM_TRY_ASSIGN(max, number());
          if (max < min) return fail("quantifier {n,m} with m < n");
        }
      } else {
        max = min;
      }
      ++pos_;  // '}'
    } else {
      return atom;
    }
    if (peek() == '?') ++pos_;  // lazy: the same language
    if (peek() == '*' || peek() == '+' || (peek() == '{' && is_quantifier_brace()))
      return fail("nested quantifier");
    if (min > max_rep_) return fail("repetition count above " + std::to_string(max_rep_));
    if (!unbounded && max > max_rep_) {
      warnings_.push_back("pattern: repetition upper bound " + std::to_string(max) + " above " +
                          std::to_string(max_rep_) + " is not enforced");
      unbounded = true;
    }
    // GBNF rejects unbounded repetition of something that can match the empty string (the
    // helper rule would recurse without consuming input)
    if (unbounded && atom_nullable_)
      return fail("unbounded repetition of a group that can match the empty string is not supported");
    atom_nullable_ = atom_nullable_ || min == 0;
    const bool group = atom.size() > 1 && !(atom.front() == '(' && atom.back() == ')');
    const std::string a = group ? "(" + atom + ")" : atom;
    if (unbounded) {
      if (min == 0) return a + "*";
      if (min == 1) return a + "+";
      return a + "{" + std::to_string(min) + ",}";
    }
    if (min == 0 && max == 1) return a + "?";
    if (min == max) return min == 0 ? std::string("\"\"") : a + "{" + std::to_string(min) + "}";
    return a + "{" + std::to_string(min) + "," + std::to_string(max) + "}";
  }

  result<char32_t> hex(std::size_t digits) {
    char32_t v = 0;
    for (std::size_t i = 0; i < digits; ++i) {
      const char h = peek();
      int d = -1;
      if (h >= '0' && h <= '9') d = h - '0';
      if (h >= 'a' && h <= 'f') d = h - 'a' + 10;
      if (h >= 'A' && h <= 'F') d = h - 'A' + 10;
      if (d < 0) return fail("bad hex escape");
      v = (v << 4) | static_cast<char32_t>(d);
      ++pos_;
    }
    return v;
  }

  /// An escape (after '\\'); `in_class` allows \b as backspace.
  result<code_point_set> escape(bool in_class) {
    ++pos_;  // backslash
    if (pos_ >= p_.size()) return fail("pattern ends with '\\'");
    const char e = p_[pos_++];
    switch (e) {
      case 'd': return digit();
      case 'D': return digit().complement();
      case 'w': return word();
      case 'W': return word().complement();
      case 's': return space();
      case 'S': return space().complement();
      case 't': return code_point_set('\t', '\t');
      case 'n': return code_point_set('\n', '\n');
      case 'r': return code_point_set('\r', '\r');
      case 'f': return code_point_set('\f', '\f');
      case 'v': return code_point_set('\v', '\v');
      case '0': return code_point_set(0, 0);
      case 'x': {
        MMLLM_TRY_ASSIGN(const char32_t v, hex(2));
        return code_point_set(v, v);
      }
      case 'u': {
        MMLLM_TRY_ASSIGN(const char32_t v, hex(4));
        if (v >= 0xD800 && v <= 0xDFFF) return fail("surrogate escapes are not supported");
        return code_point_set(v, v);
      }
      case 'b':
        if (in_class) return code_point_set('\b', '\b');
        return fail("word boundaries (\\b) are not supported");
      case 'B': return fail("\\B is not supported");
      case 'p':
      case 'P': return fail("Unicode property classes are not supported");
      case 'k': return fail("backreferences are not supported");
      case 'c': return fail("control escapes (\\c) are not supported");
      default: break;
    }
    if (e >= '1' && e <= '9') return fail("backreferences are not supported");
    const auto u = static_cast<unsigned char>(e);
    if (u < 0x80 && !((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z')))
      return code_point_set(static_cast<char32_t>(u), static_cast<char32_t>(u));
    return fail(std::string("unknown escape '\\") + e + "'");
  }

  result<std::string> bracket() {
    const std::size_t open = pos_;
    ++pos_;
    bool negated = false;
    if (peek() == '^') {
      negated = true;
      ++pos_;
    }
    code_point_set set;
    bool first = true;
    while (pos_ < p_.size() && (peek() != ']' || first)) {
      first = false;
      code_point_set item;
      char32_t lo = 0;
      bool single = false;
      if (peek() == '\\') {
        MMLLM_TRY_ASSIGN(item, escape(true));
        if (item.ranges().size() == 1 && item.ranges()[0].first == item.ranges()[0].second) {
          single = true;
          lo = item.ranges()[0].first;
        }
      } else {
        const std::size_t len = utf8_decode_strict(p_, pos_, lo);
        if (len == 0) return fail("invalid UTF-8");
        pos_ += len;
        single = true;
        item = code_point_set(lo, lo);
      }
      if (single && peek() == '-' && peek(1) != ']' && peek(1) != '\0') {
        ++pos_;
        char32_t hi = 0;
        if (peek() == '\\') {
          MMLLM_TRY_ASSIGN(const code_point_set h, escape(true));
          if (h.ranges().size() != 1 || h.ranges()[0].first != h.ranges()[0].second)
            return fail("a class escape cannot end a range");
          hi = h.ranges()[0].first;
        } else {
          const std::size_t len = utf8_decode_strict(p_, pos_, hi);
          if (len == 0) return fail("invalid UTF-8");
          pos_ += len;
        }
        if (hi < lo) return fail("reversed range in a character class");
        item = code_point_set(lo, hi);
      }
      set.add(item);
    }
    if (peek() != ']') {
      pos_ = open;
      return fail("unterminated character class");
    }
    ++pos_;
    if (negated) set = set.complement();
    if (set.empty()) return fail("a character class that matches nothing");
    return json_char_set_gbnf(set);
  }
};

}  // namespace detail

/// Translates `pattern` into a GBNF expression for a JSON string body (without the quotes).
inline result<regex_gbnf> regex_to_json_string_gbnf(std::string_view pattern,
                                                    std::uint32_t max_repetition = 2000) {
  detail::regex_translator t(pattern, max_repetition);
  return t.run();
}

}  // namespace mmllm
