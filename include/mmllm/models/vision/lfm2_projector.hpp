// mmllm/models/vision/lfm2_projector.hpp — projector type "lfm2" (LFM2-VL), clip.cpp's
// build_siglip with the LFM2 head.
//
// Dynamic resolution: a size keeping the aspect ratio with both sides multiples of
// patch·scale_factor and between 64 and 256 output tokens (unless overridden); the image is
// letterboxed to it on (122, 116, 104). SigLIP2-NaFlex ViT: the learned position table (a
// square grid) is resized to the patch grid with ggml's bilinear interpolation (half-pixel
// centres, edge clamping) when the sizes differ. Head: pixel shuffle by the scale factor
// (grid zero-padded to multiples), LayerNorm(eps 1e-5) × mm.input_norm + b, mm.1 (+b) → GELU →
// mm.2 (+b). No wrapper text.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "../../media/image_resize.hpp"
#include "../../media/image_tiling.hpp"
#include "clip_vision.hpp"

namespace mmllm::mm {

/// ggml_interpolate (bilinear, no align-corners) of a side × side grid of `width`-wide rows to
/// gx × gy rows (token y·gx + x), exactly as ggml's CPU upscale computes it.
inline std::vector<float> resize_position_grid(std::span<const float> pos, std::size_t width,
                                               std::size_t side, std::size_t gx, std::size_t gy) {
  std::vector<float> out(gx * gy * width);
  const float sf0 = static_cast<float>(gx) / static_cast<float>(side);
  const float sf1 = static_cast<float>(gy) / static_cast<float>(side);
  const auto last = static_cast<std::int64_t>(side) - 1;
  for (std::size_t i1 = 0; i1 < gy; ++i1) {
    const float y = (static_cast<float>(i1) + 0.5f) / sf1 - 0.5f;
    auto y0 = static_cast<std::int64_t>(std::floor(y));
    std::int64_t y1 = y0 + 1;
    y0 = std::max<std::int64_t>(0, std::min(y0, last));
    y1 = std::max<std::int64_t>(0, std::min(y1, last));
    float dy = y - static_cast<float>(y0);
    dy = std::max(0.0f, std::min(dy, 1.0f));
    for (std::size_t i0 = 0; i0 < gx; ++i0) {
      const float x = (static_cast<float>(i0) + 0.5f) / sf0 - 0.5f;
      auto x0 = static_cast<std::int64_t>(std::floor(x));
      std::int64_t x1 = x0 + 1;
      x0 = std::max<std::int64_t>(0, std::min(x0, last));
      x1 = std::max<std::int64_t>(0, std::min(x1, last));
      float dx = x - static_cast<float>(x0);
      dx = std::max(0.0f, std::min(dx, 1.0f));
      const auto s = static_cast<std::int64_t>(side);
      const float* a = &pos[static_cast<std::size_t>(y0 * s + x0) * width];
      const float* b = &pos[static_cast<std::size_t>(y0 * s + x1) * width];
      const float* c = &pos[static_cast<std::size_t>(y1 * s + x0) * width];
      const float* d = &pos[static_cast<std::size_t>(y1 * s + x1) * width];
      float* o = &out[(i1 * gx + i0) * width];
      for (std::size_t k = 0; k < width; ++k)
        o[k] = a[k] * (1 - dx) * (1 - dy) + b[k] * dx * (1 - dy) + c[k] * (1 - dx) * dy + d[k] * dx * dy;
    }
  }
  return out;
}

struct lfm2_projector {
  static constexpr std::string_view name = "lfm2";

  clip_vision base;
  std::span<const float> norm_w, norm_b, mm1_b, mm2_b;
  any_matrix_view mm1, mm2;
  int scale = 0;
  int min_pixels = 0, max_pixels = 0;
  std::size_t pos_side = 0;

