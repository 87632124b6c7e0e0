// mmllm/tokenize/tokenizer_regex.hpp — a small Unicode regex engine for pre-tokenizer patterns.
//
// `tokenizer_regex` compiles the regular expressions that tokenizer.json files and the
// peer's pre-tokenizer tables use and finds leftmost-first (Perl/Oniguruma/ECMAScript
// backtracking) matches in UTF-8 text, with full-Unicode classes:
//   alternation, groups `(…)` `(?:…)` `(?i:…)` `(?i)` `(?<name>…)`, lookahead `(?=…)`
//   `(?!…)`, atomic groups `(?>…)`, quantifiers `* + ? {n} {n,} {n,m}` (greedy, lazy `?`,
//   possessive `+`), `.`, anchors `^ $ \A \z \Z \b \B`, classes `[…]` `[^…]` with ranges,
//   escapes `\s \S \d \D \w \W \h \p{…} \P{…} \pL`, `\x41 \x{1F600} \u0041 \t \n \r \f \v \0`.
// \p{…} accepts the general categories and groups (L, Lu, Ll, Lt, Lm, Lo, L&, M, Mn, Mc, Me,
// N, Nd, Nl, No, P, Pc, Pd, Ps, Pe, Pi, Pf, Po, S, Sm, Sc, Sk, So, Z, Zs, Zl, Zp, C, Cc, Cf,
// Cs, Co, Cn, also long names like Letter). Semantics follow Oniguruma/Rust in Unicode mode:
// \s is White_Space, \d is Nd, \w is L|M|Nd|Nl|Pc|Join_Control, `.` is any code point but \n, `$` and \Z
// match only at the end of the text (no multi-line mode), (?i) compares simple lowercase.
// Unsupported syntax (lookbehind, backreferences, class set operations, \p{Script}) is an
// errc::unsupported error, never a silent mismatch. Ill-formed UTF-8 in the subject counts
// as one U+FFFD per byte.
//
//   auto re = mmllm::tokenizer_regex::compile(R"( ?\p{L}+| ?\p{N}+)");
//   re->for_each_match(text, [](std::size_t b, std::size_t e) { /* text.substr(b, e-b) */ });
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/result.hpp"
#include "unicode.hpp"

namespace mmllm {

/// Which regex dialect's class semantics to use.
enum class regex_flavor : std::uint8_t {
  unicode,         ///< Oniguruma / Rust in Unicode mode (tokenizer.json patterns)
  peer_collapsed,  ///< peer quirk: std::regex over category-collapsed text (see peer_regex_flavor)
  peer_wide,       ///< peer quirk: std::wregex with non-ASCII white space read as U+000B
};

namespace detail {

/// Decodes one code point for matching: ill-formed bytes are U+FFFD of length 1.
inline utf8_decoded regex_decode(std::string_view text, std::size_t pos) noexcept {
  const auto b = static_cast<unsigned char>(text[pos]);
  if (b < 0x80) return {b, 1, true};
  utf8_decoded d = utf8_decode(text, pos);
  if (!d.valid) d.length = 1;
  return d;
}

/// Decodes the code point that ends at `pos` (pos > 0), for \b.
inline char32_t regex_decode_before(std::string_view text, std::size_t pos) noexcept {
  std::size_t start = pos - 1;
  for (std::size_t k = 0; k < 3 && start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80; ++k)
    --start;
  const utf8_decoded d = regex_decode(text, start);
  return start + d.length == pos ? d.code_point : replacement_character;
}

/// One item of a character class.
struct regex_class_item {
  enum kind_t : std::uint8_t { range, categories, white_space, word } kind = range;
  bool negated = false;
  char32_t lo = 0, hi = 0;          // range
  std::uint32_t category_mask = 0;  // categories: bit per unicode_category
  char32_t except = 0xFFFFFFFF;     // categories: a code point excluded from the set
};

/// A character class: a union of items, optionally negated as a whole.
struct regex_class {
  std::vector<regex_class_item> items;
  bool negated = false;
  bool icase = false;

