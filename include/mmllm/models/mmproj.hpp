// mmllm/models/mmproj.hpp — a multimodal projector file (llama.cpp's `mmproj` GGUF, "clip"
// architecture): its hyper-parameters and its tensors as views the encoders use in place.
//
// An mmproj file holds a vision encoder, an audio encoder, or both (Qwen2.5-Omni). What each
// one is comes from `clip.projector_type` (or, in files with both, `clip.vision.projector_type`
// / `clip.audio.projector_type`), and which are present from `clip.has_vision_encoder` /
// `clip.has_audio_encoder`. Hyper-parameters live under `clip.vision.*` / `clip.audio.*`.
//
//   auto f = mmllm::mm::mmproj_file::open("mmproj.gguf");
//   auto hp = f->hparams(mmllm::mm::modality::vision);          // result<clip_hparams>
//   auto w = f->matrix("v.blk.0.attn_q.weight");                 // any_matrix_view, rows = out
//   auto b = f->vector("v.blk.0.attn_q.bias");                   // f32 span (converted if stored f16)
//
// Weight matrices are the file's bytes (any dtype compute's matmul supports); 1-D tensors and
// embeddings are handed out as f32 (converted copies are owned by the file object, whose
// address must stay stable: encoders keep it in a shared_ptr).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "../core/any_matrix_view.hpp"
#include "../core/bf16.hpp"
#include "../core/dtype.hpp"
#include "../core/f16.hpp"
#include "../core/result.hpp"
#include "../io/gguf_reader.hpp"

namespace mmllm::mm {

/// A compile-time list of types (projector types are dispatched through these).
template <class... T>
struct type_list {};

namespace detail {

template <class List>
struct variant_of;
template <class... T>
struct variant_of<type_list<T...>> {
  using type = std::variant<T...>;
};

/// Calls f(std::type_identity<T>{}) for the T of `list` whose name is `name`; false if none.
template <class... T, class F>
bool find_type_by_name(type_list<T...>, std::string_view name, F&& f) {
  return ((T::name == name ? (f(std::type_identity<T>{}), true) : false) || ...);
}

}  // namespace detail

/// Which encoder of an mmproj file.
enum class modality : std::uint8_t { vision, audio };

constexpr std::string_view to_string(modality m) noexcept {
  return m == modality::vision ? "vision" : "audio";
}

/// Activation of a ViT / whisper feed-forward block (clip.use_gelu / clip.use_silu; audio
/// encoders always use the erf GELU).
enum class ffn_activation : std::uint8_t { gelu, gelu_quick, gelu_erf, silu };

/// A width × height pair (pixels or patches).
struct size2 {
  int width = 0;
  int height = 0;
  friend bool operator==(const size2&, const size2&) = default;
};

/// Hyper-parameters of one encoder as the peer reads them (clip.cpp load_hparams). Projector
/// specific defaults (merge factors, token limits) are applied by the projector types.
struct clip_hparams {
  modality mod = modality::vision;
  std::string projector;  ///< clip.projector_type (or the per-modality key)
  int n_embd = 0, n_head = 0, n_ff = 0, n_layer = 0, projection_dim = 0;
  float eps = 1e-6f;  ///< clip.<m>.attention.layer_norm_epsilon (peer default 1e-6)
  ffn_activation ffn = ffn_activation::gelu_quick;
  // vision
  int image_size = 0, patch_size = 0;
  std::array<float, 3> image_mean{}, image_std{};
  std::vector<int> feature_layers;          ///< clip.vision.feature_layer (empty: absent)
  std::optional<int> scale_factor;          ///< clip.vision.projector.scale_factor
  std::optional<int> spatial_merge_size;    ///< clip.vision.spatial_merge_size
  std::optional<int> preproc_image_size;    ///< clip.vision.preproc_image_size (idefics3)
  std::optional<int> n_wa_pattern;          ///< clip.vision.n_wa_pattern (qwen2.5-vl)
  std::vector<size2> image_res_candidates;  ///< clip.vision.image_grid_pinpoints, as pairs
  // audio
  int n_mel_bins = 0;
  std::optional<int> stack_factor;  ///< clip.audio.projector.stack_factor
};

/// An opened mmproj file. Move-only; views it hands out stay valid while it lives (and
/// across moves of the owning pointer).
class mmproj_file {
 public:
  /// Maps and parses `path`.
  static result<mmproj_file> open(std::string_view path) {
    MMLLM_TRY_ASSIGN(gguf_reader r, gguf_reader::open(path));
    return from_reader(std::move(r));
  }

