// WordPiece GGUF vocabulary (bert-bge, peer rules) against llama.cpp's tokenizer test.
#include <string>
#include <vector>

#include "catch.hpp"
#include "tokenize_support.hpp"

TEST_CASE("bert-bge vocabulary matches llama.cpp test-tokenizer-0", "[tokenize][wordpiece]") {
  const mmllm::tokenizer& tok = mmllm::test::gguf_vocab("bert-bge");
  CHECK(tok.model() == mmllm::tokenizer_model::wordpiece);
  const auto cases = mmllm::test::read_vocab_cases("ggml-vocab-bert-bge.gguf");
  REQUIRE(cases.size() == 46);
  std::size_t pass = 0;
  for (const auto& c : cases) {
    INFO("input [" << mmllm::test::show(c.text) << "]");
    const auto got = tok.encode(c.text, {.add_special = false});
    CHECK(got == c.ids);
    pass += got == c.ids ? 1 : 0;
  }
  CHECK(pass == cases.size());
}

TEST_CASE("bert-bge: CLS/SEP framing, lowercasing, accents and unknown words as the peer",
          "[tokenize][wordpiece]") {
  const mmllm::tokenizer& tok = mmllm::test::gguf_vocab("bert-bge");
  CHECK(tok.bos() == 101);
  CHECK(tok.specials().sep == 102);
  CHECK(tok.unk() == 100);
  const auto ids = tok.encode("Hello", {.add_special = true});
  REQUIRE(ids.size() == 3);
  CHECK(ids.front() == 101);
  CHECK(ids.back() == 102);
  // The peer lowercases and drops accents of precomposed letters ("NFD" keeps the first
  // code point of the decomposition).
  CHECK(tok.encode("Café", {.add_special = false}) == tok.encode("cafe", {.add_special = false}));
  // Pieces render with the word-start marker as a space.
  CHECK(tok.decode(tok.encode("hello world", {.add_special = false})) == " hello world");
  // A word no piece covers becomes [UNK].
  CHECK(tok.encode("\U0001F999", {.add_special = false}) == std::vector<mmllm::token_id>{100});
}
