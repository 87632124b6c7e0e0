// A corpus of JSON schemas (every feature json_schema_grammar.hpp supports), each converted to
// GBNF and used to generate documents over many seeds from real vocabularies (random allowed
// tokens: any token the grammar permits may come next). Every document must parse with
// nlohmann::json (an independent parser) and pass the small schema validator below (an
// independent reading of JSON Schema: types, properties/required, additionalProperties, enum,
// const, items/prefixItems, min/maxItems, min/maxLength in code points, pattern via
// std::wregex, number ranges, anyOf/oneOf/allOf, $ref, formats date/uuid).
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include <mmllm/sampling/json_schema_grammar.hpp>

#include "catch.hpp"
#include "sampling_test_support.hpp"

namespace {

using nlohmann::json;

// --- an independent validator ---------------------------------------------------------------

std::u32string utf8_to_u32(const std::string& s) {
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = 0;
    char32_t cp = 0;
    if (c < 0x80) {
      cp = c;
    } else if ((c >> 5) == 6) {
      n = 1;
      cp = c & 0x1Fu;
    } else if ((c >> 4) == 14) {
      n = 2;
      cp = c & 0x0Fu;
    } else {
      n = 3;
      cp = c & 0x07u;
    }
    for (int k = 1; k <= n && i + static_cast<std::size_t>(k) < s.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]) & 0x3Fu);
    out.push_back(cp);
    i += static_cast<std::size_t>(n) + 1;
  }
  return out;
}

class schema_validator {
 public:
  explicit schema_validator(const json& root) : root_(root) {}

  /// Empty when `v` is valid; otherwise the first reason it is not.
  std::string check(const json& v) const { return check(root_, v, "$"); }

 private:
  const json& root_;

  const json& resolve(const std::string& ref) const {
    if (ref == "#") return root_;
    REQUIRE(ref.rfind("#/", 0) == 0);
    return root_.at(json::json_pointer(ref.substr(1)));
  }

  static bool has_type(const json& v, const std::string& t) {
    if (t == "null") return v.is_null();
    if (t == "boolean") return v.is_boolean();
    if (t == "string") return v.is_string();
    if (t == "array") return v.is_array();
    if (t == "object") return v.is_object();
    if (t == "number") return v.is_number();
    if (t == "integer")
      return v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
    return false;
  }

  static bool json_equal(const json& a, const json& b) {
    if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
    return a == b;
  }

