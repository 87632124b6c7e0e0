// mmllm/media/image_resize.hpp — resizing, letterboxing, cropping as the encoders need them.
//
// The `_peer` resizers reproduce llama.cpp's clip.cpp bit for bit (the fixtures' preprocessed
// tensors are compared exactly). Both are PEER QUIRKS, not textbook filters:
// - resize_bilinear_peer: sample positions x·(W−1)/w (no half-pixel centres, so resizing to
//   the same size still shifts), float32 lerps, result TRUNCATED to uint8;
// - resize_bicubic_peer: sample positions x·W/w (no half-pixel offset), a cubic through four
//   neighbours with edge clamping (coefficients in double, values in float), rounded half
//   away from zero and clamped.
// `letterbox` is clip.cpp's img_tool::resize with padding: scale to fit (ceil of the scaled
// size), resize, centre on a canvas of the pad colour (offsets rounded down). `resize` with
// `fit::stretch` ignores the aspect ratio. Both return a copy when the size already matches.
//
//   auto r = mmllm::media::letterbox(img, 112, 112, {122, 116, 104});   // LLaVA-1.5
//   auto t = mmllm::media::resize(img, 644, 504, resize_filter::bilinear_peer);  // stretch
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mmllm/core/result.hpp"
#include "mmllm/media/detail/exact_fp.hpp"
#include "mmllm/media/image.hpp"

