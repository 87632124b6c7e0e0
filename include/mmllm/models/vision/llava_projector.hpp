// mmllm/models/vision/llava_projector.hpp — projector type "mlp": LLaVA-1.5 / 1.6 (CLIP ViT +
// two-layer MLP), including the Yi-VL variant with layer norms ("mlp_norm": an "mlp" file that
// has mm.3.weight), as clip.cpp's build_llava computes it.
//
// Preprocessing: without `clip.vision.image_grid_pinpoints` the image is letterboxed to
// image_size² on the LLaVA background (122, 116, 104); with pinpoints (LLaVA-1.6 "anyres") it
// becomes an overview plus the slices of the best candidate resolution, all encoded one by
// one and concatenated into ONE media chunk (the peer's mtmd has no separators for them).
//
// Peer quirks reproduced here (llama.cpp 583cb834; see peer_quirk_* below):
//  - the class embedding is appended AFTER the patch tokens and the position rows are added
//    in that order (patch i gets row i, CLS gets row n);
//  - without clip.vision.feature_layer only block_count − 1 blocks run;
//  - the projector reads hidden-state rows 1..n: patch 0 is dropped and CLS is the last token;
//  - legacy files store fc1 as ffn_down (swapped back at load).
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <set>
#include <span>
#include <string_view>
#include <vector>

#include "../../media/image_resize.hpp"
#include "../../media/image_tiling.hpp"
#include "clip_vision.hpp"

namespace mmllm::mm {

/// LLaVA's "mlp" projector (and Yi-VL's mlp_norm form).
struct llava_projector {
  static constexpr std::string_view name = "mlp";

  clip_vision base;
  any_matrix_view mm0, mm2, mm3;
  std::span<const float> mm0_b, mm2_b, mm1_w, mm1_b, mm3_b, mm4_w, mm4_b;
  bool norm_variant = false;  ///< Yi-VL: mm.0 → LN(mm.1) → GELU → mm.3 → LN(mm.4)
  std::set<int> feature_layers;
  std::size_t n_run = 0;  ///< blocks that run

  static result<llava_projector> load(const std::shared_ptr<mmproj_file>& f, const clip_hparams& hp,
                                      const vision_load_options&) {
    llava_projector m;
    MMLLM_TRY_ASSIGN(m.base, load_clip_vision(f, hp, norm_kind::layer, /*ffn_swap=*/true));
    MMLLM_TRY_ASSIGN(m.mm0, f->matrix("mm.0.weight"));
    MMLLM_TRY_ASSIGN(m.mm0_b, f->optional_vector("mm.0.bias"));
    MMLLM_TRY_ASSIGN(m.mm2, f->optional_matrix("mm.2.weight"));
    MMLLM_TRY_ASSIGN(m.mm2_b, f->optional_vector("mm.2.bias"));
    m.norm_variant = f->contains("mm.3.weight");
    if (m.norm_variant) {
      MMLLM_TRY_ASSIGN(m.mm1_w, f->vector("mm.1.weight"));
      MMLLM_TRY_ASSIGN(m.mm1_b, f->vector("mm.1.bias"));
      MMLLM_TRY_ASSIGN(m.mm3, f->matrix("mm.3.weight"));
      MMLLM_TRY_ASSIGN(m.mm3_b, f->vector("mm.3.bias"));
      MMLLM_TRY_ASSIGN(m.mm4_w, f->vector("mm.4.weight"));
      MMLLM_TRY_ASSIGN(m.mm4_b, f->vector("mm.4.bias"));
    } else if (m.mm2.data == nullptr) {
      // mm.2 absent: one linear layer then GELU (the peer tolerates it)
    }
    m.feature_layers.insert(hp.feature_layers.begin(), hp.feature_layers.end());
    m.n_run = peer_quirk_blocks_run(hp, m.feature_layers);
    if (m.n_run > m.base.vit.layers.size())
      return make_error(errc::malformed, "mmproj: feature layer ", std::to_string(m.n_run),
                        " beyond block_count");
    const std::size_t feat = m.feature_width();
    if (m.mm0.cols != feat)
      return make_error(errc::malformed, "mmproj: mm.0 takes ", std::to_string(m.mm0.cols),
                        " features, the encoder gives ", std::to_string(feat));
    if (m.norm_variant &&
        (m.mm1_w.size() != m.mm0.rows || m.mm3.cols != m.mm0.rows || m.mm4_w.size() != m.mm3.rows))
      return make_error(errc::malformed, "mmproj: inconsistent mlp_norm projector");
    if (!m.norm_variant && m.mm2.data != nullptr && m.mm2.cols != m.mm0.rows)
      return make_error(errc::malformed, "mmproj: mm.2 does not follow mm.0");
    if (hp.image_size <= 0) return make_error(errc::malformed, "mmproj: image_size must be positive");
    return m;
  }

  /// Peer quirk (clip.cpp build_llava): without feature layers only block_count − 1 blocks
  /// run (the legacy converter already dropped the last layer, the peer drops another);
  /// with feature layers, blocks up to the deepest one run.
  static std::size_t peer_quirk_blocks_run(const clip_hparams& hp, const std::set<int>& feature_layers) {
    if (feature_layers.empty()) return static_cast<std::size_t>(std::max(0, hp.n_layer - 1));
    return static_cast<std::size_t>(std::max(0, *feature_layers.rbegin()));
  }

  /// Features per token the projector reads (several feature layers are concatenated).
  [[nodiscard]] std::size_t feature_width() const noexcept {
    const std::size_t taps = feature_layers.empty() ? 1 : feature_layers.size();
    return taps * base.n_embd();
  }

