// The offline engine with an mmproj, on every synthetic/mm fixture: a request carrying the
// fixture's image or audio in multi_modal_data gives the peer's chunk layout and its 32 greedy
// tokens (`generation_f32path`, as test_mm_generation.cpp checks through mm_evaluator); the
// projector output sent back as precomputed embeddings gives the same tokens; a repeated item
// (same pixels or same uuid) is taken from the encoder cache; a batch mixing text and media
// requests gives each request's tokens alone; marker/item mismatches, limit_mm_per_prompt,
// uuid lists and media on a text-only engine are clear errors.

#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>
#include <mmllm/engine/engine.hpp>
#include <mmllm/media/audio_decode.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "../multimodal/mm_fixture.hpp"

using namespace mmllm;
using engine_t = engine<compute::simd>;

namespace {

struct fixture_engine {
  test::mm_fixture fx;
  compute::thread_pool pool{2};
  std::optional<engine_t> eng;
  std::vector<token_id> ref_tokens;

  explicit fixture_engine(const std::string& name, std::uint32_t max_batch_tokens = 128) : fx(name) {
    engine_options o;
    o.n_ctx = 4096;
    o.n_seq_max = 3;
    o.max_batch_tokens = max_batch_tokens;
    o.seed = 1;
    auto e = engine_t::load(fx.model_path(), fx.mmproj_path(), compute::simd(pool), o);
    if (!e) FAIL(e.error().what());
    eng.emplace(std::move(*e));
    ref_tokens = fx.reference.at("generation_f32path").at("tokens").get<std::vector<token_id>>();
  }

  [[nodiscard]] bool is_audio() const {
    return fx.config.at("hparams").at("media").get<std::string>() == "jfk.wav";
  }

  [[nodiscard]] engine_t::request_type media_request() const {
    engine_t::request_type r;
    r.prompt = fx.reference.at("prompt").get<std::string>();
    r.parse_special = true;  // the peer's mtmd_tokenize(parse_special = true)
    if (is_audio()) {
      auto pcm = media::decode_audio(test::read_bytes(test::fixture_path("media/jfk.wav")));
      REQUIRE(pcm);
      r.multi_modal_data.audio.push_back(std::move(*pcm));
    } else {
      r.multi_modal_data.image.push_back(test::test_image_peer());
    }
    return r;
  }

  /// The projector output of `o` as precomputed embeddings for this fixture's model.
  [[nodiscard]] mm::precomputed_embeddings embeddings_of(const generation_output& o) const {
    mm::precomputed_embeddings e;
    e.n_embd = eng->model().desc().n_embd;
    e.data = o.media_embeddings;
    if (is_audio()) e.mod = mm::modality::audio;
    if (fx.name == "idefics3") e.tiles = {3, 2};
    for (const auto& c : o.prompt_chunks)
      if (c.type != mm::chunk_type::text && c.mrope) e.token_grid = c.grid;
    return e;
  }
};

generation_params<> greedy(std::size_t n) {
  generation_params<> p;
  p.sampling.temperature = 0.0f;
  p.max_tokens = static_cast<std::int32_t>(n);
  return p;
}

void check_layout(const test::mm_fixture& fx, const generation_output& o) {
  const auto& ref = fx.reference.at("tokenization").at("chunks");
  REQUIRE(o.prompt_chunks.size() == ref.size());
  std::size_t n_entries = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const auto& c = o.prompt_chunks[i];
    const std::string type = ref[i].at("type").get<std::string>();
    INFO("chunk " << i << " (" << type << ")");
    CHECK(c.type == (type == "text"    ? mm::chunk_type::text
                     : type == "image" ? mm::chunk_type::image
                                       : mm::chunk_type::audio));
    CHECK(c.n_tokens() == ref[i].at("n_tokens").get<std::size_t>());
    CHECK(c.n_pos() == ref[i].at("n_pos").get<std::int32_t>());
    if (type == "text") CHECK(c.tokens == ref[i].at("tokens").get<std::vector<token_id>>());
    n_entries += c.n_tokens();
  }
  CHECK(o.prompt_tokens.size() == n_entries);
}

