// mmllm/models/multimodal_encoder.hpp — an mmproj file's encoders together (llama.cpp's
// mtmd_context without the language model): the vision encoder, the audio encoder, or both,
// their common output width, and the facts the prompt builder and the decoder need (M-RoPE,
// non-causal image attention).
//
//   auto mm = mmllm::mm::multimodal_encoder::open("mmproj.gguf");
//   MMLLM_TRY(mm->check_text_model(lm_n_embd));        // "mismatch between text model …"
//   if (const auto* v = mm->vision()) { auto in = v->preprocess(img); … v->encode(cpu, e, out); }
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "../core/result.hpp"
#include "audio/audio_encoder.hpp"
#include "mmproj.hpp"
#include "vision/vision_encoder.hpp"

namespace mmllm::mm {

class multimodal_encoder {
 public:
  /// Opens and loads an mmproj file (every encoder it declares).
  static result<multimodal_encoder> open(std::string_view path, const vision_load_options& o = {}) {
    MMLLM_TRY_ASSIGN(mmproj_file f, mmproj_file::open(path));
    return load(std::make_shared<mmproj_file>(std::move(f)), o);
  }

  /// Loads the encoders of an opened file.
  static result<multimodal_encoder> load(const std::shared_ptr<mmproj_file>& f,
                                         const vision_load_options& o = {}) {
    multimodal_encoder m;
    m.file_ = f;
    if (f->has(modality::vision)) {
      MMLLM_TRY_ASSIGN(auto v, vision_encoder::load(f, o));
      m.vision_.emplace(std::move(v));
    }
    if (f->has(modality::audio)) {
      MMLLM_TRY_ASSIGN(auto a, audio_encoder::load(f));
      m.audio_.emplace(std::move(a));
    }
    if (!m.vision_ && !m.audio_)
      return make_error(errc::malformed, "mmproj: the file declares neither a vision nor an audio encoder");
    if (m.vision_ && m.audio_ && m.vision_->n_embd_out() != m.audio_->n_embd_out())
      return make_error(errc::malformed, "mmproj: mismatch between vision and audio projector widths (",
                        std::to_string(m.vision_->n_embd_out()), " vs ",
                        std::to_string(m.audio_->n_embd_out()), ")");
    return m;
  }

  [[nodiscard]] const vision_encoder* vision() const noexcept { return vision_ ? &*vision_ : nullptr; }
  [[nodiscard]] const audio_encoder* audio() const noexcept { return audio_ ? &*audio_ : nullptr; }
  [[nodiscard]] const mmproj_file& file() const noexcept { return *file_; }

  /// Width of every projector output.
  [[nodiscard]] std::size_t n_embd_out() const {
    return vision_ ? vision_->n_embd_out() : audio_ ? audio_->n_embd_out() : 0;
  }
  /// Image tokens need M-RoPE positions (Qwen2-VL family).
  [[nodiscard]] bool use_mrope() const { return vision_ && vision_->use_mrope(); }
  /// Image tokens attend bidirectionally in the language model (Gemma 3).
  [[nodiscard]] bool non_causal_images() const { return vision_ && vision_->non_causal_decode(); }

  /// A projector whose output width differs from the language model's n_embd is refused.
  [[nodiscard]] result<void> check_text_model(std::size_t n_embd_text) const {
    if (n_embd_out() != n_embd_text)
      return make_error(
          errc::invalid_argument, "mismatch between text model (n_embd = ", std::to_string(n_embd_text),
          ") and mmproj (n_embd = ", std::to_string(n_embd_out()), "); wrong mmproj for this model?");
    return ok();
  }

 private:
  multimodal_encoder() = default;
  std::shared_ptr<mmproj_file> file_;
  std::optional<vision_encoder> vision_;
  std::optional<audio_encoder> audio_;
};

}  // namespace mmllm::mm
