// mmllm/media/image_normalize.hpp — uint8 RGB → normalized float tensors, and patches.
//
// `normalize(img, mean, std)` computes (float(u8) / 255 − mean[c]) / stddev[c] in float32, the
// peer's normalize_image_u8_to_f32, bit for bit; HWC output equals the fixtures'
// `preproc_*` arrays, CHW output is the planar tensor a patch-embedding convolution reads.
// `to_layout` converts between the two. `patchify` cuts a normalized image into p×p patches
// (row-major over the patch grid), each flattened channel-major (c, ky, kx) — the order of a
// conv weight [n_embd][3][p][p] — so patch embedding becomes one matrix product.
//
//   auto x = mmllm::media::normalize(img, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f});
//   auto p = mmllm::media::patchify(*x, 14);   // p->count() rows of p->dim() floats
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "mmllm/core/result.hpp"
#include "mmllm/media/image.hpp"

namespace mmllm::media {

/// CLIP / OpenAI image mean and std (LLaVA, Qwen2-VL).
inline constexpr std::array<float, 3> clip_image_mean{0.48145466f, 0.4578275f, 0.40821073f};
inline constexpr std::array<float, 3> clip_image_std{0.26862954f, 0.26130258f, 0.27577711f};

/// (u8 / 255 − mean[c]) / stddev[c] per channel, float32, in the requested layout.
inline result<image_f32> normalize(const image_u8& img, const std::array<float, 3>& mean,
                                   const std::array<float, 3>& stddev,
                                   pixel_layout layout = pixel_layout::hwc) {
  if (img.empty() || img.pixels.size() != img.pixel_count() * 3)
    return make_error(errc::invalid_argument, "normalize: empty or inconsistent image");
  for (const float s : stddev)
    if (!(s != 0.0f)) return make_error(errc::invalid_argument, "normalize: std must be non-zero");
  image_f32 out;
  out.width = img.width;
  out.height = img.height;
  out.layout = layout;
  out.data.resize(img.pixels.size());
  const std::size_t n = img.pixel_count();
  const std::uint8_t* s = img.pixels.data();
  if (layout == pixel_layout::hwc) {
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < 3; ++c)
        out.data[i * 3 + c] = (static_cast<float>(s[i * 3 + c]) / 255.0f - mean[c]) / stddev[c];
  } else {
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t i = 0; i < n; ++i)
        out.data[c * n + i] = (static_cast<float>(s[i * 3 + c]) / 255.0f - mean[c]) / stddev[c];
  }
  return out;
}

/// The same pixels in the other memory order (a copy when already in `layout`).
inline image_f32 to_layout(const image_f32& img, pixel_layout layout) {
  if (img.layout == layout) return img;
  image_f32 out;
  out.width = img.width;
  out.height = img.height;
  out.layout = layout;
  out.data.resize(img.data.size());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < img.height; ++y)
      for (int x = 0; x < img.width; ++x) out.at(x, y, c) = img.at(x, y, c);
  return out;
}

/// Non-overlapping square patches of a 3-channel image.
struct image_patches {
  int grid_x = 0;           ///< patches per row
  int grid_y = 0;           ///< patch rows
  int patch_size = 0;       ///< p
  std::vector<float> data;  ///< [grid_y * grid_x][3 * p * p], patch (px, py) at row py * grid_x + px

  [[nodiscard]] std::size_t count() const noexcept {
    return static_cast<std::size_t>(grid_x) * static_cast<std::size_t>(grid_y);
  }
  [[nodiscard]] std::size_t dim() const noexcept {
    return 3 * static_cast<std::size_t>(patch_size) * static_cast<std::size_t>(patch_size);
  }
};

/// Cuts `img` into p×p patches; width and height must be multiples of p.
inline result<image_patches> patchify(const image_f32& img, int p) {
  if (p <= 0 || img.width <= 0 || img.height <= 0 || img.width % p != 0 || img.height % p != 0)
    return make_error(errc::invalid_argument, "patchify: image ", std::to_string(img.width), "x",
                      std::to_string(img.height), " is not a multiple of the patch size ", std::to_string(p));
  if (img.data.size() != static_cast<std::size_t>(img.width) * static_cast<std::size_t>(img.height) * 3)
    return make_error(errc::invalid_argument, "patchify: inconsistent image");
  image_patches out;
  out.grid_x = img.width / p;
  out.grid_y = img.height / p;
  out.patch_size = p;
  out.data.resize(out.count() * out.dim());
  float* d = out.data.data();
  for (int py = 0; py < out.grid_y; ++py)
    for (int px = 0; px < out.grid_x; ++px)
      for (int c = 0; c < 3; ++c)
        for (int ky = 0; ky < p; ++ky)
          for (int kx = 0; kx < p; ++kx) *d++ = img.at(px * p + kx, py * p + ky, c);
  return out;
}

}  // namespace mmllm::media
