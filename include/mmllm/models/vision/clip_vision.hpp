// mmllm/models/vision/clip_vision.hpp — what every vision projector of an mmproj file shares:
// the preprocessed input type, the patch embedding, learned position / class embeddings and
// the ViT stack's weights, loaded with the peer's names and rules.
//
// A vision projector type (see vision_encoder.hpp for the list) holds a `clip_vision` and adds
// its own head. Encoder inputs are `media::image_f32` in the peer's HWC layout (exactly the
// fixtures' `preproc_*` arrays); `patch_embed` turns one into [n_patches][n_embd] tokens,
// row-major over the patch grid, with one or two conv kernels (Qwen2-VL's split Conv3D) and
// the optional bias.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "../../compute/compute_policy.hpp"
#include "../../core/result.hpp"
#include "../../media/image.hpp"
#include "../../media/image_normalize.hpp"
#include "../../media/image_resize.hpp"
#include "../encoder_kernels.hpp"
#include "../media_layout.hpp"
#include "../mmproj.hpp"
#include "../vit_encoder.hpp"

namespace mmllm::mm {

/// One image after preprocessing: the encoder entries in the peer's order (tiles, slices or
/// a single image) and, for tiled models, the tile grid.
struct vision_input {
  std::vector<media::image_f32> entries;  ///< HWC, normalized
  int grid_x = 0, grid_y = 0;             ///< tiles per row / rows (0 when not tiled)
};

/// User overrides at load time (llama.cpp's --image-min-tokens / --image-max-tokens).
struct vision_load_options {
  int image_min_tokens = -1;
  int image_max_tokens = -1;
};

/// The shared part of a vision encoder.
struct clip_vision {
  std::shared_ptr<mmproj_file> file;
  clip_hparams hp;
  any_matrix_view patch_w0, patch_w1;  ///< [n_embd][3·p·p] each; w1 only for Qwen2-VL
  std::span<const float> patch_b;
  std::span<const float> pos_embd;    ///< [n_pos][n_embd] (empty when absent)
  std::span<const float> class_embd;  ///< [n_embd] (empty when absent)
  vit_weights vit;

