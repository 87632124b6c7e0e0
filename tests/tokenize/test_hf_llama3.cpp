// The llama3 tokenizer.json (Hugging Face rules) against the transformers.js references.
#include <string>

#include "catch.hpp"
#include "tokenize_support.hpp"

TEST_CASE("llama3: llama.cpp test strings match transformers.js", "[tokenize][hf]") {
  CHECK(mmllm::test::check_hf_cases("llama3", "llama_cpp_inp.json") == 46);
}

TEST_CASE("llama3: extra corpus matches transformers.js", "[tokenize][hf]") {
  CHECK(mmllm::test::check_hf_cases("llama3", "extra.json") == 43);
}

TEST_CASE("llama3 tokenizer.json equals llama.cpp ggml-vocab-llama-bpe.gguf.out", "[tokenize][hf]") {
  CHECK(mmllm::test::check_hf_against_vocab_out("llama3", "llama-bpe") == 46);
}

TEST_CASE("llama3: byte-level round trip and the early upload's post-processor", "[tokenize][hf]") {
  const mmllm::tokenizer& tok = mmllm::test::hf_tokenizer("llama3");
  // This upload's post_processor is plain ByteLevel: add_special adds nothing.
  CHECK(tok.encode("Hi", {.add_special = true}) == tok.encode("Hi", {.add_special = false}));
  CHECK(tok.bos() == tok.find_token("<|begin_of_text|>"));
  CHECK(tok.is_eog(tok.find_token("<|eot_id|>")));
  mmllm::test::test_rng rng(11);
  mmllm::decode_options raw;
  raw.clean_up_spaces = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string s = mmllm::test::random_unicode_text(rng, 48);
    INFO("[" << mmllm::test::show(s) << "]");
    CHECK(tok.decode(tok.encode(s, {.add_special = false}), raw) == s);
  }
}