  static bool is_word(char32_t c) noexcept {
    const std::uint16_t k = unicode_class_of(c);
    if ((k & (unicode_class::letter | unicode_class::mark)) != 0) return true;
    const unicode_category cat = unicode_category_of(c);
    return cat == unicode_category::Nd || cat == unicode_category::Nl || cat == unicode_category::Pc ||
           c == 0x200C || c == 0x200D;
  }
  [[nodiscard]] bool item_matches(const regex_class_item& it, char32_t c) const noexcept {
    bool m = false;
    switch (it.kind) {
      case regex_class_item::range: m = c >= it.lo && c <= it.hi; break;
      case regex_class_item::categories:
        m = ((it.category_mask >> static_cast<unsigned>(unicode_category_of(c))) & 1u) != 0 && c != it.except;
        break;
      case regex_class_item::white_space: m = unicode_is_white_space(c); break;
      case regex_class_item::word:
        m = it.except == 0 ? (c < 128 && (c == '_' || (c >= '0' && c <= '9') ||
                                          ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
                           : is_word(c);
        break;
    }
    return m != it.negated;
  }
  // Precomputed by finalize(): the answer for ASCII, and the plain ranges merged and sorted.
  std::array<std::uint64_t, 2> ascii{};
  std::vector<std::pair<char32_t, char32_t>> ranges;
  std::vector<regex_class_item> others;
  bool finalized = false;

  /// Precomputes the fast paths; call once after the items are complete.
  void finalize() {
    finalized = false;
    std::array<std::uint64_t, 2> a{};
    for (char32_t c = 0; c < 128; ++c)
      if (matches(c)) a[c >> 6] |= 1ull << (c & 63);
    ranges.clear();
    others.clear();
    for (const regex_class_item& it : items) {
      if (it.kind == regex_class_item::range && !it.negated)
        ranges.emplace_back(it.lo, it.hi);
      else
        others.push_back(it);
    }
    std::sort(ranges.begin(), ranges.end());
    std::vector<std::pair<char32_t, char32_t>> merged;
    for (const auto& r : ranges) {
      if (!merged.empty() && r.first <= merged.back().second + 1)
        merged.back().second = std::max(merged.back().second, r.second);
      else
        merged.push_back(r);
    }
    ranges = std::move(merged);
    ascii = a;
    finalized = !icase;  // case-insensitive classes keep the general path for non-ASCII
  }

  [[nodiscard]] bool matches(char32_t c) const noexcept {
    if (finalized) {
      if (c < 128) return ((ascii[c >> 6] >> (c & 63)) & 1u) != 0;
      bool m = false;
      const auto it = std::upper_bound(ranges.begin(), ranges.end(),
                                       std::make_pair(c, static_cast<char32_t>(0xFFFFFFFF)));
      if (it != ranges.begin() && c <= std::prev(it)->second) m = true;
      for (std::size_t i = 0; !m && i < others.size(); ++i) m = item_matches(others[i], c);
      return m != negated;
    }
    bool m = false;
    for (const regex_class_item& it : items) {
      if (item_matches(it, c)) {
        m = true;
        break;
      }
    }
    if (!m && icase) {
      const char32_t l = unicode_to_lower_simple(c);
      for (const regex_class_item& it : items) {
        if (item_matches(it, l)) {
          m = true;
          break;
        }
      }
      // Upper-case items ([A-Z]) against lower-case input: compare lowercased bounds.
      if (!m) {
        for (const regex_class_item& it : items) {
          if (it.kind == regex_class_item::range && !it.negated && it.hi - it.lo < 1024) {
            for (char32_t x = it.lo; x <= it.hi && !m; ++x) m = unicode_to_lower_simple(x) == l;
          }
          if (m) break;
        }
      }
    }
    return m != negated;
  }
};

enum class regex_op : std::uint8_t {
  match,
  literal,        // a = code point
  literal_icase,  // a = lowercase code point
  char_class,     // a = class index
  any_but_newline,
  any,
  split,  // try a, then b
  jump,   // a
  assert_begin,
  assert_end,
  assert_end_or_final_newline,
  word_boundary,
  not_word_boundary,
  lookahead,         // a = sub-program start, b = 1 when negative
  atomic,            // a = sub-program start
  mark,              // a = register: remember position
  require_progress,  // a = register: fail when nothing was consumed since the mark
};

struct regex_instr {
  regex_op op = regex_op::match;
  std::uint32_t a = 0;
  std::uint32_t b = 0;
};

// --- parser: pattern → tree ------------------------------------------------------------------

struct regex_node {
  enum kind_t : std::uint8_t {
    empty,
    literal,
    char_class,
    any,
    assertion,
    concat,
    alternation,
    repeat,
    lookahead,
    atomic
  } kind = empty;
  char32_t cp = 0;
  bool icase = false;
  std::uint32_t index = 0;  // class index / assertion op
  std::vector<std::unique_ptr<regex_node>> children;
  std::uint32_t min = 0, max = 0;  // repeat; max == unbounded for *
  bool greedy = true, possessive = false, negate = false, dotall = false;
  static constexpr std::uint32_t unbounded = 0xFFFFFFFFu;
};

class regex_parser {
 public:
  regex_parser(std::string_view pattern, std::vector<regex_class>& classes, regex_flavor flavor)
      : p_(pattern), classes_(classes), flavor_(flavor) {}

  result<std::unique_ptr<regex_node>> parse() {
    MMLLM_TRY_ASSIGN(auto node, parse_alternation(false));
    if (pos_ < p_.size()) return fail("unbalanced ')'");
    return node;
  }

 private:
  std::string_view p_;
  std::size_t pos_ = 0;
  bool icase_ = false;
  std::vector<regex_class>& classes_;
  regex_flavor flavor_ = regex_flavor::unicode;

  [[nodiscard]] error fail(std::string_view what) const {
    return make_error(errc::malformed, "regex: ", what, " at offset ", std::to_string(pos_), " in '", p_,
                      "'");
  }
  [[nodiscard]] error unsupported(std::string_view what) const {
    return make_error(errc::unsupported, "regex: ", what, " (offset ", std::to_string(pos_), " in '", p_,
                      "') is not supported");
  }
  [[nodiscard]] bool at_end() const noexcept { return pos_ >= p_.size(); }
  [[nodiscard]] char peek() const noexcept { return p_[pos_]; }
  char32_t next_cp() {
    const utf8_decoded d = regex_decode(p_, pos_);
    pos_ += d.length;
    return d.code_point;
  }

  static std::unique_ptr<regex_node> make(regex_node::kind_t k) {
    auto n = std::make_unique<regex_node>();
    n->kind = k;
    return n;
  }

  result<std::unique_ptr<regex_node>> parse_alternation(bool in_group) {
    const bool saved_icase = icase_;
    auto alt = make(regex_node::alternation);
    for (;;) {
      MMLLM_TRY_ASSIGN(auto branch, parse_concat());
      alt->children.push_back(std::move(branch));
      if (!at_end() && peek() == '|') {
        ++pos_;
        continue;
      }
      break;
    }
    if (!at_end() && peek() == ')' && !in_group) return fail("unbalanced ')'");
    icase_ = saved_icase;  // (?i) inside a group ends with the group
    if (alt->children.size() == 1) return std::move(alt->children.front());
    return alt;
  }

  result<std::unique_ptr<regex_node>> parse_concat() {
    auto seq = make(regex_node::concat);
    while (!at_end() && peek() != '|' && peek() != ')') {
      MMLLM_TRY_ASSIGN(auto atom, parse_atom());
      if (!atom) continue;  // an inline flag group produced nothing
      MMLLM_TRY_ASSIGN(auto q, parse_quantifier(std::move(atom)));
      seq->children.push_back(std::move(q));
    }
    if (seq->children.size() == 1) return std::move(seq->children.front());
    return seq;
  }

  bool parse_number(std::uint32_t& v) {
    const std::size_t start = pos_;
    v = 0;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      v = v * 10 + static_cast<std::uint32_t>(peek() - '0');
      if (v > 100000) return false;
      ++pos_;
    }
    return pos_ > start;
  }

  result<std::unique_ptr<regex_node>> parse_quantifier(std::unique_ptr<regex_node> atom) {
    for (;;) {
      if (at_end()) return atom;
      std::uint32_t lo = 0, hi = 0;
      const char c = peek();
      if (c == '*') {
        lo = 0, hi = regex_node::unbounded;
        ++pos_;
      } else if (c == '+') {
        lo = 1, hi = regex_node::unbounded;
        ++pos_;
      } else if (c == '?') {
        lo = 0, hi = 1;
        ++pos_;
      } else if (c == '{') {
        const std::size_t save = pos_;
        ++pos_;
        bool ok = parse_number(lo);
        if (ok) {
          hi = lo;
          if (!at_end() && peek() == ',') {
            ++pos_;
            if (!at_end() && peek() == '}')
              hi = regex_node::unbounded;
            else
              ok = parse_number(hi);
          }
          ok = ok && !at_end() && peek() == '}';
        }
        if (!ok) {  // not a quantifier: a literal '{'
          pos_ = save;
          return atom;
        }
        ++pos_;
        if (hi < lo) return fail("bad repetition bounds");
        if (lo > 1000 || (hi != regex_node::unbounded && hi > 1000))
          return unsupported("a repetition count above 1000");
      } else {
        return atom;
      }
      if (atom->kind == regex_node::assertion || atom->kind == regex_node::lookahead)
        return fail("quantifier after an assertion");
      auto r = make(regex_node::repeat);
      r->min = lo;
      r->max = hi;
      if (!at_end() && peek() == '?') {
        r->greedy = false;
        ++pos_;
      } else if (!at_end() && peek() == '+') {
        r->possessive = true;
        ++pos_;
      }
      r->children.push_back(std::move(atom));
      atom = std::move(r);
    }
  }

  static std::uint32_t cat_bit(unicode_category c) { return 1u << static_cast<unsigned>(c); }

  /// Category mask of a \p{name}; 0 when unknown.
  static std::uint32_t category_mask(std::string_view name) {
    using C = unicode_category;
    const std::uint32_t L =
        cat_bit(C::Lu) | cat_bit(C::Ll) | cat_bit(C::Lt) | cat_bit(C::Lm) | cat_bit(C::Lo);
    const std::uint32_t M = cat_bit(C::Mn) | cat_bit(C::Mc) | cat_bit(C::Me);
    const std::uint32_t N = cat_bit(C::Nd) | cat_bit(C::Nl) | cat_bit(C::No);
    const std::uint32_t P = cat_bit(C::Pc) | cat_bit(C::Pd) | cat_bit(C::Ps) | cat_bit(C::Pe) |
                            cat_bit(C::Pi) | cat_bit(C::Pf) | cat_bit(C::Po);
    const std::uint32_t S = cat_bit(C::Sm) | cat_bit(C::Sc) | cat_bit(C::Sk) | cat_bit(C::So);
    const std::uint32_t Z = cat_bit(C::Zs) | cat_bit(C::Zl) | cat_bit(C::Zp);
    const std::uint32_t Cm =
        cat_bit(C::Cc) | cat_bit(C::Cf) | cat_bit(C::Cs) | cat_bit(C::Co) | cat_bit(C::Cn);
    struct entry {
      std::string_view name;
      std::uint32_t mask;
    };
    const entry table[] = {
        {"L", L},
        {"Letter", L},
        {"L&", cat_bit(C::Lu) | cat_bit(C::Ll) | cat_bit(C::Lt)},
        {"LC", cat_bit(C::Lu) | cat_bit(C::Ll) | cat_bit(C::Lt)},
        {"Cased_Letter", cat_bit(C::Lu) | cat_bit(C::Ll) | cat_bit(C::Lt)},
        {"Lu", cat_bit(C::Lu)},
        {"Uppercase_Letter", cat_bit(C::Lu)},
        {"Ll", cat_bit(C::Ll)},
        {"Lowercase_Letter", cat_bit(C::Ll)},
        {"Lt", cat_bit(C::Lt)},
        {"Titlecase_Letter", cat_bit(C::Lt)},
        {"Lm", cat_bit(C::Lm)},
        {"Modifier_Letter", cat_bit(C::Lm)},
        {"Lo", cat_bit(C::Lo)},
        {"Other_Letter", cat_bit(C::Lo)},
        {"M", M},
        {"Mark", M},
        {"Combining_Mark", M},
        {"Mn", cat_bit(C::Mn)},
        {"Nonspacing_Mark", cat_bit(C::Mn)},
        {"Mc", cat_bit(C::Mc)},
        {"Spacing_Mark", cat_bit(C::Mc)},
        {"Me", cat_bit(C::Me)},
        {"Enclosing_Mark", cat_bit(C::Me)},
        {"N", N},
        {"Number", N},
        {"Nd", cat_bit(C::Nd)},
        {"Decimal_Number", cat_bit(C::Nd)},
        {"Nl", cat_bit(C::Nl)},
        {"Letter_Number", cat_bit(C::Nl)},
        {"No", cat_bit(C::No)},
        {"Other_Number", cat_bit(C::No)},
        {"P", P},
        {"Punctuation", P},
        {"Pc", cat_bit(C::Pc)},
        {"Connector_Punctuation", cat_bit(C::Pc)},
        {"Pd", cat_bit(C::Pd)},
        {"Dash_Punctuation", cat_bit(C::Pd)},
        {"Ps", cat_bit(C::Ps)},
        {"Open_Punctuation", cat_bit(C::Ps)},
        {"Pe", cat_bit(C::Pe)},
        {"Close_Punctuation", cat_bit(C::Pe)},
        {"Pi", cat_bit(C::Pi)},
        {"Initial_Punctuation", cat_bit(C::Pi)},
        {"Pf", cat_bit(C::Pf)},
        {"Final_Punctuation", cat_bit(C::Pf)},
        {"Po", cat_bit(C::Po)},
        {"Other_Punctuation", cat_bit(C::Po)},
        {"S", S},
        {"Symbol", S},
        {"Sm", cat_bit(C::Sm)},
        {"Math_Symbol", cat_bit(C::Sm)},
        {"Sc", cat_bit(C::Sc)},
        {"Currency_Symbol", cat_bit(C::Sc)},
        {"Sk", cat_bit(C::Sk)},
        {"Modifier_Symbol", cat_bit(C::Sk)},
        {"So", cat_bit(C::So)},
        {"Other_Symbol", cat_bit(C::So)},
        {"Z", Z},
        {"Separator", Z},
        {"Zs", cat_bit(C::Zs)},
        {"Space_Separator", cat_bit(C::Zs)},
        {"Zl", cat_bit(C::Zl)},
        {"Line_Separator", cat_bit(C::Zl)},
        {"Zp", cat_bit(C::Zp)},
        {"Paragraph_Separator", cat_bit(C::Zp)},
        {"C", Cm},
        {"Other", Cm},
        {"Cc", cat_bit(C::Cc)},
        {"Control", cat_bit(C::Cc)},
        {"Cf", cat_bit(C::Cf)},
        {"Format", cat_bit(C::Cf)},
        {"Cs", cat_bit(C::Cs)},
        {"Surrogate", cat_bit(C::Cs)},
        {"Co", cat_bit(C::Co)},
        {"Private_Use", cat_bit(C::Co)},
        {"Cn", cat_bit(C::Cn)},
        {"Unassigned", cat_bit(C::Cn)},
        {"Any", 0x3FFFFFFFu},
    };
    for (const entry& e : table)
      if (e.name == name) return e.mask;
    return 0;
  }

  static bool hex_value(char c, std::uint32_t& v) {
    if (c >= '0' && c <= '9')
      v = static_cast<std::uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      v = static_cast<std::uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v = static_cast<std::uint32_t>(c - 'A' + 10);
    else
      return false;
    return true;
  }

  result<char32_t> parse_hex(std::size_t digits) {
    std::uint32_t v = 0;
    if (!at_end() && peek() == '{') {
      ++pos_;
      std::size_t n = 0;
      while (!at_end() && peek() != '}') {
        std::uint32_t d = 0;
        if (!hex_value(peek(), d) || ++n > 6) return fail("bad hex escape");
        v = v * 16 + d;
        ++pos_;
      }
      if (at_end() || n == 0) return fail("unterminated \\x{…}");
      ++pos_;
    } else {
      for (std::size_t i = 0; i < digits; ++i) {
        std::uint32_t d = 0;
        if (at_end() || !hex_value(peek(), d)) return fail("bad hex escape");
        v = v * 16 + d;
        ++pos_;
      }
    }
    if (v > 0x10FFFF) return fail("code point out of range");
    return static_cast<char32_t>(v);
  }

  // An escape that denotes a set: fills `item` and returns true; or a single code point.
  struct escape_result {
    bool is_set = false;
    regex_class_item item;
    char32_t cp = 0;
  };

  result<escape_result> parse_escape(bool in_class) {
    if (at_end()) return fail("trailing backslash");
    const char c = p_[pos_++];
    escape_result r;
    auto set = [&](regex_class_item::kind_t k, bool neg, std::uint32_t mask = 0) {
      r.is_set = true;
      r.item.kind = k;
      r.item.negated = neg;
      r.item.category_mask = mask;
    };
    const bool ascii_classes = flavor_ != regex_flavor::unicode;  // std::regex: \d and \w are ASCII
    if (ascii_classes && (c == 'd' || c == 'D' || c == 'w' || c == 'W')) {
      // One item only, so [0-9] is a range and \w becomes a class node built by the caller.
      r.is_set = true;
      r.item.kind = regex_class_item::range;
      r.item.lo = '0';
      r.item.hi = '9';
      r.item.negated = c == 'D';
      if (c == 'w' || c == 'W') {
        r.item.kind = regex_class_item::word;
        r.item.negated = c == 'W';
        r.item.except = 0;  // marks "ASCII word characters only"
      }
      return r;
    }
    switch (c) {
      case 't': r.cp = '\t'; return r;
      case 'n': r.cp = '\n'; return r;
      case 'r': r.cp = '\r'; return r;
      case 'f': r.cp = '\f'; return r;
      case 'v': r.cp = '\v'; return r;
      case 'a': r.cp = 0x07; return r;
      case 'e': r.cp = 0x1B; return r;
      case '0': r.cp = 0; return r;
      case 'x': {
        MMLLM_TRY_ASSIGN(r.cp, parse_hex(2));
        return r;
      }
      case 'u': {
        MMLLM_TRY_ASSIGN(r.cp, parse_hex(4));
        return r;
      }
      case 's': set(regex_class_item::white_space, false); return r;
      case 'S': set(regex_class_item::white_space, true); return r;
      case 'd': set(regex_class_item::categories, false, cat_bit(unicode_category::Nd)); return r;
      case 'D': set(regex_class_item::categories, true, cat_bit(unicode_category::Nd)); return r;
      case 'w': set(regex_class_item::word, false); return r;
      case 'W': set(regex_class_item::word, true); return r;
      case 'h':  // horizontal space: tab and Zs
        set(regex_class_item::categories, false, cat_bit(unicode_category::Zs));
        return r;
      case 'p':
      case 'P': {
        std::string_view name;
        if (!at_end() && peek() == '{') {
          const std::size_t close = p_.find('}', pos_);
          if (close == std::string_view::npos) return fail("unterminated \\p{");
          name = p_.substr(pos_ + 1, close - pos_ - 1);
          pos_ = close + 1;
        } else if (!at_end()) {
          name = p_.substr(pos_, 1);
          ++pos_;
        }
        bool neg = c == 'P';
        if (!name.empty() && name.front() == '^') {
          neg = !neg;
          name.remove_prefix(1);
        }
        // "General_Category=Lu", "gc=Lu"
        if (const std::size_t eq = name.find('='); eq != std::string_view::npos) name = name.substr(eq + 1);
        const std::uint32_t mask = category_mask(name);
        if (mask == 0) return unsupported(std::string("the property \\p{") + std::string(name) + "}");
        set(regex_class_item::categories, neg, mask);
        // Peer quirk: its collapsed-text \p{S} lists the ASCII symbols without '~'.
        if (flavor_ == regex_flavor::peer_collapsed && name == "S") r.item.except = '~';
        return r;
      }
      default: break;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '1' && c <= '9')) {
      if (!in_class && (c == 'b' || c == 'B' || c == 'A' || c == 'z' || c == 'Z')) {
        --pos_;  // assertions are handled by the caller
        return fail("internal: assertion escape");
      }
      return unsupported(std::string("the escape \\") + c);
    }
    --pos_;
    r.cp = next_cp();  // escaped punctuation or any other literal character
    return r;
  }

