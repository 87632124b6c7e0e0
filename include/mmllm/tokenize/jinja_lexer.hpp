// mmllm/tokenize/jinja_lexer.hpp — splits Jinja source into tokens the way Jinja2's lexer
// does under Hugging Face's settings (trim_blocks, lstrip_blocks, no trailing newline).
//
// Whitespace rules reproduced exactly:
// - newlines (\r\n, \r, \n) are normalised to \n and one trailing newline is dropped
//   (`normalize_source`, run before lexing);
// - `{%-` / `{{-` / `{#-` strip all whitespace before the tag, `-%}` / `-}}` / `-#}` all
//   whitespace after it;
// - trim_blocks: one "\n" right after `%}` or `#}` is dropped (not after `}}`, and not after
//   `{% raw %}`); `+%}` keeps it;
// - lstrip_blocks: spaces/tabs between the start of a line and `{%` / `{#` are dropped
//   (not before `{{`; `{%+` keeps them). A "line start" is the template start, a newline in
//   the text, or a preceding tag whose match ended with a newline;
// - `{% raw %}...{% endraw %}` is data;
// - `}}` / `%}` inside open brackets of an expression do not end the tag.
// Positions are byte offsets into the normalised source (see source_map for line/column).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mmllm/tokenize/jinja_text.hpp"

namespace mmllm::jinja::detail {

enum class token_type : std::uint8_t {
  data,
  block_begin,
  block_end,
  variable_begin,
  variable_end,
  name,
  string,
  integer,
  floating,
  op,
  eof
};

enum class op_type : std::uint8_t {
  none,
  add,
  sub,
  mul,
  div,
  floordiv,
  mod,
  pow,
  tilde,
  lbracket,
  rbracket,
  lparen,
  rparen,
  lbrace,
  rbrace,
  eq,
  ne,
  gt,
  ge,
  lt,
  le,
  assign,
  dot,
  colon,
  pipe,
  comma,
  semicolon
};

inline std::string_view op_text(op_type o) {
  switch (o) {
    case op_type::add: return "+";
    case op_type::sub: return "-";
    case op_type::mul: return "*";
    case op_type::div: return "/";
    case op_type::floordiv: return "//";
    case op_type::mod: return "%";
    case op_type::pow: return "**";
    case op_type::tilde: return "~";
    case op_type::lbracket: return "[";
    case op_type::rbracket: return "]";
    case op_type::lparen: return "(";
    case op_type::rparen: return ")";
    case op_type::lbrace: return "{";
    case op_type::rbrace: return "}";
    case op_type::eq: return "==";
    case op_type::ne: return "!=";
    case op_type::gt: return ">";
    case op_type::ge: return ">=";
    case op_type::lt: return "<";
    case op_type::le: return "<=";
    case op_type::assign: return "=";
    case op_type::dot: return ".";
    case op_type::colon: return ":";
    case op_type::pipe: return "|";
    case op_type::comma: return ",";
    case op_type::semicolon: return ";";
    case op_type::none: break;
  }
  return "?";
}

struct token {
  token_type type = token_type::eof;
  op_type op = op_type::none;
  std::uint32_t pos = 0;
  std::string text;  // data, name, or the decoded string literal
  std::int64_t ival = 0;
  double fval = 0;
};

struct syntax_error {
  std::uint32_t pos = 0;
  std::string message;
};

struct lexer_options {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

/// Newline normalisation of Jinja2's lexer: \r\n and \r become \n; unless
/// keep_trailing_newline, a single trailing newline is removed.
inline std::string normalize_source(std::string_view src, bool keep_trailing_newline) {
  std::string out;
  out.reserve(src.size());
  for (std::size_t i = 0; i < src.size(); ++i) {
    if (src[i] == '\r') {
      out += '\n';
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    } else {
      out += src[i];
    }
  }
  if (!keep_trailing_newline && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

/// Maps byte offsets of the normalised source to 1-based line and column (in code points).
class source_map {
 public:
  source_map() = default;
  explicit source_map(std::string src) : src_(std::move(src)) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(static_cast<std::uint32_t>(i + 1));
  }
  [[nodiscard]] const std::string& source() const noexcept { return src_; }
  [[nodiscard]] std::pair<std::size_t, std::size_t> line_col(std::uint32_t pos) const {
    if (line_starts_.empty()) return {1, 1};
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), pos);
    const std::size_t line = static_cast<std::size_t>(it - line_starts_.begin());
    const std::uint32_t start = line_starts_[line - 1];
    const std::size_t end = std::min<std::size_t>(pos, src_.size());
    return {line, utf8_length(std::string_view(src_).substr(start, end - start)) + 1};
  }