void check_fixture(const std::string& name) {
  fixture_engine f(name);
  const std::size_t n_gen = f.ref_tokens.size();

  // alone: the peer's layout and greedy tokens
  auto r = f.media_request();
  r.return_media_embeddings = true;
  auto alone = f.eng->generate(std::move(r), greedy(n_gen));
  REQUIRE(alone);
  INFO(name << ": " << alone->error);
  std::printf("%s: engine greedy %s, encode %.1f ms (%zu entries encoded)\n", name.c_str(),
              alone->tokens == f.ref_tokens ? "equal" : "DIFFERENT", alone->encode_ms,
              alone->n_media_encoded);
  CHECK(alone->tokens == f.ref_tokens);
  check_layout(f.fx, *alone);
  CHECK(alone->n_media_encoded > 0);
  CHECK(alone->n_media_cache_hits == 0);
  std::size_t n_media_rows = 0;
  for (const auto& c : alone->prompt_chunks)
    if (c.type != mm::chunk_type::text) n_media_rows += c.n_media_tokens;
  CHECK(alone->media_embeddings.size() == n_media_rows * f.eng->model().desc().n_embd);

  // a text-only request alone
  engine_t::request_type text;
  text.prompt = "Once upon a time";
  auto text_alone = f.eng->generate(std::move(text), greedy(12));
  REQUIRE(text_alone);
  CHECK(text_alone->finish != finish_reason::error);
  CHECK(text_alone->prompt_chunks.size() == 1);

  // mixed batch: text, media (from the encoder cache now), precomputed embeddings
  std::vector<engine_t::request_type> batch;
  batch.emplace_back();
  batch.back().prompt = "Once upon a time";
  batch.back().params = greedy(12);
  batch.push_back(f.media_request());
  batch.emplace_back();
  batch.back().prompt = f.fx.reference.at("prompt").get<std::string>();
  batch.back().parse_special = true;
  batch.back().multi_modal_data.image_embeds.push_back(f.embeddings_of(*alone));
  auto outs = f.eng->generate(std::move(batch), greedy(n_gen));
  REQUIRE(outs);
  REQUIRE(outs->size() == 3);
  CHECK((*outs)[0].tokens == text_alone->tokens);
  CHECK((*outs)[1].tokens == f.ref_tokens);
  CHECK((*outs)[1].n_media_encoded == 0);  // a repeated item: taken from the encoder cache
  CHECK((*outs)[1].n_media_cache_hits == alone->n_media_encoded);
  CHECK((*outs)[2].tokens == f.ref_tokens);  // precomputed embeddings
  CHECK((*outs)[2].n_media_encoded == 0);
  CHECK((*outs)[2].prompt_tokens == alone->prompt_tokens);
}

}  // namespace

TEST_CASE("engine: mlp image prompt equals the peer", "[engine][mm]") { check_fixture("mlp"); }
TEST_CASE("engine: idefics3 tiled image prompt equals the peer", "[engine][mm]") {
  check_fixture("idefics3");
}
TEST_CASE("engine: gemma3 bidirectional image prompt equals the peer", "[engine][mm]") {
  check_fixture("gemma3");
}
TEST_CASE("engine: qwen2vl M-RoPE image prompt equals the peer", "[engine][mm]") { check_fixture("qwen2vl"); }
TEST_CASE("engine: ultravox audio prompt equals the peer", "[engine][mm]") { check_fixture("ultravox"); }
TEST_CASE("engine: qwen2a audio prompt equals the peer", "[engine][mm]") { check_fixture("qwen2a"); }

TEST_CASE("engine: gemma3 image is not split across steps", "[engine][mm]") {
  // 17 text tokens then 16 image rows: with 24 entries per step the image waits for the next
  // step instead of being cut (its rows attend to each other bidirectionally)
  fixture_engine f("gemma3", 24);
  auto out = f.eng->generate(f.media_request(), greedy(f.ref_tokens.size()));
  REQUIRE(out);
  CHECK(out->tokens == f.ref_tokens);
}

TEST_CASE("engine: uuids key the encoder cache", "[engine][mm]") {
  fixture_engine f("gemma3");
  auto a = f.media_request();
  a.multi_modal_uuids.image = {"picture-1"};
  auto first = f.eng->generate(std::move(a), greedy(4));
  REQUIRE(first);
  CHECK(first->n_media_encoded == 1);
  // other pixels, same uuid: the cached output is used (vLLM's multi_modal_uuids contract)
  auto b = f.media_request();
  b.multi_modal_data.image[0] = media::image_u8::filled(64, 64, {10, 20, 30});
  b.multi_modal_uuids.image = {"picture-1"};
  auto second = f.eng->generate(std::move(b), greedy(4));
  REQUIRE(second);
  CHECK(second->n_media_encoded == 0);
  CHECK(second->n_media_cache_hits == 1);
  CHECK(second->tokens == first->tokens);
  // two markers with the same image in one request: encoded once
  f.eng->encoder_cache()->clear();
  auto c = f.media_request();
  c.prompt = "<__media__> and <__media__>";
  c.multi_modal_data.image.push_back(test::test_image_peer());
  auto both = f.eng->generate(std::move(c), greedy(2));
  REQUIRE(both);
  CHECK(both->n_media_encoded == 1);
  CHECK(both->n_media_cache_hits == 1);
}

