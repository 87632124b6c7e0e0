// Shared helpers of the model parity tests: reading a fixture model's reference.json and
// recorded peer logits, running prompts through a decoder in several ways (whole, in chunks,
// token by token, several sequences in one batch), greedy generation, and logit comparisons.
#pragma once

#include <mmllm/compute/scalar.hpp>
#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>
#include <mmllm/models/batch.hpp>
#include <mmllm/models/decoder.hpp>
#include <mmllm/models/kv_cache.hpp>
#include <mmllm/models/text_model.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

namespace mmllm::test {

/// One prompt of a fixture model's reference.json.
struct prompt_ref {
  std::string name;
  std::vector<std::int32_t> tokens;  // prompt tokens (BOS included)
  std::vector<float> logits;         // [tokens.size()][n_vocab]
  std::vector<std::int32_t> greedy;  // greedy continuation
};

/// A fixture model directory: "models/stories260K.gguf" + "reference/stories260K", or
/// "synthetic/text/<name>/model.gguf" + that directory.
struct model_ref {
  std::string gguf;
  std::size_t n_vocab = 0;
  std::vector<prompt_ref> prompts;
};

inline model_ref load_model_ref(const std::string& gguf_rel, const std::string& dir_rel) {
  model_ref m;
  m.gguf = fixture_path(gguf_rel).string();
  const auto j = nlohmann::json::parse(read_text(fixture_path(dir_rel + "/reference.json")));
  for (const auto& p : j.at("prompts")) {
    prompt_ref r;
    r.name = p.at("name").get<std::string>();
    r.tokens = p.at("prompt_tokens").get<std::vector<std::int32_t>>();
    m.n_vocab = p.at("n_vocab").get<std::size_t>();
    r.logits = read_f32(fixture_path(dir_rel + "/" + p.at("prompt_logits").at("file").get<std::string>()));
    r.greedy = p.at("greedy").at("tokens").get<std::vector<std::int32_t>>();
    REQUIRE(r.logits.size() == r.tokens.size() * m.n_vocab);
    m.prompts.push_back(std::move(r));
  }
  return m;
}

inline const prompt_ref& find_prompt(const model_ref& m, const std::string& name) {
  for (const auto& p : m.prompts)
    if (p.name == name) return p;
  FAIL("no prompt " << name);
  return m.prompts.front();
}

/// max / mean |a − b| and the fraction of rows (of n columns) whose argmax agrees.
struct diff_stats {
  double max = 0, mean = 0, argmax_agree = 1;
};
inline std::size_t argmax(const float* v, std::size_t n) {
  return static_cast<std::size_t>(std::max_element(v, v + n) - v);  // lowest index on ties
}
inline diff_stats compare(const std::vector<float>& a, const std::vector<float>& b, std::size_t n) {
  REQUIRE(a.size() == b.size());
  diff_stats s;
  double sum = 0;
  std::size_t agree = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    s.max = std::max(s.max, d);
    sum += d;
  }
  for (std::size_t r = 0; r < a.size() / n; ++r)
    agree += argmax(&a[r * n], n) == argmax(&b[r * n], n) ? 1 : 0;
  s.mean = a.empty() ? 0 : sum / static_cast<double>(a.size());
  s.argmax_agree = a.empty() ? 1 : static_cast<double>(agree) / static_cast<double>(a.size() / n);
  return s;
}

inline models::kv_cache make_kv(const models::text_model& m, std::uint32_t n_seq = 1,
                                models::kv_type t = models::kv_type::f32, std::uint32_t block = 16) {
  models::kv_cache_options o;
  o.n_ctx = 512 * n_seq;
  o.n_seq_max = n_seq;
  o.block_size = block;
  o.type_k = o.type_v = t;
  auto kv = models::kv_cache::create(m.desc(), o);
  REQUIRE(kv);
  return std::move(*kv);
}

/// Logits of every prompt position, the prompt fed in chunks of `chunk` tokens (0: whole).
template <class P>
std::vector<float> prompt_logits(models::decoder<P>& dec, models::kv_cache& kv,
                                 const std::vector<std::int32_t>& toks, std::size_t chunk = 0,
                                 models::seq_id seq = 0) {
  const std::size_t V = dec.desc().n_vocab;
  std::vector<float> out;
  models::batch b;
  if (chunk == 0) chunk = toks.size();
  for (std::size_t i0 = 0; i0 < toks.size(); i0 += chunk) {
    b.clear();
    const std::size_t i1 = std::min(toks.size(), i0 + chunk);
    for (std::size_t i = i0; i < i1; ++i) b.add_token(toks[i], seq, static_cast<std::int32_t>(i), true);
    auto r = dec.forward(b, kv);
    REQUIRE(r);
    REQUIRE(r->extent(0) == i1 - i0);
    out.insert(out.end(), r->data(), r->data() + (i1 - i0) * V);
  }
  return out;
}

/// Greedy continuation of `n` tokens after the prompt (fed in chunks of `chunk`).
template <class P>
std::vector<std::int32_t> greedy(models::decoder<P>& dec, models::kv_cache& kv,
                                 const std::vector<std::int32_t>& toks, std::size_t n, std::size_t chunk = 0,
                                 models::seq_id seq = 0) {
  const std::size_t V = dec.desc().n_vocab;
  std::vector<std::int32_t> out;
  models::batch b;
  if (chunk == 0) chunk = toks.size();
  const float* last = nullptr;
  for (std::size_t i0 = 0; i0 < toks.size(); i0 += chunk) {
    b.clear();
    const std::size_t i1 = std::min(toks.size(), i0 + chunk);
    for (std::size_t i = i0; i < i1; ++i)
      b.add_token(toks[i], seq, static_cast<std::int32_t>(i), i + 1 == toks.size());
    auto r = dec.forward(b, kv);
    REQUIRE(r);
    if (i1 == toks.size()) last = r->data();
  }
  auto pos = static_cast<std::int32_t>(toks.size());
  for (std::size_t k = 0; k < n; ++k) {
    const auto t = static_cast<std::int32_t>(argmax(last, V));
    out.push_back(t);
    if (k + 1 == n) break;
    b.clear();
    b.add_token(t, seq, pos++, true);
    auto r = dec.forward(b, kv);
    REQUIRE(r);
    last = r->data();
  }
  return out;
}

