// Every GGUF file under the shared fixtures: parses, exposes consistent views, and says
// what fixtures/README.md and the generators' spec.json / config.json files say it holds.
#include <mmllm/io/gguf_reader.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"
#include "gguf_walk.hpp"

using mmllm::dtype;
using mmllm::gguf_array;
using mmllm::gguf_reader;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> fixture_ggufs() {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(mmllm::test::fixture_path("")))
    if (e.is_regular_file() && e.path().extension() == ".gguf") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

gguf_reader open(const fs::path& p) {
  auto r = gguf_reader::open(p.string());
  INFO(p.string() << ": " << (r ? std::string() : r.error().what()));
  REQUIRE(r.has_value());
  return std::move(*r);
}

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(mmllm::test::read_text(p)); }

std::uint64_t u(const gguf_reader& r, const std::string& key) {
  auto v = r.get_as<std::uint64_t>(key);
  INFO(key << ": " << (v ? std::string() : v.error().what()));
  REQUIRE(v.has_value());
  return *v;
}

float f(const gguf_reader& r, const std::string& key) {
  auto v = r.get<float>(key);
  INFO(key << ": " << (v ? std::string() : v.error().what()));
  REQUIRE(v.has_value());
  return *v;
}

std::size_t n_tokens(const gguf_reader& r) { return r.get<gguf_array>("tokenizer.ggml.tokens")->size(); }

// A tensor list [{name, ne, type}] from a generator's JSON against the file.
void check_tensor_list(const gguf_reader& r, const std::vector<std::string>& names,
                       const std::vector<std::vector<std::uint64_t>>& shapes,
                       const std::vector<dtype>& types) {
  REQUIRE(r.tensors().size() == names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& t = r.tensors()[i];
    INFO("tensor #" << i << " " << names[i]);
    CHECK(t.name == names[i]);
    CHECK(std::vector<std::uint64_t>(t.shape().begin(), t.shape().end()) == shapes[i]);
    CHECK(t.type == types[i]);
  }
}

dtype dtype_named(const std::string& name) {
  const auto d = mmllm::dtype_from_name(name);
  INFO(name);
  REQUIRE(d.has_value());
  return *d;
}

}  // namespace

TEST_CASE("every fixture GGUF parses and its views stay inside the file") {
  const auto files = fixture_ggufs();
  std::map<std::string, int> per_dir;
  for (const auto& p : files) {
    INFO(p.string());
    const gguf_reader r = open(p);
    CHECK(r.version() == 3);
    CHECK(r.architecture().has_value());
    const auto w = mmllm::test::walk(r);
    CHECK(w.problem.empty());
    CHECK(w.values > 0);
    // Tensor data is packed in file order, each padded to the alignment (as llama.cpp requires).
    std::uint64_t expected_offset = 0;
    for (const auto& t : r.tensors()) {
      CHECK(t.offset == expected_offset);
      expected_offset += (t.size + r.alignment() - 1) / r.alignment() * r.alignment();
    }
    if (!r.tensors().empty()) CHECK(r.data_offset() + expected_offset == r.file_bytes().size());
    per_dir[fs::relative(p, mmllm::test::fixture_path("")).begin()->string()]++;
  }
  // README: 12 vocab files, stories260K, 8 synthetic text models, 6 × 3 multimodal files (less
  // the 2 whose LM is stories260K).
  CHECK(per_dir["vocab"] == 12);
  CHECK(per_dir["models"] == 1);
  CHECK(per_dir["synthetic"] == 8 + 16);
}

