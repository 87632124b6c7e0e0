// mmllm/media/image_convert.hpp — decoder output (1–4 channels) to RGB; alpha handling options.
//
// Decoders produce a `decoded_image` with the file's own channel count (gray, gray+alpha, RGB,
// RGBA). `to_rgb` turns it into the 3-channel `image_u8` every encoder takes:
// - gray → R = G = B;
// - alpha_mode::composite (default, vLLM's behaviour): blend over `background` (default white,
//   vLLM's rgba_background_color) with PIL's paste-with-mask rounding,
//   out = round((c·a + bg·(255 − a)) / 255);
// - alpha_mode::ignore (llama.cpp's behaviour, needed to reproduce its outputs): drop the
//   alpha channel, keeping the stored colour of transparent pixels.
//
// `parse_rgb8("122,116,104")` and `parse_alpha_mode("ignore")` parse the command-line forms
// (`--rgba-background R,G,B`, `--image-alpha composite|ignore`) for tools such as mmllm-run.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mmllm/core/result.hpp"
#include "mmllm/media/image.hpp"

namespace mmllm::media {

/// What to do with an alpha channel when converting to RGB.
enum class alpha_mode : std::uint8_t {
  composite,  ///< blend over the background colour (vLLM; default)
  ignore,     ///< drop alpha, keep the stored RGB (llama.cpp / stb_image with 3 channels)
};

constexpr std::string_view to_string(alpha_mode m) noexcept {
  return m == alpha_mode::composite ? "composite" : "ignore";
}

/// "composite" or "ignore".
inline result<alpha_mode> parse_alpha_mode(std::string_view s) {
  if (s == "composite") return alpha_mode::composite;
  if (s == "ignore") return alpha_mode::ignore;
  return make_error(errc::invalid_argument, "image alpha mode must be 'composite' or 'ignore', got '", s,
                    "'");
}

/// "R,G,B" with each component an integer 0..255 (spaces around numbers allowed).
inline result<rgb8> parse_rgb8(std::string_view s) {
  std::uint8_t v[3] = {};
  std::size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    while (pos < s.size() && s[pos] == ' ') ++pos;
    unsigned x = 0;
    const char* first = s.data() + pos;
    const auto [end, ec] = std::from_chars(first, s.data() + s.size(), x);
    if (ec != std::errc{} || end == first || x > 255)
      return make_error(errc::invalid_argument, "colour must be R,G,B with integers 0..255, got '", s, "'");
    v[i] = static_cast<std::uint8_t>(x);
    pos = static_cast<std::size_t>(end - s.data());
    while (pos < s.size() && s[pos] == ' ') ++pos;
    if (i < 2) {
      if (pos >= s.size() || s[pos] != ',')
        return make_error(errc::invalid_argument, "colour must be R,G,B with integers 0..255, got '", s, "'");
      ++pos;
    }
  }
  if (pos != s.size())
    return make_error(errc::invalid_argument, "colour must be R,G,B with integers 0..255, got '", s, "'");
  return rgb8{v[0], v[1], v[2]};
}

/// How to turn 1/2/4-channel images into RGB.
struct rgb_conversion {
  alpha_mode alpha = alpha_mode::composite;
  rgb8 background{255, 255, 255};
};

/// A decoded image with its native channel count (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA).
struct decoded_image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<std::uint8_t> pixels;  ///< width * height * channels, row-major interleaved
};

namespace detail {
/// round(v / 255) for v in [0, 255 * 255] (PIL's DIV255).
constexpr std::uint8_t div255_round(unsigned v) noexcept {
  const unsigned t = v + 128;
  return static_cast<std::uint8_t>(((t >> 8) + t) >> 8);
}
constexpr std::uint8_t blend(std::uint8_t c, std::uint8_t a, std::uint8_t bg) noexcept {
  return div255_round(static_cast<unsigned>(c) * a + static_cast<unsigned>(bg) * (255u - a));
}
}  // namespace detail

/// Converts any 1–4 channel image to RGB as `conv` says.
inline result<image_u8> to_rgb(const decoded_image& src, const rgb_conversion& conv = {}) {
  const int n = src.channels;
  if (n < 1 || n > 4 || src.width <= 0 || src.height <= 0)
    return make_error(errc::invalid_argument, "to_rgb: bad image shape");
  const std::size_t count = static_cast<std::size_t>(src.width) * static_cast<std::size_t>(src.height);
  if (src.pixels.size() != count * static_cast<std::size_t>(n))
    return make_error(errc::invalid_argument, "to_rgb: pixel buffer size does not match the shape");
  image_u8 out;
  out.width = src.width;
  out.height = src.height;
  out.pixels.resize(count * 3);
  const std::uint8_t* s = src.pixels.data();
  std::uint8_t* d = out.pixels.data();
  const bool comp = conv.alpha == alpha_mode::composite;
  const rgb8 bg = conv.background;
  switch (n) {
    case 1:
      for (std::size_t i = 0; i < count; ++i) d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = s[i];
      break;
    case 2:
      for (std::size_t i = 0; i < count; ++i) {
        const std::uint8_t g = s[2 * i], a = s[2 * i + 1];
        d[3 * i] = comp ? detail::blend(g, a, bg.r) : g;
        d[3 * i + 1] = comp ? detail::blend(g, a, bg.g) : g;
        d[3 * i + 2] = comp ? detail::blend(g, a, bg.b) : g;
      }
      break;
    case 3: out.pixels.assign(src.pixels.begin(), src.pixels.end()); break;
    default:
      for (std::size_t i = 0; i < count; ++i) {
        const std::uint8_t a = s[4 * i + 3];
        d[3 * i] = comp ? detail::blend(s[4 * i], a, bg.r) : s[4 * i];
        d[3 * i + 1] = comp ? detail::blend(s[4 * i + 1], a, bg.g) : s[4 * i + 1];
        d[3 * i + 2] = comp ? detail::blend(s[4 * i + 2], a, bg.b) : s[4 * i + 2];
      }
      break;
  }
  return out;
}

}  // namespace mmllm::media
