// mmllm/tokenize/jinja_json.hpp — converts between nlohmann/json documents and Jinja values.
//
//   auto j = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Hi"}])");
//   mmllm::result<mmllm::jinja::value> v = mmllm::jinja::from_json(j);
//
// Object key order is kept (use nlohmann::ordered_json: Python dicts are ordered, and
// templates print and iterate them in order). Numbers: integers become int (unsigned values
// above INT64_MAX become float), other numbers float. Nesting deeper than `max_depth` is an
// error. to_json() maps None/undefined to null, tuples and generators to arrays, and engine
// objects (macros, namespaces) to null.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mmllm/core/result.hpp"
#include "mmllm/tokenize/jinja_value.hpp"

namespace mmllm::jinja {

namespace detail {
template <class Json>
bool from_json_rec(const Json& j, value& out, std::size_t depth, std::size_t max_depth) {
  if (depth > max_depth) return false;
  switch (j.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded: out = value(); return true;
    case Json::value_t::boolean: out = value(j.template get<bool>()); return true;
    case Json::value_t::number_integer: out = value(j.template get<std::int64_t>()); return true;
    case Json::value_t::number_unsigned: {
      const auto u = j.template get<std::uint64_t>();
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        out = value(static_cast<std::int64_t>(u));
      } else {
        out = value(static_cast<double>(u));
      }
      return true;
    }
    case Json::value_t::number_float: out = value(j.template get<double>()); return true;
    case Json::value_t::string: out = value(j.template get_ref<const std::string&>()); return true;
    case Json::value_t::array: {
      std::vector<value> items;
      items.reserve(j.size());
      for (const auto& e : j) {
        value v;
        if (!from_json_rec(e, v, depth + 1, max_depth)) return false;
        items.push_back(std::move(v));
      }
      out = value::make_list(std::move(items));
      return true;
    }
    case Json::value_t::object: {
      std::vector<std::pair<std::string, value>> entries;
      entries.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) {
        value v;
        if (!from_json_rec(it.value(), v, depth + 1, max_depth)) return false;
        entries.emplace_back(it.key(), std::move(v));
      }
      out = value::make_dict(std::move(entries));
      return true;
    }
    case Json::value_t::binary: {
      std::vector<value> items;
      for (auto b : j.get_binary()) items.emplace_back(static_cast<std::int64_t>(b));
      out = value::make_list(std::move(items));
      return true;
    }
  }
  out = value();
  return true;
}
}  // namespace detail

/// A JSON document as a Jinja value.
template <class Json>
result<value> from_json(const Json& j, std::size_t max_depth = 256) {
  value v;
  if (!detail::from_json_rec(j, v, 0, max_depth))
    return make_error(errc::resource_limit, "json: nesting deeper than ", std::to_string(max_depth),
                      " levels");
  return v;
}

/// A Jinja value as JSON (ordered_json keeps dict order).
inline nlohmann::ordered_json to_json(const value& v, std::size_t depth = 0) {
  using json = nlohmann::ordered_json;
  if (depth > 1024) return nullptr;
  switch (v.kind()) {
    case value_kind::boolean: return v.as_bool();
    case value_kind::integer: return v.as_int();
    case value_kind::floating: return v.as_double();
    case value_kind::string: return std::string(v.as_string());
    case value_kind::sequence: {
      json a = json::array();
      for (const auto& it : v.items()) a.push_back(to_json(it, depth + 1));
      return a;
    }
    case value_kind::dict: {
      json o = json::object();
      for (const auto& [k, val] : v.entries()) {
        std::string key;
        if (k.is_string()) {
          key = std::string(k.as_string());
        } else {
          detail::format_guard g;
          detail::append_str(key, k, g);
        }
        o[key] = to_json(val, depth + 1);
      }
      return o;
    }
    default: return nullptr;
  }
}

}  // namespace mmllm::jinja
