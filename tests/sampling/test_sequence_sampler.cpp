// Chains built from parameters and names, seeds, forks, n_probs (raw and post-sampling),
// ignore_eos / logit bias by text, and grammar / JSON-schema constrained sampling through
// the sequence_sampler with random logits over real vocabularies.
#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "catch.hpp"
#include "sampling_test_support.hpp"

#include <mmllm/sampling/sequence_sampler.hpp>

using mmllm::sampler_type;
using mmllm::sampling_params;
using mmllm::token_id;

namespace {

std::vector<float> random_row(std::mt19937& g, std::size_t n, float scale) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

mmllm::sequence_sampler make(const sampling_params& p, const mmllm::sampler_context& ctx = {}) {
  auto s = mmllm::sequence_sampler::create(p, ctx);
  if (!s) FAIL(s.error().what());
  return std::move(*s);
}

}  // namespace

TEST_CASE("sampler order by names, alternative names and one-letter codes", "[sampling]") {
  auto all = mmllm::parse_sampler_names("penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature");
  REQUIRE(all.has_value());
  CHECK(*all == mmllm::default_sampler_order());
  CHECK(mmllm::sampler_names(*all) == "penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature");
  auto alt = mmllm::parse_sampler_names("top-k;nucleus;typical;min-p;temp");
  REQUIRE(alt.has_value());
  CHECK(*alt == std::vector<sampler_type>{sampler_type::top_k, sampler_type::top_p, sampler_type::typical_p,
                                          sampler_type::min_p, sampler_type::temperature});
  auto bad = mmllm::parse_sampler_names("top_k;bogus");
  REQUIRE(!bad.has_value());
  CHECK(bad.error().message.find("'bogus'") != std::string::npos);
  auto json_form = mmllm::parse_sampler_names(std::vector<std::string>{"top_k", "temp"});  // canonical only
  CHECK(!json_form.has_value());
  auto chars = mmllm::parse_sampler_chars("edskypmxt");
  REQUIRE(chars.has_value());
  CHECK(*chars == mmllm::default_sampler_order());
  CHECK(!mmllm::parse_sampler_chars("kq").has_value());
}

TEST_CASE("chains follow llama.cpp's construction", "[sampling]") {
  sampling_params p;
  p.seed = 1;
  CHECK(make(p).describe() ==
        "logits -> logit-bias -> penalties -> dry -> top-n-sigma -> top-k -> typical -> top-p -> min-p -> "
        "xtc -> temp "
        "-> dist");
  p.samplers = *mmllm::parse_sampler_names("top_p;temperature");
  p.dynatemp_range = 0.5f;
  CHECK(make(p).describe() == "logits -> logit-bias -> top-p -> temp-ext -> dist");
  p.mirostat = 1;
  CHECK(make(p).describe() == "logits -> logit-bias -> temp -> mirostat");
  p.mirostat = 2;
  CHECK(make(p).describe() == "logits -> logit-bias -> temp -> mirostat-v2");
  p.mirostat = 3;
  CHECK(!mmllm::sequence_sampler::create(p, {}).has_value());
  sampling_params q;
  q.repeat_last_n = -2;
  CHECK(!mmllm::sequence_sampler::create(q, {}).has_value());
  sampling_params r;
  r.logit_bias = {{5, 1.0f}};
  CHECK(!mmllm::sequence_sampler::create(r, {.n_vocab = 4}).has_value());
}

TEST_CASE("the chain's draws follow its formulas", "[sampling]") {
  // top_k = 2 at temperature 0.5: only ids 1 and 3, with p proportional to exp(l / 0.5)
  const std::vector<float> l = {0.0f, 2.0f, -1.0f, 1.5f, 0.5f};
  sampling_params p;
  p.seed = 99;
  p.top_k = 2;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.temperature = 0.5f;
  auto s = make(p);
  std::map<token_id, int> n;
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) ++n[s.sample(l)->id];
  CHECK(n.size() == 2);
  const double p1 = std::exp(2.0 / 0.5) / (std::exp(2.0 / 0.5) + std::exp(1.5 / 0.5));
  CHECK(std::fabs(n[1] - p1 * draws) < 5 * std::sqrt(draws * p1 * (1 - p1)));
  // order matters: top_p 0.6 keeps only id 1 at temperature 1 (p = 0.49..); with the
  // temperature (3) first the distribution is flatter and top_p keeps more tokens
  sampling_params a;
  a.seed = 5;
  a.top_k = 0;
  a.min_p = 0.0f;
  a.top_p = 0.45f;
  a.temperature = 3.0f;
  a.samplers = *mmllm::parse_sampler_names("top_p;temperature");
  sampling_params b = a;
  b.samplers = *mmllm::parse_sampler_names("temperature;top_p");
  auto sa = make(a), sb = make(b);
  std::set<token_id> da, db;
  for (int i = 0; i < 2000; ++i) {
    da.insert(sa.sample(l)->id);
    db.insert(sb.sample(l)->id);
  }
  CHECK(da.size() == 1);
  CHECK(db.size() > 1);
}

