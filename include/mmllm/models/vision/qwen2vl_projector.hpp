// mmllm/models/vision/qwen2vl_projector.hpp — projector types "qwen2vl_merger" (Qwen2-VL) and
// "qwen2.5vl_merger" (Qwen2.5-VL), clip.cpp's build_qwen2vl.
//
// Dynamic resolution: the image is smart-resized (both sides multiples of 2·patch, between
// 8 and 4096 output tokens unless overridden) and bilinear-stretched. Patch embedding is the
// split Conv3D: v.patch_embd.weight and .weight.1 applied to the same image and summed, no
// bias. Tokens are reordered in 2×2 merge blocks (for merged row Y, column X: patches
// (2Y+dy, 2X+dx), dy, dx ∈ {0, 1}); each token gets 2-D rotary positions (row, column) in
// ggml's "vision" rope mode (n_dims = d_head/2, four sections of d_head/4, base 10000). After
// the blocks and v.post_ln, each merge block's 4 tokens are concatenated and projected by
// mm.0 → GELU → mm.2. Output tokens are row-major over the merged grid (nx × ny); the language
// model gives them M-RoPE positions [p0, p0 + y, p0 + x, 0].
//
// Qwen2.5-VL adds RMSNorm, a gated SiLU FFN and window attention: merge blocks are grouped
// into windows of 112 px (112 / patch / 2 merged tokens per side), tokens reordered window by
// window, and every block except those with (layer + 1) % n_wa_pattern == 0 attends only
// within its window; the output is put back in row-major order.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "../../compute/kernel_params.hpp"
#include "../../media/image_tiling.hpp"
#include "clip_vision.hpp"

namespace mmllm::mm {

/// Shared implementation; `Windowed` selects Qwen2.5-VL.
template <bool Windowed>
struct qwen2vl_family_projector {
  static constexpr std::string_view name = Windowed ? "qwen2.5vl_merger" : "qwen2vl_merger";
  static constexpr bool use_mrope = true;

  clip_vision base;
  any_matrix_view mm0, mm1;
  std::span<const float> mm0_b, mm1_b;
  int min_pixels = 0, max_pixels = 0;
  int n_wa_pattern = 0;

  static result<qwen2vl_family_projector> load(const std::shared_ptr<mmproj_file>& f, const clip_hparams& hp,
                                               const vision_load_options& o) {
    qwen2vl_family_projector m;
    MMLLM_TRY_ASSIGN(
        m.base, load_clip_vision(f, hp, Windowed ? norm_kind::rms : norm_kind::layer, /*ffn_swap=*/true));
    if (m.base.patch_w1.data == nullptr)
      return make_error(errc::malformed, "mmproj: missing v.patch_embd.weight.1");
    if (!m.base.patch_b.empty() || !m.base.class_embd.empty())
      return make_error(errc::malformed, "mmproj: qwen2vl has no patch bias or class embedding");
    if (hp.spatial_merge_size.value_or(2) != 2)
      return make_error(errc::unsupported, "mmproj: qwen2vl merge size other than 2");
    if (m.base.vit.d_head() % 4 != 0)
      return make_error(errc::malformed, "mmproj: qwen2vl head size must be a multiple of 4");
    MMLLM_TRY_ASSIGN(m.mm0, f->matrix("mm.0.weight"));
    MMLLM_TRY_ASSIGN(m.mm0_b, f->vector("mm.0.bias"));
    MMLLM_TRY_ASSIGN(m.mm1, f->matrix("mm.2.weight"));
    MMLLM_TRY_ASSIGN(m.mm1_b, f->vector("mm.2.bias"));
    if (m.mm0.cols != 4 * m.base.n_embd() || m.mm1.cols != m.mm0.rows || m.mm0_b.size() != m.mm0.rows ||
        m.mm1_b.size() != m.mm1.rows)
      return make_error(errc::malformed, "mmproj: inconsistent qwen2vl merger");
    if constexpr (Windowed) {
      if (!hp.n_wa_pattern || *hp.n_wa_pattern <= 0)
        return make_error(errc::malformed, "mmproj: qwen2.5vl needs clip.vision.n_wa_pattern");
      m.n_wa_pattern = *hp.n_wa_pattern;
    }
    // clip.cpp set_limit_image_tokens(8, 4096) with the user's overrides
    const int area = hp.patch_size * hp.patch_size * 4;
    m.min_pixels = (o.image_min_tokens > 0 ? o.image_min_tokens : 8) * area;
    m.max_pixels = (o.image_max_tokens > 0 ? o.image_max_tokens : 4096) * area;
    if (m.max_pixels < m.min_pixels)
      return make_error(errc::invalid_argument, "vision: image max tokens < min tokens");
    return m;
  }

  [[nodiscard]] std::size_t n_embd_out() const noexcept { return mm1.rows; }

  [[nodiscard]] result<vision_input> preprocess(const media::image_u8& img) const {
    MMLLM_TRY_ASSIGN(const media::image_u8 r,
                     media::qwen2vl_resize(img, base.patch(), min_pixels, max_pixels));
    vision_input in;
    MMLLM_TRY_ASSIGN(auto f, normalize_for(base, r));
    in.entries.push_back(std::move(f));
    return in;
  }

  [[nodiscard]] size2 token_grid(const media::image_f32& e) const noexcept {
    return {e.width / (2 * base.patch()), e.height / (2 * base.patch())};
  }
  [[nodiscard]] std::size_t n_tokens(const media::image_f32& e) const noexcept {
    const size2 g = token_grid(e);
    return static_cast<std::size_t>(g.width) * static_cast<std::size_t>(g.height);
  }
  [[nodiscard]] media_layout layout(const vision_input& in) const {
    return {layout_step::text_step("<|vision_start|>"), layout_step::media_step(0, in.entries.size()),
            layout_step::text_step("<|vision_end|>")};
  }

