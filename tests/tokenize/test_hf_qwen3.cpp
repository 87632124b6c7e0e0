// The qwen3 tokenizer.json (Hugging Face rules) against the transformers.js references.
#include <string>

#include "catch.hpp"
#include "tokenize_support.hpp"

TEST_CASE("qwen3: llama.cpp test strings match transformers.js", "[tokenize][hf]") {
  CHECK(mmllm::test::check_hf_cases("qwen3", "llama_cpp_inp.json") == 46);
}

TEST_CASE("qwen3: extra corpus matches transformers.js", "[tokenize][hf]") {
  CHECK(mmllm::test::check_hf_cases("qwen3", "extra.json") == 43);
}

TEST_CASE("qwen3 tokenizer.json equals llama.cpp ggml-vocab-qwen2.gguf.out", "[tokenize][hf]") {
  CHECK(mmllm::test::check_hf_against_vocab_out("qwen3", "qwen2") == 46);
  CHECK(mmllm::test::check_hf_against_vocab_out("qwen3", "deepseek-r1-qwen") == 46);
}

TEST_CASE("qwen3: NFC round trip and special tokens", "[tokenize][hf]") {
  const mmllm::tokenizer& tok = mmllm::test::hf_tokenizer("qwen3");
  CHECK(tok.eos() == tok.find_token("<|im_end|>"));
  CHECK(tok.pad() == tok.find_token("<|endoftext|>"));
  // <|im_start|> is one token only with parse_special; <think> (not special) always.
  CHECK(tok.encode("<|im_start|>", {.add_special = false, .parse_special = true}).size() == 1);
  CHECK(tok.encode("<|im_start|>", {.add_special = false, .parse_special = false}).size() > 1);
  CHECK(tok.encode("<think>", {.add_special = false, .parse_special = false}).size() == 1);
  mmllm::test::test_rng rng(13);
  mmllm::decode_options raw;
  raw.clean_up_spaces = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string s = mmllm::test::random_unicode_text(rng, 48);
    INFO("[" << mmllm::test::show(s) << "]");
    // The NFC normalizer makes the round trip NFC(s), not s.
    CHECK(tok.decode(tok.encode(s, {.add_special = false}), raw) ==
          mmllm::unicode_normalize(s, mmllm::normalization_form::nfc));
  }
}
