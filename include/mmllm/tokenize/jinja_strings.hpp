// mmllm/tokenize/jinja_strings.hpp — Python str semantics for the Jinja engine: the str
// methods templates call (.strip(), .split(), .startswith(), .replace(), .title() ...),
// printf-style `%` formatting, str.format() with the format-spec mini-language, and
// strftime for strftime_now(). All functions work on UTF-8 code points.
#pragma once

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mmllm/tokenize/jinja_runtime.hpp"

namespace mmllm::jinja::detail {

// --- code point helpers ---------------------------------------------------------------------

inline std::vector<std::uint32_t> to_cps(std::string_view s) {
  std::vector<std::uint32_t> v;
  v.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) v.push_back(utf8_next(s, i));
  return v;
}
inline std::string from_cps(const std::vector<std::uint32_t>& v, std::size_t b = 0,
                            std::size_t e = SIZE_MAX) {
  std::string s;
  if (e > v.size()) e = v.size();
  for (std::size_t i = b; i < e; ++i) utf8_append(s, v[i]);
  return s;
}
/// Code point index of a byte offset.
inline std::size_t cp_index(std::string_view s, std::size_t byte) { return utf8_length(s.substr(0, byte)); }
/// Byte offset of a code point index (clamped).
inline std::size_t byte_offset(std::string_view s, std::size_t cp) {
  std::size_t i = 0;
  for (std::size_t k = 0; k < cp && i < s.size(); ++k) utf8_next(s, i);
  return i;
}

// --- case --------------------------------------------------------------------------------------

inline std::string str_lower(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) utf8_append(o, py_lower(utf8_next(s, i)));
  return o;
}
inline std::string str_upper(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::uint32_t c = utf8_next(s, i);
    if (c == 0xDF) {
      o += "SS";
    } else {
      utf8_append(o, py_upper(c));
    }
  }
  return o;
}
inline std::string str_casefold(std::string_view s) {
  std::string o;
  for (std::size_t i = 0; i < s.size();) {
    const std::uint32_t c = utf8_next(s, i);
    if (c == 0xDF) {
      o += "ss";
    } else {
      utf8_append(o, py_lower(c));
    }
  }
  return o;
}
inline void append_title_cp(std::string& o, std::uint32_t c) {
  if (c == 0xDF) {
    o += "Ss";
  } else {
    utf8_append(o, py_upper(c));
  }
}
inline std::string str_capitalize(std::string_view s) {
  std::string o;
  bool first = true;
  for (std::size_t i = 0; i < s.size();) {
    const std::uint32_t c = utf8_next(s, i);
    if (first) {
      append_title_cp(o, c);
    } else {
      utf8_append(o, py_lower(c));
    }
    first = false;
  }
  return o;
}
/// str.title(): a cased character after an uncased one is upper-cased, others lowered.
inline std::string str_title(std::string_view s) {
  std::string o;
  bool prev_cased = false;
  for (std::size_t i = 0; i < s.size();) {
    const std::uint32_t c = utf8_next(s, i);
    if (prev_cased) {
      utf8_append(o, py_lower(c));
    } else {
      append_title_cp(o, c);
    }
    prev_cased = py_iscased(c);
  }
  return o;
}
inline std::string str_swapcase(std::string_view s) {
  std::string o;
  for (std::size_t i = 0; i < s.size();) {
    const std::uint32_t c = utf8_next(s, i);
    if (py_isupper_cp(c)) {
      utf8_append(o, py_lower(c));
    } else if (c == 0xDF) {
      o += "SS";
    } else {
      utf8_append(o, py_upper(c));
    }
  }
  return o;
}
/// Jinja's |title filter: upper-case the first character of each run that follows one of
/// `-`, whitespace, `(`, `{`, `[`, `<`; lower-case the rest.
inline std::string jinja_title(std::string_view s) {
  std::string o;
  bool at_start = true;
  for (std::size_t i = 0; i < s.size();) {
    const std::uint32_t c = utf8_next(s, i);
    const bool delim = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || py_isspace(c);
    if (delim) {
      utf8_append(o, c);
      at_start = true;
    } else if (at_start) {
      utf8_append(o, py_upper(c));
      at_start = false;
    } else {
      utf8_append(o, py_lower(c));
    }
  }
  return o;
}

