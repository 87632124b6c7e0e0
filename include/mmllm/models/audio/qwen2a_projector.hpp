// mmllm/models/audio/qwen2a_projector.hpp — projector type "qwen2a" (Qwen2-Audio, and the audio
// side of "qwen2.5o" Qwen2.5-Omni files): whisper encoder with pairs of frames average-pooled
// BEFORE a.post_ln, then mm.a.fc (+ bias). Wrapper: "<|audio_bos|>" before the first and
// "<|audio_eos|>" after the last 30-s chunk of a clip.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "whisper_encoder.hpp"

namespace mmllm::mm {

struct qwen2a_projector {
  static constexpr std::string_view name = "qwen2a";

  whisper_encoder enc;
  any_matrix_view fc;
  std::span<const float> fc_b;

  static result<qwen2a_projector> load(const std::shared_ptr<mmproj_file>& f, const clip_hparams& hp) {
    qwen2a_projector m;
    MMLLM_TRY_ASSIGN(m.enc, whisper_encoder::load(f, hp));
    MMLLM_TRY_ASSIGN(m.fc, f->matrix("mm.a.fc.weight"));
    MMLLM_TRY_ASSIGN(m.fc_b, f->vector("mm.a.fc.bias"));
    if (m.fc.cols != m.enc.n_embd() || m.fc_b.size() != m.fc.rows)
      return make_error(errc::malformed, "mmproj: inconsistent qwen2a projector");
    return m;
  }

  [[nodiscard]] std::size_t n_embd_out() const noexcept { return fc.rows; }
  [[nodiscard]] std::size_t n_tokens(const media::log_mel& m) const noexcept {
    return static_cast<std::size_t>(m.n_frames) / 2 / 2;
  }
  [[nodiscard]] media_layout layout(const audio_input& in) const {
    return audio_layout(in, "<|audio_bos|>", "<|audio_eos|>");
  }

  template <compute::compute_policy P>
  result<void> encode(P& p, const media::log_mel& mel, std::span<float> out,
                      const encode_options& opt) const {
    const std::size_t nt = n_tokens(mel);
    if (out.size() != nt * n_embd_out()) return make_error(errc::invalid_argument, "qwen2a: bad output size");
    std::size_t n = 0;
    MMLLM_TRY_ASSIGN(const std::vector<float> x, enc.forward(p, mel, true, opt, n));
    if (n != nt) return make_error(errc::internal, "qwen2a: token count mismatch");
    return detail::linear(p, matrix_view<const float>(x.data(), n, enc.n_embd()), fc, fc_b,
                          matrix_view<float>(out.data(), n, n_embd_out()));
  }
};

}  // namespace mmllm::mm
