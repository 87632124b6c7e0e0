// mmllm/sampling/gbnf_grammar.hpp — GBNF grammars (llama.cpp's grammar format), parsed and
// compiled for matching.
//
//   auto g = mmllm::gbnf_grammar::parse(R"(root ::= "yes" | "no")");   // result<gbnf_grammar>
//   if (!g) std::puts(g.error().what().c_str());   // "malformed: gbnf: line 1, column 9: ..."
//
// The format: rules `name ::= alternatives`, one per line (a newline after `|` or inside
// parentheses continues the rule); `|` alternatives; sequences; groups `( … )`; repetition
// `*` `+` `?` `{m}` `{m,}` `{m,n}` (bounds up to max_repetition, 2000 as llama.cpp); string
// literals `"…"`; character classes `[a-z0-9_]`, negated `[^\n]`; `.` any character; `#`
// comments; escapes \xHH \uHHHH \UHHHHHHHH \t \r \n \f \v and a backslash before ASCII
// punctuation (\" \\ \[ \] \- …). Terminals are Unicode code points; the grammar text is
// UTF-8. Rule names are letters, digits, '-' and '_' (llama.cpp: no '_').
//
// Checked at parse time, each with a line/column or rule name: syntax, undefined rules, a
// missing root rule, rules defined twice, empty character classes, repetition bounds, left
// recursion (also through rules that can match the empty string), nesting depth and total
// size after repetition expansion (hostile inputs hit these limits, not the stack or memory).
//
// Compiled form (what grammar_matcher walks): one array of elements; each rule is its
// alternatives separated by `alt` and closed by `end`, as llama.cpp's llama_grammar_element
// rules; repetitions are rewritten into helper rules (S{m,n} -> m copies of S, then n - m
// nested optional rules; S* -> R ::= S R | ε).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../core/result.hpp"

namespace mmllm {

/// Element kinds (llama.cpp's llama_gretype).
enum class gbnf_op : std::uint8_t {
  end,            ///< end of a rule
  alt,            ///< start of another alternative
  rule_ref,       ///< value: rule index
  chr,            ///< value: code point; starts a character class / literal character
  chr_not,        ///< value: code point; starts a negated class
  chr_alt,        ///< value: code point; another member of the class
  chr_rng_upper,  ///< value: upper bound of the range started by the previous element
  chr_any,        ///< any character (`.`)
};

struct gbnf_element {
  gbnf_op op = gbnf_op::end;
  std::uint32_t value = 0;
};

/// Limits that bound work and memory for untrusted grammars.
struct gbnf_limits {
  std::uint32_t max_repetition = 2000;              ///< largest m or n in {m,n}
  std::uint32_t max_nesting = 128;                  ///< nested parentheses
  std::size_t max_elements = std::size_t{1} << 21;  ///< total elements after expansion
  std::size_t max_text = std::size_t{16} << 20;     ///< grammar text bytes
};

/// A compiled terminal: a character class and the element after it.
struct gbnf_terminal {
  bool negated = false;
  bool any = false;
  std::array<std::uint64_t, 2> ascii{};               ///< membership of code points < 128 (before negation)
  std::vector<std::pair<char32_t, char32_t>> ranges;  ///< sorted, disjoint, inclusive (before negation)
  std::uint32_t next = 0;                             ///< element index after the class
  char32_t max_cp = 0;                                ///< the largest code point in ranges

  [[nodiscard]] bool matches(char32_t cp) const noexcept {
    if (any) return true;
    bool in = false;
    if (cp < 128) {
      in = ((ascii[cp >> 6] >> (cp & 63)) & 1u) != 0;
    } else if (cp > max_cp) {
      in = false;
    } else {
      auto it =
          std::upper_bound(ranges.begin(), ranges.end(), cp,
                           [](char32_t c, const std::pair<char32_t, char32_t>& r) { return c < r.first; });
      in = it != ranges.begin() && cp <= std::prev(it)->second;
    }
    return in != negated;
  }
  /// Whether some code point in [lo, hi] matches.
  [[nodiscard]] bool matches_some(char32_t lo, char32_t hi) const noexcept {
    if (any) return lo <= hi;
    if (!negated) {
      for (const auto& r : ranges)
        if (r.first <= hi && lo <= r.second) return true;
      return false;
    }
    char32_t next = lo;  // first code point not yet known to be excluded
    for (const auto& r : ranges) {
      if (r.second < next) continue;
      if (r.first > next) return next <= hi;
      if (r.second >= hi) return false;
      next = r.second + 1;
    }
    return next <= hi;
  }
};

class gbnf_grammar {
 public:
  /// Parses and compiles `text`; `root` names the start rule.
  static result<gbnf_grammar> parse(std::string_view text, std::string_view root = "root",
                                    const gbnf_limits& limits = {});

