// mmllm/models/vision/pixtral_projector.hpp — projector type "pixtral" (Pixtral, Mistral Small
// 3.1), clip.cpp's build_pixtral.
//
// Dynamic resolution: the size is scaled to keep the aspect ratio with both sides multiples
// of patch·merge and between 8 and 1024 output tokens (unless overridden), then the image is
// letterboxed (black) to it. The ViT uses RMSNorm, no learned positions, and 2-D rotary
// positions on q and k: the first half of every head is rotated by the patch row, the second
// half by the patch column with frequencies shifted by base^(-2/d_head) (clip.cpp
// build_rope_2d with interleave_freq; ggml's normal rope pairs (2i, 2i+1), base 10000).
// Mistral Small 3.1 adds a patch merger: RMSNorm × mm.input_norm, then every merge×merge block
// is unfolded (features channel-major: c·m² + ky·m + kx) and projected by mm.patch_merger.
// Projector: mm.1 (+b) → GELU → mm.2 (+b). After every row of output tokens but the last the
// [IMG_BREAK] embedding (v.token_embd.img_break) is inserted. Wrapper: "[IMG_END]" after.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "../../compute/kernel_params.hpp"
#include "../../media/image_resize.hpp"
#include "../../media/image_tiling.hpp"
#include "clip_vision.hpp"

namespace mmllm::mm {

namespace detail {

/// clip.cpp build_rope_2d: rotates the first half of every head of the rows of `x`
/// ([n][n_head·d]) by `pos_a`, the second half by `pos_b` (ggml normal rope, n_dims = d/2;
/// the second half's frequencies scaled by base^(-2/d) when `interleave_freq`).
template <compute::compute_policy P>
void rope_2d(P& p, matrix_view<float> x, std::size_t n_head, std::span<const std::int32_t> pos_a,
             std::span<const std::int32_t> pos_b, float base, bool interleave_freq) {
  const std::size_t n = x.extent(0), d = x.extent(1) / n_head, h2 = d / 2;
  std::vector<float> half(n * n_head * h2);
  const matrix_view<float> hv(half.data(), n, n_head * h2);
  for (int part = 0; part < 2; ++part) {
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t h = 0; h < n_head; ++h)
        for (std::size_t j = 0; j < h2; ++j) half[(t * n_head + h) * h2 + j] = x(t, h * d + part * h2 + j);
    compute::rope_params rp;
    rp.n_dims = h2;
    rp.mode = compute::rope_mode::normal;
    rp.freq_base = base;
    rp.freq_scale = (part == 1 && interleave_freq) ? std::pow(base, -2.0f / static_cast<float>(d)) : 1.0f;
    p.rope(hv, hv, h2, part == 0 ? pos_a : pos_b, rp);
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t h = 0; h < n_head; ++h)
        for (std::size_t j = 0; j < h2; ++j) x(t, h * d + part * h2 + j) = half[(t * n_head + h) * h2 + j];
  }
}

}  // namespace detail

struct pixtral_projector {
  static constexpr std::string_view name = "pixtral";

  clip_vision base;
  any_matrix_view mm1, mm2, merger;
  std::span<const float> mm1_b, mm2_b, input_norm, img_break;
  int merge = 1;
  int min_pixels = 0, max_pixels = 0;
  float rope_theta = 10000.0f;

  static result<pixtral_projector> load(const std::shared_ptr<mmproj_file>& f, const clip_hparams& hp,
                                        const vision_load_options& o) {
    pixtral_projector m;
    MMLLM_TRY_ASSIGN(m.base, load_clip_vision(f, hp, norm_kind::rms, /*ffn_swap=*/false));
    MMLLM_TRY_ASSIGN(m.mm1, f->matrix("mm.1.weight"));
    MMLLM_TRY_ASSIGN(m.mm1_b, f->optional_vector("mm.1.bias"));
    MMLLM_TRY_ASSIGN(m.mm2, f->matrix("mm.2.weight"));
    MMLLM_TRY_ASSIGN(m.mm2_b, f->optional_vector("mm.2.bias"));
    MMLLM_TRY_ASSIGN(m.img_break, f->vector("v.token_embd.img_break"));
    MMLLM_TRY_ASSIGN(m.input_norm, f->optional_vector("mm.input_norm.weight"));
    MMLLM_TRY_ASSIGN(m.merger, f->optional_matrix("mm.patch_merger.weight"));
    m.merge = hp.spatial_merge_size.value_or(1);  // the original Pixtral does not merge
    if (m.merge < 1) return make_error(errc::malformed, "mmproj: pixtral merge size must be positive");
    const std::size_t e = m.base.n_embd(),
                      mm = static_cast<std::size_t>(m.merge) * static_cast<std::size_t>(m.merge);
    if (m.merger.data != nullptr &&
        (m.merger.cols != e * mm || m.merger.rows != e || m.input_norm.size() != e))
      return make_error(errc::malformed, "mmproj: inconsistent pixtral patch merger");
    if (m.mm1.cols != e || m.mm2.cols != m.mm1.rows || m.img_break.size() != m.mm2.rows)
      return make_error(errc::malformed, "mmproj: inconsistent pixtral projector");
    if (m.base.vit.d_head() % 4 != 0)
      return make_error(errc::malformed, "mmproj: pixtral head size must be a multiple of 4");
    const int area = hp.patch_size * hp.patch_size * m.merge * m.merge;
    m.min_pixels = (o.image_min_tokens > 0 ? o.image_min_tokens : 8) * area;
    m.max_pixels = (o.image_max_tokens > 0 ? o.image_max_tokens : 1024) * area;
    return m;
  }

  [[nodiscard]] std::size_t n_embd_out() const noexcept { return mm2.rows; }

