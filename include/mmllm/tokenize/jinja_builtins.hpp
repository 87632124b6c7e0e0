// mmllm/tokenize/jinja_builtins.hpp — Jinja2's built-in filters and tests, Python's str /
// dict / list methods, and the global functions chat templates use (range, dict,
// namespace, cycler, joiner, and transformers' raise_exception and strftime_now).
//
// Each filter/test is a function in a name-sorted table; the parser resolves names to
// table indices once, so rendering does not look names up. Filters that Jinja2 has but
// this engine does not implement (random, urlize, wordwrap, xmlattr) parse and fail only
// when reached. `tojson` is transformers' version: json.dumps(x, ensure_ascii=False,
// indent=None, separators=None, sort_keys=False) with the same positional order.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mmllm/tokenize/jinja_runtime.hpp"
#include "mmllm/tokenize/jinja_strings.hpp"

namespace mmllm::jinja::detail {

// --- argument binding ---------------------------------------------------------------------------

/// Binds a call's arguments to named parameters, Python style.
class binder {
 public:
  binder(render_state& st, const arg_pack& a, std::string_view fn) : st_(st), a_(a), fn_(fn) {}

  bool bind(std::initializer_list<std::string_view> names, std::size_t required = 0) {
    names_.assign(names.begin(), names.end());
    vals_.assign(names_.size(), nullptr);
    if (a_.positional.size() > names_.size()) {
      st_.type_error(std::string(fn_) +
                     std::string("() takes at most ").append(std::to_string(names_.size())) +
                     std::string(" argument(s) (").append(std::to_string(a_.positional.size())) + " given)");
      return false;
    }
    for (std::size_t i = 0; i < a_.positional.size(); ++i) vals_[i] = &a_.positional[i];
    for (const auto& [k, v] : a_.keyword) {
      std::size_t idx = names_.size();
      for (std::size_t i = 0; i < names_.size(); ++i)
        if (names_[i] == k) idx = i;
      if (idx == names_.size()) {
        st_.type_error(std::string(fn_) + "() got an unexpected keyword argument '" + k + "'");
        return false;
      }
      if (vals_[idx] != nullptr) {
        st_.type_error(std::string(fn_) + "() got multiple values for argument '" + k + "'");
        return false;
      }
      vals_[idx] = &v;
    }
    for (std::size_t i = 0; i < required; ++i)
      if (vals_[i] == nullptr) {
        st_.type_error(std::string(fn_) + std::string("() missing required argument '").append(names_[i]) +
                       "'");
        return false;
      }
    return true;
  }
  [[nodiscard]] const value* get(std::size_t i) const { return i < vals_.size() ? vals_[i] : nullptr; }
  [[nodiscard]] bool has(std::size_t i) const { return get(i) != nullptr; }
  [[nodiscard]] value get_or(std::size_t i, value dflt) const {
    if (const value* v = get(i)) return *v;
    return dflt;
  }
  [[nodiscard]] bool flag(std::size_t i, bool dflt = false) const {
    const value* v = get(i);
    return v != nullptr ? v->truthy() : dflt;
  }
  /// An int argument; a TypeError for other types.
  bool int_arg(std::size_t i, std::int64_t dflt, std::int64_t& out) {
    const value* v = get(i);
    if (v == nullptr || v->is_none()) {
      out = dflt;
      return true;
    }
    if (!is_intlike(*v)) {
      st_.type_error(std::string("'").append(type_name(*v)) + "' object cannot be interpreted as an integer");
      return false;
    }
    out = v->as_int();
    return true;
  }
  /// A str argument (None allowed when `allow_none`).
  bool str_arg(std::size_t i, std::optional<std::string_view>& out, bool allow_none = true) {
    const value* v = get(i);
    if (v == nullptr || (allow_none && v->is_none())) {
      out.reset();
      return true;
    }
    if (!v->is_string()) {
      st_.type_error(std::string(fn_) + std::string("() argument must be str, not ").append(type_name(*v)));
      return false;
    }
    out = v->as_string();
    return true;
  }

 private:
  render_state& st_;
  const arg_pack& a_;
  std::string_view fn_;
  std::vector<std::string_view> names_;
  std::vector<const value*> vals_;
};

inline bool no_args(render_state& st, const arg_pack& a, std::string_view fn) {
  binder b(st, a, fn);
  return b.bind({});
}

inline value gen(render_state& st, std::vector<value> items) {
  return st.list(std::move(items), sequence_kind::generator);
}

/// A string result keeping the markup flag of `like`.
inline value str_like(render_state& st, std::string s, const value& like) {
  return st.str(std::move(s), like.is_markup());
}

/// Jinja's make_attrgetter: "a.b.0" walks items (digits as int indices).
inline value attr_path(render_state& st, const value& item, const value& attribute) {
  if (!attribute.is_string()) return get_item(st, item, attribute);
  value cur = item;
  const std::string_view path = attribute.as_string();
  std::size_t b = 0;
  while (true) {
    const std::size_t dot = path.find('.', b);
    const std::string_view part =
        path.substr(b, dot == std::string_view::npos ? std::string_view::npos : dot - b);
    bool digits = !part.empty();
    for (char c : part) digits = digits && c >= '0' && c <= '9';
    auto idx = digits ? parse_py_int(part) : std::nullopt;
    cur = idx ? get_item(st, cur, value(*idx)) : get_item(st, cur, value(std::string(part)));
    if (st.failed) return {};
    if (dot == std::string_view::npos) break;
    b = dot + 1;
  }
  return cur;
}

/// Lower-cases strings for case-insensitive sorting / grouping (Jinja's ignore_case).
inline value ignore_case(const value& v) {
  if (v.is_string()) return value(str_lower(v.as_string()));
  return v;
}

/// Stable merge sort by Python ordering; false with the error of a failed comparison.
inline bool sort_by_keys(render_state& st, const std::vector<value>& keys, std::vector<std::size_t>& order,
                         bool reverse) {
  order.resize(keys.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<std::size_t> tmp(order.size());
  bool ok = true;
  auto less = [&](std::size_t a, std::size_t b) {
    if (!ok) return false;
    int c = 0;
    if (!compare_order(st, reverse ? keys[b] : keys[a], reverse ? keys[a] : keys[b], c)) {
      ok = false;
      return false;
    }
    return c < 0;
  };
  for (std::size_t width = 1; width < order.size() && ok; width *= 2) {
    if (!st.step(order.size())) return false;
    for (std::size_t lo = 0; lo < order.size(); lo += 2 * width) {
      const std::size_t mid = std::min(lo + width, order.size());
      const std::size_t hi = std::min(lo + 2 * width, order.size());
      std::size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = less(order[j], order[i]) ? order[j++] : order[i++];
      while (i < mid) tmp[k++] = order[i++];
      while (j < hi) tmp[k++] = order[j++];
    }
    order.swap(tmp);
  }
  return ok && !st.failed;
}

// --- filters ------------------------------------------------------------------------------------

using filter_fn = value (*)(render_state&, const value&, arg_pack&);
using test_fn = value (*)(render_state&, const value&, arg_pack&);

inline value apply_filter_by_name(render_state& st, std::string_view name, const value& v, arg_pack& args);
inline value apply_test_by_name(render_state& st, std::string_view name, const value& v, arg_pack& args);

inline value f_abs(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "abs")) return {};
  if (v.is_undefined()) return st.raise_undefined(v);
  if (is_intlike(v)) {
    if (v.as_int() == INT64_MIN) return st.fail("OverflowError: integer result does not fit in 64 bits");
    return value(v.as_int() < 0 ? -v.as_int() : v.as_int());
  }
  if (v.is_float()) return value(std::fabs(v.as_double()));
  return st.type_error(std::string("bad operand type for abs(): '").append(type_name(v)) + "'");
}

inline value f_attr(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "attr");
  if (!b.bind({"name"}, 1)) return {};
  if (!b.get(0)->is_string()) return undefined_element(st, v, *b.get(0));
  return get_attr(st, v, b.get(0)->as_string());
}

inline value f_batch(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "batch");
  if (!b.bind({"linecount", "fill_with"}, 1)) return {};
  std::int64_t n = 0;
  if (!b.int_arg(0, 1, n)) return {};
  if (n <= 0) return st.fail("ValueError: batch size must be positive");
  value items;
  if (!iterate(st, v, items)) return {};
  std::vector<value> out, cur;
  for (const auto& it : items.items()) {
    cur.push_back(it);
    if (static_cast<std::int64_t>(cur.size()) == n) {
      out.push_back(st.list(std::move(cur)));
      cur.clear();
    }
  }
  if (!cur.empty()) {
    if (b.has(1) && !b.get(1)->is_none())
      while (static_cast<std::int64_t>(cur.size()) < n) cur.push_back(*b.get(1));
    out.push_back(st.list(std::move(cur)));
  }
  return gen(st, std::move(out));
}

