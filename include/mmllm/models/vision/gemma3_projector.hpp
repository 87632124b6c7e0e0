// mmllm/models/vision/gemma3_projector.hpp — projector type "gemma3": SigLIP ViT, k×k average
// pool over the patch grid (k = clip.vision.projector.scale_factor, 4 when absent), RMSNorm ×
// mm.soft_emb_norm (the "+1" folded in by the converter), then x·W with
// W = mm.input_projection.weight (stored [n_embd_v, n_embd_text] in ggml order and transposed
// by the peer before the product; kept in its dtype, so f16 weights round the activations).
//
// Preprocessing: letterbox to image_size² with BLACK padding (the peer's img_tool::resize
// default; HF stretches instead). Wrapper: "<start_of_image>" … "<end_of_image>". The language
// model attends bidirectionally inside the image (non-causal decode).
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "../../media/image_resize.hpp"
#include "clip_vision.hpp"

namespace mmllm::mm {

struct gemma3_projector {
  static constexpr std::string_view name = "gemma3";
  static constexpr bool non_causal_decode = true;

  clip_vision base;
  std::span<const float> soft_emb_norm;
  any_matrix_view proj;  ///< transposed copy: [n_embd_text][n_embd_v]
  int pool = 4;

  static result<gemma3_projector> load(const std::shared_ptr<mmproj_file>& f, const clip_hparams& hp,
                                       const vision_load_options&) {
    gemma3_projector m;
    MMLLM_TRY_ASSIGN(m.base, load_clip_vision(f, hp, norm_kind::layer, /*ffn_swap=*/true));
    MMLLM_TRY_ASSIGN(m.soft_emb_norm, f->vector("mm.soft_emb_norm.weight"));
    m.pool = hp.scale_factor.value_or(4);  // peer: 4 for every Gemma 3 size unless the key says otherwise
    if (m.pool < 1) return make_error(errc::malformed, "mmproj: gemma3 pool factor must be positive");
    MMLLM_TRY_ASSIGN(const gguf_tensor_info* t, f->info("mm.input_projection.weight"));
    const std::size_t n_text = t->ne[0], n_v = t->ne[1];
    if (n_v != m.base.n_embd() || t->n_elements() != n_text * n_v)
      return make_error(errc::malformed, "mmproj: mm.input_projection.weight is not [n_embd_text, n_embd]");
    if (m.soft_emb_norm.size() != n_v)
      return make_error(errc::malformed, "mmproj: bad mm.soft_emb_norm.weight");
    const std::size_t es = t->type == dtype::f32                               ? 4
                           : (t->type == dtype::f16 || t->type == dtype::bf16) ? 2
                                                                               : 0;
    if (es == 0)
      return make_error(errc::unsupported, "mmproj: mm.input_projection.weight must be f32/f16/bf16");
    const std::span<const std::byte> src = f->reader().tensor_data(*t);
    std::vector<std::byte> tr(src.size());
    for (std::size_t i = 0; i < n_v; ++i)
      for (std::size_t j = 0; j < n_text; ++j)
        std::memcpy(&tr[(j * n_v + i) * es], &src[(i * n_text + j) * es], es);
    const std::span<const std::byte> owned = f->own_bytes(std::move(tr));
    m.proj = any_matrix_view::dense(t->type, owned.data(), n_text, n_v);
    if (hp.image_size <= 0) return make_error(errc::malformed, "mmproj: image_size must be positive");
    return m;
  }

  [[nodiscard]] std::size_t n_embd_out() const noexcept { return proj.rows; }

  [[nodiscard]] result<vision_input> preprocess(const media::image_u8& img) const {
    return letterboxed_input(base, img, media::rgb8{0, 0, 0});
  }

  [[nodiscard]] std::size_t n_tokens(const media::image_f32& e) const noexcept {
    const std::size_t n =
        static_cast<std::size_t>(e.width / base.patch()) * static_cast<std::size_t>(e.height / base.patch());
    return n / static_cast<std::size_t>(pool * pool);
  }
  [[nodiscard]] size2 token_grid(const media::image_f32& e) const noexcept {
    return {static_cast<int>(n_tokens(e)), 1};
  }

  [[nodiscard]] media_layout layout(const vision_input& in) const {
    return {layout_step::text_step("<start_of_image>"), layout_step::media_step(0, in.entries.size()),
            layout_step::text_step("<end_of_image>")};
  }

  template <compute::compute_policy P>
  result<void> encode(P& p, const media::image_f32& img, std::span<float> out,
                      const encode_options& opt) const {
    MMLLM_TRY(check_entry(img, base.patch()));
    MMLLM_TRY(check_output(out, n_tokens(img), n_embd_out()));
    std::size_t gx = 0, gy = 0;
    MMLLM_TRY_ASSIGN(const std::vector<float> x, learned_pos_body(p, base, img, base.pos_embd, gx, gy, opt));
    if (gx != gy) return make_error(errc::invalid_argument, "gemma3: the patch grid must be square");
    const auto k = static_cast<std::size_t>(pool);
    std::vector<float> pooled = avg_pool_2d(x, base.n_embd(), gx, gy, k);
    const std::size_t n = pooled.size() / base.n_embd();
    if (n != n_tokens(img)) return make_error(errc::internal, "gemma3: pooled token count mismatch");
    const matrix_view<float> pv(pooled.data(), n, base.n_embd());
    p.rmsnorm(pv, pv, base.hp.eps, soft_emb_norm);
    return p.matmul(pv, proj, matrix_view<float>(out.data(), n, n_embd_out()));
  }
};

}  // namespace mmllm::mm