TEST_CASE("fixed seeds repeat, forks continue identically, random seeds differ", "[sampling]") {
  std::mt19937 g(3);
  std::vector<std::vector<float>> rows;
  for (int i = 0; i < 64; ++i) rows.push_back(random_row(g, 1000, 2.0f));
  sampling_params p;
  p.seed = 1234;
  p.repeat_penalty = 1.3f;  // stateful: penalties depend on accepted tokens
  p.xtc_probability = 0.5f;
  p.xtc_threshold = 0.05f;
  auto run = [&](mmllm::sequence_sampler s, std::size_t from, std::size_t to) {
    std::vector<token_id> out;
    for (std::size_t i = from; i < to; ++i) out.push_back(s.sample_and_accept(rows[i])->id);
    return out;
  };
  auto a = make(p);
  const auto full = run(a, 0, 64);
  CHECK(run(make(p), 0, 64) == full);
  auto b = make(p);
  for (std::size_t i = 0; i < 20; ++i) REQUIRE(b.sample_and_accept(rows[i]).has_value());
  mmllm::sequence_sampler fork = b;
  const auto rest1 = run(b, 20, 64);
  const auto rest2 = run(fork, 20, 64);
  CHECK(rest1 == rest2);
  CHECK(rest1 == std::vector<token_id>(full.begin() + 20, full.end()));
  b.reset();  // back to the start of the same seed
  CHECK(run(b, 0, 64) == full);
  sampling_params q = p;
  q.seed = 4321;
  CHECK(run(make(q), 0, 64) != full);
  sampling_params r;  // default_seed: a random seed each time
  auto r1 = make(r), r2 = make(r);
  CHECK(r1.seed() != mmllm::default_seed);
  CHECK(run(r1, 0, 64) != run(r2, 0, 64));
}

TEST_CASE("greedy at temperature 0 still reports probabilities", "[sampling]") {
  std::mt19937 g(11);
  const auto l = random_row(g, 3000, 3.0f);
  double max_l = -1e30;
  for (const float x : l) max_l = std::max(max_l, static_cast<double>(x));
  double sum = 0;
  for (const float x : l) sum += std::exp(x - max_l);
  std::vector<std::pair<double, token_id>> ref;
  for (std::size_t i = 0; i < l.size(); ++i)
    ref.emplace_back(std::exp(l[i] - max_l) / sum, static_cast<token_id>(i));
  std::sort(ref.rbegin(), ref.rend());
  sampling_params p;
  p.temperature = 0.0f;
  p.n_probs = 5;
  p.seed = 1;
  auto s = make(p);
  auto t = s.sample(l);
  REQUIRE(t.has_value());
  CHECK(t->id == ref[0].second);
  CHECK(t->prob == Approx(ref[0].first).epsilon(1e-5));
  REQUIRE(t->top.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(t->top[i].id == ref[i].second);
    CHECK(t->top[i].prob == Approx(ref[i].first).epsilon(1e-5));
  }
  CHECK(mmllm::completion_logprob(t->top[1].prob) == Approx(std::log(ref[1].first)).epsilon(1e-5));
  CHECK(mmllm::completion_logprob(0.0f) == std::numeric_limits<float>::lowest());
  // post-sampling: the candidates after the chain (the top-40 list, greedy: p = 1, 0, ...)
  p.post_sampling_probs = true;
  auto s2 = make(p);
  auto t2 = s2.sample(l);
  CHECK(t2->id == ref[0].second);
  CHECK(t2->prob == 1.0f);
  REQUIRE(t2->top.size() == 5);
  CHECK(t2->top[0].id == ref[0].second);
  CHECK(t2->top[1].prob == 0.0f);
  // post-sampling at temperature 1: probabilities of the kept candidates, highest first
  sampling_params q;
  q.seed = 2;
  q.n_probs = 3;
  q.post_sampling_probs = true;
  q.top_k = 3;
  q.top_p = 1.0f;
  q.min_p = 0.0f;
  q.temperature = 1.0f;
  auto s3 = make(q);
  auto t3 = s3.sample(l);
  const double z = ref[0].first + ref[1].first + ref[2].first;
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(t3->top[i].id == ref[i].second);
    CHECK(t3->top[i].prob == Approx(ref[i].first / z).epsilon(1e-5));
  }
  bool found = false;
  for (const auto& x : t3->top) found = found || (x.id == t3->id && x.prob == t3->prob);
  CHECK(found);
}

