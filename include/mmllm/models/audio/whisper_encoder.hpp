// mmllm/models/audio/whisper_encoder.hpp — the whisper-style audio encoder of an mmproj file
// (clip.cpp's build_whisper_enc up to the projector), shared by ultravox, qwen2a and voxtral.
//
// Input: one log-mel chunk [n_mel = 128][n_frames = 3000] (media::whisper_log_mel_chunks_peer).
//   conv1d(k3, pad 1, stride 1) + bias → GELU(erf) → conv1d(k3, pad 1, stride 2) + bias → GELU(erf)
//   → [n_frames/2][n_embd] + a.position_embd rows 0.. → blocks (LayerNorm; q and v biased, k
//   not; GELU(erf) FFN) → [average-pool pairs of frames, qwen2a / voxtral] → a.post_ln.
// Peer quirk: ggml's conv_1d builds its im2col matrix in f16, so the conv inputs are rounded
// to f16 (the kernels are f16 in every converted file).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "../../compute/compute_policy.hpp"
#include "../../core/result.hpp"
#include "../../media/whisper_log_mel.hpp"
#include "../encoder_kernels.hpp"
#include "../media_layout.hpp"
#include "../mmproj.hpp"
#include "../vit_encoder.hpp"

namespace mmllm::mm {

/// One audio clip after preprocessing: its 30-s log-mel chunks, each encoded as one chunk.
struct audio_input {
  std::vector<media::log_mel> entries;
};

/// The shared whisper encoder.
struct whisper_encoder {
  std::shared_ptr<mmproj_file> file;
  clip_hparams hp;
  any_matrix_view conv1, conv2;  ///< [n_embd][n_mel·3], [n_embd][n_embd·3]
  std::span<const float> conv1_b, conv2_b, pos_embd;
  vit_weights vit;

  [[nodiscard]] std::size_t n_embd() const noexcept { return static_cast<std::size_t>(hp.n_embd); }

  static result<whisper_encoder> load(const std::shared_ptr<mmproj_file>& f, const clip_hparams& hp) {
    whisper_encoder w;
    w.file = f;
    w.hp = hp;
    if (hp.n_mel_bins != 128)
      return make_error(errc::unsupported, "mmproj: only 128 mel bins are supported (file has ",
                        std::to_string(hp.n_mel_bins), ")");
    MMLLM_TRY_ASSIGN(w.conv1, f->matrix("a.conv1d.1.weight"));
    MMLLM_TRY_ASSIGN(w.conv2, f->matrix("a.conv1d.2.weight"));
    MMLLM_TRY_ASSIGN(w.conv1_b, f->vector("a.conv1d.1.bias"));
    MMLLM_TRY_ASSIGN(w.conv2_b, f->vector("a.conv1d.2.bias"));
    MMLLM_TRY_ASSIGN(w.pos_embd, f->vector("a.position_embd.weight"));
    const std::size_t e = w.n_embd();
    // ggml ne [3, in, out] → rows in·out, cols 3: regroup as [out][in·3]
    auto regroup = [&](any_matrix_view& m, std::size_t in) -> result<void> {
      if (m.cols != 3 || m.rows != in * e)
        return make_error(errc::malformed, "mmproj: bad conv1d kernel shape");
      const auto& tr = traits(m.type);
      if (tr.block_size != 1) return make_error(errc::unsupported, "mmproj: quantized conv1d kernels");
      m = any_matrix_view::dense(m.type, m.data, e, in * 3);
      return ok();
    };
    MMLLM_TRY(regroup(w.conv1, 128));
    MMLLM_TRY(regroup(w.conv2, e));
    if (w.conv1_b.size() != e || w.conv2_b.size() != e || w.pos_embd.size() % e != 0)
      return make_error(errc::malformed, "mmproj: bad whisper conv bias / position embedding");
    MMLLM_TRY_ASSIGN(
        w.vit, load_vit_weights(*f, hp, "a", {.norm = norm_kind::layer, .act = ffn_activation::gelu_erf}));
    if (w.vit.layers.empty() || w.vit.post_ln_w.empty())
      return make_error(errc::malformed, "mmproj: whisper encoder needs blocks and a.post_ln");
    return w;
  }

