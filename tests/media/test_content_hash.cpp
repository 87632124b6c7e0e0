// Content hashing: XXH64 against the published reference vectors, and the media hashes'
// stability and sensitivity.
#include <mmllm/media/content_hash.hpp>
#include <mmllm/media/image_decode.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

namespace media = mmllm::media;

namespace {
std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }
}  // namespace

TEST_CASE("xxh64 matches the xxHash reference vectors") {
  CHECK(media::xxh64({}) == 0xEF46DB3751D8E999ull);
  CHECK(media::xxh64({}, 2654435761u) == 0xAC75FDA2929B17EFull);
  CHECK(media::xxh64(bytes_of("a")) == 0xD24EC4F1A98C6E5Bull);
  CHECK(media::xxh64(bytes_of("abc")) == 0x44BC2CF5AD770999ull);
  CHECK(media::xxh64(bytes_of("Nobody inspects the spammish repetition")) == 0xFBCEA83C8A378BF1ull);
  // xxhsum's sanity buffer (byteGen = 2654435761; byte = gen >> 24; gen *= gen, 32-bit).
  std::vector<std::uint8_t> sanity(101);
  std::uint32_t gen = 2654435761u;
  for (auto& b : sanity) {
    b = static_cast<std::uint8_t>(gen >> 24);
    gen *= gen;
  }
  const std::span<const std::uint8_t> s(sanity);
  CHECK(media::xxh64(s.first(1)) == 0x4FCE394CC88952D8ull);
  CHECK(media::xxh64(s.first(1), 2654435761u) == 0x739840CB819FA723ull);
  CHECK(media::xxh64(s.first(14)) == 0xCFFA8DB881BC3A3Dull);
  CHECK(media::xxh64(s.first(14), 2654435761u) == 0x5B9611585EFCC9CBull);
  CHECK(media::xxh64(s) == 0x0EAB543384F878ADull);
  CHECK(media::xxh64(s, 2654435761u) == 0xCAA65939306F1E21ull);
}

TEST_CASE("image hashes: same pixels, same key; any change, another key") {
  using mmllm::test::fixture_path;
  using mmllm::test::read_bytes;
  const auto png = media::decode_image(read_bytes(fixture_path("media/hopper.png")));
  const auto bmp = media::decode_image(read_bytes(fixture_path("media/hopper.bmp")));
  REQUIRE(png);
  REQUIRE(bmp);
  const auto h = media::content_hash(*png);
  CHECK(h == media::content_hash(*bmp));  // different files, same pixels
  CHECK(h.hex().size() == 32);
  CHECK(h.hex().find_first_not_of("0123456789abcdef") == std::string::npos);
  auto changed = *png;
  changed.pixels[12345] ^= 1;
  CHECK_FALSE(media::content_hash(changed) == h);
  // Same bytes, other shape: different key.
  auto reshaped = *png;
  reshaped.width = 64;
  reshaped.height = 256;
  CHECK_FALSE(media::content_hash(reshaped) == h);
  // Stable across runs and builds: the key is a pure function of (size, pixels) via XXH64.
  media::image_u8 tiny = media::image_u8::filled(1, 1, {1, 2, 3});
  const std::vector<std::uint8_t> header = {'r', 'g', 'b', '1', 1, 0, 0, 0, 1, 0, 0, 0};
  CHECK(media::content_hash(tiny).hi == media::xxh64(tiny.pixels, media::xxh64(header, 0)));
  CHECK(media::content_hash(tiny).lo == media::xxh64(tiny.pixels, media::xxh64(header, 1)));
  // audio and raw bytes
  media::audio_pcm a{16000, {0.5f, -0.25f}}, b{16000, {0.5f, -0.25f}}, c{8000, {0.5f, -0.25f}};
  CHECK(media::content_hash(a) == media::content_hash(b));
  CHECK_FALSE(media::content_hash(a) == media::content_hash(c));
  CHECK_FALSE(media::content_hash(std::span<const std::uint8_t>(png->pixels)) == h);
}