inline value f_capitalize(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "capitalize")) return {};
  std::string s;
  if (!to_text(st, v, s)) return {};
  return str_like(st, str_capitalize(s), v);
}

inline value f_center(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "center");
  if (!b.bind({"width"})) return {};
  std::int64_t w = 0;
  if (!b.int_arg(0, 80, w)) return {};
  if (w > static_cast<std::int64_t>(st.lim.max_string_bytes)) return st.fail_limit("center width too large");
  std::string s;
  if (!to_text(st, v, s)) return {};
  return st.str(str_pad(s, w, " ", 'c'));
}

inline value f_length(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "length")) return {};
  std::int64_t n = 0;
  if (!length_of(st, v, n)) return {};
  return value(n);
}

inline value f_default(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "default");
  if (!b.bind({"default_value", "boolean"})) return {};
  const bool boolean = b.flag(1);
  if (v.is_undefined() || (boolean && !v.truthy())) return b.get_or(0, value(""));
  return v;
}

inline value f_dictsort(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "dictsort");
  if (!b.bind({"case_sensitive", "by", "reverse"})) return {};
  if (!v.is_dict()) {
    if (v.is_undefined()) return st.raise_undefined(v);
    return st.fail(std::string("AttributeError: '").append(type_name(v)) +
                   "' object has no attribute 'items'");
  }
  const bool cs = b.flag(0);
  int pos = 0;
  if (b.has(1)) {
    const value& by = *b.get(1);
    if (by.is_string() && by.as_string() == "value") {
      pos = 1;
    } else if (!(by.is_string() && by.as_string() == "key")) {
      return st.fail("FilterArgumentError: You can only sort by either \"key\" or \"value\"");
    }
  }
  std::vector<value> keys;
  for (const auto& e : v.entries())
    keys.push_back(cs ? (pos == 0 ? e.first : e.second) : ignore_case(pos == 0 ? e.first : e.second));
  std::vector<std::size_t> order;
  if (!sort_by_keys(st, keys, order, b.flag(2))) return {};
  std::vector<value> out;
  out.reserve(order.size());
  for (std::size_t i : order) out.push_back(value::make_tuple({v.entries()[i].first, v.entries()[i].second}));
  return st.list(std::move(out));
}

inline value f_escape(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "escape")) return {};
  if (v.is_markup()) return v;
  std::string s;
  if (!to_text(st, v, s)) return {};
  std::string e;
  append_html_escaped(e, s);
  return st.str(std::move(e), true);
}

inline value f_forceescape(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "forceescape")) return {};
  std::string s;
  if (!to_text(st, v, s)) return {};
  std::string e;
  append_html_escaped(e, s);
  return st.str(std::move(e), true);
}

inline value f_filesizeformat(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "filesizeformat");
  if (!b.bind({"binary"})) return {};
  double bytes = 0;
  if (v.is_number()) {
    bytes = v.as_double();
  } else if (v.is_string()) {
    auto p = parse_py_float(v.as_string());
    if (!p) return st.fail("ValueError: could not convert string to float");
    bytes = *p;
  } else {
    return st.type_error("float() argument must be a string or a real number");
  }
  const bool binary = b.flag(0);
  const double base = binary ? 1024 : 1000;
  static constexpr std::array<std::string_view, 8> dec = {"kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  static constexpr std::array<std::string_view, 8> bin = {"KiB", "MiB", "GiB", "TiB",
                                                          "PiB", "EiB", "ZiB", "YiB"};
  if (bytes == 1) return value("1 Byte");
  if (bytes < base) {
    std::string s;
    append_int(s, static_cast<std::int64_t>(bytes));
    return value(s + " Bytes");
  }
  double unit = base;
  for (std::size_t i = 0; i < 8; ++i) {
    unit *= base;
    if (bytes < unit || i == 7)
      return value(format_float_printf(base * bytes / unit, 'f', 1) + " " +
                   std::string(binary ? bin[i] : dec[i]));
  }
  return {};
}

inline value f_first(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "first")) return {};
  value items;
  if (!iterate(st, v, items)) return {};
  if (items.items().empty()) return value::undefined("UndefinedError: No first item, sequence was empty.");
  return items.items().front();
}

inline value f_last(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "last")) return {};
  if (v.is_sequence() && v.seq_kind() == sequence_kind::generator)
    return st.type_error("'generator' object is not reversible");
  value items;
  if (!iterate(st, v, items)) return {};
  if (items.items().empty()) return value::undefined("UndefinedError: No last item, sequence was empty.");
  return items.items().back();
}

inline value f_float(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "float");
  if (!b.bind({"default"})) return {};
  if (v.is_number()) return value(v.as_double());
  if (v.is_string())
    if (auto p = parse_py_float(v.as_string())) return value(*p);
  return b.get_or(0, value(0.0));
}

inline value f_int(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "int");
  if (!b.bind({"default", "base"})) return {};
  std::int64_t base = 10;
  if (!b.int_arg(1, 10, base)) return {};
  if (is_intlike(v)) return value(v.as_int());
  if (v.is_float()) {
    const double d = v.as_double();
    if (std::isfinite(d) && std::fabs(d) < 9.2e18) return value(static_cast<std::int64_t>(d));
    return b.get_or(0, value(std::int64_t{0}));
  }
  if (v.is_string()) {
    if (auto p = parse_py_int(v.as_string(), static_cast<int>(base))) return value(*p);
    if (auto f = parse_py_float(v.as_string()))
      if (std::isfinite(*f) && std::fabs(*f) < 9.2e18) return value(static_cast<std::int64_t>(*f));
  }
  return b.get_or(0, value(std::int64_t{0}));
}

inline value f_format(render_state& st, const value& v, arg_pack& a) {
  if (!a.positional.empty() && !a.keyword.empty())
    return st.fail("FilterArgumentError: can't handle positional and keyword arguments at the same time");
  std::string s;
  if (!to_text(st, v, s)) return {};
  value fmt = str_like(st, std::move(s), v);
  if (!a.keyword.empty()) {
    std::vector<std::pair<value, value>> e;
    for (auto& [k, val] : a.keyword) e.emplace_back(value(k), val);
    return percent_format(st, fmt, value::make_dict_any(std::move(e)));
  }
  return percent_format(st, fmt, value::make_tuple(a.positional));
}

inline value f_groupby(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "groupby");
  if (!b.bind({"attribute", "default", "case_sensitive"}, 1)) return {};
  value items;
  if (!iterate(st, v, items)) return {};
  const bool cs = b.flag(2);
  std::vector<value> keys, raw;
  for (const auto& it : items.items()) {
    value k = attr_path(st, it, *b.get(0));
    if (st.failed) return {};
    if (k.is_undefined() && b.has(1)) k = *b.get(1);
    raw.push_back(k);
    keys.push_back(cs ? k : ignore_case(k));
  }
  std::vector<std::size_t> order;
  if (!sort_by_keys(st, keys, order, false)) return {};
  std::vector<value> out;
  std::size_t i = 0;
  while (i < order.size()) {
    std::vector<value> group;
    const value& key = keys[order[i]];
    const value grouper = raw[order[i]];
    std::size_t j = i;
    while (j < order.size() && values_equal(st, keys[order[j]], key))
      group.push_back(items.items()[order[j++]]);
    if (st.failed) return {};
    out.push_back(value::make_tuple({grouper, st.list(std::move(group))}));
    i = j;
  }
  return st.list(std::move(out));
}

inline value f_indent(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "indent");
  if (!b.bind({"width", "first", "blank"})) return {};
  std::string indention;
  const value* w = b.get(0);
  if (w != nullptr && w->is_string()) {
    indention = std::string(w->as_string());
  } else {
    std::int64_t n = 4;
    if (!b.int_arg(0, 4, n)) return {};
    if (n > 100000) return st.fail_limit("indent width too large");
    if (n > 0) indention.assign(static_cast<std::size_t>(n), ' ');
  }
  std::string s;
  if (!to_text(st, v, s)) return {};
  s += '\n';
  const auto lines = str_splitlines(s, false);
  std::string rv;
  if (b.flag(2)) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) rv += "\n" + indention;
      rv += lines[i];
    }
  } else {
    if (!lines.empty()) rv = lines[0];
    for (std::size_t i = 1; i < lines.size(); ++i) {
      rv += '\n';
      if (!lines[i].empty()) rv += indention;
      rv += lines[i];
    }
  }
  if (b.flag(1)) rv = indention + rv;
  return str_like(st, std::move(rv), v);
}

inline value f_items(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "items")) return {};
  if (v.is_undefined()) return gen(st, {});
  if (!v.is_dict()) return st.fail("TypeError: Can only get item pairs from a mapping.");
  std::vector<value> out;
  for (const auto& [k, val] : v.entries()) out.push_back(value::make_tuple({k, val}));
  return gen(st, std::move(out));
}