  std::unique_ptr<regex_node> make_class_node(regex_class cls) {
    cls.finalize();
    auto n = make(regex_node::char_class);
    n->index = static_cast<std::uint32_t>(classes_.size());
    classes_.push_back(std::move(cls));
    return n;
  }

  result<std::unique_ptr<regex_node>> parse_class() {
    regex_class cls;
    cls.icase = icase_;
    if (!at_end() && peek() == '^') {
      cls.negated = true;
      ++pos_;
    }
    bool first = true;
    for (;;) {
      if (at_end()) return fail("unterminated character class");
      if (peek() == ']' && !first) {
        ++pos_;
        break;
      }
      first = false;
      if (peek() == '[') {
        if (p_.substr(pos_, 2) == "[:") return unsupported("a POSIX class [:…:]");
        return unsupported("a nested character class");
      }
      if (p_.substr(pos_, 2) == "&&") return unsupported("class intersection &&");
      char32_t lo = 0;
      if (peek() == '\\') {
        ++pos_;
        MMLLM_TRY_ASSIGN(const escape_result e, parse_escape(true));
        if (e.is_set) {
          cls.items.push_back(e.item);
          continue;
        }
        lo = e.cp;
      } else {
        lo = next_cp();
      }
      char32_t hi = lo;
      if (pos_ + 1 < p_.size() && peek() == '-' && p_[pos_ + 1] != ']') {
        ++pos_;
        if (peek() == '\\') {
          ++pos_;
          MMLLM_TRY_ASSIGN(const escape_result e, parse_escape(true));
          if (e.is_set) return fail("a class escape as a range bound");
          hi = e.cp;
        } else {
          hi = next_cp();
        }
        if (hi < lo) return fail("character class range out of order");
      }
      regex_class_item it;
      it.kind = regex_class_item::range;
      it.lo = lo;
      it.hi = hi;
      cls.items.push_back(it);
    }
    return make_class_node(std::move(cls));
  }

