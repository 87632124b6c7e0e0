// mmllm/media/image_decode.hpp — image bytes → RGB pixels.
//
// `decode_image(bytes, options)` sniffs the format from the bytes, checks the container
// structure (truncated files are errors), refuses images over `max_pixels` before allocating,
// decodes (JPEG, PNG, BMP, GIF first frame, TGA, PNM P5/P6, PSD, HDR through stb_image — the
// decoder llama.cpp uses, so pixels match it exactly; WebP through libwebp when the build
// defines MMLLM_WITH_WEBP), applies the JPEG EXIF orientation, and converts to RGB
// (image_convert.hpp: alpha composited over a background or ignored; gray replicated).
//
//   auto img = mmllm::media::decode_image(bytes);                            // vLLM-like
//   auto peer = mmllm::media::decode_image(bytes, image_decode_options::llama_cpp());
//
// 16-bit PNG/PNM keep the high byte and HDR is tone-mapped by stb_image (gamma 2.2), as in
// llama.cpp. `probe_image` reads only the header (format, size, channels).
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "mmllm/core/result.hpp"
#include "mmllm/media/detail/image_structure.hpp"
#include "mmllm/media/detail/stb_image.hpp"
#include "mmllm/media/image.hpp"
#include "mmllm/media/image_convert.hpp"
#include "mmllm/media/image_orientation.hpp"
#include "mmllm/media/media_format.hpp"

#if defined(MMLLM_WITH_WEBP)
#include "mmllm/media/image_webp.hpp"
#endif

namespace mmllm::media {

/// Options of decode_image.
struct image_decode_options {
  /// Largest accepted width × height; checked from the header before any pixel is allocated.
  /// Default: PIL's Image.MAX_IMAGE_PIXELS.
  std::size_t max_pixels = 89'478'485;
  /// Alpha / gray handling (default: composite over white, as vLLM).
  rgb_conversion rgb{};
  /// Rotate/mirror JPEGs as their EXIF Orientation tag says (PIL's exif_transpose).
  bool apply_exif_orientation = true;

  /// What llama.cpp does (stb_image with 3 channels): alpha dropped, EXIF ignored.
  static image_decode_options llama_cpp() {
    image_decode_options o;
    o.rgb.alpha = alpha_mode::ignore;
    o.apply_exif_orientation = false;
    return o;
  }
};

/// Header facts of an image.
struct image_info {
  media_format format = media_format::unknown;
  int width = 0;
  int height = 0;
  int channels = 0;  ///< channels stored in the file (1–4)
};

namespace detail {

inline error stb_failure(media_format f) {
  const char* why = stbi_failure_reason();
  return make_error(errc::malformed, to_string(f), ": ", why != nullptr ? why : "cannot decode");
}

inline result<media_format> image_format_of(std::span<const std::uint8_t> bytes) {
  const media_format f = sniff_format(bytes);
  const media_kind k = kind_of(f);
  if (k == media_kind::unknown)
    return make_error(errc::malformed,
                      "image: unrecognised data (not JPEG, PNG, BMP, GIF, TGA, PNM, PSD, HDR or WebP)");
  if (k != media_kind::image)
    return make_error(errc::invalid_argument, "image: the data is ", to_string(k), " (", to_string(f),
                      "), not an image");
  if (f == media_format::tiff || f == media_format::avif || f == media_format::heic)
    return make_error(errc::unsupported, "image: ", to_string(f), " images are not supported");
  if (f == media_format::webp) {
#if !defined(MMLLM_WITH_WEBP)
    return make_error(errc::unsupported, "image: WebP is not supported in this build (libwebp not linked)");
#endif
  }
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    return make_error(errc::resource_limit, "image: file larger than 2 GiB");
  return f;
}

inline result<void> check_pixels(media_format f, std::size_t w, std::size_t h, std::size_t max_pixels) {
  if (w == 0 || h == 0) return make_error(errc::malformed, to_string(f), ": zero image size");
  if (w > max_pixels / h)
    return make_error(errc::resource_limit, to_string(f), ": image is ", std::to_string(w), "x",
                      std::to_string(h), ", more than the limit of ", std::to_string(max_pixels), " pixels");
  return ok();
}

}  // namespace detail

/// Format, size and channel count from the header only.
inline result<image_info> probe_image(std::span<const std::uint8_t> bytes) {
  MMLLM_TRY_ASSIGN(const media_format f, detail::image_format_of(bytes));
  image_info info;
  info.format = f;
#if defined(MMLLM_WITH_WEBP)
  if (f == media_format::webp) {
    WebPBitstreamFeatures feat{};
    if (WebPGetFeatures(bytes.data(), bytes.size(), &feat) != VP8_STATUS_OK)
      return make_error(errc::malformed, "webp: bad header");
    info.width = feat.width;
    info.height = feat.height;
    info.channels = feat.has_alpha ? 4 : 3;
    return info;
  }
#endif
  MMLLM_TRY(detail::check_image_structure(f, bytes));  // stb_image's header parsers trust tables too
  if (stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &info.width, &info.height,
                            &info.channels) == 0)
    return detail::stb_failure(f);
  return info;
}

/// Decodes to the file's own channel count (1–4), without alpha or orientation handling.
inline result<decoded_image> decode_image_native(std::span<const std::uint8_t> bytes,
                                                 std::size_t max_pixels = image_decode_options{}.max_pixels) {
  MMLLM_TRY_ASSIGN(const media_format f, detail::image_format_of(bytes));
#if defined(MMLLM_WITH_WEBP)
  if (f == media_format::webp) return decode_webp(bytes, max_pixels);
#endif
  MMLLM_TRY(detail::check_image_structure(f, bytes));
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, n = 0;
  if (stbi_info_from_memory(bytes.data(), len, &w, &h, &n) == 0) return detail::stb_failure(f);
  if (w <= 0 || h <= 0) return make_error(errc::malformed, to_string(f), ": bad image size");
  MMLLM_TRY(detail::check_pixels(f, static_cast<std::size_t>(w), static_cast<std::size_t>(h), max_pixels));
  int w2 = 0, h2 = 0, n2 = 0;
  stbi_uc* data = stbi_load_from_memory(bytes.data(), len, &w2, &h2, &n2, 0);
  if (data == nullptr) return detail::stb_failure(f);
  if (w2 != w || h2 != h || n2 < 1 || n2 > 4) {
    stbi_image_free(data);
    return make_error(errc::malformed, to_string(f), ": header and image data disagree");
  }
  decoded_image img;
  img.width = w2;
  img.height = h2;
  img.channels = n2;
  const std::size_t size =
      static_cast<std::size_t>(w2) * static_cast<std::size_t>(h2) * static_cast<std::size_t>(n2);
  img.pixels.assign(data, data + size);
  stbi_image_free(data);
  return img;
}

/// Decodes any supported image to RGB as `opt` says.
inline result<image_u8> decode_image(std::span<const std::uint8_t> bytes,
                                     const image_decode_options& opt = {}) {
  MMLLM_TRY_ASSIGN(decoded_image native, decode_image_native(bytes, opt.max_pixels));
  MMLLM_TRY_ASSIGN(image_u8 rgb, to_rgb(native, opt.rgb));
  if (opt.apply_exif_orientation && sniff_format(bytes) == media_format::jpeg) {
    const int o = jpeg_exif_orientation(bytes);
    if (o != 1) return apply_orientation(rgb, o);
  }
  return rgb;
}

}  // namespace mmllm::media