inline value f_join(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "join");
  if (!b.bind({"d", "attribute"})) return {};
  std::string sep;
  if (b.has(0) && !to_text(st, *b.get(0), sep)) return {};
  value items;
  if (!iterate(st, v, items)) return {};
  std::string out;
  bool first = true;
  for (const auto& it0 : items.items()) {
    value it = it0;
    if (b.has(1) && !b.get(1)->is_none()) {
      it = attr_path(st, it0, *b.get(1));
      if (st.failed) return {};
    }
    if (!first) out += sep;
    first = false;
    if (!to_text(st, it, out)) return {};
    if (!st.step()) return {};
    if (out.size() > st.lim.max_string_bytes) return st.fail_limit("joined string too long");
  }
  return st.str(std::move(out));
}

inline value f_list(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "list")) return {};
  value items;
  if (!iterate(st, v, items)) return {};
  return st.list(items.items());
}

inline value f_lower(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "lower")) return {};
  std::string s;
  if (!to_text(st, v, s)) return {};
  return str_like(st, str_lower(s), v);
}

inline value f_upper(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "upper")) return {};
  std::string s;
  if (!to_text(st, v, s)) return {};
  return str_like(st, str_upper(s), v);
}

inline value f_map(render_state& st, const value& v, arg_pack& a) {
  value items;
  if (!v.truthy()) return gen(st, {});  // jinja: `if value: ...`
  if (!iterate(st, v, items)) return {};
  std::vector<value> out;
  out.reserve(items.items().size());
  const value* attribute = nullptr;
  const value* dflt = nullptr;
  for (const auto& [k, val] : a.keyword) {
    if (k == "attribute")
      attribute = &val;
    else if (k == "default")
      dflt = &val;
  }
  if (a.positional.empty() && attribute != nullptr) {
    for (const auto& [k, val] : a.keyword)
      if (k != "attribute" && k != "default")
        return st.fail("FilterArgumentError: Unexpected keyword argument '" + k + "'");
    for (const auto& it : items.items()) {
      value r = attr_path(st, it, *attribute);
      if (st.failed) return {};
      if (r.is_undefined() && dflt != nullptr) r = *dflt;
      out.push_back(std::move(r));
      if (!st.step()) return {};
    }
    return gen(st, std::move(out));
  }
  if (a.positional.empty() || !a.positional[0].is_string())
    return st.fail("FilterArgumentError: map requires a filter argument");
  const std::string name(a.positional[0].as_string());
  arg_pack rest;
  rest.positional.assign(a.positional.begin() + 1, a.positional.end());
  rest.keyword = a.keyword;
  for (const auto& it : items.items()) {
    out.push_back(apply_filter_by_name(st, name, it, rest));
    if (st.failed || !st.step()) return {};
  }
  return gen(st, std::move(out));
}

inline value min_max(render_state& st, const value& v, arg_pack& a, bool want_max) {
  binder b(st, a, want_max ? "max" : "min");
  if (!b.bind({"case_sensitive", "attribute"})) return {};
  value items;
  if (!iterate(st, v, items)) return {};
  if (items.items().empty())
    return value::undefined("UndefinedError: No aggregated item, sequence was empty.");
  const bool cs = b.flag(0);
  std::size_t best = 0;
  value best_key;
  for (std::size_t i = 0; i < items.items().size(); ++i) {
    value k = items.items()[i];
    if (b.has(1) && !b.get(1)->is_none()) k = attr_path(st, k, *b.get(1));
    if (st.failed) return {};
    if (!cs) k = ignore_case(k);
    if (i == 0) {
      best_key = k;
      continue;
    }
    int c = 0;
    if (!compare_order(st, k, best_key, c)) return {};
    if (want_max ? c > 0 : c < 0) {
      best = i;
      best_key = k;
    }
  }
  return items.items()[best];
}
inline value f_max(render_state& st, const value& v, arg_pack& a) { return min_max(st, v, a, true); }
inline value f_min(render_state& st, const value& v, arg_pack& a) { return min_max(st, v, a, false); }

inline value f_pprint(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "pprint")) return {};
  return repr_value(st, v);
}

inline value f_unsupported(render_state& st, const value&, arg_pack&) {
  return st.fail("NotImplementedError: this filter is not supported by mmllm's Jinja engine");
}

/// select / reject / selectattr / rejectattr.
inline value select_impl(render_state& st, const value& v, arg_pack& a, bool by_attr, bool want) {
  value items;
  if (!v.truthy()) return gen(st, {});  // jinja: `if value: ...`
  if (!iterate(st, v, items)) return {};
  std::size_t k = 0;
  value attribute;
  if (by_attr) {
    if (a.positional.empty()) return st.fail("TypeError: missing parameter for attribute name");
    attribute = a.positional[0];
    k = 1;
  }
  std::string test;
  if (k < a.positional.size()) {
    if (!a.positional[k].is_string()) return st.type_error("test name must be a string");
    test = std::string(a.positional[k].as_string());
    ++k;
  }
  arg_pack rest;
  rest.positional.assign(a.positional.begin() + static_cast<std::ptrdiff_t>(std::min(k, a.positional.size())),
                         a.positional.end());
  rest.keyword = a.keyword;
  std::vector<value> out;
  for (const auto& it : items.items()) {
    value subject = by_attr ? attr_path(st, it, attribute) : it;
    if (st.failed) return {};
    bool r = false;
    if (test.empty()) {
      r = subject.truthy();
    } else {
      value t = apply_test_by_name(st, test, subject, rest);
      if (st.failed) return {};
      r = t.truthy();
    }
    if (r == want) out.push_back(it);
    if (!st.step()) return {};
  }
  return gen(st, std::move(out));
}
inline value f_select(render_state& st, const value& v, arg_pack& a) {
  return select_impl(st, v, a, false, true);
}
inline value f_reject(render_state& st, const value& v, arg_pack& a) {
  return select_impl(st, v, a, false, false);
}
inline value f_selectattr(render_state& st, const value& v, arg_pack& a) {
  return select_impl(st, v, a, true, true);
}
inline value f_rejectattr(render_state& st, const value& v, arg_pack& a) {
  return select_impl(st, v, a, true, false);
}

/// Size in bytes of str_replace(s, from, to, count), without building it.
inline std::size_t replace_result_size(std::string_view s, std::string_view from, std::string_view to,
                                       std::int64_t count) {
  std::size_t n = 0;
  if (from.empty()) {
    n = utf8_length(s) + 1;
  } else {
    for (std::size_t p = s.find(from); p != std::string_view::npos; p = s.find(from, p + from.size())) ++n;
  }
  if (count >= 0 && static_cast<std::size_t>(count) < n) n = static_cast<std::size_t>(count);
  return s.size() - n * from.size() + n * to.size();
}

inline value f_replace(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "replace");
  if (!b.bind({"old", "new", "count"}, 2)) return {};
  std::string s, from, to;
  if (!to_text(st, v, s) || !to_text(st, *b.get(0), from) || !to_text(st, *b.get(1), to)) return {};
  std::int64_t count = -1;
  if (!b.int_arg(2, -1, count)) return {};
  if (replace_result_size(s, from, to, count) > st.lim.max_string_bytes)
    return st.fail_limit("replacement result too long");
  return st.str(str_replace(s, from, to, count));
}

inline value f_reverse(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "reverse")) return {};
  if (v.is_string()) {
    auto cps = to_cps(v.as_string());
    std::string out;
    for (auto it = cps.rbegin(); it != cps.rend(); ++it) utf8_append(out, *it);
    return str_like(st, std::move(out), v);
  }
  value items;
  if (!iterate(st, v, items)) return st.fail("FilterArgumentError: argument must be iterable");
  std::vector<value> out(items.items().rbegin(), items.items().rend());
  if (v.is_sequence() && v.seq_kind() == sequence_kind::generator) return st.list(std::move(out));
  return gen(st, std::move(out));
}

