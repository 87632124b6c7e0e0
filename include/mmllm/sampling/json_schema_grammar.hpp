// mmllm/sampling/json_schema_grammar.hpp — JSON Schema to GBNF (llama.cpp's json_schema and
// OpenAI's response_format), so that generated text is a JSON document the schema accepts.
//
//   auto gbnf = mmllm::json_schema_to_gbnf(R"({"type": "object", "properties": {...}})");
//   auto g2 = mmllm::response_format_to_gbnf(R"({"type": "json_object"})");   // any object
//
// Supported: `type` (string, number, integer, boolean, null, object, array, or a list of
// them; inferred from the keywords when absent), `properties` / `required` (properties are
// written in the declared order, optional ones may be left out), `additionalProperties`
// (false, true or a schema; when absent, no extra keys if `properties` is given, any keys
// otherwise), `enum`, `const`, `items` / `prefixItems` (and draft-7 tuple `items` with
// `additionalItems`), `minItems` / `maxItems`, `minLength` / `maxLength` (code points),
// `pattern` (regex_grammar.hpp's subset), `format` date / time / date-time / uuid / ipv4,
// `minimum` / `maximum` / `exclusiveMinimum` / `exclusiveMaximum` (exact, for integer and
// number; bounded numbers have no exponent and at most 6 fraction digits), `anyOf` / `oneOf`
// (a union; oneOf's exclusivity is not enforced), `allOf` (schemas merged), `$ref` to
// `#`, `#/$defs/…`, `#/definitions/…` or any local JSON pointer (recursion allowed), OpenAPI's
// `nullable`. `{}` and `true` mean any JSON value; `false` is an error.
// Not enforced (a warning): multipleOf, uniqueItems, contains, min/maxProperties,
// patternProperties, propertyNames, dependent*, if/then/else, not, length bounds together
// with a pattern, upper repetition bounds above max_repetition. Remote $refs are an error.
//
// Whitespace between tokens is optional and bounded (one space, or one or two newlines and
// up to 20 spaces or tabs), so the model cannot loop on whitespace.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../core/result.hpp"
#include "../tokenize/json_reader.hpp"
#include "number_range_grammar.hpp"
#include "regex_grammar.hpp"

namespace mmllm {

struct json_schema_options {
  std::uint32_t max_repetition = 2000;           ///< as the GBNF parser's limit
  int fraction_digits = 6;                       ///< fraction digits of bounded numbers
  std::vector<std::string>* warnings = nullptr;  ///< receives notes on what is not enforced
};

namespace detail {

/// The concatenation of `parts`, built in one allocation (for rule names and bodies built in loops).
inline std::string str_cat(std::initializer_list<std::string_view> parts) {
  std::size_t n = 0;
  for (const std::string_view p : parts) n += p.size();
  std::string out;
  out.reserve(n);
  for (const std::string_view p : parts) out += p;
  return out;
}

/// Compact JSON serialization (strings escaped as JSON requires, UTF-8 kept).
inline void write_json(const json_value& v, std::string& out) {
  switch (v.type()) {
    case json_value::kind::null: out += "null"; return;
    case json_value::kind::boolean: out += v.as_bool() ? "true" : "false"; return;
    case json_value::kind::number: {
      const double d = v.as_number();
      char buf[40];
      if (!std::isfinite(d)) {
        out += "null";
      } else if (d == std::floor(d) && std::fabs(d) < 9007199254740992.0) {
        std::snprintf(buf, sizeof(buf), "%.0f", d);
        out += (std::string(buf) == "-0") ? "0" : buf;
      } else {
        for (int prec = 1; prec <= 17; ++prec) {
          std::snprintf(buf, sizeof(buf), "%.*g", prec, d);
          if (std::strtod(buf, nullptr) == d) break;
        }
        out += buf;
      }
      return;
    }
    case json_value::kind::string: {
      out += '"';
      for (const char ch : v.as_string()) {
        const std::string e = json_escape_of(static_cast<unsigned char>(ch));
        if (!e.empty() && static_cast<unsigned char>(ch) < 0x80) {
          out += e;
        } else {
          out += ch;
        }
      }
      out += '"';
      return;
    }
    case json_value::kind::array: {
      out += '[';
      bool first = true;
      for (const json_value& x : v.items()) {
        if (!first) out += ',';
        first = false;
        write_json(x, out);
      }
      out += ']';
      return;
    }
    case json_value::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, x] : v.members()) {
        if (!first) out += ',';
        first = false;
        write_json(json_value::make_string(k), out);
        out += ':';
        write_json(x, out);
      }
      out += '}';
      return;
    }
  }
}

inline std::string to_json_text(const json_value& v) {
  std::string s;
  write_json(v, s);
  return s;
}

class json_schema_converter {
 public:
  json_schema_converter(const json_value& root, const json_schema_options& opt) : root_(root), opt_(opt) {
    for (const char* n :
         {"space",     "char",    "plain-char", "hex",   "json-u", "string", "integral-part", "number",
          "integer",   "boolean", "null",       "value", "object", "array",  "date",          "time",
          "date-time", "uuid",    "ipv4",       "day28", "day30",  "day31",  "octet"})
      reserved_.insert(n);
  }

