// bench/mm_synth_mmproj.hpp — writes seeded random-weight mmproj GGUF files with the tensor
// names and keys llama.cpp's converter (convert_hf_to_gguf.py --mmproj) uses, for the encoder
// benchmark (a SigLIP-so400m/14 encoder at 896 px with the gemma3 projector) and for tests of
// projector types that have no peer fixture (pixtral, internvl, lfm2, qwen2.5vl, voxtral, …).
//
// Weights follow the fixtures' initialisation: linear/conv N(0, 1/fan_in), norm weights
// 1 + N(0, 0.1²), biases N(0, 0.05²), position/class embeddings N(0, 0.5²). Values are a pure
// function of (seed, tensor, element), so files stream to disk without being held in memory.
//
//   mmllm::bench::synth_spec s = mmllm::bench::siglip_so400m_gemma3(2560);
//   auto r = mmllm::bench::write_synth_mmproj("so400m.gguf", s);
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numbers>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <mmllm/core/f16.hpp>
#include <mmllm/io/gguf_writer.hpp>

namespace mmllm::bench {

/// What to generate.
struct synth_spec {
  std::string projector;  ///< clip.projector_type
  bool audio = false;     ///< a whisper encoder ("a.*") instead of a ViT ("v.*")
  int n_embd = 64, n_head = 4, n_ff = 128, n_layer = 2;
  int image_size = 64, patch_size = 8;  ///< vision
  int n_embd_text = 64;                 ///< projector output width
  float eps = 1e-6f;
  dtype wtype = dtype::f32;  ///< 2-D weights (norms, biases, embeddings stay f32)
  bool use_gelu = true, use_silu = false;
  bool gated_ffn = false;
  bool patch_bias = true, class_embd = false, pre_ln = false, post_ln = true;
  int pos_rows = -1;  ///< position embedding rows (-1: patches (+1 with a class embedding), 0: none)
  bool second_patch_kernel = false;  ///< Qwen2-VL's split Conv3D
  bool layer_scale = false;          ///< ls1 / ls2 (InternVL)
  std::optional<int> scale_factor, spatial_merge_size, n_wa_pattern, preproc_image_size, stack_factor;
  std::vector<int> feature_layers;
  bool patch_merger = false;  ///< pixtral: Mistral Small 3.1 merger
  std::uint64_t seed = 1;
};

namespace detail {

inline std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// A standard normal value, a pure function of (key, i).
inline float normal_at(std::uint64_t key, std::uint64_t i) noexcept {
  const std::uint64_t a = splitmix64(key ^ (2 * i)), b = splitmix64(key ^ (2 * i + 1));
  const double u1 = (static_cast<double>(a >> 11) + 1.0) * 0x1.0p-53,
               u2 = static_cast<double>(b >> 11) * 0x1.0p-53;
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2));
}

class synth_writer {
 public:
  synth_writer(gguf_writer& w, std::uint64_t seed) : w_(&w), seed_(seed) {}

  /// Adds a tensor of `n` values mean + sd·N(0, 1) with ggml extents `ne`.
  void add(const std::string& name, dtype t, std::vector<std::uint64_t> ne, float mean, float sd) {
    std::uint64_t n = 1;
    for (auto e : ne) n *= e;
    const std::uint64_t key = splitmix64(seed_ ^ splitmix64(++counter_ * 0x51ed27ull));
    const std::size_t es = t == dtype::f16 ? 2 : 4;
    const gguf_shape shape(ne);
    w_->add_tensor_generated(name, t, shape,
                             [key, t, es, mean, sd](std::uint64_t offset, std::span<std::byte> out) {
                               const std::uint64_t first = offset / es;
                               for (std::size_t j = 0; j < out.size() / es; ++j) {
                                 const float v = mean + sd * normal_at(key, first + j);
                                 if (t == dtype::f16) {
                                   const std::uint16_t h = to_f16(v).bits;
                                   std::memcpy(out.data() + j * 2, &h, 2);
                                 } else {
                                   std::memcpy(out.data() + j * 4, &v, 4);
                                 }
                               }
                             });
    (void)n;
  }
  /// A linear layer in → out (torch layout [out, in], ggml ne [in, out]).
  void linear(const std::string& base, dtype t, int in, int out, bool bias) {
    add(base + ".weight", t, {u(in), u(out)}, 0.0f, 1.0f / std::sqrt(static_cast<float>(in)));
    if (bias) add(base + ".bias", dtype::f32, {u(out)}, 0.0f, 0.05f);
  }
  void norm(const std::string& base, int n, bool bias) {
    add(base + ".weight", dtype::f32, {u(n)}, 1.0f, 0.1f);
    if (bias) add(base + ".bias", dtype::f32, {u(n)}, 0.0f, 0.05f);
  }
  static std::uint64_t u(int v) { return static_cast<std::uint64_t>(v); }

 private:
  gguf_writer* w_;
  std::uint64_t seed_;
  std::uint64_t counter_ = 0;
};

}  // namespace detail

