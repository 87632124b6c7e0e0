// mmllm/models/vision/internvl_projector.hpp — projector type "internvl" (InternVL 2.5 / 3),
// clip.cpp's build_internvl.
//
// Preprocessing: letterbox (black) to image_size² (the peer has no dynamic tiling for it).
// ViT: patch embedding (+ bias), class embedding appended AFTER the patches and position rows
// 0..n added in that order (the same peer quirk as LLaVA), LayerNorm (RMSNorm for the 6B ViT:
// n_embd 3200 with 45 blocks), layer scales ls1 / ls2, optional per-row q/k norms; the class
// token is then dropped, the patch grid pixel-shuffled by clip.vision.projector.scale_factor
// (features concat over dy of concat over dx), and projected: LayerNorm(eps 1e-5) with
// mm.model.mlp.0 → mm.model.mlp.1 (+b) → GELU → mm.model.mlp.3 (+b). Wrapper: "<img>" … "</img>".
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "../../media/image_resize.hpp"
#include "clip_vision.hpp"

namespace mmllm::mm {

struct internvl_projector {
  static constexpr std::string_view name = "internvl";

  clip_vision base;
  std::span<const float> ln_w, ln_b, mm1_b, mm3_b;
  any_matrix_view mm1, mm3;
  int scale = 0;

  /// Peer quirk (clip.cpp build_internvl): the 6B ViT is recognised by its shape alone.
  static norm_kind peer_quirk_norm(const clip_hparams& hp) noexcept {
    return hp.n_embd == 3200 && hp.n_layer == 45 ? norm_kind::rms : norm_kind::layer;
  }

  static result<internvl_projector> load(const std::shared_ptr<mmproj_file>& f, const clip_hparams& hp,
                                         const vision_load_options&) {
    internvl_projector m;
    MMLLM_TRY_ASSIGN(m.base, load_clip_vision(f, hp, peer_quirk_norm(hp), /*ffn_swap=*/false));
    if (m.base.class_embd.empty() || m.base.pos_embd.empty())
      return make_error(errc::malformed, "mmproj: internvl needs v.class_embd and v.position_embd");
    MMLLM_TRY_ASSIGN(m.ln_w, f->vector("mm.model.mlp.0.weight"));
    MMLLM_TRY_ASSIGN(m.ln_b, f->vector("mm.model.mlp.0.bias"));
    MMLLM_TRY_ASSIGN(m.mm1, f->matrix("mm.model.mlp.1.weight"));
    MMLLM_TRY_ASSIGN(m.mm1_b, f->vector("mm.model.mlp.1.bias"));
    MMLLM_TRY_ASSIGN(m.mm3, f->matrix("mm.model.mlp.3.weight"));
    MMLLM_TRY_ASSIGN(m.mm3_b, f->vector("mm.model.mlp.3.bias"));
    m.scale = hp.scale_factor.value_or(0);
    if (m.scale < 1)
      return make_error(errc::malformed, "mmproj: internvl needs clip.vision.projector.scale_factor");
    const std::size_t feat = m.base.n_embd() * static_cast<std::size_t>(m.scale * m.scale);
    if (m.ln_w.size() != feat || m.mm1.cols != feat || m.mm3.cols != m.mm1.rows ||
        m.mm1_b.size() != m.mm1.rows || m.mm3_b.size() != m.mm3.rows)
      return make_error(errc::malformed, "mmproj: inconsistent internvl projector");
    if (hp.image_size <= 0) return make_error(errc::malformed, "mmproj: image_size must be positive");
    return m;
  }

  [[nodiscard]] std::size_t n_embd_out() const noexcept { return mm3.rows; }

  [[nodiscard]] result<vision_input> preprocess(const media::image_u8& img) const {
    return letterboxed_input(base, img, media::rgb8{0, 0, 0});
  }

  [[nodiscard]] std::size_t n_tokens(const media::image_f32& e) const noexcept {
    const std::size_t n =
        static_cast<std::size_t>(e.width / base.patch()) * static_cast<std::size_t>(e.height / base.patch());
    return n / static_cast<std::size_t>(scale * scale);
  }
  [[nodiscard]] size2 token_grid(const media::image_f32& e) const noexcept {
    return {static_cast<int>(n_tokens(e)), 1};
  }
  [[nodiscard]] media_layout layout(const vision_input& in) const {
    return {layout_step::text_step("<img>"), layout_step::media_step(0, in.entries.size()),
            layout_step::text_step("</img>")};
  }

  template <compute::compute_policy P>
  result<void> encode(P& p, const media::image_f32& img, std::span<float> out,
                      const encode_options& opt) const {
    MMLLM_TRY(check_entry(img, base.patch()));
    MMLLM_TRY(check_output(out, n_tokens(img), n_embd_out()));
    std::size_t gx = 0, gy = 0;
    MMLLM_TRY_ASSIGN(std::vector<float> x, patch_embed(p, base, img, gx, gy));
    if (gx != gy) return make_error(errc::invalid_argument, "internvl: the patch grid must be square");
    const std::size_t e = base.n_embd(), n = gx * gy, n_pos = n + 1;
    x.insert(x.end(), base.class_embd.begin(), base.class_embd.end());  // peer quirk: CLS last
    if (base.pos_embd.size() != n_pos * e)
      return make_error(errc::invalid_argument, "internvl: ", std::to_string(n_pos), " tokens but ",
                        std::to_string(base.pos_embd.size() / e), " position embeddings");
    MMLLM_TRY(add_position_rows(p, base, base.pos_embd, x, n_pos));
    const matrix_view<float> xv(x.data(), n_pos, e);
    if (!base.vit.pre_ln_w.empty())
      vit_apply_norm(p, base.vit.norm, base.vit.eps, xv, xv, base.vit.pre_ln_w, base.vit.pre_ln_b);
    MMLLM_TRY(vit_forward(p, base.vit, x, n_pos, base.vit.layers.size(), no_rope{}, opt));
    if (!base.vit.post_ln_w.empty())
      vit_apply_norm(p, base.vit.norm, base.vit.eps, xv, xv, base.vit.post_ln_w, base.vit.post_ln_b);
    // drop CLS (the last row), pixel shuffle
    const auto s = static_cast<std::size_t>(scale);
    std::vector<float> sh = pixel_shuffle(std::span<const float>(x.data(), n * e), e, gx, gy, s);
    const std::size_t nt = n_tokens(img), feat = e * s * s;
    if (sh.size() != nt * feat)
      return make_error(errc::invalid_argument, "internvl: grid not a multiple of the scale factor");
    const matrix_view<float> sv(sh.data(), nt, feat);
    p.layernorm(sv, sv, 1e-5f, ln_w, ln_b);  // PyTorch's default LayerNorm eps
    std::vector<float> hid(nt * mm1.rows);
    const matrix_view<float> hv(hid.data(), nt, mm1.rows);
    MMLLM_TRY(detail::linear(p, sv, mm1, mm1_b, hv));
    detail::activate(p, ffn_activation::gelu, hv, hv, opt);
    return detail::linear(p, hv, mm3, mm3_b, matrix_view<float>(out.data(), nt, n_embd_out()));
  }
};

}  // namespace mmllm::mm
