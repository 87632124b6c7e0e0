// mmllm/tokenize/jinja_text.hpp — text helpers of the Jinja engine: UTF-8 code points,
// Python's notion of whitespace / letters / digits / case, and Python-exact formatting of
// numbers (`repr(float)`, `round`) and strings (`repr(str)`, `json.dumps(str)`).
//
// Strings are UTF-8 `std::string`s; every Python operation that counts or slices
// characters works on code points. Invalid UTF-8 bytes count as one code point each (a
// lone surrogate U+DC80..U+DCFF, as Python's "surrogateescape" would decode them) and are
// copied through unchanged, so slicing never loses bytes.
// Case mapping and character classes cover ASCII, Latin-1, Latin Extended-A, Greek,
// Cyrillic and fullwidth forms (plus common CJK / Hangul / Arabic / Hebrew letter ranges
// for isalpha); other scripts are treated as uncased.
#pragma once

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace mmllm::jinja::detail {

// --- UTF-8 -----------------------------------------------------------------------------------

/// Decodes the code point at byte `i` of `s` and advances `i`; an invalid byte is returned
/// as U+DC00 + byte (one byte consumed).
inline std::uint32_t utf8_next(std::string_view s, std::size_t& i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  auto invalid = [&]() noexcept {
    ++i;
    return static_cast<std::uint32_t>(0xDC00 + b0);
  };
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return invalid();
  }
  if (i + len > s.size()) return invalid();
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return invalid();
    cp = (cp << 6) | (b & 0x3F);
  }
  // Reject overlong forms, surrogates and values above U+10FFFF.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return invalid();
  i += len;
  return cp;
}

/// Appends the UTF-8 encoding of `cp`. Lone surrogates U+DC80..U+DCFF written by
/// utf8_next for invalid bytes are turned back into that byte.
inline void utf8_append(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp >= 0xDC80 && cp <= 0xDCFF) {
    out += static_cast<char>(cp - 0xDC00);
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

/// Number of code points in `s` (Python's len(str)).
inline std::size_t utf8_length(std::string_view s) noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size();) {
    utf8_next(s, i);
    ++n;
  }
  return n;
}

// --- character classes (Python str methods) ---------------------------------------------------

/// Python's str.isspace() / re `\s` for one code point.
constexpr bool py_isspace(std::uint32_t c) noexcept {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

/// Line boundaries of Python's str.splitlines().
constexpr bool py_is_linebreak(std::uint32_t c) noexcept {
  return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E ||
         c == 0x85 || c == 0x2028 || c == 0x2029;
}

/// Lower-case mapping of one code point (simple mappings of the covered scripts).
constexpr std::uint32_t py_lower(std::uint32_t c) noexcept {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c >= 0x100 && c <= 0x12F) return c | 1U;
  if (c >= 0x132 && c <= 0x137) return c | 1U;
  if (c >= 0x139 && c <= 0x148) return (c & 1U) ? c + 1 : c;
  if (c >= 0x14A && c <= 0x177) return c | 1U;
  if (c == 0x178) return 0xFF;
  if (c >= 0x179 && c <= 0x17E) return (c & 1U) ? c + 1 : c;
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 37;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 63;
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0xFF21 && c <= 0xFF3A) return c + 32;
  return c;
}

/// Upper-case mapping of one code point (ß is handled by the string-level functions).
constexpr std::uint32_t py_upper(std::uint32_t c) noexcept {
  if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
  if (c == 0xB5) return 0x39C;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c >= 0x100 && c <= 0x12F) return c & ~1U;
  if (c >= 0x132 && c <= 0x137) return c & ~1U;
  if (c >= 0x139 && c <= 0x148) return (c & 1U) ? c : c - 1;
  if (c >= 0x14A && c <= 0x177) return c & ~1U;
  if (c >= 0x179 && c <= 0x17E) return (c & 1U) ? c : c - 1;
  if (c == 0x17F) return 'S';
  if (c == 0x3AC) return 0x386;
  if (c >= 0x3AD && c <= 0x3AF) return c - 37;
  if (c == 0x3CC) return 0x38C;
  if (c == 0x3CD || c == 0x3CE) return c - 63;
  if (c == 0x3C2) return 0x3A3;
  if (c >= 0x3B1 && c <= 0x3CB) return c - 32;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  if (c >= 0xFF41 && c <= 0xFF5A) return c - 32;
  return c;
}

constexpr bool py_isupper_cp(std::uint32_t c) noexcept { return py_lower(c) != c; }
constexpr bool py_islower_cp(std::uint32_t c) noexcept { return py_upper(c) != c || c == 0xDF; }
constexpr bool py_iscased(std::uint32_t c) noexcept { return py_isupper_cp(c) || py_islower_cp(c); }

constexpr bool py_isdigit_cp(std::uint32_t c) noexcept {
  return (c >= '0' && c <= '9') || c == 0xB2 || c == 0xB3 || c == 0xB9 || (c >= 0x660 && c <= 0x669) ||
         (c >= 0x6F0 && c <= 0x6F9) || (c >= 0x966 && c <= 0x96F) || (c >= 0xFF10 && c <= 0xFF19);
}

