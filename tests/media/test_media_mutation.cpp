// Bounded mutation test of every fixture media file: truncations and random byte flips must
// give an error or a well-formed result — never a crash, hang or sanitizer report (CI runs this
// under ASan + UBSan). Deterministic seeds; tests/fuzz has the open-ended libFuzzer targets.
#include <mmllm/media/audio_decode.hpp>
#include <mmllm/media/image_decode.hpp>
#include <mmllm/media/media_source.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

namespace media = mmllm::media;
using mmllm::test::fixture_path;
using mmllm::test::read_bytes;

namespace {

/// Mutants of `in`: truncations at spread and random points, then 1–8 random byte changes
/// (values biased to 0x00 / 0xFF / bit flips, which hit sizes and markers).
std::vector<std::vector<std::uint8_t>> mutants(const std::vector<std::uint8_t>& in, int count,
                                               std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<std::uint8_t>> out;
  for (int i = 1; i <= 16; ++i)
    out.emplace_back(in.begin(), in.begin() + std::ptrdiff_t(in.size() * std::size_t(i) / 17));
  std::uniform_int_distribution<std::size_t> pos(0, in.size() - 1);
  for (int i = 0; i < count; ++i) {
    std::vector<std::uint8_t> m = in;
    const int flips = 1 + int(rng() % 8);
    for (int f = 0; f < flips; ++f) {
      // half of the changes land in the first 2 KiB, where the headers are
      const std::size_t at = (rng() % 2 == 0) ? pos(rng) % std::min<std::size_t>(in.size(), 2048) : pos(rng);
      switch (rng() % 4) {
        case 0: m[at] = 0x00; break;
        case 1: m[at] = 0xFF; break;
        case 2: m[at] ^= std::uint8_t(1u << (rng() % 8)); break;
        default: m[at] = std::uint8_t(rng()); break;
      }
    }
    if (rng() % 4 == 0) m.resize(pos(rng));
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

TEST_CASE("mutated images: errors or well-formed pixels") {
  std::uint32_t seed = 1;
  for (const char* f :
       {"media/test-1.jpeg", "media/hopper.jpg", "media/hopper.png", "media/hopper.bmp", "media/hopper.gif",
        "media/hopper.ppm", "media/hopper-rgba.png", "media/gray-23x37.png"}) {
    INFO(f);
    const auto original = read_bytes(fixture_path(f));
    const int n = original.size() > 100000 ? 60 : 150;
    int decoded = 0, failed = 0;
    for (const auto& m : mutants(original, n, seed++)) {
      media::image_decode_options opt;
      opt.max_pixels = std::size_t{1} << 24;
      (void)media::probe_image(m);
      auto r = media::decode_image(m, opt);
      if (r) {
        ++decoded;
        REQUIRE(r->width > 0);
        REQUIRE(r->height > 0);
        REQUIRE(r->pixels.size() == r->pixel_count() * 3);
      } else {
        ++failed;
        REQUIRE_FALSE(r.error().message.empty());
      }
    }
    CHECK(failed >= 16);  // every truncation at least
    CHECK(decoded + failed == n + 16);
  }
}

TEST_CASE("mutated audio: errors or finite samples") {
  std::uint32_t seed = 100;
  for (const char* f : {"media/jfk.wav", "media/jfk.mp3", "media/test-2.mp3"}) {
    INFO(f);
    const auto original = read_bytes(fixture_path(f));
    const bool wav = std::string(f).ends_with(".wav");
    media::audio_decode_options opt;
    opt.target_sample_rate = 0;  // the decoders are under test, not the resampler
    int failed = 0;
    for (const auto& m : mutants(original, wav ? 200 : 40, seed++)) {
      auto r = media::decode_audio(m, opt);
      if (!r) {
        ++failed;
        continue;
      }
      REQUIRE(r->sample_rate > 0);
      bool finite = true;
      for (const float s : r->samples) finite = finite && std::isfinite(s);
      REQUIRE(finite);
    }
    CHECK(failed >= (wav ? 16 : 8));  // WAV truncations are all errors; MP3 cuts before the data too
  }
}

TEST_CASE("mutated data: URIs and base64") {
  const auto png = read_bytes(fixture_path("media/hopper-rgba.png"));
  const std::string uri = "data:image/png;base64," + media::encode_base64(png);
  const std::vector<std::uint8_t> text(uri.begin(), uri.end());
  media::media_source_options opt;
  for (const auto& m : mutants(text, 300, 7)) {
    const std::string s(m.begin(), m.end());
    auto item = media::load_media(s, media::media_kind::image, opt);
    if (item) {
      auto img = media::decode_image(item->bytes);
      if (img) REQUIRE(img->pixels.size() == img->pixel_count() * 3);
    }
  }
}