inline value f_round(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "round");
  if (!b.bind({"precision", "method"})) return {};
  std::int64_t precision = 0;
  if (!b.int_arg(0, 0, precision)) return {};
  std::string method = "common";
  if (b.has(1)) {
    if (!b.get(1)->is_string()) return st.fail("FilterArgumentError: method must be common, ceil or floor");
    method = std::string(b.get(1)->as_string());
  }
  if (method != "common" && method != "ceil" && method != "floor")
    return st.fail("FilterArgumentError: method must be common, ceil or floor");
  if (v.is_undefined()) return st.raise_undefined(v);
  if (!v.is_number())
    return st.type_error(std::string("type ").append(type_name(v)) + " doesn't define __round__ method");
  if (method == "common") {
    if (is_intlike(v)) {
      if (precision >= 0) return value(v.as_int());
      return value(py_round(v.as_double(), precision));
    }
    return value(py_round(v.as_double(), precision));
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = v.as_double() * scale;
  return value((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

inline value f_safe(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "safe")) return {};
  if (v.is_string()) return v.with_markup(true);
  std::string s;
  if (!to_text(st, v, s)) return {};
  return st.str(std::move(s), true);
}

inline value f_slice(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "slice");
  if (!b.bind({"slices", "fill_with"}, 1)) return {};
  std::int64_t slices = 0;
  if (!b.int_arg(0, 1, slices)) return {};
  if (slices <= 0) return st.fail("ZeroDivisionError: integer division or modulo by zero");
  value items;
  if (!iterate(st, v, items)) return {};
  const auto& seq = items.items();
  const auto length = static_cast<std::int64_t>(seq.size());
  const std::int64_t per = length / slices;
  const std::int64_t with_extra = length % slices;
  std::int64_t offset = 0;
  std::vector<value> out;
  for (std::int64_t i = 0; i < slices && i < static_cast<std::int64_t>(st.lim.max_items); ++i) {
    const std::int64_t start = offset + i * per;
    if (i < with_extra) ++offset;
    const std::int64_t end = offset + (i + 1) * per;
    std::vector<value> tmp(seq.begin() + start, seq.begin() + end);
    if (b.has(1) && !b.get(1)->is_none() && i >= with_extra) tmp.push_back(*b.get(1));
    out.push_back(st.list(std::move(tmp)));
    if (!st.step()) return {};
  }
  return gen(st, std::move(out));
}

inline value f_sort(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "sort");
  if (!b.bind({"reverse", "case_sensitive", "attribute"})) return {};
  value items;
  if (!iterate(st, v, items)) return {};
  std::vector<value> keys;
  for (const auto& it : items.items()) {
    value k = it;
    if (b.has(2) && !b.get(2)->is_none()) {
      k = attr_path(st, it, *b.get(2));
      if (st.failed) return {};
    }
    keys.push_back(b.flag(1) ? k : ignore_case(k));
  }
  std::vector<std::size_t> order;
  if (!sort_by_keys(st, keys, order, b.flag(0))) return {};
  std::vector<value> out;
  out.reserve(order.size());
  for (std::size_t i : order) out.push_back(items.items()[i]);
  return st.list(std::move(out));
}

inline value f_string(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "string")) return {};
  return to_str_value(st, v);
}

inline value f_striptags(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "striptags")) return {};
  std::string s;
  if (!to_text(st, v, s)) return {};
  std::string t;
  for (std::size_t i = 0; i < s.size();) {
    if (s.compare(i, 4, "<!--") == 0) {
      const std::size_t e = s.find("-->", i + 4);
      if (e != std::string::npos) {
        i = e + 3;
        continue;
      }
    }
    if (s[i] == '<') {
      const std::size_t e = s.find('>', i + 1);
      if (e != std::string::npos) {
        i = e + 1;
        continue;
      }
    }
    t += s[i++];
  }
  const auto words = str_split(t, nullptr, -1, false);
  std::string joined;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) joined += ' ';
    joined += words[i];
  }
  std::string out;
  for (std::size_t i = 0; i < joined.size();) {
    if (joined[i] == '&') {
      static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> ents = {
          {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&#34;", "\""}}};
      bool done = false;
      for (const auto& [e, r] : ents)
        if (joined.compare(i, e.size(), e) == 0) {
          out += r;
          i += e.size();
          done = true;
          break;
        }
      if (done) continue;
    }
    out += joined[i++];
  }
  return st.str(std::move(out));
}

inline value f_sum(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "sum");
  if (!b.bind({"attribute", "start"})) return {};
  value items;
  if (!iterate(st, v, items)) return {};
  value acc = b.get_or(1, value(std::int64_t{0}));
  for (const auto& it0 : items.items()) {
    value it = it0;
    if (b.has(0) && !b.get(0)->is_none()) it = attr_path(st, it0, *b.get(0));
    if (st.failed) return {};
    acc = op_add(st, acc, it);
    if (st.failed || !st.step()) return {};
  }
  return acc;
}

inline value f_title(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "title")) return {};
  std::string s;
  if (!to_text(st, v, s)) return {};
  return str_like(st, jinja_title(s), v);
}

inline value f_tojson(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "tojson");
  if (!b.bind({"ensure_ascii", "indent", "separators", "sort_keys"})) return {};
  json_format f;
  f.ensure_ascii = b.flag(0);
  f.sort_keys = b.flag(3);
  const value* ind = b.get(1);
  if (ind != nullptr && !ind->is_none()) {
    f.has_indent = true;
    if (ind->is_string()) {
      f.indent = std::string(ind->as_string());
    } else if (is_intlike(*ind)) {
      if (ind->as_int() > 1000) return st.fail_limit("tojson indent too large");
      if (ind->as_int() > 0) f.indent.assign(static_cast<std::size_t>(ind->as_int()), ' ');
    } else {
      return st.type_error(
          std::string("can't multiply sequence by non-int of type '").append(type_name(*ind)) + "'");
    }
  }
  f.item_separator = f.has_indent ? "," : ", ";
  const value* sep = b.get(2);
  if (sep != nullptr && !sep->is_none()) {
    if (!sep->is_sequence() || sep->items().size() != 2 || !sep->items()[0].is_string() ||
        !sep->items()[1].is_string())
      return st.fail("ValueError: separators must be a pair of strings");
    f.item_separator = std::string(sep->items()[0].as_string());
    f.key_separator = std::string(sep->items()[1].as_string());
  }
  std::string out, err;
  if (!append_json(out, v, f, st.guard, err)) {
    if (!err.empty()) return st.type_error(err);
    st.guard_ok();
    return {};
  }
  return st.str(std::move(out));
}

inline value f_trim(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "trim");
  if (!b.bind({"chars"})) return {};
  std::optional<std::string_view> chars;
  if (!b.str_arg(0, chars)) return {};
  std::string s;
  if (!to_text(st, v, s)) return {};
  const std::string_view cs = chars.value_or("");
  return str_like(st, std::string(str_strip(s, chars ? &cs : nullptr, true, true)), v);
}

inline value f_truncate(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "truncate");
  if (!b.bind({"length", "killwords", "end", "leeway"})) return {};
  std::int64_t length = 255, leeway = 5;
  if (!b.int_arg(0, 255, length) || !b.int_arg(3, 5, leeway)) return {};
  std::string end = "...";
  if (b.has(2) && !to_text(st, *b.get(2), end)) end = "...";
  std::string s;
  if (!to_text(st, v, s)) return {};
  const auto cps = to_cps(s);
  const auto n = static_cast<std::int64_t>(cps.size());
  const auto end_len = static_cast<std::int64_t>(utf8_length(end));
  if (length < end_len)
    return st.fail(std::string("AssertionError: expected length >= ").append(std::to_string(end_len)));
  if (leeway < 0) return st.fail("AssertionError: expected leeway >= 0");
  if (n <= length + leeway) return st.str(std::move(s));
  const auto cut = static_cast<std::size_t>(length - end_len);
  std::string head = from_cps(cps, 0, cut);
  if (b.flag(1)) return st.str(head + end);
  const std::size_t sp = head.rfind(' ');
  if (sp != std::string::npos) head.resize(sp);
  return st.str(head + end);
}

inline value f_unique(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "unique");
  if (!b.bind({"case_sensitive", "attribute"})) return {};
  value items;
  if (!iterate(st, v, items)) return {};
  std::vector<value> seen, out;
  for (const auto& it : items.items()) {
    value k = it;
    if (b.has(1) && !b.get(1)->is_none()) k = attr_path(st, it, *b.get(1));
    if (st.failed) return {};
    if (!b.flag(0)) k = ignore_case(k);
    bool dup = false;
    for (const auto& s : seen)
      if (values_equal(st, s, k)) {
        dup = true;
        break;
      }
    if (st.failed || !st.step(seen.size() / 16 + 1)) return {};
    if (!dup) {
      seen.push_back(k);
      out.push_back(it);
    }
  }
  return gen(st, std::move(out));
}

inline void url_quote(std::string& out, std::string_view s, bool for_qs) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-' || c == '~' || (!for_qs && c == '/');
    if (safe) {
      out += ch;
    } else if (for_qs && c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
}