  [[nodiscard]] std::size_t n_embd_out() const noexcept {
    if (norm_variant) return mm3.rows;
    return mm2.data != nullptr ? mm2.rows : mm0.rows;
  }

  [[nodiscard]] result<vision_input> preprocess(const media::image_u8& img) const {
    // LLaVA-1.5: letterbox on the mean colour (the peer's pad_to_square)
    if (base.hp.image_res_candidates.empty()) return letterboxed_input(base, img, media::rgb8{122, 116, 104});
    vision_input in;
    const int s = base.hp.image_size;
    std::vector<media::image_size> cands;
    for (const size2& c : base.hp.image_res_candidates) cands.push_back({c.width, c.height});
    const media::slice_plan plan = media::pinpoint_plan({img.width, img.height}, s, cands);
    MMLLM_TRY_ASSIGN(const std::vector<media::image_u8> parts, media::slice_image(img, plan));
    for (const auto& part : parts) {
      MMLLM_TRY_ASSIGN(auto f, normalize_for(base, part));
      in.entries.push_back(std::move(f));
    }
    in.grid_x = plan.grid.width;
    in.grid_y = plan.grid.height;
    return in;
  }

  [[nodiscard]] std::size_t n_tokens(const media::image_f32& e) const noexcept {
    return static_cast<std::size_t>(e.width / base.patch()) *
           static_cast<std::size_t>(e.height / base.patch());
  }
  [[nodiscard]] size2 token_grid(const media::image_f32& e) const noexcept {
    return {static_cast<int>(n_tokens(e)), 1};
  }
  /// All entries form one chunk, no wrapper text.
  [[nodiscard]] media_layout layout(const vision_input& in) const {
    return {layout_step::media_step(0, in.entries.size())};
  }

  template <compute::compute_policy P>
  result<void> encode(P& p, const media::image_f32& img, std::span<float> out,
                      const encode_options& opt) const {
    MMLLM_TRY(check_entry(img, base.patch()));
    MMLLM_TRY(check_output(out, n_tokens(img), n_embd_out()));
    std::size_t gx = 0, gy = 0;
    MMLLM_TRY_ASSIGN(std::vector<float> x, patch_embed(p, base, img, gx, gy));
    if (gx != gy) return make_error(errc::invalid_argument, "llava: only square images are supported");
    const std::size_t e = base.n_embd(), n_patches = gx * gy;
    // peer quirk: CLS appended after the patches
    std::size_t n_pos = n_patches;
    if (!base.class_embd.empty()) {
      x.insert(x.end(), base.class_embd.begin(), base.class_embd.end());
      ++n_pos;
    }
    MMLLM_TRY(add_position_rows(p, base, base.pos_embd, x, n_pos));
    const matrix_view<float> xv(x.data(), n_pos, e);
    if (!base.vit.pre_ln_w.empty())
      vit_apply_norm(p, norm_kind::layer, base.vit.eps, xv, xv, base.vit.pre_ln_w, base.vit.pre_ln_b);
    std::vector<std::vector<float>> stack;
    auto tap = [&](std::size_t il, matrix_view<const float> cur) {
      if (feature_layers.count(static_cast<int>(il)) != 0)
        stack.emplace_back(cur.data(), cur.data() + n_pos * e);
    };
    MMLLM_TRY(vit_forward(
        p, base.vit, x, n_pos, n_run, no_rope{}, [](std::size_t) { return std::span<const std::size_t>{}; },
        tap, opt));
    if (!base.vit.post_ln_w.empty())
      vit_apply_norm(p, norm_kind::layer, base.vit.eps, xv, xv, base.vit.post_ln_w, base.vit.post_ln_b);
    if (feature_layers.count(static_cast<int>(n_run)) != 0) stack.push_back(x);
    // the projector input: rows patch_offset .. patch_offset + n_patches (peer quirk)
    const std::size_t off = base.class_embd.empty() ? 0 : 1;
    const std::size_t feat = feature_width();
    std::vector<float> sel(n_patches * feat);
    for (std::size_t t = 0; t < n_patches; ++t) {
      if (stack.empty()) {
        std::copy_n(&x[(t + off) * e], e, &sel[t * feat]);
      } else {
        for (std::size_t s = 0; s < stack.size(); ++s)
          std::copy_n(&stack[s][(t + off) * e], e, &sel[t * feat + s * e]);
      }
    }
    if (!stack.empty() && stack.size() * e != feat)
      return make_error(errc::internal, "llava: feature layers were not all captured");
    const matrix_view<const float> sv(sel.data(), n_patches, feat);
    const std::size_t h = mm0.rows;
    std::vector<float> hid(n_patches * h);
    const matrix_view<float> hv(hid.data(), n_patches, h);
    MMLLM_TRY(detail::linear(p, sv, mm0, mm0_b, hv));
    const matrix_view<float> ov(out.data(), n_patches, n_embd_out());
    if (norm_variant) {
      p.layernorm(hv, hv, base.vit.eps, mm1_w, mm1_b);
      detail::activate(p, ffn_activation::gelu, hv, hv, opt);
      MMLLM_TRY(detail::linear(p, hv, mm3, mm3_b, ov));
      p.layernorm(ov, ov, base.vit.eps, mm4_w, mm4_b);
      return ok();
    }
    detail::activate(p, ffn_activation::gelu, hv, hv, opt);
    if (mm2.data == nullptr) {
      std::copy(hid.begin(), hid.end(), out.begin());
      return ok();
    }
    return detail::linear(p, hv, mm2, mm2_b, ov);
  }
};

}  // namespace mmllm::mm
