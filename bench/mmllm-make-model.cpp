// mmllm-make-model — writes a synthetic (random-weight) llama-architecture GGUF model of a real
// model's shape, in a chosen weight type, so performance can be measured without a download.
//
//   mmllm-make-model --params 1B --type q4_0 -o /tmp/tinyllama-q4_0.gguf
//   mmllm-make-model --params 135M --type q8_0 -o /tmp/smollm-q8_0.gguf
//   mmllm-make-model --params 1B --type f16 --layers 4 -o /tmp/x.gguf     (fewer layers)
//
// Shapes: 135M = SmolLM-135M (n_embd 576, 30 layers, 9 heads / 3 KV, FFN 1536, vocab 49152,
// tied); 1B = TinyLlama-1.1B (2048, 22 layers, 32 / 4, 5632, vocab 32000); llama3-1B =
// Llama-3.2-1B (2048, 16, 32 / 8, 8192, vocab 128256, tied, rope base 500000). Every 2-D
// tensor is stored in --type (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_K, q6_K …), 1-D
// tensors in f32, as llama.cpp's quantizer would with a pure type. The vocabulary is a
// synthetic SentencePiece one (<unk>, <s>, </s>, 256 byte tokens, then "▁t<i>" pieces), so
// llama.cpp loads the file too. Tensors are generated and quantized while the file is
// written (gguf_writer::add_tensor_generated): multi-GB models never sit in memory.

// g++ 12 at -O3 reports false -Wstringop-overflow / -overread / -Warray-bounds inside gguf_writer's
// inlined vector inserts of metadata numbers; it is not an error in this program.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#endif

#include <mmllm/core/quant_formats.hpp>
#include <mmllm/io/gguf_writer.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct shape {
  const char* name;
  std::uint32_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
  float rope_base;
  bool tied;
};

constexpr shape shapes[] = {
    {"135M", 576, 30, 9, 3, 1536, 49152, 2048, 10000.0f, true},
    {"1B", 2048, 22, 32, 4, 5632, 32000, 2048, 10000.0f, false},
    {"llama3-1B", 2048, 16, 32, 8, 8192, 128256, 8192, 500000.0f, true},
};

/// splitmix64: a tiny, seedable generator (deterministic per tensor and row).
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// Row r of a tensor: approximately normal values (sum of 4 uniforms) with the given std.
void gen_row(std::uint64_t seed, std::uint64_t r, float std_dev, float* out, std::size_t n) {
  std::uint64_t s = mix(seed ^ mix(r + 1));
  for (std::size_t i = 0; i < n; ++i) {
    s = mix(s);
    float u = 0;
    for (int k = 0; k < 4; ++k) u += static_cast<float>((s >> (16 * k)) & 0xFFFF) / 65535.0f;
    out[i] = (u - 2.0f) * 1.7320508f * std_dev;  // var of a sum of 4 U(0,1) is 1/3
  }
}

struct options {
  std::string preset = "1B";
  std::string type = "q4_0";
  std::string out;
  int layers = -1;
  std::uint64_t seed = 1;
};

/// llama.cpp's `general.file_type` (llama_ftype) for a model whose 2-D tensors are all `t`
/// (k-quants as the peer's "medium" mixes, the closest label; only a name in the peer's tools).
std::uint32_t file_type_of(mmllm::dtype t) {
  switch (t) {
    case mmllm::dtype::f32: return 0;
    case mmllm::dtype::f16: return 1;
    case mmllm::dtype::q4_0: return 2;
    case mmllm::dtype::q4_1: return 3;
    case mmllm::dtype::q8_0: return 7;
    case mmllm::dtype::q5_0: return 8;
    case mmllm::dtype::q5_1: return 9;
    case mmllm::dtype::q2_K: return 10;
    case mmllm::dtype::q3_K: return 12;
    case mmllm::dtype::q4_K: return 15;
    case mmllm::dtype::q5_K: return 17;
    case mmllm::dtype::q6_K: return 18;
    case mmllm::dtype::iq4_nl: return 25;
    case mmllm::dtype::iq4_xs: return 30;
    case mmllm::dtype::bf16: return 32;
    default: return 1024;  // LLAMA_FTYPE_GUESSED
  }
}