inline value f_urlencode(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "urlencode")) return {};
  std::string out;
  if (v.is_string()) {
    url_quote(out, v.as_string(), false);
    return st.str(std::move(out));
  }
  std::vector<std::pair<value, value>> pairs;
  if (v.is_dict()) {
    pairs = v.entries();
  } else {
    value items;
    if (!iterate(st, v, items)) return {};
    for (const auto& it : items.items()) {
      if (!it.is_sequence() || it.items().size() != 2)
        return st.fail("ValueError: expected (key, value) pairs");
      pairs.emplace_back(it.items()[0], it.items()[1]);
    }
  }
  bool first = true;
  for (const auto& [k, val] : pairs) {
    std::string ks, vs;
    if (!to_text(st, k, ks) || !to_text(st, val, vs)) return {};
    if (!first) out += '&';
    first = false;
    url_quote(out, ks, true);
    out += '=';
    url_quote(out, vs, true);
  }
  return st.str(std::move(out));
}

inline value f_wordcount(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "wordcount")) return {};
  std::string s;
  if (!to_text(st, v, s)) return {};
  std::int64_t n = 0;
  bool in_word = false;
  for (std::size_t i = 0; i < s.size();) {
    const std::uint32_t c = utf8_next(s, i);
    const bool w = c == '_' || py_isalpha_cp(c) || py_isdigit_cp(c);
    if (w && !in_word) ++n;
    in_word = w;
  }
  return value(n);
}

struct filter_entry {
  std::string_view name;
  filter_fn fn;
};

/// Jinja2's built-in filters, sorted by name.
inline const auto& filter_table() {
  static const auto t = std::to_array<filter_entry>({
      {"abs", f_abs},
      {"attr", f_attr},
      {"batch", f_batch},
      {"capitalize", f_capitalize},
      {"center", f_center},
      {"count", f_length},
      {"d", f_default},
      {"default", f_default},
      {"dictsort", f_dictsort},
      {"e", f_escape},
      {"escape", f_escape},
      {"filesizeformat", f_filesizeformat},
      {"first", f_first},
      {"float", f_float},
      {"forceescape", f_forceescape},
      {"format", f_format},
      {"groupby", f_groupby},
      {"indent", f_indent},
      {"int", f_int},
      {"items", f_items},
      {"join", f_join},
      {"last", f_last},
      {"length", f_length},
      {"list", f_list},
      {"lower", f_lower},
      {"map", f_map},
      {"max", f_max},
      {"min", f_min},
      {"pprint", f_pprint},
      {"random", f_unsupported},
      {"reject", f_reject},
      {"rejectattr", f_rejectattr},
      {"replace", f_replace},
      {"reverse", f_reverse},
      {"round", f_round},
      {"safe", f_safe},
      {"select", f_select},
      {"selectattr", f_selectattr},
      {"slice", f_slice},
      {"sort", f_sort},
      {"string", f_string},
      {"striptags", f_striptags},
      {"sum", f_sum},
      {"title", f_title},
      {"tojson", f_tojson},
      {"trim", f_trim},
      {"truncate", f_truncate},
      {"unique", f_unique},
      {"upper", f_upper},
      {"urlencode", f_urlencode},
      {"urlize", f_unsupported},
      {"wordcount", f_wordcount},
      {"wordwrap", f_unsupported},
      {"xmlattr", f_unsupported},
  });
  return t;
}

/// Index of a filter in filter_table(), or -1.
inline int find_filter(std::string_view name) {
  const auto& t = filter_table();
  for (std::size_t i = 0; i < t.size(); ++i)
    if (t[i].name == name) return static_cast<int>(i);
  return -1;
}

inline value apply_filter_by_name(render_state& st, std::string_view name, const value& v, arg_pack& args) {
  const int idx = find_filter(name);
  if (idx < 0)
    return st.fail(std::string("TemplateRuntimeError: No filter named '").append(name) + "' found.");
  return filter_table()[static_cast<std::size_t>(idx)].fn(st, v, args);
}

// --- tests ----------------------------------------------------------------------------------------

inline bool is_callable(const value& v) {
  if (!v.is_object()) return false;
  const auto k = v.as_object()->kind;
  return k == object::type::macro || k == object::type::builtin || k == object::type::bound_method ||
         k == object::type::joiner || k == object::type::loop;
}

inline value t_defined(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "defined")) return {};
  return value(!v.is_undefined());
}
inline value t_undefined(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "undefined")) return {};
  return value(v.is_undefined());
}
inline value t_none(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "none")) return {};
  return value(v.is_none());
}
inline value t_boolean(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "boolean")) return {};
  return value(v.is_bool());
}
inline value t_false(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "false")) return {};
  return value(v.is_bool() && !v.as_bool());
}
inline value t_true(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "true")) return {};
  return value(v.is_bool() && v.as_bool());
}
inline value t_integer(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "integer")) return {};
  return value(v.is_int());
}
inline value t_float(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "float")) return {};
  return value(v.is_float());
}
inline value t_number(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "number")) return {};
  return value(v.is_number());
}
inline value t_string(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "string")) return {};
  return value(v.is_string());
}
inline value t_mapping(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "mapping")) return {};
  return value(v.is_dict());
}
inline value t_iterable(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "iterable")) return {};
  const bool loop = v.is_object() && v.as_object()->kind == object::type::loop;
  return value(v.is_undefined() || v.is_string() || v.is_sequence() || v.is_dict() || loop);
}
inline value t_sequence(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "sequence")) return {};
  const bool seq =
      v.is_sequence() && (v.seq_kind() == sequence_kind::list || v.seq_kind() == sequence_kind::tuple);
  return value(v.is_undefined() || v.is_string() || seq || v.is_dict());
}
inline value t_callable(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "callable")) return {};
  return value(is_callable(v));
}
inline value t_escaped(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "escaped")) return {};
  return value(v.is_markup());
}
inline value t_sameas(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "sameas");
  if (!b.bind({"other"}, 1)) return {};
  const value& o = *b.get(0);
  if (v.kind() != o.kind()) return value(false);
  switch (v.kind()) {
    case value_kind::none:
    case value_kind::undefined: return value(true);
    case value_kind::boolean: return value(v.as_bool() == o.as_bool());
    case value_kind::integer: return value(v.as_int() == o.as_int() && v.as_int() >= -5 && v.as_int() <= 256);
    case value_kind::string: return value(v.as_string().data() == o.as_string().data());
    case value_kind::sequence: return value(&v.items() == &o.items());
    case value_kind::dict: return value(&v.entries() == &o.entries());
    case value_kind::object: return value(v.as_object() == o.as_object());
    default: return value(false);
  }
}

inline value compare_test(render_state& st, const value& v, arg_pack& a, std::string_view name, int kind) {
  binder b(st, a, name);
  if (!b.bind({"other"}, 1)) return {};
  const value& o = *b.get(0);
  if (kind == 0) return value(values_equal(st, v, o));
  if (kind == 1) return value(!values_equal(st, v, o));
  static constexpr std::array<std::string_view, 6> ops = {"==", "!=", "<", "<=", ">", ">="};
  int c = 0;
  if (!compare_order(st, v, o, c, ops[static_cast<std::size_t>(kind)])) return {};
  switch (kind) {
    case 2: return value(c < 0);
    case 3: return value(c <= 0);
    case 4: return value(c > 0);
    default: return value(c >= 0);
  }
}
inline value t_eq(render_state& st, const value& v, arg_pack& a) { return compare_test(st, v, a, "eq", 0); }
inline value t_ne(render_state& st, const value& v, arg_pack& a) { return compare_test(st, v, a, "ne", 1); }
inline value t_lt(render_state& st, const value& v, arg_pack& a) { return compare_test(st, v, a, "lt", 2); }
inline value t_le(render_state& st, const value& v, arg_pack& a) { return compare_test(st, v, a, "le", 3); }
inline value t_gt(render_state& st, const value& v, arg_pack& a) { return compare_test(st, v, a, "gt", 4); }
inline value t_ge(render_state& st, const value& v, arg_pack& a) { return compare_test(st, v, a, "ge", 5); }

inline value t_in(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "in");
  if (!b.bind({"seq"}, 1)) return {};
  bool r = false;
  if (!contains(st, *b.get(0), v, r)) return {};
  return value(r);
}
inline value t_divisibleby(render_state& st, const value& v, arg_pack& a) {
  binder b(st, a, "divisibleby");
  if (!b.bind({"num"}, 1)) return {};
  value r = op_mod(st, v, *b.get(0));
  if (st.failed) return {};
  return value(r.is_number() && r.as_double() == 0.0);
}
inline value t_even(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "even")) return {};
  value r = op_mod(st, v, value(std::int64_t{2}));
  if (st.failed) return {};
  return value(r.as_double() == 0.0);
}
inline value t_odd(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "odd")) return {};
  value r = op_mod(st, v, value(std::int64_t{2}));
  if (st.failed) return {};
  return value(r.as_double() == 1.0);
}
inline value t_lower(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "lower")) return {};
  std::string s;
  if (!to_text(st, v, s)) return {};
  bool cased = false;
  for (std::size_t i = 0; i < s.size();) {
    const std::uint32_t c = utf8_next(s, i);
    if (py_isupper_cp(c)) return value(false);
    cased = cased || py_islower_cp(c);
  }
  return value(cased);
}
inline value t_upper(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "upper")) return {};
  std::string s;
  if (!to_text(st, v, s)) return {};
  bool cased = false;
  for (std::size_t i = 0; i < s.size();) {
    const std::uint32_t c = utf8_next(s, i);
    if (py_islower_cp(c)) return value(false);
    cased = cased || py_isupper_cp(c);
  }
  return value(cased);
}
inline value t_filter(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "filter")) return {};
  return value(v.is_string() && find_filter(v.as_string()) >= 0);
}
inline int find_test(std::string_view name);
inline value t_test(render_state& st, const value& v, arg_pack& a) {
  if (!no_args(st, a, "test")) return {};
  return value(v.is_string() && find_test(v.as_string()) >= 0);
}

