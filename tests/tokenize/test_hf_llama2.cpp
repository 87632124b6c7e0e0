// The llama2 tokenizer.json (Hugging Face rules) against the transformers.js references.
#include <string>

#include "catch.hpp"
#include "tokenize_support.hpp"

TEST_CASE("llama2: llama.cpp test strings match transformers.js", "[tokenize][hf]") {
  CHECK(mmllm::test::check_hf_cases("llama2", "llama_cpp_inp.json") == 46);
}

TEST_CASE("llama2: extra corpus matches transformers.js", "[tokenize][hf]") {
  CHECK(mmllm::test::check_hf_cases("llama2", "extra.json") == 43);
}

TEST_CASE("llama2 (Mistral) tokenizer.json: prepend, byte fallback and strip decoder round trip",
          "[tokenize][hf]") {
  const mmllm::tokenizer& tok = mmllm::test::hf_tokenizer("llama2");
  CHECK(tok.encode("Hi", {.add_special = true}).front() == 1);
  mmllm::test::test_rng rng(19);
  for (int i = 0; i < 200; ++i) {
    std::string s = mmllm::test::random_unicode_text(rng, 48);
    s = mmllm::hf::detail::replace_all_literal(s, "\xE2\x96\x81", "_");
    // Text that spells an added token (<s>, </s>, <unk>) would become that token.
    INFO("[" << mmllm::test::show(s) << "]");
    CHECK(tok.decode(tok.encode(s, {.add_special = false, .parse_special = true})) == s);
  }
}
