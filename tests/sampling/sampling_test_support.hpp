// Helpers for the sampling tests: fixture vocabularies (loaded once per process, gunzipped by
// the tokenizer tests' helper), their grammar vocabularies, and a grammar-constrained
// generator driven by a seeded random choice among the tokens the grammar allows (a harsher
// test of masking than a small model: any allowed token may come next).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "catch.hpp"

#include "../tokenize/tokenize_support.hpp"

#include <mmllm/sampling/grammar_sampler.hpp>
#include <mmllm/sampling/grammar_vocabulary.hpp>
#include <mmllm/tokenize/gguf_tokenizer.hpp>

namespace mmllm::test {

/// "stories260K" (512-token SPM from the fixture model) or a tokenizers/ name (llama2 = 32k,
/// llama3 = 128k, qwen3 = 151k, gemma3 = 262k).
inline const mmllm::tokenizer& sampling_vocab(const std::string& name) {
  if (name != "stories260K") return hf_tokenizer(name);
  static std::unique_ptr<mmllm::tokenizer> stories;
  if (!stories) {
    auto t = mmllm::load_gguf_tokenizer(fixture_path("models/stories260K.gguf").string());
    if (!t) throw std::runtime_error("cannot load stories260K: " + t.error().what());
    stories = std::make_unique<mmllm::tokenizer>(std::move(*t));
  }
  return *stories;
}

inline std::shared_ptr<const mmllm::grammar_vocabulary> grammar_vocab(const std::string& name) {
  static std::map<std::string, std::shared_ptr<const mmllm::grammar_vocabulary>> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  auto v = mmllm::grammar_vocabulary::build(sampling_vocab(name));
  cache.emplace(name, v);
  return v;
}

inline std::shared_ptr<const mmllm::gbnf_grammar> compile_gbnf(const std::string& text) {
  auto g = mmllm::gbnf_grammar::parse(text);
  if (!g) throw std::runtime_error("grammar does not parse: " + g.error().what() + "\n" + text);
  return std::make_shared<const mmllm::gbnf_grammar>(std::move(*g));
}

struct generation {
  std::string text;
  std::vector<mmllm::token_id> tokens;
  bool complete = false;  // the grammar accepted the text as a whole
  int steps = 0;
  int partial_steps = 0;  // steps that ended inside a UTF-8 character
};

/// Generates with `gs`: each step takes a random token; if the grammar rejects it, a random
/// allowed token from the full mask (as llama.cpp's check-then-resample). After
/// `close_after` steps, tokens made only of '"', ']', '}' and spaces are preferred so that
/// structures end. Stops when the grammar can end (with probability 1/2 per step, always
/// after close_after) or after max_steps. Cross-checks the single-token and mask paths.
inline generation generate(mmllm::grammar_sampler& gs, std::uint64_t seed, int max_steps, int close_after) {
  const mmllm::grammar_vocabulary& v = gs.vocabulary();
  std::mt19937_64 rng(seed);
  std::vector<mmllm::token_id> closers;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto id = static_cast<mmllm::token_id>(i);
    if (v.kind(id) != mmllm::grammar_vocabulary::token_kind::trie) continue;
    const std::string_view p = v.piece(id);
    bool closer = !p.empty();
    for (const char c : p) closer = closer && (c == '"' || c == ']' || c == '}' || c == ' ');
    if (closer) closers.push_back(id);
  }
  generation g;
  std::vector<mmllm::token_id> allowed;
  for (g.steps = 0; g.steps < max_steps; ++g.steps) {
    if (gs.can_end() && (gs.finished() || g.steps >= close_after || (rng() & 1) != 0)) {
      g.complete = true;
      return g;
    }
    auto mask = gs.allowed_tokens();
    REQUIRE(mask.has_value());
    const std::vector<std::uint64_t>& bits = **mask;
    auto bit = [&](mmllm::token_id t) {
      const auto i = static_cast<std::size_t>(t);
      return ((bits[i >> 6] >> (i & 63)) & 1u) != 0;
    };
    // the single-token path agrees with the mask on a few random tokens
    for (int k = 0; k < 8; ++k) {
      const auto t = static_cast<mmllm::token_id>(rng() % v.size());
      auto a = gs.allows(t);
      REQUIRE(a.has_value());
      if (*a != bit(t)) FAIL("allows() and the mask disagree on token " << t << " at step " << g.steps);
    }
    allowed.clear();
    for (std::size_t w = 0; w < bits.size(); ++w) {
      for (std::uint64_t b = bits[w]; b != 0; b &= b - 1)
        allowed.push_back(
            static_cast<mmllm::token_id>(w * 64 + static_cast<std::size_t>(__builtin_ctzll(b))));
    }
    std::vector<mmllm::token_id> pool;
    for (const mmllm::token_id t : allowed)
      if (v.kind(t) != mmllm::grammar_vocabulary::token_kind::eog) pool.push_back(t);
    if (pool.empty()) break;  // only end of generation is left
    mmllm::token_id pick = pool[rng() % pool.size()];
    if (g.steps >= close_after) {
      std::vector<mmllm::token_id> c;
      for (const mmllm::token_id t : closers)
        if (bit(t)) c.push_back(t);
      if (!c.empty()) pick = c[rng() % c.size()];
    }
    auto acc = gs.accept(pick);
    if (!acc) FAIL(acc.error().what());
    g.tokens.push_back(pick);
    g.text += v.piece(pick);
    if (!gs.matcher().partial().empty()) ++g.partial_steps;
  }
  g.complete = gs.can_end();
  return g;
}

}  // namespace mmllm::test