struct test_entry {
  std::string_view name;
  test_fn fn;
};

inline const auto& test_table() {
  static const auto t = std::to_array<test_entry>({
      {"!=", t_ne},
      {"<", t_lt},
      {"<=", t_le},
      {"==", t_eq},
      {">", t_gt},
      {">=", t_ge},
      {"boolean", t_boolean},
      {"callable", t_callable},
      {"defined", t_defined},
      {"divisibleby", t_divisibleby},
      {"eq", t_eq},
      {"equalto", t_eq},
      {"escaped", t_escaped},
      {"even", t_even},
      {"false", t_false},
      {"filter", t_filter},
      {"float", t_float},
      {"ge", t_ge},
      {"greaterthan", t_gt},
      {"gt", t_gt},
      {"in", t_in},
      {"integer", t_integer},
      {"iterable", t_iterable},
      {"le", t_le},
      {"lessthan", t_lt},
      {"lower", t_lower},
      {"lt", t_lt},
      {"mapping", t_mapping},
      {"ne", t_ne},
      {"none", t_none},
      {"number", t_number},
      {"odd", t_odd},
      {"sameas", t_sameas},
      {"sequence", t_sequence},
      {"string", t_string},
      {"test", t_test},
      {"true", t_true},
      {"undefined", t_undefined},
      {"upper", t_upper},
  });
  return t;
}

inline int find_test(std::string_view name) {
  const auto& t = test_table();
  for (std::size_t i = 0; i < t.size(); ++i)
    if (t[i].name == name) return static_cast<int>(i);
  return -1;
}

inline value apply_test_by_name(render_state& st, std::string_view name, const value& v, arg_pack& args) {
  const int idx = find_test(name);
  if (idx < 0) return st.fail(std::string("TemplateRuntimeError: No test named '").append(name) + "' found.");
  return test_table()[static_cast<std::size_t>(idx)].fn(st, v, args);
}

// --- methods of str / dict / list ----------------------------------------------------------------------

/// `sub` within s[start:end] (code point indices), Python find semantics; -1 when absent.
inline std::int64_t str_find(std::string_view s, std::string_view sub, std::int64_t start, std::int64_t end,
                             bool from_right) {
  const auto n = static_cast<std::int64_t>(utf8_length(s));
  auto adj = [&](std::int64_t i) {
    if (i < 0) i += n;
    return std::clamp<std::int64_t>(i, 0, n);
  };
  start = adj(start);
  end = adj(end);
  if (start > end) return -1;
  const std::size_t bs = byte_offset(s, static_cast<std::size_t>(start));
  const std::size_t be = byte_offset(s, static_cast<std::size_t>(end));
  const std::string_view w = s.substr(bs, be - bs);
  const std::size_t f = from_right ? w.rfind(sub) : w.find(sub);
  if (f == std::string_view::npos) return -1;
  return start + static_cast<std::int64_t>(cp_index(w, f));
}

