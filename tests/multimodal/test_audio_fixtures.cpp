// Whisper-style audio encoders (ultravox, qwen2a) against the peer's recorded projector
// outputs: log-mel within 1e-4 of the peer's encoder input, embeddings within the recorded
// tolerances (noflash 5e-3, flash 5e-2).
#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>
#include <mmllm/media/audio_decode.hpp>
#include <mmllm/models/audio/audio_encoder.hpp>

#include <cstdio>
#include <memory>

#include "mm_fixture.hpp"

using mmllm::test::mm_fixture;
namespace mm = mmllm::mm;

namespace {

const mm::audio_input& jfk_input() {
  static const mm::audio_input in = [] {
    auto pcm =
        mmllm::media::decode_audio(mmllm::test::read_bytes(mmllm::test::fixture_path("media/jfk.wav")));
    REQUIRE(pcm);
    auto r = mm::whisper_preprocess(*pcm);
    REQUIRE(r);
    return std::move(r).value();
  }();
  return in;
}

void check_fixture(const std::string& name, bool f16_file = false) {
  mm_fixture fx(name);
  auto file = mm::mmproj_file::open(fx.mmproj_path(f16_file));
  REQUIRE(file);
  auto enc = mm::audio_encoder::load(std::make_shared<mm::mmproj_file>(std::move(*file)));
  if (!enc) FAIL(enc.error().what());
  REQUIRE(enc->projector_name() == name);
  const mm::audio_input& in = jfk_input();
  const auto chunks = fx.media_chunks();
  REQUIRE(in.entries.size() == chunks.size());
  mmllm::compute::thread_pool pool(2);
  mmllm::compute::simd cpu(pool);
  const std::string pre = f16_file ? "f16_" : "";
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const auto& c = chunks[i];
    const std::vector<float> mel = fx.array(c.at("preprocessed")[0].get<std::string>());
    CHECK(mmllm::test::max_abs_diff(mel, in.entries[i].data) < 1e-4f);
    REQUIRE(enc->n_tokens(in.entries[i]) == c.at("n_tokens").get<std::size_t>());
    // encode the peer's own mel so the embedding comparison isolates the encoder
    mmllm::media::log_mel peer_mel = in.entries[i];
    peer_mel.data = mel;
    std::vector<float> out(enc->n_tokens(peer_mel) * enc->n_embd_out());
    auto r = enc->encode(cpu, peer_mel, out);
    if (!r) FAIL(r.error().what());
    const std::string ek = c.at("embeddings").get<std::string>();
    const float d_noflash = mmllm::test::max_abs_diff(out, fx.array(pre + "embd_noflash_" + ek.substr(5)));
    const float d_flash = mmllm::test::max_abs_diff(out, fx.array(pre + ek));
    std::printf("%s%s chunk %zu: max|d| vs noflash %.3g, vs flash %.3g\n", name.c_str(),
                f16_file ? " (f16)" : "", i, d_noflash, d_flash);
    CHECK(d_noflash < 5e-3f);
    CHECK(d_flash < 5e-2f);
    mm::encode_options fo;
    fo.attention = mm::attention_precision::peer_flash_f16;
    REQUIRE(enc->encode(cpu, peer_mel, out, fo));
    const float d_emul = mmllm::test::max_abs_diff(out, fx.array(pre + ek));
    std::printf("%s%s chunk %zu: emulated flash vs flash %.3g\n", name.c_str(), f16_file ? " (f16)" : "", i,
                d_emul);
    CHECK(d_emul < (f16_file ? 1e-2f : 5e-3f));
  }
}

}  // namespace

TEST_CASE("ultravox embeddings match the peer", "[mm][audio]") { check_fixture("ultravox"); }
TEST_CASE("qwen2a embeddings match the peer", "[mm][audio]") { check_fixture("qwen2a"); }
TEST_CASE("f16 audio mmproj files match the peer's f16 outputs", "[mm][audio]") {
  check_fixture("ultravox", true);
  check_fixture("qwen2a", true);
}