  [[nodiscard]] result<vision_input> preprocess(const media::image_u8& img) const {
    const media::image_size t =
        media::smart_resize_size({img.width, img.height}, base.patch() * merge, min_pixels, max_pixels);
    MMLLM_TRY_ASSIGN(const media::image_u8 r, media::letterbox(img, t.width, t.height, media::rgb8{0, 0, 0}));
    vision_input in;
    MMLLM_TRY_ASSIGN(auto f, normalize_for(base, r));
    in.entries.push_back(std::move(f));
    return in;
  }

  /// Merged output grid (columns, rows).
  [[nodiscard]] size2 merged_grid(const media::image_f32& e) const noexcept {
    return {e.width / base.patch() / merge, e.height / base.patch() / merge};
  }
  [[nodiscard]] std::size_t n_tokens(const media::image_f32& e) const noexcept {
    const size2 g = merged_grid(e);
    const auto px = static_cast<std::size_t>(g.width), py = static_cast<std::size_t>(g.height);
    return py == 0 ? 0 : px * py + py - 1;  // one [IMG_BREAK] per row but the last
  }
  [[nodiscard]] size2 token_grid(const media::image_f32& e) const noexcept {
    return {static_cast<int>(n_tokens(e)), 1};
  }
  [[nodiscard]] media_layout layout(const vision_input& in) const {
    return {layout_step::media_step(0, in.entries.size()), layout_step::text_step("[IMG_END]")};
  }

  template <compute::compute_policy P>
  result<void> encode(P& p, const media::image_f32& img, std::span<float> out,
                      const encode_options& opt) const {
    MMLLM_TRY(check_entry(img, base.patch()));
    MMLLM_TRY(check_output(out, n_tokens(img), n_embd_out()));
    std::size_t gx = 0, gy = 0;
    MMLLM_TRY_ASSIGN(std::vector<float> x, patch_embed(p, base, img, gx, gy));
    const std::size_t e = base.n_embd(), n = gx * gy;
    const matrix_view<float> xv(x.data(), n, e);
    std::vector<std::int32_t> pos_h(n), pos_w(n);
    for (std::size_t i = 0; i < n; ++i) {
      pos_h[i] = static_cast<std::int32_t>(i / gx);
      pos_w[i] = static_cast<std::int32_t>(i % gx);
    }
    if (!base.vit.pre_ln_w.empty())
      vit_apply_norm(p, base.vit.norm, base.vit.eps, xv, xv, base.vit.pre_ln_w, base.vit.pre_ln_b);
    auto rope = [&](auto& pol, matrix_view<float> q, matrix_view<float> k, std::size_t) -> result<void> {
      detail::rope_2d(pol, q, base.vit.n_head, pos_h, pos_w, rope_theta, true);
      detail::rope_2d(pol, k, base.vit.n_head, pos_h, pos_w, rope_theta, true);
      return ok();
    };
    MMLLM_TRY(vit_forward(p, base.vit, x, n, base.vit.layers.size(), rope, opt));
    if (!base.vit.post_ln_w.empty())
      vit_apply_norm(p, base.vit.norm, base.vit.eps, xv, xv, base.vit.post_ln_w, base.vit.post_ln_b);
    std::size_t nm = n;
    std::vector<float> merged;
    const matrix_view<const float>* src = nullptr;
    matrix_view<const float> cur(x.data(), n, e);
    if (merger.data != nullptr) {
      const auto m = static_cast<std::size_t>(merge);
      p.rmsnorm(xv, xv, base.hp.eps, input_norm);
      const std::size_t ox = gx / m, oy = gy / m;
      std::vector<float> unfolded(ox * oy * e * m * m);
      for (std::size_t Y = 0; Y < oy; ++Y)
        for (std::size_t X = 0; X < ox; ++X)
          for (std::size_t c = 0; c < e; ++c)
            for (std::size_t ky = 0; ky < m; ++ky)
              for (std::size_t kx = 0; kx < m; ++kx)
                unfolded[(Y * ox + X) * e * m * m + c * m * m + ky * m + kx] =
                    x[((Y * m + ky) * gx + X * m + kx) * e + c];
      nm = ox * oy;
      merged.resize(nm * e);
      MMLLM_TRY(p.matmul(matrix_view<const float>(unfolded.data(), nm, e * m * m), merger,
                         matrix_view<float>(merged.data(), nm, e)));
      cur = matrix_view<const float>(merged.data(), nm, e);
    }
    (void)src;
    const std::size_t hdim = mm1.rows, eo = n_embd_out();
    std::vector<float> hid(nm * hdim), proj(nm * eo);
    const matrix_view<float> hv(hid.data(), nm, hdim);
    MMLLM_TRY(detail::linear(p, cur, mm1, mm1_b, hv));
    detail::activate(p, ffn_activation::gelu, hv, hv, opt);
    MMLLM_TRY(detail::linear(p, hv, mm2, mm2_b, matrix_view<float>(proj.data(), nm, eo)));
    // [IMG_BREAK] after every row but the last
    const size2 g = merged_grid(img);
    const auto px = static_cast<std::size_t>(g.width), py = static_cast<std::size_t>(g.height);
    if (px * py != nm)
      return make_error(errc::invalid_argument, "pixtral: patch grid not a multiple of the merge size");
    std::size_t o = 0;
    for (std::size_t r = 0; r < py; ++r) {
      std::copy_n(&proj[r * px * eo], px * eo, &out[o * eo]);
      o += px;
      if (r + 1 != py) std::copy_n(img_break.data(), eo, &out[(o++) * eo]);
    }
    return ok();
  }
};

}  // namespace mmllm::mm