  /// Wraps an already parsed file (its architecture must be "clip").
  static result<mmproj_file> from_reader(gguf_reader r) {
    auto arch = r.architecture();
    if (!arch || *arch != "clip")
      return make_error(errc::unsupported, "mmproj: general.architecture is '",
                        arch ? std::string(*arch) : std::string("(absent)"), "', expected 'clip'");
    mmproj_file f;
    f.reader_ = std::make_unique<gguf_reader>(std::move(r));
    return f;
  }

  mmproj_file(mmproj_file&&) noexcept = default;
  mmproj_file& operator=(mmproj_file&&) noexcept = default;
  mmproj_file(const mmproj_file&) = delete;
  mmproj_file& operator=(const mmproj_file&) = delete;
  ~mmproj_file() = default;

  [[nodiscard]] const gguf_reader& reader() const noexcept { return *reader_; }

  /// clip.has_vision_encoder / clip.has_audio_encoder (absent = false).
  [[nodiscard]] bool has(modality m) const {
    const auto v = reader_->get_optional<bool>(m == modality::vision ? "clip.has_vision_encoder"
                                                                     : "clip.has_audio_encoder");
    return v && v->value_or(false);
  }

  /// The projector type name of modality `m`: clip.projector_type, or, when that is absent,
  /// clip.vision.projector_type / clip.audio.projector_type.
  [[nodiscard]] result<std::string> projector_name(modality m) const {
    MMLLM_TRY_ASSIGN(auto common, reader_->get_optional<std::string_view>("clip.projector_type"));
    if (common && !common->empty()) return std::string(*common);
    MMLLM_TRY_ASSIGN(auto specific,
                     reader_->get_optional<std::string_view>(
                         m == modality::vision ? "clip.vision.projector_type" : "clip.audio.projector_type"));
    if (specific && !specific->empty()) return std::string(*specific);
    return make_error(errc::malformed, "mmproj: no projector type for the ", to_string(m), " encoder");
  }

