// Image decoding: every fixture format, alpha handling, EXIF orientation, limits, errors.
#include <mmllm/media/image_decode.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

#if defined(MMLLM_WITH_WEBP)
#include <webp/encode.h>
#endif

namespace media = mmllm::media;
using mmllm::test::fixture_path;
using mmllm::test::read_bytes;

namespace {

media::image_u8 must_decode(
    const std::vector<std::uint8_t>& bytes,
    const media::image_decode_options& opt = media::image_decode_options::llama_cpp()) {
  auto r = media::decode_image(bytes, opt);
  if (!r) FAIL(r.error().what());
  return std::move(r).value();
}

media::image_u8 load(const std::string& rel,
                     const media::image_decode_options& opt = media::image_decode_options::llama_cpp()) {
  return must_decode(read_bytes(fixture_path(rel)), opt);
}

double psnr(const media::image_u8& a, const media::image_u8& b) {
  REQUIRE(a.pixels.size() == b.pixels.size());
  double se = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) {
    const double d = double(a.pixels[i]) - double(b.pixels[i]);
    se += d * d;
  }
  const double mse = se / double(a.pixels.size());
  return mse == 0 ? 1e9 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace

TEST_CASE("test-1.jpeg decodes to exactly the peer's stb_image pixels") {
  const auto img = load("media/test-1.jpeg");
  REQUIRE(img.width == 640);
  REQUIRE(img.height == 488);
  const auto ref = read_bytes(fixture_path("synthetic/mm/_media/test-1.jpeg.rgb.u8"));
  REQUIRE(img.pixels.size() == ref.size());
  CHECK(img.pixels == ref);
  // Its EXIF orientation is 1 (upper-left), so the default options give the same pixels.
  CHECK(media::jpeg_exif_orientation(read_bytes(fixture_path("media/test-1.jpeg"))) == 1);
  CHECK(load("media/test-1.jpeg", {}).pixels == ref);
}

TEST_CASE("lossless hopper files agree exactly; lossy ones closely") {
  const auto png = load("media/hopper.png");
  const auto bmp = load("media/hopper.bmp");
  const auto ppm = load("media/hopper.ppm");
  REQUIRE(png.width == 128);
  REQUIRE(png.height == 128);
  CHECK(bmp == png);
  // hopper.ppm is NOT the same photo data as the PNG/BMP (Pillow's test files differ by a few
  // levels in 47 % of the bytes); its decode must equal its own raw P6 payload exactly.
  const auto raw = read_bytes(fixture_path("media/hopper.ppm"));
  REQUIRE(raw.size() > ppm.pixels.size());
  CHECK(std::equal(ppm.pixels.begin(), ppm.pixels.end(), raw.end() - std::ptrdiff_t(ppm.pixels.size())));
  CHECK(psnr(ppm, png) > 35.0);
  const auto jpg = load("media/hopper.jpg");
  const auto gif = load("media/hopper.gif");
  REQUIRE(jpg.width == 128);
  REQUIRE(gif.width == 128);
  // JPEG: lossy compression (quality ~75) — well above 30 dB; GIF: 256-colour palette.
  CHECK(psnr(jpg, png) > 30.0);
  CHECK(psnr(gif, png) > 25.0);
  CHECK(psnr(jpg, png) < 1e9);  // not bit-identical: it really is the lossy file
  INFO("psnr jpg " << psnr(jpg, png) << " gif " << psnr(gif, png) << " ppm " << psnr(ppm, png));
  CHECK(psnr(ppm, png) < 1e9);
}

TEST_CASE("probe_image reads the header") {
  struct expect {
    const char* file;
    media::media_format format;
    int channels;
  };
  for (const expect e : {expect{"media/hopper.png", media::media_format::png, 3},
                         expect{"media/hopper.bmp", media::media_format::bmp, 3},
                         expect{"media/hopper.ppm", media::media_format::pnm, 3},
                         expect{"media/hopper.gif", media::media_format::gif, 4},
                         expect{"media/hopper.jpg", media::media_format::jpeg, 3},
                         expect{"media/hopper-rgba.png", media::media_format::png, 4},
                         expect{"media/gray-23x37.png", media::media_format::png, 1}}) {
    INFO(e.file);
    auto info = media::probe_image(read_bytes(fixture_path(e.file)));
    REQUIRE(info);
    CHECK(info->format == e.format);
    CHECK(info->channels == e.channels);
  }
}

TEST_CASE("RGBA: alpha ignored (llama.cpp) or composited over a background (vLLM)") {
  const auto ppm = load("media/hopper.ppm");
  const auto bytes = read_bytes(fixture_path("media/hopper-rgba.png"));
  // The fixture's RGB equals hopper.ppm; the peer ignores alpha entirely.
  CHECK(must_decode(bytes) == ppm);

  auto native = media::decode_image_native(bytes);
  REQUIRE(native);
  REQUIRE(native->channels == 4);
  for (const media::rgb8 bg : {media::rgb8{255, 255, 255}, media::rgb8{122, 116, 104}}) {
    media::image_decode_options opt;
    opt.rgb.background = bg;
    const auto img = must_decode(bytes, opt);
    REQUIRE(img.width == 128);
    int checked_transparent = 0;
    for (int y = 0; y < 128; ++y) {
      for (int x = 0; x < 128; ++x) {
        const int a = native->pixels[(std::size_t(y) * 128 + x) * 4 + 3];
        // Fixture layout: alpha 255 on the left half, 64 on the right, 0 in the bottom-right 16x16.
        const int expect_a = (x >= 112 && y >= 112) ? 0 : (x < 64 ? 255 : 64);
        REQUIRE(a == expect_a);
        const std::uint8_t bgc[3] = {bg.r, bg.g, bg.b};
        for (int c = 0; c < 3; ++c) {
          const double v = (double(ppm.at(x, y, c)) * a + double(bgc[c]) * (255 - a)) / 255.0;
          const int want = int(std::floor(v + 0.5));
          REQUIRE(int(img.at(x, y, c)) == want);
        }
        if (a == 0) {
          ++checked_transparent;
          CHECK(img.at(x, y, 0) == bg.r);
        }
      }
    }
    CHECK(checked_transparent == 256);
  }
}

TEST_CASE("grayscale PNG: gray replicated into R, G and B") {
  const auto bytes = read_bytes(fixture_path("media/gray-23x37.png"));
  const auto img = must_decode(bytes);
  REQUIRE(img.width == 23);
  REQUIRE(img.height == 37);
  auto native = media::decode_image_native(bytes);
  REQUIRE(native);
  REQUIRE(native->channels == 1);
  bool varied = false;
  for (std::size_t i = 0; i < img.pixel_count(); ++i) {
    CHECK(img.pixels[3 * i] == native->pixels[i]);
    CHECK(img.pixels[3 * i + 1] == native->pixels[i]);
    CHECK(img.pixels[3 * i + 2] == native->pixels[i]);
    varied = varied || native->pixels[i] != native->pixels[0];
  }
  CHECK(varied);
  CHECK(must_decode(bytes, {}) == img);  // no alpha: both modes agree
}

TEST_CASE("EXIF orientation is applied to JPEGs when asked") {
  auto bytes = read_bytes(fixture_path("media/test-1.jpeg"));
  const auto upright = load("media/test-1.jpeg");
  // Patch the Orientation value in test-1.jpeg's EXIF block (big-endian TIFF, tag 0x0112).
  std::size_t at = 0;
  for (std::size_t i = 0; i + 10 < 200; ++i)
    if (bytes[i] == 0x01 && bytes[i + 1] == 0x12 && bytes[i + 2] == 0x00 && bytes[i + 3] == 0x03) at = i + 8;
  REQUIRE(at != 0);
  REQUIRE(bytes[at] == 0);
  REQUIRE(bytes[at + 1] == 1);
  const int w = upright.width, h = upright.height;
  media::image_decode_options opt;  // applies EXIF
  media::image_u8 rot[9];
  for (int o = 1; o <= 8; ++o) {
    bytes[at + 1] = static_cast<std::uint8_t>(o);
    REQUIRE(media::jpeg_exif_orientation(bytes) == o);
    rot[o] = must_decode(bytes, opt);
    CHECK(must_decode(bytes) == upright);  // llama.cpp mode ignores the tag
  }
  CHECK(rot[1] == upright);
  // Corner pixels where the EXIF definitions put them (0th row / 0th column semantics).
  auto px = [](const media::image_u8& im, int x, int y) {
    return std::vector<int>{im.at(x, y, 0), im.at(x, y, 1), im.at(x, y, 2)};
  };
  CHECK(rot[6].width == h);
  CHECK(rot[6].height == w);
  CHECK(px(rot[6], 0, 0) == px(upright, 0, h - 1));      // 90° clockwise: bottom-left → top-left
  CHECK(px(rot[6], h - 1, 0) == px(upright, 0, 0));      // top-left → top-right
  CHECK(px(rot[8], 0, 0) == px(upright, w - 1, 0));      // 90° counter-clockwise
  CHECK(px(rot[3], 0, 0) == px(upright, w - 1, h - 1));  // 180°
  CHECK(px(rot[2], 0, 0) == px(upright, w - 1, 0));      // mirror
  CHECK(px(rot[4], 0, 0) == px(upright, 0, h - 1));      // flip
  CHECK(px(rot[5], 5, 9) == px(upright, 9, 5));          // transpose
  // Group laws: two quarter turns are a half turn; 6 then 8 is the identity; 7 = 2 then 8…
  CHECK(media::apply_orientation(rot[6], 6) == rot[3]);
  CHECK(media::apply_orientation(rot[6], 8) == upright);
  CHECK(media::apply_orientation(rot[3], 3) == upright);
  CHECK(media::apply_orientation(media::apply_orientation(upright, 2), 6) == rot[7]);
  CHECK(media::apply_orientation(media::apply_orientation(upright, 2), 8) == rot[5]);
}

TEST_CASE("pixel limit is enforced before decoding") {
  const auto bytes = read_bytes(fixture_path("media/test-1.jpeg"));
  media::image_decode_options opt;
  opt.max_pixels = 640 * 488;
  CHECK(media::decode_image(bytes, opt).has_value());
  opt.max_pixels = 640 * 488 - 1;
  auto r = media::decode_image(bytes, opt);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == mmllm::errc::resource_limit);
}

