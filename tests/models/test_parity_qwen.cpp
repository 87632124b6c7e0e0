// The synthetic qwen2 (Q/K/V biases, tied embeddings, NEOX rope) and qwen3 (per-head Q/K
// RMS norms, head_dim ≠ n_embd / n_head) models against llama.cpp's recorded outputs:
// prompt logits within 1e-4 (whole, chunks, token by token), 32 greedy tokens exactly,
// the five prompts batched as five sequences.
#include "model_test_support.hpp"

using namespace mmllm;

TEST_CASE("synthetic qwen2 matches the peer") {
  const auto ref = test::load_model_ref("synthetic/text/qwen2/model.gguf", "synthetic/text/qwen2");
  compute::thread_pool pool(2);
  test::parity_options o;
  test::check_parity("qwen2 simd", compute::simd(pool), ref, o);
  o.all_modes = false;
  test::check_parity("qwen2 scalar", compute::scalar{}, ref, o);
}

TEST_CASE("synthetic qwen3 matches the peer") {
  const auto ref = test::load_model_ref("synthetic/text/qwen3/model.gguf", "synthetic/text/qwen3");
  compute::thread_pool pool(2);
  test::parity_options o;
  test::check_parity("qwen3 simd", compute::simd(pool), ref, o);
  o.all_modes = false;
  test::check_parity("qwen3 scalar", compute::scalar{}, ref, o);
}
