// mmllm/tokenize/jinja_runtime.hpp — run-time core of the Jinja engine: resource limits, the
// per-render state (errors, step/byte budgets, the arena of engine objects), scopes, and
// Python's operators on values (+ - * / // % **, comparisons, `in`, attribute and item
// access as Jinja2's sandbox does them, slicing, iteration).
//
// Errors never throw: an operation that fails records the first error ("TypeError: ...",
// with the source offset) in the render_state and returns a dummy value; callers check
// `st.failed` and unwind.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mmllm/tokenize/jinja_value.hpp"

namespace mmllm::jinja {

/// Resource limits of parsing and rendering; a template that passes one gets a
/// `resource_limit` error instead of exhausting memory, stack or time.
struct limits {
  std::size_t max_nesting = 128;                 ///< nesting of blocks / expressions in the source
  std::size_t max_call_depth = 256;              ///< nested macro calls (recursion)
  std::size_t max_eval_depth = 2000;             ///< recursion of the evaluator overall
  std::uint64_t max_steps = 20'000'000;          ///< evaluation steps (loop iterations, nodes)
  std::size_t max_string_bytes = 16u << 20;      ///< size of any one string, incl. the output
  std::size_t max_items = 1u << 20;              ///< elements of any one list or dict built
  std::uint64_t max_total_bytes = 512ull << 20;  ///< bytes of all strings built (work bound)
  std::size_t max_value_depth = 256;             ///< nesting of lists / dicts
  /// Stack the parser / evaluator may use below its entry point (a safety net beneath the
  /// depth limits, whose cost per level depends on the build); lower it when rendering on
  /// threads with small stacks.
  std::size_t max_stack_bytes = 2u << 20;
};

namespace detail {
/// Address of the calling function's frame, for measuring stack use.
inline std::uintptr_t stack_position() noexcept {
  return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
}
/// Bytes of stack used between `base` and the caller's frame (either growth direction).
inline std::size_t stack_used(std::uintptr_t base) noexcept {
  const std::uintptr_t here = stack_position();
  return base > here ? base - here : here - base;
}
}  // namespace detail

/// A calendar time for strftime_now (local time, no time zone).
struct date_time {
  int year = 1970;
  int month = 1;  ///< 1..12
  int day = 1;    ///< 1..31
  int hour = 0;
  int minute = 0;
  int second = 0;
};

namespace detail {

/// Arguments of a call: positional and keyword (in order).
struct arg_pack {
  std::vector<value> positional;
  std::vector<std::pair<std::string, value>> keyword;
};

struct render_state {
  explicit render_state(const jinja::limits& l) : lim(l) {
    budget.left = l.max_steps;
    guard.max_bytes = l.max_string_bytes;
    guard.max_depth = l.max_value_depth + 8;
  }
  const jinja::limits& lim;
  date_time now;
  bool failed = false;
  std::uint32_t err_pos = 0;
  std::string err_msg;
  bool err_is_limit = false;
  std::uint32_t cur_pos = 0;  ///< node being evaluated (for errors raised in builtins)
  std::uint64_t steps = 0;
  std::uint64_t bytes = 0;
  std::size_t depth = 0;
  std::size_t call_depth = 0;
  std::uintptr_t stack_base = 0;  ///< frame address where rendering started
  work_budget budget;             ///< deep comparisons
  format_guard guard;             ///< repr / json / str of containers
  std::vector<std::unique_ptr<object>> arena;

  /// Records the first error ("TypeError: ...") at `pos`; returns None for convenience.
  value fail_at(std::uint32_t pos, std::string msg) {
    if (!failed) {
      failed = true;
      err_pos = pos;
      err_msg = std::move(msg);
    }
    return {};
  }
  value fail(std::string msg) { return fail_at(cur_pos, std::move(msg)); }
  value fail_limit(const std::string& what) {
    if (!failed) err_is_limit = true;
    return fail("ResourceLimit: " + what);
  }
  value type_error(const std::string& msg) { return fail("TypeError: " + msg); }
  /// Raises the error an undefined value stands for.
  value raise_undefined(const value& u) { return fail(u.undefined_reason()); }

