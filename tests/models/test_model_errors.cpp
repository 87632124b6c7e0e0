// Hostile and unsupported models: copies of stories260K (and of the synthetic models) with one
// thing changed — a missing tensor, a wrong shape, an unknown architecture, a missing or
// wrongly typed key, experts, bad head counts, an unsupported tensor type — must be refused
// with an error that names the missing piece; the unchanged copies load.
#include <mmllm/io/gguf_reader.hpp>
#include <mmllm/io/gguf_writer.hpp>
#include <mmllm/models/architectures.hpp>
#include <mmllm/models/text_model.hpp>

#include <functional>
#include <string>
#include <vector>

#include "catch.hpp"
#include "fixtures.hpp"

using namespace mmllm;

namespace {

struct edit {
  std::function<bool(std::string_view key)> drop_key = [](std::string_view) { return false; };
  std::function<void(gguf_writer&)> add_keys = [](gguf_writer&) {};
  std::function<bool(std::string_view tensor)> drop_tensor = [](std::string_view) { return false; };
  std::function<bool(std::string_view tensor, gguf_writer&)> replace_tensor =
      [](std::string_view, gguf_writer&) { return false; };
};

/// The fixture model at `rel` rewritten with `e`, loaded as a text_model.
result<models::text_model> load_edited(const std::string& rel, const edit& e) {
  auto src = gguf_reader::open(test::fixture_path(rel).string());
  REQUIRE(src);
  gguf_writer w;
  for (const gguf_kv& kv : src->metadata())
    if (!e.drop_key(kv.key)) w.set(kv.key, gguf_encoded_value::copy_of(kv.value));
  e.add_keys(w);
  for (const gguf_tensor_info& t : src->tensors()) {
    if (e.drop_tensor(t.name) || e.replace_tensor(t.name, w)) continue;
    w.add_tensor_ref(t.name, t.type, gguf_shape(t.shape()), src->tensor_data(t));
  }
  auto bytes = w.to_bytes();
  REQUIRE(bytes);
  auto r = gguf_reader::parse(byte_source::own(std::move(*bytes)));
  REQUIRE(r);
  return models::text_model::load(std::move(*r));
}

std::string error_of(const result<models::text_model>& m) {
  REQUIRE_FALSE(m);
  INFO(m.error().what());
  return m.error().what();
}

const std::string stories = "models/stories260K.gguf";

}  // namespace

TEST_CASE("unchanged copies of every fixture model load and describe themselves") {
  for (const char* rel :
       {"models/stories260K.gguf", "synthetic/text/llama/model.gguf", "synthetic/text/llama_q4_0/model.gguf",
        "synthetic/text/qwen2/model.gguf", "synthetic/text/qwen3/model.gguf",
        "synthetic/text/gemma3/model.gguf", "synthetic/text/phi3/model.gguf",
        "synthetic/mm/qwen2vl/model.gguf", "synthetic/mm/gemma3/model.gguf"}) {
    INFO(rel);
    auto m = load_edited(rel, {});
    REQUIRE(m);
    CHECK(m->desc().n_vocab >= 512);
    CHECK(m->weight_bytes() > 0);
  }
  auto s = load_edited(stories, {});
  REQUIRE(s);
  CHECK(s->desc().arch == "llama");
  CHECK(s->desc().n_layer == 5);
  CHECK(s->desc().n_embd == 64);
  CHECK(s->desc().layers[0].n_head == 8);
  CHECK(s->desc().layers[0].n_head_kv == 4);
  CHECK(s->n_params() == 292800);
  CHECK(s->tied_output() == false);
}

TEST_CASE("model descriptions carry the peer's hard-coded quirks") {
  auto g = models::text_model::open(test::fixture_path("synthetic/text/gemma3/model.gguf").string());
  REQUIRE(g);
  const auto& d = g->desc();
  REQUIRE(d.n_layer == 6);
  for (std::uint32_t i = 0; i < 6; ++i) CHECK(d.layers[i].sliding == (i < 5));
  CHECK(d.layers[0].rope.freq_base == 10000.0f);
  CHECK(d.layers[0].rope.freq_scale == 1.0f);
  CHECK(d.layers[5].rope.freq_base == 1e6f);
  CHECK(d.layers[5].rope.freq_scale == 0.125f);
  CHECK(d.n_swa == 8);
  CHECK(d.q_scale == Approx(1.0 / std::sqrt(32.0)));
  CHECK(d.kq_scale == 1.0f);
  CHECK(d.embd_scale == Approx(8.0));
  CHECK(g->tied_output());

  auto q = models::text_model::open(test::fixture_path("synthetic/mm/qwen2vl/model.gguf").string());
  REQUIRE(q);
  CHECK(q->desc().n_pos_streams == 4);
  CHECK(q->desc().layers[0].rope.mode == compute::rope_mode::mrope);
  CHECK(q->desc().layers[0].rope.sections == std::array<std::int32_t, 4>{2, 3, 3, 0});
}

TEST_CASE("a missing tensor is refused, naming it") {
  edit e;
  e.drop_tensor = [](std::string_view n) { return n == "blk.3.ffn_gate.weight"; };
  CHECK_THAT(error_of(load_edited(stories, e)), Catch::Contains("blk.3.ffn_gate.weight"));
  e.drop_tensor = [](std::string_view n) { return n == "token_embd.weight"; };
  CHECK_THAT(error_of(load_edited(stories, e)), Catch::Contains("token_embd.weight"));
  // qwen2 biases are required
  e.drop_tensor = [](std::string_view n) { return n == "blk.1.attn_k.bias"; };
  CHECK_THAT(error_of(load_edited("synthetic/text/qwen2/model.gguf", e)),
             Catch::Contains("blk.1.attn_k.bias"));
  // gemma3's post norms
  e.drop_tensor = [](std::string_view n) { return n == "blk.2.post_ffw_norm.weight"; };
  CHECK_THAT(error_of(load_edited("synthetic/text/gemma3/model.gguf", e)), Catch::Contains("post_ffw_norm"));
}