  /// Runs the encoder on one mel chunk: [n_frames/2 (/2 when `pool_pairs`)][n_embd].
  template <compute::compute_policy P>
  result<std::vector<float>> forward(P& p, const media::log_mel& mel, bool pool_pairs,
                                     const encode_options& opt, std::size_t& n_out) const {
    if (mel.n_mel != 128 || mel.n_frames <= 0 ||
        mel.data.size() != static_cast<std::size_t>(mel.n_mel) * static_cast<std::size_t>(mel.n_frames))
      return make_error(errc::invalid_argument, "whisper: expected a 128-bin log-mel chunk");
    const std::size_t e = n_embd(), nf = static_cast<std::size_t>(mel.n_frames);
    std::size_t l1 = 0, l2 = 0;
    MMLLM_TRY_ASSIGN(
        std::vector<float> c1,
        conv1d_k3_peer(
            p, conv1, 128, nf, 1, [&](std::size_t c, std::size_t t) { return mel.data[c * nf + t]; }, l1));
    const matrix_view<float> c1v(c1.data(), l1, e);
    p.add(c1v, detail::row_vector(conv1_b), c1v);
    p.gelu_erf(c1v, c1v);
    MMLLM_TRY_ASSIGN(
        std::vector<float> x,
        conv1d_k3_peer(
            p, conv2, e, l1, 2, [&](std::size_t c, std::size_t t) { return c1[t * e + c]; }, l2));
    const matrix_view<float> xv(x.data(), l2, e);
    p.add(xv, detail::row_vector(conv2_b), xv);
    p.gelu_erf(xv, xv);
    const std::size_t n_pos = nf / 2;
    if (l2 != n_pos) return make_error(errc::internal, "whisper: conv output length mismatch");
    if (pos_embd.size() < n_pos * e)
      return make_error(errc::invalid_argument, "whisper: ", std::to_string(n_pos), " frames but ",
                        std::to_string(pos_embd.size() / e), " position embeddings");
    p.add(xv, matrix_view<const float>(pos_embd.data(), n_pos, e), xv);
    if (!vit.pre_ln_w.empty()) vit_apply_norm(p, vit.norm, vit.eps, xv, xv, vit.pre_ln_w, vit.pre_ln_b);
    MMLLM_TRY(vit_forward(p, vit, x, n_pos, vit.layers.size(), no_rope{}, opt));
    n_out = n_pos;
    if (pool_pairs) {
      x = avg_pool_pairs(x, e, n_pos);  // qwen2a / voxtral: nn.AvgPool1d(2, 2) before the post-norm
      n_out = n_pos / 2;
    }
    const matrix_view<float> ov(x.data(), n_out, e);
    vit_apply_norm(p, vit.norm, vit.eps, ov, ov, vit.post_ln_w, vit.post_ln_b);
    return x;
  }
};

/// Mel chunks of 16 kHz mono PCM as the peer cuts them (full 3000-frame chunks only).
inline result<audio_input> whisper_preprocess(const media::audio_pcm& pcm) {
  if (pcm.samples.empty()) return make_error(errc::invalid_argument, "audio: empty audio");
  MMLLM_TRY_ASSIGN(auto chunks, media::whisper_log_mel_chunks_peer(pcm, 128));
  audio_input in;
  in.entries = std::move(chunks);
  if (in.entries.empty()) return make_error(errc::invalid_argument, "audio: no complete mel chunk");
  return in;
}

/// Wrapper text around an audio item: `begin`, every chunk, `end` (mtmd's aud_beg / aud_end).
inline media_layout audio_layout(const audio_input& in, const std::string& begin, const std::string& end) {
  media_layout l;
  add_text_step(l, begin);
  for (std::size_t i = 0; i < in.entries.size(); ++i) l.push_back(layout_step::media_step(i, i + 1));
  add_text_step(l, end);
  return l;
}

}  // namespace mmllm::mm