TEST_CASE("stories260K holds what the README says") {
  const gguf_reader r = open(mmllm::test::fixture_path("models/stories260K.gguf"));
  CHECK(*r.architecture() == "llama");
  CHECK(n_tokens(r) == 512);
  CHECK(*r.get<std::string_view>("tokenizer.ggml.model") == "llama");  // SentencePiece
  CHECK(u(r, "llama.embedding_length") == 64);
  CHECK(u(r, "llama.block_count") == 5);
  CHECK(u(r, "llama.attention.head_count") == 8);
  CHECK(u(r, "llama.attention.head_count_kv") == 4);
  CHECK(u(r, "llama.context_length") == 2048);
  CHECK(u(r, "tokenizer.ggml.bos_token_id") == 1);
  CHECK(u(r, "tokenizer.ggml.eos_token_id") == 2);
  std::uint64_t params = 0;
  for (const auto& t : r.tensors()) {
    CHECK(t.type == dtype::f32);
    params += t.n_elements();
  }
  CHECK(params == 292800);

  // Shapes follow from the hyper-parameters (ggml order: ne[0] = input features).
  const std::uint64_t n_embd = 64, n_ff = u(r, "llama.feed_forward_length"), head = n_embd / 8,
                      n_kv = 4 * head;
  CHECK(r.tensors().size() == 3 + 5 * 9);
  auto shape_of = [&r](const std::string& name) {
    const auto* t = r.find_tensor(name);
    INFO(name);
    REQUIRE(t != nullptr);
    return std::vector<std::uint64_t>(t->shape().begin(), t->shape().end());
  };
  using shape = std::vector<std::uint64_t>;
  CHECK(shape_of("token_embd.weight") == shape{n_embd, 512});
  CHECK(shape_of("output.weight") == shape{n_embd, 512});
  CHECK(shape_of("output_norm.weight") == shape{n_embd});
  for (int l = 0; l < 5; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    CHECK(shape_of(b + "attn_norm.weight") == shape{n_embd});
    CHECK(shape_of(b + "attn_q.weight") == shape{n_embd, n_embd});
    CHECK(shape_of(b + "attn_k.weight") == shape{n_embd, n_kv});
    CHECK(shape_of(b + "attn_v.weight") == shape{n_embd, n_kv});
    CHECK(shape_of(b + "attn_output.weight") == shape{n_embd, n_embd});
    CHECK(shape_of(b + "ffn_norm.weight") == shape{n_embd});
    CHECK(shape_of(b + "ffn_gate.weight") == shape{n_embd, n_ff});
    CHECK(shape_of(b + "ffn_up.weight") == shape{n_embd, n_ff});
    CHECK(shape_of(b + "ffn_down.weight") == shape{n_ff, n_embd});
  }
  // The 2-D view of token_embd: one row per token, 64 floats each.
  const auto m = *r.tensor_matrix("token_embd.weight");
  CHECK(m.rows == 512);
  CHECK(m.cols == 64);
  CHECK(m.row_stride == 256);
}

TEST_CASE("synthetic text models match their spec.json") {
  int checked = 0;
  for (const auto& e : fs::directory_iterator(mmllm::test::fixture_path("synthetic/text"))) {
    if (!fs::exists(e.path() / "spec.json")) continue;
    const auto spec = read_json(e.path() / "spec.json");
    INFO(e.path().string());
    const gguf_reader r = open(e.path() / spec["file"].get<std::string>());
    const std::string arch = spec["arch"];
    CHECK(*r.architecture() == arch);
    CHECK(n_tokens(r) == spec["n_vocab"].get<std::size_t>());
    CHECK(u(r, arch + ".embedding_length") == spec["n_embd"].get<std::uint64_t>());
    CHECK(u(r, arch + ".block_count") == spec["n_layer"].get<std::uint64_t>());
    CHECK(u(r, arch + ".attention.head_count") == spec["n_head"].get<std::uint64_t>());
    CHECK(u(r, arch + ".attention.head_count_kv") == spec["n_head_kv"].get<std::uint64_t>());
    CHECK(u(r, arch + ".feed_forward_length") == spec["n_ff"].get<std::uint64_t>());
    CHECK(u(r, arch + ".context_length") == spec["ctx"].get<std::uint64_t>());
    CHECK(f(r, arch + ".attention.layer_norm_rms_epsilon") == spec["rms_eps"].get<float>());
    CHECK(f(r, arch + ".rope.freq_base") == spec["rope_base"].get<float>());
    if (spec.contains("head_dim"))
      CHECK(u(r, arch + ".attention.key_length") == spec["head_dim"].get<std::uint64_t>());
    if (spec.contains("sliding_window"))
      CHECK(u(r, arch + ".attention.sliding_window") == spec["sliding_window"].get<std::uint64_t>());
    // Tensors: same names and shapes in the same order; 2-D tensors have the weight type,
    // 1-D ones stay F32 (README).
    const dtype weight = dtype_named(spec["weight_type"]);
    std::vector<std::string> names;
    std::vector<std::vector<std::uint64_t>> shapes;
    std::vector<dtype> types;
    for (const auto& t : spec["tensors"]) {
      names.push_back(t[0]);
      shapes.push_back(t[1].get<std::vector<std::uint64_t>>());
      types.push_back(shapes.back().size() == 2 ? weight : dtype::f32);
    }
    check_tensor_list(r, names, shapes, types);
    const bool untied = r.find_tensor("output.weight") != nullptr;
    CHECK(untied != spec["tied"].get<bool>());
    ++checked;
  }
  CHECK(checked == 8);
}

