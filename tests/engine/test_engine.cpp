// The offline engine on stories260K (reference policy): greedy generation of the six fixture
// prompts through continuous batching equals llama.cpp's recorded tokens and text, also
// with a cache so small that sequences are preempted and recomputed; streaming, stop
// strings, max_tokens, the context limit, seeded sampling, prompt logits, abort and the
// non-blocking step() API.
#include <mmllm/compute/scalar.hpp>
#include <mmllm/engine/engine.hpp>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

using namespace mmllm;
using engine_t = engine<compute::scalar>;

namespace {

struct ref_prompt {
  std::string name, text;
  std::vector<token_id> tokens, greedy;
  std::string greedy_text;
};

std::string from_hex(const std::string& h) {
  std::string s;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    s.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return s;
}

const std::vector<ref_prompt>& refs() {
  static const std::vector<ref_prompt> r = [] {
    std::vector<ref_prompt> out;
    const auto j =
        nlohmann::json::parse(test::read_text(test::fixture_path("reference/stories260K/reference.json")));
    for (const auto& p : j.at("prompts"))
      out.push_back({p.at("name").get<std::string>(), p.at("text").get<std::string>(),
                     p.at("prompt_tokens").get<std::vector<token_id>>(),
                     p.at("greedy").at("tokens").get<std::vector<token_id>>(),
                     from_hex(p.at("greedy").at("text_utf8_hex").get<std::string>())});
    return out;
  }();
  return r;
}

engine_t make_engine(engine_options o = {}) {
  if (!o.seed) o.seed = 1234;
  auto e = engine_t::load(test::fixture_path("models/stories260K.gguf").string(), compute::scalar{}, o);
  REQUIRE(e);
  return std::move(*e);
}

generation_params<> greedy_params(int n) {
  generation_params<> p;
  p.sampling.temperature = 0.0f;
  p.max_tokens = n;
  return p;
}

}  // namespace

TEST_CASE("greedy generation of every prompt, continuously batched, equals the peer") {
  for (const std::uint32_t kv_cells : {0u, 192u}) {  // 192 cells: sequences get preempted and recomputed
    INFO("kv cells " << kv_cells);
    engine_options o;
    o.n_seq_max = 4;
    o.kv_cells = kv_cells;
    o.kv_block_size = 16;
    o.max_batch_tokens = 64;
    auto eng = make_engine(o);
    std::vector<engine_t::request_type> reqs;
    for (const auto& r : refs()) reqs.push_back({.prompt = r.text});
    auto outs = eng.generate(std::move(reqs), greedy_params(64));
    REQUIRE(outs);
    REQUIRE(outs->size() == refs().size());
    for (std::size_t i = 0; i < refs().size(); ++i) {
      const auto& o1 = (*outs)[i];
      INFO("prompt " << refs()[i].name << " " << o1.error);
      CHECK(o1.prompt_tokens == refs()[i].tokens);
      CHECK(o1.tokens == refs()[i].greedy);
      CHECK(o1.text == refs()[i].greedy_text);
      CHECK(o1.finish == finish_reason::length);
      CHECK(o1.timings.prompt_n == refs()[i].tokens.size());
      CHECK(o1.timings.predicted_n == 64);
      CHECK(o1.timings.predicted_ms >= 0.0);
    }
    CHECK_FALSE(eng.has_unfinished());
    CHECK(eng.kv_cache().n_free_blocks() == eng.kv_cache().n_blocks());
    CHECK((eng.preemptions() > 0) == (kv_cells != 0));
  }
}

TEST_CASE("streaming delivers the text exactly once, in pieces") {
  auto eng = make_engine();
  std::string streamed;
  int events = 0, last = 0;
  engine_t::request_type r{.prompt = refs()[0].text};
  r.on_token = [&](const token_event& e) {
    streamed += e.text;
    ++events;
    last += e.last ? 1 : 0;
  };
  auto out = eng.generate(std::move(r), greedy_params(40));
  REQUIRE(out);
  CHECK(streamed == out->text);
  CHECK(events == 40);
  CHECK(last == 1);
}

TEST_CASE("stop strings cut the text and end the request; streaming never shows them") {
  auto eng = make_engine();
  const std::string full = refs()[0].greedy_text;  // ", there was a little girl named Lily. She …"
  const std::size_t at = full.find("Lily");
  REQUIRE(at != std::string::npos);
  auto p = greedy_params(64);
  p.stop = {"zzz", "Lily"};
  std::string streamed;
  engine_t::request_type r{.prompt = refs()[0].text};
  r.on_token = [&](const token_event& e) { streamed += e.text; };
  auto out = eng.generate(std::move(r), p);
  REQUIRE(out);
  CHECK(out->text == full.substr(0, at));
  CHECK(streamed == out->text);
  CHECK(out->finish == finish_reason::stop);
  CHECK(out->tokens.size() < 64);
}