  [[nodiscard]] const std::vector<gbnf_element>& elements() const noexcept { return elems_; }
  [[nodiscard]] std::size_t rule_count() const noexcept { return rule_start_.size(); }
  [[nodiscard]] std::uint32_t rule_start(std::uint32_t rule) const noexcept { return rule_start_[rule]; }
  [[nodiscard]] const std::string& rule_name(std::uint32_t rule) const noexcept { return names_[rule]; }
  [[nodiscard]] std::uint32_t root() const noexcept { return root_; }
  /// Index of the rule called `name`, or -1.
  [[nodiscard]] std::int64_t find_rule(std::string_view name) const {
    for (std::size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == name && !generated_[i]) return static_cast<std::int64_t>(i);
    return -1;
  }
  /// The terminal starting at element `pos` (pos must start a class: chr, chr_not, chr_any).
  [[nodiscard]] const gbnf_terminal& terminal_at(std::uint32_t pos) const noexcept {
    return terminals_[terminal_index_[pos]];
  }
  [[nodiscard]] bool is_terminal(std::uint32_t pos) const noexcept {
    const gbnf_op op = elems_[pos].op;
    return op == gbnf_op::chr || op == gbnf_op::chr_not || op == gbnf_op::chr_any;
  }
  [[nodiscard]] bool is_end_of_alternative(std::uint32_t pos) const noexcept {
    return elems_[pos].op == gbnf_op::end || elems_[pos].op == gbnf_op::alt;
  }

  /// The grammar printed back as GBNF (helper rules included).
  [[nodiscard]] std::string to_string() const;

 private:
  std::vector<gbnf_element> elems_;
  std::vector<std::uint32_t> rule_start_;
  std::vector<std::string> names_;
  std::vector<bool> generated_;
  std::uint32_t root_ = 0;
  std::vector<gbnf_terminal> terminals_;
  std::vector<std::uint32_t> terminal_index_;

