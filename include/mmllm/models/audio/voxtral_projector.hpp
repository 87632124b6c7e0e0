// mmllm/models/audio/voxtral_projector.hpp — projector type "voxtral" (Voxtral): whisper encoder
// with pairs of frames average-pooled before a.post_ln (clip.cpp audio_has_avgpool), frames
// stacked by clip.audio.projector.stack_factor (the peer's GGML_PAD bit mask, as for
// ultravox), mm.a.mlp.1 (no bias) → GELU(erf) → mm.a.mlp.2 (no bias). No wrapper text.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "whisper_encoder.hpp"

namespace mmllm::mm {

struct voxtral_projector {
  static constexpr std::string_view name = "voxtral";

  whisper_encoder enc;
  any_matrix_view mlp1, mlp2;
  std::size_t stack = 0;

  static result<voxtral_projector> load(const std::shared_ptr<mmproj_file>& f, const clip_hparams& hp) {
    voxtral_projector m;
    MMLLM_TRY_ASSIGN(m.enc, whisper_encoder::load(f, hp));
    if (!hp.stack_factor || *hp.stack_factor <= 0)
      return make_error(errc::malformed, "mmproj: voxtral needs clip.audio.projector.stack_factor");
    m.stack = static_cast<std::size_t>(*hp.stack_factor);
    MMLLM_TRY_ASSIGN(m.mlp1, f->matrix("mm.a.mlp.1.weight"));
    MMLLM_TRY_ASSIGN(m.mlp2, f->matrix("mm.a.mlp.2.weight"));
    if (m.mlp1.cols != m.enc.n_embd() * m.stack || m.mlp2.cols != m.mlp1.rows)
      return make_error(errc::malformed, "mmproj: inconsistent voxtral projector");
    return m;
  }

  [[nodiscard]] std::size_t n_embd_out() const noexcept { return mlp2.rows; }
  /// clip_n_output_tokens: ceil(n / f), then /2 (conv stride), then /2 (pooling).
  [[nodiscard]] std::size_t n_tokens(const media::log_mel& m) const noexcept {
    const auto n = static_cast<std::size_t>(m.n_frames);
    return (n + stack - 1) / stack / 2 / 2;
  }
  [[nodiscard]] media_layout layout(const audio_input& in) const { return audio_layout(in, "", ""); }

  template <compute::compute_policy P>
  result<void> encode(P& p, const media::log_mel& mel, std::span<float> out,
                      const encode_options& opt) const {
    const std::size_t nt = n_tokens(mel), e = enc.n_embd();
    if (out.size() != nt * n_embd_out())
      return make_error(errc::invalid_argument, "voxtral: bad output size");
    std::size_t n = 0;
    MMLLM_TRY_ASSIGN(const std::vector<float> x, enc.forward(p, mel, true, opt, n));
    std::size_t rows = 0;
    std::vector<float> st = stack_frames_peer(x, e, n, stack, rows);
    if (rows != nt)
      return make_error(errc::unsupported, "voxtral: the peer's frame stacking gives ", std::to_string(rows),
                        " tokens, ", std::to_string(nt), " expected");
    std::vector<float> hid(rows * mlp1.rows);
    const matrix_view<float> hv(hid.data(), rows, mlp1.rows);
    MMLLM_TRY(p.matmul(matrix_view<const float>(st.data(), rows, e * stack), mlp1, hv));
    p.gelu_erf(hv, hv);
    return p.matmul(hv, mlp2, matrix_view<float>(out.data(), rows, n_embd_out()));
  }
};

}  // namespace mmllm::mm
