// Helpers of the multimodal language-model tests: load a fixture's LM, tokenizer and
// encoders, run the prompt with media, and decode greedily.
#pragma once

#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>
#include <mmllm/engine/mm_eval.hpp>
#include <mmllm/media/audio_decode.hpp>
#include <mmllm/models/decoder.hpp>
#include <mmllm/models/text_model.hpp>
#include <mmllm/tokenize/gguf_tokenizer.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "mm_fixture.hpp"

namespace mmllm::test {

struct mm_lm_setup {
  mm_fixture fx;
  std::unique_ptr<models::text_model> model;
  tokenizer tok;
  std::unique_ptr<mm::multimodal_encoder> enc;

  explicit mm_lm_setup(const std::string& name) : fx(name) {
    auto m = models::text_model::open(fx.model_path());
    if (!m) FAIL(m.error().what());
    model = std::make_unique<models::text_model>(std::move(*m));
    auto t = load_gguf_tokenizer(model->file());
    REQUIRE(t);
    tok = std::move(*t);
    auto e = mm::multimodal_encoder::open(fx.mmproj_path());
    if (!e) FAIL(e.error().what());
    enc = std::make_unique<mm::multimodal_encoder>(std::move(*e));
    REQUIRE(enc->check_text_model(model->desc().n_embd));
  }

  [[nodiscard]] mm::media_item media() const {
    const std::string m = fx.config.at("hparams").at("media").get<std::string>();
    if (m == "jfk.wav") {
      auto pcm = media::decode_audio(read_bytes(fixture_path("media/jfk.wav")));
      REQUIRE(pcm);
      return mm::media_item::from_audio(std::move(*pcm));
    }
    return mm::media_item::from_image(test_image_peer());
  }

  /// The peer's no-flash embeddings of the image/audio as one precomputed item.
  [[nodiscard]] mm::media_item noflash_embeddings() const {
    mm::precomputed_embeddings e;
    e.n_embd = model->desc().n_embd;
    for (const auto& c : fx.media_chunks()) {
      const std::string k = c.at("embeddings").get<std::string>();
      const std::vector<float> a = fx.array("embd_noflash_" + k.substr(5));
      e.data.insert(e.data.end(), a.begin(), a.end());
      if (c.contains("nx") && fx.reference.at("tokenization").at("use_mrope").get<bool>())
        e.token_grid = {c.at("nx").get<int>(), c.at("ny").get<int>()};
    }
    if (fx.name == "idefics3") e.tiles = {3, 2};
    if (fx.config.at("hparams").at("media").get<std::string>() == "jfk.wav") e.mod = mm::modality::audio;
    return mm::media_item::from_embeddings(std::move(e));
  }
};

inline std::size_t argmax(std::span<const float> v) {
  return static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

/// Runs the fixture prompt with `item`; returns the last logits and fills `greedy` with
/// n_gen greedy tokens (argmax, one token per step).
inline std::vector<float> run_prompt(mm_lm_setup& s, const mm::media_item& item,
                                     std::vector<token_id>* greedy, std::size_t n_gen,
                                     mm::mm_prompt* chunks_out = nullptr) {
  compute::thread_pool pool(2);
  models::decoder<compute::simd> dec(*s.model, compute::simd(pool));
  auto kv = models::kv_cache::create(s.model->desc(), {.n_ctx = 4096, .n_seq_max = 1});
  REQUIRE(kv);
  const std::vector<mm::media_item> items{item};
  auto p = mm::tokenize_multimodal(s.tok, s.enc.get(), s.fx.reference.at("prompt").get<std::string>(), items);
  if (!p) FAIL(p.error().what());
  mm::mm_evaluator<compute::simd> ev(s.enc.get(), compute::simd(pool));
  auto r = ev.eval(dec, *kv, *p);
  if (!r) FAIL(r.error().what());
  if (chunks_out != nullptr) *chunks_out = *p;
  std::vector<float> logits = r->logits;
  if (greedy != nullptr) {
    std::int32_t pos = r->n_past;
    std::vector<float> cur = logits;
    for (std::size_t i = 0; i < n_gen; ++i) {
      const auto t = static_cast<token_id>(argmax(cur));
      greedy->push_back(t);
      if (s.tok.is_eog(t)) break;
      models::batch b;
      b.add_token(t, 0, pos++, true);
      auto lg = dec.forward(b, *kv);
      if (!lg) FAIL(lg.error().what());
      cur.assign(&(*lg)(0, 0), &(*lg)(0, 0) + lg->extent(1));
    }
  }
  return logits;
}

}  // namespace mmllm::test
