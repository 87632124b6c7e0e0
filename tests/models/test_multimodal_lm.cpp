// The language-model side of multimodal prompts, against libmtmd's recorded outputs
// (synthetic/mm): the prompt's text chunks as tokens and the image chunk as the projector's
// embedding rows (the no-flash-attention embeddings), fed exactly as the peer feeds them —
// gemma3: image rows unscaled, attending bidirectionally among themselves; qwen2vl: M-RoPE
// with four position streams and the peer's (y, x) causal order among equal t positions.
// The last prompt logits must match `logits_last_f32path` (F32 KV cache, no flash attention)
// and greedy decoding must give the recorded 32 tokens.
#include <mmllm/compute/scalar.hpp>
#include <mmllm/models/batch.hpp>
#include <mmllm/models/decoder.hpp>
#include <mmllm/models/kv_cache.hpp>
#include <mmllm/models/text_model.hpp>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

using namespace mmllm;

namespace {

void run_fixture(const std::string& name) {
  const std::string dir = "synthetic/mm/" + name + "/";
  const auto j = nlohmann::json::parse(test::read_text(test::fixture_path(dir + "reference.json")));
  const auto& tz = j.at("tokenization");
  const bool non_causal = tz.at("non_causal_media_decode").get<bool>();
  auto model = models::text_model::open(test::fixture_path(dir + "model.gguf").string());
  REQUIRE(model);
  const std::size_t E = model->desc().n_embd, V = model->desc().n_vocab;
  models::decoder<compute::scalar> dec(*model, compute::scalar{});
  models::kv_cache_options ko;
  ko.n_ctx = 1024;
  auto kv = models::kv_cache::create(model->desc(), ko);
  REQUIRE(kv);

  // one forward per chunk, as mtmd_helper_eval_chunks decodes them
  models::batch b;
  std::int32_t n_past = 0;
  std::vector<float> last;
  const auto& chunks = tz.at("chunks");
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    const auto& ch = chunks[c];
    const bool is_last = c + 1 == chunks.size();
    b.clear();
    if (ch.at("type") == "text") {
      const auto toks = ch.at("tokens").get<std::vector<std::int32_t>>();
      for (std::size_t i = 0; i < toks.size(); ++i)
        b.add_token(toks[i], 0, n_past + static_cast<std::int32_t>(i), is_last && i + 1 == toks.size());
    } else {
      const std::string key = ch.at("embeddings").get<std::string>();  // "embd_c1"
      const std::string file =
          j.at("arrays").at("embd_noflash_" + key.substr(5)).at("file").get<std::string>();
      const std::vector<float> emb =
          test::read_f32(test::fixture_path(file.substr(std::string("shared/fixtures/").size())));
      const auto n = ch.at("n_tokens").get<std::size_t>();
      REQUIRE(emb.size() == n * E);
      for (std::size_t i = 0; i < n; ++i) {
        const std::span<const float> row(emb.data() + i * E, E);
        if (ch.at("use_mrope_pos").get<bool>()) {
          const auto& mp = ch.at("mrope_pos");
          b.add_embedding(row, 0,
                          models::positions{mp[0][i].get<std::int32_t>(), mp[1][i].get<std::int32_t>(),
                                            mp[2][i].get<std::int32_t>(), mp[3][i].get<std::int32_t>()});
        } else {
          b.add_embedding(row, 0, n_past + static_cast<std::int32_t>(i));
        }
      }
      if (non_causal) b.set_bidirectional(0, b.size());
    }
    auto r = dec.forward(b, *kv);
    REQUIRE(r);
    if (is_last) last.assign(r->data(), r->data() + V);
    n_past += ch.at("n_pos").get<std::int32_t>();
  }

  const std::vector<float> ref = test::read_f32(test::fixture_path(dir + "f32path_logits_last.f32"));
  REQUIRE(ref.size() == V);
  double mx = 0;
  for (std::size_t i = 0; i < V; ++i) mx = std::max(mx, std::fabs(static_cast<double>(last[i]) - ref[i]));
  std::printf("%s: last prompt logits max |d| %.3g vs logits_last_f32path\n", name.c_str(), mx);
  CHECK(mx < 2e-3);
  CHECK(std::max_element(last.begin(), last.end()) - last.begin() ==
        std::max_element(ref.begin(), ref.end()) - ref.begin());

  // greedy continuation
  const auto want = j.at("generation_f32path").at("tokens").get<std::vector<std::int32_t>>();
  std::vector<std::int32_t> got;
  for (std::size_t k = 0; k < want.size(); ++k) {
    const auto t = static_cast<std::int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
    got.push_back(t);
    b.clear();
    b.add_token(t, 0, n_past++, true);
    auto r = dec.forward(b, *kv);
    REQUIRE(r);
    last.assign(r->data(), r->data() + V);
  }
  CHECK(got == want);
}

}  // namespace

TEST_CASE("gemma3 LM with image embeddings (bidirectional image span) matches libmtmd") {
  run_fixture("gemma3");
}

TEST_CASE("qwen2vl LM with image embeddings (M-RoPE positions) matches libmtmd") { run_fixture("qwen2vl"); }
