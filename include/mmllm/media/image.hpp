// mmllm/media/image.hpp — decoded images and encoder input tensors.
//
// `image_u8` is what every image decoder returns and every preprocessing step consumes:
// 8-bit RGB, row-major HWC (channel c of pixel (x, y) is pixels[(y * width + x) * 3 + c]),
// exactly the peer's clip_image_u8. `image_f32` holds normalized float pixels, either HWC
// (interleaved, the peer's clip_image_f32 buffer and the fixtures' `preproc_*` arrays) or
// CHW (planar, what a patch-embedding convolution reads); `layout` says which.
//
//   mmllm::media::image_u8 img = mmllm::media::image_u8::filled(64, 48, {255, 0, 0});
//   img.at(3, 2, 1) = 7;   // x = 3, y = 2, green
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mmllm::media {

/// An RGB colour (padding, background for alpha compositing).
struct rgb8 {
  std::uint8_t r = 0;
  std::uint8_t g = 0;
  std::uint8_t b = 0;
  friend bool operator==(const rgb8&, const rgb8&) = default;
};

/// 8-bit RGB image, row-major HWC, 3 channels, no row padding.
struct image_u8 {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  ///< width * height * 3 bytes

  /// A width×height image of one colour (sizes must be >= 0 and already checked by the caller).
  static image_u8 filled(int w, int h, rgb8 c) {
    image_u8 img;
    img.width = w;
    img.height = h;
    img.pixels.resize(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 3);
    for (std::size_t i = 0; i < img.pixels.size(); i += 3) {
      img.pixels[i] = c.r;
      img.pixels[i + 1] = c.g;
      img.pixels[i + 2] = c.b;
    }
    return img;
  }

  [[nodiscard]] bool empty() const noexcept { return width <= 0 || height <= 0; }
  [[nodiscard]] std::size_t pixel_count() const noexcept {
    return static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  }
  std::uint8_t& at(int x, int y, int c) noexcept { return pixels[offset(x, y, c)]; }
  [[nodiscard]] std::uint8_t at(int x, int y, int c) const noexcept { return pixels[offset(x, y, c)]; }
  [[nodiscard]] std::size_t offset(int x, int y, int c) const noexcept {
    return (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) * 3 +
           static_cast<std::size_t>(c);
  }
  friend bool operator==(const image_u8&, const image_u8&) = default;
};

/// Memory order of an image_f32.
enum class pixel_layout : std::uint8_t {
  hwc,  ///< interleaved: data[(y * width + x) * 3 + c] (the peer's clip_image_f32::buf)
  chw,  ///< planar: data[(c * height + y) * width + x]
};

/// Float RGB image (normalized encoder input), 3 channels.
struct image_f32 {
  int width = 0;
  int height = 0;
  pixel_layout layout = pixel_layout::hwc;
  std::vector<float> data;  ///< width * height * 3 values

  [[nodiscard]] std::size_t offset(int x, int y, int c) const noexcept {
    const auto w = static_cast<std::size_t>(width);
    const auto h = static_cast<std::size_t>(height);
    const auto xs = static_cast<std::size_t>(x);
    const auto ys = static_cast<std::size_t>(y);
    const auto cs = static_cast<std::size_t>(c);
    return layout == pixel_layout::hwc ? (ys * w + xs) * 3 + cs : (cs * h + ys) * w + xs;
  }
  [[nodiscard]] float at(int x, int y, int c) const noexcept { return data[offset(x, y, c)]; }
  float& at(int x, int y, int c) noexcept { return data[offset(x, y, c)]; }
};

}  // namespace mmllm::media