TEST_CASE("engine: media errors", "[engine][mm]") {
  compute::thread_pool pool(2);
  test::mm_fixture fx("gemma3");
  engine_options o;
  o.limit_mm_per_prompt.image = 1;
  o.limit_mm_per_prompt.audio = 0;
  auto eng = engine_t::load(fx.model_path(), fx.mmproj_path(), compute::simd(pool), o);
  REQUIRE(eng);
  auto expect_error = [&](engine_t::request_type r, const std::string& part) {
    auto id = eng->add_request(std::move(r));
    REQUIRE_FALSE(id);
    INFO(id.error().what());
    CHECK(id.error().what().find(part) != std::string::npos);
  };
  {  // two markers, one image
    engine_t::request_type r;
    r.prompt = "a <__media__> b <__media__>";
    r.multi_modal_data.image.push_back(test::test_image_peer());
    expect_error(std::move(r), "2 media marker(s)");
  }
  {  // an image without a marker
    engine_t::request_type r;
    r.prompt = "no marker";
    r.multi_modal_data.image.push_back(test::test_image_peer());
    expect_error(std::move(r), "0 media marker(s)");
  }
  {  // a marker without an image
    engine_t::request_type r;
    r.prompt = "<__media__>";
    expect_error(std::move(r), "1 media marker(s)");
  }
  {  // two images over limit_mm_per_prompt.image = 1 (image_embeds count as images)
    engine_t::request_type r;
    r.prompt = "<__media__><__media__>";
    r.multi_modal_data.image.push_back(test::test_image_peer());
    mm::precomputed_embeddings e;
    e.n_embd = 64;
    e.data.assign(16 * 64, 0.5f);
    r.multi_modal_data.image_embeds.push_back(std::move(e));
    expect_error(std::move(r), "limit_mm_per_prompt");
  }
  {  // audio disabled by the limit
    engine_t::request_type r;
    r.prompt = "<__media__>";
    r.multi_modal_data.audio.push_back(media::audio_pcm{16000, std::vector<float>(16000, 0.0f)});
    expect_error(std::move(r), "at most 0");
  }
  {  // uuid list of the wrong length
    engine_t::request_type r;
    r.prompt = "<__media__>";
    r.multi_modal_data.image.push_back(test::test_image_peer());
    r.multi_modal_uuids.image = {"a", "b"};
    expect_error(std::move(r), "multi_modal_uuids");
  }
  {  // precomputed embeddings of the wrong width
    engine_t::request_type r;
    r.prompt = "<__media__>";
    mm::precomputed_embeddings e;
    e.n_embd = 32;
    e.data.assign(16 * 32, 0.5f);
    r.multi_modal_data.image_embeds.push_back(std::move(e));
    expect_error(std::move(r), "precomputed embeddings");
  }
  {  // a video with neither frames nor data
    engine_t::request_type r;
    r.prompt = "<__media__>";
    r.multi_modal_data.video.emplace_back();
    expect_error(std::move(r), "neither frames nor data");
  }
  {  // encoded video bytes are decoded with FFmpeg (in builds with it); these are no video
    engine_t::request_type r;
    r.prompt = "<__media__>";
    video_input v;
    v.bytes = {1, 2, 3, 4, 5, 6, 7, 8};
    r.multi_modal_data.video.push_back(std::move(v));
    expect_error(std::move(r), "video");
  }
  {  // the gemma3 projector has no audio encoder
    engine_options o2;
    auto e2 = engine_t::load(fx.model_path(), fx.mmproj_path(), compute::simd(pool), o2);
    REQUIRE(e2);
    engine_t::request_type r;
    r.prompt = "<__media__>";
    r.multi_modal_data.audio.push_back(media::audio_pcm{16000, std::vector<float>(16000, 0.0f)});
    auto id = e2->add_request(std::move(r));
    REQUIRE_FALSE(id);
    CHECK(id.error().what().find("audio") != std::string::npos);
  }
  {  // media on an engine without an mmproj
    auto text_only = engine_t::load(fx.model_path(), compute::simd(pool));
    REQUIRE(text_only);
    engine_t::request_type r;
    r.prompt = "<__media__>";
    r.multi_modal_data.image.push_back(test::test_image_peer());
    auto id = text_only->add_request(std::move(r));
    REQUIRE_FALSE(id);
    CHECK(id.error().what().find("mmproj") != std::string::npos);
  }
}

TEST_CASE("engine: video frames take one marker", "[engine][mm]") {
  fixture_engine f("gemma3");
  engine_t::request_type r;
  r.prompt = "Watch: <__media__> now";
  video_input v;
  for (int i = 0; i < 2; ++i) v.frames.frames.push_back({0.5 * i, test::test_image_peer()});
  r.multi_modal_data.video.push_back(std::move(v));
  auto out = f.eng->generate(std::move(r), greedy(2));
  REQUIRE(out);
  std::size_t n_images = 0;
  for (const auto& c : out->prompt_chunks) n_images += c.type == mm::chunk_type::image ? 1 : 0;
  CHECK(n_images == 2);
  CHECK(out->n_media_encoded == 1);  // the same frame twice: encoded once
}