 private:
  std::string src_;
  std::vector<std::uint32_t> line_starts_;
};

class lexer {
 public:
  lexer(std::string_view src, const lexer_options& opt) : s_(src), opt_(opt) {}

  /// Tokenizes everything; false with `err` set on a lexical error.
  bool run(std::vector<token>& out, syntax_error& err) {
    out_ = &out;
    err_ = &err;
    std::size_t pos = 0;
    bool line_starting = true;
    const std::size_t n = s_.size();
    while (pos < n) {
      std::size_t t = pos;
      bool found = false;
      while ((t = s_.find('{', t)) != std::string_view::npos) {
        if (t + 1 < n && (s_[t + 1] == '{' || s_[t + 1] == '%' || s_[t + 1] == '#')) {
          found = true;
          break;
        }
        ++t;
      }
      if (!found) {
        emit_data(s_.substr(pos), pos);
        break;
      }
      const char kind = s_[t + 1];
      std::size_t after = t + 2;
      char sign = 0;
      if (after < n && (s_[after] == '-' || s_[after] == '+')) sign = s_[after++];
      std::string_view text = s_.substr(pos, t - pos);
      text = strip_before_tag(text, sign, kind != '{', line_starting);
      emit_data(text, pos);

      if (kind == '%') {
        std::size_t raw_end = 0;
        if (match_raw_begin(after, raw_end)) {
          if (!lex_raw(raw_end, pos, line_starting)) return false;
          continue;
        }
      }
      if (kind == '#') {
        if (!lex_comment(t, after, pos, line_starting)) return false;
        continue;
      }
      if (!lex_tag(kind == '%', t, after, pos, line_starting)) return false;
    }
    token e;
    e.type = token_type::eof;
    e.pos = static_cast<std::uint32_t>(n);
    out.push_back(std::move(e));
    return true;
  }

 private:
  std::string_view s_;
  lexer_options opt_;
  std::vector<token>* out_ = nullptr;
  syntax_error* err_ = nullptr;

  bool fail(std::size_t pos, std::string msg) {
    err_->pos = static_cast<std::uint32_t>(pos);
    err_->message = std::move(msg);
    return false;
  }

  void emit_data(std::string_view text, std::size_t pos) {
    if (text.empty()) return;
    token t;
    t.type = token_type::data;
    t.pos = static_cast<std::uint32_t>(pos);
    t.text = std::string(text);
    out_->push_back(std::move(t));
  }
  void emit(token_type type, std::size_t pos, op_type op = op_type::none) {
    token t;
    t.type = type;
    t.op = op;
    t.pos = static_cast<std::uint32_t>(pos);
    out_->push_back(std::move(t));
  }

  /// Python-whitespace code point at byte i (0 when none); `len` gets its byte length.
  [[nodiscard]] bool space_at(std::size_t i, std::size_t& len) const {
    std::size_t j = i;
    const std::uint32_t c = utf8_next(s_, j);
    len = j - i;
    return py_isspace(c);
  }
  [[nodiscard]] std::size_t skip_space(std::size_t i) const {
    std::size_t len = 0;
    while (i < s_.size() && space_at(i, len)) i += len;
    return i;
  }
  static std::string_view rstrip_space(std::string_view t) {
    // Whitespace code points are ASCII or 2-3 byte sequences; decode from the front to
    // find the last non-space boundary.
    std::size_t keep = 0;
    for (std::size_t i = 0; i < t.size();) {
      const std::uint32_t c = utf8_next(t, i);
      if (!py_isspace(c)) keep = i;
    }
    return t.substr(0, keep);
  }
  static bool all_space(std::string_view t) {
    if (t.empty()) return false;
    for (std::size_t i = 0; i < t.size();)
      if (!py_isspace(utf8_next(t, i))) return false;
    return true;
  }

  /// Whitespace control before a tag (`-` strips, lstrip_blocks for blocks/comments).
  [[nodiscard]] std::string_view strip_before_tag(std::string_view text, char sign, bool lstrip_kind,
                                                  bool line_starting) const {
    if (sign == '-') return rstrip_space(text);
    if (sign != '+' && opt_.lstrip_blocks && lstrip_kind) {
      const std::size_t nl = text.rfind('\n');
      const std::size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
      if ((l_pos > 0 || line_starting) && all_space(text.substr(l_pos))) return text.substr(0, l_pos);
    }
    return text;
  }