constexpr bool py_isalpha_cp(std::uint32_t c) noexcept {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  return py_iscased(c) || c == 0xAA || c == 0xBA || (c >= 0x5D0 && c <= 0x5EA) ||
         (c >= 0x620 && c <= 0x64A) || (c >= 0x904 && c <= 0x939) || (c >= 0xE01 && c <= 0xE30) ||
         (c >= 0x3041 && c <= 0x3096) || (c >= 0x30A1 && c <= 0x30FA) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7A3);
}

/// Python's str.isprintable() for one code point (approximation: controls, separators other
/// than space, format characters, surrogates, private use and noncharacters are not printable).
constexpr bool py_isprintable_cp(std::uint32_t c) noexcept {
  if (c < 0x20 || c == 0x7F) return false;
  if (c < 0x7F) return true;
  if (c <= 0xA0 || c == 0xAD) return false;
  if (c == 0x61C || c == 0x6DD || c == 0x70F || c == 0x180E || c == 0x1680) return false;
  if ((c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) || (c >= 0x205F && c <= 0x206F))
    return false;
  if (c == 0x3000 || c == 0xFEFF) return false;
  if (c >= 0xD800 && c <= 0xF8FF) return false;
  if (c >= 0xFFF0 && c <= 0xFFFB) return false;
  if ((c & 0xFFFE) == 0xFFFE) return false;
  if (c >= 0xE0000) return false;
  return true;
}

// --- integers and floats -----------------------------------------------------------------------

inline void append_int(std::string& out, std::int64_t v) {
  std::array<char, 24> buf{};
  auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

/// Python's repr(float): shortest round-trip digits, fixed notation for exponents in
/// [-4, 16), otherwise d.ddde±XX; integral values keep ".0". `json` selects json.dumps'
/// spelling of non-finite values (NaN, Infinity).
inline void append_float(std::string& out, double v, bool json = false) {
  if (std::isnan(v)) {
    out += json ? "NaN" : "nan";
    return;
  }
  if (std::isinf(v)) {
    out += v < 0 ? (json ? "-Infinity" : "-inf") : (json ? "Infinity" : "inf");
    return;
  }
  std::array<char, 40> buf{};
  auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::scientific);
  std::string_view sci(buf.data(), static_cast<std::size_t>(r.ptr - buf.data()));
  bool neg = false;
  if (!sci.empty() && sci[0] == '-') {
    neg = true;
    sci.remove_prefix(1);
  }
  const auto epos = sci.find('e');
  std::string digits;
  for (char ch : sci.substr(0, epos))
    if (ch != '.') digits += ch;
  int exp10 = 0;
  {
    std::string_view es = sci.substr(epos + 1);
    if (!es.empty() && es[0] == '+') es.remove_prefix(1);
    std::from_chars(es.data(), es.data() + es.size(), exp10);
  }
  if (neg) out += '-';
  const int n = static_cast<int>(digits.size());
  if (exp10 >= -4 && exp10 < 16) {
    if (exp10 >= 0) {
      if (n <= exp10 + 1) {
        out += digits;
        out.append(static_cast<std::size_t>(exp10 + 1 - n), '0');
        out += ".0";
      } else {
        const std::size_t int_digits = static_cast<std::size_t>(exp10) + 1;  // exp10 >= 0
        out.append(digits, 0, int_digits);
        out += '.';
        out.append(digits, int_digits, std::string::npos);
      }
    } else {
      out += "0.";
      out.append(static_cast<std::size_t>(-exp10 - 1), '0');
      out += digits;
    }
  } else {
    out += digits[0];
    if (n > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    out += 'e';
    out += exp10 < 0 ? '-' : '+';
    const int ae = exp10 < 0 ? -exp10 : exp10;
    if (ae < 10) out += '0';
    append_int(out, ae);
  }
}

/// Fixed-point text of `v` with `precision` decimals, correctly rounded from the exact binary
/// value (ties to even), independent of the C locale.
inline std::string format_fixed(double v, int precision) {
  std::string out(static_cast<std::size_t>(340 + (precision > 0 ? precision : 0)), '\0');
  auto r = std::to_chars(out.data(), out.data() + out.size(), v, std::chars_format::fixed, precision);
  if (r.ec != std::errc{}) return "nan";
  out.resize(static_cast<std::size_t>(r.ptr - out.data()));
  return out;
}

/// Python's round(x, ndigits) for floats: the decimal rounding of the exact binary value,
/// halfway cases to even.
inline double py_round(double v, std::int64_t ndigits) {
  if (!std::isfinite(v)) return v;
  if (ndigits > 320) return v;
  if (ndigits < -320) return 0.0 * v;
  if (ndigits >= 0) {
    std::string s = format_fixed(v, static_cast<int>(ndigits));
    double r = 0;
    std::from_chars(s.data(), s.data() + s.size(), r);
    return r;
  }
  const double scale = std::pow(10.0, static_cast<double>(-ndigits));
  const double q = v / scale;
  double rq = std::nearbyint(q);  // default rounding mode: to nearest, ties to even
  return rq * scale;
}

/// Parses a Python float literal as float() accepts it (surrounding whitespace, sign,
/// digits with single underscores between them, inf / nan).
inline std::optional<double> parse_py_float(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && py_isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && py_isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  s = s.substr(b, e - b);
  if (s.empty()) return std::nullopt;
  std::string t;
  bool prev_digit = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '_') {
      if (!prev_digit || i + 1 >= s.size() || !(s[i + 1] >= '0' && s[i + 1] <= '9')) return std::nullopt;
      continue;
    }
    prev_digit = c >= '0' && c <= '9';
    t += static_cast<char>((c >= 'A' && c <= 'Z') ? c + 32 : c);
  }
  std::string_view body = t;
  bool neg = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body == "inf" || body == "infinity") return neg ? -HUGE_VAL : HUGE_VAL;
  if (body == "nan") return std::nan("");
  for (char c : body)
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == '+' || c == '-')) return std::nullopt;
  double v = 0;
  auto r = std::from_chars(body.data(), body.data() + body.size(), v, std::chars_format::general);
  if (r.ptr != body.data() + body.size()) {
    if (r.ec == std::errc::result_out_of_range) return neg ? -HUGE_VAL : HUGE_VAL;
    return std::nullopt;
  }
  if (r.ec == std::errc::result_out_of_range) v = HUGE_VAL;
  return neg ? -v : v;
}

