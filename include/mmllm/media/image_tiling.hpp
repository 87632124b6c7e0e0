// mmllm/media/image_tiling.hpp — size rules and tiling/slicing schemes of vision encoders.
//
// Everything here reproduces llama.cpp's clip.cpp (float32 arithmetic included), so the
// fixtures' preprocessed tensors match exactly:
// - `smart_resize_size` / `qwen2vl_resize`: Qwen2-VL dynamic resolution — both sides aligned
//   to 2·patch, pixel count kept within [min_pixels, max_pixels], then a bilinear STRETCH.
// - `longest_edge_size` + `idefics3_tiles`: SmolVLM/Idefics3 — scale so the longest side is
//   `longest_edge`, round both sides UP to multiples of the tile size (small images are
//   up-scaled), bicubic-stretch, cut S×S tiles row-major; the overview is a black-padded
//   bilinear letterbox to S×S. In the peer's chunk order the tiles come BEFORE the overview.
// - `llava_uhd_plan` (MiniCPM-V) and `pinpoint_plan` (LLaVA-1.6 "anyres", Llama 4):
//   overview size, refined size, grid and slice rectangles; `slice_image` renders a plan as
//   the peer does (overview first, then the slices row-major).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "mmllm/core/result.hpp"
#include "mmllm/media/image.hpp"
#include "mmllm/media/image_resize.hpp"

namespace mmllm::media {

struct image_size {
  int width = 0;
  int height = 0;
  friend bool operator==(const image_size&, const image_size&) = default;
};

/// Qwen2-VL "smart resize" (clip.cpp calc_size_preserved_ratio with min/max pixels): both
/// sides multiples of `align` (2 × patch size), area within [min_pixels, max_pixels].
inline image_size smart_resize_size(image_size in, int align, int min_pixels, int max_pixels) noexcept {
  if (align <= 0 || in.width <= 0 || in.height <= 0) return {};
  const auto fa = static_cast<float>(align);
  auto ceil_by = [&](float x) { return static_cast<int>(std::ceil(x / fa)) * align; };
  auto floor_by = [&](float x) { return static_cast<int>(std::floor(x / fa)) * align; };
  const int w = in.width, h = in.height;
  int hb = std::max(align, ceil_by(static_cast<float>(h)));
  int wb = std::max(align, ceil_by(static_cast<float>(w)));
  const auto area = static_cast<float>(static_cast<long long>(h) * w);
  if (static_cast<long long>(hb) * wb > max_pixels) {
    const float beta = std::sqrt(area / static_cast<float>(max_pixels));
    hb = std::max(align, floor_by(static_cast<float>(h) / beta));
    wb = std::max(align, floor_by(static_cast<float>(w) / beta));
  } else if (static_cast<long long>(hb) * wb < min_pixels) {
    const float beta = std::sqrt(static_cast<float>(min_pixels) / area);
    hb = ceil_by(static_cast<float>(h) * beta);
    wb = ceil_by(static_cast<float>(w) * beta);
  }
  return {wb, hb};
}

/// Qwen2-VL's image input: smart-resized with align = 2·patch, then bilinear-stretched.
/// The peer's defaults are min_pixels = 8·(2·patch)², max_pixels = 4096·(2·patch)².
inline result<image_u8> qwen2vl_resize(const image_u8& img, int patch_size, int min_pixels, int max_pixels) {
  if (patch_size <= 0 || min_pixels <= 0 || max_pixels < min_pixels)
    return make_error(errc::invalid_argument, "qwen2vl_resize: bad patch size or pixel bounds");
  const image_size s = smart_resize_size({img.width, img.height}, 2 * patch_size, min_pixels, max_pixels);
  return resize(img, s.width, s.height, resize_filter::bilinear_peer);
}

/// Scales so the longest side becomes `longest_edge`, then rounds both sides UP to
/// multiples of `align` (clip.cpp calc_size_preserved_ratio with longest_edge; Idefics3).
inline image_size longest_edge_size(image_size in, int align, int longest_edge) noexcept {
  if (align <= 0 || in.width <= 0 || in.height <= 0 || longest_edge <= 0) return {};
  const float scale = std::min(static_cast<float>(longest_edge) / static_cast<float>(in.width),
                               static_cast<float>(longest_edge) / static_cast<float>(in.height));
  const float tw = static_cast<float>(in.width) * scale;
  const float th = static_cast<float>(in.height) * scale;
  auto ceil_by = [&](float x) { return static_cast<int>(std::ceil(x / static_cast<float>(align))) * align; };
  return {ceil_by(tw), ceil_by(th)};
}

/// Idefics3 / SmolVLM tiles.
struct tiled_image {
  int grid_x = 0;               ///< tile columns
  int grid_y = 0;               ///< tile rows
  std::vector<image_u8> tiles;  ///< grid_y × grid_x tiles, row-major, each S×S
  image_u8 overview;            ///< the whole image letterboxed (black) to S×S

