// Multimodal prompt chunking (mtmd_tokenize's rules) against the peer's recorded chunk lists
// for every synthetic/mm fixture, plus marker/item mismatches, precomputed embeddings and
// llama.cpp's legacy [img-N] references.
#include <mmllm/engine/mm_chunker.hpp>
#include <mmllm/io/gguf_reader.hpp>
#include <mmllm/media/audio_decode.hpp>
#include <mmllm/tokenize/gguf_tokenizer.hpp>

#include <memory>

#include "mm_fixture.hpp"

using mmllm::test::mm_fixture;
namespace mm = mmllm::mm;

namespace {

struct loaded {
  mmllm::tokenizer tok;
  mm::multimodal_encoder enc;
};

loaded load(const mm_fixture& fx) {
  auto r = mmllm::gguf_reader::open(fx.model_path());
  REQUIRE(r);
  auto tok = mmllm::load_gguf_tokenizer(*r);
  REQUIRE(tok);
  auto enc = mm::multimodal_encoder::open(fx.mmproj_path());
  if (!enc) FAIL(enc.error().what());
  return {std::move(*tok), std::move(*enc)};
}

mm::media_item fixture_media(const mm_fixture& fx) {
  const std::string media = fx.config.at("hparams").at("media").get<std::string>();
  if (media == "jfk.wav") {
    auto pcm =
        mmllm::media::decode_audio(mmllm::test::read_bytes(mmllm::test::fixture_path("media/jfk.wav")));
    REQUIRE(pcm);
    return mm::media_item::from_audio(std::move(*pcm));
  }
  return mm::media_item::from_image(mmllm::test::test_image_peer());
}

void check_layout(const std::string& name) {
  mm_fixture fx(name);
  loaded l = load(fx);
  const std::vector<mm::media_item> items{fixture_media(fx)};
  auto p = mm::tokenize_multimodal(l.tok, &l.enc, fx.reference.at("prompt").get<std::string>(), items);
  if (!p) FAIL(p.error().what());
  const auto& ref = fx.reference.at("tokenization");
  const auto& chunks = ref.at("chunks");
  REQUIRE(p->chunks.size() == chunks.size());
  std::int32_t pos = 0;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const auto& rc = chunks[i];
    const mm::prompt_chunk& c = p->chunks[i];
    INFO(name << " chunk " << i);
    CHECK(pos == rc.at("pos_start").get<std::int32_t>());
    CHECK(c.n_pos() == rc.at("n_pos").get<std::int32_t>());
    CHECK(c.n_tokens() == rc.at("n_tokens").get<std::size_t>());
    if (rc.at("type") == "text") {
      REQUIRE(c.type == mm::chunk_type::text);
      CHECK(c.tokens == rc.at("tokens").get<std::vector<mmllm::token_id>>());
    } else {
      CHECK(c.type == (rc.at("type") == "image" ? mm::chunk_type::image : mm::chunk_type::audio));
      if (rc.contains("nx")) {
        CHECK(c.grid.width == rc.at("nx").get<int>());
        CHECK(c.grid.height == rc.at("ny").get<int>());
      }
      CHECK(c.mrope == ref.at("use_mrope").get<bool>());
    }
    pos += c.n_pos();
  }
  CHECK(p->n_tokens() == ref.at("n_tokens_total").get<std::size_t>());
  CHECK(p->n_pos() == ref.at("n_pos_total").get<std::int32_t>());
  CHECK(l.enc.non_causal_images() == ref.at("non_causal_media_decode").get<bool>());
  CHECK(l.enc.use_mrope() == ref.at("use_mrope").get<bool>());
}

}  // namespace

TEST_CASE("chunk layout matches mtmd_tokenize for every fixture", "[mm][chunker]") {
  for (const char* n : {"mlp", "idefics3", "gemma3", "qwen2vl", "ultravox", "qwen2a"}) check_layout(n);
}

TEST_CASE("marker and item counts must agree", "[mm][chunker]") {
  mm_fixture fx("gemma3");
  loaded l = load(fx);
  const std::vector<mm::media_item> one{mm::media_item::from_image(mmllm::test::test_image_peer())};
  auto none = mm::tokenize_multimodal(l.tok, &l.enc, "no marker here", one);
  REQUIRE_FALSE(none);
  CHECK(none.error().message.find("marker") != std::string::npos);
  auto two = mm::tokenize_multimodal(l.tok, &l.enc, "<__media__> and <__media__>", one);
  REQUIRE_FALSE(two);
  // audio into a vision-only projector
  mmllm::media::audio_pcm pcm{16000, std::vector<float>(16000, 0.0f)};
  const std::vector<mm::media_item> a{mm::media_item::from_audio(pcm)};
  auto na = mm::tokenize_multimodal(l.tok, &l.enc, "<__media__>", a);
  REQUIRE_FALSE(na);
  CHECK(na.error().message.find("audio") != std::string::npos);
  // a custom marker and the legacy image marker
  mm::chunker_options o;
  o.marker = "<image>";
  auto custom = mm::tokenize_multimodal(l.tok, &l.enc, "see <image> now", one, o);
  REQUIRE(custom);
  CHECK(custom->chunks.size() == 3);
  auto legacy = mm::tokenize_multimodal(l.tok, &l.enc, "see <__image__> now", one);
  REQUIRE(legacy);
  CHECK(legacy->chunks.size() == 3);
}