  [[nodiscard]] std::size_t n_embd() const noexcept { return static_cast<std::size_t>(hp.n_embd); }
  [[nodiscard]] int patch() const noexcept { return hp.patch_size; }
};

/// Loads the shared part. `ffn_swap` enables the peer's legacy up/down swap check.
inline result<clip_vision> load_clip_vision(const std::shared_ptr<mmproj_file>& file, const clip_hparams& hp,
                                            norm_kind norm, bool ffn_swap) {
  clip_vision v;
  v.file = file;
  v.hp = hp;
  mmproj_file& f = *file;
  const std::size_t e = static_cast<std::size_t>(hp.n_embd);
  const std::size_t pp =
      3 * static_cast<std::size_t>(hp.patch_size) * static_cast<std::size_t>(hp.patch_size);
  auto patch = [&](const char* name, any_matrix_view& out) -> result<void> {
    if (!f.contains(name)) return ok();
    MMLLM_TRY_ASSIGN(const gguf_tensor_info* t, f.info(name));
    if (t->ne[0] != static_cast<std::uint64_t>(hp.patch_size) ||
        t->ne[1] != static_cast<std::uint64_t>(hp.patch_size) || t->ne[2] != 3 || t->ne[3] != e)
      return make_error(errc::malformed, "mmproj: '", name, "' is not [p, p, 3, n_embd]");
    if (t->type != dtype::f32 && t->type != dtype::f16 && t->type != dtype::bf16)
      return make_error(errc::unsupported, "mmproj: '", name, "' must be f32, f16 or bf16");
    out = any_matrix_view::dense(t->type, f.reader().tensor_data(*t).data(), e, pp);
    return ok();
  };
  MMLLM_TRY(patch("v.patch_embd.weight", v.patch_w0));
  MMLLM_TRY(patch("v.patch_embd.weight.1", v.patch_w1));
  MMLLM_TRY_ASSIGN(v.patch_b, f.optional_vector("v.patch_embd.bias"));
  MMLLM_TRY_ASSIGN(v.pos_embd, f.optional_vector("v.position_embd.weight"));
  MMLLM_TRY_ASSIGN(v.class_embd, f.optional_vector("v.class_embd"));
  if (!v.patch_b.empty() && v.patch_b.size() != e)
    return make_error(errc::malformed, "mmproj: bad patch bias");
  if (!v.class_embd.empty() && v.class_embd.size() != e)
    return make_error(errc::malformed, "mmproj: bad class_embd");
  if (v.pos_embd.size() % e != 0) return make_error(errc::malformed, "mmproj: bad position_embd");
  MMLLM_TRY_ASSIGN(
      v.vit, load_vit_weights(f, hp, "v", {.norm = norm, .act = hp.ffn, .peer_quirk_ffn_swap = ffn_swap}));
  return v;
}

/// Normalizes an 8-bit image with the encoder's mean / std into the peer's HWC buffer.
inline result<media::image_f32> normalize_for(const clip_vision& v, const media::image_u8& img) {
  return media::normalize(img, v.hp.image_mean, v.hp.image_std, media::pixel_layout::hwc);
}

/// The whole image as one entry: letterboxed to image_size² on `pad`, then normalized.
inline result<vision_input> letterboxed_input(const clip_vision& v, const media::image_u8& img,
                                              media::rgb8 pad) {
  const int s = v.hp.image_size;
  MMLLM_TRY_ASSIGN(const media::image_u8 r, media::letterbox(img, s, s, pad));
  vision_input in;
  MMLLM_TRY_ASSIGN(auto f, normalize_for(v, r));
  in.entries.push_back(std::move(f));
  return in;
}

/// Patch embedding: [gy·gx][n_embd] tokens, row-major over the patch grid (gx × gy).
template <compute::compute_policy P>
result<std::vector<float>> patch_embed(P& p, const clip_vision& v, const media::image_f32& img,
                                       std::size_t& gx, std::size_t& gy) {
  if (v.patch_w0.data == nullptr) return make_error(errc::malformed, "mmproj: missing v.patch_embd.weight");
  MMLLM_TRY_ASSIGN(const media::image_patches patches, media::patchify(img, v.patch()));
  gx = static_cast<std::size_t>(patches.grid_x);
  gy = static_cast<std::size_t>(patches.grid_y);
  const std::size_t n = patches.count(), e = v.n_embd();
  std::vector<float> out(n * e);
  const matrix_view<const float> x(patches.data.data(), n, patches.dim());
  MMLLM_TRY(p.matmul(x, v.patch_w0, matrix_view<float>(out.data(), n, e)));
  if (v.patch_w1.data != nullptr) {
    std::vector<float> second(n * e);
    MMLLM_TRY(p.matmul(x, v.patch_w1, matrix_view<float>(second.data(), n, e)));
    p.add(matrix_view<const float>(out.data(), n, e), matrix_view<const float>(second.data(), n, e),
          matrix_view<float>(out.data(), n, e));
  }
  if (!v.patch_b.empty())
    p.add(matrix_view<const float>(out.data(), n, e), detail::row_vector(v.patch_b),
          matrix_view<float>(out.data(), n, e));
  return out;
}

/// Adds rows [0, n) of the learned position embedding to x ([n][n_embd]).
template <compute::compute_policy P>
result<void> add_position_rows(P& p, const clip_vision& v, std::span<const float> pos, std::span<float> x,
                               std::size_t n) {
  const std::size_t e = v.n_embd();
  if (pos.size() < n * e)
    return make_error(errc::invalid_argument, "vision: the position embedding has ",
                      std::to_string(pos.size() / e), " rows, ", std::to_string(n), " needed");
  p.add(matrix_view<const float>(x.data(), n, e), matrix_view<const float>(pos.data(), n, e),
        matrix_view<float>(x.data(), n, e));
  return ok();
}

/// The body of clip.cpp's build_vit with learned positions (SigLIP family): patch embedding
/// (+ bias) + `pos` (exactly one row per patch; the peer's ggml_add cannot broadcast other
/// counts), pre-norm if present, all blocks, post-norm if present. Returns [gy·gx][n_embd].
template <compute::compute_policy P>
result<std::vector<float>> learned_pos_body(P& p, const clip_vision& v, const media::image_f32& img,
                                            std::span<const float> pos, std::size_t& gx, std::size_t& gy,
                                            const encode_options& opt) {
  MMLLM_TRY_ASSIGN(std::vector<float> x, patch_embed(p, v, img, gx, gy));
  const std::size_t n = gx * gy, e = v.n_embd();
  if (!pos.empty()) {
    if (pos.size() != n * e)
      return make_error(errc::invalid_argument, "vision: ", std::to_string(n), " patches but ",
                        std::to_string(pos.size() / e), " position embeddings");
    MMLLM_TRY(add_position_rows(p, v, pos, x, n));
  }
  const matrix_view<float> xv(x.data(), n, e);
  if (!v.vit.pre_ln_w.empty())
    vit_apply_norm(p, v.vit.norm, v.vit.eps, xv, xv, v.vit.pre_ln_w, v.vit.pre_ln_b);
  MMLLM_TRY(vit_forward(p, v.vit, x, n, v.vit.layers.size(), no_rope{}, opt));
  if (!v.vit.post_ln_w.empty())
    vit_apply_norm(p, v.vit.norm, v.vit.eps, xv, xv, v.vit.post_ln_w, v.vit.post_ln_b);
  return x;
}

/// An entry whose pixels are already normalized, as the peer's clip_image_f32 (HWC).
inline result<void> check_entry(const media::image_f32& img, int patch) {
  if (img.layout != media::pixel_layout::hwc || img.width <= 0 || img.height <= 0 ||
      img.data.size() != static_cast<std::size_t>(img.width) * static_cast<std::size_t>(img.height) * 3)
    return make_error(errc::invalid_argument, "vision: encoder input must be an HWC float image");
  if (img.width % patch != 0 || img.height % patch != 0)
    return make_error(errc::invalid_argument, "vision: image ", std::to_string(img.width), "x",
                      std::to_string(img.height), " is not a multiple of the patch size ",
                      std::to_string(patch));
  return ok();
}

/// Output of an encoder into `out` (n_tokens × n_embd_out floats); checks the size.
inline result<void> check_output(std::span<float> out, std::size_t n_tokens, std::size_t n_embd) {
  if (out.size() != n_tokens * n_embd)
    return make_error(errc::invalid_argument, "encoder: output buffer holds ", std::to_string(out.size()),
                      " floats, ", std::to_string(n_tokens * n_embd), " needed");
  return ok();
}

}  // namespace mmllm::mm