  bool step(std::uint64_t n = 1) {
    steps += n;
    if (steps > lim.max_steps) {
      fail_limit(std::string("the template ran more than ").append(std::to_string(lim.max_steps)) +
                 " evaluation steps");
      return false;
    }
    return true;
  }
  /// Accounts for building a string of `n` bytes.
  bool charge_bytes(std::size_t n) {
    if (n > lim.max_string_bytes) {
      fail_limit(std::string("a string of ").append(std::to_string(n)) + " bytes exceeds the limit of " +
                 std::to_string(lim.max_string_bytes));
      return false;
    }
    bytes += n;
    if (bytes > lim.max_total_bytes) {
      fail_limit(std::string("the template built more than ").append(std::to_string(lim.max_total_bytes)) +
                 " bytes of text");
      return false;
    }
    return true;
  }
  bool check_items(std::size_t n) {
    if (n > lim.max_items) {
      fail_limit(std::string("a list of ").append(std::to_string(n)) + " items exceeds the limit of " +
                 std::to_string(lim.max_items));
      return false;
    }
    return true;
  }
  bool check_depth(const value& v) {
    if (v.depth() > lim.max_value_depth) {
      fail_limit(std::string("values nested deeper than ").append(std::to_string(lim.max_value_depth)) +
                 " levels");
      return false;
    }
    return true;
  }
  /// A new string value, or None with a limit error.
  value str(std::string s, bool markup = false) {
    if (!charge_bytes(s.size())) return {};
    return markup ? value::markup(std::move(s)) : value(std::move(s));
  }
  value list(std::vector<value> items, sequence_kind k = sequence_kind::list) {
    if (!check_items(items.size())) return {};
    value v = value::make_list(std::move(items), k);
    if (!check_depth(v)) return {};
    return v;
  }
  value dict(std::vector<std::pair<value, value>> entries) {
    if (!check_items(entries.size())) return {};
    value v = value::make_dict_any(std::move(entries));
    if (!check_depth(v)) return {};
    return v;
  }
  template <class T, class... Args>
  T* make_object(Args&&... args) {
    auto p = std::make_unique<T>(std::forward<Args>(args)...);
    T* raw = p.get();
    arena.push_back(std::move(p));
    return raw;
  }
  /// Finishing a formatter call: turns a tripped format guard into an error.
  bool guard_ok() {
    if (guard.failed) {
      guard.failed = false;
      fail_limit("text or nesting of a value exceeds the limits");
      return false;
    }
    return true;
  }
  bool budget_ok() {
    if (budget.exhausted) {
      fail_limit("comparisons exceeded the step limit");
      return false;
    }
    return true;
  }
};

/// Built-in global functions and engine-provided callables.
enum class builtin_id : std::uint8_t {
  range,
  dict,
  namespace_,
  raise_exception,
  strftime_now,
  cycler,
  joiner,
  lipsum,
};

struct builtin_function final : object {
  builtin_id id;
  std::string_view name;
  builtin_function(builtin_id i, std::string_view n) : object(type::builtin), id(i), name(n) {}
  [[nodiscard]] std::string_view type_name() const override { return "function"; }
  [[nodiscard]] std::string describe() const override { return std::string("<function ").append(name) + ">"; }
};

/// `obj.method` taken without calling it right away.
struct bound_method final : object {
  value self;
  std::string name;
  bound_method(value s, std::string n) : object(type::bound_method), self(std::move(s)), name(std::move(n)) {}
  [[nodiscard]] std::string_view type_name() const override { return "builtin_function_or_method"; }
  [[nodiscard]] std::string describe() const override {
    return "<built-in method " + name + std::string(" of ").append(detail::type_name(self)) + " object>";
  }
};

/// Variables of one scope (template root, loop iteration, macro call, with block).
struct scope {
  std::shared_ptr<scope> parent;
  std::vector<std::pair<std::string, value>> vars;
  explicit scope(std::shared_ptr<scope> p = nullptr) : parent(std::move(p)) {}
  [[nodiscard]] const value* find_local(std::string_view name) const noexcept {
    for (const auto& [k, v] : vars)
      if (k == name) return &v;
    return nullptr;
  }
  [[nodiscard]] const value* find(std::string_view name) const noexcept {
    for (const scope* s = this; s != nullptr; s = s->parent.get())
      if (const value* v = s->find_local(name)) return v;
    return nullptr;
  }
  void set(std::string_view name, value v) {
    for (auto& [k, old] : vars)
      if (k == name) {
        old = std::move(v);
        return;
      }
    vars.emplace_back(std::string(name), std::move(v));
  }
};

struct cycler_object final : object {
  std::vector<value> items;
  std::size_t pos = 0;
  cycler_object() : object(type::cycler) {}
  [[nodiscard]] std::string_view type_name() const override { return "Cycler"; }
  [[nodiscard]] std::string describe() const override { return "<Cycler>"; }
};

struct joiner_object final : object {
  std::string sep;
  bool used = false;
  joiner_object() : object(type::joiner) {}
  [[nodiscard]] std::string_view type_name() const override { return "Joiner"; }
  [[nodiscard]] std::string describe() const override { return "<Joiner>"; }
};

struct stmt;
struct macro_def;

/// A macro (or the `caller` of a call block) with the scope it was defined in.
struct macro_object final : object {
  const macro_def* def;
  std::string name;
  std::shared_ptr<scope> closure;
  macro_object(const macro_def* d, std::string n, std::shared_ptr<scope> c)
      : object(type::macro), def(d), name(std::move(n)), closure(std::move(c)) {}
  [[nodiscard]] std::string_view type_name() const override { return "Macro"; }
  [[nodiscard]] std::string describe() const override {
    std::string s = "<Macro ";
    append_py_repr(s, name);
    s += '>';
    return s;
  }
};

/// The `loop` variable of a for loop.
struct loop_object final : object {
  value items;  // the (filtered) sequence
  std::size_t index0 = 0;
  std::size_t depth0 = 0;
  bool has_changed_value = false;
  value last_changed;
  const stmt* for_stmt = nullptr;  // for recursive loops
  std::shared_ptr<scope> outer;    // scope the loop runs in (recursive calls)
  loop_object() : object(type::loop) {}
  [[nodiscard]] std::size_t length() const { return items.items().size(); }
  [[nodiscard]] std::string_view type_name() const override { return "LoopContext"; }
  [[nodiscard]] std::string describe() const override {
    return std::string("<LoopContext ").append(std::to_string(index0 + 1)) +
           std::string("/").append(std::to_string(length())) + ">";
  }
};

// --- method tables -------------------------------------------------------------------------------

inline bool contains_name(std::initializer_list<std::string_view> names, std::string_view n) {
  for (auto x : names)
    if (x == n) return true;
  return false;
}

inline bool is_str_method(std::string_view n) {
  return contains_name(
      {"capitalize", "casefold",     "center",       "count",   "encode",     "endswith",    "expandtabs",
       "find",       "format",       "format_map",   "index",   "isalnum",    "isalpha",     "isascii",
       "isdecimal",  "isdigit",      "isidentifier", "islower", "isnumeric",  "isprintable", "isspace",
       "istitle",    "isupper",      "join",         "ljust",   "lower",      "lstrip",      "maketrans",
       "partition",  "removeprefix", "removesuffix", "replace", "rfind",      "rindex",      "rjust",
       "rpartition", "rsplit",       "rstrip",       "split",   "splitlines", "startswith",  "strip",
       "swapcase",   "title",        "translate",    "upper",   "zfill"},
      n);
}
inline bool is_dict_method(std::string_view n) {
  return contains_name({"keys", "values", "items", "get", "copy", "fromkeys"}, n);
}
inline bool is_dict_mutator(std::string_view n) {
  return contains_name({"clear", "pop", "popitem", "setdefault", "update"}, n);
}
inline bool is_list_method(std::string_view n) { return contains_name({"count", "index", "copy"}, n); }
inline bool is_list_mutator(std::string_view n) {
  return contains_name({"append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"}, n);
}

// --- undefined values -------------------------------------------------------------------------------

inline value undefined_name(std::string_view name) {
  std::string m = "UndefinedError: ";
  append_py_repr(m, name);
  m += " is undefined";
  return value::undefined(std::move(m));
}
inline value undefined_attr(const value& obj, std::string_view name) {
  std::string m = "UndefinedError: ";
  append_py_repr(m, object_type_repr(obj));
  m += " has no attribute ";
  append_py_repr(m, name);
  return value::undefined(std::move(m));
}
inline value undefined_element(render_state& st, const value& obj, const value& key) {
  std::string m = std::string("UndefinedError: ").append(object_type_repr(obj)) + " has no element ";
  append_repr(m, key, st.guard);
  st.guard.failed = false;
  return value::undefined(std::move(m));
}
inline value unsafe_attr(const value& obj, std::string_view name) {
  std::string m = "SecurityError: access to attribute ";
  append_py_repr(m, name);
  m += " of ";
  append_py_repr(m, type_name(obj));
  m += " object is unsafe.";
  return value::undefined(std::move(m));
}

// --- conversions ---------------------------------------------------------------------------------

/// str(v) as a std::string (respecting the byte limits).
inline bool to_text(render_state& st, const value& v, std::string& out) {
  if (v.is_string()) {
    out.append(v.as_string());
  } else if (!append_str(out, v, st.guard)) {
    return st.guard_ok();
  }
  if (out.size() > st.lim.max_string_bytes) return st.charge_bytes(out.size());
  return true;
}

/// str(v) as a value (keeps strings as they are, markup included).
inline value to_str_value(render_state& st, const value& v) {
  if (v.is_string()) return v;
  std::string s;
  if (!to_text(st, v, s)) return {};
  return st.str(std::move(s));
}

inline value repr_value(render_state& st, const value& v) {
  std::string s;
  if (!append_repr(s, v, st.guard)) {
    st.guard_ok();
    return {};
  }
  return st.str(std::move(s));
}

/// Elements when iterating `v` (for loops, filters): a sequence's items, a dict's keys, a
/// string's characters; undefined iterates as empty. Sets a TypeError for others.
inline bool iterate(render_state& st, const value& v, value& out) {
  switch (v.kind()) {
    case value_kind::sequence: out = v; return true;
    case value_kind::undefined: out = value::make_list({}); return true;
    case value_kind::dict: {
      std::vector<value> keys;
      keys.reserve(v.entries().size());
      for (const auto& e : v.entries()) keys.push_back(e.first);
      out = value::make_list(std::move(keys));
      return true;
    }
    case value_kind::string: {
      const std::string_view s = v.as_string();
      std::vector<value> chars;
      if (!st.check_items(s.size())) return false;
      for (std::size_t i = 0; i < s.size();) {
        const std::size_t start = i;
        utf8_next(s, i);
        chars.emplace_back(std::string(s.substr(start, i - start)));
      }
      out = value::make_list(std::move(chars));
      return true;
    }
    case value_kind::object:
      if (v.as_object()->kind == object::type::loop) {
        out = static_cast<const loop_object*>(v.as_object())->items;
        return true;
      }
      break;
    default: break;
  }
  std::string m = "'";
  m += type_name(v);
  m += "' object is not iterable";
  st.type_error(m);
  return false;
}

/// len(v); sets a TypeError for values without a length.
inline bool length_of(render_state& st, const value& v, std::int64_t& n) {
  switch (v.kind()) {
    case value_kind::undefined: n = 0; return true;
    case value_kind::string: n = static_cast<std::int64_t>(utf8_length(v.as_string())); return true;
    case value_kind::sequence:
      if (v.seq_kind() == sequence_kind::generator) break;
      n = static_cast<std::int64_t>(v.items().size());
      return true;
    case value_kind::dict: n = static_cast<std::int64_t>(v.entries().size()); return true;
    default: break;
  }
  st.type_error(std::string("object of type '").append(type_name(v)) + "' has no len()");
  return false;
}

// --- attribute and item access ------------------------------------------------------------------

/// Attributes of the `loop` variable.
inline value loop_attribute(render_state& st, const value& obj, std::string_view name) {
  const auto* l = static_cast<const loop_object*>(obj.as_object());
  const std::size_t n = l->length();
  const auto i = static_cast<std::int64_t>(l->index0);
  const auto sn = static_cast<std::int64_t>(n);
  if (name == "index0") return value(i);
  if (name == "index") return value(i + 1);
  if (name == "revindex") return value(sn - i);
  if (name == "revindex0") return value(sn - i - 1);
  if (name == "first") return value(i == 0);
  if (name == "last") return value(i + 1 == sn);
  if (name == "length") return value(sn);
  if (name == "depth0") return value(static_cast<std::int64_t>(l->depth0));
  if (name == "depth") return value(static_cast<std::int64_t>(l->depth0 + 1));
  if (name == "previtem") {
    if (i == 0) return value::undefined("UndefinedError: there is no previous item");
    return l->items.items()[l->index0 - 1];
  }
  if (name == "nextitem") {
    if (i + 1 >= sn) return value::undefined("UndefinedError: there is no next item");
    return l->items.items()[l->index0 + 1];
  }
  if (name == "cycle" || name == "changed")
    return value::from_object(st.make_object<bound_method>(obj, std::string(name)));
  return undefined_attr(obj, name);
}

/// `obj.name` (jinja2 sandbox getattr: attribute first, then item).
inline value get_attr(render_state& st, const value& obj, std::string_view name) {
  switch (obj.kind()) {
    case value_kind::undefined: return st.raise_undefined(obj);
    case value_kind::dict:
      if (is_dict_method(name))
        return value::from_object(st.make_object<bound_method>(obj, std::string(name)));
      if (is_dict_mutator(name)) return unsafe_attr(obj, name);
      if (const value* v = obj.find(name)) return *v;
      return undefined_attr(obj, name);
    case value_kind::string:
      if (is_str_method(name))
        return value::from_object(st.make_object<bound_method>(obj, std::string(name)));
      return undefined_attr(obj, name);
    case value_kind::sequence:
      // groupby() yields (grouper, list) named tuples
      if (obj.seq_kind() == sequence_kind::tuple && obj.items().size() == 2 &&
          (name == "grouper" || name == "list"))
        return obj.items()[name == "grouper" ? 0 : 1];
      if (obj.seq_kind() == sequence_kind::list || obj.seq_kind() == sequence_kind::tuple) {
        if (is_list_method(name) && (obj.seq_kind() == sequence_kind::list || name != "copy"))
          return value::from_object(st.make_object<bound_method>(obj, std::string(name)));
        if (obj.seq_kind() == sequence_kind::list && is_list_mutator(name)) return unsafe_attr(obj, name);
      }
      return undefined_attr(obj, name);
    case value_kind::object: {
      const object* o = obj.as_object();
      if (o->kind == object::type::namespace_) {
        if (const value* v = static_cast<const namespace_object*>(o)->get(name)) return *v;
        return undefined_attr(obj, name);
      }
      if (o->kind == object::type::loop) return loop_attribute(st, obj, name);
      if (o->kind == object::type::cycler) {
        const auto* c = static_cast<const cycler_object*>(o);
        if (name == "current") return c->items.empty() ? value() : c->items[c->pos % c->items.size()];
        if (name == "items") return value::make_list(c->items);
        if (name == "next" || name == "reset")
          return value::from_object(st.make_object<bound_method>(obj, std::string(name)));
      }
      if (o->kind == object::type::macro && name == "name") return value(o->describe());
      return undefined_attr(obj, name);
    }
    default: return undefined_attr(obj, name);
  }
}

/// Python index normalisation; false when out of range.
inline bool normalize_index(std::int64_t& i, std::size_t n) {
  const auto sn = static_cast<std::int64_t>(n);
  if (i < 0) i += sn;
  return i >= 0 && i < sn;
}

/// `obj[key]` (jinja2 getitem: item first, then attribute for string keys).
inline value get_item(render_state& st, const value& obj, const value& key) {
  switch (obj.kind()) {
    case value_kind::undefined: return st.raise_undefined(obj);
    case value_kind::dict: {
      if (key.is_sequence() && key.seq_kind() != sequence_kind::tuple)
        return undefined_element(st, obj, key);  // unhashable: TypeError caught by jinja
      if (const value* v = obj.find_key(key)) return *v;
      if (key.is_string()) return get_attr(st, obj, key.as_string());
      return undefined_element(st, obj, key);
    }
    case value_kind::sequence: {
      const auto k = obj.seq_kind();
      if (k == sequence_kind::list || k == sequence_kind::tuple) {
        if (key.is_int() || key.is_bool()) {
          std::int64_t i = key.as_int();
          if (normalize_index(i, obj.items().size())) return obj.items()[static_cast<std::size_t>(i)];
          return undefined_element(st, obj, key);
        }
      }
      if (key.is_string()) return get_attr(st, obj, key.as_string());
      return undefined_element(st, obj, key);
    }
    case value_kind::string: {
      if (key.is_int() || key.is_bool()) {
        const std::string_view s = obj.as_string();
        std::int64_t i = key.as_int();
        const std::size_t n = utf8_length(s);
        if (!normalize_index(i, n)) return undefined_element(st, obj, key);
        std::size_t b = 0;
        for (std::int64_t k = 0; k < i; ++k) utf8_next(s, b);
        std::size_t e = b;
        utf8_next(s, e);
        return value(std::string(s.substr(b, e - b)));
      }
      if (key.is_string()) return get_attr(st, obj, key.as_string());
      return undefined_element(st, obj, key);
    }
    case value_kind::object:
    default:
      if (key.is_string()) return get_attr(st, obj, key.as_string());
      return undefined_element(st, obj, key);
  }
}

/// Python slice indices (start, stop, step) of a sequence of length n.
inline bool slice_indices(render_state& st, const value& a, const value& b, const value& c, std::size_t n,
                          std::vector<std::size_t>& idx) {
  auto as_index = [&](const value& v, bool& present, std::int64_t& out) -> bool {
    present = false;
    if (v.is_none() || v.is_undefined()) return true;
    if (!v.is_int() && !v.is_bool()) {
      st.type_error("slice indices must be integers or None or have an __index__ method");
      return false;
    }
    present = true;
    out = v.as_int();
    return true;
  };
  bool has_start = false, has_stop = false, has_step = false;
  std::int64_t start = 0, stop = 0, step = 1;
  if (!as_index(a, has_start, start) || !as_index(b, has_stop, stop) || !as_index(c, has_step, step))
    return false;
  if (!has_step) step = 1;
  if (step == 0) {
    st.fail("ValueError: slice step cannot be zero");
    return false;
  }
  const auto sn = static_cast<std::int64_t>(n);
  auto clamp = [&](std::int64_t v, bool present, std::int64_t dflt) {
    if (!present) return dflt;
    if (v < 0) {
      v += sn;
      if (v < 0) v = step < 0 ? -1 : 0;
    } else if (v >= sn) {
      v = step < 0 ? sn - 1 : sn;
    }
    return v;
  };
  start = clamp(start, has_start, step < 0 ? sn - 1 : 0);
  stop = clamp(stop, has_stop, step < 0 ? -1 : sn);
  if (step > 0) {
    for (std::int64_t i = start; i < stop; i += step) idx.push_back(static_cast<std::size_t>(i));
  } else {
    for (std::int64_t i = start; i > stop; i += step) idx.push_back(static_cast<std::size_t>(i));
  }
  return true;
}

/// `obj[a:b:c]` for strings, lists and tuples.
inline value get_slice(render_state& st, const value& obj, const value& a, const value& b, const value& c) {
  if (obj.is_undefined()) return st.raise_undefined(obj);
  std::vector<std::size_t> idx;
  if (obj.is_string()) {
    const std::string_view s = obj.as_string();
    std::vector<std::size_t> starts;
    for (std::size_t i = 0; i < s.size();) {
      starts.push_back(i);
      utf8_next(s, i);
    }
    if (!slice_indices(st, a, b, c, starts.size(), idx)) return {};
    std::string out;
    for (std::size_t i : idx) {
      const std::size_t e = i + 1 < starts.size() ? starts[i + 1] : s.size();
      out.append(s.substr(starts[i], e - starts[i]));
    }
    return st.str(std::move(out), obj.is_markup());
  }
  if (obj.is_sequence() &&
      (obj.seq_kind() == sequence_kind::list || obj.seq_kind() == sequence_kind::tuple)) {
    if (!slice_indices(st, a, b, c, obj.items().size(), idx)) return {};
    std::vector<value> out;
    out.reserve(idx.size());
    for (std::size_t i : idx) out.push_back(obj.items()[i]);
    return st.list(std::move(out), obj.seq_kind());
  }
  return undefined_element(st, obj, value::make_list({a, b, c}, sequence_kind::tuple));
}

// --- arithmetic -----------------------------------------------------------------------------------

inline value unsupported_operands(render_state& st, std::string_view op, const value& a, const value& b) {
  return st.type_error(std::string("unsupported operand type(s) for ").append(op) + ": '" +
                       std::string(type_name(a)) + std::string("' and '").append(type_name(b)) + "'");
}

inline bool is_intlike(const value& v) { return v.is_int() || v.is_bool(); }

/// Escapes a plain string for concatenation with markup (Markup.__add__ / __radd__).
inline std::string escaped(const value& v) {
  if (v.is_markup()) return std::string(v.as_string());
  std::string s;
  append_html_escaped(s, v.as_string());
  return s;
}

inline value op_add(render_state& st, const value& a, const value& b) {
  if (a.is_undefined()) return st.raise_undefined(a);
  if (b.is_undefined()) return st.raise_undefined(b);
  if (a.is_number() && b.is_number()) {
    if (is_intlike(a) && is_intlike(b)) {
      std::int64_t r = 0;
      if (__builtin_add_overflow(a.as_int(), b.as_int(), &r))
        return st.fail("OverflowError: integer result does not fit in 64 bits");
      return value(r);
    }
    return value(a.as_double() + b.as_double());
  }
  if (a.is_string() && b.is_string()) {
    if (!st.charge_bytes(a.as_string().size() + b.as_string().size())) return {};
    if (a.is_markup() || b.is_markup()) return value::markup(escaped(a) + escaped(b));
    std::string s;
    s.reserve(a.as_string().size() + b.as_string().size());
    s.append(a.as_string());
    s.append(b.as_string());
    return value(std::move(s));
  }
  if (a.is_string())
    return st.type_error(std::string("can only concatenate str (not \"").append(type_name(b)) + "\") to str");
  if (a.is_sequence() && (a.seq_kind() == sequence_kind::list || a.seq_kind() == sequence_kind::tuple)) {
    const std::string_view an = type_name(a);
    if (!b.is_sequence() || b.seq_kind() != a.seq_kind())
      return st.type_error(std::string("can only concatenate ").append(an) + " (not \"" +
                           std::string(type_name(b)) + std::string("\") to ").append(an));
    std::vector<value> items;
    if (!st.check_items(a.items().size() + b.items().size())) return {};
    items.reserve(a.items().size() + b.items().size());
    items.insert(items.end(), a.items().begin(), a.items().end());
    items.insert(items.end(), b.items().begin(), b.items().end());
    return st.list(std::move(items), a.seq_kind());
  }
  return unsupported_operands(st, "+", a, b);
}

inline value op_sub(render_state& st, const value& a, const value& b) {
  if (a.is_undefined()) return st.raise_undefined(a);
  if (b.is_undefined()) return st.raise_undefined(b);
  if (a.is_number() && b.is_number()) {
    if (is_intlike(a) && is_intlike(b)) {
      std::int64_t r = 0;
      if (__builtin_sub_overflow(a.as_int(), b.as_int(), &r))
        return st.fail("OverflowError: integer result does not fit in 64 bits");
      return value(r);
    }
    return value(a.as_double() - b.as_double());
  }
  return unsupported_operands(st, "-", a, b);
}

inline value repeat(render_state& st, const value& seq, std::int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    const std::string_view s = seq.as_string();
    const auto un = static_cast<std::uint64_t>(n);
    if (!s.empty() && un > st.lim.max_string_bytes / s.size() + 1)
      return st.fail_limit(std::string("repeating a string ").append(std::to_string(n)) +
                           " times exceeds the string size limit");
    if (!st.charge_bytes(s.size() * static_cast<std::size_t>(un))) return {};
    std::string out;
    out.reserve(s.size() * static_cast<std::size_t>(un));
    for (std::uint64_t i = 0; i < un; ++i) out.append(s);
    return seq.is_markup() ? value::markup(std::move(out)) : value(std::move(out));
  }
  const auto& items = seq.items();
  const auto un = static_cast<std::uint64_t>(n);
  if (!items.empty() && un > st.lim.max_items / items.size() + 1)
    return st.fail_limit(std::string("repeating a list ").append(std::to_string(n)) +
                         " times exceeds the item limit");
  std::vector<value> out;
  if (!st.check_items(items.size() * static_cast<std::size_t>(un))) return {};
  if (!st.step(items.size() * un)) return {};
  out.reserve(items.size() * static_cast<std::size_t>(un));
  for (std::uint64_t i = 0; i < un; ++i) out.insert(out.end(), items.begin(), items.end());
  return st.list(std::move(out), seq.seq_kind());
}

inline value op_mul(render_state& st, const value& a, const value& b) {
  if (a.is_undefined()) return st.raise_undefined(a);
  if (b.is_undefined()) return st.raise_undefined(b);
  if (a.is_number() && b.is_number()) {
    if (is_intlike(a) && is_intlike(b)) {
      std::int64_t r = 0;
      if (__builtin_mul_overflow(a.as_int(), b.as_int(), &r))
        return st.fail("OverflowError: integer result does not fit in 64 bits");
      return value(r);
    }
    return value(a.as_double() * b.as_double());
  }
  auto repeatable = [](const value& v) {
    return v.is_string() ||
           (v.is_sequence() && (v.seq_kind() == sequence_kind::list || v.seq_kind() == sequence_kind::tuple));
  };
  if (repeatable(a) || repeatable(b)) {
    const value& seq = repeatable(a) ? a : b;
    const value& n = repeatable(a) ? b : a;
    if (!is_intlike(n))
      return st.type_error(std::string("can't multiply sequence by non-int of type '").append(type_name(n)) +
                           "'");
    return repeat(st, seq, n.as_int());
  }
  return unsupported_operands(st, "*", a, b);
}

inline value op_div(render_state& st, const value& a, const value& b) {
  if (a.is_undefined()) return st.raise_undefined(a);
  if (b.is_undefined()) return st.raise_undefined(b);
  if (!a.is_number() || !b.is_number()) return unsupported_operands(st, "/", a, b);
  if (b.as_double() == 0.0) return st.fail("ZeroDivisionError: division by zero");
  return value(a.as_double() / b.as_double());
}

inline value op_floordiv(render_state& st, const value& a, const value& b) {
  if (a.is_undefined()) return st.raise_undefined(a);
  if (b.is_undefined()) return st.raise_undefined(b);
  if (!a.is_number() || !b.is_number()) return unsupported_operands(st, "//", a, b);
  if (is_intlike(a) && is_intlike(b)) {
    const std::int64_t x = a.as_int(), y = b.as_int();
    if (y == 0) return st.fail("ZeroDivisionError: integer division or modulo by zero");
    if (x == std::numeric_limits<std::int64_t>::min() && y == -1)
      return st.fail("OverflowError: integer result does not fit in 64 bits");
    std::int64_t q = x / y;
    if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
    return value(q);
  }
  const double y = b.as_double();
  if (y == 0.0) return st.fail("ZeroDivisionError: float floor division by zero");
  return value(std::floor(a.as_double() / y));
}

inline value op_mod(render_state& st, const value& a, const value& b) {
  if (a.is_undefined()) return st.raise_undefined(a);
  if (b.is_undefined()) return st.raise_undefined(b);
  if (!a.is_number() || !b.is_number()) return unsupported_operands(st, "%", a, b);
  if (is_intlike(a) && is_intlike(b)) {
    const std::int64_t x = a.as_int(), y = b.as_int();
    if (y == 0) return st.fail("ZeroDivisionError: integer division or modulo by zero");
    if (y == -1) return value(std::int64_t{0});
    std::int64_t r = x % y;
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return value(r);
  }
  const double x = a.as_double(), y = b.as_double();
  if (y == 0.0) return st.fail("ZeroDivisionError: float modulo");
  double r = std::fmod(x, y);
  if (r != 0.0 && ((r < 0) != (y < 0))) r += y;
  if (r == 0.0) r = std::copysign(0.0, y);
  return value(r);
}

inline value op_pow(render_state& st, const value& a, const value& b) {
  if (a.is_undefined()) return st.raise_undefined(a);
  if (b.is_undefined()) return st.raise_undefined(b);
  if (!a.is_number() || !b.is_number()) return unsupported_operands(st, "** or pow()", a, b);
  if (is_intlike(a) && is_intlike(b) && b.as_int() >= 0) {
    std::int64_t base = a.as_int(), e = b.as_int(), r = 1;
    while (e > 0) {
      if ((e & 1) != 0 && __builtin_mul_overflow(r, base, &r))
        return st.fail("OverflowError: integer result does not fit in 64 bits");
      e >>= 1;
      if (e > 0 && __builtin_mul_overflow(base, base, &base))
        return st.fail("OverflowError: integer result does not fit in 64 bits");
    }
    return value(r);
  }
  const double x = a.as_double(), y = b.as_double();
  if (x == 0.0 && y < 0) return st.fail("ZeroDivisionError: 0.0 cannot be raised to a negative power");
  if (x < 0 && std::floor(y) != y) return st.fail("ValueError: complex results are not supported");
  return value(std::pow(x, y));
}

inline value op_neg(render_state& st, const value& a) {
  if (a.is_undefined()) return st.raise_undefined(a);
  if (is_intlike(a)) {
    if (a.as_int() == std::numeric_limits<std::int64_t>::min())
      return st.fail("OverflowError: integer result does not fit in 64 bits");
    return value(-a.as_int());
  }
  if (a.is_float()) return value(-a.as_double());
  return st.type_error(std::string("bad operand type for unary -: '").append(type_name(a)) + "'");
}

inline value op_pos(render_state& st, const value& a) {
  if (a.is_undefined()) return st.raise_undefined(a);
  if (is_intlike(a)) return value(a.as_int());
  if (a.is_float()) return a;
  return st.type_error(std::string("bad operand type for unary +: '").append(type_name(a)) + "'");
}

// --- comparisons ------------------------------------------------------------------------------------

inline bool values_equal(render_state& st, const value& a, const value& b) {
  const bool r = detail::values_equal(a, b, st.budget);
  st.budget_ok();
  return r;
}

/// Python ordering `a < b` as -1/0/1; false with a TypeError when the types do not order.
inline bool compare_order(render_state& st, const value& a, const value& b, int& out,
                          std::string_view op = "<", std::size_t depth = 0) {
  if (a.is_undefined()) {
    st.raise_undefined(a);
    return false;
  }
  if (b.is_undefined()) {
    st.raise_undefined(b);
    return false;
  }
  if (!st.budget.spend() || depth > 1024) {
    st.budget_ok();
    return false;
  }
  if (a.is_number() && b.is_number()) {
    if (is_intlike(a) && is_intlike(b)) {
      out = a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
    } else {
      const double x = a.as_double(), y = b.as_double();
      out = x < y ? -1 : x > y ? 1 : 0;
    }
    return true;
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.as_string().compare(b.as_string());
    out = c < 0 ? -1 : c > 0 ? 1 : 0;
    return true;
  }
  if (a.is_sequence() && b.is_sequence() && a.seq_kind() == b.seq_kind() &&
      (a.seq_kind() == sequence_kind::list || a.seq_kind() == sequence_kind::tuple)) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (detail::values_equal(x[i], y[i], st.budget)) continue;
      if (!st.budget_ok()) return false;
      return compare_order(st, x[i], y[i], out, op, depth + 1);
    }
    if (!st.budget_ok()) return false;
    out = x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
    return true;
  }
  st.type_error(std::string("'").append(op) +
                std::string("' not supported between instances of '").append(type_name(a)) +
                std::string("' and '").append(type_name(b)) + "'");
  return false;
}