  result<std::unique_ptr<regex_node>> parse_group() {
    // pos_ is just after '('
    auto wrap_group = [&](regex_node::kind_t kind, bool negate) -> result<std::unique_ptr<regex_node>> {
      MMLLM_TRY_ASSIGN(auto inner, parse_alternation(true));
      if (at_end() || peek() != ')') return fail("missing ')'");
      ++pos_;
      if (kind == regex_node::concat) return inner;
      auto n = make(kind);
      n->negate = negate;
      n->children.push_back(std::move(inner));
      return n;
    };
    if (at_end() || peek() != '?') return wrap_group(regex_node::concat, false);
    ++pos_;
    if (at_end()) return fail("bad group");
    const char c = peek();
    if (c == ':') {
      ++pos_;
      return wrap_group(regex_node::concat, false);
    }
    if (c == '=' || c == '!') {
      ++pos_;
      return wrap_group(regex_node::lookahead, c == '!');
    }
    if (c == '>') {
      ++pos_;
      return wrap_group(regex_node::atomic, false);
    }
    if (c == '<' && pos_ + 1 < p_.size() && (p_[pos_ + 1] == '=' || p_[pos_ + 1] == '!'))
      return unsupported("lookbehind");
    if (c == '<' || c == 'P' || c == '\'') {  // named group
      if (c == 'P') ++pos_;
      const char close = (!at_end() && peek() == '\'') ? '\'' : '>';
      const std::size_t end = p_.find(close, pos_ + 1);
      if (end == std::string_view::npos) return fail("bad group name");
      pos_ = end + 1;
      return wrap_group(regex_node::concat, false);
    }
    // Inline flags: (?i) (?-i) (?i:…) (?x) is not supported.
    bool on = true;
    bool icase = icase_;
    while (!at_end() && peek() != ':' && peek() != ')') {
      const char f = peek();
      if (f == '-')
        on = false;
      else if (f == 'i')
        icase = on;
      else
        return unsupported(std::string("the inline flag '") + f + "'");
      ++pos_;
    }
    if (at_end()) return fail("bad inline flag group");
    if (peek() == ')') {  // applies to the rest of the enclosing group
      ++pos_;
      icase_ = icase;
      return std::unique_ptr<regex_node>();
    }
    ++pos_;  // ':'
    const bool saved = icase_;
    icase_ = icase;
    auto r = wrap_group(regex_node::concat, false);
    icase_ = saved;
    return r;
  }