TEST_CASE("a media item first gets its own BOS chunk", "[mm][chunker]") {
  mm_fixture fx("mlp");
  loaded l = load(fx);
  const std::vector<mm::media_item> one{mm::media_item::from_image(mmllm::test::test_image_peer())};
  auto p = mm::tokenize_multimodal(l.tok, &l.enc, "<__media__>", one);
  REQUIRE(p);
  REQUIRE(p->chunks.size() == 2);
  CHECK(p->chunks[0].tokens == std::vector<mmllm::token_id>{l.tok.bos()});
  CHECK(p->chunks[1].type == mm::chunk_type::image);
}

TEST_CASE("precomputed embeddings take an image's place", "[mm][chunker]") {
  {
    mm_fixture fx("gemma3");
    loaded l = load(fx);
    mm::precomputed_embeddings e;
    e.n_embd = 64;
    e.data.assign(16 * 64, 0.5f);
    const std::vector<mm::media_item> items{mm::media_item::from_embeddings(e, "my-uuid")};
    auto p = mm::tokenize_multimodal(l.tok, &l.enc, fx.reference.at("prompt").get<std::string>(), items);
    REQUIRE(p);
    auto img = mm::tokenize_multimodal(
        l.tok, &l.enc, fx.reference.at("prompt").get<std::string>(),
        std::vector<mm::media_item>{mm::media_item::from_image(mmllm::test::test_image_peer())});
    REQUIRE(img);
    REQUIRE(p->chunks.size() == img->chunks.size());
    for (std::size_t i = 0; i < p->chunks.size(); ++i) {
      CHECK(p->chunks[i].tokens == img->chunks[i].tokens);
      CHECK(p->chunks[i].n_tokens() == img->chunks[i].n_tokens());
    }
    CHECK(p->media[0].key == "u:my-uuid");
    e.n_embd = 32;
    auto bad = mm::tokenize_multimodal(l.tok, &l.enc, "<__media__>",
                                       std::vector<mm::media_item>{mm::media_item::from_embeddings(e)});
    CHECK_FALSE(bad);
  }
  {
    mm_fixture fx("qwen2vl");
    loaded l = load(fx);
    mm::precomputed_embeddings e;
    e.n_embd = 64;
    e.data.assign(414 * 64, 0.5f);
    auto no_grid = mm::tokenize_multimodal(l.tok, &l.enc, "<__media__>",
                                           std::vector<mm::media_item>{mm::media_item::from_embeddings(e)});
    CHECK_FALSE(no_grid);
    e.token_grid = {23, 18};
    auto p = mm::tokenize_multimodal(l.tok, &l.enc, "<__media__>",
                                     std::vector<mm::media_item>{mm::media_item::from_embeddings(e)});
    REQUIRE(p);
    CHECK(p->chunks[1].n_pos() == 23);
  }
  {
    mm_fixture fx("idefics3");
    loaded l = load(fx);
    mm::precomputed_embeddings e;
    e.n_embd = 64;
    e.data.assign(7 * 16 * 64, 0.5f);
    e.tiles = {3, 2};
    auto p = mm::tokenize_multimodal(l.tok, &l.enc, fx.reference.at("prompt").get<std::string>(),
                                     std::vector<mm::media_item>{mm::media_item::from_embeddings(e)});
    REQUIRE(p);
    const auto& chunks = fx.reference.at("tokenization").at("chunks");
    REQUIRE(p->chunks.size() == chunks.size());
    for (std::size_t i = 0; i < chunks.size(); ++i)
      if (chunks[i].at("type") == "text")
        CHECK(p->chunks[i].tokens == chunks[i].at("tokens").get<std::vector<mmllm::token_id>>());
  }
}

TEST_CASE("legacy [img-N] references become markers in reference order", "[mm][chunker]") {
  std::vector<mm::legacy_image_ref> refs(2);
  refs[0].id = 10;
  refs[0].item.uuid = "ten";
  refs[1].id = 3;
  refs[1].item.uuid = "three";
  auto r = mm::rewrite_legacy_image_ids("A [img-3] B [img-10] C [img-x]", refs);
  REQUIRE(r);
  CHECK(r->first == "A <__media__> B <__media__> C [img-x]");
  REQUIRE(r->second.size() == 2);
  CHECK(r->second[0].uuid == "three");
  CHECK(r->second[1].uuid == "ten");
  CHECK_FALSE(mm::rewrite_legacy_image_ids("[img-3]", refs));                   // id 10 unreferenced
  CHECK_FALSE(mm::rewrite_legacy_image_ids("[img-3] [img-3] [img-10]", refs));  // used twice
  CHECK_FALSE(mm::rewrite_legacy_image_ids("[img-4] [img-3] [img-10]", refs));  // unknown id
}