  /// Qwen2.5-VL windows (clip.cpp's window_idx / inv_window_idx): for merged grid pw × ph,
  /// `order[i]` = the merge block placed at position i, `ends` = window ends in tokens.
  static void windows(std::size_t pw, std::size_t ph, std::size_t grid_window,
                      std::vector<std::size_t>& order, std::vector<std::size_t>& ends) {
    order.clear();
    ends.clear();
    for (std::size_t y = 0; y < ph; y += grid_window)
      for (std::size_t x = 0; x < pw; x += grid_window) {
        const std::size_t wh = std::min(grid_window, ph - y), ww = std::min(grid_window, pw - x);
        for (std::size_t dy = 0; dy < wh; ++dy)
          for (std::size_t dx = 0; dx < ww; ++dx) order.push_back((y + dy) * pw + (x + dx));
        ends.push_back(order.size() * 4);
      }
  }

  template <compute::compute_policy P>
  result<void> encode(P& p, const media::image_f32& img, std::span<float> out,
                      const encode_options& opt) const {
    MMLLM_TRY(check_entry(img, base.patch()));
    if (img.width % (2 * base.patch()) != 0 || img.height % (2 * base.patch()) != 0)
      return make_error(errc::invalid_argument, "qwen2vl: image sides must be multiples of 2·patch");
    const std::size_t nt = n_tokens(img);
    MMLLM_TRY(check_output(out, nt, n_embd_out()));
    std::size_t gx = 0, gy = 0;
    MMLLM_TRY_ASSIGN(const std::vector<float> patches, patch_embed(p, base, img, gx, gy));
    const std::size_t e = base.n_embd(), n = gx * gy, pw = gx / 2, ph = gy / 2;
    // merge-block order (2×2 groups) and, for Qwen2.5-VL, window order of the groups
    std::vector<std::size_t> group_order(pw * ph), seg_ends;
    for (std::size_t i = 0; i < group_order.size(); ++i) group_order[i] = i;
    if constexpr (Windowed) {
      const std::size_t gw = static_cast<std::size_t>(112 / base.patch() / 2);  // peer: attn_window_size 112
      windows(pw, ph, std::max<std::size_t>(1, gw), group_order, seg_ends);
    }
    std::vector<float> x(n * e);
    std::vector<std::int32_t> pos(4 * n);
    for (std::size_t i = 0; i < group_order.size(); ++i) {
      const std::size_t g = group_order[i], Y = g / pw, X = g % pw;
      for (std::size_t dy = 0; dy < 2; ++dy)
        for (std::size_t dx = 0; dx < 2; ++dx) {
          const std::size_t t = i * 4 + dy * 2 + dx, r = 2 * Y + dy, c = 2 * X + dx;
          std::copy_n(&patches[(r * gx + c) * e], e, &x[t * e]);
          pos[t] = static_cast<std::int32_t>(r);
          pos[n + t] = static_cast<std::int32_t>(c);
          pos[2 * n + t] = static_cast<std::int32_t>(r);
          pos[3 * n + t] = static_cast<std::int32_t>(c);
        }
    }
    const matrix_view<float> xv(x.data(), n, e);
    if (!base.vit.pre_ln_w.empty())
      vit_apply_norm(p, base.vit.norm, base.vit.eps, xv, xv, base.vit.pre_ln_w, base.vit.pre_ln_b);
    const std::size_t dh = base.vit.d_head();
    compute::rope_params rp;
    rp.n_dims = dh / 2;
    rp.mode = compute::rope_mode::vision;
    rp.freq_base = 10000.0f;
    rp.n_ctx_orig = 32768;
    const auto q4 = static_cast<std::int32_t>(dh / 4);
    rp.sections = {q4, q4, q4, q4};
    auto rope = [&](auto& pol, matrix_view<float> q, matrix_view<float> k, std::size_t) -> result<void> {
      pol.rope(q, q, dh, pos, rp);
      pol.rope(k, k, dh, pos, rp);
      return ok();
    };
    const int wa = n_wa_pattern;
    auto segments = [&](std::size_t il) -> std::span<const std::size_t> {
      if (!Windowed || (static_cast<int>(il) + 1) % wa == 0) return {};
      return seg_ends;
    };
    MMLLM_TRY(vit_forward(
        p, base.vit, x, n, base.vit.layers.size(), rope, segments,
        [](std::size_t, matrix_view<const float>) {}, opt));
    if (!base.vit.post_ln_w.empty())
      vit_apply_norm(p, base.vit.norm, base.vit.eps, xv, xv, base.vit.post_ln_w, base.vit.post_ln_b);
    // merger: 4 consecutive tokens → one row of 4·e features
    const std::size_t h = mm0.rows;
    std::vector<float> hid(nt * h), res(nt * n_embd_out());
    const matrix_view<float> hv(hid.data(), nt, h);
    MMLLM_TRY(detail::linear(p, matrix_view<const float>(x.data(), nt, 4 * e), mm0, mm0_b, hv));
    detail::activate(p, ffn_activation::gelu, hv, hv, opt);
    const matrix_view<float> rv(res.data(), nt, n_embd_out());
    MMLLM_TRY(detail::linear(p, hv, mm1, mm1_b, rv));
    // back to row-major merged order
    for (std::size_t i = 0; i < nt; ++i)
      std::copy_n(&res[i * n_embd_out()], n_embd_out(), &out[group_order[i] * n_embd_out()]);
    return ok();
  }
};

using qwen2vl_projector = qwen2vl_family_projector<false>;
using qwen25vl_projector = qwen2vl_family_projector<true>;

}  // namespace mmllm::mm