  result<std::unique_ptr<regex_node>> parse_atom() {
    const char c = peek();
    switch (c) {
      case '(': ++pos_; return parse_group();
      case '[': ++pos_; return parse_class();
      case '.': {
        ++pos_;
        auto n = make(regex_node::any);
        return n;
      }
      case '^': {
        ++pos_;
        auto n = make(regex_node::assertion);
        n->index = static_cast<std::uint32_t>(regex_op::assert_begin);
        return n;
      }
      case '$': {
        ++pos_;
        auto n = make(regex_node::assertion);
        n->index = static_cast<std::uint32_t>(regex_op::assert_end);
        return n;
      }
      case '*':
      case '+':
      case '?': return fail("quantifier without an operand");
      case '\\': {
        ++pos_;
        if (!at_end()) {
          const char e = peek();
          regex_op op = regex_op::match;
          if (e == 'b')
            op = regex_op::word_boundary;
          else if (e == 'B')
            op = regex_op::not_word_boundary;
          else if (e == 'A')
            op = regex_op::assert_begin;
          else if (e == 'z')
            op = regex_op::assert_end;
          else if (e == 'Z')
            op = regex_op::assert_end_or_final_newline;
          if (op != regex_op::match) {
            ++pos_;
            auto n = make(regex_node::assertion);
            n->index = static_cast<std::uint32_t>(op);
            return n;
          }
        }
        MMLLM_TRY_ASSIGN(const escape_result e, parse_escape(false));
        if (e.is_set) {
          regex_class cls;
          cls.items.push_back(e.item);
          return make_class_node(std::move(cls));
        }
        auto n = make(regex_node::literal);
        n->cp = e.cp;
        n->icase = icase_;
        return n;
      }
      default: {
        auto n = make(regex_node::literal);
        n->cp = next_cp();
        n->icase = icase_;
        return n;
      }
    }
  }
};

// --- compiler: tree → instructions -----------------------------------------------------------

class regex_compiler {
 public:
  explicit regex_compiler(std::vector<regex_instr>& code) : code_(code) {}

