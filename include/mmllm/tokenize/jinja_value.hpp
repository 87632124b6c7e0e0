// mmllm/tokenize/jinja_value.hpp — the value type of the Jinja engine (`mmllm::jinja::value`).
//
// A value is what a Python object is to Jinja2: undefined, None, bool, int (64-bit), float,
// str (UTF-8; optionally "markup", i.e. markupsafe.Markup), list / tuple (and the
// generators and dict views Jinja's filters return), dict (insertion-ordered, like Python
// dicts) or an engine object (namespace(), macros, loop, bound methods ...).
// Strings, lists and dicts are immutable and shared: copying a value is cheap.
//
//   using mmllm::jinja::value;
//   value msg = value::make_dict({{"role", "user"}, {"content", "Hello"}});
//   value msgs = value::make_list({msg});
//
// Printing follows Python: str() of a list is its repr (`[1, 'a']`), floats print like
// repr(float), True/False/None are capitalised. `detail::` holds the formatting helpers
// (str, repr, json.dumps) used by the engine; they stop at a byte / depth limit so a
// hostile template cannot make them run away.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mmllm/tokenize/jinja_text.hpp"

namespace mmllm::jinja {

class value;

/// Kind of a value (the Python type it stands for).
enum class value_kind : std::uint8_t {
  undefined,  ///< jinja2.Undefined: a missing variable/attribute (carries the reason)
  none,       ///< None
  boolean,    ///< bool
  integer,    ///< int (64-bit; overflow is an error)
  floating,   ///< float
  string,     ///< str (or markupsafe.Markup when is_markup())
  sequence,   ///< list, tuple, generator, dict view (see sequence_kind)
  dict,       ///< dict
  object,     ///< engine object: namespace, macro, loop, function ...
};

/// Which Python sequence type a `sequence` value is; they differ in printing, equality and
/// what operations accept them (a generator has no len() and is not JSON serializable).
enum class sequence_kind : std::uint8_t { list, tuple, generator, dict_keys, dict_values, dict_items };

namespace detail {
struct object;
struct sequence_data;
struct dict_data;
}  // namespace detail

/// A Jinja / Python value. Copying shares the (immutable) payload.
class value {
 public:
  /// None.
  value() noexcept = default;
  value(std::nullptr_t) noexcept {}                                  // NOLINT(google-explicit-constructor)
  value(bool b) noexcept : kind_(value_kind::boolean) { u_.b = b; }  // NOLINT(google-explicit-constructor)
  template <class I>
  requires(std::is_integral_v<I> && !std::is_same_v<I, bool> && !std::is_same_v<I, char>) value(I i)
  noexcept : kind_(value_kind::integer) {  // NOLINT(google-explicit-constructor)
    u_.i = static_cast<std::int64_t>(i);
  }
  value(double d) noexcept : kind_(value_kind::floating) { u_.f = d; }  // NOLINT(google-explicit-constructor)
  value(float d) noexcept : value(static_cast<double>(d)) {}            // NOLINT(google-explicit-constructor)
  value(std::string s)                                                  // NOLINT(google-explicit-constructor)
      : kind_(value_kind::string), ptr_(std::make_shared<const std::string>(std::move(s))) {}
  value(std::string_view s) : value(std::string(s)) {}  // NOLINT(google-explicit-constructor)
  value(const char* s) : value(std::string(s)) {}       // NOLINT(google-explicit-constructor)

  /// jinja2.Undefined; `reason` is the error raised when the value is used, e.g.
  /// "UndefinedError: 'x' is undefined".
  static value undefined(std::string reason = {}) {
    value v;
    v.kind_ = value_kind::undefined;
    if (!reason.empty()) v.ptr_ = std::make_shared<const std::string>(std::move(reason));
    return v;
  }
  /// A markupsafe.Markup string (what `|safe` returns).
  static value markup(std::string s) {
    value v(std::move(s));
    v.flags_ = 1;
    return v;
  }
  /// A list (or another sequence kind).
  static value make_list(std::vector<value> items, sequence_kind k = sequence_kind::list);
  static value make_tuple(std::vector<value> items) {
    return make_list(std::move(items), sequence_kind::tuple);
  }
  /// A dict with string keys, in the given order (a repeated key keeps its first position
  /// and its last value, as in Python).
  static value make_dict(std::vector<std::pair<std::string, value>> entries);
  /// A dict with arbitrary hashable keys (str, int, float, bool, None).
  static value make_dict_any(std::vector<std::pair<value, value>> entries);

