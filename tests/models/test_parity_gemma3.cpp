// The synthetic gemma3 model (scaled embeddings, Q/K norms, post-attention / post-FFN norms,
// GELU-gated FFN through the peer's fp16 GELU table, 5 sliding-window layers of 8 keys with
// the hard-coded SWA rope base, one global layer with linear rope scaling, tied output)
// against llama.cpp's recorded outputs: prompt logits within the README's 5e-3 (the long
// prompt exceeds the window), 32 greedy tokens exactly, the prompts batched together.
#include "model_test_support.hpp"

using namespace mmllm;

TEST_CASE("synthetic gemma3 matches the peer") {
  const auto ref = test::load_model_ref("synthetic/text/gemma3/model.gguf", "synthetic/text/gemma3");
  compute::thread_pool pool(2);
  test::parity_options o;
  o.tolerance = 5e-3;
  test::check_parity("gemma3 simd", compute::simd(pool), ref, o);
  o.all_modes = false;
  test::check_parity("gemma3 scalar", compute::scalar{}, ref, o);
}
