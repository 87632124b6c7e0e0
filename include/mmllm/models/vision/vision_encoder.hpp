// mmllm/models/vision/vision_encoder.hpp — the vision encoder of an mmproj file, whichever
// projector type it is: a type list of projector implementations dispatched once, at load,
// from the file's projector type name, then held in a std::variant and reached by visitors.
//
//   auto file = std::make_shared<mm::mmproj_file>(*mm::mmproj_file::open("mmproj.gguf"));
//   auto enc = mm::vision_encoder::load(file);                 // unknown types are refused by name
//   auto in = enc->preprocess(image_u8);                       // entries (tiles) + layout facts
//   std::vector<float> out(enc->n_tokens(in->entries[0]) * enc->n_embd_out());
//   auto r = enc->encode(policy, in->entries[0], out);          // projector output, row-major
//
// Supported projector types (clip.projector_type): mlp (LLaVA-1.5/1.6, Yi-VL's mlp_norm form),
// idefics3, gemma3, qwen2vl_merger, qwen2.5vl_merger (and "qwen2.5o", the peer's legacy name
// for Qwen2.5-Omni's vision side), pixtral, internvl, lfm2.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "../../core/result.hpp"
#include "clip_vision.hpp"
#include "gemma3_projector.hpp"
#include "idefics3_projector.hpp"
#include "internvl_projector.hpp"
#include "lfm2_projector.hpp"
#include "llava_projector.hpp"
#include "pixtral_projector.hpp"
#include "qwen2vl_projector.hpp"

namespace mmllm::mm {

/// The vision projector types this build knows.
using vision_projector_types =
    type_list<llava_projector, idefics3_projector, gemma3_projector, qwen2vl_projector, qwen25vl_projector,
              pixtral_projector, internvl_projector, lfm2_projector>;

namespace detail {

template <class T>
constexpr bool flag_non_causal() {
  if constexpr (requires { T::non_causal_decode; }) {
    return T::non_causal_decode;
  } else {
    return false;
  }
}
template <class T>
constexpr bool flag_mrope() {
  if constexpr (requires { T::use_mrope; }) {
    return T::use_mrope;
  } else {
    return false;
  }
}

}  // namespace detail

/// Peer quirk (clip.cpp load_hparams): "qwen2.5o" files name one projector for both encoders;
/// the vision side is Qwen2.5-VL's merger.
inline std::string_view peer_quirk_vision_projector_alias(std::string_view name) noexcept {
  return name == "qwen2.5o" ? std::string_view("qwen2.5vl_merger") : name;
}

/// A loaded vision encoder.
class vision_encoder {
 public:
  using variant_type = detail::variant_of<vision_projector_types>::type;

  /// Loads the vision encoder of `file`; errors: no vision encoder, unknown projector type
  /// (named), missing or mis-shaped tensors.
  static result<vision_encoder> load(std::shared_ptr<mmproj_file> file, const vision_load_options& o = {}) {
    if (!file) return make_error(errc::invalid_argument, "vision_encoder: no file");
    if (!file->has(modality::vision))
      return make_error(errc::not_found, "mmproj: the file has no vision encoder");
    MMLLM_TRY_ASSIGN(clip_hparams hp, file->hparams(modality::vision));
    const std::string_view name = peer_quirk_vision_projector_alias(hp.projector);
    result<vision_encoder> out =
        make_error(errc::unsupported, "mmproj: unsupported vision projector type '", hp.projector, "'");
    detail::find_type_by_name(vision_projector_types{}, name, [&](auto tag) {
      using T = typename decltype(tag)::type;
      auto r = T::load(file, hp, o);
      if (!r) {
        out = std::move(r).error();
        return;
      }
      out = vision_encoder(variant_type(std::in_place_type<T>, std::move(*r)));
    });
    return out;
  }

  /// The projector type's name (as the peer spells it).
  [[nodiscard]] std::string_view projector_name() const {
    return std::visit([](const auto& p) { return std::string_view(std::decay_t<decltype(p)>::name); }, impl_);
  }
  /// Hyper-parameters read from the file.
  [[nodiscard]] const clip_hparams& hparams() const {
    return std::visit([](const auto& p) -> const clip_hparams& { return p.base.hp; }, impl_);
  }
  /// Width of the projector output (must equal the language model's n_embd).
  [[nodiscard]] std::size_t n_embd_out() const {
    return std::visit([](const auto& p) { return p.n_embd_out(); }, impl_);
  }
  /// Qwen2-VL family: the language model needs M-RoPE positions for these tokens.
  [[nodiscard]] bool use_mrope() const {
    return std::visit([](const auto& p) { return detail::flag_mrope<std::decay_t<decltype(p)>>(); }, impl_);
  }
  /// Gemma 3: image tokens attend to each other bidirectionally in the language model.
  [[nodiscard]] bool non_causal_decode() const {
    return std::visit([](const auto& p) { return detail::flag_non_causal<std::decay_t<decltype(p)>>(); },
                      impl_);
  }

  /// Decoded image → normalized encoder entries in the peer's order.
  [[nodiscard]] result<vision_input> preprocess(const media::image_u8& img) const {
    if (img.width <= 0 || img.height <= 0) return make_error(errc::invalid_argument, "vision: empty image");
    return std::visit([&](const auto& p) { return p.preprocess(img); }, impl_);
  }
  /// Output tokens of one entry.
  [[nodiscard]] std::size_t n_tokens(const media::image_f32& e) const {
    return std::visit([&](const auto& p) { return p.n_tokens(e); }, impl_);
  }
  /// Output tokens of one entry as columns × rows (rows = 1 unless the model uses M-RoPE).
  [[nodiscard]] size2 token_grid(const media::image_f32& e) const {
    return std::visit([&](const auto& p) { return p.token_grid(e); }, impl_);
  }
  /// The item's place in a prompt (wrapper text, tiles, separators).
  [[nodiscard]] media_layout layout(const vision_input& in) const {
    return std::visit([&](const auto& p) { return p.layout(in); }, impl_);
  }

  /// Encodes one entry into `out` (n_tokens(e) × n_embd_out() floats, row-major).
  template <compute::compute_policy P>
  result<void> encode(P& policy, const media::image_f32& e, std::span<float> out,
                      const encode_options& opt = {}) const {
    return std::visit([&](const auto& p) { return p.encode(policy, e, out, opt); }, impl_);
  }

  /// The implementation (for type-specific access).
  [[nodiscard]] const variant_type& impl() const noexcept { return impl_; }

 private:
  explicit vision_encoder(variant_type v) : impl_(std::move(v)) {}
  variant_type impl_;
};

}  // namespace mmllm::mm