  /// `\s*raw\s*(-%}\s*|%})` after `{%` (and its sign).
  bool match_raw_begin(std::size_t i, std::size_t& end) const {
    i = skip_space(i);
    if (s_.substr(i, 3) != "raw") return false;
    i = skip_space(i + 3);
    if (s_.substr(i, 3) == "-%}") {
      end = skip_space(i + 3);
      return true;
    }
    if (s_.substr(i, 2) == "%}") {
      end = i + 2;
      return true;
    }
    return false;
  }

  bool lex_raw(std::size_t start, std::size_t& pos, bool& line_starting) {
    line_starting = start > 0 && s_[start - 1] == '\n';
    std::size_t t = start;
    while ((t = s_.find("{%", t)) != std::string_view::npos) {
      std::size_t i = t + 2;
      char sign = 0;
      if (i < s_.size() && (s_[i] == '-' || s_[i] == '+')) sign = s_[i++];
      i = skip_space(i);
      if (s_.substr(i, 6) == "endraw") {
        i = skip_space(i + 6);
        std::size_t end = 0;
        bool ok = true;
        if (s_.substr(i, 3) == "+%}") {
          end = i + 3;
        } else if (s_.substr(i, 3) == "-%}") {
          end = skip_space(i + 3);
        } else if (s_.substr(i, 2) == "%}") {
          end = i + 2;
          if (opt_.trim_blocks && end < s_.size() && s_[end] == '\n') ++end;
        } else {
          ok = false;
        }
        if (ok) {
          std::string_view text = s_.substr(start, t - start);
          text = strip_before_tag(text, sign, true, line_starting);
          emit_data(text, start);
          line_starting = end > 0 && s_[end - 1] == '\n';
          pos = end;
          return true;
        }
      }
      t += 2;
    }
    return fail(start, "missing end of raw directive");
  }

  bool lex_comment(std::size_t open, std::size_t start, std::size_t& pos, bool& line_starting) {
    const std::size_t q = s_.find("#}", start);
    if (q == std::string_view::npos) return fail(open, "missing end of comment tag");
    std::size_t end = q + 2;
    if (q > start && s_[q - 1] == '-') {
      end = skip_space(end);
    } else if (q > start && s_[q - 1] == '+') {
      // keep what follows
    } else if (opt_.trim_blocks && end < s_.size() && s_[end] == '\n') {
      ++end;
    }
    line_starting = s_[end - 1] == '\n';
    pos = end;
    return true;
  }

  static bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
  }
  static bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  /// `(\d+_)*\d+` starting at i; returns the end (== i when no digits).
  [[nodiscard]] std::size_t scan_digits(std::size_t i) const {
    if (i >= s_.size() || !is_digit(s_[i])) return i;
    while (i < s_.size()) {
      if (is_digit(s_[i])) {
        ++i;
      } else if (s_[i] == '_' && i + 1 < s_.size() && is_digit(s_[i + 1])) {
        i += 1;
      } else {
        break;
      }
    }
    return i;
  }

