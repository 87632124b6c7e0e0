// The synthetic phi3 model (fused attn_qkv, fused [gate; up] FFN, Q pre-scaling, n_embd 96)
// against llama.cpp's recorded outputs: prompt logits within 1e-4 (whole, chunks, token by
// token), 32 greedy tokens exactly, the five prompts batched as five sequences.
#include "model_test_support.hpp"

using namespace mmllm;

TEST_CASE("synthetic phi3 matches the peer") {
  const auto ref = test::load_model_ref("synthetic/text/phi3/model.gguf", "synthetic/text/phi3");
  compute::thread_pool pool(2);
  test::parity_options o;
  test::check_parity("phi3 simd", compute::simd(pool), ref, o);
  o.all_modes = false;
  test::check_parity("phi3 scalar", compute::scalar{}, ref, o);
}