TEST_CASE("max_tokens, the context limit and prompt errors") {
  engine_options o;
  o.n_ctx = 20;
  auto eng = make_engine(o);
  auto out = eng.generate({.prompt = refs()[0].text}, greedy_params(100));
  REQUIRE(out);
  CHECK(out->finish == finish_reason::length);
  CHECK(out->prompt_tokens.size() + out->tokens.size() == 20);
  CHECK(std::equal(out->tokens.begin(), out->tokens.end(), refs()[0].greedy.begin()));
  // a prompt that does not fit, an empty prompt, a token outside the vocabulary
  CHECK_FALSE(eng.add_request({.prompt = refs()[3].text}, greedy_params(4)));
  CHECK_FALSE(eng.add_request({.prompt = "", .add_special = false}, greedy_params(4)));
  CHECK_FALSE(eng.add_request({.prompt_tokens = {1, 9999}}, greedy_params(4)));
  // max_tokens 0 only prefills
  auto z = eng.generate({.prompt = refs()[0].text}, greedy_params(0));
  REQUIRE(z);
  CHECK(z->tokens.empty());
  CHECK(z->finish == finish_reason::length);
}

TEST_CASE("seeded sampling is reproducible and differs between seeds") {
  auto eng = make_engine();
  generation_params<> p;
  p.max_tokens = 24;
  p.sampling.temperature = 1.0f;
  p.sampling.top_k = 40;
  p.sampling.top_p = 0.95f;
  p.sampling.seed = 42;
  auto a = eng.generate({.prompt = refs()[0].text}, p);
  auto b = eng.generate({.prompt = refs()[0].text}, p);
  p.sampling.seed = 43;
  auto c = eng.generate({.prompt = refs()[0].text}, p);
  REQUIRE((a && b && c));
  CHECK(a->tokens == b->tokens);
  CHECK(a->tokens != c->tokens);
  CHECK(a->seed == 42);
  // top_k = 1 is greedy whatever the temperature
  p.sampling.top_k = 1;
  auto g = eng.generate({.prompt = refs()[0].text}, p);
  REQUIRE(g);
  CHECK(g->tokens == std::vector<token_id>(refs()[0].greedy.begin(), refs()[0].greedy.begin() + 24));
}

TEST_CASE("prompt logits are returned and match the peer") {
  auto eng = make_engine();
  auto p = greedy_params(1);
  p.prompt_logits = true;
  for (const auto& r : refs()) {
    auto out = eng.generate({.prompt = r.text}, p);
    REQUIRE(out);
    const auto want =
        test::read_f32(test::fixture_path("reference/stories260K/" + r.name + ".prompt_logits.f32"));
    REQUIRE(out->prompt_logits.size() == want.size());
    double mx = 0;
    for (std::size_t i = 0; i < want.size(); ++i)
      mx = std::max(mx, std::fabs(static_cast<double>(out->prompt_logits[i]) - want[i]));
    CHECK(mx < 1e-4);
  }
}

TEST_CASE("the step() API: requests added while others run, aborts") {
  engine_options o;
  o.n_seq_max = 2;
  auto eng = make_engine(o);
  auto id0 = eng.add_request({.prompt = refs()[0].text}, greedy_params(64));
  REQUIRE(id0);
  int steps = 0;
  std::optional<request_id> id1, id2;
  std::vector<generation_output> done;
  while (eng.has_unfinished()) {
    auto st = eng.step();
    REQUIRE(st);
    ++steps;
    if (steps == 5) {
      id1 = *eng.add_request({.prompt = refs()[2].text}, greedy_params(64));
      id2 = *eng.add_request({.prompt = refs()[1].text}, greedy_params(64));  // waits for a free slot
    }
    if (steps == 10) eng.abort(*id2);
    for (auto& x : eng.take_finished()) done.push_back(std::move(x));
  }
  REQUIRE(done.size() == 3);
  for (const auto& d : done) {
    if (d.id == *id0) CHECK(d.tokens == refs()[0].greedy);
    if (d.id == *id1) CHECK(d.tokens == refs()[2].greedy);
    if (d.id == *id2) {
      CHECK(d.finish == finish_reason::abort);
      CHECK(d.tokens.empty());
    }
  }
  CHECK(steps < 64 + 64);  // the two requests overlapped
}