  result<void> compile_main(const regex_node& root) {
    MMLLM_TRY(emit(root));
    code_.push_back({regex_op::match, 0, 0});
    // Sub-programs (lookahead, atomic) are appended after the main program.
    while (!pending_.empty()) {
      auto [node, patch] = pending_.back();
      pending_.pop_back();
      code_[patch].a = static_cast<std::uint32_t>(code_.size());
      // A queued possessive repeat is emitted as the plain repeat inside its atomic group.
      if (node->kind == regex_node::repeat && node->possessive) {
        MMLLM_TRY(emit_repeat(*node));
      } else {
        MMLLM_TRY(emit(*node));
      }
      code_.push_back({regex_op::match, 0, 0});
    }
    return ok();
  }
  [[nodiscard]] std::uint32_t registers() const noexcept { return registers_; }

 private:
  std::vector<regex_instr>& code_;
  std::vector<std::pair<const regex_node*, std::size_t>> pending_;
  std::uint32_t registers_ = 0;

  std::uint32_t here() const { return static_cast<std::uint32_t>(code_.size()); }

  static bool nullable(const regex_node& n) {
    switch (n.kind) {
      case regex_node::empty:
      case regex_node::assertion:
      case regex_node::lookahead: return true;
      case regex_node::literal:
      case regex_node::char_class:
      case regex_node::any: return false;
      case regex_node::concat:
        return std::all_of(n.children.begin(), n.children.end(), [](const auto& c) { return nullable(*c); });
      case regex_node::alternation:
        return std::any_of(n.children.begin(), n.children.end(), [](const auto& c) { return nullable(*c); });
      case regex_node::repeat: return n.min == 0 || nullable(*n.children.front());
      case regex_node::atomic: return nullable(*n.children.front());
    }
    return true;
  }

  result<void> emit_star(const regex_node& body, bool greedy) {
    const bool guard = nullable(body);
    const std::uint32_t reg = guard ? registers_++ : 0;
    const std::uint32_t loop = here();
    code_.push_back({regex_op::split, 0, 0});
    const std::uint32_t body_start = here();
    if (guard) code_.push_back({regex_op::mark, reg, 0});
    MMLLM_TRY(emit(body));
    if (guard) code_.push_back({regex_op::require_progress, reg, 0});
    code_.push_back({regex_op::jump, loop, 0});
    const std::uint32_t after = here();
    code_[loop].a = greedy ? body_start : after;
    code_[loop].b = greedy ? after : body_start;
    return ok();
  }