  std::string check(const json& s, const json& v, const std::string& at) const {
    if (s.is_boolean()) return s.get<bool>() ? "" : at + ": schema false";
    if (s.contains("$ref")) return check(resolve(s["$ref"].get<std::string>()), v, at);
    if (s.contains("type")) {
      bool ok = false;
      if (s["type"].is_array()) {
        for (const json& t : s["type"]) ok = ok || has_type(v, t.get<std::string>());
      } else {
        ok = has_type(v, s["type"].get<std::string>());
      }
      if (!ok) return at + ": not of type " + s["type"].dump();
    }
    if (s.contains("const") && !json_equal(s["const"], v)) return at + ": not the const";
    if (s.contains("enum")) {
      bool ok = false;
      for (const json& e : s["enum"]) ok = ok || json_equal(e, v);
      if (!ok) return at + ": not in the enum";
    }
    if (s.contains("allOf"))
      for (const json& sub : s["allOf"])
        if (auto e = check(sub, v, at); !e.empty()) return "allOf: " + e;
    if (s.contains("anyOf")) {
      bool ok = false;
      for (const json& sub : s["anyOf"]) ok = ok || check(sub, v, at).empty();
      if (!ok) return at + ": no anyOf alternative matches";
    }
    if (s.contains("oneOf")) {
      int n = 0;
      for (const json& sub : s["oneOf"]) n += check(sub, v, at).empty() ? 1 : 0;
      if (n != 1) return at + ": " + std::to_string(n) + " oneOf alternatives match";
    }
    if (v.is_string()) {
      const std::string& str = v.get_ref<const std::string&>();
      const std::u32string cps = utf8_to_u32(str);
      if (s.contains("minLength") && cps.size() < s["minLength"].get<std::size_t>())
        return at + ": too short";
      if (s.contains("maxLength") && cps.size() > s["maxLength"].get<std::size_t>()) return at + ": too long";
      if (s.contains("pattern")) {
        const std::u32string p32 = utf8_to_u32(s["pattern"].get<std::string>());
        const std::wstring wp(p32.begin(), p32.end()), ws(cps.begin(), cps.end());
        if (!std::regex_search(ws, std::wregex(wp, std::regex::ECMAScript)))
          return at + ": does not match the pattern";
      }
      if (s.contains("format")) {
        static const std::regex date(R"(^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$)");
        static const std::regex uuid(R"(^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$)");
        const std::string f = s["format"].get<std::string>();
        if (f == "date" && !std::regex_match(str, date)) return at + ": not a date";
        if (f == "uuid" && !std::regex_match(str, uuid)) return at + ": not a uuid";
      }
    }
    if (v.is_number()) {
      const double x = v.get<double>();
      if (s.contains("minimum") && x < s["minimum"].get<double>()) return at + ": below minimum";
      if (s.contains("maximum") && x > s["maximum"].get<double>()) return at + ": above maximum";
      if (s.contains("exclusiveMinimum") && x <= s["exclusiveMinimum"].get<double>())
        return at + ": not above exclusiveMinimum";
      if (s.contains("exclusiveMaximum") && x >= s["exclusiveMaximum"].get<double>())
        return at + ": not below exclusiveMaximum";
    }
    if (v.is_array()) {
      if (s.contains("minItems") && v.size() < s["minItems"].get<std::size_t>())
        return at + ": too few items";
      if (s.contains("maxItems") && v.size() > s["maxItems"].get<std::size_t>())
        return at + ": too many items";
      std::size_t first = 0;
      if (s.contains("prefixItems")) {
        const json& pre = s["prefixItems"];
        for (; first < pre.size() && first < v.size(); ++first)
          if (auto e = check(pre[first], v[first], at + "[" + std::to_string(first) + "]"); !e.empty())
            return e;
      }
      if (s.contains("items"))
        for (std::size_t i = first; i < v.size(); ++i)
          if (auto e = check(s["items"], v[i], at + "[" + std::to_string(i) + "]"); !e.empty()) return e;
    }
    if (v.is_object()) {
      if (s.contains("required"))
        for (const json& k : s["required"])
          if (!v.contains(k.get<std::string>())) return at + ": missing " + k.get<std::string>();
      const json props = s.value("properties", json::object());
      for (const auto& [k, x] : v.items()) {
        if (props.contains(k)) {
          if (auto e = check(props[k], x, at + "." + k); !e.empty()) return e;
        } else if (s.contains("additionalProperties")) {
          if (auto e = check(s["additionalProperties"], x, at + "." + k); !e.empty()) return e;
        }
      }
    }
    return "";
  }
};

// --- the corpus ------------------------------------------------------------------------------