// --- strip / split -------------------------------------------------------------------------------

/// str.strip/lstrip/rstrip with optional character set (nullptr: whitespace).
inline std::string_view str_strip(std::string_view s, const std::string_view* chars, bool left, bool right) {
  std::vector<std::uint32_t> set;
  if (chars != nullptr) set = to_cps(*chars);
  auto strip_it = [&](std::uint32_t c) {
    if (chars == nullptr) return py_isspace(c);
    for (auto x : set)
      if (x == c) return true;
    return false;
  };
  std::size_t b = 0, e = s.size();
  if (left) {
    while (b < e) {
      std::size_t j = b;
      if (!strip_it(utf8_next(s, j))) break;
      b = j;
    }
  }
  if (right) {
    std::size_t keep = b;
    for (std::size_t i = b; i < e;) {
      if (!strip_it(utf8_next(s, i))) keep = i;
    }
    e = keep;
  }
  return s.substr(b, e - b);
}

/// str.split(sep, maxsplit) / rsplit.
inline std::vector<std::string> str_split(std::string_view s, const std::string_view* sep,
                                          std::int64_t maxsplit, bool from_right) {
  std::vector<std::string> out;
  if (sep == nullptr) {
    // Runs of whitespace; leading/trailing whitespace ignored.
    std::vector<std::pair<std::size_t, std::size_t>> words;
    std::size_t i = 0;
    while (i < s.size()) {
      std::size_t j = i;
      while (j < s.size()) {
        std::size_t k = j;
        if (!py_isspace(utf8_next(s, k))) break;
        j = k;
      }
      if (j >= s.size()) break;
      std::size_t start = j;
      while (j < s.size()) {
        std::size_t k = j;
        if (py_isspace(utf8_next(s, k))) break;
        j = k;
      }
      words.emplace_back(start, j);
      i = j;
    }
    if (maxsplit < 0 || static_cast<std::size_t>(maxsplit) + 1 >= words.size()) {
      for (auto [b, e] : words) out.emplace_back(s.substr(b, e - b));
      return out;
    }
    const auto m = static_cast<std::size_t>(maxsplit);
    if (!from_right) {
      for (std::size_t w = 0; w < m; ++w)
        out.emplace_back(s.substr(words[w].first, words[w].second - words[w].first));
      // The remainder keeps its inner and trailing whitespace but loses the leading run.
      out.emplace_back(s.substr(words[m].first));
    } else {
      const std::size_t n = words.size();
      out.emplace_back(s.substr(0, words[n - m - 1].second));
      for (std::size_t w = n - m; w < n; ++w)
        out.emplace_back(s.substr(words[w].first, words[w].second - words[w].first));
    }
    return out;
  }
  const std::string_view d = *sep;
  if (!from_right) {
    std::size_t pos = 0;
    std::int64_t splits = 0;
    while (maxsplit < 0 || splits < maxsplit) {
      const std::size_t f = s.find(d, pos);
      if (f == std::string_view::npos) break;
      out.emplace_back(s.substr(pos, f - pos));
      pos = f + d.size();
      ++splits;
    }
    out.emplace_back(s.substr(pos));
    return out;
  }
  std::vector<std::string> rev;
  std::size_t end = s.size();
  std::int64_t splits = 0;
  while (maxsplit < 0 || splits < maxsplit) {
    if (end < d.size()) break;
    const std::size_t f = s.rfind(d, end - d.size());
    if (f == std::string_view::npos) break;
    rev.emplace_back(s.substr(f + d.size(), end - f - d.size()));
    end = f;
    ++splits;
  }
  rev.emplace_back(s.substr(0, end));
  out.assign(rev.rbegin(), rev.rend());
  return out;
}

inline std::vector<std::string> str_splitlines(std::string_view s, bool keepends) {
  std::vector<std::string> out;
  std::size_t start = 0, i = 0;
  while (i < s.size()) {
    const std::size_t at = i;
    const std::uint32_t c = utf8_next(s, i);
    if (!py_is_linebreak(c)) continue;
    std::size_t end_of_break = i;
    if (c == '\r' && i < s.size() && s[i] == '\n') end_of_break = ++i;
    out.emplace_back(s.substr(start, (keepends ? end_of_break : at) - start));
    start = end_of_break;
  }
  if (start < s.size()) out.emplace_back(s.substr(start));
  return out;
}

