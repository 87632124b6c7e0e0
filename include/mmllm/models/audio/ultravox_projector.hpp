// mmllm/models/audio/ultravox_projector.hpp — projector type "ultravox" (Ultravox): whisper
// encoder, frames stacked by clip.audio.projector.stack_factor, RMSNorm(1e-6)·mm.a.norm_pre,
// mm.a.mlp.1 (no bias), SwiGLU with the SiLU on the SECOND half (h[:, :H]·silu(h[:, H:])),
// RMSNorm(1e-6)·mm.a.norm_mid, mm.a.mlp.2 (no bias). Wrapper: "[BEGIN_AUDIO]" before.
//
// Peer quirk (stack_frames_peer): the stacked length is padded with ggml's GGML_PAD bit mask,
// which is wrong for strides that are not powers of two; the token count must still equal
// the peer's clip_n_output_tokens (ceil(n_frames / f) / 2) or the peer aborts — here it is an
// error.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "whisper_encoder.hpp"

namespace mmllm::mm {

struct ultravox_projector {
  static constexpr std::string_view name = "ultravox";

  whisper_encoder enc;
  std::span<const float> norm_pre, norm_mid;
  any_matrix_view mlp1, mlp2;
  std::size_t stack = 0;

  static result<ultravox_projector> load(const std::shared_ptr<mmproj_file>& f, const clip_hparams& hp) {
    ultravox_projector m;
    MMLLM_TRY_ASSIGN(m.enc, whisper_encoder::load(f, hp));
    if (!hp.stack_factor || *hp.stack_factor <= 0)
      return make_error(errc::malformed, "mmproj: ultravox needs clip.audio.projector.stack_factor");
    m.stack = static_cast<std::size_t>(*hp.stack_factor);
    MMLLM_TRY_ASSIGN(m.norm_pre, f->vector("mm.a.norm_pre.weight"));
    MMLLM_TRY_ASSIGN(m.norm_mid, f->vector("mm.a.norm_mid.weight"));
    MMLLM_TRY_ASSIGN(m.mlp1, f->matrix("mm.a.mlp.1.weight"));
    MMLLM_TRY_ASSIGN(m.mlp2, f->matrix("mm.a.mlp.2.weight"));
    const std::size_t in = m.enc.n_embd() * m.stack;
    if (m.norm_pre.size() != in || m.mlp1.cols != in || m.mlp1.rows % 2 != 0 ||
        m.norm_mid.size() != m.mlp1.rows / 2 || m.mlp2.cols != m.mlp1.rows / 2)
      return make_error(errc::malformed, "mmproj: inconsistent ultravox projector");
    return m;
  }

  [[nodiscard]] std::size_t n_embd_out() const noexcept { return mlp2.rows; }
  [[nodiscard]] std::size_t n_tokens(const media::log_mel& m) const noexcept {
    const auto n = static_cast<std::size_t>(m.n_frames);
    return (n + stack - 1) / stack / 2;
  }
  [[nodiscard]] media_layout layout(const audio_input& in) const {
    return audio_layout(in, "[BEGIN_AUDIO]", "");
  }

  template <compute::compute_policy P>
  result<void> encode(P& p, const media::log_mel& mel, std::span<float> out,
                      const encode_options& opt) const {
    const std::size_t nt = n_tokens(mel), e = enc.n_embd();
    if (out.size() != nt * n_embd_out())
      return make_error(errc::invalid_argument, "ultravox: bad output size");
    std::size_t n = 0;
    MMLLM_TRY_ASSIGN(const std::vector<float> x, enc.forward(p, mel, false, opt, n));
    std::size_t rows = 0;
    std::vector<float> st = stack_frames_peer(x, e, n, stack, rows);
    if (rows != nt)
      return make_error(errc::unsupported, "ultravox: the peer's frame stacking gives ", std::to_string(rows),
                        " tokens, ", std::to_string(nt), " expected (n_embd × stack_factor not supported)");
    const std::size_t in = e * stack, h = mlp1.rows, h2 = h / 2;
    const matrix_view<float> sv(st.data(), rows, in);
    p.rmsnorm(sv, sv, 1e-6f, norm_pre);
    std::vector<float> hid(rows * h), act(rows * h2);
    MMLLM_TRY(p.matmul(sv, mlp1, matrix_view<float>(hid.data(), rows, h)));
    const std::ptrdiff_t ld = static_cast<std::ptrdiff_t>(h);
    const matrix_view<const float> first(hid.data(), dextents<2>(rows, h2), {ld, 1});
    const matrix_view<const float> second(hid.data() + h2, dextents<2>(rows, h2), {ld, 1});
    const matrix_view<float> av(act.data(), rows, h2);
    p.swiglu(second, first, av);  // silu(second half) · first half
    p.rmsnorm(av, av, 1e-6f, norm_mid);
    return p.matmul(av, mlp2, matrix_view<float>(out.data(), rows, n_embd_out()));
  }
};

}  // namespace mmllm::mm
