// mmllm/models/audio/audio_encoder.hpp — the audio encoder of an mmproj file: a type list of
// projector implementations (ultravox, qwen2a, voxtral; "qwen2.5o" maps to qwen2a), dispatched
// once from the projector type name and held in a std::variant.
//
//   auto enc = mm::audio_encoder::load(file);              // unknown types are refused by name
//   auto in = enc->preprocess(pcm16k);                      // 30-s log-mel chunks
//   std::vector<float> out(enc->n_tokens(in->entries[0]) * enc->n_embd_out());
//   auto r = enc->encode(policy, in->entries[0], out);
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <variant>

#include "../../core/result.hpp"
#include "../mmproj.hpp"
#include "qwen2a_projector.hpp"
#include "ultravox_projector.hpp"
#include "voxtral_projector.hpp"
#include "whisper_encoder.hpp"

namespace mmllm::mm {

/// The audio projector types this build knows.
using audio_projector_types = type_list<ultravox_projector, qwen2a_projector, voxtral_projector>;

/// Peer quirk (clip.cpp load_hparams): "qwen2.5o" names one projector for both encoders; the
/// audio side is Qwen2-Audio's.
inline std::string_view peer_quirk_audio_projector_alias(std::string_view name) noexcept {
  return name == "qwen2.5o" ? std::string_view("qwen2a") : name;
}

class audio_encoder {
 public:
  using variant_type = detail::variant_of<audio_projector_types>::type;

  /// Loads the audio encoder of `file`; errors: none present, unknown projector (named), bad tensors.
  static result<audio_encoder> load(std::shared_ptr<mmproj_file> file) {
    if (!file) return make_error(errc::invalid_argument, "audio_encoder: no file");
    if (!file->has(modality::audio))
      return make_error(errc::not_found, "mmproj: the file has no audio encoder");
    MMLLM_TRY_ASSIGN(clip_hparams hp, file->hparams(modality::audio));
    const std::string_view name = peer_quirk_audio_projector_alias(hp.projector);
    result<audio_encoder> out =
        make_error(errc::unsupported, "mmproj: unsupported audio projector type '", hp.projector, "'");
    detail::find_type_by_name(audio_projector_types{}, name, [&](auto tag) {
      using T = typename decltype(tag)::type;
      auto r = T::load(file, hp);
      if (!r) {
        out = std::move(r).error();
        return;
      }
      out = audio_encoder(variant_type(std::in_place_type<T>, std::move(*r)));
    });
    return out;
  }

  [[nodiscard]] std::string_view projector_name() const {
    return std::visit([](const auto& p) { return std::string_view(std::decay_t<decltype(p)>::name); }, impl_);
  }
  [[nodiscard]] const clip_hparams& hparams() const {
    return std::visit([](const auto& p) -> const clip_hparams& { return p.enc.hp; }, impl_);
  }
  [[nodiscard]] std::size_t n_embd_out() const {
    return std::visit([](const auto& p) { return p.n_embd_out(); }, impl_);
  }
  /// 16 kHz mono PCM → log-mel chunks (the peer's chunking).
  [[nodiscard]] result<audio_input> preprocess(const media::audio_pcm& pcm) const {
    return whisper_preprocess(pcm);
  }
  [[nodiscard]] std::size_t n_tokens(const media::log_mel& m) const {
    return std::visit([&](const auto& p) { return p.n_tokens(m); }, impl_);
  }
  [[nodiscard]] media_layout layout(const audio_input& in) const {
    return std::visit([&](const auto& p) { return p.layout(in); }, impl_);
  }
  template <compute::compute_policy P>
  result<void> encode(P& policy, const media::log_mel& m, std::span<float> out,
                      const encode_options& opt = {}) const {
    return std::visit([&](const auto& p) { return p.encode(policy, m, out, opt); }, impl_);
  }
  [[nodiscard]] const variant_type& impl() const noexcept { return impl_; }

 private:
  explicit audio_encoder(variant_type v) : impl_(std::move(v)) {}
  variant_type impl_;
};

}  // namespace mmllm::mm