int fail(const std::string& m) {
  std::fprintf(stderr, "mmllm-make-model: %s\n", m.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "mmllm-make-model: missing value for %s\n", a.c_str());
        std::exit(1);
      }
      return argv[++i];
    };
    if (a == "--params" || a == "--preset") {
      o.preset = next();
    } else if (a == "--type") {
      o.type = next();
    } else if (a == "-o" || a == "--output") {
      o.out = next();
    } else if (a == "--layers") {
      o.layers = std::atoi(next().c_str());
    } else if (a == "--seed") {
      o.seed = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "-h" || a == "--help") {
      std::printf(
          "usage: %s --params 135M|1B|llama3-1B --type TYPE -o FILE [--layers N] [--seed N]\n"
          "  TYPE: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K … q6_K, iq4_nl, iq4_xs\n",
          argv[0]);
      return 0;
    } else {
      return fail("unknown argument '" + a + "' (see -h)");
    }
  }
  if (o.out.empty()) return fail("no output file (-o FILE)");
  const shape* sh = nullptr;
  for (const auto& s : shapes)
    if (o.preset == s.name) sh = &s;
  if (sh == nullptr) return fail("unknown --params '" + o.preset + "' (135M, 1B, llama3-1B)");
  const auto type = mmllm::dtype_from_name(o.type);
  if (!type || !mmllm::traits(*type).supported || *type == mmllm::dtype::q8_1 || *type == mmllm::dtype::q8_K)
    return fail("unsupported --type '" + o.type + "'");
  shape s = *sh;
  if (o.layers > 0) s.n_layer = static_cast<std::uint32_t>(o.layers);
  const std::uint32_t head_dim = s.n_embd / s.n_head, n_kv = s.n_head_kv * head_dim;
  if (s.n_embd % mmllm::traits(*type).block_size != 0 || s.n_ff % mmllm::traits(*type).block_size != 0 ||
      n_kv % mmllm::traits(*type).block_size != 0)
    return fail("the shape's rows are not whole " + o.type + " blocks");

  mmllm::gguf_writer w;
  const std::string arch = "llama";
  w.set("general.architecture", arch)
      .set("general.name", "mmllm synthetic " + std::string(sh->name))
      .set("general.file_type", file_type_of(*type))
      .set(arch + ".context_length", s.n_ctx)
      .set(arch + ".embedding_length", s.n_embd)
      .set(arch + ".block_count", s.n_layer)
      .set(arch + ".feed_forward_length", s.n_ff)
      .set(arch + ".attention.head_count", s.n_head)
      .set(arch + ".attention.head_count_kv", s.n_head_kv)
      .set(arch + ".attention.layer_norm_rms_epsilon", 1e-5f)
      .set(arch + ".rope.freq_base", s.rope_base)
      .set(arch + ".rope.dimension_count", head_dim)
      .set(arch + ".vocab_size", s.n_vocab);
  // synthetic SentencePiece vocabulary
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<std::int32_t> types;
  tokens.reserve(s.n_vocab);
  tokens.emplace_back("<unk>");
  tokens.emplace_back("<s>");
  tokens.emplace_back("</s>");
  types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.emplace_back(buf);
    types.push_back(6);
  }
  while (tokens.size() < s.n_vocab) {
    tokens.push_back("\xE2\x96\x81t" + std::to_string(tokens.size()));
    types.push_back(1);
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) scores.push_back(i < 259 ? 0.0f : -static_cast<float>(i));
  w.set("tokenizer.ggml.model", "llama")
      .set("tokenizer.ggml.tokens", mmllm::gguf_encoded_value::array(tokens))
      .set("tokenizer.ggml.scores", mmllm::gguf_encoded_value::array(scores))
      .set("tokenizer.ggml.token_type", mmllm::gguf_encoded_value::array(types))
      .set("tokenizer.ggml.bos_token_id", std::uint32_t{1})
      .set("tokenizer.ggml.eos_token_id", std::uint32_t{2})
      .set("tokenizer.ggml.unknown_token_id", std::uint32_t{0});

  std::uint64_t tensor_seed = o.seed * 1000003;
  std::uint64_t n_params = 0;
  auto add_matrix = [&](const std::string& name, std::uint32_t cols, std::uint32_t rows, float std_dev) {
    const std::uint64_t seed = ++tensor_seed;
    const mmllm::dtype t = *type;
    const std::size_t rb = static_cast<std::size_t>(*mmllm::row_bytes(t, cols));
    n_params += std::uint64_t{cols} * rows;
    w.add_tensor_generated(name, t, mmllm::gguf_shape({cols, rows}),
                           [seed, t, rb, cols, std_dev](std::uint64_t offset, std::span<std::byte> out) {
                             std::vector<float> f(cols);
                             std::vector<std::byte> q(rb);
                             std::size_t done = 0;
                             while (done < out.size()) {
                               const std::uint64_t at = offset + done;
                               const std::uint64_t r = at / rb, in = at % rb;
                               gen_row(seed, r, std_dev, f.data(), cols);
                               (void)mmllm::visit_format(t, [&](auto tag) {
                                 using Q = typename decltype(tag)::type;
                                 Q::quantize_row(f.data(), reinterpret_cast<typename Q::block*>(q.data()),
                                                 cols);
                               });
                               const std::size_t n = std::min<std::size_t>(rb - in, out.size() - done);
                               std::memcpy(out.data() + done, q.data() + in, n);
                               done += n;
                             }
                           });
  };
  std::vector<std::vector<float>> norms;
  auto add_norm = [&](const std::string& name, std::uint32_t n) {
    auto& v = norms.emplace_back(n);
    gen_row(++tensor_seed, 0, 0.02f, v.data(), n);
    for (float& x : v) x += 1.0f;
    n_params += n;
    w.add_tensor_ref(name, mmllm::dtype::f32, mmllm::gguf_shape({n}), std::as_bytes(std::span(v)));
  };
  const float e = static_cast<float>(s.n_embd), f = static_cast<float>(s.n_ff);
  add_matrix("token_embd.weight", s.n_embd, s.n_vocab, 1.0f);
  add_norm("output_norm.weight", s.n_embd);
  if (!s.tied) add_matrix("output.weight", s.n_embd, s.n_vocab, 3.0f / std::sqrt(e));
  for (std::uint32_t l = 0; l < s.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    add_norm(p + "attn_norm.weight", s.n_embd);
    add_matrix(p + "attn_q.weight", s.n_embd, s.n_embd, 1.0f / std::sqrt(e));
    add_matrix(p + "attn_k.weight", s.n_embd, n_kv, 1.0f / std::sqrt(e));
    add_matrix(p + "attn_v.weight", s.n_embd, n_kv, 1.0f / std::sqrt(e));
    add_matrix(p + "attn_output.weight", s.n_embd, s.n_embd,
               1.0f / std::sqrt(e) / std::sqrt(2.0f * s.n_layer));
    add_norm(p + "ffn_norm.weight", s.n_embd);
    add_matrix(p + "ffn_gate.weight", s.n_embd, s.n_ff, 1.0f / std::sqrt(e));
    add_matrix(p + "ffn_up.weight", s.n_embd, s.n_ff, 1.0f / std::sqrt(e));
    add_matrix(p + "ffn_down.weight", s.n_ff, s.n_embd, 1.0f / std::sqrt(f) / std::sqrt(2.0f * s.n_layer));
  }
  if (auto st = w.status(); !st) return fail(st.error().what());
  const auto t0 = std::chrono::steady_clock::now();
  if (auto r = w.write_file(o.out); !r) return fail(r.error().what());
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "mmllm-make-model: wrote %s: llama %s shape, %u layers, %s, %.2f B parameters, %.1f MiB in %.1f s\n",
      o.out.c_str(), sh->name, s.n_layer, o.type.c_str(), static_cast<double>(n_params) / 1e9,
      static_cast<double>(w.file_size()) / (1 << 20), sec);
  return 0;
}