TEST_CASE("ignore_eos, logit bias by text, DRY breakers from the vocabulary", "[sampling]") {
  const mmllm::tokenizer& tok = mmllm::test::sampling_vocab("stories260K");
  const auto n = static_cast<std::size_t>(tok.size());
  std::vector<float> l(n, 0.0f);
  l[static_cast<std::size_t>(tok.eos())] = 50.0f;
  sampling_params p;
  p.seed = 3;
  mmllm::sampler_context ctx{.vocab = &tok, .n_ctx = 256};
  CHECK(make(p, ctx).sample(l)->id == tok.eos());
  p.ignore_eos = true;
  auto s = make(p, ctx);
  for (int i = 0; i < 50; ++i) CHECK(s.sample(l)->id != tok.eos());
  // a text bias: every token of " once" gets +100
  sampling_params b;
  b.seed = 4;
  b.logit_bias_texts = {{" once", 100.0f}};
  const auto once = tok.encode(" once", {false, false});
  REQUIRE(!once.empty());
  auto sb = make(b, ctx);
  const token_id got = sb.sample(std::vector<float>(n, 0.0f))->id;
  CHECK(std::find(once.begin(), once.end(), got) != once.end());
  // DRY breakers: the newline token is a single-token breaker
  const std::vector<std::string> br = {"\n"};
  auto table = mmllm::make_dry_breakers(tok, br);
  const auto nl = tok.encode("\n", {false, false});
  REQUIRE(!nl.empty());
  bool single = false;
  const auto range = table->equal_range(nl.back());
  for (auto it = range.first; it != range.second; ++it) single = single || it->second.empty();
  CHECK(single);
  sampling_params d;
  d.seed = 5;
  d.dry_multiplier = 0.8f;
  auto sd = make(d, ctx);  // builds the breakers from the tokenizer
  CHECK(sd.describe().find("dry") != std::string::npos);
}

TEST_CASE("grammar and JSON schema sampling with random logits", "[sampling][grammar]") {
  const mmllm::tokenizer& tok = mmllm::test::sampling_vocab("llama2");
  auto gv = mmllm::test::grammar_vocab("llama2");
  mmllm::sampler_context ctx{.vocab = &tok, .n_ctx = 4096, .grammar_vocab = gv};
  const std::string schema =
      R"({"type":"object","properties":{"name":{"type":"string","maxLength":12},"n":{"type":"integer","minimum":-5,"maximum":5},"ok":{"type":"boolean"}},"required":["name","n","ok"],"additionalProperties":false})";
  for (const bool grammar_first : {false, true}) {
    for (std::uint32_t seed = 1; seed <= 4; ++seed) {
      sampling_params p;
      p.seed = seed;
      p.json_schema = schema;
      p.grammar_first = grammar_first;
      p.n_probs = 2;
      auto s = make(p, ctx);
      REQUIRE(s.has_grammar());
      std::mt19937 g(seed);
      std::string text;
      int steps = 0;
      for (; steps < 300 && !s.grammar_finished(); ++steps) {
        auto row = random_row(g, tok.size(), 4.0f);
        auto t = s.sample(row);
        REQUIRE(t.has_value());
        REQUIRE(t->top.size() == 2);
        if (tok.is_eog(t->id)) break;
        REQUIRE(s.accept(t->id).has_value());
        text += gv->piece(t->id);
      }
      INFO("grammar_first " << grammar_first << " seed " << seed << ": " << text);
      REQUIRE(s.grammar_can_end());
      auto j = nlohmann::json::parse(text);
      CHECK(j["name"].is_string());
      CHECK(j["name"].get<std::string>().size() <= 12 * 4);
      CHECK(j["n"].is_number_integer());
      CHECK(j["n"].get<int>() >= -5);
      CHECK(j["n"].get<int>() <= 5);
      CHECK(j["ok"].is_boolean());
      CHECK(j.size() == 3);
    }
  }
  // a bad grammar is a clear error at creation
  sampling_params bad;
  bad.grammar = "root ::= \"a\" | (\n";
  auto e = mmllm::sequence_sampler::create(bad, ctx);
  REQUIRE(!e.has_value());
  CHECK(e.error().message.find("gbnf:") != std::string::npos);
  // once the grammar is finished only end of generation remains
  sampling_params fin;
  fin.grammar = "root ::= \"{}\"\n";
  fin.seed = 1;
  auto sf = make(fin, ctx);
  auto piece_id = [&](std::string_view piece) {
    for (std::size_t i = 0; i < gv->size(); ++i)
      if (gv->kind(static_cast<token_id>(i)) == mmllm::grammar_vocabulary::token_kind::trie &&
          gv->piece(static_cast<token_id>(i)) == piece)
        return static_cast<token_id>(i);
    return mmllm::no_token;
  };
  REQUIRE(sf.accept(piece_id("{")).has_value());
  CHECK(!sf.grammar_finished());
  REQUIRE(sf.accept(piece_id("}")).has_value());
  REQUIRE(sf.grammar_finished());
  auto t = sf.sample(std::vector<float>(tok.size(), 0.0f));
  REQUIRE(t.has_value());
  CHECK(tok.is_eog(t->id));
}