  result<std::string> run() {
    MMLLM_TRY_ASSIGN(const std::string top, visit(root_, "", 0));
    if (top != "root") {
      index_["root"] = rules_.size();
      rules_.emplace_back("root", top);
    }
    const std::size_t root_at = index_.at("root");
    std::string out = "root ::= " + rules_[root_at].second + "\n";
    for (std::size_t i = 0; i < rules_.size(); ++i) {
      if (i == root_at) continue;
      out += rules_[i].first;
      out += " ::= ";
      out += rules_[i].second;
      out += '\n';
    }
    if (opt_.warnings != nullptr)
      opt_.warnings->insert(opt_.warnings->end(), warnings_.begin(), warnings_.end());
    return out;
  }

 private:
  const json_value& root_;
  json_schema_options opt_;
  std::vector<std::pair<std::string, std::string>> rules_;
  std::unordered_map<std::string, std::size_t> index_;
  std::unordered_set<std::string> reserved_;
  std::map<std::string, std::string> ref_rules_;
  std::vector<std::string> warnings_;
  std::vector<json_value> merged_;  // storage for merged schemas (stable addresses not needed)

  static constexpr int max_depth = 200;

  // --- rules -----------------------------------------------------------------------------
  std::string sanitize(std::string_view hint) const {
    std::string s;
    for (const char c : hint) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (ok) {
        s += c;
      } else if (!s.empty() && s.back() != '-') {
        s += '-';
      }
    }
    while (!s.empty() && s.back() == '-') s.pop_back();
    if (s.size() > 60) s.resize(60);
    if (s.empty()) s = "item";
    // "root" is the top rule's alone: a property named "{" must not take it ("root-{" → "root").
    if (reserved_.count(s) != 0 || (s == "root" && hint != "root")) s += "-";
    return s;
  }

  /// Adds `name ::= body` (reusing an identical rule) and returns the rule name.
  std::string add_rule(std::string_view hint, const std::string& body) {
    const std::string base = sanitize(hint);
    std::string name = base;
    for (int i = 1;; ++i) {
      auto it = index_.find(name);
      if (it == index_.end()) break;
      if (rules_[it->second].second == body) return name;
      name = base + std::to_string(i);
    }
    index_[name] = rules_.size();
    rules_.emplace_back(name, body);
    return name;
  }
  /// A fresh rule name whose body is set later (for recursive references).
  std::string reserve_rule(std::string_view hint) {
    const std::string base = sanitize(hint);
    std::string name = base;
    for (int i = 1; index_.count(name) != 0; ++i) name = base + std::to_string(i);
    index_[name] = rules_.size();
    rules_.emplace_back(name, "\"\"");
    return name;
  }
  void set_rule(const std::string& name, std::string body) {
    rules_[index_.at(name)].second = std::move(body);
  }

  /// A built-in rule (added with its dependencies on first use).
  std::string primitive(const std::string& name) {
    if (index_.count(name) != 0) return name;
    static const std::map<std::string, std::pair<std::string, std::vector<std::string>>> defs = {
        {"space", {R"(( " " | "\n"{1,2} [ \t]{0,20} )?)", {}}},
        {"hex", {"[0-9a-fA-F]", {}}},
        {"json-u",
         {R"([0-9a-cA-C] hex{3} | [dD] [0-7] hex{2} | [eEfF] hex{3} | [dD] [89abAB] hex{2} "\\u" [dD] [c-fC-F] hex{2})",
          {"hex"}}},
        {"char", {R"([^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" json-u))", {"json-u"}}},
        {"plain-char", {R"([^"\\\x00-\x1F])", {}}},
        {"string", {R"("\"" char* "\"" space)", {"char", "space"}}},
        {"integral-part", {R"("0" | [1-9] [0-9]{0,15})", {}}},
        {"number",
         {R"("-"? integral-part ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})? space)",
          {"integral-part", "space"}}},
        {"integer", {R"("-"? integral-part space)", {"integral-part", "space"}}},
        {"boolean", {R"(("true" | "false") space)", {"space"}}},
        {"null", {R"("null" space)", {"space"}}},
        {"value",
         {"object | array | string | number | boolean | null",
          {"object", "array", "string", "number", "boolean", "null"}}},
        {"object",
         {R"("{" space ( string ":" space value ( "," space string ":" space value )* )? "}" space)",
          {"space", "string", "value"}}},
        {"array", {R"("[" space ( value ( "," space value )* )? "]" space)", {"space", "value"}}},
        {"day31", {R"("0" [1-9] | [12] [0-9] | "3" [01])", {}}},
        {"day30", {R"("0" [1-9] | [12] [0-9] | "30")", {}}},
        {"day28", {R"("0" [1-9] | "1" [0-9] | "2" [0-8])", {}}},
        {"date",
         {R"([0-9]{4} "-" ( "0" [13578] "-" day31 | "1" [02] "-" day31 | "0" [469] "-" day30 | "11-" day30 | "02-" day28 ))",
          {"day31", "day30", "day28"}}},
        {"time",
         {R"(([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9]))",
          {}}},
        {"date-time", {R"(date "T" time)", {"date", "time"}}},
        {"uuid", {R"(hex{8} "-" hex{4} "-" hex{4} "-" hex{4} "-" hex{12})", {"hex"}}},
        {"octet", {R"("25" [0-5] | "2" [0-4] [0-9] | "1" [0-9]{2} | [1-9] [0-9] | [0-9])", {}}},
        {"ipv4", {R"(octet ("." octet){3})", {"octet"}}},
    };
    const auto& d = defs.at(name);
    index_[name] = rules_.size();
    rules_.emplace_back(name, d.first);
    for (const std::string& dep : d.second) primitive(dep);
    return name;
  }

  void warn(std::string w) {
    if (std::find(warnings_.begin(), warnings_.end(), w) == warnings_.end())
      warnings_.push_back(std::move(w));
  }

  // --- schema helpers --------------------------------------------------------------------
  static const json_value* member(const json_value& s, std::string_view k) { return s.find(k); }

  result<const json_value*> resolve_pointer(const std::string& ref) const {
    if (ref.empty() || ref[0] != '#')
      return make_error(errc::unsupported, "json schema: only local $ref ('#...') is supported, got '", ref,
                        "'");
    const json_value* cur = &root_;
    std::string_view p = std::string_view(ref).substr(1);
    if (p.empty()) return cur;
    if (p[0] != '/')
      return make_error(errc::unsupported, "json schema: $ref '", ref, "' is not a JSON pointer");
    while (!p.empty()) {
      p.remove_prefix(1);
      const std::size_t slash = p.find('/');
      std::string_view raw = p.substr(0, slash);
      p = slash == std::string_view::npos ? std::string_view() : p.substr(slash);
      std::string tok;
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '~' && i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
          tok += raw[i + 1] == '0' ? '~' : '/';
          ++i;
        } else if (raw[i] == '%' && i + 2 < raw.size()) {
          tok += static_cast<char>(std::strtol(std::string(raw.substr(i + 1, 2)).c_str(), nullptr, 16));
          i += 2;
        } else {
          tok += raw[i];
        }
      }
      const json_value* next = nullptr;
      if (cur->is_object()) {
        next = cur->find(tok);
      } else if (cur->is_array()) {
        char* end = nullptr;
        const unsigned long i = std::strtoul(tok.c_str(), &end, 10);
        if (!tok.empty() && *end == '\0' && i < cur->items().size()) next = &cur->items()[i];
      }
      if (next == nullptr) return make_error(errc::not_found, "json schema: $ref '", ref, "' points nowhere");
      cur = next;
    }
    return cur;
  }

  /// Follows $ref chains (for merging).
  result<const json_value*> deref(const json_value* s) const {
    for (int i = 0; i < 32; ++i) {
      if (!s->is_object()) return s;
      const json_value* r = s->find("$ref");
      if (r == nullptr || !r->is_string()) return s;
      MMLLM_TRY_ASSIGN(s, resolve_pointer(r->as_string()));
    }
    return make_error(errc::unsupported, "json schema: $ref chain too long");
  }

  static std::vector<std::string> types_of(const json_value& s) {
    std::vector<std::string> t;
    const json_value* ty = s.find("type");
    if (ty == nullptr) return t;
    if (ty->is_string()) t.push_back(ty->as_string());
    if (ty->is_array())
      for (const json_value& x : ty->items())
        if (x.is_string()) t.push_back(x.as_string());
    return t;
  }

  static json_value without(const json_value& s, std::initializer_list<std::string_view> keys) {
    std::vector<std::pair<std::string, json_value>> m;
    for (const auto& [k, v] : s.members())
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) m.emplace_back(k, v);
    return json_value::make_object(std::move(m));
  }
  static json_value with(const json_value& s, std::string_view key, json_value v) {
    std::vector<std::pair<std::string, json_value>> m;
    bool done = false;
    for (const auto& [k, x] : s.members()) {
      if (k == key) {
        m.emplace_back(k, v);
        done = true;
      } else {
        m.emplace_back(k, x);
      }
    }
    if (!done) m.emplace_back(std::string(key), std::move(v));
    return json_value::make_object(std::move(m));
  }

  /// allOf-style merge of two object schemas (b's $refs resolved by the caller).
  result<json_value> merge(const json_value& a, const json_value& b, int depth) {
    if (depth > 32) return make_error(errc::unsupported, "json schema: allOf nested too deeply");
    if (b.is_bool()) {
      if (!b.as_bool()) return make_error(errc::invalid_argument, "json schema: allOf contains false");
      return a;
    }
    if (a.is_bool()) {
      if (!a.as_bool()) return make_error(errc::invalid_argument, "json schema: allOf contains false");
      return b;
    }
    json_value out = a;
    for (const auto& [k, bv] : b.members()) {
      const json_value* av = out.find(k);
      if (av == nullptr) {
        out = with(out, k, bv);
        continue;
      }
      if (k == "properties" && av->is_object() && bv.is_object()) {
        json_value props = *av;
        for (const auto& [pk, pv] : bv.members()) {
          const json_value* existing = props.find(pk);
          if (existing == nullptr) {
            props = with(props, pk, pv);
          } else {
            MMLLM_TRY_ASSIGN(const json_value* e2, deref(existing));
            MMLLM_TRY_ASSIGN(const json_value* p2, deref(&pv));
            MMLLM_TRY_ASSIGN(json_value m, merge(*e2, *p2, depth + 1));
            props = with(props, pk, std::move(m));
          }
        }
        out = with(out, k, std::move(props));
      } else if (k == "required" && av->is_array() && bv.is_array()) {
        std::vector<json_value> req = av->items();
        for (const json_value& r : bv.items()) {
          bool have = false;
          for (const json_value& x : req)
            have = have || (x.is_string() && r.is_string() && x.as_string() == r.as_string());
          if (!have) req.push_back(r);
        }
        out = with(out, k, json_value::make_array(std::move(req)));
      } else if (k == "type") {
        std::vector<std::string> ta = types_of(out), tb;
        if (bv.is_string()) tb.push_back(bv.as_string());
        if (bv.is_array())
          for (const json_value& x : bv.items())
            if (x.is_string()) tb.push_back(x.as_string());
        std::vector<json_value> both;
        for (const std::string& x : ta)
          for (const std::string& y : tb) {
            std::string t;
            if (x == y) t = x;
            if ((x == "number" && y == "integer") || (x == "integer" && y == "number")) t = "integer";
            if (!t.empty()) both.push_back(json_value::make_string(t));
          }
        if (both.empty())
          return make_error(errc::invalid_argument, "json schema: allOf types do not intersect");
        out = with(out, k, both.size() == 1 ? both[0] : json_value::make_array(std::move(both)));
      } else if ((k == "minimum" || k == "minLength" || k == "minItems" || k == "exclusiveMinimum") &&
                 av->is_number() && bv.is_number()) {
        out = with(out, k, json_value::make_number(std::max(av->as_number(), bv.as_number())));
      } else if ((k == "maximum" || k == "maxLength" || k == "maxItems" || k == "exclusiveMaximum") &&
                 av->is_number() && bv.is_number()) {
        out = with(out, k, json_value::make_number(std::min(av->as_number(), bv.as_number())));
      } else if (k == "enum" && av->is_array() && bv.is_array()) {
        std::vector<json_value> common;
        for (const json_value& x : av->items())
          for (const json_value& y : bv.items())
            if (to_json_text(x) == to_json_text(y)) common.push_back(x);
        if (common.empty())
          return make_error(errc::invalid_argument, "json schema: allOf enums do not intersect");
        out = with(out, k, json_value::make_array(std::move(common)));
      } else if (k == "const") {
        if (to_json_text(*av) != to_json_text(bv))
          return make_error(errc::invalid_argument, "json schema: allOf has two different consts");
      } else if (k == "additionalProperties" || k == "items") {
        if ((av->is_bool() && !av->as_bool()) || (bv.is_bool() && !bv.as_bool())) {
          out = with(out, k, json_value::make_bool(false));
        } else if (av->is_object() && bv.is_object()) {
          MMLLM_TRY_ASSIGN(const json_value* a2, deref(av));
          MMLLM_TRY_ASSIGN(const json_value* b2, deref(&bv));
          MMLLM_TRY_ASSIGN(json_value m, merge(*a2, *b2, depth + 1));
          out = with(out, k, std::move(m));
        } else if (av->is_bool()) {
          out = with(out, k, bv);
        }
      } else if (k == "allOf" && av->is_array() && bv.is_array()) {
        std::vector<json_value> all = av->items();
        all.insert(all.end(), bv.items().begin(), bv.items().end());
        out = with(out, k, json_value::make_array(std::move(all)));
      } else if (to_json_text(*av) != to_json_text(bv)) {
        warn("json schema: allOf: only the first '" + k + "' is enforced");
      }
    }
    return out;
  }

  static bool has_any(const json_value& s, std::initializer_list<std::string_view> keys) {
    for (const std::string_view k : keys)
      if (s.find(k) != nullptr) return true;
    return false;
  }

  // --- visiting --------------------------------------------------------------------------
  /// Returns a GBNF expression (usually a rule name) for schema `s`.
  result<std::string> visit(const json_value& s, const std::string& name, int depth) {
    if (depth > max_depth) return make_error(errc::resource_limit, "json schema: nested too deeply");
    const std::string hint = name.empty() ? "root" : name;
    if (s.is_bool()) {
      if (!s.as_bool()) return make_error(errc::invalid_argument, "json schema: 'false' matches nothing");
      return primitive("value");
    }
    if (!s.is_object())
      return make_error(errc::invalid_argument, "json schema: a schema must be an object or boolean");

    if (const json_value* r = s.find("$ref")) {
      if (!r->is_string()) return make_error(errc::invalid_argument, "json schema: $ref must be a string");
      const std::string& ref = r->as_string();
      if (has_any(s, {"type", "properties", "items", "enum", "const", "anyOf", "oneOf", "allOf"}))
        warn("json schema: keywords next to $ref are ignored");
      auto it = ref_rules_.find(ref);
      if (it != ref_rules_.end()) return it->second;
      MMLLM_TRY_ASSIGN(const json_value* target, resolve_pointer(ref));
      const std::size_t slash = ref.rfind('/');
      std::string rule =
          reserve_rule("ref-" + (slash == std::string::npos ? std::string("root") : ref.substr(slash + 1)));
      ref_rules_[ref] = rule;
      MMLLM_TRY_ASSIGN(const std::string body, visit(*target, rule, depth + 1));
      set_rule(rule, body);
      return rule;
    }
    if (const json_value* all = s.find("allOf")) {
      if (!all->is_array()) return make_error(errc::invalid_argument, "json schema: allOf must be an array");
      json_value merged = without(s, {"allOf"});
      for (const json_value& sub : all->items()) {
        MMLLM_TRY_ASSIGN(const json_value* d, deref(&sub));
        MMLLM_TRY_ASSIGN(merged, merge(merged, *d, 0));
      }
      if (merged.find("allOf") != nullptr) return visit(merged, name, depth + 1);  // nested allOf
      return visit(merged, name, depth + 1);
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      const json_value* alts = s.find(key);
      if (alts == nullptr) continue;
      if (!alts->is_array() || alts->items().empty())
        return make_error(errc::invalid_argument, "json schema: ", key, " must be a non-empty array");
      const json_value base = without(s, {"anyOf", "oneOf"});
      const bool plain_base = base.members().empty() ||
                              !has_any(base, {"type", "properties", "required", "items", "minimum", "maximum",
                                              "minLength", "maxLength", "pattern", "enum", "const", "format",
                                              "additionalProperties", "minItems", "maxItems", "nullable"});
      std::string body;
      for (std::size_t i = 0; i < alts->items().size(); ++i) {
        const json_value& alt = alts->items()[i];
        std::string e;
        const std::string sub = hint + "-" + std::to_string(i);
        if (plain_base) {
          MMLLM_TRY_ASSIGN(e, visit(alt, sub, depth + 1));
        } else {
          MMLLM_TRY_ASSIGN(const json_value* d, deref(&alt));
          MMLLM_TRY_ASSIGN(const json_value m, merge(base, *d, 0));
          MMLLM_TRY_ASSIGN(e, visit(m, sub, depth + 1));
        }
        if (!body.empty()) body += " | ";
        body += e;
      }
      return add_rule(hint, body);
    }
    if (const json_value* nb = s.find("nullable"); nb != nullptr && nb->as_bool()) {
      MMLLM_TRY_ASSIGN(const std::string e, visit(without(s, {"nullable"}), hint + "-value", depth + 1));
      return add_rule(hint, e + " | " + primitive("null"));
    }
    if (const json_value* c = s.find("const")) {
      return add_rule(hint, gbnf_literal(to_json_text(*c)) + " " + primitive("space"));
    }
    std::vector<std::string> types = types_of(s);
    if (const json_value* en = s.find("enum")) {
      if (!en->is_array() || en->items().empty())
        return make_error(errc::invalid_argument, "json schema: enum must be a non-empty array");
      std::string body = "(";
      bool first = true;
      for (const json_value& v : en->items()) {
        if (!types.empty() && !matches_type(v, types)) continue;
        if (!first) body += " | ";
        first = false;
        body += gbnf_literal(to_json_text(v));
      }
      if (first)
        return make_error(errc::invalid_argument, "json schema: no enum value has the schema's type");
      body += ") " + primitive("space");
      return add_rule(hint, body);
    }
    if (types.size() > 1) {
      std::string body;
      for (const std::string& t : types) {
        MMLLM_TRY_ASSIGN(const std::string e, visit(with(s, "type", json_value::make_string(t)),
                                                    str_cat({hint, "-", t}), depth + 1));
        if (!body.empty()) body += " | ";
        body += e;
      }
      return add_rule(hint, body);
    }
    std::string type = types.empty() ? infer_type(s) : types[0];
    for (const char* k :
         {"not", "if", "then", "else", "dependentRequired", "dependentSchemas", "dependencies"})
      if (s.find(k) != nullptr) warn(std::string("json schema: '") + k + "' is not enforced");
    if (type == "string") return string_rule(s, hint);
    if (type == "number" || type == "integer") return number_rule(s, hint, type == "integer");
    if (type == "boolean") return name.empty() ? add_rule(hint, primitive("boolean")) : primitive("boolean");
    if (type == "null") return name.empty() ? add_rule(hint, primitive("null")) : primitive("null");
    if (type == "object") return object_rule(s, hint, depth);
    if (type == "array") return array_rule(s, hint, depth);
    if (type.empty()) return name.empty() ? add_rule(hint, primitive("value")) : primitive("value");
    return make_error(errc::invalid_argument, "json schema: unknown type '", type, "'");
  }

  static bool matches_type(const json_value& v, const std::vector<std::string>& types) {
    for (const std::string& t : types) {
      switch (v.type()) {
        case json_value::kind::null:
          if (t == "null") return true;
          break;
        case json_value::kind::boolean:
          if (t == "boolean") return true;
          break;
        case json_value::kind::number:
          if (t == "number" || (t == "integer" && v.as_number() == std::floor(v.as_number()))) return true;
          break;
        case json_value::kind::string:
          if (t == "string") return true;
          break;
        case json_value::kind::array:
          if (t == "array") return true;
          break;
        case json_value::kind::object:
          if (t == "object") return true;
          break;
      }
    }
    return false;
  }

  static std::string infer_type(const json_value& s) {
    if (has_any(s, {"properties", "additionalProperties", "required", "patternProperties", "minProperties",
                    "maxProperties", "propertyNames"}))
      return "object";
    if (has_any(s, {"items", "prefixItems", "minItems", "maxItems", "additionalItems", "contains",
                    "uniqueItems"}))
      return "array";
    if (has_any(s, {"pattern", "minLength", "maxLength", "format"})) return "string";
    if (has_any(s, {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}))
      return "number";
    return "";
  }

  result<std::uint64_t> count(const json_value& s, std::string_view key, std::uint64_t fallback) {
    const json_value* v = s.find(key);
    if (v == nullptr) return fallback;
    if (!v->is_number() || v->as_number() < 0 || v->as_number() != std::floor(v->as_number()))
      return make_error(errc::invalid_argument, "json schema: '", key, "' must be a non-negative integer");
    return v->as_number() > 1e15 ? std::uint64_t{1000000000000000}
                                 : static_cast<std::uint64_t>(v->as_number());
  }

  /// `item{min,max}` (max = nullopt: unbounded), bounds checked against max_repetition.
  result<std::string> repetition(const std::string& item, std::uint64_t min, std::optional<std::uint64_t> max,
                                 std::string_view what) {
    if (max && *max < min)
      return make_error(errc::invalid_argument, "json schema: ", what, ": maximum below minimum");
    if (min > opt_.max_repetition)
      return make_error(errc::resource_limit, "json schema: ", what, " minimum ", std::to_string(min),
                        " exceeds ", std::to_string(opt_.max_repetition));
    if (max && *max > opt_.max_repetition) {
      warn("json schema: " + std::string(what) + " maximum " + std::to_string(*max) + " above " +
           std::to_string(opt_.max_repetition) + " is not enforced");
      max.reset();
    }
    if (max && *max == 0) return std::string();
    if (!max) {
      if (min == 0) return item + "*";
      if (min == 1) return item + "+";
      return item + "{" + std::to_string(min) + ",}";
    }
    if (min == 0 && *max == 1) return item + "?";
    if (min == *max) return item + "{" + std::to_string(min) + "}";
    return item + "{" + std::to_string(min) + "," + std::to_string(*max) + "}";
  }

  result<std::string> string_rule(const json_value& s, const std::string& hint) {
    const json_value* pattern = s.find("pattern");
    if (pattern != nullptr && pattern->is_string()) {
      if (has_any(s, {"minLength", "maxLength"}))
        warn("json schema: minLength/maxLength next to a pattern are not enforced");
      MMLLM_TRY_ASSIGN(regex_gbnf r, regex_to_json_string_gbnf(pattern->as_string(), opt_.max_repetition));
      for (std::string& w : r.warnings) warn(std::move(w));
      return add_rule(hint, "\"\\\"\" (" + r.expression + ") \"\\\"\" " + primitive("space"));
    }
    if (const json_value* f = s.find("format"); f != nullptr && f->is_string()) {
      const std::string& fmt = f->as_string();
      std::string inner;
      if (fmt == "date" || fmt == "time" || fmt == "date-time" || fmt == "ipv4") inner = primitive(fmt);
      if (fmt == "uuid" || (fmt.size() == 5 && fmt.rfind("uuid", 0) == 0 && fmt[4] >= '1' && fmt[4] <= '5'))
        inner = primitive("uuid");
      if (!inner.empty()) return add_rule(hint, "\"\\\"\" " + inner + " \"\\\"\" " + primitive("space"));
      warn("json schema: string format '" + fmt + "' is not enforced");
    }
    MMLLM_TRY_ASSIGN(const std::uint64_t min, count(s, "minLength", 0));
    std::optional<std::uint64_t> max;
    if (s.find("maxLength") != nullptr) {
      MMLLM_TRY_ASSIGN(max, count(s, "maxLength", 0));
    }
    if (min == 0 && !max) return primitive("string");
    MMLLM_TRY_ASSIGN(const std::string body, repetition(primitive("char"), min, max, "string length"));
    return add_rule(
        hint, "\"\\\"\" " + (body.empty() ? std::string() : body + " ") + "\"\\\"\" " + primitive("space"));
  }

  result<std::string> number_rule(const json_value& s, const std::string& hint, bool integer) {
    number_range r;
    r.integer = integer;
    r.fraction_digits = opt_.fraction_digits;
    auto num = [&](std::string_view k) -> const json_value* {
      const json_value* v = s.find(k);
      return v != nullptr && v->is_number() ? v : nullptr;
    };
    if (const json_value* v = num("minimum")) r.min = v->as_number();
    if (const json_value* v = num("maximum")) r.max = v->as_number();
    if (const json_value* v = num("exclusiveMinimum"); v != nullptr && (!r.min || v->as_number() >= *r.min)) {
      r.min = v->as_number();
      r.exclusive_min = true;
    }
    if (const json_value* v = num("exclusiveMaximum"); v != nullptr && (!r.max || v->as_number() <= *r.max)) {
      r.max = v->as_number();
      r.exclusive_max = true;
    }
    // draft 4: exclusiveMinimum / exclusiveMaximum as booleans
    if (const json_value* v = s.find("exclusiveMinimum");
        v != nullptr && v->is_bool() && v->as_bool() && r.min)
      r.exclusive_min = true;
    if (const json_value* v = s.find("exclusiveMaximum");
        v != nullptr && v->is_bool() && v->as_bool() && r.max)
      r.exclusive_max = true;
    if (s.find("multipleOf") != nullptr) warn("json schema: multipleOf is not enforced");
    if (!r.min && !r.max) return primitive(integer ? "integer" : "number");
    MMLLM_TRY_ASSIGN(const std::string e, number_range_gbnf(r));
    return add_rule(hint, "(" + e + ") " + primitive("space"));
  }

  /// A JSON string (written with plain characters) that is none of `keys`.
  std::string key_not_in(const std::vector<std::string>& keys, const std::string& hint) {
    struct node {
      std::map<char32_t, std::size_t> next;
      bool end = false;
    };
    std::vector<node> trie(1);
    for (const std::string& k : keys) {
      std::size_t n = 0;
      for (std::size_t pos = 0; pos < k.size();) {
        char32_t c = 0;
        std::size_t len = utf8_decode_strict(k, pos, c);
        if (len == 0) {
          c = static_cast<unsigned char>(k[pos]);
          len = 1;
        }
        pos += len;
        auto it = trie[n].next.find(c);
        if (it == trie[n].next.end()) {
          trie.emplace_back();
          it = trie[n].next.emplace(c, trie.size() - 1).first;
        }
        n = it->second;
      }
      trie[n].end = true;
    }
    const std::string pc = primitive("plain-char");
    // rule per trie node: the rest of a key that is not a listed key
    std::vector<std::string> names(trie.size());
    for (std::size_t i = 0; i < trie.size(); ++i) names[i] = reserve_rule(hint + "-key-" + std::to_string(i));
    for (std::size_t i = 0; i < trie.size(); ++i) {
      const node& nd = trie[i];
      std::vector<std::string> alts;
      if (!nd.end) alts.emplace_back("\"\"");
      code_point_set used;
      for (const auto& [c, child] : nd.next) {
        used.add(c, c);
        alts.push_back(json_char_set_gbnf(code_point_set(c, c)) + " " + names[child]);
      }
      code_point_set others = code_point_set(0, 0x10FFFF).minus(code_point_set(0xD800, 0xDFFF)).minus(used);
      others = others.minus(code_point_set(0, 0x1F))
                   .minus(code_point_set('"', '"'))
                   .minus(code_point_set('\\', '\\'));
      if (!others.empty()) alts.push_back(json_char_set_gbnf(others) + " " + pc + "*");
      std::string body;
      for (std::size_t j = 0; j < alts.size(); ++j) {
        if (j > 0) body += " | ";
        body += alts[j];
      }
      set_rule(names[i], body.empty() ? std::string("\"\"") : body);
    }
    return add_rule(hint + "-key", "\"\\\"\" " + names[0] + " \"\\\"\" " + primitive("space"));
  }

  result<std::string> object_rule(const json_value& s, const std::string& hint, int depth) {
    for (const char* k : {"minProperties", "maxProperties", "patternProperties", "propertyNames"})
      if (s.find(k) != nullptr) warn(std::string("json schema: '") + k + "' is not enforced");
    std::vector<std::pair<std::string, const json_value*>> props;
    if (const json_value* p = s.find("properties")) {
      if (!p->is_object())
        return make_error(errc::invalid_argument, "json schema: properties must be an object");
      for (const auto& [k, v] : p->members()) props.emplace_back(k, &v);
    }
    std::unordered_set<std::string> required;
    static const json_value any_schema = json_value::make_object({});
    if (const json_value* r = s.find("required"); r != nullptr && r->is_array()) {
      for (const json_value& x : r->items()) {
        if (!x.is_string()) continue;
        required.insert(x.as_string());
        bool declared = false;
        for (const auto& pr : props) declared = declared || pr.first == x.as_string();
        if (!declared) props.emplace_back(x.as_string(), &any_schema);
      }
    }
    // additional properties: none, any value, or a schema
    const json_value* add = s.find("additionalProperties");
    bool additional = props.empty();
    const json_value* add_schema = nullptr;
    if (add != nullptr) {
      if (add->is_bool()) {
        additional = add->as_bool();
      } else if (add->is_object()) {
        additional = true;
        add_schema = add;
      }
    }
    const std::string sp = primitive("space");
    std::vector<std::string> kv(props.size());
    for (std::size_t i = 0; i < props.size(); ++i) {
      const std::string& key = props[i].first;
      MMLLM_TRY_ASSIGN(const std::string value,
                       visit(*props[i].second, str_cat({hint, "-", key}), depth + 1));
      kv[i] = add_rule(str_cat({hint, "-", key, "-kv"}),
                       str_cat({gbnf_literal(to_json_text(json_value::make_string(key))), " ", sp, " \":\" ",
                                sp, " ", value}));
    }
    std::string add_kv;
    if (additional) {
      std::string value;
      if (add_schema != nullptr) {
        MMLLM_TRY_ASSIGN(value, visit(*add_schema, hint + "-additional", depth + 1));
      } else {
        value = primitive("value");
      }
      std::vector<std::string> names;
      names.reserve(props.size());
      for (const auto& pr : props) names.push_back(pr.first);
      const std::string key = names.empty() ? primitive("string") : key_not_in(names, hint + "-additional");
      add_kv = add_rule(hint + "-additional-kv", key + " \":\" " + sp + " " + value);
    }
    // first_i / more_i: what may follow from property i on, before any property was written
    // (first) or after one (more, so a comma comes first); one rule each keeps bodies small.
    const std::string eps = "\"\"";
    std::string first = eps, more = eps;
    if (!add_kv.empty()) {
      first = add_rule(hint + "-tail-first", "( " + add_kv + " (\",\" " + sp + " " + add_kv + ")* )?");
      more = add_rule(hint + "-tail-more", "(\",\" " + sp + " " + add_kv + ")*");
    }
    for (std::size_t i = props.size(); i-- > 0;) {
      const bool req = required.count(props[i].first) != 0;
      const std::string tail = more == eps ? std::string() : " " + more;
      const std::string take_first = kv[i] + tail;
      const std::string take_more = str_cat({"\",\" ", sp, " ", kv[i], tail});
      const std::string n = str_cat({hint, "-", std::to_string(i)});
      if (req) {
        first = add_rule(str_cat({n, "-first"}), take_first);
        more = add_rule(str_cat({n, "-more"}), take_more);
      } else {
        first = add_rule(str_cat({n, "-first"}), str_cat({take_first, " | ", first}));
        more = add_rule(str_cat({n, "-more"}), str_cat({take_more, " | ", more}));
      }
    }
    return add_rule(hint, "\"{\" " + sp + " " + (first == eps ? std::string() : first + " ") + "\"}\" " + sp);
  }

  result<std::string> array_rule(const json_value& s, const std::string& hint, int depth) {
    for (const char* k : {"uniqueItems", "contains", "minContains", "maxContains"})
      if (s.find(k) != nullptr) warn(std::string("json schema: '") + k + "' is not enforced");
    MMLLM_TRY_ASSIGN(const std::uint64_t min, count(s, "minItems", 0));
    std::optional<std::uint64_t> max;
    if (s.find("maxItems") != nullptr) {
      MMLLM_TRY_ASSIGN(max, count(s, "maxItems", 0));
    }
    if (max && *max < min) return make_error(errc::invalid_argument, "json schema: maxItems below minItems");
    const std::string sp = primitive("space");
    const json_value* prefix = s.find("prefixItems");
    const json_value* items = s.find("items");
    const json_value* extra = items;
    if (prefix == nullptr && items != nullptr && items->is_array()) {  // draft 7 tuple
      prefix = items;
      extra = s.find("additionalItems");
    }
    std::vector<std::string> parts;
    std::uint64_t fixed = 0;
    if (prefix != nullptr && prefix->is_array()) {
      std::size_t n = prefix->items().size();
      if (max && *max < n) n = static_cast<std::size_t>(*max);
      for (std::size_t i = 0; i < n; ++i) {
        MMLLM_TRY_ASSIGN(const std::string e,
                         visit(prefix->items()[i], hint + "-" + std::to_string(i), depth + 1));
        parts.push_back(e);
      }
      fixed = n;
      if (n < prefix->items().size() || extra == nullptr || (extra->is_bool() && !extra->as_bool())) {
        // the tuple only
        std::string body = "\"[\" " + sp;
        for (std::size_t i = 0; i < parts.size(); ++i)
          body += (i > 0 ? " \",\" " + sp + " " : " ") + parts[i];
        return add_rule(hint, body + " \"]\" " + sp);
      }
    }
    std::string item;
    if (extra == nullptr || (extra->is_bool() && extra->as_bool())) {
      item = primitive("value");
    } else if (extra->is_bool()) {  // "items": false: no items at all
      if (min > 0) return make_error(errc::invalid_argument, "json schema: minItems > 0 with items: false");
      return add_rule(hint, "\"[\" " + sp + " \"]\" " + sp);
    } else {
      MMLLM_TRY_ASSIGN(item, visit(*extra, hint + "-item", depth + 1));
    }
    const std::uint64_t more_min = min > fixed ? min - fixed : 0;
    std::optional<std::uint64_t> more_max;
    if (max) more_max = *max - fixed;
    std::string body = "\"[\" " + sp;
    if (fixed > 0) {
      for (std::size_t i = 0; i < parts.size(); ++i) body += (i > 0 ? " \",\" " + sp + " " : " ") + parts[i];
      MMLLM_TRY_ASSIGN(const std::string rep,
                       repetition("(\",\" " + sp + " " + item + ")", more_min, more_max, "array items"));
      if (!rep.empty()) body += " " + rep;
    } else if (more_min == 0) {
      if (!more_max || *more_max > 0) {
        std::optional<std::uint64_t> tail_max;
        if (more_max) tail_max = *more_max - 1;
        MMLLM_TRY_ASSIGN(const std::string rep,
                         repetition("(\",\" " + sp + " " + item + ")", 0, tail_max, "array items"));
        body += " (" + item + (rep.empty() ? std::string() : " " + rep) + ")?";
      }
    } else {
      std::optional<std::uint64_t> tail_max;
      if (more_max) tail_max = *more_max - 1;
      MMLLM_TRY_ASSIGN(const std::string rep,
                       repetition("(\",\" " + sp + " " + item + ")", more_min - 1, tail_max, "array items"));
      body += " " + item + (rep.empty() ? std::string() : " " + rep);
    }
    return add_rule(hint, body + " \"]\" " + sp);
  }
};

}  // namespace detail

