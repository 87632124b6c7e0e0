// The synthetic llama model (Llama-3 style rope_freqs, GQA, untied output) and its F16 copy
// against llama.cpp's recorded outputs: prompt logits (whole, chunks, token by token) within
// the fixtures README's tolerances (F32 1e-4, F16 weights 2e-2), 32 greedy tokens exactly,
// the five prompts batched as five sequences.
#include "model_test_support.hpp"

using namespace mmllm;

TEST_CASE("synthetic llama (F32) matches the peer") {
  const auto ref = test::load_model_ref("synthetic/text/llama/model.gguf", "synthetic/text/llama");
  compute::thread_pool pool(2);
  test::parity_options o;
  test::check_parity("llama simd", compute::simd(pool), ref, o);
  o.all_modes = false;
  test::check_parity("llama scalar", compute::scalar{}, ref, o);
}

TEST_CASE("synthetic llama with F16 weights matches the peer") {
  const auto ref = test::load_model_ref("synthetic/text/llama_f16/model.gguf", "synthetic/text/llama_f16");
  compute::thread_pool pool(2);
  test::parity_options o;
  o.tolerance = 2e-2;
  test::check_parity("llama_f16 simd", compute::simd(pool), ref, o);
  o.all_modes = false;
  test::check_parity("llama_f16 scalar", compute::scalar{}, ref, o);
}
