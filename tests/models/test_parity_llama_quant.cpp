// The synthetic llama model's Q8_0 and Q4_0 copies against llama.cpp's recorded outputs,
// with activations quantized to Q8_0 as ggml's CPU backend does: the fixtures README's
// quantized rule (max |Δ logit| ≤ 0.5, argmax agreement on ≥ 90 % of positions) and the
// 32 greedy tokens.
#include "model_test_support.hpp"

using namespace mmllm;

TEST_CASE("synthetic llama with Q8_0 weights matches the peer") {
  const auto ref = test::load_model_ref("synthetic/text/llama_q8_0/model.gguf", "synthetic/text/llama_q8_0");
  compute::thread_pool pool(2);
  test::parity_options o;
  o.tolerance = 0.5;
  o.quantized = true;
  test::check_parity("llama_q8_0 simd", compute::simd(pool), ref, o);
  o.all_modes = false;
  test::check_parity("llama_q8_0 scalar", compute::scalar{}, ref, o);
}

TEST_CASE("synthetic llama with Q4_0 weights matches the peer") {
  const auto ref = test::load_model_ref("synthetic/text/llama_q4_0/model.gguf", "synthetic/text/llama_q4_0");
  compute::thread_pool pool(2);
  test::parity_options o;
  o.tolerance = 0.5;
  o.quantized = true;
  test::check_parity("llama_q4_0 simd", compute::simd(pool), ref, o);
  o.all_modes = false;
  test::check_parity("llama_q4_0 scalar", compute::scalar{}, ref, o);
}
