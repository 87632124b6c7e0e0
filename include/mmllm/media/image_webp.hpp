// mmllm/media/image_webp.hpp — WebP decoding through libwebp (optional dependency).
//
// Needs libwebp (Debian: libwebp-dev; CMake target mmllm::media_webp, which also defines
// MMLLM_WITH_WEBP so that decode_image() in image_decode.hpp dispatches WebP here). Still
// images only (lossy and lossless, with or without alpha); animated WebP is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <webp/decode.h>

#include "mmllm/core/result.hpp"
#include "mmllm/media/image_convert.hpp"

namespace mmllm::media {

/// Decodes a still WebP image to RGB or RGBA, refusing more than `max_pixels` pixels before
/// allocating.
inline result<decoded_image> decode_webp(std::span<const std::uint8_t> bytes, std::size_t max_pixels) {
  WebPBitstreamFeatures f{};
  const VP8StatusCode st = WebPGetFeatures(bytes.data(), bytes.size(), &f);
  if (st == VP8_STATUS_NOT_ENOUGH_DATA) return make_error(errc::truncated, "webp: file is truncated");
  if (st != VP8_STATUS_OK)
    return make_error(errc::malformed, "webp: bad header (status ", std::to_string(static_cast<int>(st)),
                      ")");
  if (f.has_animation) return make_error(errc::unsupported, "webp: animated WebP is not supported");
  if (f.width <= 0 || f.height <= 0) return make_error(errc::malformed, "webp: bad dimensions");
  const std::size_t count = static_cast<std::size_t>(f.width) * static_cast<std::size_t>(f.height);
  if (count > max_pixels)
    return make_error(errc::resource_limit, "webp: image has ", std::to_string(count), " pixels, limit is ",
                      std::to_string(max_pixels));
  decoded_image img;
  img.width = f.width;
  img.height = f.height;
  img.channels = f.has_alpha ? 4 : 3;
  img.pixels.resize(count * static_cast<std::size_t>(img.channels));
  const int stride = f.width * img.channels;
  const std::uint8_t* ok =
      f.has_alpha
          ? WebPDecodeRGBAInto(bytes.data(), bytes.size(), img.pixels.data(), img.pixels.size(), stride)
          : WebPDecodeRGBInto(bytes.data(), bytes.size(), img.pixels.data(), img.pixels.size(), stride);
  if (ok == nullptr) return make_error(errc::malformed, "webp: corrupt or truncated image data");
  return img;
}

}  // namespace mmllm::media