  bool lex_number(std::size_t& i) {
    const std::size_t start = i;
    const bool after_dot = start > 0 && s_[start - 1] == '.';
    // float: digits ((.digits)? e[+-]?digits | .digits), not right after a '.'
    if (!after_dot) {
      std::size_t j = scan_digits(i);
      std::size_t k = j;
      bool frac = false, expo = false;
      if (k < s_.size() && s_[k] == '.' && k + 1 < s_.size() && is_digit(s_[k + 1])) {
        k = scan_digits(k + 1);
        frac = true;
      }
      if (k < s_.size() && (s_[k] == 'e' || s_[k] == 'E')) {
        std::size_t m = k + 1;
        if (m < s_.size() && (s_[m] == '+' || s_[m] == '-')) ++m;
        const std::size_t e = scan_digits(m);
        if (e > m) {
          k = e;
          expo = true;
        }
      }
      if (frac || expo) {
        std::string txt;
        for (std::size_t p = start; p < k; ++p)
          if (s_[p] != '_') txt += s_[p];
        token t;
        t.type = token_type::floating;
        t.pos = static_cast<std::uint32_t>(start);
        t.fval = parse_py_float(txt).value_or(0.0);
        out_->push_back(std::move(t));
        i = k;
        return true;
      }
    }
    // integer: 0b / 0o / 0x prefixes, [1-9](_?\d)*, 0(_?0)*
    std::size_t k = i;
    int base = 10;
    if (s_[k] == '0' && k + 1 < s_.size()) {
      const char p = static_cast<char>(s_[k + 1] | 0x20);
      if (p == 'b' || p == 'o' || p == 'x') {
        base = p == 'b' ? 2 : p == 'o' ? 8 : 16;
        std::size_t m = k + 2;
        auto ok = [&](char c) {
          if (base == 2) return c == '0' || c == '1';
          if (base == 8) return c >= '0' && c <= '7';
          return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
        };
        // digits, each possibly preceded by one '_' separator
        std::size_t e = m;
        while (e < s_.size() && (ok(s_[e]) || (s_[e] == '_' && e + 1 < s_.size() && ok(s_[e + 1])))) ++e;
        if (e > m)
          k = e;
        else
          base = 10;
      }
    }
    if (base == 10) {
      if (s_[k] == '0') {
        ++k;
        while (k < s_.size() && (s_[k] == '0' || (s_[k] == '_' && k + 1 < s_.size() && s_[k + 1] == '0')))
          ++k;
      } else {
        k = scan_digits(k);
      }
    }
    std::string txt(s_.substr(start, k - start));
    auto v = parse_py_int(txt, base == 10 ? 10 : 0);
    if (!v) return fail(start, "integer literal '" + txt + "' does not fit in 64 bits");
    token t;
    t.type = token_type::integer;
    t.pos = static_cast<std::uint32_t>(start);
    t.ival = *v;
    out_->push_back(std::move(t));
    i = k;
    return true;
  }