inline value str_method(render_state& st, const value& self, std::string_view name, arg_pack& a) {
  const std::string_view s = self.as_string();
  binder b(st, a, name);
  auto opt_str = [&](std::size_t i, std::optional<std::string_view>& out) { return b.str_arg(i, out); };
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    if (!b.bind({"chars"})) return {};
    std::optional<std::string_view> chars;
    if (!opt_str(0, chars)) return {};
    const std::string_view cs = chars.value_or("");
    return str_like(st, std::string(str_strip(s, chars ? &cs : nullptr, name != "rstrip", name != "lstrip")),
                    self);
  }
  if (name == "split" || name == "rsplit") {
    if (!b.bind({"sep", "maxsplit"})) return {};
    std::optional<std::string_view> sep;
    if (!opt_str(0, sep)) return {};
    if (sep && sep->empty()) return st.fail("ValueError: empty separator");
    std::int64_t maxsplit = -1;
    if (!b.int_arg(1, -1, maxsplit)) return {};
    const std::string_view sv = sep.value_or("");
    auto parts = str_split(s, sep ? &sv : nullptr, maxsplit, name == "rsplit");
    if (!st.check_items(parts.size())) return {};
    std::vector<value> out;
    out.reserve(parts.size());
    for (auto& p : parts) out.emplace_back(std::move(p));
    return st.list(std::move(out));
  }
  if (name == "splitlines") {
    if (!b.bind({"keepends"})) return {};
    auto parts = str_splitlines(s, b.flag(0));
    std::vector<value> out;
    out.reserve(parts.size());
    for (auto& p : parts) out.emplace_back(std::move(p));
    return st.list(std::move(out));
  }
  if (name == "startswith" || name == "endswith") {
    if (!b.bind({"prefix", "start", "end"}, 1)) return {};
    std::int64_t start = 0, end = INT64_MAX;
    if (!b.int_arg(1, 0, start) || !b.int_arg(2, INT64_MAX, end)) return {};
    const auto n = static_cast<std::int64_t>(utf8_length(s));
    auto adj = [&](std::int64_t i) {
      if (i < 0) i += n;
      return std::clamp<std::int64_t>(i, 0, n);
    };
    start = adj(start);
    end = adj(end);
    if (start > end) return value(false);
    const std::size_t bs = byte_offset(s, static_cast<std::size_t>(start));
    const std::size_t be = byte_offset(s, static_cast<std::size_t>(end));
    const std::string_view w = s.substr(bs, be - bs);
    std::vector<std::string_view> cands;
    const value& p = *b.get(0);
    if (p.is_string()) {
      cands.push_back(p.as_string());
    } else if (p.is_sequence() && p.seq_kind() == sequence_kind::tuple) {
      for (const auto& x : p.items()) {
        if (!x.is_string())
          return st.type_error(std::string("tuple for ").append(name) + " must only contain str, not " +
                               std::string(type_name(x)));
        cands.push_back(x.as_string());
      }
    } else {
      return st.type_error(std::string(name) + " first arg must be str or a tuple of str, not " +
                           std::string(type_name(p)));
    }
    for (auto c : cands) {
      if (c.size() > w.size()) continue;
      if (name == "startswith" ? w.substr(0, c.size()) == c : w.substr(w.size() - c.size()) == c)
        return value(true);
    }
    return value(false);
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    if (!b.bind({"sub", "start", "end"}, 1)) return {};
    if (!b.get(0)->is_string())
      return st.type_error(std::string("must be str, not ").append(type_name(*b.get(0))));
    std::int64_t start = 0, end = INT64_MAX;
    if (!b.int_arg(1, 0, start) || !b.int_arg(2, INT64_MAX, end)) return {};
    const std::string_view sub = b.get(0)->as_string();
    if (name == "count") {
      const auto n = static_cast<std::int64_t>(utf8_length(s));
      auto adj = [&](std::int64_t i) {
        if (i < 0) i += n;
        return std::clamp<std::int64_t>(i, 0, n);
      };
      start = adj(start);
      end = adj(end);
      if (start > end) return value(std::int64_t{0});
      const std::size_t bs = byte_offset(s, static_cast<std::size_t>(start));
      const std::size_t be = byte_offset(s, static_cast<std::size_t>(end));
      const std::string_view w = s.substr(bs, be - bs);
      if (sub.empty()) return value(static_cast<std::int64_t>(utf8_length(w) + 1));
      std::int64_t c = 0;
      for (std::size_t p = w.find(sub); p != std::string_view::npos; p = w.find(sub, p + sub.size())) ++c;
      return value(c);
    }
    const std::int64_t r = str_find(s, sub, start, end, name[0] == 'r');
    if (r < 0 && (name == "index" || name == "rindex")) return st.fail("ValueError: substring not found");
    return value(r);
  }
  if (name == "replace") {
    if (!b.bind({"old", "new", "count"}, 2)) return {};
    if (!b.get(0)->is_string() || !b.get(1)->is_string())
      return st.type_error("replace() argument must be str");
    std::int64_t count = -1;
    if (!b.int_arg(2, -1, count)) return {};
    const std::string_view from = b.get(0)->as_string(), to = b.get(1)->as_string();
    if (replace_result_size(s, from, to, count) > st.lim.max_string_bytes)
      return st.fail_limit("replacement result too long");
    return str_like(st, str_replace(s, from, to, count), self);
  }
  if (name == "lower" || name == "upper" || name == "title" || name == "capitalize" || name == "swapcase" ||
      name == "casefold") {
    if (!b.bind({})) return {};
    std::string r;
    if (name == "lower")
      r = str_lower(s);
    else if (name == "upper")
      r = str_upper(s);
    else if (name == "title")
      r = str_title(s);
    else if (name == "capitalize")
      r = str_capitalize(s);
    else if (name == "swapcase")
      r = str_swapcase(s);
    else
      r = str_casefold(s);
    return str_like(st, std::move(r), self);
  }
  if (name == "join") {
    if (!b.bind({"iterable"}, 1)) return {};
    value items;
    if (!iterate(st, *b.get(0), items)) return {};
    std::string out;
    std::size_t i = 0;
    for (const auto& it : items.items()) {
      if (!it.is_string())
        return st.type_error(std::string("sequence item ").append(std::to_string(i)) +
                             ": expected str instance, " + std::string(type_name(it)) + " found");
      if (i++ > 0) out.append(s);
      out.append(it.as_string());
      if (out.size() > st.lim.max_string_bytes) return st.fail_limit("joined string too long");
    }
    return str_like(st, std::move(out), self);
  }
  if (name == "center" || name == "ljust" || name == "rjust") {
    if (!b.bind({"width", "fillchar"}, 1)) return {};
    std::int64_t w = 0;
    if (!b.int_arg(0, 0, w)) return {};
    if (w > static_cast<std::int64_t>(st.lim.max_string_bytes)) return st.fail_limit("width too large");
    std::string fill = " ";
    if (b.has(1)) {
      if (!b.get(1)->is_string() || utf8_length(b.get(1)->as_string()) != 1)
        return st.type_error("The fill character must be exactly one character long");
      fill = std::string(b.get(1)->as_string());
    }
    return st.str(str_pad(s, w, fill, name == "center" ? 'c' : name == "ljust" ? 'l' : 'r'));
  }
  if (name == "zfill") {
    if (!b.bind({"width"}, 1)) return {};
    std::int64_t w = 0;
    if (!b.int_arg(0, 0, w)) return {};
    if (w > static_cast<std::int64_t>(st.lim.max_string_bytes)) return st.fail_limit("width too large");
    const auto n = static_cast<std::int64_t>(utf8_length(s));
    if (w <= n) return self;
    std::string out;
    std::string_view rest = s;
    if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) {
      out += rest[0];
      rest.remove_prefix(1);
    }
    out.append(static_cast<std::size_t>(w - n), '0');
    out.append(rest);
    return st.str(std::move(out));
  }
  if (name == "partition" || name == "rpartition") {
    if (!b.bind({"sep"}, 1)) return {};
    if (!b.get(0)->is_string())
      return st.type_error(std::string("must be str, not ").append(type_name(*b.get(0))));
    const std::string_view sep = b.get(0)->as_string();
    if (sep.empty()) return st.fail("ValueError: empty separator");
    const std::size_t f = name == "partition" ? s.find(sep) : s.rfind(sep);
    if (f == std::string_view::npos) {
      if (name == "partition") return value::make_tuple({value(std::string(s)), value(""), value("")});
      return value::make_tuple({value(""), value(""), value(std::string(s))});
    }
    return value::make_tuple({value(std::string(s.substr(0, f))), value(std::string(sep)),
                              value(std::string(s.substr(f + sep.size())))});
  }
  if (name == "removeprefix" || name == "removesuffix") {
    if (!b.bind({"affix"}, 1)) return {};
    if (!b.get(0)->is_string())
      return st.type_error(std::string("must be str, not ").append(type_name(*b.get(0))));
    const std::string_view x = b.get(0)->as_string();
    if (name == "removeprefix" && s.substr(0, x.size()) == x) return st.str(std::string(s.substr(x.size())));
    if (name == "removesuffix" && !x.empty() && s.size() >= x.size() && s.substr(s.size() - x.size()) == x)
      return st.str(std::string(s.substr(0, s.size() - x.size())));
    return self;
  }
  if (name.substr(0, 2) == "is") {
    if (!b.bind({})) return {};
    if (name == "isascii") {
      for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return value(false);
      return value(true);
    }
    if (s.empty() && name != "isprintable") return value(false);
    if (name == "islower" || name == "isupper") {
      bool cased = false;
      for (std::size_t i = 0; i < s.size();) {
        const std::uint32_t c = utf8_next(s, i);
        if (name == "islower" ? py_isupper_cp(c) : py_islower_cp(c)) return value(false);
        cased = cased || (name == "islower" ? py_islower_cp(c) : py_isupper_cp(c));
      }
      return value(cased);
    }
    if (name == "istitle") {
      bool prev_cased = false, any = false;
      for (std::size_t i = 0; i < s.size();) {
        const std::uint32_t c = utf8_next(s, i);
        if (py_isupper_cp(c)) {
          if (prev_cased) return value(false);
          prev_cased = any = true;
        } else if (py_islower_cp(c)) {
          if (!prev_cased) return value(false);
          prev_cased = any = true;
        } else {
          prev_cased = false;
        }
      }
      return value(any);
    }
    for (std::size_t i = 0; i < s.size();) {
      const std::uint32_t c = utf8_next(s, i);
      bool ok = false;
      if (name == "isalpha")
        ok = py_isalpha_cp(c);
      else if (name == "isdigit" || name == "isnumeric")
        ok = py_isdigit_cp(c);
      else if (name == "isdecimal")
        ok = py_isdigit_cp(c) && c != 0xB2 && c != 0xB3 && c != 0xB9;
      else if (name == "isalnum")
        ok = py_isalpha_cp(c) || py_isdigit_cp(c);
      else if (name == "isspace")
        ok = py_isspace(c);
      else if (name == "isprintable")
        ok = py_isprintable_cp(c);
      else if (name == "isidentifier")
        ok = c == '_' || py_isalpha_cp(c) || (i > 1 && py_isdigit_cp(c));
      if (!ok) return value(false);
    }
    return value(true);
  }
  if (name == "format") return str_format(st, s, a);
  return st.fail(std::string("NotImplementedError: str.").append(name) +
                 "() is not supported by mmllm's Jinja engine");
}

inline value dict_method(render_state& st, const value& self, std::string_view name, arg_pack& a) {
  binder b(st, a, name);
  if (name == "keys" || name == "values" || name == "items") {
    if (!b.bind({})) return {};
    std::vector<value> out;
    out.reserve(self.entries().size());
    for (const auto& [k, v] : self.entries()) {
      if (name == "keys")
        out.push_back(k);
      else if (name == "values")
        out.push_back(v);
      else
        out.push_back(value::make_tuple({k, v}));
    }
    const auto kind = name == "keys"     ? sequence_kind::dict_keys
                      : name == "values" ? sequence_kind::dict_values
                                         : sequence_kind::dict_items;
    return st.list(std::move(out), kind);
  }
  if (name == "get") {
    if (!b.bind({"key", "default"}, 1)) return {};
    const value& key = *b.get(0);
    if (key.is_dict() || (key.is_sequence() && key.seq_kind() != sequence_kind::tuple))
      return st.type_error(std::string("unhashable type: '").append(type_name(key)) + "'");
    if (const value* v = self.find_key(key)) return *v;
    return b.get_or(1, value());
  }
  if (name == "copy") {
    if (!b.bind({})) return {};
    return self;
  }
  return st.fail(std::string("NotImplementedError: dict.").append(name) +
                 "() is not supported by mmllm's Jinja engine");
}

inline value list_method(render_state& st, const value& self, std::string_view name, arg_pack& a) {
  binder b(st, a, name);
  if (name == "count") {
    if (!b.bind({"value"}, 1)) return {};
    std::int64_t c = 0;
    for (const auto& it : self.items())
      if (values_equal(st, it, *b.get(0))) ++c;
    return value(c);
  }
  if (name == "index") {
    if (!b.bind({"value", "start", "stop"}, 1)) return {};
    std::int64_t start = 0, stop = INT64_MAX;
    if (!b.int_arg(1, 0, start) || !b.int_arg(2, INT64_MAX, stop)) return {};
    const auto n = static_cast<std::int64_t>(self.items().size());
    if (start < 0) start = std::max<std::int64_t>(0, start + n);
    if (stop < 0) stop = std::max<std::int64_t>(0, stop + n);
    for (std::int64_t i = start; i < std::min(stop, n); ++i)
      if (values_equal(st, self.items()[static_cast<std::size_t>(i)], *b.get(0))) return value(i);
    std::string m = "ValueError: ";
    append_repr(m, *b.get(0), st.guard);
    st.guard.failed = false;
    m += " is not in list";
    return st.fail(std::move(m));
  }
  if (name == "copy") {
    if (!b.bind({})) return {};
    return self;
  }
  return st.fail(std::string("NotImplementedError: list.").append(name) +
                 "() is not supported by mmllm's Jinja engine");
}