TEST_CASE("a tensor of the wrong shape is refused, naming it and both shapes") {
  edit e;
  std::vector<float> wrong(64 * 100, 0.0f);
  e.replace_tensor = [&](std::string_view n, gguf_writer& w) {
    if (n != "blk.0.attn_q.weight") return false;
    w.add_tensor_ref(n, dtype::f32, gguf_shape({64, 100}), std::as_bytes(std::span(wrong)));
    return true;
  };
  const std::string err = error_of(load_edited(stories, e));
  CHECK_THAT(err, Catch::Contains("blk.0.attn_q.weight"));
  CHECK_THAT(err, Catch::Contains("[64, 100]"));
  CHECK_THAT(err, Catch::Contains("[64, 64]"));
  std::vector<float> norm(63, 1.0f);
  e.replace_tensor = [&](std::string_view n, gguf_writer& w) {
    if (n != "output_norm.weight") return false;
    w.add_tensor_ref(n, dtype::f32, gguf_shape({63}), std::as_bytes(std::span(norm)));
    return true;
  };
  CHECK_THAT(error_of(load_edited(stories, e)), Catch::Contains("output_norm.weight"));
}

TEST_CASE("an unknown architecture is refused, listing the supported ones") {
  edit e;
  e.drop_key = [](std::string_view k) { return k == "general.architecture"; };
  e.add_keys = [](gguf_writer& w) { w.set("general.architecture", "mamba"); };
  const std::string err = error_of(load_edited(stories, e));
  CHECK_THAT(err, Catch::Contains("'mamba'"));
  CHECK_THAT(err, Catch::Contains("qwen3"));
  e.drop_key = [](std::string_view k) { return k == "general.architecture"; };
  e.add_keys = [](gguf_writer&) {};
  CHECK_THAT(error_of(load_edited(stories, e)), Catch::Contains("general.architecture"));
}

TEST_CASE("missing or mistyped hyper-parameters are refused, naming the key") {
  edit e;
  e.drop_key = [](std::string_view k) { return k == "llama.attention.layer_norm_rms_epsilon"; };
  CHECK_THAT(error_of(load_edited(stories, e)), Catch::Contains("llama.attention.layer_norm_rms_epsilon"));
  e.drop_key = [](std::string_view k) { return k == "llama.embedding_length"; };
  CHECK_THAT(error_of(load_edited(stories, e)), Catch::Contains("llama.embedding_length"));
  e.drop_key = [](std::string_view k) { return k == "llama.block_count"; };
  e.add_keys = [](gguf_writer& w) { w.set("llama.block_count", "five"); };
  CHECK_THAT(error_of(load_edited(stories, e)), Catch::Contains("llama.block_count"));
  e.drop_key = [](std::string_view k) { return k == "gemma3.attention.sliding_window"; };
  e.add_keys = [](gguf_writer&) {};
  CHECK_THAT(error_of(load_edited("synthetic/text/gemma3/model.gguf", e)), Catch::Contains("sliding_window"));
  e.drop_key = [](std::string_view k) { return k == "qwen2vl.rope.dimension_sections"; };
  CHECK_THAT(error_of(load_edited("synthetic/mm/qwen2vl/model.gguf", e)),
             Catch::Contains("dimension_sections"));
}

TEST_CASE("unsupported model features are refused, naming the feature") {
  edit e;
  e.add_keys = [](gguf_writer& w) { w.set("llama.expert_count", std::uint32_t{8}); };
  CHECK_THAT(error_of(load_edited(stories, e)), Catch::Contains("expert"));
  e.drop_key = [](std::string_view k) { return k == "llama.attention.head_count_kv"; };
  e.add_keys = [](gguf_writer& w) { w.set("llama.attention.head_count_kv", std::uint32_t{3}); };
  CHECK_THAT(error_of(load_edited(stories, e)), Catch::Contains("KV heads"));
  e.drop_key = [](std::string_view k) { return k == "llama.rope.scaling.type"; };
  e.add_keys = [](gguf_writer& w) { w.set("llama.rope.scaling.type", "ntk-by-parts"); };
  CHECK_THAT(error_of(load_edited(stories, e)), Catch::Contains("ntk-by-parts"));
  e.drop_key = [](std::string_view) { return false; };
  e.add_keys = [](gguf_writer& w) { w.set("llama.rope.dimension_count", std::uint32_t{4}); };
  CHECK_THAT(error_of(load_edited(stories, e)), Catch::Contains("rope.dimension_count"));
}

TEST_CASE("a weight type the compute layer cannot multiply is refused, naming the tensor and type") {
  edit e;
  std::vector<std::byte> i8(64 * 64);
  e.replace_tensor = [&](std::string_view n, gguf_writer& w) {
    if (n != "blk.1.attn_v.weight") return false;
    w.add_tensor_ref(n, dtype::i8, gguf_shape({64, 32}), std::span<const std::byte>(i8.data(), 64 * 32));
    return true;
  };
  const std::string err = error_of(load_edited(stories, e));
  CHECK_THAT(err, Catch::Contains("blk.1.attn_v.weight"));
  CHECK_THAT(err, Catch::Contains("i8"));
}