  [[nodiscard]] value_kind kind() const noexcept { return kind_; }
  [[nodiscard]] bool is_undefined() const noexcept { return kind_ == value_kind::undefined; }
  [[nodiscard]] bool is_none() const noexcept { return kind_ == value_kind::none; }
  [[nodiscard]] bool is_bool() const noexcept { return kind_ == value_kind::boolean; }
  [[nodiscard]] bool is_int() const noexcept { return kind_ == value_kind::integer; }
  [[nodiscard]] bool is_float() const noexcept { return kind_ == value_kind::floating; }
  /// int, float or bool (Python numbers.Number).
  [[nodiscard]] bool is_number() const noexcept {
    return kind_ == value_kind::integer || kind_ == value_kind::floating || kind_ == value_kind::boolean;
  }
  [[nodiscard]] bool is_string() const noexcept { return kind_ == value_kind::string; }
  [[nodiscard]] bool is_markup() const noexcept { return kind_ == value_kind::string && flags_ != 0; }
  [[nodiscard]] bool is_sequence() const noexcept { return kind_ == value_kind::sequence; }
  [[nodiscard]] bool is_list() const noexcept { return is_sequence() && seq_kind() == sequence_kind::list; }
  [[nodiscard]] bool is_dict() const noexcept { return kind_ == value_kind::dict; }
  [[nodiscard]] bool is_object() const noexcept { return kind_ == value_kind::object; }

  [[nodiscard]] bool as_bool() const noexcept { return u_.b; }
  [[nodiscard]] std::int64_t as_int() const noexcept {
    return kind_ == value_kind::boolean ? static_cast<std::int64_t>(u_.b) : u_.i;
  }
  /// int, bool or float as a double.
  [[nodiscard]] double as_double() const noexcept {
    if (kind_ == value_kind::floating) return u_.f;
    return static_cast<double>(as_int());
  }
  /// The UTF-8 text of a string (empty for other kinds).
  [[nodiscard]] std::string_view as_string() const noexcept {
    return kind_ == value_kind::string ? std::string_view(*static_cast<const std::string*>(ptr_.get()))
                                       : std::string_view();
  }
  /// Why an undefined value is undefined ("UndefinedError: 'x' is undefined").
  [[nodiscard]] std::string undefined_reason() const;

  /// Elements of a sequence (empty for other kinds).
  [[nodiscard]] const std::vector<value>& items() const noexcept;
  [[nodiscard]] sequence_kind seq_kind() const noexcept { return static_cast<sequence_kind>(flags_); }
  /// Entries of a dict in order (empty for other kinds).
  [[nodiscard]] const std::vector<std::pair<value, value>>& entries() const noexcept;
  /// The value stored under a string key of a dict, or nullptr.
  [[nodiscard]] const value* find(std::string_view key) const noexcept;
  /// The value under an arbitrary key (Python equality of hashable keys), or nullptr.
  [[nodiscard]] const value* find_key(const value& key) const noexcept;
  /// Nesting depth: 0 for scalars, 1 + deepest element for sequences and dicts.
  [[nodiscard]] std::uint32_t depth() const noexcept;

  /// Engine object (kind() == object).
  [[nodiscard]] const detail::object* as_object() const noexcept {
    return kind_ == value_kind::object ? u_.obj : nullptr;
  }
  static value from_object(const detail::object* o) noexcept {
    value v;
    v.kind_ = value_kind::object;
    v.u_.obj = o;
    return v;
  }

  /// Python truthiness (`if x`): empty containers, 0, "", None and undefined are false.
  [[nodiscard]] bool truthy() const noexcept;

  /// This string value re-tagged as markup (or not), sharing the text.
  [[nodiscard]] value with_markup(bool m) const {
    value v = *this;
    v.flags_ = m ? 1 : 0;
    return v;
  }
  /// This sequence with another sequence kind, sharing the elements.
  [[nodiscard]] value as_sequence_kind(sequence_kind k) const;

