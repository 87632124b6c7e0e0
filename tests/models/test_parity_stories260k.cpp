// stories260K (a real trained llama2.c model) against llama.cpp's recorded outputs: logits at
// every prompt position (whole prompt, chunks, token by token) within 1e-4, the 64 greedy
// tokens exactly, and all six prompts batched together as six sequences.
#include "model_test_support.hpp"

using namespace mmllm;

namespace {
const test::model_ref& ref() {
  static const test::model_ref r = test::load_model_ref("models/stories260K.gguf", "reference/stories260K");
  return r;
}
}  // namespace

TEST_CASE("stories260K: simd policy (2 threads) matches the peer") {
  compute::thread_pool pool(2);
  test::parity_options o;
  o.n_greedy = 64;
  test::check_parity("stories260K simd", compute::simd(pool), ref(), o);
}

TEST_CASE("stories260K: scalar reference policy matches the peer") {
  test::parity_options o;
  o.n_greedy = 64;
  o.all_modes = false;
  test::check_parity("stories260K scalar", compute::scalar{}, ref(), o);
}
