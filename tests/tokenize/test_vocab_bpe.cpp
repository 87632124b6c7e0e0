// Byte-level BPE GGUF vocabularies (peer rules) against llama.cpp's own tokenizer tests.
#include <string>
#include <vector>

#include "catch.hpp"
#include "tokenize_support.hpp"

using mmllm::test::gguf_vocab;
using mmllm::test::read_vocab_cases;

namespace {

void check_vocab(const std::string& name) {
  const mmllm::tokenizer& tok = gguf_vocab(name);
  CHECK(tok.model() == mmllm::tokenizer_model::bpe);
  const auto cases = read_vocab_cases("ggml-vocab-" + name + ".gguf");
  REQUIRE(cases.size() == 46);
  std::size_t pass = 0;
  for (const auto& c : cases) {
    INFO(name << " input [" << mmllm::test::show(c.text) << "]");
    const std::vector<mmllm::token_id> got =
        tok.encode(c.text, {.add_special = false, .parse_special = false});
    CHECK(got == c.ids);
    pass += got == c.ids ? 1 : 0;
    // Byte-level BPE loses nothing: without clean-up the text comes back exactly.
    mmllm::decode_options raw;
    raw.clean_up_spaces = 0;
    CHECK(tok.decode(got, raw) == c.text);
  }
  CHECK(pass == cases.size());
}

}  // namespace

TEST_CASE("gpt-2 vocabulary matches llama.cpp", "[tokenize][bpe]") { check_vocab("gpt-2"); }
TEST_CASE("mpt vocabulary matches llama.cpp", "[tokenize][bpe]") { check_vocab("mpt"); }
TEST_CASE("falcon vocabulary matches llama.cpp", "[tokenize][bpe]") { check_vocab("falcon"); }
TEST_CASE("starcoder vocabulary matches llama.cpp", "[tokenize][bpe]") { check_vocab("starcoder"); }
TEST_CASE("refact vocabulary matches llama.cpp", "[tokenize][bpe]") { check_vocab("refact"); }
TEST_CASE("deepseek-coder vocabulary matches llama.cpp", "[tokenize][bpe]") { check_vocab("deepseek-coder"); }
TEST_CASE("deepseek-llm vocabulary matches llama.cpp", "[tokenize][bpe]") { check_vocab("deepseek-llm"); }

TEST_CASE("BPE vocabularies: defaults, special tokens and newline as the peer sets them", "[tokenize][bpe]") {
  const mmllm::tokenizer& gpt2 = gguf_vocab("gpt-2");
  CHECK(gpt2.bos() == 50256);
  CHECK(gpt2.eos() == 50256);
  CHECK_FALSE(gpt2.add_bos());
  CHECK(gpt2.config().clean_spaces);
  CHECK(gpt2.specials().nl == gpt2.encode("\n", {.add_special = false}).front());
  // <|endoftext|> is split out only with parse_special.
  const auto plain = gpt2.encode("a<|endoftext|>b", {.add_special = false, .parse_special = false});
  const auto parsed = gpt2.encode("a<|endoftext|>b", {.add_special = false, .parse_special = true});
  CHECK(parsed.size() == 3);
  CHECK(parsed[1] == 50256);
  CHECK(plain.size() > 3);
  CHECK(gpt2.is_eog(50256));
  // clean_spaces (peer default for gpt-2): " ," → ",", "'s" joins, "'t" does not.
  CHECK(gpt2.decode(gpt2.encode("a , b . It 's ok , isn 't it ?", {.add_special = false})) ==
        "a, b. It's ok, isn 't it?");

  // deepseek vocabularies add BOS (add_bos_token) and do not clean spaces.
  const mmllm::tokenizer& ds = gguf_vocab("deepseek-llm");
  CHECK(ds.add_bos());
  CHECK_FALSE(ds.config().clean_spaces);
  CHECK(ds.encode("Hi", {.add_special = true}).front() == ds.bos());

  // gpt-neox has no tokenizer.ggml.pre: the peer's "default" regex sequence.
  const mmllm::tokenizer& neox = gguf_vocab("gpt-neox");
  mmllm::decode_options raw;
  raw.clean_up_spaces = 0;
  const std::string s = "Hello, world! 12345 ...  tabs\tand\nnewlines 🦙";
  CHECK(neox.decode(neox.encode(s, {.add_special = false}), raw) == s);
}

// Valid UTF-8 comes back byte for byte. Ill-formed input is first repaired as the peer does
// (each byte that starts no complete sequence becomes U+FFFD), and that text comes back.
// Some vocabularies (falcon, starcoder) have no token for a few bytes that never occurred
// in their training text (e.g. 0xF2, a lead byte of planes 8-11); the peer drops those, so
// texts containing them are left out.
TEST_CASE("byte-level BPE round-trips any text", "[tokenize][bpe][property]") {
  mmllm::test::test_rng rng(7);
  mmllm::decode_options raw;
  raw.clean_up_spaces = 0;
  for (const char* name : {"gpt-2", "falcon", "deepseek-llm", "starcoder", "gpt-neox"}) {
    const mmllm::tokenizer& tok = gguf_vocab(name);
    for (int i = 0; i < 150; ++i) {
      std::string s = mmllm::test::random_unicode_text(rng, 40);
      if (i % 5 == 0) s.push_back(static_cast<char>(0x80 + rng.below(0x80)));  // a stray byte
      INFO(name << " [" << mmllm::test::show(s) << "]");
      const std::string expect = mmllm::utf8_is_valid(s) ? s : mmllm::detail::peer_quirk_repair_utf8(s);
      bool representable = true;
      for (const char ch : expect)
        representable &=
            tok.find_token(mmllm::utf8_encode(
                mmllm::detail::byte_level_chars()[static_cast<unsigned char>(ch)])) != mmllm::no_token;
      if (!representable) continue;
      CHECK(tok.decode(tok.encode(s, {.add_special = false, .parse_special = false}), raw) == expect);
    }
  }
  CHECK(mmllm::detail::peer_quirk_repair_utf8("a\xE2\x82"
                                              "b\xC0\x80") ==
        "a\xEF\xBF\xBD\xEF\xBF\xBD"
        "b" +
            std::string(1, '\0'));
}