TEST_CASE("multimodal projectors and their language models match config.json") {
  int checked = 0;
  for (const auto& e : fs::directory_iterator(mmllm::test::fixture_path("synthetic/mm"))) {
    if (!fs::exists(e.path() / "config.json")) continue;
    const auto cfg = read_json(e.path() / "config.json");
    INFO(e.path().string());
    const auto& hp = cfg["hparams"];
    for (const auto& [file, list] : {std::pair{"mmproj.gguf", "mmproj_tensors_f32file"},
                                     std::pair{"mmproj-f16.gguf", "mmproj_tensors_f16file"}}) {
      INFO(file);
      const gguf_reader r = open(e.path() / file);
      CHECK(*r.architecture() == "clip");
      CHECK(*r.get<std::string_view>("clip.projector_type") == cfg["projector_type"].get<std::string>());
      const std::string enc = r.contains("clip.audio.embedding_length") ? "clip.audio." : "clip.vision.";
      CHECK(u(r, enc + "embedding_length") == hp["n_embd"].get<std::uint64_t>());
      CHECK(u(r, enc + "feed_forward_length") == hp["n_ff"].get<std::uint64_t>());
      CHECK(u(r, enc + "block_count") == hp["n_layer"].get<std::uint64_t>());
      CHECK(u(r, enc + "attention.head_count") == hp["n_head"].get<std::uint64_t>());
      CHECK(u(r, enc + "projection_dim") == hp["n_embd_text"].get<std::uint64_t>());
      CHECK(f(r, enc + "attention.layer_norm_epsilon") == hp["eps"].get<float>());
      if (hp.contains("image_size")) {
        CHECK(u(r, "clip.vision.image_size") == hp["image_size"].get<std::uint64_t>());
        CHECK(u(r, "clip.vision.patch_size") == hp["patch_size"].get<std::uint64_t>());
        const auto mean = *r.get<gguf_array>("clip.vision.image_mean")->numbers<float>();
        REQUIRE(mean.size() == 3);
        if (hp.contains("image_mean"))
          for (std::size_t c = 0; c < 3; ++c) CHECK(mean[c] == hp["image_mean"][c].get<float>());
      }
      std::vector<std::string> names;
      std::vector<std::vector<std::uint64_t>> shapes;
      std::vector<dtype> types;
      for (const auto& t : cfg[list]) {
        names.push_back(t["name"]);
        shapes.push_back(t["ne"].get<std::vector<std::uint64_t>>());
        types.push_back(dtype_named(t["type"]));
      }
      check_tensor_list(r, names, shapes, types);
    }
    const auto& lm = cfg["lm"];
    if (lm["file"] == "model.gguf") {
      const gguf_reader r = open(e.path() / "model.gguf");
      const std::string arch = lm["arch"];
      CHECK(*r.architecture() == arch);
      CHECK(n_tokens(r) == lm["n_vocab"].get<std::size_t>());
      if (lm.contains("n_embd")) CHECK(u(r, arch + ".embedding_length") == lm["n_embd"].get<std::uint64_t>());
      if (lm.contains("n_layer")) CHECK(u(r, arch + ".block_count") == lm["n_layer"].get<std::uint64_t>());
      if (lm.contains("n_head_kv"))
        CHECK(u(r, arch + ".attention.head_count_kv") == lm["n_head_kv"].get<std::uint64_t>());
      // Added tokens: the piece and the token type at each listed id.
      const auto tokens = *r.get<gguf_array>("tokenizer.ggml.tokens")->strings();
      const auto token_type = *r.get<gguf_array>("tokenizer.ggml.token_type")->numbers<std::int32_t>();
      REQUIRE(token_type.size() == tokens.size());
      for (const auto& t : lm.value("extra_tokens", nlohmann::json::array())) {
        const auto id = t["id"].get<std::size_t>();
        REQUIRE(id < tokens.size());
        CHECK(tokens[id] == t["text"].get<std::string>());
        CHECK(token_type[id] == t["type"].get<std::int32_t>());
      }
    }
    ++checked;
  }
  CHECK(checked == 6);
}

TEST_CASE("vocabulary files: consistent token arrays, and every expected token id exists") {
  int checked = 0, with_vectors = 0;
  for (const auto& p : fixture_ggufs()) {
    if (p.parent_path().filename() != "vocab") continue;
    INFO(p.string());
    const gguf_reader r = open(p);
    CHECK(r.tensors().empty());
    CHECK(r.get<std::string_view>("tokenizer.ggml.model").has_value());
    const std::size_t n = n_tokens(r);
    CHECK(n > 1000);
    if (const auto* s = r.find("tokenizer.ggml.scores")) CHECK(gguf_array(*s).size() == n);
    if (const auto* t = r.find("tokenizer.ggml.token_type")) CHECK(gguf_array(*t).size() == n);
    if (const auto* m = r.find("tokenizer.ggml.merges")) CHECK(gguf_array(*m).strings().has_value());
    // llama.cpp's expected tokenizations only use ids below the vocabulary size.
    ++checked;
    const fs::path out = p.string() + ".out";
    if (!fs::exists(out)) continue;  // baichuan and gpt-neox come without test vectors
    std::istringstream ids(mmllm::test::read_text(out));
    std::size_t count = 0, max_id = 0;
    for (std::size_t id = 0; ids >> id; ++count) max_id = std::max(max_id, id);
    CHECK(count > 100);
    CHECK(max_id < n);
    ++with_vectors;
  }
  CHECK(checked == 12);
  CHECK(with_vectors == 10);
}