TEST_CASE("non-images and unsupported images give clear errors") {
  auto wav = media::decode_image(read_bytes(fixture_path("media/jfk.wav")));
  REQUIRE_FALSE(wav);
  CHECK(wav.error().code == mmllm::errc::invalid_argument);
  CHECK(wav.error().message.find("audio") != std::string::npos);
  const std::vector<std::uint8_t> junk(100, 0x42);
  CHECK_FALSE(media::decode_image(junk));
  CHECK_FALSE(media::decode_image(std::vector<std::uint8_t>{}));
  const std::vector<std::uint8_t> tiff = {'I', 'I', 42, 0, 8, 0, 0, 0, 0, 0};
  auto t = media::decode_image(tiff);
  REQUIRE_FALSE(t);
  CHECK(t.error().code == mmllm::errc::unsupported);
  const std::vector<std::uint8_t> ascii_pbm = {'P', '1', '\n', '1', ' ', '1', '\n', '0', '\n'};
  CHECK_FALSE(media::decode_image(ascii_pbm));
}

TEST_CASE("truncated images are errors, whatever the cut") {
  for (const char* f :
       {"media/test-1.jpeg", "media/hopper.jpg", "media/hopper.png", "media/hopper.bmp", "media/hopper.gif",
        "media/hopper.ppm", "media/hopper-rgba.png", "media/gray-23x37.png"}) {
    INFO(f);
    const auto full = read_bytes(fixture_path(f));
    REQUIRE(media::decode_image(full).has_value());
    // GIF: the last byte is the trailer, after the (only) frame: not needed to decode it.
    const std::size_t keep_max = std::string(f).ends_with(".gif") ? full.size() - 2 : full.size() - 1;
    std::vector<std::size_t> cuts = {0, 1, 2, 3, 8, 16, 30, 60, 100, keep_max, keep_max - 1, keep_max - 5};
    for (int i = 1; i < 40; ++i) cuts.push_back(full.size() * std::size_t(i) / 40);
    for (const std::size_t cut : cuts) {
      if (cut > keep_max) continue;
      INFO("cut at " << cut << " of " << full.size());
      std::vector<std::uint8_t> part(full.begin(), full.begin() + std::ptrdiff_t(cut));
      auto r = media::decode_image(part);
      CHECK_FALSE(r.has_value());
    }
  }
}

