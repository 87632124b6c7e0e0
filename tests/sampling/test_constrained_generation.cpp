// Grammar-constrained generation through the engine (compute::simd, full_sampler) on the
// fixture models: stories260K and synthetic llama-style and qwen2 text models. For a GBNF
// grammar and for JSON schemas, over several seeds and temperatures (greedy included), the
// generated text is what the grammar allows (checked with an equivalent std::regex, and for
// JSON with nlohmann::json plus field checks) and the request ends with finish_reason::stop.
// g++ 12 at -O3 reports a false -Wrestrict inside tokenize/hf_pipeline.hpp's inlined string
// copies (unreachable sizes), as in examples/mmllm-run.cpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <mmllm/compute/simd.hpp>
#include <mmllm/engine/engine.hpp>
#include <mmllm/engine/full_sampler.hpp>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

namespace {

using engine_t = mmllm::engine<mmllm::compute::simd, mmllm::full_sampler>;

engine_t load(const std::string& rel) {
  mmllm::engine_options o;
  o.n_ctx = 0;  // the model's context
  o.n_seq_max = 4;
  o.seed = 77;
  auto e = engine_t::load(mmllm::test::fixture_path(rel).string(), mmllm::compute::simd{}, o);
  if (!e) FAIL("cannot load " << rel << ": " << e.error().what());
  return std::move(*e);
}

const std::vector<std::string>& models() {
  static const std::vector<std::string> m = {"models/stories260K.gguf", "synthetic/text/llama/model.gguf",
                                             "synthetic/text/qwen2/model.gguf"};
  return m;
}

/// One request per (temperature, seed), all generated together (continuous batching).
std::vector<mmllm::generation_output> run_all(engine_t& eng, const engine_t::params_type& base,
                                              std::vector<float> temperatures, int seeds) {
  std::vector<engine_t::request_type> reqs;
  for (const float t : temperatures) {
    for (int s = 0; s < seeds; ++s) {
      engine_t::params_type p = base;
      p.sampling.temperature = t;
      p.sampling.seed = 1000u + static_cast<std::uint32_t>(s);
      reqs.push_back({.prompt = s % 2 == 0 ? "Once upon a time" : "The answer is", .params = p});
    }
  }
  auto outs = eng.generate(std::move(reqs), base);
  if (!outs) FAIL("generate failed: " << outs.error().what());
  REQUIRE(outs->size() == temperatures.size() * static_cast<std::size_t>(seeds));
  return std::move(*outs);
}

}  // namespace

TEST_CASE("a GBNF grammar constrains the engine's output", "[sampling][grammar][engine]") {
  const std::string grammar = R"g(root ::= "Answer: " verdict ", because " reason "." extra
verdict ::= "yes" | "no" | "maybe"
reason ::= [a-z] [a-z ]{2,24}
extra ::= ( " [" [0-9]{1,3} ("," [0-9]{1,3}){0,3} "]" )?
)g";
  const std::regex equivalent(
      R"(^Answer: (yes|no|maybe), because [a-z][a-z ]{2,24}\.( \[[0-9]{1,3}(,[0-9]{1,3}){0,3}\])?$)");
  for (const std::string& model : models()) {
    INFO(model);
    engine_t eng = load(model);
    engine_t::params_type base;
    base.sampling.grammar = grammar;
    base.sampling.n_probs = 2;
    base.max_tokens = 200;
    const auto outs = run_all(eng, base, {0.0f, 0.7f, 1.0f, 1.6f}, 3);
    for (std::size_t i = 0; i < outs.size(); ++i) {
      const auto& o = outs[i];
      INFO("request " << i << ": [" << o.text << "] finish " << to_string(o.finish) << " " << o.error);
      CHECK(o.finish == mmllm::finish_reason::stop);
      CHECK(std::regex_match(o.text, equivalent));
      CHECK(o.probabilities.size() == o.tokens.size());
    }
  }
}

TEST_CASE("a JSON schema constrains the engine's output", "[sampling][json_schema][engine]") {
  const std::string schema = R"({
    "type": "object",
    "properties": {
      "name": {"type": "string", "minLength": 1, "maxLength": 10},
      "age": {"type": "integer", "minimum": 0, "maximum": 120},
      "mood": {"enum": ["happy", "sad", "sleepy"]},
      "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]{1,5}$"}, "maxItems": 3},
      "pet": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/pet"}]}
    },
    "required": ["name", "age", "mood"],
    "additionalProperties": false,
    "$defs": {"pet": {"type": "object", "properties": {"kind": {"const": "dog"}, "legs": {"type": "integer",
              "minimum": 3, "maximum": 4}}, "required": ["kind", "legs"], "additionalProperties": false}}
  })";
  const std::regex tag("^[a-z]{1,5}$");
  for (const bool grammar_first : {false, true}) {
    for (const std::string& model : models()) {
      INFO(model << " grammar_first " << grammar_first);
      engine_t eng = load(model);
      engine_t::params_type base;
      base.sampling.json_schema = schema;
      base.sampling.grammar_first = grammar_first;
      base.max_tokens = -1;  // until the context is full: the grammar must end it first
      const auto outs = run_all(eng, base, {0.0f, 0.8f, 1.3f}, 3);
      for (std::size_t i = 0; i < outs.size(); ++i) {
        const auto& o = outs[i];
        INFO("request " << i << ": [" << o.text << "] finish " << to_string(o.finish) << " " << o.error);
        CHECK(o.finish == mmllm::finish_reason::stop);
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(o.text);
        } catch (const nlohmann::json::exception& e) {
          FAIL("not JSON: " << e.what());
        }
        REQUIRE(j.is_object());
        for (const auto& [k, v] : j.items()) {
          INFO("key " << k);
          CHECK((k == "name" || k == "age" || k == "mood" || k == "tags" || k == "pet"));
        }
        REQUIRE(j.contains("name"));
        REQUIRE(j["name"].is_string());
        const auto name = j["name"].get<std::string>();
        CHECK(!name.empty());
        CHECK(name.size() <= 40);  // 10 code points
        REQUIRE(j.contains("age"));
        REQUIRE(j["age"].is_number_integer());
        CHECK(j["age"].get<int>() >= 0);
        CHECK(j["age"].get<int>() <= 120);
        REQUIRE(j.contains("mood"));
        CHECK((j["mood"] == "happy" || j["mood"] == "sad" || j["mood"] == "sleepy"));
        if (j.contains("tags")) {
          REQUIRE(j["tags"].is_array());
          CHECK(j["tags"].size() <= 3);
          for (const auto& t : j["tags"])
            CHECK((t.is_string() && std::regex_match(t.get<std::string>(), tag)));
        }
        if (j.contains("pet") && !j["pet"].is_null()) {
          const auto& p = j["pet"];
          REQUIRE(p.is_object());
          CHECK(p.size() == 2);
          CHECK(p["kind"] == "dog");
          CHECK((p["legs"] == 3 || p["legs"] == 4));
        }
      }
    }
  }
}