const std::vector<const char*>& corpus() {
  static const std::vector<const char*> schemas = {
      // types
      R"({"type": "string"})",
      R"({"type": "integer"})",
      R"({"type": "number"})",
      R"({"type": "boolean"})",
      R"({"type": "null"})",
      R"({"type": ["string", "null"]})",
      R"({"type": ["integer", "boolean", "array"], "items": {"type": "integer"}, "maxItems": 3})",
      // {} and true: any JSON value
      R"({})",
      R"({"type": "array", "items": {}, "maxItems": 4})",
      R"({"type": "object", "additionalProperties": true, "maxProperties": 3})",
      // properties / required / additionalProperties
      R"({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
          "required": ["name", "age"]})",
      R"({"type": "object", "properties": {"a": {"type": "boolean"}, "b": {"type": "null"}, "c": {"type": "number"}},
          "required": ["b"]})",
      R"({"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"],
          "additionalProperties": false})",
      R"({"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"],
          "additionalProperties": {"type": "string", "maxLength": 5}})",
      R"({"type": "object", "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 9}})",
      R"({"type": "object", "properties": {"x": {"type": "string"}}, "additionalProperties": true})",
      R"({"properties": {"k": {"enum": ["a", "b"]}}, "required": ["k"]})",
      // enum / const
      R"({"enum": ["red", "green", "blue"]})",
      R"({"enum": [1, "two", null, true, [3], {"four": 4}]})",
      R"({"type": "string", "enum": ["x", 1, "y\"q", "\u00e9t\u00e9"]})",
      R"({"const": {"kind": "fixed", "v": [1, 2.5, "\u4e2d"]}})",
      R"({"type": "object", "properties": {"version": {"const": 2}, "tag": {"const": "v2"}},
          "required": ["version", "tag"]})",
      // arrays
      R"({"type": "array", "items": {"type": "string"}})",
      R"({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 4})",
      R"({"type": "array", "items": {"type": "boolean"}, "minItems": 3, "maxItems": 3})",
      R"({"type": "array", "maxItems": 0})",
      R"({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": {"type": "null"},
          "maxItems": 4})",
      R"({"type": "array", "items": {"type": "array", "items": {"type": "number"}, "maxItems": 2},
          "minItems": 1, "maxItems": 3})",
      // strings
      R"({"type": "string", "minLength": 3})",
      R"({"type": "string", "maxLength": 4})",
      R"({"type": "string", "minLength": 2, "maxLength": 6})",
      R"({"type": "string", "pattern": "^[a-z]{3}-\\d+$"})",
      R"({"type": "string", "pattern": "^(foo|ba[rz]){1,3}_[A-F0-9]{2,4}$"})",
      R"({"type": "string", "pattern": "^\\w{1,8}@\\w{1,8}\\.(com|org)$"})",
      R"({"type": "string", "pattern": "^[^\\s\"]{1,8}( [^\\s\"]{1,8})?$"})",
      R"({"type": "string", "pattern": "^(?:\\+?1-)?\\(\\d{3}\\) \\d{3}-\\d{4}$"})",
      R"({"type": "string", "pattern": "^ab?c"})",
      R"({"type": "string", "format": "date"})",
      R"({"type": "string", "format": "uuid"})",
      // numbers
      R"({"type": "integer", "minimum": 0})",
      R"({"type": "integer", "minimum": -20, "maximum": 35})",
      R"({"type": "integer", "exclusiveMinimum": 5, "exclusiveMaximum": 12})",
      R"({"type": "integer", "maximum": -100})",
      R"({"type": "number", "minimum": -1.5, "maximum": 2.25})",
      R"({"type": "number", "exclusiveMinimum": 0, "maximum": 1})",
      R"({"type": "number", "minimum": 1000})",
      R"({"type": "integer", "minimum": 1, "maximum": 123456})",
      // anyOf / oneOf / allOf
      R"({"anyOf": [{"type": "integer", "minimum": 10, "maximum": 20}, {"type": "string", "maxLength": 3}]})",
      R"({"oneOf": [{"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}},
                     "required": ["kind", "r"], "additionalProperties": false},
                    {"type": "object", "properties": {"kind": {"const": "square"}, "side": {"type": "integer"}},
                     "required": ["kind", "side"], "additionalProperties": false}]})",
      R"({"oneOf": [{"type": "null"}, {"type": "array", "items": {"type": "integer"}, "maxItems": 2}]})",
      R"({"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                    {"properties": {"b": {"type": "string"}}, "required": ["b"]}]})",
      R"({"allOf": [{"type": "integer", "minimum": 0}, {"maximum": 50}]})",
      R"({"type": "object", "properties": {"v": {"anyOf": [{"type": "boolean"}, {"$ref": "#/$defs/small"}]}},
          "required": ["v"], "$defs": {"small": {"type": "integer", "minimum": 0, "maximum": 3}}})",
      // $ref / $defs / definitions / recursion
      R"({"$defs": {"point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                              "required": ["x", "y"], "additionalProperties": false}},
          "type": "array", "items": {"$ref": "#/$defs/point"}, "maxItems": 3})",
      R"({"definitions": {"name": {"type": "string", "minLength": 1, "maxLength": 10}},
          "type": "object", "properties": {"first": {"$ref": "#/definitions/name"},
                                           "last": {"$ref": "#/definitions/name"}},
          "required": ["first", "last"]})",
      R"({"$defs": {"node": {"type": "object", "properties": {"value": {"type": "integer"},
                                                              "children": {"type": "array", "maxItems": 2,
                                                                           "items": {"$ref": "#/$defs/node"}}},
                             "required": ["value"], "additionalProperties": false}},
          "$ref": "#/$defs/node"})",
      R"({"type": "object", "properties": {"name": {"type": "string", "maxLength": 8},
                                           "next": {"anyOf": [{"type": "null"}, {"$ref": "#"}]}},
          "required": ["name", "next"], "additionalProperties": false})",
      // nested objects
      R"({"type": "object", "properties": {
            "user": {"type": "object", "properties": {
                "id": {"type": "integer", "minimum": 1},
                "email": {"type": "string", "pattern": "^[a-z]{1,6}@[a-z]{1,6}\\.com$"},
                "roles": {"type": "array", "items": {"enum": ["admin", "dev", "guest"]}, "minItems": 1,
                          "maxItems": 3}},
              "required": ["id", "email", "roles"], "additionalProperties": false},
            "meta": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 6}}},
          "required": ["user"], "additionalProperties": false})",
      R"({"type": "object", "properties": {"a": {"type": "object", "properties": {"b": {"type": "object",
            "properties": {"c": {"type": ["integer", "null"]}}, "required": ["c"]}}, "required": ["b"]}},
          "required": ["a"]})",
      R"({"type": "object", "properties": {
            "date": {"type": "string", "format": "date"},
            "temps": {"type": "array", "items": {"type": "number", "minimum": -50, "maximum": 60},
                      "minItems": 1, "maxItems": 4},
            "unit": {"enum": ["C", "F"]},
            "note": {"type": ["string", "null"], "maxLength": 12}},
          "required": ["date", "temps", "unit"], "additionalProperties": false})",
  };
  return schemas;
}

