// mmllm/models/vision/idefics3_projector.hpp — projector type "idefics3" (SmolVLM / Idefics3):
// SigLIP ViT, pixel shuffle by clip.vision.projector.scale_factor, one linear layer
// (mm.model.fc.weight, no bias).
//
// Preprocessing (media::idefics3_tiles): the image is bicubic-stretched to multiples of the
// tile size S = image_size after scaling its longest side to preproc_image_size, cut into S×S
// tiles row-major, plus a black-letterboxed S×S overview; each tile and the overview is its
// own media chunk. Layout (mtmd's idefics3 slice template): for every tile (row r, column c,
// 1-based) the text "<fake_token_around_image><row_r_col_c>" then the tile; after every tile
// row but the last the token whose piece is "\n"; then the tokens "\n\n",
// "<fake_token_around_image>", "<global-img>", the overview, "<fake_token_around_image>".
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../../media/image_tiling.hpp"
#include "clip_vision.hpp"

namespace mmllm::mm {

struct idefics3_projector {
  static constexpr std::string_view name = "idefics3";

  clip_vision base;
  any_matrix_view fc;  ///< [n_embd_text][n_embd·s²]
  int scale = 0;       ///< pixel-shuffle factor s
  int longest_edge = 0;

  static result<idefics3_projector> load(const std::shared_ptr<mmproj_file>& f, const clip_hparams& hp,
                                         const vision_load_options&) {
    idefics3_projector m;
    MMLLM_TRY_ASSIGN(m.base, load_clip_vision(f, hp, norm_kind::layer, /*ffn_swap=*/true));
    MMLLM_TRY_ASSIGN(m.fc, f->matrix("mm.model.fc.weight"));
    m.scale = hp.scale_factor.value_or(0);
    m.longest_edge = hp.preproc_image_size.value_or(0);
    if (m.scale < 2)
      return make_error(errc::malformed, "mmproj: idefics3 needs clip.vision.projector.scale_factor >= 2");
    if (m.longest_edge <= 0)
      return make_error(errc::malformed, "mmproj: idefics3 needs clip.vision.preproc_image_size");
    if (hp.image_size <= 0) return make_error(errc::malformed, "mmproj: image_size must be positive");
    const auto s2 = static_cast<std::size_t>(m.scale) * static_cast<std::size_t>(m.scale);
    if (m.fc.cols != m.base.n_embd() * s2)
      return make_error(errc::malformed, "mmproj: mm.model.fc has the wrong width");
    return m;
  }

  [[nodiscard]] std::size_t n_embd_out() const noexcept { return fc.rows; }

  [[nodiscard]] result<vision_input> preprocess(const media::image_u8& img) const {
    MMLLM_TRY_ASSIGN(const media::tiled_image t,
                     media::idefics3_tiles(img, base.hp.image_size, longest_edge));
    vision_input in;
    for (const media::image_u8* part : t.peer_order()) {
      MMLLM_TRY_ASSIGN(auto f, normalize_for(base, *part));
      in.entries.push_back(std::move(f));
    }
    in.grid_x = t.grid_x;
    in.grid_y = t.grid_y;
    return in;
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
    media_layout l;
    const auto gx = static_cast<std::size_t>(in.grid_x), gy = static_cast<std::size_t>(in.grid_y);
    for (std::size_t r = 0; r < gy; ++r) {
      for (std::size_t c = 0; c < gx; ++c) {
        l.push_back(layout_step::text_step("<fake_token_around_image><row_" + std::to_string(r + 1) +
                                           "_col_" + std::to_string(c + 1) + ">"));
        const std::size_t i = r * gx + c;
        l.push_back(layout_step::media_step(i, i + 1));
      }
      if (r + 1 != gy) l.push_back(layout_step::pieces_step({"\n"}));
    }
    l.push_back(layout_step::pieces_step({"\n\n", "<fake_token_around_image>", "<global-img>"}));
    const std::size_t ov = gx * gy;
    l.push_back(layout_step::media_step(ov, ov + 1));
    l.push_back(layout_step::pieces_step({"<fake_token_around_image>"}));
    return l;
  }

  template <compute::compute_policy P>
  result<void> encode(P& p, const media::image_f32& img, std::span<float> out,
                      const encode_options& opt) const {
    MMLLM_TRY(check_entry(img, base.patch()));
    const std::size_t nt = n_tokens(img);
    MMLLM_TRY(check_output(out, nt, n_embd_out()));
    std::size_t gx = 0, gy = 0;
    MMLLM_TRY_ASSIGN(const std::vector<float> x, learned_pos_body(p, base, img, base.pos_embd, gx, gy, opt));
    const auto s = static_cast<std::size_t>(scale);
    const std::vector<float> shuffled = pixel_shuffle(x, base.n_embd(), gx, gy, s);
    const std::size_t rows = shuffled.size() / (base.n_embd() * s * s);
    if (rows != nt)
      return make_error(errc::invalid_argument,
                        "idefics3: the patch grid is not a multiple of the scale factor");
    return p.matmul(matrix_view<const float>(shuffled.data(), rows, base.n_embd() * s * s), fc,
                    matrix_view<float>(out.data(), rows, n_embd_out()));
  }
};

}  // namespace mmllm::mm