/// str.replace(old, new, count).
inline std::string str_replace(std::string_view s, std::string_view from, std::string_view to,
                               std::int64_t count) {
  std::string out;
  if (from.empty()) {
    std::int64_t n = 0;
    for (std::size_t i = 0; i < s.size();) {
      if (count < 0 || n < count) {
        out.append(to);
        ++n;
      }
      const std::size_t st = i;
      utf8_next(s, i);
      out.append(s.substr(st, i - st));
    }
    if (count < 0 || n < count) out.append(to);
    return out;
  }
  std::size_t pos = 0;
  std::int64_t n = 0;
  while (count < 0 || n < count) {
    const std::size_t f = s.find(from, pos);
    if (f == std::string_view::npos) break;
    out.append(s.substr(pos, f - pos));
    out.append(to);
    pos = f + from.size();
    ++n;
  }
  out.append(s.substr(pos));
  return out;
}

/// str.center / ljust / rjust with a one-character fill.
inline std::string str_pad(std::string_view s, std::int64_t width, std::string_view fill, char how) {
  const auto len = static_cast<std::int64_t>(utf8_length(s));
  if (width <= len) return std::string(s);
  const std::int64_t marg = width - len;
  std::int64_t left = 0;
  if (how == 'c')
    left = marg / 2 + (marg & width & 1);
  else if (how == 'r')
    left = marg;
  const std::int64_t right = marg - left;
  std::string o;
  for (std::int64_t k = 0; k < left; ++k) o.append(fill);
  o.append(s);
  for (std::int64_t k = 0; k < right; ++k) o.append(fill);
  return o;
}

// --- format-spec mini-language ---------------------------------------------------------------------

struct format_spec {
  std::string fill = " ";
  char align = 0;  // < > ^ =
  char sign = '-';
  bool alternate = false;
  bool zero = false;
  std::int64_t width = -1;
  char grouping = 0;
  std::int64_t precision = -1;
  char type = 0;
};

inline bool parse_format_spec(std::string_view s, format_spec& f) {
  std::size_t i = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  // [[fill]align]
  if (!s.empty()) {
    std::size_t j = 0;
    utf8_next(s, j);
    if (j < s.size() && is_align(s[j])) {
      f.fill = std::string(s.substr(0, j));
      f.align = s[j];
      i = j + 1;
    } else if (is_align(s[0])) {
      f.align = s[0];
      i = 1;
    }
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) f.sign = s[i++];
  if (i < s.size() && s[i] == 'z') ++i;
  if (i < s.size() && s[i] == '#') {
    f.alternate = true;
    ++i;
  }
  if (i < s.size() && s[i] == '0') {
    f.zero = true;
    ++i;
  }
  std::int64_t w = -1;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    w = (w < 0 ? 0 : w) * 10 + (s[i++] - '0');
    if (w > 100000) return false;
  }
  f.width = w;
  if (i < s.size() && (s[i] == ',' || s[i] == '_')) f.grouping = s[i++];
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::int64_t p = -1;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      p = (p < 0 ? 0 : p) * 10 + (s[i++] - '0');
      if (p > 1000) return false;
    }
    if (p < 0) return false;
    f.precision = p;
  }
  if (i < s.size()) f.type = s[i++];
  return i == s.size();
}

inline std::string group_digits(std::string digits, char sep) {
  if (sep == 0) return digits;
  std::string out;
  const std::size_t n = digits.size();
  for (std::size_t k = 0; k < n; ++k) {
    if (k > 0 && (n - k) % 3 == 0) out += sep;
    out += digits[k];
  }
  return out;
}