// --- global functions ----------------------------------------------------------------------------------

inline const builtin_function* find_global(std::string_view name) {
  static const builtin_function range_fn(builtin_id::range, "range");
  static const builtin_function dict_fn(builtin_id::dict, "dict");
  static const builtin_function namespace_fn(builtin_id::namespace_, "namespace");
  static const builtin_function raise_fn(builtin_id::raise_exception, "raise_exception");
  static const builtin_function strftime_fn(builtin_id::strftime_now, "strftime_now");
  static const builtin_function cycler_fn(builtin_id::cycler, "cycler");
  static const builtin_function joiner_fn(builtin_id::joiner, "joiner");
  static const builtin_function lipsum_fn(builtin_id::lipsum, "lipsum");
  static const std::array<const builtin_function*, 8> all = {
      &range_fn, &dict_fn, &namespace_fn, &raise_fn, &strftime_fn, &cycler_fn, &joiner_fn, &lipsum_fn};
  for (const auto* f : all)
    if (f->name == name) return f;
  return nullptr;
}

/// Python's dict(*args, **kwargs) entries.
inline bool dict_entries(render_state& st, const arg_pack& a, std::vector<std::pair<value, value>>& out,
                         std::string_view fn) {
  if (a.positional.size() > 1) {
    st.type_error(std::string(fn) + " expected at most 1 argument, got " +
                  std::to_string(a.positional.size()));
    return false;
  }
  if (a.positional.size() == 1) {
    const value& src = a.positional[0];
    if (src.is_dict()) {
      out = src.entries();
    } else if (src.is_object() && src.as_object()->kind == object::type::namespace_) {
      for (const auto& [k, v] : static_cast<const namespace_object*>(src.as_object())->attrs)
        out.emplace_back(value(k), v);
    } else {
      value items;
      if (!iterate(st, src, items)) return false;
      for (const auto& it : items.items()) {
        value pair;
        if (!iterate(st, it, pair)) return false;
        if (pair.items().size() != 2) {
          st.fail("ValueError: dictionary update sequence element has length " +
                  std::to_string(pair.items().size()) + "; 2 is required");
          return false;
        }
        out.emplace_back(pair.items()[0], pair.items()[1]);
      }
    }
  }
  for (const auto& [k, v] : a.keyword) out.emplace_back(value(k), v);
  return true;
}

inline value call_global(render_state& st, const builtin_function& f, arg_pack& a) {
  switch (f.id) {
    case builtin_id::range: {
      if (!a.keyword.empty()) return st.type_error("range() takes no keyword arguments");
      if (a.positional.empty() || a.positional.size() > 3)
        return st.type_error("range expected at most 3 arguments, got " +
                             std::to_string(a.positional.size()));
      std::array<std::int64_t, 3> v{0, 0, 1};
      for (std::size_t i = 0; i < a.positional.size(); ++i) {
        if (!is_intlike(a.positional[i]))
          return st.type_error(std::string("'").append(type_name(a.positional[i])) +
                               "' object cannot be interpreted as an integer");
      }
      if (a.positional.size() == 1) {
        v[1] = a.positional[0].as_int();
      } else {
        v[0] = a.positional[0].as_int();
        v[1] = a.positional[1].as_int();
        if (a.positional.size() == 3) v[2] = a.positional[2].as_int();
      }
      if (v[2] == 0) return st.fail("ValueError: range() arg 3 must not be zero");
      // length computed in floating point to avoid overflow; capped like jinja2's sandbox
      const double len = v[2] > 0
                             ? std::ceil((static_cast<double>(v[1]) - static_cast<double>(v[0])) / v[2])
                             : std::ceil((static_cast<double>(v[0]) - static_cast<double>(v[1])) / -v[2]);
      if (len > 100000)
        return st.fail(
            "OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
      std::vector<value> out;
      if (len > 0) {
        out.reserve(static_cast<std::size_t>(len));
        for (std::int64_t k = 0; k < static_cast<std::int64_t>(len); ++k) out.emplace_back(v[0] + k * v[2]);
      }
      return st.list(std::move(out));
    }
    case builtin_id::dict: {
      std::vector<std::pair<value, value>> e;
      if (!dict_entries(st, a, e, "dict")) return {};
      return st.dict(std::move(e));
    }
    case builtin_id::namespace_: {
      std::vector<std::pair<value, value>> e;
      if (!dict_entries(st, a, e, "namespace")) return {};
      auto* ns = st.make_object<namespace_object>();
      for (auto& [k, v] : e) {
        if (!k.is_string()) return st.type_error("keywords must be strings");
        ns->set(k.as_string(), std::move(v));
      }
      return value::from_object(ns);
    }
    case builtin_id::raise_exception: {
      binder b(st, a, "raise_exception");
      if (!b.bind({"message"}, 1)) return {};
      std::string msg;
      if (!to_text(st, *b.get(0), msg)) return {};
      return st.fail("TemplateError: " + msg);
    }
    case builtin_id::strftime_now: {
      binder b(st, a, "strftime_now");
      if (!b.bind({"format"}, 1)) return {};
      if (!b.get(0)->is_string()) return st.type_error("strftime() argument 1 must be str");
      return st.str(strftime_text(b.get(0)->as_string(), st.now));
    }
    case builtin_id::cycler: {
      if (!a.keyword.empty()) return st.type_error("cycler() takes no keyword arguments");
      if (a.positional.empty()) return st.fail("RuntimeError: at least one item has to be provided");
      auto* c = st.make_object<cycler_object>();
      c->items = a.positional;
      return value::from_object(c);
    }
    case builtin_id::joiner: {
      binder b(st, a, "joiner");
      if (!b.bind({"sep"})) return {};
      auto* j = st.make_object<joiner_object>();
      j->sep = ", ";
      if (b.has(0)) {
        j->sep.clear();
        if (!to_text(st, *b.get(0), j->sep)) return {};
      }
      return value::from_object(j);
    }
    case builtin_id::lipsum:
      return st.fail("NotImplementedError: lipsum() is not supported by mmllm's Jinja engine");
  }
  return {};
}

/// Calls a builtin function, bound method, cycler method or joiner.
inline value call_builtin_object(render_state& st, const value& callee, arg_pack& a) {
  const object* o = callee.as_object();
  if (o->kind == object::type::builtin) return call_global(st, *static_cast<const builtin_function*>(o), a);
  if (o->kind == object::type::joiner) {
    if (!no_args(st, a, "joiner")) return {};
    auto* j = const_cast<joiner_object*>(static_cast<const joiner_object*>(o));  // arena-owned, mutable
    if (!j->used) {
      j->used = true;
      return value("");
    }
    return value(j->sep);
  }
  if (o->kind != object::type::bound_method)
    return st.type_error(std::string("'").append(o->type_name()) + "' object is not callable");
  const auto* m = static_cast<const bound_method*>(o);
  const value& self = m->self;
  if (self.is_string()) return str_method(st, self, m->name, a);
  if (self.is_dict()) return dict_method(st, self, m->name, a);
  if (self.is_sequence()) return list_method(st, self, m->name, a);
  if (self.is_object()) {
    const object* so = self.as_object();
    if (so->kind == object::type::cycler) {
      auto* c = const_cast<cycler_object*>(static_cast<const cycler_object*>(so));  // arena-owned
      if (!no_args(st, a, m->name)) return {};
      if (m->name == "reset") {
        c->pos = 0;
        return {};
      }
      value r = c->items[c->pos % c->items.size()];
      c->pos = (c->pos + 1) % c->items.size();
      return r;
    }
    if (so->kind == object::type::loop) {
      auto* l = const_cast<loop_object*>(static_cast<const loop_object*>(so));  // arena-owned
      if (m->name == "cycle") {
        if (!a.keyword.empty()) return st.type_error("cycle() takes no keyword arguments");
        if (a.positional.empty()) return st.type_error("no items for cycling given");
        return a.positional[l->index0 % a.positional.size()];
      }
      value current = value::make_tuple(a.positional);
      if (!l->has_changed_value || !values_equal(st, current, l->last_changed)) {
        l->has_changed_value = true;
        l->last_changed = current;
        return value(true);
      }
      return value(false);
    }
  }
  return st.type_error(std::string("'").append(o->type_name()) + "' object is not callable");
}

}  // namespace mmllm::jinja::detail