/// Writes the mmproj described by `s` to `path`.
inline result<void> write_synth_mmproj(const std::string& path, const synth_spec& s) {
  gguf_writer w;
  detail::synth_writer g(w, s.seed);
  const std::string m = s.audio ? "audio" : "vision";
  const std::string p = s.audio ? "a" : "v";
  w.set("general.architecture", "clip");
  w.set("general.name", "mmllm-synthetic");
  w.set("clip.projector_type", s.projector);
  w.set("clip.has_vision_encoder", !s.audio);
  w.set("clip.has_audio_encoder", s.audio);
  if (s.use_gelu) w.set("clip.use_gelu", true);
  if (s.use_silu) w.set("clip.use_silu", true);
  w.set("clip." + m + ".embedding_length", static_cast<std::uint32_t>(s.n_embd));
  w.set("clip." + m + ".feed_forward_length", static_cast<std::uint32_t>(s.n_ff));
  w.set("clip." + m + ".block_count", static_cast<std::uint32_t>(s.n_layer));
  w.set("clip." + m + ".attention.head_count", static_cast<std::uint32_t>(s.n_head));
  w.set("clip." + m + ".attention.layer_norm_epsilon", s.eps);
  w.set("clip." + m + ".projection_dim", static_cast<std::uint32_t>(s.n_embd_text));
  const int e = s.n_embd;
  const dtype wt = s.wtype;
  if (s.audio) {
    w.set("clip.audio.num_mel_bins", std::uint32_t{128});
    if (s.stack_factor)
      w.set("clip.audio.projector.stack_factor", static_cast<std::uint32_t>(*s.stack_factor));
    g.add("a.conv1d.1.weight", dtype::f16, {3, 128, g.u(e)}, 0.0f, 1.0f / std::sqrt(128.0f * 3));
    g.add("a.conv1d.1.bias", dtype::f32, {1, g.u(e)}, 0.0f, 0.05f);
    g.add("a.conv1d.2.weight", dtype::f16, {3, g.u(e), g.u(e)}, 0.0f,
          1.0f / std::sqrt(3.0f * static_cast<float>(e)));
    g.add("a.conv1d.2.bias", dtype::f32, {1, g.u(e)}, 0.0f, 0.05f);
    g.add("a.position_embd.weight", dtype::f32, {g.u(e), 1500}, 0.0f, 0.5f);
  } else {
    w.set("clip.vision.image_size", static_cast<std::uint32_t>(s.image_size));
    w.set("clip.vision.patch_size", static_cast<std::uint32_t>(s.patch_size));
    w.set("clip.vision.image_mean", gguf_encoded_value::array({0.5f, 0.5f, 0.5f}));
    w.set("clip.vision.image_std", gguf_encoded_value::array({0.5f, 0.5f, 0.5f}));
    if (s.scale_factor)
      w.set("clip.vision.projector.scale_factor", static_cast<std::uint32_t>(*s.scale_factor));
    if (s.spatial_merge_size)
      w.set("clip.vision.spatial_merge_size", static_cast<std::uint32_t>(*s.spatial_merge_size));
    if (s.n_wa_pattern) w.set("clip.vision.n_wa_pattern", static_cast<std::uint32_t>(*s.n_wa_pattern));
    if (s.preproc_image_size)
      w.set("clip.vision.preproc_image_size", static_cast<std::uint32_t>(*s.preproc_image_size));
    if (!s.feature_layers.empty()) {
      std::vector<std::int32_t> fl(s.feature_layers.begin(), s.feature_layers.end());
      w.set("clip.vision.feature_layer", gguf_encoded_value::array(fl));
    }
    const auto pp = g.u(s.patch_size);
    const float psd = 1.0f / std::sqrt(3.0f * static_cast<float>(s.patch_size * s.patch_size));
    g.add("v.patch_embd.weight", wt, {pp, pp, 3, g.u(e)}, 0.0f, psd);
    if (s.second_patch_kernel) g.add("v.patch_embd.weight.1", wt, {pp, pp, 3, g.u(e)}, 0.0f, psd);
    if (s.patch_bias) g.add("v.patch_embd.bias", dtype::f32, {g.u(e)}, 0.0f, 0.05f);
    if (s.class_embd) g.add("v.class_embd", dtype::f32, {g.u(e)}, 0.0f, 0.5f);
    const int grid = s.image_size / s.patch_size;
    const int rows = s.pos_rows >= 0 ? s.pos_rows : grid * grid + (s.class_embd ? 1 : 0);
    if (rows > 0) g.add("v.position_embd.weight", dtype::f32, {g.u(e), g.u(rows)}, 0.0f, 0.5f);
  }
  if (s.pre_ln) g.norm(p + ".pre_ln", e, true);
  for (int il = 0; il < s.n_layer; ++il) {
    const std::string b = p + ".blk." + std::to_string(il) + ".";
    g.linear(b + "attn_q", wt, e, e, true);
    g.linear(b + "attn_k", wt, e, e, !s.audio);
    g.linear(b + "attn_v", wt, e, e, true);
    g.linear(b + "attn_out", wt, e, e, true);
    g.norm(b + "ln1", e, true);
    g.norm(b + "ln2", e, true);
    g.linear(b + "ffn_up", wt, e, s.n_ff, true);
    if (s.gated_ffn) g.linear(b + "ffn_gate", wt, e, s.n_ff, true);
    g.add(b + "ffn_down.weight", wt, {g.u(s.n_ff), g.u(e)}, 0.0f,
          3.0f / std::sqrt(static_cast<float>(s.n_ff)));
    g.add(b + "ffn_down.bias", dtype::f32, {g.u(e)}, 0.0f, 0.05f);
    if (s.layer_scale) {
      g.add(b + "ls1.weight", dtype::f32, {g.u(e)}, 1.0f, 0.1f);
      g.add(b + "ls2.weight", dtype::f32, {g.u(e)}, 1.0f, 0.1f);
    }
  }
  if (s.post_ln) g.norm(p + ".post_ln", e, true);
  const int t = s.n_embd_text;
  const std::string& pr = s.projector;
  const int sf = s.scale_factor.value_or(1);
  if (pr == "mlp") {
    const int feat = e * static_cast<int>(std::max<std::size_t>(1, s.feature_layers.size()));
    g.linear("mm.0", wt, feat, t, true);
    g.linear("mm.2", wt, t, t, true);
  } else if (pr == "gemma3") {
    g.add("mm.soft_emb_norm.weight", dtype::f32, {g.u(e)}, 1.0f, 0.1f);
    g.add("mm.input_projection.weight", dtype::f16, {g.u(t), g.u(e)}, 0.0f,
          1.0f / std::sqrt(static_cast<float>(e)));
  } else if (pr == "idefics3") {
    g.add("mm.model.fc.weight", wt, {g.u(e * sf * sf), g.u(t)}, 0.0f,
          1.0f / std::sqrt(static_cast<float>(e * sf * sf)));
  } else if (pr == "qwen2vl_merger" || pr == "qwen2.5vl_merger") {
    g.linear("mm.0", wt, 4 * e, 4 * e, true);
    g.linear("mm.2", wt, 4 * e, t, true);
  } else if (pr == "pixtral") {
    if (s.patch_merger) {
      const int mg = s.spatial_merge_size.value_or(2);
      g.add("mm.input_norm.weight", dtype::f32, {g.u(e)}, 1.0f, 0.1f);
      g.add("mm.patch_merger.weight", wt, {g.u(e * mg * mg), g.u(e)}, 0.0f,
            1.0f / std::sqrt(static_cast<float>(e * mg * mg)));
    }
    g.linear("mm.1", wt, e, t, true);
    g.linear("mm.2", wt, t, t, true);
    g.add("v.token_embd.img_break", dtype::f32, {g.u(t)}, 0.0f, 0.5f);
  } else if (pr == "internvl") {
    g.norm("mm.model.mlp.0", e * sf * sf, true);
    g.linear("mm.model.mlp.1", wt, e * sf * sf, t, true);
    g.linear("mm.model.mlp.3", wt, t, t, true);
  } else if (pr == "lfm2") {
    g.norm("mm.input_norm", e * sf * sf, true);
    g.linear("mm.1", wt, e * sf * sf, t, true);
    g.linear("mm.2", wt, t, t, true);
  } else if (pr == "ultravox") {
    const int f = s.stack_factor.value_or(8);
    g.add("mm.a.norm_pre.weight", dtype::f32, {g.u(e * f)}, 1.0f, 0.1f);
    g.add("mm.a.mlp.1.weight", wt, {g.u(e * f), g.u(2 * t)}, 0.0f,
          1.0f / std::sqrt(static_cast<float>(e * f)));
    g.add("mm.a.norm_mid.weight", dtype::f32, {g.u(t)}, 1.0f, 0.1f);
    g.add("mm.a.mlp.2.weight", wt, {g.u(t), g.u(t)}, 0.0f, 1.0f / std::sqrt(static_cast<float>(t)));
  } else if (pr == "qwen2a") {
    g.linear("mm.a.fc", wt, e, t, true);
  } else if (pr == "voxtral") {
    const int f = s.stack_factor.value_or(4);
    g.add("mm.a.mlp.1.weight", wt, {g.u(e * f), g.u(t)}, 0.0f, 1.0f / std::sqrt(static_cast<float>(e * f)));
    g.add("mm.a.mlp.2.weight", wt, {g.u(t), g.u(t)}, 0.0f, 1.0f / std::sqrt(static_cast<float>(t)));
  }
  return w.write_file(path);
}

/// The benchmark encoder: SigLIP-so400m/14 at 896 px (64×64 = 4096 patches, 27 blocks,
/// n_embd 1152, n_ff 4304, 16 heads) with Gemma 3's projector (4×4 pooling → 256 tokens).
inline synth_spec siglip_so400m_gemma3(int n_embd_text, dtype wtype = dtype::f16) {
  synth_spec s;
  s.projector = "gemma3";
  s.n_embd = 1152;
  s.n_head = 16;
  s.n_ff = 4304;
  s.n_layer = 27;
  s.image_size = 896;
  s.patch_size = 14;
  s.n_embd_text = n_embd_text;
  s.wtype = wtype;
  s.use_gelu = true;
  s.seed = 896;
  return s;
}

}  // namespace mmllm::bench
