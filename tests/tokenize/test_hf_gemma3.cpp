// The gemma3 tokenizer.json (Hugging Face rules) against the transformers.js references.
#include <string>

#include "catch.hpp"
#include "tokenize_support.hpp"

TEST_CASE("gemma3: llama.cpp test strings match transformers.js", "[tokenize][hf]") {
  CHECK(mmllm::test::check_hf_cases("gemma3", "llama_cpp_inp.json") == 46);
}

TEST_CASE("gemma3: extra corpus matches transformers.js", "[tokenize][hf]") {
  CHECK(mmllm::test::check_hf_cases("gemma3", "extra.json") == 43);
}

TEST_CASE("gemma3: byte-fallback BPE round trip, BOS template", "[tokenize][hf]") {
  const mmllm::tokenizer& tok = mmllm::test::hf_tokenizer("gemma3");
  CHECK(tok.encode("Hi", {.add_special = true}).front() == tok.find_token("<bos>"));
  CHECK(tok.is_eog(tok.find_token("<end_of_turn>")));
  mmllm::test::test_rng rng(17);
  for (int i = 0; i < 200; ++i) {
    std::string s = mmllm::test::random_unicode_text(rng, 48);
    // U+2581 is the space marker: it decodes to a space, so it cannot round-trip.
    s = mmllm::hf::detail::replace_all_literal(s, "\xE2\x96\x81", "_");
    INFO("[" << mmllm::test::show(s) << "]");
    CHECK(tok.decode(tok.encode(s, {.add_special = false})) == s);
  }
}