  /// A quoted string literal with Python's unicode-escape decoding.
  bool lex_string(std::size_t& i) {
    const std::size_t start = i;
    const char q = s_[i++];
    std::string raw;
    bool closed = false;
    while (i < s_.size()) {
      const char c = s_[i];
      if (c == '\\' && i + 1 < s_.size()) {
        raw += c;
        raw += s_[i + 1];
        i += 2;
        continue;
      }
      if (c == q) {
        closed = true;
        ++i;
        break;
      }
      raw += c;
      ++i;
    }
    if (!closed) return fail(start, std::string("unexpected char '") + q + "' (unterminated string)");
    std::string out;
    out.reserve(raw.size());
    for (std::size_t k = 0; k < raw.size(); ++k) {
      const char c = raw[k];
      if (c != '\\' || k + 1 >= raw.size()) {
        out += c;
        continue;
      }
      const char e = raw[++k];
      auto hex_escape = [&](std::size_t digits) -> bool {
        std::uint32_t v = 0;
        for (std::size_t d = 1; d <= digits; ++d) {
          if (k + d >= raw.size()) return false;
          const char h = raw[k + d];
          int x = -1;
          if (is_digit(h))
            x = h - '0';
          else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
            x = (h | 0x20) - 'a' + 10;
          if (x < 0) return false;
          v = v * 16 + static_cast<std::uint32_t>(x);
        }
        if (v > 0x10FFFF) return false;
        utf8_append(out, v);
        k += digits;
        return true;
      };
      switch (e) {
        case '\n': break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x':
          if (!hex_escape(2)) return fail(start, "truncated \\xXX escape in string literal");
          break;
        case 'u':
          if (!hex_escape(4)) return fail(start, "truncated \\uXXXX escape in string literal");
          break;
        case 'U':
          if (!hex_escape(8)) return fail(start, "truncated or illegal \\UXXXXXXXX escape in string literal");
          break;
        case 'N': return fail(start, "\\N{...} escapes are not supported in string literals");
        default:
          if (e >= '0' && e <= '7') {
            std::uint32_t v = static_cast<std::uint32_t>(e - '0');
            for (int d = 0; d < 2 && k + 1 < raw.size() && raw[k + 1] >= '0' && raw[k + 1] <= '7'; ++d)
              v = v * 8 + static_cast<std::uint32_t>(raw[++k] - '0');
            utf8_append(out, v);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    token t;
    t.type = token_type::string;
    t.pos = static_cast<std::uint32_t>(start);
    t.text = std::move(out);
    out_->push_back(std::move(t));
    return true;
  }

  bool lex_tag(bool block, std::size_t open, std::size_t i, std::size_t& pos, bool& line_starting) {
    emit(block ? token_type::block_begin : token_type::variable_begin, open);
    std::vector<char> balance;
    const std::size_t n = s_.size();
    while (i < n) {
      if (balance.empty()) {
        if (block) {
          if (s_.substr(i, 3) == "+%}") {
            emit(token_type::block_end, i);
            pos = i + 3;
            line_starting = false;
            return true;
          }
          if (s_.substr(i, 3) == "-%}") {
            emit(token_type::block_end, i);
            pos = skip_space(i + 3);
            line_starting = s_[pos - 1] == '\n';
            return true;
          }
          if (s_.substr(i, 2) == "%}") {
            emit(token_type::block_end, i);
            pos = i + 2;
            if (opt_.trim_blocks && pos < n && s_[pos] == '\n') ++pos;
            line_starting = s_[pos - 1] == '\n';
            return true;
          }
        } else {
          if (s_.substr(i, 3) == "-}}") {
            emit(token_type::variable_end, i);
            pos = skip_space(i + 3);
            line_starting = s_[pos - 1] == '\n';
            return true;
          }
          if (s_.substr(i, 2) == "}}") {
            emit(token_type::variable_end, i);
            pos = i + 2;
            line_starting = false;
            return true;
          }
        }
      }
      std::size_t len = 0;
      if (space_at(i, len)) {
        i += len;
        continue;
      }
      const char c = s_[i];
      if (is_digit(c)) {
        if (!lex_number(i)) return false;
        continue;
      }
      if (is_name_start(c)) {
        const std::size_t start = i;
        while (i < n && is_name_char(s_[i])) ++i;
        token t;
        t.type = token_type::name;
        t.pos = static_cast<std::uint32_t>(start);
        t.text = std::string(s_.substr(start, i - start));
        out_->push_back(std::move(t));
        continue;
      }
      if (c == '\'' || c == '"') {
        if (!lex_string(i)) return false;
        continue;
      }
      op_type op = op_type::none;
      std::size_t oplen = 2;
      const std::string_view two = s_.substr(i, 2);
      if (two == "//")
        op = op_type::floordiv;
      else if (two == "**")
        op = op_type::pow;
      else if (two == "==")
        op = op_type::eq;
      else if (two == "!=")
        op = op_type::ne;
      else if (two == ">=")
        op = op_type::ge;
      else if (two == "<=")
        op = op_type::le;
      if (op == op_type::none) {
        oplen = 1;
        switch (c) {
          case '+': op = op_type::add; break;
          case '-': op = op_type::sub; break;
          case '/': op = op_type::div; break;
          case '*': op = op_type::mul; break;
          case '%': op = op_type::mod; break;
          case '~': op = op_type::tilde; break;
          case '[': op = op_type::lbracket; break;
          case ']': op = op_type::rbracket; break;
          case '(': op = op_type::lparen; break;
          case ')': op = op_type::rparen; break;
          case '{': op = op_type::lbrace; break;
          case '}': op = op_type::rbrace; break;
          case '<': op = op_type::lt; break;
          case '>': op = op_type::gt; break;
          case '=': op = op_type::assign; break;
          case '.': op = op_type::dot; break;
          case ':': op = op_type::colon; break;
          case '|': op = op_type::pipe; break;
          case ',': op = op_type::comma; break;
          case ';': op = op_type::semicolon; break;
          default: break;
        }
      }
      if (op == op_type::none) {
        std::size_t j = i;
        std::string ch;
        utf8_append(ch, utf8_next(s_, j));
        return fail(i, "unexpected char '" + ch + "'");
      }
      if (op == op_type::lbrace || op == op_type::lparen || op == op_type::lbracket) {
        balance.push_back(op == op_type::lbrace ? '}' : op == op_type::lparen ? ')' : ']');
      } else if (op == op_type::rbrace || op == op_type::rparen || op == op_type::rbracket) {
        const char want = op == op_type::rbrace ? '}' : op == op_type::rparen ? ')' : ']';
        if (balance.empty()) return fail(i, std::string("unexpected '") + want + "'");
        if (balance.back() != want)
          return fail(i, std::string("unexpected '") + want + "', expected '" + balance.back() + "'");
        balance.pop_back();
      }
      emit(token_type::op, i, op);
      i += oplen;
    }
    pos = n;
    return true;  // the parser reports the missing end of the tag
  }
};

}  // namespace mmllm::jinja::detail
