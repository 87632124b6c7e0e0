// The capabilities list reports exactly the optional decoders this build was given.
#include <mmllm/media/capabilities.hpp>
#include <mmllm/media/image_decode.hpp>

#include <algorithm>
#include <string_view>

#include "catch.hpp"

namespace media = mmllm::media;

namespace {
bool has(const media::media_capabilities& c, std::string_view f) {
  return std::find(c.formats.begin(), c.formats.end(), f) != c.formats.end();
}
}  // namespace

TEST_CASE("capabilities follow the MMLLM_WITH_* macros of the build") {
  const auto c = media::capabilities();
  CHECK(has(c, "image/jpeg"));
  CHECK(has(c, "audio/wav"));
  CHECK(has(c, "url:http"));
#if defined(MMLLM_WITH_WEBP)
  CHECK(c.webp);
#else
  CHECK_FALSE(c.webp);
#endif
  CHECK(has(c, "image/webp") == c.webp);
#if defined(MMLLM_WITH_SNDFILE)
  CHECK(c.sndfile);
#endif
  CHECK(has(c, "audio/mpeg") == c.sndfile);
  CHECK(has(c, "audio/flac") == c.sndfile);
#if defined(MMLLM_WITH_FFMPEG)
  CHECK(c.video);
#endif
  CHECK(has(c, "video/mp4") == c.video);
#if defined(MMLLM_WITH_OPENSSL)
  CHECK(c.https);
#endif
  CHECK(has(c, "url:https") == c.https);
  // What is advertised decodes: a WebP claim is backed by the decoder (header-only check).
  const std::vector<std::uint8_t> webp = {'R', 'I', 'F',  'F',  26,   0,    0,    0,    'W',  'E',  'B',
                                          'P', 'V', 'P',  '8',  'L',  13,   0,    0,    0,    0x2f, 0,
                                          0,   0,   0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe};
  auto r = media::decode_image(webp);
  if (c.webp) {
    CHECK((r.has_value() || r.error().code != mmllm::errc::unsupported));
  } else {
    REQUIRE_FALSE(r);
    CHECK(r.error().code == mmllm::errc::unsupported);
  }
}