/// printf-like float formatting ('e', 'f', 'g', and upper-case forms), locale independent.
inline std::string format_float_printf(double v, char type, std::int64_t precision, bool alternate = false) {
  if (std::isnan(v)) return (type >= 'A' && type <= 'Z') ? "NAN" : "nan";
  if (std::isinf(v)) {
    std::string s = v < 0 ? "-inf" : "inf";
    if (type >= 'A' && type <= 'Z') s = v < 0 ? "-INF" : "INF";
    return s;
  }
  if (precision < 0) precision = 6;
  const char lt = static_cast<char>(type | 0x20);
  std::string buf(static_cast<std::size_t>(400 + precision), '\0');
  std::to_chars_result r{};
  if (lt == 'f') {
    r = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed,
                      static_cast<int>(precision));
  } else if (lt == 'e') {
    r = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::scientific,
                      static_cast<int>(precision));
  } else {
    r = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::general,
                      static_cast<int>(precision == 0 ? 1 : precision));
  }
  buf.resize(static_cast<std::size_t>(r.ptr - buf.data()));
  if (alternate && lt != 'g' && buf.find('.') == std::string::npos) {
    const std::size_t epos = buf.find('e');
    buf.insert(epos == std::string::npos ? buf.size() : epos, ".");
  }
  if (type >= 'A' && type <= 'Z')
    for (char& c : buf) c = static_cast<char>((c >= 'a' && c <= 'z') ? c - 32 : c);
  return buf;
}

/// format(value, spec) for str, int, bool, float; false with a ValueError/TypeError set.
inline bool apply_format_spec(render_state& st, const value& v, std::string_view spec_text,
                              std::string& out) {
  format_spec f;
  if (!parse_format_spec(spec_text, f)) {
    st.fail(std::string("ValueError: Invalid format specifier '").append(spec_text) + "'");
    return false;
  }
  std::string body;
  std::string sign;
  bool numeric = false;
  if (v.is_string() || (!v.is_number() && f.type == 0) || (v.is_bool() && f.type == 0)) {
    if (f.type != 0 && f.type != 's') {
      st.fail(std::string("ValueError: Unknown format code '").append(1, f.type) + "' for object of type '" +
              std::string(type_name(v)) + "'");
      return false;
    }
    std::string text;
    if (!to_text(st, v, text)) return false;
    if (f.precision >= 0)
      text = std::string(text.substr(0, byte_offset(text, static_cast<std::size_t>(f.precision))));
    body = std::move(text);
  } else if (v.is_number()) {
    numeric = true;
    char t = f.type;
    const bool as_int = is_intlike(v) && (t == 0 || t == 'd' || t == 'b' || t == 'o' || t == 'x' ||
                                          t == 'X' || t == 'c' || t == 'n');
    if (as_int) {
      std::int64_t x = v.as_int();
      const bool neg = x < 0;
      const std::uint64_t ux = neg ? 0 - static_cast<std::uint64_t>(x) : static_cast<std::uint64_t>(x);
      int base = 10;
      if (t == 'b') base = 2;
      if (t == 'o') base = 8;
      if (t == 'x' || t == 'X') base = 16;
      if (t == 'c') {
        utf8_append(body, static_cast<std::uint32_t>(x & 0x1FFFFF));
        numeric = false;
      } else {
        std::array<char, 72> b{};
        auto r = std::to_chars(b.data(), b.data() + b.size(), ux, base);
        std::string digits(b.data(), r.ptr);
        if (t == 'X')
          for (char& c : digits) c = static_cast<char>((c >= 'a' && c <= 'f') ? c - 32 : c);
        digits = group_digits(std::move(digits), f.grouping);
        if (f.alternate && base != 10) body = (base == 2 ? "0b" : base == 8 ? "0o" : t == 'X' ? "0X" : "0x");
        body += digits;
        sign = neg ? "-" : (f.sign == '+' ? "+" : f.sign == ' ' ? " " : "");
      }
    } else {
      if (t != 0 && t != 'e' && t != 'E' && t != 'f' && t != 'F' && t != 'g' && t != 'G' && t != '%' &&
          t != 'n') {
        st.fail(std::string("ValueError: Unknown format code '").append(1, t) + "' for object of type '" +
                std::string(type_name(v)) + "'");
        return false;
      }
      double x = v.as_double();
      const bool neg = std::signbit(x) && !std::isnan(x);
      if (neg) x = -x;
      std::string digits;
      if (t == '%') {
        digits = format_float_printf(x * 100, 'f', f.precision, f.alternate) + "%";
      } else if (t == 0 || t == 'n') {
        if (f.precision < 0) {
          append_float(digits, x);
        } else {
          digits = format_float_printf(x, 'g', f.precision, f.alternate);
          if (digits.find_first_of(".en") == std::string::npos) digits += ".0";
        }
      } else {
        digits = format_float_printf(x, t, f.precision, f.alternate);
      }
      if (f.grouping != 0) {
        const std::size_t dot = digits.find_first_of(".e%");
        const std::string int_part = digits.substr(0, dot);
        bool all_digits = !int_part.empty();
        for (char c : int_part) all_digits = all_digits && c >= '0' && c <= '9';
        if (all_digits)
          digits = group_digits(int_part, f.grouping) + (dot == std::string::npos ? "" : digits.substr(dot));
      }
      body = std::move(digits);
      sign = neg ? "-" : (f.sign == '+' ? "+" : f.sign == ' ' ? " " : "");
    }
  } else {
    std::string text;
    if (!to_text(st, v, text)) return false;
    body = std::move(text);
  }
  char align = f.align;
  std::string fill = f.fill;
  if (align == 0) {
    if (f.zero && numeric) {
      align = '=';
      fill = "0";
    } else {
      align = numeric ? '>' : '<';
    }
  }
  const auto len = static_cast<std::int64_t>(utf8_length(body) + sign.size());
  if (f.width > len) {
    const std::int64_t pad = f.width - len;
    auto fill_n = [&](std::int64_t n) {
      for (std::int64_t k = 0; k < n; ++k) out += fill;
    };
    if (align == '<') {
      out += sign + body;
      fill_n(pad);
    } else if (align == '^') {
      fill_n(pad / 2);
      out += sign + body;
      fill_n(pad - pad / 2);
    } else if (align == '=') {
      out += sign;
      fill_n(pad);
      out += body;
    } else {
      fill_n(pad);
      out += sign + body;
    }
  } else {
    out += sign + body;
  }
  return true;
}

