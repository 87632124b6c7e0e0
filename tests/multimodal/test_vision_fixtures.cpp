// Vision encoders against the peer's recorded projector outputs (synthetic/mm: mlp, idefics3,
// gemma3, qwen2vl): preprocessing bit-exact, embeddings within the recorded tolerances.
#include <mmllm/compute/simd.hpp>
#include <mmllm/compute/thread_pool.hpp>
#include <mmllm/models/vision/vision_encoder.hpp>

#include <cstdio>
#include <memory>

#include "mm_fixture.hpp"

using mmllm::test::mm_fixture;
namespace mm = mmllm::mm;

namespace {

void check_fixture(const std::string& name, bool f16_file = false) {
  mm_fixture fx(name);
  auto file = mm::mmproj_file::open(fx.mmproj_path(f16_file));
  REQUIRE(file);
  auto shared = std::make_shared<mm::mmproj_file>(std::move(*file));
  auto enc = mm::vision_encoder::load(shared);
  if (!enc) FAIL(enc.error().what());
  REQUIRE(enc->projector_name() ==
          fx.reference.at("projector_type").get<std::string>().substr(0, enc->projector_name().size()));
  auto in = enc->preprocess(mmllm::test::test_image_peer());
  REQUIRE(in);
  const auto chunks = fx.media_chunks();
  REQUIRE(in->entries.size() == chunks.size());
  mmllm::compute::thread_pool pool(2);
  mmllm::compute::simd cpu(pool);
  const std::string pre = f16_file ? "f16_" : "";
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const auto& c = chunks[i];
    const std::string key = c.at("preprocessed")[0].get<std::string>();
    const std::vector<float> ref_pre = fx.array(key);
    REQUIRE(ref_pre == in->entries[i].data);
    REQUIRE(enc->n_tokens(in->entries[i]) == c.at("n_tokens").get<std::size_t>());
    const std::string ek = c.at("embeddings").get<std::string>();  // embd_c<k>
    const std::string noflash = pre + "embd_noflash_" + ek.substr(5);
    std::vector<float> out(enc->n_tokens(in->entries[i]) * enc->n_embd_out());
    auto r = enc->encode(cpu, in->entries[i], out);
    if (!r) FAIL(r.error().what());
    const float d_noflash = mmllm::test::max_abs_diff(out, fx.array(noflash));
    const float d_flash = mmllm::test::max_abs_diff(out, fx.array(pre + ek));
    std::printf("%s%s chunk %zu: max|d| vs noflash %.3g, vs flash %.3g\n", name.c_str(),
                f16_file ? " (f16)" : "", i, d_noflash, d_flash);
    CHECK(d_noflash < 5e-3f);
    CHECK(d_flash < 5e-2f);
    // the peer's default path (flash attention with f16 K/V), emulated
    mm::encode_options fo;
    fo.attention = mm::attention_precision::peer_flash_f16;
    REQUIRE(enc->encode(cpu, in->entries[i], out, fo));
    const float d_emul = mmllm::test::max_abs_diff(out, fx.array(pre + ek));
    std::printf("%s%s chunk %zu: emulated flash vs flash %.3g\n", name.c_str(), f16_file ? " (f16)" : "", i,
                d_emul);
    CHECK(d_emul < (f16_file ? 1e-2f : 5e-3f));
  }
}

}  // namespace

TEST_CASE("mlp (LLaVA-1.5) embeddings match the peer", "[mm][vision]") { check_fixture("mlp"); }
TEST_CASE("idefics3 embeddings match the peer", "[mm][vision]") { check_fixture("idefics3"); }
TEST_CASE("gemma3 embeddings match the peer", "[mm][vision]") { check_fixture("gemma3"); }
TEST_CASE("qwen2vl embeddings match the peer", "[mm][vision]") { check_fixture("qwen2vl"); }
TEST_CASE("f16 mmproj files match the peer's f16 outputs", "[mm][vision]") {
  for (const char* n : {"mlp", "idefics3", "gemma3", "qwen2vl"}) check_fixture(n, true);
}