  static result<lfm2_projector> load(const std::shared_ptr<mmproj_file>& f, const clip_hparams& hp,
                                     const vision_load_options& o) {
    lfm2_projector m;
    MMLLM_TRY_ASSIGN(m.base, load_clip_vision(f, hp, norm_kind::layer, /*ffn_swap=*/false));
    MMLLM_TRY_ASSIGN(m.norm_w, f->vector("mm.input_norm.weight"));
    MMLLM_TRY_ASSIGN(m.norm_b, f->vector("mm.input_norm.bias"));
    MMLLM_TRY_ASSIGN(m.mm1, f->matrix("mm.1.weight"));
    MMLLM_TRY_ASSIGN(m.mm1_b, f->vector("mm.1.bias"));
    MMLLM_TRY_ASSIGN(m.mm2, f->matrix("mm.2.weight"));
    MMLLM_TRY_ASSIGN(m.mm2_b, f->vector("mm.2.bias"));
    m.scale = hp.scale_factor.value_or(0);
    if (m.scale < 2)
      return make_error(errc::malformed, "mmproj: lfm2 needs clip.vision.projector.scale_factor >= 2");
    const std::size_t e = m.base.n_embd(), feat = e * static_cast<std::size_t>(m.scale * m.scale);
    if (m.norm_w.size() != feat || m.norm_b.size() != feat || m.mm1.cols != feat ||
        m.mm2.cols != m.mm1.rows || m.mm1_b.size() != m.mm1.rows || m.mm2_b.size() != m.mm2.rows)
      return make_error(errc::malformed, "mmproj: inconsistent lfm2 projector");
    const std::size_t rows = m.base.pos_embd.size() / e;
    m.pos_side = static_cast<std::size_t>(std::sqrt(static_cast<double>(rows)));
    if (rows == 0 || m.pos_side * m.pos_side != rows)
      return make_error(errc::malformed, "mmproj: lfm2 position embedding must be a square grid");
    const int area = hp.patch_size * hp.patch_size * m.scale * m.scale;
    m.min_pixels = (o.image_min_tokens > 0 ? o.image_min_tokens : 64) * area;
    m.max_pixels = (o.image_max_tokens > 0 ? o.image_max_tokens : 256) * area;
    return m;
  }

  [[nodiscard]] std::size_t n_embd_out() const noexcept { return mm2.rows; }

  [[nodiscard]] result<vision_input> preprocess(const media::image_u8& img) const {
    const media::image_size t =
        media::smart_resize_size({img.width, img.height}, base.patch() * scale, min_pixels, max_pixels);
    MMLLM_TRY_ASSIGN(const media::image_u8 r,
                     media::letterbox(img, t.width, t.height, media::rgb8{122, 116, 104}));
    vision_input in;
    MMLLM_TRY_ASSIGN(auto f, normalize_for(base, r));
    in.entries.push_back(std::move(f));
    return in;
  }

  [[nodiscard]] std::size_t n_tokens(const media::image_f32& e) const noexcept {
    const int out_patch = base.patch() * scale;
    const auto x = static_cast<std::size_t>((e.width + out_patch - 1) / out_patch);
    const auto y = static_cast<std::size_t>((e.height + out_patch - 1) / out_patch);
    return x * y;
  }
  [[nodiscard]] size2 token_grid(const media::image_f32& e) const noexcept {
    return {static_cast<int>(n_tokens(e)), 1};
  }
  [[nodiscard]] media_layout layout(const vision_input& in) const {
    return {layout_step::media_step(0, in.entries.size())};
  }

  template <compute::compute_policy P>
  result<void> encode(P& p, const media::image_f32& img, std::span<float> out,
                      const encode_options& opt) const {
    MMLLM_TRY(check_entry(img, base.patch()));
    const std::size_t nt = n_tokens(img);
    MMLLM_TRY(check_output(out, nt, n_embd_out()));
    const std::size_t e = base.n_embd();
    const auto gx = static_cast<std::size_t>(img.width / base.patch()),
               gy = static_cast<std::size_t>(img.height / base.patch());
    std::vector<float> pos;
    std::span<const float> pos_view = base.pos_embd;
    if (gx != pos_side || gy != pos_side) {
      pos = resize_position_grid(base.pos_embd, e, pos_side, gx, gy);
      pos_view = pos;
    }
    std::size_t ax = 0, ay = 0;
    MMLLM_TRY_ASSIGN(const std::vector<float> x, learned_pos_body(p, base, img, pos_view, ax, ay, opt));
    const auto s = static_cast<std::size_t>(scale);
    std::vector<float> sh = pixel_shuffle(x, e, gx, gy, s);
    const std::size_t feat = e * s * s;
    if (sh.size() != nt * feat) return make_error(errc::internal, "lfm2: token count mismatch");
    const matrix_view<float> sv(sh.data(), nt, feat);
    p.layernorm(sv, sv, 1e-5f, norm_w, norm_b);
    std::vector<float> hid(nt * mm1.rows);
    const matrix_view<float> hv(hid.data(), nt, mm1.rows);
    MMLLM_TRY(detail::linear(p, sv, mm1, mm1_b, hv));
    detail::activate(p, ffn_activation::gelu, hv, hv, opt);
    return detail::linear(p, hv, mm2, mm2_b, matrix_view<float>(out.data(), nt, n_embd_out()));
  }
};

}  // namespace mmllm::mm