#if defined(MMLLM_WITH_WEBP)
TEST_CASE("WebP (libwebp): lossless round trip, alpha, truncation") {
  const auto ppm = load("media/hopper.ppm");
  std::uint8_t* out = nullptr;
  std::size_t n = WebPEncodeLosslessRGB(ppm.pixels.data(), ppm.width, ppm.height, ppm.width * 3, &out);
  REQUIRE(n > 0);
  std::vector<std::uint8_t> webp(out, out + n);
  WebPFree(out);
  CHECK(media::sniff_format(webp) == media::media_format::webp);
  CHECK(must_decode(webp) == ppm);

  auto rgba = media::decode_image_native(read_bytes(fixture_path("media/hopper-rgba.png")));
  REQUIRE(rgba);
  n = WebPEncodeLosslessRGBA(rgba->pixels.data(), 128, 128, 128 * 4, &out);
  REQUIRE(n > 0);
  std::vector<std::uint8_t> webpa(out, out + n);
  WebPFree(out);
  const auto png_composited = load("media/hopper-rgba.png", {});
  // libwebp's lossless encoder may rewrite RGB under alpha 0 ("exact" off), so compare where a > 0.
  const auto webp_composited = must_decode(webpa, {});
  for (int y = 0; y < 112; ++y)
    for (int x = 0; x < 128; ++x)
      for (int c = 0; c < 3; ++c) REQUIRE(webp_composited.at(x, y, c) == png_composited.at(x, y, c));
  CHECK(webp_composited.at(120, 120, 0) == 255);  // transparent → white background

  for (std::size_t cut :
       {std::size_t(0), std::size_t(12), std::size_t(30), webp.size() / 2, webp.size() - 1}) {
    std::vector<std::uint8_t> part(webp.begin(), webp.begin() + std::ptrdiff_t(cut));
    CHECK_FALSE(media::decode_image(part));
  }
}
#endif
