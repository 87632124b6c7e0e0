// mmllm/sampling/number_range_grammar.hpp — exact GBNF for JSON numbers within bounds (JSON
// Schema minimum / maximum / exclusiveMinimum / exclusiveMaximum, integer or number).
//
//   auto e = mmllm::number_range_gbnf({.min = 1.5, .max = 10.25, .integer = false});
//   // result<std::string>: a GBNF expression, e.g. for "1.5" ... "10.25"
//
// Numbers are written without exponent: an optional '-', an integer part without leading
// zeros, and (for non-integers) an optional fraction of 1 to `fraction_digits` digits. The
// language is exactly the decimal strings of that form whose value lies within the bounds
// (digit-by-digit constructions on the decimal expansions of the bounds, which are taken as
// the shortest decimal that reads back as the same double). Zero is never written "-0".
// Without an upper bound the integer part has at most max(16, digits of the lower bound + 1)
// digits.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../core/result.hpp"

namespace mmllm {

struct number_range {
  std::optional<double> min, max;  ///< bounds (nullopt = none)
  bool exclusive_min = false, exclusive_max = false;
  bool integer = false;
  int fraction_digits = 6;  ///< most digits after the decimal point (non-integers)
};

namespace detail {

/// A non-negative decimal: integer digits (no leading zeros, "0" for zero) and fraction
/// digits (no trailing zeros).
struct decimal_digits {
  std::string int_part = "0";
  std::string frac;
};

/// The shortest decimal expansion of |v| that reads back as v.
inline decimal_digits to_decimal_digits(double v) {
  v = std::fabs(v);
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  // buf: d.ddddde[+-]XX
  std::string digits;
  int exp10 = 0;
  const char* p = buf;
  for (; *p != 'e' && *p != '\0'; ++p)
    if (*p >= '0' && *p <= '9') digits += *p;
  if (*p == 'e') exp10 = static_cast<int>(std::strtol(p + 1, nullptr, 10));
  // value = 0.digits * 10^(exp10 + 1)
  const int point = exp10 + 1;  // digits before the decimal point
  decimal_digits d;
  if (point <= 0) {
    d.int_part = "0";
    d.frac = std::string(static_cast<std::size_t>(-point), '0') + digits;
  } else if (static_cast<std::size_t>(point) >= digits.size()) {
    d.int_part = digits + std::string(static_cast<std::size_t>(point) - digits.size(), '0');
  } else {
    d.int_part = digits.substr(0, static_cast<std::size_t>(point));
    d.frac = digits.substr(static_cast<std::size_t>(point));
  }
  while (d.int_part.size() > 1 && d.int_part[0] == '0') d.int_part.erase(0, 1);
  while (!d.frac.empty() && d.frac.back() == '0') d.frac.pop_back();
  return d;
}

inline std::string digit_class(char lo, char hi) {
  if (lo == hi) return std::string("[") + lo + "]";
  return std::string("[") + lo + "-" + hi + "]";
}
inline std::string any_digits(std::size_t n) {
  if (n == 0) return "";
  if (n == 1) return "[0-9]";
  return "[0-9]{" + std::to_string(n) + "}";
}
inline std::string join_alternatives(const std::vector<std::string>& alts) {
  if (alts.size() == 1) return alts[0];
  std::string out = "(";
  for (std::size_t i = 0; i < alts.size(); ++i) {
    if (i > 0) out += " | ";
    out += alts[i];
  }
  return out + ")";
}
inline std::string seq2(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + " " + b;
}

inline int compare_int_digits(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}
inline std::string increment_digits(std::string s) {
  for (std::size_t i = s.size(); i-- > 0;) {
    if (s[i] == '9') {
      s[i] = '0';
    } else {
      ++s[i];
      return s;
    }
  }
  return "1" + s;
}
/// s - 1 for s >= 1.
inline std::string decrement_digits(std::string s) {
  for (std::size_t i = s.size(); i-- > 0;) {
    if (s[i] == '0') {
      s[i] = '9';
    } else {
      --s[i];
      break;
    }
  }
  while (s.size() > 1 && s[0] == '0') s.erase(0, 1);
  return s;
}

// Same-length digit strings >= s / <= s / in [lo, hi].
inline std::string fixed_ge(const std::string& s) {
  if (s.empty()) return "";
  if (s.find_first_not_of('0') == std::string::npos) return any_digits(s.size());
  std::vector<std::string> alts;
  if (s[0] < '9')
    alts.push_back(seq2(digit_class(static_cast<char>(s[0] + 1), '9'), any_digits(s.size() - 1)));
  alts.push_back(seq2(std::string("\"") + s[0] + "\"", fixed_ge(s.substr(1))));
  return join_alternatives(alts);
}
inline std::string fixed_le(const std::string& s) {
  if (s.empty()) return "";
  if (s.find_first_not_of('9') == std::string::npos) return any_digits(s.size());
  std::vector<std::string> alts;
  if (s[0] > '0')
    alts.push_back(seq2(digit_class('0', static_cast<char>(s[0] - 1)), any_digits(s.size() - 1)));
  alts.push_back(seq2(std::string("\"") + s[0] + "\"", fixed_le(s.substr(1))));
  return join_alternatives(alts);
}
inline std::string fixed_range(const std::string& lo, const std::string& hi) {
  if (lo.empty()) return "";
  if (lo == hi) return "\"" + lo + "\"";
  std::size_t p = 0;
  while (lo[p] == hi[p]) ++p;
  const std::string prefix = p > 0 ? "\"" + lo.substr(0, p) + "\"" : "";
  const std::size_t rest = lo.size() - p - 1;
  std::vector<std::string> alts;
  alts.push_back(seq2(std::string("\"") + lo[p] + "\"", fixed_ge(lo.substr(p + 1))));
  if (hi[p] - lo[p] > 1)
    alts.push_back(
        seq2(digit_class(static_cast<char>(lo[p] + 1), static_cast<char>(hi[p] - 1)), any_digits(rest)));
  alts.push_back(seq2(std::string("\"") + hi[p] + "\"", fixed_le(hi.substr(p + 1))));
  return seq2(prefix, join_alternatives(alts));
}

/// Integer parts (no leading zeros) in [lo, hi]; hi = nullopt: up to `max_digits` digits.
inline std::optional<std::string> int_range(const std::string& lo, const std::optional<std::string>& hi,
                                            std::size_t max_digits) {
  if (hi && compare_int_digits(lo, *hi) > 0) return std::nullopt;
  std::vector<std::string> alts;
  const std::size_t la = lo.size();
  const std::size_t lb = hi ? hi->size() : std::max(max_digits, la);
  for (std::size_t len = la; len <= lb; ++len) {
    const std::string low = len == la ? lo : "1" + std::string(len - 1, '0');
    if (!hi && len > la) {  // every longer length at once
      alts.push_back(seq2("[1-9]", len - 1 == lb - 1 ? any_digits(len - 1)
                                                     : "[0-9]{" + std::to_string(len - 1) + "," +
                                                           std::to_string(lb - 1) + "}"));
      break;
    }
    const std::string high = hi && len == lb ? *hi : std::string(len, '9');
    alts.push_back(fixed_range(low, high));
  }
  return join_alternatives(alts);
}

// Fraction digits after '.', with optional tight lower / upper bounds.
struct frac_bound {
  bool free = true;  // already satisfied
  std::string rest;  // remaining bound digits (when not free)
  bool strict = false;
};
struct frac_result {
  std::optional<std::string> nonempty;  // strings of length 1..R
  bool empty_ok = false;                // the empty string (value 0)
};

inline bool frac_zero_ok_lower(const frac_bound& b) { return b.free || (b.rest.empty() && !b.strict); }
inline bool frac_zero_ok_upper(const frac_bound& b) { return b.free || !b.rest.empty() || !b.strict; }

inline frac_result frac_strings(const frac_bound& lower, const frac_bound& upper, int r) {
  frac_result out;
  out.empty_ok = frac_zero_ok_lower(lower) && frac_zero_ok_upper(upper);
  if (r <= 0) return out;
  if (lower.free && upper.free) {
    out.nonempty = r == 1 ? std::string("[0-9]") : "[0-9]{1," + std::to_string(r) + "}";
    return out;
  }
  auto next_lower = [&](int c, bool& dead) {
    frac_bound n;
    if (lower.free) return n;
    const int l = lower.rest.empty() ? 0 : lower.rest[0] - '0';
    if (c > l) return n;
    if (c < l) {
      dead = true;
      return n;
    }
    n.rest = lower.rest.empty() ? std::string() : lower.rest.substr(1);
    n.strict = lower.strict;
    n.free = n.rest.empty() && !n.strict;  // the bound is matched: ">= it" holds for any rest
    return n;
  };
  auto next_upper = [&](int c, bool& dead) {
    frac_bound n;
    if (upper.free) return n;
    const int h = upper.rest.empty() ? 0 : upper.rest[0] - '0';
    if (c < h) return n;
    if (c > h) {
      dead = true;
      return n;
    }
    n.free = false;
    n.rest = upper.rest.empty() ? std::string() : upper.rest.substr(1);
    n.strict = upper.strict;
    return n;
  };
  std::vector<std::string> alts;
  int c = 0;
  while (c <= 9) {
    bool dead = false;
    const frac_bound nl = next_lower(c, dead), nu = next_upper(c, dead);
    int c2 = c;
    // extend the class over digits with the same successor state
    while (c2 + 1 <= 9) {
      bool d2 = false;
      const frac_bound l2 = next_lower(c2 + 1, d2), u2 = next_upper(c2 + 1, d2);
      if (d2 != dead || l2.free != nl.free || l2.rest != nl.rest || u2.free != nu.free || u2.rest != nu.rest)
        break;
      ++c2;
    }
    if (!dead) {
      const frac_result sub = frac_strings(nl, nu, r - 1);
      const std::string cls = digit_class(static_cast<char>('0' + c), static_cast<char>('0' + c2));
      if (sub.nonempty) {
        alts.push_back(cls + " " + (sub.empty_ok ? "(" + *sub.nonempty + ")?" : *sub.nonempty));
      } else if (sub.empty_ok) {
        alts.push_back(cls);
      }
    }
    c = c2 + 1;
  }
  if (!alts.empty()) out.nonempty = join_alternatives(alts);
  return out;
}

/// `int_expr` followed by a fraction within the bounds; nullopt when impossible.
inline std::optional<std::string> with_fraction(const std::string& int_expr, const frac_bound& lower,
                                                const frac_bound& upper, int digits) {
  const frac_result f = frac_strings(lower, upper, digits);
  if (f.nonempty) return seq2(int_expr, f.empty_ok ? "(\".\" " + *f.nonempty + ")?" : "\".\" " + *f.nonempty);
  if (f.empty_ok) return int_expr;
  return std::nullopt;
}

/// Non-negative magnitudes in [lo, hi] (strictness per side); hi = nullopt: no upper bound.
inline std::optional<std::string> magnitude_range(const decimal_digits& lo, bool lo_strict,
                                                  const std::optional<decimal_digits>& hi, bool hi_strict,
                                                  bool integer, int frac_digits) {
  const std::size_t max_digits = std::max<std::size_t>(16, lo.int_part.size() + 1);
  if (integer) {
    const std::string low = (!lo.frac.empty() || lo_strict) ? increment_digits(lo.int_part) : lo.int_part;
    std::optional<std::string> high;
    if (hi) {
      if (hi->frac.empty() && hi_strict) {
        if (hi->int_part == "0") return std::nullopt;
        high = decrement_digits(hi->int_part);
      } else {
        high = hi->int_part;
      }
    }
    return int_range(low, high, max_digits);
  }
  const frac_bound free_bound;
  const frac_bound lower{lo.frac.empty() && !lo_strict, lo.frac, lo_strict};
  std::vector<std::string> alts;
  if (hi && hi->int_part == lo.int_part) {
    const frac_bound upper{false, hi->frac, hi_strict};
    if (auto e = with_fraction("\"" + lo.int_part + "\"", lower, upper, frac_digits)) alts.push_back(*e);
  } else {
    if (auto e = with_fraction("\"" + lo.int_part + "\"", lower, free_bound, frac_digits)) alts.push_back(*e);
    std::optional<std::string> middle_hi;
    bool middle = true;
    if (hi) {
      if (compare_int_digits(increment_digits(lo.int_part), hi->int_part) >= 0) {
        middle = false;
      } else {
        middle_hi = decrement_digits(hi->int_part);
      }
    }
    if (middle) {
      if (auto ir = int_range(increment_digits(lo.int_part), middle_hi, max_digits))
        if (auto e = with_fraction(*ir, free_bound, free_bound, frac_digits)) alts.push_back(*e);
    }
    if (hi) {
      const frac_bound upper{false, hi->frac, hi_strict};
      if (auto e = with_fraction("\"" + hi->int_part + "\"", free_bound, upper, frac_digits))
        alts.push_back(*e);
    }
  }
  if (alts.empty()) return std::nullopt;
  return join_alternatives(alts);
}

}  // namespace detail

/// GBNF for the numbers within `r` (see the file comment); an error when no number fits.
inline result<std::string> number_range_gbnf(const number_range& r) {
  if ((r.min && !std::isfinite(*r.min)) || (r.max && !std::isfinite(*r.max)))
    return make_error(errc::invalid_argument, "number range: bounds must be finite");
  const int frac = std::max(1, std::min(r.fraction_digits, 12));
  for (const std::optional<double>& b : {r.min, r.max})
    if (b && std::fabs(*b) >= 1e30)
      return make_error(errc::unsupported, "number range: bounds beyond 1e30 are not supported");
  using detail::decimal_digits;
  std::vector<std::string> alts;
  // x >= 0
  if (!r.max || *r.max > 0 || (*r.max == 0 && !r.exclusive_max)) {
    decimal_digits lo;
    bool lo_strict = false;
    if (r.min && *r.min >= 0) {
      lo = detail::to_decimal_digits(*r.min);
      lo_strict = r.exclusive_min;
    }
    std::optional<decimal_digits> hi;
    if (r.max) hi = detail::to_decimal_digits(*r.max);
    if (auto e = detail::magnitude_range(lo, lo_strict, hi, r.exclusive_max, r.integer, frac))
      alts.push_back(*e);
  }
  // x < 0: "-" and a magnitude y > 0
  if (!r.min || *r.min < 0) {
    decimal_digits lo;
    bool lo_strict = true;
    if (r.max && *r.max < 0) {
      lo = detail::to_decimal_digits(*r.max);
      lo_strict = r.exclusive_max;
    }
    std::optional<decimal_digits> hi;
    if (r.min) hi = detail::to_decimal_digits(*r.min);
    if (auto e = detail::magnitude_range(lo, lo_strict, hi, r.exclusive_min, r.integer, frac))
      alts.push_back("\"-\" " + (e->front() == '(' ? *e : "(" + *e + ")"));
  }
  if (alts.empty()) return make_error(errc::invalid_argument, "number range: no number satisfies the bounds");
  return detail::join_alternatives(alts);
}

}  // namespace mmllm