 private:
  value_kind kind_ = value_kind::none;
  std::uint8_t flags_ = 0;  // markup flag for strings, sequence_kind for sequences
  union payload {
    bool b;
    std::int64_t i;
    double f;
    const detail::object* obj;
  } u_{};
  std::shared_ptr<const void> ptr_;  // std::string, sequence_data, dict_data or undefined reason
};

namespace detail {

struct sequence_data {
  std::vector<value> items;
  std::uint32_t depth = 1;
};

struct dict_data {
  std::vector<std::pair<value, value>> entries;
  std::uint32_t depth = 1;
};

/// Base of engine objects (namespace, macro, loop, functions ...). Objects live in the
/// arena of one render call; values refer to them without owning them.
struct object {
  enum class type : std::uint8_t { namespace_, macro, builtin, bound_method, loop, cycler, joiner };
  type kind;
  explicit object(type k) noexcept : kind(k) {}
  object(const object&) = delete;
  object& operator=(const object&) = delete;
  virtual ~object() = default;
  /// Python type name ("Namespace", "Macro", ...).
  [[nodiscard]] virtual std::string_view type_name() const = 0;
  /// repr() of objects other than namespaces.
  [[nodiscard]] virtual std::string describe() const = 0;
};

/// jinja2's namespace(): attributes that `{% set ns.x = ... %}` may change.
struct namespace_object final : object {
  std::vector<std::pair<std::string, value>> attrs;
  namespace_object() : object(type::namespace_) {}
  [[nodiscard]] std::string_view type_name() const override { return "Namespace"; }
  [[nodiscard]] std::string describe() const override { return "<Namespace>"; }
  [[nodiscard]] const value* get(std::string_view name) const noexcept {
    for (const auto& [k, v] : attrs)
      if (k == name) return &v;
    return nullptr;
  }
  void set(std::string_view name, value v) {
    for (auto& [k, old] : attrs)
      if (k == name) {
        old = std::move(v);
        return;
      }
    attrs.emplace_back(std::string(name), std::move(v));
  }
};

inline const std::vector<value>& empty_items() noexcept {
  static const std::vector<value> e;
  return e;
}
inline const std::vector<std::pair<value, value>>& empty_entries() noexcept {
  static const std::vector<std::pair<value, value>> e;
  return e;
}

/// Python equality of two hashable dict keys (1 == 1.0 == True).
inline bool keys_equal(const value& a, const value& b) noexcept {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case value_kind::none:
    case value_kind::undefined: return true;
    case value_kind::string: return a.as_string() == b.as_string();
    case value_kind::object: return a.as_object() == b.as_object();
    default: return false;
  }
}

}  // namespace detail

inline value value::make_list(std::vector<value> items, sequence_kind k) {
  auto d = std::make_shared<detail::sequence_data>();
  std::uint32_t depth = 0;
  for (const auto& it : items) depth = std::max(depth, it.depth());
  d->depth = depth + 1;
  d->items = std::move(items);
  value v;
  v.kind_ = value_kind::sequence;
  v.flags_ = static_cast<std::uint8_t>(k);
  v.ptr_ = std::move(d);
  return v;
}

inline value value::make_dict_any(std::vector<std::pair<value, value>> entries) {
  auto d = std::make_shared<detail::dict_data>();
  std::uint32_t depth = 0;
  d->entries.reserve(entries.size());
  bool all_strings = entries.size() > 16;
  for (const auto& e : entries) all_strings = all_strings && e.first.is_string();
  if (all_strings) {  // large JSON objects: hash the keys
    std::unordered_map<std::string_view, std::size_t> index;
    for (auto& e : entries) {
      depth = std::max(depth, e.second.depth());
      auto [it, inserted] = index.try_emplace(e.first.as_string(), d->entries.size());
      if (inserted)
        d->entries.push_back(std::move(e));
      else
        d->entries[it->second].second = std::move(e.second);
    }
    entries.clear();
  }
  for (auto& e : entries) {
    depth = std::max(depth, e.second.depth());
    bool replaced = false;
    // Keys are usually few; a repeated key keeps its first slot and takes the new value.
    for (auto& old : d->entries)
      if (detail::keys_equal(old.first, e.first)) {
        old.second = std::move(e.second);
        replaced = true;
        break;
      }
    if (!replaced) d->entries.push_back(std::move(e));
  }
  d->depth = depth + 1;
  value v;
  v.kind_ = value_kind::dict;
  v.ptr_ = std::move(d);
  return v;
}