// --- printf-style % ------------------------------------------------------------------------------

/// `fmt % args` for strings (and Jinja's |format filter).
inline value percent_format(render_state& st, const value& fmt, const value& args) {
  const std::string_view f = fmt.as_string();
  std::vector<value> positional;
  const value* mapping = nullptr;
  if (args.is_sequence() && args.seq_kind() == sequence_kind::tuple) {
    positional = args.items();
  } else {
    if (args.is_dict()) mapping = &args;
    positional.push_back(args);
  }
  std::size_t next_arg = 0;
  bool used_mapping = false;
  std::string out;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    if (++i >= f.size()) return st.fail("ValueError: incomplete format");
    value arg;
    bool have_arg = false;
    if (f[i] == '(') {
      const std::size_t close = f.find(')', i);
      if (close == std::string_view::npos) return st.fail("ValueError: incomplete format key");
      if (mapping == nullptr) return st.type_error("format requires a mapping");
      const value* v = mapping->find(f.substr(i + 1, close - i - 1));
      if (v == nullptr) {
        std::string m = "KeyError: ";
        append_py_repr(m, f.substr(i + 1, close - i - 1));
        return st.fail(std::move(m));
      }
      arg = *v;
      have_arg = true;
      used_mapping = true;
      i = close + 1;
    }
    format_spec spec;
    spec.sign = 0;
    bool left = false;
    for (; i < f.size(); ++i) {
      const char c = f[i];
      if (c == '-')
        left = true;
      else if (c == '+')
        spec.sign = '+';
      else if (c == ' ')
        spec.sign = spec.sign == '+' ? '+' : ' ';
      else if (c == '#')
        spec.alternate = true;
      else if (c == '0')
        spec.zero = true;
      else
        break;
    }
    std::int64_t width = -1, precision = -1;
    while (i < f.size() && f[i] >= '0' && f[i] <= '9') {
      width = (width < 0 ? 0 : width) * 10 + (f[i++] - '0');
      if (width > 100000) return st.fail("ValueError: width too big");
    }
    if (i < f.size() && f[i] == '.') {
      ++i;
      precision = 0;
      while (i < f.size() && f[i] >= '0' && f[i] <= '9') {
        precision = precision * 10 + (f[i++] - '0');
        if (precision > 1000) return st.fail("ValueError: precision too big");
      }
    }
    while (i < f.size() && (f[i] == 'h' || f[i] == 'l' || f[i] == 'L')) ++i;
    if (i >= f.size()) return st.fail("ValueError: incomplete format");
    const char conv = f[i];
    if (conv == '%') {
      out += '%';
      continue;
    }
    if (!have_arg) {
      if (next_arg >= positional.size()) return st.type_error("not enough arguments for format string");
      arg = positional[next_arg++];
    }
    std::string body;
    std::string sign;
    bool numeric = false;
    switch (conv) {
      case 's':
        if (!to_text(st, arg, body)) return {};
        break;
      case 'r':
      case 'a':
        if (!append_repr(body, arg, st.guard)) {
          st.guard_ok();
          return {};
        }
        break;
      case 'd':
      case 'i':
      case 'u':
      case 'x':
      case 'X':
      case 'o':
      case 'c': {
        if (!arg.is_number() ||
            (arg.is_float() && (conv == 'x' || conv == 'X' || conv == 'o' || conv == 'c'))) {
          const char* what = (conv == 'd' || conv == 'i' || conv == 'u') ? "a real number" : "an integer";
          return st.type_error(std::string("%") + conv + " format: " + what + " is required, not " +
                               std::string(type_name(arg)));
        }
        std::int64_t x = 0;
        if (arg.is_float()) {
          const double d = arg.as_double();
          if (!std::isfinite(d) || std::fabs(d) > 9.2e18)
            return st.fail("OverflowError: cannot convert float to a 64-bit integer");
          x = static_cast<std::int64_t>(d);
        } else {
          x = arg.as_int();
        }
        if (conv == 'c') {
          utf8_append(body, static_cast<std::uint32_t>(x & 0x1FFFFF));
          break;
        }
        numeric = true;
        const bool neg = x < 0;
        const std::uint64_t ux = neg ? 0 - static_cast<std::uint64_t>(x) : static_cast<std::uint64_t>(x);
        std::array<char, 72> b{};
        const int base = (conv == 'x' || conv == 'X') ? 16 : conv == 'o' ? 8 : 10;
        auto r = std::to_chars(b.data(), b.data() + b.size(), ux, base);
        std::string digits(b.data(), r.ptr);
        if (conv == 'X')
          for (char& c : digits) c = static_cast<char>((c >= 'a' && c <= 'f') ? c - 32 : c);
        if (precision >= 0 && static_cast<std::int64_t>(digits.size()) < precision)
          digits.insert(0, static_cast<std::size_t>(precision) - digits.size(), '0');
        if (spec.alternate && base != 10) digits.insert(0, base == 8 ? "0o" : conv == 'X' ? "0X" : "0x");
        body = digits;
        sign = neg ? "-" : spec.sign == '+' ? "+" : spec.sign == ' ' ? " " : "";
        break;
      }
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G': {
        if (!arg.is_number())
          return st.type_error(std::string("must be real number, not ").append(type_name(arg)));
        double x = arg.as_double();
        const bool neg = std::signbit(x) && !std::isnan(x);
        if (neg) x = -x;
        body = format_float_printf(x, conv, precision, spec.alternate);
        numeric = true;
        sign = neg ? "-" : spec.sign == '+' ? "+" : spec.sign == ' ' ? " " : "";
        break;
      }
      default: {
        std::string m = "ValueError: unsupported format character '";
        m += conv;
        m += "'";
        return st.fail(std::move(m));
      }
    }
    if ((conv == 's' || conv == 'r' || conv == 'a') && precision >= 0)
      body = body.substr(0, byte_offset(body, static_cast<std::size_t>(precision)));
    const auto len = static_cast<std::int64_t>(utf8_length(body) + sign.size());
    if (width > len) {
      const auto pad = static_cast<std::size_t>(width - len);
      if (left) {
        out += sign + body;
        out.append(pad, ' ');
      } else if (spec.zero && numeric) {
        out += sign;
        out.append(pad, '0');
        out += body;
      } else {
        out.append(pad, ' ');
        out += sign + body;
      }
    } else {
      out += sign + body;
    }
    if (out.size() > st.lim.max_string_bytes) return st.fail_limit("formatted string too long");
  }
  if (!used_mapping && mapping == nullptr && next_arg < positional.size())
    return st.type_error("not all arguments converted during string formatting");
  return st.str(std::move(out), fmt.is_markup());
}