  result<void> emit_optional(const regex_node& body, bool greedy) {
    const std::uint32_t s = here();
    code_.push_back({regex_op::split, 0, 0});
    const std::uint32_t body_start = here();
    MMLLM_TRY(emit(body));
    const std::uint32_t after = here();
    code_[s].a = greedy ? body_start : after;
    code_[s].b = greedy ? after : body_start;
    return ok();
  }

  result<void> emit_repeat(const regex_node& n) {
    const regex_node& body = *n.children.front();
    for (std::uint32_t i = 0; i < n.min; ++i) MMLLM_TRY(emit(body));
    if (n.max == regex_node::unbounded) return emit_star(body, n.greedy);
    // (body (body (…)?)?)? nested optionals for the max - min extra copies.
    std::vector<std::uint32_t> splits;
    for (std::uint32_t i = n.min; i < n.max; ++i) {
      splits.push_back(here());
      code_.push_back({regex_op::split, 0, 0});
      const std::uint32_t body_start = here();
      code_[splits.back()].a = body_start;  // patched below for lazy
      MMLLM_TRY(emit(body));
    }
    const std::uint32_t after = here();
    for (const std::uint32_t s : splits) {
      const std::uint32_t body_start = s + 1;
      code_[s].a = n.greedy ? body_start : after;
      code_[s].b = n.greedy ? after : body_start;
    }
    return ok();
  }

  result<void> emit(const regex_node& n) {
    if (code_.size() > 200000) return make_error(errc::resource_limit, "regex: program too large");
    switch (n.kind) {
      case regex_node::empty: return ok();
      case regex_node::literal:
        if (n.icase && unicode_to_lower_simple(n.cp) != n.cp) {
          code_.push_back({regex_op::literal_icase, unicode_to_lower_simple(n.cp), 0});
        } else if (n.icase) {
          code_.push_back({regex_op::literal_icase, n.cp, 0});
        } else {
          code_.push_back({regex_op::literal, n.cp, 0});
        }
        return ok();
      case regex_node::char_class: code_.push_back({regex_op::char_class, n.index, 0}); return ok();
      case regex_node::any: code_.push_back({regex_op::any_but_newline, 0, 0}); return ok();
      case regex_node::assertion: code_.push_back({static_cast<regex_op>(n.index), 0, 0}); return ok();
      case regex_node::concat:
        for (const auto& c : n.children) MMLLM_TRY(emit(*c));
        return ok();
      case regex_node::alternation: {
        std::vector<std::uint32_t> jumps;
        for (std::size_t i = 0; i < n.children.size(); ++i) {
          if (i + 1 < n.children.size()) {
            const std::uint32_t s = here();
            code_.push_back({regex_op::split, s + 1, 0});
            MMLLM_TRY(emit(*n.children[i]));
            jumps.push_back(here());
            code_.push_back({regex_op::jump, 0, 0});
            code_[s].b = here();
          } else {
            MMLLM_TRY(emit(*n.children[i]));
          }
        }
        for (const std::uint32_t j : jumps) code_[j].a = here();
        return ok();
      }
      case regex_node::repeat:
        if (n.possessive) {  // x*+ == (?>x*)
          pending_.emplace_back(&n, here());
          code_.push_back({regex_op::atomic, 0, 0});
          return ok();
        }
        return emit_repeat(n);
      case regex_node::lookahead:
        pending_.emplace_back(n.children.front().get(), here());
        code_.push_back({regex_op::lookahead, 0, n.negate ? 1u : 0u});
        return ok();
      case regex_node::atomic:
        pending_.emplace_back(n.children.front().get(), here());
        code_.push_back({regex_op::atomic, 0, 0});
        return ok();
    }
    return ok();
  }
};

}  // namespace detail

/// One match: byte offsets [begin, end) into the subject.
struct regex_match {
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// A compiled pattern; immutable and thread-safe to use.
class tokenizer_regex {
 public:
  tokenizer_regex() = default;

  /// Compiles `pattern`; errc::malformed for bad syntax, errc::unsupported for constructs
  /// outside the supported set (see the header comment).
  [[nodiscard]] static result<tokenizer_regex> compile(std::string_view pattern,
                                                       regex_flavor flavor = regex_flavor::unicode) {
    tokenizer_regex re;
    re.pattern_ = std::string(pattern);
    re.space_placeholder_ = flavor == regex_flavor::peer_wide;
    detail::regex_parser parser(pattern, re.classes_, flavor);
    MMLLM_TRY_ASSIGN(auto root, parser.parse());
    MMLLM_TRY(re.compile_tree(*root));
    return re;
  }

  [[nodiscard]] const std::string& pattern() const noexcept { return pattern_; }

  /// The leftmost match starting at or after `from` (the whole `text` is the subject, so
  /// lookahead and `$` see past nothing but its end). False when there is none.
  bool find(std::string_view text, std::size_t from, regex_match& m) const {
    std::vector<frame> stack;
    std::vector<std::size_t> regs(n_registers_, npos);
    for (std::size_t start = from; start <= text.size();) {
      const std::size_t end = run(0, start, text, stack, regs);
      if (end != npos) {
        m = {start, end};
        return true;
      }
      if (start == text.size()) break;
      start += detail::regex_decode(text, start).length;
    }
    return false;
  }

  /// Anchored match at `pos`: the end of the match, or npos.
  [[nodiscard]] std::size_t match_at(std::string_view text, std::size_t pos) const {
    std::vector<frame> stack;
    std::vector<std::size_t> regs(n_registers_, npos);
    return run(0, pos, text, stack, regs);
  }