  /// The hyper-parameters of modality `m` (peer keys and defaults).
  [[nodiscard]] result<clip_hparams> hparams(modality m) const {
    clip_hparams h;
    h.mod = m;
    MMLLM_TRY_ASSIGN(h.projector, projector_name(m));
    const std::string p = m == modality::vision ? "clip.vision." : "clip.audio.";
    MMLLM_TRY(get_int(p + "embedding_length", h.n_embd, true));
    MMLLM_TRY(get_int(p + "attention.head_count", h.n_head, true));
    MMLLM_TRY(get_int(p + "feed_forward_length", h.n_ff, true));
    MMLLM_TRY(get_int(p + "block_count", h.n_layer, true));
    MMLLM_TRY(get_int(p + "projection_dim", h.projection_dim, true));
    MMLLM_TRY(get_float(p + "attention.layer_norm_epsilon", h.eps, true));
    if (h.n_embd <= 0 || h.n_head <= 0 || h.n_embd % h.n_head != 0 || h.n_layer < 0 || h.n_ff < 0)
      return make_error(errc::malformed, "mmproj: inconsistent ", to_string(m), " sizes (n_embd ",
                        std::to_string(h.n_embd), ", n_head ", std::to_string(h.n_head), ")");
    if (m == modality::vision) {
      MMLLM_TRY(get_int("clip.vision.image_size", h.image_size, true));
      MMLLM_TRY(get_int("clip.vision.patch_size", h.patch_size, true));
      if (h.patch_size <= 0 || h.image_size < 0)
        return make_error(errc::malformed, "mmproj: bad image/patch size");
      MMLLM_TRY_ASSIGN(auto mean, float3("clip.vision.image_mean"));
      MMLLM_TRY_ASSIGN(auto sd, float3("clip.vision.image_std"));
      h.image_mean = mean;
      h.image_std = sd;
      MMLLM_TRY_ASSIGN(h.feature_layers, int_array("clip.vision.feature_layer"));
      MMLLM_TRY_ASSIGN(h.scale_factor, opt_int("clip.vision.projector.scale_factor"));
      MMLLM_TRY_ASSIGN(h.spatial_merge_size, opt_int("clip.vision.spatial_merge_size"));
      MMLLM_TRY_ASSIGN(h.preproc_image_size, opt_int("clip.vision.preproc_image_size"));
      MMLLM_TRY_ASSIGN(h.n_wa_pattern, opt_int("clip.vision.n_wa_pattern"));
      MMLLM_TRY_ASSIGN(auto pins, int_array("clip.vision.image_grid_pinpoints"));
      for (std::size_t i = 0; i + 1 < pins.size(); i += 2)
        h.image_res_candidates.push_back({pins[i], pins[i + 1]});
    } else {
      MMLLM_TRY(get_int("clip.audio.num_mel_bins", h.n_mel_bins, true));
      MMLLM_TRY_ASSIGN(h.stack_factor, opt_int("clip.audio.projector.stack_factor"));
    }
    MMLLM_TRY_ASSIGN(auto use_gelu, reader_->get_optional<bool>("clip.use_gelu"));
    MMLLM_TRY_ASSIGN(auto use_silu, reader_->get_optional<bool>("clip.use_silu"));
    const bool g = use_gelu.value_or(false), s = use_silu.value_or(false);
    if (g && s) return make_error(errc::malformed, "mmproj: both clip.use_gelu and clip.use_silu are set");
    h.ffn = g ? ffn_activation::gelu : s ? ffn_activation::silu : ffn_activation::gelu_quick;
    return h;
  }

  /// True when the file has a tensor named `name`.
  [[nodiscard]] bool contains(std::string_view name) const { return reader_->find_tensor(name) != nullptr; }

  /// The tensor's description, or errc::not_found naming it.
  [[nodiscard]] result<const gguf_tensor_info*> info(std::string_view name) const {
    const gguf_tensor_info* t = reader_->find_tensor(name);
    if (t == nullptr) return make_error(errc::not_found, "mmproj: missing tensor '", name, "'");
    return t;
  }

  /// A weight as a matrix: rows = ne[1]·ne[2]·ne[3], cols = ne[0] (the file's dtype).
  [[nodiscard]] result<any_matrix_view> matrix(std::string_view name) const {
    MMLLM_TRY_ASSIGN(const gguf_tensor_info* t, info(name));
    return reader_->tensor_matrix(*t);
  }

  /// As matrix(), or an empty view (data == nullptr) when absent.
  [[nodiscard]] result<any_matrix_view> optional_matrix(std::string_view name) const {
    if (!contains(name)) return any_matrix_view{};
    return matrix(name);
  }

  /// A whole tensor as f32 values (f32 in place; f16 / bf16 converted into storage owned by
  /// this object). Other dtypes are errc::unsupported.
  [[nodiscard]] result<std::span<const float>> vector(std::string_view name) {
    MMLLM_TRY_ASSIGN(const gguf_tensor_info* t, info(name));
    const std::span<const std::byte> bytes = reader_->tensor_data(*t);
    const auto n = static_cast<std::size_t>(t->n_elements());
    switch (t->type) {
      case dtype::f32:
        if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(float) == 0)
          return std::span<const float>(reinterpret_cast<const float*>(bytes.data()), n);
        break;
      case dtype::f16:
      case dtype::bf16: break;
      default:
        return make_error(errc::unsupported, "mmproj: tensor '", name, "' has dtype ",
                          std::string(name_of(t->type)), "; f32/f16/bf16 expected");
    }
    std::vector<float>& dst = floats_->emplace_back(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (t->type == dtype::f32) {
        std::memcpy(&dst[i], bytes.data() + 4 * i, 4);
      } else {
        std::uint16_t u = 0;
        std::memcpy(&u, bytes.data() + 2 * i, 2);
        dst[i] = t->type == dtype::f16 ? to_f32(f16::from_bits(u)) : to_f32(bf16::from_bits(u));
      }
    }
    return std::span<const float>(dst);
  }