inline value value::make_dict(std::vector<std::pair<std::string, value>> entries) {
  std::vector<std::pair<value, value>> e;
  e.reserve(entries.size());
  for (auto& kv : entries) e.emplace_back(value(std::move(kv.first)), std::move(kv.second));
  return make_dict_any(std::move(e));
}

inline std::string value::undefined_reason() const {
  if (kind_ != value_kind::undefined) return {};
  if (!ptr_) return "UndefinedError: value is undefined";
  return *static_cast<const std::string*>(ptr_.get());
}

inline const std::vector<value>& value::items() const noexcept {
  if (kind_ != value_kind::sequence) return detail::empty_items();
  return static_cast<const detail::sequence_data*>(ptr_.get())->items;
}

inline const std::vector<std::pair<value, value>>& value::entries() const noexcept {
  if (kind_ != value_kind::dict) return detail::empty_entries();
  return static_cast<const detail::dict_data*>(ptr_.get())->entries;
}

inline const value* value::find(std::string_view key) const noexcept {
  for (const auto& [k, v] : entries())
    if (k.is_string() && k.as_string() == key) return &v;
  return nullptr;
}

inline const value* value::find_key(const value& key) const noexcept {
  for (const auto& [k, v] : entries())
    if (detail::keys_equal(k, key)) return &v;
  return nullptr;
}

inline std::uint32_t value::depth() const noexcept {
  if (kind_ == value_kind::sequence) return static_cast<const detail::sequence_data*>(ptr_.get())->depth;
  if (kind_ == value_kind::dict) return static_cast<const detail::dict_data*>(ptr_.get())->depth;
  return 0;
}

inline value value::as_sequence_kind(sequence_kind k) const {
  value v = *this;
  v.flags_ = static_cast<std::uint8_t>(k);
  return v;
}

inline bool value::truthy() const noexcept {
  switch (kind_) {
    case value_kind::undefined:
    case value_kind::none: return false;
    case value_kind::boolean: return u_.b;
    case value_kind::integer: return u_.i != 0;
    case value_kind::floating: return u_.f != 0.0;
    case value_kind::string: return !as_string().empty();
    case value_kind::sequence:
      // Generators are objects in Python: always true, even when empty.
      return seq_kind() == sequence_kind::generator || !items().empty();
    case value_kind::dict: return !entries().empty();
    case value_kind::object: return true;
  }
  return false;
}