  /// Calls f(begin, end) for every non-overlapping match, left to right. After an empty
  /// match the search resumes one code point later (empty matches are reported).
  template <class F>
  void for_each_match(std::string_view text, F&& f) const {
    std::vector<frame> stack;
    std::vector<std::size_t> regs(n_registers_, npos);
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t end = npos;
      std::size_t s = start;
      for (; s <= text.size();) {
        end = run(0, s, text, stack, regs);
        if (end != npos) break;
        if (s == text.size()) break;
        s += detail::regex_decode(text, s).length;
      }
      if (end == npos) return;
      f(s, end);
      if (end > s) {
        start = end;
      } else {
        if (s == text.size()) return;
        start = s + detail::regex_decode(text, s).length;
      }
    }
  }

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

 private:
  struct frame {
    std::uint32_t pc;
    std::uint32_t reg;  // restore entry when reg != no_reg
    std::size_t pos;
  };
  static constexpr std::uint32_t no_reg = 0xFFFFFFFFu;

  std::string pattern_;
  std::vector<detail::regex_class> classes_;
  std::vector<detail::regex_instr> code_;
  std::uint32_t n_registers_ = 0;
  bool space_placeholder_ = false;  // peer_wide: non-ASCII white space reads as U+000B

  [[nodiscard]] utf8_decoded decode(std::string_view text, std::size_t pos) const noexcept {
    utf8_decoded d = detail::regex_decode(text, pos);
    if (space_placeholder_ && d.code_point >= 0x80 && unicode_is_white_space(d.code_point))
      d.code_point = 0x0B;
    return d;
  }

  result<void> compile_tree(const detail::regex_node& root) {
    detail::regex_compiler c(code_);
    MMLLM_TRY(c.compile_main(root));
    n_registers_ = c.registers();
    return ok();
  }

  // Runs the program from `pc` at `pos`; returns the match end or npos. Backtracking with
  // an explicit stack; lookahead and atomic groups run as nested calls.
  std::size_t run(std::uint32_t pc, std::size_t pos, std::string_view text, std::vector<frame>& stack,
                  std::vector<std::size_t>& regs) const {
    using detail::regex_op;
    const std::size_t base = stack.size();
    for (;;) {
      bool fail = false;
      const detail::regex_instr& in = code_[pc];
      switch (in.op) {
        case regex_op::match: stack.resize(base); return pos;
        case regex_op::literal:
          if (pos < text.size()) {
            const utf8_decoded d = decode(text, pos);
            if (d.code_point == in.a) {
              pos += d.length;
              ++pc;
              break;
            }
          }
          fail = true;
          break;
        case regex_op::literal_icase:
          if (pos < text.size()) {
            const utf8_decoded d = decode(text, pos);
            if (unicode_to_lower_simple(d.code_point) == in.a) {
              pos += d.length;
              ++pc;
              break;
            }
          }
          fail = true;
          break;
        case regex_op::char_class:
          if (pos < text.size()) {
            const utf8_decoded d = decode(text, pos);
            if (classes_[in.a].matches(d.code_point)) {
              pos += d.length;
              ++pc;
              break;
            }
          }
          fail = true;
          break;
        case regex_op::any_but_newline:
          if (pos < text.size() && text[pos] != '\n') {
            pos += detail::regex_decode(text, pos).length;
            ++pc;
          } else {
            fail = true;
          }
          break;
        case regex_op::any:
          if (pos < text.size()) {
            pos += detail::regex_decode(text, pos).length;
            ++pc;
          } else {
            fail = true;
          }
          break;
        case regex_op::split:
          stack.push_back({in.b, no_reg, pos});
          pc = in.a;
          break;
        case regex_op::jump: pc = in.a; break;
        case regex_op::assert_begin:
          fail = pos != 0;
          ++pc;
          break;
        case regex_op::assert_end:
          fail = pos != text.size();
          ++pc;
          break;
        case regex_op::assert_end_or_final_newline:
          fail = !(pos == text.size() || (pos + 1 == text.size() && text[pos] == '\n'));
          ++pc;
          break;
        case regex_op::word_boundary:
        case regex_op::not_word_boundary: {
          const bool before = pos > 0 && detail::regex_class::is_word(detail::regex_decode_before(text, pos));
          const bool after =
              pos < text.size() && detail::regex_class::is_word(detail::regex_decode(text, pos).code_point);
          fail = (before != after) != (in.op == regex_op::word_boundary);
          ++pc;
          break;
        }
        case regex_op::lookahead: {
          const std::size_t r = run(in.a, pos, text, stack, regs);
          fail = (r != npos) == (in.b != 0);
          ++pc;
          break;
        }
        case regex_op::atomic: {
          const std::size_t r = run(in.a, pos, text, stack, regs);
          if (r == npos) {
            fail = true;
          } else {
            pos = r;
            ++pc;
          }
          break;
        }
        case regex_op::mark:
          stack.push_back({0, in.a, regs[in.a]});
          regs[in.a] = pos;
          ++pc;
          break;
        case regex_op::require_progress:
          fail = regs[in.a] == pos;
          ++pc;
          break;
      }
      if (!fail) continue;
      // Backtrack: restore registers, resume the newest alternative.
      for (;;) {
        if (stack.size() <= base) return npos;
        const frame f = stack.back();
        stack.pop_back();
        if (f.reg != no_reg) {
          regs[f.reg] = f.pos;
          continue;
        }
        pc = f.pc;
        pos = f.pos;
        break;
      }
    }
  }
};

}  // namespace mmllm