// --- str.format ------------------------------------------------------------------------------------

inline value str_format(render_state& st, std::string_view f, const arg_pack& args) {
  std::string out;
  std::size_t auto_index = 0;
  bool manual = false;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '}') {
      if (i + 1 < f.size() && f[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      return st.fail("ValueError: Single '}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    std::size_t close = i + 1;
    int nest = 0;
    while (close < f.size() && (f[close] != '}' || nest > 0)) {
      if (f[close] == '{') ++nest;
      if (f[close] == '}') --nest;
      ++close;
    }
    if (close >= f.size()) return st.fail("ValueError: expected '}' before end of string");
    std::string_view field = f.substr(i + 1, close - i - 1);
    i = close;
    std::string_view spec, conv;
    if (const std::size_t colon = field.find(':'); colon != std::string_view::npos) {
      spec = field.substr(colon + 1);
      field = field.substr(0, colon);
    }
    if (const std::size_t bang = field.find('!'); bang != std::string_view::npos) {
      conv = field.substr(bang + 1);
      field = field.substr(0, bang);
    }
    // first part: index or name, then .attr / [key] chains
    std::size_t k = 0;
    while (k < field.size() && field[k] != '.' && field[k] != '[') ++k;
    const std::string_view head = field.substr(0, k);
    value v;
    if (head.empty()) {
      if (manual)
        return st.fail(
            "ValueError: cannot switch from manual field specification to automatic field numbering");
      if (auto_index >= args.positional.size()) {
        return st.fail(std::string("IndexError: Replacement index ").append(std::to_string(auto_index)) +
                       " out of range for positional args tuple");
      }
      v = args.positional[auto_index++];
    } else if (head[0] >= '0' && head[0] <= '9') {
      manual = true;
      auto idx = parse_py_int(head);
      if (!idx || *idx < 0 || static_cast<std::size_t>(*idx) >= args.positional.size())
        return st.fail(std::string("IndexError: Replacement index ").append(head) +
                       " out of range for positional args tuple");
      v = args.positional[static_cast<std::size_t>(*idx)];
    } else {
      bool found = false;
      for (const auto& [name, val] : args.keyword)
        if (name == head) {
          v = val;
          found = true;
        }
      if (!found) {
        std::string m = "KeyError: ";
        append_py_repr(m, head);
        return st.fail(std::move(m));
      }
    }
    while (k < field.size()) {
      if (field[k] == '.') {
        std::size_t e = k + 1;
        while (e < field.size() && field[e] != '.' && field[e] != '[') ++e;
        v = get_attr(st, v, field.substr(k + 1, e - k - 1));
        k = e;
      } else {
        const std::size_t e = field.find(']', k);
        if (e == std::string_view::npos) return st.fail("ValueError: Missing ']' in format string");
        const std::string_view key = field.substr(k + 1, e - k - 1);
        auto idx = parse_py_int(key);
        v = idx ? get_item(st, v, value(*idx)) : get_item(st, v, value(std::string(key)));
        k = e + 1;
      }
      if (st.failed) return {};
      if (v.is_undefined()) return st.raise_undefined(v);
    }
    if (conv == "r" || conv == "a") {
      v = repr_value(st, v);
    } else if (conv == "s") {
      v = to_str_value(st, v);
    } else if (!conv.empty()) {
      return st.fail(std::string("ValueError: Unknown conversion specifier ").append(conv));
    }
    if (st.failed) return {};
    if (!apply_format_spec(st, v, spec, out)) return {};
    if (out.size() > st.lim.max_string_bytes) return st.fail_limit("formatted string too long");
  }
  return st.str(std::move(out));
}

// --- strftime --------------------------------------------------------------------------------------

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// C/glibc strftime for the fields templates use (%a %A %b %B %c %C %d %D %e %F %H %I %j %m
/// %M %n %p %R %S %t %T %u %w %y %Y %Z %z %%), with glibc's `-` (no padding) and `_`
/// (space padding) flags.
inline std::string strftime_text(std::string_view fmt, const date_time& t) {
  static constexpr std::array<std::string_view, 7> wd_full = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                              "Thursday", "Friday", "Saturday"};
  static constexpr std::array<std::string_view, 12> mon_full = {
      "January", "February", "March",     "April",   "May",      "June",
      "July",    "August",   "September", "October", "November", "December"};
  const int month = t.month >= 1 && t.month <= 12 ? t.month : 1;
  const std::int64_t days =
      days_from_civil(t.year, static_cast<unsigned>(month), static_cast<unsigned>(t.day));
  const int wday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
  const int yday = static_cast<int>(days - days_from_civil(t.year, 1, 1)) + 1;
  std::string out;
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%' || i + 1 >= fmt.size()) {
      out += fmt[i];
      continue;
    }
    char flag = 0;
    std::size_t j = i + 1;
    if (fmt[j] == '-' || fmt[j] == '_' || fmt[j] == '0') {
      flag = fmt[j];
      ++j;
      if (j >= fmt.size()) {
        out.append(fmt.substr(i));
        break;
      }
    }
    auto num = [&](std::int64_t v, int width, char pad = '0') {
      std::string s;
      append_int(s, v);
      if (flag == '-') {
        out += s;
        return;
      }
      const char p = flag == '_' ? ' ' : flag == '0' ? '0' : pad;
      for (int k = static_cast<int>(s.size()); k < width; ++k) out += p;
      out += s;
    };
    const int hour12 = t.hour % 12 == 0 ? 12 : t.hour % 12;
    switch (fmt[j]) {
      case 'a': out += wd_full[static_cast<std::size_t>(wday)].substr(0, 3); break;
      case 'A': out += wd_full[static_cast<std::size_t>(wday)]; break;
      case 'b':
      case 'h': out += mon_full[static_cast<std::size_t>(month - 1)].substr(0, 3); break;
      case 'B': out += mon_full[static_cast<std::size_t>(month - 1)]; break;
      case 'c':
        out += wd_full[static_cast<std::size_t>(wday)].substr(0, 3);
        out += ' ';
        out += mon_full[static_cast<std::size_t>(month - 1)].substr(0, 3);
        out += ' ';
        num(t.day, 2, ' ');
        out += ' ';
        num(t.hour, 2);
        out += ':';
        num(t.minute, 2);
        out += ':';
        num(t.second, 2);
        out += ' ';
        num(t.year, 4);
        break;
      case 'C': num(t.year / 100, 2); break;
      case 'd': num(t.day, 2); break;
      case 'D':
        num(month, 2);
        out += '/';
        num(t.day, 2);
        out += '/';
        num(t.year % 100, 2);
        break;
      case 'e': num(t.day, 2, ' '); break;
      case 'F':
        num(t.year, 4);
        out += '-';
        num(month, 2);
        out += '-';
        num(t.day, 2);
        break;
      case 'H': num(t.hour, 2); break;
      case 'I': num(hour12, 2); break;
      case 'j': num(yday, 3); break;
      case 'k': num(t.hour, 2, ' '); break;
      case 'l': num(hour12, 2, ' '); break;
      case 'm': num(month, 2); break;
      case 'M': num(t.minute, 2); break;
      case 'n': out += '\n'; break;
      case 'p': out += t.hour < 12 ? "AM" : "PM"; break;
      case 'P': out += t.hour < 12 ? "am" : "pm"; break;
      case 'R':
        num(t.hour, 2);
        out += ':';
        num(t.minute, 2);
        break;
      case 'S': num(t.second, 2); break;
      case 't': out += '\t'; break;
      case 'T':
        num(t.hour, 2);
        out += ':';
        num(t.minute, 2);
        out += ':';
        num(t.second, 2);
        break;
      case 'u': num(wday == 0 ? 7 : wday, 1); break;
      case 'w': num(wday, 1); break;
      case 'x':
        num(month, 2);
        out += '/';
        num(t.day, 2);
        out += '/';
        num(t.year % 100, 2);
        break;
      case 'X':
        num(t.hour, 2);
        out += ':';
        num(t.minute, 2);
        out += ':';
        num(t.second, 2);
        break;
      case 'y': num(t.year % 100, 2); break;
      case 'Y': num(t.year, 1); break;
      case 'Z':
      case 'z': break;
      case '%': out += '%'; break;
      default: out.append(fmt.substr(i, j - i + 1)); break;
    }
    i = j;
  }
  return out;
}

}  // namespace mmllm::jinja::detail