namespace detail {

/// Python type name of a value, as error messages spell it ("NoneType", "str", ...).
inline std::string_view type_name(const value& v) {
  switch (v.kind()) {
    case value_kind::undefined: return "Undefined";
    case value_kind::none: return "NoneType";
    case value_kind::boolean: return "bool";
    case value_kind::integer: return "int";
    case value_kind::floating: return "float";
    case value_kind::string: return v.is_markup() ? "Markup" : "str";
    case value_kind::sequence:
      switch (v.seq_kind()) {
        case sequence_kind::list: return "list";
        case sequence_kind::tuple: return "tuple";
        case sequence_kind::generator: return "generator";
        case sequence_kind::dict_keys: return "dict_keys";
        case sequence_kind::dict_values: return "dict_values";
        case sequence_kind::dict_items: return "dict_items";
      }
      return "list";
    case value_kind::dict: return "dict";
    case value_kind::object: return v.as_object()->type_name();
  }
  return "object";
}

/// How jinja2 names the owner of a missing attribute: "dict object", "None", ...
inline std::string object_type_repr(const value& v) {
  if (v.is_none()) return "None";
  if (v.is_object()) {
    switch (v.as_object()->kind) {
      case object::type::namespace_: return "jinja2.utils.Namespace object";
      case object::type::loop: return "jinja2.runtime.LoopContext object";
      case object::type::macro: return "jinja2.runtime.Macro object";
      case object::type::cycler: return "jinja2.utils.Cycler object";
      case object::type::joiner: return "jinja2.utils.Joiner object";
      default: break;
    }
  }
  if (v.is_markup()) return "markupsafe.Markup object";
  std::string s(type_name(v));
  s += " object";
  return s;
}

/// Budget and limits of the recursive formatters; `failed` is set when output passes
/// max_bytes or nesting passes max_depth.
struct format_guard {
  std::size_t max_bytes = std::size_t(16) << 20;
  std::size_t max_depth = 512;
  bool failed = false;
  bool check(const std::string& out) {
    if (out.size() > max_bytes) failed = true;
    return !failed;
  }
};

bool append_repr(std::string& out, const value& v, format_guard& g, std::size_t depth = 0);

/// str(v) as Jinja prints it (`{{ v }}`): strings as-is, undefined as "", the rest repr.
inline bool append_str(std::string& out, const value& v, format_guard& g, std::size_t depth = 0) {
  switch (v.kind()) {
    case value_kind::undefined: return true;
    case value_kind::string: out.append(v.as_string()); return g.check(out);
    default: return append_repr(out, v, g, depth);
  }
}

inline bool append_repr(std::string& out, const value& v, format_guard& g, std::size_t depth) {
  if (depth > g.max_depth) {
    g.failed = true;
    return false;
  }
  switch (v.kind()) {
    case value_kind::undefined: out += "Undefined"; break;
    case value_kind::none: out += "None"; break;
    case value_kind::boolean: out += v.as_bool() ? "True" : "False"; break;
    case value_kind::integer: append_int(out, v.as_int()); break;
    case value_kind::floating: append_float(out, v.as_double()); break;
    case value_kind::string:
      if (v.is_markup()) {
        out += "Markup(";
        append_py_repr(out, v.as_string());
        out += ')';
      } else {
        append_py_repr(out, v.as_string());
      }
      break;
    case value_kind::sequence: {
      const auto k = v.seq_kind();
      if (k == sequence_kind::generator) {
        out += "<generator object>";
        break;
      }
      const char* open = "[";
      const char* close = "]";
      if (k == sequence_kind::tuple) {
        open = "(";
        close = ")";
      } else if (k == sequence_kind::dict_keys) {
        open = "dict_keys([";
        close = "])";
      } else if (k == sequence_kind::dict_values) {
        open = "dict_values([";
        close = "])";
      } else if (k == sequence_kind::dict_items) {
        open = "dict_items([";
        close = "])";
      }
      out += open;
      bool first = true;
      for (const auto& it : v.items()) {
        if (!first) out += ", ";
        first = false;
        if (!append_repr(out, it, g, depth + 1)) return false;
      }
      if (k == sequence_kind::tuple && v.items().size() == 1) out += ',';
      out += close;
      break;
    }
    case value_kind::dict: {
      out += '{';
      bool first = true;
      for (const auto& [key, val] : v.entries()) {
        if (!first) out += ", ";
        first = false;
        if (!append_repr(out, key, g, depth + 1)) return false;
        out += ": ";
        if (!append_repr(out, val, g, depth + 1)) return false;
      }
      out += '}';
      break;
    }
    case value_kind::object: {
      const object* o = v.as_object();
      if (o->kind == object::type::namespace_) {
        out += "<Namespace {";
        bool first = true;
        for (const auto& [key, val] : static_cast<const namespace_object*>(o)->attrs) {
          if (!first) out += ", ";
          first = false;
          append_py_repr(out, key);
          out += ": ";
          if (!append_repr(out, val, g, depth + 1)) return false;
        }
        out += "}>";
      } else {
        out += o->describe();
      }
      break;
    }
  }
  return g.check(out);
}

/// Options of json.dumps as transformers' tojson passes them.
struct json_format {
  bool has_indent = false;
  std::string indent;          // one level of indentation when has_indent
  std::string item_separator;  // default ", " (or "," with indent)
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};

/// json.dumps(v); on failure `error` holds Python's TypeError text (without "TypeError: ").
inline bool append_json(std::string& out, const value& v, const json_format& f, format_guard& g,
                        std::string& error, std::size_t depth = 0) {
  if (depth > g.max_depth) {
    g.failed = true;
    return false;
  }
  auto newline = [&](std::size_t level) {
    out += '\n';
    for (std::size_t k = 0; k < level; ++k) out += f.indent;
  };
  switch (v.kind()) {
    case value_kind::none: out += "null"; break;
    case value_kind::boolean: out += v.as_bool() ? "true" : "false"; break;
    case value_kind::integer: append_int(out, v.as_int()); break;
    case value_kind::floating: append_float(out, v.as_double(), true); break;
    case value_kind::string: append_json_string(out, v.as_string(), f.ensure_ascii); break;
    case value_kind::sequence: {
      const auto k = v.seq_kind();
      if (k != sequence_kind::list && k != sequence_kind::tuple) {
        error = std::string("Object of type ").append(type_name(v)) + " is not JSON serializable";
        return false;
      }
      if (v.items().empty()) {
        out += "[]";
        break;
      }
      out += '[';
      bool first = true;
      for (const auto& it : v.items()) {
        if (!first) out += f.item_separator;
        first = false;
        if (f.has_indent) newline(depth + 1);
        if (!append_json(out, it, f, g, error, depth + 1)) return false;
      }
      if (f.has_indent) newline(depth);
      out += ']';
      break;
    }
    case value_kind::dict: {
      if (v.entries().empty()) {
        out += "{}";
        break;
      }
      std::vector<const std::pair<value, value>*> order;
      order.reserve(v.entries().size());
      for (const auto& e : v.entries()) order.push_back(&e);
      if (f.sort_keys) {
        for (const auto* e : order)
          if (!e->first.is_string()) {
            error = std::string("'<' not supported between instances of '").append(type_name(e->first)) +
                    "' and 'str'";
            return false;
          }
        std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
          return a->first.as_string() < b->first.as_string();
        });
      }
      out += '{';
      bool first = true;
      for (const auto* e : order) {
        if (!first) out += f.item_separator;
        first = false;
        if (f.has_indent) newline(depth + 1);
        const value& key = e->first;
        switch (key.kind()) {
          case value_kind::string: append_json_string(out, key.as_string(), f.ensure_ascii); break;
          case value_kind::integer: {
            out += '"';
            append_int(out, key.as_int());
            out += '"';
            break;
          }
          case value_kind::floating: {
            out += '"';
            append_float(out, key.as_double(), true);
            out += '"';
            break;
          }
          case value_kind::boolean: out += key.as_bool() ? "\"true\"" : "\"false\""; break;
          case value_kind::none: out += "\"null\""; break;
          default:
            error = std::string("keys must be str, int, float, bool or None, not ").append(type_name(key));
            return false;
        }
        out += f.key_separator;
        if (!append_json(out, e->second, f, g, error, depth + 1)) return false;
      }
      if (f.has_indent) newline(depth);
      out += '}';
      break;
    }
    default:
      error = std::string("Object of type ").append(type_name(v)) + " is not JSON serializable";
      return false;
  }
  return g.check(out);
}