/// Parses a Python int literal as int(s, base) accepts it; nullopt when invalid or when it
/// does not fit 64 bits.
inline std::optional<std::int64_t> parse_py_int(std::string_view s, int base = 10) {
  std::size_t b = 0, e = s.size();
  while (b < e && py_isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && py_isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  s = s.substr(b, e - b);
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.size() > 2 && s[0] == '0') {
    const char p = static_cast<char>(s[1] | 0x20);
    const int pb = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
    if (pb != 0 && (base == pb || base == 0)) {
      base = pb;
      s.remove_prefix(2);
      if (!s.empty() && s[0] == '_') s.remove_prefix(1);
    }
  }
  if (base == 0) base = 10;
  if (base < 2 || base > 36 || s.empty()) return std::nullopt;
  std::uint64_t acc = 0;
  bool prev_digit = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_') {
      if (!prev_digit || i + 1 >= s.size()) return std::nullopt;
      prev_digit = false;
      continue;
    }
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    if (c >= 'a' && c <= 'z') d = c - 'a' + 10;
    if (c >= 'A' && c <= 'Z') d = c - 'A' + 10;
    if (d < 0 || d >= base) return std::nullopt;
    if (acc > (UINT64_MAX - static_cast<std::uint64_t>(d)) / static_cast<std::uint64_t>(base))
      return std::nullopt;
    acc = acc * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d);
    prev_digit = true;
  }
  if (!prev_digit) return std::nullopt;
  if (neg) {
    if (acc > static_cast<std::uint64_t>(INT64_MAX) + 1) return std::nullopt;
    return static_cast<std::int64_t>(0 - acc);
  }
  if (acc > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<std::int64_t>(acc);
}

// --- quoting ---------------------------------------------------------------------------------------

inline void append_hex(std::string& out, std::uint32_t v, int digits) {
  static constexpr char hex[] = "0123456789abcdef";
  for (int k = digits - 1; k >= 0; --k) out += hex[(v >> (4 * k)) & 0xF];
}

/// Python's repr(str): single quotes unless the text holds ' and no ", escapes for the
/// quote, backslash, \t \n \r and non-printable code points.
inline void append_py_repr(std::string& out, std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  out += quote;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t start = i;
    const std::uint32_t c = utf8_next(s, i);
    if (c == static_cast<std::uint32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (py_isprintable_cp(c)) {
      out.append(s.substr(start, i - start));
    } else if (c <= 0xFF) {
      out += "\\x";
      append_hex(out, c, 2);
    } else if (c <= 0xFFFF) {
      out += "\\u";
      append_hex(out, c, 4);
    } else {
      out += "\\U";
      append_hex(out, c, 8);
    }
  }
  out += quote;
}

/// json.dumps(str) with ensure_ascii as given.
inline void append_json_string(std::string& out, std::string_view s, bool ensure_ascii = false) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t start = i;
    const std::uint32_t c = utf8_next(s, i);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c >= 0x20 && (c < 0x80 || !ensure_ascii)) {
          out.append(s.substr(start, i - start));
        } else if (c <= 0xFFFF) {  // a control character, or non-ASCII in the BMP with ensure_ascii
          out += "\\u";
          append_hex(out, c, 4);
        } else {
          const std::uint32_t v = c - 0x10000;
          out += "\\u";
          append_hex(out, 0xD800 + (v >> 10), 4);
          out += "\\u";
          append_hex(out, 0xDC00 + (v & 0x3FF), 4);
        }
    }
  }
  out += '"';
}

/// markupsafe.escape: & < > ' " as HTML entities.
inline void append_html_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\'': out += "&#39;"; break;
      case '"': out += "&#34;"; break;
      default: out += c;
    }
  }
}

}  // namespace mmllm::jinja::detail