  /// In the order the peer encodes them: the tiles row-major, then the overview.
  [[nodiscard]] std::vector<const image_u8*> peer_order() const {
    std::vector<const image_u8*> v;
    v.reserve(tiles.size() + 1);
    for (const auto& t : tiles) v.push_back(&t);
    v.push_back(&overview);
    return v;
  }
};

/// Idefics3 tiling: `tile_size` = clip.vision.image_size (S), `longest_edge` =
/// clip.vision.preproc_image_size (L).
inline result<tiled_image> idefics3_tiles(const image_u8& img, int tile_size, int longest_edge) {
  if (tile_size <= 0 || longest_edge <= 0)
    return make_error(errc::invalid_argument, "idefics3_tiles: bad sizes");
  const image_size refined = longest_edge_size({img.width, img.height}, tile_size, longest_edge);
  if (refined.width <= 0 || refined.height <= 0)
    return make_error(errc::invalid_argument, "idefics3_tiles: empty image");
  tiled_image out;
  MMLLM_TRY_ASSIGN(out.overview, letterbox(img, tile_size, tile_size, rgb8{0, 0, 0}));
  MMLLM_TRY_ASSIGN(const image_u8 big,
                   resize(img, refined.width, refined.height, resize_filter::bicubic_peer));
  out.grid_x = refined.width / tile_size;
  out.grid_y = refined.height / tile_size;
  out.tiles.reserve(static_cast<std::size_t>(out.grid_x) * static_cast<std::size_t>(out.grid_y));
  for (int y = 0; y < refined.height; y += tile_size) {
    for (int x = 0; x < refined.width; x += tile_size) {
      MMLLM_TRY_ASSIGN(image_u8 tile, crop(big, x, y, tile_size, tile_size));
      out.tiles.push_back(std::move(tile));
    }
  }
  return out;
}

/// A rectangle of the refined image that becomes one slice.
struct slice_rect {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  friend bool operator==(const slice_rect&, const slice_rect&) = default;
};

/// What llava-uhd style slicing does with one image (clip.cpp slice_instructions).
struct slice_plan {
  image_size overview;             ///< the downscaled whole image
  image_size refined;              ///< size before slicing ({0, 0}: no slices)
  image_size grid;                 ///< slices per row (width) and rows (height)
  std::vector<slice_rect> slices;  ///< row-major
  bool pad_refined = false;        ///< letterbox (true, pinpoints) or bicubic stretch to `refined`
};

namespace detail {

inline int ensure_divide(int length, int patch) noexcept {
  return std::max(static_cast<int>(std::round(static_cast<float>(length) / static_cast<float>(patch)) *
                                   static_cast<float>(patch)),
                  patch);
}

inline image_size uhd_best_resize(image_size in, int scale_resolution, int patch,
                                  bool allow_upscale) noexcept {
  int w = in.width, h = in.height;
  if (static_cast<long long>(w) * h > static_cast<long long>(scale_resolution) * scale_resolution ||
      allow_upscale) {
    const float r = static_cast<float>(w) / static_cast<float>(h);
    h = static_cast<int>(static_cast<float>(scale_resolution) / std::sqrt(r));
    w = static_cast<int>(static_cast<float>(h) * r);
  }
  return {ensure_divide(w, patch), ensure_divide(h, patch)};
}

inline image_size uhd_best_grid(int max_slices, int multiple, float log_ratio) {
  std::vector<image_size> candidates;
  for (const int n : {multiple - 1, multiple, multiple + 1}) {
    if (n == 1 || n > max_slices) continue;
    for (int m = 1; m <= n; ++m)
      if (n % m == 0) candidates.push_back({m, n / m});
  }
  image_size best{1, 1};
  float min_error = std::numeric_limits<float>::infinity();
  for (const auto& g : candidates) {
    const auto err =
        static_cast<float>(std::abs(static_cast<double>(log_ratio) - std::log(1.0 * g.width / g.height)));
    if (err < min_error) {
      best = g;
      min_error = err;
    }
  }
  return best;
}

inline image_size uhd_refine_size(image_size in, image_size grid, int scale_resolution, int patch) noexcept {
  const int rw = ensure_divide(in.width, grid.width);
  const int rh = ensure_divide(in.height, grid.height);
  const image_size cell = uhd_best_resize({rw / grid.width, rh / grid.height}, scale_resolution, patch, true);
  return {cell.width * grid.width, cell.height * grid.height};
}

}  // namespace detail

/// MiniCPM-V slicing (llava_uhd::get_slice_instructions without pinpoints): `slice_size` =
/// clip.vision.image_size, `patch_size` = clip.vision.patch_size. Images within
/// slice_size×slice_size get only an overview (letterboxed to slice_size²).
inline slice_plan llava_uhd_plan(image_size in, int slice_size, int patch_size, int max_slices = 9) {
  slice_plan p;
  if (in.width <= 0 || in.height <= 0 || slice_size <= 0 || patch_size <= 0) return p;
  if (in.width <= slice_size && in.height <= slice_size) {
    p.overview = {slice_size, slice_size};
    return p;
  }
  p.overview = detail::uhd_best_resize(in, slice_size, patch_size, false);
  const auto log_ratio = static_cast<float>(
      std::log(static_cast<double>(static_cast<float>(in.width) / static_cast<float>(in.height))));
  const float ratio = static_cast<float>(in.width) * static_cast<float>(in.height) /
                      static_cast<float>(slice_size * slice_size);
  const int multiple = static_cast<int>(std::fmin(std::ceil(static_cast<double>(ratio)), max_slices));
  p.grid = detail::uhd_best_grid(max_slices, multiple, log_ratio);
  p.refined = detail::uhd_refine_size(in, p.grid, slice_size, patch_size);
  const int cw = p.refined.width / p.grid.width, ch = p.refined.height / p.grid.height;
  for (int y = 0, r = 0; y < p.refined.height && r < p.grid.height; y += ch, ++r)
    for (int x = 0, c = 0; x < p.refined.width && c < p.grid.width; x += cw, ++c)
      p.slices.push_back({x, y, cw, ch});
  return p;
}

/// The candidate resolution that keeps the most detail and wastes the least area
/// (LLaVA-1.6 select_best_resolution); {0, 0} when `candidates` is empty.
inline image_size select_best_resolution(image_size in, std::span<const image_size> candidates) noexcept {
  image_size best{};
  int max_effective = 0, min_wasted = std::numeric_limits<int>::max();
  for (const auto& c : candidates) {
    const float scale = std::min(static_cast<float>(c.width) / static_cast<float>(in.width),
                                 static_cast<float>(c.height) / static_cast<float>(in.height));
    const int tw = static_cast<int>(static_cast<float>(in.width) * scale);
    const int th = static_cast<int>(static_cast<float>(in.height) * scale);
    const int effective = std::min(tw * th, in.width * in.height);
    const int wasted = c.width * c.height - effective;
    if (effective > max_effective || (effective == max_effective && wasted < min_wasted)) {
      max_effective = effective;
      min_wasted = wasted;
      best = c;
    }
  }
  return best;
}

/// Slicing with a list of candidate resolutions ("pinpoints": LLaVA-1.6 anyres, Llama 4).
inline slice_plan pinpoint_plan(image_size in, int slice_size, std::span<const image_size> candidates) {
  slice_plan p;
  if (in.width <= 0 || in.height <= 0 || slice_size <= 0) return p;
  p.overview = {slice_size, slice_size};
  if (in.width <= slice_size && in.height <= slice_size) return p;
  p.refined = select_best_resolution(in, candidates);
  p.pad_refined = true;
  for (int y = 0; y < p.refined.height; y += slice_size)
    for (int x = 0; x < p.refined.width; x += slice_size)
      p.slices.push_back(
          {x, y, std::min(slice_size, p.refined.width - x), std::min(slice_size, p.refined.height - y)});
  p.grid = {p.refined.width / slice_size, p.refined.height / slice_size};
  return p;
}

/// Renders a plan as the peer does: [overview, slice 0, slice 1, …]. The overview is a
/// bilinear letterbox with black padding; the refined image is a bilinear letterbox when
/// `pad_refined`, else a bicubic stretch.
inline result<std::vector<image_u8>> slice_image(const image_u8& img, const slice_plan& plan) {
  std::vector<image_u8> out;
  MMLLM_TRY_ASSIGN(image_u8 overview,
                   letterbox(img, plan.overview.width, plan.overview.height, rgb8{0, 0, 0}));
  out.push_back(std::move(overview));
  if (plan.slices.empty()) return out;
  image_u8 refined;
  if (plan.pad_refined) {
    MMLLM_TRY_ASSIGN(refined, letterbox(img, plan.refined.width, plan.refined.height, rgb8{0, 0, 0}));
  } else {
    MMLLM_TRY_ASSIGN(refined,
                     resize(img, plan.refined.width, plan.refined.height, resize_filter::bicubic_peer));
  }
  for (const auto& s : plan.slices) {
    MMLLM_TRY_ASSIGN(image_u8 slice, crop(refined, s.x, s.y, s.width, s.height));
    out.push_back(std::move(slice));
  }
  return out;
}

}  // namespace mmllm::media