/// Counts work of deep comparisons so that comparing huge shared structures stops.
struct work_budget {
  std::uint64_t left = 10'000'000;
  bool exhausted = false;
  bool spend(std::uint64_t n = 1) {
    if (left < n) {
      exhausted = true;
      left = 0;
      return false;
    }
    left -= n;
    return true;
  }
};

/// Python `a == b`.
inline bool values_equal(const value& a, const value& b, work_budget& w, std::size_t depth = 0) {
  if (!w.spend() || depth > 1024) {
    w.exhausted = true;
    return false;
  }
  if (a.is_number() && b.is_number()) return keys_equal(a, b);
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case value_kind::undefined:
    case value_kind::none: return true;
    case value_kind::string: return a.as_string() == b.as_string();
    case value_kind::sequence: {
      auto ka = a.seq_kind(), kb = b.seq_kind();
      if (ka == sequence_kind::generator || kb == sequence_kind::generator) return false;  // identity
      if (ka != kb) return false;
      const auto& x = a.items();
      const auto& y = b.items();
      if (x.size() != y.size()) return false;
      if (ka == sequence_kind::dict_keys) {  // set semantics
        for (const auto& e : x) {
          bool found = false;
          for (const auto& f : y)
            if (values_equal(e, f, w, depth + 1)) {
              found = true;
              break;
            }
          if (!found) return false;
        }
        return true;
      }
      if (&x == &y) return true;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!values_equal(x[i], y[i], w, depth + 1)) return false;
      return true;
    }
    case value_kind::dict: {
      const auto& x = a.entries();
      const auto& y = b.entries();
      if (x.size() != y.size()) return false;
      if (&x == &y) return true;
      for (const auto& [k, v] : x) {
        const value* other = b.find_key(k);
        if (other == nullptr || !w.spend(y.size()) || !values_equal(v, *other, w, depth + 1)) return false;
      }
      return true;
    }
    case value_kind::object: return a.as_object() == b.as_object();
    default: return false;
  }
}

}  // namespace detail

}  // namespace mmllm::jinja