struct vocab_run {
  const char* name;
  int seeds;
};

}  // namespace

TEST_CASE("the schema validator rejects what it should", "[sampling][json_schema]") {
  const auto check = [](const char* schema, const char* doc) {
    return schema_validator(json::parse(schema)).check(json::parse(doc));
  };
  CHECK(check(R"({"type": "integer"})", "3").empty());
  CHECK(!check(R"({"type": "integer"})", "3.5").empty());
  CHECK(!check(R"({"type": "object", "required": ["a"]})", R"({"b": 1})").empty());
  CHECK(!check(R"({"properties": {"a": {}}, "additionalProperties": false})", R"({"b": 1})").empty());
  CHECK(!check(R"({"enum": [1, 2]})", "3").empty());
  CHECK(!check(R"({"const": "x"})", R"("y")").empty());
  CHECK(!check(R"({"minItems": 2})", "[1]").empty());
  CHECK(!check(R"({"maxLength": 2})", R"("\u4e2d\u6587\u5b57")").empty());
  CHECK(check(R"({"maxLength": 2})", R"("\u4e2d\u6587")").empty());
  CHECK(!check(R"({"pattern": "^a+$"})", R"("ab")").empty());
  CHECK(!check(R"({"exclusiveMaximum": 5})", "5").empty());
  CHECK(!check(R"({"oneOf": [{"type": "integer"}, {"type": "number"}]})", "1").empty());
  CHECK(!check(R"({"$defs": {"a": {"type": "string"}}, "$ref": "#/$defs/a"})", "1").empty());
  CHECK(!check(R"({"format": "date"})", R"("2024-13-01")").empty());
}

TEST_CASE("a corpus of JSON schemas yields valid instances over many seeds", "[sampling][json_schema]") {
  REQUIRE(corpus().size() >= 40);
  // stories260K: a 512-token SPM vocabulary; llama2: 32k SPM; qwen3: 151k byte-level BPE
  const std::vector<vocab_run> vocabs = {{"stories260K", 12}, {"llama2", 6}, {"qwen3", 3}};
  std::size_t documents = 0;
  for (std::size_t i = 0; i < corpus().size(); ++i) {
    const char* schema_text = corpus()[i];
    INFO("schema " << i << ": " << schema_text);
    std::vector<std::string> warnings;
    mmllm::json_schema_options opt;
    opt.warnings = &warnings;
    auto gbnf = mmllm::json_schema_to_gbnf(schema_text, opt);
    if (!gbnf) FAIL("conversion failed: " << gbnf.error().what());
    INFO("grammar:\n" << *gbnf);
    auto g = mmllm::test::compile_gbnf(*gbnf);
    const json schema = json::parse(schema_text);
    const schema_validator validator(schema);
    for (const vocab_run& vr : vocabs) {
      auto gv = mmllm::test::grammar_vocab(vr.name);
      for (int seed = 0; seed < vr.seeds; ++seed) {
        auto gs = mmllm::grammar_sampler::create(g, gv);
        REQUIRE(gs.has_value());
        const auto out =
            mmllm::test::generate(*gs, i * 1000003u + static_cast<std::uint64_t>(seed) * 7919u + 1u, 400, 60);
        INFO(vr.name << " seed " << seed << ": " << out.text);
        CHECK(out.complete);
        if (!out.complete) continue;
        auto accepted = mmllm::grammar_accepts(g, out.text);
        REQUIRE(accepted.has_value());
        CHECK(*accepted);
        json doc;
        try {
          doc = json::parse(out.text);
        } catch (const json::exception& e) {
          FAIL("not JSON: " << e.what());
        }
        const std::string why = validator.check(doc);
        INFO("validator: " << why);
        CHECK(why.empty());
        ++documents;
      }
    }
  }
  CHECK(documents == corpus().size() * 21);
}

TEST_CASE("patterns repeating what can match the empty string", "[sampling][json_schema]") {
  // unbounded repetition of a nullable group: a clean error (GBNF would recurse without input)
  for (const char* re : {"()*", "(a|)+", "(a*){2,}", "x(b?c?)*y", "(?:(a)?)*"}) {
    INFO(re);
    auto r = mmllm::regex_to_json_string_gbnf(re);
    REQUIRE(!r.has_value());
    CHECK(r.error().message.find("empty string") != std::string::npos);
  }
  // bounded repetition, optional nullable groups and non-nullable repeats still translate
  for (const char* re : {"(a*){2}", "(a|)?", "(ab)*", "(a|b?c)+", "(x*y)*z"}) {
    INFO(re);
    auto r = mmllm::regex_to_json_string_gbnf(re);
    REQUIRE(r.has_value());
    CHECK_NOTHROW(mmllm::test::compile_gbnf("root ::= " + r->expression + "\n"));
  }
  auto s = mmllm::json_schema_to_gbnf(R"({"type": "string", "pattern": "^(x?)*$"})");
  CHECK(!s.has_value());
}

TEST_CASE("strings in a schema must be UTF-8", "[sampling][json_schema]") {
  const std::string bad_key = "{\"type\": \"object\", \"properties\": {\"tag\xca\": {\"type\": \"string\"}}}";
  auto g = mmllm::json_schema_to_gbnf(bad_key);
  REQUIRE(!g.has_value());
  CHECK(g.error().message.find("UTF-8") != std::string::npos);
  const std::string bad_enum = "{\"enum\": [\"\xff\"]}";
  CHECK(!mmllm::json_schema_to_gbnf(bad_enum).has_value());
  // a lone surrogate escape: an error, or a grammar that compiles
  auto s = mmllm::json_schema_to_gbnf(R"({"const": "\ud800"})");
  if (s) CHECK_NOTHROW(mmllm::test::compile_gbnf(*s));
}

TEST_CASE("property names that sanitize to another rule's name get rules of their own",
          "[sampling][json_schema]") {
  // fuzz find: property "{" of the root object gave "root-{" → "root", a second "root" rule
  for (const char* schema :
       {R"({"type": "object", "properties": {"{": {"type": "number", "maximum": 2}}, "required": ["{"]})",
        R"({"type": "object", "properties": {"": {"type": "integer"}, "-": {"type": "boolean"}}})",
        R"({"properties": {"a": {"properties": {"{": {"type": "null"}}}, "a-": {"type": "string"}}})"}) {
    INFO(schema);
    auto g = mmllm::json_schema_to_gbnf(schema);
    REQUIRE(g.has_value());
    auto parsed = mmllm::gbnf_grammar::parse(*g, "root");
    INFO(*g);
    CHECK(parsed.has_value());
  }
}