/// Converts a parsed JSON Schema to GBNF (root rule "root").
inline result<std::string> json_schema_to_gbnf(const json_value& schema,
                                               const json_schema_options& opt = {}) {
  detail::json_schema_converter c(schema, opt);
  MMLLM_TRY_ASSIGN(std::string gbnf, c.run());
  // keys, enum/const values and patterns are copied into the grammar: they must be UTF-8
  // (the JSON reader keeps invalid bytes and lone surrogate escapes as they are)
  for (std::size_t pos = 0; pos < gbnf.size();) {
    char32_t cp = 0;
    const std::size_t len = detail::utf8_decode_strict(gbnf, pos, cp);
    if (len == 0)
      return make_error(errc::invalid_argument, "json schema: a string in the schema is not valid UTF-8");
    pos += len;
  }
  return gbnf;
}

/// Converts JSON Schema text to GBNF (root rule "root").
inline result<std::string> json_schema_to_gbnf(std::string_view schema_json,
                                               const json_schema_options& opt = {}) {
  MMLLM_TRY_ASSIGN(const json_value schema, json_parse(schema_json));
  return json_schema_to_gbnf(schema, opt);
}

/// OpenAI response_format: {"type": "text"} (no grammar: returns ""), {"type": "json_object"}
/// (any JSON object, or the optional "schema"), {"type": "json_schema", "json_schema":
/// {"schema": …}}.
inline result<std::string> response_format_to_gbnf(std::string_view response_format_json,
                                                   const json_schema_options& opt = {}) {
  MMLLM_TRY_ASSIGN(const json_value rf, json_parse(response_format_json));
  const std::string_view type = rf.string_or("type", "");
  if (type == "text" || type.empty()) return std::string();
  if (type == "json_object") {
    if (const json_value* s = rf.find("schema")) return json_schema_to_gbnf(*s, opt);
    return json_schema_to_gbnf(json_value::make_object({{"type", json_value::make_string("object")}}), opt);
  }
  if (type == "json_schema") {
    const json_value* js = rf.find("json_schema");
    const json_value* s = js != nullptr ? js->find("schema") : nullptr;
    if (s == nullptr)
      return make_error(errc::invalid_argument, "response_format: json_schema.schema is missing");
    return json_schema_to_gbnf(*s, opt);
  }
  return make_error(errc::invalid_argument, "response_format: unknown type '", type, "'");
}

}  // namespace mmllm