/// Greedy continuations of several prompts run together: one batch prefills all of them
/// (sequence i = prompt i), then every step decodes one token of each.
template <class P>
std::vector<std::vector<std::int32_t>> greedy_batched(models::decoder<P>& dec, models::kv_cache& kv,
                                                      const std::vector<std::vector<std::int32_t>>& prompts,
                                                      std::size_t n) {
  const std::size_t V = dec.desc().n_vocab, S = prompts.size();
  std::vector<std::vector<std::int32_t>> out(S);
  models::batch b;
  for (std::size_t s = 0; s < S; ++s)
    for (std::size_t i = 0; i < prompts[s].size(); ++i)
      b.add_token(prompts[s][i], static_cast<models::seq_id>(s), static_cast<std::int32_t>(i),
                  i + 1 == prompts[s].size());
  auto r = dec.forward(b, kv);
  REQUIRE(r);
  REQUIRE(r->extent(0) == S);
  std::vector<float> last(r->data(), r->data() + S * V);
  for (std::size_t k = 0; k < n; ++k) {
    b.clear();
    for (std::size_t s = 0; s < S; ++s) {
      const auto t = static_cast<std::int32_t>(argmax(&last[s * V], V));
      out[s].push_back(t);
      b.add_token(t, static_cast<models::seq_id>(s), static_cast<std::int32_t>(prompts[s].size() + k), true);
    }
    if (k + 1 == n) break;
    auto rr = dec.forward(b, kv);
    REQUIRE(rr);
    last.assign(rr->data(), rr->data() + S * V);
  }
  return out;
}

inline void report(const std::string& what, const diff_stats& s) {
  std::printf("%-40s max |d| %.3g  mean |d| %.3g  argmax agree %.1f%%\n", what.c_str(), s.max, s.mean,
              100.0 * s.argmax_agree);
}

}  // namespace mmllm::test

namespace mmllm::test {

/// What a parity run checks and how strictly.
struct parity_options {
  double tolerance = 1e-4;    ///< max |Δ logit| vs the peer's prompt logits
  std::size_t n_greedy = 32;  ///< greedy tokens compared exactly
  bool quantized = false;     ///< loose rule: max ≤ tolerance and argmax agreement ≥ 90 %
  bool all_modes = true;      ///< also chunks, token by token and batched sequences
  models::kv_type kv = models::kv_type::f32;
};

/// Runs every prompt of `ref` through a decoder on `policy` and checks logits and greedy tokens.
template <class P>
void check_parity(const std::string& label, P policy, const model_ref& ref, const parity_options& o) {
  auto model = models::text_model::open(ref.gguf);
  REQUIRE(model);
  models::decoder<P> dec(*model, std::move(policy));
  const std::size_t V = ref.n_vocab;
  REQUIRE(dec.desc().n_vocab == V);
  auto check_logits = [&](const std::string& what, const std::vector<float>& got, const prompt_ref& p) {
    const diff_stats s = compare(got, p.logits, V);
    report(label + " " + p.name + " " + what, s);
    CHECK(s.max <= o.tolerance);
    if (o.quantized) CHECK(s.argmax_agree >= 0.9);
  };
  for (const prompt_ref& p : ref.prompts) {
    INFO(label << " prompt " << p.name);
    {
      auto kv = make_kv(*model, 1, o.kv);
      check_logits("whole", prompt_logits(dec, kv, p.tokens), p);
    }
    {
      auto kv = make_kv(*model, 1, o.kv);
      CHECK(greedy(dec, kv, p.tokens, o.n_greedy) ==
            std::vector<std::int32_t>(p.greedy.begin(),
                                      p.greedy.begin() + static_cast<std::ptrdiff_t>(o.n_greedy)));
    }
    if (!o.all_modes) continue;
    {
      auto kv = make_kv(*model, 1, o.kv);
      check_logits("chunks of 7", prompt_logits(dec, kv, p.tokens, 7), p);
    }
    {
      auto kv = make_kv(*model, 1, o.kv);
      check_logits("token by token", prompt_logits(dec, kv, p.tokens, 1), p);
    }
    {
      auto kv = make_kv(*model, 1, o.kv);
      CHECK(greedy(dec, kv, p.tokens, o.n_greedy, 1) ==
            std::vector<std::int32_t>(p.greedy.begin(),
                                      p.greedy.begin() + static_cast<std::ptrdiff_t>(o.n_greedy)));
    }
  }
  if (o.all_modes) {
    std::vector<std::vector<std::int32_t>> prompts;
    for (const auto& p : ref.prompts) prompts.push_back(p.tokens);
    auto kv = make_kv(*model, static_cast<std::uint32_t>(prompts.size()), o.kv);
    const auto got = greedy_batched(dec, kv, prompts, o.n_greedy);
    for (std::size_t s = 0; s < prompts.size(); ++s) {
      INFO(label << " batched, prompt " << ref.prompts[s].name);
      CHECK(got[s] == std::vector<std::int32_t>(
                          ref.prompts[s].greedy.begin(),
                          ref.prompts[s].greedy.begin() + static_cast<std::ptrdiff_t>(o.n_greedy)));
    }
  }
}

}  // namespace mmllm::test
