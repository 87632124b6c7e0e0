// SentencePiece GGUF vocabularies (peer rules) against llama.cpp's own tokenizer tests and
// the stories260K reference outputs.
#include <string>
#include <vector>

#include "catch.hpp"
#include "tokenize_support.hpp"

using mmllm::test::gguf_vocab;
using mmllm::test::read_vocab_cases;

namespace {

void check_vocab(const std::string& name) {
  const mmllm::tokenizer& tok = gguf_vocab(name);
  const auto cases = read_vocab_cases("ggml-vocab-" + name + ".gguf");
  REQUIRE(cases.size() == 46);
  std::size_t pass = 0;
  for (const auto& c : cases) {
    INFO(name << " input [" << mmllm::test::show(c.text) << "]");
    const std::vector<mmllm::token_id> got =
        tok.encode(c.text, {.add_special = false, .parse_special = false});
    CHECK(got == c.ids);
    pass += got == c.ids ? 1 : 0;
  }
  CHECK(pass == cases.size());
}

}  // namespace

TEST_CASE("llama-spm vocabulary matches llama.cpp test-tokenizer-0", "[tokenize][spm]") {
  check_vocab("llama-spm");
}

TEST_CASE("phi-3 vocabulary matches llama.cpp test-tokenizer-0", "[tokenize][spm]") { check_vocab("phi-3"); }

TEST_CASE("SPM vocabularies load with the peer's defaults", "[tokenize][spm]") {
  const mmllm::tokenizer& spm = gguf_vocab("llama-spm");
  CHECK(spm.model() == mmllm::tokenizer_model::spm);
  CHECK(spm.bos() == 1);
  CHECK(spm.eos() == 2);
  CHECK(spm.unk() == 0);
  CHECK(spm.add_bos());
  CHECK_FALSE(spm.add_eos());
  CHECK(spm.specials().nl == spm.find_token("<0x0A>"));
  CHECK(spm.is_eog(2));
  // add_special prepends BOS; the empty prompt is [BOS] (fixtures README).
  CHECK(spm.encode("", {.add_special = true}) == std::vector<mmllm::token_id>{1});
  CHECK(spm.encode("", {.add_special = false}).empty());

  const mmllm::tokenizer& phi3 = gguf_vocab("phi-3");
  CHECK(phi3.eos() == 32000);
  // general.name "Phi3": the peer marks special tokens rstrip (eats following spaces) …
  const mmllm::token_id end = phi3.find_token("<|end|>");
  REQUIRE(end != mmllm::no_token);
  CHECK((phi3.vocab().attr(end) & mmllm::token_attr::rstrip) != 0);
  CHECK(phi3.is_eog(end));
  // … but not <s>, <unk>, <|endoftext|>.
  CHECK((phi3.vocab().attr(1) & mmllm::token_attr::rstrip) == 0);
  const auto with = phi3.encode("<|user|>  Hi", {.add_special = false, .parse_special = true});
  REQUIRE(with.size() >= 2);
  CHECK(with[0] == phi3.find_token("<|user|>"));
  CHECK(phi3.decode(std::vector<mmllm::token_id>(with.begin() + 1, with.end())) == "Hi");

  const mmllm::tokenizer& baichuan = gguf_vocab("baichuan");
  CHECK(baichuan.size() == 64000);
  CHECK(baichuan.decode(baichuan.encode("Hello 世界", {.add_special = false})) == "Hello 世界");
}

TEST_CASE("stories260K prompts tokenize and render as llama.cpp did", "[tokenize][spm]") {
  auto tok = mmllm::load_gguf_tokenizer(mmllm::test::fixture_path("models/stories260K.gguf").string());
  REQUIRE(tok);
  auto ref = mmllm::json_parse(
      mmllm::test::read_text(mmllm::test::fixture_path("reference/stories260K/reference.json")));
  REQUIRE(ref);
  const mmllm::json_value* prompts = ref->find("prompts");
  REQUIRE(prompts != nullptr);
  auto unhex = [](std::string_view h) {
    std::string s;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2)
      s.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    return s;
  };
  for (const mmllm::json_value& p : prompts->items()) {
    const std::string text(p.string_or("text", ""));
    INFO("prompt " << p.string_or("name", ""));
    std::vector<mmllm::token_id> expect;
    for (const auto& x : p.find("prompt_tokens")->items())
      expect.push_back(static_cast<mmllm::token_id>(x.as_number()));
    const auto ids = tok->encode(text, {.add_special = true, .parse_special = false});
    CHECK(ids == expect);
    const auto& hex = p.find("prompt_pieces_hex")->items();
    REQUIRE(hex.size() == expect.size());
    for (std::size_t i = 0; i < expect.size(); ++i)
      CHECK(tok->token_to_piece(expect[i]) == unhex(hex[i].as_string()));
    // Generated text = concatenation of the generated tokens' pieces.
    const mmllm::json_value* g = p.find("greedy");
    std::string gen;
    std::vector<mmllm::token_id> gen_ids;
    for (const auto& x : g->find("tokens")->items()) {
      gen_ids.push_back(static_cast<mmllm::token_id>(x.as_number()));
      gen += tok->token_to_piece(gen_ids.back());
    }
    CHECK(gen == unhex(g->string_or("text_utf8_hex", "")));
  }
  // llama-server's /tokenize with_pieces (fixture) renders the same pieces.
  auto server = mmllm::json_parse(mmllm::test::read_text(
      mmllm::test::fixture_path("reference/stories260K/server/tokenize_response.json")));
  REQUIRE(server);
  for (const auto& t : server->find("tokens")->items())
    CHECK(tok->token_to_piece(static_cast<mmllm::token_id>(t.number_or("id", -1))) ==
          t.string_or("piece", "?"));
  // The whole prompt detokenizes as llama-server echoes it.
  CHECK(tok->decode(tok->encode("Once upon a time")) == "<s> Once upon a time");
  mmllm::decode_options skip;
  skip.skip_special = true;
  skip.remove_bos_eos = true;
  CHECK(tok->decode(tok->encode("Once upon a time"), skip) == " Once upon a time");
  CHECK(tok->decode(tok->encode("Once upon a time", {.add_special = false})) == "Once upon a time");
}