  friend class gbnf_parser;
};

namespace detail {

/// Decodes one UTF-8 character strictly (no overlongs, surrogates or values past U+10FFFF).
/// Returns the length (0 when invalid or truncated).
inline std::size_t utf8_decode_strict(std::string_view s, std::size_t pos, char32_t& cp) noexcept {
  const auto b0 = static_cast<unsigned char>(s[pos]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len = 0;
  char32_t v = 0, min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    v = b0 & 0x1F;
    min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    v = b0 & 0x0F;
    min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    v = b0 & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if (pos + len > s.size()) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[pos + i]);
    if ((b & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  cp = v;
  return len;
}

inline void utf8_put(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace detail

/// The GBNF parser (use gbnf_grammar::parse).
class gbnf_parser {
 public:
  gbnf_parser(std::string_view text, const gbnf_limits& limits) : t_(text), lim_(limits) {}

  result<gbnf_grammar> run(std::string_view root_name) {
    if (t_.size() > lim_.max_text)
      return make_error(errc::resource_limit, "gbnf: grammar text exceeds ", std::to_string(lim_.max_text),
                        " bytes");
    skip_space(true);
    while (pos_ < t_.size()) {
      MMLLM_TRY(parse_rule());
    }
    for (std::size_t r = 0; r < rules_.size(); ++r) {
      if (!defined_[r]) {
        return make_error(errc::malformed, "gbnf: undefined rule '", names_[r], "' (first used at ",
                          where(first_use_[r]), ")");
      }
    }
    const auto it = ids_.find(std::string(root_name));
    if (it == ids_.end())
      return make_error(errc::malformed, "gbnf: the grammar has no '", root_name, "' rule");
    MMLLM_TRY(check_left_recursion());
    return compile(it->second);
  }

 private:
  std::string_view t_;
  gbnf_limits lim_;
  std::size_t pos_ = 0;
  std::uint32_t depth_ = 0;
  std::size_t total_ = 0;  // elements so far
  std::vector<std::vector<gbnf_element>> rules_;
  std::vector<std::string> names_;
  std::vector<bool> defined_, generated_;
  std::vector<std::size_t> first_use_, def_pos_;
  std::unordered_map<std::string, std::uint32_t> ids_;

  // --- errors --------------------------------------------------------------------------
  [[nodiscard]] std::string where(std::size_t at) const {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < at && i < t_.size(); ++i) {
      if (t_[i] == '\n') {
        ++line;
        col = 1;
      } else if ((static_cast<unsigned char>(t_[i]) & 0xC0) != 0x80) {
        ++col;
      }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(col);
  }
  [[nodiscard]] error fail(std::string_view what) const { return fail_at(pos_, what); }
  [[nodiscard]] error fail_at(std::size_t at, std::string_view what) const {
    std::string near;
    for (std::size_t i = at; i < t_.size() && i < at + 20 && t_[i] != '\n' && t_[i] != '\r'; ++i)
      near += t_[i];
    std::string msg = "gbnf: " + where(at) + ": " + std::string(what);
    if (at >= t_.size()) {
      msg += " (at end of input)";
    } else if (!near.empty()) {
      msg += " (near \"" + near + "\")";
    }
    return error{errc::malformed, std::move(msg)};
  }

  // --- lexing --------------------------------------------------------------------------
  [[nodiscard]] char peek(std::size_t off = 0) const noexcept {
    return pos_ + off < t_.size() ? t_[pos_ + off] : '\0';
  }
  [[nodiscard]] bool at_end() const noexcept { return pos_ >= t_.size(); }
  static bool is_name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  }
  void skip_space(bool newlines) {
    while (pos_ < t_.size()) {
      const char c = t_[pos_];
      if (c == ' ' || c == '\t' || (newlines && (c == '\r' || c == '\n'))) {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < t_.size() && t_[pos_] != '\r' && t_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }
  std::uint32_t symbol(std::string_view name, std::size_t at) {
    const auto [it, inserted] =
        ids_.try_emplace(std::string(name), static_cast<std::uint32_t>(rules_.size()));
    if (inserted) {
      rules_.emplace_back();
      names_.emplace_back(name);
      defined_.push_back(false);
      generated_.push_back(false);
      first_use_.push_back(at);
      def_pos_.push_back(at);
    }
    return it->second;
  }
  std::uint32_t generated_symbol(std::uint32_t parent) {
    const auto id = static_cast<std::uint32_t>(rules_.size());
    rules_.emplace_back();
    names_.push_back(names_[parent] + "_" + std::to_string(id));
    defined_.push_back(true);
    generated_.push_back(true);
    first_use_.push_back(pos_);
    def_pos_.push_back(pos_);
    return id;
  }

  result<char32_t> parse_hex(std::size_t digits) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < digits; ++i) {
      const char h = peek();
      std::uint32_t d = 0;
      if (h >= '0' && h <= '9') {
        d = static_cast<std::uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        d = static_cast<std::uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        d = static_cast<std::uint32_t>(h - 'A' + 10);
      } else {
        return fail("expecting " + std::to_string(digits) + " hex digits");
      }
      v = (v << 4) | d;
      ++pos_;
    }
    if (v > 0x10FFFF) return fail("code point beyond U+10FFFF");
    return static_cast<char32_t>(v);
  }

  /// One character of a literal or class: an escape or a UTF-8 character.
  result<char32_t> parse_char() {
    if (at_end()) return fail("unexpected end of input");
    const char c = t_[pos_];
    if (c == '\\') {
      const std::size_t start = pos_;
      ++pos_;
      if (at_end()) return fail_at(start, "unfinished escape");
      const char e = t_[pos_++];
      switch (e) {
        case 'x': return parse_hex(2);
        case 'u': return parse_hex(4);
        case 'U': return parse_hex(8);
        case 't': return U'\t';
        case 'r': return U'\r';
        case 'n': return U'\n';
        case 'f': return U'\f';
        case 'v': return U'\v';
        default: break;
      }
      const auto u = static_cast<unsigned char>(e);
      if (u >= 0x21 && u < 0x7F &&
          !((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')))
        return static_cast<char32_t>(u);
      return fail_at(start, std::string("unknown escape '\\") + e + "'");
    }
    char32_t cp = 0;
    const std::size_t len = detail::utf8_decode_strict(t_, pos_, cp);
    if (len == 0) return fail("invalid UTF-8");
    pos_ += len;
    return cp;
  }

  result<void> add_elements(std::size_t n) {
    total_ += n;
    if (total_ > lim_.max_elements)
      return make_error(errc::resource_limit, "gbnf: grammar exceeds ", std::to_string(lim_.max_elements),
                        " elements after expanding repetitions (", where(pos_), ")");
    return ok();
  }

  result<void> parse_rule() {
    const std::size_t start = pos_;
    while (!at_end() && is_name_char(t_[pos_])) ++pos_;
    if (pos_ == start) return fail("expecting a rule name");
    const std::string_view name = t_.substr(start, pos_ - start);
    skip_space(false);
    if (t_.substr(pos_, 3) != "::=") return fail("expecting '::='");
    pos_ += 3;
    const std::uint32_t id = symbol(name, start);
    if (defined_[id])
      return fail_at(
          start, "rule '" + std::string(name) + "' is defined twice (first at " + where(def_pos_[id]) + ")");
    defined_[id] = true;
    def_pos_[id] = start;
    skip_space(true);
    MMLLM_TRY(parse_alternates(id, false));
    if (peek() == '\r') {
      pos_ += peek(1) == '\n' ? 2 : 1;
    } else if (peek() == '\n') {
      ++pos_;
    } else if (!at_end()) {
      if (peek() == ')') return fail("unbalanced ')'");
      return fail("expecting a newline or the end of input");
    }
    skip_space(true);
    return ok();
  }

  result<void> parse_alternates(std::uint32_t id, bool nested) {
    std::vector<gbnf_element> rule;
    MMLLM_TRY(parse_sequence(id, rule, nested));
    while (peek() == '|') {
      rule.push_back({gbnf_op::alt, 0});
      MMLLM_TRY(add_elements(1));
      ++pos_;
      skip_space(true);
      MMLLM_TRY(parse_sequence(id, rule, nested));
    }
    rule.push_back({gbnf_op::end, 0});
    MMLLM_TRY(add_elements(1));
    rules_[id] = std::move(rule);
    return ok();
  }

  result<void> parse_sequence(std::uint32_t id, std::vector<gbnf_element>& rule, bool nested) {
    std::size_t last_start = rule.size();
    bool have_last = false;
    while (!at_end()) {
      const char c = t_[pos_];
      const std::size_t item_pos = pos_;
      if (c == '"') {
        ++pos_;
        last_start = rule.size();
        while (peek() != '"') {
          if (at_end() || peek() == '\n' || peek() == '\r')
            return fail_at(item_pos, "unterminated string literal");
          MMLLM_TRY_ASSIGN(const char32_t cp, parse_char());
          rule.push_back({gbnf_op::chr, static_cast<std::uint32_t>(cp)});
          MMLLM_TRY(add_elements(1));
        }
        ++pos_;
        have_last = true;
      } else if (c == '[') {
        ++pos_;
        gbnf_op first = gbnf_op::chr;
        if (peek() == '^') {
          ++pos_;
          first = gbnf_op::chr_not;
        }
        last_start = rule.size();
        while (peek() != ']') {
          if (at_end()) return fail_at(item_pos, "unterminated character class");
          MMLLM_TRY_ASSIGN(const char32_t lo, parse_char());
          rule.push_back(
              {rule.size() > last_start ? gbnf_op::chr_alt : first, static_cast<std::uint32_t>(lo)});
          MMLLM_TRY(add_elements(1));
          if (peek() == '-' && peek(1) != ']' && peek(1) != '\0') {
            ++pos_;
            const std::size_t hi_pos = pos_;
            MMLLM_TRY_ASSIGN(const char32_t hi, parse_char());
            if (hi < lo) return fail_at(hi_pos, "character range is reversed");
            rule.push_back({gbnf_op::chr_rng_upper, static_cast<std::uint32_t>(hi)});
            MMLLM_TRY(add_elements(1));
          }
        }
        if (rule.size() == last_start) return fail_at(item_pos, "empty character class");
        ++pos_;
        have_last = true;
      } else if (is_name_char(c)) {
        const std::size_t start = pos_;
        while (!at_end() && is_name_char(t_[pos_])) ++pos_;
        const std::string_view name = t_.substr(start, pos_ - start);
        const std::size_t save = pos_;
        skip_space(nested);
        if (t_.substr(pos_, 3) == "::=") {  // the next rule starts: a newline was missing
          return fail_at(start, "expecting a newline before rule '" + std::string(name) + "'");
        }
        pos_ = save;
        last_start = rule.size();
        rule.push_back({gbnf_op::rule_ref, symbol(name, start)});
        MMLLM_TRY(add_elements(1));
        have_last = true;
      } else if (c == '(') {
        if (++depth_ > lim_.max_nesting)
          return make_error(errc::resource_limit, "gbnf: ", where(pos_), ": groups nested deeper than ",
                            std::to_string(lim_.max_nesting));
        ++pos_;
        skip_space(true);
        const std::uint32_t sub = generated_symbol(id);
        MMLLM_TRY(parse_alternates(sub, true));
        if (peek() != ')') return at_end() ? fail_at(item_pos, "unbalanced '('") : fail("expecting ')'");
        ++pos_;
        --depth_;
        last_start = rule.size();
        rule.push_back({gbnf_op::rule_ref, sub});
        MMLLM_TRY(add_elements(1));
        have_last = true;
      } else if (c == '.') {
        ++pos_;
        last_start = rule.size();
        rule.push_back({gbnf_op::chr_any, 0});
        MMLLM_TRY(add_elements(1));
        have_last = true;
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (!have_last) return fail(std::string("'") + c + "' without a preceding item");
        std::uint64_t min = 0, max = 0;
        bool unbounded = false;
        ++pos_;
        if (c == '*') {
          unbounded = true;
        } else if (c == '+') {
          min = 1;
          unbounded = true;
        } else if (c == '?') {
          max = 1;
        } else {
          skip_space(nested);
          MMLLM_TRY_ASSIGN(min, parse_count());
          skip_space(nested);
          if (peek() == '}') {
            max = min;
          } else if (peek() == ',') {
            ++pos_;
            skip_space(nested);
            if (peek() >= '0' && peek() <= '9') {
              MMLLM_TRY_ASSIGN(max, parse_count());
              skip_space(nested);
              if (max < min) return fail_at(item_pos, "repetition {m,n} with n < m");
            } else {
              unbounded = true;
            }
            if (peek() != '}') return fail("expecting '}'");
          } else {
            return fail("expecting ',' or '}'");
          }
          ++pos_;
        }
        MMLLM_TRY(repeat(id, rule, last_start, min, max, unbounded));
        have_last = true;
      } else {
        break;
      }
      skip_space(nested);
    }
    return ok();
  }

  result<std::uint64_t> parse_count() {
    if (!(peek() >= '0' && peek() <= '9')) return fail("expecting an integer");
    const std::size_t start = pos_;
    std::uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      v = v * 10 + static_cast<std::uint64_t>(peek() - '0');
      ++pos_;
      if (v > lim_.max_repetition)
        return make_error(errc::resource_limit, "gbnf: ", where(start), ": repetition count exceeds ",
                          std::to_string(lim_.max_repetition));
    }
    return v;
  }

  // S{min,max}: min copies of S, then max - min nested optional rules (or one S* rule).
  result<void> repeat(std::uint32_t id, std::vector<gbnf_element>& rule, std::size_t last_start,
                      std::uint64_t min, std::uint64_t max, bool unbounded) {
    const std::vector<gbnf_element> item(rule.begin() + static_cast<std::ptrdiff_t>(last_start), rule.end());
    if (min == 0) {
      rule.resize(last_start);
      total_ -= item.size();
    } else {
      MMLLM_TRY(add_elements(item.size() * (min - 1)));
      for (std::uint64_t i = 1; i < min; ++i) rule.insert(rule.end(), item.begin(), item.end());
    }
    const std::uint64_t optional = unbounded ? 1 : max - min;
    std::uint32_t prev = 0;
    for (std::uint64_t i = 0; i < optional; ++i) {
      MMLLM_TRY(add_elements(item.size() + 3));
      const std::uint32_t sub = generated_symbol(id);
      std::vector<gbnf_element> r(item);
      if (unbounded) {
        r.push_back({gbnf_op::rule_ref, sub});
      } else if (i > 0) {
        r.push_back({gbnf_op::rule_ref, prev});
      }
      r.push_back({gbnf_op::alt, 0});
      r.push_back({gbnf_op::end, 0});
      rules_[sub] = std::move(r);
      prev = sub;
    }
    if (optional > 0) {
      MMLLM_TRY(add_elements(1));
      rule.push_back({gbnf_op::rule_ref, prev});
    }
    return ok();
  }

  // Left recursion: a rule reachable from itself through leftmost positions, where the
  // symbols before may match the empty string. Nullable rules by fixed point, then a cycle
  // search (iterative) over "may start with" edges.
  result<void> check_left_recursion() {
    const std::size_t n = rules_.size();
    std::vector<bool> nullable(n, false);
    for (bool changed = true; changed;) {
      changed = false;
      for (std::size_t r = 0; r < n; ++r) {
        if (nullable[r]) continue;
        bool alt_ok = true;
        for (const gbnf_element& e : rules_[r]) {
          if (e.op == gbnf_op::alt || e.op == gbnf_op::end) {
            if (alt_ok) {
              nullable[r] = true;
              changed = true;
              break;
            }
            alt_ok = true;
          } else if (e.op == gbnf_op::rule_ref) {
            alt_ok = alt_ok && nullable[e.value];
          } else if (e.op != gbnf_op::chr_alt && e.op != gbnf_op::chr_rng_upper) {
            alt_ok = false;
          }
        }
      }
    }
    std::vector<std::vector<std::uint32_t>> edges(n);
    for (std::size_t r = 0; r < n; ++r) {
      bool leading = true;
      for (const gbnf_element& e : rules_[r]) {
        if (e.op == gbnf_op::alt || e.op == gbnf_op::end) {
          leading = true;
        } else if (e.op == gbnf_op::rule_ref) {
          if (leading) edges[r].push_back(e.value);
          leading = leading && nullable[e.value];
        } else if (e.op != gbnf_op::chr_alt && e.op != gbnf_op::chr_rng_upper) {
          leading = false;
        }
      }
    }
    std::vector<std::uint8_t> color(n, 0);  // 0 new, 1 on the path, 2 done
    std::vector<std::pair<std::uint32_t, std::size_t>> path;
    for (std::uint32_t s = 0; s < n; ++s) {
      if (color[s] != 0) continue;
      path.emplace_back(s, 0);
      color[s] = 1;
      while (!path.empty()) {
        auto& [r, next] = path.back();
        if (next < edges[r].size()) {
          const std::uint32_t to = edges[r][next++];
          if (color[to] == 1) {
            std::string cycle;
            bool in = false;
            for (const auto& entry : path) {
              if (entry.first == to) in = true;
              if (in && !generated_[entry.first]) cycle += names_[entry.first] + " -> ";
            }
            cycle += names_[to];
            return make_error(errc::malformed, "gbnf: left recursion (", cycle,
                              "): a rule may not start with itself; rewrite it with repetition");
          }
          if (color[to] == 0) {
            color[to] = 1;
            path.emplace_back(to, 0);
          }
        } else {
          color[r] = 2;
          path.pop_back();
        }
      }
    }
    return ok();
  }

  result<gbnf_grammar> compile(std::uint32_t root) {
    gbnf_grammar g;
    g.root_ = root;
    g.names_ = std::move(names_);
    g.generated_ = std::move(generated_);
    g.rule_start_.resize(rules_.size());
    for (std::size_t r = 0; r < rules_.size(); ++r) {
      g.rule_start_[r] = static_cast<std::uint32_t>(g.elems_.size());
      g.elems_.insert(g.elems_.end(), rules_[r].begin(), rules_[r].end());
    }
    g.terminal_index_.assign(g.elems_.size(), ~0u);
    for (std::uint32_t p = 0; p < g.elems_.size(); ++p) {
      const gbnf_op op = g.elems_[p].op;
      if (op != gbnf_op::chr && op != gbnf_op::chr_not && op != gbnf_op::chr_any) continue;
      gbnf_terminal t;
      t.negated = op == gbnf_op::chr_not;
      std::uint32_t q = p;
      if (op == gbnf_op::chr_any) {
        t.any = true;
        q = p + 1;
      } else {
        do {
          const char32_t lo = g.elems_[q].value;
          char32_t hi = lo;
          if (g.elems_[q + 1].op == gbnf_op::chr_rng_upper) {
            hi = g.elems_[q + 1].value;
            q += 2;
          } else {
            q += 1;
          }
          t.ranges.emplace_back(lo, hi);
        } while (g.elems_[q].op == gbnf_op::chr_alt);
        std::sort(t.ranges.begin(), t.ranges.end());
        std::vector<std::pair<char32_t, char32_t>> merged;
        for (const auto& r : t.ranges) {
          if (!merged.empty() && r.first <= merged.back().second + 1) {
            merged.back().second = std::max(merged.back().second, r.second);
          } else {
            merged.push_back(r);
          }
        }
        t.ranges = std::move(merged);
        t.max_cp = t.ranges.empty() ? 0 : t.ranges.back().second;
        for (const auto& r : t.ranges)
          for (char32_t c = r.first; c <= r.second && c < 128; ++c)
            t.ascii[c >> 6] |= std::uint64_t{1} << (c & 63);
      }
      t.next = q;
      g.terminal_index_[p] = static_cast<std::uint32_t>(g.terminals_.size());
      g.terminals_.push_back(std::move(t));
      // a literal's characters each start a terminal: chr elements in sequence are separate
    }
    return g;
  }
};

inline result<gbnf_grammar> gbnf_grammar::parse(std::string_view text, std::string_view root,
                                                const gbnf_limits& limits) {
  gbnf_parser p(text, limits);
  return p.run(root);
}

inline std::string gbnf_grammar::to_string() const {
  auto put_char = [](std::string& out, char32_t c, bool in_class) {
    switch (c) {
      case '\n': out += "\\n"; return;
      case '\r': out += "\\r"; return;
      case '\t': out += "\\t"; return;
      case '\\': out += "\\\\"; return;
      case '"': out += in_class ? "\"" : "\\\""; return;
      default: break;
    }
    if (in_class && (c == ']' || c == '-' || c == '^' || c == '[')) {
      out += '\\';
      out += static_cast<char>(c);
      return;
    }
    if (c < 0x20 || c == 0x7F || (c >= 0xD800 && c <= 0xDFFF)) {
      static constexpr char hex[] = "0123456789ABCDEF";
      out += "\\u";
      for (int s = 12; s >= 0; s -= 4) out += hex[(c >> s) & 15];
      return;
    }
    detail::utf8_put(out, c);
  };
  std::string out;
  for (std::uint32_t r = 0; r < rule_start_.size(); ++r) {
    out += names_[r];
    out += " ::=";
    std::uint32_t p = rule_start_[r];
    bool in_literal = false;
    bool alt_empty = true;  // an empty alternative prints as "" (a bare trailing '|' continues the rule)
    for (;; ++p) {
      const gbnf_element e = elems_[p];
      const bool literal_char = e.op == gbnf_op::chr && elems_[p + 1].op != gbnf_op::chr_alt &&
                                elems_[p + 1].op != gbnf_op::chr_rng_upper;
      if (in_literal && !literal_char) {
        out += '"';
        in_literal = false;
      }
      if ((e.op == gbnf_op::end || e.op == gbnf_op::alt) && alt_empty) out += " \"\"";
      alt_empty = e.op == gbnf_op::alt;
      if (e.op == gbnf_op::end) break;
      if (literal_char) {
        if (!in_literal) {
          out += " \"";
          in_literal = true;
        }
        put_char(out, e.value, false);
        continue;
      }
      switch (e.op) {
        case gbnf_op::alt: out += " |"; break;
        case gbnf_op::rule_ref:
          out += ' ';
          out += names_[e.value];
          break;
        case gbnf_op::chr_any: out += " ."; break;
        case gbnf_op::chr:
        case gbnf_op::chr_not: {
          out += e.op == gbnf_op::chr_not ? " [^" : " [";
          std::uint32_t q = p;
          do {
            put_char(out, elems_[q].value, true);
            if (elems_[q + 1].op == gbnf_op::chr_rng_upper) {
              out += '-';
              put_char(out, elems_[q + 1].value, true);
              q += 2;
            } else {
              q += 1;
            }
          } while (elems_[q].op == gbnf_op::chr_alt);
          out += ']';
          p = q - 1;
          break;
        }
        default: break;
      }
    }
    out += '\n';
  }
  return out;
}

}  // namespace mmllm