/// `needle in container`.
inline bool contains(render_state& st, const value& container, const value& needle, bool& out) {
  switch (container.kind()) {
    case value_kind::undefined: out = false; return true;
    case value_kind::string:
      if (!needle.is_string()) {
        st.type_error(
            std::string("'in <string>' requires string as left operand, not ").append(type_name(needle)));
        return false;
      }
      out = container.as_string().find(needle.as_string()) != std::string_view::npos;
      return true;
    case value_kind::sequence:
      out = false;
      for (const auto& it : container.items()) {
        if (detail::values_equal(it, needle, st.budget)) {
          out = true;
          break;
        }
        if (st.budget.exhausted) break;
      }
      return st.budget_ok();
    case value_kind::dict:
      if (needle.is_sequence() && needle.seq_kind() != sequence_kind::tuple) {
        st.type_error(std::string("unhashable type: '").append(type_name(needle)) + "'");
        return false;
      }
      if (needle.is_dict()) {
        st.type_error("unhashable type: 'dict'");
        return false;
      }
      if (!st.step(container.entries().size() / 16 + 1)) return false;
      out = container.find_key(needle) != nullptr;
      return true;
    default: break;
  }
  st.type_error(std::string("argument of type '").append(type_name(container)) + "' is not iterable");
  return false;
}

}  // namespace detail
}  // namespace mmllm::jinja