namespace mmllm::media {

/// Interpolation of the resizers.
enum class resize_filter : std::uint8_t {
  bilinear_peer,  ///< clip.cpp img_tool::resize_bilinear
  bicubic_peer,   ///< clip.cpp img_tool::resize_bicubic
};

/// Largest image (width × height) the preprocessing functions create.
inline constexpr std::size_t max_preprocess_pixels = std::size_t{1} << 28;

namespace detail {

inline result<void> check_target(const image_u8& src, int w, int h, const char* what) {
  if (src.empty() || src.pixels.size() != src.pixel_count() * 3)
    return make_error(errc::invalid_argument, what, ": empty or inconsistent source image");
  if (w <= 0 || h <= 0 || static_cast<std::size_t>(w) * static_cast<std::size_t>(h) > max_preprocess_pixels)
    return make_error(errc::invalid_argument, what, ": bad target size ", std::to_string(w), "x",
                      std::to_string(h));
  return ok();
}

MMLLM_MEDIA_EXACT_FP_FN inline void bilinear_peer_into(const image_u8& src, image_u8& dst) {
  MMLLM_MEDIA_EXACT_FP_BODY
  const int sw = src.width, sh = src.height, tw = dst.width, th = dst.height;
  const float x_ratio = static_cast<float>(sw - 1) / static_cast<float>(tw);
  const float y_ratio = static_cast<float>(sh - 1) / static_cast<float>(th);
  const std::uint8_t* s = src.pixels.data();
  std::uint8_t* d = dst.pixels.data();
  for (int y = 0; y < th; ++y) {
    const float py = y_ratio * static_cast<float>(y);
    const int y0 = std::min(static_cast<int>(py), sh - 1);
    const int y1 = std::min(y0 + 1, sh - 1);  // the peer reads row y0 + 1 unclamped; its weight is 0 there
    const float fy = py - static_cast<float>(y0);
    const std::uint8_t* r0 = s + static_cast<std::size_t>(y0) * static_cast<std::size_t>(sw) * 3;
    const std::uint8_t* r1 = s + static_cast<std::size_t>(y1) * static_cast<std::size_t>(sw) * 3;
    for (int x = 0; x < tw; ++x) {
      const float px = x_ratio * static_cast<float>(x);
      const int x0 = std::min(static_cast<int>(px), sw - 1);
      const int x1 = std::min(x0 + 1, sw - 1);
      const float fx = px - static_cast<float>(x0);
      for (int c = 0; c < 3; ++c) {
        const float a = r0[x0 * 3 + c], b = r0[x1 * 3 + c];
        const float top = a + (b - a) * fx;
        const float e = r1[x0 * 3 + c], f = r1[x1 * 3 + c];
        const float bottom = e + (f - e) * fx;
        const float v = top + (bottom - top) * fy;
        *d++ = static_cast<std::uint8_t>(v);  // truncation, as the peer
      }
    }
  }
}

/// The peer's cubic coefficients (double arithmetic stored to float) evaluated at t.
MMLLM_MEDIA_EXACT_FP_FN inline float cubic_peer(float p0, float p1, float p2, float p3, float t) {
  MMLLM_MEDIA_EXACT_FP_BODY
  const float d0 = p0 - p1, d2 = p2 - p1, d3 = p3 - p1, a0 = p1;
  const auto a1 = static_cast<float>(-1.0 / 3 * d0 + d2 - 1.0 / 6 * d3);
  const auto a2 = static_cast<float>(1.0 / 2 * d0 + 1.0 / 2 * d2);
  const auto a3 = static_cast<float>(-1.0 / 6 * d0 - 1.0 / 2 * d2 + 1.0 / 6 * d3);
  return a0 + a1 * t + a2 * t * t + a3 * t * t * t;
}

/// The peer's bicubic, computed separably: the peer evaluates, for every output pixel, the
/// horizontal cubic on four source rows and then the vertical cubic through those four values.
/// A horizontal value depends only on (source row, output column, channel), so each is
/// computed once per source row (a four-row cache) and reused — the same float operations on
/// the same inputs, hence the same bits, at a fraction of the cost.
MMLLM_MEDIA_EXACT_FP_FN inline void bicubic_peer_into(const image_u8& src, image_u8& dst) {
  MMLLM_MEDIA_EXACT_FP_BODY
  const int nx = src.width, ny = src.height, tw = dst.width, th = dst.height;
  const float tx = static_cast<float>(nx) / static_cast<float>(tw);
  const float ty = static_cast<float>(ny) / static_cast<float>(th);
  const std::uint8_t* s = src.pixels.data();
  const auto row_len = static_cast<std::size_t>(tw) * 3;
  std::vector<int> cols(static_cast<std::size_t>(tw) * 4);
  std::vector<float> dxs(static_cast<std::size_t>(tw));
  for (int j = 0; j < tw; ++j) {
    const float fxj = tx * static_cast<float>(j);
    const int x = static_cast<int>(fxj);
    dxs[static_cast<std::size_t>(j)] = fxj - static_cast<float>(x);
    for (int q = 0; q < 4; ++q)
      cols[static_cast<std::size_t>(j) * 4 + static_cast<std::size_t>(q)] =
          std::clamp(x - 1 + q, 0, nx - 1) * 3;
  }
  std::vector<float> cache(4 * row_len);  // slot r % 4 holds the horizontal pass of source row r
  int tags[4] = {-1, -1, -1, -1};
  auto horizontal = [&](int r) -> const float* {
    float* out = cache.data() + static_cast<std::size_t>(r % 4) * row_len;
    if (tags[r % 4] != r) {
      tags[r % 4] = r;
      const std::uint8_t* row = s + static_cast<std::size_t>(r) * static_cast<std::size_t>(nx) * 3;
      for (int j = 0; j < tw; ++j) {
        const int* c = cols.data() + static_cast<std::size_t>(j) * 4;
        const float dx = dxs[static_cast<std::size_t>(j)];
        for (int k = 0; k < 3; ++k)
          out[j * 3 + k] = cubic_peer(row[c[0] + k], row[c[1] + k], row[c[2] + k], row[c[3] + k], dx);
      }
    }
    return out;
  };
  std::uint8_t* d = dst.pixels.data();
  for (int i = 0; i < th; ++i) {
    const float fyi = ty * static_cast<float>(i);
    const int y = static_cast<int>(fyi);
    const float dy = fyi - static_cast<float>(y);
    // rows y-1 .. y+2 clamped; distinct rows never collide in the 4-slot cache
    const float* h[4];
    for (int jj = 0; jj < 4; ++jj) h[jj] = horizontal(std::clamp(y - 1 + jj, 0, ny - 1));
    for (std::size_t q = 0; q < row_len; ++q) {
      const float cc = cubic_peer(h[0][q], h[1][q], h[2][q], h[3][q], dy);
      *d++ = static_cast<std::uint8_t>(std::min(std::max(std::round(cc), 0.0f), 255.0f));
    }
  }
}

inline image_u8 blank(int w, int h) {
  image_u8 img;
  img.width = w;
  img.height = h;
  img.pixels.resize(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 3);
  return img;
}

}  // namespace detail

/// Resamples `src` to exactly w×h with the peer's bilinear filter (no aspect handling).
inline result<image_u8> resize_bilinear_peer(const image_u8& src, int w, int h) {
  MMLLM_TRY(detail::check_target(src, w, h, "resize_bilinear_peer"));
  image_u8 dst = detail::blank(w, h);
  detail::bilinear_peer_into(src, dst);
  return dst;
}

/// Resamples `src` to exactly w×h with the peer's bicubic filter (no aspect handling).
inline result<image_u8> resize_bicubic_peer(const image_u8& src, int w, int h) {
  MMLLM_TRY(detail::check_target(src, w, h, "resize_bicubic_peer"));
  image_u8 dst = detail::blank(w, h);
  detail::bicubic_peer_into(src, dst);
  return dst;
}

/// Stretches `src` to w×h (a copy when the size already matches), as img_tool::resize
/// without padding.
inline result<image_u8> resize(const image_u8& src, int w, int h,
                               resize_filter f = resize_filter::bilinear_peer) {
  MMLLM_TRY(detail::check_target(src, w, h, "resize"));
  if (src.width == w && src.height == h) return src;
  return f == resize_filter::bilinear_peer ? resize_bilinear_peer(src, w, h) : resize_bicubic_peer(src, w, h);
}

/// Size the letterboxed content gets inside a w×h canvas (the peer's float32 arithmetic).
struct letterbox_geometry {
  int content_width = 0;
  int content_height = 0;
  int offset_x = 0;
  int offset_y = 0;
};

inline letterbox_geometry letterbox_layout(int src_w, int src_h, int w, int h) noexcept {
  const float scale = std::min(static_cast<float>(w) / static_cast<float>(src_w),
                               static_cast<float>(h) / static_cast<float>(src_h));
  letterbox_geometry g;
  g.content_width = std::min(static_cast<int>(std::ceil(static_cast<float>(src_w) * scale)), w);
  g.content_height = std::min(static_cast<int>(std::ceil(static_cast<float>(src_h) * scale)), h);
  g.offset_x = (w - g.content_width) / 2;
  g.offset_y = (h - g.content_height) / 2;
  return g;
}

/// Copies `src` into `dst` with its top-left corner at (x, y); parts outside `dst` are dropped.
inline void paste(image_u8& dst, const image_u8& src, int x, int y) {
  const int x0 = std::max(0, x), y0 = std::max(0, y);
  const int x1 = std::min(dst.width, x + src.width), y1 = std::min(dst.height, y + src.height);
  if (x0 >= x1) return;
  for (int yy = y0; yy < y1; ++yy) {
    const std::uint8_t* s = src.pixels.data() + src.offset(x0 - x, yy - y, 0);
    std::copy(s, s + static_cast<std::size_t>(x1 - x0) * 3,
              dst.pixels.begin() + static_cast<std::ptrdiff_t>(dst.offset(x0, yy, 0)));
  }
}

/// The w×h region at (x, y); it must lie inside `src`.
inline result<image_u8> crop(const image_u8& src, int x, int y, int w, int h) {
  if (x < 0 || y < 0 || w <= 0 || h <= 0 || x > src.width - w || y > src.height - h)
    return make_error(errc::invalid_argument, "crop: region outside the image");
  image_u8 out = detail::blank(w, h);
  for (int yy = 0; yy < h; ++yy) {
    const std::uint8_t* s = src.pixels.data() + src.offset(x, y + yy, 0);
    std::copy(s, s + static_cast<std::size_t>(w) * 3,
              out.pixels.begin() + static_cast<std::ptrdiff_t>(out.offset(0, yy, 0)));
  }
  return out;
}

/// Fits `src` inside w×h keeping its aspect ratio and pads with `pad` (img_tool::resize with
/// add_padding, the peer's default); a copy when the size already matches.
inline result<image_u8> letterbox(const image_u8& src, int w, int h, rgb8 pad,
                                  resize_filter f = resize_filter::bilinear_peer) {
  MMLLM_TRY(detail::check_target(src, w, h, "letterbox"));
  if (src.width == w && src.height == h) return src;
  const letterbox_geometry g = letterbox_layout(src.width, src.height, w, h);
  image_u8 content = detail::blank(g.content_width, g.content_height);
  if (f == resize_filter::bilinear_peer) {
    detail::bilinear_peer_into(src, content);
  } else {
    detail::bicubic_peer_into(src, content);
  }
  image_u8 out = image_u8::filled(w, h, pad);
  paste(out, content, g.offset_x, g.offset_y);
  return out;
}

}  // namespace mmllm::media