  /// As vector(), or an empty span when absent.
  [[nodiscard]] result<std::span<const float>> optional_vector(std::string_view name) {
    if (!contains(name)) return std::span<const float>{};
    return vector(name);
  }

  /// Keeps `values` alive as long as this file and returns a view of them.
  std::span<const float> own(std::vector<float> values) { return floats_->emplace_back(std::move(values)); }
  /// Keeps `bytes` alive as long as this file and returns a view of them.
  std::span<const std::byte> own_bytes(std::vector<std::byte> bytes) {
    const std::vector<std::byte>& b = bytes_->emplace_back(std::move(bytes));
    return b;
  }

 private:
  mmproj_file() = default;

  [[nodiscard]] result<void> get_int(const std::string& key, int& out, bool required) const {
    const gguf_value* v = reader_->find(key);
    if (v == nullptr) {
      if (required) return make_error(errc::not_found, "mmproj: missing key '", key, "'");
      return ok();
    }
    auto r = v->as<std::int64_t>();
    if (!r) return make_error(errc::malformed, "mmproj: key '", key, "' is not an integer");
    if (*r < -(std::int64_t{1} << 31) || *r >= (std::int64_t{1} << 31))
      return make_error(errc::out_of_range, "mmproj: key '", key, "' out of range");
    out = static_cast<int>(*r);
    return ok();
  }
  [[nodiscard]] result<void> get_float(const std::string& key, float& out, bool required) const {
    const gguf_value* v = reader_->find(key);
    if (v == nullptr) {
      if (required) return make_error(errc::not_found, "mmproj: missing key '", key, "'");
      return ok();
    }
    auto r = v->as<float>();
    if (!r) return make_error(errc::malformed, "mmproj: key '", key, "' is not a number");
    out = *r;
    return ok();
  }
  [[nodiscard]] result<std::optional<int>> opt_int(const std::string& key) const {
    if (reader_->find(key) == nullptr) return std::optional<int>{};
    int v = 0;
    MMLLM_TRY(get_int(key, v, true));
    return std::optional<int>(v);
  }
  [[nodiscard]] result<std::vector<int>> int_array(const std::string& key) const {
    const gguf_value* v = reader_->find(key);
    if (v == nullptr) return std::vector<int>{};
    auto arr = v->try_get<gguf_array>();
    if (!arr) return make_error(errc::malformed, "mmproj: key '", key, "' is not an array");
    auto vals = arr->to_vector<std::int64_t>();
    if (!vals) return make_error(errc::malformed, "mmproj: key '", key, "' is not an integer array");
    std::vector<int> out;
    out.reserve(vals->size());
    for (std::int64_t x : *vals) out.push_back(static_cast<int>(x));
    return out;
  }
  [[nodiscard]] result<std::array<float, 3>> float3(const std::string& key) const {
    const gguf_value* v = reader_->find(key);
    if (v == nullptr) return make_error(errc::not_found, "mmproj: missing key '", key, "'");
    auto arr = v->try_get<gguf_array>();
    if (!arr) return make_error(errc::malformed, "mmproj: key '", key, "' is not an array");
    auto vals = arr->to_vector<float>();
    if (!vals || vals->size() < 3)
      return make_error(errc::malformed, "mmproj: key '", key, "' is not an array of 3 numbers");
    return std::array<float, 3>{(*vals)[0], (*vals)[1], (*vals)[2]};
  }

  std::unique_ptr<gguf_reader> reader_;
  std::unique_ptr<std::deque<std::vector<float>>> floats_ =
      std::make_unique<std::deque<std::vector<float>>>();
  std::unique_ptr<std::deque<std::vector<std::byte>>> bytes_ =
      std::make_unique<std::deque<std::vector<std::byte>>>();
};

}  // namespace mmllm::mm
