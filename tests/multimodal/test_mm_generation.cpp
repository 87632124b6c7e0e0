// Media in prompts end to end against the peer (synthetic/mm): the last prompt logits within
// 2e-2 of `logits_last_f32path` (F32 KV cache, no flash attention, no-flash embeddings) with
// the same argmax, and 32 greedy tokens equal to `generation_f32path` — once with the peer's
// no-flash embeddings fed as precomputed embeddings (the language-model side alone) and once
// with this library's encoders.
#include <cstdio>

#include "mm_lm.hpp"

namespace {

void check(const std::string& name) {
  mmllm::test::mm_lm_setup s(name);
  const std::vector<float> ref = s.fx.array("logits_last_f32path");
  const auto ref_tokens =
      s.fx.reference.at("generation_f32path").at("tokens").get<std::vector<mmllm::token_id>>();
  for (const bool own_encoder : {false, true}) {
    std::vector<mmllm::token_id> greedy;
    const mmllm::mm::media_item item = own_encoder ? s.media() : s.noflash_embeddings();
    const std::vector<float> logits = mmllm::test::run_prompt(s, item, &greedy, ref_tokens.size());
    const float d = mmllm::test::max_abs_diff(logits, ref);
    std::printf("%s (%s embeddings): last logits max|d| %.3g, argmax %zu / %zu, greedy %s\n", name.c_str(),
                own_encoder ? "own" : "peer no-flash", d, mmllm::test::argmax(logits),
                mmllm::test::argmax(ref), greedy == ref_tokens ? "equal" : "DIFFERENT");
    CHECK(d < 2e-2f);
    CHECK(mmllm::test::argmax(logits) == mmllm::test::argmax(ref));
    CHECK(greedy == ref_tokens);
  }
}

}  // namespace

TEST_CASE("mlp: logits and greedy tokens match the peer", "[mm][lm]") { check("mlp"); }
TEST_CASE("idefics3: logits and greedy tokens match the peer", "[mm][lm]") { check("idefics3"); }
TEST_CASE("gemma3: logits and greedy tokens match the peer", "[mm][lm]") { check("gemma3"); }
TEST_CASE("qwen2vl: logits and greedy tokens match the peer", "[mm][lm]") { check("qwen2vl"); }
TEST_CASE("ultravox: logits and greedy tokens match the peer", "[mm][lm]") { check("ultravox"); }
TEST_CASE("qwen2a: logits and greedy tokens match the peer", "[mm][lm]") { check("qwen2a"); }
